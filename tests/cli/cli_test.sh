#!/usr/bin/env bash
# Command-line behaviour of `ringfold run`: bad input gets one line and status 2, --reboot
# boots again after a guest reset, exit statuses follow the documented table.
# usage: cli_test.sh RINGFOLD DEMO_KERNEL TRIPLE_KERNEL CASE
set -u
rf=$1 demo=$2 triple=$3 case=$4
out=$(mktemp) && trap 'rm -f "$out"' EXIT

expect() {   # expect STATUS LINES-PATTERN -- command...
    local want=$1 pat=$2; shift 3
    "$@" >"$out" 2>&1 </dev/null
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: '$*' exited $got, expected $want"; cat "$out"; exit 1
    fi
    if ! grep -Eq -- "$pat" "$out"; then
        echo "FAIL: '$*' output does not match /$pat/"; cat "$out"; exit 1
    fi
}

case $case in
bad-input)
    expect 2 '^ringfold: --mem: cannot parse' -- "$rf" run --mem=5X "$demo"
    expect 2 '^ringfold: --engine: unknown engine' -- "$rf" run --engine=vmx "$demo"
    expect 2 'No such file' -- "$rf" run /nonexistent/kernel.elf
    expect 2 'no kernel image' -- "$rf" run
    expect 2 'unknown command' -- "$rf" frobnicate
    expect 2 '^ringfold: memory: .* exceeds' -- "$rf" run --mem=8G "$demo"
    expect 2 'image is empty' -- "$rf" run /dev/null
    printf 'no kernel here\n' >"$out.img"
    expect 2 'not a Linux bzImage, Multiboot, ELF32 or boot-sector image' -- "$rf" run "$out.img"
    rm -f "$out.img"
    # An engine that cannot run here (raw where its probe fails; kvm without hardware
    # virtualization: KVM-PVM here, or no /dev/kvm) is refused in one line, status 2, carrying
    # the probe's own reason. kvm is asked with --paged: its engine probe wants real VT-x/AMD-V.
    # Where an engine can run, there is nothing to refuse.
    for e in raw kvm; do
        pflag=; [ "$e" = kvm ] && pflag=--paged
        eline=$("$rf" probe "--engine=$e" $pflag 2>&1)
        [ $? = 1 ] || continue
        ereason=${eline#"$e: no: "}
        expect 2 "engine $e: not available: " -- "$rf" run "--engine=$e" "$demo"
        [ "$(wc -l <"$out")" -eq 1 ] || { echo "FAIL: more than one line for an unavailable engine $e"; cat "$out"; exit 1; }
        grep -qF -- "$ereason" "$out" || { echo "FAIL: $e's refusal does not give the probe's reason '$ereason'"; cat "$out"; exit 1; }
    done
    ;;
statuses)
    expect 0 'guest reset' -- "$rf" run --serial=null "$demo"
    expect 6 'triple fault: ' -- "$rf" run --serial=null "$triple"
    ;;
reboot)
    expect 124 'starting the machine again' -- "$rf" run --reboot --timeout=2 --serial=null "$demo"
    n=$(grep -c 'starting the machine again' "$out")
    [ "$n" -ge 2 ] || { echo "FAIL: --reboot restarted only $n times in 2 s"; exit 1; }
    expect 6 'triple fault' -- "$rf" run --serial=null "$triple"
    ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo "cli $case: ok"
