/* 32-bit paging (SDM Vol. 3A 4.3, 4.7, 4.8, 4.10): 4 KiB and 4 MiB pages, accessed/dirty bits,
 * CR0.WP, U/S from CPL 3, #PF error codes and CR2, INVLPG, global pages across CR3 loads and
 * CR4.PGE toggles, a self-referencing page directory. */
#include "systest.h"
#include "usermode.h"

#define PG_P 0x001u
#define PG_RW 0x002u
#define PG_US 0x004u
#define PG_A 0x020u
#define PG_D 0x040u
#define PG_PS 0x080u
#define PG_G 0x100u
#define NOFAULT 0xFFFFFFFFu

#define TVA 0x40000000u      /* test window: PD slot 256, page table pt_test */
#define BIGVA 0x80000000u    /* 4 MiB page -> physical 4 MiB */
#define SELFMAP 0xFFC00000u  /* PD slot 1023 points at the PD itself */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_id[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint8_t frame[4][4096] __attribute__((aligned(4096)));

static uint32_t pa(const void *p)
{
    return (uint32_t)p;   /* identity mapped below 8 MiB */
}

static void set_pte(int i, const void *phys, uint32_t flags)
{
    pt_test[i] = pa(phys) | flags;
    sys_invlpg(TVA + (uint32_t)i * 4096);
}

/* A read or write of *va that may fault; returns the #PF error code or NOFAULT. */
static uint32_t try_access(uint32_t va, int write, uint32_t *val)
{
    uint32_t v = val ? *val : 0;
    isr_last.vec = 0xFF;
    if (write)
        __asm__ volatile("movl $1f, isr_resume\n\tmovl %0, (%1)\n1:\n\tmovl $0, isr_resume"
                         : : "r"(v), "r"(va) : "memory");
    else
        __asm__ volatile("movl $1f, isr_resume\n\tmovl (%1), %0\n1:\n\tmovl $0, isr_resume"
                         : "+r"(v) : "r"(va) : "memory");
    if (val)
        *val = v;
    if (isr_last.vec == 0xFF)
        return NOFAULT;
    return isr_last.vec == 14 ? isr_last.err : 0xEE000000u | isr_last.vec;
}

static void expect_pf(const char *what, uint32_t got, uint32_t want, uint32_t va)
{
    if (want == NOFAULT) {
        CHECK(got == NOFAULT, "%-34s no fault", what);
        return;
    }
    CHECK(got == want && isr_last.cr2 == va, "%-34s #PF err=%x cr2=%s", what, got,
          isr_last.cr2 == va ? "addr" : "WRONG");
}

/* CPL 3 side: one access described by these, result in u_res. */
static uint32_t u_va, u_write, u_res, u_val;
static void user_access(void)
{
    u_res = try_access(u_va, (int)u_write, &u_val);
}

static uint32_t user_try(uint32_t va, int write)
{
    u_va = va;
    u_write = (uint32_t)write;
    user_run(user_access, 0);
    return u_res;
}

static void paging_enable(void)
{
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 1024; i++)
            pt_id[t][i] = ((uint32_t)(t * 1024 + i) << 12) | PG_P | PG_RW | PG_US;
        pd[t] = pa(pt_id[t]) | PG_P | PG_RW | PG_US;
    }
    pd[TVA >> 22] = pa(pt_test) | PG_P | PG_RW | PG_US;
    pd[1023] = pa(pd) | PG_P | PG_RW;
    sys_write_cr3(pa(pd));
    sys_write_cr0(sys_read_cr0() | CR0_PG);
    CHECK(sys_read_cr0() & CR0_PG, "paging on, still running");
}

static void test_basic_ad(void)
{
    frame[0][0] = 0x5A;
    set_pte(0, frame[0], PG_P | PG_RW);
    pd[TVA >> 22] &= ~PG_A;
    uint32_t v = 0;
    uint32_t r = try_access(TVA, 0, &v);
    CHECK(r == NOFAULT && (v & 0xFF) == 0x5A, "read through mapping: %02x", v & 0xFF);
    CHECK((pt_test[0] & (PG_A | PG_D)) == PG_A && (pd[TVA >> 22] & PG_A),
          "after read: PTE A=%u D=%u, PDE A=%u", (pt_test[0] >> 5) & 1, (pt_test[0] >> 6) & 1,
          (pd[TVA >> 22] >> 5) & 1);
    v = 0x77;
    try_access(TVA + 4, 1, &v);
    CHECK((pt_test[0] & (PG_A | PG_D)) == (PG_A | PG_D) && frame[0][4] == 0x77, "after write: PTE A=%u D=%u",
          (pt_test[0] >> 5) & 1, (pt_test[0] >> 6) & 1);
    /* D in a PDE that references a page table is ignored: the CPU does not set it (SDM 4.8). */
    CHECK((pd[TVA >> 22] & PG_D) == 0, "PDE of a page table: D stays 0");
}

static void test_errors(void)
{
    set_pte(1, frame[1], 0);                 /* not present */
    expect_pf("read not-present (CPL0)", try_access(TVA + 0x1010, 0, NULL), 0x0, TVA + 0x1010);
    expect_pf("write not-present (CPL0)", try_access(TVA + 0x1020, 1, NULL), 0x2, TVA + 0x1020);
    set_pte(2, frame[2], PG_P);              /* read-only supervisor */
    sys_write_cr0(sys_read_cr0() & ~CR0_WP);
    expect_pf("WP=0 write read-only (CPL0)", try_access(TVA + 0x2000, 1, NULL), NOFAULT, 0);
    sys_write_cr0(sys_read_cr0() | CR0_WP);
    expect_pf("WP=1 write read-only (CPL0)", try_access(TVA + 0x2004, 1, NULL), 0x3, TVA + 0x2004);
    expect_pf("CPL3 read supervisor page", user_try(TVA + 0x2008, 0), 0x5, TVA + 0x2008);
    set_pte(3, frame[3], PG_P | PG_US);      /* read-only user */
    /* Without SMEP/SMAP, CPL 0 reads user pages; with WP=1 it cannot write read-only ones. */
    expect_pf("CPL0 read user page", try_access(TVA + 0x3004, 0, NULL), NOFAULT, 0);
    expect_pf("CPL0 write read-only user page", try_access(TVA + 0x3008, 1, NULL), 0x3, TVA + 0x3008);
    expect_pf("CPL3 read user read-only page", user_try(TVA + 0x3000, 0), NOFAULT, 0);
    expect_pf("CPL3 write user read-only page", user_try(TVA + 0x300C, 1), 0x7, TVA + 0x300C);
    expect_pf("CPL3 read not-present", user_try(TVA + 0x1FFC, 0), 0x4, TVA + 0x1FFC);
    /* The PDE's U/S and R/W combine with the PTE's (SDM 4.6): a user PTE under a supervisor PDE. */
    pd[TVA >> 22] &= ~PG_US;
    sys_invlpg(TVA + 0x3000);
    expect_pf("CPL3 read, PDE supervisor", user_try(TVA + 0x3010, 0), 0x5, TVA + 0x3010);
    pd[TVA >> 22] |= PG_US;
    sys_invlpg(TVA + 0x3000);
    /* Instruction fetch: without PAE+NXE (or SMEP) the I/D bit stays 0 (SDM 4.7). */
    isr_last.vec = 0xFF;
    __asm__ volatile("movl $pg_fetch_resume, isr_resume\n\t"
                     "jmp *%0\n"
                     "pg_fetch_resume:\n\t"
                     "movl $0, isr_resume" : : "r"(TVA + 0x1000) : "memory");
    expect_pf("fetch not-present (CPL0)", isr_last.vec == 14 ? isr_last.err : NOFAULT, 0x0, TVA + 0x1000);
    CHECK(isr_last.eip == TVA + 0x1000, "  fetch fault EIP = target");
    /* Fetch from a present page runs: a RET placed there. */
    frame[0][0x100] = 0xC3;
    __asm__ volatile("call *%0" : : "r"(TVA + 0x100) : "memory");
    CHECK(1, "fetch from mapped page executes");
}

static void test_rsvd(void)
{
    /* A 4 MiB PDE with bit 21 set: reserved in every 32-bit paging variant (SDM Table 4-5). */
    sys_write_cr4(sys_read_cr4() | CR4_PSE);
    uint32_t slot = 0x90000000u >> 22;
    pd[slot] = 0x00400000u | (1u << 21) | PG_PS | PG_P | PG_RW;
    sys_invlpg(0x90000000u);
    uint32_t r = try_access(0x90000010u, 0, NULL);
    /* The entry is present, so P=1 along with RSVD (SDM 4.7); QEMU 7.2 TCG reports 0x8. */
    if (sys_qemu_quirks() && r == 0x8)
        guest_printf("reserved-bit #PF: err=8 under QEMU, P=0 (known QEMU deviation, not checked)\n");
    else
        expect_pf("read via PDE with reserved bit 21", r, 0x9, 0x90000010u);
    pd[slot] = 0;
    sys_invlpg(0x90000000u);
}

static void test_pse(void)
{
    uint32_t slot = BIGVA >> 22;
    pd[slot] = 0x00400000u | PG_PS | PG_P | PG_RW;
    sys_invlpg(BIGVA);
    volatile uint32_t *big = (volatile uint32_t *)(BIGVA + 0x1234);
    volatile uint32_t *phys = (volatile uint32_t *)(0x00400000u + 0x1234);   /* identity map */
    *phys = 0;
    *big = 0xCAFEF00D;
    CHECK(*phys == 0xCAFEF00D, "4 MiB page: write at 0x80001234 lands at phys 0x401234");
    CHECK((pd[slot] & (PG_A | PG_D)) == (PG_A | PG_D), "4 MiB PDE A=%u D=%u", (pd[slot] >> 5) & 1,
          (pd[slot] >> 6) & 1);
    pd[slot] = 0;
    sys_invlpg(BIGVA);
}

static uint32_t read32(uint32_t va)
{
    return *(volatile uint32_t *)va;
}

static void test_tlb(void)
{
    frame[1][0] = 0xA1;
    frame[2][0] = 0xB2;
    set_pte(4, frame[1], PG_P | PG_RW);
    (void)read32(TVA + 0x4000);
    pt_test[4] = pa(frame[2]) | PG_P | PG_RW;   /* changed without INVLPG: the TLB may hold either */
    sys_invlpg(TVA + 0x4000);
    CHECK((read32(TVA + 0x4000) & 0xFF) == 0xB2, "after INVLPG the new PTE is used: %02x",
          read32(TVA + 0x4000) & 0xFF);

    /* Global pages (SDM 4.10.2.4): a CR3 load keeps them, toggling CR4.PGE flushes them. */
    sys_write_cr4(sys_read_cr4() | CR4_PGE);
    set_pte(5, frame[1], PG_P | PG_RW | PG_G);
    set_pte(6, frame[1], PG_P | PG_RW);
    (void)read32(TVA + 0x5000);
    (void)read32(TVA + 0x6000);
    pt_test[5] = pa(frame[2]) | PG_P | PG_RW | PG_G;
    pt_test[6] = pa(frame[2]) | PG_P | PG_RW;
    sys_write_cr3(sys_read_cr3());
    uint32_t g = read32(TVA + 0x5000) & 0xFF, ng = read32(TVA + 0x6000) & 0xFF;
    CHECK(ng == 0xB2, "non-global entry flushed by CR3 load: %02x", ng);
    if (sys_qemu_quirks() && g == 0xB2)
        guest_printf("global entry after CR3 load: refetched under QEMU (known QEMU deviation: its TLB "
                     "flush on CR3 load drops global entries too)\n");
    else
        CHECK(g == 0xA1, "global entry survives CR3 load: %02x", g);
    sys_write_cr4(sys_read_cr4() & ~CR4_PGE);
    sys_write_cr4(sys_read_cr4() | CR4_PGE);
    g = read32(TVA + 0x5000) & 0xFF;
    CHECK(g == 0xB2, "global entry flushed by CR4.PGE toggle: %02x", g);
    sys_write_cr4(sys_read_cr4() & ~CR4_PGE);
}

static void test_selfmap(void)
{
    /* With PD[1023] = PD, the PD appears at 0xFFFFF000 and page table i at 0xFFC00000 + i*4 KiB. */
    volatile uint32_t *pd_view = (volatile uint32_t *)(SELFMAP + 1023u * 4096);
    volatile uint32_t *pt_view = (volatile uint32_t *)(SELFMAP + (TVA >> 22) * 4096);
    CHECK(pd_view[1023] == pd[1023] && pd_view[0] == pd[0], "self-map: PD visible at 0xFFFFF000");
    CHECK(pt_view[0] == pt_test[0], "self-map: PTE of 0x40000000 at 0xFFD00000");
    frame[3][8] = 0x3C;
    pt_view[7] = pa(frame[3]) | PG_P | PG_RW;   /* write a PTE through the self-map */
    sys_invlpg(TVA + 0x7000);
    CHECK(pt_test[7] == (pa(frame[3]) | PG_P | PG_RW) && (read32(TVA + 0x7008) & 0xFF) == 0x3C,
          "PTE written through the self-map takes effect");
}

void guest_main(void)
{
    desc_init();
    user_init();
    paging_enable();
    test_basic_ad();
    test_errors();
    test_rsvd();
    test_pse();
    test_tlb();
    test_selfmap();
    sys_write_cr0(sys_read_cr0() & ~CR0_PG);
    sys_finish("sys_paging");
}
