#!/bin/sh
# Runs one guest test kernel on one ringfold engine and checks its exit status and,
# where given, its serial output against a golden file or a native program's stdout.
#
# usage: run_guest_test.sh --ringfold BIN --engine E --kernel K.elf --out PREFIX
#            [--append=CMDLINE] [--expect-exit N] [--timeout S]
#            [--golden FILE | --native PROG] [--paged] [--kvm-needs-hw=WHAT] [--raw-gap=WHY]
#            [--env=NAME=VALUE]... [--stats-expect=REGEX]...
# Writes PREFIX.serial (guest output) and PREFIX.expected; exits 0 on success.
# Engine "qemu" runs the kernel under qemu-system-i386 (TCG) instead of ringfold: it
# validates the tests themselves and is never part of ringfold.
# Engines kvm and raw may be unable to run a test on this host: `ringfold probe --engine=E
# [--paged]` decides (--paged: the kernel turns paging on; --kvm-needs-hw: on kvm it needs real
# VT-x/AMD-V, asked as --paged too), and when it says no the test prints "SKIP: ..." with the
# probe's reason and exits 77 (ctest SKIP_RETURN_CODE): never a silent pass. kvm on a host where
# KVM runs only unpaged guests (KVM-PVM) runs unpaged tests with --force-engine.
# --env=NAME=VALUE: set in ringfold's environment (e.g. RINGFOLD_RAW_STUBS=1). --stats-expect=RE:
# run with --stats, keep ringfold's output in PREFIX.log, and require a line matching RE (grep -E)
# in it: evidence of HOW the engine ran the test (e.g. that user code ran in stub processes).
set -u

raw_gap= ringfold= engine=emu kernel= out= append= have_append=0 expect=33 timeout=60 golden= native=
paged=0 needs_hw= stats_expect=
nl='
'
while [ $# -gt 0 ]; do
    case "$1" in
    --ringfold) ringfold=$2; shift ;;
    --engine) engine=$2; shift ;;
    --kernel) kernel=$2; shift ;;
    --out) out=$2; shift ;;
    --append=*) append=${1#--append=}; have_append=1 ;;
    --expect-exit) expect=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --golden) golden=$2; shift ;;
    --native) native=$2; shift ;;
    --paged) paged=1 ;;
    --kvm-needs-hw=*) needs_hw=${1#--kvm-needs-hw=} ;;
    --raw-gap=*) raw_gap=${1#--raw-gap=} ;;
    --env=*) export "${1#--env=}" ;;
    --stats-expect=*) stats_expect=$stats_expect${1#--stats-expect=}$nl ;;
    *) echo "run_guest_test.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$kernel" ] || [ -z "$out" ]; then
    echo "run_guest_test.sh: --kernel and --out are required" >&2
    exit 2
fi
if [ ! -f "$kernel" ]; then
    echo "run_guest_test.sh: kernel $kernel not built (make guest_$(basename "$kernel" .elf))" >&2
    exit 2
fi

force=
if [ "$engine" = kvm ] || [ "$engine" = raw ]; then
    set --
    if [ "$paged" = 1 ] || { [ "$engine" = kvm ] && [ -n "$needs_hw" ]; }; then
        set -- --paged
    fi
    line=$("$ringfold" probe "--engine=$engine" "$@" 2>&1)
    pstatus=$?
    case $pstatus in
    0)  [ "$engine" = kvm ] && force=--force-engine ;;
    1)  reason=${line#*: no: }
        what=
        [ "$paged" = 1 ] && what=" (the test turns paging on)"
        [ "$paged" = 0 ] && [ "$engine" = kvm ] && [ -n "$needs_hw" ] &&
            what=" (the test needs hardware virtualization: $needs_hw)"
        echo "SKIP: engine $engine cannot run this test here: $reason$what"
        exit 77 ;;
    *)  echo "guest test: 'ringfold probe --engine=$engine $*' failed (status $pstatus): $line"
        exit 1 ;;
    esac
fi

mkdir -p "$(dirname "$out")"
serial=$out.serial
expected=$out.expected
rm -f "$serial" "$expected"

if [ "$engine" = qemu ]; then
    # QEMU's -append must not be empty for Multiboot kernels; pass it only when set.
    set -- qemu-system-i386 -kernel "$kernel" -m 128 -display none -monitor none \
        -serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot
    [ "$have_append" = 1 ] && set -- "$@" -append "$append"
    timeout "$timeout" "$@" </dev/null
    status=$?
else
    set -- "$ringfold" run "--engine=$engine" "--serial=file:$serial" "--timeout=$timeout"
    [ -n "$force" ] && set -- "$@" "$force"
    [ "$have_append" = 1 ] && set -- "$@" "--append=$append"
    if [ -n "$stats_expect" ]; then
        "$@" --stats "$kernel" </dev/null >"$out.log" 2>&1
        status=$?
        cat "$out.log"
    else
        "$@" "$kernel" </dev/null
        status=$?
    fi
fi

fail=0
if [ "$status" != "$expect" ]; then
    case "$status" in
    33) why="guest_pass" ;;
    35) why="guest_fail" ;;
    0) why="guest reset the machine" ;;
    6) why="triple fault" ;;
    8) why="guest hung" ;;
    124) why="timeout" ;;
    *) why="see ringfold run --help" ;;
    esac
    echo "guest test: exit status $status ($why), expected $expect"
    fail=1
fi

if [ -n "$stats_expect" ]; then
    while IFS= read -r re; do
        [ -z "$re" ] && continue
        if ! grep -Eq -- "$re" "$out.log"; then
            echo "guest test: no line of ringfold's output (--stats) matches: $re"
            fail=1
        fi
    done <<EOF_RE
$stats_expect
EOF_RE
fi

if [ -n "$native" ]; then
    if ! "$native" >"$expected"; then
        echo "guest test: native golden program $native failed"
        fail=1
    fi
elif [ -n "$golden" ]; then
    cp "$golden" "$expected"
fi
if [ -n "$native$golden" ]; then
    if [ ! -f "$serial" ]; then
        echo "guest test: no serial output at $serial"
        fail=1
    elif ! cmp -s "$expected" "$serial"; then
        echo "guest test: serial output differs from the golden (- expected, + guest):"
        diff -u "$expected" "$serial" | head -n 200
        fail=1
    fi
fi
# A documented gap of the raw engine (--raw-gap=WHY): the test still runs on raw and must not
# crash, hang or stop the monitor; only when the GUEST itself reports the known difference
# (guest_fail, or a golden mismatch with a clean exit) is it reported as skipped with the reason.
# Should it pass one day, it passes and the declaration can go.
if [ "$fail" = 1 ] && [ "$engine" = raw ] && [ -n "$raw_gap" ]; then
    if [ "$status" = 35 ] || [ "$status" = "$expect" ]; then
        echo "--- last lines of guest output ($serial) ---"
        tail -n 20 "$serial" 2>/dev/null
        echo "SKIP: known gap of the raw engine: $raw_gap"
        exit 77
    fi
fi
if [ "$fail" = 0 ]; then
    echo "guest test: ok ($(wc -l <"$serial" 2>/dev/null || echo 0) lines of output)"
else
    echo "--- last lines of guest output ($serial) ---"
    tail -n 20 "$serial" 2>/dev/null
fi
exit $fail
