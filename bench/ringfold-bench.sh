#!/usr/bin/env bash
# bench/ringfold-bench.sh: `ringfold bench`, the head-to-head harness (issue 4). Runs the
# nanobenchmark guest (bench/nano) under every ringfold engine that can run a paged guest here
# (and raw-single: raw in its unsafe single-process mode, RINGFOLD_RAW_SINGLE=1),
# QEMU TCG, QEMU KVM (only on real VT-x/AMD-V) and natively (the user-level loops), REPEAT rounds
# each, and prints the medians with ratios to QEMU TCG and to native (bench/bench-report.py).
#   ringfold-bench.sh [--quick] [--iters N] [--repeat N] [--linux] [--linux-repeat N]
#                     [--json FILE] [--csv FILE] [--chart FILE] [--update-docs] BUILD_DIR
# --repeat N: rounds of the nanobenchmarks (default 3, 1 with --quick); the systems alternate
#   within a round, so that a change in host load hits them alike. Medians in the table.
# --linux: also the Linux workloads (bench/linux-workloads.py): the default Linux guest with
#   rf.workload=all on each system, and the same workloads.sh natively with the image's busybox;
#   --linux-repeat N rounds (default: --repeat's). With --quick only the native run (seconds).
# --chart FILE: an SVG (gnuplot, bench/chart.gp): ns/op and seconds per system, and the ratios.
# --update-docs: rewrites the bench-figures section of docs/PERFORMANCE.md with the tables.
# BUILD_DIR holds the ringfold binary and bench/nano/nano.elf (both built by `make`).
# Which systems run: `ringfold probe --engine=E --paged` for each engine (exit 0 = can run a
# paged guest); the others are listed as skipped with the probe's reason.
# Exit status: 0 when every system that ran completed, 1 when one failed, 2 on bad usage.
set -u

usage() {
    echo "usage: ringfold-bench.sh [--quick] [--iters N] [--repeat N] [--linux] [--linux-repeat N]" \
         "[--json FILE] [--csv FILE] [--chart FILE] [--update-docs] BUILD_DIR" >&2
    exit 2
}

quick=0 iters='' repeat='' lrepeat='' json='' csv='' build='' linux=0 chart='' update_docs=0
args=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --iters|--repeat|--linux-repeat|--json|--csv|--chart)
        [ $# -ge 2 ] || usage
        opt=${1#--}; opt=${opt//-/_}; [ "$opt" = linux_repeat ] && opt=lrepeat
        printf -v "$opt" '%s' "$2"; shift ;;
    --iters=*) iters=${1#*=} ;;
    --repeat=*) repeat=${1#*=} ;;
    --linux-repeat=*) lrepeat=${1#*=} ;;
    --json=*) json=${1#*=} ;;
    --csv=*) csv=${1#*=} ;;
    --chart=*) chart=${1#*=} ;;
    --linux) linux=1 ;;
    --update-docs) update_docs=1 ;;
    -h|--help) usage ;;
    -*) echo "ringfold-bench.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$build" ] || usage; build=$1 ;;
    esac
    shift
done
[ -n "$build" ] || usage
[ -n "$iters" ] || { [ $quick = 1 ] && iters=2000 || iters=500000; }
[ -n "$repeat" ] || { [ $quick = 1 ] && repeat=1 || repeat=3; }
[ -n "$lrepeat" ] || lrepeat=$repeat
for v in "$iters" "$repeat" "$lrepeat"; do
    case $v in ''|*[!0-9]*|0) echo "ringfold-bench.sh: --iters, --repeat and --linux-repeat want a number above 0" >&2; exit 2 ;; esac
done

ringfold=$build/ringfold
kernel=$build/bench/nano/nano.elf
native=$build/bench/nano/nano-native              # user-level loops as a Linux process
qemu=${QEMU:-qemu-system-i386}
limit=300                                       # seconds per nanobenchmark run, a hung guest ends here
llimit=180                                      # seconds per Linux boot + workloads (emu: ~35 s idle, ~125 s at load 10)
for f in "$ringfold" "$kernel"; do
    [ -f "$f" ] || { echo "ringfold-bench.sh: $f: not built (run make in $build)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "ringfold-bench.sh: python3 is needed for the report" >&2; exit 2; }

# The source tree (docs/, bench/ helpers): this script's own folder when run from the source,
# else the one CMake recorded for the build directory (`ringfold bench` runs a copy from there).
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/bench-report.py" ]; then
    src=$(dirname "$here")
else
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
fi
[ -f "$src/bench/bench-report.py" ] || { echo "ringfold-bench.sh: bench/bench-report.py not found (source tree '$src')" >&2; exit 2; }
if [ -n "$chart" ] && ! command -v gnuplot >/dev/null 2>&1; then
    echo "ringfold-bench.sh: --chart: skipped, gnuplot is not installed (apt-get install gnuplot-nox)" >&2
    chart=
fi
for f in "$json" "$csv"; do
    [ -z "$f" ] || [ -d "$(dirname "$f")" ] ||
        { echo "ringfold-bench.sh: $f: no such directory $(dirname "$f")" >&2; exit 2; }
done
if [ -n "$chart" ]; then                        # absolute: gnuplot runs in the data's directory
    chartabs=$(cd "$(dirname "$chart")" 2>/dev/null && pwd) ||
        { echo "ringfold-bench.sh: --chart: $(dirname "$chart"): no such directory" >&2; exit 2; }
    chartabs=${chartabs%/}/$(basename "$chart")
fi
# The exact command, for the docs: as `ringfold bench` when the CLI ran the copy in BUILD_DIR.
if [ "$here" = "$(cd "$build" && pwd)" ]; then
    unset 'args[${#args[@]}-1]'                 # the CLI appends BUILD_DIR itself
    rel=$build
    [ -n "$src" ] && [ "${build#"$src"/}" != "$build" ] && rel="./${build#"$src"/}"
    cmdline="${rel%/}/ringfold bench ${args[*]}"
else
    cmdline="bash bench/ringfold-bench.sh ${args[*]}"
fi

load0=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null)   # for the docs: was the host busy?
# For the docs: the revision the run starts on (others may commit while it runs); the docs file
# and the chart it is about to rewrite do not count as uncommitted changes.
rev0=''
if [ $update_docs = 1 ] && rev0=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
    [ -n "$(git -C "$src" status --porcelain --untracked-files=no -- . ':!docs/PERFORMANCE.md' ':!docs/*.svg' 2>/dev/null)" ] &&
        rev0="$rev0 (with uncommitted changes)"
fi

work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv                       # see bench-report.py for the line kinds
: > "$results"
record() { local IFS=$'\t'; printf '%s\n' "$*" >> "$results"; }

# probe_paged E: PROBE_OK=1 when engine E can run a paged guest here, else 0 with PROBE_WHY.
# `ringfold probe --engine=E --paged` answers with its exit status. A ringfold whose probe does
# not take those options yet (exit 2, or it lists every engine) is read from plain
# `ringfold probe`'s "NAME yes|no: reason" lines instead.
probe_paged() {
    local e=$1 out rc line verdict
    out=$("$ringfold" probe --engine="$e" --paged 2>&1 </dev/null); rc=$?
    if [ $rc -ne 2 ] && ! printf '%s\n' "$out" | grep -Ev "^ *${e}[ :]" | grep -Eq '^ *[a-z]+:? +(yes|no)'; then
        PROBE_OK=$(( rc == 0 ))
        PROBE_WHY=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1 | tr -d '\r\t')
        PROBE_WHY=$(printf '%s' "${PROBE_WHY#ringfold: }" | sed -E "s/^(probe: )?$e:? +(yes|no)(: *)?//")
        PROBE_LINE="ringfold probe --engine=$e --paged: exit $rc${PROBE_WHY:+: $PROBE_WHY}"
        [ -n "$PROBE_WHY" ] || PROBE_WHY="ringfold probe --engine=$e --paged exits $rc"
        return
    fi
    line=$("$ringfold" probe 2>/dev/null </dev/null | grep -E "^ *$e:? +(yes|no)" | head -n 1 | tr -d '\r\t' | sed 's/^ *//')
    PROBE_LINE="ringfold probe: ${line:-no line for $e}"
    verdict=$(printf '%s' "$line" | sed -E "s/^$e:? +(yes|no).*/\1/")
    PROBE_WHY=$(printf '%s' "$line" | sed -E "s/^$e:? +(yes|no):? *//")
    case $verdict in
    yes) PROBE_OK=1; PROBE_WHY='' ;;
    no) PROBE_OK=0; [ -n "$PROBE_WHY" ] || PROBE_WHY="ringfold probe says no" ;;
    *) PROBE_OK=0; PROBE_WHY="ringfold probe does not list $e" ;;
    esac
}

# Which systems run, and why not the others (the same list for the Linux workloads).
systems=() skip=()
kvm_ok=0 kvm_why=
for e in emu raw kvm; do
    probe_paged "$e"
    record probe "$e" "$PROBE_LINE"
    if [ "$PROBE_OK" = 1 ]; then
        systems+=("$e")
    else
        skip+=("$e"$'\t'"engine $e not available: $PROBE_WHY")
    fi
    [ "$e" = kvm ] && { kvm_ok=$PROBE_OK; kvm_why=$PROBE_WHY; }
    # raw-single: the raw engine with RINGFOLD_RAW_SINGLE=1, guest user code in the monitor
    # process as before phase 3 (unsafe; docs/raw.md): the cost of the stub processes is the
    # difference between the raw and raw-single columns.
    if [ "$e" = raw ]; then
        record probe raw-single "$PROBE_LINE (run with RINGFOLD_RAW_SINGLE=1)"
        if [ "$PROBE_OK" = 1 ]; then
            systems+=(raw-single)
        else
            skip+=("raw-single"$'\t'"engine raw not available: $PROBE_WHY")
        fi
    fi
done
if ! command -v "$qemu" >/dev/null 2>&1; then
    skip+=("qemu-tcg"$'\t'"$qemu not installed" "qemu-kvm"$'\t'"$qemu not installed")
else
    systems+=(qemu-tcg)
    # QEMU KVM is compared only on real VT-x/AMD-V: what ringfold's kvm probe checks for.
    if [ "$kvm_ok" = 1 ]; then
        systems+=(qemu-kvm)
    else
        skip+=("qemu-kvm"$'\t'"needs real VT-x/AMD-V, ringfold probe --engine=kvm --paged says no: $kvm_why")
    fi
fi
systems+=(native)

for s in "${skip[@]}"; do
    record system "${s%%$'\t'*}" skipped "${s#*$'\t'}"
    echo "${s%%$'\t'*}: skipped (${s#*$'\t'})" >&2
done

# The nanobenchmarks: REPEAT rounds, every system once per round.
failed=0
declare -A gone=()                              # systems that failed or turned out unavailable
total=$(( repeat * ${#systems[@]} ))
n=0
for ((rnd = 1; rnd <= repeat; rnd++)); do
    for sys in "${systems[@]}"; do
        n=$((n + 1))
        [ -n "${gone[$sys]:-}" ] && continue
        out=$work/$sys.$rnd.out
        tag="[$n/$total] $sys (round $rnd/$repeat)"
        if [ "$sys" = native ] && [ ! -x "$native" ]; then
            gone[$sys]=1; record system "$sys" skipped "$native not built"
            echo "$tag: skipped ($native not built)" >&2; continue
        fi
        echo "$tag: running $iters iterations per benchmark..." >&2
        start=$(date +%s.%N)
        case $sys in
        qemu-*)
            timeout $limit "$qemu" -accel "${sys#qemu-}" -m 64 -display none -serial stdio -monitor none \
                -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
                -kernel "$kernel" -append "iters=$iters" </dev/null > "$out" 2>&1
            rc=$? ;;
        native)
            timeout $limit "$native" "iters=$iters" </dev/null > "$out" 2>&1
            rc=$?
            [ $rc -eq 0 ] && rc=33 ;;              # a Linux process exits 0, the guests 33
        *)
            engine=$sys single=
            [ "$sys" = raw-single ] && engine=raw single=1
            RINGFOLD_RAW_SINGLE=${single:-0} \
                "$ringfold" run --engine="$engine" --timeout=$limit --mem=64M --serial=stdio \
                --append="iters=$iters" "$kernel" </dev/null > "$out" 2>&1
            rc=$?
            why=$(grep -Eam 1 '^ringfold: engine [a-z0-9_-]+ \(' "$out" | tr -d '\r\t')
            [ -n "$why" ] && [ $rnd = 1 ] && record why "$sys" "$why" ;;
        esac
        secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        last=$(grep -av '^nano: ' "$out" | tail -n 1 | tr -d '\r\t')
        if [ $rc -eq 33 ] && grep -aq '^nano: done' "$out"; then
            grep -a '^nano: ' "$out" | tr -d '\r' | while IFS= read -r l; do record fig "$sys" "$rnd" "$l"; done
            echo "$tag: done in ${secs}s" >&2
        elif [ "${sys#qemu-}" = "$sys" ] && [ "$sys" != native ] && grep -aq 'not available' "$out"; then
            gone[$sys]=1; record system "$sys" skipped "${last#ringfold: }"
            echo "$tag: skipped (${last#ringfold: })" >&2
        else
            fail=$(grep -a '^nano: FAIL' "$out" | head -n 1 | tr -d '\r\t')
            reason="round $rnd: exit status $rc${fail:+: $fail}${last:+; $last}"
            gone[$sys]=1; record system "$sys" failed "$reason"
            echo "$tag: FAILED ($reason)" >&2
            failed=1
        fi
    done
done
for sys in "${systems[@]}"; do
    [ -n "${gone[$sys]:-}" ] || record system "$sys" ok ""
done

# The Linux workloads (bench/linux-workloads.py): lsys/lwhy/lfig lines in $results.
if [ $linux = 1 ]; then
    lsystems=("${systems[@]}")
    if [ $quick = 1 ]; then
        lsystems=(native)                       # seconds, where a guest boot takes a minute
        for s in "${systems[@]}"; do
            [ "$s" = native ] || record lsys "$s" skipped "--quick: only the native run"
        done
    fi
    for s in "${skip[@]}"; do record lsys "${s%%$'\t'*}" skipped "${s#*$'\t'}"; done
    if [ ! -f "$build/guests/linux/bzImage-686" ] || [ ! -f "$build/guests/linux/initrd.gz" ]; then
        reason="the Linux image is not built (make -C $build linux-image)"
        echo "linux: skipped ($reason)" >&2
        record linuxskip "$reason"
    else
        python3 "$src/bench/linux-workloads.py" "$build" $llimit "$lrepeat" "$qemu" "${lsystems[@]}" \
            >> "$results" || failed=1
        grep -q '^lsys.*failed' "$results" && failed=1
    fi
fi

docs='' chart_rel=''
if [ $update_docs = 1 ]; then
    docs=$src/docs/PERFORMANCE.md
    [ -f "$docs" ] || { echo "ringfold-bench.sh: --update-docs: $docs not found" >&2; docs=; failed=1; }
    # The chart's link in the docs section, when it lies in the same tree.
    if [ -n "$chart" ]; then
        case $chartabs in "$src/docs/"*) chart_rel=${chartabs#"$src/docs/"} ;; esac
    fi
fi
chartdir=
[ -n "$chart" ] && { chartdir=$work/chart; mkdir -p "$chartdir"; }
report=(python3 "$src/bench/bench-report.py" "$results" --iters "$iters" --repeat "$repeat"
        --kernel "$kernel" --cmdline "$cmdline" --src "$src" --load0 "$load0" --build "$build"
        --qemu "$qemu" --rev0 "$rev0")
[ $quick = 1 ] && report+=(--quick)
[ -n "$json" ] && report+=(--json "$json")
[ -n "$csv" ] && report+=(--csv "$csv")
[ -n "$chartdir" ] && report+=(--chart-dir "$chartdir")
[ -n "$docs" ] && report+=(--docs "$docs")
[ -n "$chart_rel" ] && report+=(--chart-rel "$chart_rel")
"${report[@]}" || failed=1

# The chart: gnuplot reads the data files the report wrote (bench/chart.gp).
if [ -n "$chart" ]; then
    if [ ! -s "$chartdir/nano.tsv" ] || [ ! -s "$chartdir/vars.gp" ]; then
        echo "ringfold-bench.sh: --chart: no figures to chart" >&2; failed=1
    elif (cd "$chartdir" && gnuplot -e "outfile='$chartabs'" vars.gp "$src/bench/chart.gp"); then
        echo "chart: wrote $chart" >&2
    else
        echo "ringfold-bench.sh: --chart: gnuplot failed" >&2; failed=1
    fi
fi
exit $failed
