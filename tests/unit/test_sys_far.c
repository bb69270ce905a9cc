/* Unit tests for far CALL/JMP/RET (call gates with parameters, privilege checks), SYSENTER/SYSEXIT,
 * MSRs, CPUID and the I/O permission bitmap. */
#include "test_sys_harness.h"
#include "x86/sys_debug.h"

TestSuite(sys_far, .init = tb_setup, .fini = tb_teardown);

/* Ring 3 with SS 0x23, ESP 0x7000, reached by IRET. */
static void to_ring3(uint32_t eflags)
{
    uint32_t sp = cpu->s.gpr[R_ESP] - 20;
    uint32_t f[5] = { 0x4000, 0x1b, eflags, 0x7000, 0x23 };
    for (int i = 0; i < 5; i++)
        pw32(sp + 4 * i, f[i]);
    cpu->s.gpr[R_ESP] = sp;
    cr_assert_eq(TB_FAULT(x86_iret(cpu, true)), -1);
    cr_assert_eq(cpu->cpl, 3);
}

Test(sys_far, call_gate_inner_with_parameters_and_ret_back)
{
    tb_flat_pm();
    gate_set(GDT, 6, 0x08, 0x5000, 0xec, 2);        /* 32-bit call gate, DPL 3, 2 dwords */
    to_ring3(EFL_FIXED1);
    pw32(0x7000 - 8, 0x11111111);                   /* param 0 at ESP */
    pw32(0x7000 - 4, 0x22222222);
    cpu->s.gpr[R_ESP] = 0x7000 - 8;
    cpu->s.eip = 0x4010;
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x33, 0xdeadbeef, true)), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->s.eip, 0x5000u, "offset comes from the gate");
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x10);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x9000u - 24);
    cr_assert_eq(pr32(0x9000 - 4), 0x23u);
    cr_assert_eq(pr32(0x9000 - 8), 0x7000u - 8);
    cr_assert_eq(pr32(0x9000 - 12), 0x22222222u);
    cr_assert_eq(pr32(0x9000 - 16), 0x11111111u);
    cr_assert_eq(pr32(0x9000 - 20), 0x1bu);
    cr_assert_eq(pr32(0x9000 - 24), 0x4010u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_ES, 0x10)), -1);
    cr_assert_eq(TB_FAULT(x86_far_ret(cpu, 8, true)), -1);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.eip, 0x4010u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x7000u, "RET 8 released the parameters");
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x23);
    cr_assert_eq(cpu->s.seg[S_ES].attr & SEG_ATTR_P, 0, "ES nulled");
}

Test(sys_far, privilege_rules_for_direct_and_gate_transfers)
{
    tb_flat_pm();
    gate_set(GDT, 6, 0x08, 0x5000, 0xec, 0);        /* DPL 3 gate to ring 0 */
    gate_set(GDT, 7, 0x08, 0x5000, 0x8c, 0);        /* DPL 0 gate */
    to_ring3(EFL_FIXED1);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x08, 0x100, true)), X86_GP, "direct JMP to ring 0");
    cr_assert_eq(cpu->exc_err, 0x08u);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x33, 0, true)), X86_GP, "JMP through a gate cannot go inward");
    cr_assert_eq(cpu->exc_err, 0x08u);
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x3b, 0, true)), X86_GP, "gate DPL < CPL");
    cr_assert_eq(cpu->exc_err, 0x38u);
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x23, 0, true)), X86_GP, "data segment");
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0, 0, true)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0u);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x7000u);
}

Test(sys_far, same_privilege_call_and_ret_16bit)
{
    tb_flat_pm();
    cpu->s.eip = 0x1234;
    cr_assert_eq(TB_FAULT(x86_far_call(cpu, 0x08, 0x12345678, false)), -1);
    cr_assert_eq(cpu->s.eip, 0x5678u, "16-bit operand size truncates EIP");
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x8000u - 4);
    cr_assert_eq(pr16(0x8000 - 2), 0x08u);
    cr_assert_eq(pr16(0x8000 - 4), 0x1234u);
    cr_assert_eq(TB_FAULT(x86_far_ret(cpu, 0, false)), -1);
    cr_assert_eq(cpu->s.eip, 0x1234u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x8000u);
    /* RET to an inner level is refused. */
    pw32(0x8000 - 8, 0x1000);
    pw32(0x8000 - 4, 0x08);
    tb_set_cpl(3);
    cpu->s.gpr[R_ESP] = 0x8000 - 8;
    cr_assert_eq(TB_FAULT(x86_far_ret(cpu, 0, true)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0x08u);
}

Test(sys_far, sysenter_sysexit)
{
    tb_flat_pm();
    cr_assert_eq(TB_FAULT(x86_sysenter(cpu)), X86_GP, "SYSENTER_CS zero");
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x174, 0x08)), -1);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x175, 0x9000)), -1);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x176, 0xc0001000u)), -1);
    cpu->s.gpr[R_ECX] = 0x7000;
    cpu->s.gpr[R_EDX] = 0x4000;
    cr_assert_eq(TB_FAULT(x86_sysexit(cpu)), -1);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->s.seg[S_CS].sel, 0x1b);
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x23);
    cr_assert_eq(cpu->s.eip, 0x4000u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x7000u);
    cpu->s.eflags |= EFL_IF;
    cr_assert_eq(TB_FAULT(x86_sysexit(cpu)), X86_GP, "SYSEXIT needs CPL 0");
    cr_assert_eq(TB_FAULT(x86_sysenter(cpu)), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->s.seg[S_SS].sel, 0x10);
    cr_assert_eq(cpu->s.eip, 0xc0001000u);
    cr_assert_eq(cpu->s.gpr[R_ESP], 0x9000u);
    cr_assert_eq(cpu->s.eflags & EFL_IF, 0u);
}

Test(sys_far, msrs)
{
    tb_flat_pm();
    tb_vm.clock.icount = 1000;
    cr_assert_eq(x86_rdtsc(cpu), 1000u * VCLOCK_DET_NS_PER_INSN, "1 GHz virtual TSC");
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x10, 5000)), -1);
    cr_assert_eq(x86_rdtsc(cpu), 5000u);
    tb_vm.clock.icount = 1500;
    cr_assert_eq(x86_rdmsr(cpu, 0x10), 5000u + 500u * VCLOCK_DET_NS_PER_INSN);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0xc0000080u, 1u << 8)), X86_GP, "EFER.LME");
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0xc0000080u, EFER_NXE)), -1);
    cr_assert_eq(x86_rdmsr(cpu, 0xc0000080u), EFER_NXE);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x277, 0x0007040600070402ull)), X86_GP, "PAT type 2");
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x277, 0x0007010600070406ull)), -1);
    cr_assert_eq(x86_rdmsr(cpu, 0x277), 0x0007010600070406ull);
    cr_assert_eq(x86_rdmsr(cpu, 0xfe) & 0xff, 8u, "8 variable MTRRs");
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x201, 0xff0000800ull)), -1);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x201, 0x1000000800ull)), X86_GP, "mask above 36 bits");
    cr_assert_eq(TB_FAULT(x86_rdmsr(cpu, 0x12345)), X86_GP);
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0x8b, 0)), -1);
    /* CR4.TSD makes RDTSC privileged. */
    cpu->s.cr4 |= CR4_TSD;
    tb_set_cpl(3);
    cr_assert_eq(TB_FAULT(x86_rdtsc(cpu)), X86_GP);
    cr_assert_eq(TB_FAULT(x86_rdmsr(cpu, 0x10)), X86_GP, "RDMSR at CPL 3");
}

Test(sys_far, cpuid_model)
{
    uint32_t r[4];
    char vendor[13] = { 0 };
    x86_cpuid(cpu, 0, 0, r);
    cr_assert_eq(r[0], 2u);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    cr_assert_str_eq(vendor, "RingfoldVCPU");
    x86_cpuid(cpu, 1, 0, r);
    cr_assert_eq((r[0] >> 8) & 0xf, 6u, "family 6");
    cr_assert(r[3] & (1u << 8), "cx8");
    cr_assert(r[3] & (1u << 15), "cmov");
    cr_assert_eq(r[3] & (1u << 9), 0u, "no local APIC");
    cr_assert_eq(r[3] & ((1u << 23) | (1u << 25) | (1u << 26)), 0u, "no MMX/SSE/SSE2");
    uint32_t last[4];
    x86_cpuid(cpu, 2, 0, last);
    x86_cpuid(cpu, 7, 0, r);
    cr_assert_arr_eq(r, last, sizeof(r), "out-of-range leaf answers like the highest basic leaf");
    x86_cpuid(cpu, 0x80000000u, 0, r);
    cr_assert_eq(r[0], 0x80000004u);
    char brand[49] = { 0 };
    for (uint32_t l = 0; l < 3; l++) {
        x86_cpuid(cpu, 0x80000002u + l, 0, r);
        memcpy(brand + 16 * l, r, 16);
    }
    cr_assert_str_eq(brand, "ringfold emu i686");
}

Test(sys_far, io_permission_bitmap)
{
    tb_flat_pm();
    cr_assert_eq(TB_FAULT(x86_check_io(cpu, 0x3f8, 1)), -1, "CPL 0 <= IOPL 0");
    /* Give the TSS a bitmap at 0x68 covering ports 0..0x3ff, all denied but 0x3f8..0x3ff. */
    gdt_set(GDT, 5, TSS, 0x68 + 0x80, 0x8b, 0);
    cpu->s.tr.limit = 0x68 + 0x80;
    pw32(TSS + 0x64, 0x68u << 16);
    for (unsigned i = 0; i < 0x80; i += 4)
        pw32(TSS + 0x68 + i, 0xffffffffu);
    pw32(TSS + 0x68 + 0x7c, 0x00ffffffu);          /* byte 0x7f: ports 0x3f8..0x3ff allowed */
    to_ring3(EFL_FIXED1);
    cr_assert_eq(TB_FAULT(x86_check_io(cpu, 0x3f8, 4)), -1);
    cr_assert_eq(TB_FAULT(x86_check_io(cpu, 0x3f7, 2)), X86_GP, "one denied port in the range");
    cr_assert_eq(TB_FAULT(x86_check_io(cpu, 0x400, 1)), X86_GP, "past the TSS limit");
    cr_assert_eq(TB_FAULT(x86_require_cpl0(cpu)), X86_GP);
}


Test(sys_far, debug_register_matching)
{
    cpu->s.dr[0] = 0x1000;
    cpu->s.dr[1] = 0x2002;
    cpu->s.dr[2] = 0x3000;
    cpu->s.dr[3] = 0x70;
    cr_assert(!sys_dr_armed(cpu));
    /* DR0 execute (L0), DR1 write 4 bytes (G1), DR2 read/write 2 bytes (L2), DR3 I/O 1 byte. */
    cpu->s.dr[7] = 0x1u | 0x8u | 0x10u | 0x40u | (0x0du << 20) | (0x07u << 24) | (0x2u << 28);
    cr_assert(sys_dr_armed(cpu));
    cr_assert_eq(sys_dr_match_exec(cpu, 0x1000), 1u);
    cr_assert_eq(sys_dr_match_exec(cpu, 0x1001), 0u);
    cr_assert_eq(sys_dr_match_data(cpu, 0x1000, 4, true), 0u, "execute breakpoints ignore data");
    cr_assert_eq(sys_dr_match_data(cpu, 0x2003, 1, true), 2u, "DR1 covers 0x2000..0x2003");
    cr_assert_eq(sys_dr_match_data(cpu, 0x2000, 4, false), 0u, "write-only breakpoint");
    cr_assert_eq(sys_dr_match_data(cpu, 0x1ffe, 4, true), 2u, "overlap from below");
    cr_assert_eq(sys_dr_match_data(cpu, 0x3001, 1, false), 4u);
    cr_assert_eq(sys_dr_match_data(cpu, 0x3002, 2, false), 0u);
    cr_assert_eq(sys_dr_match_io(cpu, 0x70, 1), 0u, "I/O breakpoints need CR4.DE");
    cpu->s.cr4 |= CR4_DE;
    cr_assert_eq(sys_dr_match_io(cpu, 0x70, 1), 8u);
}
