#!/usr/bin/env bash
# bench/ringfold-bench.sh: runs the nanobenchmark guest (bench/nano) under every ringfold engine
# and under QEMU TCG, and prints a table of ns and cycles per operation with the ratio to QEMU
# TCG; optionally writes the same figures as JSON and CSV. Progress goes to stderr.
#   ringfold-bench.sh [--quick] [--iters N] [--json FILE] [--csv FILE] [--linux] [--chart FILE]
#                     [--update-docs] BUILD_DIR
# --linux: also boots the default Linux guest with rf.workload=all on each engine and QEMU TCG
#   (bench/linux-workloads.py, about a minute; ignored with --quick).
# --chart FILE: an SVG (gnuplot) of every figure's ratio to QEMU TCG, one bar group per system.
# --update-docs: rewrites the bench-figures section of docs/PERFORMANCE.md with the tables.
# BUILD_DIR holds the ringfold binary and bench/nano/nano.elf (both built by `make`).
# An engine that ringfold reports as not available is listed as skipped with its reason.
# Exit status: 0 when every system that ran completed, 1 when one failed, 2 on bad usage.
set -u

usage() { echo "usage: ringfold-bench.sh [--quick] [--iters N] [--json FILE] [--csv FILE] [--linux] [--chart FILE] [--update-docs] BUILD_DIR" >&2; exit 2; }

quick=0 iters= json= csv= build= linux=0 chart= update_docs=0
args=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --iters) [ $# -ge 2 ] || usage; iters=$2; shift ;;
    --iters=*) iters=${1#*=} ;;
    --json) [ $# -ge 2 ] || usage; json=$2; shift ;;
    --json=*) json=${1#*=} ;;
    --csv) [ $# -ge 2 ] || usage; csv=$2; shift ;;
    --csv=*) csv=${1#*=} ;;
    --linux) linux=1 ;;
    --chart) [ $# -ge 2 ] || usage; chart=$2; shift ;;
    --chart=*) chart=${1#*=} ;;
    --update-docs) update_docs=1 ;;
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

# The source tree (docs/, bench/ helpers): this script's own folder when run from the source,
# else the one CMake recorded for the build directory (`ringfold bench` runs a copy from there).
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/linux-workloads.py" ]; then
    src=$(dirname "$here")
else
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
fi
if [ -n "$chart" ] && ! command -v gnuplot >/dev/null 2>&1; then
    echo "ringfold-bench.sh: --chart: skipped, gnuplot is not installed (apt-get install gnuplot-nox)" >&2
    chart=
fi
# The exact command, for the docs: as `ringfold bench` when the CLI ran the copy in BUILD_DIR.
if [ "$here" = "$(cd "$build" && pwd)" ]; then
    unset 'args[${#args[@]}-1]'                 # the CLI appends BUILD_DIR itself
    cmdline="${build%/}/ringfold bench ${args[*]}"
    [ -n "$src" ] && [ "${build#"$src"/}" != "$build" ] && cmdline="./${build#"$src"/}"
    [ -n "$src" ] && [ "${build#"$src"/}" != "$build" ] && cmdline="${cmdline%/}/ringfold bench ${args[*]}"
else
    cmdline="bash bench/ringfold-bench.sh ${args[*]}"
fi

load0=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null)   # for the docs: was the host busy?

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

# The Linux workloads: one boot per system with rf.workload=all; lsys/lfig lines in $results.
if [ $linux = 1 ] && [ $quick = 1 ]; then
    echo "linux: skipped (--quick)" >&2
    printf 'linuxskip\t--quick\n' >> "$results"
elif [ $linux = 1 ] && [ ! -f "$build/guests/linux/bzImage-686" -o ! -f "$build/guests/linux/initrd.gz" ]; then
    reason="the Linux image is not built (make -C $build linux-image)"
    echo "linux: skipped ($reason)" >&2
    printf 'linuxskip\t%s\n' "$reason" >> "$results"
elif [ $linux = 1 ] && [ ! -f "$src/bench/linux-workloads.py" ]; then
    reason="bench/linux-workloads.py not found (source tree '$src')"
    echo "linux: skipped ($reason)" >&2
    printf 'linuxskip\t%s\n' "$reason" >> "$results"
elif [ $linux = 1 ]; then
    python3 "$src/bench/linux-workloads.py" "$build" "emu raw kvm" "$qemu" $limit >> "$results" || failed=1
    grep -q '^lsys.*failed' "$results" && failed=1
fi

docs=
[ $update_docs = 1 ] && docs=$src/docs/PERFORMANCE.md
[ $update_docs = 1 ] && [ ! -f "$docs" ] && { echo "ringfold-bench.sh: --update-docs: $docs not found" >&2; docs=; failed=1; }
chartdat=
[ -n "$chart" ] && chartdat=$work/chart.tsv
python3 - "$results" "$iters" "$quick" "$json" "$csv" "$kernel" "$chartdat" "$docs" "$cmdline" "$src" "$load0" <<'PY' || failed=1
# Turns the collected lines into the table (stdout), JSON and CSV.
import csv, json, sys, datetime, platform
path, iters, quick, json_path, csv_path, kernel = sys.argv[1:7]
chart_path, docs_path, cmdline, src, load0 = sys.argv[7:12]
BENCHES = ["compute", "syscall", "sysenter", "in", "out", "clisti", "pushfpopf", "callret",
           "pgfault", "divzero", "ptemod", "cr3", "int"]
USER_LEVEL = {"compute", "pushfpopf", "callret"}
systems, figs, tsc = [], {}, {}
LINUX = ["boot-wall", "boot-uptime", "forkwait", "ddsys", "pagefault", "checksum"]
lsystems, lfigs, lskip = [], {}, None
for line in open(path, encoding="utf-8", errors="replace"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "lsys":
        lsystems.append({"name": f[1], "status": f[2], "reason": f[3] or None})
    elif f[0] == "lfig":
        lfigs[(f[2], f[1])] = float(f[3])
    elif f[0] == "linuxskip":
        lskip = f[1]
    elif f[0] == "system":
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
out = []
def put(line=""):
    out.append(line)
def put_table(table):
    w = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for i, t in enumerate(table):
        put("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(t)).rstrip())
        if i == 0:
            put("  ".join("-" * x for x in w))
put("ringfold bench: nanobenchmarks, %s iterations each%s" % (iters, " (quick)" if quick == "1" else ""))
put_table(table)
put()
for s in systems:
    extra = " tsc_hz=%d" % tsc[s["name"]] if s["name"] in tsc else ""
    put("%-9s %s%s%s" % (s["name"] + ":", s["status"], " (" + s["reason"] + ")" if s["reason"] else "", extra))
put()
for n_ in notes:
    put("note: " + n_)
# Linux workloads: seconds per system and the ratio to QEMU TCG.
lran = [s["name"] for s in lsystems if s["status"] == "ok"]
lrows = []
for b in LINUX:
    for s in lran:
        if (b, s) in lfigs:
            q = lfigs.get((b, "qemu-tcg"))
            lrows.append({"benchmark": b, "system": s, "seconds": lfigs[(b, s)],
                          "ratio_to_qemu_tcg": lfigs[(b, s)] / q if q else None})
if lskip:
    put()
    put("linux: skipped (%s)" % lskip)
elif lsystems:
    put()
    put("ringfold bench: Linux workloads (bzImage-686, rf.workload=all, one boot per system), seconds")
    lhead = ["workload"]
    for s in lran:
        lhead += [s + " s"] + ([s + "/qemu"] if s != "qemu-tcg" else [])
    lt = [lhead]
    for b in LINUX:
        row = [b]
        for s in lran:
            r = next((r for r in lrows if r["benchmark"] == b and r["system"] == s), None)
            row.append(fmt(r and r["seconds"], ".2f"))
            if s != "qemu-tcg":
                row.append(fmt(r and r["ratio_to_qemu_tcg"], ".2f"))
        lt.append(row)
    put_table(lt)
    put()
    for s in lsystems:
        put("%-9s %s%s" % (s["name"] + ":", s["status"], " (" + s["reason"] + ")" if s["reason"] else ""))
    put()
    put("note: boot-wall = process start to the 'ringfold-init: reached init' marker (host clock);"
        " boot-uptime = the guest's uptime there; the workloads time themselves in the guest"
        " (guests/linux/workloads.sh)")
print("\n".join(out))
# Chart data: one row per system (a bar group), one column per benchmark, ratio to QEMU TCG.
if chart_path:
    csys = [s for s in dict.fromkeys(ran + lran) if s != "qemu-tcg"]
    cols = [("nano", b) for b in BENCHES] + [("linux", b) for b in LINUX]
    ratio = {(r["benchmark"], r["system"]): r["ratio_to_qemu_tcg"] for r in rows}
    lratio = {(r["benchmark"], r["system"]): r["ratio_to_qemu_tcg"] for r in lrows}
    keep = [c for c in cols if any((ratio if c[0] == "nano" else lratio).get((c[1], s)) for s in csys)]
    with open(chart_path, "w") as f:
        f.write("\t".join(["system"] + [("linux " if k == "linux" else "") + b for k, b in keep]) + "\n")
        for s in csys:
            vals = [(ratio if k == "nano" else lratio).get((b, s)) for k, b in keep]
            f.write("\t".join([s] + ["-" if not v else "%.4g" % v for v in vals]) + "\n")
doc = {"tool": "ringfold-bench", "guest": kernel, "iters": int(iters), "quick": quick == "1",
       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "host": platform.platform(), "benchmarks": BENCHES, "user_level": sorted(USER_LEVEL),
       "systems": [dict(s, tsc_hz=tsc.get(s["name"])) for s in systems],
       "results": rows, "notes": notes}
if lsystems or lskip:
    doc["linux"] = {"kernel": "bzImage-686", "workloads": LINUX, "skipped": lskip,
                    "systems": lsystems, "results": lrows}
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
# --update-docs: replace only what lies between the markers (appended when absent).
if docs_path:
    import os, subprocess
    BEGIN, END = "<!-- bench-figures:begin -->", "<!-- bench-figures:end -->"
    def sh(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=src or None).stdout.strip()
        except OSError:
            return ""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    rev = sh(["git", "rev-parse", "--short", "HEAD"]) or "?"
    # The docs file itself is about to change: only other edits make the tree "uncommitted".
    if sh(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/PERFORMANCE.md"]):
        rev += " (with uncommitted changes)"
    sec = [BEGIN, "## ringfold bench figures", "",
           "Written by `ringfold bench --update-docs`; everything between the bench-figures"
           " markers is replaced on each run.", "",
           "- date: " + doc["date"],
           "- machine: %s, %d CPUs (nproc), %.1f GiB RAM, Linux %s" % (cpu, len(os.sched_getaffinity(0)),
                                                                     mem / 2**20, platform.release()),
           "- host load average (1, 5, 15 min): %s at the start, %s at the end; other work on"
           " the host inflates the figures" % (load0 or "?", " ".join(open("/proc/loadavg").read().split()[:3])),
           "- git revision: " + rev,
           "- command: `" + cmdline + "`", "", "```"] + out + ["```", END]
    text = open(docs_path, encoding="utf-8").read()
    b, e = text.find(BEGIN), text.find(END)
    if b >= 0 and e > b:
        text = text[:b] + "\n".join(sec) + text[e + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(sec) + "\n"
    with open(docs_path, "w", encoding="utf-8") as f:
        f.write(text)
    print("docs: rewrote the bench-figures section of " + docs_path, file=sys.stderr)
PY
# The chart: gnuplot reads the ratio table the report wrote (bench/chart.gp).
if [ -n "$chart" ]; then
    if [ ! -f "$src/bench/chart.gp" ]; then
        echo "ringfold-bench.sh: --chart: $src/bench/chart.gp not found" >&2; failed=1
    elif [ ! -s "$chartdat" ]; then
        echo "ringfold-bench.sh: --chart: no figures to chart" >&2; failed=1
    elif gnuplot -e "datafile='$chartdat'; outfile='$chart'; ncols=$(head -n 1 "$chartdat" | awk -F '\t' '{ print NF }')" \
            "$src/bench/chart.gp"; then
        echo "chart: wrote $chart" >&2
    else
        echo "ringfold-bench.sh: --chart: gnuplot failed" >&2; failed=1
    fi
fi
exit $failed
