/* x87: constants, + - * / sqrt, FPREM, FSCALE, FRNDINT in the four rounding modes,
 * transcendental instructions, FILD/FIST/FBSTP, FCOM/FCOMI/FUCOMI, FXAM and the
 * mode-independent FNSTENV fields; 80-bit results in hex with the status word,
 * compared with the host CPU. */
#include "insn.h"

/* Status word: C0 (bit 8), C1 (9), C2 (10), C3 (14) and the sticky exception flags
 * IE DE ZE OE UE PE (bits 0-5); TOP, ES, SF and B are left out (SDM Vol. 1 8.1.3).
 * Which condition codes an instruction defines (SDM Vol. 2, "FPU Flags Affected"):
 * most arithmetic defines only C1 (round-up / stack fault) and leaves C0 C2 C3
 * undefined (real CPUs keep old values, QEMU clears them): those are not shown, unless
 * INSN_ALL_FLAGS. */
#define SW_SHOWN 0x473Fu
#define SW_C1    0x023Fu          /* arithmetic, FSCALE, FRNDINT, FIST, FBSTP, FCOMI, f2xm1 ... */
#define SW_ALL   0x473Fu          /* FPREM, FCOM, FXAM, FTST define all four */
/* Transcendentals: the result's last bits, and so PE and C1 (rounded up), come from
 * each vendor's own approximation; keep IE DE ZE OE UE (and C2 for FSIN/FCOS/FPTAN). */
#define SW_TRANS 0x001Fu
#define SW_EXC   0x003Fu          /* exception flags only */
#define SW_TRIG  0x041Fu

/* Control words: all exceptions masked, 64-bit precision, rounding control in 11:10. */
#define CW_NEAREST 0x037Fu
#define CW_DOWN    0x077Fu
#define CW_UP      0x0B7Fu
#define CW_ZERO    0x0F7Fu
#define CW_PREC24  0x007Fu
#define CW_PREC53  0x027Fu

static void x87_cw(uint16_t cw)
{
    __asm__ volatile("fldcw %0" :: "m"(cw));
}

/* "sign-exponent:mantissa" of an 80-bit value. Transcendental results (low = true)
 * drop the last 4 mantissa bits: Intel and AMD implement FSIN & co. differently and
 * may disagree there (INSN_ALL_FLAGS prints them exactly). */
static const char *x87_hex_bits(long double v, bool low)
{
    static char bufs[4][24];
    static unsigned next;
    char *b = bufs[next++ & 3];
    struct { uint64_t m; uint16_t se; } __attribute__((packed)) raw;
    _Static_assert(sizeof(long double) >= 10, "x87 long double");
    memcpy(&raw, &v, 10);
#ifndef INSN_ALL_FLAGS
    if (low)
        raw.m &= ~0xFull;
#else
    (void)low;
#endif
    guest_snprintf(b, sizeof bufs[0], "%04x:%016llx", raw.se, (unsigned long long)raw.m);
    return b;
}

static const char *x87_hex(long double v)
{
    return x87_hex_bits(v, false);
}

static long double x87_from_bits(uint16_t se, uint64_t m)
{
    long double v = 0;
    struct { uint64_t m; uint16_t se; } __attribute__((packed)) raw = { m, se };
    memcpy(&v, &raw, 10);
    return v;
}

static void x87_constants(void)
{
    long double c[7];
    __asm__ volatile("fnclex\n\tfld1" : "=t"(c[0]));
    __asm__ volatile("fldz" : "=t"(c[1]));
    __asm__ volatile("fldpi" : "=t"(c[2]));
    __asm__ volatile("fldl2e" : "=t"(c[3]));
    __asm__ volatile("fldl2t" : "=t"(c[4]));
    __asm__ volatile("fldlg2" : "=t"(c[5]));
    __asm__ volatile("fldln2" : "=t"(c[6]));
    static const char *const names[7] = { "fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2" };
    for (int i = 0; i < 7; i++)
        guest_printf("%s -> %s\n", names[i], x87_hex(c[i]));
    /* The rounding mode applies to the constants too (SDM Vol. 1 8.3.8). */
    static const uint16_t cws[4] = { CW_NEAREST, CW_DOWN, CW_UP, CW_ZERO };
    for (int m = 0; m < 4; m++) {
        long double pi, e;
        x87_cw(cws[m]);
        __asm__ volatile("fldpi" : "=t"(pi));
        __asm__ volatile("fldl2e" : "=t"(e));
        x87_cw(CW_NEAREST);
        guest_printf("fldpi/fldl2e rc=%d -> %s %s\n", m, x87_hex(pi), x87_hex(e));
    }
}

static const double x87_vals[] = { 0.0, -0.0, 1.0, -1.0, 3.0, 0.1, -2.5, 1e300, 1e-300, 123456.789 };
#define NV (sizeof x87_vals / sizeof x87_vals[0])

/* The status word, keeping the condition codes in `defined`. */
static uint16_t x87_swd(uint16_t sw, uint16_t defined)
{
#ifdef INSN_ALL_FLAGS
    (void)defined;
    return sw & SW_SHOWN;
#else
    return sw & defined;
#endif
}

static uint16_t x87_sw(uint16_t defined)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=a"(sw));
    return x87_swd(sw, defined);
}

static void x87_clex(void)
{
    __asm__ volatile("fnclex");
}

/* FST/FSTP to single and double precision: rounding per RC, overflow to infinity,
 * underflow to a denormal (SDM Vol. 1 4.8.4), and FLD of a denormal single (DE).
 * C1 is not compared for stores: the SDM has FST set it on a rounded-up inexact
 * result, but the AMD EPYC these goldens were first made on leaves it clear. */
static void x87_store(void)
{
    static const uint16_t cws[4] = { CW_NEAREST, CW_DOWN, CW_UP, CW_ZERO };
    long double pi, third = x87_from_bits(0x3ffd, 0xaaaaaaaaaaaaaaabull);
    __asm__ volatile("fldpi" : "=t"(pi));
    long double big = x87_from_bits(0x47ff, 0x8000000000000000ull);    /* 2^1024 */
    long double tiny = x87_from_bits(0x3f6a, 0xc000000000000000ull);   /* below FLT_MIN */
    long double vals[4] = { pi, -third, big, tiny };
    for (int v = 0; v < 4; v++) {
        guest_printf("fst %s ->", x87_hex(vals[v]));
        for (int m = 0; m < 4; m++) {
            uint32_t f32;
            uint64_t f64;
            x87_cw(cws[m]);
            x87_clex();
            __asm__ volatile("fsts %0" : "=m"(f32) : "t"(vals[v]));
            uint16_t sw32 = x87_sw(SW_EXC);
            x87_clex();
            __asm__ volatile("fstl %0" : "=m"(f64) : "t"(vals[v]));
            uint16_t sw64 = x87_sw(SW_EXC);
            x87_cw(CW_NEAREST);
            guest_printf(" %08x/%04x %016llx/%04x", f32, sw32, (unsigned long long)f64, sw64);
        }
        guest_printf("\n");
    }
    static const uint32_t singles[] = { 0x00000001, 0x80400000, 0x7f800000, 0x7fa00000, 0x3f800000 };
    for (unsigned i = 0; i < sizeof singles / sizeof singles[0]; i++) {
        long double x;
        x87_clex();
        __asm__ volatile("flds %1" : "=t"(x) : "m"(singles[i]));
        uint16_t sw = x87_sw(SW_C1);
        guest_printf("flds %08x -> %s sw=%04x\n", singles[i], x87_hex(x), sw);
    }
}

/* One arithmetic op: ST0 = x op m64 y. */
#define X87_MEMOP(fn, mn)                                                          \
    static long double fn(long double x, double y)                                 \
    {                                                                              \
        __asm__ volatile(mn " %1" : "+t"(x) : "m"(y));                             \
        return x;                                                                  \
    }
X87_MEMOP(x87_add, "faddl") X87_MEMOP(x87_sub, "fsubl") X87_MEMOP(x87_subr, "fsubrl")
X87_MEMOP(x87_mul, "fmull") X87_MEMOP(x87_div, "fdivl") X87_MEMOP(x87_divr, "fdivrl")

static long double x87_div_reg(long double x, long double y)
{
    /* Register form, ST0 = ST0 / ST1. */
    __asm__ volatile("fdiv %%st(1), %%st" : "+t"(x) : "u"(y));
    return x;
}

static void x87_arith(void)
{
    typedef long double (*memop)(long double, double);
    static const memop ops[6] = { x87_add, x87_sub, x87_subr, x87_mul, x87_div, x87_divr };
    static const char *const names[6] = { "fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr" };
    for (int o = 0; o < 6; o++) {
        for (unsigned i = 0; i < NV; i++) {
            for (unsigned j = 0; j < NV; j += 1 + (i & 1)) {
                x87_clex();
                long double r = ops[o]((long double)x87_vals[i], x87_vals[j]);
                uint16_t sw = x87_sw(SW_C1);
                guest_printf("%s %s %s -> %s sw=%04x\n", names[o], x87_hex(x87_vals[i]),
                             x87_hex(x87_vals[j]), x87_hex(r), sw);
            }
        }
    }
    /* 1/3 and 2/3 in each rounding mode and precision: the last bit shows the mode. */
    static const uint16_t cws[6] = { CW_NEAREST, CW_DOWN, CW_UP, CW_ZERO, CW_PREC24, CW_PREC53 };
    for (int m = 0; m < 6; m++) {
        x87_cw(cws[m]);
        x87_clex();
        long double a = x87_div_reg(1.0L, 3.0L), b = x87_div_reg(-2.0L, 3.0L);
        long double c = x87_add(a, 1e-30);
        uint16_t sw = x87_sw(SW_C1);
        x87_cw(CW_NEAREST);
        guest_printf("cw=%04x 1/3 %s -2/3 %s 1/3+1e-30 %s sw=%04x\n", cws[m], x87_hex(a), x87_hex(b),
                     x87_hex(c), sw);
    }
    static const double sq[] = { 0.0, -0.0, 1.0, 2.0, 0.25, 1e300, 3e-310, -1.0 };
    for (unsigned i = 0; i < sizeof sq / sizeof sq[0]; i++) {
        long double r = sq[i];
        x87_clex();
        __asm__ volatile("fsqrt" : "+t"(r));
        uint16_t sw = x87_sw(SW_C1);
        guest_printf("fsqrt %s -> %s sw=%04x\n", x87_hex(sq[i]), x87_hex(r), sw);
    }
    /* Special operands: 0/0, x/0, inf-inf, a pseudo-denormal and an SNaN. */
    long double inf = x87_from_bits(0x7fff, 0x8000000000000000ull);
    long double snan = x87_from_bits(0x7fff, 0x8000000000000001ull);
    long double tiny = x87_from_bits(0x0000, 0x0000000000000400ull);
    long double sp[][2] = { { 0.0L, 0.0L }, { 1.0L, 0.0L }, { -1.0L, 0.0L }, { inf, inf },
                            { snan, 1.0L }, { tiny, 3.0L }, { 1.0L, tiny } };
    for (unsigned i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        x87_clex();
        long double r = x87_div_reg(sp[i][0], sp[i][1]);
        uint16_t sw = x87_sw(SW_C1);
        guest_printf("fdiv %s %s -> %s sw=%04x\n", x87_hex(sp[i][0]), x87_hex(sp[i][1]), x87_hex(r), sw);
        long double s = sp[i][0];
        x87_clex();
        __asm__ volatile("fsub %%st(1), %%st" : "+t"(s) : "u"(sp[i][1]));
        sw = x87_sw(SW_C1);
        guest_printf("fsub %s %s -> %s sw=%04x\n", x87_hex(sp[i][0]), x87_hex(sp[i][1]), x87_hex(s), sw);
    }
}

static void x87_prem_scale_rnd(void)
{
    static const double pr[][2] = { { 10.0, 3.0 }, { -10.0, 3.0 }, { 7.5, 2.0 }, { 1e30, 3.0 },
                                    { 1e300, 7.0 }, { 5.0, 0.0 }, { 0.0, 5.0 }, { 3.14159, 1.0 } };
    for (unsigned i = 0; i < sizeof pr / sizeof pr[0]; i++) {
        long double x = pr[i][0], y = pr[i][1];
        uint16_t sw;
        x87_clex();
        /* FPREM may need several rounds (C2 = 1: incomplete); show the first round. */
        __asm__ volatile("fprem\n\tfnstsw %1" : "+t"(x), "=a"(sw) : "u"(y));
        guest_printf("fprem %s %s -> %s sw=%04x\n", x87_hex(pr[i][0]), x87_hex(pr[i][1]), x87_hex(x),
                     x87_swd(sw, SW_ALL));
        x = pr[i][0];
        x87_clex();
        __asm__ volatile("fprem1\n\tfnstsw %1" : "+t"(x), "=a"(sw) : "u"(y));
        guest_printf("fprem1 %s %s -> %s sw=%04x\n", x87_hex(pr[i][0]), x87_hex(pr[i][1]), x87_hex(x),
                     x87_swd(sw, SW_ALL));
    }
    static const double sc[][2] = { { 1.0, 3.0 }, { 1.5, -2.7 }, { -3.0, 10.9 }, { 1.0, 20000.0 },
                                    { 1.0, -20000.0 }, { 0.0, 5.0 } };
    for (unsigned i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        long double x = sc[i][0], y = sc[i][1];
        x87_clex();
        __asm__ volatile("fscale" : "+t"(x) : "u"(y));
        uint16_t sw = x87_sw(SW_C1);
        guest_printf("fscale %s %s -> %s sw=%04x\n", x87_hex(sc[i][0]), x87_hex(sc[i][1]), x87_hex(x), sw);
    }
    static const double rn[] = { 2.5, -2.5, 3.5, 0.5, -0.5, 1.4999, -7.7, 1e20, 0.0, -0.0 };
    static const uint16_t cws[4] = { CW_NEAREST, CW_DOWN, CW_UP, CW_ZERO };
    for (unsigned i = 0; i < sizeof rn / sizeof rn[0]; i++) {
        guest_printf("frndint %s ->", x87_hex(rn[i]));
        for (int m = 0; m < 4; m++) {
            long double x = rn[i];
            x87_cw(cws[m]);
            x87_clex();
            __asm__ volatile("frndint" : "+t"(x));
            uint16_t sw = x87_sw(SW_C1);
            x87_cw(CW_NEAREST);
            guest_printf(" %s/%04x", x87_hex(x), sw);
        }
        guest_printf("\n");
    }
}

static void x87_transcendental(void)
{
    static const double tv[] = { 0.0, 0.5, 1.0, -1.0, 3.14159265358979, 100.0, 1e10 };
    for (unsigned i = 0; i < sizeof tv / sizeof tv[0]; i++) {
        long double s = tv[i], c = tv[i], t = tv[i], one;
        uint16_t sws, swc, swt;
        x87_clex();
        __asm__ volatile("fsin" : "+t"(s));
        sws = x87_sw(SW_TRIG);
        x87_clex();
        __asm__ volatile("fcos" : "+t"(c));
        swc = x87_sw(SW_TRIG);
        x87_clex();
        __asm__ volatile("fptan" : "=t"(one), "=u"(t) : "0"(t));
        swt = x87_sw(SW_TRIG);
        guest_printf("fsin/fcos/fptan %s -> %s/%04x %s/%04x %s %s/%04x\n", x87_hex(tv[i]),
                     x87_hex_bits(s, true), sws, x87_hex_bits(c, true), swc,
                     x87_hex(one), x87_hex_bits(t, true), swt);
    }
    static const double f2[] = { 0.0, 0.5, -0.5, 1.0, -1.0, 1e-10 };
    for (unsigned i = 0; i < sizeof f2 / sizeof f2[0]; i++) {
        long double x = f2[i];
        x87_clex();
        __asm__ volatile("f2xm1" : "+t"(x));
        uint16_t sw = x87_sw(SW_TRANS);
        guest_printf("f2xm1 %s -> %s sw=%04x\n", x87_hex(f2[i]), x87_hex_bits(x, true), sw);
    }
    static const double yl[][2] = { { 8.0, 1.0 }, { 10.0, 1.0 }, { 0.5, 3.0 }, { 1.0, 2.0 },
                                    { 0.0, 1.0 }, { -1.0, 1.0 } };
    for (unsigned i = 0; i < sizeof yl / sizeof yl[0]; i++) {
        long double x = yl[i][0], y = yl[i][1], r, p;
        x87_clex();
        __asm__ volatile("fyl2x" : "=t"(r) : "0"(x), "u"(y) : "st(1)");
        uint16_t sw = x87_sw(SW_TRANS);
        x = yl[i][1], y = yl[i][0];
        x87_clex();
        /* FPATAN: ST1 = arctan(ST1 / ST0), pop. */
        __asm__ volatile("fpatan" : "=t"(p) : "0"(x), "u"(y) : "st(1)");
        uint16_t swp = x87_sw(SW_TRANS);
        guest_printf("fyl2x x=%s y=%s -> %s/%04x fpatan -> %s/%04x\n", x87_hex(yl[i][0]),
                     x87_hex(yl[i][1]), x87_hex_bits(r, true), sw, x87_hex_bits(p, true), swp);
    }
}

static void x87_int(void)
{
    static const int32_t iv[] = { 0, 1, -1, 0x7fffffff, (int32_t)0x80000000, 123456789 };
    for (unsigned i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        long double a, b;
        int16_t s = (int16_t)iv[i];
        int64_t q = (int64_t)iv[i] * 0x100000001ll;
        __asm__ volatile("fildl %1" : "=t"(a) : "m"(iv[i]));
        __asm__ volatile("fildll %1" : "=t"(b) : "m"(q));
        long double c;
        __asm__ volatile("filds %1" : "=t"(c) : "m"(s));
        guest_printf("fild %08x -> %s, %016llx -> %s, %04x -> %s\n", (uint32_t)iv[i], x87_hex(a),
                     (unsigned long long)q, x87_hex(b), (uint16_t)s, x87_hex(c));
    }
    static const double fv[] = { 2.5, -2.5, 3.5, 0.49, -1.5, 32767.5, 32768.0, 2147483647.5,
                                 -2147483648.0, 1e10, -1e19, 1e300 };
    static const uint16_t cws[4] = { CW_NEAREST, CW_DOWN, CW_UP, CW_ZERO };
    for (unsigned i = 0; i < sizeof fv / sizeof fv[0]; i++) {
        guest_printf("fist %s ->", x87_hex(fv[i]));
        for (int m = 0; m < 4; m++) {
            long double x = fv[i];
            int16_t r16;
            int32_t r32;
            int64_t r64;
            x87_cw(cws[m]);
            x87_clex();
            __asm__ volatile("fists %0" : "=m"(r16) : "t"(x));
            __asm__ volatile("fistl %0" : "=m"(r32) : "t"(x));
            __asm__ volatile("fistpll %0" : "=m"(r64) : "t"(x) : "st");
            uint16_t sw = x87_sw(SW_C1);
            x87_cw(CW_NEAREST);
            guest_printf(" %04x/%08x/%016llx/%04x", (uint16_t)r16, (uint32_t)r32,
                         (unsigned long long)r64, sw);
        }
        guest_printf("\n");
    }
    static const double bv[] = { 0.0, -0.0, 1.0, -1.0, 2.5, 3.5, 123456789.0, 99999999999999999.0,
                                 -123456789012345678.0, 1e18, 1e300 };
    for (unsigned i = 0; i < sizeof bv / sizeof bv[0]; i++) {
        uint8_t bcd[10];
        long double x = bv[i], back;
        x87_clex();
        __asm__ volatile("fbstp %0" : "=m"(bcd) : "t"(x) : "st");
        uint16_t sw = x87_sw(SW_C1);
        __asm__ volatile("fbld %1" : "=t"(back) : "m"(bcd));
        guest_printf("fbstp %s -> ", x87_hex(bv[i]));
        for (int k = 9; k >= 0; k--)
            guest_printf("%02x", bcd[k]);
        guest_printf(" sw=%04x fbld -> %s\n", sw, x87_hex(back));
    }
}

static void x87_compare(void)
{
    long double qnan = x87_from_bits(0x7fff, 0xc000000000000000ull);
    long double inf = x87_from_bits(0x7fff, 0x8000000000000000ull);
    long double cv[] = { 0.0L, -0.0L, 1.0L, -1.0L, qnan, inf, -inf };
    for (unsigned i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        for (unsigned j = 0; j < sizeof cv / sizeof cv[0]; j++) {
            uint32_t f1, f2;
            uint16_t sw1, sw2, sw3;
            x87_clex();
            __asm__ volatile("pushl $0x8d7\n\tpopfl\n\tfcomi %%st(1), %%st\n\tpushfl\n\tpopl %0"
                             : "=r"(f1) : "t"(cv[i]), "u"(cv[j]) : "cc");
            sw1 = x87_sw(SW_C1);
            x87_clex();
            __asm__ volatile("pushl $0x2\n\tpopfl\n\tfucomi %%st(1), %%st\n\tpushfl\n\tpopl %0"
                             : "=r"(f2) : "t"(cv[i]), "u"(cv[j]) : "cc");
            sw2 = x87_sw(SW_C1);
            x87_clex();
            __asm__ volatile("fcom %%st(1)\n\tfnstsw %0" : "=a"(sw3) : "t"(cv[i]), "u"(cv[j]));
            guest_printf("fcomi %s %s -> %s/%04x fucomi -> %s/%04x fcom -> %04x\n", x87_hex(cv[i]),
                         x87_hex(cv[j]), insn_fl(f1, 0), sw1, insn_fl(f2, 0), sw2, x87_swd(sw3, SW_ALL));
        }
    }
    /* FXAM classes (C3 C2 C0) and sign (C1); FTST against 0. */
    long double den = x87_from_bits(0x0000, 0x0000000000000001ull);
    long double unnormal = x87_from_bits(0x1234, 0x4000000000000000ull);
    long double xv[] = { 0.0L, -0.0L, 1.0L, -2.0L, qnan, inf, -inf, den, unnormal };
    for (unsigned i = 0; i < sizeof xv / sizeof xv[0]; i++) {
        uint16_t swx, swt;
        x87_clex();
        __asm__ volatile("fxam\n\tfnstsw %0" : "=a"(swx) : "t"(xv[i]));
        x87_clex();
        __asm__ volatile("ftst\n\tfnstsw %0" : "=a"(swt) : "t"(xv[i]));
        guest_printf("fxam/ftst %s -> %04x %04x\n", x87_hex(xv[i]), x87_swd(swx, SW_ALL), x87_swd(swt, SW_ALL));
    }
}

static void x87_env(void)
{
    /* 32-bit protected-mode FNSTENV image (SDM Vol. 1 8.1.10, Figure 8-9): FCW, FSW, FTW
     * are mode independent; FIP/FCS/FOP/FDP/FDS depend on addresses and CPU mode. */
    uint32_t env[7];
    __asm__ volatile("fninit\n\tfldcw %1\n\tfld1\n\tfldz\n\tfldpi\n\tfld1\n\tfchs\n\t"
                     "fsqrt\n\tfnstenv %0\n\tfninit"
                     : "=m"(env) : "m"((uint16_t){ 0x0A7F }));
    /* FSW: TOP (bits 13:11), C1, SF and the exception flags; C0 C2 C3 are undefined
     * after FSQRT. */
    guest_printf("fnstenv fcw=%04x fsw=%04x ftw=%04x\n", env[0] & 0xffff,
                 (env[1] & 0x3800) | x87_swd((uint16_t)env[1], 0x027F), env[2] & 0xffff);
    __asm__ volatile("fninit\n\tfnstenv %0" : "=m"(env));
    guest_printf("fnstenv after fninit fcw=%04x fsw=%04x ftw=%04x\n", env[0] & 0xffff,
                 env[1] & 0xffff, env[2] & 0xffff);
    /* FNSTENV masks all exceptions afterwards (SDM Vol. 2A FSTENV). */
    uint16_t cw;
    __asm__ volatile("fldcw %1\n\tfnstenv %0" : "=m"(env) : "m"((uint16_t){ 0x0340 }));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    guest_printf("fnstenv with cw=0340 -> fcw=%04x, cw afterwards %04x\n", env[0] & 0xffff, cw);
    __asm__ volatile("fninit");
}

void guest_main(void)
{
    x87_constants();
    x87_store();
    x87_arith();
    x87_prem_scale_rnd();
    x87_transcendental();
    x87_int();
    x87_compare();
    x87_env();
}
