/* The raw engine: guest code runs natively on the host CPU in ring-compressed mode; what cannot
 * run natively runs on emu.
 *
 * Issue 6 (docs/raw.md). The guest's state lives in an emu context (the instruction emulator of
 * core/, include/ringfold/x86_emulate.h). Each turn of raw_run's loop asks whether that state can
 * run natively (raw_can_native: 32-bit protected mode, no v86, no single-step or breakpoints, no
 * lazy-FPU trap pending, no interrupt to deliver; kernel code only where CSAM scanned it); if so
 * it builds the host view (segment registers as LDT shadow descriptors: raw_ldt.c; the FPU image;
 * EFLAGS with the virtual IF kept aside), enters and dispatches the exit (raw_exit.c). Where it
 * enters: guest kernel code (CPL 0-2, paged or not: phases 2a/2b, rawmode/raw_csam.c) and unpaged
 * user code run in this process, whose shadow (rawmode/shadow*.c) maps every guest page they may
 * touch; paged guest user code runs in the guest-user process of its address space (phase 3,
 * rawmode/raw_stub*.c), which maps that address space's user pages and nothing else. Otherwise
 * emu runs the guest (x86_emu_run_until) until the state can go native again, the deadline, HLT
 * or a stop: real mode, v86, 16-bit code and trap-dense kernel paths run there. Interrupts are
 * delivered by emu, between instructions, when the virtual EFLAGS.IF allows. */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/ldt.h>
#include <linux/seccomp.h>
#include "ringfold/cpu_model.h"
#include "ringfold/engine.h"
#include "raw_priv.h"
#include "jail.h"
#include "raw_stub.h"
#include "raw_syscall_trap.h"
#include "shadow.h"

#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012

#define RAW_HOST_CS64 0x33     /* the host's 64-bit user code selector (Linux __USER_CS) */

/* EFLAGS bits native code owns: arithmetic flags, DF, AC (an #AC the guest would not take,
 * CR0.AM off, comes back as SIGBUS and is emulated), NT (a native IRET with NT faults in
 * IA-32e mode and emu does the task return), ID, and TF as set by a native POPF (the run loop
 * never enters with TF). IF, IOPL, VM, RF, VIF, VIP stay virtual: native IF is always 1 at host
 * CPL 3, and IOPL/VM cannot change there. */
#define RAW_NATIVE_FLAGS (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF | EFL_DF | EFL_AC | \
                          EFL_NT | EFL_ID | EFL_TF)

/* Guest linear L is host linear L: nothing of the host may live below 4 GiB (a non-PIE
 * binary, a sanitizer's shadow memory, another raw VM in this process). */
static int raw_probe_low4g(struct rf_err *why)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;       /* cannot tell: shadow_create checks again when it reserves */
    char line[512];
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long lo = strtoull(line, NULL, 16);
        if (lo < (1ull << 32)) {
            line[strcspn(line, "\n")] = 0;
            rc = rf_errf(why, -EBUSY, "the low 4 GiB of the process are not free for guest addresses (%.200s)",
                         line);
            break;
        }
    }
    fclose(f);
    return rc;
}

/* RINGFOLD_RAW_SINGLE=1: the unsafe single-process benchmark mode (docs/raw.md). */
static bool raw_single_requested(void)
{
    const char *single = getenv("RINGFOLD_RAW_SINGLE");
    return single && !strcmp(single, "1");
}

static int raw_probe(struct rf_err *why)
{
#if !defined(__x86_64__)
    return rf_errf(why, -ENOSYS, "needs an x86-64 host (32-bit guest code runs in compatibility mode)");
#else
    /* modify_ldt: write and clear an unused slot. */
    struct user_desc d = { .entry_number = RAW_LDT_CACHE_BASE + 7, .limit = 0xfffff, .seg_32bit = 1,
                           .limit_in_pages = 1, .useable = 1 };
    if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
        return rf_errf(why, -errno, "modify_ldt refuses 32-bit LDT code segments: %s (kernel built "
                       "without CONFIG_MODIFY_LDT_SYSCALL?)", strerror(errno));
    struct user_desc z = { .entry_number = RAW_LDT_CACHE_BASE + 7, .read_exec_only = 1, .seg_not_present = 1 };
    syscall(SYS_modify_ldt, 1, &z, sizeof(z));
    int rc = raw_syscall_trap_probe(why);
    if (rc < 0)
        return rc;
    /* Paged guest user code runs in ringfold-raw-stub processes (phase 3), unless the unsafe
     * single-process mode was asked for. */
    char stub[4096];
    if (!raw_single_requested()) {
        if ((rc = raw_stub_find(stub, sizeof(stub), why)) < 0)
            return rc;
        /* Their mappings are authorized through seccomp user notification (Linux 5.5 for the
         * CONTINUE answer). */
        unsigned action = SECCOMP_RET_USER_NOTIF;
        if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
            return rf_errf(why, -errno, "seccomp SECCOMP_RET_USER_NOTIF unavailable (%s): the guest-user "
                           "processes' mappings could not be authorized", strerror(errno));
    }
    return raw_probe_low4g(why);
#endif
}

/* Paged guest user code runs in the stub process of its address space (phase 3), never here:
 * this process maps guest kernel pages (ARCHITECTURE.md "Raw mode"). The stubs start with the
 * first native entry (raw_first_entry), before any such run. */
static bool raw_user_in_stub(const struct raw *r, const struct vcpu_state *st)
{
    return !r->single_unsafe && (st->cr0 & CR0_PG) && (st->seg[S_CS].sel & 3) == 3;
}

/* Can the guest state run natively now? 32-bit protected-mode code at CPL 3 (phase 1; paged, in
 * a guest-user process: phase 3), or at CPL 0-2 under CSAM, paging off (phase 2a) or on (phase
 * 2b), unless a linger keeps it on emu a while (after kernel port I/O or a trap in native paged
 * kernel code). When the answer is yes it also puts this process's shadow in the view the run
 * needs (raw_view_for). */
static bool raw_can_native(void *opaque, const struct vcpu_state *s)
{
    struct raw *r = opaque;
    struct vm *vm = r->vm;
    /* RF is fine: it only suppresses instruction breakpoints, and the host has none for us. */
    if (r->native_broken || !(s->cr0 & CR0_PE) || (s->eflags & (EFL_VM | EFL_TF)))
        return false;
    unsigned cpl = s->seg[S_CS].sel & 3;
    if (!(s->seg[S_CS].attr & SEG_ATTR_DB) || SEG_ATTR_DPL(s->seg[S_SS].attr) != cpl)
        return false;
    bool paged = (s->cr0 & CR0_PG) != 0;
    if (raw_kernel_view(r, s)) {
        /* After kernel port I/O (more is likely, emu does it cheaply) and, paged, after a trap
         * in native kernel code or native user code (a view switch: raw_kernel_trap,
         * RAW_VIEW_SWITCH_LINGER): emu first. Emu counts the blocks down itself, so the
         * lingering blocks cost no call each. */
        unsigned linger = r->io_linger > (paged ? r->kern_linger : 0) ? r->io_linger : paged ? r->kern_linger : 0;
        if (linger) {
            if (r->io_linger) {
                r->stats.io_lingers += r->io_linger;
                r->io_linger = 0;
            } else {
                r->stats.kern_lingers++;
            }
            r->kern_linger = 0;
            x86_emu_skip_native_asks(r->emu, linger);
            return false;
        }
        if (x86_emu_native_asks_skipped(r->emu))
            return false;       /* emu stopped (deadline, HLT) before the linger ran out */
        if (!raw_csam_native_ok(r, s)) {
            /* Code CSAM found unsafe runs on emu; with paging on every question costs a page
             * walk, so ask again only after a few blocks. */
            if (paged)
                x86_emu_skip_native_asks(r->emu, 16);
            return false;
        }
    } else if (cpl != 3) {
        return false;
    }
    /* Lazy FPU switching (CR0.TS/EM) wants #NM on the next FPU instruction: emu gives it. */
    if ((s->cr0 & (CR0_TS | CR0_EM)) || (s->dr[7] & 0xff) || s->halted || s->intr_shadow)
        return false;
    /* CR4.TSD makes RDTSC at CPL 3 fault; the host's does not (and PR_TSC_SIGSEGV would make
     * the monitor's own clock fault): such guests' user code runs on emu. */
    if (s->cr4 & CR4_TSD)
        return false;
    if ((vm->nmi_pending && !s->nmi_masked) || (vm->intr_pending && (s->eflags & EFL_IF)))
        return false;
    if (shadow_error(r->shadow))
        return false;
    /* The view the native run needs (raw_view_for); a switch flushes (shadow_set_view). Paged
     * user code runs in a guest-user process (phase 3): this process's view stays as the kernel
     * needs it, nothing is flushed, no linger. In the single-process mode native paged user code
     * means the kernel after it waits RAW_VIEW_SWITCH_LINGER blocks on emu. */
    bool in_stub = raw_user_in_stub(r, s);
    enum shadow_view v = in_stub ? r->view : raw_view_for(r, s);
    if (v != r->view) {
        r->stats.view_switches++;
        r->view = v;
        shadow_set_view(r->shadow, v);
    }
    if (paged && v == SHADOW_VIEW_USER && r->csam && !in_stub) {
        r->kern_linger = RAW_VIEW_SWITCH_LINGER;
        x86_emu_skip_native_asks(r->emu, 0);    /* counted afresh from the next kernel block */
    }
    return true;
}

/* Tells the shadow about paging changes the emulated guest kernel made: CR0/CR3/CR4/EFER by
 * comparison after each emu stretch, INVLPG through the emu's hook (raw_invlpg). */
static void raw_paging_sync(struct raw *r)
{
    const struct vcpu_state *s = x86_emu_peek(r->emu);
    const uint32_t cr0m = CR0_PG | CR0_WP | CR0_PE, cr4m = CR4_PSE | CR4_PAE | CR4_PGE;
    bool other = ((s->cr0 ^ r->pg_cr0) & cr0m) || ((s->cr4 ^ r->pg_cr4) & cr4m) ||
                 ((s->msr.efer ^ r->pg_efer) & EFER_NXE);
    uint64_t flushes = x86_emu_tlb_flushes(r->emu);
    /* A full flush with no visible control change is a CR3 write (maybe of the same value) or
     * a CR4.PGE toggle (Linux's global flush): flush globals too, as the toggle requires. */
    bool flushed = flushes != r->pg_flushes, cr3 = s->cr3 != r->pg_cr3;
    r->pg_flushes = flushes;
    r->pg_cr0 = s->cr0;
    r->pg_cr3 = s->cr3;
    r->pg_cr4 = s->cr4;
    r->pg_efer = s->msr.efer;
    /* Turning paging on forgets CSAM's unpaged work once (raw_csam_paging); the view is chosen
     * per native entry (raw_can_native, raw_view_for). */
    raw_csam_paging(r, (s->cr0 & CR0_PG) != 0);
    /* A paging-mode change flushes everything. A CR3 switch or a full TLB flush (same-value CR3
     * load, CR4.PGE toggle) only revalidates: every host mapping still equal to what the guest's
     * CURRENT tables give is kept, the rest dropped (shadow_flush.c says why that is exactly the
     * TLB semantics). For Linux with page-table isolation (two CR3 switches per system call) and
     * for context switches back to a process, this keeps the user working set mapped instead of
     * faulting every page back in. */
    if (other) {
        shadow_paging_changed(r->shadow, false);
        raw_stubs_reset_all(r);
    } else if (flushed || cr3) {
        /* Lazily, before the next native run of each process: with page-table isolation the
         * guest switches CR3 twice per system call, and revalidating this process's kernel view
         * against the user CR3 each time would drop (and re-fault) the kernel's pages. Until
         * guest code runs natively in a process, its stale mappings are never used. */
        r->here_stale = true;
        raw_stubs_stale_all(r);     /* each stub revalidates when it next runs (raw_stubs_get) */
    }
}

static void raw_invlpg(void *opaque, uint32_t linear, bool all)
{
    struct raw *r = opaque;
    if (all) {
        shadow_flush_all(r->shadow);
        raw_stubs_reset_all(r);
        r->stats.shadow_flushes_kernel++;
    } else {
        shadow_invlpg(r->shadow, linear);
        raw_stubs_invlpg(r, x86_emu_peek(r->emu)->cr3, linear);
    }
}

/* SYSENTER executed natively in compat mode: on AMD (and Hygon) processors it is #UD, which the
 * engine emulates; on Intel and the others the host kernel takes it as its own 32-bit fast
 * system call, losing the guest's EIP and reloading ESP/EBP (docs/jail.md), so the VM could only
 * stop. There the guest is told it has no SEP, and Linux keeps to int 0x80 (which seccomp traps
 * and the engine delivers). Decided from the host's vendor, before the jail (CPUID is free here). */
static bool raw_host_sysenter_is_ud(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return false;
    char v[13];
    memcpy(v, &b, 4);
    memcpy(v + 4, &d, 4);
    memcpy(v + 8, &c, 4);
    v[12] = 0;
    return !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}

static int raw_create(struct vm *vm, void **priv, struct rf_err *err)
{
    struct raw *r = calloc(1, sizeof(*r));
    if (!r)
        return rf_errf(err, -ENOMEM, "engine raw: out of memory");
    r->vm = vm;
    vm->tsc_host = true;     /* native RDTSC reads the host TSC: emu must read the same one */
    if (!raw_host_sysenter_is_ud()) {
        vm->cpuid1_edx_hide |= CPUID_SEP;
        r->sep_hidden = true;
    }
    int rc = raw_native_init(err);
    if (rc < 0)
        goto fail;
    r->emu = x86_emu_create(vm, err);
    if (!r->emu) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = shadow_create(vm, r->emu, &r->shadow, err);
    if (rc < 0)
        goto fail;
    x86_emu_set_invlpg_hook(r->emu, raw_invlpg, r);
    r->cur_shadow = r->shadow;
    r->frame_here = raw_frame_create();
    r->frame_user = raw_frame_create();
    r->frame = r->frame_here;
    if (!r->frame_here || !r->frame_user) {
        rc = rf_errf(err, -ENOMEM, "engine raw: out of memory for the native frame");
        goto fail;
    }
    rc = raw_timer_create(r, err);
    if (rc < 0)
        goto fail;
    /* CPUID faulting (Intel "CPUID faulting", exposed as ARCH_SET_CPUID) makes native CPUID trap
     * so the guest sees ringfold's CPUID; without it guest user code sees the host's. */
    r->cpuid_faulting = syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0) >= 0 &&
                        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1) == 0;
    rc = raw_csam_create(r, err);
    if (rc < 0)
        goto fail;
    r->single_unsafe = raw_single_requested();
    const char *n = getenv("RINGFOLD_RAW_STUBS");
    r->nstubs = n ? (unsigned)strtoul(n, NULL, 10) : RAW_STUBS_DEFAULT;
    if (r->nstubs < 1 || r->nstubs > RAW_STUBS_MAX) {
        rc = rf_errf(err, -EINVAL, "RINGFOLD_RAW_STUBS=%s: want 1..%d guest-user processes", n, RAW_STUBS_MAX);
        goto fail;
    }
    *priv = r;
    return 0;
fail:
    raw_csam_destroy(r);
    if (r->shadow)
        shadow_destroy(r->shadow);
    x86_emu_destroy(r->emu);
    raw_frame_destroy(r->frame_here);
    raw_frame_destroy(r->frame_user);
    free(r);
    return rc;
}

static void raw_destroy(void *priv)
{
    struct raw *r = priv;
    raw_timer_destroy(r);
    raw_stubs_destroy(r);
    raw_csam_destroy(r);
    shadow_destroy(r->shadow);
    x86_emu_destroy(r->emu);
    raw_frame_destroy(r->frame_here);
    raw_frame_destroy(r->frame_user);
    free(r);
}

static void raw_get_state(void *priv, struct vcpu_state *st)
{
    x86_emu_get_state(((struct raw *)priv)->emu, st);
}

static void raw_set_state(void *priv, const struct vcpu_state *st)
{
    struct raw *r = priv;
    x86_emu_set_state(r->emu, st);
    r->pg_cr0 = st->cr0;
    r->pg_cr3 = st->cr3;
    r->pg_cr4 = st->cr4;
    r->pg_efer = st->msr.efer;
    r->pg_flushes = x86_emu_tlb_flushes(r->emu);
    raw_csam_paging(r, (st->cr0 & CR0_PG) != 0);
    shadow_paging_changed(r->shadow, false);
    raw_stubs_reset_all(r);
}

/* Before guest code first runs: the i386 syscall trap, then the jail (rawmode/jail.h). Guest
 * code at CPL 3 can always far-jump to the host's 64-bit selector and make host system calls;
 * only the jail's allowlist keeps that from reaching anything (ARCHITECTURE.md "Raw mode").
 * Descriptors stay open (the engine cannot list the console's and the loader's), and the
 * process cannot open files or create guest memory afterwards: `--reboot` of a guest that ran
 * user code on raw ends with the jail's "forbidden system call" report. */
static int raw_first_entry(struct raw *r)
{
    struct rf_err err = { { 0 } };
    /* The guest-user processes start before the jail, which forbids creating processes. */
    int rc = r->single_unsafe ? 0 : raw_stubs_start(r, r->nstubs, &err);
    if (rc == 0)
        rc = raw_syscall_trap_install(&err);
    if (rc == 0) {
        /* waitid: noticing that a guest-user process died and reaping it (raw_stub_run.c), our
         * own children only. pidfd_send_signal: killing one, through the pidfds opened before
         * the jail (the only pidfds this process holds). Neither reaches anything else. */
        static const int extra[] = { SYS_waitid, SYS_pidfd_send_signal };
        const struct raw_jail_config cfg = { .keep_open_fds = true, .cpuid_faulting = false,
                                             .install_sigsys_handler = false,
                                             .extra_syscalls = extra, .n_extra_syscalls = 2 };
        rc = raw_jail_enter(&cfg, &err);
    }
    if (rc < 0) {
        r->native_broken = true;
        vm_request_stop(r->vm, VM_STOP_ERROR, 0, "%s", err.msg);
    }
    return rc;
}

/* The shadow's answer to a native #PF. The host's U bit says nothing about the guest (every guest
 * ring runs at host CPL 3): the access is a user one when the guest's CPL is 3. An instruction
 * fetch in the kernel view first lets CSAM scan the code (raw_csam.c). st: the state that went
 * in (CS unchanged, or the selectors were compared). */
enum shadow_result raw_shadow_fault(struct raw *r, const struct vcpu_state *st, const struct raw_frame *f,
                                    uint32_t *guest_err)
{
    unsigned access = ((st->seg[S_CS].sel & 3) == 3 ? SH_USER : 0) | ((f->err & 2) ? SH_WRITE : SH_READ) |
                      ((f->err & 16) ? SH_EXEC : 0);
    if ((f->err & 16) && raw_kernel_view(r, st))
        raw_csam_prepare(r, st->seg[S_CS].base + f->eip, (uint32_t)f->cr2);
    return shadow_fault(r->cur_shadow, (uint32_t)f->cr2, access, guest_err);
}

/* Exits that need nothing but a host mapping go straight back in with the frame as it is: no
 * state copy through emu, no FPU conversion, no LDT check (the selectors are the ones that went
 * in). Anything else, or a deadline, a stop or a pending interrupt, leaves the loop. A #PF the
 * shadow did not map is remembered for raw_exit.c, so shadow_fault runs once per fault. */
static bool raw_fast_resume(struct raw *r, struct raw_frame *f, const int *sel, int reason)
{
    struct vm *vm = r->vm;
    if (reason != RAW_EXIT_SIGNAL || f->signo != SIGSEGV || f->trapno != 14 || f->rip_high ||
        (f->eflags & EFL_TF) || vm->stop)
        return false;
    if (f->cs != sel[S_CS] || f->ss != sel[S_SS] || f->ds != sel[S_DS] || f->es != sel[S_ES] ||
        f->fs != sel[S_FS] || f->gs != sel[S_GS])
        return false;
    r->pf_cached_result = (int)raw_shadow_fault(r, x86_emu_peek(r->emu), f, &r->pf_cached_err);
    r->pf_cached = true;
    if (r->pf_cached_result != SHADOW_MAPPED || vclock_ns(&vm->clock) >= r->deadline)
        return false;
    r->pf_cached = false;
    r->stats.exits[RAW_X_PF_MAPPED]++;
    r->stats.fast_resumes++;
    f->eflags = (f->eflags & RAW_NATIVE_FLAGS & ~EFL_TF) | EFL_IF | EFL_FIXED1;
    return true;
}

/* One native run: state out of emu into the frame, enter, state back, dispatch the exit. */
static void raw_native_once(struct raw *r)
{
    struct vcpu_state *st = &r->st;
    struct vm *vm = r->vm;
    r->pf_cached = false;
    x86_emu_get_state(r->emu, st);
    shadow_sync_a20(r->shadow);
    if (!r->entered_once) {
        r->entered_once = true;
        if (raw_first_entry(r) < 0)
            return;
    }
    struct raw_stub *stub = NULL;
    if (raw_user_in_stub(r, st)) {
        stub = raw_stubs_get(r, st->cr3);
        if (!stub) {
            r->native_broken = true;
            return;
        }
        shadow_sync_a20(stub->shadow);
    }
    if (!stub && r->here_stale) {
        shadow_revalidate(r->shadow);
        r->here_stale = false;
    }
    struct raw_frame *f = r->frame = stub ? r->frame_user : r->frame_here;
    struct raw_ldt *ldt = stub ? &stub->ldt : &r->ldt;
    r->cur_shadow = stub ? stub->shadow : r->shadow;
    int sel[SEG_COUNT];
    for (int k = 0; k < SEG_COUNT; k++) {
        sel[k] = raw_ldt_load(ldt, k, &st->seg[k]);
        if (sel[k] < 0) {
            /* Not expressible natively: let emu take one instruction and ask again. */
            r->stats.ldt_refused++;
            raw_exit_act(r, RAW_ACT_EMULATE);
            return;
        }
    }
    f->es = (uint16_t)sel[S_ES];
    f->cs = (uint16_t)sel[S_CS];
    f->ss = (uint16_t)sel[S_SS];
    f->ds = (uint16_t)sel[S_DS];
    f->fs = (uint16_t)sel[S_FS];
    f->gs = (uint16_t)sel[S_GS];
    memcpy(f->gpr, st->gpr, sizeof(f->gpr));
    f->eip = st->eip;
    f->eflags = (st->eflags & RAW_NATIVE_FLAGS & ~EFL_TF) | EFL_IF | EFL_FIXED1;
    raw_fpu_to_frame(f, &st->fpu);
    if (raw_kernel_view(r, st) && !raw_csam_entry_ok(r, st)) {
        /* Not a scanned instruction start in a safe frame: one instruction on emu, then ask again. */
        r->stats.csam_entry_refused++;
        raw_exit_act(r, RAW_ACT_EMULATE);
        raw_paging_sync(r);
        return;
    }
    bool cpl0 = (st->seg[S_CS].sel & 3) != 3, paged = cpl0 && (st->cr0 & CR0_PG);
    r->stats.entries_kernel += cpl0;
    r->stats.entries_kernel_paged += paged;
    int reason;
    do {
        r->stats.entries++;
        if (!r->cpuid_faulting)
            r->stats.cpuid_native++;
        uint64_t t0 = vclock_host_ns();
        if (stub) {
            reason = raw_stub_run(stub, f, r->deadline_host);
            if (reason <= 0) {
                if (reason < 0)
                    r->native_broken = true;    /* stopped: contained and reported */
                return;                         /* 0: nothing ran, the state is unchanged */
            }
        } else {
            reason = raw_native_run(f);
        }
        uint64_t dt = vclock_host_ns() - t0;
        r->stats.native_ns += dt;
        if (cpl0)
            r->stats.native_ns_kernel += dt;
        if (paged)
            r->stats.native_ns_kernel_paged += dt;
        if (vm->clock.deterministic)
            vm->clock.icount += dt / VCLOCK_DET_NS_PER_INSN;    /* guest time moves while native */
    } while (raw_fast_resume(r, f, sel, reason));

    if ((reason == RAW_EXIT_SIGNAL || reason == RAW_EXIT_TIMER) && (f->rip_high || !(f->cs & 4))) {
        /* Guest code is no longer running on one of our LDT code selectors: a compat-mode
         * SYSCALL (AMD) or SYSENTER (Intel) that the host kernel took as its vDSO fast call
         * (EIP lost, ECX/ESP/EBP reloaded), or a far transfer that loaded a HOST GDT code
         * selector (0x33 64-bit, 0x23/0x20 flat 32-bit: DPL 3, so the CPU accepted them where
         * the guest's own GDT entry of that number would have faulted). The far transfer is
         * over and where it came from is lost, so the guest's #GP cannot be delivered. Nothing
         * reached the host (seccomp), but the guest state cannot be recovered: stop, saying why. */
        r->native_broken = true;
        if (!f->rip_high && !(f->cs & 4))
            vm_request_stop(vm, VM_STOP_ERROR, 0, "raw: guest escape contained: guest code far-jumped to the "
                            "host's %s code selector %#x (signal %d at %04x:%08x); phase 1 cannot continue it",
                            f->cs == RAW_HOST_CS64 ? "64-bit" : "32-bit", f->cs, f->signo, f->cs, f->eip);
        else
            vm_request_stop(vm, VM_STOP_ERROR, 0, "raw: guest fast system call: a compat-mode SYSCALL/SYSENTER "
                            "was taken by the host kernel as its vDSO fast call (signal %d at %04x:%08x%08x; "
                            "EIP lost, registers reloaded); nothing reached the host. A CPU model without SEP "
                            "(--cpu=pentium-pro) keeps Linux guests on int 0x80",
                            f->signo, f->cs, f->rip_high, f->eip);
        return;
    }
    memcpy(st->gpr, f->gpr, sizeof(st->gpr));
    st->eip = f->eip;
    st->eflags = (st->eflags & ~RAW_NATIVE_FLAGS) | (f->eflags & RAW_NATIVE_FLAGS);
    st->eflags &= ~EFL_RF;      /* no breakpoints natively: RF means nothing there */
    const uint16_t host[SEG_COUNT] = { [S_ES] = f->es, [S_CS] = f->cs, [S_SS] = f->ss,
                                       [S_DS] = f->ds, [S_FS] = f->fs, [S_GS] = f->gs };
    int bad = -1;
    bool fixed = false;
    for (int k = 0; k < SEG_COUNT; k++) {
        if (host[k] == sel[k])
            continue;
        uint64_t fix = ldt->fixups;
        struct seg_reg prev = st->seg[k];
        if (raw_ldt_to_guest(ldt, r->emu, vm, k, host[k], &st->seg[k]) < 0) {
            /* Keep the segment the guest had: the #GP below comes after the load (the loading
             * instruction is lost), and must not leave a null SS or CS behind at CPL 3. */
            st->seg[k] = prev;
            bad = k;
        } else if (ldt->fixups != fix)
            fixed = true;
    }
    raw_fpu_from_frame(f, &st->fpu);
    x86_emu_set_regs(r->emu, st);
    if (bad >= 0) {
        /* The guest loaded a selector of its GDT that it could not have loaded; the host loaded
         * its own entry of that number instead. Approximation: #GP(selector) now. */
        r->stats.exits[RAW_X_SEG_BAD]++;
        x86_emu_exception(r->emu, 13, host[bad] & 0xfffcu, 0);
        raw_paging_sync(r);
        return;
    }
    if (fixed && reason == RAW_EXIT_SIGNAL && raw_exit_is_fault(f)) {
        /* The fault came from the host descriptor the guest's selector value named; with the
         * guest's own descriptor in place the instruction simply runs again. */
        r->stats.exits[RAW_X_SEG_FIXUP]++;
        return;
    }
    uint32_t eip = st->eip;
    enum raw_action a = raw_exit_classify(r, st, reason);
    if (st->eip != eip || a == RAW_ACT_DEBUG)
        x86_emu_set_regs(r->emu, st);   /* backed up over a trap-style instruction, or DR6 */
    raw_exit_act(r, a);
    if (a == RAW_ACT_EMULATE || a == RAW_ACT_GUEST_PF || a == RAW_ACT_DEBUG)
        raw_paging_sync(r);     /* delivery may have switched tasks (CR3) */
}

static enum engine_exit raw_run(void *priv, uint64_t deadline)
{
    struct raw *r = priv;
    struct vm *vm = r->vm;
    uint64_t t0 = vclock_host_ns();
    enum engine_exit ex;
    bool armed = false;
    r->deadline = deadline;
    /* The host time of the deadline, for the guest-user processes' own timers (computed once per
     * slice, so a stub re-arms its timer once per slice, as raw_timer_arm does here). */
    uint64_t now_v = vclock_ns(&vm->clock);
    r->deadline_host = t0 + (deadline > now_v ? deadline - now_v : 0);
    if (r->cpuid_faulting)
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    for (;;) {
        if (vm->stop) {
            ex = ENGINE_EXIT_STOP;
            break;
        }
        if (vclock_ns(&vm->clock) >= deadline) {
            ex = ENGINE_EXIT_BUDGET;
            break;
        }
        if (raw_can_native(r, x86_emu_peek(r->emu))) {
            if (!armed) {
                raw_timer_arm(r, deadline);
                armed = true;
            }
            raw_native_once(r);
            continue;
        }
        uint64_t e0 = vclock_host_ns();
        enum x86_emu_status st = x86_emu_run_until(r->emu, deadline, raw_can_native, r);
        r->stats.emu_ns += vclock_host_ns() - e0;
        raw_paging_sync(r);
        if (st == X86_EMU_NATIVE)
            continue;
        if (st == X86_EMU_HALT) {
            const struct vcpu_state *s = x86_emu_peek(r->emu);
            if (!(s->eflags & EFL_IF) && !vm->nmi_pending)
                vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with interrupts disabled at %04x:%08" PRIx32,
                                s->seg[S_CS].sel, s->eip);
            ex = ENGINE_EXIT_HALT;
            break;
        }
        ex = st == X86_EMU_STOP ? ENGINE_EXIT_STOP : ENGINE_EXIT_BUDGET;
        break;
    }
    if (r->cpuid_faulting)
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);     /* the monitor's own CPUID must not trap */
    if (armed)
        raw_timer_disarm(r);
    r->stats.run_ns += vclock_host_ns() - t0;
    return ex;
}

static void raw_stats_cb(void *priv, FILE *out)
{
    raw_print_stats(priv, out);
}

const struct engine_ops raw_engine_ops = {
    .name = "raw",
    .summary = "ring-compressed native execution: guest kernel code under CSAM in the monitor process, "
               "paged guest user code in one jailed process per guest address space; the rest on emu",
    .probe = raw_probe,
    .create = raw_create,
    .run = raw_run,
    .get_state = raw_get_state,
    .set_state = raw_set_state,
    .print_stats = raw_stats_cb,
    .destroy = raw_destroy,
};
