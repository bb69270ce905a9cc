/* x87 FPU: environment and state images: FNSTENV/FLDENV and FNSAVE/FRSTOR in the four
 * layouts (16/32-bit operand size x real/protected mode, SDM Vol. 1 §8.1.10 Figures 8-9 to
 * 8-12), FXSAVE/FXRSTOR (SDM Vol. 2 FXSAVE, Table 3-53). */
#include <string.h>
#include "x87_priv.h"

/* P6 with SSE but without DAZ (Pentium III): MXCSR bit 6 is reserved. */
#define MXCSR_MASK 0x0000FFBFu

static bool real_layout(const struct x86_cpu *cpu)
{
    return !cpu->pe || cpu->v86;
}

static unsigned env_size(const struct x87_ctx *c)
{
    return c->o32 ? 28 : 14;
}

/* Builds the environment image in 7 words (16-bit) or 7 dwords (32-bit). Reserved halves
 * of the 32-bit image read as FFFFh, as a real x87 stores them. */
static void env_build(const struct x87_ctx *c, uint32_t w[7])
{
    const struct fpu_state *f = c->f;
    bool real = real_layout(c->cpu);
    uint32_t fip = f->fip, fdp = f->fdp;
    if (real) {   /* real/v86 mode images hold 20-bit (32-bit format: 32-bit) linear pointers */
        fip += (uint32_t)f->fcs << 4;
        fdp += (uint32_t)f->fds << 4;
    }
    if (c->o32) {
        uint32_t hi = 0xFFFF0000u;
        w[0] = hi | f->fcw;
        w[1] = hi | f->fsw;
        w[2] = hi | f->ftw;
        if (real) {
            w[3] = hi | (fip & 0xFFFF);
            w[4] = ((fip >> 16) << 12 & 0x0FFFF000u) | (f->fop & 0x7FF);
            w[5] = hi | (fdp & 0xFFFF);
            w[6] = (fdp >> 16) << 12 & 0x0FFFF000u;
        } else {
            w[3] = fip;
            w[4] = f->fcs | ((uint32_t)(f->fop & 0x7FF) << 16);
            w[5] = fdp;
            w[6] = hi | f->fds;
        }
    } else {
        w[0] = f->fcw;
        w[1] = f->fsw;
        w[2] = f->ftw;
        if (real) {
            w[3] = fip & 0xFFFF;
            w[4] = ((fip >> 16) & 0xF) << 12 | (f->fop & 0x7FF);
            w[5] = fdp & 0xFFFF;
            w[6] = ((fdp >> 16) & 0xF) << 12;
        } else {
            w[3] = fip & 0xFFFF;
            w[4] = f->fcs;
            w[5] = fdp & 0xFFFF;
            w[6] = f->fds;
        }
    }
}

static void env_write(struct x87_ctx *c, const uint32_t w[7])
{
    for (unsigned i = 0; i < 7; i++) {
        if (c->o32)
            x86_write32(c->cpu, c->seg, c->ea + 4 * i, w[i]);
        else
            x86_write16(c->cpu, c->seg, c->ea + 2 * i, (uint16_t)w[i]);
    }
}

static void env_read(struct x87_ctx *c, uint32_t w[7])
{
    for (unsigned i = 0; i < 7; i++)
        w[i] = c->o32 ? x86_read32(c->cpu, c->seg, c->ea + 4 * i)
                      : x86_read16(c->cpu, c->seg, c->ea + 2 * i);
}

/* Loads an image read by env_read into c->f (tags retagged by the caller). */
static void env_apply(struct x87_ctx *c, const uint32_t w[7])
{
    struct fpu_state *f = c->f;
    f->fcw = (uint16_t)((w[0] & FCW_WRITABLE) | FCW_ONES);
    f->fsw = (uint16_t)w[1];
    f->ftw = (uint16_t)w[2];
    if (real_layout(c->cpu)) {
        uint32_t mask = c->o32 ? 0xFFFFu : 0xFu;   /* pointer bits 31..16 or 19..16 */
        f->fip = (w[3] & 0xFFFF) | ((w[4] >> 12) & mask) << 16;
        f->fdp = (w[5] & 0xFFFF) | ((w[6] >> 12) & mask) << 16;
        f->fop = (uint16_t)(w[4] & 0x7FF);
        f->fcs = f->fds = 0;
    } else {
        f->fip = c->o32 ? w[3] : (w[3] & 0xFFFF);
        f->fcs = (uint16_t)w[4];
        if (c->o32)
            f->fop = (uint16_t)((w[4] >> 16) & 0x7FF);
        f->fdp = c->o32 ? w[5] : (w[5] & 0xFFFF);
        f->fds = (uint16_t)w[6];
    }
}

/* FNSTENV: stores the environment, then masks all exceptions (SDM Vol. 2 FSTENV). */
void x87_fstenv(struct x87_ctx *c)
{
    uint32_t w[7];
    env_build(c, w);
    x86_check_access(c->cpu, c->seg, c->ea, env_size(c), true);
    env_write(c, w);
    c->f->fcw |= FSW_EXC;
    x87_update_es(c->f);
}

void x87_fldenv(struct x87_ctx *c)
{
    uint32_t w[7];
    env_read(c, w);
    env_apply(c, w);
    x87_retag(c->f);
    x87_update_es(c->f);
}

/* FNSAVE: environment then ST(0)..ST(7) in stack order, then FNINIT. */
void x87_fsave(struct x87_ctx *c)
{
    uint32_t w[7];
    unsigned n = env_size(c);
    env_build(c, w);
    x86_check_access(c->cpu, c->seg, c->ea, n + 80, true);
    env_write(c, w);
    for (unsigned i = 0; i < 8; i++) {
        x87_f80 v = x87_get(c->f, i);
        x86_write64(c->cpu, c->seg, c->ea + n + 10 * i, v.m);
        x86_write16(c->cpu, c->seg, c->ea + n + 10 * i + 8, v.se);
    }
    c->f->fcw = 0x037F;
    c->f->fsw = 0;
    c->f->ftw = 0xFFFF;
    c->f->fop = 0;
    c->f->fip = c->f->fdp = 0;
    c->f->fcs = c->f->fds = 0;
}

void x87_frstor(struct x87_ctx *c)
{
    uint32_t w[7];
    x87_f80 r[8];
    unsigned n = env_size(c);
    x86_check_access(c->cpu, c->seg, c->ea, n + 80, false);
    env_read(c, w);
    for (unsigned i = 0; i < 8; i++) {
        r[i].m = x86_read64(c->cpu, c->seg, c->ea + n + 10 * i);
        r[i].se = x86_read16(c->cpu, c->seg, c->ea + n + 10 * i + 8);
    }
    env_apply(c, w);
    for (unsigned i = 0; i < 8; i++)
        memcpy(c->f->st[(x87_top(c->f) + i) & 7], &r[i], 10);
    x87_retag(c->f);
    x87_update_es(c->f);
}

/* #NM, then #GP(0) for an operand not 16-byte aligned (SDM Vol. 2 FXSAVE/FXRSTOR). */
static void fx_checks(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    if (cpu->s.cr0 & (CR0_EM | CR0_TS))
        x86_raise(cpu, X86_NM, X86_NO_ERR);
    if ((cpu->s.seg[seg].base + ea) & 15)
        x86_raise(cpu, X86_GP, 0);
}

void x87_fxsave(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    const struct fpu_state *f = &cpu->s.fpu;
    uint8_t img[288];
    uint8_t abridged = 0;
    fx_checks(cpu, seg, ea);
    memset(img, 0, sizeof(img));
    for (unsigned p = 0; p < 8; p++)
        if (((f->ftw >> (2 * p)) & 3) != TAG_EMPTY)
            abridged |= (uint8_t)(1u << p);
    memcpy(img + 0, &f->fcw, 2);
    memcpy(img + 2, &f->fsw, 2);
    img[4] = abridged;
    uint16_t fop = f->fop & 0x7FF;
    memcpy(img + 6, &fop, 2);
    memcpy(img + 8, &f->fip, 4);
    memcpy(img + 12, &f->fcs, 2);
    memcpy(img + 16, &f->fdp, 4);
    memcpy(img + 20, &f->fds, 2);
    memcpy(img + 24, &f->mxcsr, 4);
    uint32_t mask = MXCSR_MASK;
    memcpy(img + 28, &mask, 4);
    for (unsigned i = 0; i < 8; i++)
        memcpy(img + 32 + 16 * i, f->st[(x87_top(f) + i) & 7], 10);
    memcpy(img + 160, f->xmm, 128);
    x86_check_access(cpu, seg, ea, 512, true);
    for (unsigned i = 0; i < sizeof(img); i += 8) {
        uint64_t v;
        memcpy(&v, img + i, 8);
        x86_write64(cpu, seg, ea + i, v);
    }
}

void x87_fxrstor(struct x86_cpu *cpu, int seg, uint32_t ea)
{
    uint8_t img[288];
    struct fpu_state f = cpu->s.fpu;
    fx_checks(cpu, seg, ea);
    x86_check_access(cpu, seg, ea, 512, false);
    for (unsigned i = 0; i < sizeof(img); i += 8) {
        uint64_t v = x86_read64(cpu, seg, ea + i);
        memcpy(img + i, &v, 8);
    }
    uint32_t mxcsr;
    memcpy(&mxcsr, img + 24, 4);
    if (mxcsr & ~MXCSR_MASK)
        x86_raise(cpu, X86_GP, 0);
    memcpy(&f.fcw, img + 0, 2);
    f.fcw = (uint16_t)((f.fcw & FCW_WRITABLE) | FCW_ONES);
    memcpy(&f.fsw, img + 2, 2);
    memcpy(&f.fop, img + 6, 2);
    f.fop &= 0x7FF;
    memcpy(&f.fip, img + 8, 4);
    memcpy(&f.fcs, img + 12, 2);
    memcpy(&f.fdp, img + 16, 4);
    memcpy(&f.fds, img + 20, 2);
    f.mxcsr = mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        memset(f.st[(x87_top(&f) + i) & 7], 0, 16);
        memcpy(f.st[(x87_top(&f) + i) & 7], img + 32 + 16 * i, 10);
    }
    memcpy(f.xmm, img + 160, 128);
    f.ftw = 0;
    for (unsigned p = 0; p < 8; p++)
        if (!(img[4] & (1u << p)))
            f.ftw |= (uint16_t)(TAG_EMPTY << (2 * p));
    x87_retag(&f);
    x87_update_es(&f);
    cpu->s.fpu = f;
}
