/* Far JMP, CALL and RET: code segments, call gates with parameter copy and stack switch, task
 * gates and TSS descriptors (SDM Vol. 3 §5.8, §7.3; Vol. 2 JMP, CALL, RET pseudo-code). */
#include "sys_priv.h"

/* Real-address and virtual-8086 far transfer: CS base is sel << 4. */
static void far_real(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{
    if (!o32)
        off &= 0xffff;
    cpu->s.eip = off;
    sys_seg_real(cpu, S_CS, sel);
    x86_update_mode(cpu);
}

/* Real-address and v86 transfers keep the CS limit: a target beyond it is #GP(0). */
static void real_check_target(struct x86_cpu *cpu, uint32_t off, bool o32)
{
    if ((o32 ? off : (off & 0xffff)) > cpu->s.seg[S_CS].limit)
        x86_raise(cpu, X86_GP, 0);
}

/* Direct transfer to a code segment at the current privilege (§5.8.1). */
static void check_direct_code(struct x86_cpu *cpu, uint16_t sel, const struct sys_desc *d)
{
    int dpl = desc_dpl(d->attr);
    if (desc_conforming(d->attr) ? dpl > cpu->cpl : ((sel & 3) > cpu->cpl || dpl != cpu->cpl))
        sys_fault_sel(cpu, X86_GP, sel);
    if (!desc_present(d->attr))
        sys_fault_sel(cpu, X86_NP, sel);
}

static void enter_code(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, uint32_t eip, int cpl)
{
    sys_desc_set_accessed(cpu, d);
    sys_seg_commit(cpu, S_CS, (uint16_t)((sel & 0xfffc) | cpl), d);
    cpu->s.eip = eip;
    x86_update_mode(cpu);
}

/* Gate and TSS descriptors need DPL >= CPL and DPL >= RPL, and P (§5.8.4, §7.2.5). */
static void check_sys_desc(struct x86_cpu *cpu, uint16_t sel, const struct sys_desc *d)
{
    int dpl = desc_dpl(d->attr);
    if (dpl < cpu->cpl || dpl < (sel & 3))
        sys_fault_sel(cpu, X86_GP, sel);
    if (!desc_present(d->attr))
        sys_fault_sel(cpu, X86_NP, sel);
}

/* The target code segment of a call gate; returns its descriptor in cd. */
static void gate_target(struct x86_cpu *cpu, const struct sys_desc *g, struct sys_desc *cd, bool call)
{
    uint16_t tsel = gate_sel(g);
    if ((tsel & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    sys_desc_load(cpu, tsel, cd, X86_GP);
    if (!desc_is_code(cd->attr))
        sys_fault_sel(cpu, X86_GP, tsel);
    int dpl = desc_dpl(cd->attr);
    /* CALL may go inward to a non-conforming segment; JMP may not change privilege. */
    if (dpl > cpu->cpl || (!call && !desc_conforming(cd->attr) && dpl != cpu->cpl))
        sys_fault_sel(cpu, X86_GP, tsel);
    if (!desc_present(cd->attr))
        sys_fault_sel(cpu, X86_NP, tsel);
}

/* Far JMP/CALL through a call gate, task gate or TSS descriptor. */
static void far_system(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, bool call);

/* The protected-mode start JMP and CALL share (SDM Vol. 2 JMP/CALL pseudo-code, up to the
 * descriptor type): a null selector is #GP(0); a gate or TSS completes the transfer in
 * far_system and gives false; a code segment that passes the direct-transfer checks gives
 * true with its descriptor in d. */
static bool far_target(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, bool call)
{
    if ((sel & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    sys_desc_load(cpu, sel, d, X86_GP);
    if (!desc_is_code(d->attr)) {
        far_system(cpu, sel, d, call);
        return false;
    }
    check_direct_code(cpu, sel, d);
    return true;
}

/* Same-privilege JMP, direct or through a call gate: the offset must lie within the limit. */
static void jmp_same(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *cd, uint32_t eip)
{
    if (eip > cd->limit)
        x86_raise(cpu, X86_GP, 0);
    enter_code(cpu, sel, cd, eip, cpu->cpl);
}

void x86_far_jmp(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{
    if (!cpu->pe || cpu->v86) {
        real_check_target(cpu, off, o32);
        far_real(cpu, sel, off, o32);
        return;
    }
    struct sys_desc d;
    if (far_target(cpu, sel, &d, false))
        jmp_same(cpu, sel, &d, o32 ? off : (off & 0xffff));
}

/* Same-privilege CALL: pushes CS:EIP on the current stack, then enters the target. */
static void call_same(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *cd, uint32_t eip, bool o32)
{
    if (eip > cd->limit)
        x86_raise(cpu, X86_GP, 0);
    struct sys_stack st;
    sys_stack_from_ss(cpu, &st);
    sys_stack_check_push(cpu, &st, o32 ? 8 : 4, false);
    sys_stack_push(cpu, &st, cpu->s.seg[S_CS].sel, o32);
    sys_stack_push(cpu, &st, cpu->s.eip, o32);
    sys_stack_store_sp(cpu, &st);
    enter_code(cpu, sel, cd, eip, cpu->cpl);
}

/* CALL through a gate to a more privileged non-conforming segment: new stack from the TSS,
 * old SS:ESP and the gate's parameter count of words/dwords copied across (§5.8.5). */
static void call_inner(struct x86_cpu *cpu, const struct sys_desc *g, struct sys_desc *cd)
{
    bool g32 = SEG_ATTR_TYPE(g->attr) == SYS_CALLGATE32;
    unsigned size = g32 ? 4 : 2, count = g->hi & 0x1f;
    int dpl = desc_dpl(cd->attr);
    uint32_t eip = gate_off(g);
    if (!g32)
        eip &= 0xffff;

    uint16_t ss;
    uint32_t esp;
    struct sys_desc ssd;
    sys_tss_stack(cpu, dpl, &ss, &esp);
    sys_check_ss(cpu, ss, dpl, X86_TS, &ssd);
    struct sys_stack nst;
    sys_stack_from_desc(&nst, ss, &ssd, esp);
    sys_stack_check_push(cpu, &nst, (4 + count) * size, true);
    if (eip > cd->limit)
        x86_raise(cpu, X86_GP, 0);

    uint32_t params[32];
    struct sys_stack ost;
    sys_stack_from_ss(cpu, &ost);
    for (unsigned i = 0; i < count; i++)
        params[i] = sys_stack_pop(cpu, &ost, g32);

    sys_stack_push(cpu, &nst, cpu->s.seg[S_SS].sel, g32);
    sys_stack_push(cpu, &nst, cpu->s.gpr[R_ESP], g32);
    for (unsigned i = count; i-- > 0;)
        sys_stack_push(cpu, &nst, params[i], g32);
    sys_stack_push(cpu, &nst, cpu->s.seg[S_CS].sel, g32);
    sys_stack_push(cpu, &nst, cpu->s.eip, g32);

    sys_seg_commit(cpu, S_SS, ss, &ssd);
    sys_stack_store_sp(cpu, &nst);
    enter_code(cpu, gate_sel(g), cd, eip, dpl);
}

static void far_system(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, bool call)
{
    if (d->attr & SEG_ATTR_S)       /* a data segment */
        sys_fault_sel(cpu, X86_GP, sel);
    switch (SEG_ATTR_TYPE(d->attr)) {
    case SYS_CALLGATE16:
    case SYS_CALLGATE32: {
        check_sys_desc(cpu, sel, d);
        struct sys_desc cd;
        gate_target(cpu, d, &cd, call);
        uint32_t eip = gate_off(d);
        if (SEG_ATTR_TYPE(d->attr) == SYS_CALLGATE16)
            eip &= 0xffff;
        if (call && !desc_conforming(cd.attr) && desc_dpl(cd.attr) < cpu->cpl) {
            call_inner(cpu, d, &cd);
        } else if (call) {
            call_same(cpu, gate_sel(d), &cd, eip, SEG_ATTR_TYPE(d->attr) == SYS_CALLGATE32);
        } else {
            jmp_same(cpu, gate_sel(d), &cd, eip);
        }
        return;
    }
    case SYS_TASKGATE:
        check_sys_desc(cpu, sel, d);
        sys_task_via_gate(cpu, gate_sel(d), call ? TASK_CALL : TASK_JMP, X86_NO_ERR);
        return;
    case SYS_TSS16_AVAIL:
    case SYS_TSS32_AVAIL:
        check_sys_desc(cpu, sel, d);
        sys_task_switch(cpu, sel, d, call ? TASK_CALL : TASK_JMP, X86_NO_ERR);
        return;
    default:
        sys_fault_sel(cpu, X86_GP, sel);
    }
}

void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{
    if (!cpu->pe || cpu->v86) {
        real_check_target(cpu, off, o32);
        struct sys_stack st;
        sys_stack_from_ss(cpu, &st);
        sys_stack_check_push(cpu, &st, o32 ? 8 : 4, false);
        sys_stack_push(cpu, &st, cpu->s.seg[S_CS].sel, o32);
        sys_stack_push(cpu, &st, cpu->s.eip, o32);
        sys_stack_store_sp(cpu, &st);
        far_real(cpu, sel, off, o32);
        return;
    }
    struct sys_desc d;
    if (far_target(cpu, sel, &d, true))
        call_same(cpu, sel, &d, o32 ? off : (off & 0xffff), o32);
}

void x86_far_ret(struct x86_cpu *cpu, uint16_t pop_bytes, bool o32)
{
    struct sys_stack st;
    sys_stack_from_ss(cpu, &st);
    uint32_t eip = sys_stack_pop(cpu, &st, o32);
    uint16_t cs = (uint16_t)sys_stack_pop(cpu, &st, o32);
    if (!o32)
        eip &= 0xffff;
    if (!cpu->pe || cpu->v86) {
        sys_stack_skip(&st, pop_bytes);
        sys_stack_store_sp(cpu, &st);
        far_real(cpu, cs, eip, o32);
        return;
    }
    struct sys_desc cd;
    sys_return_cs_check(cpu, cs, eip, &cd);
    int rpl = cs & 3;
    sys_stack_skip(&st, pop_bytes);

    if (rpl == cpu->cpl) {
        sys_stack_store_sp(cpu, &st);
        enter_code(cpu, cs, &cd, eip, rpl);
        return;
    }
    /* Return to an outer level: the caller's SS:ESP follow the parameters. */
    uint32_t esp = sys_stack_pop(cpu, &st, o32);
    uint16_t ss = (uint16_t)sys_stack_pop(cpu, &st, o32);
    struct sys_desc ssd;
    sys_check_ss(cpu, ss, rpl, X86_GP, &ssd);
    sys_seg_commit(cpu, S_SS, ss, &ssd);
    struct sys_stack nst;
    sys_stack_from_desc(&nst, ss, &ssd, o32 ? esp : ((cpu->s.gpr[R_ESP] & 0xffff0000u) | (esp & 0xffff)));
    sys_stack_skip(&nst, pop_bytes);
    sys_stack_store_sp(cpu, &nst);
    enter_code(cpu, cs, &cd, eip, rpl);
    sys_null_inaccessible(cpu);
}
