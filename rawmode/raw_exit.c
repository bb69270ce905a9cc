/* Trap dispatch: what a native exit means for the guest, and what the monitor does about it.
 *
 * The host reports every trap of guest code as a signal with the CPU's own vector (trapno),
 * error code and CR2 (raw_native.c). The rule is simple, for guest user code and for kernel
 * code alike (phases 2a and 2b): anything that traps is emulated on emu, which knows the guest's real privilege level,
 * IDT, I/O permissions and CPUID and so does exactly what the guest's CPU would (including
 * raising the guest exception and delivering it through the guest IDT). The exceptions:
 *   - #PF goes to shadow paging first (rawmode/shadow.h): most faults only need a host mapping;
 *     the guest's own #PF is delivered with the error code its tables give;
 *   - traps that report the NEXT instruction (int3, into, icebp, and the seccomp SIGSYS of int
 *     0x80 / sysenter / syscall) are backed up to the instruction first, so emu executes it;
 *   - the timer is not the guest's business;
 *   - an int3 at a CSAM patch site (phase 2a) emulates the ORIGINAL instruction there. */
#include <inttypes.h>
#include <signal.h>
#include "raw_priv.h"
#include "shadow.h"

/* Bytes of guest code at CS:EIP+off (0 when unreadable). */
static int raw_code_byte(struct raw *r, const struct vcpu_state *st, int32_t off)
{
    uint8_t b;
    if (raw_read_linear(r->emu, r->vm, st->seg[S_CS].base + st->eip + (uint32_t)off, &b, 1) < 0)
        return -1;
    return b;
}

/* Backs EIP up over the trapping instruction when its bytes are `a b` (b < 0: one byte). */
static bool raw_back_up(struct raw *r, struct vcpu_state *st, int a, int b)
{
    if (b < 0) {
        if (raw_code_byte(r, st, -1) != a)
            return false;
        st->eip -= 1;
        return true;
    }
    if (raw_code_byte(r, st, -2) != a || raw_code_byte(r, st, -1) != b)
        return false;
    st->eip -= 2;
    return true;
}

/* #GP at CPL 3: which kind, for the stats (SDM Vol. 3 §6.12.1.1: a gate DPL < CPL gives #GP with
 * the IDT bit set in the error code; I/O without IOPL/bitmap permission gives #GP(0)). */
static enum raw_exit_kind raw_gp_kind(struct raw *r, const struct vcpu_state *st, uint64_t err)
{
    if ((err & 3) == 2)
        return RAW_X_INT_N;
    int op = raw_code_byte(r, st, 0);
    for (int i = 0; i < 4 && (op == 0x66 || op == 0x67 || op == 0xf3 || op == 0xf2); i++)
        op = raw_code_byte(r, st, i + 1);
    if ((op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef) || (op >= 0x6c && op <= 0x6f))
        return RAW_X_GP_IO;
    return RAW_X_GP_PRIV;
}

static enum raw_action raw_page_fault(struct raw *r, const struct vcpu_state *st, const struct raw_frame *f)
{
    uint32_t gerr = 0;
    enum shadow_result res;
    if (r->pf_cached) {
        res = (enum shadow_result)r->pf_cached_result;
        gerr = r->pf_cached_err;
        r->pf_cached = false;
    } else {
        res = raw_shadow_fault(r, st, f, &gerr);
    }
    switch (res) {
    case SHADOW_MAPPED:
        r->stats.exits[RAW_X_PF_MAPPED]++;
        return RAW_ACT_RESUME;
    case SHADOW_GUEST_PF:
        r->stats.exits[RAW_X_PF_GUEST]++;
        r->pf_err = gerr;
        r->pf_addr = (uint32_t)f->cr2;
        return RAW_ACT_GUEST_PF;
    case SHADOW_EMULATE:
    default:
        r->stats.exits[RAW_X_PF_EMULATE]++;
        return RAW_ACT_EMULATE;
    }
}

static enum raw_action raw_stop(struct raw *r, const struct vcpu_state *st, const char *what)
{
    const struct raw_frame *f = r->frame;
    vm_request_stop(r->vm, VM_STOP_ERROR, 0, "raw: %s (signal %d, trap %" PRIu64 ", err %#" PRIx64
                    ") at guest EIP %#" PRIx32, what, f->signo, f->trapno, f->err, st->eip);
    return RAW_ACT_STOP;
}

bool raw_exit_is_fault(const struct raw_frame *f)
{
    switch (f->signo) {
    case SIGSEGV:
        return f->trapno != 4;      /* into is a trap */
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
        return true;
    default:
        return false;               /* SIGTRAP, SIGSYS, the timer: the instruction completed */
    }
}

static enum raw_action raw_exit_decide(struct raw *r, struct vcpu_state *st, int reason)
{
    const struct raw_frame *f = r->frame;
    if (reason == RAW_EXIT_TIMER) {
        r->stats.exits[RAW_X_TIMER]++;
        return RAW_ACT_RESUME;
    }
    if (reason == RAW_EXIT_ENTRY_FAULT) {
        r->stats.exits[RAW_X_ENTRY]++;
        return RAW_ACT_EMULATE;      /* emu raises what the guest's CPU would for this state */
    }
    switch (f->signo) {
    case SIGSEGV:
        switch (f->trapno) {
        case 14:
            return raw_page_fault(r, st, f);
        case 13: {
            enum raw_exit_kind k = raw_gp_kind(r, st, f->err);
            r->stats.exits[k]++;
            /* Kernel code doing port I/O usually does more (polling a UART, programming a
             * device): a #GP round trip each costs ~100x emu's port access, so stay on emu a
             * while (raw_can_native counts the blocks down). */
            if (k == RAW_X_GP_IO && raw_kernel_view(r, st) && (st->seg[S_CS].sel & 3) != 3)
                r->io_linger = RAW_IO_LINGER_BLOCKS;
            return RAW_ACT_EMULATE;
        }
        case 4:         /* into: a trap, EIP is past it */
            raw_back_up(r, st, 0xce, -1);
            r->stats.exits[RAW_X_OTHER]++;
            return RAW_ACT_EMULATE;
        default:
            r->stats.exits[RAW_X_OTHER]++;
            return RAW_ACT_EMULATE;
        }
    case SIGILL:
        r->stats.exits[RAW_X_UD]++;
        return RAW_ACT_EMULATE;
    case SIGFPE:
        r->stats.exits[f->trapno == 0 ? RAW_X_DE : RAW_X_FPU]++;
        return RAW_ACT_EMULATE;
    case SIGBUS:
        r->stats.exits[RAW_X_OTHER]++;
        return RAW_ACT_EMULATE;
    case SIGTRAP:
        if (f->trapno == 3) {
            /* A CSAM patch (phase 2a): emulate the ORIGINAL instruction; emu's decoder sees it
             * through the fetch overlay (raw_csam.c). */
            int kind = raw_csam_patch_at(r, st->seg[S_CS].base + st->eip - 1);
            if (kind >= 0) {
                st->eip -= 1;
                r->stats.patch_traps[kind]++;
                return RAW_ACT_EMULATE;
            }
            /* int3 (CC) or int 3 (CD 03): the host reports the instruction after it. */
            if (!raw_back_up(r, st, 0xcc, -1) && !raw_back_up(r, st, 0xcd, 0x03))
                return raw_stop(r, st, "int3 trap but no int3 before EIP");
            r->stats.exits[RAW_X_BP]++;
            return RAW_ACT_EMULATE;
        }
        if (f->trapno == 1 && raw_back_up(r, st, 0xf1, -1)) {
            r->stats.exits[RAW_X_DB]++;
            return RAW_ACT_EMULATE;
        }
        if (f->trapno == 1 && (f->eflags & EFL_TF)) {
            /* Native POPF set TF: the single-step trap after the next instruction (SDM Vol. 3
             * §17.3.1.4). DR6.BS, then #DB through the guest IDT; emu steps from here on. */
            st->dr[6] = (st->dr[6] & ~0xfu) | 0x4000u;
            r->stats.exits[RAW_X_DB]++;
            return RAW_ACT_DEBUG;
        }
        return raw_stop(r, st, "unexpected debug trap in native guest code");
    case SIGSYS:
        /* seccomp reports the address after the system-call instruction; EAX is the guest's
         * (the kernel rolled the call back, SECCOMP_RET_TRAP). */
        st->eip = (uint32_t)f->trap_addr - st->seg[S_CS].base;
        if (raw_back_up(r, st, 0xcd, 0x80) || raw_back_up(r, st, 0x0f, 0x34) || raw_back_up(r, st, 0x0f, 0x05)) {
            r->stats.exits[RAW_X_SYSCALL]++;
            return RAW_ACT_EMULATE;
        }
        /* Intel hosts: compat-mode SYSENTER enters the host kernel, which sets EIP to its
         * 32-bit vDSO landing pad (absent here), ESP to EBP and EBP to [EBP] before seccomp
         * traps it: the guest's registers are gone. (AMD: SYSENTER is #UD in long mode.) */
        return raw_stop(r, st, "i386 system call trapped with no int 0x80/sysenter/syscall before it: "
                        "probably SYSENTER on an Intel host, whose compat entry clobbers EIP/ESP/EBP; "
                        "use a CPU model without SEP (--cpu) so the guest uses int 0x80");
    default:
        return raw_stop(r, st, "unexpected signal from native guest code");
    }
}

enum raw_action raw_exit_classify(struct raw *r, struct vcpu_state *st, int reason)
{
    enum raw_action a = raw_exit_decide(r, st, reason);
    /* Phase 2b: a trap in native paged kernel code (emulated, or a #PF for the guest's handler,
     * which runs on emu) starts the linger (raw_csam.c, raw_kernel_trap). */
    if ((a == RAW_ACT_EMULATE || a == RAW_ACT_GUEST_PF) && r->csam && (st->cr0 & CR0_PG) &&
        (st->seg[S_CS].sel & 3) != 3)
        raw_kernel_trap(r);
    return a;
}

void raw_exit_act(struct raw *r, enum raw_action a)
{
    switch (a) {
    case RAW_ACT_EMULATE: {
        struct x86_emu_event ev;
        if (raw_csam_code_coherent(r, x86_emu_peek(r->emu)))
            r->stats.refetch_skipped++;     /* CSAM-monitored kernel code: no unseen writes */
        else
            x86_emu_refetch(r->emu);    /* native code may have written the instruction */
        ev.vector = -1;
        if (x86_emu_step_fresh(r->emu, &ev) == X86_EMU_EXCEPTION && ev.vector == 6 && r->frame->signo != SIGILL)
            /* The host ran it (it trapped for another reason) but emu does not know it: an
             * instruction guest user code chose from the host's CPUID (no CPUID faulting). */
            r->stats.emu_ud_host_insn++;
        r->stats.emulated++;
        break;
    }
    case RAW_ACT_GUEST_PF:
        x86_emu_exception(r->emu, 14, r->pf_err, r->pf_addr);
        break;
    case RAW_ACT_DEBUG:
        x86_emu_exception(r->emu, 1, 0xffffffffu, 0);
        break;
    case RAW_ACT_RESUME:
    case RAW_ACT_STOP:
        break;
    }
}
