/* Containment: user mode tries to leave 32-bit mode. Architecturally (emu, QEMU, hardware), a far
 * jump to selector 0x33 is #GP(0x30) with this GDT: entry 6 is null (SDM Vol. 2A JMP, "segment
 * type not code"). The kernel checks that and passes.
 *
 * Under raw mode the far jump runs natively and reaches the HOST's 64-bit code selector
 * (Linux's __USER_CS, DPL 3): it cannot fault there, and the 64-bit payload behind it makes host
 * system calls (open and creat of the file named by escape_path=, from the command line). The
 * jail traps them (instruction pointer below 4 GiB) and the engine stops the VM with
 * "jail: guest escape contained". run_hostile.sh accepts either result on raw, and fails any
 * engine where the file exists afterwards (docs/jail.md, "Containment tests"). */
#include "systest.h"
#include "usermode.h"

char escape_path[256] = "/tmp/ringfold-hostile-escape";
extern char fj_jmp_at[], fj_payload[];

__asm__(".text\n"
        /* Touch the path first, from user mode: under raw mode that makes the host map its
         * page, so the payload's system calls could read it if they ran. */
        "fj_user_jmp:\n\t"
        "movl escape_path, %eax\n\t"
        "movl $1f, isr_resume\n"
        "fj_jmp_at:\n\t"
        "ljmp $0x33, $fj_payload\n"
        "1:\n\t"
        "ret\n"
        /* Only reached in 64-bit mode on a host that let the jump through. These instructions
         * encode the same in 32-bit and 64-bit mode (mov r32, imm32; syscall), so they are
         * written as 32-bit code: open(path, O_WRONLY|O_CREAT, 0644), creat(path, 0644). */
        "fj_payload:\n\t"
        "movl $2, %eax\n\t"
        "movl $escape_path, %edi\n\t"
        "movl $0x41, %esi\n\t"
        "movl $0644, %edx\n\t"
        "syscall\n\t"
        "movl $85, %eax\n\t"
        "movl $escape_path, %edi\n\t"
        "movl $0644, %esi\n\t"
        "syscall\n\t"
        "hlt\n\t"
        "jmp fj_payload\n");
void fj_user_jmp(void);

void guest_main(void)
{
    desc_init();
    user_init();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    char buf[sizeof(escape_path)];
    if (guest_cmdline_get("escape_path", buf, sizeof(buf)) && buf[0])
        memcpy(escape_path, buf, sizeof(buf));
    /* The test's premise: selector 0x33 names a null descriptor in this guest's GDT. */
    memset(&desc_gdt[6], 0, sizeof(desc_gdt[6]));

    guest_printf("farjmp64: far jump to selector 0x33 (payload: open/creat %s)\n", escape_path);
    isr_clear();
    user_run(fj_user_jmp, 0);
    CHECK(isr_last.vec == 13 && isr_last.err == 0x30 && isr_last.eip == (uint32_t)fj_jmp_at &&
              isr_last.cs == SEL_UCODE,
          "ljmp 0x33 with GDT entry 6 null: vector %u err %x at %s", isr_last.vec, isr_last.err,
          isr_last.eip == (uint32_t)fj_jmp_at ? "ljmp" : "WRONG");
    sys_finish("hostile_farjmp64");
}
