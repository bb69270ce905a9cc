/* Interpreter unit tests for faults and modes: a #PF fixed by the guest handler and restarted
 * (plain load and mid-REP MOVS), segment limit and expand-down #GP, and 16-bit real-mode code. */
#include <criterion/criterion.h>
#include "test_exec_harness.h"

TestSuite(exec_fault, .init = tvm_setup, .fini = tvm_teardown);

#define GDT_BASE 0x500u
#define IDT_BASE 0x800u

static void put32(uint32_t pa, uint32_t v) { tvm_load(pa, &v, 4); }
static uint32_t get32(uint32_t pa) { uint32_t v = 0; guest_mem_read(&tvm.mem, pa, &v, 4); return v; }

/* Flat GDT (0x10 code, 0x18 data) and an IDT with interrupt gates for the given vectors. */
static struct vcpu_state prot_setup(uint32_t eip)
{
    static const uint64_t gdt[4] = { 0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    tvm_load(GDT_BASE, gdt, sizeof(gdt));
    struct vcpu_state st = tvm_flat(eip);
    st.gdtr.base = GDT_BASE;
    st.gdtr.limit = sizeof(gdt) - 1;
    st.idtr.base = IDT_BASE;
    st.idtr.limit = 256 * 8 - 1;
    return st;
}

static void idt_gate(int vec, uint32_t handler)
{
    put32(IDT_BASE + 8 * (uint32_t)vec, (0x10u << 16) | (handler & 0xffff));
    put32(IDT_BASE + 8 * (uint32_t)vec + 4, (handler & 0xffff0000u) | 0x8e00u);
}

/* Identity paging for 4 MiB with page 0x5000 not present; the #PF handler at 0x3000 maps it,
 * counts its calls at 0x6000, pops the error code and returns to the faulting instruction. */
static struct vcpu_state paging_setup(uint32_t eip)
{
    struct vcpu_state st = prot_setup(eip);
    put32(0x10000, 0x11000 | 3);
    for (uint32_t k = 0; k < 1024; k++)
        put32(0x11000 + 4 * k, k == 5 ? 0 : (k << 12) | 3);
    static const uint8_t handler[] = {
        0xc7, 0x05, 0x14, 0x10, 0x01, 0x00, 0x03, 0x50, 0x00, 0x00,   /* mov dword [0x11014],0x5003 */
        0xff, 0x05, 0x00, 0x60, 0x00, 0x00,                           /* inc dword [0x6000] */
        0x83, 0xc4, 0x04,                                             /* add esp,4 */
        0xcf,                                                         /* iret */
    };
    tvm_load(0x3000, handler, sizeof(handler));
    idt_gate(14, 0x3000);
    put32(0x6000, 0);
    st.cr3 = 0x10000;
    st.cr0 |= CR0_PG;
    return st;
}

Test(exec_fault, page_fault_fixed_and_restarted)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x50, 0x00, 0x00, 0xf4 };   /* mov eax,[0x5000]; hlt */
    tvm_load(CODE_BASE, code, sizeof(code));
    put32(0x5000, 0xdeadbeefu);
    struct vcpu_state st = paging_setup(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 0xdeadbeefu, "eax %#x", r.gpr[R_EAX]);
    cr_assert_eq(r.cr2, 0x5000u);
    cr_assert_eq(get32(0x6000), 1u);
    cr_assert_eq(r.gpr[R_ESP], STACK_TOP);
}

Test(exec_fault, page_fault_in_the_middle_of_rep_movsb)
{
    /* mov esi,0x4ff0; mov edi,0x7000; mov ecx,0x20; cld; rep movsb; hlt */
    static const uint8_t code[] = { 0xbe, 0xf0, 0x4f, 0, 0, 0xbf, 0x00, 0x70, 0, 0, 0xb9, 0x20, 0, 0, 0, 0xfc,
                                    0xf3, 0xa4, 0xf4 };
    uint8_t src[0x20];
    for (int k = 0; k < 0x20; k++)
        src[k] = (uint8_t)(0xa0 + k);
    tvm_load(0x4ff0, src, sizeof(src));
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = paging_setup(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    uint8_t dst[0x20];
    guest_mem_read(&tvm.mem, 0x7000, dst, sizeof(dst));
    cr_assert_arr_eq(dst, src, sizeof(src));
    cr_assert_eq(r.gpr[R_ECX], 0u);
    cr_assert_eq(r.gpr[R_ESI], 0x5010u);
    cr_assert_eq(r.cr2, 0x5000u);
    cr_assert_eq(get32(0x6000), 1u, "the handler runs once: the restart resumes after 16 bytes");
}

/* #GP handler at 0x3000: mov eax,0x77; pop ebx (error code); hlt. */
static void gp_handler(void)
{
    static const uint8_t handler[] = { 0xb8, 0x77, 0, 0, 0, 0x5b, 0xf4 };
    tvm_load(0x3000, handler, sizeof(handler));
    idt_gate(13, 0x3000);
}

Test(exec_fault, segment_limit_gp)
{
    static const uint8_t code[] = { 0xa1, 0xfc, 0x0f, 0, 0, 0x89, 0xc1, 0xa1, 0xfd, 0x0f, 0, 0, 0xf4 };
    /* mov eax,[0xffc] (last dword inside); mov ecx,eax; mov eax,[0xffd] (crosses the limit) */
    tvm_load(CODE_BASE, code, sizeof(code));
    put32(0xffc, 0x01020304);
    gp_handler();
    struct vcpu_state st = prot_setup(CODE_BASE);
    st.seg[S_DS].limit = 0xfff;
    st.seg[S_DS].attr &= (uint16_t)~SEG_ATTR_G;
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_ECX], 0x01020304u);
    cr_assert_eq(r.gpr[R_EAX], 0x77u);
    cr_assert_eq(r.gpr[R_EBX], 0u, "#GP(0)");
}

Test(exec_fault, expand_down_segment)
{
    /* mov eax,[0x2000] (valid: above the limit); mov ecx,eax; mov eax,[0x800] (below: #GP) */
    static const uint8_t code[] = { 0xa1, 0x00, 0x20, 0, 0, 0x89, 0xc1, 0xa1, 0x00, 0x08, 0, 0, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    put32(0x2000, 0xcafe);
    gp_handler();
    struct vcpu_state st = prot_setup(CODE_BASE);
    st.seg[S_DS].limit = 0xfff;
    st.seg[S_DS].attr = (uint16_t)((st.seg[S_DS].attr & ~0xfu & ~SEG_ATTR_G) | 0x7);   /* expand-down RW */
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_ECX], 0xcafeu);
    cr_assert_eq(r.gpr[R_EAX], 0x77u);
}

Test(exec_fault, real_mode_16bit_code)
{
    /* mov ax,0x1234; mov bx,ax; add bx,0x10; push bx; pop cx; mov [0x2000],cx; hlt */
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0x89, 0xc3, 0x83, 0xc3, 0x10, 0x53, 0x59,
                                    0x89, 0x0e, 0x00, 0x20, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st;
    vcpu_state_reset(&st);
    st.seg[S_CS].sel = 0;
    st.seg[S_CS].base = 0;
    st.eip = CODE_BASE;
    st.gpr[R_ESP] = 0x12340000u;     /* only SP is used by a 16-bit stack */
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_ECX] & 0xffff, 0x1244u);
    cr_assert_eq(get32(0x2000) & 0xffff, 0x1244u);
    cr_assert_eq(r.gpr[R_ESP], 0x12340000u);
    uint16_t pushed = 0;
    guest_mem_read(&tvm.mem, 0xfffe, &pushed, 2);
    cr_assert_eq(pushed, 0x1244u, "the push wrapped to SS:0xFFFE");
}

/* #UD handler at 0x3100: mov eax,6; hlt. */
static void ud_handler(void)
{
    static const uint8_t handler[] = { 0xb8, 0x06, 0, 0, 0, 0xf4 };
    tvm_load(0x3100, handler, sizeof(handler));
    idt_gate(6, 0x3100);
}

Test(exec_fault, lock_on_register_operand_is_ud)
{
    static const uint8_t code[] = { 0xf0, 0x01, 0xc8, 0xf4 };   /* lock add eax,ecx */
    tvm_load(CODE_BASE, code, sizeof(code));
    ud_handler();
    struct vcpu_state st = prot_setup(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 6u);
}

Test(exec_fault, lock_on_memory_add_is_fine)
{
    static const uint8_t code[] = { 0xf0, 0x01, 0x0d, 0x00, 0x20, 0, 0, 0xf4 };   /* lock add [0x2000],ecx */
    tvm_load(CODE_BASE, code, sizeof(code));
    put32(0x2000, 5);
    ud_handler();
    struct vcpu_state st = prot_setup(CODE_BASE);
    st.gpr[R_ECX] = 7;
    tvm_run(&st);
    cr_assert_eq(get32(0x2000), 12u);
}

Test(exec_fault, instruction_longer_than_15_bytes_is_gp)
{
    /* 14 operand-size prefixes + mov eax,imm32 = 19 bytes */
    uint8_t code[32];
    memset(code, 0x66, 14);
    code[14] = 0xb8;
    memset(code + 15, 0x11, 4);
    code[19] = 0xf4;
    tvm_load(CODE_BASE, code, 20);
    gp_handler();
    struct vcpu_state st = prot_setup(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 0x77u);
    cr_assert_eq(r.gpr[R_EBX], 0u);
}

Test(exec_fault, fetch_across_into_a_missing_page_faults_with_cr2_there)
{
    /* mov eax,0x12345678 straddling 0x4ffe..0x5002; page 0x5000 is fixed by the handler */
    static const uint8_t code[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0xf4 };
    tvm_load(0x4ffe, code, sizeof(code));
    struct vcpu_state st = paging_setup(0x4ffe);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 0x12345678u);
    cr_assert_eq(r.cr2, 0x5000u);
    cr_assert_eq(get32(0x6000), 1u);
}

static int acks;
static int fake_ack(void *opaque)
{
    (void)opaque;
    acks++;
    tvm.intr_pending = 0;
    return 0x20;
}

Test(exec_fault, sti_hlt_wakes_on_interrupt_and_returns_after_hlt)
{
    /* sti; hlt; mov ebx,[0x6000]; cli; hlt  -- handler: inc dword [0x6000]; iret */
    static const uint8_t code[] = { 0xfb, 0xf4, 0x8b, 0x1d, 0x00, 0x60, 0, 0, 0xfa, 0xf4 };
    static const uint8_t handler[] = { 0xff, 0x05, 0x00, 0x60, 0, 0, 0xcf };
    tvm_load(CODE_BASE, code, sizeof(code));
    tvm_load(0x3200, handler, sizeof(handler));
    put32(0x6000, 0);
    struct vcpu_state st = prot_setup(CODE_BASE);
    idt_gate(0x20, 0x3200);
    tvm.intr_ack_fn = fake_ack;
    acks = 0;
    void *priv = NULL;
    emu_engine_ops.create(&tvm, &priv, NULL);
    emu_engine_ops.set_state(priv, &st);
    cr_assert_eq(emu_engine_ops.run(priv, 1000000), ENGINE_EXIT_HALT);
    struct vcpu_state r;
    emu_engine_ops.get_state(priv, &r);
    cr_assert(r.halted);
    cr_assert_eq(r.eip, CODE_BASE + 2);
    tvm.intr_pending = 1;               /* the PIC raises INTR */
    emu_engine_ops.run(priv, 2000000);
    emu_engine_ops.get_state(priv, &r);
    cr_assert_eq(acks, 1);
    cr_assert_eq(r.gpr[R_EBX], 1u, "the handler ran before the load after HLT");
    cr_assert_eq(tvm.stop, VM_STOP_HUNG, "the final cli; hlt can never wake");
    emu_engine_ops.destroy(priv);
}

Test(exec_fault, emulate_api_delivers_an_external_interrupt)
{
    /* handler at 0x3200: mov eax,0x99; iret */
    static const uint8_t handler[] = { 0xb8, 0x99, 0, 0, 0, 0xcf };
    tvm_load(0x3200, handler, sizeof(handler));
    tvm_load(CODE_BASE, (const uint8_t[]){ 0xf4 }, 1);
    struct vcpu_state st = prot_setup(CODE_BASE), r;
    idt_gate(0x21, 0x3200);
    st.eflags |= EFL_IF;
    struct x86_emu *e = x86_emu_create(&tvm, NULL);
    x86_emu_set_state(e, &st);
    cr_assert_eq(x86_emu_step(e, NULL), X86_EMU_HALT);
    cr_assert_eq(x86_emu_interrupt(e, 0x21, NULL), X86_EMU_OK);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.eip, 0x3200u);
    cr_assert_eq(r.halted, 0);
    cr_assert_eq(r.eflags & EFL_IF, 0u, "an interrupt gate clears IF");
    cr_assert_eq(x86_emu_run_range(e, 0x3200, 0x3300, 0, NULL), X86_EMU_LEFT_RANGE);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.gpr[R_EAX], 0x99u);
    cr_assert_eq(r.eip, CODE_BASE + 1, "IRET returns after the HLT");
    x86_emu_destroy(e);
}
