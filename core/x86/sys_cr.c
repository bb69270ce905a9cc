/* Control and debug registers, descriptor-table registers, CLTS/LMSW/INVLPG
 * (SDM Vol. 2 MOV CRn/DRn, LGDT, LLDT, LTR; Vol. 3 §2.5, §4.10.4 TLB invalidation rules). */
#include "sys_priv.h"

/* CR0 bits a P6 implements; writes to the others are ignored (SDM Vol. 3 §2.5). */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
                   CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits this model supports (CPUID leaf 1 says which); setting any other bit is #GP(0).
 * OSXMMEXCPT would need SSE, which the interpreter does not implement. */
#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | \
                   CR4_PCE | CR4_OSFXSR)

void sys_load_pdptes(struct x86_cpu *cpu, uint32_t cr3)
{
    /* PDPTE bits 2:1, 8:5 and 63:36 (MAXPHYADDR 36, NX included) are reserved: a present
     * entry with one set makes the MOV #GP(0) (§4.4.1). */
    const uint64_t rsvd = 0x1e6ull | ~((1ull << 36) - 1);
    uint64_t e[4];
    for (int i = 0; i < 4; i++) {
        e[i] = x86_phys_read64(cpu, (cr3 & 0xffffffe0u) + 8u * i);
        if ((e[i] & 1) && (e[i] & rsvd))
            x86_raise(cpu, X86_GP, 0);
    }
    for (int i = 0; i < 4; i++)
        cpu->pdpte[i] = e[i];
    cpu->pdpte_cr3 = cr3;
    cpu->pdpte_valid = true;
}

static void cr_bad(struct x86_cpu *cpu)
{
    x86_raise(cpu, X86_UD, X86_NO_ERR);
}

uint32_t x86_read_cr(struct x86_cpu *cpu, int n)
{
    x86_require_cpl0(cpu);
    switch (n) {
    case 0: return cpu->s.cr0;
    case 2: return cpu->s.cr2;
    case 3: return cpu->s.cr3;
    case 4: return cpu->s.cr4;
    default: cr_bad(cpu);
    }
    return 0;
}

static void cr0_write(struct x86_cpu *cpu, uint32_t v)
{
    uint32_t old = cpu->s.cr0;
    v = (v & CR0_VALID) | CR0_ET;          /* ET is hardwired to 1 on P6 */
    if ((v & CR0_PG) && !(v & CR0_PE))
        x86_raise(cpu, X86_GP, 0);
    if ((v & CR0_NW) && !(v & CR0_CD))
        x86_raise(cpu, X86_GP, 0);
    /* Enabling paging with PAE loads the PDPTEs (§4.4.1). */
    if ((v & CR0_PG) && !(old & CR0_PG) && (cpu->s.cr4 & CR4_PAE))
        sys_load_pdptes(cpu, cpu->s.cr3);
    cpu->s.cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
        x86_tlb_flush(cpu, true);
    x86_update_mode(cpu);
}

static void cr4_write(struct x86_cpu *cpu, uint32_t v)
{
    uint32_t old = cpu->s.cr4;
    if (v & ~CR4_VALID)
        x86_raise(cpu, X86_GP, 0);
    if ((cpu->s.cr0 & CR0_PG) && (v & CR4_PAE) && ((old ^ v) & (CR4_PAE | CR4_PSE | CR4_PGE)))
        sys_load_pdptes(cpu, cpu->s.cr3);
    cpu->s.cr4 = v;
    if ((old ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE))
        x86_tlb_flush(cpu, true);
    x86_update_mode(cpu);
}

void x86_write_cr(struct x86_cpu *cpu, int n, uint32_t v)
{
    x86_require_cpl0(cpu);
    switch (n) {
    case 0:
        cr0_write(cpu, v);
        break;
    case 2:
        cpu->s.cr2 = v;
        break;
    case 3:
        if (cpu->pae)
            sys_load_pdptes(cpu, v);
        cpu->s.cr3 = v;
        /* A CR3 load keeps global translations when CR4.PGE is set (§4.10.4.1). */
        x86_tlb_flush(cpu, false);
        break;
    case 4:
        cr4_write(cpu, v);
        break;
    default:
        cr_bad(cpu);
    }
}

/* DR4/DR5 are aliases of DR6/DR7 unless CR4.DE, which makes them #UD (§17.2.2). */
static int dr_index(struct x86_cpu *cpu, int n)
{
    if (n == 4 || n == 5) {
        if (cpu->s.cr4 & CR4_DE)
            cr_bad(cpu);
        return n + 2;
    }
    return n & 7;
}

uint32_t x86_read_dr(struct x86_cpu *cpu, int n)
{
    x86_require_cpl0(cpu);
    return cpu->s.dr[dr_index(cpu, n)];
}

void x86_write_dr(struct x86_cpu *cpu, int n, uint32_t v)
{
    x86_require_cpl0(cpu);
    n = dr_index(cpu, n);
    if (n == 6)
        v = (v & 0x0000e00fu) | 0xffff0ff0u;     /* reserved bits read as on P6 (§17.2.3) */
    else if (n == 7)
        v = (v & 0xffff23ffu) | 0x400u;           /* bit 10 reads 1, 11/12/14/15 read 0 */
    cpu->s.dr[n] = v;
}

void x86_lgdt(struct x86_cpu *cpu, uint32_t base, uint16_t limit)
{
    x86_require_cpl0(cpu);
    cpu->s.gdtr.base = base;
    cpu->s.gdtr.limit = limit;
}

void x86_lidt(struct x86_cpu *cpu, uint32_t base, uint16_t limit)
{
    x86_require_cpl0(cpu);
    cpu->s.idtr.base = base;
    cpu->s.idtr.limit = limit;
}

static void require_pm(struct x86_cpu *cpu)
{
    if (!cpu->pe || cpu->v86)       /* LLDT/LTR are #UD outside protected mode */
        x86_raise(cpu, X86_UD, X86_NO_ERR);
    x86_require_cpl0(cpu);
}

void x86_lldt(struct x86_cpu *cpu, uint16_t sel)
{
    require_pm(cpu);
    if ((sel & 0xfffc) == 0) {
        /* A null LDTR is legal; LDT references then raise #GP. */
        cpu->s.ldtr.sel = sel;
        cpu->s.ldtr.base = 0;
        cpu->s.ldtr.limit = 0;
        cpu->s.ldtr.attr = 0;
        return;
    }
    struct sys_desc d;
    if (sel & 4)
        x86_raise(cpu, X86_GP, sel & 0xfffc);
    sys_desc_load(cpu, sel, &d, X86_GP);
    if ((d.attr & SEG_ATTR_S) || SEG_ATTR_TYPE(d.attr) != SYS_LDT)
        x86_raise(cpu, X86_GP, sel & 0xfffc);
    if (!desc_present(d.attr))
        x86_raise(cpu, X86_NP, sel & 0xfffc);
    cpu->s.ldtr.sel = sel;
    cpu->s.ldtr.base = d.base;
    cpu->s.ldtr.limit = d.limit;
    cpu->s.ldtr.attr = d.attr;
}

void x86_ltr(struct x86_cpu *cpu, uint16_t sel)
{
    require_pm(cpu);
    if ((sel & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    if (sel & 4)
        x86_raise(cpu, X86_GP, sel & 0xfffc);
    struct sys_desc d;
    sys_desc_load(cpu, sel, &d, X86_GP);
    unsigned type = SEG_ATTR_TYPE(d.attr);
    if ((d.attr & SEG_ATTR_S) || (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL))
        x86_raise(cpu, X86_GP, sel & 0xfffc);
    if (!desc_present(d.attr))
        x86_raise(cpu, X86_NP, sel & 0xfffc);
    /* LTR marks the TSS busy (type bit 1) in the GDT. */
    d.attr |= 2;
    x86_sys_write8(cpu, d.addr + 5, (uint8_t)((d.hi >> 8) | 2));
    cpu->s.tr.sel = sel;
    cpu->s.tr.base = d.base;
    cpu->s.tr.limit = d.limit;
    cpu->s.tr.attr = d.attr;
}

void x86_clts(struct x86_cpu *cpu)
{
    x86_require_cpl0(cpu);
    cpu->s.cr0 &= ~CR0_TS;
}

void x86_lmsw(struct x86_cpu *cpu, uint16_t v)
{
    x86_require_cpl0(cpu);
    /* LMSW writes PE/MP/EM/TS only and cannot clear PE (SDM Vol. 2 LMSW). */
    uint32_t cr0 = (cpu->s.cr0 & ~0xeu) | (v & 0xfu);
    cr0_write(cpu, cr0);
}

void x86_invlpg(struct x86_cpu *cpu, uint32_t lin)
{
    x86_require_cpl0(cpu);
    x86_tlb_flush_page(cpu, lin);
    if (cpu->invlpg_hook)
        cpu->invlpg_hook(cpu->invlpg_opaque, lin);
}
