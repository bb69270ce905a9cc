/* Unit tests for hardware task switches: CALL/IRET with back link, NT and busy bits, JMP to a
 * busy TSS, a task gate for #DF with its error code, and faults reported in the new task. */
#include "test_sys_harness.h"

TestSuite(sys_task, .init = tb_setup, .fini = tb_teardown);

#define TSS2 0x3100u

/* Second 32-bit TSS (selector 0x30) that starts at 0x08:0x7777 with its stack at 0x6000. */
static void make_task2(uint16_t cs)
{
    gdt_set(GDT, 6, TSS2, 0x67, 0x89, 0);
    pw32(TSS2 + 0x20, 0x7777);                      /* EIP */
    pw32(TSS2 + 0x24, EFL_FIXED1 | EFL_IF);         /* EFLAGS */
    pw32(TSS2 + 0x28, 0xaaaa);                      /* EAX */
    pw32(TSS2 + 0x38, 0x6000);                      /* ESP */
    pw32(TSS2 + 0x48, 0x10);                        /* ES */
    pw32(TSS2 + 0x4c, cs);                          /* CS */
    pw32(TSS2 + 0x50, 0x10);                        /* SS */
    pw32(TSS2 + 0x54, 0x10);                        /* DS */
    pw32(TSS2 + 0x58, 0);                           /* FS */
    pw32(TSS2 + 0x5c, 0);                           /* GS */
    pw32(TSS2 + 0x60, 0);                           /* LDT */
}

static unsigned tss_type(unsigned idx)
{
    return (pr32(GDT + idx * 8 + 4) >> 8) & 0xf;
}

Test(sys_task, call_and_iret_nested_task)
{
    tb_flat_pm();
    make_task2(0x08);
    cpu->s.gpr[R_EAX] = 0x1234;
    cpu->s.eip = 0x500;
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x30, 0, true)), -1);
    cr_assert_eq(cpu->s.tr.sel, 0x30);
    cr_assert_eq(cpu->s.eip, 0x7777u);
    cr_assert_eq(cpu->s.gpr[R_EAX], 0xaaaau);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x6000u);
    cr_assert(cpu->s.eflags & EFL_NT, "CALL nests the task");
    cr_assert(cpu->s.cr0 & CR0_TS);
    cr_assert_eq(pr16(TSS2), 0x28u, "back link");
    cr_assert_eq(pr32(TSS + 0x20), 0x500u, "old EIP saved");
    cr_assert_eq(pr32(TSS + 0x28), 0x1234u, "old EAX saved");
    cr_assert_eq(tss_type(5), 0xbu, "old task stays busy");
    cr_assert_eq(tss_type(6), 0xbu, "new task busy");
    cr_assert_eq(cpu->stats.task_switches, 1u);

    cpu->s.gpr[R_EAX] = 0xbbbb;
    cpu->s.eip = 0x7800;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert_eq(cpu->s.tr.sel, 0x28);
    cr_assert_eq(cpu->s.eip, 0x500u);
    cr_assert_eq(cpu->s.gpr[R_EAX], 0x1234u);
    cr_assert_eq(tss_type(6), 0x9u, "IRET frees the nested task");
    cr_assert_eq(tss_type(5), 0xbu);
    cr_assert_eq(pr32(TSS2 + 0x24) & EFL_NT, 0u, "saved EFLAGS of the left task has NT clear");
    cr_assert_eq(pr32(TSS2 + 0x20), 0x7800u);
}

Test(sys_task, jmp_frees_old_task_and_refuses_busy_target)
{
    tb_flat_pm();
    make_task2(0x08);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x30, 0, true)), -1);
    cr_assert_eq(tss_type(5), 0x9u);
    cr_assert_eq(tss_type(6), 0xbu);
    cr_assert_eq(cpu->s.eflags & EFL_NT, 0u);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x30, 0, true)), X86_GP, "target busy");
    cr_assert_eq(cpu->exc_err, 0x30u);
}

Test(sys_task, double_fault_through_task_gate_pushes_error_code)
{
    tb_flat_pm();
    make_task2(0x08);
    gate_set(IDT, X86_DF, 0x30, 0, 0x85, 0);        /* task gate */
    cpu->s.idtr.limit = X86_DF * 8 + 7;             /* #GP's gate is outside the IDT */
    volatile int rounds = 0;
    cpu->exc_vector = X86_GP;
    cpu->exc_err = 0;
    setjmp(cpu->fault_jmp);
    if (++rounds < 5)
        x86_handle_fault(cpu);
    cr_assert_eq(rounds, 2, "#GP; #GP on its gate escalates to #DF, delivered");
    cr_assert_eq(cpu->s.tr.sel, 0x30);
    cr_assert_eq(cpu->s.eip, 0x7777u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x6000u - 4);
    cr_assert_eq(pr32(0x6000 - 4), 0u, "#DF error code on the new task's stack");
    cr_assert(cpu->s.eflags & EFL_NT);
    cr_assert_eq(tb_vm.stop, 0);
}

Test(sys_task, bad_code_segment_faults_in_new_task)
{
    tb_flat_pm();
    make_task2(0x10);                                /* CS names a data segment */
    gate_set(IDT, X86_TS, 0x08, 0x9999, 0x8e, 0);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x30, 0, true)), -1, "delivered, not raised to the caller");
    cr_assert_eq(cpu->s.tr.sel, 0x30, "the switch committed first");
    cr_assert_eq(cpu->s.eip, 0x9999u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x6000u - 16, "on the new task's stack");
    cr_assert_eq(pr32(0x6000 - 16), 0x10u, "#TS(new CS)");
    cr_assert_eq(pr32(0x6000 - 12), 0x7777u, "EIP of the new task");
    cr_assert_eq(pr32(0x6000 - 8), 0x10u, "CS selector of the new task");
    cr_assert_eq(cpu->delivering, -1);
}

Test(sys_task, tss_too_small_is_ts_before_any_change)
{
    tb_flat_pm();
    make_task2(0x08);
    gdt_set(GDT, 6, TSS2, 0x50, 0x89, 0);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x30, 0, true)), X86_TS);
    cr_assert_eq(cpu->exc_err, 0x30u);
    cr_assert_eq(cpu->s.tr.sel, 0x28);
}

Test(sys_task, switch_into_v86_task)
{
    tb_flat_pm();
    make_task2(0x08);
    pw32(TSS2 + 0x24, EFL_FIXED1 | EFL_VM);         /* the new task runs in virtual-8086 mode */
    pw32(TSS2 + 0x20, 0x0100);
    pw32(TSS2 + 0x4c, 0x2000);                      /* CS: a paragraph number, not a selector */
    pw32(TSS2 + 0x50, 0x3000);
    pw32(TSS2 + 0x54, 0x4000);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x30, 0, true)), -1);
    cr_assert(cpu->v86);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.seg[S_CS].base, 0x20000u);
    cr_assert_eq(cpu->s.seg[S_SS].base, 0x30000u);
    cr_assert_eq(cpu->s.seg[S_DS].base, 0x40000u);
    cr_assert_eq(cpu->s.seg[S_DS].limit, 0xffffu);
    cr_assert_eq(cpu->s.eip, 0x100u);
}

Test(sys_task, call_16bit_tss)
{
    tb_flat_pm();
    uint32_t t16 = 0x3200;
    gdt_set(GDT, 7, t16, 0x2b, 0x81, 0);            /* available 16-bit TSS */
    pw32(t16 + 0x0e, 0x0222);                       /* IP */
    pw32(t16 + 0x10, EFL_FIXED1);                   /* FLAGS */
    pw32(t16 + 0x12, 0x5555);                       /* AX */
    pw32(t16 + 0x1a, 0x6000);                       /* SP */
    pw32(t16 + 0x22, 0x10);                         /* ES */
    pw32(t16 + 0x24, 0x08);                         /* CS */
    pw32(t16 + 0x26, 0x10);                         /* SS */
    pw32(t16 + 0x28, 0x10);                         /* DS */
    pw32(t16 + 0x2a, 0);                            /* LDT */
    cpu->s.gpr[R_EAX] = 0xabcd0000u;
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x38, 0, true)), -1);
    cr_assert_eq(cpu->s.tr.sel, 0x38);
    cr_assert_eq(cpu->s.eip, 0x222u);
    cr_assert_eq(cpu->s.gpr[R_EAX], 0xabcd5555u, "a 16-bit TSS loads only AX");
    cr_assert_eq(pr16(t16), 0x28u, "back link");
    cr_assert(cpu->s.eflags & EFL_NT);
    cr_assert_eq(tss_type(7), 0x3u, "16-bit TSS busy");
}
