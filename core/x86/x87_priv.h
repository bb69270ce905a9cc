/* x87 FPU internals shared by the x87_*.c files: status bits, the register stack, tags,
 * exception reporting and the host-x87 operations that compute results bit-exactly. */
#ifndef RINGFOLD_X87_PRIV_H
#define RINGFOLD_X87_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "x86_cpu.h"

/* FPU status word (SDM Vol. 1 §8.1.3, Figure 8-4). */
#define FSW_IE  0x0001u
#define FSW_DE  0x0002u
#define FSW_ZE  0x0004u
#define FSW_OE  0x0008u
#define FSW_UE  0x0010u
#define FSW_PE  0x0020u
#define FSW_SF  0x0040u
#define FSW_ES  0x0080u
#define FSW_C0  0x0100u
#define FSW_C1  0x0200u
#define FSW_C2  0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3  0x4000u
#define FSW_B   0x8000u
#define FSW_EXC 0x003Fu                             /* the six maskable exception flags */
#define FSW_CC  (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* FPU control word (SDM Vol. 1 §8.1.5): bits 0-5 masks, 8-9 PC, 10-11 RC, 12 IC.
 * Bit 6 reads as 1 and bits 7, 13-15 as 0 on P6 and later (checked on a real x87). */
#define FCW_WRITABLE 0x1F3Fu
#define FCW_ONES     0x0040u

/* The x87 part of struct fpu_state (everything before the SSE state). */
#define X87_STATE_BYTES offsetof(struct fpu_state, mxcsr)

/* Tag values (SDM Vol. 1 §8.1.7). */
enum { TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3 };

/* An 80-bit extended value as stored in memory: 64-bit significand, sign+exponent. */
typedef struct __attribute__((packed)) {
    uint64_t m;
    uint16_t se;
} x87_f80;

/* One instruction. A faulting instruction must leave no partial effect (SDM Vol. 3 §6.5):
 * forms that store to memory work on a copy of the x87 state committed after their last
 * write; all other forms do every access that can fault before changing f, and work on
 * the CPU's state directly. */
struct x87_ctx {
    struct x86_cpu *cpu;
    struct fpu_state *f;
    uint8_t opcode, modrm;
    int seg;
    uint32_t ea;
    bool o32;
};

/* ---- register stack and exceptions (x87_stack.c) ---- */
extern const x87_f80 x87_indefinite;               /* QNaN floating-point indefinite */
unsigned x87_top(const struct fpu_state *f);
unsigned x87_tag_of(x87_f80 v);
bool x87_is_empty(const struct fpu_state *f, unsigned i);      /* ST(i) */
x87_f80 x87_get(const struct fpu_state *f, unsigned i);
void x87_set(struct fpu_state *f, unsigned i, x87_f80 v);      /* writes ST(i), retags it */
void x87_set_phys(struct fpu_state *f, unsigned phys, x87_f80 v);
x87_f80 x87_get_phys(const struct fpu_state *f, unsigned phys);
void x87_free(struct fpu_state *f, unsigned i);                /* tag ST(i) empty */
void x87_push(struct fpu_state *f, x87_f80 v);
void x87_pop(struct fpu_state *f);
void x87_set_top(struct fpu_state *f, unsigned top);
void x87_retag(struct fpu_state *f);               /* recompute non-empty tags from contents */
void x87_update_es(struct fpu_state *f);           /* ES/B from flags vs. masks */
/* Sets exception flags (and ES/B when unmasked); returns the unmasked subset. */
unsigned x87_signal(struct fpu_state *f, unsigned flags);
/* Stack faults: IE+SF with C1 = 0 (underflow) or 1 (overflow); true when masked. */
bool x87_underflow(struct fpu_state *f);
bool x87_overflow(struct fpu_state *f);
void x87_set_cc(struct fpu_state *f, unsigned cc);               /* replaces C0-C3 */
bool x87_apply(struct fpu_state *f, uint16_t sw);     /* host sw vs. guest masks */

/* ---- host x87 operations (x87_host.c) ---- */
enum x87_hkind { HK_REG, HK_F32, HK_F64, HK_I16, HK_I32 };        /* second operand kind */
enum x87_harith { HA_ADD, HA_MUL, HA_COM, HA_UCOM, HA_SUB, HA_SUBR, HA_DIV, HA_DIVR };
enum x87_hop {
    /* a OP b -> r0 (kinds x ops: HOP_ARITH(kind, op)); HA_COM/HA_UCOM only set sw */
    HOP_ARITH_BASE = 0,
    /* one operand a -> r0 */
    HOP_CHS = 64, HOP_ABS, HOP_SQRT, HOP_RNDINT, HOP_F2XM1, HOP_SIN, HOP_COS, HOP_TST, HOP_XAM,
    /* a -> r0, r1 (pushes: r0 is the new ST(0), r1 the new ST(1)) */
    HOP_PTAN, HOP_SINCOS, HOP_XTRACT,
    /* a = ST(0), b = ST(1) -> r0 = new ST(0) (ST(1) unchanged) */
    HOP_SCALE, HOP_PREM, HOP_PREM1,
    /* a = ST(0), b = ST(1) -> r0 replaces ST(1), then pop */
    HOP_PATAN, HOP_YL2X, HOP_YL2XP1,
    /* loads: mem -> r0 */
    HOP_LD_F32, HOP_LD_F64, HOP_LD_I16, HOP_LD_I32, HOP_LD_I64, HOP_LD_BCD,
    HOP_LD1, HOP_LDL2T, HOP_LDL2E, HOP_LDPI, HOP_LDLG2, HOP_LDLN2, HOP_LDZ,
    /* stores: a -> mem */
    HOP_ST_F32, HOP_ST_F64, HOP_ST_I16, HOP_ST_I32, HOP_ST_I64, HOP_ST_BCD,
};
#define HOP_ARITH(kind, op) (HOP_ARITH_BASE + (kind) * 8 + (op))

struct x87_host {
    x87_f80 a, b, r0, r1;
    uint8_t mem[10];
};
/* Runs op on the host x87 with the guest's PC/RC and every exception masked; returns the
 * host FSW right after the operation, with the condition codes the operation does not
 * define taken from the guest's fsw. */
uint16_t x87_host_run(struct x87_host *h, int op, uint16_t fcw, uint16_t fsw);

/* ---- instruction groups ---- */
void x87_arith(struct x87_ctx *c);          /* x87_arith.c: D8, DA, DC, DE arithmetic/compare */
x87_f80 x87_scale(x87_f80 v, int32_t n);  /* exact v * 2^n on the host (FSCALE) */
void x87_compare_reg(struct x87_ctx *c, unsigned i, int op, int pops);
void x87_comi(struct x87_ctx *c, unsigned i, bool unordered, bool pop);
void x87_fcmov(struct x87_ctx *c);
void x87_misc_d9(struct x87_ctx *c);        /* x87_misc.c: D9 E0..FF */
void x87_load_store(struct x87_ctx *c);     /* x87_load_store.c: D9/DB/DD/DF memory loads/stores */
void x87_fld_reg(struct x87_ctx *c, unsigned i);
void x87_fst_reg(struct x87_ctx *c, unsigned i, bool pop);
void x87_fxch(struct x87_ctx *c, unsigned i);
void x87_fstpnce(struct x87_ctx *c, unsigned i);
void x87_fstenv(struct x87_ctx *c);         /* x87_env.c */
void x87_fldenv(struct x87_ctx *c);
void x87_fsave(struct x87_ctx *c);
void x87_frstor(struct x87_ctx *c);

/* Guest memory helpers for 80-bit operands (x87_load_store.c). */
x87_f80 x87_read80(struct x86_cpu *cpu, int seg, uint32_t ea);
void x87_write80(struct x86_cpu *cpu, int seg, uint32_t ea, x87_f80 v);

#endif
