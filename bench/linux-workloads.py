#!/usr/bin/env python3
"""bench/linux-workloads.py: the Linux half of `ringfold bench --linux` (issue 4). Boots the
default guest (BUILD/guests/linux/bzImage-686 + initrd.gz) with rf.workload=all under each
ringfold engine, qemu-system-i386 -accel tcg and (when asked) -accel kvm -- same kernel, initrd,
256 MiB and command line, as tests/linux/measure_boot.py does -- and runs the same
guests/linux/workloads.sh natively on the host with the image's own i386 static busybox.
Systems run in turn, REPEAT rounds (alternating, so that a change in host load hits every
system alike). Prints, on stdout, tab-separated lines for bench-report.py:
    lsys  SYSTEM  ok|skipped|failed  REASON
    lwhy  SYSTEM  LINE                          ringfold's "ringfold: engine X (why)" line
    lfig  SYSTEM  ROUND  BENCH  SECONDS
BENCH: boot-wall (process start to the init marker), boot-uptime (the guest's uptime there),
forkwait, ddsys, pagefault, checksum (workloads.sh's own "ringfold-time:" figures).
Progress goes to stderr.
usage: linux-workloads.py BUILD_DIR TIMEOUT_S REPEAT QEMU SYSTEM...
SYSTEM: an engine name (emu, raw, kvm), raw-single (raw with RINGFOLD_RAW_SINGLE=1), qemu-tcg,
qemu-kvm or native.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Must match LINUX_CMDLINE in tools/ringfold.c, which `ringfold run linux` prepends itself.
CMDLINE = ("console=ttyS0 noapic nolapic acpi=off cryptomgr.notests noisapnp io_delay=none "
           "8250.nr_uarts=1 nokaslr")
WORKLOADS = ["forkwait", "ddsys", "pagefault", "checksum"]
MARKER = re.compile(r"ringfold-init: reached init at ([0-9.]+) s")
TIME = re.compile(r"ringfold-time: (\w+) ([0-9.]+) s")
DONE = re.compile(r"ringfold-workload: (\w+) (ok|FAILED)")
PANIC = re.compile(r"Kernel panic - not syncing")
ENGINE = re.compile(r"^ringfold: engine [a-z0-9_-]+ \(.*\)$")


def emit(*fields):
    print("\t".join(str(f).replace("\t", " ") for f in fields), flush=True)


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def run_one(argv, timeout, env=None):
    """Runs argv with its console on stdout; returns (figures, workload verdicts, exit status,
    last line, engine line, seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(["timeout", str(timeout)] + argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    figs, done, last, why, panic = {}, {}, "", None, None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if panic:
            continue                    # draining what is left after the stop
        if line.strip():
            last = line.strip()
        if PANIC.search(line):
            # The guest kernel gave up: it will never reach the marker, so stop now rather
            # than wait out the timeout (timeout(1) passes the TERM on to the system).
            panic = last = line.strip()
            proc.terminate()
            continue
        if why is None and ENGINE.match(line.strip()):
            why = line.strip()
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
    return figs, done, proc.wait(), last, why, time.monotonic() - start


def native_setup(build, src):
    """Prepares the native run: a temporary directory (tmpfs under /dev/shm when there is one)
    with busybox's applet links in bin/ and workloads.sh with its two absolute paths (/bin/true,
    /tmp/ck*) moved into it. Returns (argv, env, tmpdir) or a str: why native cannot run."""
    found = sorted(glob.glob(os.path.join(build, "guests/linux/unpack/busybox-static_*/bin/busybox")))
    expected = os.path.abspath(os.path.join(build, "guests/linux/initrd.stage/expected.sums"))
    script = os.path.join(src, "guests/linux/workloads.sh")
    if not found:
        return "no unpacked busybox-static:i386 in BUILD/guests/linux/unpack (make linux-image)"
    if not os.path.isfile(expected):
        return "no " + expected + " (make linux-image)"
    if not os.path.isfile(script):
        return "no " + script
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="ringfold-bench-", dir=shm)
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    bb = found[-1]
    r = subprocess.run([bb, "--install", "-s", bindir], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(bindir, "true")):
        shutil.rmtree(tmp, ignore_errors=True)
        return "cannot run %s natively: %s" % (bb, (r.stderr or r.stdout).strip() or "status %d" % r.returncode)
    text = open(script, encoding="utf-8").read()
    # The only host-absolute paths the workloads use: moved into the temporary directory so
    # that every command runs the image's busybox and writes to tmpfs, as in the guest.
    text = text.replace("/bin/true", '"$RF_BIN/true"').replace("/tmp/ck", '"$RF_TMP"/ck')
    left = sorted(set(re.findall(r"(?<![\w$./-])/(?:bin|tmp)/\w+", text)))
    if left:
        shutil.rmtree(tmp, ignore_errors=True)
        return "workloads.sh uses host paths this runner does not redirect: " + " ".join(left)
    with open(os.path.join(tmp, "workloads.sh"), "w", encoding="utf-8") as f:
        f.write(text)
    env = {"PATH": bindir, "RF_BIN": bindir, "RF_TMP": tmp, "RF_EXPECTED": expected,
           "LC_ALL": "C"}
    argv = [os.path.join(bindir, "sh"), "-c", '. "$RF_TMP/workloads.sh" && rf_run all']
    return argv, env, tmp


def main():
    if len(sys.argv) < 6:
        say(__doc__.strip().splitlines()[-2])
        return 2
    build, timeout, repeat, qemu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    names = sys.argv[5:]
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ringfold = os.path.join(build, "ringfold")
    bz = os.path.join(build, "guests/linux/bzImage-686")
    initrd = os.path.join(build, "guests/linux/initrd.gz")
    qemu_argv = ["-m", "256", "-kernel", bz, "-initrd", initrd, "-append",
                 CMDLINE + " rf.workload=all", "-nographic", "-no-reboot", "-monitor", "none"]
    systems, env, tmp = {}, {}, None
    for name in names:
        if name == "qemu-tcg":
            systems[name] = [qemu, "-accel", "tcg"] + qemu_argv
        elif name == "qemu-kvm":
            systems[name] = [qemu, "-accel", "kvm"] + qemu_argv
        elif name == "native":
            got = native_setup(build, src)
            if isinstance(got, str):
                emit("lsys", name, "skipped", got)
                say(f"[linux] native: skipped ({got})")
                continue
            systems[name], env[name], tmp = got
        else:
            engine = name
            if name == "raw-single":        # raw, guest user code in the monitor process (unsafe)
                engine = "raw"
                env[name] = dict(os.environ, RINGFOLD_RAW_SINGLE="1")
            systems[name] = [ringfold, "run", f"--engine={engine}", f"--timeout={timeout}", "linux",
                             "--append", "rf.workload=all"]
    status, why = {}, {}
    try:
        for rnd in range(1, repeat + 1):
            for i, (name, argv) in enumerate(systems.items(), 1):
                if name in status:              # failed or skipped in an earlier round
                    continue
                tag = f"[linux round {rnd}/{repeat}, {i}/{len(systems)}] {name}"
                say(f"{tag}: {'workloads.sh natively' if name == 'native' else 'booting with rf.workload=all'}...")
                figs, done, rc, last, line, secs = run_one(argv, timeout, env.get(name))
                if line and name not in why:
                    why[name] = line
                need_boot = name != "native"
                ok = (("boot-wall" in figs or not need_boot)
                      and all(done.get(w) == "ok" and w in figs for w in WORKLOADS))
                if ok:
                    for k, v in figs.items():
                        emit("lfig", name, rnd, k, f"{v:.6f}")
                    say(f"{tag}: done in {secs:.1f}s")
                elif (name not in ("qemu-tcg", "qemu-kvm", "native") and "not available" in last and "boot-wall" not in figs):
                    status[name] = ("skipped", last.removeprefix("ringfold: "))
                    say(f"{tag}: skipped ({status[name][1]})")
                else:
                    bad = [w for w in WORKLOADS if done.get(w) != "ok"]
                    reason = (f"round {rnd}: " + ("stopped at a guest kernel panic" if PANIC.search(last)
                                                  else f"timed out after {timeout} s" if rc == 124
                                                  else f"exit status {rc}")
                              + ("" if "boot-wall" in figs or not need_boot else ", no init marker")
                              + (f", workloads not ok: {' '.join(bad)}" if bad else "")
                              + (f"; {last}" if last else ""))
                    status[name] = ("failed", reason)
                    say(f"{tag}: FAILED ({reason})")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    for name in systems:
        st, reason = status.get(name, ("ok", ""))
        if name == "native" and st == "ok" and not os.access("/proc/timer_list", os.R_OK):
            reason = "timed with /proc/uptime (10 ms steps): /proc/timer_list is for root only"
        emit("lsys", name, st, reason)
        if name in why:
            emit("lwhy", name, why[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
