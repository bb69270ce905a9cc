/* Shared harness of the x87 unit tests: a flat 32-bit CPU with a small mock guest memory
 * (weak stand-ins for the exec side's accessors), and a golden reference that runs the very
 * same x87 encoding natively on the host's real x87 and captures its full state (FNSAVE). */
#ifndef RINGFOLD_TEST_X87_HARNESS_H
#define RINGFOLD_TEST_X87_HARNESS_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "x86/x86_cpu.h"
#include "x86/x87_priv.h"

/* ---- the CPU under test and its guest memory ---------------------------------------- */
#define GMEM_SIZE 4096u
static struct x86_cpu tcpu;
static uint8_t gmem[GMEM_SIZE];
static uint32_t t_eflags;

/* The mock accessors live at the low end of DS (base 0); an access past the segment limit
 * raises #GP(0) like the real exec side, which lets tests check fault atomicity. These are
 * weak so the exec side's real ones take over when they are linked in. */
__attribute__((weak)) _Noreturn void x86_raise(struct x86_cpu *cpu, int vector, uint32_t err)
{
    cpu->exc_vector = vector;
    cpu->exc_err = err;
    longjmp(cpu->fault_jmp, 1);
}

static uint8_t *gaddr(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t len)
{
    uint32_t lim = cpu->s.seg[seg].limit;
    if (lim >= GMEM_SIZE)
        lim = GMEM_SIZE - 1;
    if (len == 0 || off > lim || len - 1 > lim - off)
        x86_raise(cpu, seg == S_SS ? X86_SS : X86_GP, 0);
    return gmem + off;
}

#define MOCK_RW(bits)                                                                        \
    __attribute__((weak)) uint##bits##_t x86_read##bits(struct x86_cpu *cpu, int seg, uint32_t off) \
    {                                                                                        \
        uint##bits##_t v;                                                                    \
        memcpy(&v, gaddr(cpu, seg, off, bits / 8), sizeof(v));                               \
        return v;                                                                            \
    }                                                                                        \
    __attribute__((weak)) void x86_write##bits(struct x86_cpu *cpu, int seg, uint32_t off,   \
                                               uint##bits##_t v)                             \
    {                                                                                        \
        memcpy(gaddr(cpu, seg, off, bits / 8), &v, sizeof(v));                               \
    }
MOCK_RW(16)
MOCK_RW(32)
MOCK_RW(64)

__attribute__((weak)) void x86_check_access(struct x86_cpu *cpu, int seg, uint32_t off,
                                            uint32_t len, bool write)
{
    (void)write;
    gaddr(cpu, seg, off, len);
}
__attribute__((weak)) uint32_t x86_get_eflags(struct x86_cpu *cpu) { (void)cpu; return t_eflags; }
__attribute__((weak)) void x86_set_eflags(struct x86_cpu *cpu, uint32_t v) { (void)cpu; t_eflags = v; }

/* Flat 32-bit protected mode, DS limited to the mock memory. */
static inline void cpu_setup(void)
{
    memset(&tcpu, 0, sizeof(tcpu));
    memset(gmem, 0, sizeof(gmem));
    vcpu_state_flat32(&tcpu.s, 0x1000);
    tcpu.s.cr0 |= CR0_NE | CR0_MP;
    tcpu.s.seg[S_DS].limit = GMEM_SIZE - 1;
    tcpu.pe = tcpu.code32 = tcpu.stack32 = true;
    tcpu.delivering = -1;
    tcpu.insn_eip = 0x1234;
    t_eflags = EFL_FIXED1;
    x87_reset(&tcpu);
}

/* Runs one x87 instruction; returns the exception vector it raised, or -1. */
static inline int run_insn(uint8_t op, uint8_t modrm, uint32_t ea, bool o32)
{
    if (setjmp(tcpu.fault_jmp))
        return tcpu.exc_vector;
    x87_execute(&tcpu, op, modrm, S_DS, ea, o32);
    return -1;
}

static inline x87_f80 f80_of(long double v)
{
    x87_f80 r;
    memcpy(&r, &v, 10);
    return r;
}

static inline x87_f80 f80_bits(uint16_t se, uint64_t m)
{
    x87_f80 r = { .m = m, .se = se };
    return r;
}

/* ---- native golden reference ----------------------------------------------------------- */
struct native_out {
    uint16_t fsw, ftw;
    x87_f80 st[8];          /* in stack order */
    uint8_t mem[16];        /* the memory operand after the instruction */
    uint64_t rax, rflags;
    uint8_t save[108];      /* the raw FNSAVE image (32-bit protected-mode layout) */
};

/* Data area of the generated code page. */
enum { D_CW = 0, D_VALS = 16, D_MEM = 176, D_SAVE = 192, D_RAXIN = 304, D_FLIN = 312,
       D_RAXOUT = 320, D_FLOUT = 328, D_HOSTCW = 336, D_ENV = 344, D_CC = 376, D_END = 384 };

static uint8_t *native_page;

static inline void emit_rip(uint8_t **p, const uint8_t *pre, unsigned n, unsigned data_off)
{
    memcpy(*p, pre, n);
    *p += n;
    int32_t disp = (int32_t)((native_page + 2048 + data_off) - (*p + 4));
    memcpy(*p, &disp, 4);
    *p += 4;
}

/* Executes: FNINIT; FLDCW cw; FLD m80 vals[n-1]..vals[0] (so ST(0) = vals[0]); RFLAGS and
 * RAX preset; the instruction op/modrm (for memory forms with a RIP-relative operand that
 * points at mem); then FNSTSW-free capture via FNSAVE. Only no-wait instructions follow the
 * tested one, so an unmasked exception stays pending as on a guest and never traps here. */
static inline void native_run(uint8_t op, uint8_t modrm, uint16_t cw, unsigned n,
                              const x87_f80 *vals, const uint8_t mem[16], uint32_t flags,
                              uint16_t cc, struct native_out *o)
{
    if (!native_page) {
        native_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert(native_page != MAP_FAILED, "mmap of an executable page failed");
    }
    uint8_t *d = native_page + 2048, *p = native_page;
    memset(native_page, 0xCC, 4096);
    memset(d, 0, D_END);
    memcpy(d + D_CW, &cw, 2);
    for (unsigned k = 0; k < n; k++)
        memcpy(d + D_VALS + 16 * k, &vals[k], 10);
    memcpy(d + D_MEM, mem, 16);
    uint32_t cc32 = cc;
    memcpy(d + D_CC, &cc32, 4);
    uint64_t rax = 0x1111222233334444ull, fl = flags | 2;
    memcpy(d + D_RAXIN, &rax, 8);
    memcpy(d + D_FLIN, &fl, 8);
    uint16_t hcw;
    __asm__ volatile("fnstcw %0" : "=m"(hcw));
    memcpy(d + D_HOSTCW, &hcw, 2);

    /* zero every physical register first, as the interpreter's fresh state has them */
    for (unsigned k = 0; k < 8; k++) {
        *p++ = 0xD9; *p++ = 0xEE;                                      /* fldz */
    }
    *p++ = 0xDB; *p++ = 0xE3;                                          /* fninit */
    emit_rip(&p, (const uint8_t[]){ 0xD9, 0x2D }, 2, D_CW);            /* fldcw */
    for (unsigned k = n; k-- > 0;)
        emit_rip(&p, (const uint8_t[]){ 0xDB, 0x2D }, 2, D_VALS + 16 * k);   /* fld m80 */
    /* preset condition codes: FNSTENV, OR them into the FSW image, FLDENV */
    emit_rip(&p, (const uint8_t[]){ 0xD9, 0x35 }, 2, D_ENV);
    emit_rip(&p, (const uint8_t[]){ 0x8B, 0x05 }, 2, D_CC);            /* mov eax, [cc] */
    emit_rip(&p, (const uint8_t[]){ 0x66, 0x09, 0x05 }, 3, D_ENV + 4); /* or [fsw], ax */
    emit_rip(&p, (const uint8_t[]){ 0xD9, 0x25 }, 2, D_ENV);
    emit_rip(&p, (const uint8_t[]){ 0x48, 0x8B, 0x05 }, 3, D_FLIN);    /* mov rax, [flin] */
    *p++ = 0x50; *p++ = 0x9D;                                          /* push rax; popfq */
    emit_rip(&p, (const uint8_t[]){ 0x48, 0x8B, 0x05 }, 3, D_RAXIN);   /* mov rax, [raxin] */
    if (modrm < 0xC0)
        emit_rip(&p, (const uint8_t[]){ op, (uint8_t)((modrm & 0x38) | 5) }, 2, D_MEM);
    else {
        *p++ = op;
        *p++ = modrm;
    }
    emit_rip(&p, (const uint8_t[]){ 0x48, 0x89, 0x05 }, 3, D_RAXOUT);  /* mov [raxout], rax */
    *p++ = 0x9C; *p++ = 0x58;                                          /* pushfq; pop rax */
    emit_rip(&p, (const uint8_t[]){ 0x48, 0x89, 0x05 }, 3, D_FLOUT);
    emit_rip(&p, (const uint8_t[]){ 0xDD, 0x35 }, 2, D_SAVE);          /* fnsave */
    emit_rip(&p, (const uint8_t[]){ 0xD9, 0x2D }, 2, D_HOSTCW);        /* fldcw host */
    *p++ = 0xC3;
    ((void (*)(void))native_page)();

    memcpy(&o->fsw, d + D_SAVE + 4, 2);
    memcpy(&o->ftw, d + D_SAVE + 8, 2);
    for (unsigned i = 0; i < 8; i++)
        memcpy(&o->st[i], d + D_SAVE + 28 + 10 * i, 10);
    memcpy(o->mem, d + D_MEM, 16);
    memcpy(&o->rax, d + D_RAXOUT, 8);
    memcpy(&o->rflags, d + D_FLOUT, 8);
    memcpy(o->save, d + D_SAVE, 108);
}

/* Runs op/modrm on both the interpreter and the host x87 from the same starting state and
 * checks FSW, the tag word, every non-empty register, the memory operand, EFLAGS ZF/PF/CF
 * and AX. Memory operands sit at guest offset 0x100. */
#define T_EA 0x100u
static inline void check_same(uint8_t op, uint8_t modrm, uint16_t cw, unsigned n,
                              const x87_f80 *vals, const uint8_t mem[16], uint32_t flags)
{
    struct native_out o;
    char what[96];
    snprintf(what, sizeof(what), "%02X %02X cw=%04X n=%u st0=%04X:%016llX", op, modrm, cw, n,
             n ? vals[0].se : 0, n ? (unsigned long long)vals[0].m : 0ull);
    /* start from condition codes that vary with the operand, so that codes an
     * instruction leaves alone are checked too */
    uint16_t cc = n ? (uint16_t)((((vals[0].m >> 3) ^ vals[0].se) & 0x0700) |
                                 ((vals[0].m << 8) & 0x4000)) : 0x4500;
    native_run(op, modrm, cw, n, vals, mem, flags, cc, &o);

    cpu_setup();
    memcpy(gmem + 0x40, &cw, 2);
    cr_assert_eq(run_insn(0xD9, 0x2D, 0x40, true), -1);                /* FLDCW */
    for (unsigned k = n; k-- > 0;) {
        memcpy(gmem + 0x50, &vals[k], 10);
        cr_assert_eq(run_insn(0xDB, 0x2D, 0x50, true), -1);            /* FLD m80 */
    }
    tcpu.s.fpu.fsw |= cc;
    memcpy(gmem + T_EA, mem, 16);
    t_eflags = flags | 2;
    tcpu.s.gpr[R_EAX] = 0x33334444u;
    cr_assert_eq(run_insn(op, modrm, T_EA, true), -1, "%s: fault", what);

    const struct fpu_state *f = &tcpu.s.fpu;
    cr_expect_eq(f->fsw, o.fsw, "%s: fsw %04X, host %04X", what, f->fsw, o.fsw);
    cr_expect_eq(f->ftw, o.ftw, "%s: ftw %04X, host %04X", what, f->ftw, o.ftw);
    for (unsigned i = 0; i < 8; i++) {
        if (((o.ftw >> (2 * ((((o.fsw >> 11) & 7) + i) & 7))) & 3) == 3)
            continue;
        x87_f80 g = x87_get(f, i);
        cr_expect(g.se == o.st[i].se && g.m == o.st[i].m,
                  "%s: ST(%u) %04X:%016llX, host %04X:%016llX", what, i, g.se,
                  (unsigned long long)g.m, o.st[i].se, (unsigned long long)o.st[i].m);
    }
    cr_expect_eq(memcmp(gmem + T_EA, o.mem, 16), 0, "%s: memory operand differs", what);
    cr_expect_eq(t_eflags & (EFL_ZF | EFL_PF | EFL_CF), (uint32_t)o.rflags & (EFL_ZF | EFL_PF | EFL_CF),
                 "%s: eflags %X, host %X", what, t_eflags, (unsigned)o.rflags);
    cr_expect_eq(tcpu.s.gpr[R_EAX] & 0xFFFF, (uint32_t)o.rax & 0xFFFF, "%s: AX", what);
}

/* Interesting operands: normals, signed zeros, denormal, pseudo-denormal, infinities, QNaN,
 * SNaN, unnormal, tiny and huge magnitudes, values with many significant bits. */
static inline unsigned test_values(x87_f80 *v)
{
    unsigned n = 0;
    v[n++] = f80_of(1.0L);
    v[n++] = f80_of(-2.5L);
    v[n++] = f80_of(3.0L);
    v[n++] = f80_of(0.1L);
    v[n++] = f80_of(1e4000L);
    v[n++] = f80_of(-1e-4000L);
    v[n++] = f80_bits(0x0000, 0);                      /* +0 */
    v[n++] = f80_bits(0x8000, 0);                      /* -0 */
    v[n++] = f80_bits(0x0000, 0x0000000012345678ull);  /* denormal */
    v[n++] = f80_bits(0x7FFF, 0x8000000000000000ull);  /* +inf */
    v[n++] = f80_bits(0xFFFF, 0x8000000000000000ull);  /* -inf */
    v[n++] = f80_bits(0x7FFF, 0xC000000000001234ull);  /* QNaN */
    v[n++] = f80_bits(0x7FFF, 0x8000000000005678ull);  /* SNaN */
    v[n++] = f80_bits(0x4000, 0x4000000000000000ull);  /* unnormal: unsupported */
    v[n++] = f80_of(12345678901234567.0L);
    v[n++] = f80_of(-0.7853981633974483096L);
    v[n++] = f80_bits(0x7FFE, 0xFFFFFFFFFFFFFFFFull);  /* largest finite */
    v[n++] = f80_bits(0x0001, 0x8000000000000001ull);  /* smallest normal range */
    return n;
}

#endif
