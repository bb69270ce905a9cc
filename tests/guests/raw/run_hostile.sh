#!/bin/sh
# Runs a hostile guest kernel through run_guest_test.sh and judges containment
# (docs/jail.md, "Containment tests").
#
# usage: run_hostile.sh [--escape-file PATH] [--contain-ok PATTERN] -- RUN_GUEST_TEST_COMMAND...
#   --escape-file PATH  the host file the guest's escape payload tries to create: it must not
#                       exist afterwards, whatever the engine (removed before the run)
#   --contain-ok PATTERN  also accept the raw engine's documented containment stop instead
#                       of the architectural result: ringfold exit status 4 (RF_EXIT_MONITOR)
#                       with PATTERN (grep -E) in its output
#   --secret TEXT       TEXT (a secret the guest kernel keeps in a supervisor page) must appear
#                       neither in the output nor in the serial file given by --serial FILE
set -u

escape= contain= secret= serial=
while [ $# -gt 0 ]; do
    case "$1" in
    --escape-file) escape=$2; shift ;;
    --contain-ok) contain=$2; shift ;;
    --secret) secret=$2; shift ;;
    --serial) serial=$2; shift ;;
    --) shift; break ;;
    *) echo "run_hostile.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
if [ $# -eq 0 ]; then
    echo "run_hostile.sh: no command" >&2
    exit 2
fi

log=$(mktemp "${TMPDIR:-/tmp}/run_hostile.XXXXXX")
trap 'rm -f "$log"' EXIT
[ -n "$escape" ] && rm -f "$escape"
"$@" >"$log" 2>&1
status=$?
cat "$log"

if [ -n "$escape" ] && [ -e "$escape" ]; then
    echo "CONTAINMENT FAILURE: the guest created $escape on the host"
    rm -f "$escape"
    exit 1
fi
if [ -n "$secret" ]; then
    if grep -Fq "$secret" "$log" || { [ -n "$serial" ] && grep -Faq "$secret" "$serial" 2>/dev/null; }; then
        echo "CONTAINMENT FAILURE: the guest kernel's secret reached the output"
        exit 1
    fi
fi
if [ "$status" = 77 ]; then
    exit 77     # run_guest_test.sh skipped it, with the reason printed above
fi
if [ "$status" = 0 ]; then
    echo "hostile test: architectural result"
    exit 0
fi
if [ -n "$contain" ] && grep -q "exit status 4 " "$log" && grep -Eq "$contain" "$log"; then
    echo "hostile test: documented containment stop ($contain), nothing reached the host"
    exit 0
fi
echo "hostile test: neither the architectural result nor a containment stop"
exit 1
