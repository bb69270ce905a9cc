/* The jail's traps: who made a trapped system call (guest int 0x80, a contained 64-bit escape,
 * or the monitor), async-signal-safe diagnostics, and the jail's --stats lines.
 *
 * A SIGSYS from SECCOMP_RET_TRAP carries the call's number, its arch (AUDIT_ARCH_I386 for
 * int 0x80 and for syscall/sysenter from compat mode, AUDIT_ARCH_X86_64 for syscall in 64-bit
 * mode) and the address after the instruction (si_call_addr). The monitor runs above 4 GiB
 * and guest code below, so the address tells guest from monitor. Among guest calls, the code
 * segment tells a 32-bit guest (an LDT selector of the raw engine, or the host's 32-bit 0x23)
 * from guest code that far-jumped to a 64-bit selector: LAR on the interrupted CS reports the
 * descriptor's L bit (SDM Vol. 2A "LAR"; Vol. 3A 3.4.5: L is bit 21 of the high dword). */
#include <linux/audit.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include "jail_internal.h"

static const char *const jail_names[] = {
#include "jail_syscall_names.inc"
};

const char *raw_jail_syscall_name(int nr)
{
    if (nr < 0 || (size_t)nr >= sizeof(jail_names) / sizeof(jail_names[0]) || !jail_names[nr])
        return "?";
    return jail_names[nr];
}

/* LAR at CPL 3 works on any selector we can see; ZF clear when the descriptor is not
 * visible (null, beyond the table, DPL < CPL for a non-conforming segment). */
static bool jail_cs_is_64bit(uint16_t cs)
{
    uint32_t ar = 0;
    uint8_t ok;
    __asm__("lar %2, %0\n\tsetz %1" : "=r"(ar), "=q"(ok) : "r"((uint32_t)cs) : "cc");
    return ok && (ar & (1u << 21));
}

enum raw_jail_origin raw_jail_classify_call(uint32_t arch, int nr, uint64_t ip, uint16_t cs,
                                           struct raw_jail_sigsys *out)
{
    struct raw_jail_sigsys s;
    memset(&s, 0, sizeof(s));
    s.nr = nr;
    s.arch = arch;
    s.ip = ip;
    s.cs = cs;
    s.cs_64bit = cs && jail_cs_is_64bit(cs);
    /* The monitor is 64-bit code above 4 GiB and never makes an i386 call, so an i386 call is
     * always guest code: int 0x80 from 32-bit code below 4 GiB, any call from 64-bit code
     * after the far jump (an escape, wherever it runs), or the 32-bit fast call (sysenter on
     * Intel, syscall on AMD), which the kernel reports at its vDSO landing pad above 4 GiB
     * with CS = __USER32_CS (measured here for syscall on AMD). */
    if (s.arch == AUDIT_ARCH_I386) {
        if (s.cs_64bit) {
            s.origin = RAW_JAIL_GUEST_ESCAPE;
            raw_jail_state.escapes++;
        } else if (s.ip >> 32) {
            s.origin = RAW_JAIL_GUEST_FASTCALL;
            raw_jail_state.guest_i386++;
        } else {
            s.origin = RAW_JAIL_GUEST_I386;
            raw_jail_state.guest_i386++;
        }
    } else if (!(s.ip >> 32)) {
        /* An x86_64 call cannot come from compat mode: 64-bit code below 4 GiB is guest
         * code that far-jumped to a 64-bit selector. */
        s.origin = RAW_JAIL_GUEST_ESCAPE;
        raw_jail_state.escapes++;
    } else {
        s.origin = RAW_JAIL_MONITOR;
        raw_jail_state.violations++;
    }
    if (out)
        *out = s;
    return s.origin;
}

enum raw_jail_origin raw_jail_classify(const siginfo_t *si, const void *uctx, struct raw_jail_sigsys *out)
{
    uint16_t cs = 0;
    if (uctx)
        cs = (uint16_t)(((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_CSGSFS] & 0xFFFF);
    struct raw_jail_sigsys s;
    enum raw_jail_origin o = raw_jail_classify_call(si->si_arch, si->si_syscall,
                                                    (uint64_t)(uintptr_t)si->si_call_addr, cs, &s);
    s.data = si->si_errno;
    if (out)
        *out = s;
    return o;
}

/* Async-signal-safe formatting into a fixed buffer. */
struct jail_buf {
    char b[256];
    size_t n;
};

static void jail_puts(struct jail_buf *o, const char *s)
{
    while (*s && o->n < sizeof(o->b) - 1)
        o->b[o->n++] = *s++;
}

static void jail_putu(struct jail_buf *o, uint64_t v, unsigned base)
{
    char t[24];
    int k = 0;
    do {
        t[k++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16)
        jail_puts(o, "0x");
    while (k > 0 && o->n < sizeof(o->b) - 1)
        o->b[o->n++] = t[--k];
}

static void jail_describe(struct jail_buf *o, const struct raw_jail_sigsys *s)
{
    if (s->arch == AUDIT_ARCH_X86_64) {
        jail_putu(o, (uint64_t)(unsigned)s->nr, 10);
        jail_puts(o, " (");
        jail_puts(o, raw_jail_syscall_name(s->nr));
        jail_puts(o, ")");
    } else if (s->arch == AUDIT_ARCH_I386) {
        jail_puts(o, "i386 ");
        jail_putu(o, (uint64_t)(unsigned)s->nr, 10);
    } else {
        jail_puts(o, "number ");   /* arch not recorded by the caller */
        jail_putu(o, (uint64_t)(unsigned)s->nr, 10);
    }
    jail_puts(o, " at ");
    jail_putu(o, s->ip, 16);
}

static void jail_emit(struct jail_buf *o)
{
    jail_puts(o, "\n");
    size_t done = 0;
    while (done < o->n) {
        ssize_t w = write(STDERR_FILENO, o->b + done, o->n - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
}

void raw_jail_monitor_violation(const struct raw_jail_sigsys *s)
{
    struct jail_buf o = { .n = 0 };
    jail_puts(&o, "jail: the monitor made a forbidden system call ");
    jail_describe(&o, s);
    jail_puts(&o, " (add it to rawmode/jail.c's allowlist if the monitor needs it)");
    jail_emit(&o);
    /* abort() is made of allowed calls (rt_sigprocmask, rt_sigaction, tgkill to ourselves). */
    abort();
}

void raw_jail_report_unhandled(const struct raw_jail_sigsys *s)
{
    struct jail_buf o = { .n = 0 };
    jail_puts(&o, "jail: guest code made system call ");
    jail_describe(&o, s);
    jail_puts(&o, " and no engine handles it; stopping");
    jail_emit(&o);
}

void raw_jail_report_escape(const struct raw_jail_sigsys *s)
{
    struct jail_buf o = { .n = 0 };
    jail_puts(&o, "jail: guest escape contained: 64-bit code (cs ");
    jail_putu(&o, s->cs, 16);
    jail_puts(&o, ") made host system call ");
    jail_describe(&o, s);
    jail_puts(&o, "; it did not run");
    jail_emit(&o);
}

void raw_jail_get_stats(struct raw_jail_stats *out)
{
    *out = raw_jail_state;
}

void raw_jail_print_stats(FILE *out)
{
    const struct raw_jail_stats *j = &raw_jail_state;
    if (!j->entered) {
        fprintf(out, "jail: not entered (no seccomp allowlist: raw mode alone is no boundary)\n");
        return;
    }
#ifdef RINGFOLD_SANITIZE
    fprintf(out, "jail: sanitizer build: the allowlist is NOT enforced (guest calls still trap)\n");
#endif
    fprintf(out, "jail: seccomp filter installed, no new privileges; %u x86_64 system calls allowed; ",
            j->syscalls_allowed);
    if (j->fds_kept_open)
        fprintf(out, "descriptors NOT closed (keep_open_fds)\n");
    else
        fprintf(out, "%u descriptors closed\n", j->fds_closed);
    if (j->cpuid_faulting)
        fprintf(out, "jail: CPUID faulting on: guest CPUID traps and sees ringfold's CPU model\n");
    else
        fprintf(out, "jail: CPUID faulting unavailable (%s): guest user code sees the host CPUID\n",
                j->cpuid_errno ? strerror(j->cpuid_errno) : "not requested");
    fprintf(out, "jail: guest int 0x80 trapped %llu, guest 64-bit escapes contained %llu, "
                 "monitor violations %llu\n", (unsigned long long)j->guest_i386,
            (unsigned long long)j->escapes, (unsigned long long)j->violations);
}
