/* Sample generator of the native-execution fuzzer: random bytes mixed with templates of the
 * instructions raw mode must trap, emulate or contain (docs/testing.md, "Fuzzing native execution"). */
#include "fuzz_native.h"
#include "guest.h"

static uint32_t fz_state = 1;

uint32_t fz_rand(void)
{
    return guest_rand(&fz_state);
}

void fz_seed(uint32_t seed);
void fz_seed(uint32_t seed)
{
    fz_state = seed ? seed : 0x9E3779B9u;
    for (int i = 0; i < 8; i++)
        (void)fz_rand();
}

static uint8_t *const code = (uint8_t *)FZ_CODE;
static uint8_t *const scratch = (uint8_t *)FZ_SCRATCH;
static uint8_t *const stack = (uint8_t *)FZ_STACK;

/* Ring-0 pseudo-descriptors for the lgdt/lidt templates (fuzz_ring0.c keeps them current, in a
 * page the fuzz address space maps). */
extern uint32_t fz0_gdtr_addr, fz0_idtr_addr, fz0_cr0;

static uint32_t pick(const uint32_t *v, uint32_t n)
{
    return v[fz_rand() % n];
}
#define PICK(arr) pick(arr, sizeof(arr) / sizeof(arr[0]))

/* Selectors for segment loads: the host's flat GDT selectors 0x23/0x2b/0x33 and CPUNODE 0x7b,
 * the guest's own, null, and random ones. */
static uint16_t sel_any(void)
{
    static const uint32_t s[] = { 0x23, 0x2b, 0x33, 0x7b, 0x1b, 0x08, 0x10, 0x00, 0x03, 0x20, 0x28 };
    return (fz_rand() & 7) ? (uint16_t)PICK(s) : (uint16_t)fz_rand();
}

/* Far-transfer selectors: 0x30-0x33 reach the host's 64-bit code segment natively (RPL <= CPL
 * for JMP/CALL), which raw mode can only contain by stopping the VM: only with fuzz_escape. */
static uint16_t sel_far(void)
{
    static const uint32_t s[] = { 0x1b, 0x23, 0x2b, 0x7b, 0x08, 0x10, 0x28, 0x00, 0x20, 0x3b };
    uint16_t v;
    do {
        v = (fz_rand() & 3) ? (uint16_t)PICK(s) : (uint16_t)fz_rand();
        if (fz_opts.escape && !(fz_rand() & 3))
            v = 0x33;
    } while ((!fz_opts.escape && (v & 0xFFFC) == 0x30) ||
             (fz_opts.avoid_hostcs && (v & 0xFFFC) == 0x20));
    return v;
}

static uint32_t code_target(void)
{
    return (fz_rand() & 3) ? FZ_CODE + (fz_rand() & 0xFFF) : fz_rand();
}

static uint32_t scratch_ptr(uint32_t room)
{
    return FZ_SCRATCH + fz_rand() % (FZ_SCRATCH_SIZE - room);
}

static int put8(uint8_t *p, int n, uint32_t v)
{
    p[n] = (uint8_t)v;
    return n + 1;
}
static int put16(uint8_t *p, int n, uint32_t v)
{
    p[n] = (uint8_t)v;
    p[n + 1] = (uint8_t)(v >> 8);
    return n + 2;
}
static int put32(uint8_t *p, int n, uint32_t v)
{
    n = put16(p, n, v);
    return put16(p, n, v >> 16);
}

/* A far pointer (offset, selector) in scratch; returns its address. */
static uint32_t far_ptr_in_scratch(void)
{
    uint32_t a = scratch_ptr(8);
    put32((uint8_t *)a, 0, code_target());
    put16((uint8_t *)a, 4, sel_far());
    return a;
}

/* One template at p (room >= 24 bytes); returns its length. */
static int emit_template(uint8_t *p, bool ring0)
{
    int n = 0;
    switch (fz_rand() % 22) {
    case 0: { /* mov ax, sel; mov sreg, ax */
        static const uint32_t m[] = { 0xC0, 0xD0, 0xD8, 0xE0, 0xE8 };
        n = put8(p, n, 0x66);
        n = put8(p, n, 0xB8);
        n = put16(p, n, sel_any());
        n = put8(p, n, 0x8E);
        n = put8(p, n, PICK(m));
        break;
    }
    case 1: { /* push sel; pop sreg */
        static const uint32_t pops[] = { 0x07, 0x17, 0x1F, 0xA10F, 0xA90F };
        uint32_t s = sel_any(), op = PICK(pops);
        if (s & 0x80 || (!fz_opts.escape && (s & 0xFFFC) == 0x30)) {
            n = put8(p, n, 0x68);
            n = put32(p, n, s);
        } else {
            n = put8(p, n, 0x6A);
            n = put8(p, n, s);
        }
        n = op > 0xFF ? put16(p, n, op) : put8(p, n, op);
        break;
    }
    case 2: { /* int n, int 0x80 with a random eax */
        static const uint32_t v[] = { 0x80, 0x80, 0x80, 3, 4, 1, 0x0d, 0x0e, 0x20, 0x21, 0x30, 0x2f, 0xff };
        n = put8(p, n, 0xB8);
        n = put32(p, n, (fz_rand() & 1) ? fz_rand() % 400 : fz_rand());
        n = put8(p, n, 0xCD);
        n = put8(p, n, (fz_rand() & 3) ? PICK(v) : fz_rand());
        break;
    }
    case 3: /* jmp far / call far ptr16:32 */
        n = put8(p, n, (fz_rand() & 1) ? 0xEA : 0x9A);
        n = put32(p, n, code_target());
        n = put16(p, n, sel_far());
        break;
    case 4: /* jmp far / call far m16:32 */
        n = put8(p, n, 0xFF);
        n = put8(p, n, (fz_rand() & 1) ? 0x2D : 0x1D);
        n = put32(p, n, far_ptr_in_scratch());
        break;
    case 5: /* push sel; push off; retf (or retf imm16) */
        n = put8(p, n, 0x68);
        n = put32(p, n, sel_far());
        n = put8(p, n, 0x68);
        n = put32(p, n, code_target());
        if (fz_rand() & 1) {
            n = put8(p, n, 0xCB);
        } else {
            n = put8(p, n, 0xCA);
            n = put16(p, n, fz_rand() & 0x1C);
        }
        break;
    case 6: /* push eflags; push sel; push off; iret (same-level at CPL 3; scrubbed at CPL 0) */
        if (ring0)
            goto privileged;
        n = put8(p, n, 0x68);
        n = put32(p, n, ((fz_rand() & 0x3F7FD5) | 0x202) & (fz_opts.avoid_ac ? ~0x40000u : ~0u));
        n = put8(p, n, 0x68);
        n = put32(p, n, sel_far());
        n = put8(p, n, 0x68);
        n = put32(p, n, code_target());
        n = put8(p, n, 0xCF);
        break;
    case 7: /* fast system calls: SYSCALL/SYSENTER only with fuzz_escape (raw mode stops the VM
             * when the host kernel takes them), SYSRET/SYSEXIT always */
        if (fz_opts.escape && (fz_rand() & 1))
            n = put16(p, n, (fz_rand() & 1) ? 0x050F : 0x340F);
        else
            n = put16(p, n, (fz_rand() & 1) ? 0x070F : 0x350F);
        break;
    case 8:
    privileged: { /* cli sti hlt in out ins outs clts wbinvd invd rdmsr rdpmc */
        static const uint32_t b[] = { 0xFA, 0xFB, 0xF4, 0xEC, 0xED, 0xEE, 0xEF, 0x6C, 0x6E,
                                      0x060F, 0x090F, 0x080F, 0x320F, 0x330F, 0x300F };
        uint32_t op = PICK(b);
        if (ring0 && (op == 0xFA || op == 0xEE || op == 0xEF || op == 0x6E || op == 0x300F))
            op = 0xF4;   /* ring 0 keeps IF, the ports and the MSRs as they are */
        if (fz_rand() & 1) { /* in/out imm8 */
            n = put8(p, n, ring0 ? 0xE4 : (fz_rand() & 1) ? 0xE4 : 0xE6);
            n = put8(p, n, fz_rand());
        } else {
            n = op > 0xFF ? put16(p, n, op) : put8(p, n, op);
        }
        break;
    }
    case 9: /* pushf; push imm; popf (popf scrubbed at CPL 0) */
        n = put8(p, n, 0x9C);
        if (!ring0) {
            n = put8(p, n, 0x68);
            n = put32(p, n, fz_rand() & (fz_opts.avoid_ac ? ~0x40000u : ~0u));
            n = put8(p, n, 0x9D);
        }
        break;
    case 10: /* mov from/to CR and DR (reads only at CPL 0) */
        n = put8(p, n, 0x0F);
        if (ring0)
            n = put8(p, n, (fz_rand() & 1) ? 0x20 : 0x21);
        else
            n = put8(p, n, 0x20 + (fz_rand() & 3));
        n = put8(p, n, 0xC0 | fz_rand());
        break;
    case 11: { /* sgdt sidt sldt... lgdt lidt smsw lmsw invlpg with a memory operand in scratch */
        uint32_t reg = fz_rand() & 7;
        if (ring0 && (reg == 2 || reg == 3))
            reg = 0;
        n = put8(p, n, 0x0F);
        n = put8(p, n, 0x01);
        n = put8(p, n, 0x05 | reg << 3);
        n = put32(p, n, scratch_ptr(8));
        break;
    }
    case 12: { /* traps: ud2 int3 into icebp aam 0, div by 0, bound */
        static const uint32_t b[] = { 0x0B0F, 0xCC, 0xCE, 0xF1, 0x00D4, 0x0B0F };
        if (fz_rand() & 1) {
            n = put16(p, n, PICK(b));
        } else {
            n = put16(p, n, 0xC931);   /* xor ecx, ecx; div ecx */
            n = put16(p, n, 0xF1F7);
        }
        break;
    }
    case 13: { /* rdtsc, rdtscp, cpuid with a chosen leaf */
        static const uint32_t leaf[] = { 0, 1, 2, 4, 7, 0xB, 0xD, 0x80000000, 0x80000001, 0x40000000 };
        uint32_t k = fz_rand() % 3;
        if (k == 0) {
            n = put16(p, n, 0x310F);
        } else if (k == 1) {
            n = put8(p, n, 0x0F);
            n = put16(p, n, 0xF901);
        } else {
            n = put8(p, n, 0xB8);
            n = put32(p, n, (fz_rand() & 3) ? PICK(leaf) : fz_rand());
            n = put8(p, n, 0x31);   /* xor ecx, ecx */
            n = put8(p, n, 0xC9);
            n = put16(p, n, 0xA20F);
        }
        break;
    }
    case 14: { /* lar/lsl/verr/verw/sldt/str on a chosen selector */
        uint32_t k = fz_rand() % 4;
        n = put8(p, n, 0x66);
        n = put8(p, n, 0xB8);
        n = put16(p, n, sel_any());
        n = put8(p, n, 0x0F);
        if (k < 2) {
            n = put8(p, n, 0x02 + k);
            n = put8(p, n, 0xC8);   /* ecx <- sel in eax */
        } else {
            static const uint32_t m[] = { 0xE0, 0xE8, 0xC0, 0xC8 };
            n = put8(p, n, 0x00);
            n = put8(p, n, PICK(m));
        }
        break;
    }
    case 15: { /* reads of segment registers: mov r, sreg; push sreg */
        static const uint32_t b[] = { 0x06, 0x0E, 0x16, 0x1E, 0xA00F, 0xA80F };
        if (fz_rand() & 1) {
            n = put8(p, n, 0x8C);
            n = put8(p, n, 0xC0 | (fz_rand() & 0x3F));
            if (((p[n - 1] >> 3) & 7) > 5)
                p[n - 1] &= ~0x20;
        } else {
            uint32_t op = PICK(b);
            n = op > 0xFF ? put16(p, n, op) : put8(p, n, op);
        }
        break;
    }
    case 16: /* mov ss (interrupt shadow), then a trap */
        n = put8(p, n, 0x66);
        n = put8(p, n, 0xB8);
        n = put16(p, n, ring0 ? 0x10 : 0x23);
        n = put16(p, n, 0xD08E);
        n = put8(p, n, (fz_rand() & 1) ? 0xCC : 0x9C);
        break;
    case 17: { /* lds les lfs lgs lss from a far pointer in scratch */
        static const uint32_t op[] = { 0xC5, 0xC4, 0xB20F, 0xB40F, 0xB50F };
        uint32_t o = PICK(op);
        n = o > 0xFF ? put16(p, n, o) : put8(p, n, o);
        n = put8(p, n, 0x05 | (fz_rand() & 0x38));
        n = put32(p, n, far_ptr_in_scratch());
        break;
    }
    case 18: /* runaway loops: jmp $, a pause loop: the PIT bounds them */
        if (fz_rand() & 1) {
            n = put16(p, n, 0xFEEB);
        } else {
            n = put16(p, n, 0x90F3);
            n = put16(p, n, 0xFCEB);
        }
        break;
    case 19: /* rep stos/movs from scratch: runs into a guard page */
        n = put8(p, n, 0xB9);
        n = put32(p, n, fz_rand() & 0xFFFF);
        n = put8(p, n, 0xF3);
        n = put8(p, n, (fz_rand() & 1) ? 0xAB : 0xA5);
        break;
    case 20: /* x87/SSE (CR0.TS after a task switch: #NM at CPL 0) */
        n = put16(p, n, 0xE8D9);   /* fld1 */
        n = put16(p, n, 0xC0DE);   /* faddp */
        n = put8(p, n, 0x0F);
        n = put16(p, n, 0xC057);   /* xorps xmm0, xmm0 */
        break;
    default: /* near branches into the page */
        n = put8(p, n, (fz_rand() & 1) ? 0xE9 : 0xE8);
        n = put32(p, n, fz_rand() % 4096 - 2048);
        break;
    }
    return n;
}

/* Ring 0 only, at the start of a sample (aligned decoding): control register writes with sane
 * values, descriptor table reloads of the tables in use, and privilege-lowering far returns and
 * IRETs into the user page (which raw mode then runs natively). */
static int emit_ring0_head(uint8_t *p)
{
    int n = 0;
    uint32_t eip3 = FZ_CODE + (fz_rand() & 0xFFF);
    uint32_t esp3 = FZ_STACK + 0x800 + (fz_rand() & 0x7FC);
    switch (fz_rand() % 6) {
    case 0:
        n = put8(p, n, 0xB8);
        n = put32(p, n, fz0_cr0 ^ ((fz_rand() & 1) ? 0x8 : 0));   /* maybe toggle TS */
        n = put8(p, n, 0x0F);
        n = put16(p, n, 0xC022);
        break;
    case 1: /* mov eax, cr3; mov cr3, eax (flush) */
        n = put8(p, n, 0x0F);
        n = put16(p, n, 0xD820);
        n = put8(p, n, 0x0F);
        n = put16(p, n, 0xD822);
        break;
    case 2:
        n = put8(p, n, 0x0F);
        n = put8(p, n, 0x01);
        n = put8(p, n, (fz_rand() & 1) ? 0x15 : 0x1D);
        n = put32(p, n, p[n - 1] == 0x15 ? fz0_gdtr_addr : fz0_idtr_addr);
        break;
    case 3: /* clts (else CR0.TS from the task switch keeps raw on emu); retf to CPL 3 */
        n = put16(p, n, 0x060F);
        n = put16(p, n, 0x236A);
        n = put8(p, n, 0x68);
        n = put32(p, n, esp3);
        n = put16(p, n, 0x1B6A);
        n = put8(p, n, 0x68);
        n = put32(p, n, eip3);
        n = put8(p, n, 0xCB);
        break;
    default: /* clts; iret to CPL 3 with IF set (the PIT still bounds the user code) */
        n = put16(p, n, 0x060F);
        n = put16(p, n, 0x236A);
        n = put8(p, n, 0x68);
        n = put32(p, n, esp3);
        n = put8(p, n, 0x68);
        n = put32(p, n, 0x202 | (fz_rand() & 0xCD5));
        n = put16(p, n, 0x1B6A);
        n = put8(p, n, 0x68);
        n = put32(p, n, eip3);
        n = put8(p, n, 0xCF);
        break;
    }
    return n;
}

/* fuzz_escape: one sample in eight starts with a far transfer to the host's 64-bit selector
 * (jmp/call ptr16:32, or push 0x33; push off; retf) or a SYSCALL/SYSENTER. */
static int emit_escape_head(uint8_t *p)
{
    int n = 0;
    switch (fz_rand() % 4) {
    case 0:
    case 1:
        n = put8(p, n, (fz_rand() & 1) ? 0xEA : 0x9A);
        n = put32(p, n, code_target());
        n = put16(p, n, 0x30 | (fz_rand() & 3));
        break;
    case 2:
        n = put16(p, n, 0x336A);
        n = put8(p, n, 0x68);
        n = put32(p, n, code_target());
        n = put8(p, n, 0xCB);
        break;
    default:
        n = put16(p, n, (fz_rand() & 1) ? 0x050F : 0x340F);
        break;
    }
    return n;
}

/* Removes what would end the run instead of the sample, from random bytes (before templates
 * are placed). Everywhere unless fuzz_escape: selector words 0x30-0x33 (a far pointer or a
 * popped CS reaching the host's 64-bit code segment), push imm8 0x30-0x33, SYSCALL/SYSENTER.
 * At ring 0 also: cli, popf, iret, out/outs, lldt/ltr, lgdt/lidt, mov to CR/DR, wrmsr.
 * fuzz_avoid=hostcs: selector words and push imm8 0x20-0x23; fuzz_avoid=ac: popf, iret. */
static void scrub(uint8_t *b, uint32_t len, bool ring0)
{
    for (uint32_t i = 0; i + 1 < len; i++) {
        uint8_t c = b[i], d = b[i + 1];
        if (!fz_opts.escape) {
            if ((c & 0xFC) == 0x30 && d == 0x00)
                b[i + 1] = 0x01;
            if (c == 0x6A && (d & 0xFC) == 0x30)
                b[i + 1] = d | 0x40;
            if (c == 0x0F && (d == 0x05 || d == 0x34))
                b[i + 1] = 0x1F;
        }
        if (fz_opts.avoid_hostcs) {
            if ((c & 0xFC) == 0x20 && d == 0x00)
                b[i + 1] = 0x01;
            if (c == 0x6A && (d & 0xFC) == 0x20)
                b[i + 1] = d | 0x40;
        }
        if (fz_opts.avoid_ac && (c == 0x9D || c == 0xCF))
            b[i] = 0x90;
        if (!ring0)
            continue;
        if (c == 0xFA || c == 0x9D || c == 0xCF || c == 0xE6 || c == 0xE7 || c == 0xEE ||
            c == 0xEF || c == 0x6E || c == 0x6F)
            b[i] = 0x90;
        if (c == 0x0F && (d == 0x22 || d == 0x23 || d == 0x30))
            b[i + 1] = 0x1F;
        if (c == 0x0F && (d == 0x00 || d == 0x01) && i + 2 < len) {
            uint8_t r = (b[i + 2] >> 3) & 7;
            if (r == 2 || r == 3)
                b[i + 2] &= ~0x38;
        }
    }
    uint8_t last = b[len - 1];
    if (ring0 && (last == 0xFA || last == 0x9D || last == 0xCF || last == 0xE6 || last == 0xE7 ||
                  last == 0xEE || last == 0xEF || last == 0x6E || last == 0x6F || last == 0x0F))
        b[len - 1] = 0x90;
}

static void fill_random(uint8_t *b, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += 4)
        put32(b, (int)i, fz_rand());
}

void fz_gen_sample(bool ring0)
{
    /* The whole fuzz region once per phase; then per sample the code's first 512 bytes, 1 KiB of
     * scratch and the stack's upper half (where ESP starts): filling and scrubbing 16 KiB per
     * sample would dominate the run time on emu. Stale bytes elsewhere are the earlier samples'. */
    static bool filled[2];
    if (!filled[ring0]) {
        filled[ring0] = true;
        fill_random(code, 4096);
        fill_random(scratch, FZ_SCRATCH_SIZE);
        fill_random(stack, 4096);
        scrub(code, 4096, ring0);
        scrub(scratch, FZ_SCRATCH_SIZE, ring0);
        scrub(stack, 4096, ring0);
    } else {
        uint8_t *s = scratch + (fz_rand() % (FZ_SCRATCH_SIZE / 1024)) * 1024;
        fill_random(code, 512);
        fill_random(s, 1024);
        fill_random(stack + 2048, 2048);
        scrub(code, 513, ring0);
        scrub(s, 1024, ring0);
        scrub(stack + 2048, 2048, ring0);
    }
    /* The first 96 bytes: random runs and templates, starting with a template half the time. */
    uint32_t pos = 0;
    if (ring0 && fz_opts.r0paged)
        pos = (uint32_t)put16(code, 0, 0x060F);   /* clts: native under raw needs CR0.TS clear */
    if (ring0 && (fz_rand() & 3) == 0)
        pos += (uint32_t)emit_ring0_head(code + pos);
    else if (fz_opts.escape && (fz_rand() & 7) == 0)
        pos += (uint32_t)emit_escape_head(code + pos);
    bool tmpl = fz_rand() & 1;
    while (pos < 96) {
        if (tmpl)
            pos += (uint32_t)emit_template(code + pos, ring0);
        else
            pos += 1 + fz_rand() % 8;
        tmpl = (fz_rand() % 3) != 0;
    }
    /* A few more templates anywhere in the page, for branches that land there. */
    for (uint32_t k = fz_rand() % 4; k; k--) {
        uint32_t at = 96 + fz_rand() % (4096 - 96 - 32);
        emit_template(code + at, ring0);
    }
}

void fz_gen_regs(struct fz_regs *r, bool ring0)
{
    uint32_t *g = &r->eax;
    for (int i = 0; i < 8; i++) {
        switch (fz_rand() & 3) {
        case 0: g[i] = scratch_ptr(64); break;
        case 1: g[i] = fz_rand() & 0xFF; break;
        case 2: g[i] = ring0 ? scratch_ptr(16) : fz_rand(); break;
        default: g[i] = FZ_CODE + (fz_rand() & 0xFFF); break;
        }
    }
    r->esp = FZ_STACK + 0x800 + (fz_rand() & 0x7FC);
    r->eip = FZ_CODE;
    /* IF on (the PIT bounds runaway samples), IOPL 0; random arithmetic flags and DF. */
    r->eflags = 0x202 | (fz_rand() & 0x4D5);
}
