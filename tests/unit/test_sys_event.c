/* Unit tests for event delivery: stack frames for same and inner privilege, gate types and
 * checks with their error codes, IRET back, #DF escalation and triple fault, real mode, v86. */
#include "test_sys_harness.h"

TestSuite(sys_event, .init = tb_setup, .fini = tb_teardown);

#define INTGATE32 0x8e
#define TRAPGATE32 0x8f
#define DPL3 0x60

/* Plays the instruction loop: raises vector, then delivers it through x86_handle_fault,
 * re-entering it whenever delivery itself faults. Returns how many faults were handled. */
static int run_fault(int vector, uint32_t err)
{
    volatile int rounds = 0;
    volatile bool raised = false;
    setjmp(cpu->fault_jmp);
    if (!raised) {
        raised = true;
        x86_raise(cpu, vector, err);
    }
    if (++rounds > 5 || tb_vm.stop)
        return rounds - 1;
    x86_handle_fault(cpu);
    return rounds;
}

/* Enters ring 3 with an IRET from ring 0: CS 0x1b, SS 0x23, ESP 0x7000, EIP 0x4000. */
static void enter_ring3(uint32_t eflags)
{
    uint32_t sp = cpu->s.gpr[R_ESP] - 20;
    pw32(sp, 0x4000);
    pw32(sp + 4, 0x1b);
    pw32(sp + 8, eflags);
    pw32(sp + 12, 0x7000);
    pw32(sp + 16, 0x23);
    cpu->s.gpr[R_ESP] = sp;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert_eq(cpu->cpl, 3);
}

Test(sys_event, same_privilege_interrupt_gate_frame)
{
    tb_flat_pm();
    gate_set(IDT, 0x20, 0x08, 0x00123456, INTGATE32, 0);
    cpu->s.eflags = EFL_FIXED1 | EFL_IF | EFL_TF | EFL_CF;
    cpu->s.eip = 0x1111;
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x20, EV_EXT_INT, X86_NO_ERR)), -1);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x8000u - 12);
    cr_assert_eq(pr32(0x8000 - 12), 0x1111u);
    cr_assert_eq(pr32(0x8000 - 8), 0x08u);
    cr_assert_eq(pr32(0x8000 - 4), EFL_FIXED1 | EFL_IF | EFL_TF | EFL_CF);
    cr_assert_eq(cpu->s.eip, 0x00123456u);
    cr_assert_eq(cpu->s.eflags & (EFL_IF | EFL_TF), 0u, "interrupt gate clears IF and TF");
    cr_assert(cpu->s.eflags & EFL_CF);
    cr_assert_eq(cpu->delivering, -1);
}

Test(sys_event, trap_gate_keeps_if_and_pushes_error_code)
{
    tb_flat_pm();
    gate_set(IDT, X86_GP, 0x08, 0x2000, TRAPGATE32, 0);
    cpu->s.eflags = EFL_FIXED1 | EFL_IF;
    cpu->s.eip = 0x1234;
    cr_assert_eq(run_fault(X86_GP, 0x28), 1);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x8000u - 16);
    cr_assert_eq(pr32(0x8000 - 16), 0x28u, "error code on top");
    cr_assert_eq(pr32(0x8000 - 12), 0x1234u);
    cr_assert_eq(pr32(0x8000 - 4), EFL_FIXED1 | EFL_IF | EFL_RF, "a fault pushes RF = 1");
    cr_assert(cpu->s.eflags & EFL_IF);
    cr_assert_eq(cpu->s.eflags & EFL_RF, 0u);
    cr_assert_eq(cpu->stats.exceptions[X86_GP], 1u);
}

Test(sys_event, inner_privilege_switches_to_tss_stack_and_iret_returns)
{
    tb_flat_pm();
    gate_set(IDT, 0x80, 0x08, 0x3000, INTGATE32 | DPL3, 0);
    enter_ring3(EFL_FIXED1 | EFL_IF);
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x23);
    cpu->s.eip = 0x4002;
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x80, EV_SOFT_INT, X86_NO_ERR)), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x10);
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0x08);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x9000u - 20);
    cr_assert_eq(pr32(0x9000 - 4), 0x23u);
    cr_assert_eq(pr32(0x9000 - 8), 0x7000u);
    cr_assert_eq(pr32(0x9000 - 12), EFL_FIXED1 | EFL_IF);
    cr_assert_eq(pr32(0x9000 - 16), 0x1bu);
    cr_assert_eq(pr32(0x9000 - 20), 0x4002u);
    /* IRET back to ring 3 restores SS:ESP; data segments with DPL < 3 become null. */
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0x10)), -1);
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x7000u);
    cr_assert_eq(cpu->s.eip, 0x4002u);
    cr_assert(cpu->s.eflags & EFL_IF);
    cr_assert_eq(cpu->s.seg[S_DS].attr & SEG_ATTR_P, 0, "DS nulled on return to ring 3");
}

Test(sys_event, iret_at_cpl3_cannot_change_iopl_or_if)
{
    tb_flat_pm();
    enter_ring3(EFL_FIXED1);        /* IOPL 0, IF 0 */
    uint32_t sp = 0x7000 - 12;
    pw32(sp, 0x4100);
    pw32(sp + 4, 0x1b);
    pw32(sp + 8, EFL_FIXED1 | EFL_IOPL | EFL_IF | EFL_CF);
    cpu->s.gpr[R_ESP] = sp;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert_eq(cpu->s.eflags & (EFL_IOPL | EFL_IF), 0u);
    cr_assert(cpu->s.eflags & EFL_CF);
    cr_assert_eq(cpu->s.eip, 0x4100u);
}

Test(sys_event, soft_int_gate_dpl_and_presence_checks)
{
    tb_flat_pm();
    gate_set(IDT, 0x30, 0x08, 0x3000, INTGATE32, 0);            /* DPL 0 */
    gate_set(IDT, 0x31, 0x08, 0x3000, INTGATE32 & 0x7f, 0);     /* not present */
    enter_ring3(EFL_FIXED1);
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x30, EV_SOFT_INT, X86_NO_ERR)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0x30u * 8 + 2);
    cr_assert_eq(cpu->cpl, 3, "nothing changed");
    /* Hardware interrupts ignore the gate DPL but report EXT in error codes. */
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x31, EV_EXT_INT, X86_NO_ERR)), X86_NP);
    cr_assert_eq(cpu->exc_err, 0x31u * 8 + 3);
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x31, EV_SOFT_INT, X86_NO_ERR)), X86_GP);
    cpu->s.idtr.limit = 0x1ff;
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x40, EV_EXT_INT, X86_NO_ERR)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0x40u * 8 + 3);
}

Test(sys_event, stack_fault_during_switch_leaves_state_untouched)
{
    tb_flat_pm();
    gdt_set(GDT, 6, 0, 0x10, 0x92, 0x4);      /* ring 0 stack segment, limit 16 bytes */
    pw32(TSS + 4, 0x8);
    pw32(TSS + 8, 0x30);
    gate_set(IDT, 0x20, 0x08, 0x3000, INTGATE32, 0);
    enter_ring3(EFL_FIXED1 | EFL_IF);
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x20, EV_EXT_INT, X86_NO_ERR)), X86_SS);
    cr_assert_eq(cpu->exc_err, 0x31u, "#SS(new SS) with EXT");
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0x1b);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x7000u);
}

Test(sys_event, contributory_pair_becomes_double_fault)
{
    tb_flat_pm();
    gate_set(IDT, X86_NP, 0x08, 0x3000, INTGATE32 & 0x7f, 0);  /* #NP handler missing */
    gate_set(IDT, X86_DF, 0x08, 0x5000, INTGATE32, 0);
    cpu->s.eip = 0x1234;
    /* #NP during delivery of #NP -> #DF with error code 0. */
    cr_assert_eq(run_fault(X86_NP, 0x18), 2);
    cr_assert_eq(cpu->s.eip, 0x5000u);
    cr_assert_eq(pr32(0x8000 - 16), 0u);
    cr_assert_eq(pr32(0x8000 - 12), 0x1234u);
    cr_assert_eq(cpu->stats.exceptions[X86_DF], 1u);
    cr_assert_eq(tb_vm.stop, 0);
}

Test(sys_event, benign_then_fault_is_delivered_serially)
{
    tb_flat_pm();
    gate_set(IDT, X86_UD, 0x08, 0x3000, INTGATE32 & 0x7f, 0);  /* #UD gate missing */
    gate_set(IDT, X86_NP, 0x08, 0x6000, INTGATE32, 0);
    cr_assert_eq(run_fault(X86_UD, X86_NO_ERR), 2);
    cr_assert_eq(cpu->s.eip, 0x6000u, "#NP handler, not #DF");
    cr_assert_eq(pr32(0x8000 - 16), X86_UD * 8u + 3, "#NP error: IDT | EXT");
}

Test(sys_event, fault_during_double_fault_is_triple_fault)
{
    tb_flat_pm();
    cpu->s.idtr.limit = 0;              /* every gate is outside the IDT */
    cr_assert_eq(run_fault(X86_GP, 0), 3);
    cr_assert_eq(tb_vm.stop, VM_STOP_TRIPLE_FAULT);
    cr_assert(strstr(tb_vm.stop_msg, "triple fault") != NULL, "%s", tb_vm.stop_msg);
    cr_assert(strstr(tb_vm.stop_msg, "#GP -> #GP -> #DF") != NULL, "%s", tb_vm.stop_msg);
    cr_assert_eq(cpu->delivering, -1);
}

Test(sys_event, real_mode_ivt_frame)
{
    pw32(8 * 4, 0x12345678);                    /* vector 8 -> 1234:5678 */
    cpu->s.seg[S_SS].base = 0;
    cpu->s.seg[S_SS].sel = 0;
    cpu->s.gpr[R_ESP] = 0x1000;
    cpu->s.eflags = EFL_FIXED1 | EFL_IF | EFL_ZF;
    cpu->s.eip = 0xfff0;
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 8, EV_EXT_INT, X86_NO_ERR)), -1);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x1000u - 6);
    cr_assert_eq(pr16(0x1000 - 2), EFL_FIXED1 | EFL_IF | EFL_ZF);
    cr_assert_eq(pr16(0x1000 - 4), 0xf000u);
    cr_assert_eq(pr16(0x1000 - 6), 0xfff0u);
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0x1234);
    cr_assert_eq(cpu->s.seg[S_CS].base, 0x12340u);
    cr_assert_eq(cpu->s.eip, 0x5678u);
    cr_assert_eq(cpu->s.eflags & EFL_IF, 0u);
    cr_assert_eq(TB_FAULT(x86_iret(cpu, false)), -1);
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0xf000);
    cr_assert_eq(cpu->s.eip, 0xfff0u);
    cr_assert(cpu->s.eflags & EFL_IF);
}

Test(sys_event, v86_round_trip_through_ring0)
{
    tb_flat_pm();
    gate_set(IDT, 0x20, 0x08, 0x3000, INTGATE32, 0);
    /* IRET to v86: EIP, CS, EFLAGS(VM), ESP, SS, ES, DS, FS, GS. */
    uint32_t sp = 0x8000 - 36;
    uint32_t frame[9] = { 0x100, 0x2000, EFL_FIXED1 | EFL_VM | EFL_IF, 0xffe, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000 };
    for (int i = 0; i < 9; i++)
        pw32(sp + 4 * i, frame[i]);
    cpu->s.gpr[R_ESP] = sp;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert(cpu->v86);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.seg[S_CS].base, 0x20000u);
    cr_assert_eq(cpu->s.seg[S_GS].base, 0x70000u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0xffeu);
    /* INT n with IOPL 0 and no VME is #GP(0). */
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x20, EV_SOFT_INT, X86_NO_ERR)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0u);
    /* A hardware interrupt leaves v86 for ring 0 and saves the data segments. */
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x20, EV_EXT_INT, X86_NO_ERR)), -1);
    cr_assert(!cpu->v86);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x9000u - 36);
    for (int i = 0; i < 9; i++) {
        uint32_t want = frame[i];
        if (i == 2)
            want = EFL_FIXED1 | EFL_VM | EFL_IF;
        cr_assert_eq(pr32(0x9000 - 36 + 4 * i), want, "frame word %d", i);
    }
    cr_assert_eq(cpu->s.seg[S_DS].sel, 0);
    cr_assert_eq(cpu->s.seg[S_DS].attr & SEG_ATTR_P, 0);
    cr_assert_eq(cpu->s.eflags & EFL_VM, 0u);
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert(cpu->v86);
    cr_assert_eq(cpu->s.seg[S_DS].base, 0x50000u);
}

Test(sys_event, v86_vme_redirects_int_to_the_v86_ivt)
{
    tb_flat_pm();
    cpu->s.cr4 |= CR4_VME;
    /* TSS with an I/O map base 0x88: the redirection bitmap at 0x68..0x87 is all zero. */
    gdt_set(GDT, 5, TSS, 0x100, 0x8b, 0);
    cpu->s.tr.limit = 0x100;
    pw32(TSS + 0x64, 0x88u << 16);
    pw32(0x21 * 4, 0x00400010);                 /* v86 IVT entry 0x21 -> 0040:0010 */
    uint32_t sp = 0x8000 - 36;
    uint32_t frame[9] = { 0x100, 0x2000, EFL_FIXED1 | EFL_VM | EFL_IF, 0xffe, 0x3000, 0, 0, 0, 0 };
    for (int i = 0; i < 9; i++)
        pw32(sp + 4 * i, frame[i]);
    cpu->s.gpr[R_ESP] = sp;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cpu->s.eflags |= EFL_VIF;
    cpu->s.eip = 0x102;
    cr_assert_eq(TB_FAULT(x86_deliver_event(cpu, 0x21, EV_SOFT_INT, X86_NO_ERR)), -1);
    cr_assert(cpu->v86);
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0x0040);
    cr_assert_eq(cpu->s.eip, 0x10u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0xffeu - 6);
    uint16_t fl = pr16(0x30000 + 0xffe - 2);
    cr_assert(fl & EFL_IF, "pushed IF shows VIF");
    cr_assert_eq(fl & EFL_IOPL, EFL_IOPL, "pushed IOPL reads 3");
    cr_assert_eq(cpu->s.eflags & EFL_VIF, 0u);
    cr_assert(cpu->s.eflags & EFL_IF, "real IF untouched");
}
