#!/bin/sh
# Longer fuzz campaign for native execution (docs/testing.md, "Fuzzing native execution"): runs
# fuzz_native.elf for each seed and classifies the run. A crash (signal death, monitor error,
# hang, guest failure) is rerun with fuzz_verbose so that the last sample's registers and bytes
# are in the saved log. With --compare, every seed also runs on emu and the per-sample outcomes
# are compared (divergences are listed, not failed: raw runs some sensitive instructions
# natively by design, docs/raw.md).
#
# usage: campaign.sh [--ringfold BIN] [--kernel ELF] [--engine E] [--append ARGS] [--compare]
#                    [--minutes N] [--timeout S] [--out DIR] SEED... | FIRST-LAST
#   defaults: build-fuzznative's ringfold and kernel, engine raw, timeout 120 s per run,
#   out /tmp/fuzz-campaign; --minutes stops starting new seeds after N minutes.
#   --append "fuzz_iters=3000 fuzz_avoid=ac,hostcs" passes options to the kernel.
# Exit status: 0 when no seed crashed, 1 otherwise. Summary lines: "seed N: pass|contained|CRASH ...".
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
ringfold=$root/build-fuzznative/ringfold
kernel=$root/build-fuzznative/tests/guests/fuzz_native.elf
engine=raw append= compare=0 minutes=0 timeout=120 out=/tmp/fuzz-campaign
while [ $# -gt 0 ]; do
    case "$1" in
    --ringfold) ringfold=$2; shift ;;
    --kernel) kernel=$2; shift ;;
    --engine) engine=$2; shift ;;
    --append) append=$2; shift ;;
    --compare) compare=1 ;;
    --minutes) minutes=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --out) out=$2; shift ;;
    -*) echo "campaign.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "campaign.sh: no seeds (e.g. 1-200)" >&2; exit 2; }
for f in "$ringfold" "$kernel"; do
    [ -e "$f" ] || { echo "campaign.sh: $f not built" >&2; exit 2; }
done
mkdir -p "$out"
if [ $# -eq 1 ] && echo "$1" | grep -Eq '^[0-9]+-[0-9]+$'; then
    set -- $(seq "${1%-*}" "${1#*-}")
fi

# run ENGINE SEED EXTRA LOGPREFIX: one ringfold run; prints its exit status.
run() {
    "$ringfold" run "--engine=$1" "--timeout=$timeout" "--serial=file:$4.serial" \
        "--append=fuzz_seed=$2 $append $3" "$kernel" </dev/null >"$4.log" 2>&1
    echo $?
}

start=$(date +%s) crashes=0 n=0
for seed in "$@"; do
    if [ "$minutes" -gt 0 ] && [ $(( $(date +%s) - start )) -ge $(( minutes * 60 )) ]; then
        echo "campaign: $minutes minutes reached before seed $seed"
        break
    fi
    n=$((n + 1))
    p=$out/$engine-$seed
    st=$(run "$engine" "$seed" "" "$p")
    if [ "$st" = 33 ]; then
        what=pass
    elif [ "$st" = 4 ] && grep -Eq "guest escape contained|guest fast system call" "$p.log"; then
        what="contained ($(grep -Eo 'guest (escape contained|fast system call)' "$p.log" | head -1))"
    else
        crashes=$((crashes + 1))
        why=$(grep -v '^ringfold: engine' "$p.log" | tail -1)
        [ "$st" -gt 128 ] && why="killed by signal $((st - 128)) $why"
        [ "$st" = 35 ] && why="guest failure: $(tail -1 "$p.serial" 2>/dev/null)"
        st2=$(run "$engine" "$seed" fuzz_verbose "$p.verbose")
        last=$(grep '^sample .*: eax=' "$p.verbose.serial" 2>/dev/null | tail -1)
        what="CRASH status $st: $why (verbose rerun: status $st2; last sample in $p.verbose.serial: ${last%% eax=*})"
    fi
    if [ "$compare" = 1 ] && [ "$engine" != emu ]; then
        run "$engine" "$seed" fuzz_verbose "$p.cmp" >/dev/null
        run emu "$seed" fuzz_verbose "$out/emu-$seed.cmp" >/dev/null
        grep ': outcome' "$p.cmp.serial" >"$p.cmp.out" 2>/dev/null
        grep ': outcome' "$out/emu-$seed.cmp.serial" >"$out/emu-$seed.cmp.out" 2>/dev/null
        d=$(diff "$out/emu-$seed.cmp.out" "$p.cmp.out" | grep -c '^>')
        what="$what; $d sample outcomes differ from emu (diff $out/emu-$seed.cmp.out $p.cmp.out)"
    fi
    echo "seed $seed: $what"
done
echo "campaign: $n seeds on $engine, $crashes crashed; logs in $out"
[ "$crashes" = 0 ]
