/* x87 FPU: loads and stores between the register stack and guest memory (FLD/FST/FSTP
 * m32/m64/m80, FILD/FIST/FISTP m16/m32/m64, FBLD/FBSTP) and the register forms of
 * FLD/FST/FSTP/FXCH. */
#include <string.h>
#include "x87_priv.h"

x87_f80 x87_read80(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    x87_f80 v;
    x86_check_access(cpu, seg, ea, 10, false);
    v.m = x86_read64(cpu, seg, ea);
    v.se = x86_read16(cpu, seg, ea + 8);
    return v;
}

/* Checked as a whole first so a fault on the second part cannot leave half a store. */
void x87_write80(struct x86_cpu *cpu, int seg, uint32_t ea, x87_f80 v)
{
    x86_check_access(cpu, seg, ea, 10, true);
    x86_write64(cpu, seg, ea, v.m);
    x86_write16(cpu, seg, ea + 8, v.se);
}

enum fmt { F_F32, F_F64, F_F80, F_I16, F_I32, F_I64, F_BCD };

static const int load_hop[] = { HOP_LD_F32, HOP_LD_F64, 0, HOP_LD_I16, HOP_LD_I32, HOP_LD_I64,
                                HOP_LD_BCD };
static const int store_hop[] = { HOP_ST_F32, HOP_ST_F64, 0, HOP_ST_I16, HOP_ST_I32, HOP_ST_I64,
                                 HOP_ST_BCD };

static void mem_read(struct x87_ctx *c, enum fmt f, uint8_t *buf)
{
    switch (f) {
    case F_F32: case F_I32: { uint32_t v = x86_read32(c->cpu, c->seg, c->ea); memcpy(buf, &v, 4); break; }
    case F_F64: case F_I64: { uint64_t v = x86_read64(c->cpu, c->seg, c->ea); memcpy(buf, &v, 8); break; }
    case F_I16: { uint16_t v = x86_read16(c->cpu, c->seg, c->ea); memcpy(buf, &v, 2); break; }
    default: { x87_f80 v = x87_read80(c->cpu, c->seg, c->ea); memcpy(buf, &v, 10); break; }
    }
}

static void mem_write(struct x87_ctx *c, enum fmt f, const uint8_t *buf)
{
    switch (f) {
    case F_F32: case F_I32: { uint32_t v; memcpy(&v, buf, 4); x86_write32(c->cpu, c->seg, c->ea, v); break; }
    case F_F64: case F_I64: { uint64_t v; memcpy(&v, buf, 8); x86_write64(c->cpu, c->seg, c->ea, v); break; }
    case F_I16: { uint16_t v; memcpy(&v, buf, 2); x86_write16(c->cpu, c->seg, c->ea, v); break; }
    default: { x87_f80 v; memcpy(&v, buf, 10); x87_write80(c->cpu, c->seg, c->ea, v); break; }
    }
}

/* FLD/FILD/FBLD: conversion exceptions (IE for an SNaN, DE for a denormal source) come
 * from the host's own conversion; 80-bit loads are exact and raise nothing. */
static void load(struct x87_ctx *c, enum fmt f)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    mem_read(c, f, h.mem);
    if (!x87_is_empty(c->f, 7)) {
        if (x87_overflow(c->f))
            x87_push(c->f, x87_indefinite);
        return;
    }
    if (f == F_F80) {
        memcpy(&h.r0, h.mem, 10);
        c->f->fsw &= (uint16_t)~FSW_C1;
    } else {
        /* Only an unmasked IE (SNaN source) suppresses the load: with DE unmasked a real
         * x87 still pushes the normalized value and just flags DE (measured). */
        uint16_t sw = x87_host_run(&h, load_hop[f], c->f->fcw, c->f->fsw);
        x87_set_cc(c->f, sw);
        if (x87_signal(c->f, sw & FSW_EXC) & FSW_IE)
            return;
    }
    x87_push(c->f, h.r0);
}

/* A denormal in the destination format (m32/m64): a tiny result. */
static bool tiny_in_format(enum fmt f, const uint8_t *buf)
{
    if (f == F_F32) {
        uint32_t v;
        memcpy(&v, buf, 4);
        return (v & 0x7F800000u) == 0 && (v & 0x007FFFFFu) != 0;
    }
    if (f == F_F64) {
        uint64_t v;
        memcpy(&v, buf, 8);
        return (v & 0x7FF0000000000000ull) == 0 && (v & 0x000FFFFFFFFFFFFFull) != 0;
    }
    return false;
}

/* FST/FSTP/FIST/FISTP/FBSTP to memory. With an unmasked exception other than precision
 * nothing is stored and nothing popped (SDM Vol. 1 §4.9.1, §8.5). */
static void store(struct x87_ctx *c, enum fmt f, bool pop)
{
    struct x87_host h;
    memset(&h, 0, sizeof(h));
    if (x87_is_empty(c->f, 0)) {
        if (!x87_underflow(c->f))
            return;
        h.a = x87_indefinite;   /* masked: the indefinite of the destination format */
        if (f == F_F80)
            memcpy(h.mem, &h.a, 10);
        else
            x87_host_run(&h, store_hop[f], c->f->fcw, c->f->fsw);
        mem_write(c, f, h.mem);
        if (pop)
            x87_pop(c->f);
        return;
    }
    h.a = x87_get(c->f, 0);
    uint16_t sw = 0;
    if (f == F_F80)
        memcpy(h.mem, &h.a, 10);
    else
        sw = x87_host_run(&h, store_hop[f], c->f->fcw, c->f->fsw);
    unsigned exc = sw & FSW_EXC, unm = exc & ~c->f->fcw;
    if (!(c->f->fcw & FSW_UE) && !(unm & (FSW_IE | FSW_DE | FSW_ZE)) && tiny_in_format(f, h.mem)) {
        exc |= FSW_UE;   /* unmasked underflow is signalled for exact tiny results too */
        unm |= FSW_UE;
    }
    if (unm & (FSW_IE | FSW_DE | FSW_ZE)) {
        x87_set_cc(c->f, sw & ~FSW_C1);   /* suppressed: codes change, C1 = 0 (measured) */
        x87_signal(c->f, exc & (FSW_IE | FSW_DE | FSW_ZE));
        return;
    }
    if (unm & (FSW_OE | FSW_UE)) {   /* nothing stored, no PE, C1 = 0 (measured) */
        c->f->fsw &= (uint16_t)~FSW_C1;
        x87_signal(c->f, exc & ~FSW_PE);
        return;
    }
    mem_write(c, f, h.mem);
    if (f == F_F80)
        c->f->fsw &= (uint16_t)~FSW_C1;
    else
        x87_set_cc(c->f, sw);
    x87_signal(c->f, exc);
    if (pop)
        x87_pop(c->f);
}

/* Memory forms of D9 /0 /2 /3, DB /0 /2 /3 /5 /7, DD /0 /2 /3, DF /0 /2-/7. */
void x87_load_store(struct x87_ctx *c)
{
    unsigned reg = (c->modrm >> 3) & 7;
    static const enum fmt fmt_of[4] = { F_F32, F_I32, F_F64, F_I16 };   /* D9 DB DD DF */
    enum fmt f = fmt_of[(c->opcode - 0xD9) / 2];
    if (c->opcode == 0xDB && reg >= 4)
        f = F_F80;
    if (c->opcode == 0xDF && reg >= 4)
        f = (reg & 1) ? F_I64 : F_BCD;
    switch (reg) {
    case 0: case 4: case 5: load(c, f); break;
    case 2: store(c, f, false); break;
    default: store(c, f, true); break;      /* 3, 6, 7 */
    }
}

/* FLD ST(i): pushes a copy; no exceptions but stack faults. */
void x87_fld_reg(struct x87_ctx *c, unsigned i)
{
    x87_f80 v = x87_get(c->f, i);
    if (x87_is_empty(c->f, i)) {
        if (!x87_underflow(c->f))
            return;
        v = x87_indefinite;
    }
    if (!x87_is_empty(c->f, 7)) {
        if (x87_overflow(c->f))
            x87_push(c->f, x87_indefinite);
        return;
    }
    c->f->fsw &= (uint16_t)~FSW_C1;
    x87_push(c->f, v);
}

/* FST/FSTP ST(i) (and the FSTP1/8/9 aliases): a plain copy, no conversion. */
void x87_fst_reg(struct x87_ctx *c, unsigned i, bool pop)
{
    x87_f80 v = x87_get(c->f, 0);
    if (x87_is_empty(c->f, 0)) {
        if (!x87_underflow(c->f))
            return;
        v = x87_indefinite;
    } else {
        c->f->fsw &= (uint16_t)~FSW_C1;
    }
    x87_set(c->f, i, v);
    if (pop)
        x87_pop(c->f);
}

/* FXCH ST(i): an empty operand is an underflow; masked, it reads as indefinite. */
void x87_fxch(struct x87_ctx *c, unsigned i)
{
    x87_f80 a = x87_get(c->f, 0), b = x87_get(c->f, i);
    bool ea = x87_is_empty(c->f, 0), eb = x87_is_empty(c->f, i);
    if (ea || eb) {
        if (!x87_underflow(c->f))
            return;
        if (ea) a = x87_indefinite;
        if (eb) b = x87_indefinite;
    } else {
        c->f->fsw &= (uint16_t)~FSW_C1;
    }
    x87_set(c->f, 0, b);
    x87_set(c->f, i, a);
}

/* D9 D8+i: documented nowhere by Intel, known as FSTPNCE (store and pop, no check for
 * empty): ST(i) takes ST(0)'s value and tag, then pop, without a stack fault. Matches the
 * behaviour measured on a real x87. */
void x87_fstpnce(struct x87_ctx *c, unsigned i)
{
    bool empty = x87_is_empty(c->f, 0);
    x87_set(c->f, i, x87_get(c->f, 0));
    if (empty)
        x87_free(c->f, i);
    c->f->fsw &= (uint16_t)~FSW_C1;
    x87_pop(c->f);
}
