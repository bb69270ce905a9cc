/* Power-on reset and the derived execution mode (CPL, operand/stack size, paging mode). */
#include <string.h>
#include "ringfold/trace.h"
#include "sys_priv.h"

void x86_cpu_reset(struct x86_cpu *cpu)
{
    /* SDM Vol. 3 §9.1.1 Table 9-1: real mode at F000:FFF0, caches and paging off. */
    vcpu_state_reset(&cpu->s);
    x87_reset(cpu);
    memset(cpu->pdpte, 0, sizeof(cpu->pdpte));
    cpu->pdpte_valid = false;
    cpu->delivering = -1;
    cpu->ev_ext = 0;
    cpu->fault_chain_len = 0;
    cpu->pe = cpu->v86 = cpu->paging = cpu->pae = false;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu, true);
}

static const char *mode_name(const struct x86_cpu *cpu)
{
    if (!cpu->pe)
        return "real";
    if (cpu->v86)
        return "v86";
    return "protected";
}

void x86_update_mode(struct x86_cpu *cpu)
{
    const struct vcpu_state *s = &cpu->s;
    bool pe = (s->cr0 & CR0_PE) != 0;
    bool v86 = pe && (s->eflags & EFL_VM);
    bool paging = pe && (s->cr0 & CR0_PG);
    bool pae = paging && (s->cr4 & CR4_PAE);

    /* Real mode runs at 0 and virtual-8086 mode at 3 (§20.1). In protected mode CPL equals
     * CS.RPL and SS.DPL (§5.5); SS.DPL is used because it is also right between MOV CR0 (PE=1)
     * and the far jump that follows, where CS still holds a real-mode paragraph number. */
    cpu->cpl = !pe ? 0 : v86 ? 3 : SEG_ATTR_DPL(s->seg[S_SS].attr);
    cpu->code32 = !v86 && (s->seg[S_CS].attr & SEG_ATTR_DB);
    cpu->stack32 = !v86 && (s->seg[S_SS].attr & SEG_ATTR_DB);

    /* A state handed over by another engine (or restored) has PAE paging on but no PDPTE
     * registers: load them from CR3 without the MOV CR3 reserved-bit checks. */
    if (pae && (!cpu->pdpte_valid || cpu->pdpte_cr3 != s->cr3)) {
        for (int i = 0; i < 4; i++)
            cpu->pdpte[i] = x86_phys_read64(cpu, (s->cr3 & 0xffffffe0u) + 8u * i);
        cpu->pdpte_cr3 = s->cr3;
        cpu->pdpte_valid = true;
    }
    if (pe != cpu->pe || v86 != cpu->v86 || paging != cpu->paging || pae != cpu->pae) {
        bool paging_changed = paging != cpu->paging || pae != cpu->pae;
        cpu->pe = pe;
        cpu->v86 = v86;
        cpu->paging = paging;
        cpu->pae = pae;
        cpu->stats.mode_switches++;
        if (paging_changed)
            x86_tlb_flush(cpu, true);
        if (TRACE_ON(TRACE_MODE))
            trace_printf("mode: %s%s%s at %04x:%08x cr0=%08x cr4=%08x\n", mode_name(cpu),
                         paging ? ", paging" : "", pae ? " (PAE)" : "", s->seg[S_CS].sel, s->eip,
                         s->cr0, s->cr4);
    }
}
