#!/bin/sh
# Boots the Debian Linux guest (guests/linux) on one ringfold engine with rf.workload=all and
# checks what guests/linux/README.md promises: the init marker, every workload ok,
# "ringfold-status: 0", and ringfold's exit status 0 after the guest's `reboot -f`.
#
# usage: run_linux_test.sh RINGFOLD ENGINE GUEST IMAGEDIR OUTPREFIX TIMEOUT
#   GUEST is linux or linux-pae (ringfold finds the image in IMAGEDIR next to itself);
#   writes OUTPREFIX.serial (guest console) and OUTPREFIX.stderr.
set -u
if [ $# -ne 6 ]; then
    echo "usage: run_linux_test.sh RINGFOLD ENGINE GUEST IMAGEDIR OUTPREFIX TIMEOUT" >&2
    exit 2
fi
ringfold=$1 engine=$2 guest=$3 imagedir=$4 out=$5 timeout=$6
case $guest in
linux) kernel=bzImage-686 ;;
linux-pae) kernel=bzImage-686-pae ;;
*) echo "run_linux_test.sh: unknown guest '$guest' (linux, linux-pae)" >&2; exit 2 ;;
esac
for f in "$imagedir/$kernel" "$imagedir/initrd.gz"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: $f is missing: the Linux image was not built (see the linux.image test;" \
             "make linux-image downloads Debian packages and needs network the first time)" >&2
        exit 1
    fi
done
mkdir -p "$(dirname "$out")"
serial=$out.serial
rm -f "$serial" "$out.stderr"

start=$(date +%s.%N)
"$ringfold" run --engine="$engine" --serial="file:$serial" --timeout="$timeout" \
    --append="rf.workload=all" "$guest" </dev/null 2>"$out.stderr"
rc=$?
end=$(date +%s.%N)
wall=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')

fail=0
check() {   # check PATTERN WHAT: the serial log must hold a line matching PATTERN
    if ! grep -q "$1" "$serial" 2>/dev/null; then
        echo "FAIL: no '$2' on the console" >&2
        fail=1
    fi
}
check '^ringfold-init: reached init at ' 'ringfold-init: reached init at'
for w in forkwait checksum ddsys pagefault all; do
    check "^ringfold-workload: $w ok" "ringfold-workload: $w ok"
done
check '^ringfold-status: 0[[:space:]]*$' 'ringfold-status: 0'
if grep -q 'FAILED' "$serial" 2>/dev/null; then
    grep 'FAILED' "$serial" >&2
    fail=1
fi
if [ $rc -ne 0 ]; then
    echo "FAIL: ringfold exited with status $rc (want 0: reset by the guest's reboot)" >&2
    fail=1
fi
grep -E '^ringfold-(init|time|workload|status)' "$serial" 2>/dev/null
echo "$guest on $engine: ringfold exit $rc, $wall s wall"
if [ $fail -ne 0 ]; then
    echo "--- last console lines ($serial) ---" >&2
    tail -n 25 "$serial" >&2 2>/dev/null
    echo "--- ringfold stderr ---" >&2
    tail -n 10 "$out.stderr" >&2
    exit 1
fi
exit 0
