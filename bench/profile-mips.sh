#!/usr/bin/env bash
# bench/profile-mips.sh: where the emu engine spends its time on a benchmark guest, counted
# with callgrind (instruction counts are repeatable on these noisy machines; perf is not
# available). Builds nothing.
#   bench/profile-mips.sh BUILD_DIR [compute|memory|paging] [ITERS]   (defaults: compute 200000)
# Prints the guest's result line, host instructions per guest instruction (callgrind Ir of the
# run minus Ir of an iters=0 run, over the exact loop count), and the top of
# callgrind_annotate; keeps the profile in
# BUILD_DIR/bench/callgrind.<variant>.out for callgrind_annotate --inclusive=yes or kcachegrind.
set -u
build=${1:?usage: profile-mips.sh BUILD_DIR [compute|memory|paging] [ITERS]}
variant=${2:-compute}
iters=${3:-200000}
kernel=$build/bench/mips/mips-$variant.elf
[ -f "$kernel" ] || { echo "profile-mips.sh: $kernel missing (build target bench_mips)" >&2; exit 2; }
[ -x "$build/ringfold" ] || { echo "profile-mips.sh: $build/ringfold not built" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "profile-mips.sh: valgrind not installed" >&2; exit 2; }
out=$build/bench/callgrind.$variant.out
valgrind --tool=callgrind --callgrind-out-file="$out.boot" \
    "$build/ringfold" run --engine=emu --mem=64M --serial=null --append="iters=0" \
    "$kernel" </dev/null 2>"$out.boot.log"
ir0=$(sed -n 's/.*Collected : *//p' "$out.boot.log")
result=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$build/ringfold" run --engine=emu --mem=64M --serial=stdio --append="iters=$iters" \
    "$kernel" </dev/null 2>"$out.log")
rc=$?
echo "$result"
echo "ringfold exit status $rc (33 = guest success); valgrind log: $out.log"
ir=$(sed -n 's/.*Collected : *//p' "$out.log")
insns=$(printf '%s\n' "$result" | tr ' ' '\n' | sed -n 's/^insns=//p')
echo "host instructions (Ir): $ir for iters=$iters, $ir0 for iters=0"
[ -n "$insns" ] && [ -n "$ir" ] && [ -n "$ir0" ] && awk -v a="$ir" -v b="$ir0" -v n="$insns" \
    'BEGIN { printf "host instructions per guest instruction in the loop: %.1f\n", (a - b) / n }'
callgrind_annotate "$out" 2>/dev/null | head -40
