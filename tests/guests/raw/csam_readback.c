/* Kernel code read as data (issue 6, csam/): code pages the raw engine's CSAM scanned and patched
 * (int3 on each sensitive instruction) must still read back as the guest wrote them, as on
 * hardware; kernels read their own text (Linux: alternatives, jump labels and text_poke compare
 * the bytes they replace, module loaders copy code). A function of sensitive instructions runs
 * from .text; its bytes are compared with a copy of the same encoding in .rodata, paging off
 * (raw phase 2a runs that natively) and on (phase 2b). */
#include "systest.h"

/* The function: pushf/popf, segment register reads and loads, SGDT/SMSW, and an INT n and IRET
 * that are jumped over (CSAM's linear sweep reaches them anyway). */
__asm__(".macro CR_BODY\n"
        "    pushf\n"
        "    popf\n"
        "    mov %ds, %eax\n"
        "    push %ds\n"
        "    pop %ds\n"
        "    sgdt cr_gdtr\n"
        "    smsw %eax\n"
        "    jmp 1f\n"
        "    int $0x30\n"
        "    iret\n"
        "    lret\n"
        "1:  ret\n"
        ".endm\n"
        ".text\n"
        ".globl cr_live, cr_live_end\n"
        "cr_live:\n"
        "    CR_BODY\n"
        "cr_live_end:\n"
        ".section .rodata\n"
        ".globl cr_ref, cr_ref_end\n"
        "cr_ref:\n"
        "    CR_BODY\n"
        "cr_ref_end:\n"
        ".text\n");

extern const uint8_t cr_live[], cr_live_end[], cr_ref[], cr_ref_end[];
uint8_t cr_gdtr[6];

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[2][1024] __attribute__((aligned(4096)));

static void compare(const char *when)
{
    uint32_t n = (uint32_t)(cr_ref_end - cr_ref);
    CHECK(n == (uint32_t)(cr_live_end - cr_live), "%s: the two copies have one length (%u)", when, n);
    uint32_t bad = n;
    for (uint32_t i = 0; i < n && bad == n; i++)
        if (((const volatile uint8_t *)cr_live)[i] != cr_ref[i])
            bad = i;
    CHECK(bad == n, "%s: the executed code reads back as written", when);
    if (bad != n)
        guest_printf("  offset %u: read %02x, written %02x\n", bad, cr_live[bad], cr_ref[bad]);
}

static void run_live(void)
{
    __asm__ volatile("call cr_live" : : : "eax", "memory", "cc");
}

void guest_main(void)
{
    desc_init();
    compare("before it ran, paging off");
    run_live();
    compare("after it ran, paging off");
    run_live();
    compare("after it ran twice, paging off");
    for (int t = 0; t < 2; t++) {
        for (uint32_t i = 0; i < 1024; i++)
            pt[t][i] = ((uint32_t)t << 22 | i << 12) | 3;
        pd[t] = (uint32_t)pt[t] | 3;
    }
    sys_write_cr3((uint32_t)pd);
    sys_write_cr0(sys_read_cr0() | CR0_PG);
    run_live();
    compare("after it ran, paging on");
    run_live();
    compare("after it ran twice, paging on");
    sys_finish("csam_readback");
}
