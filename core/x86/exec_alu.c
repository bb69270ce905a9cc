/* Integer ALU instructions: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST with one handler per operation,
 * size and operand form (so the hot path has no operand-kind branches), INC/DEC, NOT/NEG. */
#include "x86_exec.h"

enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP, A_TEST };

/* The result and carry-in are computed first; the lazy flags are recorded only after the
 * destination was written, so a faulting memory write leaves the flags as they were. */
static inline uint32_t alu_calc(struct x86_cpu *cpu, int op, uint32_t a, uint32_t b, uint32_t *cin)
{
    switch (op) {
    case A_ADD: return a + b;
    case A_OR: return a | b;
    case A_ADC: *cin = flags_cf(cpu); return a + b + *cin;
    case A_SBB: *cin = flags_cf(cpu); return a - b - *cin;
    case A_SUB: case A_CMP: return a - b;
    case A_XOR: return a ^ b;
    default: return a & b;
    }
}

static inline void alu_flags(struct x86_cpu *cpu, int op, int sz, uint32_t a, uint32_t b, uint32_t r,
                             uint32_t cin)
{
    static const uint8_t kind[9] = { LF_ADD, LF_LOGIC, LF_ADC, LF_SBB, LF_LOGIC, LF_SUB, LF_LOGIC,
                                     LF_SUB, LF_LOGIC };
    lf_set(cpu, (enum lf_op)kind[op], sz, a, b, r);
    if (op == A_ADC || op == A_SBB)
        cpu->exec->lf_cin = (uint8_t)cin;
}

#define ALU_WRITES(OP) ((OP) != A_CMP && (OP) != A_TEST)

/* Forms: RR r/m-register dest, register src; MR memory dest, register src; RM register dest,
 * memory src; RI register dest, immediate; MI memory dest, immediate. */
#define ALU_FORMS(OP, SZ)                                                                         \
static const struct x86_insn *alu_rr_##OP##_##SZ(struct x86_cpu *cpu, const struct x86_insn *i) \
{                                                                                                 \
    uint32_t c = 0, a = reg_get(cpu, SZ, i->rm), b = reg_get(cpu, SZ, i->reg);                    \
    uint32_t r = alu_calc(cpu, OP, a, b, &c);                                                     \
    if (ALU_WRITES(OP)) reg_set(cpu, SZ, i->rm, r);                                               \
    alu_flags(cpu, OP, SZ, a, b, r, c);                                                           \
    return next_insn(cpu, i);                                                                                 \
}                                                                                                 \
static const struct x86_insn *alu_mr_##OP##_##SZ(struct x86_cpu *cpu, const struct x86_insn *i) \
{                                                                                                 \
    uint32_t ea = ea_of(cpu, i), c = 0;                                                           \
    uint32_t a = mem_rd(cpu, SZ, i->seg, ea), b = reg_get(cpu, SZ, i->reg);                       \
    uint32_t r = alu_calc(cpu, OP, a, b, &c);                                                     \
    if (ALU_WRITES(OP)) mem_wr(cpu, SZ, i->seg, ea, r);                                           \
    alu_flags(cpu, OP, SZ, a, b, r, c);                                                           \
    return next_insn(cpu, i);                                                                                 \
}                                                                                                 \
static const struct x86_insn *alu_rm_##OP##_##SZ(struct x86_cpu *cpu, const struct x86_insn *i) \
{                                                                                                 \
    uint32_t c = 0, b = mem_rd(cpu, SZ, i->seg, ea_of(cpu, i)), a = reg_get(cpu, SZ, i->reg);     \
    uint32_t r = alu_calc(cpu, OP, a, b, &c);                                                     \
    if (ALU_WRITES(OP)) reg_set(cpu, SZ, i->reg, r);                                              \
    alu_flags(cpu, OP, SZ, a, b, r, c);                                                           \
    return next_insn(cpu, i);                                                                                 \
}                                                                                                 \
static const struct x86_insn *alu_ri_##OP##_##SZ(struct x86_cpu *cpu, const struct x86_insn *i) \
{                                                                                                 \
    uint32_t c = 0, a = reg_get(cpu, SZ, i->rm);                                                  \
    uint32_t r = alu_calc(cpu, OP, a, i->imm, &c);                                                \
    if (ALU_WRITES(OP)) reg_set(cpu, SZ, i->rm, r);                                               \
    alu_flags(cpu, OP, SZ, a, i->imm, r, c);                                                      \
    return next_insn(cpu, i);                                                                                 \
}                                                                                                 \
static const struct x86_insn *alu_mi_##OP##_##SZ(struct x86_cpu *cpu, const struct x86_insn *i) \
{                                                                                                 \
    uint32_t ea = ea_of(cpu, i), c = 0, a = mem_rd(cpu, SZ, i->seg, ea);                          \
    uint32_t r = alu_calc(cpu, OP, a, i->imm, &c);                                                \
    if (ALU_WRITES(OP)) mem_wr(cpu, SZ, i->seg, ea, r);                                           \
    alu_flags(cpu, OP, SZ, a, i->imm, r, c);                                                      \
    return next_insn(cpu, i);                                                                                 \
}

#define ALU_OP_ALL_SIZES(OP) ALU_FORMS(OP, 1) ALU_FORMS(OP, 2) ALU_FORMS(OP, 4)
ALU_OP_ALL_SIZES(0) ALU_OP_ALL_SIZES(1) ALU_OP_ALL_SIZES(2) ALU_OP_ALL_SIZES(3)
ALU_OP_ALL_SIZES(4) ALU_OP_ALL_SIZES(5) ALU_OP_ALL_SIZES(6) ALU_OP_ALL_SIZES(7)
ALU_OP_ALL_SIZES(8)

#define ALU_ROW(F, SZ) { alu_##F##_0_##SZ, alu_##F##_1_##SZ, alu_##F##_2_##SZ, alu_##F##_3_##SZ, \
    alu_##F##_4_##SZ, alu_##F##_5_##SZ, alu_##F##_6_##SZ, alu_##F##_7_##SZ, alu_##F##_8_##SZ }
#define ALU_FORM(F) { ALU_ROW(F, 1), ALU_ROW(F, 2), ALU_ROW(F, 4) }
enum { F_RR, F_MR, F_RM, F_RI, F_MI };
static const x86_handler alu_tab[5][3][9] = {
    ALU_FORM(rr), ALU_FORM(mr), ALU_FORM(rm), ALU_FORM(ri), ALU_FORM(mi),
};

/* ---- INC/DEC/NOT/NEG ---------------------------------------------------------------------- */
static inline void incdec_flags(struct x86_cpu *cpu, bool dec, int sz, uint32_t a, uint32_t r)
{
    uint8_t c = flags_cf(cpu);       /* INC/DEC leave CF alone (SDM Vol. 2A INC) */
    lf_set(cpu, dec ? LF_DEC : LF_INC, sz, a, 1, r);
    cpu->exec->lf_cin = c;
}

static const struct x86_insn *h_inc_r32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t a = cpu->s.gpr[i->rm];
    cpu->s.gpr[i->rm] = a + 1;
    incdec_flags(cpu, false, 4, a, a + 1);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_dec_r32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t a = cpu->s.gpr[i->rm];
    cpu->s.gpr[i->rm] = a - 1;
    incdec_flags(cpu, true, 4, a, a - 1);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_incdec(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, a = rm_read(cpu, i, i->osz, &ea);
    uint32_t r = i->op ? a - 1 : a + 1;
    rm_write(cpu, i, i->osz, ea, r);
    incdec_flags(cpu, i->op, i->osz, a, r);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_not(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, a = rm_read(cpu, i, i->osz, &ea);
    rm_write(cpu, i, i->osz, ea, ~a);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_neg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, a = rm_read(cpu, i, i->osz, &ea);
    rm_write(cpu, i, i->osz, ea, 0u - a);
    lf_set(cpu, LF_SUB, i->osz, 0, a, 0u - a);
    return next_insn(cpu, i);
}

static unsigned byte_reg(unsigned r) { return r < 4 ? r * 4 : (r - 4) * 4 + 1; }

static void set_rm_operand(struct x86_dec *d, struct x86_insn *rec, int sz)
{
    rec->osz = (uint8_t)sz;
    if (sz == 1) {
        rec->reg = (uint8_t)byte_reg(d->reg);
        if (!d->mem)
            rec->rm = (uint8_t)byte_reg(d->rm);
    }
}

bool decode_alu(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map != 0)
        return false;
    if (op < 0x40 && (op & 7) < 6) {
        int aop = (int)(op >> 3);
        int sz = (op & 1) ? d->osz : 1;
        switch (op & 7) {
        case 0: case 1:
            set_rm_operand(d, rec, sz);
            rec->fn = alu_tab[d->mem ? F_MR : F_RR][size_idx(sz)][aop];
            return true;
        case 2: case 3:
            set_rm_operand(d, rec, sz);
            if (d->mem) {
                rec->fn = alu_tab[F_RM][size_idx(sz)][aop];
            } else {
                uint8_t t = rec->rm;   /* register form: the reg field is the destination */
                rec->rm = rec->reg;
                rec->reg = t;
                rec->fn = alu_tab[F_RR][size_idx(sz)][aop];
            }
            return true;
        default:
            rec->osz = (uint8_t)sz;
            rec->rm = 0;   /* AL / eAX: byte index 0 and register 0 agree */
            rec->imm = d->imm & size_mask(sz);
            rec->fn = alu_tab[F_RI][size_idx(sz)][aop];
            return true;
        }
    }
    if (op >= 0x80 && op <= 0x83) {
        int sz = (op & 1) ? d->osz : 1;   /* 0x82 is an alias of 0x80 outside 64-bit mode */
        set_rm_operand(d, rec, sz);
        rec->imm = op == 0x83 ? (uint32_t)(int8_t)d->imm & size_mask(sz) : d->imm & size_mask(sz);
        rec->fn = alu_tab[d->mem ? F_MI : F_RI][size_idx(sz)][d->reg];
        return true;
    }
    if (op == 0x84 || op == 0x85) {
        int sz = op == 0x84 ? 1 : d->osz;
        set_rm_operand(d, rec, sz);
        rec->fn = alu_tab[d->mem ? F_MR : F_RR][size_idx(sz)][A_TEST];
        return true;
    }
    if (op == 0xa8 || op == 0xa9) {
        int sz = op == 0xa8 ? 1 : d->osz;
        rec->osz = (uint8_t)sz;
        rec->rm = 0;
        rec->imm = d->imm & size_mask(sz);
        rec->fn = alu_tab[F_RI][size_idx(sz)][A_TEST];
        return true;
    }
    if ((op == 0xf6 || op == 0xf7) && d->reg <= 3) {
        int sz = op == 0xf6 ? 1 : d->osz;
        set_rm_operand(d, rec, sz);
        if (d->reg <= 1) {
            rec->imm = d->imm & size_mask(sz);
            rec->fn = alu_tab[d->mem ? F_MI : F_RI][size_idx(sz)][A_TEST];
        } else {
            rec->fn = d->reg == 2 ? h_not : h_neg;
        }
        return true;
    }
    if (op >= 0x40 && op <= 0x4f) {
        rec->rm = op & 7;
        rec->osz = (uint8_t)d->osz;
        rec->op = op >= 0x48;
        rec->fn = d->osz == 4 ? (op >= 0x48 ? h_dec_r32 : h_inc_r32) : h_incdec;
        return true;
    }
    if ((op == 0xfe && d->reg <= 1) || (op == 0xff && d->reg <= 1)) {
        int sz = op == 0xfe ? 1 : d->osz;
        set_rm_operand(d, rec, sz);
        rec->op = (uint8_t)d->reg;
        rec->fn = (!d->mem && sz == 4) ? (d->reg ? h_dec_r32 : h_inc_r32) : h_incdec;
        return true;
    }
    return false;
}
