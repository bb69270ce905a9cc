/* Multiply, divide (#DE), BCD adjust, sign extension, LAHF/SAHF and the CF/DF flag
 * instructions. Flags left undefined by the SDM follow what current Intel parts do where known:
 * MUL/IMUL set SF/ZF/PF from the low half and clear AF. */
#include "x86_exec.h"

static void put_flags(struct x86_cpu *cpu, uint32_t f)
{
    cpu->s.eflags = (cpu->s.eflags & ~EFL_ARITH) | (f & EFL_ARITH);
    cpu->exec->lf_op = LF_NONE;
}

static void mul_flags(struct x86_cpu *cpu, uint32_t lo, int sz, bool overflow)
{
    put_flags(cpu, flags_szp(lo, sz) | (overflow ? EFL_CF | EFL_OF : 0));
}

/* F6/F7 /4../7: MUL, IMUL, DIV, IDIV with the accumulator. */
static const struct x86_insn *h_muldiv(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, src = rm_read(cpu, i, i->osz, &ea);
    uint32_t *g = cpu->s.gpr;
    int sz = i->osz;
    switch (i->op) {
    case 4:
        if (sz == 1) {
            uint32_t r = (g[R_EAX] & 0xff) * src;
            reg_set(cpu, 2, R_EAX, r);
            mul_flags(cpu, r, 1, r > 0xff);
        } else if (sz == 2) {
            uint32_t r = (g[R_EAX] & 0xffff) * src;
            reg_set(cpu, 2, R_EAX, r);
            reg_set(cpu, 2, R_EDX, r >> 16);
            mul_flags(cpu, r, 2, r > 0xffff);
        } else {
            uint64_t r = (uint64_t)g[R_EAX] * src;
            g[R_EAX] = (uint32_t)r;
            g[R_EDX] = (uint32_t)(r >> 32);
            mul_flags(cpu, (uint32_t)r, 4, (r >> 32) != 0);
        }
        break;
    case 5:
        if (sz == 1) {
            int32_t r = (int8_t)g[R_EAX] * (int8_t)src;
            reg_set(cpu, 2, R_EAX, (uint32_t)r);
            mul_flags(cpu, (uint32_t)r, 1, r != (int8_t)r);
        } else if (sz == 2) {
            int32_t r = (int16_t)g[R_EAX] * (int16_t)src;
            reg_set(cpu, 2, R_EAX, (uint32_t)r);
            reg_set(cpu, 2, R_EDX, (uint32_t)r >> 16);
            mul_flags(cpu, (uint32_t)r, 2, r != (int16_t)r);
        } else {
            int64_t r = (int64_t)(int32_t)g[R_EAX] * (int32_t)src;
            g[R_EAX] = (uint32_t)r;
            g[R_EDX] = (uint32_t)((uint64_t)r >> 32);
            mul_flags(cpu, (uint32_t)r, 4, r != (int32_t)r);
        }
        break;
    case 6:
        if (src == 0)
            x86_raise(cpu, X86_DE, X86_NO_ERR);
        if (sz == 1) {
            uint32_t n = g[R_EAX] & 0xffff, q = n / src;
            if (q > 0xff)
                x86_raise(cpu, X86_DE, X86_NO_ERR);
            reg_set(cpu, 2, R_EAX, q | (n % src) << 8);
        } else if (sz == 2) {
            uint32_t n = (g[R_EDX] & 0xffff) << 16 | (g[R_EAX] & 0xffff), q = n / src;
            if (q > 0xffff)
                x86_raise(cpu, X86_DE, X86_NO_ERR);
            reg_set(cpu, 2, R_EAX, q);
            reg_set(cpu, 2, R_EDX, n % src);
        } else {
            uint64_t n = (uint64_t)g[R_EDX] << 32 | g[R_EAX], q = n / src;
            if (q > 0xffffffffull)
                x86_raise(cpu, X86_DE, X86_NO_ERR);
            g[R_EAX] = (uint32_t)q;
            g[R_EDX] = (uint32_t)(n % src);
        }
        break;
    default: {
        if (src == 0)
            x86_raise(cpu, X86_DE, X86_NO_ERR);
        int64_t n, dv;
        if (sz == 1) {
            n = (int16_t)g[R_EAX];
            dv = (int8_t)src;
        } else if (sz == 2) {
            n = (int32_t)((g[R_EDX] & 0xffff) << 16 | (g[R_EAX] & 0xffff));
            dv = (int16_t)src;
        } else {
            n = (int64_t)((uint64_t)g[R_EDX] << 32 | g[R_EAX]);
            dv = (int32_t)src;
        }
        if (dv == -1 && n == INT64_MIN)
            x86_raise(cpu, X86_DE, X86_NO_ERR);
        int64_t q = n / dv, r = n % dv;
        int64_t lim = sz == 1 ? 0x80 : sz == 2 ? 0x8000 : 0x80000000ll;
        if (q >= lim || q < -lim)
            x86_raise(cpu, X86_DE, X86_NO_ERR);
        if (sz == 1) {
            reg_set(cpu, 2, R_EAX, ((uint32_t)q & 0xff) | ((uint32_t)r & 0xff) << 8);
        } else {
            reg_set(cpu, sz, R_EAX, (uint32_t)q);
            reg_set(cpu, sz, R_EDX, (uint32_t)r);
        }
        break;
    }
    }
    return next_insn(cpu, i);
}

/* IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B): truncated product, CF=OF on overflow. */
static const struct x86_insn *h_imul2(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, src = rm_read(cpu, i, i->osz, &ea);
    uint32_t other = i->op ? i->imm : reg_get(cpu, i->osz, i->reg);
    if (i->osz == 2) {
        int32_t r = (int16_t)src * (int16_t)other;
        reg_set(cpu, 2, i->reg, (uint32_t)r);
        mul_flags(cpu, (uint32_t)r, 2, r != (int16_t)r);
    } else {
        int64_t r = (int64_t)(int32_t)src * (int32_t)other;
        cpu->s.gpr[i->reg] = (uint32_t)r;
        mul_flags(cpu, (uint32_t)r, 4, r != (int32_t)r);
    }
    return next_insn(cpu, i);
}

static uint8_t al(struct x86_cpu *cpu) { return (uint8_t)cpu->s.gpr[R_EAX]; }
static void set_al(struct x86_cpu *cpu, uint32_t v) { reg_set(cpu, 1, 0, v); }

/* BCD adjusts, following the SDM Vol. 2A pseudo-code (DAA, DAS, AAA, AAS, AAM, AAD). */
static const struct x86_insn *h_bcd(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t f = flags_arith(cpu);
    bool cf = f & EFL_CF, af = f & EFL_AF;
    uint8_t a = al(cpu);
    uint32_t nf = 0;
    switch (i->opcode) {
    case 0x27: case 0x2f: {     /* DAA / DAS */
        bool sub = i->opcode == 0x2f;
        uint8_t r = a;
        bool ncf = false;
        if ((a & 0xf) > 9 || af) {
            r = sub ? (uint8_t)(r - 6) : (uint8_t)(r + 6);
            ncf = cf || (sub ? a < 6 : a > 0xf9);
            nf |= EFL_AF;
        }
        if (a > 0x99 || cf) {
            r = sub ? (uint8_t)(r - 0x60) : (uint8_t)(r + 0x60);
            ncf = true;
        }
        set_al(cpu, r);
        nf |= flags_szp(r, 1) | (ncf ? EFL_CF : 0);
        break;
    }
    case 0x37: case 0x3f: {     /* AAA / AAS */
        uint16_t ax = (uint16_t)cpu->s.gpr[R_EAX];
        if ((a & 0xf) > 9 || af) {
            if (i->opcode == 0x37) {
                ax = (uint16_t)(ax + 0x106);
            } else {
                ax = (uint16_t)(ax - 6);
                ax = (uint16_t)(ax - 0x100);
            }
            nf |= EFL_AF | EFL_CF;
        }
        ax &= 0xff0f;
        reg_set(cpu, 2, R_EAX, ax);
        nf |= flags_szp(ax & 0xff, 1);
        break;
    }
    case 0xd4: {                /* AAM imm8 */
        if (i->imm == 0)
            x86_raise(cpu, X86_DE, X86_NO_ERR);
        uint8_t q = (uint8_t)(a / i->imm), r = (uint8_t)(a % i->imm);
        reg_set(cpu, 2, R_EAX, (uint32_t)q << 8 | r);
        nf = flags_szp(r, 1);
        break;
    }
    default: {                  /* AAD imm8 */
        uint8_t r = (uint8_t)(a + ((cpu->s.gpr[R_EAX] >> 8) & 0xff) * i->imm);
        reg_set(cpu, 2, R_EAX, r);
        nf = flags_szp(r, 1);
        break;
    }
    }
    put_flags(cpu, nf);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_cbw(struct x86_cpu *cpu, const struct x86_insn *i)
{
    if (i->osz == 2)
        reg_set(cpu, 2, R_EAX, (uint32_t)(int8_t)cpu->s.gpr[R_EAX]);
    else
        cpu->s.gpr[R_EAX] = (uint32_t)(int16_t)cpu->s.gpr[R_EAX];
    return next_insn(cpu, i);
}

static const struct x86_insn *h_cwd(struct x86_cpu *cpu, const struct x86_insn *i)
{
    if (i->osz == 2)
        reg_set(cpu, 2, R_EDX, (cpu->s.gpr[R_EAX] & 0x8000) ? 0xffff : 0);
    else
        cpu->s.gpr[R_EDX] = (cpu->s.gpr[R_EAX] & 0x80000000u) ? 0xffffffffu : 0;
    return next_insn(cpu, i);
}

static const struct x86_insn *h_lahf(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t f = x86_get_eflags(cpu);
    reg_set(cpu, 1, 1, (f & (EFL_SF | EFL_ZF | EFL_AF | EFL_PF | EFL_CF)) | EFL_FIXED1);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_sahf(struct x86_cpu *cpu, const struct x86_insn *i)
{
    flags_set(cpu, EFL_SF | EFL_ZF | EFL_AF | EFL_PF | EFL_CF, (cpu->s.gpr[R_EAX] >> 8) & 0xff);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_salc(struct x86_cpu *cpu, const struct x86_insn *i)
{
    set_al(cpu, flags_cf(cpu) ? 0xff : 0);
    return next_insn(cpu, i);
}

/* CLC STC CMC CLD STD (F8 F9 F5 FC FD). */
static const struct x86_insn *h_flagop(struct x86_cpu *cpu, const struct x86_insn *i)
{
    switch (i->opcode) {
    case 0xf8: flags_set(cpu, EFL_CF, 0); break;
    case 0xf9: flags_set(cpu, EFL_CF, EFL_CF); break;
    case 0xf5: flags_set(cpu, EFL_CF, flags_cf(cpu) ? 0 : EFL_CF); break;
    case 0xfc: cpu->s.eflags &= ~EFL_DF; break;
    default: cpu->s.eflags |= EFL_DF; break;
    }
    return next_insn(cpu, i);
}

bool decode_misc(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map == 1) {
        if (op == 0xaf) {
            rec->fn = h_imul2;
            rec->op = 0;
            return true;
        }
        return false;
    }
    switch (op) {
    case 0xf6: case 0xf7:
        if (d->reg < 4)
            return false;
        rec->osz = op == 0xf6 ? 1 : (uint8_t)d->osz;
        if (op == 0xf6 && !d->mem)
            rec->rm = (uint8_t)(d->rm < 4 ? d->rm * 4 : (d->rm - 4) * 4 + 1);
        rec->op = (uint8_t)d->reg;
        rec->fn = h_muldiv;
        return true;
    case 0x69: case 0x6b:
        rec->op = 1;
        rec->imm = op == 0x6b ? (uint32_t)(int8_t)d->imm : d->imm;
        rec->fn = h_imul2;
        return true;
    case 0x27: case 0x2f: case 0x37: case 0x3f:
        rec->fn = h_bcd;
        return true;
    case 0xd4: case 0xd5:
        rec->imm = d->imm & 0xff;
        rec->fn = h_bcd;
        return true;
    case 0x98: rec->fn = h_cbw; return true;
    case 0x99: rec->fn = h_cwd; return true;
    case 0x9e: rec->fn = h_sahf; return true;
    case 0x9f: rec->fn = h_lahf; return true;
    case 0xd6: rec->fn = h_salc; return true;
    case 0xf5: case 0xf8: case 0xf9: case 0xfc: case 0xfd: rec->fn = h_flagop; return true;
    default: return false;
    }
}
