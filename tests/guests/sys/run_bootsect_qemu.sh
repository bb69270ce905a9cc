#!/bin/sh
# Checks a boot-sector test image under QEMU TCG (SeaBIOS loads it at 0000:7C00): the
# reference for the test itself, never part of ringfold.
# usage: run_bootsect_qemu.sh IMAGE.bin OUT_PREFIX EXPECTED_STATUS
set -u
img=$1 out=$2 expect=$3
mkdir -p "$(dirname "$out")"
rm -f "$out.serial"
timeout 60 qemu-system-i386 -drive "format=raw,file=$img" -m 64 -display none -monitor none \
    -serial "file:$out.serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot </dev/null
status=$?
cat "$out.serial" 2>/dev/null
if [ "$status" != "$expect" ]; then
    echo "boot-sector test: exit status $status, expected $expect"
    exit 1
fi
exit 0
