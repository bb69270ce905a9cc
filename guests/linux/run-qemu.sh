#!/bin/bash
# Reference run of the Linux guest under QEMU TCG (never a ringfold component): boots
# IMAGEDIR/bzImage-FLAVOUR with IMAGEDIR/initrd.gz and the command line ringfold uses,
# logs the serial console to IMAGEDIR/qemu-FLAVOUR-WORKLOAD.log, reports the host wall
# time to the init marker, and checks the workload verdict and the clean reboot.
# usage: run-qemu.sh IMAGEDIR [686|686-pae] [WORKLOAD (default all)] [TIMEOUT_S]
# RF_APPEND="..." adds kernel parameters (e.g. rf.ddcount=1000 or nopti).
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: run-qemu.sh IMAGEDIR [686|686-pae] [WORKLOAD] [TIMEOUT_S]" >&2; exit 2; }
dir=$1 flavour=${2:-686} workload=${3:-all} limit=${4:-300}
kernel=$dir/bzImage-$flavour initrd=$dir/initrd.gz
log=$dir/qemu-$flavour-$workload.log
for f in "$kernel" "$initrd"; do
    [ -r "$f" ] || { echo "run-qemu.sh: missing $f (run build-image.sh first)" >&2; exit 2; }
done

# The exact command line of ringfold's default guest (issue 3): no APIC and no ACPI
# (ringfold models the 8259A PIC, 8254 PIT and one 16550A), no ISA PnP probing, no
# crypto self-tests at boot, port 0x80 delays off, and a fixed kernel address.
append="console=ttyS0 noapic nolapic acpi=off cryptomgr.notests noisapnp io_delay=none"
append+=" 8250.nr_uarts=1 nokaslr rf.workload=$workload${RF_APPEND:+ $RF_APPEND}"

start=$EPOCHREALTIME marker_wall='' kernel_wall=''
: > "$log"
while IFS= read -r line; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >> "$log"
    case $line in
    *"Linux version"*)
        # first kernel message: firmware and the bzImage decompressor are done
        [ -n "$kernel_wall" ] ||
            kernel_wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') ;;
    *ringfold-init:\ reached\ init*)
        marker_wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') ;;
    esac
    case $line in *ringfold-*) printf '%s\n' "$line" ;; esac
done < <(timeout "$limit" qemu-system-i386 -accel tcg -m 256 -kernel "$kernel" -initrd "$initrd" \
             -append "$append" -nographic -no-reboot -monitor none 2>&1; echo "qemu-exit: $?")
total=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')

qexit=$(sed -n 's/^qemu-exit: //p' "$log")
verdict=FAIL
if grep -q "^ringfold-workload: $workload ok" "$log" && grep -q '^ringfold-status: 0$' "$log" &&
   grep -q '^ringfold-init: rebooting' "$log" && [ "$qexit" = 0 ]; then
    verdict=PASS
fi
echo "run-qemu.sh: $flavour $workload: $verdict (wall: kernel banner ${kernel_wall:-never} s," \
     "init marker ${marker_wall:-never} s," \
     "total ${total} s, qemu exit ${qexit:-?}; log $log)"
[ $verdict = PASS ]
