/* The raw engine's jail: seccomp allowlist, no new privileges, CPUID faulting, closed fds (docs/jail.md). */
#ifndef RAWMODE_JAIL_H
#define RAWMODE_JAIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ringfold/err.h"

/* What the process that runs guest code keeps once jailed. Guest code at CPL 3 can always
 * far-jump to the host's 64-bit code selector and reach the whole process (ARCHITECTURE.md
 * "Raw mode"), so the jail, not raw mode, is the boundary: whatever is open or allowed here
 * is what an escaped guest gets. */
struct raw_jail_config {
    /* File descriptors to keep besides 0, 1 and 2: the guest memfd, the serial file, the
     * console's input dup, a trace file... Every other descriptor is closed. */
    const int *keep_fds;          /* negative entries are ignored */
    size_t n_keep_fds;
    /* Close nothing (for a caller that cannot list its descriptors yet); --stats says so. */
    bool keep_open_fds;
    /* Extra x86_64 system calls to allow, for a monitor feature the default list lacks
     * (each is an attack surface: justify it where it is passed). */
    const int *extra_syscalls;
    size_t n_extra_syscalls;
    /* Try arch_prctl(ARCH_SET_CPUID, 0) so guest CPUID faults (#GP -> SIGSEGV) and the engine
     * can answer with ringfold's CPU model. The monitor must not execute CPUID afterwards. */
    bool cpuid_faulting;
    /* Install the jail's own SIGSYS handler (SA_SIGINFO|SA_ONSTACK): a monitor violation is
     * diagnosed and aborts; a guest-originated call is reported and ends the process with
     * status 4 (RF_EXIT_MONITOR). The raw engine installs its own
     * handler instead and calls raw_jail_classify() / raw_jail_monitor_violation(). */
    bool install_sigsys_handler;
};

/* Enters the jail, in this order: closes every descriptor not in the config, tries CPUID
 * faulting (when asked), sets PR_SET_NO_NEW_PRIVS and installs the seccomp filter on every
 * thread (SECCOMP_FILTER_FLAG_TSYNC). The filter, checked first to last:
 *   1. instruction pointer below 4 GiB  -> SECCOMP_RET_TRAP (guest code, whatever the arch:
 *      the monitor lives above 4 GiB)
 *   2. any arch other than x86_64 (i386) -> SECCOMP_RET_TRAP (stands alone without the raw
 *      engine's own i386 filter)
 *   3. the x86_64 allowlist (rawmode/jail.c says why each one is there) -> SECCOMP_RET_ALLOW
 *   4. everything else                   -> SECCOMP_RET_TRAP (a monitor violation, diagnosed)
 * Filters stack and the strictest action wins, so this can go before or after the raw
 * engine's minimal filter. Irreversible for the process; call it once, after the VM is built
 * (files opened, guest memory mapped). Returns 0 or a negative errno with err filled. */
int raw_jail_enter(const struct raw_jail_config *cfg, struct rf_err *err);

/* SECCOMP_RET_DATA of the jail's traps (siginfo si_errno of the SIGSYS). */
enum raw_jail_trap_data {
    RAW_JAIL_DATA_GUEST_IP = 1,    /* rule 1: instruction pointer below 4 GiB */
    RAW_JAIL_DATA_FOREIGN_ARCH,    /* rule 2: not x86_64 */
    RAW_JAIL_DATA_NOT_ALLOWED,     /* rule 4, or an argument check failed */
};

/* Who made a trapped system call. */
enum raw_jail_origin {
    RAW_JAIL_GUEST_I386,     /* 32-bit guest code below 4 GiB: int 0x80 is an event for the
                                guest; emulate the instruction before si_call_addr (CD 80).
                                The trap rolls registers back: the ucontext's EAX is the
                                guest's */
    RAW_JAIL_GUEST_FASTCALL, /* sysenter (Intel) or syscall (AMD) from 32-bit guest code (the
                                other vendor raises #UD: SIGILL). The host kernel took it as
                                its vDSO fast system call: it reports the vDSO landing pad
                                (above 4 GiB) as IP and CS as 0x23, has reloaded registers by
                                the vDSO convention (syscall: ECX = EBP; sysenter: ESP = EBP;
                                both: EBP = the dword at the user stack), and the guest EIP
                                is lost. When [ESP] is not mapped the kernel returns -EFAULT
                                to that landing pad without consulting seccomp: no SIGSYS, a
                                SIGSEGV at the landing pad instead. Nothing reached the host
                                either way; the guest state cannot be recovered exactly
                                (tests/guests/raw/hostile_fastcall.c) */
    RAW_JAIL_GUEST_ESCAPE,   /* 64-bit code below 4 GiB (any call), or an i386 call from a
                                64-bit code segment anywhere: guest code that far-jumped to a
                                64-bit host selector (0x33) and made a host system call. It did
                                not happen; stop the VM and report the contained escape */
    RAW_JAIL_MONITOR,        /* an x86_64 call from above 4 GiB: the monitor itself (a
                                missing allowlist entry, or a bug), or escaped guest code
                                that jumped into the monitor: raw_jail_monitor_violation() */
};

struct raw_jail_sigsys {
    enum raw_jail_origin origin;
    int nr;              /* system call number in the caller's arch */
    uint32_t arch;       /* AUDIT_ARCH_I386 or AUDIT_ARCH_X86_64 */
    uint64_t ip;         /* address after the system call instruction */
    uint16_t cs;         /* code selector of the caller (from the ucontext; 0 if none) */
    bool cs_64bit;       /* that selector is a 64-bit (L=1) code segment */
    int data;            /* SECCOMP_RET_DATA: which filter rule trapped (0: not the jail's) */
};

/* Classifies a SIGSYS; uctx is the handler's third argument (ucontext_t *, may be NULL).
 * Async-signal-safe; counts the event for raw_jail_print_stats(). */
enum raw_jail_origin raw_jail_classify(const siginfo_t *si, const void *uctx, struct raw_jail_sigsys *out);

/* The same from values the engine saved at the exit (arch, si_syscall, si_call_addr, the
 * interrupted CS; cs 0 = unknown), outside the signal handler. */
enum raw_jail_origin raw_jail_classify_call(uint32_t arch, int nr, uint64_t ip, uint16_t cs,
                                           struct raw_jail_sigsys *out);

/* Async-signal-safe: prints "jail: the monitor made a forbidden system call N (name) at IP"
 * to stderr, restores the default SIGABRT action and aborts. */
__attribute__((noreturn)) void raw_jail_monitor_violation(const struct raw_jail_sigsys *s);

/* Async-signal-safe: prints "jail: guest code made system call ... and no engine handles it". */
void raw_jail_report_unhandled(const struct raw_jail_sigsys *s);

/* Async-signal-safe: prints "jail: guest escape contained: ..." for RAW_JAIL_GUEST_ESCAPE
 * (the engine calls it when it stops the VM for a contained escape). */
void raw_jail_report_escape(const struct raw_jail_sigsys *s);

/* "openat" for 257; "?" when unknown. x86_64 numbers only. */
const char *raw_jail_syscall_name(int nr);

/* What the jail did, for --stats and the tests. */
struct raw_jail_stats {
    bool entered;             /* the filter is installed */
    unsigned syscalls_allowed;   /* x86_64 system calls on the allowlist (some with argument checks) */
    bool cpuid_faulting;      /* ARCH_SET_CPUID worked: guest CPUID traps */
    int cpuid_errno;          /* why not (ENODEV: the CPU has no CPUID faulting) */
    unsigned fds_closed;
    bool fds_kept_open;       /* keep_open_fds was set: nothing was closed */
    uint64_t guest_i386;      /* guest int 0x80 trapped */
    uint64_t escapes;         /* guest 64-bit system calls contained */
    uint64_t violations;      /* monitor violations */
};
void raw_jail_get_stats(struct raw_jail_stats *out);
void raw_jail_print_stats(FILE *out);

#endif
