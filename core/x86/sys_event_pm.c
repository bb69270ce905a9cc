/* Protected-mode event delivery through the IDT: interrupt/trap gates (16/32-bit), task gates,
 * privilege checks, inner-privilege stack switch through the TSS, leaving virtual-8086 mode
 * (SDM Vol. 3 §6.10-6.13, §20.3.1; Vol. 2 INT n pseudo-code). */
#include "sys_priv.h"

void sys_tss_stack(struct x86_cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp)
{
    const struct seg_reg *tr = &cpu->s.tr;
    unsigned type = SEG_ATTR_TYPE(tr->attr);
    bool tss32 = type == SYS_TSS32_AVAIL || type == SYS_TSS32_BUSY;
    /* 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n; 16-bit TSS: SPn at 2 + 4n, SSn at 4 + 4n. */
    uint32_t off = tss32 ? 4u + 8u * dpl : 2u + 4u * dpl;
    if (off + (tss32 ? 5u : 3u) > tr->limit)
        sys_fault_sel(cpu, X86_TS, tr->sel);
    if (tss32) {
        *esp = x86_sys_read32(cpu, tr->base + off);
        *ss = x86_sys_read16(cpu, tr->base + off + 4);
    } else {
        *esp = x86_sys_read16(cpu, tr->base + off);
        *ss = x86_sys_read16(cpu, tr->base + off + 2);
    }
}

/* Exceptions that are always faults: #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM. */
#define FAULT_VECTORS ((1u << X86_DE) | (1u << X86_BR) | (1u << X86_UD) | (1u << X86_NM) | \
                       (1u << X86_TS) | (1u << X86_NP) | (1u << X86_SS) | (1u << X86_GP) | \
                       (1u << X86_PF) | (1u << X86_MF) | (1u << X86_AC) | (1u << X86_XM))

void sys_deliver_pm(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err)
{
    uint32_t ext = cpu->ev_ext;
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;    /* IDT flag set in the error code */
    if ((uint32_t)vector * 8 + 7 > cpu->s.idtr.limit)
        x86_raise(cpu, X86_GP, idt_err);
    struct sys_desc g;
    uint32_t ga = cpu->s.idtr.base + (uint32_t)vector * 8;
    sys_desc_parse(&g, x86_sys_read32(cpu, ga), x86_sys_read32(cpu, ga + 4));
    unsigned type = SEG_ATTR_TYPE(g.attr);
    if ((g.attr & SEG_ATTR_S) ||
        !(type == SYS_TASKGATE || type == SYS_INTGATE16 || type == SYS_TRAPGATE16 ||
          type == SYS_INTGATE32 || type == SYS_TRAPGATE32))
        x86_raise(cpu, X86_GP, idt_err);
    /* Software INT n / INT3 / INTO may only use gates with DPL >= CPL (§6.12.1.1). */
    if ((kind == EV_SOFT_INT || kind == EV_SOFT_EXC) && desc_dpl(g.attr) < cpu->cpl)
        x86_raise(cpu, X86_GP, (uint32_t)vector * 8 + 2);
    if (!desc_present(g.attr))
        x86_raise(cpu, X86_NP, idt_err);

    if (type == SYS_TASKGATE) {
        sys_task_via_gate(cpu, gate_sel(&g), TASK_INT, err);
        return;
    }

    uint16_t sel = gate_sel(&g);
    if ((sel & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, ext);
    struct sys_desc cd;
    sys_desc_load(cpu, sel, &cd, X86_GP);
    if (!desc_is_code(cd.attr) || desc_dpl(cd.attr) > cpu->cpl)
        sys_fault_sel(cpu, X86_GP, sel);
    if (!desc_present(cd.attr))
        sys_fault_sel(cpu, X86_NP, sel);
    bool g32 = (type & 8) != 0;
    uint32_t eip = gate_off(&g);
    if (!g32)
        eip &= 0xffff;
    if (eip > cd.limit)
        x86_raise(cpu, X86_GP, ext);

    int dpl = desc_dpl(cd.attr);
    bool inner = !desc_conforming(cd.attr) && dpl < cpu->cpl;
    if (!inner && (cpu->v86 || (!desc_conforming(cd.attr) && dpl != cpu->cpl)))
        sys_fault_sel(cpu, X86_GP, sel);      /* from v86 the handler must be at ring 0 */
    if (inner && cpu->v86 && dpl != 0)
        sys_fault_sel(cpu, X86_GP, sel);
    int new_cpl = inner ? dpl : cpu->cpl;

    struct sys_stack st;
    struct sys_desc ssd;
    uint16_t new_ss = 0;
    unsigned words = 3 + (err != X86_NO_ERR);
    if (inner) {
        uint32_t esp;
        sys_tss_stack(cpu, dpl, &new_ss, &esp);
        sys_check_ss(cpu, new_ss, dpl, X86_TS, &ssd);
        sys_stack_from_desc(&st, new_ss, &ssd, esp);
        words += 2 + (cpu->v86 ? 4 : 0);
    } else {
        sys_stack_from_ss(cpu, &st);
    }
    sys_stack_check_push(cpu, &st, words * (g32 ? 4 : 2), inner);
    sys_desc_set_accessed(cpu, &cd);

    /* Build the frame first: a fault here leaves every register as it was. */
    uint32_t fl = x86_get_eflags(cpu);
    /* Fault-class exceptions push RF = 1 so that the restarted instruction does not hit an
     * instruction breakpoint again (SDM Vol. 3 §17.3.1.1). */
    if (kind == EV_EXCEPTION && vector < 32 && ((1u << vector) & FAULT_VECTORS))
        fl |= EFL_RF;
    if (inner) {
        if (cpu->v86) {
            sys_stack_push(cpu, &st, cpu->s.seg[S_GS].sel, g32);
            sys_stack_push(cpu, &st, cpu->s.seg[S_FS].sel, g32);
            sys_stack_push(cpu, &st, cpu->s.seg[S_DS].sel, g32);
            sys_stack_push(cpu, &st, cpu->s.seg[S_ES].sel, g32);
        }
        sys_stack_push(cpu, &st, cpu->s.seg[S_SS].sel, g32);
        sys_stack_push(cpu, &st, cpu->s.gpr[R_ESP], g32);
    }
    sys_stack_push(cpu, &st, fl, g32);
    sys_stack_push(cpu, &st, cpu->s.seg[S_CS].sel, g32);
    sys_stack_push(cpu, &st, cpu->s.eip, g32);
    if (err != X86_NO_ERR)
        sys_stack_push(cpu, &st, err, g32);

    /* Commit. TF, NT, RF and VM clear; an interrupt gate also clears IF (§6.12.1.3). */
    bool was_v86 = cpu->v86;
    if (inner) {
        sys_seg_commit(cpu, S_SS, new_ss, &ssd);
        if (was_v86) {
            sys_seg_null(cpu, S_ES, 0);
            sys_seg_null(cpu, S_DS, 0);
            sys_seg_null(cpu, S_FS, 0);
            sys_seg_null(cpu, S_GS, 0);
        }
    }
    sys_stack_store_sp(cpu, &st);
    sys_seg_commit(cpu, S_CS, (uint16_t)((sel & 0xfffc) | new_cpl), &cd);
    cpu->s.eip = eip;
    uint32_t clear = EFL_TF | EFL_NT | EFL_RF | EFL_VM;
    if (!(type & 1))
        clear |= EFL_IF;
    x86_set_eflags(cpu, fl & ~clear);
    x86_update_mode(cpu);
}
