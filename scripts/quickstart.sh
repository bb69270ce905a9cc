#!/usr/bin/env bash
# Installs dependencies, builds ringfold and the default guest (Debian's 32-bit Linux with a
# busybox userland, from Debian packages), and boots it on the best engine available,
# running a short workload (the README's first command).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
cmake --build build --target linux-image
exec ./build/ringfold run --engine=auto --stats --timeout=600 linux --append "rf.workload=all"
