/* Exceptions and interrupts: fault escalation to #DF and triple fault (SDM Vol. 3 §6.15 Table 6-5),
 * real-mode IVT delivery (§20.1.4), virtual-8086 INT n redirection (§20.3.3), and the entry point
 * that hands protected-mode events to the IDT code in sys_event_pm.c. */
#include <stdio.h>
#include "ringfold/trace.h"
#include "sys_priv.h"

enum exc_class { EXC_BENIGN, EXC_CONTRIB, EXC_PF, EXC_DF };

static void event_deliver(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err);

static enum exc_class exc_class_of(int vector, int kind)
{
    /* Only CPU exceptions escalate; interrupts and software INT n are benign (Table 6-4). */
    if (kind != EV_EXCEPTION)
        return EXC_BENIGN;
    switch (vector) {
    case X86_DE: case X86_TS: case X86_NP: case X86_SS: case X86_GP:
        return EXC_CONTRIB;
    case X86_PF:
        return EXC_PF;
    case X86_DF:
        return EXC_DF;
    default:
        return EXC_BENIGN;
    }
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP", "#SS",
    "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
};

static const char *exc_name(int v)
{
    return (v >= 0 && v < 32 && exc_names[v]) ? exc_names[v] : "#??";
}

static void chain_add(struct x86_cpu *cpu, int vector)
{
    if (cpu->fault_chain_len < 3)
        cpu->fault_chain[cpu->fault_chain_len++] = vector;
}

static void triple_fault(struct x86_cpu *cpu, int vector, uint32_t err)
{
    const struct vcpu_state *s = &cpu->s;
    char chain[96] = "";
    size_t n = 0;
    for (int i = 0; i < cpu->fault_chain_len && n < sizeof(chain); i++)
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ", exc_name(cpu->fault_chain[i]));
    vm_request_stop(cpu->vm, VM_STOP_TRIPLE_FAULT, 0,
                    "triple fault: %s%s(err %#x) during #DF delivery; "
                    "cs:eip=%04x:%08x ss:esp=%04x:%08x eflags=%08x cr0=%08x cr2=%08x cr3=%08x "
                    "cr4=%08x eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x "
                    "idtr=%08x/%04x gdtr=%08x/%04x tr=%04x",
                    chain, exc_name(vector), err, s->seg[S_CS].sel, s->eip, s->seg[S_SS].sel,
                    s->gpr[R_ESP], s->eflags, s->cr0, s->cr2, s->cr3, s->cr4, s->gpr[R_EAX],
                    s->gpr[R_EBX], s->gpr[R_ECX], s->gpr[R_EDX], s->gpr[R_ESI], s->gpr[R_EDI],
                    s->gpr[R_EBP], s->idtr.base, s->idtr.limit, s->gdtr.base, s->gdtr.limit,
                    s->tr.sel);
    if (TRACE_ON(TRACE_EXC))
        trace_printf("exc: %s\n", cpu->vm->stop_msg);
    cpu->delivering = -1;
    cpu->ev_ext = 0;
    cpu->fault_chain_len = 0;
}

void x86_handle_fault(struct x86_cpu *cpu)
{
    int vector = cpu->exc_vector;
    uint32_t err = cpu->exc_err;
    if (TRACE_ON(TRACE_EXC) && cpu->delivering >= 0)
        trace_printf("exc: %s err=%#x while delivering vector %#x at %04x:%08x\n", exc_name(vector), err,
                     cpu->delivering, cpu->s.seg[S_CS].sel, cpu->s.eip);
    if (cpu->delivering < 0) {
        cpu->fault_chain_len = 0;
    } else {
        enum exc_class first = exc_class_of(cpu->delivering, cpu->delivering_kind);
        enum exc_class second = exc_class_of(vector, EV_EXCEPTION);
        if (first == EXC_DF) {
            /* Any fault while calling the #DF handler shuts the processor down (§6.15, #DF). */
            chain_add(cpu, X86_DF);
            triple_fault(cpu, vector, err);
            return;
        }
        if ((first == EXC_CONTRIB && second == EXC_CONTRIB) ||
            (first == EXC_PF && (second == EXC_CONTRIB || second == EXC_PF))) {
            chain_add(cpu, cpu->delivering);
            chain_add(cpu, vector);
            cpu->stats.exceptions[X86_DF]++;    /* raised here, not through x86_raise() */
            vector = X86_DF;
            err = 0;
        }
        /* Otherwise the two are handled serially: deliver the new one. */
    }
    event_deliver(cpu, vector, EV_EXCEPTION, err);
}

/* Pushes a 16-bit real-mode/v86 frame and enters the handler from the IVT at linear ivt
 * (§20.1.4); flags_pushed is the FLAGS image to save. */
static void deliver_ivt(struct x86_cpu *cpu, int vector, uint32_t flags_pushed, uint32_t clear)
{
    if (!cpu->v86 && (uint32_t)vector * 4 + 3 > cpu->s.idtr.limit)
        x86_raise(cpu, X86_GP, 0);
    uint32_t ivt = cpu->v86 ? 0 : cpu->s.idtr.base;
    uint16_t ip = x86_sys_read16(cpu, ivt + 4u * vector);
    uint16_t cs = x86_sys_read16(cpu, ivt + 4u * vector + 2);
    struct sys_stack st;
    sys_stack_from_ss(cpu, &st);
    sys_stack_push(cpu, &st, flags_pushed & 0xffff, false);
    sys_stack_push(cpu, &st, cpu->s.seg[S_CS].sel, false);
    sys_stack_push(cpu, &st, cpu->s.eip & 0xffff, false);
    sys_stack_store_sp(cpu, &st);
    x86_set_eflags(cpu, x86_get_eflags(cpu) & ~clear);
    sys_seg_real(cpu, S_CS, cs);
    cpu->s.eip = ip;
    x86_update_mode(cpu);
}

/* INT n in virtual-8086 mode (§20.3.3, Table 20-2): returns true when the event was redirected
 * to the v86 task's own IVT; raises #GP(0) when IOPL-sensitive and not allowed. */
static bool v86_soft_int(struct x86_cpu *cpu, int vector)
{
    uint32_t fl = x86_get_eflags(cpu);
    int iopl = (fl & EFL_IOPL) >> 12;
    if (!(cpu->s.cr4 & CR4_VME)) {
        if (iopl < 3)
            x86_raise(cpu, X86_GP, 0);
        return false;
    }
    /* The interrupt redirection bitmap is the 32 bytes below the I/O map base of the TSS. */
    const struct seg_reg *tr = &cpu->s.tr;
    unsigned type = SEG_ATTR_TYPE(tr->attr);
    if ((type != SYS_TSS32_AVAIL && type != SYS_TSS32_BUSY) || tr->limit < 0x67)
        x86_raise(cpu, X86_GP, 0);
    uint32_t map = x86_sys_read16(cpu, tr->base + 0x66);
    uint32_t off = map - 32 + (uint32_t)vector / 8;
    if (map < 32 || off > tr->limit)
        x86_raise(cpu, X86_GP, 0);
    bool redirect = !((x86_sys_read8(cpu, tr->base + off) >> (vector & 7)) & 1);
    if (!redirect) {
        if (iopl < 3)
            x86_raise(cpu, X86_GP, 0);
        return false;
    }
    if (iopl == 3) {
        deliver_ivt(cpu, vector, fl, EFL_IF | EFL_TF);
    } else {
        /* With IOPL < 3 the pushed image shows VIF as IF and IOPL as 3; VIF is what clears. */
        uint32_t img = (fl & ~EFL_IF) | EFL_IOPL | ((fl & EFL_VIF) ? EFL_IF : 0);
        deliver_ivt(cpu, vector, img, EFL_VIF | EFL_TF);
    }
    return true;
}

void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err)
{
    vector &= 0xff;
    /* External interrupts and NMIs are traced by the exec side's interrupt check. */
    if (TRACE_ON(TRACE_INTR) && (kind == EV_SOFT_INT || kind == EV_SOFT_EXC || kind == EV_ICEBP))
        trace_printf("intr: INT %#x at %04x:%08x\n", vector, cpu->s.seg[S_CS].sel, cpu->s.eip);
    /* The exec side counts events where they arise (x86_raise, INT n, the interrupt check);
     * only the #DF synthesized by x86_handle_fault is counted here. */
    event_deliver(cpu, vector, kind, err);
}

static void event_deliver(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err)
{
    cpu->delivering = vector;
    cpu->delivering_kind = kind;
    /* EXT is clear only while delivering INT n, INT3 or INTO (§6.13). */
    cpu->ev_ext = (kind == EV_SOFT_INT || kind == EV_SOFT_EXC) ? 0 : 1;
    cpu->s.halted = 0;

    if (!cpu->pe) {
        /* Real mode: no error code; IF, TF, AC and RF clear (§20.1.4). */
        deliver_ivt(cpu, vector, x86_get_eflags(cpu), EFL_IF | EFL_TF | EFL_AC | EFL_RF);
    } else if (!(cpu->v86 && kind == EV_SOFT_INT && v86_soft_int(cpu, vector))) {
        /* The vector, not the caller, decides whether an error code is pushed (Table 6-1). */
        bool has_err = kind == EV_EXCEPTION && (vector == X86_DF || (vector >= X86_TS && vector <= X86_PF) ||
                                                vector == X86_AC);
        sys_deliver_pm(cpu, vector, kind, has_err ? (err == X86_NO_ERR ? 0 : err) : X86_NO_ERR);
    }
    if (kind == EV_NMI)
        cpu->s.nmi_masked = 1;
    cpu->delivering = -1;
    cpu->ev_ext = 0;
    cpu->fault_chain_len = 0;
}
