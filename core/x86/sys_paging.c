/* The page walker run on every software-TLB miss: 32-bit paging (4 KiB and 4 MiB pages) and PAE
 * (4 KiB and 2 MiB pages, NX), rights combined across levels, A/D updates, #PF error codes
 * (SDM Vol. 3 §4.3, §4.4, §4.6, §4.7, §4.8). */
#include "sys_priv.h"

#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u
#define PTE_G   0x100u
#define PTE_NX  (1ull << 63)

/* MAXPHYADDR of the model: 36 bits, as P6-family PAE/PSE-36 processors. */
#define PHYS_BITS 36
#define PAE_ADDR_MASK (((1ull << PHYS_BITS) - 1) & ~0xfffull)
/* Bits PHYS_BITS..62 must be zero in every PAE entry; bit 63 too unless EFER.NXE. */
#define PAE_RSVD_HIGH (((1ull << 63) - 1) & ~((1ull << PHYS_BITS) - 1))
/* 2 MiB PDE: bits 20:13 are reserved (bit 12 is PAT). 4 MiB PDE with PSE-36 and
 * MAXPHYADDR 36: bits 21:17 are reserved (bits 16:13 give PA bits 35:32). */
#define PAE_RSVD_2M 0x1fe000ull
#define PSE_RSVD_4M 0x3e0000u

/* Decides the access against the combined rights; returns 0 or the #PF error code. */
static inline uint32_t walk_check(const struct x86_cpu *cpu, uint32_t acc, bool user, bool writable,
                                  bool nx)
{
    if ((acc & PF_U) && !user)
        return X86_WALK_FAULT | PF_P | acc;
    /* Supervisor writes ignore R/W unless CR0.WP (§4.6.1). */
    if ((acc & PF_W) && !writable && ((acc & PF_U) || (cpu->s.cr0 & CR0_WP)))
        return X86_WALK_FAULT | PF_P | acc;
    if ((acc & PF_I) && nx)
        return X86_WALK_FAULT | PF_P | acc;
    return 0;
}

/* Sets A (and D) in an entry's low dword when not set yet (§4.8). */
static inline void walk_mark(struct x86_cpu *cpu, uint64_t pa, uint32_t e, uint32_t bits)
{
    if ((e & bits) != bits)
        x86_phys_write32(cpu, pa, e | bits);
}

static uint32_t walk_32(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, struct x86_walk *w)
{
    /* The I/D bit is reported only with PAE + NXE (§4.7), so drop it here. */
    uint32_t eacc = acc & ~PF_I;
    uint64_t pde_pa = (cpu->s.cr3 & 0xfffff000u) | ((lin >> 20) & 0xffc);
    uint32_t pde = x86_phys_read32(cpu, pde_pa);
    if (!(pde & PTE_P))
        return X86_WALK_FAULT | eacc;

    if ((pde & PTE_PS) && (cpu->s.cr4 & CR4_PSE)) {
        if (pde & PSE_RSVD_4M)
            return X86_WALK_FAULT | PF_P | PF_RSVD | eacc;
        bool user = pde & PTE_U, writable = pde & PTE_W;
        uint32_t f = walk_check(cpu, eacc, user, writable, false);
        if (f)
            return f;
        walk_mark(cpu, pde_pa, pde, (acc & PF_W) ? PTE_A | PTE_D : PTE_A);
        w->pa = (pde & 0xffc00000u) | ((uint64_t)((pde >> 13) & 0xf) << 32) | (lin & 0x3fffff);
        w->page_size = 4u << 20;
        w->user = user;
        w->writable = writable;
        w->nx = false;
        w->global = (pde & PTE_G) && (cpu->s.cr4 & CR4_PGE);
        w->dirty = (pde & PTE_D) || (acc & PF_W);
        return 0;
    }

    uint64_t pte_pa = (pde & 0xfffff000u) | ((lin >> 10) & 0xffc);
    uint32_t pte = x86_phys_read32(cpu, pte_pa);
    if (!(pte & PTE_P))
        return X86_WALK_FAULT | eacc;
    bool user = pde & pte & PTE_U, writable = pde & pte & PTE_W;
    uint32_t f = walk_check(cpu, eacc, user, writable, false);
    if (f)
        return f;
    walk_mark(cpu, pde_pa, pde, PTE_A);
    walk_mark(cpu, pte_pa, pte, (acc & PF_W) ? PTE_A | PTE_D : PTE_A);
    w->pa = (pte & 0xfffff000u) | (lin & 0xfff);
    w->page_size = 4096;
    w->user = user;
    w->writable = writable;
    w->nx = false;
    w->global = (pte & PTE_G) && (cpu->s.cr4 & CR4_PGE);
    w->dirty = (pte & PTE_D) || (acc & PF_W);
    return 0;
}

static uint32_t walk_pae(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, struct x86_walk *w)
{
    bool nxe = (cpu->s.msr.efer & EFER_NXE) != 0;
    uint32_t eacc = nxe ? acc : (acc & ~PF_I);
    uint64_t rsvd = PAE_RSVD_HIGH | (nxe ? 0 : PTE_NX);

    /* PDPTEs come from the registers loaded at the last CR3 write (§4.4.1), not memory. */
    uint64_t pdpte = cpu->pdpte[lin >> 30];
    if (!(pdpte & PTE_P))
        return X86_WALK_FAULT | eacc;
    uint64_t pde_pa = (pdpte & PAE_ADDR_MASK) | ((lin >> 18) & 0xff8);
    uint64_t pde = x86_phys_read64(cpu, pde_pa);
    if (!(pde & PTE_P))
        return X86_WALK_FAULT | eacc;
    if (pde & rsvd)
        return X86_WALK_FAULT | PF_P | PF_RSVD | eacc;

    if (pde & PTE_PS) {
        if (pde & PAE_RSVD_2M)
            return X86_WALK_FAULT | PF_P | PF_RSVD | eacc;
        bool user = pde & PTE_U, writable = pde & PTE_W, nx = nxe && (pde & PTE_NX);
        uint32_t f = walk_check(cpu, eacc, user, writable, nx);
        if (f)
            return f;
        walk_mark(cpu, pde_pa, (uint32_t)pde, (acc & PF_W) ? PTE_A | PTE_D : PTE_A);
        w->pa = (pde & PAE_ADDR_MASK & ~0x1fffffull) | (lin & 0x1fffff);
        w->page_size = 2u << 20;
        w->user = user;
        w->writable = writable;
        w->nx = nx;
        w->global = (pde & PTE_G) && (cpu->s.cr4 & CR4_PGE);
        w->dirty = (pde & PTE_D) || (acc & PF_W);
        return 0;
    }

    uint64_t pte_pa = (pde & PAE_ADDR_MASK) | ((lin >> 9) & 0xff8);
    uint64_t pte = x86_phys_read64(cpu, pte_pa);
    if (!(pte & PTE_P))
        return X86_WALK_FAULT | eacc;
    if (pte & rsvd)
        return X86_WALK_FAULT | PF_P | PF_RSVD | eacc;
    bool user = pde & pte & PTE_U, writable = pde & pte & PTE_W;
    bool nx = nxe && ((pde | pte) & PTE_NX);
    uint32_t f = walk_check(cpu, eacc, user, writable, nx);
    if (f)
        return f;
    walk_mark(cpu, pde_pa, (uint32_t)pde, PTE_A);
    walk_mark(cpu, pte_pa, (uint32_t)pte, (acc & PF_W) ? PTE_A | PTE_D : PTE_A);
    w->pa = (pte & PAE_ADDR_MASK) | (lin & 0xfff);
    w->page_size = 4096;
    w->user = user;
    w->writable = writable;
    w->nx = nx;
    w->global = (pte & PTE_G) && (cpu->s.cr4 & CR4_PGE);
    w->dirty = (pte & PTE_D) || (acc & PF_W);
    return 0;
}

uint32_t x86_paging_walk(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, struct x86_walk *w)
{
    if (cpu->s.cr4 & CR4_PAE)
        return walk_pae(cpu, lin, acc, w);
    return walk_32(cpu, lin, acc, w);
}
