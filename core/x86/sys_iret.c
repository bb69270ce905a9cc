/* IRET: real mode, virtual-8086 (IOPL 3 and VME), protected mode to the same or an outer level,
 * back to virtual-8086 mode, and nested-task return through the TSS back link
 * (SDM Vol. 2 IRET pseudo-code; Vol. 3 §6.12.1, §7.4, §20.3.3). */
#include "sys_priv.h"

/* EFLAGS bits IRET may load at any privilege: the arithmetic flags, TF, DF, NT, RF, AC, ID. */
#define IRET_ALWAYS (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_TF | EFL_DF | EFL_OF | \
                     EFL_NT | EFL_RF | EFL_AC | EFL_ID)

static void iret_set_flags(struct x86_cpu *cpu, uint32_t popped, bool o32, int cpl)
{
    uint32_t old = x86_get_eflags(cpu);
    int iopl = (old & EFL_IOPL) >> 12;
    uint32_t mask = IRET_ALWAYS;
    if (cpl <= iopl)
        mask |= EFL_IF;
    if (cpl == 0)
        mask |= EFL_IOPL | EFL_VIF | EFL_VIP;
    if (!o32)
        mask &= 0xffff;
    x86_set_eflags(cpu, (old & ~mask) | (popped & mask) | EFL_FIXED1);
}

static void iret_real(struct x86_cpu *cpu, bool o32)
{
    struct sys_stack st;
    sys_stack_from_ss(cpu, &st);
    uint32_t eip = sys_stack_pop(cpu, &st, o32);
    uint16_t cs = (uint16_t)sys_stack_pop(cpu, &st, o32);
    uint32_t fl = sys_stack_pop(cpu, &st, o32);
    if (!o32)
        eip &= 0xffff;
    if (eip > cpu->s.seg[S_CS].limit)
        x86_raise(cpu, X86_GP, 0);
    uint32_t old = x86_get_eflags(cpu);
    uint32_t mask = o32 ? (IRET_ALWAYS | EFL_IF | EFL_IOPL) : 0x7fd5u | EFL_IF | EFL_IOPL;
    if (cpu->v86) {
        int iopl = (old & EFL_IOPL) >> 12;
        mask &= ~EFL_IOPL;          /* v86 IRET never changes IOPL */
        if (iopl < 3) {
            /* Only reached with CR4.VME and a 16-bit IRET (§20.3.3): IF goes to VIF. */
            if ((fl & EFL_TF) || ((fl & EFL_IF) && (old & EFL_VIP)))
                x86_raise(cpu, X86_GP, 0);
            mask &= ~EFL_IF;
            old = (old & ~EFL_VIF) | ((fl & EFL_IF) ? EFL_VIF : 0);
        }
    }
    sys_stack_store_sp(cpu, &st);
    x86_set_eflags(cpu, (old & ~mask) | (fl & mask) | EFL_FIXED1);
    cpu->s.eip = eip;
    sys_seg_real(cpu, S_CS, cs);
    x86_update_mode(cpu);
}

/* IRET with EFLAGS.VM in the popped image, from CPL 0: back to virtual-8086 mode (§20.3.3). */
static void iret_to_v86(struct x86_cpu *cpu, struct sys_stack *st, uint32_t eip, uint16_t cs, uint32_t fl)
{
    uint32_t esp = sys_stack_pop(cpu, st, true);
    uint16_t sel[SEG_COUNT];
    sel[S_SS] = (uint16_t)sys_stack_pop(cpu, st, true);
    sel[S_ES] = (uint16_t)sys_stack_pop(cpu, st, true);
    sel[S_DS] = (uint16_t)sys_stack_pop(cpu, st, true);
    sel[S_FS] = (uint16_t)sys_stack_pop(cpu, st, true);
    sel[S_GS] = (uint16_t)sys_stack_pop(cpu, st, true);
    sel[S_CS] = cs;
    x86_set_eflags(cpu, fl | EFL_FIXED1);
    x86_update_mode(cpu);                   /* now v86: segment loads use sel << 4 */
    for (int i = 0; i < SEG_COUNT; i++)
        sys_seg_real(cpu, i, sel[i]);
    cpu->s.gpr[R_ESP] = esp;
    cpu->s.eip = eip & 0xffff;
    x86_update_mode(cpu);
}

/* NT set: return to the task in the back link of the current TSS (§7.4). */
static void iret_task(struct x86_cpu *cpu)
{
    uint16_t link = x86_sys_read16(cpu, cpu->s.tr.base);
    struct sys_desc d;
    if ((link & 4) || !sys_desc_fetch(cpu, link, &d))
        sys_fault_sel(cpu, X86_TS, link);
    unsigned type = SEG_ATTR_TYPE(d.attr);
    if ((d.attr & SEG_ATTR_S) || (type != SYS_TSS16_BUSY && type != SYS_TSS32_BUSY))
        sys_fault_sel(cpu, X86_TS, link);
    if (!desc_present(d.attr))
        sys_fault_sel(cpu, X86_NP, link);
    sys_task_switch(cpu, link, &d, TASK_IRET, X86_NO_ERR);
}

static void iret_any(struct x86_cpu *cpu, bool o32);

void x86_iret(struct x86_cpu *cpu, bool o32)
{
    iret_any(cpu, o32);
    cpu->s.nmi_masked = 0;          /* a completed IRET ends NMI blocking (§6.7.1) */
}

static void iret_any(struct x86_cpu *cpu, bool o32)
{
    if (!cpu->pe) {
        iret_real(cpu, o32);
        return;
    }
    uint32_t fl_now = x86_get_eflags(cpu);
    if (cpu->v86) {
        int iopl = (fl_now & EFL_IOPL) >> 12;
        if (iopl < 3 && (o32 || !(cpu->s.cr4 & CR4_VME)))
            x86_raise(cpu, X86_GP, 0);
        iret_real(cpu, o32);
        return;
    }
    if (fl_now & EFL_NT) {
        iret_task(cpu);
        return;
    }

    struct sys_stack st;
    sys_stack_from_ss(cpu, &st);
    uint32_t eip = sys_stack_pop(cpu, &st, o32);
    uint16_t cs = (uint16_t)sys_stack_pop(cpu, &st, o32);
    uint32_t fl = sys_stack_pop(cpu, &st, o32);
    if (o32 && (fl & EFL_VM) && cpu->cpl == 0) {
        iret_to_v86(cpu, &st, eip, cs, fl);
        return;
    }
    if (!o32)
        eip &= 0xffff;
    struct sys_desc cd;
    sys_return_cs_check(cpu, cs, eip, &cd);
    int rpl = cs & 3;

    int old_cpl = cpu->cpl;
    if (rpl == old_cpl) {
        sys_desc_set_accessed(cpu, &cd);
        sys_stack_store_sp(cpu, &st);
        sys_seg_commit(cpu, S_CS, cs, &cd);
        cpu->s.eip = eip;
        iret_set_flags(cpu, fl, o32, old_cpl);
        x86_update_mode(cpu);
        return;
    }
    /* Outer level: SS:ESP follow EFLAGS on the stack. */
    uint32_t esp = sys_stack_pop(cpu, &st, o32);
    uint16_t ss = (uint16_t)sys_stack_pop(cpu, &st, o32);
    struct sys_desc ssd;
    sys_check_ss(cpu, ss, rpl, X86_GP, &ssd);
    sys_desc_set_accessed(cpu, &cd);
    sys_seg_commit(cpu, S_CS, cs, &cd);
    sys_seg_commit(cpu, S_SS, ss, &ssd);
    cpu->s.gpr[R_ESP] = (ssd.attr & SEG_ATTR_DB) ? esp : ((cpu->s.gpr[R_ESP] & 0xffff0000u) | (esp & 0xffff));
    cpu->s.eip = eip;
    iret_set_flags(cpu, fl, o32, old_cpl);
    x86_update_mode(cpu);
    sys_null_inaccessible(cpu);
}
