/* I/O permission checks for IN/OUT/INS/OUTS (SDM Vol. 1 §19.5, §19.5.2 I/O permission bitmap)
 * and the CPL 0 requirement of privileged instructions. */
#include "sys_priv.h"

void x86_require_cpl0(struct x86_cpu *cpu)
{
    if (cpu->cpl != 0)      /* v86 runs at CPL 3, so it is covered too */
        x86_raise(cpu, X86_GP, 0);
}

void x86_check_io(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
    if (!cpu->pe)
        return;
    int iopl = (cpu->s.eflags & EFL_IOPL) >> 12;
    if (!cpu->v86 && cpu->cpl <= iopl)
        return;
    /* Only a 32-bit TSS has an I/O bitmap; its offset is the word at 0x66. Every bit for the
     * ports accessed must be clear, and the bytes read must lie inside the TSS limit. */
    const struct seg_reg *tr = &cpu->s.tr;
    unsigned type = SEG_ATTR_TYPE(tr->attr);
    if ((tr->attr & SEG_ATTR_S) || (type != SYS_TSS32_AVAIL && type != SYS_TSS32_BUSY) || tr->limit < 0x67)
        x86_raise(cpu, X86_GP, 0);
    uint32_t map = x86_sys_read16(cpu, tr->base + 0x66);
    uint32_t off = map + (port >> 3);
    if (off + 1 > tr->limit)
        x86_raise(cpu, X86_GP, 0);
    uint32_t bits = x86_sys_read16(cpu, tr->base + off);
    uint32_t mask = ((1u << size) - 1) << (port & 7);
    if (bits & mask)
        x86_raise(cpu, X86_GP, 0);
}
