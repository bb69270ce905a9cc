/* MUL, IMUL (one, two and three operands), DIV and IDIV (non-faulting operands) on
 * 8/16/32-bit operands, compared with the host CPU. */
#include "insn.h"

/* MUL/IMUL: CF and OF defined, SF ZF AF PF undefined; DIV/IDIV: all six undefined
 * (SDM Vol. 2A/2B); vendors differ in what they leave there (see insn.h). */
#define MUL_UNDEF (FL_SF | FL_ZF | FL_AF | FL_PF)

#define FLAGS_IN  "pushl %[fi]\n\tpopfl\n\t"
#define FLAGS_OUT "\n\tpushfl\n\tpopl %[f]"

/* One-operand forms: AX = AL * r8; DX:AX = AX * r16; EDX:EAX = EAX * r32. */
#define MUL1(fn, mn)                                                               \
    static uint64_t fn##8(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)        \
    {                                                                              \
        uint32_t ax = a & 0xff, f;                                                 \
        uint8_t y = (uint8_t)b;                                                    \
        __asm__ volatile(FLAGS_IN mn "b %[y]" FLAGS_OUT                            \
                         : "+a"(ax), [f] "=&r"(f) : [y] "q"(y), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return ax & 0xffff;                                                        \
    }                                                                              \
    static uint64_t fn##16(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)       \
    {                                                                              \
        uint32_t ax = a & 0xffff, dx = 0, f;                                       \
        uint16_t y = (uint16_t)b;                                                  \
        __asm__ volatile(FLAGS_IN mn "w %[y]" FLAGS_OUT                            \
                         : "+a"(ax), "+d"(dx), [f] "=&r"(f) : [y] "r"(y), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return (dx & 0xffff) << 16 | (ax & 0xffff);                                \
    }                                                                              \
    static uint64_t fn##32(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)       \
    {                                                                              \
        uint32_t ax = a, dx = 0, f;                                                \
        __asm__ volatile(FLAGS_IN mn "l %[y]" FLAGS_OUT                            \
                         : "+a"(ax), "+d"(dx), [f] "=&r"(f) : [y] "r"(b), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return (uint64_t)dx << 32 | ax;                                            \
    }
MUL1(mul, "mul") MUL1(imul1_, "imul")

static uint64_t imul2_16(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)
{
    uint16_t x = (uint16_t)a, y = (uint16_t)b;
    uint32_t f;
    __asm__ volatile(FLAGS_IN "imulw %[y], %[x]" FLAGS_OUT
                     : [x] "+r"(x), [f] "=&r"(f) : [y] "r"(y), [fi] "r"(fi) : "cc");
    *fo = f;
    return x;
}

static uint64_t imul2_32(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)
{
    uint32_t f;
    __asm__ volatile(FLAGS_IN "imull %[y], %[x]" FLAGS_OUT
                     : [x] "+r"(a), [f] "=&r"(f) : [y] "r"(b), [fi] "r"(fi) : "cc");
    *fo = f;
    return a;
}

/* Three-operand forms with a sign-extended imm8 (6B) and a full immediate (69). */
#define IMUL3(fn, T, sfx, imm)                                                     \
    static uint64_t fn(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)           \
    {                                                                              \
        T x = (T)a, r;                                                             \
        uint32_t f;                                                                \
        (void)b;                                                                   \
        __asm__ volatile(FLAGS_IN "imul" sfx " $" #imm ", %[x], %[r]" FLAGS_OUT    \
                         : [r] "=&r"(r), [f] "=&r"(f) : [x] "r"(x), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return r;                                                                  \
    }
IMUL3(imul3_16_i8, uint16_t, "w", -3) IMUL3(imul3_16_i16, uint16_t, "w", 0x1234)
IMUL3(imul3_32_i8, uint32_t, "l", 127) IMUL3(imul3_32_i32, uint32_t, "l", -0x12345)

typedef uint64_t (*mul_fn)(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo);

static void mul_run(const char *name, int bits, mul_fn fn, bool unary)
{
    unsigned n;
    const uint32_t *v = insn_vals(bits, &n);
    int rbits = name[0] == 'm' || name[4] == '1' ? bits * 2 : bits;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < (unary ? 1 : n); j++) {
            uint32_t fi = FL_FIXED | ((i + j) & 1 ? FL_ARITH : 0), fo;
            uint64_t r = fn(v[i], v[j], fi, &fo);
            guest_printf("%s%d %s", name, bits, insn_hex(v[i], bits));
            if (!unary)
                guest_printf(" %s", insn_hex(v[j], bits));
            if (rbits == 64)
                guest_printf(" -> %016llx %s\n", (unsigned long long)r, insn_fl(fo, MUL_UNDEF));
            else
                guest_printf(" -> %s %s\n", insn_hex((uint32_t)r, rbits), insn_fl(fo, MUL_UNDEF));
        }
    }
}

/* Division: dividend hi:lo by d. Returns quotient | remainder << 32 (per width). */
#define DIVFN(fn, mn)                                                              \
    static void fn##8(uint32_t hi, uint32_t lo, uint32_t d, uint32_t *q, uint32_t *r) \
    {                                                                              \
        uint32_t ax = (hi & 0xff) << 8 | (lo & 0xff);                              \
        uint8_t y = (uint8_t)d;                                                    \
        __asm__ volatile(mn "b %[y]" : "+a"(ax) : [y] "q"(y) : "cc");              \
        *q = ax & 0xff, *r = (ax >> 8) & 0xff;                                     \
    }                                                                              \
    static void fn##16(uint32_t hi, uint32_t lo, uint32_t d, uint32_t *q, uint32_t *r) \
    {                                                                              \
        uint32_t ax = lo & 0xffff, dx = hi & 0xffff;                               \
        uint16_t y = (uint16_t)d;                                                  \
        __asm__ volatile(mn "w %[y]" : "+a"(ax), "+d"(dx) : [y] "r"(y) : "cc");    \
        *q = ax & 0xffff, *r = dx & 0xffff;                                        \
    }                                                                              \
    static void fn##32(uint32_t hi, uint32_t lo, uint32_t d, uint32_t *q, uint32_t *r) \
    {                                                                              \
        uint32_t ax = lo, dx = hi;                                                 \
        __asm__ volatile(mn "l %[y]" : "+a"(ax), "+d"(dx) : [y] "r"(d) : "cc");    \
        *q = ax, *r = dx;                                                          \
    }
DIVFN(divu, "div") DIVFN(divs, "idiv")

static int64_t sext(uint64_t v, int bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* Would the hardware raise #DE? Decided in C first so the test never faults. */
static bool div_fits(bool sgn, int bits, uint32_t hi, uint32_t lo, uint32_t d)
{
    uint64_t m = insn_mask(bits);
    uint64_t dividend = ((uint64_t)(hi & m) << bits) | (lo & m);
    if ((d & m) == 0)
        return false;
    if (!sgn)
        return (dividend / (d & m)) <= m;
    int64_t sd = sext(dividend, bits * 2), sv = sext(d & m, bits);
    if (sd == INT64_MIN)
        return false;
    int64_t q = sd / sv;
    return q >= -(int64_t)(m / 2) - 1 && q <= (int64_t)(m / 2);
}

static void div_run(bool sgn)
{
    static const uint32_t his[] = { 0x00000000, 0x00000001, 0x00000012, 0xffffffff, 0xfffffff0 };
    const char *name = sgn ? "idiv" : "div";
    for (int w = 0; w < 3; w++) {
        int bits = 8 << w;
        unsigned n;
        const uint32_t *v = insn_vals(bits, &n);
        for (unsigned h = 0; h < sizeof his / sizeof his[0]; h++) {
            for (unsigned i = 0; i < n; i++) {
                for (unsigned j = 0; j < n; j++) {
                    uint32_t q, r;
                    if (!div_fits(sgn, bits, his[h], v[i], v[j]))
                        continue;
                    if (bits == 8)
                        (sgn ? divs8 : divu8)(his[h], v[i], v[j], &q, &r);
                    else if (bits == 16)
                        (sgn ? divs16 : divu16)(his[h], v[i], v[j], &q, &r);
                    else
                        (sgn ? divs32 : divu32)(his[h], v[i], v[j], &q, &r);
                    guest_printf("%s%d %s:%s / %s -> q=%s r=%s\n", name, bits, insn_hex(his[h], bits),
                                 insn_hex(v[i], bits), insn_hex(v[j], bits), insn_hex(q, bits),
                                 insn_hex(r, bits));
                }
            }
        }
    }
}

void guest_main(void)
{
    mul_run("mul", 8, mul8, false);
    mul_run("mul", 16, mul16, false);
    mul_run("mul", 32, mul32, false);
    mul_run("imul1_", 8, imul1_8, false);
    mul_run("imul1_", 16, imul1_16, false);
    mul_run("imul1_", 32, imul1_32, false);
    mul_run("imul2_", 16, imul2_16, false);
    mul_run("imul2_", 32, imul2_32, false);
    mul_run("imul3i8_", 16, imul3_16_i8, true);
    mul_run("imul3i16_", 16, imul3_16_i16, true);
    mul_run("imul3i8_", 32, imul3_32_i8, true);
    mul_run("imul3i32_", 32, imul3_32_i32, true);
    div_run(false);
    div_run(true);
}
