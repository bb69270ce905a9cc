/* Virtual-8086 mode (SDM Vol. 3A chapter 20): a CPL-0 monitor enters v86 by IRET with EFLAGS.VM,
 * real-mode code runs at 0x2000:0, and the monitor sees the sensitive instructions: without VME,
 * CLI/STI/PUSHF/POPF/INT n trap with #GP(0) when IOPL < 3 and run when IOPL = 3 (INT then goes
 * through the IDT, entering CPL 0 with the v86 segment registers saved and DS-GS nulled);
 * IN/OUT obey only the TSS I/O permission bitmap (20.2.8.1); HLT always traps. */
#include "systest.h"

#define V86_SEG 0x2000u
#define V86_BASE (V86_SEG << 4)
#define V86_STACK_SEG 0x3000u
#define SEL_V86_TSS 0x30   /* GDT 6: a TSS with an I/O bitmap */

/* 16-bit guest code, copied to V86_BASE; entries are offsets from v86_blob. */
__asm__(".section .rodata\n"
        ".code16\n"
        ".globl v86_blob, v86_blob_end, v86_basic, v86_int, v86_flags, v86_flags3, v86_io, v86_data\n"
        "v86_blob:\n"
        "v86_basic:\n\t"
        "movw $0x1234, %ax\n\t"
        "addw $0x0101, %ax\n\t"
        "movw %cs, %bx\n\t"
        "movw %bx, %ds\n\t"
        "movw %ax, (v86_data - v86_blob)\n\t"
        "movw $0x2100, %bx\n\t"
        "movw %bx, %es\n\t"
        "movw $0x10, %di\n\t"
        "movw $0xBEEF, %es:(%di)\n\t"   /* linear 0x21010 */
        "pushw $0x4321\n\t"
        "popw %dx\n\t"
        "hlt\n"
        "v86_int:\n\t"
        "int $0x3A\n\t"
        "movb $0x55, %al\n\t"
        "hlt\n"
        "v86_flags:\n\t"
        "cli\n\t"
        "pushf\n\t"
        "popf\n\t"
        "sti\n\t"
        "hlt\n"
        "v86_flags3:\n\t"
        "cli\n\t"
        "pushf\n\t"
        "popw %ax\n\t"
        "sti\n\t"
        "pushf\n\t"
        "popw %bx\n\t"
        "hlt\n"
        "v86_io:\n\t"
        "inb $0x21, %al\n\t"
        "movb %al, %cl\n\t"
        "outb %al, $0x80\n\t"
        "inb $0x60, %al\n\t"
        "hlt\n"
        "v86_data:\n\t"
        ".word 0\n"
        "v86_blob_end:\n"
        ".code32\n"
        ".text\n");
extern const char v86_blob[], v86_blob_end[], v86_basic[], v86_int[], v86_flags[], v86_flags3[], v86_io[],
    v86_data[];

/* v86_run(cs, ip, eflags): enters v86 by IRET; v86_exit() (from a #GP handler) comes back. */
__asm__(".text\n"
        ".globl v86_run, v86_exit\n"
        "v86_run:\n\t"
        "pushl %ebp\n\t"
        "pushl %ebx\n\t"
        "pushl %esi\n\t"
        "pushl %edi\n\t"
        "movl %esp, v86_saved_esp\n\t"
        "movl 20(%esp), %eax\n\t"   /* cs */
        "movl 24(%esp), %ecx\n\t"   /* ip */
        "movl 28(%esp), %edx\n\t"   /* eflags */
        "pushl %eax\n\t"            /* GS */
        "pushl %eax\n\t"            /* FS */
        "pushl %eax\n\t"            /* DS */
        "pushl %eax\n\t"            /* ES */
        "pushl $0x3000\n\t"         /* SS */
        "pushl $0xFFFE\n\t"         /* SP */
        "pushl %edx\n\t"            /* EFLAGS with VM */
        "pushl %eax\n\t"            /* CS */
        "pushl %ecx\n\t"            /* IP */
        "iret\n"
        "v86_exit:\n\t"
        "movl v86_saved_esp, %esp\n\t"
        "popl %edi\n\t"
        "popl %esi\n\t"
        "popl %ebx\n\t"
        "popl %ebp\n\t"
        "ret\n");
void v86_run(uint32_t cs, uint32_t ip, uint32_t eflags);
void v86_exit(void) __attribute__((noreturn));
uint32_t v86_saved_esp;

static struct {
    struct tss32 t;
    uint8_t iomap[8192 + 1];
} __attribute__((packed, aligned(128))) v86_tss;

static struct isr_frame last;   /* the frame of the HLT that ended the run */
static uint8_t gp_ops[16];
static int n_gp;
static struct isr_frame int3a;
static int n_int3a;

static uint32_t off(const char *p)
{
    return (uint32_t)(p - v86_blob);
}

static void v86_gp(struct isr_frame *f)
{
    if (!(f->eflags & EFL_VM))
        guest_fail("#GP outside v86 at %x:%08x err %x", f->cs, f->eip, f->err);
    const uint8_t *ip = (const uint8_t *)((f->cs << 4) + (f->eip & 0xFFFF));
    if (n_gp < 16)
        gp_ops[n_gp++] = ip[0];
    if (ip[0] == 0xF4) {   /* HLT: the end of this run */
        last = *f;
        v86_exit();
    }
    /* Skip the trapped instruction: INT imm8, IN/OUT imm8 are two bytes, the others one. */
    f->eip += (ip[0] == 0xCD || ip[0] == 0xE4 || ip[0] == 0xE6) ? 2 : 1;
}

static void v86_int3a(struct isr_frame *f)
{
    int3a = *f;
    n_int3a++;
}

static void run(const char *entry, uint32_t iopl)
{
    n_gp = 0;
    v86_run(V86_SEG, off(entry), EFL_VM | (iopl << 12) | 0x2);
}

void guest_main(void)
{
    desc_init();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    memcpy((void *)V86_BASE, v86_blob, (size_t)(v86_blob_end - v86_blob));
    /* A TSS with an I/O bitmap allowing only ports 0x21 and 0x80. */
    v86_tss.t.esp0 = desc_tss.esp0;
    v86_tss.t.ss0 = SEL_KDATA;
    v86_tss.t.iomap = sizeof(struct tss32);
    memset(v86_tss.iomap, 0xFF, sizeof(v86_tss.iomap));
    v86_tss.iomap[0x21 / 8] &= (uint8_t)~(1u << (0x21 % 8));
    v86_tss.iomap[0x80 / 8] &= (uint8_t)~(1u << (0x80 % 8));
    desc_set_tss(6, &v86_tss.t, sizeof(v86_tss) - 1, ACC_TSS);
    __asm__ volatile("ltr %w0" : : "r"(SEL_V86_TSS));
    isr_handlers[13] = v86_gp;
    isr_handlers[0x3A] = v86_int3a;
    desc_set_gate(0x3A, desc_isr_stub(0x3A), SEL_KCODE, GATE_INT32 | GATE_DPL3);

    run(v86_basic, 0);
    uint16_t data = *(volatile uint16_t *)(V86_BASE + off(v86_data));
    CHECK(n_gp == 1 && gp_ops[0] == 0xF4 && (last.eflags & EFL_VM) && last.cs == V86_SEG,
          "v86 entered by IRET; HLT traps with #GP (cs=%04x ip=%04x)", last.cs, last.eip - off(v86_basic));
    CHECK(last.err == 0 && (last.eax & 0xFFFF) == 0x1335 && data == 0x1335, "arithmetic and DS store: ax=%04x",
          last.eax & 0xFFFF);
    CHECK(*(volatile uint16_t *)0x21010 == 0xBEEF, "ES:DI 2100:0010 writes linear 0x21010");
    CHECK((last.edx & 0xFFFF) == 0x4321 && last.ss == V86_STACK_SEG && (last.esp & 0xFFFF) == 0xFFFE,
          "push/pop on SS:SP 3000:FFFE");
    CHECK(last.v86_ds == V86_SEG && last.v86_es == 0x2100 && last.ds == 0 && last.es == 0,
          "exit frame holds v86 DS=%04x ES=%04x; DS/ES nulled at CPL0", last.v86_ds, last.v86_es);

    run(v86_int, 0);
    CHECK(n_gp == 2 && gp_ops[0] == 0xCD && (last.eax & 0xFF) == 0x55 && n_int3a == 0,
          "IOPL=0: INT 0x3A -> #GP(0) to the monitor, not the IDT");
    n_int3a = 0;
    run(v86_int, 3);
    CHECK(n_int3a == 1 && n_gp == 1 && (last.eax & 0xFF) == 0x55, "IOPL=3: INT 0x3A goes through the IDT gate");
    CHECK((int3a.eflags & EFL_VM) && int3a.cs == V86_SEG && int3a.eip == off(v86_int) + 2 &&
              int3a.v86_ds == V86_SEG && int3a.gs == 0 && int3a.ds == 0,
          "  stacked VM=1 cs:ip=%04x:%04x, v86 DS saved, DS..GS nulled", int3a.cs, int3a.eip);

    run(v86_flags, 0);
    CHECK(n_gp == 5 && gp_ops[0] == 0xFA && gp_ops[1] == 0x9C && gp_ops[2] == 0x9D && gp_ops[3] == 0xFB,
          "IOPL=0: CLI PUSHF POPF STI each #GP (%u traps)", n_gp);
    run(v86_flags3, 3);
    CHECK(n_gp == 1, "IOPL=3: CLI/PUSHF/POPF/STI run without traps");
    CHECK((last.eax & 0x3200) == 0x3000 && (last.ebx & 0x3200) == 0x3200,
          "  pushf after cli: %04x, after sti: %04x", last.eax & 0xFFFF, last.ebx & 0xFFFF);

    for (uint32_t iopl = 0; iopl <= 3; iopl += 3) {
        run(v86_io, iopl);
        CHECK(n_gp == 2 && gp_ops[0] == 0xE4 && (last.ecx & 0xFF) == 0xFF,
              "IOPL=%u: IN 0x21 and OUT 0x80 allowed by the bitmap, IN 0x60 #GP", iopl);
    }
    sys_finish("sys_v86");
}
