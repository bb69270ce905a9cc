/* x87 FPU: reset state (FNINIT), FWAIT and the x87 entry points (temporary minimal versions). */
#include "x86_cpu.h"

/* FNINIT state (SDM Vol. 1 §8.1.1, Table 8-10): FCW 037Fh, FSW 0, all tags empty,
 * instruction/data pointers and opcode cleared. Register contents are left as they are. */
void x87_reset(struct x86_cpu *cpu)
{
    struct fpu_state *f = &cpu->s.fpu;
    f->fcw = 0x037F;
    f->fsw = 0;
    f->ftw = 0xFFFF;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

void x87_execute(struct x86_cpu *cpu, uint8_t opcode, uint8_t modrm, int seg, uint32_t ea, bool o32)
{
    (void)opcode; (void)modrm; (void)seg; (void)ea; (void)o32;
    x86_raise(cpu, X86_UD, X86_NO_ERR);
}

void x87_fwait(struct x86_cpu *cpu)
{
    (void)cpu;
}

void x87_fxsave(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    (void)seg; (void)ea;
    x86_raise(cpu, X86_UD, X86_NO_ERR);
}

void x87_fxrstor(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    (void)seg; (void)ea;
    x86_raise(cpu, X86_UD, X86_NO_ERR);
}
