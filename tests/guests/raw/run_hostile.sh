#!/bin/sh
# Runs a hostile guest kernel through run_guest_test.sh and judges containment
# (docs/jail.md, "Containment tests").
#
# usage: run_hostile.sh --escape-file PATH [--contain-ok] -- RUN_GUEST_TEST_COMMAND...
#   --escape-file PATH  the host file the guest's escape payload tries to create: it must not
#                       exist afterwards, whatever the engine (removed before the run)
#   --contain-ok        also accept the raw engine's containment stop instead of the
#                       architectural result: ringfold exit status 4 (RF_EXIT_MONITOR) with
#                       "guest escape contained" in its output
set -u

escape= contain_ok=0
while [ $# -gt 0 ]; do
    case "$1" in
    --escape-file) escape=$2; shift ;;
    --contain-ok) contain_ok=1 ;;
    --) shift; break ;;
    *) echo "run_hostile.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$escape" ] || [ $# -eq 0 ]; then
    echo "run_hostile.sh: --escape-file and a command are required" >&2
    exit 2
fi

mkdir -p "$(dirname "$escape")"
rm -f "$escape"
log=$escape.log
"$@" >"$log" 2>&1
status=$?
cat "$log"

if [ -e "$escape" ]; then
    echo "CONTAINMENT FAILURE: the guest created $escape on the host"
    rm -f "$escape"
    exit 1
fi
if [ "$status" = 0 ]; then
    echo "hostile test: architectural result"
    exit 0
fi
if [ "$contain_ok" = 1 ] && grep -q "exit status 4 " "$log" && grep -q "guest escape contained" "$log"; then
    echo "hostile test: documented containment stop (escape trapped, VM stopped, no host file)"
    exit 0
fi
echo "hostile test: neither the architectural result nor a containment stop"
exit 1
