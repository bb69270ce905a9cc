/* x87 FPU: the D9 E0-FF group: FCHS FABS FTST FXAM, constants, transcendental and
 * other one- and two-register operations, FDECSTP/FINCSTP (SDM Vol. 2, opcode map A.4). */
#include <string.h>
#include "x87_priv.h"

static bool is_tiny(x87_f80 r)
{
    return (r.se & 0x7FFF) == 0 && r.m != 0;
}

/* Applies the guest's masks to the result(s) r[0..n-1] of a D9-group operation. Unmasked
 * underflow delivers the result with its exponent raised by 24576 (SDM Vol. 1 §4.9.1.5);
 * FSCALE, FYL2X and FYL2XP1 are recomputed with an adjusted scale or factor, so they are
 * exact, for overflow too. For the
 * other operations the masked (denormalized) result is rescaled: exact whenever the tiny
 * result was exact (FPREM, FSIN of a denormal), possibly off in the last bits otherwise. */
static bool misc_result(struct x87_ctx *c, int hop, struct x87_host *h, uint16_t sw,
                        x87_f80 *r, unsigned n)
{
    unsigned exc = sw & FSW_EXC, unm = exc & ~c->f->fcw & FSW_EXC;
    bool tiny = false;
    for (unsigned k = 0; k < n; k++)
        tiny |= is_tiny(r[k]);
    if (!(c->f->fcw & FSW_UE) && !(unm & (FSW_IE | FSW_DE | FSW_ZE)) && tiny) {
        exc |= FSW_UE;   /* unmasked underflow is signalled for exact tiny results too */
        unm |= FSW_UE;
    }
    if (unm & (FSW_IE | FSW_DE | FSW_ZE)) {
        /* suppressed: the codes change as in the masked case with C1 = 0, except that
         * FPREM/FPREM1 only clear C1 and C2, leaving C0 and C3 (measured) */
        if (hop == HOP_PREM || hop == HOP_PREM1)
            c->f->fsw &= (uint16_t)~(FSW_C1 | FSW_C2);
        else
            x87_set_cc(c->f, sw & ~FSW_C1);
        x87_signal(c->f, exc & (FSW_IE | FSW_DE | FSW_ZE));
        return false;
    }
    if ((unm & (FSW_OE | FSW_UE)) && hop == HOP_SCALE) {
        /* FSCALE by trunc(ST(1)) -/+ 24576: the wrapped result when that fits, else what
         * the hardware gives for a scale far out of range (infinity or zero, OE/UE+PE). */
        bool over = (unm & FSW_OE) != 0;
        struct x87_host s = *h, t;
        memset(&t, 0, sizeof(t));
        t.a = h->b;
        x87_host_run(&t, HOP_RNDINT, 0x0F7F, 0);          /* RC = chop */
        t.a = t.r0;
        int32_t k = over ? -24576 : 24576;
        memcpy(t.mem, &k, 4);
        x87_host_run(&t, HOP_ARITH(HK_I32, HA_ADD), 0x037F, 0);
        s.b = t.r0;
        sw = x87_host_run(&s, HOP_SCALE, c->f->fcw, c->f->fsw);
        r[0] = s.r0;
        exc = (exc & FSW_DE) | (sw & FSW_EXC) | (over ? FSW_OE : FSW_UE);
        if (sw & (FSW_OE | FSW_UE)) {
            /* still out of range: a real x87 gives a signed infinity (C1 = 1) or zero
             * (C1 = 0) whatever the rounding mode (measured) */
            r[0].se = (uint16_t)((h->a.se & 0x8000) | (over ? 0x7FFF : 0));
            r[0].m = over ? 0x8000000000000000ull : 0;
            exc = (exc & FSW_DE) | FSW_PE | (over ? FSW_OE : FSW_UE);
            sw = (uint16_t)((sw & ~FSW_C1) | (over ? FSW_C1 : 0));
        }
    } else if ((unm & (FSW_OE | FSW_UE)) && (hop == HOP_YL2X || hop == HOP_YL2XP1) &&
               ((unm & FSW_OE) || (h->b.se & 0x7FFF) < 8190)) {
        /* ST(1) * log2(...): scaling the factor ST(1) by 2^-/+24576 is exact here (huge
         * for overflow, tiny for this underflow) and gives the wrapped result directly */
        bool over = (unm & FSW_OE) != 0;
        struct x87_host s = *h;
        s.b = x87_scale(h->b, over ? -24576 : 24576);
        sw = x87_host_run(&s, hop, c->f->fcw, c->f->fsw);
        r[0] = s.r0;
        exc = (exc & FSW_DE) | (sw & FSW_EXC) | (over ? FSW_OE : FSW_UE);
    } else if (unm & FSW_UE) {
        for (unsigned k = 0; k < n; k++)
            if (is_tiny(r[k]))
                r[k] = x87_scale(r[k], 24576);
    }
    x87_set_cc(c->f, sw);
    x87_signal(c->f, exc);
    return true;
}

/* Result written to ST(0) (FCHS, FABS, FSQRT, FRNDINT, F2XM1, FSIN, FCOS, FSCALE,
 * FPREM, FPREM1). two: ST(1) is an operand too. */
static void unary_to_st0(struct x87_ctx *c, int hop, bool two)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (x87_is_empty(c->f, 0) || (two && x87_is_empty(c->f, 1))) {
        /* C2 (incomplete reduction / out of range) reads 0 after a stack fault */
        if (hop == HOP_SIN || hop == HOP_COS || hop == HOP_PREM || hop == HOP_PREM1)
            c->f->fsw &= (uint16_t)~FSW_C2;
        if (x87_underflow(c->f))
            x87_set(c->f, 0, x87_indefinite);
        return;
    }
    h.a = x87_get(c->f, 0);
    if (two)
        h.b = x87_get(c->f, 1);
    uint16_t sw = x87_host_run(&h, hop, c->f->fcw, c->f->fsw);
    if (hop == HOP_CHS || hop == HOP_ABS) {   /* sign operations raise nothing */
        x87_set_cc(c->f, sw);
        x87_set(c->f, 0, h.r0);
    } else if (misc_result(c, hop, &h, sw, &h.r0, 1)) {
        x87_set(c->f, 0, h.r0);
    }
}

/* FPATAN, FYL2X, FYL2XP1: ST(1) = f(ST(1), ST(0)), then pop. */
static void binary_pop(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (x87_is_empty(c->f, 0) || x87_is_empty(c->f, 1)) {
        if (!x87_underflow(c->f))
            return;
        x87_set(c->f, 1, x87_indefinite);
    } else {
        h.a = x87_get(c->f, 0);
        h.b = x87_get(c->f, 1);
        uint16_t sw = x87_host_run(&h, hop, c->f->fcw, c->f->fsw);
        if (!misc_result(c, hop, &h, sw, &h.r0, 1))
            return;
        x87_set(c->f, 1, h.r0);
    }
    x87_pop(c->f);
}

/* FPTAN, FSINCOS, FXTRACT: ST(0) is replaced and a second value pushed. Out of range
 * operands (C2 = 1) leave the stack unchanged (SDM Vol. 2 FPTAN, FSINCOS). */
static void unary_push(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    bool under = x87_is_empty(c->f, 0), over = !x87_is_empty(c->f, 7);
    if (under || over) {
        if (hop != HOP_XTRACT)
            c->f->fsw &= (uint16_t)~FSW_C2;
        if (!(under ? x87_underflow(c->f) : x87_overflow(c->f)))
            return;
        x87_set(c->f, 0, x87_indefinite);
        x87_push(c->f, x87_indefinite);
        return;
    }
    h.a = x87_get(c->f, 0);
    uint16_t sw = x87_host_run(&h, hop, c->f->fcw, c->f->fsw);
    x87_f80 r[2] = { h.r0, h.r1 };
    bool out_of_range = hop != HOP_XTRACT && (sw & FSW_C2);
    if (!misc_result(c, hop, &h, sw, r, out_of_range ? 0 : 2) || out_of_range)
        return;
    h.r0 = r[0];
    h.r1 = r[1];
    x87_set(c->f, 0, h.r1);
    x87_push(c->f, h.r0);
}

static void load_const(struct x87_ctx *c, int hop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (!x87_is_empty(c->f, 7)) {
        if (x87_overflow(c->f))
            x87_push(c->f, x87_indefinite);
        return;
    }
    x87_host_run(&h, hop, c->f->fcw, c->f->fsw);
    c->f->fsw &= (uint16_t)~FSW_C1;
    x87_push(c->f, h.r0);
}

static void ftst_fxam(struct x87_ctx *c, bool xam)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    h.a = x87_get(c->f, 0);
    if (x87_is_empty(c->f, 0)) {
        if (xam) {   /* class "empty": C3 = 1, C0 = 1; C1 still reports the sign bit */
            x87_set_cc(c->f, FSW_C3 | FSW_C0 | ((h.a.se & 0x8000) ? FSW_C1 : 0));
        } else {   /* like FCOM: unordered even when the exception is unmasked */
            x87_underflow(c->f);
            x87_set_cc(c->f, FSW_C3 | FSW_C2 | FSW_C0);
        }
        return;
    }
    uint16_t sw = x87_host_run(&h, xam ? HOP_XAM : HOP_TST, c->f->fcw, c->f->fsw);
    x87_set_cc(c->f, sw);
    if (!x87_apply(c->f, sw))
        x87_set_cc(c->f, sw);
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
        x87_set_top(c->f, x87_top(c->f) - 1);
        c->f->fsw &= (uint16_t)~FSW_C1;
        break;
    case 0xF7:
        x87_set_top(c->f, x87_top(c->f) + 1);
        c->f->fsw &= (uint16_t)~FSW_C1;
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
