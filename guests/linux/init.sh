#!/bin/sh
# /init of the ringfold Linux guest (busybox ash): mount the pseudo filesystems, print
# the boot marker, then run the rf.workload= named on the kernel command line or give
# an interactive shell on the serial console; reboot at the end in both cases.
#
# PID 1 must never exit (the kernel panics: "Attempted to kill init"), so every path
# ends in `reboot -f`, and workloads are shell functions that return, never exit.

export PATH=/bin:/sbin
export HOME=/root
umask 022

# The kernel opened the archive's /dev/console as fds 0-2 before running us; mounting
# devtmpfs over /dev afterwards leaves those open files working.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp

read -r rf_uptime _ < /proc/uptime
echo "ringfold-init: reached init at $rf_uptime s (kernel $(uname -r))"

. /etc/ringfold/workloads.sh

# Parameters with a dot are not passed to init by the kernel (it takes them for module
# parameters), so read them from /proc/cmdline.
# rf_count NAME VALUE: VALUE if it is a positive decimal count, else the default with a
# warning (a bad number would stop the shell in the middle of an arithmetic expansion)
rf_count() {
    case $2 in
    '' | *[!0-9]* | 0*) echo "ringfold-init: ignoring rf.$1=$2 (not a positive number)" >&2; return 1 ;;
    esac
    [ ${#2} -le 9 ] || { echo "ringfold-init: ignoring rf.$1=$2 (too large)" >&2; return 1; }
}

rf_workload=
for rf_word in $(cat /proc/cmdline); do
    case $rf_word in
    rf.workload=*) rf_workload=${rf_word#rf.workload=} ;;
    rf.ddcount=*) rf_count ddcount "${rf_word#*=}" && RF_DDCOUNT=${rf_word#*=} ;;
    rf.forks=*) rf_count forks "${rf_word#*=}" && RF_FORKS_N=${rf_word#*=} ;;
    esac
done

if [ -n "$rf_workload" ]; then
    rf_run "$rf_workload"
    rf_status=$?
    echo "ringfold-status: $rf_status"
    if [ "$rf_status" -ne 0 ]; then
        # Make a failure visible in the monitor's exit status: write the status (1..127) to
        # the isa-debug-exit port 0xF4 through /dev/port; ringfold then exits with
        # (v << 1) | 1. Where no such device exists the write is dropped and we reboot.
        rf_v=$(( rf_status & 127 ))
        [ "$rf_v" -eq 0 ] && rf_v=1
        printf "\\$(printf %03o "$rf_v")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
    fi
else
    echo "ringfold-init: no rf.workload= on the command line; shell on the console, exit it to reboot"
    export PS1='ringfold:\w# '
    # cttyhack finds the real console (ttyS0) in /sys/class/tty/console/active and
    # makes it the controlling tty, so job control and ^C work; setsid gives it a session.
    setsid cttyhack sh
fi

echo "ringfold-init: rebooting"
sync
# Without ACPI the kernel resets through the i8042 (0xFE to port 0x64) or a triple
# fault: a PC cannot power itself off. QEMU -no-reboot turns that reset into an exit.
reboot -f
echo "ringfold-init: reboot -f failed; halting here"
while :; do sleep 3600; done
