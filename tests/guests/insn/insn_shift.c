/* SHL SHR SAR ROL ROR RCL RCR (count in CL, the by-1 form and an imm8 form) and
 * SHLD/SHRD on 8/16/32-bit operands: result and flags, compared with the host CPU. */
#include "insn.h"

#define SH_CL(fn, mn, T, C)                                                        \
    static uint32_t fn(uint32_t a, uint8_t n, uint32_t fi, uint32_t *fo)            \
    {                                                                              \
        T x = (T)a;                                                                \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %%cl, %[x]\n\t"           \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+" C(x), [f] "=&r"(f) : "c"(n), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return x;                                                                  \
    }

/* By-1 (opcode D0/D1) and imm8 (C0/C1, count 5) encodings decode differently. */
#define SH_1(fn, mn, T, C)                                                         \
    static uint32_t fn(uint32_t a, uint32_t fi, uint32_t *fo)                       \
    {                                                                              \
        T x = (T)a;                                                                \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[x]\n\t"                 \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+" C(x), [f] "=&r"(f) : [fi] "r"(fi) : "cc");      \
        *fo = f;                                                                   \
        return x;                                                                  \
    }

#define SH_I5(fn, mn, T, C)                                                        \
    static uint32_t fn(uint32_t a, uint32_t fi, uint32_t *fo)                       \
    {                                                                              \
        T x = (T)a;                                                                \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " $5, %[x]\n\t"             \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+" C(x), [f] "=&r"(f) : [fi] "r"(fi) : "cc");      \
        *fo = f;                                                                   \
        return x;                                                                  \
    }

#define SH_ALL(name)                                                               \
    SH_CL(name##8, #name, uint8_t, "q") SH_CL(name##16, #name, uint16_t, "r")      \
    SH_CL(name##32, #name, uint32_t, "r")                                          \
    SH_1(name##8_1, #name, uint8_t, "q") SH_1(name##16_1, #name, uint16_t, "r")    \
    SH_1(name##32_1, #name, uint32_t, "r")                                         \
    SH_I5(name##8_5, #name, uint8_t, "q") SH_I5(name##16_5, #name, uint16_t, "r")  \
    SH_I5(name##32_5, #name, uint32_t, "r")

SH_ALL(shl) SH_ALL(shr) SH_ALL(sar) SH_ALL(rol) SH_ALL(ror) SH_ALL(rcl) SH_ALL(rcr)

typedef uint32_t (*sh_cl_fn)(uint32_t a, uint8_t n, uint32_t fi, uint32_t *fo);
typedef uint32_t (*sh_fix_fn)(uint32_t a, uint32_t fi, uint32_t *fo);

enum sh_kind { SH_SHIFT, SH_SHIFT_LOGICAL, SH_ROT, SH_RCX };
struct sh_op {
    const char *name;
    enum sh_kind kind;
    sh_cl_fn cl[3];
    sh_fix_fn by1[3], by5[3];
};
#define SOP(name, kind) { #name, kind, { name##8, name##16, name##32 }, \
    { name##8_1, name##16_1, name##32_1 }, { name##8_5, name##16_5, name##32_5 } }
static const struct sh_op sh_ops[] = {
    SOP(shl, SH_SHIFT_LOGICAL), SOP(shr, SH_SHIFT_LOGICAL), SOP(sar, SH_SHIFT),
    SOP(rol, SH_ROT), SOP(ror, SH_ROT), SOP(rcl, SH_RCX), SOP(rcr, SH_RCX),
};

/* Flags the SDM leaves undefined for this count (Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR):
 * masked count 0 changes nothing; OF is defined only for a masked count of 1; shifts
 * leave AF undefined, and SHL/SHR leave CF undefined once the count reaches the
 * operand size. */
static uint32_t sh_undef(enum sh_kind kind, unsigned count, int bits)
{
    unsigned mc = count & 31;
    uint32_t u = 0;
    if (mc == 0)
        return 0;
    if (mc > 1)
        u |= FL_OF;
    if (kind == SH_SHIFT || kind == SH_SHIFT_LOGICAL)
        u |= FL_AF;
    if (kind == SH_SHIFT_LOGICAL && mc >= (unsigned)bits)
        u |= FL_CF;
    return u;
}

static const uint8_t sh_counts[] = { 0, 1, 7, 8, 15, 16, 31, 32, 33 };

static void sh_run(const struct sh_op *op)
{
    for (int w = 0; w < 3; w++) {
        int bits = 8 << w;
        unsigned n;
        const uint32_t *v = insn_vals(bits, &n);
        for (unsigned i = 0; i < n; i++) {
            for (int k = 0; k < 2; k++) {
                uint32_t fi = FL_FIXED | (k ? FL_ARITH : 0), fo, r;
                for (unsigned c = 0; c < sizeof sh_counts; c++) {
                    r = op->cl[w](v[i], sh_counts[c], fi, &fo);
                    guest_printf("%s%d %s cl=%u %s -> %s %s\n", op->name, bits, insn_hex(v[i], bits),
                                 sh_counts[c], insn_fl(fi, 0), insn_hex(r, bits),
                                 insn_fl(fo, sh_undef(op->kind, sh_counts[c], bits)));
                }
                r = op->by1[w](v[i], fi, &fo);
                guest_printf("%s%d %s by1 %s -> %s %s\n", op->name, bits, insn_hex(v[i], bits),
                             insn_fl(fi, 0), insn_hex(r, bits), insn_fl(fo, sh_undef(op->kind, 1, bits)));
                r = op->by5[w](v[i], fi, &fo);
                guest_printf("%s%d %s imm5 %s -> %s %s\n", op->name, bits, insn_hex(v[i], bits),
                             insn_fl(fi, 0), insn_hex(r, bits), insn_fl(fo, sh_undef(op->kind, 5, bits)));
            }
        }
    }
}

#define DSH(fn, mn, T)                                                             \
    static uint32_t fn(uint32_t a, uint32_t b, uint8_t n, uint32_t fi, uint32_t *fo) \
    {                                                                              \
        T x = (T)a, y = (T)b;                                                      \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %%cl, %[y], %[x]\n\t"     \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+r"(x), [f] "=&r"(f)                               \
                         : [y] "r"(y), "c"(n), [fi] "r"(fi) : "cc");               \
        *fo = f;                                                                   \
        return x;                                                                  \
    }
DSH(shld16, "shld", uint16_t) DSH(shld32, "shld", uint32_t)
DSH(shrd16, "shrd", uint16_t) DSH(shrd32, "shrd", uint32_t)

static uint32_t shld32_i(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)
{
    uint32_t f;
    __asm__ volatile("pushl %[fi]\n\tpopfl\n\tshld $12, %[y], %[x]\n\tpushfl\n\tpopl %[f]"
                     : [x] "+r"(a), [f] "=&r"(f) : [y] "r"(b), [fi] "r"(fi) : "cc");
    *fo = f;
    return a;
}

static uint32_t shrd16_i(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)
{
    uint16_t x = (uint16_t)a, y = (uint16_t)b;
    uint32_t f;
    __asm__ volatile("pushl %[fi]\n\tpopfl\n\tshrd $3, %[y], %[x]\n\tpushfl\n\tpopl %[f]"
                     : [x] "+r"(x), [f] "=&r"(f) : [y] "r"(y), [fi] "r"(fi) : "cc");
    *fo = f;
    return x;
}

static void dsh_run(void)
{
    static const uint32_t srcs[] = { 0x00000000, 0xffffffff, 0x9e3779b9, 0x80000001 };
    static const uint8_t counts[] = { 0, 1, 4, 15, 16, 17, 31, 32, 33 };
    for (int w = 0; w < 2; w++) {
        int bits = 16 << w;
        unsigned n;
        const uint32_t *v = insn_vals(bits, &n);
        for (int op = 0; op < 2; op++) {
            const char *name = op ? "shrd" : "shld";
            for (unsigned i = 0; i < n; i++) {
                for (unsigned s = 0; s < sizeof srcs / sizeof srcs[0]; s++) {
                    for (unsigned c = 0; c < sizeof counts; c++) {
                        uint32_t fi = FL_FIXED | ((i + c) & 1 ? FL_ARITH : 0), fo, r;
                        unsigned mc = counts[c] & 31;
                        if (w == 0)
                            r = (op ? shrd16 : shld16)(v[i], srcs[s], counts[c], fi, &fo);
                        else
                            r = (op ? shrd32 : shld32)(v[i], srcs[s], counts[c], fi, &fo);
                        /* SDM Vol. 2B SHLD/SHRD: a count above the operand size leaves
                         * the result and all flags undefined; OF is defined only for 1. */
                        bool undef_all = mc > (unsigned)bits;
                        uint32_t u = mc == 0 ? 0 : FL_AF | (mc > 1 ? FL_OF : 0);
                        guest_printf("%s%d %s %s cl=%u %s -> %s %s\n", name, bits,
                                     insn_hex(v[i], bits), insn_hex(srcs[s], bits), counts[c],
                                     insn_fl(fi, 0), undef_all ? "?" : insn_hex(r, bits),
                                     insn_fl(fo, undef_all ? FL_ARITH : u));
                    }
                }
            }
        }
    }
    for (unsigned i = 0; i < insn_nvals32; i++) {
        uint32_t fo, r = shld32_i(insn_vals32[i], 0x9e3779b9, FL_FIXED, &fo);
        guest_printf("shld32 %08x 9e3779b9 imm12 -> %08x %s\n", insn_vals32[i], r, insn_fl(fo, FL_AF | FL_OF));
        r = shrd16_i(insn_vals32[i], 0xb5e3, FL_FIXED, &fo);
        guest_printf("shrd16 %04x b5e3 imm3 -> %04x %s\n", insn_vals32[i] & 0xffff, r, insn_fl(fo, FL_AF | FL_OF));
    }
}

void guest_main(void)
{
    for (unsigned i = 0; i < sizeof sh_ops / sizeof sh_ops[0]; i++)
        sh_run(&sh_ops[i]);
    dsh_run();
}
