#!/usr/bin/env python3
"""bench/linux-workloads.py: the Linux half of `ringfold bench --linux` (issue 4). Boots the
default guest (BUILD/guests/linux/bzImage-686 + initrd.gz) with rf.workload=all once under each
ringfold engine and once under qemu-system-i386 -accel tcg (same kernel, initrd, 256 MiB and
command line, as tests/linux/measure_boot.py does) and prints, on stdout, tab-separated lines
for ringfold-bench.sh's report:
    lsys  SYSTEM  ok|skipped|failed  REASON
    lfig  SYSTEM  BENCH  SECONDS
BENCH: boot-wall (process start to the init marker), boot-uptime (the guest's uptime there),
forkwait, ddsys, pagefault, checksum (the guest's own "ringfold-time:" figures).
Progress goes to stderr.  usage: linux-workloads.py BUILD_DIR ENGINES QEMU TIMEOUT_S
"""
import os
import re
import shutil
import subprocess
import sys
import time

# Must match LINUX_CMDLINE in tools/ringfold.c, which `ringfold run linux` prepends itself.
CMDLINE = ("console=ttyS0 noapic nolapic acpi=off cryptomgr.notests noisapnp io_delay=none "
           "8250.nr_uarts=1 nokaslr")
WORKLOADS = ["forkwait", "ddsys", "pagefault", "checksum"]
MARKER = re.compile(r"ringfold-init: reached init at ([0-9.]+) s")
TIME = re.compile(r"ringfold-time: (\w+) ([0-9.]+) s")
DONE = re.compile(r"ringfold-workload: (\w+) (ok|FAILED)")


def emit(*fields):
    print("\t".join(str(f) for f in fields), flush=True)


def run_one(argv, timeout):
    """Runs argv with the console on stdout; returns (figures, workload results, rc, last line)."""
    start = time.monotonic()
    proc = subprocess.Popen(["timeout", str(timeout)] + argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    figs, done, last = {}, {}, ""
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip():
            last = line.strip()
        m = MARKER.search(line)
        if m and "boot-wall" not in figs:
            figs["boot-wall"] = time.monotonic() - start
            figs["boot-uptime"] = float(m.group(1))
        m = TIME.search(line)
        if m and m.group(1) in WORKLOADS:
            figs[m.group(1)] = float(m.group(2))
        m = DONE.search(line)
        if m:
            done[m.group(1)] = m.group(2)
    return figs, done, proc.wait(), last, time.monotonic() - start


def main():
    build, engines, qemu, timeout = sys.argv[1], sys.argv[2].split(), sys.argv[3], int(sys.argv[4])
    ringfold = os.path.join(build, "ringfold")
    bz = os.path.join(build, "guests/linux/bzImage-686")
    initrd = os.path.join(build, "guests/linux/initrd.gz")
    systems = [(e, [ringfold, "run", f"--engine={e}", f"--timeout={timeout}", "linux",
                    "--append", "rf.workload=all"]) for e in engines]
    systems.append(("qemu-tcg", [qemu, "-accel", "tcg", "-m", "256", "-kernel", bz, "-initrd",
                                 initrd, "-append", CMDLINE + " rf.workload=all", "-nographic",
                                 "-no-reboot", "-monitor", "none"]))
    for i, (name, argv) in enumerate(systems, 1):
        tag = f"[linux {i}/{len(systems)}] {name}"
        if name == "qemu-tcg" and not shutil.which(qemu):
            emit("lsys", name, "skipped", f"{qemu} not installed")
            print(f"{tag}: skipped ({qemu} not installed)", file=sys.stderr, flush=True)
            continue
        print(f"{tag}: booting with rf.workload=all...", file=sys.stderr, flush=True)
        figs, done, rc, last, secs = run_one(argv, timeout)
        ok = "boot-wall" in figs and all(done.get(w) == "ok" and w in figs for w in WORKLOADS)
        if ok:
            emit("lsys", name, "ok", "")
            for k, v in figs.items():
                emit("lfig", name, k, f"{v:.3f}")
            print(f"{tag}: done in {secs:.1f}s", file=sys.stderr, flush=True)
        elif name != "qemu-tcg" and "not available" in last and "boot-wall" not in figs:
            reason = last.removeprefix("ringfold: ")
            emit("lsys", name, "skipped", reason)
            print(f"{tag}: skipped ({reason})", file=sys.stderr, flush=True)
        else:
            bad = [w for w in WORKLOADS if done.get(w) != "ok"]
            reason = (f"exit status {rc}" + ("" if "boot-wall" in figs else ", no init marker")
                      + (f", workloads not ok: {' '.join(bad)}" if bad else "")
                      + (f"; {last}" if last else "")).replace("\t", " ")
            emit("lsys", name, "failed", reason)
            print(f"{tag}: FAILED ({reason})", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
