/* Fuzz target for the interpreter: random instruction bytes run through the instruction-
 * emulation API (ringfold/x86_emulate.h) in a 1 MiB protected-mode guest, four times per
 * input: CPL 0 and CPL 3, paging off and on. Whatever the bytes do (privileged
 * instructions, port I/O, wild far jumps, writes to its own GDT, IDT or page tables), the
 * monitor must only ever report architectural guest events: no crash, no sanitizer report.
 *
 * Input: bytes 0-27 seed EAX..EDI except ESP (ECX only its low 12 bits); byte 28 EFLAGS bits (CF PF AF ZF SF TF IF DF
 * OF via a mask), byte 29 IOPL and options; the rest is code, placed at 0x10000.
 *
 * Guest layout (linear = physical with paging on, identity-mapped 4 KiB pages):
 *   0x1000 GDT (flat code/data at DPL 0 and 3, a TSS, a 16-bit code and a small data
 *   segment), 0x2000 IDT (256 interrupt gates to a HLT at 0x4000), 0x3000 TSS (ring-0
 *   stack 0x9000), 0x5000 page directory, 0x6000 page table; 0x10000 code (user, writable:
 *   self-modifying code is allowed), 0x11000-0x1FFFF user data and stack, 0x20000-0x2FFFF
 *   user read-only, 0x30000-0x3FFFF not present; PD[1] a 4 MiB page past the end of RAM,
 *   PD[0x300] an alias of the low 4 MiB at 0xC0000000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_seeds.h"
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"

#define RAM_SIZE   (1u << 20)
#define GDT_BASE   0x1000u
#define IDT_BASE   0x2000u
#define TSS_BASE   0x3000u
#define HANDLER    0x4000u
#define PD_BASE    0x5000u
#define PT_BASE    0x6000u
#define KSTACK_TOP 0x9000u
#define CODE_BASE  0x10000u
#define USTACK_TOP 0x1F000u
#define HDR_BYTES  30u
#define MAX_CODE   1024u
#define BUDGET     4000u     /* instructions per run */

#define SEL_CODE0 0x10
#define SEL_DATA0 0x18
#define SEL_CODE3 0x23
#define SEL_DATA3 0x2b
#define SEL_TSS   0x30

static struct vm vm;
static struct x86_emu *emu;
static uint8_t *template_ram;

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A segment descriptor (SDM Vol. 3 §3.4.5): flags holds G, D/B, L, AVL (bits 55-52). */
static void gdt_set(uint8_t *ram, unsigned index, uint32_t base, uint32_t limit, uint8_t access,
                    uint8_t flags)
{
    uint8_t *d = ram + GDT_BASE + index * 8;
    d[0] = (uint8_t)limit;
    d[1] = (uint8_t)(limit >> 8);
    d[2] = (uint8_t)base;
    d[3] = (uint8_t)(base >> 8);
    d[4] = (uint8_t)(base >> 16);
    d[5] = access;
    d[6] = (uint8_t)(((limit >> 16) & 0xf) | (flags << 4));
    d[7] = (uint8_t)(base >> 24);
}

static void build_template(uint8_t *ram)
{
    memset(ram, 0, RAM_SIZE);
    gdt_set(ram, 1, 0, 0xfffff, 0x9a, 0xc);
    gdt_set(ram, 2, 0, 0xfffff, 0x9a, 0xc);            /* 0x10 code, DPL 0 */
    gdt_set(ram, 3, 0, 0xfffff, 0x92, 0xc);            /* 0x18 data, DPL 0 */
    gdt_set(ram, 4, 0, 0xfffff, 0xfa, 0xc);            /* 0x23 code, DPL 3 */
    gdt_set(ram, 5, 0, 0xfffff, 0xf2, 0xc);            /* 0x2b data, DPL 3 */
    gdt_set(ram, 6, TSS_BASE, 0x67, 0x8b, 0x0);        /* 0x30 busy 32-bit TSS */
    gdt_set(ram, 7, 0, 0xffff, 0x9a, 0x0);             /* 0x38 16-bit code */
    gdt_set(ram, 8, 0x20000, 0xfff, 0xf2, 0x4);        /* 0x43 small data, DPL 3 */
    /* Interrupt gates (type 0xE): DPL 3 for INT3, INTO and software vectors, so that user
     * INT n is legal there and a #GP elsewhere. */
    for (unsigned v = 0; v < 256; v++) {
        uint8_t *g = ram + IDT_BASE + v * 8;
        unsigned dpl = (v == 3 || v == 4 || v >= 32) ? 3 : 0;
        g[0] = (uint8_t)HANDLER;
        g[1] = (uint8_t)(HANDLER >> 8);
        g[2] = SEL_CODE0;
        g[3] = 0;
        g[4] = 0;
        g[5] = (uint8_t)(0x8e | dpl << 5);
        g[6] = (uint8_t)(HANDLER >> 16);
        g[7] = (uint8_t)(HANDLER >> 24);
    }
    put32(ram + TSS_BASE + 4, KSTACK_TOP);             /* esp0 */
    put32(ram + TSS_BASE + 8, SEL_DATA0);              /* ss0 */
    put32(ram + TSS_BASE + 100, 0x68u << 16);          /* I/O map base past the limit */
    ram[HANDLER] = 0xf4;                               /* hlt */
    /* Page tables (SDM Vol. 3 §4.3): P=1 RW=2 US=4 PS=0x80. */
    put32(ram + PD_BASE, PT_BASE | 7);
    put32(ram + PD_BASE + 4, 0x400000u | 0x87);
    put32(ram + PD_BASE + 0x300 * 4, PT_BASE | 7);
    for (uint32_t pa = 0; pa < 0x400000u; pa += 4096) {
        uint32_t e = pa | 3;
        if (pa >= CODE_BASE && pa < 0x20000)
            e |= 4;
        else if (pa >= 0x20000 && pa < 0x30000)
            e = pa | 5;
        else if (pa >= 0x30000 && pa < 0x40000)
            e = 0;
        put32(ram + PT_BASE + (pa >> 12) * 4, e);
    }
    memset(ram + CODE_BASE, 0xf4, 4096);
}

static void fuzz_init(void)
{
    struct rf_err err = { { 0 } };
    memset(&vm, 0, sizeof(vm));
    if (guest_mem_init(&vm.mem, RAM_SIZE, &err) < 0) {
        fprintf(stderr, "fuzz_insn: %s\n", err.msg);
        abort();
    }
    bus_init(&vm.bus);
    vclock_init(&vm.clock, true);
    emu = x86_emu_create(&vm, &err);
    template_ram = malloc(RAM_SIZE);
    if (!emu || !template_ram) {
        fprintf(stderr, "fuzz_insn: %s\n", err.msg);
        abort();
    }
    build_template(template_ram);
}

static void seg_set(struct seg_reg *s, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr)
{
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr;
}

static void make_state(struct vcpu_state *st, const uint8_t *hdr, bool user, bool paging)
{
    vcpu_state_flat32(st, CODE_BASE);
    for (int r = 0; r < GPR_COUNT; r++)
        if (r != R_ESP)
            memcpy(&st->gpr[r], hdr + 4 * (r < R_ESP ? r : r - 1), 4);
    /* A REP string instruction retires as one instruction whatever ECX holds: a small
     * seeded count keeps runs short (code that loads a huge ECX itself still runs). */
    st->gpr[R_ECX] &= 0xfff;
    const uint32_t flag_mask = EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_TF | EFL_IF |
                               EFL_DF | EFL_OF;
    st->eflags = EFL_FIXED1 | (((uint32_t)hdr[28] << 4 | hdr[28] >> 4) & flag_mask);
    st->eflags |= (uint32_t)(hdr[29] & 3) << 12;            /* IOPL */
    if (hdr[29] & 4)
        st->eflags |= EFL_AC;
    st->gdtr.base = GDT_BASE;
    st->gdtr.limit = 9 * 8 - 1;
    st->idtr.base = IDT_BASE;
    st->idtr.limit = 256 * 8 - 1;
    seg_set(&st->tr, SEL_TSS, TSS_BASE, 0x67, SEG_ATTR_P | 0xb);
    st->gpr[R_ESP] = KSTACK_TOP;
    if (user) {
        const uint16_t dpl3 = 3 << 5;
        uint16_t code = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | SEG_ATTR_G | 0xb | dpl3;
        uint16_t data = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | SEG_ATTR_G | 0x3 | dpl3;
        for (int s = 0; s < SEG_COUNT; s++)
            seg_set(&st->seg[s], SEL_DATA3, 0, 0xffffffffu, data);
        seg_set(&st->seg[S_CS], SEL_CODE3, 0, 0xffffffffu, code);
        st->gpr[R_ESP] = USTACK_TOP;
    }
    if (hdr[29] & 8)
        st->cr0 |= CR0_AM;
    if (paging) {
        st->cr3 = PD_BASE;
        st->cr4 |= CR4_PSE;
        st->cr0 |= CR0_PG | (hdr[29] & 16 ? CR0_WP : 0);
    }
}

static void run_one(const uint8_t *hdr, const uint8_t *code, size_t len, bool user, bool paging)
{
    memcpy(vm.mem.host, template_ram, RAM_SIZE);
    memcpy(vm.mem.host + CODE_BASE, code, len);
    vm.stop = 0;
    vm.stop_msg[0] = 0;
    /* RAM was rewritten behind the emulator's back: drop decoded blocks and the TLB. */
    x86_emu_flush(emu);
    x86_emu_set_deliver(emu, !(hdr[29] & 32));
    struct vcpu_state st;
    make_state(&st, hdr, user, paging);
    x86_emu_set_state(emu, &st);

    struct x86_emu_event ev;
    uint64_t start = x86_emu_icount(emu);
    /* A few single steps first (the step path), then bounded runs. */
    for (int i = 0; i < 8; i++) {
        enum x86_emu_status s = x86_emu_step(emu, &ev);
        if (s == X86_EMU_HALT || s == X86_EMU_STOP)
            return;
        if (s == X86_EMU_EXCEPTION && (ev.vector < 0 || ev.vector > 31)) {
            fprintf(stderr, "fuzz_insn: exception vector %d is not an exception\n", ev.vector);
            abort();
        }
        if (s == X86_EMU_EXCEPTION && (hdr[29] & 32))
            return;
    }
    for (int i = 0; i < 16; i++) {
        uint64_t done = x86_emu_icount(emu) - start;
        if (done >= BUDGET)
            return;
        enum x86_emu_status s = x86_emu_run_range(emu, 0, 0xffffffffu, BUDGET - done, &ev);
        if (s == X86_EMU_HALT || s == X86_EMU_STOP || s == X86_EMU_BUDGET)
            return;
        if (s == X86_EMU_EXCEPTION && (ev.vector < 0 || ev.vector > 31)) {
            fprintf(stderr, "fuzz_insn: exception vector %d is not an exception\n", ev.vector);
            abort();
        }
        /* Not delivered: the guest cannot go on past the faulting instruction. */
        if (s == X86_EMU_EXCEPTION && (hdr[29] & 32))
            return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!emu)
        fuzz_init();
    uint8_t hdr[HDR_BYTES] = { 0 };
    memcpy(hdr, data, size < HDR_BYTES ? size : HDR_BYTES);
    const uint8_t *code = size > HDR_BYTES ? data + HDR_BYTES : data;
    size_t len = size > HDR_BYTES ? size - HDR_BYTES : 0;
    if (len > MAX_CODE)
        len = MAX_CODE;
    for (int mode = 0; mode < 4; mode++)
        run_one(hdr, code, len, mode & 1, mode & 2);
    return 0;
}

/* A few real instruction sequences to mutate: system instructions, a far call through
 * the GDT, string I/O, a page-table write followed by INVLPG. */
size_t fuzz_target_seeds(struct fuzz_seed *out, size_t max)
{
    static const uint8_t codes[][40] = {
        { 0x0f, 0x20, 0xc0, 0x0f, 0x22, 0xc0, 0xfa, 0xfb, 0x9c, 0x9d, 0xe4, 0x61, 0xe6, 0x80,
          0xcd, 0x80, 0xcc, 0x0f, 0x01, 0x0d, 0x00, 0x20, 0x01, 0x00, 0xf4 },
        { 0x9a, 0x00, 0x40, 0x00, 0x00, 0x10, 0x00, 0x66, 0xb8, 0x43, 0x00, 0x8e, 0xd8,
          0xa1, 0x00, 0x10, 0x00, 0x00, 0xcf, 0xf4 },
        { 0xb9, 0x10, 0x00, 0x00, 0x00, 0xba, 0xf8, 0x03, 0x00, 0x00, 0xbe, 0x00, 0x10, 0x01,
          0x00, 0xf3, 0x6e, 0xbf, 0x00, 0x00, 0x03, 0x00, 0xf3, 0xaa, 0xf4 },
        { 0xc7, 0x05, 0x40, 0x60, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x0f, 0x01, 0x3d, 0x00,
          0x00, 0x01, 0x00, 0x8b, 0x05, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x0b },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]) && n < max; i++) {
        uint8_t *buf = calloc(1, HDR_BYTES + sizeof(codes[i]));
        if (!buf)
            break;
        for (unsigned b = 0; b < 28; b++)
            buf[b] = (uint8_t)(i * 31 + b * 7);
        buf[28] = (uint8_t)(0x20 * i);
        buf[29] = (uint8_t)(i == 1 ? 3 : 0);
        memcpy(buf + HDR_BYTES, codes[i], sizeof(codes[i]));
        out[n].data = buf;
        out[n].size = HDR_BYTES + sizeof(codes[i]);
        n++;
    }
    return n;
}
