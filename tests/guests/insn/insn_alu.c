/* ADD ADC SUB SBB AND OR XOR CMP TEST INC DEC NEG NOT on 8/16/32-bit operands:
 * result and arithmetic flags for edge-value operands, compared with the host CPU. */
#include "insn.h"

/* One function per instruction and width: load EFLAGS from fi, run the instruction on
 * registers, return the result and the flags after it. "q" gives byte registers. */
#define ALU_BIN(fn, mn, T, C)                                                      \
    static uint32_t fn(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)           \
    {                                                                              \
        T x = (T)a, y = (T)b;                                                      \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[y], %[x]\n\t"           \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+" C(x), [f] "=&r"(f)                              \
                         : [y] C(y), [fi] "r"(fi) : "cc");                         \
        *fo = f;                                                                   \
        return x;                                                                  \
    }

#define ALU_UN(fn, mn, T, C)                                                       \
    static uint32_t fn(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo)           \
    {                                                                              \
        T x = (T)a;                                                                \
        uint32_t f;                                                                \
        (void)b;                                                                   \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[x]\n\t"                 \
                         "pushfl\n\tpopl %[f]"                                     \
                         : [x] "+" C(x), [f] "=&r"(f) : [fi] "r"(fi) : "cc");      \
        *fo = f;                                                                   \
        return x;                                                                  \
    }

#define ALU_ALL(kind, name)                                                        \
    kind(name##8, #name, uint8_t, "q")                                             \
    kind(name##16, #name, uint16_t, "r")                                           \
    kind(name##32, #name, uint32_t, "r")

ALU_ALL(ALU_BIN, add) ALU_ALL(ALU_BIN, adc) ALU_ALL(ALU_BIN, sub) ALU_ALL(ALU_BIN, sbb)
ALU_ALL(ALU_BIN, and) ALU_ALL(ALU_BIN, or) ALU_ALL(ALU_BIN, xor) ALU_ALL(ALU_BIN, cmp)
ALU_ALL(ALU_BIN, test)
ALU_ALL(ALU_UN, inc) ALU_ALL(ALU_UN, dec) ALU_ALL(ALU_UN, neg) ALU_ALL(ALU_UN, not)

typedef uint32_t (*alu_fn)(uint32_t a, uint32_t b, uint32_t fi, uint32_t *fo);

struct alu_op {
    const char *name;
    alu_fn fn[3];               /* 8, 16, 32 bits */
    bool unary;
    uint32_t undef;             /* flags the SDM leaves undefined */
};

#define OP(name, unary, undef) { #name, { name##8, name##16, name##32 }, unary, undef }
static const struct alu_op alu_ops[] = {
    OP(add, false, 0), OP(adc, false, 0), OP(sub, false, 0), OP(sbb, false, 0),
    /* AND/OR/XOR/TEST: CF=OF=0, SF ZF PF from the result, AF undefined (SDM Vol. 2). */
    OP(and, false, FL_AF), OP(or, false, FL_AF), OP(xor, false, FL_AF),
    OP(cmp, false, 0), OP(test, false, FL_AF),
    OP(inc, true, 0), OP(dec, true, 0), OP(neg, true, 0), OP(not, true, 0),
};

static void alu_run(const struct alu_op *op)
{
    for (int w = 0; w < 3; w++) {
        int bits = 8 << w;
        unsigned n;
        const uint32_t *v = insn_vals(bits, &n);
        for (unsigned i = 0; i < n; i++) {
            for (unsigned j = 0; j < (op->unary ? 1 : n); j++) {
                /* Input flags: all clear and all set (CF matters to ADC/SBB, INC/DEC and
                 * NOT must leave flags they do not define untouched). */
                for (int k = 0; k < 2; k++) {
                    uint32_t fi = FL_FIXED | (k ? FL_ARITH : 0), fo;
                    uint32_t r = op->fn[w](v[i], v[j], fi, &fo);
                    if (op->unary)
                        guest_printf("%s%d %s %s -> %s %s\n", op->name, bits, insn_hex(v[i], bits),
                                     insn_fl(fi, 0), insn_hex(r, bits), insn_fl(fo, op->undef));
                    else
                        guest_printf("%s%d %s %s %s -> %s %s\n", op->name, bits,
                                     insn_hex(v[i], bits), insn_hex(v[j], bits), insn_fl(fi, 0),
                                     insn_hex(r, bits), insn_fl(fo, op->undef));
                }
            }
        }
    }
}

void guest_main(void)
{
    for (unsigned i = 0; i < sizeof alu_ops / sizeof alu_ops[0]; i++)
        alu_run(&alu_ops[i]);
}
