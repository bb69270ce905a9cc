/* x87 FPU: arithmetic done by the host's own x87 (x86-64 hosts have one), so results,
 * rounding (guest PC/RC), NaN propagation and exception flags are bit-exact with real
 * hardware. Every exception is masked on the host; the caller applies the guest's masks. */
#include <string.h>
#include "x87_priv.h"

/* One asm block per operation: run with the guest's PC/RC and every exception masked,
 * clearing the host's sticky flags first only when some are set (FNCLEX and FLDENV are
 * slow microcode: ~60 and ~110 ns here, FLDCW ~1 ns), then restore the host control word.
 * Every body leaves the host stack as it found it (empty, as the ABI guarantees at a call);
 * the ones whose push is conditional end with FNINIT. The status word is read right after
 * the operation: the stores that follow change C1. */
#define HOST(body)                                                                          \
    __asm__ volatile("fnstcw %[save]\n\tfldcw %[cw]\n\tfnstsw %%ax\n\ttestb $0x3f, %%al\n\t" \
                     "jz 1f\n\tfnclex\n1:\n\t" body "\n\tfldcw %[save]"                     \
                     : [r0] "=m"(h->r0), [r1] "=m"(h->r1), [sw] "=m"(sw), [mem] "+m"(h->mem), \
                       [save] "=m"(save), [tmp] "=&a"(tmp)                                  \
                     : [cw] "m"(cw), [a] "m"(h->a), [b] "m"(h->b)                            \
                     : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",    \
                       "st(6)", "st(7)")

/* FPREM/FPREM1 define C0/C1/C3 only when they really reduce (not for zero, infinite or NaN
 * operands): they run with the guest's condition codes preloaded through FLDENV. */
#define HOST_ENV(body)                                                                      \
    __asm__ volatile("fnstcw %[save]\n\tfldenv %[env]\n\t" body "\n\tfninit\n\tfldcw %[save]" \
                     : [r0] "=m"(h->r0), [sw] "=m"(sw), [save] "=m"(save)                   \
                     : [env] "m"(env), [a] "m"(h->a), [b] "m"(h->b)                          \
                     : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", \
                       "st(7)")

#define SW_R0 "\n\tfnstsw %[sw]\n\tfstpt %[r0]"

/* Two-operand arithmetic: the destination value a is ST(0) on the host, the source b is
 * ST(1) or the memory operand, and only the ST(0)-destination encodings are used (the
 * AT&T fsub/fsubr operand swap only affects ST(i)-destination forms). */
#define ARITH_CASES(OPC, base)                                                               \
    case HOP_ARITH(HK_REG, OPC):                                                             \
        HOST("fldt %[b]\n\tfldt %[a]\n\tf" base " %%st(1), %%st" SW_R0 POP1);             \
        break;                                                                               \
    case HOP_ARITH(HK_F32, OPC): HOST("fldt %[a]\n\tf" base "s %[mem]" SW_R0); break;      \
    case HOP_ARITH(HK_F64, OPC): HOST("fldt %[a]\n\tf" base "l %[mem]" SW_R0); break;      \
    case HOP_ARITH(HK_I16, OPC): HOST("fldt %[a]\n\tfi" base "s %[mem]" SW_R0); break;     \
    case HOP_ARITH(HK_I32, OPC): HOST("fldt %[a]\n\tfi" base "l %[mem]" SW_R0); break;

#define POP1 "\n\tfstp %%st(0)"
#define UNARY(insn) HOST("fldt %[a]\n\t" insn SW_R0)
#define PUSHES(insn) HOST("fldt %[a]\n\t" insn SW_R0 "\n\tfstpt %[r1]\n\tfninit")
#define BINARY(insn) HOST("fldt %[b]\n\tfldt %[a]\n\t" insn SW_R0 POP1)
#define BINARY_POP(insn) HOST("fldt %[b]\n\tfldt %[a]\n\t" insn SW_R0)
#define LOAD(insn) HOST(insn SW_R0)
#define STORE(insn) HOST("fldt %[a]\n\t" insn " %[mem]\n\tfnstsw %[sw]")

/* Condition codes each operation defines (SDM Vol. 2, "FPU Flags Affected", checked on a
 * real x87); the others keep the guest's values. */
static unsigned cc_defined(int op)
{
    if (op < HOP_CHS)
        return (op % 8 == HA_COM || op % 8 == HA_UCOM) ? FSW_CC : FSW_C1;
    switch (op) {
    case HOP_SIN: case HOP_COS: case HOP_PTAN: case HOP_SINCOS:
        return FSW_C1 | FSW_C2;
    case HOP_TST: case HOP_XAM:
        return FSW_CC;
    default:
        return FSW_C1;
    }
}

uint16_t x87_host_run(struct x87_host *h, int op, uint16_t fcw, uint16_t fsw)
{
    uint16_t sw = 0, save, tmp;
    uint16_t cw = (uint16_t)((fcw & 0x0F00u) | FCW_ONES | FSW_EXC);   /* PC, RC; all masked */
    switch (op) {
    ARITH_CASES(HA_ADD, "add")
    ARITH_CASES(HA_MUL, "mul")
    ARITH_CASES(HA_SUB, "sub")
    ARITH_CASES(HA_SUBR, "subr")
    ARITH_CASES(HA_DIV, "div")
    ARITH_CASES(HA_DIVR, "divr")
    case HOP_ARITH(HK_REG, HA_COM): HOST("fldt %[b]\n\tfldt %[a]\n\tfcompp\n\tfnstsw %[sw]"); break;
    case HOP_ARITH(HK_REG, HA_UCOM): HOST("fldt %[b]\n\tfldt %[a]\n\tfucompp\n\tfnstsw %[sw]"); break;
    case HOP_ARITH(HK_F32, HA_COM): HOST("fldt %[a]\n\tfcomps %[mem]\n\tfnstsw %[sw]"); break;
    case HOP_ARITH(HK_F64, HA_COM): HOST("fldt %[a]\n\tfcompl %[mem]\n\tfnstsw %[sw]"); break;
    case HOP_ARITH(HK_I16, HA_COM): HOST("fldt %[a]\n\tficomps %[mem]\n\tfnstsw %[sw]"); break;
    case HOP_ARITH(HK_I32, HA_COM): HOST("fldt %[a]\n\tficompl %[mem]\n\tfnstsw %[sw]"); break;
    case HOP_CHS: UNARY("fchs"); break;
    case HOP_ABS: UNARY("fabs"); break;
    case HOP_SQRT: UNARY("fsqrt"); break;
    case HOP_RNDINT: UNARY("frndint"); break;
    case HOP_F2XM1: UNARY("f2xm1"); break;
    case HOP_SIN: UNARY("fsin"); break;
    case HOP_COS: UNARY("fcos"); break;
    case HOP_TST: HOST("fldt %[a]\n\tftst\n\tfnstsw %[sw]" POP1); break;
    case HOP_XAM: HOST("fldt %[a]\n\tfxam\n\tfnstsw %[sw]" POP1); break;
    case HOP_PTAN: PUSHES("fptan"); break;
    case HOP_SINCOS: PUSHES("fsincos"); break;
    case HOP_XTRACT: PUSHES("fxtract"); break;
    case HOP_SCALE: BINARY("fscale"); break;
    case HOP_PREM: case HOP_PREM1: {
        uint16_t env[14];
        memset(env, 0, sizeof(env));
        env[0] = cw;
        env[2] = (uint16_t)(fsw & FSW_CC);
        env[4] = 0xFFFF;
        if (op == HOP_PREM)
            HOST_ENV("fldt %[b]\n\tfldt %[a]\n\tfprem" SW_R0);
        else
            HOST_ENV("fldt %[b]\n\tfldt %[a]\n\tfprem1" SW_R0);
        return sw;
    }
    case HOP_PATAN: BINARY_POP("fpatan"); break;
    case HOP_YL2X: BINARY_POP("fyl2x"); break;
    case HOP_YL2XP1: BINARY_POP("fyl2xp1"); break;
    case HOP_LD_F32: LOAD("flds %[mem]"); break;
    case HOP_LD_F64: LOAD("fldl %[mem]"); break;
    case HOP_LD_I16: LOAD("filds %[mem]"); break;
    case HOP_LD_I32: LOAD("fildl %[mem]"); break;
    case HOP_LD_I64: LOAD("fildll %[mem]"); break;
    case HOP_LD_BCD: LOAD("fbld %[mem]"); break;
    case HOP_LD1: LOAD("fld1"); break;
    case HOP_LDL2T: LOAD("fldl2t"); break;
    case HOP_LDL2E: LOAD("fldl2e"); break;
    case HOP_LDPI: LOAD("fldpi"); break;
    case HOP_LDLG2: LOAD("fldlg2"); break;
    case HOP_LDLN2: LOAD("fldln2"); break;
    case HOP_LDZ: LOAD("fldz"); break;
    case HOP_ST_F32: STORE("fstps"); break;   /* the popping forms keep the stack balanced */
    case HOP_ST_F64: STORE("fstpl"); break;
    case HOP_ST_I16: STORE("fistps"); break;
    case HOP_ST_I32: STORE("fistpl"); break;
    case HOP_ST_I64: STORE("fistpll"); break;
    case HOP_ST_BCD: STORE("fbstp"); break;
    default:
        /* Internal misuse only (no guest input selects an op directly): report invalid. */
        h->r0 = x87_indefinite;
        return FSW_IE;
    }
    (void)tmp;
    unsigned def = cc_defined(op);
    return (uint16_t)((sw & ~FSW_CC) | (sw & def) | (fsw & FSW_CC & ~def));
}
