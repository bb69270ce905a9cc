/* Shifts and rotates (incl. RCL/RCR, SHLD/SHRD), bit tests (BT/BTS/BTR/BTC), BSF/BSR, SETcc,
 * CMOVcc and BSWAP. Counts are masked to 5 bits; a zero count changes no flags (SDM Vol. 2B SAL). */
#include "x86_exec.h"

static void put_flags(struct x86_cpu *cpu, uint32_t mask, uint32_t f)
{
    if (mask == (EFL_CF | EFL_OF)) {
        flags_set_cf_of(cpu, f);
    } else if (mask == EFL_ARITH) {
        cpu->s.eflags = (cpu->s.eflags & ~EFL_ARITH) | f;
        cpu->exec->lf_op = LF_NONE;
    } else {
        flags_set(cpu, mask, f);
    }
}

static uint32_t do_shift(struct x86_cpu *cpu, unsigned kind, int sz, uint32_t v, unsigned c)
{
    unsigned bits = (unsigned)sz * 8;
    uint32_t m = size_mask(sz), r;
    uint32_t cf, of;
    switch (kind) {
    case 0: {   /* ROL */
        unsigned k = c % bits;
        r = k ? ((v << k) | (v >> (bits - k))) & m : v;
        cf = r & 1;
        of = ((r >> (bits - 1)) ^ cf) & 1;
        put_flags(cpu, EFL_CF | EFL_OF, (cf ? EFL_CF : 0) | (of ? EFL_OF : 0));
        return r;
    }
    case 1: {   /* ROR */
        unsigned k = c % bits;
        r = k ? ((v >> k) | (v << (bits - k))) & m : v;
        cf = (r >> (bits - 1)) & 1;
        of = (cf ^ (r >> (bits - 2))) & 1;
        put_flags(cpu, EFL_CF | EFL_OF, (cf ? EFL_CF : 0) | (of ? EFL_OF : 0));
        return r;
    }
    case 2: case 3: {   /* RCL / RCR rotate through CF: a (bits+1)-bit rotation */
        unsigned k = c % (bits + 1);
        uint64_t wm = (1ull << (bits + 1)) - 1;
        uint64_t t = ((uint64_t)flags_cf(cpu) << bits) | v;
        if (k)
            t = kind == 2 ? ((t << k) | (t >> (bits + 1 - k))) & wm : ((t >> k) | (t << (bits + 1 - k))) & wm;
        r = (uint32_t)t & m;
        cf = (uint32_t)(t >> bits) & 1;
        of = kind == 2 ? ((r >> (bits - 1)) ^ cf) & 1 : ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
        put_flags(cpu, EFL_CF | EFL_OF, (cf ? EFL_CF : 0) | (of ? EFL_OF : 0));
        return r;
    }
    case 4: case 6: {   /* SHL / SAL */
        uint64_t t = (uint64_t)v << c;
        r = (uint32_t)t & m;
        cf = (uint32_t)(t >> bits) & 1;
        of = ((r >> (bits - 1)) ^ cf) & 1;
        break;
    }
    case 5:     /* SHR */
        r = (v >> c) & m;
        cf = (v >> (c - 1)) & 1;
        of = (((r << 1) ^ r) >> (bits - 1)) & 1;
        break;
    default: {  /* SAR */
        int32_t sv = (int32_t)(v << (32 - bits)) >> (32 - bits);
        r = (uint32_t)(sv >> c) & m;
        cf = (uint32_t)(sv >> (c - 1)) & 1;
        of = 0;
        break;
    }
    }
    put_flags(cpu, EFL_ARITH, flags_szp(r, sz) | (cf ? EFL_CF : 0) | (of ? EFL_OF : 0));
    return r;
}

/* C0/C1 (imm8), D0/D1 (1), D2/D3 (CL): i->op the operation, i->imm the count or 0xff for CL. */
static const struct x86_insn *h_shift(struct x86_cpu *cpu, const struct x86_insn *i)
{
    unsigned c = (i->imm == 0xff ? cpu->s.gpr[R_ECX] : i->imm) & 0x1f;
    uint32_t ea = 0, v = rm_read(cpu, i, i->osz, &ea);
    if (!c)
        return next_insn(cpu, i);
    if (i->rm == RM_MEM)     /* fault before the flags change */
        x86_check_access(cpu, i->seg, ea, i->osz, true);
    rm_write(cpu, i, i->osz, ea, do_shift(cpu, i->op, i->osz, v, c));
    return next_insn(cpu, i);
}

/* Hot forms: 32-bit register shifted by an immediate. */
static const struct x86_insn *h_shl_r32_imm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = cpu->s.gpr[i->rm];
    cpu->s.gpr[i->rm] = do_shift(cpu, 4, 4, v, i->imm);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_shr_r32_imm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = cpu->s.gpr[i->rm];
    cpu->s.gpr[i->rm] = do_shift(cpu, 5, 4, v, i->imm);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_rol_r32_imm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = cpu->s.gpr[i->rm], c = i->imm;
    uint32_t r = (v << c) | (v >> (32 - c));
    cpu->s.gpr[i->rm] = r;
    uint32_t cf = r & 1;
    flags_set_cf_of(cpu, (cf ? EFL_CF : 0) | ((((r >> 31) ^ cf) & 1) ? EFL_OF : 0));
    return next_insn(cpu, i);
}

/* SHLD/SHRD: the destination shifted with bits of the source filling in. 16-bit counts above 16
 * behave as on Intel parts: the 32-bit concatenation keeps shifting in destination bits. */
static const struct x86_insn *h_shxd(struct x86_cpu *cpu, const struct x86_insn *i)
{
    unsigned c = (i->imm == 0xff ? cpu->s.gpr[R_ECX] : i->imm) & 0x1f;
    uint32_t ea = 0, dst = rm_read(cpu, i, i->osz, &ea);
    if (!c)
        return next_insn(cpu, i);
    uint32_t src = reg_get(cpu, i->osz, i->reg), r, cf;
    int sz = i->osz;
    bool left = i->op == 0;
    if (sz == 4) {
        if (left) {
            r = (dst << c) | (src >> (32 - c));
            cf = (dst >> (32 - c)) & 1;
        } else {
            r = (dst >> c) | (src << (32 - c));
            cf = (dst >> (c - 1)) & 1;
        }
    } else {
        if (left) {
            uint64_t w = (uint64_t)dst << 32 | (uint64_t)src << 16 | dst;
            r = (uint32_t)((w << c) >> 32) & 0xffff;
            cf = (uint32_t)((w << c) >> 48) & 1;
        } else {
            uint64_t w = (uint64_t)dst | (uint64_t)src << 16 | (uint64_t)dst << 32;
            r = (uint32_t)(w >> c) & 0xffff;
            cf = (uint32_t)(w >> (c - 1)) & 1;
        }
    }
    uint32_t of = ((r ^ dst) >> (sz * 8 - 1)) & 1;
    rm_write(cpu, i, sz, ea, r);
    put_flags(cpu, EFL_ARITH, flags_szp(r, sz) | (cf ? EFL_CF : 0) | (of ? EFL_OF : 0));
    return next_insn(cpu, i);
}

/* BT/BTS/BTR/BTC. A register bit offset addresses memory beyond the operand (signed, in units
 * of the operand size); an immediate offset is taken modulo the operand size (SDM Vol. 2A BT). */
static const struct x86_insn *h_bt(struct x86_cpu *cpu, const struct x86_insn *i)
{
    int sz = i->osz;
    unsigned bits = (unsigned)sz * 8;
    uint32_t off = i->imm == 0xffff ? reg_get(cpu, sz, i->reg) : i->imm;
    uint32_t v, ea = 0, bit;
    if (i->rm != RM_MEM) {
        v = reg_get(cpu, sz, i->rm);
        bit = off & (bits - 1);
    } else {
        ea = ea_of(cpu, i);
        if (i->imm == 0xffff) {
            int32_t so = sz == 2 ? (int16_t)off : (int32_t)off;
            ea += (uint32_t)((so >> (sz == 2 ? 4 : 5)) * sz);
            if (i->a16)
                ea &= 0xffff;
        }
        bit = off & (bits - 1);
        v = mem_rd(cpu, sz, i->seg, ea);
    }
    uint32_t mask = 1u << bit;
    bool old = v & mask;
    if (i->op) {
        uint32_t nv = i->op == 1 ? v | mask : i->op == 2 ? v & ~mask : v ^ mask;
        if (i->rm != RM_MEM)
            reg_set(cpu, sz, i->rm, nv);
        else
            mem_wr(cpu, sz, i->seg, ea, nv);
    }
    flags_set(cpu, EFL_CF, old ? EFL_CF : 0);
    return next_insn(cpu, i);
}

/* BSF/BSR: ZF=1 and the destination unchanged for a zero source. */
static const struct x86_insn *h_bsx(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, v = rm_read(cpu, i, i->osz, &ea);
    if (!v) {
        flags_set(cpu, EFL_ZF, EFL_ZF);
        return next_insn(cpu, i);
    }
    uint32_t r = i->op ? 31u - (uint32_t)__builtin_clz(v) : (uint32_t)__builtin_ctz(v);
    reg_set(cpu, i->osz, i->reg, r);
    flags_set(cpu, EFL_ZF, 0);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_setcc(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = i->rm == RM_MEM ? ea_of(cpu, i) : 0;
    rm_write(cpu, i, 1, ea, x86_cond(cpu, i->op));
    return next_insn(cpu, i);
}

/* CMOVcc reads its source even when the condition is false (a memory source can fault). */
static const struct x86_insn *h_cmov(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, v = rm_read(cpu, i, i->osz, &ea);
    if (x86_cond(cpu, i->op))
        reg_set(cpu, i->osz, i->reg, v);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_bswap(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = cpu->s.gpr[i->rm];
    /* With a 16-bit operand the result is undefined; Intel parts write zero to the low word. */
    if (i->osz == 2)
        reg_set(cpu, 2, i->rm, 0);
    else
        cpu->s.gpr[i->rm] = __builtin_bswap32(v);
    return next_insn(cpu, i);
}

static uint8_t breg(unsigned r) { return (uint8_t)(r < 4 ? r * 4 : (r - 4) * 4 + 1); }

bool decode_alu2(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map == 0) {
        if ((op >= 0xc0 && op <= 0xc1) || (op >= 0xd0 && op <= 0xd3)) {
            int sz = (op & 1) ? d->osz : 1;
            rec->osz = (uint8_t)sz;
            if (sz == 1 && !d->mem)
                rec->rm = breg(d->rm);
            rec->op = (uint8_t)d->reg;
            rec->imm = op <= 0xc1 ? (d->imm & 0xff) : op <= 0xd1 ? 1 : 0xff;
            rec->fn = h_shift;
            if (sz == 4 && !d->mem && op == 0xc1 && (rec->imm & 0x1f)) {
                rec->imm &= 0x1f;
                if (d->reg == 4 || d->reg == 6)
                    rec->fn = h_shl_r32_imm;
                else if (d->reg == 5)
                    rec->fn = h_shr_r32_imm;
                else if (d->reg == 0)
                    rec->fn = h_rol_r32_imm;
            }
            return true;
        }
        return false;
    }
    if (d->map != 1)
        return false;
    switch (op) {
    case 0xa4: case 0xa5: case 0xac: case 0xad:
        rec->op = op >= 0xac;
        rec->imm = (op & 1) ? 0xff : (d->imm & 0xff);
        rec->fn = h_shxd;
        return true;
    case 0xa3: case 0xab: case 0xb3: case 0xbb:
        rec->op = (uint8_t)((op >> 3) & 3);
        rec->imm = 0xffff;
        rec->fn = h_bt;
        return true;
    case 0xba:
        if (d->reg < 4)
            return false;
        rec->op = (uint8_t)(d->reg - 4);
        rec->imm = d->imm & 0xff;
        rec->fn = h_bt;
        return true;
    case 0xbc: case 0xbd:
        rec->op = op == 0xbd;
        rec->fn = h_bsx;
        return true;
    default:
        break;
    }
    if (op >= 0x90 && op <= 0x9f) {
        rec->op = op & 0xf;
        rec->osz = 1;
        if (!d->mem)
            rec->rm = breg(d->rm);
        rec->fn = h_setcc;
        return true;
    }
    if (op >= 0x40 && op <= 0x4f) {
        rec->op = op & 0xf;
        rec->fn = h_cmov;
        return true;
    }
    if (op >= 0xc8 && op <= 0xcf) {
        rec->rm = op & 7;
        rec->fn = h_bswap;
        return true;
    }
    return false;
}
