/* x87 FPU: the register stack (TOP, physical registers, tags) and exception reporting. */
#include <string.h>
#include "x87_priv.h"

/* Real indefinite: negative QNaN with significand C000...0 (SDM Vol. 1 §4.8.3.7). */
const x87_f80 x87_indefinite = { .m = 0xC000000000000000ull, .se = 0xFFFF };

unsigned x87_top(const struct fpu_state *f)
{
    return (f->fsw >> 11) & 7;
}

void x87_set_top(struct fpu_state *f, unsigned top)
{
    f->fsw = (uint16_t)((f->fsw & ~FSW_TOP) | ((top & 7) << 11));
}

/* Tag of a value (SDM Vol. 1 §8.1.7): zero, valid (normal: J bit set), or special
 * (NaN, infinity, denormal, and the unsupported unnormal/pseudo encodings). */
unsigned x87_tag_of(x87_f80 v)
{
    unsigned exp = v.se & 0x7FFF;
    if (exp == 0)
        return v.m == 0 ? TAG_ZERO : TAG_SPECIAL;
    if (exp == 0x7FFF || !(v.m >> 63))
        return TAG_SPECIAL;
    return TAG_VALID;
}

static unsigned phys_of(const struct fpu_state *f, unsigned i)
{
    return (x87_top(f) + i) & 7;
}

static void set_tag(struct fpu_state *f, unsigned phys, unsigned tag)
{
    f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}

bool x87_is_empty(const struct fpu_state *f, unsigned i)
{
    return ((f->ftw >> (2 * phys_of(f, i))) & 3) == TAG_EMPTY;
}

x87_f80 x87_get_phys(const struct fpu_state *f, unsigned phys)
{
    x87_f80 v;
    memcpy(&v, f->st[phys & 7], sizeof(v));
    return v;
}

void x87_set_phys(struct fpu_state *f, unsigned phys, x87_f80 v)
{
    memcpy(f->st[phys & 7], &v, sizeof(v));
    set_tag(f, phys & 7, x87_tag_of(v));
}

x87_f80 x87_get(const struct fpu_state *f, unsigned i)
{
    return x87_get_phys(f, phys_of(f, i));
}

void x87_set(struct fpu_state *f, unsigned i, x87_f80 v)
{
    x87_set_phys(f, phys_of(f, i), v);
}

void x87_free(struct fpu_state *f, unsigned i)
{
    set_tag(f, phys_of(f, i), TAG_EMPTY);
}

void x87_push(struct fpu_state *f, x87_f80 v)
{
    x87_set_top(f, x87_top(f) - 1);
    x87_set(f, 0, v);
}

void x87_pop(struct fpu_state *f)
{
    x87_free(f, 0);
    x87_set_top(f, x87_top(f) + 1);
}

/* FLDENV/FRSTOR/FXRSTOR take only empty vs. non-empty from memory; the FPU derives the
 * rest from the register contents (SDM Vol. 1 §8.1.7). */
void x87_retag(struct fpu_state *f)
{
    for (unsigned p = 0; p < 8; p++)
        if (((f->ftw >> (2 * p)) & 3) != TAG_EMPTY)
            set_tag(f, p, x87_tag_of(x87_get_phys(f, p)));
}

/* ES (and B, which mirrors it on P6) is set while any flagged exception is unmasked
 * (SDM Vol. 1 §8.1.3.4); a stack fault is an invalid-operation exception. */
void x87_update_es(struct fpu_state *f)
{
    if (f->fsw & ~f->fcw & FSW_EXC)
        f->fsw |= FSW_ES | FSW_B;
    else
        f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

unsigned x87_signal(struct fpu_state *f, unsigned flags)
{
    f->fsw |= (uint16_t)flags;
    x87_update_es(f);
    return flags & ~f->fcw & FSW_EXC;
}

void x87_set_cc(struct fpu_state *f, unsigned cc)
{
    f->fsw = (uint16_t)((f->fsw & ~FSW_CC) | (cc & FSW_CC));
}

/* Stack underflow: reading an empty register. IE+SF, C1 = 0 (SDM Vol. 1 §8.5.1.1). */
bool x87_underflow(struct fpu_state *f)
{
    f->fsw &= (uint16_t)~FSW_C1;
    return x87_signal(f, FSW_IE | FSW_SF) == 0;
}

/* Stack overflow: pushing onto a non-empty register. IE+SF, C1 = 1. */
bool x87_overflow(struct fpu_state *f)
{
    f->fsw |= FSW_C1;
    return x87_signal(f, FSW_IE | FSW_SF) == 0;
}

/* Applies the guest's masks to a host result: an unmasked precomputation exception (IE, DE,
 * ZE) reports only those and delivers nothing (returns false); otherwise the host's
 * condition codes and flags are taken and the result is to be delivered. */
bool x87_apply(struct fpu_state *f, uint16_t sw)
{
    unsigned exc = sw & FSW_EXC;
    x87_set_cc(f, sw);
    if (exc & ~f->fcw & (FSW_IE | FSW_DE | FSW_ZE)) {
        /* suppressed result: the codes still change, but C1 = 0 (measured) */
        f->fsw &= (uint16_t)~FSW_C1;
        x87_signal(f, exc & (FSW_IE | FSW_DE | FSW_ZE));
        return false;
    }
    x87_signal(f, exc);
    return true;
}
