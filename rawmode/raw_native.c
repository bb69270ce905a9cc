/* Native execution, C side: the trap handlers that turn a signal taken in guest code into a
 * return from raw_enter, the FPU image format, and the per-process set-up.
 *
 * How an exit works: guest code traps (privileged instruction -> #GP, page fault, int 0x80 ->
 * seccomp SIGSYS, the host timer signal...). The host kernel delivers the signal on our
 * sigaltstack (the guest stack is guest memory). raw_signal sees from the interrupted CS/RIP
 * that guest code was running, copies the guest registers, the trap number, error code and CR2
 * from the ucontext and the live DS/ES/FS/GS selectors into the frame, and rewrites the
 * ucontext so that sigreturn lands on raw_exit_stub (raw_native.S) in 64-bit mode on the
 * monitor's stack. The guest therefore never runs inside a signal handler, and every emulation
 * happens in ordinary monitor context after raw_enter returns.
 *
 * The handler runs with the guest's FS/GS loaded: it must not touch TLS (no errno, no stack
 * protector, no library calls) on the guest path. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>
#include "jail.h"
#include "raw_native.h"

_Static_assert(offsetof(struct raw_frame, eip) == RAW_FRAME_EIP, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, eflags) == RAW_FRAME_EFLAGS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, cs) == RAW_FRAME_CS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, ss) == RAW_FRAME_SS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, ds) == RAW_FRAME_DS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, es) == RAW_FRAME_ES, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, fs) == RAW_FRAME_FS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, gs) == RAW_FRAME_GS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, reason) == RAW_FRAME_REASON, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, trapno) == 56, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, trap_addr) == 88, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, host_rsp) == RAW_FRAME_HOST_RSP, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, host_fsbase) == RAW_FRAME_HOST_FS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, host_gsbase) == RAW_FRAME_HOST_GS, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, guest_fpu) == RAW_FRAME_GUEST_FPU, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, host_fpu) == RAW_FRAME_HOST_FPU, "raw_frame layout");
_Static_assert(offsetof(struct raw_frame, xsave_mask) == RAW_FRAME_XMASK, "raw_frame layout");

/* raw_native.S */
int raw_enter(struct raw_frame *f);
void raw_exit_stub(void);
void raw_signal_entry(int sig, siginfo_t *si, void *ucv);   /* raw_native.S: clears AC/NT, then raw_signal */
void raw_signal(int sig, siginfo_t *si, void *ucv);
extern const char raw_enter_window[], raw_enter_iret[];

/* Read by raw_native.S. */
unsigned char raw_have_fsgsbase;
volatile int raw_timer_flag;
uint64_t raw_native_entries;

static struct raw_frame *volatile raw_active;     /* the frame of the native run in progress */
static int raw_sig_timer;
static uint64_t raw_xmask;                          /* XCR0 components we save; 0: FXSAVE */
static size_t raw_fpu_size = 512;
static bool raw_inited;
static uint8_t *raw_altstack;

#define HOST_CS64 0x33
#define HOST_DS   0x2b
#define UC_SS_FLAGS 0x6ul    /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */

int raw_timer_signal(void) { return raw_sig_timer; }

size_t raw_fpu_image_size(void) { return raw_fpu_size; }

/* A signal the monitor itself caused is a monitor bug: say so, then die of it. */
static void raw_monitor_signal(int sig, const ucontext_t *uc)
{
    static const char hex[] = "0123456789abcdef";
    char msg[96] = "ringfold: raw: signal    in the monitor at rip 0x";
    size_t n = strlen(msg);
    msg[21] = (char)('0' + sig / 10);
    msg[22] = (char)('0' + sig % 10);
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    for (int i = 60; i >= 0; i -= 4)
        msg[n++] = hex[(rip >> i) & 0xf];
    msg[n++] = '\n';
    ssize_t w = write(2, msg, n);
    (void)w;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    raise(sig);
}

static inline uint16_t raw_read_sel(int which)
{
    uint16_t v;
    switch (which) {
    case 0: __asm__ volatile("mov %%ds, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%es, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%fs, %0" : "=r"(v)); break;
    default: __asm__ volatile("mov %%gs, %0" : "=r"(v)); break;
    }
    return v;
}

/* Points the interrupted context at the exit stub (64-bit mode, the monitor's stack). */
__attribute__((no_stack_protector)) static void raw_redirect(ucontext_t *uc, struct raw_frame *f)
{
    greg_t *g = uc->uc_mcontext.gregs;
    g[REG_RIP] = (greg_t)(uintptr_t)raw_exit_stub;
    g[REG_RSP] = (greg_t)f->host_rsp;
    g[REG_RDI] = (greg_t)(uintptr_t)f;
    g[REG_EFL] = 0x202;     /* no TF/AC/DF of the guest in the monitor */
    g[REG_CSGSFS] = (greg_t)((uint64_t)HOST_CS64 | ((uint64_t)HOST_DS << 48));
    uc->uc_flags |= UC_SS_FLAGS;
}

__attribute__((no_stack_protector)) void raw_signal(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    struct raw_frame *f = raw_active;
    uint64_t rip = (uint64_t)g[REG_RIP];
    uint16_t cs = (uint16_t)g[REG_CSGSFS];
    bool in_guest = f && (cs != HOST_CS64 || rip < (1ull << 32));

    if (!in_guest) {
        uintptr_t at = (uintptr_t)rip;
        if (f && at >= (uintptr_t)raw_enter_window && at <= (uintptr_t)raw_enter_iret) {
            if (sig == raw_sig_timer) {          /* between the flag check and IRETQ */
                f->reason = RAW_EXIT_TIMER;
                raw_redirect(uc, f);
                return;
            }
            if (at == (uintptr_t)raw_enter_iret) {  /* IRETQ refused the guest's CS/SS/EIP */
                f->reason = RAW_EXIT_ENTRY_FAULT;
                f->signo = sig;
                f->trapno = (uint64_t)g[REG_TRAPNO];
                f->err = (uint64_t)g[REG_ERR];
                f->cr2 = (uint64_t)g[REG_CR2];
                raw_redirect(uc, f);
                return;
            }
        }
        if (sig == raw_sig_timer) {
            raw_timer_flag = 1;
            return;
        }
        if (sig == SIGSYS) {
            /* The jail refused a system call the monitor made (or escaped guest code that
             * jumped into the monitor): the jail's report, then abort. */
            struct raw_jail_sigsys js;
            raw_jail_classify(si, uc, &js);
            raw_jail_monitor_violation(&js);
        }
        raw_monitor_signal(sig, uc);
        return;
    }
    f->gpr[R_EAX] = (uint32_t)g[REG_RAX];
    f->gpr[R_ECX] = (uint32_t)g[REG_RCX];
    f->gpr[R_EDX] = (uint32_t)g[REG_RDX];
    f->gpr[R_EBX] = (uint32_t)g[REG_RBX];
    f->gpr[R_ESP] = (uint32_t)g[REG_RSP];
    f->gpr[R_EBP] = (uint32_t)g[REG_RBP];
    f->gpr[R_ESI] = (uint32_t)g[REG_RSI];
    f->gpr[R_EDI] = (uint32_t)g[REG_RDI];
    f->eip = (uint32_t)rip;
    f->rip_high = (uint32_t)(rip >> 32);
    f->eflags = (uint32_t)g[REG_EFL];
    f->cs = cs;
    f->ss = (uint16_t)((uint64_t)g[REG_CSGSFS] >> 48);
    f->ds = raw_read_sel(0);
    f->es = raw_read_sel(1);
    f->fs = raw_read_sel(2);
    f->gs = raw_read_sel(3);
    f->signo = sig;
    f->sig_code = si->si_code;
    f->trapno = (uint64_t)g[REG_TRAPNO];
    f->err = (uint64_t)g[REG_ERR];
    f->cr2 = (uint64_t)g[REG_CR2];
    f->trap_addr = (uint64_t)(uintptr_t)(sig == SIGSYS ? si->si_call_addr : si->si_addr);
    f->sys_nr = sig == SIGSYS ? si->si_syscall : -1;
    f->reason = sig == raw_sig_timer ? RAW_EXIT_TIMER : RAW_EXIT_SIGNAL;
    raw_redirect(uc, f);
}

/* XSAVE with every component XCR0 enables (the guest may touch AVX state natively even though
 * the vCPU model does not offer it), else FXSAVE (SDM Vol. 1 §13). */
static void raw_probe_fpu(void)
{
    unsigned a, b, c, d;
    raw_xmask = 0;
    raw_fpu_size = 512;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))     /* OSXSAVE */
        return;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    __cpuid_count(0xd, 0, a, b, c, d);
    /* AMX tile state (bits 17-18) is 64-bit-only and dynamically enabled (XFD): leave it out. */
    raw_xmask = (((uint64_t)hi << 32) | lo) & ~(3ull << 17);
    raw_fpu_size = b > 576 ? b : 576;
}

int raw_native_init(struct rf_err *err)
{
    if (raw_inited)
        return 0;
    raw_have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;    /* HWCAP2_FSGSBASE */
    raw_probe_fpu();
    raw_sig_timer = SIGRTMIN + 2;
    size_t ss_size = 256 * 1024;
    raw_altstack = mmap(NULL, ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw_altstack == MAP_FAILED)
        return rf_errf(err, -errno, "raw: signal stack: %s", strerror(errno));
    stack_t ss = { .ss_sp = raw_altstack, .ss_size = ss_size };
    if (sigaltstack(&ss, NULL) < 0)
        return rf_errf(err, -errno, "raw: sigaltstack: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = raw_signal_entry;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    const int sigs[] = { SIGSEGV, SIGILL, SIGTRAP, SIGFPE, SIGBUS, SIGSYS, raw_sig_timer };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            return rf_errf(err, -errno, "raw: sigaction(%d): %s", sigs[i], strerror(errno));
    sigset_t un;
    sigemptyset(&un);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&un, sigs[i]);
    sigprocmask(SIG_UNBLOCK, &un, NULL);
    raw_inited = true;
    return 0;
}

/* The FXSAVE legacy area (SDM Vol. 1 Table 10-2) and, for XSAVE, the header's XSTATE_BV. */
struct raw_fxarea {
    uint16_t fcw, fsw;
    uint8_t ftw, rsv0;
    uint16_t fop;
    uint32_t fip;
    uint16_t fcs, rsv1;
    uint32_t fdp;
    uint16_t fds, rsv2;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];
    uint8_t xmm[16][16];
    uint8_t rsv3[96];
    uint64_t xstate_bv, xcomp_bv;
};
_Static_assert(sizeof(struct raw_fxarea) == 528, "FXSAVE area + XSAVE header start");
_Static_assert(offsetof(struct raw_fxarea, st) == 32 && offsetof(struct raw_fxarea, xmm) == 160, "FXSAVE layout");

static void *raw_fpu_alloc(void)
{
    size_t n = (raw_fpu_size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n);
    if (p)
        memset(p, 0, n);
    return p;
}

struct raw_frame *raw_frame_create(void)
{
    struct raw_frame *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->guest_fpu = raw_fpu_alloc();
    f->host_fpu = raw_fpu_alloc();
    if (!f->guest_fpu || !f->host_fpu) {
        raw_frame_destroy(f);
        return NULL;
    }
    f->xsave_mask = raw_xmask;
    /* The host's default state: XSTATE_BV = 0 puts every component in its init state (FCW
     * 0x37F); MXCSR is loaded from the image regardless (SDM Vol. 1 §13.8.1). */
    struct raw_fxarea *h = f->host_fpu, *g = f->guest_fpu;
    h->fcw = 0x37f;
    h->mxcsr = 0x1f80;
    g->fcw = 0x37f;
    g->mxcsr = 0x1f80;
    g->xstate_bv = raw_xmask ? 3 : 0;
    return f;
}

void raw_frame_destroy(struct raw_frame *f)
{
    if (!f)
        return;
    free(f->guest_fpu);
    free(f->host_fpu);
    free(f);
}

int raw_native_run(struct raw_frame *f)
{
    raw_active = f;
    raw_native_entries++;
    if (!raw_have_fsgsbase) {
        /* No RDFSBASE: the bases come from the kernel. */
        syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &f->host_fsbase);
        syscall(SYS_arch_prctl, 0x1004 /* ARCH_GET_GS */, &f->host_gsbase);
    }
    int r = raw_enter(f);
    raw_active = NULL;
    if (r == RAW_EXIT_TIMER)
        raw_timer_flag = 0;
    return r;
}

/* Full tag of a non-empty register from its contents (SDM Vol. 1 §8.1.7): 0 valid, 1 zero,
 * 2 special (NaN, infinity, denormal, unnormal). */
static unsigned raw_fpu_tag(const uint8_t *r)
{
    uint64_t mant;
    memcpy(&mant, r, 8);
    unsigned exp = (unsigned)(r[8] | (r[9] << 8)) & 0x7fff;
    if (exp == 0x7fff)
        return 2;
    if (exp == 0)
        return mant ? 2 : 1;
    return (mant >> 63) ? 0 : 2;
}

void raw_fpu_to_frame(struct raw_frame *f, const struct fpu_state *fpu)
{
    struct raw_fxarea *a = f->guest_fpu;
    unsigned top = (fpu->fsw >> 11) & 7;
    a->fcw = fpu->fcw;
    a->fsw = fpu->fsw;
    a->ftw = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((fpu->ftw >> (2 * i)) & 3) != 3)
            a->ftw |= (uint8_t)(1u << i);
    a->fop = fpu->fop;
    a->fip = fpu->fip;
    a->fcs = fpu->fcs;
    a->fdp = fpu->fdp;
    a->fds = fpu->fds;
    a->mxcsr = fpu->mxcsr;
    for (unsigned j = 0; j < 8; j++) {
        memset(a->st[j], 0, 16);
        memcpy(a->st[j], fpu->st[(top + j) & 7], 10);
        memcpy(a->xmm[j], fpu->xmm[j], 16);
    }
    if (f->xsave_mask)
        a->xstate_bv |= 3;      /* x87 and SSE come from this image */
}

void raw_fpu_from_frame(const struct raw_frame *f, struct fpu_state *fpu)
{
    const struct raw_fxarea *a = f->guest_fpu;
    bool x87 = !f->xsave_mask || (a->xstate_bv & 1);
    bool sse = !f->xsave_mask || (a->xstate_bv & 2);
    fpu->mxcsr = a->mxcsr;
    if (!x87) {
        /* XSAVE leaves an init-state component unwritten: FNINIT's state (SDM Vol. 1 §13.6). */
        fpu->fcw = 0x37f;
        fpu->fsw = fpu->fop = fpu->fcs = fpu->fds = 0;
        fpu->fip = fpu->fdp = 0;
        fpu->ftw = 0xffff;
        memset(fpu->st, 0, sizeof(fpu->st));
    } else {
        unsigned top = (a->fsw >> 11) & 7;
        fpu->fcw = a->fcw;
        fpu->fsw = a->fsw;
        fpu->fop = a->fop;
        fpu->fip = a->fip;
        fpu->fcs = a->fcs;
        fpu->fdp = a->fdp;
        fpu->fds = a->fds;
        for (unsigned j = 0; j < 8; j++)
            memcpy(fpu->st[(top + j) & 7], a->st[j], 10);
        uint16_t ftw = 0;
        for (unsigned i = 0; i < 8; i++) {
            unsigned t = (a->ftw >> i) & 1 ? raw_fpu_tag(fpu->st[i]) : 3;
            ftw |= (uint16_t)(t << (2 * i));
        }
        fpu->ftw = ftw;
    }
    for (unsigned j = 0; j < 8; j++) {
        if (sse)
            memcpy(fpu->xmm[j], a->xmm[j], 16);
        else
            memset(fpu->xmm[j], 0, 16);
    }
}
