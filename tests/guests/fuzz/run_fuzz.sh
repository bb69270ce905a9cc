#!/bin/sh
# Judges one fuzz_native run (docs/testing.md, "Fuzzing native execution"): passes when
# run_guest_test.sh passes (the guest's pass, 33), skips (77) when it skips, and with
# --contain-ok PATTERN also accepts the raw engine's documented containment stop (ringfold exit
# status 4 with PATTERN in its output). Anything else (a signal death, another monitor error, a
# hang, the guest's own failure) fails.
#
# usage: run_fuzz.sh [--contain-ok PATTERN] -- RUN_GUEST_TEST_COMMAND...
set -u
contain=
while [ $# -gt 0 ]; do
    case "$1" in
    --contain-ok) contain=$2; shift ;;
    --) shift; break ;;
    *) echo "run_fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "run_fuzz.sh: no command" >&2; exit 2; }

log=$(mktemp "${TMPDIR:-/tmp}/run_fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT
"$@" >"$log" 2>&1
status=$?
cat "$log"
case $status in
0)  echo "fuzz: every sample recovered"; exit 0 ;;
77) exit 77 ;;
esac
if [ -n "$contain" ] && grep -q "exit status 4 " "$log" && grep -Eq "$contain" "$log"; then
    echo "fuzz: documented containment stop ($contain)"
    exit 0
fi
echo "fuzz: FAILED (neither the guest's pass nor a containment stop)"
exit 1
