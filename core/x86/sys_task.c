/* Hardware task switch through TSS descriptors and task gates, 32-bit and 16-bit TSS
 * (SDM Vol. 3 §7.2-7.4, Table 7-1 for where each check's fault is reported). */
#include <setjmp.h>
#include <string.h>
#include "ringfold/trace.h"
#include "sys_priv.h"

/* Register image of a TSS (the dynamic fields, SDM Vol. 3 Figure 7-2 and 7-11). */
struct tss_image {
    uint32_t cr3, eip, eflags;
    uint32_t gpr[GPR_COUNT];
    uint16_t seg[SEG_COUNT];
    uint16_t ldt;
};

/* 32-bit TSS offsets. */
enum { T32_CR3 = 0x1c, T32_EIP = 0x20, T32_EFLAGS = 0x24, T32_GPR = 0x28, T32_SEG = 0x48, T32_LDT = 0x60 };
/* 16-bit TSS offsets. */
enum { T16_IP = 0x0e, T16_FLAGS = 0x10, T16_GPR = 0x12, T16_SEG = 0x22, T16_LDT = 0x2a };

static bool tss_is32(uint16_t attr)
{
    return (SEG_ATTR_TYPE(attr) & 8) != 0;
}

static void tss_read(struct x86_cpu *cpu, uint32_t base, bool t32, struct tss_image *t)
{
    if (t32) {
        t->cr3 = x86_sys_read32(cpu, base + T32_CR3);
        t->eip = x86_sys_read32(cpu, base + T32_EIP);
        t->eflags = x86_sys_read32(cpu, base + T32_EFLAGS);
        for (int i = 0; i < GPR_COUNT; i++)
            t->gpr[i] = x86_sys_read32(cpu, base + T32_GPR + 4u * i);
        for (int i = 0; i < SEG_COUNT; i++)
            t->seg[i] = x86_sys_read16(cpu, base + T32_SEG + 4u * i);
        t->ldt = x86_sys_read16(cpu, base + T32_LDT);
    } else {
        t->cr3 = cpu->s.cr3;
        t->eip = x86_sys_read16(cpu, base + T16_IP);
        /* A 16-bit TSS holds only FLAGS: the upper EFLAGS bits (VM among them) become zero. */
        t->eflags = x86_sys_read16(cpu, base + T16_FLAGS);
        for (int i = 0; i < GPR_COUNT; i++)
            t->gpr[i] = (cpu->s.gpr[i] & 0xffff0000u) | x86_sys_read16(cpu, base + T16_GPR + 2u * i);
        for (int i = 0; i < 4; i++)     /* ES, CS, SS, DS: same order as enum seg_index */
            t->seg[i] = x86_sys_read16(cpu, base + T16_SEG + 2u * i);
        t->seg[S_FS] = t->seg[S_GS] = 0;
        t->ldt = x86_sys_read16(cpu, base + T16_LDT);
    }
}

static void tss_save(struct x86_cpu *cpu, uint32_t base, bool t32, uint32_t eflags)
{
    const struct vcpu_state *s = &cpu->s;
    if (t32) {
        x86_sys_write32(cpu, base + T32_EIP, s->eip);
        x86_sys_write32(cpu, base + T32_EFLAGS, eflags);
        for (int i = 0; i < GPR_COUNT; i++)
            x86_sys_write32(cpu, base + T32_GPR + 4u * i, s->gpr[i]);
        for (int i = 0; i < SEG_COUNT; i++)
            x86_sys_write16(cpu, base + T32_SEG + 4u * i, s->seg[i].sel);
    } else {
        x86_sys_write16(cpu, base + T16_IP, (uint16_t)s->eip);
        x86_sys_write16(cpu, base + T16_FLAGS, (uint16_t)eflags);
        for (int i = 0; i < GPR_COUNT; i++)
            x86_sys_write16(cpu, base + T16_GPR + 2u * i, (uint16_t)s->gpr[i]);
        for (int i = 0; i < 4; i++)
            x86_sys_write16(cpu, base + T16_SEG + 2u * i, s->seg[i].sel);
    }
}

/* Sets or clears the busy bit (type bit 1) of the TSS descriptor for sel in the GDT. */
static void tss_set_busy(struct x86_cpu *cpu, uint16_t sel, bool busy)
{
    uint32_t a = cpu->s.gdtr.base + (sel & 0xfff8u) + 5;
    uint8_t b = x86_sys_read8(cpu, a);
    x86_sys_write8(cpu, a, busy ? (uint8_t)(b | 2) : (uint8_t)(b & ~2));
}

/* Loads the new task's LDTR and segment registers with full checks; faults here are reported in
 * the context of the new task (§7.3 step 12, Table 7-1). */
static void task_load_segments(struct x86_cpu *cpu, const struct tss_image *t)
{
    struct sys_desc d;
    if ((t->ldt & 0xfffc) == 0) {
        cpu->s.ldtr.attr = 0;
    } else {
        if ((t->ldt & 4) || !sys_desc_fetch(cpu, t->ldt, &d) || (d.attr & SEG_ATTR_S) ||
            SEG_ATTR_TYPE(d.attr) != SYS_LDT)
            sys_fault_sel(cpu, X86_TS, t->ldt);
        if (!desc_present(d.attr))
            sys_fault_sel(cpu, X86_TS, t->ldt);
        cpu->s.ldtr.base = d.base;
        cpu->s.ldtr.limit = d.limit;
        cpu->s.ldtr.attr = d.attr;
    }

    if (t->eflags & EFL_VM) {
        x86_update_mode(cpu);               /* v86 now: loads below use sel << 4 */
        for (int i = 0; i < SEG_COUNT; i++)
            sys_seg_real(cpu, i, t->seg[i]);
        x86_update_mode(cpu);
        return;
    }

    uint16_t cs = t->seg[S_CS];
    int cpl = cs & 3;
    if ((cs & 0xfffc) == 0 || !sys_desc_fetch(cpu, cs, &d) || !desc_is_code(d.attr))
        sys_fault_sel(cpu, X86_TS, cs);
    if (desc_conforming(d.attr) ? desc_dpl(d.attr) > cpl : desc_dpl(d.attr) != cpl)
        sys_fault_sel(cpu, X86_TS, cs);
    if (!desc_present(d.attr))
        sys_fault_sel(cpu, X86_NP, cs);
    sys_desc_set_accessed(cpu, &d);
    sys_seg_commit(cpu, S_CS, cs, &d);
    x86_update_mode(cpu);

    sys_check_ss(cpu, t->seg[S_SS], cpl, X86_TS, &d);
    sys_seg_commit(cpu, S_SS, t->seg[S_SS], &d);
    x86_update_mode(cpu);

    static const int data[] = { S_ES, S_DS, S_FS, S_GS };
    for (unsigned i = 0; i < 4; i++) {
        int s = data[i];
        if (sys_check_data(cpu, t->seg[s], cpl, X86_TS, &d))
            sys_seg_commit(cpu, s, t->seg[s], &d);
        else
            sys_seg_null(cpu, s, t->seg[s]);
    }
}

/* The part of a task switch after the commit point: segment loads, the error code push and the
 * EIP check. Their faults belong to the new task (§7.3, Table 7-1), so they are caught here and
 * delivered with the new task's CS:EIP rather than restarting the old instruction. */
static void task_finish(struct x86_cpu *cpu, const struct tss_image *t, bool new32, uint32_t err)
{
    jmp_buf outer;
    memcpy(outer, cpu->fault_jmp, sizeof(jmp_buf));
    if (setjmp(cpu->fault_jmp) == 0) {
        if (cpu->pae)
            sys_load_pdptes(cpu, cpu->s.cr3);
        task_load_segments(cpu, t);
        if (err != X86_NO_ERR) {
            struct sys_stack st;
            sys_stack_from_ss(cpu, &st);
            st.user = false;
            sys_stack_push(cpu, &st, err, new32);
            sys_stack_store_sp(cpu, &st);
        }
        if (cpu->s.eip > cpu->s.seg[S_CS].limit)
            x86_raise(cpu, X86_GP, cpu->ev_ext);
        memcpy(cpu->fault_jmp, outer, sizeof(jmp_buf));
        return;
    }
    memcpy(cpu->fault_jmp, outer, sizeof(jmp_buf));
    cpu->s.eip = t->eip;
    x86_update_mode(cpu);
    /* The event that caused the switch (if any) counts as delivered: this is a new fault. */
    cpu->delivering = -1;
    x86_handle_fault(cpu);
}

void sys_task_switch(struct x86_cpu *cpu, uint16_t tss_sel, struct sys_desc *d, enum sys_task_reason why,
                     uint32_t err)
{
    bool new32 = tss_is32(d->attr);
    if (!desc_present(d->attr))
        sys_fault_sel(cpu, X86_NP, tss_sel);
    if (d->limit < (new32 ? 0x67u : 0x2bu))
        sys_fault_sel(cpu, X86_TS, tss_sel);

    /* Everything that can fault in the old task: read the new TSS, then save the old one. */
    struct tss_image t;
    tss_read(cpu, d->base, new32, &t);
    uint16_t old_sel = cpu->s.tr.sel;
    bool old32 = tss_is32(cpu->s.tr.attr);
    uint32_t fl = x86_get_eflags(cpu);
    if (why == TASK_IRET)
        fl &= ~EFL_NT;      /* the task being left is no longer nested (§7.4) */
    tss_save(cpu, cpu->s.tr.base, old32, fl);
    if (why == TASK_CALL || why == TASK_INT) {
        x86_sys_write16(cpu, d->base, old_sel);          /* back link */
        t.eflags |= EFL_NT;
    }
    if (why == TASK_JMP || why == TASK_IRET)
        tss_set_busy(cpu, old_sel, false);
    if (why != TASK_IRET)
        tss_set_busy(cpu, tss_sel, true);

    /* Commit point: from here on faults are taken in the new task. */
    cpu->stats.task_switches++;
    if (TRACE_ON(TRACE_EXC | TRACE_INTR))
        trace_printf("task: switch %04x -> %04x (%s)\n", old_sel, tss_sel,
                     why == TASK_JMP ? "jmp" : why == TASK_CALL ? "call" : why == TASK_IRET ? "iret" : "int");
    cpu->s.tr.sel = tss_sel;
    cpu->s.tr.base = d->base;
    cpu->s.tr.limit = d->limit;
    cpu->s.tr.attr = (uint16_t)(d->attr | 2);
    cpu->s.cr0 |= CR0_TS;
    if (new32) {
        cpu->s.cr3 = t.cr3;
        if (cpu->s.cr0 & CR0_PG)
            x86_tlb_flush(cpu, false);
    }
    cpu->s.eip = t.eip;
    for (int i = 0; i < GPR_COUNT; i++)
        cpu->s.gpr[i] = t.gpr[i];
    x86_set_eflags(cpu, t.eflags | EFL_FIXED1);
    /* Selectors first, with unusable caches, so a fault below sees the new task's selectors. */
    for (int i = 0; i < SEG_COUNT; i++) {
        cpu->s.seg[i].sel = t.seg[i];
        if (i != S_CS && i != S_SS)
            cpu->s.seg[i].attr = 0;
    }
    cpu->s.ldtr.sel = t.ldt;
    task_finish(cpu, &t, new32, err);
}

void sys_task_via_gate(struct x86_cpu *cpu, uint16_t tss_sel, enum sys_task_reason why, uint32_t err)
{
    struct sys_desc d;
    if (tss_sel & 4)
        sys_fault_sel(cpu, X86_GP, tss_sel);
    sys_desc_load(cpu, tss_sel, &d, X86_GP);
    unsigned type = SEG_ATTR_TYPE(d.attr);
    if ((d.attr & SEG_ATTR_S) || (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL))
        sys_fault_sel(cpu, X86_GP, tss_sel);
    if (!desc_present(d.attr))
        sys_fault_sel(cpu, X86_NP, tss_sel);
    sys_task_switch(cpu, tss_sel, &d, why, err);
}
