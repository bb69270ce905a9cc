/* Data movement: MOV (specialised per form), LEA, MOVZX/MOVSX, XCHG, XADD, CMPXCHG(8B), XLAT,
 * the stack (PUSH/POP incl. r/m forms, PUSHA/POPA, ENTER/LEAVE), BOUND and the NOP forms. */
#include "x86_exec.h"

static const struct x86_insn *h_push_r32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    stack_push(cpu, 4, cpu->s.gpr[i->rm]);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_pop_r32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = stack_pop(cpu, 4);
    cpu->s.gpr[i->rm] = v;    /* POP ESP: the popped value wins over the increment */
    return next_insn(cpu, i);
}

static const struct x86_insn *h_push_r(struct x86_cpu *cpu, const struct x86_insn *i)
{
    stack_push(cpu, i->osz, reg_get(cpu, i->osz, i->rm));
    return next_insn(cpu, i);
}

static const struct x86_insn *h_pop_r(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t v = stack_pop(cpu, i->osz);
    reg_set(cpu, i->osz, i->rm, v);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_push_imm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    stack_push(cpu, i->osz, i->imm);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_push_rm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, v = rm_read(cpu, i, i->osz, &ea);
    stack_push(cpu, i->osz, v);
    return next_insn(cpu, i);
}

/* POP r/m: the address is computed with ESP already incremented (SDM Vol. 2B POP). */
static const struct x86_insn *h_pop_rm(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t old = cpu->s.gpr[R_ESP];
    uint32_t v = stack_peek(cpu, i->osz, 0);
    sp_set(cpu, sp_get(cpu) + i->osz);
    uint32_t nsp = cpu->s.gpr[R_ESP];
    if (i->rm != RM_MEM) {
        reg_set(cpu, i->osz, i->rm, v);
        return next_insn(cpu, i);
    }
    uint32_t ea = ea_of(cpu, i);
    cpu->s.gpr[R_ESP] = old;
    mem_wr(cpu, i->osz, i->seg, ea, v);
    cpu->s.gpr[R_ESP] = nsp;
    return next_insn(cpu, i);
}

static const struct x86_insn *h_pusha(struct x86_cpu *cpu, const struct x86_insn *i)
{
    int sz = i->osz;
    uint32_t sp = sp_get(cpu);
    uint32_t top = sp - 8u * (uint32_t)sz;
    x86_check_access(cpu, S_SS, cpu->stack32 ? top : (top & 0xffff), 8u * (uint32_t)sz, true);
    uint32_t vals[8];
    for (int r = 0; r < 8; r++)
        vals[r] = reg_get(cpu, sz, (unsigned)r);
    for (int r = 0; r < 8; r++)
        stack_push(cpu, sz, vals[r]);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_popa(struct x86_cpu *cpu, const struct x86_insn *i)
{
    int sz = i->osz;
    uint32_t vals[8];
    for (int r = 0; r < 8; r++)
        vals[7 - r] = stack_peek(cpu, sz, (uint32_t)(r * sz));
    for (int r = 0; r < 8; r++)
        if (r != R_ESP)
            reg_set(cpu, sz, (unsigned)r, vals[r]);
    sp_set(cpu, sp_get(cpu) + 8u * (uint32_t)sz);
    return next_insn(cpu, i);
}

/* ENTER imm16, imm8 (SDM Vol. 2A ENTER): nesting level taken modulo 32. */
static const struct x86_insn *h_enter(struct x86_cpu *cpu, const struct x86_insn *i)
{
    int sz = i->osz;
    unsigned level = i->imm2 & 31;
    uint32_t size = i->imm;
    uint32_t need = (uint32_t)sz * (level + 1) + size;
    uint32_t sp0 = sp_get(cpu);
    x86_check_access(cpu, S_SS, cpu->stack32 ? sp0 - need : ((sp0 - need) & 0xffff), need, true);
    uint32_t ebp = cpu->stack32 ? cpu->s.gpr[R_EBP] : (cpu->s.gpr[R_EBP] & 0xffff);
    stack_push(cpu, sz, reg_get(cpu, sz, R_EBP));
    uint32_t frame = sp_get(cpu);
    if (level) {
        for (unsigned k = 1; k < level; k++) {
            ebp -= (uint32_t)sz;
            if (!cpu->stack32)
                ebp &= 0xffff;
            stack_push(cpu, sz, mem_rd(cpu, sz, S_SS, ebp));
        }
        stack_push(cpu, sz, frame);
    }
    reg_set(cpu, sz, R_EBP, frame);
    sp_set(cpu, sp_get(cpu) - size);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_leave(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ebp = cpu->stack32 ? cpu->s.gpr[R_EBP] : (cpu->s.gpr[R_EBP] & 0xffff);
    uint32_t v = mem_rd(cpu, i->osz, S_SS, ebp);
    sp_set(cpu, ebp + (uint32_t)i->osz);
    reg_set(cpu, i->osz, R_EBP, v);
    return next_insn(cpu, i);
}

/* ---- MOV ---------------------------------------------------------------------------------- */
static const struct x86_insn *h_mov_rr32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.gpr[i->rm] = cpu->s.gpr[i->reg];
    return next_insn(cpu, i);
}

static const struct x86_insn *h_mov_rm32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.gpr[i->reg] = mem_rd(cpu, 4, i->seg, ea_of(cpu, i));
    return next_insn(cpu, i);
}

static const struct x86_insn *h_mov_mr32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    mem_wr(cpu, 4, i->seg, ea_of(cpu, i), cpu->s.gpr[i->reg]);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_mov_ri32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.gpr[i->rm] = i->imm;
    return next_insn(cpu, i);
}

static const struct x86_insn *h_mov_mi32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    mem_wr(cpu, 4, i->seg, ea_of(cpu, i), i->imm);
    return next_insn(cpu, i);
}

/* Any size: op 0 r/m <- reg, 1 reg <- r/m, 2 r/m <- imm. */
static const struct x86_insn *h_mov(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0;
    switch (i->op) {
    case 0:
        if (i->rm == RM_MEM)
            ea = ea_of(cpu, i);
        rm_write(cpu, i, i->osz, ea, reg_get(cpu, i->osz, i->reg));
        break;
    case 1:
        reg_set(cpu, i->osz, i->reg, rm_read(cpu, i, i->osz, &ea));
        break;
    default:
        if (i->rm == RM_MEM)
            ea = ea_of(cpu, i);
        rm_write(cpu, i, i->osz, ea, i->imm);
        break;
    }
    return next_insn(cpu, i);
}

static const struct x86_insn *h_movx(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0;
    int ssz = i->op & 2 ? 2 : 1;
    uint32_t v = rm_read(cpu, i, ssz, &ea);
    if (i->op & 1)
        v = ssz == 1 ? (uint32_t)(int8_t)v : (uint32_t)(int16_t)v;
    reg_set(cpu, i->osz, i->reg, v);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_movzx_rm8_32(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.gpr[i->reg] = mem_rd(cpu, 1, i->seg, ea_of(cpu, i));
    return next_insn(cpu, i);
}

static const struct x86_insn *h_lea(struct x86_cpu *cpu, const struct x86_insn *i)
{
    reg_set(cpu, i->osz, i->reg, ea_of(cpu, i));
    return next_insn(cpu, i);
}

static const struct x86_insn *h_xchg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, a = rm_read(cpu, i, i->osz, &ea);
    uint32_t b = reg_get(cpu, i->osz, i->reg);
    rm_write(cpu, i, i->osz, ea, b);
    reg_set(cpu, i->osz, i->reg, a);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_xadd(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, a = rm_read(cpu, i, i->osz, &ea);
    uint32_t b = reg_get(cpu, i->osz, i->reg), r = a + b;
    rm_write(cpu, i, i->osz, ea, r);
    reg_set(cpu, i->osz, i->reg, a);
    lf_set(cpu, LF_ADD, i->osz, a, b, r);
    return next_insn(cpu, i);
}

/* CMPXCHG: a memory destination is always written (SDM Vol. 2A CMPXCHG). */
static const struct x86_insn *h_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, v = rm_read(cpu, i, i->osz, &ea);
    uint32_t acc = reg_get(cpu, i->osz, R_EAX);
    bool eq = v == acc;
    rm_write(cpu, i, i->osz, ea, eq ? reg_get(cpu, i->osz, i->reg) : v);
    if (!eq)
        reg_set(cpu, i->osz, R_EAX, v);
    lf_set(cpu, LF_SUB, i->osz, acc, v, acc - v);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_cmpxchg8b(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = ea_of(cpu, i);
    uint64_t v = x86_read64(cpu, i->seg, ea);
    uint64_t cmp = (uint64_t)cpu->s.gpr[R_EDX] << 32 | cpu->s.gpr[R_EAX];
    if (v == cmp) {
        x86_write64(cpu, i->seg, ea, (uint64_t)cpu->s.gpr[R_ECX] << 32 | cpu->s.gpr[R_EBX]);
        flags_set(cpu, EFL_ZF, EFL_ZF);
    } else {
        x86_write64(cpu, i->seg, ea, v);
        cpu->s.gpr[R_EAX] = (uint32_t)v;
        cpu->s.gpr[R_EDX] = (uint32_t)(v >> 32);
        flags_set(cpu, EFL_ZF, 0);
    }
    return next_insn(cpu, i);
}

static const struct x86_insn *h_xlat(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = cpu->s.gpr[R_EBX] + (cpu->s.gpr[R_EAX] & 0xff);
    if (i->a16)
        ea &= 0xffff;
    reg_set(cpu, 1, 0, mem_rd(cpu, 1, i->seg, ea));
    return next_insn(cpu, i);
}

static const struct x86_insn *h_bound(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = ea_of(cpu, i);
    int sz = i->osz;
    uint32_t lo = mem_rd(cpu, sz, i->seg, ea);
    uint32_t hi = mem_rd(cpu, sz, i->seg, i->a16 ? ((ea + (uint32_t)sz) & 0xffff) : ea + (uint32_t)sz);
    int32_t v = sz == 2 ? (int16_t)reg_get(cpu, 2, i->reg) : (int32_t)cpu->s.gpr[i->reg];
    int32_t l = sz == 2 ? (int16_t)lo : (int32_t)lo, h = sz == 2 ? (int16_t)hi : (int32_t)hi;
    if (v < l || v > h)
        x86_raise(cpu, X86_BR, X86_NO_ERR);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_nop(struct x86_cpu *cpu, const struct x86_insn *i)
{
    (void)cpu;
    return next_insn(cpu, i);
}

static uint8_t breg(unsigned r) { return (uint8_t)(r < 4 ? r * 4 : (r - 4) * 4 + 1); }

static void byte_operands(struct x86_dec *d, struct x86_insn *rec)
{
    rec->osz = 1;
    rec->reg = breg(d->reg);
    if (!d->mem)
        rec->rm = breg(d->rm);
}

bool decode_mov(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    bool o32 = d->osz == 4;
    if (d->map == 1) {
        switch (op) {
        case 0xb6: case 0xb7: case 0xbe: case 0xbf:
            rec->op = (uint8_t)(((op & 1) ? 2 : 0) | ((op & 8) ? 1 : 0));
            if (!d->mem && !(op & 1))
                rec->rm = breg(d->rm);
            rec->fn = (op == 0xb6 && o32 && d->mem) ? h_movzx_rm8_32 : h_movx;
            return true;
        case 0xc0: case 0xc1:
            if (op == 0xc0)
                byte_operands(d, rec);
            rec->fn = h_xadd;
            return true;
        case 0xb0: case 0xb1:
            if (op == 0xb0)
                byte_operands(d, rec);
            rec->fn = h_cmpxchg;
            return true;
        case 0xc7:
            if (d->reg != 1 || !d->mem)
                return false;
            rec->fn = h_cmpxchg8b;
            return true;
        default:
            if (op >= 0x18 && op <= 0x1f) {
                rec->fn = h_nop;   /* hint NOPs (0F 1F /0 is the multi-byte NOP) */
                return true;
            }
            return false;
        }
    }
    switch (op) {
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        if (!(op & 1))
            byte_operands(d, rec);
        rec->op = (op & 2) ? 1 : 0;
        rec->fn = h_mov;
        if (o32 && (op & 1)) {
            if (!d->mem && op == 0x89)
                rec->fn = h_mov_rr32;
            else if (!d->mem) {
                rec->fn = h_mov_rr32;
                uint8_t t = rec->rm;
                rec->rm = rec->reg;
                rec->reg = t;
            } else {
                rec->fn = op == 0x8b ? h_mov_rm32 : h_mov_mr32;
            }
        }
        return true;
    case 0xc6: case 0xc7:
        if (d->reg != 0)
            return false;
        if (op == 0xc6)
            byte_operands(d, rec);
        rec->op = 2;
        rec->imm = d->imm & size_mask(rec->osz);
        rec->fn = (op == 0xc7 && o32) ? (d->mem ? h_mov_mi32 : h_mov_ri32) : h_mov;
        return true;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        rec->base = rec->index = ZERO_OFF;
        rec->scale = 0;
        rec->rm = RM_MEM;
        rec->reg = 0;
        if (!(op & 1))
            rec->osz = 1;
        rec->op = op >= 0xa2 ? 0 : 1;
        rec->fn = h_mov;
        return true;
    case 0x8d:
        if (!d->mem)
            return false;
        rec->fn = h_lea;
        return true;
    case 0x86: case 0x87:
        if (op == 0x86)
            byte_operands(d, rec);
        rec->fn = h_xchg;
        return true;
    case 0x90:
        rec->fn = h_nop;   /* NOP and PAUSE (F3 90) */
        return true;
    case 0xd7:
        rec->fn = h_xlat;
        return true;
    case 0x60: rec->fn = h_pusha; return true;
    case 0x61: rec->fn = h_popa; return true;
    case 0xc8:
        rec->imm = d->imm & 0xffff;
        rec->imm2 = (uint16_t)(d->imm1 & 0xff);
        rec->fn = h_enter;
        return true;
    case 0xc9: rec->fn = h_leave; return true;
    case 0x62:
        if (!d->mem)
            return false;
        rec->fn = h_bound;
        return true;
    case 0x68: case 0x6a:
        rec->imm = op == 0x6a ? (uint32_t)(int8_t)d->imm : d->imm;
        rec->imm &= size_mask(d->osz);
        rec->fn = h_push_imm;
        return true;
    case 0x8f:
        if (d->reg != 0)
            return false;
        rec->fn = h_pop_rm;
        return true;
    case 0xff:
        if (d->reg != 6)
            return false;
        rec->fn = h_push_rm;
        return true;
    default:
        break;
    }
    if (op >= 0x91 && op <= 0x97) {
        rec->rm = op & 7;
        rec->reg = R_EAX;
        rec->fn = h_xchg;
        return true;
    }
    if (op >= 0xb0 && op <= 0xbf) {
        rec->rm = op < 0xb8 ? breg(op & 7) : (op & 7);
        rec->osz = op < 0xb8 ? 1 : (uint8_t)d->osz;
        rec->imm = d->imm & size_mask(rec->osz);
        rec->op = 2;
        rec->fn = (op >= 0xb8 && o32) ? h_mov_ri32 : h_mov;
        return true;
    }
    if (op >= 0x50 && op <= 0x5f) {
        rec->rm = op & 7;
        rec->fn = op < 0x58 ? (o32 ? h_push_r32 : h_push_r) : (o32 ? h_pop_r32 : h_pop_r);
        return true;
    }
    return false;
}
