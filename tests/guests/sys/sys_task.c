/* Hardware task switching (SDM Vol. 3A 7.3-7.4): JMP and CALL to a TSS descriptor, IRET back
 * through the previous-task link with EFLAGS.NT, busy bits, saved state, CR0.TS. */
#include "systest.h"

#define SEL_TSS_B 0x30   /* GDT 6 */
#define SEL_TSS_C 0x38   /* GDT 7 */

static struct tss32 tss_b __attribute__((aligned(128)));
static struct tss32 tss_c __attribute__((aligned(128)));
static uint8_t stack_b[4096] __attribute__((aligned(16)));
static uint8_t stack_c[4096] __attribute__((aligned(16)));

/* Observations made inside the tasks. */
static volatile uint32_t b_tr, b_eflags, b_cr0, b_a_type, b_b_type, b_saved_ebx, b_saved_eip, b_ran;
static volatile uint32_t c_tr, c_eflags, c_link, c_a_type, c_c_type, c_ran;
static volatile uint32_t b_busy_gp;
extern char task_a_after_jmp[];

static uint32_t desc_type(int idx)
{
    return desc_gdt[idx].access & 0x0F;
}

static void __attribute__((noreturn, used)) task_b_main(void)
{
    uint32_t tr = 0;
    __asm__ volatile("str %0" : "=r"(tr));
    b_tr = tr & 0xFFFF;
    b_eflags = sys_read_eflags();
    b_cr0 = sys_read_cr0();
    __asm__ volatile("clts");
    b_a_type = desc_type(5);
    b_b_type = desc_type(6);
    b_saved_ebx = desc_tss.ebx;
    b_saved_eip = desc_tss.eip;
    /* Jumping to ourselves (busy) is refused: #GP(selector) (SDM JMP, task switch). */
    isr_clear();
    __asm__ volatile("movl $1f, isr_resume\n\tljmp $0x30, $0\n1:\n\tmovl $0, isr_resume" : : : "memory");
    b_busy_gp = isr_last.vec == 13 ? isr_last.err | 0x1300 : 0;
    b_ran = 1;
    for (;;)
        __asm__ volatile("ljmp $0x28, $0");   /* back to task A (available again) */
}

static void __attribute__((noreturn, used)) task_c_main(void)
{
    uint32_t tr = 0;
    __asm__ volatile("str %0" : "=r"(tr));
    c_tr = tr & 0xFFFF;
    c_eflags = sys_read_eflags();
    c_link = tss_c.link;
    c_a_type = desc_type(5);
    c_c_type = desc_type(7);
    __asm__ volatile("clts");
    c_ran = 1;
    for (;;)
        __asm__ volatile("iret");   /* NT=1: return to the task in the link field */
}

static void tss_setup(struct tss32 *t, void (*entry)(void), uint8_t *stack_top)
{
    t->eip = (uint32_t)entry;
    t->esp = (uint32_t)stack_top;
    t->eflags = 0x2;
    t->cs = SEL_KCODE;
    t->ds = t->es = t->ss = t->fs = t->gs = SEL_KDATA;
    t->cr3 = sys_read_cr3();
    t->iomap = sizeof(struct tss32);
}

void guest_main(void)
{
    desc_init();
    tss_setup(&tss_b, task_b_main, stack_b + sizeof(stack_b));
    tss_setup(&tss_c, task_c_main, stack_c + sizeof(stack_c));
    desc_set_tss(6, &tss_b, sizeof(tss_b) - 1, ACC_TSS);
    desc_set_tss(7, &tss_c, sizeof(tss_c) - 1, ACC_TSS);
    CHECK(desc_type(5) == 0xB, "after LTR the main TSS is busy (type %x)", desc_type(5));

    __asm__ volatile("movl $0x5EB0A7ED, %%ebx\n\t"
                     "ljmp $0x30, $0\n"
                     "task_a_after_jmp:" : : : "ebx", "memory");
    CHECK(b_ran, "JMP to TSS: task B ran and jumped back");
    CHECK(b_tr == SEL_TSS_B, "  in B: TR=%04x", b_tr);
    CHECK((b_eflags & EFL_NT) == 0, "  in B: NT=0 (JMP does not nest)");
    CHECK(b_cr0 & CR0_TS, "  in B: CR0.TS set by the task switch");
    CHECK(b_a_type == 0x9 && b_b_type == 0xB, "  in B: A available (%x), B busy (%x)", b_a_type, b_b_type);
    CHECK(b_saved_ebx == 0x5EB0A7ED && b_saved_eip == (uint32_t)task_a_after_jmp,
          "  A's TSS holds its EBX and the EIP after the JMP");
    CHECK(b_busy_gp == 0x1330, "  JMP to the busy current TSS: #GP(%04x)", b_busy_gp & 0xFF);
    uint32_t tr = 0;
    __asm__ volatile("str %0" : "=r"(tr));
    CHECK((tr & 0xFFFF) == SEL_TSS && desc_type(5) == 0xB && desc_type(6) == 0x9,
          "back in A: TR=%04x, A busy, B available", tr & 0xFFFF);
    CHECK(tss_b.eip != (uint32_t)task_b_main && tss_b.esp < (uint32_t)stack_b + sizeof(stack_b),
          "B's TSS was updated with its state at the switch");
    __asm__ volatile("clts");

    __asm__ volatile("lcall $0x38, $0" : : : "memory");
    CHECK(c_ran, "CALL to TSS: task C ran and returned by IRET");
    CHECK(c_tr == SEL_TSS_C && (c_eflags & EFL_NT), "  in C: TR=%04x, NT=%u", c_tr, (c_eflags >> 14) & 1);
    CHECK(c_link == SEL_TSS, "  in C: previous-task link = %04x", c_link);
    CHECK(c_a_type == 0xB && c_c_type == 0xB, "  in C: A stays busy (%x), C busy (%x)", c_a_type, c_c_type);
    CHECK(desc_type(7) == 0x9 && desc_type(5) == 0xB, "after IRET: C available, A busy");
    CHECK((sys_read_eflags() & EFL_NT) == 0, "after IRET: NT=0 in A");
    /* An IRET task switch clears NT in the outgoing task's saved EFLAGS (SDM 7.3, step 8). */
    CHECK((tss_c.eflags & EFL_NT) == 0, "C's saved EFLAGS have NT cleared by the IRET switch");
    __asm__ volatile("clts");
    sys_finish("sys_task");
}
