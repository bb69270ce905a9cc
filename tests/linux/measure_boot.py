#!/usr/bin/env python3
"""Boot-time comparison of the Debian Linux guest: ringfold (an engine) vs qemu-system-i386
-accel tcg, same kernel, initrd, memory and command line, runs interleaved so both see the
same host load. Reports, per kernel and system, the medians of: wall time from process
start to the init marker, the guest uptime the marker prints, and the forkwait workload.

usage: measure_boot.py RINGFOLD IMAGEDIR [--runs N] [--engine emu] [--kernels 686,686-pae]
Not a test (no timing assertions): the figures go into reports and docs/PERFORMANCE.md.
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

CMDLINE = ("console=ttyS0 noapic nolapic acpi=off cryptomgr.notests noisapnp io_delay=none "
           "8250.nr_uarts=1 nokaslr")
MARKER = re.compile(r"ringfold-init: reached init at ([0-9.]+) s")
FORKWAIT = re.compile(r"ringfold-time: forkwait ([0-9.]+) s")


def one_run(argv, timeout):
    """Runs argv with the console on stdout; returns (marker wall s, uptime s, forkwait s, rc)."""
    start = time.monotonic()
    proc = subprocess.Popen(["timeout", str(int(timeout))] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    marker_wall = uptime = forkwait = None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        m = MARKER.search(line)
        if m and marker_wall is None:
            marker_wall = time.monotonic() - start
            uptime = float(m.group(1))
        m = FORKWAIT.search(line)
        if m:
            forkwait = float(m.group(1))
    rc = proc.wait()
    return marker_wall, uptime, forkwait, rc, time.monotonic() - start


def commands(args, kernel, extra):
    append = CMDLINE + " rf.workload=forkwait" + (" " + extra if extra else "")
    bz = f"{args.imagedir}/bzImage-{kernel}"
    initrd = f"{args.imagedir}/initrd.gz"
    return {
        f"ringfold-{args.engine}": [args.ringfold, "run", f"--engine={args.engine}", "--mem=256M",
                                    "--initrd", initrd, "--append", append, bz],
        "qemu-tcg": ["qemu-system-i386", "-accel", "tcg", "-m", "256", "-kernel", bz,
                     "-initrd", initrd, "-append", append, "-nographic", "-no-reboot",
                     "-monitor", "none"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ringfold")
    ap.add_argument("imagedir")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engine", default="emu")
    ap.add_argument("--kernels", default="686,686-pae")
    ap.add_argument("--append", default="")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    results = {}
    for r in range(args.runs):
        for kernel in args.kernels.split(","):
            for system, argv in commands(args, kernel, args.append).items():
                res = one_run(argv, args.timeout)
                results.setdefault((kernel, system), []).append(res)
                print(f"run {r + 1} {kernel:8} {system:13} marker wall {res[0]} s, uptime "
                      f"{res[1]} s, forkwait {res[2]} s, exit {res[3]}, total {res[4]:.1f} s",
                      flush=True)
    print(f"\nmedians over {args.runs} runs (wall = process start to init marker):")
    print(f"{'kernel':8} {'system':13} {'init wall s':>11} {'init uptime s':>13} "
          f"{'forkwait s':>10}  ok")
    for (kernel, system), rs in results.items():
        def med(i):
            v = [x[i] for x in rs if x[i] is not None]
            return f"{statistics.median(v):.2f}" if v else "-"
        ok = sum(1 for x in rs if x[3] == 0 and x[2] is not None)
        print(f"{kernel:8} {system:13} {med(0):>11} {med(1):>13} {med(2):>10}  {ok}/{len(rs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
