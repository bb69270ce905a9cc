#!/usr/bin/env bash
# bench/ringfold-bench.sh: runs the nanobenchmark guest (bench/nano) under every ringfold engine
# and under QEMU TCG, and prints a table of ns and cycles per operation with the ratio to QEMU
# TCG; optionally writes the same figures as JSON and CSV. Progress goes to stderr.
#   ringfold-bench.sh [--quick] [--iters N] [--json FILE] [--csv FILE] BUILD_DIR
# BUILD_DIR holds the ringfold binary and bench/nano/nano.elf (both built by `make`).
# An engine that ringfold reports as not available is listed as skipped with its reason.
# Exit status: 0 when every system that ran completed, 1 when one failed, 2 on bad usage.
set -u

usage() { echo "usage: ringfold-bench.sh [--quick] [--iters N] [--json FILE] [--csv FILE] BUILD_DIR" >&2; exit 2; }

quick=0 iters= json= csv= build=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --iters) [ $# -ge 2 ] || usage; iters=$2; shift ;;
    --iters=*) iters=${1#*=} ;;
    --json) [ $# -ge 2 ] || usage; json=$2; shift ;;
    --json=*) json=${1#*=} ;;
    --csv) [ $# -ge 2 ] || usage; csv=$2; shift ;;
    --csv=*) csv=${1#*=} ;;
    -h|--help) usage ;;
    -*) echo "ringfold-bench.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$build" ] || usage; build=$1 ;;
    esac
    shift
done
[ -n "$build" ] || usage
if [ -z "$iters" ]; then
    if [ $quick = 1 ]; then iters=2000; else iters=500000; fi
fi
case $iters in ''|*[!0-9]*) echo "ringfold-bench.sh: --iters wants a number" >&2; exit 2 ;; esac

ringfold=$build/ringfold
kernel=$build/bench/nano/nano.elf
qemu=${QEMU:-qemu-system-i386}
limit=300                                       # seconds per system, a hung guest ends here
for f in "$ringfold" "$kernel"; do
    [ -f "$f" ] || { echo "ringfold-bench.sh: $f: not built (run make in $build)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "ringfold-bench.sh: python3 is needed for the report" >&2; exit 2; }

work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv                       # system status reason lines, then figures
: > "$results"

native=$build/bench/nano/nano-native              # user-level loops as a Linux process
systems="emu raw kvm qemu-tcg native"
nsys=$(echo $systems | wc -w)
n=0
failed=0
for sys in $systems; do
    n=$((n + 1))
    out=$work/$sys.out
    if [ "$sys" = qemu-tcg ]; then
        if ! command -v "$qemu" >/dev/null 2>&1; then
            printf 'system\t%s\tskipped\t%s not installed\n' "$sys" "$qemu" >> "$results"
            echo "[$n/$nsys] $sys: skipped ($qemu not installed)" >&2
            continue
        fi
        echo "[$n/$nsys] $sys: running $iters iterations per benchmark..." >&2
        start=$(date +%s.%N)
        timeout $limit "$qemu" -accel tcg -m 64 -display none -serial stdio -monitor none \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
            -kernel "$kernel" -append "iters=$iters" </dev/null > "$out" 2>&1
        rc=$?
    elif [ "$sys" = native ]; then
        if [ ! -x "$native" ]; then
            printf 'system\t%s\tskipped\t%s not built\n' "$sys" "$native" >> "$results"
            echo "[$n/$nsys] $sys: skipped ($native not built)" >&2
            continue
        fi
        echo "[$n/$nsys] $sys: running the user-level benchmarks, $iters iterations each..." >&2
        start=$(date +%s.%N)
        timeout $limit "$native" "iters=$iters" </dev/null > "$out" 2>&1
        rc=$?
        [ $rc -eq 0 ] && rc=33                  # a Linux process exits 0, the guests 33
    else
        echo "[$n/$nsys] $sys: running $iters iterations per benchmark..." >&2
        start=$(date +%s.%N)
        "$ringfold" run --engine="$sys" --timeout=$limit --mem=64M --serial=stdio \
            --append="iters=$iters" "$kernel" </dev/null > "$out" 2>&1
        rc=$?
    fi
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    last=$(grep -av '^nano: ' "$out" | tail -n 1 | tr -d '\r\t')
    if [ $rc -eq 33 ] && grep -aq '^nano: done' "$out"; then
        printf 'system\t%s\tok\t\n' "$sys" >> "$results"
        grep -a '^nano: ' "$out" | tr -d '\r' | sed 's/^/fig\t'"$sys"'\t/' >> "$results"
        echo "[$n/$nsys] $sys: done in ${secs}s" >&2
    elif [ "$sys" != qemu-tcg ] && [ "$sys" != native ] && [ $rc -ne 33 ] && grep -aq 'not available' "$out"; then
        reason=${last#ringfold: }
        printf 'system\t%s\tskipped\t%s\n' "$sys" "$reason" >> "$results"
        echo "[$n/$nsys] $sys: skipped ($reason)" >&2
    else
        fail=$(grep -a '^nano: FAIL' "$out" | head -n 1 | tr -d '\r\t')
        reason="exit status $rc${fail:+: $fail}${last:+; $last}"
        printf 'system\t%s\tfailed\t%s\n' "$sys" "$reason" >> "$results"
        echo "[$n/$nsys] $sys: FAILED ($reason)" >&2
        failed=1
    fi
done

python3 - "$results" "$iters" "$quick" "$json" "$csv" "$kernel" <<'PY' || failed=1
# Turns the collected lines into the table (stdout), JSON and CSV.
import csv, json, sys, datetime, platform
path, iters, quick, json_path, csv_path, kernel = sys.argv[1:7]
BENCHES = ["compute", "syscall", "sysenter", "in", "out", "clisti", "pushfpopf", "callret",
           "pgfault", "divzero", "ptemod", "cr3", "int"]
USER_LEVEL = {"compute", "pushfpopf", "callret"}
systems, figs, tsc = [], {}, {}
for line in open(path, encoding="utf-8", errors="replace"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "system":
        systems.append({"name": f[1], "status": f[2], "reason": f[3] or None})
    elif f[0] == "fig":
        words = f[2].split()[1:]                 # drop "nano:"
        kv = dict(w.split("=", 1) for w in words if "=" in w)
        if "tsc_hz" in kv:
            tsc[f[1]] = int(kv["tsc_hz"])
        elif words and words[0] in BENCHES and "cycles" in kv:
            figs[(words[0], f[1])] = (int(kv["iters"]), int(kv["cycles"]))
ran = [s["name"] for s in systems if s["status"] == "ok"]
rows = []
for b in BENCHES:
    for s in ran:
        if (b, s) not in figs or not tsc.get(s):
            continue
        n, c = figs[(b, s)]
        cpo = c / n if n else None
        ns = cpo * 1e9 / tsc[s] if cpo is not None else None
        rows.append({"benchmark": b, "system": s, "iters": n, "cycles": c,
                     "cycles_per_op": cpo, "ns_per_op": ns})
ns_of = {(r["benchmark"], r["system"]): r["ns_per_op"] for r in rows}
for r in rows:
    q = ns_of.get((r["benchmark"], "qemu-tcg"))
    r["ratio_to_qemu_tcg"] = r["ns_per_op"] / q if q and r["ns_per_op"] is not None else None
notes = ["ns/op = cycles / iters / tsc_hz; tsc_hz is measured by the guest against PIT channel 2"
         " (ringfold's virtual TSC runs at 1 GHz; under QEMU TCG it is the host's TSC)",
         "ratio = ns/op of the system / ns/op under QEMU TCG (below 1: faster than QEMU TCG)",
         "each figure includes the loop's dec+jnz; cr3 is one CR3 load per op, pgfault one"
         " user #PF resolved by the guest kernel per op",
         "native: only the user-level workloads (%s) run natively (a 32-bit Linux process,"
         " TSC rate against CLOCK_MONOTONIC); '-' elsewhere" % ", ".join(sorted(USER_LEVEL))]
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
# Table: one row per benchmark; per system ns/op, cycles/op and (not for QEMU) the ratio.
head = ["benchmark"]
for s in ran:
    head += [s + " ns/op", s + " cyc/op"] + ([s + "/qemu"] if s != "qemu-tcg" else [])
table = [head]
for b in BENCHES:
    row = [b]
    for s in ran:
        r = next((r for r in rows if r["benchmark"] == b and r["system"] == s), None)
        row += [fmt(r and r["ns_per_op"], ".1f"), fmt(r and r["cycles_per_op"], ".1f")]
        if s != "qemu-tcg":
            row.append(fmt(r and r["ratio_to_qemu_tcg"], ".2f"))
    table.append(row)
w = [max(len(t[i]) for t in table) for i in range(len(head))]
print("ringfold bench: nanobenchmarks, %s iterations each%s" % (iters, " (quick)" if quick == "1" else ""))
for i, t in enumerate(table):
    print("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(t)))
    if i == 0:
        print("  ".join("-" * x for x in w))
print()
for s in systems:
    extra = " tsc_hz=%d" % tsc[s["name"]] if s["name"] in tsc else ""
    print("%-9s %s%s%s" % (s["name"] + ":", s["status"], " (" + s["reason"] + ")" if s["reason"] else "", extra))
print()
for n_ in notes:
    print("note: " + n_)
doc = {"tool": "ringfold-bench", "guest": kernel, "iters": int(iters), "quick": quick == "1",
       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "host": platform.platform(), "benchmarks": BENCHES, "user_level": sorted(USER_LEVEL),
       "systems": [dict(s, tsc_hz=tsc.get(s["name"])) for s in systems],
       "results": rows, "notes": notes}
if json_path:
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
if csv_path:
    with open(csv_path, "w", newline="") as f:
        cw = csv.writer(f)
        keys = ["benchmark", "system", "iters", "cycles", "cycles_per_op", "ns_per_op", "ratio_to_qemu_tcg"]
        cw.writerow(keys)
        for r in rows:
            cw.writerow(["" if r[k] is None else (round(r[k], 3) if isinstance(r[k], float) else r[k]) for k in keys])
PY
exit $failed
