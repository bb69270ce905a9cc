#!/usr/bin/env bash
# bench/nano/smoke-nano.sh: ctest bench.nano.smoke. Runs bench/ringfold-bench.sh --quick
# --repeat 2 --linux and checks that the run is complete, not how fast it was: every benchmark
# has a figure for emu in the table, in the JSON (which must parse) and in the CSV, with two runs
# behind each median; every system is listed, a skipped one with its reason; the Linux
# workloads ran natively (or say why not); the chart is a well-formed SVG.
#   smoke-nano.sh HARNESS BUILD_DIR WORK_DIR
set -u
harness=${1:?usage: smoke-nano.sh HARNESS BUILD_DIR WORK_DIR}
build=${2:?missing build directory}
work=${3:?missing work directory}
benches="compute kcompute kcompute0 syscall sysenter in out clisti pushfpopf callret pgfault divzero ptemod cr3 int"
mkdir -p "$work" || exit 1
rm -f "$work/nano.json" "$work/nano.csv" "$work/nano.svg"
# --chart when gnuplot is there (the harness skips it with a reason otherwise); under --quick,
# --linux runs only the native workloads (about a second), which keeps this test fast.
chart=()
command -v gnuplot >/dev/null 2>&1 && chart=(--chart "$work/nano.svg")

bash "$harness" --quick --repeat 2 --linux "${chart[@]}" --json "$work/nano.json" --csv "$work/nano.csv" "$build" \
    > "$work/table.txt" 2> "$work/progress.txt"
rc=$?
cat "$work/progress.txt" "$work/table.txt"
status=0
[ $rc -eq 0 ] || { echo "FAIL: harness exit status $rc"; status=1; }
grep -q '^\[1/' "$work/progress.txt" || { echo "FAIL: no progress lines on stderr"; status=1; }
grep -q '^emu: *ok' "$work/table.txt" || { echo "FAIL: emu did not run"; status=1; }

# Tables (ns/op, then cycles/op): the emu column comes first (the harness lists systems in the
# order emu raw kvm qemu-tcg qemu-kvm native); each benchmark's two rows must carry a number there.
for b in $benches; do
    if ! awk -v b="$b" '/^the cost of isolation/ { iso = 1 } !iso && $1 == b && $2 ~ /^[0-9]+(\.[0-9]+)?$/ { n++ } END { exit n != 2 }' "$work/table.txt"; then
        echo "FAIL: table: no emu ns/op and cyc/op figures for $b"
        status=1
    fi
done

# raw against raw-single (phase 3's isolation cost): when both ran, a row per benchmark with
# both figures and their ratio.
if grep -q '^raw: *ok' "$work/table.txt" && grep -q '^raw-single: *ok' "$work/table.txt"; then
    for b in $benches; do
        if ! awk -v b="$b" '/^the cost of isolation/ { iso = 1 } iso && $1 == b && NF == 4 { n++ } END { exit n != 1 }' "$work/table.txt"; then
            echo "FAIL: the cost-of-isolation table has no raw/raw-single row for $b"
            status=1
        fi
    done
fi

if ! python3 -m json.tool "$work/nano.json" > /dev/null; then
    echo "FAIL: $work/nano.json is not valid JSON"
    exit 1
fi
python3 - "$work/nano.json" "$work/nano.csv" "$work/table.txt" $benches <<'PY' || status=1
import csv, json, sys
doc = json.load(open(sys.argv[1]))
table = open(sys.argv[3]).read().splitlines()
want = sys.argv[4:]
bad = []
got = {(r["benchmark"], r["system"]): r for r in doc["results"]}
for b in want:
    r = got.get((b, "emu"))
    if not r or not isinstance(r.get("ns_per_op"), (int, float)) or r["iters"] <= 0:
        bad.append("json: no emu figure for " + b)
    elif r["runs"] != 2 or not r["ns_per_op_min"] <= r["ns_per_op"] <= r["ns_per_op_max"]:
        bad.append("json: emu %s: want the median of 2 runs within min..max, got %r" % (b, r))
names = [s["name"] for s in doc["systems"]]
for s in ("emu", "raw", "raw-single", "kvm", "qemu-tcg", "qemu-kvm", "native"):
    if s not in names:
        bad.append("json: system %s not listed" % s)
    if not any(l.startswith(s + ":") for l in table):
        bad.append("table: system %s not listed under the table" % s)
for s in doc["systems"]:
    if s["status"] != "ok" and not s.get("reason"):
        bad.append("json: %s is %s without a reason" % (s["name"], s["status"]))
    if s["name"] == "emu" and not (s.get("engine_line") or "").startswith("ringfold: engine emu"):
        bad.append("json: emu's 'ringfold: engine emu (why)' line is missing")
for s in doc["skipped"]:
    if not s.get("reason") or not s.get("system"):
        bad.append("json: skipped entry without system or reason: %r" % s)
rows = list(csv.DictReader(open(sys.argv[2])))
for b in want:
    if not any(r["suite"] == "nano" and r["benchmark"] == b and r["system"] == "emu" and r["ns_per_op"] for r in rows):
        bad.append("csv: no emu figure for " + b)
# Linux under --quick: the native workloads, or a reason why not.
lx = doc.get("linux")
if not lx:
    bad.append("json: no linux section")
elif lx.get("skipped"):
    print("note: linux skipped: " + lx["skipped"])
else:
    nat = next((s for s in lx["systems"] if s["name"] == "native"), None)
    if not nat:
        bad.append("json: linux: native not listed")
    elif nat["status"] != "ok":
        bad.append("json: linux: native %s (%s)" % (nat["status"], nat.get("reason")))
    else:
        for w in ("forkwait", "ddsys", "pagefault", "checksum"):
            if not any(r["benchmark"] == w and r["system"] == "native" and r["seconds"] > 0 for r in lx["results"]):
                bad.append("json: linux: no native figure for " + w)
            if not any(r["suite"] == "linux" and r["benchmark"] == w and r["system"] == "native" and r["seconds"] for r in rows):
                bad.append("csv: linux: no native figure for " + w)
            if not any(l.split()[:1] == [w] and l.split()[1] != "-" for l in table):
                bad.append("table: linux: no native figure for " + w)
    for s in lx["systems"]:
        if s["status"] != "ok" and not s.get("reason"):
            bad.append("json: linux: %s is %s without a reason" % (s["name"], s["status"]))
for m in bad:
    print("FAIL: " + m)
sys.exit(1 if bad else 0)
PY
if [ ${#chart[@]} -gt 0 ]; then
    python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); sys.exit(d.documentElement.tagName != "svg")' \
        "$work/nano.svg" || { echo "FAIL: --chart: $work/nano.svg is not a well-formed SVG"; status=1; }
fi
[ $status -eq 0 ] && echo "ok: complete table, valid JSON and CSV${chart:+, well-formed SVG chart}"
exit $status
