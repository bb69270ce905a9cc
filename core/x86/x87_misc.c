/* x87 FPU: the D9 E0-FF group: FCHS FABS FTST FXAM, constants, transcendental and
 * other one- and two-register operations, FDECSTP/FINCSTP (SDM Vol. 2, opcode map A.4). */
#include <string.h>
#include "x87_priv.h"

/* Result written to ST(0) (FCHS, FABS, FSQRT, FRNDINT, F2XM1, FSIN, FCOS, FSCALE,
 * FPREM, FPREM1). two: ST(1) is an operand too. */
static void unary_to_st0(struct x87_ctx *c, int hop, bool two)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (x87_is_empty(&c->f, 0) || (two && x87_is_empty(&c->f, 1))) {
        if (x87_underflow(&c->f))
            x87_set(&c->f, 0, x87_indefinite);
        return;
    }
    h.a = x87_get(&c->f, 0);
    if (two)
        h.b = x87_get(&c->f, 1);
    if (x87_apply(&c->f, x87_host_run(&h, hop, c->f.fcw, c->f.fsw)))
        x87_set(&c->f, 0, h.r0);
}

/* FPATAN, FYL2X, FYL2XP1: ST(1) = f(ST(1), ST(0)), then pop. */
static void binary_pop(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (x87_is_empty(&c->f, 0) || x87_is_empty(&c->f, 1)) {
        if (!x87_underflow(&c->f))
            return;
        x87_set(&c->f, 1, x87_indefinite);
    } else {
        h.a = x87_get(&c->f, 0);
        h.b = x87_get(&c->f, 1);
        if (!x87_apply(&c->f, x87_host_run(&h, hop, c->f.fcw, c->f.fsw)))
            return;
        x87_set(&c->f, 1, h.r0);
    }
    x87_pop(&c->f);
}

/* FPTAN, FSINCOS, FXTRACT: ST(0) is replaced and a second value pushed. Out of range
 * operands (C2 = 1) leave the stack unchanged (SDM Vol. 2 FPTAN, FSINCOS). */
static void unary_push(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    bool under = x87_is_empty(&c->f, 0), over = !x87_is_empty(&c->f, 7);
    if (under || over) {
        if (!(under ? x87_underflow(&c->f) : x87_overflow(&c->f)))
            return;
        x87_set(&c->f, 0, x87_indefinite);
        x87_push(&c->f, x87_indefinite);
        return;
    }
    h.a = x87_get(&c->f, 0);
    uint16_t sw = x87_host_run(&h, hop, c->f.fcw, c->f.fsw);
    if (!x87_apply(&c->f, sw))
        return;
    if (hop != HOP_XTRACT && (sw & FSW_C2))
        return;
    x87_set(&c->f, 0, h.r1);
    x87_push(&c->f, h.r0);
}

static void load_const(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (!x87_is_empty(&c->f, 7)) {
        if (x87_overflow(&c->f))
            x87_push(&c->f, x87_indefinite);
        return;
    }
    x87_host_run(&h, hop, c->f.fcw, c->f.fsw);
    c->f.fsw &= (uint16_t)~FSW_C1;
    x87_push(&c->f, h.r0);
}

static void ftst_fxam(struct x87_ctx *c, bool xam)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    h.a = x87_get(&c->f, 0);
    if (x87_is_empty(&c->f, 0)) {
        if (xam) {   /* class "empty": C3 = 1, C0 = 1; C1 still reports the sign bit */
            x87_set_cc(&c->f, FSW_C3 | FSW_C0 | ((h.a.se & 0x8000) ? FSW_C1 : 0));
        } else if (x87_underflow(&c->f)) {
            x87_set_cc(&c->f, FSW_C3 | FSW_C2 | FSW_C0);
        }
        return;
    }
    x87_apply(&c->f, x87_host_run(&h, xam ? HOP_XAM : HOP_TST, c->f.fcw, c->f.fsw));
}

/* D9 E0..FF; the decoder has already rejected E2 E3 E6 E7 EF. */
void x87_misc_d9(struct x87_ctx *c)
{
    switch (c->modrm) {
    case 0xE0: unary_to_st0(c, HOP_CHS, false); break;
    case 0xE1: unary_to_st0(c, HOP_ABS, false); break;
    case 0xE4: ftst_fxam(c, false); break;
    case 0xE5: ftst_fxam(c, true); break;
    case 0xE8: load_const(c, HOP_LD1); break;
    case 0xE9: load_const(c, HOP_LDL2T); break;
    case 0xEA: load_const(c, HOP_LDL2E); break;
    case 0xEB: load_const(c, HOP_LDPI); break;
    case 0xEC: load_const(c, HOP_LDLG2); break;
    case 0xED: load_const(c, HOP_LDLN2); break;
    case 0xEE: load_const(c, HOP_LDZ); break;
    case 0xF0: unary_to_st0(c, HOP_F2XM1, false); break;
    case 0xF1: binary_pop(c, HOP_YL2X); break;
    case 0xF2: unary_push(c, HOP_PTAN); break;
    case 0xF3: binary_pop(c, HOP_PATAN); break;
    case 0xF4: unary_push(c, HOP_XTRACT); break;
    case 0xF5: unary_to_st0(c, HOP_PREM1, true); break;
    case 0xF6:
        x87_set_top(&c->f, x87_top(&c->f) - 1);
        c->f.fsw &= (uint16_t)~FSW_C1;
        break;
    case 0xF7:
        x87_set_top(&c->f, x87_top(&c->f) + 1);
        c->f.fsw &= (uint16_t)~FSW_C1;
        break;
    case 0xF8: unary_to_st0(c, HOP_PREM, true); break;
    case 0xF9: binary_pop(c, HOP_YL2XP1); break;
    case 0xFA: unary_to_st0(c, HOP_SQRT, false); break;
    case 0xFB: unary_push(c, HOP_SINCOS); break;
    case 0xFC: unary_to_st0(c, HOP_RNDINT, false); break;
    case 0xFD: unary_to_st0(c, HOP_SCALE, true); break;
    case 0xFE: unary_to_st0(c, HOP_SIN, false); break;
    case 0xFF: unary_to_st0(c, HOP_COS, false); break;
    default: break;
    }
}
