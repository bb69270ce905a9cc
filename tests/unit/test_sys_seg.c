/* Unit tests for descriptor parsing and segment loads: protected-mode checks and their error
 * codes, accessed bits, null selectors, real mode, LTR/LLDT, LAR/LSL/VERR/VERW. */
#include "test_sys_harness.h"
#include "x86/sys_priv.h"

TestSuite(sys_seg, .init = tb_setup, .fini = tb_teardown);

Test(sys_seg, descriptor_parse_expands_granular_limit)
{
    struct sys_desc d;
    /* base 0x12345678, limit 0xabcde, access 0x93, flags G|D */
    sys_desc_parse(&d, 0x5678bcdeu, 0x12ca9334u);
    cr_assert_eq(d.base, 0x12345678u);
    cr_assert_eq(d.limit, 0xabcdefffu);
    cr_assert_eq(d.attr, SEG_ATTR_G | SEG_ATTR_DB | 0x93);
    sys_desc_parse(&d, 0x0000ffffu, 0x00009300u);
    cr_assert_eq(d.limit, 0xffffu);
}

Test(sys_seg, flat_setup_loads_and_sets_accessed_and_busy)
{
    tb_flat_pm();
    cr_assert_eq(cpu->cpl, 0);
    cr_assert(cpu->code32 && cpu->stack32);
    cr_assert_eq(cpu->s.seg[S_DS].limit, 0xffffffffu);
    cr_assert_eq((pr32(GDT + 2 * 8 + 4) >> 8) & 0xff, 0x93u, "accessed bit written back");
    cr_assert_eq((pr32(GDT + 5 * 8 + 4) >> 8) & 0xf, 0xbu, "LTR marks the TSS busy");
    cr_assert_eq(TB_FAULT(x86_ltr(cpu, 0x28)), X86_GP, "busy TSS cannot be loaded");
    cr_assert_eq(cpu->exc_err, 0x28u);
}

Test(sys_seg, data_segment_checks)
{
    tb_flat_pm();
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0)), -1, "null is fine for DS");
    cr_assert_eq(cpu->s.seg[S_DS].attr & SEG_ATTR_P, 0);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0x80)), X86_GP, "past the GDT limit");
    cr_assert_eq(cpu->exc_err, 0x80u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0x0c)), X86_GP, "LDT selector with no LDT");
    cr_assert_eq(cpu->exc_err, 0x0cu);
    gdt_set(GDT, 6, 0, 0xfffff, 0x98, 0xc);   /* execute-only code */
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_ES, 0x30)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0x30u);
    gdt_set(GDT, 7, 0, 0xfffff, 0x12, 0xc);   /* not present data */
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_FS, 0x38)), X86_NP);
    cr_assert_eq(cpu->exc_err, 0x38u);
    /* At CPL 3 a DPL 0 data segment is out of reach; DPL 3 is fine. */
    tb_set_cpl(3);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_GS, 0x10)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0x10u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_GS, 0x23)), -1);
    cr_assert_eq(cpu->s.seg[S_GS].sel, 0x23);
    /* RPL 3 makes a DPL 0 segment inaccessible even at CPL 0. */
    tb_set_cpl(0);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0x13)), X86_GP);
}

Test(sys_seg, stack_segment_checks)
{
    tb_flat_pm();
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_SS, 0)), X86_GP, "null SS");
    cr_assert_eq(cpu->exc_err, 0u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_SS, 0x13)), X86_GP, "RPL != CPL");
    cr_assert_eq(cpu->exc_err, 0x10u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_SS, 0x08)), X86_GP, "code segment");
    gdt_set(GDT, 7, 0, 0xfffff, 0x12, 0xc);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_SS, 0x38)), X86_SS, "not present");
    cr_assert_eq(cpu->exc_err, 0x38u);
    gdt_set(GDT, 8, 0x100000, 0xffff, 0x92, 0x0);   /* 16-bit stack */
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_SS, 0x40)), -1);
    cr_assert(!cpu->stack32);
    cr_assert_eq(cpu->s.seg[S_SS].base, 0x100000u);
}

Test(sys_seg, real_and_v86_loads)
{
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_DS, 0x1234)), -1);
    cr_assert_eq(cpu->s.seg[S_DS].base, 0x12340u);
    cr_assert_eq(cpu->s.seg[S_DS].limit, 0xffffu);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x2000, 0x10, false)), -1);
    cr_assert_eq(cpu->s.seg[S_CS].base, 0x20000u);
    cr_assert_eq(cpu->s.eip, 0x10u);
}

Test(sys_seg, lar_lsl_verr_verw)
{
    tb_flat_pm();
    uint32_t v = 0;
    cr_assert(x86_lar(cpu, 0x10, &v));
    cr_assert_eq(v, 0x00c09300u, "limit 19:16 masked out");
    cr_assert(x86_lsl(cpu, 0x10, &v));
    cr_assert_eq(v, 0xffffffffu);
    cr_assert(x86_lsl(cpu, 0x28, &v), "LSL accepts a TSS");
    cr_assert_eq(v, 0x67u);
    gate_set(GDT, 6, 0x08, 0x1000, 0xec, 0);        /* call gate DPL 3 */
    cr_assert(x86_lar(cpu, 0x30, &v), "LAR accepts a call gate");
    cr_assert(!x86_lsl(cpu, 0x30, &v), "LSL rejects a gate");
    cr_assert(!x86_lar(cpu, 0, &v));
    cr_assert(!x86_lar(cpu, 0x80, &v));
    cr_assert(x86_verr(cpu, 0x08) && !x86_verw(cpu, 0x08));
    cr_assert(x86_verr(cpu, 0x10) && x86_verw(cpu, 0x10));
    tb_set_cpl(3);
    cr_assert(!x86_verr(cpu, 0x10), "DPL 0 data invisible at CPL 3");
    cr_assert(!x86_lar(cpu, 0x28, &v));
    cr_assert(x86_verw(cpu, 0x23));
}

Test(sys_seg, lldt_and_ldt_selectors)
{
    tb_flat_pm();
    uint32_t ldt = 0x5000;
    gdt_set(GDT, 6, ldt, 0x17, 0x82, 0);            /* LDT with 3 entries */
    gdt_set(ldt, 1, 0x400000, 0xfff, 0x92, 0x4);
    cr_assert_eq(TB_FAULT(x86_lldt(cpu, 0x30)), -1);
    cr_assert_eq(cpu->s.ldtr.base, ldt);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_ES, 0x0c)), -1);
    cr_assert_eq(cpu->s.seg[S_ES].base, 0x400000u);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_ES, 0x1c)), X86_GP, "past the LDT limit");
    cr_assert_eq(TB_FAULT(x86_lldt(cpu, 0x10)), X86_GP, "not an LDT descriptor");
    cr_assert_eq(TB_FAULT(x86_lldt(cpu, 0)), -1);
    cr_assert_eq(TB_FAULT(x86_load_seg(cpu, S_ES, 0x0c)), X86_GP, "null LDTR");
}

Test(sys_seg, cpl_stays_0_between_setting_pe_and_the_far_jump)
{
    /* A real-mode CS whose low bits are 3 must not make the CPU run at CPL 3 once PE is set. */
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x1a53, 0x10, false)), -1);
    gdt_set(GDT, 1, 0, 0xfffff, 0x9a, 0xc);
    cpu->s.gdtr.base = GDT;
    cpu->s.gdtr.limit = 0x17;
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_PE)), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x08, 0x1000, true)), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert(cpu->code32);
}
