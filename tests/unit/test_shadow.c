/* Unit tests for shadow paging through host mappings (rawmode/shadow*.c): guest page tables in
 * guest RAM, faults turned into host mappings of the memfd at the guest linear address, checked
 * by touching those addresses from this (forked) test process and by the guest's A/D bits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "../../rawmode/shadow.h"

#define P 1u
#define W 2u
#define U 4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define G 0x100u
#define NX (1ull << 63)

/* 2-level tables. */
#define PD 0x10000u
#define PT 0x11000u
/* PAE tables. */
#define PDPT 0x12000u
#define PAE_PD 0x13000u
#define PAE_PT 0x14000u

static struct vm vm;
static struct x86_emu *emu;
static struct shadow *sh;

static void setup(void)
{
    struct vm_config cfg = { .mem_size = 16u << 20, .serial = "null", .deterministic = true };
    struct rf_err err = { { 0 } };
    cr_assert_eq(vm_init(&vm, &cfg, &err), 0, "%s", err.msg);
    emu = x86_emu_create(&vm, &err);
    cr_assert_not_null(emu, "%s", err.msg);
}

static void teardown(void)
{
    shadow_destroy(sh);
    sh = NULL;
    x86_emu_destroy(emu);
    vm_destroy(&vm);
}

TestSuite(shadow, .init = setup, .fini = teardown);

static void pw32(uint64_t pa, uint32_t v) { cr_assert_eq(guest_mem_write(&vm.mem, pa, &v, 4), 0); }
static void pw64(uint64_t pa, uint64_t v) { cr_assert_eq(guest_mem_write(&vm.mem, pa, &v, 8), 0); }
static uint32_t pr32(uint64_t pa)
{
    uint32_t v;
    cr_assert_eq(guest_mem_read(&vm.mem, pa, &v, 4), 0);
    return v;
}

/* Loads protected-mode paging state into the emu context (CR0.PG when paged). */
static void set_paging(bool paged, uint32_t cr3, uint32_t cr4, uint64_t efer, uint32_t extra_cr0)
{
    struct vcpu_state st;
    x86_emu_get_state(emu, &st);
    st.cr0 = CR0_PE | CR0_ET | (paged ? CR0_PG : 0) | extra_cr0;
    st.cr3 = cr3;
    st.cr4 = cr4;
    st.msr.efer = efer;
    x86_emu_set_state(emu, &st);
}

static void create_shadow(void)
{
    struct rf_err err = { { 0 } };
    int rc = shadow_create(&vm, emu, &sh, &err);
    if (rc == -EEXIST)
        cr_skip_test("the low 4 GiB of this process is taken (sanitizer build?): %s", err.msg);
    cr_assert_eq(rc, 0, "%s", err.msg);
}

/* 2-level paging with one page table covering linear 4..8 MiB. */
static void paging32(uint32_t cr4, uint32_t extra_cr0)
{
    pw32(PD + 1 * 4, PT | P | W | U);
    set_paging(true, PD, cr4, 0, extra_cr0);
    create_shadow();
}

#define LIN(i) (0x400000u + (uint32_t)(i) * 4096u)
static void pte32(unsigned i, uint32_t v) { pw32(PT + i * 4, v); }

/* ---- touching host addresses safely ---- */
static sigjmp_buf probe_jmp;
static volatile unsigned long probe_err;

static void probe_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    probe_err = (unsigned long)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_ERR];
    siglongjmp(probe_jmp, 1);
}

/* Reads (write=false) or writes *v at linear; false when the host faulted. */
static bool probe(uint32_t linear, bool write, uint32_t *v)
{
    struct sigaction sa = { .sa_sigaction = probe_handler, .sa_flags = SA_SIGINFO }, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old);
    bool ok = false;
    if (!sigsetjmp(probe_jmp, 1)) {
        volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)linear;
        if (write)
            *p = *v;
        else
            *v = *p;
        ok = true;
    }
    sigaction(SIGSEGV, &old, NULL);
    return ok;
}

static bool readable(uint32_t linear)
{
    uint32_t v;
    return probe(linear, false, &v);
}

static struct shadow_stats stats(void)
{
    struct shadow_stats st;
    shadow_get_stats(sh, &st);
    return st;
}

/* Host VMAs inside [lo, hi). */
static unsigned vmas_in(uint64_t lo, uint64_t hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    unsigned n = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a < hi && b > lo)
            n++;
    }
    fclose(f);
    return n;
}

/* ---- tests ---- */

Test(shadow, maps_a_user_page_and_reads_guest_data)
{
    pte32(3, 0x200000 | P | W | U);
    pw32(0x200010, 0xdeadbeef);
    paging32(0, 0);
    cr_assert(!readable(LIN(3) + 0x10), "nothing is mapped before the fault");
    uint32_t gerr = 0;
    cr_assert_eq(shadow_fault(sh, LIN(3) + 0x10, SH_READ | SH_USER, &gerr), SHADOW_MAPPED);
    uint32_t v = 0;
    cr_assert(probe(LIN(3) + 0x10, false, &v));
    cr_assert_eq(v, 0xdeadbeefu);
    uint64_t pa = 0;
    cr_assert_eq(shadow_query(sh, LIN(3), &pa), PROT_READ | PROT_EXEC, "clean page: read-only");
    cr_assert_eq(pa, 0x200000u);
    cr_assert_eq(pr32(PT + 12), 0x200000u | P | W | U | A, "walker set A, not D");
    cr_assert_eq(stats().mapped, 1u);
    cr_assert_eq(stats().live, 1u);
}

Test(shadow, writes_through_the_mapping_reach_guest_memory)
{
    pte32(4, 0x201000 | P | W | U | A | D);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(4), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, LIN(4), NULL), PROT_READ | PROT_WRITE | PROT_EXEC, "dirty page: writable");
    uint32_t v = 0x12345678;
    cr_assert(probe(LIN(4) + 0x100, true, &v));
    cr_assert_eq(pr32(0x201100), 0x12345678u);
    /* And the monitor's writes through vm.mem are seen through the guest mapping. */
    pw32(0x201200, 0xcafef00d);
    cr_assert(probe(LIN(4) + 0x200, false, &v));
    cr_assert_eq(v, 0xcafef00du);
}

Test(shadow, first_write_to_a_clean_page_faults_again_and_sets_dirty)
{
    pte32(5, 0x202000 | P | W | U);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(5), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    uint32_t v = 7;
    cr_assert(!probe(LIN(5), true, &v), "clean page is read-only");
    cr_assert(probe_err & 2, "the host fault says write");
    cr_assert_eq(pr32(PT + 20) & D, 0u);
    cr_assert_eq(shadow_fault(sh, LIN(5), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(pr32(PT + 20) & D, D, "the write's walk set D");
    cr_assert(probe(LIN(5), true, &v));
    cr_assert_eq(pr32(0x202000), 7u);
    cr_assert_eq(stats().upgraded, 1u);
    cr_assert_eq(stats().mapped, 1u);
}

Test(shadow, a_fault_on_a_page_the_books_call_mapped_maps_it_again)
{
    pte32(4, 0x201000 | P | W | U | A | D);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(4), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    /* Something behind the shadow's back takes the page away. */
    cr_assert_neq(mmap((void *)(uintptr_t)LIN(4), 4096, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  MAP_FAILED);
    cr_assert(!readable(LIN(4)));
    cr_assert_eq(shadow_fault(sh, LIN(4), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(readable(LIN(4)), "mapped again instead of a retry that faults forever");
    cr_assert_eq(stats().spurious, 1u);
    cr_assert_eq(stats().live, 1u);
}

Test(shadow, supervisor_page_in_the_user_view_is_a_guest_fault)
{
    pte32(6, 0x203000 | P | W | A | D);
    paging32(0, 0);
    uint32_t gerr = 0;
    cr_assert_eq(shadow_fault(sh, LIN(6), SH_READ | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 5u, "P | U");
    cr_assert_eq(shadow_fault(sh, LIN(6), SH_WRITE | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 7u, "P | W | U");
    cr_assert_eq(shadow_query(sh, LIN(6), NULL), -1);
    cr_assert(!readable(LIN(6)));
    /* A supervisor access (guest CPL 0) in the user view is not mapped either: emulated. */
    cr_assert_eq(shadow_fault(sh, LIN(6), SH_READ, &gerr), SHADOW_EMULATE);
    cr_assert_eq(shadow_query(sh, LIN(6), NULL), -1);
    cr_assert_eq(stats().guest_pf, 2u);
}

Test(shadow, not_present_error_codes)
{
    pte32(7, 0x204000);      /* not present */
    paging32(0, 0);
    uint32_t gerr = 99;
    cr_assert_eq(shadow_fault(sh, LIN(7), SH_READ | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 4u);
    cr_assert_eq(shadow_fault(sh, LIN(7), SH_WRITE | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 6u);
    cr_assert_eq(shadow_fault(sh, LIN(7), SH_READ, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 0u);
    cr_assert_eq(shadow_fault(sh, LIN(7), SH_WRITE, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 2u);
    /* PDE not present. */
    cr_assert_eq(shadow_fault(sh, 0x00800000, SH_READ | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 4u);
    /* Read-only user page written from user mode: protection fault. */
    pte32(8, 0x205000 | P | U);
    cr_assert_eq(shadow_fault(sh, LIN(8), SH_WRITE | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 7u);
}

/* PAE: PDPT -> PD -> PT covering linear 0..2 MiB... we use PD entry 2 (4..6 MiB). */
static void paging_pae(uint32_t cr4, uint64_t efer)
{
    pw64(PDPT, PAE_PD | P);
    pw64(PAE_PD + 2 * 8, PAE_PT | P | W | U);
    set_paging(true, PDPT, CR4_PAE | cr4, efer, 0);
    create_shadow();
}
static void pte_pae(unsigned i, uint64_t v) { pw64(PAE_PT + i * 8, v); }

Test(shadow, pae_nx_gives_an_instruction_fetch_fault)
{
    pte_pae(1, 0x206000 | P | W | U | NX);
    pte_pae(2, 0x207000 | P | W | U);
    paging_pae(0, EFER_NXE);
    uint32_t gerr = 0;
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_EXEC | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 0x15u, "P | U | I/D");
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, &gerr), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), PROT_READ, "NX page: not executable");
    cr_assert_eq(shadow_fault(sh, LIN(2), SH_EXEC | SH_USER, &gerr), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, LIN(2), NULL), PROT_READ | PROT_EXEC);
    /* Not present in PAE with NXE: the I/D bit is reported too. */
    cr_assert_eq(shadow_fault(sh, LIN(3), SH_EXEC | SH_USER, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 0x14u);
}

Test(shadow, invlpg_unmaps_the_page)
{
    pte32(1, 0x208000 | P | W | U);
    pte32(2, 0x209000 | P | W | U);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_fault(sh, LIN(2), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(readable(LIN(1)));
    /* The guest changes the PTE and invalidates: the new frame shows on the next fault. */
    pte32(1, 0x20a000 | P | W | U);
    pw32(0x20a000, 0xabcd);
    shadow_invlpg(sh, LIN(1) + 0x123);
    cr_assert(!readable(LIN(1)));
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), -1);
    cr_assert(readable(LIN(2)), "other pages stay");
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    uint32_t v = 0;
    cr_assert(probe(LIN(1), false, &v));
    cr_assert_eq(v, 0xabcdu);
    cr_assert_eq(stats().invlpg_unmapped, 1u);
}

Test(shadow, cr3_write_keeps_only_global_pages_with_pge)
{
    pte32(1, 0x208000 | P | W | U | G);
    pte32(2, 0x209000 | P | W | U);
    paging32(CR4_PGE, 0);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_fault(sh, LIN(2), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    shadow_paging_changed(sh, true);
    cr_assert(readable(LIN(1)), "global page survives MOV CR3");
    cr_assert(!readable(LIN(2)), "non-global page is gone");
    cr_assert_eq(stats().live, 1u);
    /* INVLPG drops globals too. */
    shadow_invlpg(sh, LIN(1));
    cr_assert(!readable(LIN(1)));
    /* A paging-mode change drops everything. */
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    shadow_paging_changed(sh, false);
    cr_assert(!readable(LIN(1)));
    cr_assert_eq(stats().live, 0u);
}

Test(shadow, revalidate_keeps_current_mappings_and_drops_changed_ones)
{
    for (unsigned i = 1; i <= 6; i++)
        pte32(i, (0x210000 + i * 4096) | P | W | U | A | D);
    paging32(0, 0);
    for (unsigned i = 1; i <= 6; i++)
        cr_assert_eq(shadow_fault(sh, LIN(i), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    /* What guest kernel code on emu might do, with or without INVLPG: */
    pte32(1, 0x220000 | P | W | U | A | D);          /* another frame */
    pte32(2, 0x212000 | W | U | A | D);              /* not present */
    pte32(3, 0x213000 | P | U | A | D);              /* write-protected (COW) */
    pte32(5, 0x215000 | P | W | U | A);              /* D cleared after writeback */
    pte32(6, 0x216000 | P | W | A | D);              /* now supervisor */
    shadow_revalidate(sh);
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), -1);
    cr_assert_eq(shadow_query(sh, LIN(2), NULL), -1);
    cr_assert_eq(shadow_query(sh, LIN(3), NULL), PROT_READ | PROT_EXEC);
    cr_assert_eq(shadow_query(sh, LIN(4), NULL), PROT_READ | PROT_WRITE | PROT_EXEC, "unchanged: kept");
    cr_assert_eq(shadow_query(sh, LIN(5), NULL), PROT_READ | PROT_EXEC, "clean again: next write sets D");
    cr_assert_eq(shadow_query(sh, LIN(6), NULL), -1);
    cr_assert(!readable(LIN(1)));
    cr_assert(!readable(LIN(6)));
    uint32_t v = 9;
    cr_assert(probe(LIN(4), true, &v), "kept mapping needs no fault");
    cr_assert(!probe(LIN(5), true, &v));
    cr_assert_eq(shadow_fault(sh, LIN(5), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(pr32(PT + 20) & D, D);
    struct shadow_stats st = stats();
    cr_assert_eq(st.revalidate_dropped, 3u);
    cr_assert_eq(st.revalidate_downgraded, 2u);
    cr_assert_eq(st.live, 3u);
}

Test(shadow, cr3_write_without_pge_drops_global_entries_too)
{
    pte32(1, 0x208000 | P | W | U | G);   /* G is ignored while CR4.PGE = 0 */
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    shadow_paging_changed(sh, true);
    cr_assert(!readable(LIN(1)));
}

static uint64_t hook_pa = ~0ull;
static int hook_calls;
static void write_hook(void *opaque, uint64_t pa_frame)
{
    cr_assert_eq(opaque, &hook_calls);
    hook_pa = pa_frame;
    hook_calls++;
}

Test(shadow, monitored_frame_is_read_only_at_every_alias)
{
    pte32(1, 0x20b000 | P | W | U | A | D);
    pte32(9, 0x20b000 | P | W | U | A | D);   /* an alias of the same frame */
    paging32(0, 0);
    shadow_set_write_hook(sh, write_hook, &hook_calls);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_fault(sh, LIN(9), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(shadow_query(sh, LIN(1), NULL) & PROT_WRITE);
    shadow_monitor_frame(sh, 0x20b000, true);
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), PROT_READ | PROT_EXEC);
    cr_assert_eq(shadow_query(sh, LIN(9), NULL), PROT_READ | PROT_EXEC);
    uint32_t v = 1;
    cr_assert(!probe(LIN(9) + 8, true, &v), "alias is read-only too");
    cr_assert(readable(LIN(1)));
    cr_assert_eq(shadow_fault(sh, LIN(9) + 8, SH_WRITE | SH_USER, NULL), SHADOW_EMULATE);
    cr_assert_eq(hook_calls, 1);
    cr_assert_eq(hook_pa, 0x20b000u);
    /* A new mapping of a monitored frame is read-only from the start. */
    pte32(10, 0x20b000 | P | W | U | A | D);
    cr_assert_eq(shadow_fault(sh, LIN(10), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, LIN(10), NULL), PROT_READ | PROT_EXEC);
    cr_assert_eq(stats().monitored_frames, 1u);
    /* Monitoring off: the next write upgrades. */
    shadow_monitor_frame(sh, 0x20b000, false);
    cr_assert_eq(shadow_fault(sh, LIN(9), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(probe(LIN(9) + 8, true, &v));
    cr_assert_eq(pr32(0x20b008), 1u);
    cr_assert_eq(stats().monitored_frames, 0u);
}

Test(shadow, mmio_and_memory_holes_are_emulated)
{
    pte32(1, 0xa0000 | P | W | U);         /* VGA window */
    pte32(2, 0x01000000 | P | W | U);      /* just past 16 MiB of RAM */
    pte32(3, 0xfec00000 | P | W | U);      /* IO-APIC MMIO */
    paging32(0, 0);
    for (unsigned i = 1; i <= 3; i++) {
        cr_assert_eq(shadow_fault(sh, LIN(i), SH_READ | SH_USER, NULL), SHADOW_EMULATE);
        cr_assert_eq(shadow_query(sh, LIN(i), NULL), -1);
    }
    cr_assert_eq(stats().emulate_mmio, 3u);
}

Test(shadow, pages_below_mmap_min_addr_are_emulated)
{
    pw32(PD, PT | P | W | U);               /* linear 0..4 MiB through PT */
    pte32(0, 0x20c000 | P | W | U);
    set_paging(true, PD, 0, 0, 0);
    create_shadow();
    cr_assert_eq(shadow_fault(sh, 0x10, SH_READ | SH_USER, NULL), SHADOW_EMULATE);
    cr_assert_eq(stats().emulate_low, 1u);
}

Test(shadow, unpaged_guest_maps_physical_writable)
{
    set_paging(false, 0, 0, 0, 0);
    create_shadow();
    pw32(0x300000, 0x55aa);
    cr_assert_eq(shadow_fault(sh, 0x300004, SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, 0x300000, NULL), PROT_READ | PROT_WRITE | PROT_EXEC);
    uint32_t v = 0;
    cr_assert(probe(0x300000, false, &v));
    cr_assert_eq(v, 0x55aau);
    cr_assert_eq(shadow_fault(sh, 0xb8000, SH_WRITE | SH_USER, NULL), SHADOW_EMULATE, "VGA window");
}

Test(shadow, large_page_is_mapped_whole_and_invlpg_drops_it_whole)
{
    pw32(PD + 2 * 4, 0x00c00000 | P | W | U | PS);     /* 4 MiB page: linear 8 MiB -> pa 12 MiB */
    set_paging(true, PD, CR4_PSE, 0, 0);
    create_shadow();
    pw32(0x00c05004, 0x4444);
    pw32(0x00e00000, 0x5555);
    cr_assert_eq(shadow_fault(sh, 0x00805004, SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    uint32_t v = 0;
    cr_assert(probe(0x00805004, false, &v));
    cr_assert_eq(v, 0x4444u);
    cr_assert(probe(0x00a00000, false, &v), "the other pieces need no fault of their own");
    cr_assert_eq(v, 0x5555u);
    struct shadow_stats st = stats();
    cr_assert_eq(st.live, 1024u);
    cr_assert_eq(st.ahead, 1023u);
    cr_assert_eq(st.runs, 1u, "one host mapping");
    cr_assert_eq(shadow_query(sh, 0x00bff000, NULL), PROT_READ | PROT_EXEC, "clean: read-only everywhere");
    /* The first write sets the one D bit and makes the whole page writable. */
    cr_assert_eq(shadow_fault(sh, 0x00900000, SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(pr32(PD + 8) & D, D);
    cr_assert_eq(shadow_query(sh, 0x00bff000, NULL), PROT_READ | PROT_WRITE | PROT_EXEC);
    shadow_invlpg(sh, 0x00bff000);      /* another address inside the same 4 MiB page */
    cr_assert(!readable(0x00805004));
    cr_assert(!readable(0x00a00000));
    cr_assert_eq(stats().live, 0u);
}

Test(shadow, large_page_over_low_memory_skips_page_0_and_the_vga_hole)
{
    pw32(PD, 0x0 | P | W | U | PS | A | D);           /* identity 4 MiB page at 0, as at boot */
    set_paging(true, PD, CR4_PSE, 0, 0);
    create_shadow();
    shadow_monitor_frame(sh, 0x00200000, true);
    cr_assert_eq(shadow_fault(sh, 0x00100000, SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(stats().live, 1024u - 1 - 32, "page 0 and the 32 VGA pages stay unmapped");
    cr_assert_eq(shadow_query(sh, 0x0, NULL), -1);
    cr_assert_eq(shadow_query(sh, 0xa0000, NULL), -1);
    cr_assert_eq(shadow_query(sh, 0xbf000, NULL), -1);
    cr_assert_eq(shadow_query(sh, 0x00200000, NULL), PROT_READ | PROT_EXEC, "monitored frame: read-only");
    cr_assert_eq(shadow_query(sh, 0x00201000, NULL), PROT_READ | PROT_WRITE | PROT_EXEC);
    cr_assert_eq(shadow_query(sh, 0x001ff000, NULL), PROT_READ | PROT_WRITE | PROT_EXEC);
    cr_assert_eq(stats().runs, 4u, "[1, A0) [C0, 200) [200] (201, 400)");
    cr_assert_leq(vmas_in(0, 1ull << 32), 2 * stats().runs + 1);
    cr_assert_eq(shadow_fault(sh, 0xb8000, SH_WRITE | SH_USER, NULL), SHADOW_EMULATE);
}

Test(shadow, large_page_with_more_stretches_than_the_budget_still_maps_the_faulting_piece)
{
    pw32(PD + 2 * 4, 0x00c00000 | P | W | U | PS | A | D);
    set_paging(true, PD, CR4_PSE, 0, 0);
    create_shadow();
    for (unsigned i = 0; i < 64; i += 2)
        shadow_monitor_frame(sh, 0x00c00000 + i * 4096, true);     /* 64 alternating stretches */
    shadow_set_vma_budget(sh, 11);
    cr_assert_eq(shadow_fault(sh, 0x00821000, SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(shadow_query(sh, 0x00821000, NULL) & PROT_WRITE, "the faulting piece is mapped");
    cr_assert_gt(stats().evictions, 0u);
    cr_assert_leq(2 * stats().runs + 1, 11u);
    cr_assert_leq(vmas_in(0, 1ull << 32), 11u);
}

Test(shadow, pae_2m_page_is_mapped_whole)
{
    pw64(PDPT, PAE_PD | P);
    pw64(PAE_PD + 3 * 8, 0x00400000 | P | W | U | PS | A | D);    /* linear 6..8 MiB -> pa 4 MiB */
    set_paging(true, PDPT, CR4_PAE, 0, 0);
    create_shadow();
    cr_assert_eq(shadow_fault(sh, 0x00712345, SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(stats().live, 512u);
    uint64_t pa = 0;
    cr_assert_eq(shadow_query(sh, 0x00600000, &pa), PROT_READ | PROT_WRITE | PROT_EXEC);
    cr_assert_eq(pa, 0x00400000u);
    shadow_invlpg(sh, 0x00600000);
    cr_assert_eq(stats().live, 0u);
}

Test(shadow, view_all_maps_supervisor_pages_and_wp0_writes)
{
    pte32(1, 0x20d000 | P | A | D);          /* supervisor, read-only */
    paging32(0, 0);                          /* CR0.WP = 0 */
    shadow_set_view(sh, SHADOW_VIEW_ALL);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ, NULL), SHADOW_MAPPED);
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), PROT_READ | PROT_EXEC);
    /* Supervisor write to a read-only page succeeds with WP = 0 (SDM §4.6.1). */
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_WRITE, NULL), SHADOW_MAPPED);
    cr_assert(shadow_query(sh, LIN(1), NULL) & PROT_WRITE);
    /* Back to the user view: supervisor mappings vanish. */
    shadow_set_view(sh, SHADOW_VIEW_USER);
    cr_assert_eq(shadow_query(sh, LIN(1), NULL), -1);
    cr_assert(!readable(LIN(1)));
    /* A user read-only page written by the supervisor in the user view: emulated. */
    pte32(2, 0x20e000 | P | U | A | D);
    cr_assert_eq(shadow_fault(sh, LIN(2), SH_WRITE, NULL), SHADOW_EMULATE);
}

Test(shadow, wp1_supervisor_write_to_read_only_page_is_a_guest_fault)
{
    pte32(1, 0x20d000 | P | A | D);
    paging32(0, CR0_WP);
    shadow_set_view(sh, SHADOW_VIEW_ALL);
    uint32_t gerr = 0;
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_WRITE, &gerr), SHADOW_GUEST_PF);
    cr_assert_eq(gerr, 3u);
}

Test(shadow, contiguous_pages_merge_into_one_host_vma)
{
    for (unsigned i = 0; i < 64; i++)
        pte32(i, (0x300000 + i * 4096) | P | W | U | A | D);
    paging32(0, 0);
    for (unsigned i = 0; i < 64; i++)
        cr_assert_eq(shadow_fault(sh, LIN(i), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(stats().runs, 1u);
    /* The reservation below, the 64 pages, the reservation above. */
    cr_assert_leq(vmas_in(0, 1ull << 32), 3u);
    /* Write-protecting one page splits the run in three; writable again, it is one. */
    shadow_monitor_frame(sh, 0x300000 + 20 * 4096, true);
    cr_assert_eq(stats().runs, 3u);
    cr_assert_leq(vmas_in(0, 1ull << 32), 2 * stats().runs + 1);
    shadow_monitor_frame(sh, 0x300000 + 20 * 4096, false);
    cr_assert_eq(shadow_fault(sh, LIN(20), SH_WRITE | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert_eq(stats().runs, 1u);
    /* Punching one page out splits the run in two. */
    shadow_invlpg(sh, LIN(10));
    cr_assert_eq(stats().runs, 2u);
    cr_assert_leq(vmas_in(0, 1ull << 32), 2 * stats().runs + 1);
    /* Unmapping everything gives the whole reservation back as one VMA. */
    shadow_flush_all(sh);
    cr_assert_eq(vmas_in(0, 1ull << 32), 1u);
}

Test(shadow, evicts_everything_at_the_vma_budget)
{
    for (unsigned i = 0; i < 64; i++)
        pte32(i, (0x300000 + i * 2 * 4096) | P | W | U | A | D);   /* never contiguous */
    paging32(0, 0);
    shadow_set_vma_budget(sh, 21);      /* at most 10 runs */
    for (unsigned i = 0; i < 64; i++) {
        cr_assert_eq(shadow_fault(sh, LIN(i), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
        cr_assert(readable(LIN(i)));
        cr_assert_leq(vmas_in(0, 1ull << 32), 21u);
    }
    struct shadow_stats st = stats();
    cr_assert_eq(st.evictions, 6u, "64 isolated pages, 10 per budget");
    cr_assert_eq(st.live, 4u);
    cr_assert_eq(st.peak, 10u);
}

Test(shadow, a20_change_flushes)
{
    pte32(1, 0x208000 | P | W | U);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    cr_assert(!shadow_sync_a20(sh));
    vm.a20_gen++;
    cr_assert(shadow_sync_a20(sh));
    cr_assert(!readable(LIN(1)));
}

Test(shadow, a_second_reservation_fails_with_the_reason)
{
    set_paging(false, 0, 0, 0, 0);
    create_shadow();
    struct shadow *again = NULL;
    struct rf_err err = { { 0 } };
    cr_assert_eq(shadow_create(&vm, emu, &again, &err), -EEXIST);
    cr_assert_null(again);
    cr_assert(strstr(err.msg, "already in use"), "%s", err.msg);
}

Test(shadow, stats_print)
{
    pte32(1, 0x208000 | P | W | U);
    paging32(0, 0);
    cr_assert_eq(shadow_fault(sh, LIN(1), SH_READ | SH_USER, NULL), SHADOW_MAPPED);
    char buf[4096] = { 0 };
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    shadow_print_stats(sh, f);
    fclose(f);
    cr_assert(strstr(buf, "shadow: 1 faults: 1 mapped"), "%s", buf);
    cr_assert(strstr(buf, "1 pages mapped now"), "%s", buf);
}

/* ---- randomized consistency check against an independent reading of the guest tables ---- */

/* Guest rights of a linear address under 2-level paging with PSE, read directly from guest
 * RAM (no A/D side effects): false when not present. */
struct ref_xlate { bool user, writable, dirty; uint64_t pa; };
static bool ref_walk(uint32_t lin, struct ref_xlate *r)
{
    uint32_t pde = pr32(PD + (lin >> 22) * 4);
    if (!(pde & P))
        return false;
    if (pde & PS) {
        *r = (struct ref_xlate){ pde & U, pde & W, pde & D, (pde & 0xffc00000u) | (lin & 0x3ff000u) };
        return true;
    }
    uint32_t pte = pr32((pde & 0xfffff000u) + ((lin >> 12) & 0x3ff) * 4);
    if (!(pte & P))
        return false;
    *r = (struct ref_xlate){ pde & pte & U, pde & pte & W, pte & D, pte & 0xfffff000u };
    return true;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* Region under test: linear 4..20 MiB through PD entries 1..4 (page tables at PT + k*4 KiB). */
#define RLO 0x400000u
#define RHI 0x1800000u    /* PD entry 5 (20..24 MiB) is one 4 MiB page */

/* PTE number i of a table: a third of them map hot frames so that neighbours are contiguous. */
static uint32_t random_pte(uint32_t i)
{
    /* Frames across RAM, the VGA hole and past the end of RAM (16 MiB). */
    uint32_t frame = rnd(5) == 0 ? 0xa0000u + rnd(32) * 4096u : (0x100000u + rnd(0x1000) * 4096u);
    if (rnd(8) == 0)
        frame = 0x01000000u + rnd(256) * 4096u;
    if (rnd(2) == 0)
        frame = 0x300000u + (i % 16) * 4096u;  /* hot frames: aliases, contiguous runs */
    return frame | (rnd(6) ? P : 0) | (rnd(3) ? W : 0) | (rnd(4) ? U : 0) | (rnd(2) ? A : 0) | (rnd(2) ? D : 0) |
           (rnd(4) ? 0 : G);
}

static bool frame_monitored[0x1000];    /* frames of the first 16 MiB */

/* The host's mappings below 4 GiB, from /proc/self/maps: rights of each VMA. */
struct host_vma { uint64_t a, b; int prot; };
static struct host_vma host_vmas[4096];
static unsigned host_nvmas;

static void read_host_vmas(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    host_nvmas = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long a, b;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) != 3 || a >= (1ull << 32))
            continue;
        cr_assert_lt(host_nvmas, 4096u);
        int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                   (perms[2] == 'x' ? PROT_EXEC : 0);
        host_vmas[host_nvmas++] = (struct host_vma){ a, b, prot ? prot : -1 };
    }
    fclose(f);
}

static void check_invariants(void)
{
    struct shadow_stats st = stats();
    read_host_vmas();
    uint64_t live = 0, runs = 0;
    uint64_t prev_pa = 0;
    int prev_prot = -1;
    unsigned v = 0;
    for (uint32_t lin = RLO; lin < RHI; lin += 4096) {
        /* The host's rights here (-1: PROT_NONE or nothing) must be the books' exactly. */
        while (v < host_nvmas && host_vmas[v].b <= lin)
            v++;
        int host = v < host_nvmas && host_vmas[v].a <= lin ? host_vmas[v].prot : -1;
        uint64_t pa;
        int prot = shadow_query(sh, lin, &pa);
        cr_assert_eq(host, prot, "%#x: host rights %d, books %d", lin, host, prot);
        if (prot < 0) {
            prev_prot = -1;
            continue;
        }
        live++;
        if (!(prev_prot == prot && pa == prev_pa + 4096))
            runs++;
        prev_prot = prot;
        prev_pa = pa;
        struct ref_xlate r;
        cr_assert(ref_walk(lin, &r), "%#x mapped but not present in the guest tables", lin);
        cr_assert(r.user, "%#x: supervisor page in the user view", lin);
        cr_assert_eq(r.pa, pa, "%#x: frame %#llx, guest says %#llx", lin, (unsigned long long)pa,
                     (unsigned long long)r.pa);
        cr_assert(guest_mem_is_ram(&vm.mem, pa, 4096), "%#x: frame %#llx is not RAM", lin, (unsigned long long)pa);
        cr_assert(prot & PROT_READ);
        if (prot & PROT_WRITE) {
            cr_assert(r.writable && r.dirty, "%#x: writable mapping of a read-only or clean page", lin);
            cr_assert(!frame_monitored[pa >> 12], "%#x: writable mapping of a monitored frame", lin);
        }
    }
    cr_assert_eq(live, st.live);
    cr_assert_eq(runs, st.runs);
    cr_assert_leq(host_nvmas, 2 * st.runs + 1);
    /* Real accesses agree on a sample of pages. */
    for (int i = 0; i < 8; i++) {
        uint32_t lin = RLO + rnd((RHI - RLO) >> 12) * 4096u;
        cr_assert_eq(readable(lin), shadow_query(sh, lin, NULL) >= 0, "%#x", lin);
    }
}

Test(shadow, random_tables_and_events_keep_the_books_and_host_consistent)
{
    for (uint32_t k = 0; k < 4; k++) {
        pw32(PD + (1 + k) * 4, (PT + k * 4096) | P | W | U);
        for (uint32_t i = 0; i < 1024; i++)
            pw32(PT + k * 4096 + i * 4, random_pte(i));
    }
    pw32(PD + 5 * 4, 0x00800000u | P | W | U | PS);
    paging32(CR4_PSE | CR4_PGE, 0);      /* global pages: CR3 flushes unmap around them */
    shadow_set_vma_budget(sh, 41);
    shadow_set_write_hook(sh, write_hook, &hook_calls);
    for (int op = 0; op < 4000; op++) {
        /* Half the accesses go to a hot set of 32 pages, so pages get upgraded and evicted. */
        uint32_t lin = rnd(2) ? RLO + rnd((RHI - RLO) >> 12) * 4096u + rnd(4096)
                              : RLO + 0x3fd000u + rnd(32) * 4096u + rnd(4096);
        uint32_t c = rnd(100);
        if (c < 75) {
            unsigned access = SH_USER | (rnd(2) ? SH_WRITE : rnd(2) ? SH_EXEC : SH_READ);
            uint32_t gerr = 0;
            enum shadow_result res = shadow_fault(sh, lin, access, &gerr);
            struct ref_xlate r;
            bool present = ref_walk(lin, &r);
            if (res == SHADOW_GUEST_PF) {
                cr_assert(!present || !r.user || ((access & SH_WRITE) && !r.writable), "%#x", lin);
                cr_assert_eq(gerr & 1, present ? 1u : 0u);
            } else if (res == SHADOW_MAPPED) {
                int prot = shadow_query(sh, lin, NULL);
                cr_assert(prot >= 0 && (!(access & SH_WRITE) || (prot & PROT_WRITE)), "%#x", lin);
            } else {
                cr_assert(!guest_mem_is_ram(&vm.mem, r.pa, 4096) || (access & SH_WRITE), "%#x", lin);
            }
        } else if (c < 85) {
            /* The guest rewrites a PTE and invalidates it, as it must for present entries. */
            uint32_t k = (lin - RLO) >> 22;
            if (k == 4) {
                shadow_invlpg(sh, lin);     /* the 4 MiB page: all its pieces go */
                continue;
            }
            pw32(PT + k * 4096 + ((lin >> 12) & 0x3ff) * 4, random_pte((lin >> 12) & 0x3ff));
            shadow_invlpg(sh, lin);
        } else if (c < 86) {
            shadow_paging_changed(sh, true);
        } else if (c < 87) {
            /* Kernel code on emu edits tables without telling anyone; the engine revalidates. */
            for (int n = 0; n < 20; n++) {
                uint32_t i = rnd(2) ? rnd(4096) : 1021 + rnd(32);   /* often the hot set */
                uint32_t pte = pr32(PT + i * 4);
                pw32(PT + i * 4, rnd(2) ? random_pte(i & 0x3ff) : pte & ~(rnd(2) ? D : W));
            }
            shadow_revalidate(sh);
        } else if (c < 99) {
            uint32_t frame = 0x300u + rnd(16);
            frame_monitored[frame] = rnd(2);
            shadow_monitor_frame(sh, (uint64_t)frame << 12, frame_monitored[frame]);
        } else {
            shadow_flush_all(sh);
        }
        check_invariants();
    }
    check_invariants();
    struct shadow_stats st = stats();
    cr_assert_gt(st.mapped, 100u);
    cr_assert_gt(st.guest_pf, 100u);
    cr_assert_gt(st.emulate_mmio, 10u);
    cr_assert_gt(st.emulate_monitored, 1u);
    cr_assert_gt(st.upgraded, 0u, "a clean page is upgraded once, on its first write");
    cr_assert_gt(st.evictions, 0u);
    cr_assert_gt(st.invlpg_unmapped, 10u);
    cr_assert_eq(st.hook_calls, st.emulate_monitored);
    cr_assert_gt(st.revalidate_dropped + st.revalidate_downgraded, 0u);
    cr_assert_null(shadow_error(sh));
}

/* ---- the engine's use, end to end: real host faults resolved in a SIGSEGV handler ---- */

static volatile int handler_faults;
static volatile enum shadow_result handler_last;
static volatile uint32_t handler_gerr;

/* What the raw engine's #PF path does (rawmode/shadow.h): access bits from the host error
 * code, SH_USER for guest CPL 3, retry on MAPPED. */
static void engine_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    ucontext_t *uc = ctx;
    unsigned long err = (unsigned long)uc->uc_mcontext.gregs[REG_ERR];
    unsigned access = SH_USER | ((err & 2) ? SH_WRITE : (err & 16) ? SH_EXEC : SH_READ);
    uint32_t gerr = 0;
    handler_faults++;
    handler_last = shadow_fault(sh, (uint32_t)(uintptr_t)si->si_addr, access, &gerr);
    handler_gerr = gerr;
    if (handler_last != SHADOW_MAPPED)
        siglongjmp(probe_jmp, 1);
}

static bool engine_run(void (*fn)(uint32_t), uint32_t arg)
{
    struct sigaction sa = { .sa_sigaction = engine_handler, .sa_flags = SA_SIGINFO }, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old);
    bool ok = false;
    if (!sigsetjmp(probe_jmp, 1)) {
        fn(arg);
        ok = true;
    }
    sigaction(SIGSEGV, &old, NULL);
    return ok;
}

static volatile uint32_t sink;
static void do_read(uint32_t lin) { sink = *(volatile uint32_t *)(uintptr_t)lin; }
static void do_write(uint32_t lin) { *(volatile uint32_t *)(uintptr_t)lin = 0x600dcafe; }
static void do_call(uint32_t lin) { ((void (*)(void))(uintptr_t)lin)(); }

Test(shadow, host_faults_are_resolved_in_a_signal_handler)
{
    pte_pae(1, 0x206000 | P | W | U);           /* clean, writable */
    pte_pae(2, 0x207000 | P | W | U | NX);
    pte_pae(3, 0x208000 | P | U);               /* read-only */
    paging_pae(0, EFER_NXE);
    pw32(0x206000, 0x1234);
    uint8_t ret = 0xc3;
    cr_assert_eq(guest_mem_write(&vm.mem, 0x206100, &ret, 1), 0);
    cr_assert_eq(guest_mem_write(&vm.mem, 0x207100, &ret, 1), 0);

    cr_assert(engine_run(do_read, LIN(1)));
    cr_assert_eq(sink, 0x1234u);
    cr_assert_eq(handler_faults, 1);
    cr_assert(engine_run(do_write, LIN(1)), "clean page: a second fault sets D and upgrades");
    cr_assert_eq(handler_faults, 2);
    cr_assert_eq(pr32(0x206000), 0x600dcafeu);
    cr_assert_eq(pr32(PAE_PT + 8) & D, D);
    cr_assert(engine_run(do_call, LIN(1) + 0x100), "executable page runs");
    cr_assert_eq(handler_faults, 2, "already mapped executable");

    cr_assert(!engine_run(do_call, LIN(2) + 0x100), "NX page");
    cr_assert_eq(handler_last, SHADOW_GUEST_PF);
    cr_assert_eq(handler_gerr, 0x15u, "P | U | I/D from the host's I/D bit");
    cr_assert(engine_run(do_read, LIN(2)), "but readable");

    cr_assert(!engine_run(do_write, LIN(3)));
    cr_assert_eq(handler_last, SHADOW_GUEST_PF);
    cr_assert_eq(handler_gerr, 7u);
}
