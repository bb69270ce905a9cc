#!/usr/bin/env bash
# Installs dependencies, builds ringfold, and boots the default guest on the best engine
# available (the README's first command).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
exec ./build/ringfold run --engine=auto --stats --timeout=120 build/tests/guests/demo.elf
