#!/usr/bin/env bash
# Installs ringfold's build and test dependencies from Debian packages (idempotent).
set -euo pipefail
pkgs=(build-essential cmake pkg-config gcc-multilib
      libzydis-dev libcapstone-dev libcriterion-dev
      qemu-system-x86 cpio gzip python3 dpkg-dev gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all dependencies present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
# A partly failing index (e.g. a mirror mid-sync for one architecture) must not stop the
# install when the packages themselves can still be fetched.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
  echo "install-deps: apt-get update reported errors; trying the install anyway" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
