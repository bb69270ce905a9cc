/* Interpreter unit tests: ALU flags, loops, string instructions with REP, self-modifying code,
 * port I/O, DIV #DE and a #PF that is fixed by the guest handler and restarted. */
#include <criterion/criterion.h>
#include "test_exec_harness.h"

TestSuite(exec, .init = tvm_setup, .fini = tvm_teardown);

Test(exec, add_overflow_flags)
{
    /* mov eax,0x7fffffff; add eax,1; pushfd; pop ebx; hlt */
    static const uint8_t code[] = { 0xb8, 0xff, 0xff, 0xff, 0x7f, 0x83, 0xc0, 0x01, 0x9c, 0x5b, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 0x80000000u);
    /* OF SF AF PF set, ZF CF clear, bit 1 always one */
    cr_assert_eq(r.gpr[R_EBX], 0x896u, "flags %#x", r.gpr[R_EBX]);
    cr_assert_eq(r.eip, CODE_BASE + sizeof(code));
}

Test(exec, sub_borrow_and_compare_jumps)
{
    /* mov eax,1; sub eax,2 (CF SF); setc bl; setl bh; cmp eax,-1; sete cl; jb +1 (not taken: equal); hlt */
    static const uint8_t code[] = { 0xb8, 0x01, 0, 0, 0, 0x83, 0xe8, 0x02, 0x0f, 0x92, 0xc3, 0x0f, 0x9c, 0xc7,
                                    0x83, 0xf8, 0xff, 0x0f, 0x94, 0xc1, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 0xffffffffu);
    cr_assert_eq(r.gpr[R_EBX] & 0xffff, 0x0101u);
    cr_assert_eq(r.gpr[R_ECX] & 0xff, 1u);
}

Test(exec, loop_sum)
{
    /* mov ecx,100; xor eax,eax; l: add eax,ecx; loop l; hlt */
    static const uint8_t code[] = { 0xb9, 100, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xe2, 0xfc, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 5050u);
    cr_assert_eq(r.gpr[R_ECX], 0u);
}

Test(exec, rep_movsb_and_stosd)
{
    /* mov esi,0x2000; mov edi,0x3000; mov ecx,100; cld; rep movsb;
     * mov edi,0x4000; mov eax,0x11223344; mov ecx,3; rep stosd; hlt */
    static const uint8_t code[] = { 0xbe, 0x00, 0x20, 0, 0, 0xbf, 0x00, 0x30, 0, 0, 0xb9, 100, 0, 0, 0, 0xfc,
                                    0xf3, 0xa4, 0xbf, 0x00, 0x40, 0, 0, 0xb8, 0x44, 0x33, 0x22, 0x11,
                                    0xb9, 3, 0, 0, 0, 0xf3, 0xab, 0xf4 };
    uint8_t src[100];
    for (int k = 0; k < 100; k++)
        src[k] = (uint8_t)(k * 7 + 1);
    tvm_load(0x2000, src, sizeof(src));
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    uint8_t dst[100];
    guest_mem_read(&tvm.mem, 0x3000, dst, sizeof(dst));
    cr_assert_arr_eq(dst, src, sizeof(src));
    cr_assert_eq(r.gpr[R_ESI], 0x2064u);
    uint32_t words[4];
    guest_mem_read(&tvm.mem, 0x4000, words, sizeof(words));
    cr_assert_eq(words[0], 0x11223344u);
    cr_assert_eq(words[2], 0x11223344u);
    cr_assert_eq(words[3], 0u);
    cr_assert_eq(r.gpr[R_EDI], 0x400cu);
    cr_assert_eq(r.gpr[R_ECX], 0u);
}

Test(exec, repne_scasb_strlen)
{
    /* mov edi,0x2000; xor eax,eax; mov ecx,-1; repne scasb; hlt */
    static const uint8_t code[] = { 0xbf, 0x00, 0x20, 0, 0, 0x31, 0xc0, 0xb9, 0xff, 0xff, 0xff, 0xff, 0xf2, 0xae, 0xf4 };
    tvm_load(0x2000, "hello", 6);
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EDI], 0x2006u);
    cr_assert_eq(r.gpr[R_ECX], 0xfffffff9u);
    cr_assert(r.eflags & EFL_ZF);
}

Test(exec, self_modifying_code_in_running_block)
{
    /* 1000: mov byte [0x100e],5 ; 1007: mov eax,1 ; 100c: add eax,1 (imm at 100e) ; 100f: hlt */
    static const uint8_t code[] = { 0xc6, 0x05, 0x0e, 0x10, 0, 0, 0x05, 0xb8, 1, 0, 0, 0, 0x83, 0xc0, 0x01, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 6u, "eax %u", r.gpr[R_EAX]);
    /* Run again from the start: the block decoded from the modified bytes is used. */
    tvm.stop = 0;
    r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 6u);
}

Test(exec, self_modifying_code_in_another_block)
{
    /* A loop whose body is rewritten after its first pass:
     * 1000: mov ecx,2 ; 1005: xor eax,eax ; 1007: add eax,1 (imm at 1009) ; 100a: mov byte [0x1009],10 ;
     * 1011: dec ecx ; 1012: jnz 1007 ; 1014: hlt  -> 1 + 10 = 11 */
    static const uint8_t code[] = { 0xb9, 2, 0, 0, 0, 0x31, 0xc0, 0x83, 0xc0, 0x01, 0xc6, 0x05, 0x09, 0x10, 0, 0, 10,
                                    0x49, 0x75, 0xf3, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_EAX], 11u, "eax %u", r.gpr[R_EAX]);
}

static uint32_t port_val;
static unsigned port_writes;
static void port_write(void *o, uint32_t off, uint32_t v, unsigned size)
{
    (void)o; (void)off; (void)size;
    port_val = v;
    port_writes++;
}
static uint32_t port_read(void *o, uint32_t off, unsigned size)
{
    (void)o; (void)size;
    return 0x50 + off;
}

Test(exec, port_io)
{
    /* mov al,0x41; out 0xe9,al; mov dx,0xea; in al,dx; hlt */
    static const uint8_t code[] = { 0xb0, 0x41, 0xe6, 0xe9, 0x66, 0xba, 0xea, 0x00, 0xec, 0xf4 };
    bus_register_pio(&tvm.bus, 0xe9, 2, "test", port_read, port_write, NULL, NULL);
    port_writes = 0;
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(port_writes, 1u);
    cr_assert_eq(port_val, 0x41u);
    cr_assert_eq(r.gpr[R_EAX] & 0xff, 0x51u);
}

Test(exec, div_by_zero_raises_de)
{
    /* xor ecx,ecx; mov eax,10; div ecx */
    static const uint8_t code[] = { 0x31, 0xc9, 0xb8, 10, 0, 0, 0, 0xf7, 0xf1, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct x86_emu *e = x86_emu_create(&tvm, NULL);
    cr_assert_not_null(e);
    x86_emu_set_deliver(e, false);
    struct vcpu_state st = tvm_flat(CODE_BASE);
    x86_emu_set_state(e, &st);
    struct x86_emu_event ev;
    enum x86_emu_status s = x86_emu_run_range(e, 0, 0xffffffffu, 100, &ev);
    cr_assert_eq(s, X86_EMU_EXCEPTION);
    cr_assert_eq(ev.vector, 0);
    cr_assert_eq(ev.eip, CODE_BASE + 7);
    struct vcpu_state r;
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.eip, CODE_BASE + 7);
    cr_assert_eq(r.gpr[R_EAX], 10u);
    cr_assert_eq(x86_emu_icount(e), 2u);
    x86_emu_destroy(e);
}

Test(exec, idiv_and_mul)
{
    /* mov eax,-7; cdq; mov ecx,2; idiv ecx (q -3 r -1); mov esi,eax; mov ebx,edx;
     * mov eax,0x10000; mul eax (edx=1, eax=0, CF=OF=1); hlt */
    static const uint8_t code[] = { 0xb8, 0xf9, 0xff, 0xff, 0xff, 0x99, 0xb9, 2, 0, 0, 0, 0xf7, 0xf9, 0x89, 0xc6,
                                    0x89, 0xd3, 0xb8, 0, 0, 1, 0, 0xf7, 0xe0, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    struct vcpu_state st = tvm_flat(CODE_BASE);
    struct vcpu_state r = tvm_run(&st);
    cr_assert_eq(r.gpr[R_ESI], (uint32_t)-3);
    cr_assert_eq(r.gpr[R_EBX], (uint32_t)-1);
    cr_assert_eq(r.gpr[R_EDX], 1u);
    cr_assert_eq(r.gpr[R_EAX], 0u);
    cr_assert_eq(r.eflags & (EFL_CF | EFL_OF), EFL_CF | EFL_OF);
}

Test(exec, emulate_api_step_and_range)
{
    /* 1000: inc eax; inc eax; jmp 0x1010 ... 1010: inc ebx; hlt */
    static const uint8_t code[] = { 0x40, 0x40, 0xeb, 0x0c };
    static const uint8_t tail[] = { 0x43, 0xf4 };
    tvm_load(CODE_BASE, code, sizeof(code));
    tvm_load(CODE_BASE + 0x10, tail, sizeof(tail));
    struct x86_emu *e = x86_emu_create(&tvm, NULL);
    struct vcpu_state st = tvm_flat(CODE_BASE), r;
    x86_emu_set_state(e, &st);
    cr_assert_eq(x86_emu_step(e, NULL), X86_EMU_OK);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.eip, CODE_BASE + 1);
    cr_assert_eq(r.gpr[R_EAX], 1u);
    cr_assert_eq(x86_emu_run_range(e, CODE_BASE, CODE_BASE + 4, 0, NULL), X86_EMU_LEFT_RANGE);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.eip, CODE_BASE + 0x10);
    cr_assert_eq(r.gpr[R_EAX], 2u);
    cr_assert_eq(x86_emu_run_range(e, 0, 0xffffffffu, 0, NULL), X86_EMU_HALT);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.gpr[R_EBX], 1u);
    cr_assert_eq(x86_emu_icount(e), 5u);
    /* Code rewritten behind the emulator's back (native execution) is re-decoded once told. */
    tvm_load(CODE_BASE + 0x10, (const uint8_t[]){ 0x4b }, 1);   /* dec ebx */
    x86_emu_code_written(e, CODE_BASE + 0x10, 1);
    r.eip = CODE_BASE + 0x10;
    r.halted = 0;
    x86_emu_set_state(e, &r);
    x86_emu_step(e, NULL);
    x86_emu_get_state(e, &r);
    cr_assert_eq(r.gpr[R_EBX], 0u);
    x86_emu_destroy(e);
}
