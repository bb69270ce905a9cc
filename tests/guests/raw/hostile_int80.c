/* Containment: user mode executes int 0x80 with host (Linux i386) system call numbers. On every
 * engine the guest's own IDT handler must receive each one with the registers intact, and
 * nothing may happen on the host. Under raw mode a native int 0x80 enters the host kernel as a
 * real i386 system call; the jail traps it and the engine delivers it through the guest IDT
 * (docs/jail.md). A leak would show: exit(77) or exit_group(78) end ringfold with that status,
 * write prints LEAKED-BY-INT80 on ringfold's stdout (ctest fails on it), execve replaces ringfold. */
#include "systest.h"
#include "usermode.h"

#define MAGIC_EBX 0x11111111u
#define MAGIC_ECX 0x22222222u
#define MAGIC_EDX 0x33333333u
#define MAGIC_ESI 0x44444444u
#define MAGIC_EDI 0x55555555u
#define MAGIC_EBP 0x66666666u
#define ANSWER 0xC0DE0000u

/* Registers loaded before int 0x80 (eax, ebx, ecx, edx, esi, edi, ebp) and found after it. */
uint32_t hi_in[7], hi_out[7];
extern char hi_int_at[], hi_int_next[];

/* What the guest kernel's vector 0x80 handler saw: pushal frame, then the CPU's frame. */
struct hi_frame {
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t eip, cs, eflags, esp, ss;
};
static struct hi_frame seen[16];
static int nseen;

__asm__(".text\n"
        /* CPL 3: load every register from hi_in, int 0x80, store every register to hi_out. */
        "hi_user_call:\n\t"
        "pushl %ebp\n\t"
        "pushl %ebx\n\t"
        "pushl %esi\n\t"
        "pushl %edi\n\t"
        "movl hi_in, %eax\n\t"
        "movl hi_in+4, %ebx\n\t"
        "movl hi_in+8, %ecx\n\t"
        "movl hi_in+12, %edx\n\t"
        "movl hi_in+16, %esi\n\t"
        "movl hi_in+20, %edi\n\t"
        "movl hi_in+24, %ebp\n"
        "hi_int_at:\n\t"
        "int $0x80\n"
        "hi_int_next:\n\t"
        "movl %eax, hi_out\n\t"
        "movl %ebx, hi_out+4\n\t"
        "movl %ecx, hi_out+8\n\t"
        "movl %edx, hi_out+12\n\t"
        "movl %esi, hi_out+16\n\t"
        "movl %edi, hi_out+20\n\t"
        "movl %ebp, hi_out+24\n\t"
        "popl %edi\n\t"
        "popl %esi\n\t"
        "popl %ebx\n\t"
        "popl %ebp\n\t"
        "ret\n"
        /* The guest kernel's int 0x80 entry (DPL-3 interrupt gate): record, answer in EAX. */
        "hi_int80_entry:\n\t"
        "pushal\n\t"
        "pushl %esp\n\t"
        "call hi_int80_record\n\t"
        "addl $4, %esp\n\t"
        "popal\n\t"
        "iret\n");
void hi_user_call(void), hi_int80_entry(void);
void hi_int80_record(struct hi_frame *f);

void hi_int80_record(struct hi_frame *f)
{
    if (nseen < 16)
        seen[nseen] = *f;
    nseen++;
    f->eax = ANSWER | (uint32_t)nseen;
}

static const char leak_msg[] = "LEAKED-BY-INT80\n";
static const char sh_path[] = "/bin/sh";
static const char *const sh_argv[] = { sh_path, "-c", "echo LEAKED-BY-INT80", 0 };

static void load_in(uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    hi_in[0] = eax;
    hi_in[1] = ebx;
    hi_in[2] = ecx;
    hi_in[3] = edx;
    hi_in[4] = MAGIC_ESI;
    hi_in[5] = MAGIC_EDI;
    hi_in[6] = MAGIC_EBP;
}

/* One hostile call: the guest handler must see it exactly once with every register as loaded,
 * from CPL 3 at the instruction after int 0x80, and user mode must get the handler's answer. */
static void one_call(const char *what, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    load_in(eax, ebx, ecx, edx);
    int before = nseen;
    user_run(hi_user_call, 0);
    CHECK(nseen == before + 1, "int 0x80 %s (eax=%x): guest handler entered once", what, eax);
    if (nseen != before + 1)
        return;
    const struct hi_frame *f = &seen[before];
    CHECK(f->eax == eax && f->ebx == ebx && f->ecx == ecx && f->edx == edx && f->esi == MAGIC_ESI &&
              f->edi == MAGIC_EDI && f->ebp == MAGIC_EBP,
          "  handler saw eax=%x ebx=%x ecx=%x edx=%x esi=%x edi=%x ebp=%x", f->eax, f->ebx, f->ecx, f->edx,
          f->esi, f->edi, f->ebp);
    CHECK(f->cs == SEL_UCODE && f->ss == SEL_UDATA && f->eip == (uint32_t)hi_int_next,
          "  from cs=%x ss=%x eip=%s", f->cs, f->ss, f->eip == (uint32_t)hi_int_next ? "after int 0x80" : "WRONG");
    CHECK(hi_out[0] == (ANSWER | (uint32_t)(before + 1)) && hi_out[1] == ebx && hi_out[2] == ecx &&
              hi_out[3] == edx && hi_out[4] == MAGIC_ESI && hi_out[5] == MAGIC_EDI && hi_out[6] == MAGIC_EBP,
          "  user mode got the guest kernel's answer %x, other registers intact", hi_out[0]);
}

/* int 0x80 through a gate user mode may not use: #GP, or #NP when the gate is absent, with the
 * IDT error code 0x80*8+2 (SDM Vol. 3A 6.12.1.1, 6.13), the instruction not executed. */
static void gate_fault(const char *what, uint8_t type_attr, uint32_t want_vec)
{
    desc_set_gate(0x80, (uint32_t)hi_int80_entry, SEL_KCODE, type_attr);
    load_in(1, 79, MAGIC_ECX, MAGIC_EDX);
    int before = nseen;
    isr_clear();
    isr_resume = (uint32_t)hi_int_next;
    user_run(hi_user_call, 0);
    isr_resume = 0;
    CHECK(nseen == before && isr_last.vec == want_vec && isr_last.err == 0x80 * 8 + 2 &&
              isr_last.eip == (uint32_t)hi_int_at && hi_out[0] == 1,
          "int 0x80 via %s: vector %u err %x at %s, handler not entered", what, isr_last.vec, isr_last.err,
          isr_last.eip == (uint32_t)hi_int_at ? "int 0x80" : "WRONG");
}

void guest_main(void)
{
    desc_init();
    user_init();
    outb(0x21, 0xFF);   /* no IRQ may interleave with the checks */
    outb(0xA1, 0xFF);
    desc_set_gate(0x80, (uint32_t)hi_int80_entry, SEL_KCODE, GATE_INT32 | GATE_DPL3);

    one_call("exit(77)", 1, 77, MAGIC_ECX, MAGIC_EDX);
    one_call("write(1, msg)", 4, 1, (uint32_t)leak_msg, sizeof(leak_msg) - 1);
    one_call("write(2, msg)", 4, 2, (uint32_t)leak_msg, sizeof(leak_msg) - 1);
    one_call("execve(/bin/sh)", 11, (uint32_t)sh_path, (uint32_t)sh_argv, 0);
    one_call("getpid()", 20, MAGIC_EBX, MAGIC_ECX, MAGIC_EDX);
    one_call("nr -1", 0xFFFFFFFFu, MAGIC_EBX, MAGIC_ECX, MAGIC_EDX);
    one_call("nr 0x40000001 (x32 bit)", 0x40000001u, MAGIC_EBX, MAGIC_ECX, MAGIC_EDX);
    one_call("exit_group(78)", 252, 78, MAGIC_ECX, MAGIC_EDX);

    gate_fault("a DPL-0 gate", GATE_INT32, 13);
    gate_fault("a not-present DPL-3 gate", (GATE_INT32 | GATE_DPL3) & 0x7F, 11);
    sys_finish("hostile_int80");
}
