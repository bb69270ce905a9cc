/* x87 FPU: two-operand arithmetic and comparisons (FADD..FDIVR with their P and integer
 * forms, FCOM/FUCOM/FICOM and their pops, FCOMI/FUCOMI, FCMOVcc). */
#include <string.h>
#include "x87_priv.h"

/* Precomputation exceptions: when one of these is unmasked no result is delivered and the
 * post-computation exceptions are not reported (SDM Vol. 1 §8.5, §4.9.2). */
#define PRE_EXC (FSW_IE | FSW_DE | FSW_ZE)

/* x87 ST(dst)-destination encodings (DC, DE) swap SUB/SUBR and DIV/DIVR in reg 4-7
 * relative to the ST(0)-destination ones (SDM Vol. 2 FSUB/FSUBR, FDIV/FDIVR opcode tables):
 * DC E8+i is FSUB ST(i),ST(0) = ST(i) - ST(0). Our host op is always "dest OP src". */
static const int op_st0_dest[8] = { HA_ADD, HA_MUL, HA_COM, HA_COM, HA_SUB, HA_SUBR, HA_DIV, HA_DIVR };
static const int op_sti_dest[8] = { HA_ADD, HA_MUL, HA_COM, HA_COM, HA_SUBR, HA_SUB, HA_DIVR, HA_DIV };

static x87_f80 int_to_f80(int32_t n)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    memcpy(h.mem, &n, 4);
    x87_host_run(&h, HOP_LD_I32, 0x037F, 0);
    return h.r0;
}

x87_f80 x87_scale(x87_f80 v, int32_t n)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    h.a = v;
    h.b = int_to_f80(n);
    x87_host_run(&h, HOP_SCALE, 0x037F, 0);
    return h.r0;
}

/* Unmasked overflow/underflow with a register destination delivers the rounded result
 * with its exponent wrapped by 24576 (SDM Vol. 1 §4.9.1.4-5): recompute with operands
 * pre-scaled by powers of two so the exact result stays in range and rounds the same. */
static uint16_t wrapped_result(struct x87_ctx *c, int op, unsigned kind, struct x87_host *h,
                               bool over)
{
    struct x87_host s = *h;
    int32_t k = over ? -12288 : 12288;
    if (kind != HK_REG) {
        static const int ld[] = { 0, HOP_LD_F32, HOP_LD_F64, HOP_LD_I16, HOP_LD_I32 };
        struct x87_host l = *h;
        x87_host_run(&l, ld[kind], 0x037F, 0);   /* exact: every source format fits */
        s.b = l.r0;
    }
    switch (op) {
    case HA_MUL: s.a = x87_scale(s.a, k); s.b = x87_scale(s.b, k); break;
    case HA_DIV: s.a = x87_scale(s.a, k); s.b = x87_scale(s.b, -k); break;
    case HA_DIVR: s.a = x87_scale(s.a, -k); s.b = x87_scale(s.b, k); break;
    default: s.a = x87_scale(s.a, 2 * k); s.b = x87_scale(s.b, 2 * k); break;   /* add/sub */
    }
    uint16_t sw = x87_host_run(&s, HOP_ARITH(HK_REG, op), c->f->fcw, c->f->fsw);
    h->r0 = s.r0;
    return (uint16_t)((sw & ~(FSW_OE | FSW_UE)) | (over ? FSW_OE : FSW_UE));
}

/* Result of an arithmetic host op for a register destination: applies the guest's masks.
 * Returns true when h->r0 is to be written. */
static bool arith_result(struct x87_ctx *c, int op, unsigned kind, struct x87_host *h, uint16_t sw)
{
    unsigned exc = sw & FSW_EXC, unm = exc & ~c->f->fcw;
    x87_f80 r = h->r0;
    /* Unmasked underflow is signalled for every tiny result, exact or not (§4.9.1.5);
     * the masked host only reports inexact ones. */
    if (!(c->f->fcw & FSW_UE) && !(unm & PRE_EXC) && (r.se & 0x7FFF) == 0 && r.m != 0) {
        exc |= FSW_UE;
        unm |= FSW_UE;
    }
    if (unm & PRE_EXC) {
        /* the codes change as in the masked case, but C1 = 0: nothing was rounded */
        x87_set_cc(c->f, sw & ~FSW_C1);
        x87_signal(c->f, exc & PRE_EXC);
        return false;
    }
    if (unm & (FSW_OE | FSW_UE)) {
        /* the scaled operands are normal: keep the original DE, take PE and C1 from the
         * rescaled rounding */
        sw = wrapped_result(c, op, kind, h, (unm & FSW_OE) != 0);
        exc = (exc & FSW_DE) | (sw & FSW_EXC);
    }
    x87_set_cc(c->f, sw);
    x87_signal(c->f, exc);
    return true;
}

/* dst = dst OP src, with ST(dst) = a and the source b (register) or h->mem (memory). */
static void arith_do(struct x87_ctx *c, int op, unsigned kind, unsigned dst, unsigned src,
                     struct x87_host *h, bool pop)
{
    bool empty = x87_is_empty(c->f, dst) || (kind == HK_REG && x87_is_empty(c->f, src));
    if (empty) {
        if (!x87_underflow(c->f))
            return;
        x87_set(c->f, dst, x87_indefinite);
    } else {
        h->a = x87_get(c->f, dst);
        if (kind == HK_REG)
            h->b = x87_get(c->f, src);
        uint16_t sw = x87_host_run(h, HOP_ARITH(kind, op), c->f->fcw, c->f->fsw);
        if (!arith_result(c, op, kind, h, sw))
            return;
        x87_set(c->f, dst, h->r0);
    }
    if (pop)
        x87_pop(c->f);
}

/* FCOM/FUCOM/FICOM: C3 C2 C0 from the comparison, C1 = 0 (SDM Vol. 2 FCOM). With an
 * unmasked exception a real x87 still sets the condition codes (unordered for IE) but does
 * not pop. pops: 0, 1 or 2 (FCOMPP/FUCOMPP). */
static void compare_do(struct x87_ctx *c, int op, unsigned kind, unsigned src,
                       struct x87_host *h, int pops)
{
    bool empty = x87_is_empty(c->f, 0) || (kind == HK_REG && x87_is_empty(c->f, src));
    if (empty) {
        bool masked = x87_underflow(c->f);
        x87_set_cc(c->f, FSW_C3 | FSW_C2 | FSW_C0);
        if (!masked)
            return;
    } else {
        h->a = x87_get(c->f, 0);
        if (kind == HK_REG)
            h->b = x87_get(c->f, src);
        uint16_t sw = x87_host_run(h, HOP_ARITH(kind, op), c->f->fcw, c->f->fsw);
        unsigned exc = sw & FSW_EXC;
        x87_set_cc(c->f, sw & (FSW_C0 | FSW_C2 | FSW_C3));
        if (exc & ~c->f->fcw & PRE_EXC) {
            x87_signal(c->f, exc & PRE_EXC);
            return;
        }
        x87_signal(c->f, exc);
    }
    while (pops-- > 0)
        x87_pop(c->f);
}

void x87_compare_reg(struct x87_ctx *c, unsigned i, int op, int pops)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    compare_do(c, op, HK_REG, i, &h, pops);
}

/* D8 (m32fp), DA (m32int), DC (m64fp), DE (m16int) and the D8/DC/DE register forms. */
void x87_arith(struct x87_ctx *c)
{
    unsigned reg = (c->modrm >> 3) & 7, rm = c->modrm & 7;
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (c->modrm < 0xC0) {
        unsigned kind;
        switch (c->opcode) {
        case 0xD8: kind = HK_F32; break;
        case 0xDA: kind = HK_I32; break;
        case 0xDC: kind = HK_F64; break;
        default:   kind = HK_I16; break;
        }
        if (kind == HK_F64) {
            uint64_t v = x86_read64(c->cpu, c->seg, c->ea);
            memcpy(h.mem, &v, 8);
        } else if (kind == HK_I16) {
            uint16_t v = x86_read16(c->cpu, c->seg, c->ea);
            memcpy(h.mem, &v, 2);
        } else {
            uint32_t v = x86_read32(c->cpu, c->seg, c->ea);
            memcpy(h.mem, &v, 4);
        }
        if (reg == 2 || reg == 3)
            compare_do(c, HA_COM, kind, 0, &h, reg == 3);
        else
            arith_do(c, op_st0_dest[reg], kind, 0, 0, &h, false);
        return;
    }
    if (reg == 2 || reg == 3) {
        /* D8 D0/D8 FCOM/FCOMP; DC D0/D8 and DE D0 are P6 aliases of them; DE D9 FCOMPP
         * (other DE D8+i are rejected by the decoder). */
        if (c->opcode == 0xDE && reg == 3)
            compare_do(c, HA_COM, HK_REG, 1, &h, 2);
        else
            compare_do(c, HA_COM, HK_REG, rm, &h, reg == 3 || c->opcode == 0xDE);
        return;
    }
    if (c->opcode == 0xD8)
        arith_do(c, op_st0_dest[reg], HK_REG, 0, rm, &h, false);
    else
        arith_do(c, op_sti_dest[reg], HK_REG, rm, 0, &h, c->opcode == 0xDE);
}

/* FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF PF CF = C3 C2 C0 of the comparison, OF SF AF cleared;
 * the FSW condition codes are left alone except C1 = 0 on a stack fault (measured). */
void x87_comi(struct x87_ctx *c, unsigned i, bool unordered, bool pop)
{
    unsigned cc = FSW_C3 | FSW_C2 | FSW_C0;
    bool deliver;
    if (x87_is_empty(c->f, 0) || x87_is_empty(c->f, i)) {
        deliver = x87_underflow(c->f);
    } else {
        struct x87_host h;
        memset(&h, 0, sizeof(h));
        h.a = x87_get(c->f, 0);
        h.b = x87_get(c->f, i);
        uint16_t sw = x87_host_run(&h, HOP_ARITH(HK_REG, unordered ? HA_UCOM : HA_COM),
                                   c->f->fcw, c->f->fsw);
        unsigned exc = sw & FSW_EXC;
        cc = sw;
        deliver = !(exc & ~c->f->fcw & PRE_EXC);
        x87_signal(c->f, deliver ? exc : exc & PRE_EXC);
    }
    /* As with FCOM, a real x87 sets the flags even when the exception is unmasked. */
    uint32_t fl = x86_get_eflags(c->cpu) & ~(EFL_ZF | EFL_PF | EFL_CF | EFL_OF | EFL_SF | EFL_AF);
    if (cc & FSW_C3) fl |= EFL_ZF;
    if (cc & FSW_C2) fl |= EFL_PF;
    if (cc & FSW_C0) fl |= EFL_CF;
    x86_set_eflags(c->cpu, fl);
    if (pop && deliver)
        x87_pop(c->f);
}

/* FCMOVcc (DA C0-DF, DB C0-DF): B E BE U and their negations on CF ZF PF. */
void x87_fcmov(struct x87_ctx *c)
{
    unsigned reg = (c->modrm >> 3) & 3, rm = c->modrm & 7;
    uint32_t fl = x86_get_eflags(c->cpu);
    bool cond;
    switch (reg) {
    case 0: cond = fl & EFL_CF; break;
    case 1: cond = fl & EFL_ZF; break;
    case 2: cond = fl & (EFL_CF | EFL_ZF); break;
    default: cond = fl & EFL_PF; break;
    }
    if (c->opcode == 0xDB)
        cond = !cond;
    if (x87_is_empty(c->f, 0) || x87_is_empty(c->f, rm)) {
        /* masked: ST(0) becomes the indefinite whether or not the condition holds
         * (measured on a real x87) */
        if (x87_underflow(c->f))
            x87_set(c->f, 0, x87_indefinite);
        return;
    }
    if (cond)
        x87_set(c->f, 0, x87_get(c->f, rm));
}
