/* SYSENTER/SYSEXIT: fast system calls with flat segments derived from IA32_SYSENTER_CS
 * (SDM Vol. 2 SYSENTER, SYSEXIT; Vol. 3 §5.8.7). */
#include "sys_priv.h"

/* Flat 4 GiB segment, present, S=1, 32-bit, page granular. */
static void flat_seg(struct x86_cpu *cpu, int seg, uint16_t sel, int dpl, unsigned type)
{
    struct seg_reg *r = &cpu->s.seg[seg];
    r->sel = sel;
    r->base = 0;
    r->limit = 0xffffffffu;
    r->attr = (uint16_t)(SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | SEG_ATTR_G | (dpl << 5) | type);
}

void x86_sysenter(struct x86_cpu *cpu)
{
    uint32_t cs = cpu->s.msr.sysenter_cs;
    if (!cpu->pe || (cs & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    x86_set_eflags(cpu, x86_get_eflags(cpu) & ~(EFL_VM | EFL_IF | EFL_RF));
    flat_seg(cpu, S_CS, (uint16_t)(cs & 0xfffc), 0, 0xb);
    flat_seg(cpu, S_SS, (uint16_t)((cs + 8) & 0xfffc), 0, 0x3);
    cpu->s.gpr[R_ESP] = cpu->s.msr.sysenter_esp;
    cpu->s.eip = cpu->s.msr.sysenter_eip;
    x86_update_mode(cpu);
}

void x86_sysexit(struct x86_cpu *cpu)
{
    uint32_t cs = cpu->s.msr.sysenter_cs;
    if (!cpu->pe || cpu->v86 || cpu->cpl != 0 || (cs & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    flat_seg(cpu, S_CS, (uint16_t)(((cs + 16) & 0xfffc) | 3), 3, 0xb);
    flat_seg(cpu, S_SS, (uint16_t)(((cs + 24) & 0xfffc) | 3), 3, 0x3);
    cpu->s.gpr[R_ESP] = cpu->s.gpr[R_ECX];
    cpu->s.eip = cpu->s.gpr[R_EDX];
    x86_update_mode(cpu);
}
