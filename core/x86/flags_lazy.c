/* Lazy arithmetic flags: the last flag-setting operation is recorded (operands, result, kind)
 * and CF/PF/AF/ZF/SF/OF are computed only when something reads them (SDM Vol. 1 §3.4.3.1). */
#include "x86_exec.h"

static inline uint32_t parity(uint32_t v)
{
    return (__builtin_parity(v & 0xff) ? 0 : EFL_PF);
}

uint32_t flags_szp(uint32_t res, int sz)
{
    uint32_t m = size_mask(sz), sb = (m >> 1) + 1;
    uint32_t f = parity(res);
    if (!(res & m))
        f |= EFL_ZF;
    if (res & sb)
        f |= EFL_SF;
    return f;
}

static bool lf_carry(const struct x86_exec *ex)
{
    uint32_t m = size_mask(ex->lf_sz);
    uint32_t a = ex->lf_s1 & m, b = ex->lf_s2 & m, r = ex->lf_res & m;
    switch (ex->lf_op) {
    case LF_ADD: return r < a;
    case LF_ADC: return ex->lf_cin ? r <= a : r < a;
    case LF_SUB: return a < b;
    case LF_SBB: return ex->lf_cin ? a <= b : a < b;
    case LF_INC: case LF_DEC: return ex->lf_cin;
    default: return false;
    }
}

static bool lf_overflow(const struct x86_exec *ex)
{
    uint32_t m = size_mask(ex->lf_sz), sb = (m >> 1) + 1;
    uint32_t a = ex->lf_s1, b = ex->lf_s2, r = ex->lf_res;
    switch (ex->lf_op) {
    case LF_ADD: case LF_ADC: return ((a ^ r) & (b ^ r) & sb) != 0;
    case LF_SUB: case LF_SBB: return ((a ^ b) & (a ^ r) & sb) != 0;
    case LF_INC: return (r & m) == sb;
    case LF_DEC: return (r & m) == sb - 1;
    default: return false;
    }
}

uint32_t flags_arith(struct x86_cpu *cpu)
{
    const struct x86_exec *ex = cpu->exec;
    if (ex->lf_op == LF_NONE)
        return cpu->s.eflags & EFL_ARITH;
    uint32_t f = flags_szp(ex->lf_res, ex->lf_sz);
    if (lf_carry(ex))
        f |= EFL_CF;
    if (lf_overflow(ex))
        f |= EFL_OF;
    /* AF is the carry out of bit 3; logical operations clear it on Intel processors. */
    if (ex->lf_op != LF_LOGIC && ((ex->lf_s1 ^ ex->lf_s2 ^ ex->lf_res) & 0x10))
        f |= EFL_AF;
    return f;
}

bool flags_cf(struct x86_cpu *cpu)
{
    const struct x86_exec *ex = cpu->exec;
    if (ex->lf_op == LF_NONE)
        return cpu->s.eflags & EFL_CF;
    return lf_carry(ex);
}

void flags_materialize(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    if (ex->lf_op == LF_NONE)
        return;
    cpu->s.eflags = (cpu->s.eflags & ~EFL_ARITH) | flags_arith(cpu);
    ex->lf_op = LF_NONE;
}

void flags_set_cf_of(struct x86_cpu *cpu, uint32_t cfof)
{
    struct x86_exec *ex = cpu->exec;
    uint32_t keep;
    if (ex->lf_op == LF_NONE) {
        keep = cpu->s.eflags & (EFL_SF | EFL_ZF | EFL_AF | EFL_PF);
    } else {
        keep = flags_szp(ex->lf_res, ex->lf_sz);
        if (ex->lf_op != LF_LOGIC && ((ex->lf_s1 ^ ex->lf_s2 ^ ex->lf_res) & 0x10))
            keep |= EFL_AF;
        ex->lf_op = LF_NONE;
    }
    cpu->s.eflags = (cpu->s.eflags & ~EFL_ARITH) | keep | (cfof & (EFL_CF | EFL_OF));
}

void flags_set(struct x86_cpu *cpu, uint32_t mask, uint32_t val)
{
    flags_materialize(cpu);
    cpu->s.eflags = (cpu->s.eflags & ~mask) | (val & mask);
}

/* Condition codes (SDM Vol. 1 Appendix B). Compares are decided from the operands directly. */
bool x86_cond_slow(struct x86_cpu *cpu, unsigned cc)
{
    const struct x86_exec *ex = cpu->exec;
    bool r;
    if (ex->lf_op == LF_SUB && cc >= 2) {
        unsigned sh = 32 - 8 * ex->lf_sz;
        uint32_t a = ex->lf_s1 << sh, b = ex->lf_s2 << sh;
        switch (cc >> 1) {
        case 1: r = a < b; break;
        case 2: r = a == b; break;
        case 3: r = a <= b; break;
        case 4: r = (int32_t)(a - b) < 0; break;
        case 6: r = (int32_t)a < (int32_t)b; break;
        case 7: r = (int32_t)a <= (int32_t)b; break;
        default: goto slow;
        }
        return r ^ (cc & 1);
    }
    if (ex->lf_op != LF_NONE && (cc >> 1) == 2)
        return ((ex->lf_res & size_mask(ex->lf_sz)) == 0) ^ (cc & 1);
slow:;
    uint32_t f = flags_arith(cpu);
    switch (cc >> 1) {
    case 0: r = f & EFL_OF; break;
    case 1: r = f & EFL_CF; break;
    case 2: r = f & EFL_ZF; break;
    case 3: r = f & (EFL_CF | EFL_ZF); break;
    case 4: r = f & EFL_SF; break;
    case 5: r = f & EFL_PF; break;
    case 6: r = !(f & EFL_SF) != !(f & EFL_OF); break;
    default: r = (f & EFL_ZF) || (!(f & EFL_SF) != !(f & EFL_OF)); break;
    }
    return r ^ (cc & 1);
}

uint32_t x86_get_eflags(struct x86_cpu *cpu)
{
    return (cpu->s.eflags & ~EFL_ARITH) | flags_arith(cpu) | EFL_FIXED1;
}

void x86_set_eflags(struct x86_cpu *cpu, uint32_t value)
{
    /* Bits 3, 5, 15 and 22..31 are reserved zero, bit 1 reserved one (SDM Vol. 1 §3.4.3). */
    cpu->s.eflags = (value & 0x003f7fd5u) | EFL_FIXED1;
    if (cpu->exec) {
        cpu->exec->lf_op = LF_NONE;
        cpu->exec->attention = 1;   /* IF, TF, RF or VM may have changed */
    }
}
