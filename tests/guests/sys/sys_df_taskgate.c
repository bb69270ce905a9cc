/* Double fault through a task gate, as Linux i386 does (SDM Vol. 3A 6.15 interrupt 8, 7.4):
 * the #GP handler's IDT entry is not present, so delivering #GP raises #NP, two contributory
 * exceptions make #DF, and IDT[8] is a task gate: #DF runs in its own task on its own stack. */
#include "systest.h"

#define SEL_TSS_DF 0x30   /* GDT 6 */

static struct tss32 tss_df __attribute__((aligned(128)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
volatile uint32_t df_err, df_esp;
static volatile uint32_t df_tr, df_eflags, df_link, df_main_type, df_df_type, df_ran;
extern char df_recover[];

/* The error code (always 0 for #DF) is pushed on the new task's stack: record it before C. */
__asm__(".text\n"
        "df_task_entry:\n\t"
        "movl %esp, df_esp\n\t"
        "movl (%esp), %eax\n\t"
        "movl %eax, df_err\n\t"
        "call df_task\n");
void df_task_entry(void);
void df_task(void) __attribute__((noreturn));

void df_task(void)
{
    uint32_t tr = 0;
    __asm__ volatile("str %0" : "=r"(tr));
    df_tr = tr & 0xFFFF;
    df_eflags = sys_read_eflags();
    df_link = tss_df.link;
    df_main_type = desc_gdt[5].access & 0xF;
    df_df_type = desc_gdt[6].access & 0xF;
    df_ran++;
    /* Repair: give #GP a present gate again and make the interrupted task resume elsewhere
     * (its saved CS:EIP are undefined for #DF). */
    desc_reset_gate(13);
    desc_tss.eip = (uint32_t)df_recover;
    __asm__ volatile("clts");
    for (;;)
        __asm__ volatile("iret");   /* NT=1: back to the interrupted task */
}

void guest_main(void)
{
    desc_init();
    tss_df.eip = (uint32_t)df_task_entry;
    tss_df.esp = (uint32_t)(stack_df + sizeof(stack_df));
    tss_df.eflags = 0x2;
    tss_df.cs = SEL_KCODE;
    tss_df.ds = tss_df.es = tss_df.ss = tss_df.fs = tss_df.gs = SEL_KDATA;
    tss_df.cr3 = sys_read_cr3();
    tss_df.iomap = sizeof(struct tss32);
    desc_set_tss(6, &tss_df, sizeof(tss_df) - 1, ACC_TSS);
    desc_set_gate(8, 0, SEL_TSS_DF, GATE_TASK);
    desc_set_gate(13, desc_isr_stub(13), SEL_KCODE, GATE_INT32 & 0x7F);   /* not present */

    /* Load a selector beyond the GDT limit: #GP(sel) -> IDT[13] not present -> #NP -> #DF. */
    __asm__ volatile("movw $0xFFF8, %%ax\n\t"
                     "movw %%ax, %%es\n\t"
                     "ud2\n"                 /* never reached: the DF task moves us on */
                     "df_recover:\n\t"
                     "movw $0x10, %%ax\n\t"
                     "movw %%ax, %%es" : : : "eax", "memory");
    CHECK(df_ran == 1, "double fault handled by the task gate once");
    CHECK(df_tr == SEL_TSS_DF, "  DF task TR=%04x", df_tr);
    CHECK(df_err == 0 && df_esp == (uint32_t)(stack_df + sizeof(stack_df)) - 4,
          "  error code 0 pushed on the DF task's stack");
    CHECK((df_eflags & EFL_NT) && df_link == SEL_TSS, "  NT=%u, previous-task link=%04x", (df_eflags >> 14) & 1,
          df_link);
    CHECK(df_main_type == 0xB && df_df_type == 0xB, "  both TSS busy during #DF (%x %x)", df_main_type, df_df_type);
    CHECK((desc_gdt[6].access & 0xF) == 0x9 && (desc_gdt[5].access & 0xF) == 0xB,
          "after IRET: DF TSS available, main TSS busy");
    /* #GP works again. */
    isr_clear();
    __asm__ volatile("movl $1f, isr_resume\n\tmovw $0xFFF8, %%ax\n\tmovw %%ax, %%es\n1:\n\tmovl $0, isr_resume"
                     : : : "eax", "memory");
    CHECK(isr_last.vec == 13 && isr_last.err == 0xFFF8, "with its gate present again: #GP(%04x)", isr_last.err);
    sys_finish("sys_df_taskgate");
}
