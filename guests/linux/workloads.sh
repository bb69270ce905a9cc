# Guest workloads of the ringfold Linux image, sourced by /init (busybox ash).
# Each wl_NAME function returns 0 on success and prints one "ringfold-time:" line;
# rf_run wraps them with the "ringfold-workload: NAME ok|FAILED" lines.
#
# Clocks: busybox date has no %N, so time comes from /proc/timer_list ("now at N nsecs",
# its third line, nanoseconds of CLOCK_MONOTONIC) with /proc/uptime (10 ms) as fallback.
# The helpers set variables instead of printing so that reading the clock never forks.

RF_FORKS_N=${RF_FORKS_N:-200}
RF_DDCOUNT=${RF_DDCOUNT:-50000}
RF_EXPECTED=${RF_EXPECTED:-/etc/ringfold/expected.sums}
RF_PF_ROUNDS=8          # pagefault: 16 MiB buffers, 4096 fresh pages each

# rf_now: RF_NOW = microseconds since boot
rf_now() {
    local l1 w1 ns rest
    if [ -r /proc/timer_list ] &&
       { read -r l1; read -r l1; read -r w1 rest; } < /proc/timer_list &&
       [ "$w1" = now ]; then
        ns=${rest#at }
        RF_NOW=$((${ns%% *} / 1000))
        return
    fi
    read -r l1 rest < /proc/uptime
    w1=${l1#*.}
    w1=${w1#0}
    RF_NOW=$(( ${l1%.*} * 1000000 + w1 * 10000 ))
}

# rf_fmt_us US: RF_FMT = "S.UUUUUU"
rf_fmt_us() {
    RF_FMT=$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))
}

# rf_proc_counter FILE KEY: RF_COUNT = the number after KEY in FILE ("processes" in
# /proc/stat counts forks since boot, "pgfault" in /proc/vmstat counts page faults).
rf_proc_counter() {
    local k v rest
    RF_COUNT=0
    while read -r k v rest; do
        if [ "$k" = "$2" ]; then RF_COUNT=$v; return 0; fi
    done < "$1"
    return 1
}

# forkwait: fork + exec of /bin/true, waited for each time. The explicit path makes
# ash fork and execve even though "true" is also a shell builtin / nofork applet.
wl_forkwait() {
    local i=0 t0 p0 forks
    rf_proc_counter /proc/stat processes; p0=$RF_COUNT
    rf_now; t0=$RF_NOW
    while [ $i -lt "$RF_FORKS_N" ]; do
        /bin/true || return 1
        i=$((i + 1))
    done
    rf_now; t0=$((RF_NOW - t0))
    rf_proc_counter /proc/stat processes; forks=$((RF_COUNT - p0))
    rf_fmt_us $t0
    echo "ringfold-time: forkwait $RF_FMT s for $RF_FORKS_N fork+exec+wait" \
         "($((t0 / RF_FORKS_N)) us each, kernel counted $forks forks)"
    [ "$forks" -ge "$RF_FORKS_N" ]
}

# checksum: files written through dd into tmpfs from deterministic sources, hashed,
# compared with sums that the image build computed on the host with its own tools.
wl_checksum() {
    local t0
    rf_now; t0=$RF_NOW
    rm -rf /tmp/ck && mkdir /tmp/ck && cd /tmp/ck || return 1
    dd if=/dev/zero of=zero.bin bs=64k count=128 2>/dev/null || return 1
    seq 1 200000 | dd of=seq.txt bs=4096 2>/dev/null || return 1
    { md5sum zero.bin seq.txt && sha256sum zero.bin seq.txt; } > /tmp/ck.sums || return 1
    cd / && rm -rf /tmp/ck
    rf_now; t0=$((RF_NOW - t0))
    rf_fmt_us $t0
    echo "ringfold-time: checksum $RF_FMT s (8 MiB zeros + seq 1..200000, md5 + sha256)"
    if ! cmp -s "$RF_EXPECTED" /tmp/ck.sums; then
        echo "ringfold-checksum: mismatch, expected vs got:"
        diff "$RF_EXPECTED" /tmp/ck.sums
        return 1
    fi
}

# ddsys: dd with 1-byte blocks from /dev/zero to /dev/null: two syscalls per byte and
# almost no user work, so it measures the system-call round trip.
wl_ddsys() {
    local t0 out
    rf_now; t0=$RF_NOW
    out=$(dd if=/dev/zero of=/dev/null bs=1 count="$RF_DDCOUNT" 2>&1) || return 1
    rf_now; t0=$((RF_NOW - t0))
    rf_fmt_us $t0
    echo "ringfold-time: ddsys $RF_FMT s for $RF_DDCOUNT x (read+write of 1 byte)" \
         "($((t0 * 1000 / (RF_DDCOUNT * 2))) ns per syscall)"
    case $out in *"$RF_DDCOUNT+0 records out"*) return 0 ;; esac
    echo "ringfold-ddsys: unexpected dd output: $out"
    return 1
}

# pagefault: each dd process reads /dev/zero into a fresh 16 MiB malloc'd (mmap'd)
# buffer, so the kernel faults in 4096 new anonymous pages per round.
wl_pagefault() {
    local i=0 t0 f0 faults
    rf_proc_counter /proc/vmstat pgfault; f0=$RF_COUNT
    rf_now; t0=$RF_NOW
    while [ $i -lt $RF_PF_ROUNDS ]; do
        dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null || return 1
        i=$((i + 1))
    done
    rf_now; t0=$((RF_NOW - t0))
    rf_proc_counter /proc/vmstat pgfault; faults=$((RF_COUNT - f0))
    rf_fmt_us $t0
    echo "ringfold-time: pagefault $RF_FMT s for $RF_PF_ROUNDS x 16 MiB" \
         "($faults page faults, $((t0 * 1000 / (faults + 1))) ns each)"
    [ "$faults" -ge $((RF_PF_ROUNDS * 4096)) ]
}

RF_WORKLOADS="forkwait checksum ddsys pagefault"

# rf_one NAME: run one workload, print its verdict, return its status
rf_one() {
    local st
    case " $RF_WORKLOADS " in
    # a subshell, so that a shell error inside a workload cannot end PID 1
    *" $1 "*) ("wl_$1"); st=$? ;;
    *) echo "ringfold-workload: unknown workload '$1' (known: $RF_WORKLOADS all)"; st=127 ;;
    esac
    if [ $st -eq 0 ]; then
        echo "ringfold-workload: $1 ok"
    else
        echo "ringfold-workload: $1 FAILED (status $st)"
    fi
    return $st
}

# rf_run NAME: a workload or "all"; for "all" the status is the number that failed
rf_run() {
    local w failed=0 t0
    if [ "$1" != all ]; then
        rf_one "$1"
        return
    fi
    rf_now; t0=$RF_NOW
    for w in $RF_WORKLOADS; do
        rf_one "$w" || failed=$((failed + 1))
    done
    rf_now; rf_fmt_us $((RF_NOW - t0))
    echo "ringfold-time: all $RF_FMT s"
    if [ $failed -eq 0 ]; then
        echo "ringfold-workload: all ok"
    else
        echo "ringfold-workload: all FAILED ($failed of 4)"
    fi
    return $failed
}
