#!/usr/bin/env python3
"""bench/bench-report.py: the report half of `ringfold bench` (bench/ringfold-bench.sh).
Reads the tab-separated lines the harness and linux-workloads.py collected and prints the
tables (medians over the rounds, ratios to QEMU TCG and to native); optionally writes JSON,
CSV, the chart's data files (for bench/chart.gp) and the bench-figures section of
docs/PERFORMANCE.md.
Input lines (RESULTS):
    system   SYS  ok|skipped|failed  REASON       nanobenchmark systems, in table order
    probe    SYS  LINE                            how the harness decided SYS could run
    why      SYS  LINE                            ringfold's "ringfold: engine X (why)" line
    fig      SYS  ROUND  nano: ...                the nano guest's output lines
    lsys / lwhy / lfig, linuxskip REASON          the Linux workloads (linux-workloads.py)
"""
import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

BENCHES = ["compute", "kcompute", "kcompute0", "syscall", "sysenter", "in", "out", "clisti",
           "pushfpopf", "callret", "pgfault", "divzero", "ptemod", "cr3", "int"]
USER_LEVEL = ["compute", "pushfpopf", "callret"]      # the ones nano-native runs too
KERNEL_TWINS = ["kcompute", "kcompute0"]            # ring 0 compute loops, native twin: compute
RING3 = {"compute", "syscall", "sysenter", "pushfpopf", "callret", "pgfault"}   # timed in ring 3
LINUX = ["boot-wall", "boot-uptime", "forkwait", "ddsys", "pagefault", "checksum"]
LINUX_USER = ["forkwait", "ddsys", "pagefault", "checksum"]
ORDER = ["emu", "raw", "raw-single", "kvm", "qemu-tcg", "qemu-kvm", "native"]
# Systems that are an engine in a special mode, with what the report calls them.
LABELS = {"raw-single": "raw, unsafe single process"}
TCG, NATIVE = "qemu-tcg", "native"
CSV_KEYS = ["suite", "benchmark", "system", "runs", "iters", "cycles", "cycles_per_op",
            "ns_per_op", "ns_per_op_min", "ns_per_op_max", "seconds", "seconds_min",
            "seconds_max", "ratio_to_qemu_tcg", "ratio_to_native"]


def parse(path):
    d = {"systems": {}, "probe": {}, "why": {}, "tsc": {}, "utsc": {}, "nano": {}, "lsystems": {},
         "lwhy": {}, "linux": {}, "lskip": None}
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        kind = f[0]
        if kind == "system":
            d["systems"][f[1]] = {"name": f[1], "status": f[2], "reason": f[3] or None}
        elif kind == "probe":
            d["probe"][f[1]] = f[2]
        elif kind == "why":
            d["why"].setdefault(f[1], f[2])
        elif kind == "fig":
            sys_, rnd, words = f[1], int(f[2]), f[3].split()[1:]   # drop "nano:"
            kv = dict(w.split("=", 1) for w in words if "=" in w)
            if "tsc_hz" in kv:
                d["tsc"].setdefault(sys_, {})[rnd] = int(kv["tsc_hz"])
            elif "user_tsc_hz" in kv:
                d["utsc"].setdefault(sys_, {})[rnd] = int(kv["user_tsc_hz"])
            elif words and words[0] in BENCHES and "cycles" in kv and "iters" in kv:
                d["nano"].setdefault((words[0], sys_), {})[rnd] = (int(kv["iters"]), int(kv["cycles"]))
                # kcompute (paging on) and kcompute0 (paging off) are the compute loop run at
                # ring 0; ring 0 has no native twin, so their native figure is the same loop run
                # natively in user mode.
                if sys_ == "native" and words[0] == "compute":
                    for k in KERNEL_TWINS:
                        d["nano"].setdefault((k, sys_), {})[rnd] = (int(kv["iters"]), int(kv["cycles"]))
        elif kind == "lsys":
            d["lsystems"][f[1]] = {"name": f[1], "status": f[2], "reason": f[3] or None}
        elif kind == "lwhy":
            d["lwhy"].setdefault(f[1], f[2])
        elif kind == "lfig":
            d["linux"].setdefault((f[3], f[1]), {})[int(f[2])] = float(f[4])
        elif kind == "linuxskip":
            d["lskip"] = f[1]
    return d


def ordered(names):
    return sorted(names, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


def ratio(a, b):
    return a / b if a is not None and b else None


def nano_rows(d):
    ran = ordered(s for s, v in d["systems"].items() if v["status"] == "ok")
    rows = []
    for b in BENCHES:
        for s in ran:
            runs = d["nano"].get((b, s), {})
            # The ring 3 loops read the TSC in ring 3: timed with the rate it runs at there.
            hz = d["utsc"] if b in RING3 and d["utsc"].get(s) else d["tsc"]
            samples = [(n, c, c / n * 1e9 / hz[s][r]) for r, (n, c) in sorted(runs.items())
                       if n and hz.get(s, {}).get(r)]
            if not samples:
                continue
            ns = [x[2] for x in samples]
            rows.append({"suite": "nano", "benchmark": b, "system": s, "runs": len(samples),
                         "iters": samples[0][0],
                         "cycles": statistics.median(x[1] for x in samples),
                         "cycles_per_op": statistics.median(x[1] / x[0] for x in samples),
                         "ns_per_op": statistics.median(ns), "ns_per_op_min": min(ns),
                         "ns_per_op_max": max(ns), "ns_per_op_runs": ns,
                         "seconds": None, "seconds_min": None, "seconds_max": None})
    return ran, rows


def linux_rows(d):
    ran = ordered(s for s, v in d["lsystems"].items() if v["status"] == "ok")
    rows = []
    for b in LINUX:
        for s in ran:
            secs = [v for _, v in sorted(d["linux"].get((b, s), {}).items())]
            if not secs:
                continue
            rows.append({"suite": "linux", "benchmark": b, "system": s, "runs": len(secs),
                         "iters": None, "cycles": None, "cycles_per_op": None, "ns_per_op": None,
                         "ns_per_op_min": None, "ns_per_op_max": None,
                         "seconds": statistics.median(secs), "seconds_min": min(secs),
                         "seconds_max": max(secs), "seconds_runs": secs})
    return ran, rows


def add_ratios(rows, key):
    val = {(r["benchmark"], r["system"]): r[key] for r in rows}
    for r in rows:
        r["ratio_to_qemu_tcg"] = ratio(r[key], val.get((r["benchmark"], TCG)))
        r["ratio_to_native"] = ratio(r[key], val.get((r["benchmark"], NATIVE)))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table_lines(table):
    w = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    out = []
    for i, t in enumerate(table):
        out.append("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(t)).rstrip())
        if i == 0:
            out.append("  ".join("-" * x for x in w))
    return out


def ratio_heads(ran):
    """The ratio columns: every other system to QEMU TCG, then every other system but QEMU TCG
    to native (TCG/native would only be native/TCG's inverse)."""
    cols = [(s, TCG, "ratio_to_qemu_tcg") for s in ran if s != TCG and TCG in ran]
    cols += [(s, NATIVE, "ratio_to_native") for s in ran if s not in (NATIVE, TCG) and NATIVE in ran]
    return cols


def build_table(names, ran, rows, value_cols, first="benchmark", ratios=True):
    """One row per benchmark: each system's value columns, then the ratio columns."""
    rcols = ratio_heads(ran) if ratios else []
    head = [first]
    for s in ran:
        head += [s + " " + label for _, label, _ in value_cols]
    head += ["%s/%s" % (s, "tcg" if ref == TCG else "native") for s, ref, _ in rcols]
    table = [head]
    by = {(r["benchmark"], r["system"]): r for r in rows}
    for b in names:
        row = [b]
        for s in ran:
            r = by.get((b, s))
            row += [fmt(r and r[key], spec) for key, _, spec in value_cols]
        for s, _, key in rcols:
            r = by.get((b, s))
            row.append(fmt(r and r[key], ".2f"))
        table.append(row)
    return table_lines(table)


def status_line(s, extra=""):
    label = " [" + LABELS[s["name"]] + "]" if s["name"] in LABELS else ""
    return "%-9s %s%s%s%s" % (s["name"] + ":", s["status"], label,
                              " (" + s["reason"] + ")" if s["reason"] else "", extra)


def isolation_lines(ran, rows):
    """raw against raw-single: what running guest user code in stub processes costs (phase 3)."""
    if "raw" not in ran or "raw-single" not in ran:
        return []
    by = {(r["benchmark"], r["system"]): r["ns_per_op"] for r in rows}
    table = [["benchmark", "raw ns/op", "raw-single ns/op", "raw/raw-single"]]
    for b in BENCHES:
        a, s = by.get((b, "raw")), by.get((b, "raw-single"))
        if a is None and s is None:
            continue
        table.append([b, fmt(a, ".1f"), fmt(s, ".1f"), fmt(ratio(a, s), ".2f")])
    return (["", "the cost of isolation: raw (guest user code in stub processes, phase 3) against"
             " raw-single (%s, RINGFOLD_RAW_SINGLE=1)" % LABELS["raw-single"]] + table_lines(table))


def report(a, d):
    ran, rows = nano_rows(d)
    add_ratios(rows, "ns_per_op")
    lran, lrows = linux_rows(d)
    add_ratios(lrows, "seconds")
    out = []
    rounds = max((r["runs"] for r in rows), default=0)
    out.append("ringfold bench: nanobenchmarks, up to %s iterations each, median of %d run%s per system%s"
               % (a.iters, rounds, "" if rounds == 1 else "s", " (quick)" if a.quick else ""))
    out += build_table(BENCHES, ran, rows, [("ns_per_op", "ns/op", ".1f")])
    out += ["", "the same in cycles per operation (the guest's TSC: ringfold's runs at 1 GHz, QEMU TCG's"
            " and native are the host's)"]
    out += build_table(BENCHES, ran, rows, [("cycles_per_op", "cyc/op", ".1f")], ratios=False)
    out += isolation_lines(ran, rows)
    out.append("")
    for s in ordered(d["systems"]):
        v = d["systems"][s]
        tsc, utsc = d["tsc"].get(s, {}).values(), d["utsc"].get(s, {}).values()
        extra = " tsc_hz=%d" % statistics.median(tsc) if tsc and v["status"] == "ok" else ""
        if extra and utsc and abs(statistics.median(utsc) / statistics.median(tsc) - 1) > 0.01:
            extra += (" but ring 3 reads the TSC at %d Hz (the guest sees two TSC rates; the ring 3"
                      " figures use that one)" % statistics.median(utsc))
        why = d["why"].get(s)
        out.append(status_line(v, extra + ("; " + why.removeprefix("ringfold: ") if why else "")))
    out.append("")
    notes = [
        "ns/op = cycles / iters / tsc_hz, the median over the runs (min and max in the JSON);"
        " tsc_hz is measured by the guest against PIT channel 2 (ringfold's virtual TSC runs at"
        " 1 GHz; under QEMU TCG it is the host's TSC), and the ring 3 loops (%s) use the rate"
        " ring 3's RDTSC runs at, measured against ring 0's" % ", ".join(b for b in BENCHES if b in RING3),
        "iters: at most --iters; the guest runs fewer where the warm-up says a benchmark would"
        " take over 2 s (budget_ms), so slow systems finish in minutes (iters per figure in the JSON)",
        "S/tcg = ns/op of S / ns/op under QEMU TCG (below 1: faster than QEMU TCG); S/native the"
        " same against native execution",
        "each figure includes the loop's dec+jnz; cr3 is one CR3 load per op, pgfault one user #PF"
        " resolved by the guest kernel per op",
        "native: the user-level loops (%s) as a 32-bit Linux process (bench/nano/nano-native, TSC"
        " rate against CLOCK_MONOTONIC); '-' for the privileged ones; kcompute (the compute loop at"
        " ring 0, paging on) and kcompute0 (the same, paging off) are compared with that same"
        " native user-mode compute loop" % ", ".join(USER_LEVEL)]
    for n in notes:
        out.append("note: " + n)
    lnotes = []
    if d["lskip"]:
        out += ["", "linux: skipped (%s)" % d["lskip"]]
    if d["lsystems"]:
        lrounds = max((r["runs"] for r in lrows), default=0)
        out += ["", "ringfold bench: Linux workloads (bzImage-686, rf.workload=all), seconds, median of"
                " %d run%s per system" % (lrounds, "" if lrounds == 1 else "s")]
        out += build_table(LINUX, lran, lrows, [("seconds", "s", ".3f")], first="workload")
        out.append("")
        for s in ordered(d["lsystems"]):
            why = d["lwhy"].get(s)
            out.append(status_line(d["lsystems"][s], "; " + why.removeprefix("ringfold: ") if why else ""))
        out.append("")
        lnotes = [
            "boot-wall = process start to the 'ringfold-init: reached init' marker (host clock);"
            " boot-uptime = the guest's uptime there; the workloads time themselves"
            " (guests/linux/workloads.sh: /proc/timer_list, else /proc/uptime)",
            "native: the same workloads.sh with the image's i386 static busybox run directly on"
            " the host, in a tmpfs directory, /bin/true and /tmp/ck moved there; no boot rows"]
        for n in lnotes:
            out.append("note: " + n)
    return ran, rows, lran, lrows, out, notes + lnotes


def write_chart_data(dirname, ran, rows, lran, lrows):
    """nano.tsv / linux.tsv: a row per benchmark, median min max per system ('-' when absent);
    ratio.tsv: a row per benchmark (nano, then Linux), each non-TCG system's ratio to TCG.
    Returns the gnuplot variables that say which systems each file holds."""
    def grid(path, names, systems, rws, key):
        by = {(r["benchmark"], r["system"]): r for r in rws}
        with open(path, "w") as f:
            f.write("\t".join(["benchmark"] + [s + suf for s in systems for suf in ("", " min", " max")]) + "\n")
            for b in names:
                cells = []
                for s in systems:
                    r = by.get((b, s))
                    cells += ["-" if not r or r[k] is None else "%.6g" % r[k]
                              for k in (key, key + "_min", key + "_max")]
                f.write("\t".join([b] + cells) + "\n")
    grid(os.path.join(dirname, "nano.tsv"), BENCHES, ran, rows, "ns_per_op")
    if lrows:
        grid(os.path.join(dirname, "linux.tsv"), LINUX, lran, lrows, "seconds")
    rsys = [s for s in ordered(set(ran) | set(lran)) if s != TCG]
    names = [("nano", b) for b in BENCHES] + [("linux", b) for b in LINUX]
    rv = {(r["suite"], r["benchmark"], r["system"]): r["ratio_to_qemu_tcg"] for r in rows + lrows}
    names = [n for n in names if any(rv.get(n + (s,)) for s in rsys)]
    if names and rsys:
        with open(os.path.join(dirname, "ratio.tsv"), "w") as f:
            f.write("\t".join(["benchmark"] + rsys) + "\n")
            for k, b in names:
                vals = [rv.get((k, b, s)) for s in rsys]
                f.write("\t".join([("linux " if k == "linux" else "") + b]
                                  + ["-" if not v else "%.4g" % v for v in vals]) + "\n")
    return {"nanosys": " ".join(ran), "linuxsys": " ".join(lran) if lrows else "",
            "ratiosys": " ".join(rsys) if names and rsys else "",
            "rationano": sum(1 for k, _ in names if k == "nano"),
            "ratiolinux": sum(1 for k, _ in names if k == "linux")}


def cpu_model():
    try:
        return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    except OSError:
        return "?"


def build_type(build):
    """", build type X" from BUILD/CMakeCache.txt, or ""."""
    try:
        for l in open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8", errors="replace"):
            if l.startswith("CMAKE_BUILD_TYPE:"):
                return ", build type " + (l.split("=", 1)[1].strip() or "(none)")
    except OSError:
        pass
    return ""


def built_at(build):
    """", ringfold built at DATE" from the binary's modification time, or ""."""
    try:
        t = os.stat(os.path.join(build, "ringfold")).st_mtime
    except OSError:
        return ""
    return ", ringfold built " + datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def update_docs(a, doc, out):
    BEGIN, END = "<!-- bench-figures:begin -->", "<!-- bench-figures:end -->"

    def sh(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=a.src or None).stdout.strip()
        except OSError:
            return ""
    cpu = cpu_model()
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    rev = a.rev0 or sh(["git", "rev-parse", "--short", "HEAD"]) or "?"    # the tree the run started on
    # The docs file and the chart are about to change: only other edits count as uncommitted.
    if not a.rev0 and sh(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                          ":!docs/PERFORMANCE.md", ":!docs/*.svg"]):
        rev += " (with uncommitted changes)"
    sec = [BEGIN, "## ringfold bench figures", "",
           "Written by `ringfold bench --update-docs`; everything between the bench-figures"
           " markers is replaced on each run.", "",
           "- date: " + doc["date"],
           "- machine: %s, %d CPUs (nproc), %.1f GiB RAM, Linux %s" % (cpu, len(os.sched_getaffinity(0)),
                                                                     mem / 2**20, platform.release()),
           "- host load average (1, 5, 15 min): %s at the start, %s at the end; other work on"
           " the host inflates the figures" % (a.load0 or "?", " ".join(open("/proc/loadavg").read().split()[:3])),
           "- git revision: " + rev + build_type(a.build) + built_at(a.build),
           "- QEMU: " + (sh([a.qemu, "--version"]).splitlines() or ["not found"])[0],
           "- command: `" + a.cmdline + "`"]
    if a.chart_rel:
        sec += ["", "![ringfold bench chart](%s)" % a.chart_rel]
    sec += ["", "```"] + out + ["```", END]
    text = open(a.docs, encoding="utf-8").read()
    b, e = text.find(BEGIN), text.find(END)
    if b >= 0 and e > b:
        text = text[:b] + "\n".join(sec) + text[e + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(sec) + "\n"
    with open(a.docs, "w", encoding="utf-8") as f:
        f.write(text)
    print("docs: rewrote the bench-figures section of " + a.docs, file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("--iters", type=int, required=True)
    p.add_argument("--repeat", type=int, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--kernel", default="")
    p.add_argument("--json")
    p.add_argument("--csv")
    p.add_argument("--chart-dir", help="write nano.tsv, linux.tsv, ratio.tsv and vars.gp here")
    p.add_argument("--docs", help="docs/PERFORMANCE.md to update")
    p.add_argument("--chart-rel", help="the chart's path relative to docs/, for the docs section")
    p.add_argument("--cmdline", default="")
    p.add_argument("--src", default="")
    p.add_argument("--load0", default="")
    p.add_argument("--build", default="", help="the build directory (its CMakeCache.txt)")
    p.add_argument("--qemu", default="qemu-system-i386")
    p.add_argument("--rev0", default="", help="git revision (and state) when the run started")
    a = p.parse_args()
    d = parse(a.results)
    ran, rows, lran, lrows, out, notes = report(a, d)
    print("\n".join(out), flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    skipped = [{"system": s, "suite": suite, "reason": v["reason"]}
               for suite, group in (("nano", d["systems"]), ("linux", d["lsystems"]))
               for s, v in group.items() if v["status"] == "skipped"]
    doc = {"tool": "ringfold-bench", "guest": a.kernel, "iters": a.iters, "repeat": a.repeat,
           "quick": a.quick, "date": date, "host": platform.platform(),
           "benchmarks": BENCHES, "user_level": USER_LEVEL,
           "systems": [dict(d["systems"][s], label=LABELS.get(s), probe=d["probe"].get(s),
                            engine_line=d["why"].get(s),
                            tsc_hz=statistics.median(d["tsc"][s].values()) if d["tsc"].get(s) else None,
                            user_tsc_hz=statistics.median(d["utsc"][s].values()) if d["utsc"].get(s) else None)
                       for s in ordered(d["systems"])],
           "skipped": skipped, "results": rows, "notes": notes}
    if d["lsystems"] or d["lskip"]:
        doc["linux"] = {"kernel": "bzImage-686", "workloads": LINUX, "skipped": d["lskip"],
                        "systems": [dict(d["lsystems"][s], engine_line=d["lwhy"].get(s))
                                    for s in ordered(d["lsystems"])],
                        "results": lrows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            cw = csv.writer(f)
            cw.writerow(CSV_KEYS)
            for r in rows + lrows:
                cw.writerow(["" if r.get(k) is None else (round(r[k], 6) if isinstance(r[k], float) else r[k])
                             for k in CSV_KEYS])
    if a.chart_dir:
        v = write_chart_data(a.chart_dir, ran, rows, lran, lrows)
        rounds = max((r["runs"] for r in rows + lrows), default=0)
        sub = "%s, %s, %d CPUs, median of %d run%s%s" % (
            date[:16].replace("T", " ") + " UTC", cpu_model(), len(os.sched_getaffinity(0)),
            rounds, "" if rounds == 1 else "s", " (quick)" if a.quick else "")
        with open(os.path.join(a.chart_dir, "vars.gp"), "w") as f:
            for k, val in v.items():
                f.write(('%s = %d\n' if isinstance(val, int) else '%s = "%s"\n') % (k, val))
            f.write('subtitle = "%s"\n' % sub.replace('"', "'"))
    if a.docs:
        update_docs(a, doc, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
