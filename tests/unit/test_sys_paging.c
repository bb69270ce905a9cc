/* Unit tests for the page walker: 32-bit 4 KiB and 4 MiB pages, PAE 4 KiB / 2 MiB, NX, U/S,
 * R/W with CR0.WP, A/D updates, reserved bits, error codes, PDPTE loading and TLB flush rules. */
#include "test_sys_harness.h"

#define PD 0x10000u
#define PT 0x11000u
#define P 1u
#define W 2u
#define U 4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define G 0x100u

TestSuite(sys_paging, .init = tb_setup, .fini = tb_teardown);

static void paging32(uint32_t cr4)
{
    cpu->s.cr3 = PD;
    cpu->s.cr4 = cr4;
    cpu->s.cr0 = CR0_PE | CR0_PG | CR0_ET;
    x86_update_mode(cpu);
}

Test(sys_paging, walk_4k_translates_and_sets_accessed_then_dirty)
{
    pw32(PD, PT | P | W | U);
    pw32(PT + 5 * 4, 0x200000 | P | W | U);
    paging32(0);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x5123, 0, &w), 0u);
    cr_assert_eq(w.pa, 0x200123u);
    cr_assert_eq(w.page_size, 4096u);
    cr_assert(w.user && w.writable && !w.nx && !w.global && !w.dirty);
    cr_assert_eq(pr32(PD), PT | P | W | U | A);
    cr_assert_eq(pr32(PT + 20), 0x200000u | P | W | U | A);
    cr_assert_eq(x86_paging_walk(cpu, 0x5ffc, PF_W | PF_U, &w), 0u);
    cr_assert(w.dirty);
    cr_assert_eq(pr32(PT + 20), 0x200000u | P | W | U | A | D);
    cr_assert_eq(pr32(PD) & D, 0u, "D is only set in the final entry");
}

Test(sys_paging, not_present_error_code_and_no_accessed_bit)
{
    pw32(PD, PT | P | W | U);
    paging32(0);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x6000, PF_W | PF_U, &w), X86_WALK_FAULT | PF_W | PF_U);
    cr_assert_eq(x86_paging_walk(cpu, 0x00400000, 0, &w), X86_WALK_FAULT | 0u, "PDE not present");
    cr_assert_eq(pr32(PD) & A, 0u, "no A/D change on a fault");
    /* The I/D bit is not reported without PAE+NXE. */
    cr_assert_eq(x86_paging_walk(cpu, 0x6000, PF_I, &w), X86_WALK_FAULT | 0u);
}

Test(sys_paging, user_supervisor_combined_across_levels)
{
    pw32(PD, PT | P | W);                         /* PDE supervisor */
    pw32(PT + 4, 0x300000 | P | W | U);
    paging32(0);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_U, &w), X86_WALK_FAULT | PF_P | PF_U);
    cr_assert_eq(pr32(PT + 4) & A, 0u);
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, 0, &w), 0u);
    cr_assert(!w.user);
}

Test(sys_paging, read_only_pages_and_cr0_wp)
{
    pw32(PD, PT | P | W | U);
    pw32(PT + 4, 0x300000 | P | U);               /* read-only PTE */
    paging32(0);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_W | PF_U, &w), X86_WALK_FAULT | PF_P | PF_W | PF_U);
    /* Supervisor writes to read-only pages succeed while CR0.WP = 0. */
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_W, &w), 0u);
    cr_assert(!w.writable);
    cpu->s.cr0 |= CR0_WP;
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_W, &w), X86_WALK_FAULT | PF_P | PF_W);
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, 0, &w), 0u);
}

Test(sys_paging, pse_4m_pages_global_and_reserved_bits)
{
    pw32(PD + 4, 0x00800000u | P | W | PS | G);
    pw32(PD + 8, 0x00c00000u | P | W | PS | (1u << 21));    /* bit 21 reserved */
    pw32(PD + 12, 0x00c00000u | P | W | PS | (1u << 13));   /* PSE-36: PA bit 32 */
    paging32(CR4_PSE | CR4_PGE);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x00412345, PF_W, &w), 0u);
    cr_assert_eq(w.pa, 0x00812345u);
    cr_assert_eq(w.page_size, 4u << 20);
    cr_assert(w.global && w.dirty);
    cr_assert_eq(pr32(PD + 4), 0x00800000u | P | W | PS | G | A | D);
    cr_assert_eq(x86_paging_walk(cpu, 0x00800000, 0, &w), X86_WALK_FAULT | PF_P | PF_RSVD);
    cr_assert_eq(x86_paging_walk(cpu, 0x00c00010, 0, &w), 0u);
    cr_assert_eq(w.pa, 0x100c00010ull);
}

Test(sys_paging, ps_bit_ignored_without_cr4_pse)
{
    pw32(PD + 4, PT | P | W | PS);
    pw32(PT, 0x00500000u | P | W);
    paging32(0);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x00400abc, 0, &w), 0u);
    cr_assert_eq(w.pa, 0x00500abcu);
    cr_assert_eq(w.page_size, 4096u);
}

/* PAE layout: PDPT at 0x20000, PD at 0x21000, PT at 0x22000. */
#define PDPT 0x20000u
#define PPD 0x21000u
#define PPT 0x22000u

static void paging_pae(bool nxe)
{
    pw64(PDPT, PPD | P);
    pw64(PPD, PPT | P | W | U);
    cpu->s.msr.efer = nxe ? EFER_NXE : 0;
    cpu->s.cr0 = CR0_PE | CR0_ET;
    x86_update_mode(cpu);
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 4, CR4_PAE)), -1);
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 3, PDPT)), -1);
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_PE | CR0_PG)), -1);
    cr_assert(cpu->paging && cpu->pae);
}

Test(sys_paging, pae_4k_and_2m_pages)
{
    pw64(PPT + 8, 0x300000 | P | W | U);
    pw64(PPD + 8, 0x400000 | P | W | PS);
    paging_pae(false);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1234, PF_U, &w), 0u);
    cr_assert_eq(w.pa, 0x300234u);
    cr_assert_eq(pr32(PPT + 8), 0x300000u | P | W | U | A);
    cr_assert_eq(x86_paging_walk(cpu, 0x2abcde, PF_W, &w), 0u);
    cr_assert_eq(w.pa, 0x4abcdeu);
    cr_assert_eq(w.page_size, 2u << 20);
    cr_assert_eq(pr32(PPD + 8), 0x400000u | P | W | PS | A | D);
    cr_assert_eq(x86_paging_walk(cpu, 0x2abcde, PF_U, &w), X86_WALK_FAULT | PF_P | PF_U);
    /* PDPTE 1 not present. */
    cr_assert_eq(x86_paging_walk(cpu, 0x40000000, 0, &w), X86_WALK_FAULT | 0u);
}

Test(sys_paging, pae_pdptes_are_registers_loaded_at_cr3_write)
{
    pw64(PPT + 8, 0x300000 | P | W | U);
    paging_pae(false);
    pw64(PDPT, 0);                    /* the walker must keep using the loaded PDPTE */
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, 0, &w), 0u);
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 3, PDPT)), -1);
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, 0, &w), X86_WALK_FAULT | 0u);
    /* Reserved bits in a present PDPTE make the CR3 load #GP(0) and keep the old CR3. */
    pw64(PDPT + 8, PPD | P | (1ull << 40));
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 3, PDPT)), X86_GP);
    cr_assert_eq(cpu->exc_err, 0u);
}

Test(sys_paging, pae_nx_and_reserved_bits)
{
    pw64(PPT + 8, 0x300000 | P | W | U | (1ull << 63));
    pw64(PPT + 16, 0x300000 | P | W | U | (1ull << 40));
    paging_pae(true);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, 0, &w), 0u);
    cr_assert(w.nx);
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_I | PF_U, &w), X86_WALK_FAULT | PF_P | PF_I | PF_U);
    cr_assert_eq(x86_paging_walk(cpu, 0x2000, 0, &w), X86_WALK_FAULT | PF_P | PF_RSVD);
    /* Without EFER.NXE bit 63 is reserved. */
    cr_assert_eq(TB_FAULT(x86_wrmsr(cpu, 0xc0000080u, 0)), -1);
    cr_assert_eq(x86_paging_walk(cpu, 0x1000, PF_I, &w), X86_WALK_FAULT | PF_P | PF_RSVD);
    /* Not present wins over everything: the I bit needs NXE. */
    cr_assert_eq(x86_paging_walk(cpu, 0x5000, PF_I, &w), X86_WALK_FAULT | 0u);
}

Test(sys_paging, tlb_flush_rules)
{
    pw32(PD, PT | P | W | U);
    paging32(CR4_PGE);
    uint64_t f0 = cpu->stats.tlb_flushes;
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 3, PD)), -1);
    cr_assert_eq(cpu->stats.tlb_flushes, f0 + 1, "CR3 load flushes");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 4, CR4_PGE)), -1);
    cr_assert_eq(cpu->stats.tlb_flushes, f0 + 1, "unchanged CR4 does not flush");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 4, 0)), -1);
    cr_assert_eq(cpu->stats.tlb_flushes, f0 + 2, "CR4.PGE change flushes");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_PE | CR0_PG | CR0_WP)), -1);
    cr_assert_eq(cpu->stats.tlb_flushes, f0 + 3, "CR0.WP change flushes");
    cr_assert_eq(TB_FAULT(x86_invlpg(cpu, 0x1000)), -1);
    tb_set_cpl(3);
    cr_assert_eq(TB_FAULT(x86_invlpg(cpu, 0x1000)), X86_GP, "INVLPG is privileged");
}

Test(sys_paging, cr_write_validity)
{
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_PG | CR0_ET)), X86_GP, "PG without PE");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_NW | CR0_PE)), X86_GP, "NW without CD");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 4, 1u << 13)), X86_GP, "VMXE is reserved here");
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 1, 0)), X86_UD);
    cr_assert_eq(TB_FAULT(x86_write_cr(cpu, 0, CR0_PE)), -1);
    cr_assert(cpu->pe);
    cr_assert_eq(TB_FAULT(x86_lmsw(cpu, 0)), -1);
    cr_assert(cpu->s.cr0 & CR0_PE, "LMSW cannot clear PE");
}

Test(sys_paging, pae_state_handed_over_loads_pdptes)
{
    /* A vcpu_state with PAE paging already on (another engine's hand-off): no MOV CR3 ran. */
    pw64(PDPT, PPD | P);
    pw64(PPD, PPT | P | W | U);
    pw64(PPT + 8, 0x300000 | P | W | U);
    cpu->s.cr3 = PDPT;
    cpu->s.cr4 = CR4_PAE;
    cpu->s.cr0 = CR0_PE | CR0_PG | CR0_ET;
    x86_update_mode(cpu);
    struct x86_walk w;
    cr_assert_eq(x86_paging_walk(cpu, 0x1234, 0, &w), 0u);
    cr_assert_eq(w.pa, 0x300234u);
}
