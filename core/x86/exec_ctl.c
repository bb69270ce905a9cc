/* Control transfer: Jcc, JMP, CALL, RET (near and far), LOOP/JCXZ, INT n/INT3/INTO/INT1, IRET,
 * HLT. Every handler here ends its block; near targets are precomputed at decode time. */
#include "x86_exec.h"

static const struct x86_insn *h_jcc(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.eip = x86_cond(cpu, i->op) ? i->disp : next_eip(i);
    return NULL;
}

/* JZ/JNZ after any flag-setting operation only need the result. */
static const struct x86_insn *h_jz(struct x86_cpu *cpu, const struct x86_insn *i)
{
    const struct x86_exec *ex = cpu->exec;
    bool z = ex->lf_op != LF_NONE ? (ex->lf_res << (32 - 8 * ex->lf_sz)) == 0 : (cpu->s.eflags & EFL_ZF) != 0;
    cpu->s.eip = (z ^ (i->op & 1)) ? i->disp : next_eip(i);
    return NULL;
}

static const struct x86_insn *h_jmp(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.eip = i->disp;
    return NULL;
}

static const struct x86_insn *h_call(struct x86_cpu *cpu, const struct x86_insn *i)
{
    stack_push(cpu, i->osz, next_eip(i));
    cpu->s.eip = i->disp;
    return NULL;
}

static const struct x86_insn *h_ret(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t t = stack_peek(cpu, i->osz, 0);
    sp_set(cpu, sp_get(cpu) + i->osz + i->imm);
    cpu->s.eip = i->osz == 2 ? (t & 0xffff) : t;
    return NULL;
}

/* LOOP/LOOPE/LOOPNE/JCXZ: the count register is CX or ECX by the address size. */
static const struct x86_insn *h_loop(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t m = i->a16 ? 0xffff : 0xffffffffu;
    uint32_t c = cpu->s.gpr[R_ECX];
    bool take;
    if (i->op == 3) {
        take = (c & m) == 0;
    } else {
        c = (c & ~m) | ((c - 1) & m);
        cpu->s.gpr[R_ECX] = c;
        take = (c & m) != 0;
        if (i->op == 1)
            take = take && x86_cond(cpu, 4);
        else if (i->op == 0)
            take = take && x86_cond(cpu, 5);
    }
    cpu->s.eip = take ? i->disp : next_eip(i);
    return NULL;
}

static const struct x86_insn *h_jmp_ind(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, t = rm_read(cpu, i, i->osz, &ea);
    cpu->s.eip = t;
    return NULL;
}

static const struct x86_insn *h_call_ind(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, t = rm_read(cpu, i, i->osz, &ea);
    stack_push(cpu, i->osz, next_eip(i));
    cpu->s.eip = t;
    return NULL;
}

/* Far JMP/CALL: ptr16:16/32 immediate (op 0) or m16:16/32 (op 1); i->reg 1 for CALL. */
static const struct x86_insn *h_far(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t off;
    uint16_t sel;
    if (i->op) {
        uint32_t ea = ea_of(cpu, i);
        off = mem_rd(cpu, i->osz, i->seg, ea);
        sel = (uint16_t)mem_rd(cpu, 2, i->seg, i->a16 ? ((ea + i->osz) & 0xffff) : ea + i->osz);
    } else {
        off = i->imm;
        sel = i->imm2;
    }
    sync_eip(cpu, i);
    if (i->reg)
        x86_far_call(cpu, sel, off, i->o32);
    else
        x86_far_jmp(cpu, sel, off, i->o32);
    exec_refresh(cpu);
    return NULL;
}

static const struct x86_insn *h_retf(struct x86_cpu *cpu, const struct x86_insn *i)
{
    sync_eip(cpu, i);
    x86_far_ret(cpu, (uint16_t)i->imm, i->o32);
    exec_refresh(cpu);
    return NULL;
}

static const struct x86_insn *h_iret(struct x86_cpu *cpu, const struct x86_insn *i)
{
    sync_eip(cpu, i);
    x86_iret(cpu, i->o32);
    exec_refresh(cpu);
    return NULL;
}

/* INT n / INT3 / INTO / INT1: the pushed EIP is the next instruction (a trap). */
static const struct x86_insn *h_int(struct x86_cpu *cpu, const struct x86_insn *i)
{
    enum x86_event_kind kind = EV_SOFT_INT;
    int vec = (int)i->imm;
    switch (i->op) {
    case 1: kind = EV_SOFT_EXC; vec = X86_BP; break;
    case 2:
        if (!x86_cond(cpu, 0))
            return next_insn(cpu, i);
        kind = EV_SOFT_EXC;
        vec = X86_OF;
        break;
    case 3: kind = EV_ICEBP; vec = X86_DB; break;
    default: break;
    }
    sync_eip(cpu, i);
    cpu->s.eflags = x86_get_eflags(cpu);
    cpu->exec->lf_op = LF_NONE;
    cpu->stats.soft_ints++;
    if (vec < 32 && kind != EV_SOFT_INT)
        cpu->stats.exceptions[vec]++;
    x86_deliver_event(cpu, vec, kind, X86_NO_ERR);
    exec_refresh(cpu);
    return NULL;
}

static const struct x86_insn *h_hlt(struct x86_cpu *cpu, const struct x86_insn *i)
{
    x86_require_cpl0(cpu);
    cpu->s.halted = 1;
    cpu->exec->attention = 1;
    return end_block(cpu, i);
}

static uint32_t rel_target(struct x86_dec *d, struct x86_insn *rec, uint32_t rel)
{
    uint32_t t = rec->eip + rec->len + rel;
    return d->osz == 2 ? (t & 0xffff) : t;
}

bool decode_ctl(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map == 1) {
        if (op >= 0x80 && op <= 0x8f) {
            rec->op = op & 0xf;
            rec->disp = rel_target(d, rec, d->osz == 2 ? (uint32_t)(int16_t)d->imm : d->imm);
            rec->fn = (op & 0xe) == 4 ? h_jz : h_jcc;
            d->end = true;
            return true;
        }
        return false;
    }
    d->end = true;
    if (op >= 0x70 && op <= 0x7f) {
        rec->op = op & 0xf;
        rec->disp = rel_target(d, rec, (uint32_t)(int8_t)d->imm);
        rec->fn = (op & 0xe) == 4 ? h_jz : h_jcc;
        return true;
    }
    switch (op) {
    case 0xeb:
        rec->disp = rel_target(d, rec, (uint32_t)(int8_t)d->imm);
        rec->fn = h_jmp;
        return true;
    case 0xe9: case 0xe8:
        rec->disp = rel_target(d, rec, d->osz == 2 ? (uint32_t)(int16_t)d->imm : d->imm);
        rec->fn = op == 0xe8 ? h_call : h_jmp;
        return true;
    case 0xc3: case 0xc2:
        rec->imm = op == 0xc2 ? (d->imm & 0xffff) : 0;
        rec->fn = h_ret;
        return true;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3:
        rec->op = op & 3;
        rec->disp = rel_target(d, rec, (uint32_t)(int8_t)d->imm);
        rec->fn = h_loop;
        return true;
    case 0xea: case 0x9a:
        rec->op = 0;
        rec->reg = op == 0x9a;
        rec->imm = d->imm & size_mask(d->osz);
        rec->imm2 = (uint16_t)d->imm1;
        rec->fn = h_far;
        return true;
    case 0xff:
        if (d->reg == 2 || d->reg == 4) {
            rec->fn = d->reg == 2 ? h_call_ind : h_jmp_ind;
            return true;
        }
        if (d->reg == 3 || d->reg == 5) {
            if (!d->mem)
                break;
            rec->op = 1;
            rec->reg = d->reg == 3;
            rec->fn = h_far;
            return true;
        }
        break;
    case 0xca: case 0xcb:
        rec->imm = op == 0xca ? (d->imm & 0xffff) : 0;
        rec->fn = h_retf;
        return true;
    case 0xcf: rec->fn = h_iret; return true;
    case 0xcd: rec->op = 0; rec->imm = d->imm & 0xff; rec->fn = h_int; return true;
    case 0xcc: rec->op = 1; rec->fn = h_int; return true;
    case 0xce: rec->op = 2; rec->fn = h_int; return true;
    case 0xf1: rec->op = 3; rec->fn = h_int; return true;
    case 0xf4: rec->fn = h_hlt; return true;
    default: break;
    }
    d->end = false;
    return false;
}
