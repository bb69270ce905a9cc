#!/usr/bin/env bash
# bench/run-mips.sh: interpreter speed, ringfold's emu engine against QEMU TCG on the same guests
# in the same run. Builds nothing: give it a configured and built build directory.
#
#   bench/run-mips.sh [--quick] [--runs N] [--insns N] [--max-seconds S] [--update-docs] BUILD_DIR
#
# For each guest (compute, memory, paging; bench/mips/mips.S) and each system (emu, qemu) it
# measures the boot overhead (iters=0) and the timed run (iters=N), each RUNS times, the two
# systems alternating (emu qemu emu qemu ...), and reports per system the median wall times and
#   MIPS = instructions executed in the loop / (median wall - median boot wall)
# where the instruction count is exact (printed by the guest, checked by single-stepping in
# `iters=N verify` mode, see ctest bench.mips.qemu), and the ratio emu/QEMU. Both systems run
# the same iteration count; their checksums must agree. --update-docs rewrites the figures
# section of docs/PERFORMANCE.md. Only bash, coreutils, awk, grep and sed are used.
set -u

usage() {
    sed -n '2,14s/^# \{0,1\}//p' "$0"
    exit 2
}

quick=0 runs= target_insns= max_seconds= update_docs=0 build=
args_given="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --runs=*) runs=${1#*=} ;;
    --insns) target_insns=${2:?--insns needs a number}; shift ;;
    --insns=*) target_insns=${1#*=} ;;
    --max-seconds) max_seconds=${2:?--max-seconds needs a number}; shift ;;
    --max-seconds=*) max_seconds=${1#*=} ;;
    --update-docs) update_docs=1 ;;
    -h|--help) usage ;;
    -*) echo "run-mips.sh: unknown option '$1'" >&2; usage ;;
    *) [ -n "$build" ] && { echo "run-mips.sh: build directory given twice" >&2; exit 2; }
       build=$1 ;;
    esac
    shift
done
[ -n "$build" ] || usage
if [ $quick = 1 ]; then
    : "${runs:=3}" "${target_insns:=300000000}" "${max_seconds:=10}"
else
    : "${runs:=5}" "${target_insns:=3000000000}" "${max_seconds:=20}"
fi
for n in "$runs" "$target_insns" "$max_seconds"; do
    case $n in ''|*[!0-9]*) echo "run-mips.sh: '$n' is not a positive integer" >&2; exit 2 ;; esac
done
[ "$runs" -ge 1 ] && [ "$target_insns" -ge 1 ] && [ "$max_seconds" -ge 1 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run-mips.sh: no directory '$build'" >&2; exit 2; }
ringfold=$build/ringfold
kdir=$build/bench/mips
qemu=${QEMU:-qemu-system-i386}
variants="compute memory paging"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for v in $variants; do
    [ -f "$kdir/mips-$v.elf" ] || { echo "run-mips.sh: $kdir/mips-$v.elf missing: build target bench_mips" >&2; exit 2; }
done

have_qemu=1
command -v "$qemu" >/dev/null 2>&1 || { have_qemu=0; echo "note: $qemu not installed: emu only"; }
have_emu=1
[ -x "$ringfold" ] || { have_emu=0; echo "note: $ringfold not built: QEMU only"; }

# run_once SYSTEM KERNEL ITERS TIMEOUT_S OUTFILE -> sets wall_ns, cpu_ms (user + sys of the
# process tree, which the other work on a shared machine disturbs less than wall time), rc
run_once() {
    local sys=$1 kernel=$2 iters=$3 tmo=$4 out=$5 t0 t1 TIMEFORMAT='%3U %3S'
    if [ "$sys" = qemu ]; then
        t0=$(date +%s%N)
        { time timeout "$tmo" "$qemu" -accel tcg -m 64 -display none -serial stdio -monitor none \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
            -kernel "$kernel" -append "iters=$iters" </dev/null >"$out" 2>&1; } 2>"$work/cpu"
        rc=$?
        t1=$(date +%s%N)
    else
        t0=$(date +%s%N)
        { time "$ringfold" run --engine=emu --mem=64M --serial=stdio --timeout="$tmo" \
            --append="iters=$iters" "$kernel" </dev/null >"$out" 2>&1; } 2>"$work/cpu"
        rc=$?
        t1=$(date +%s%N)
    fi
    wall_ns=$((t1 - t0))
    cpu_ms=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$work/cpu")
}

# result_field OUTFILE VARIANT FIELD: a key=value field of the guest's result line
result_field() {
    grep -a "^mips: variant=$2 " "$1" | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}

median() {  # numbers on stdin
    sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "";
        else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# check SYSTEM VARIANT OUTFILE: 0 when the guest succeeded, else prints why to $work/why.SYS.VAR
check() {
    local sys=$1 v=$2 out=$3 msg
    if [ "$rc" -eq 33 ] && grep -aq "^mips: variant=$v " "$out"; then
        return 0
    fi
    msg=$(grep -av '^mips: variant=' "$out" | tail -3 | tr '\n' ' ' | cut -c1-200 | sed 's/ *$//')
    if [ "$sys" = emu ]; then
        echo "ringfold run failed (exit status $rc${msg:+: $msg})" >"$work/why.$sys.$v"
    else
        echo "qemu failed (exit status $rc${msg:+: $msg})" >"$work/why.$sys.$v"
    fi
    return 1
}

systems=""
[ $have_emu = 1 ] && systems="$systems emu"
[ $have_qemu = 1 ] && systems="$systems qemu"
[ -n "$systems" ] || { echo "run-mips.sh: neither ringfold nor QEMU can run" >&2; exit 1; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
table=$work/table
printf '| guest | system | iters | instructions | boot ms | run ms | MIPS | emu/QEMU | CPU-time MIPS | emu/QEMU (CPU) |\n' >"$table"
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n' >>"$table"
notes=$work/notes
: >"$notes"
status=0

for v in $variants; do
    kernel=$kdir/mips-$v.elf
    out=$work/out
    live=""
    # Boot overhead (iters=0), which also tells the instructions per iteration, K.
    k=
    for sys in $systems; do
        : >"$work/boot.$sys.$v"
    done
    for r in $(seq "$runs"); do
        for sys in $systems; do
            [ -f "$work/why.$sys.$v" ] && continue
            run_once "$sys" "$kernel" 0 60 "$out"
            if check "$sys" "$v" "$out"; then
                echo "$wall_ns" >>"$work/boot.$sys.$v"
                echo "$cpu_ms" >>"$work/bootcpu.$sys.$v"
                k=$(result_field "$out" "$v" insns_per_iter)
            fi
        done
    done
    for sys in $systems; do
        [ -f "$work/why.$sys.$v" ] || live="$live $sys"
    done
    if [ -z "$live" ] || [ -z "$k" ]; then
        for sys in $systems; do
            printf '| %s | %s | | | | | failed | | | |\n' "$v" "$sys" >>"$table"
            echo "- $v on $sys: $(cat "$work/why.$sys.$v")" >>"$notes"
        done
        status=1
        continue
    fi

    # Iteration count: target_insns, lowered so the slowest live system needs about
    # max_seconds per run (estimated from one run of a thirtieth of the work).
    iters=$((target_insns / k))
    probe=$((iters / 30 > 0 ? iters / 30 : 1))
    for sys in $live; do
        run_once "$sys" "$kernel" "$probe" $((max_seconds * 10)) "$out"
        check "$sys" "$v" "$out" || continue
        boot=$(median <"$work/boot.$sys.$v")
        net=$((wall_ns - boot))
        [ $net -lt 1000000 ] && net=1000000      # too fast to tell: keep the target
        fit=$(awk -v p="$probe" -v n="$net" -v s="$max_seconds" 'BEGIN { printf "%.0f", p * s * 1e9 / n }')
        [ "$fit" -lt "$iters" ] && iters=$fit
    done
    [ "$iters" -lt 1 ] && iters=1

    # Timed runs, alternating between systems.
    for sys in $live; do : >"$work/run.$sys.$v"; done
    for r in $(seq "$runs"); do
        for sys in $live; do
            [ -f "$work/why.$sys.$v" ] && continue
            run_once "$sys" "$kernel" "$iters" $((max_seconds * 10)) "$out"
            if check "$sys" "$v" "$out"; then
                echo "$wall_ns" >>"$work/run.$sys.$v"
                echo "$cpu_ms" >>"$work/runcpu.$sys.$v"
                result_field "$out" "$v" checksum >"$work/csum.$sys.$v"
                result_field "$out" "$v" insns >"$work/insns.$v"
            fi
            printf '.' >&2
        done
    done
    printf '\n' >&2

    insns=$(cat "$work/insns.$v" 2>/dev/null)
    declare -A mips=() cmips=()
    # QEMU's row first, so the emu row can carry the ratios.
    for sys in $(printf '%s\n' $systems | sort -r); do
        if [ -f "$work/why.$sys.$v" ]; then
            printf '| %s | %s | %s | | | | failed | | | |\n' "$v" "$sys" "$iters" >>"$table"
            echo "- $v on $sys: $(cat "$work/why.$sys.$v")" >>"$notes"
            status=1
            continue
        fi
        boot=$(median <"$work/boot.$sys.$v")
        run=$(median <"$work/run.$sys.$v")
        mips[$sys]=$(awk -v i="$insns" -v r="$run" -v b="$boot" \
            'BEGIN { if (r - b > 0) printf "%.1f", i / ((r - b) / 1e9) / 1e6; else print "n/a" }')
        bootcpu=$(median <"$work/bootcpu.$sys.$v")
        runcpu=$(median <"$work/runcpu.$sys.$v")
        cmips[$sys]=$(awk -v i="$insns" -v r="$runcpu" -v b="$bootcpu" \
            'BEGIN { if (r - b > 0) printf "%.1f", i / ((r - b) / 1e3) / 1e6; else print "n/a" }')
        ratio= cratio=
        if [ "$sys" = emu ] && [ -n "${mips[qemu]:-}" ]; then
            ratio=$(awk -v e="${mips[emu]}" -v q="${mips[qemu]}" \
                'BEGIN { if (e + 0 > 0 && q + 0 > 0) printf "%.3f", e / q; else print "n/a" }')
            cratio=$(awk -v e="${cmips[emu]}" -v q="${cmips[qemu]}" \
                'BEGIN { if (e + 0 > 0 && q + 0 > 0) printf "%.3f", e / q; else print "n/a" }')
        fi
        printf '| %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s | %s |\n' "$v" "$sys" "$iters" "$insns" \
            "$(awk -v x="$boot" 'BEGIN { print x / 1e6 }')" \
            "$(awk -v x="$run" 'BEGIN { print x / 1e6 }')" "${mips[$sys]}" "$ratio" \
            "${cmips[$sys]}" "$cratio" >>"$table"
    done
    if [ -f "$work/csum.emu.$v" ] && [ -f "$work/csum.qemu.$v" ] &&
       ! cmp -s "$work/csum.emu.$v" "$work/csum.qemu.$v"; then
        echo "- $v: CHECKSUM MISMATCH: emu $(cat "$work/csum.emu.$v"), QEMU $(cat "$work/csum.qemu.$v"): the emu engine computed something else" >>"$notes"
        status=1
    fi
    unset mips cmips
done

if [ $quick = 1 ]; then mode="--quick: "; else mode=""; fi
summary="${mode}median of $runs alternating runs per system; MIPS = exact loop instruction count / (median run wall - median boot wall with iters=0); CPU-time MIPS: the same with user+sys CPU time"
echo
echo "ringfold emu engine vs QEMU TCG ($summary)"
cat "$table"
[ -s "$notes" ] && { echo; cat "$notes"; }

if [ $update_docs = 1 ]; then
    doc=$(cd "$here/.." && pwd)/docs/PERFORMANCE.md
    cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    qv=$([ $have_qemu = 1 ] && "$qemu" --version | head -1)
    rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null)
    if [ -n "$rev" ] && [ -n "$(git -C "$here/.." status --porcelain -uno -- core devices tools include 2>/dev/null)" ]; then
        rev="$rev + uncommitted changes in the shared tree"
    fi
    fig=$work/figures
    {
        echo "<!-- mips-figures:begin (generated by bench/run-mips.sh --update-docs; do not edit by hand) -->"
        echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with"
        echo
        echo '```'
        echo "bench/run-mips.sh $args_given"
        echo '```'
        echo
        echo "Machine: $cpu, $(nproc) CPUs (nproc), $mem RAM, Linux $(uname -r); ${qv:-QEMU absent};"
        echo "load average at the start $load0, at the end $(cut -d' ' -f1-3 /proc/loadavg) (other work shares this machine);"
        echo "ringfold ${rev:-(unknown revision)}, build type $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)."
        echo "$summary."
        echo
        cat "$table"
        if [ -s "$notes" ]; then echo; cat "$notes"; fi
        echo "<!-- mips-figures:end -->"
    } >"$fig"
    if [ -f "$doc" ] && grep -q '^<!-- mips-figures:begin' "$doc"; then
        awk -v fig="$fig" '
            /^<!-- mips-figures:begin/ { while ((getline l < fig) > 0) print l; skip = 1; next }
            /^<!-- mips-figures:end/ { skip = 0; next }
            !skip { print }' "$doc" >"$work/doc" && cat "$work/doc" >"$doc"
    else
        { [ -f "$doc" ] && echo; echo "## Figures"; echo; cat "$fig"; } >>"$doc"
    fi
    echo "updated $doc"
fi
exit $status
