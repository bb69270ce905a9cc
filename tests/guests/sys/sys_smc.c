/* Self-modifying code (SDM Vol. 3A 11.6): a store to an instruction that is about to run must be
 * seen when it runs — in the very block being executed, in the same page, in another page, and
 * (after a serializing instruction) through a second linear alias of the same physical page.
 * Emulators that cache decoded code must invalidate it on such writes. */
#include "systest.h"

/* Writable and executable section (no paging, or an identity mapping without NX). */
__asm__(".section .smc, \"awx\", @progbits\n"
        ".p2align 12\n"
        /* smc_inblock(v): patches the immediate of an instruction two lines below, then runs it. */
        ".globl smc_inblock\n"
        "smc_inblock:\n\t"
        "movl 4(%esp), %eax\n\t"
        "movl %eax, smc_inblock_imm + 1\n"
        "smc_inblock_imm:\n\t"
        "movl $0, %eax\n\t"
        "ret\n"
        /* smc_samepage(v): patches smc_target (same page) and calls it. */
        ".globl smc_samepage\n"
        "smc_samepage:\n\t"
        "movl 4(%esp), %eax\n\t"
        "movl %eax, smc_target + 1\n\t"
        "call smc_target\n\t"
        "ret\n"
        ".globl smc_target\n"
        "smc_target:\n\t"
        "movl $0, %eax\n\t"
        "ret\n"
        /* smc_loop(n): a loop whose ADD immediate is rewritten every iteration; returns the sum. */
        ".globl smc_loop\n"
        "smc_loop:\n\t"
        "pushl %ebx\n\t"
        "movl 8(%esp), %ecx\n\t"
        "xorl %eax, %eax\n\t"
        "xorl %ebx, %ebx\n"
        "1:\n\t"
        "incl %ebx\n\t"
        "movl %ebx, smc_loop_imm + 1\n"
        "smc_loop_imm:\n\t"
        ".byte 0x05\n\t"        /* add eax, imm32 (the long form, so the imm32 is at +1) */
        ".long 0\n\t"
        "loop 1b\n\t"
        "popl %ebx\n\t"
        "ret\n"
        ".p2align 12\n"
        ".globl smc_otherpage\n"
        "smc_otherpage:\n\t"
        ".space 4096\n"
        ".text\n");
int smc_inblock(int v), smc_samepage(int v), smc_loop(int n);
extern uint8_t smc_otherpage[];

typedef int (*smc_fn)(void);

/* mov $v, %eax; ret */
static void emit_ret_const(uint8_t *p, uint32_t v)
{
    p[0] = 0xB8;
    p[1] = (uint8_t)v;
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)(v >> 16);
    p[4] = (uint8_t)(v >> 24);
    p[5] = 0xC3;
}

static void test_unpaged(void)
{
    int ok = 1;
    for (int v = 1; v <= 5; v++)
        ok &= smc_inblock(v * 111) == v * 111;
    CHECK(ok, "store to the next instruction of the running block is seen");
    ok = 1;
    for (int v = 1; v <= 5; v++)
        ok &= smc_samepage(v * 7) == v * 7;
    CHECK(ok, "patched function in the same page, then called");
    int sum = smc_loop(100);
    CHECK(sum == 5050, "loop rewriting its own ADD immediate each iteration: sum %d", sum);
    ok = 1;
    smc_fn f = (smc_fn)(void *)smc_otherpage;
    for (uint32_t v = 1; v <= 5; v++) {
        emit_ret_const(smc_otherpage, 0x1000 + v);
        ok &= (uint32_t)f() == 0x1000 + v;
    }
    CHECK(ok, "function in another page rewritten and called 5 times");
    /* Change only one byte in the middle of an instruction already run. */
    emit_ret_const(smc_otherpage, 0x11223344);
    (void)f();
    smc_otherpage[3] = 0x99;
    CHECK((uint32_t)f() == 0x11993344, "one-byte patch inside an already executed instruction");
}

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint8_t code_frame[4096] __attribute__((aligned(4096)));

#define EXEC_VA 0x40000000u
#define ALIAS_VA 0x40001000u

static void serialize(void)
{
    uint32_t r[4];
    cpu_cpuid(0, 0, r);   /* CPUID is serializing (SDM Vol. 3A 9.3 / 11.6) */
}

static void test_alias(void)
{
    for (int i = 0; i < 2; i++)   /* identity 0-8 MiB with 4 MiB pages */
        pd[i] = ((uint32_t)i << 22) | 0x83;
    pd[EXEC_VA >> 22] = (uint32_t)pt | 0x03;
    pt[0] = (uint32_t)code_frame | 0x03;   /* execute here */
    pt[1] = (uint32_t)code_frame | 0x03;   /* write here */
    sys_write_cr4(sys_read_cr4() | CR4_PSE);
    sys_write_cr3((uint32_t)pd);
    sys_write_cr0(sys_read_cr0() | CR0_PG);
    smc_fn f = (smc_fn)EXEC_VA;
    uint8_t *alias = (uint8_t *)ALIAS_VA;
    int ok = 1;
    for (uint32_t v = 1; v <= 5; v++) {
        emit_ret_const(alias, 0xA000 + v);
        serialize();
        ok &= (uint32_t)f() == 0xA000 + v;
    }
    CHECK(ok, "code written through an alias mapping, run at the other address (5 rounds)");
    /* And the other way: write through the execution address, run through the alias. */
    emit_ret_const((uint8_t *)EXEC_VA, 0xBEEF);
    serialize();
    CHECK(((smc_fn)ALIAS_VA)() == 0xBEEF, "written at the execution address, run via the alias");
    /* Remapping the executed page to another frame with INVLPG switches the code. */
    static uint8_t other[4096] __attribute__((aligned(4096)));
    emit_ret_const(other, 0x5151);
    pt[0] = (uint32_t)other | 0x03;
    sys_invlpg(EXEC_VA);
    CHECK(f() == 0x5151, "PTE of the code page switched to another frame (INVLPG): new code runs");
    sys_write_cr0(sys_read_cr0() & ~CR0_PG);
}

void guest_main(void)
{
    desc_init();
    test_unpaged();
    test_alias();
    sys_finish("sys_smc");
}
