/* Entering the raw engine's jail: close what the VM does not need, CPUID faulting, no new
 * privileges, and a seccomp BPF allowlist (docs/jail.md).
 *
 * Why a jail: guest code runs natively at host CPL 3 in a 64-bit process. Nothing stops it
 * from far-jumping to the host's flat 64-bit code selector (GDT 0x33, DPL 3) and running
 * 64-bit code that can address the whole monitor and make host system calls. Raw mode
 * therefore cannot be a boundary by itself; like Firecracker's jailer, the process that runs
 * guest code is confined so that an escaped guest holds only what the monitor itself needs
 * while a VM runs.
 *
 * The filter (seccomp(2), "SECCOMP_SET_MODE_FILTER"; struct seccomp_data in
 * <linux/seccomp.h>) is one straight BPF program built at run time by jail_build_filter():
 *   rule 1: seccomp_data.instruction_pointer < 4 GiB -> TRAP. The monitor lives above 4 GiB
 *           (shadow_create reserves the low 4 GiB for the guest), so a call made from below is
 *           guest code, whatever its arch: a 32-bit int 0x80, or a 64-bit syscall after the
 *           0x33 far jump. This is a classification, not the boundary: 64-bit guest code can
 *           also jump to a syscall instruction above 4 GiB, where rule 3 is all that stands.
 *   rule 2: arch != AUDIT_ARCH_X86_64 -> TRAP (i386 calls; the raw engine's own minimal filter
 *           does the same, this one must not depend on it).
 *   rule 3: the allowlist below -> ALLOW, some with an argument check.
 *   rule 4: anything else -> TRAP: the SIGSYS handler names the call (raw_jail_monitor_violation)
 *           so that a missing entry is diagnosed at once instead of killing the VM silently.
 * SECCOMP_RET_TRAP rather than KILL: a trapped call does not happen either way, and the SIGSYS
 * carries the number, arch and address (jail_sigsys.c classifies it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "jail_internal.h"

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif
#define JAIL_EXIT_GUEST 4   /* RF_EXIT_MONITOR (include/ringfold/vm.h) */
#define JAIL_ARCH_SET_GS 0x1001
#define JAIL_ARCH_SET_FS 0x1002
#define JAIL_ARCH_GET_FS 0x1003
#define JAIL_ARCH_GET_GS 0x1004
#define JAIL_TCGETS 0x5401
#define JAIL_TCSETS 0x5402
#define JAIL_TCSETSW 0x5403
#define JAIL_TCSETSF 0x5404
#define JAIL_TIOCGWINSZ 0x5413

/* The x86_64 system calls a running VM needs, found with `strace -f` on emu runs (serial to a
 * file and to stdio, stdin a pipe reaching EOF, timers) plus what the raw engine's native
 * execution and shadow paging use (s2_raw_shared.md). Not here, on purpose: open/openat/creat
 * (no new files: the serial file, guest memory and images are open before the jail), execve,
 * fork/clone (the guest-running process stays single-threaded: ARCHITECTURE.md), socket and
 * every network call, kill of other processes, ptrace, mount/namespace calls, memfd_create,
 * ftruncate, KVM (raw never opens /dev/kvm). */
static const struct jail_simple {
    int nr;
    const char *why;
} jail_simple[] = {
    { SYS_read, "console input (devices/console.c), reads of kept descriptors" },
    { SYS_write, "serial/console output, stderr messages, --stats" },
    { SYS_readv, "stdio may gather reads" },
    { SYS_writev, "stdio may gather writes" },
    { SYS_pread64, "disk images (positioned reads on a kept descriptor)" },
    { SYS_pwrite64, "disk images (positioned writes on a kept descriptor)" },
    { SYS_lseek, "stdio's fflush/fclose of a seekable stream (serial file)" },
    { SYS_close, "teardown: vm_destroy closes the guest memfd and the serial file" },
    { SYS_fstat, "stdio's first use of a stream asks for its buffer size" },
    { SYS_poll, "console_read polls stdin without blocking" },
    { SYS_ppoll, "the run loop and the clock sleep until input or a timer (core/vm.c, core/clock.c)" },
    { SYS_pipe2, "console end of input: a never-readable pipe keeps the poll descriptor valid" },
    { SYS_dup3, "console end of input: that pipe replaces the input descriptor" },
    { SYS_nanosleep, "the clock sleeps when there is no input descriptor" },
    { SYS_clock_nanosleep, "sleeps (glibc's nanosleep may use it)" },
    { SYS_clock_gettime, "host time; the vDSO falls back to the system call for some clocks" },
    { SYS_clock_getres, "host clock resolution" },
    { SYS_gettimeofday, "vDSO fallback" },
    { SYS_futex, "glibc internal locks" },
    { SYS_mmap, "shadow paging maps guest frames at guest linear addresses; malloc" },
    { SYS_munmap, "teardown, malloc" },
    { SYS_mprotect, "shadow paging: write monitoring makes host mappings read-only" },
    { SYS_madvise, "shadow paging and malloc release memory" },
    { SYS_brk, "malloc" },
    { SYS_modify_ldt, "raw mode's shadow descriptors for guest segments (rawmode/raw_ldt.c)" },
    { SYS_rt_sigaction, "trap handlers (SIGSEGV, SIGSYS, ...); abort() resets SIGABRT" },
    { SYS_rt_sigprocmask, "the timer signal is blocked in the monitor, unblocked in guest context" },
    { SYS_rt_sigreturn, "every trap from guest code returns through a signal handler" },
    { SYS_sigaltstack, "handlers run on their own stack, never on guest memory" },
    { SYS_timer_create, "the raw engine's deadline timer (SIGEV_THREAD_ID)" },
    { SYS_timer_settime, "arming the deadline timer before each native entry" },
    { SYS_timer_gettime, "reading the deadline timer" },
    { SYS_timer_delete, "engine teardown" },
    { SYS_getpid, "raise() and abort()" },
    { SYS_gettid, "raise(), abort(), SIGEV_THREAD_ID" },
    { SYS_sched_yield, "glibc spin-wait fallbacks" },
    { SYS_restart_syscall, "the kernel restarts a sleep interrupted by a handled signal" },
    { SYS_getrandom, "malloc's first use seeds a random value" },
    { SYS_exit, "thread exit" },
    { SYS_exit_group, "the end of ringfold run" },
};

/* System calls allowed only for some values of one argument (the low 32 bits: the kernel
 * reads these arguments as int or unsigned int). */
#define JAIL_MAX_VALS 8
static const struct jail_checked {
    int nr;
    int arg;
    unsigned nvals;
    uint32_t vals[JAIL_MAX_VALS];
    const char *why;
} jail_checked[] = {
    { SYS_ioctl, 1, 7, { JAIL_TCGETS, JAIL_TCSETS, JAIL_TCSETSW, JAIL_TCSETSF, JAIL_TIOCGWINSZ,
                         (uint32_t)SECCOMP_IOCTL_NOTIF_RECV, (uint32_t)SECCOMP_IOCTL_NOTIF_SEND },
      "terminal only: isatty, and the console's raw mode restored at exit; and the guest-user "
      "processes' seccomp notifications (raw_stub_run.c authorizes each of their mappings)" },
    { SYS_fcntl, 1, 4, { F_GETFD, F_SETFD, F_GETFL, F_SETFL }, "descriptor flags only (no F_DUPFD)" },
    { SYS_newfstatat, 3, 1, { AT_EMPTY_PATH }, "fstat() of an open descriptor (AT_EMPTY_PATH)" },
    { SYS_arch_prctl, 0, 6,
      { JAIL_ARCH_SET_FS, JAIL_ARCH_GET_FS, JAIL_ARCH_SET_GS, JAIL_ARCH_GET_GS, ARCH_GET_CPUID,
        ARCH_SET_CPUID },
      "FS/GS bases (raw_native.S restores the host FS base) and CPUID faulting" },
    { SYS_prctl, 0, 3, { PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP },
      "the raw engine's own filter may be installed after the jail" },
    { SYS_seccomp, 0, 1, { SECCOMP_SET_MODE_FILTER }, "stacking a filter (it can only restrict)" },
    /* tgkill's pid is patched to our own pid in jail_build_filter: signals to ourselves only. */
    { SYS_tgkill, 0, 1, { 0 }, "raise() and abort() signal this process only" },
};

#define JAIL_N_SIMPLE (sizeof(jail_simple) / sizeof(jail_simple[0]))
#define JAIL_N_CHECKED (sizeof(jail_checked) / sizeof(jail_checked[0]))
#define JAIL_MAX_EXTRA 32
#define JAIL_MAX_INSNS (7 + 2 * (JAIL_N_SIMPLE + JAIL_MAX_EXTRA) + JAIL_N_CHECKED * (3 + 2 * JAIL_MAX_VALS) + 1)

struct raw_jail_stats raw_jail_state;

#define JAIL_LD(off) ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))
#define JAIL_JEQ(k, jt, jf) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf)))
#define JAIL_RET(v) ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (v)))
#define JAIL_TRAP(data) JAIL_RET(SECCOMP_RET_TRAP | ((data) & SECCOMP_RET_DATA))

/* seccomp_data is little-endian here: the high half of a 64-bit field is 4 bytes further. */
#define JAIL_OFF_NR offsetof(struct seccomp_data, nr)
#define JAIL_OFF_ARCH offsetof(struct seccomp_data, arch)
#define JAIL_OFF_IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)
#define JAIL_OFF_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (size_t)(i))

/* Builds the program into f (JAIL_MAX_INSNS entries); returns its length and the number of
 * allowed system calls in *allowed. */
static unsigned jail_build_filter(struct sock_filter *f, const struct raw_jail_config *cfg, unsigned *allowed)
{
    unsigned n = 0;
    *allowed = 0;
    f[n++] = JAIL_LD(JAIL_OFF_IP_HI);
    f[n++] = JAIL_JEQ(0, 0, 1);
    f[n++] = JAIL_TRAP(RAW_JAIL_DATA_GUEST_IP);
    f[n++] = JAIL_LD(JAIL_OFF_ARCH);
    f[n++] = JAIL_JEQ(AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = JAIL_TRAP(RAW_JAIL_DATA_FOREIGN_ARCH);
    f[n++] = JAIL_LD(JAIL_OFF_NR);
    /* x32 calls (nr | 0x40000000) match no entry below: they trap. */
    for (size_t i = 0; i < JAIL_N_SIMPLE; i++, (*allowed)++) {
        f[n++] = JAIL_JEQ((uint32_t)jail_simple[i].nr, 0, 1);
        f[n++] = JAIL_RET(SECCOMP_RET_ALLOW);
    }
    for (size_t i = 0; i < cfg->n_extra_syscalls && i < JAIL_MAX_EXTRA; i++, (*allowed)++) {
        f[n++] = JAIL_JEQ((uint32_t)cfg->extra_syscalls[i], 0, 1);
        f[n++] = JAIL_RET(SECCOMP_RET_ALLOW);
    }
    const uint32_t self = (uint32_t)getpid();
    for (size_t i = 0; i < JAIL_N_CHECKED; i++, (*allowed)++) {
        const struct jail_checked *c = &jail_checked[i];
        /* Skip the block (load, value tests, final trap) when the number does not match:
         * the accumulator still holds the number then. */
        f[n++] = JAIL_JEQ((uint32_t)c->nr, 0, (uint8_t)(2 + 2 * c->nvals));
        f[n++] = JAIL_LD(JAIL_OFF_ARG_LO(c->arg));
        for (unsigned v = 0; v < c->nvals; v++) {
            f[n++] = JAIL_JEQ(c->nr == SYS_tgkill ? self : c->vals[v], 0, 1);
            f[n++] = JAIL_RET(SECCOMP_RET_ALLOW);
        }
        f[n++] = JAIL_TRAP(RAW_JAIL_DATA_NOT_ALLOWED);
    }
#ifdef RINGFOLD_SANITIZE
    /* Sanitizer runtimes read /proc, clone and ptrace (LSan) behind the monitor's back: the
     * allowlist is not enforced in such builds (guest code stays trapped by rules 1 and 2). */
    f[n++] = JAIL_RET(SECCOMP_RET_ALLOW);
#else
    f[n++] = JAIL_TRAP(RAW_JAIL_DATA_NOT_ALLOWED);
#endif
    return n;
}

static bool jail_fd_kept(int fd, const struct raw_jail_config *cfg)
{
    if (fd <= 2)
        return true;
    for (size_t i = 0; i < cfg->n_keep_fds; i++)
        if (cfg->keep_fds[i] == fd)
            return true;
    return false;
}

/* Closes every descriptor not kept: whatever stays open is reachable by an escaped guest
 * (read/write/mmap are allowed on any descriptor). */
static int jail_close_fds(const struct raw_jail_config *cfg, struct rf_err *err)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        /* No /proc: close the gaps between kept descriptors with close_range (Linux 5.9). */
        int lo = 3;
        for (;;) {
            int next = -1;
            for (size_t i = 0; i < cfg->n_keep_fds; i++)
                if (cfg->keep_fds[i] >= lo && (next < 0 || cfg->keep_fds[i] < next))
                    next = cfg->keep_fds[i];
            unsigned hi = next < 0 ? ~0u : (unsigned)next - 1;
            if ((unsigned)lo <= hi && syscall(SYS_close_range, (unsigned)lo, hi, 0) < 0)
                return rf_errf(err, -errno, "jail: cannot close descriptors: %s", strerror(errno));
            if (next < 0)
                return 0;
            lo = next + 1;
        }
    }
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        if (fd == self || jail_fd_kept(fd, cfg))
            continue;
        close(fd);
        raw_jail_state.fds_closed++;
    }
    closedir(d);
    return 0;
}

/* The fallback SIGSYS handler, for a process that runs guest code without an engine that
 * handles SIGSYS itself. Guest calls cannot be emulated here: the process ends with the
 * monitor-failure status after saying why (no abort: guest input never reaches one). */
static void jail_on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    (void)sig;
    struct raw_jail_sigsys s;
    enum raw_jail_origin o = raw_jail_classify(si, uctx, &s);
    if (o == RAW_JAIL_MONITOR)
        raw_jail_monitor_violation(&s);
    if (o == RAW_JAIL_GUEST_ESCAPE)
        raw_jail_report_escape(&s);
    else
        raw_jail_report_unhandled(&s);
    _exit(JAIL_EXIT_GUEST);
}

int raw_jail_enter(const struct raw_jail_config *cfg, struct rf_err *err)
{
    if (raw_jail_state.entered)
        return rf_errf(err, -EBUSY, "jail: already entered");
    if (cfg->n_extra_syscalls > JAIL_MAX_EXTRA)
        return rf_errf(err, -EINVAL, "jail: at most %d extra system calls", JAIL_MAX_EXTRA);
    for (size_t i = 0; i < cfg->n_keep_fds; i++) {
        int fd = cfg->keep_fds[i];
        if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
            return rf_errf(err, -EBADF, "jail: descriptor %d to keep is not open", fd);
    }
    raw_jail_state.fds_kept_open = cfg->keep_open_fds;
    if (!cfg->keep_open_fds) {
        int rc = jail_close_fds(cfg, err);
        if (rc < 0)
            return rc;
    }

    /* CPUID faulting (Intel's "CPUID faulting" feature, AMD Zen's CpuidUserDis): without it
     * guest user code sees the host CPUID. ENODEV means the CPU lacks it (this AMD host). */
    raw_jail_state.cpuid_faulting = false;
    raw_jail_state.cpuid_errno = 0;
    if (cfg->cpuid_faulting) {
        if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0L) == 0)
            raw_jail_state.cpuid_faulting = true;
        else
            raw_jail_state.cpuid_errno = errno;
    }

    if (cfg->install_sigsys_handler) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = jail_on_sigsys;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) < 0)
            return rf_errf(err, -errno, "jail: cannot install the SIGSYS handler: %s", strerror(errno));
    }

    /* Required to install a filter without CAP_SYS_ADMIN, and keeps an escaped guest from
     * gaining privileges through anything it could still execute (it cannot execve anyway). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return rf_errf(err, -errno, "jail: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));

    static struct sock_filter insns[JAIL_MAX_INSNS];
    unsigned allowed;
    unsigned n = jail_build_filter(insns, cfg, &allowed);
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
    /* TSYNC: every thread of the process gets the filter, or none does. */
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
    if (r != 0) {
        if (r > 0)
            return rf_errf(err, -EAGAIN, "jail: thread %ld cannot take the seccomp filter", r);
        return rf_errf(err, -errno, "jail: seccomp filter: %s", strerror(errno));
    }
    raw_jail_state.entered = true;
    raw_jail_state.syscalls_allowed = allowed;
    return 0;
}
