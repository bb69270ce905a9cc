/* Containment and fidelity: user mode executes SYSCALL and SYSENTER. Architecturally: SYSCALL
 * outside 64-bit mode with EFER.SCE = 0 is #UD; SYSENTER with IA32_SYSENTER_CS = 0 is #GP(0);
 * with the MSRs set it enters CS = SYSENTER_CS at SYSENTER_EIP with ESP = SYSENTER_ESP and
 * every other register unchanged, and SYSEXIT returns to EDX with ESP = ECX (SDM Vol. 2B
 * SYSCALL, SYSENTER, SYSEXIT). The kernel checks the registers seen at each event.
 *
 * Why this is hostile to raw mode: from compat mode the host kernel takes SYSCALL (AMD) and
 * SYSENTER (Intel) as its 32-bit vDSO fast system call: it records the vDSO landing pad
 * instead of the guest EIP, reloads ECX from EBP and EBP from the user stack, and returns
 * -EFAULT without consulting seccomp when that stack is not mapped. Nothing reaches the host
 * (the jail traps the call, the -EFAULT path runs none), but the guest state is lost unless
 * the engine handles it (docs/jail.md). */
#include "systest.h"
#include "usermode.h"

#define M_EBX 0x11111111u
#define M_ECX 0x22222222u
#define M_EDX 0x33333333u
#define M_ESI 0x44444444u
#define M_EDI 0x55555555u
#define M_EBP 0x66666666u

uint32_t fc_user_esp, fc_kernel_esp, fc_kernel_cs;
extern char fc_syscall_at[], fc_syscall_next[], fc_sysenter_at[], fc_sysenter_next[], fc_sysexit_ret[];

__asm__(".text\n"
        /* Loads the magic values, then the instruction; the registers come back in *EAX's frame. */
        "fc_load:\n\t"
        "movl $0x11111111, %ebx\n\t"
        "movl $0x22222222, %ecx\n\t"
        "movl $0x33333333, %edx\n\t"
        "movl $0x44444444, %esi\n\t"
        "movl $0x55555555, %edi\n\t"
        "movl $0x66666666, %ebp\n\t"
        "ret\n"
        "fc_user_syscall:\n\t"
        "pushal\n\t"
        "movl $fc_syscall_next, isr_resume\n\t"
        "call fc_load\n\t"
        "movl $20, %eax\n"
        "fc_syscall_at:\n\t"
        "syscall\n"
        "fc_syscall_next:\n\t"
        "popal\n\t"
        "ret\n"
        "fc_user_sysenter:\n\t"
        "pushal\n\t"
        "movl $fc_sysenter_next, isr_resume\n\t"
        "movl %esp, fc_user_esp\n\t"
        "call fc_load\n\t"
        "movl $20, %eax\n"
        "fc_sysenter_at:\n\t"
        "sysenter\n"
        "fc_sysenter_next:\n"
        "fc_sysexit_ret:\n\t"
        "movl %ebx, fc_after\n\t"
        "movl %esi, fc_after+4\n\t"
        "movl %edi, fc_after+8\n\t"
        "movl %ebp, fc_after+12\n\t"
        "movl %eax, fc_after+16\n\t"
        "popal\n\t"
        "ret\n"
        /* The guest kernel's SYSENTER entry: record, return through SYSEXIT (EDX = EIP, ECX = ESP). */
        "fc_sysenter_entry:\n\t"
        "movl %esp, fc_kernel_esp\n\t"
        "movw %cs, fc_kernel_cs\n\t"
        "pushal\n\t"
        "pushl %esp\n\t"
        "call fc_sysenter_record\n\t"
        "addl $4, %esp\n\t"
        "popal\n\t"
        "movl fc_user_esp, %ecx\n\t"
        "movl $fc_sysexit_ret, %edx\n\t"
        "sysexit\n");
void fc_user_syscall(void), fc_user_sysenter(void), fc_sysenter_entry(void);

struct fc_regs {
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
};
uint32_t fc_after[5];
static struct fc_regs fc_seen;
static int fc_entries;

void fc_sysenter_record(const struct fc_regs *r);
void fc_sysenter_record(const struct fc_regs *r)
{
    fc_seen = *r;
    fc_entries++;
}

static struct isr_frame fault_frame;
static void fault_handler(struct isr_frame *f)
{
    fault_frame = *f;
    f->eip = isr_resume;
    isr_resume = 0;
}

static bool magic_intact(uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx, uint32_t esi, uint32_t edi,
                         uint32_t ebp)
{
    return eax == 20 && ebx == M_EBX && ecx == M_ECX && edx == M_EDX && esi == M_ESI && edi == M_EDI &&
           ebp == M_EBP;
}

void guest_main(void)
{
    desc_init();
    user_init();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    isr_handlers[6] = isr_handlers[13] = fault_handler;

    isr_clear();
    user_run(fc_user_syscall, 0);
    const struct isr_frame *f = &fault_frame;
    CHECK(isr_last.vec == 6 && f->eip == (uint32_t)fc_syscall_at && f->cs == SEL_UCODE,
          "syscall at CPL 3 (EFER.SCE=0): vector %u at %s", isr_last.vec,
          f->eip == (uint32_t)fc_syscall_at ? "syscall" : "WRONG");
    CHECK(magic_intact(f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp),
          "  registers at the #UD intact: ecx=%x ebp=%x", f->ecx, f->ebp);

    uint32_t r[4];
    cpu_cpuid(1, 0, r);
    if (!(r[3] & (1u << 11))) {
        guest_printf("sysenter: CPUID.1:EDX.SEP clear, skipped\n");
        sys_finish("hostile_fastcall");
    }
    sys_wrmsr(0x174, 0);   /* IA32_SYSENTER_CS = 0 */
    isr_clear();
    user_run(fc_user_sysenter, 0);
    CHECK(isr_last.vec == 13 && isr_last.err == 0 && f->eip == (uint32_t)fc_sysenter_at,
          "sysenter at CPL 3, SYSENTER_CS=0: vector %u err %x at %s", isr_last.vec, isr_last.err,
          f->eip == (uint32_t)fc_sysenter_at ? "sysenter" : "WRONG");
    CHECK(magic_intact(f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp),
          "  registers at the #GP intact: ecx=%x ebp=%x", f->ecx, f->ebp);

    static uint8_t se_stack[1024] __attribute__((aligned(16)));
    uint32_t top = (uint32_t)se_stack + sizeof(se_stack);
    sys_wrmsr(0x174, SEL_KCODE);
    sys_wrmsr(0x175, top);
    sys_wrmsr(0x176, (uint32_t)fc_sysenter_entry);
    isr_clear();
    fc_entries = 0;
    user_run(fc_user_sysenter, 0);
    isr_resume = 0;
    const struct fc_regs *s = &fc_seen;
    CHECK(fc_entries == 1 && isr_last.vec == 0xFF && fc_kernel_cs == SEL_KCODE && fc_kernel_esp == top,
          "sysenter: entered the guest kernel once, cs=%x esp=%s", fc_kernel_cs, fc_kernel_esp == top ? "MSR" : "WRONG");
    CHECK(magic_intact(s->eax, s->ebx, s->ecx, s->edx, s->esi, s->edi, s->ebp),
          "  registers at the entry intact: ecx=%x edx=%x ebp=%x", s->ecx, s->edx, s->ebp);
    CHECK(fc_after[0] == M_EBX && fc_after[1] == M_ESI && fc_after[2] == M_EDI && fc_after[3] == M_EBP &&
              fc_after[4] == 20,
          "sysexit: back at CPL 3, registers intact");
    sys_finish("hostile_fastcall");
}
