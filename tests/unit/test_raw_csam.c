/* Raw phases 2a and 2b (rawmode/raw_csam.c): guest CPL-0 code runs natively under CSAM, with
 * paging off (2a) and on (2b), and gives the same results as emu: patched pushf/popf/mov-from-
 * segment/int n/iret, a write to scanned code (forgotten, emulated, rescanned), emu decoding a
 * patched frame sees the original bytes; paged: a compute loop native, a supervisor write to a
 * read-only user page with CR0.WP clear, a kernel #PF with the supervisor error code.
 * Each case runs the raw engine in a forked child (its first native entry enters the jail, which
 * is irreversible) that hands the final state and the engine's counters back through shared
 * memory; the same guest then runs on emu in the parent for the reference. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ringfold/engine.h"
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "../../rawmode/raw_priv.h"
#include "../../csam/csam.h"

#define CODE 0x10000u      /* code page */
#define HANDLER 0x10800u   /* int 0x30 handler, same frame */
#define GDT 0x20000u
#define IDT 0x21000u
#define STACK_TOP 0x80000u
#define PF_HANDLER 0x10900u /* #PF handler (paged case), same frame */
#define PGDIR 0x30000u
#define PGTAB 0x31000u
#define USER_RO 0x40000u    /* paged case: a user page, read-only */

static bool paged_guest;    /* guest_state() turns paging on (phase 2b cases) */

struct result {
    int ok;
    struct vcpu_state st;
    uint64_t entries_kernel, native_ns_kernel, patch_traps, csam_writes, emu_overlay_ok;
    uint64_t entries_kernel_paged, native_ns_kernel_paged;
    struct csam_stats cs;
};

static struct vm tvm;

static void guest_setup(const uint8_t *code, size_t n)
{
    memset(&tvm, 0, sizeof(tvm));
    cr_assert_eq(guest_mem_init(&tvm.mem, 16u << 20, NULL), 0);
    bus_init(&tvm.bus);
    vclock_init(&tvm.clock, true);
    /* GDT: 0x10 flat 32-bit code, 0x18 flat data (what vcpu_state_flat32 loads). */
    const uint64_t gdt[4] = { 0, 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
    guest_mem_write(&tvm.mem, GDT, gdt, sizeof(gdt));
    /* IDT vector 0x30: 32-bit interrupt gate, DPL 0, to HANDLER (SDM Vol. 3 §6.11). */
    uint64_t gate = (uint64_t)(HANDLER & 0xffff) | (0x10ull << 16) | (0x8eull << 40) |
                    ((uint64_t)(HANDLER >> 16) << 48);
    guest_mem_write(&tvm.mem, IDT + 0x30 * 8, &gate, sizeof(gate));
    /* The handler: mov esi, 0x1234; iret. */
    const uint8_t h[] = { 0xbe, 0x34, 0x12, 0x00, 0x00, 0xcf };
    guest_mem_write(&tvm.mem, HANDLER, h, sizeof(h));
    guest_mem_write(&tvm.mem, CODE, code, n);
}

static struct vcpu_state guest_state(void)
{
    struct vcpu_state st;
    vcpu_state_flat32(&st, CODE);
    st.gpr[R_ESP] = STACK_TOP;
    st.gdtr = (struct dtable_reg){ GDT, 31 };
    st.idtr = (struct dtable_reg){ IDT, 0x31 * 8 - 1 };
    if (paged_guest) {
        st.cr0 |= CR0_PG;       /* CR0.WP clear: supervisor writes ignore R/W (SDM Vol. 3 §4.6) */
        st.cr3 = PGDIR;
    }
    return st;
}

static void run_engine(const struct engine_ops *ops, void *priv)
{
    for (int k = 0; k < 100 && !tvm.stop; k++)
        if (ops->run(priv, tvm.clock.icount + 100000000ull) == ENGINE_EXIT_HALT)
            break;
}

/* The guest on emu: the reference. */
static struct vcpu_state on_emu(void)
{
    void *priv = NULL;
    cr_assert_eq(emu_engine_ops.create(&tvm, &priv, NULL), 0);
    struct vcpu_state st = guest_state(), out;
    emu_engine_ops.set_state(priv, &st);
    run_engine(&emu_engine_ops, priv);
    emu_engine_ops.get_state(priv, &out);
    emu_engine_ops.destroy(priv);
    return out;
}

/* The guest on raw in a child; overlay_at: a patched address whose instruction emu must then
 * execute as the original (0: skip that check). */
static struct result on_raw(uint32_t overlay_at)
{
    struct result *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(res, MAP_FAILED);
    memset(res, 0, sizeof(*res));
    struct rf_err why;
    if (raw_engine_ops.probe(&why) < 0)
        cr_skip_test("raw engine unavailable here: %s", why.msg);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        void *priv = NULL;
        if (raw_engine_ops.create(&tvm, &priv, &why) < 0)
            _exit(2);
        struct raw *r = priv;
        if (!r->csam)
            _exit(3);
        struct vcpu_state st = guest_state();
        raw_engine_ops.set_state(priv, &st);
        run_engine(&raw_engine_ops, priv);
        raw_engine_ops.get_state(priv, &res->st);
        res->entries_kernel = r->stats.entries_kernel;
        res->native_ns_kernel = r->stats.native_ns_kernel;
        res->entries_kernel_paged = r->stats.entries_kernel_paged;
        res->native_ns_kernel_paged = r->stats.native_ns_kernel_paged;
        for (int k = 0; k < CSAM_KIND_COUNT; k++)
            res->patch_traps += r->stats.patch_traps[k];
        res->csam_writes = r->stats.csam_writes;
        csam_get_stats(r->csam, &res->cs);
        if (overlay_at && *(uint8_t *)guest_mem_ptr(&tvm.mem, overlay_at) == 0xcc) {
            /* Still patched in RAM: emu stepping it must run the original pushf. */
            struct vcpu_state s2 = res->st;
            s2.eip = overlay_at;
            s2.gpr[R_ESP] = STACK_TOP - 0x100;
            s2.halted = 0;
            x86_emu_set_state(r->emu, &s2);
            tvm.stop = 0;       /* the guest ended in HLT with IF clear: "hung" */
            struct x86_emu_event ev = { .vector = -1 };
            enum x86_emu_status x = x86_emu_step(r->emu, &ev);
            x86_emu_get_state(r->emu, &s2);
            res->emu_overlay_ok = x == X86_EMU_OK && s2.eip == overlay_at + 1 && s2.gpr[R_ESP] == STACK_TOP - 0x104;
        }
        res->ok = 1;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "raw child failed (status %#x)", status);
    struct result out = *res;
    munmap(res, sizeof(*res));
    return out;
}

static void teardown(void)
{
    guest_mem_destroy(&tvm.mem);
}

TestSuite(raw_csam, .fini = teardown);

/* cli; pushf; pop eax; sti; pushf; pop ebx; push 2; popf; pushf; pop ecx; mov edx, cs;
 * int 0x30; mov edi, ds; hlt. */
static const uint8_t sensitive[] = {
    0xfa, 0x9c, 0x58, 0xfb, 0x9c, 0x5b, 0x6a, 0x02, 0x9d, 0x9c, 0x59, 0x8c, 0xca,
    0xcd, 0x30, 0x8c, 0xdf, 0xf4,
};

Test(raw_csam, sensitive_kernel_code_runs_natively_with_emus_results)
{
    guest_setup(sensitive, sizeof(sensitive));
    struct vcpu_state ref = on_emu();
    guest_setup(sensitive, sizeof(sensitive));
    struct result r = on_raw(CODE + 1);
    cr_assert(r.ok);
    for (int g = 0; g < 8; g++)
        cr_expect_eq(r.st.gpr[g], ref.gpr[g], "gpr %d: raw %#x, emu %#x", g, r.st.gpr[g], ref.gpr[g]);
    cr_expect_eq(r.st.gpr[R_EAX] & EFL_IF, 0u, "pushf after cli shows IF clear");
    cr_expect_neq(r.st.gpr[R_EBX] & EFL_IF, 0u, "pushf after sti shows IF set");
    cr_expect_eq(r.st.gpr[R_EDX], 0x10u, "mov edx, cs shows the guest's selector, not the host's");
    cr_expect_eq(r.st.gpr[R_ESI], 0x1234u, "int 0x30 ran the handler, iret came back");
    cr_expect_eq(r.st.eip, ref.eip);
    cr_expect_gt(r.entries_kernel, 0u, "CPL-0 code entered natively");
    cr_expect_geq(r.patch_traps, 5u, "pushf/popf/mov-from-cs/int/iret came back through their int3 patches");
    cr_expect_gt(r.cs.patches_applied, 0u);
    cr_expect(r.emu_overlay_ok, "emu stepping a patched pushf executed the original instruction");
}

/* mov byte [CODE+imm_off], 0x55 (self-modifying, same frame); then mov eax, 0x11 (its imm8
 * rewritten to 0x55); pushf; pop ebx; hlt. The write lands in a scanned, monitored frame: CSAM
 * forgets it (original bytes back first), the write is emulated, the frame is scanned again. */
Test(raw_csam, write_to_scanned_code_invalidates_and_rescans)
{
    uint8_t code[] = { 0xc6, 0x05, 0, 0, 0, 0, 0x55, 0xb8, 0x11, 0, 0, 0, 0x9c, 0x5b, 0xf4 };
    uint32_t imm = CODE + 8;
    memcpy(&code[2], &imm, 4);
    guest_setup(code, sizeof(code));
    struct vcpu_state ref = on_emu();
    cr_assert_eq(ref.gpr[R_EAX], 0x55u);
    guest_setup(code, sizeof(code));
    struct result r = on_raw(0);
    cr_assert(r.ok);
    cr_expect_eq(r.st.gpr[R_EAX], 0x55u, "the rewritten instruction ran as written");
    cr_expect_eq(r.st.gpr[R_EBX], ref.gpr[R_EBX], "pushf after the rescan still patched");
    cr_expect_gt(r.csam_writes, 0u, "the write reached CSAM");
    cr_expect_gt(r.cs.frames_invalidated, 0u);
    cr_expect_geq(r.cs.pages_scanned, 2u, "scanned again after the write");
    cr_expect_gt(r.entries_kernel, 0u);
}

/* Phase 2b guest: 32-bit paging, the first 4 MiB identity-mapped with 4 KiB pages, supervisor
 * read/write except USER_RO (user, read-only); nothing mapped above 4 MiB. #PF handler: pop edx
 * (the error code); mov esi, cr2; hlt. */
static void paged_setup(const uint8_t *code, size_t n)
{
    guest_setup(code, n);
    paged_guest = true;
    uint32_t pde = PGTAB | 0x7;     /* P RW US: the PTEs decide */
    guest_mem_write(&tvm.mem, PGDIR, &pde, 4);
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t pte = (i << 12) | (i << 12 == USER_RO ? 0x5u : 0x3u);
        guest_mem_write(&tvm.mem, PGTAB + i * 4, &pte, 4);
    }
    uint64_t gate = (uint64_t)(PF_HANDLER & 0xffff) | (0x10ull << 16) | (0x8eull << 40) |
                    ((uint64_t)(PF_HANDLER >> 16) << 48);
    guest_mem_write(&tvm.mem, IDT + 14 * 8, &gate, sizeof(gate));
    const uint8_t h[] = { 0x5a, 0x0f, 0x20, 0xd6, 0xf4 };
    guest_mem_write(&tvm.mem, PF_HANDLER, h, sizeof(h));
}

/* Paging on, CPL 0: mov dword [USER_RO], 0x77 (read-only user page, CR0.WP clear: allowed);
 * mov edi, [USER_RO]; mov ecx, 5000000; xor eax, eax; 1: add eax, ecx; dec ecx; jnz 1b;
 * pushf; pop ebx; mov [0x500000], eax (not present: #PF, supervisor write, err 2); hlt. */
static const uint8_t paged_loop[] = {
    0xc7, 0x05, 0x00, 0x00, 0x04, 0x00, 0x77, 0x00, 0x00, 0x00,
    0x8b, 0x3d, 0x00, 0x00, 0x04, 0x00,
    0xb9, 0x40, 0x4b, 0x4c, 0x00, 0x31, 0xc0,
    0x01, 0xc8, 0x49, 0x75, 0xfb,
    0x9c, 0x5b,
    0xa3, 0x00, 0x00, 0x50, 0x00,
    0xf4,
};

Test(raw_csam, paged_kernel_code_runs_natively_with_emus_results)
{
    paged_setup(paged_loop, sizeof(paged_loop));
    struct vcpu_state ref = on_emu();
    cr_assert_eq(ref.gpr[R_EDX], 2u, "emu: #PF error code of a supervisor write to a non-present page");
    paged_setup(paged_loop, sizeof(paged_loop));
    struct result r = on_raw(0);
    paged_guest = false;
    cr_assert(r.ok);
    for (int g = 0; g < 8; g++)
        cr_expect_eq(r.st.gpr[g], ref.gpr[g], "gpr %d: raw %#x, emu %#x", g, r.st.gpr[g], ref.gpr[g]);
    cr_expect_eq(r.st.gpr[R_EDI], 0x77u, "CR0.WP clear: the kernel wrote the read-only user page");
    cr_expect_eq(r.st.gpr[R_EAX], 0x62356da0u, "sum of 1..5000000, mod 2^32");
    cr_expect_eq(r.st.gpr[R_ESI], 0x500000u, "CR2 of the kernel's #PF");
    cr_expect_eq(r.st.eip, ref.eip);
    cr_expect_gt(r.entries_kernel_paged, 0u, "paged CPL-0 code entered natively (phase 2b)");
    cr_expect_gt(r.native_ns_kernel_paged, 0u);
    cr_expect_geq(r.patch_traps, 1u, "pushf came back through its int3 patch");
}
