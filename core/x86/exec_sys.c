/* Mode-sensitive instructions on the exec side: CLI/STI and PUSHF/POPF (IOPL, VM, VME/PVI rules),
 * IN/OUT, segment register loads and stores (MOV/PUSH/POP Sreg, LDS..LGS), ARPL. */
#include "x86_exec.h"
#include "sys_debug.h"

static unsigned iopl(const struct x86_cpu *cpu) { return (cpu->s.eflags >> 12) & 3; }

/* After the system side changed segments, CPL or paging: refresh caches, end the block. */
static const struct x86_insn *sys_done(struct x86_cpu *cpu, const struct x86_insn *i)
{
    exec_refresh(cpu);
    return end_block(cpu, i);
}

/* CLI/STI (SDM Vol. 2A CLI, STI): IF when IOPL allows; VIF under PVI (CPL 3) or VME (v86). */
static const struct x86_insn *h_cli_sti(struct x86_cpu *cpu, const struct x86_insn *i)
{
    bool sti = i->op;
    bool vif = false;
    if (cpu->pe) {
        if (cpu->v86) {
            if (iopl(cpu) < 3) {
                if (!(cpu->s.cr4 & CR4_VME))
                    x86_raise(cpu, X86_GP, 0);
                vif = true;
            }
        } else if ((unsigned)cpu->cpl > iopl(cpu)) {
            if (cpu->cpl != 3 || !(cpu->s.cr4 & CR4_PVI))
                x86_raise(cpu, X86_GP, 0);
            vif = true;
        }
    }
    if (vif) {
        if (sti && (cpu->s.eflags & EFL_VIP))
            x86_raise(cpu, X86_GP, 0);
        cpu->s.eflags = sti ? cpu->s.eflags | EFL_VIF : cpu->s.eflags & ~EFL_VIF;
        return next_insn(cpu, i);
    }
    if (!sti) {
        cpu->s.eflags &= ~EFL_IF;
        return next_insn(cpu, i);
    }
    cpu->exec->attention = 1;
    if (!(cpu->s.eflags & EFL_IF)) {
        cpu->s.eflags |= EFL_IF;
        cpu->s.intr_shadow = 1;     /* interrupts wait one more instruction */
    }
    return end_block(cpu, i);
}

static const struct x86_insn *h_pushf(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t f = x86_get_eflags(cpu);
    if (cpu->v86 && iopl(cpu) < 3) {
        if (!(cpu->s.cr4 & CR4_VME) || i->osz == 4)
            x86_raise(cpu, X86_GP, 0);
        f = (f & ~(EFL_IF | EFL_IOPL)) | ((f & EFL_VIF) ? EFL_IF : 0) | EFL_IOPL;
    }
    stack_push(cpu, i->osz, f & 0x00fcffffu);   /* the image has VM and RF clear */
    return next_insn(cpu, i);
}

static const struct x86_insn *h_popf(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t old = x86_get_eflags(cpu);
    uint32_t v = stack_peek(cpu, i->osz, 0);
    uint32_t changeable = 0x00247fd5u & ~(EFL_VIP | EFL_VIF);   /* AC ID NT IOPL OF DF IF TF SF ZF AF PF CF */
    if (!cpu->pe || (!cpu->v86 && cpu->cpl == 0)) {
        /* everything but VM/VIF/VIP */
    } else if (!cpu->v86) {
        changeable &= ~EFL_IOPL;
        if ((unsigned)cpu->cpl > iopl(cpu))
            changeable &= ~EFL_IF;
    } else if (iopl(cpu) == 3) {
        changeable &= ~EFL_IOPL;
    } else {
        if (!(cpu->s.cr4 & CR4_VME) || i->osz == 4 || (v & EFL_TF) ||
            ((v & EFL_IF) && (old & EFL_VIP)))
            x86_raise(cpu, X86_GP, 0);
        changeable &= ~(EFL_IOPL | EFL_IF);
        old = (old & ~EFL_VIF) | ((v & EFL_IF) ? EFL_VIF : 0);
    }
    if (i->osz == 2)
        changeable &= 0xffff;
    sp_set(cpu, sp_get(cpu) + i->osz);
    x86_set_eflags(cpu, (old & ~changeable & ~EFL_RF) | (v & changeable));
    return end_block(cpu, i);
}

/* IN/OUT: i->op bit 0 OUT, bit 1 port in DX; i->osz the size; i->imm the immediate port. */
static const struct x86_insn *h_io(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint16_t port = (i->op & 2) ? (uint16_t)cpu->s.gpr[R_EDX] : (uint16_t)i->imm;
    x86_check_io(cpu, port, i->osz);
    cpu->exec->attention = 1;
    if (cpu->exec->dbg)
        cpu->exec->db_hits |= sys_dr_match_io(cpu, port, i->osz);
    if (i->op & 1)
        bus_pio_write(&cpu->vm->bus, port, reg_get(cpu, i->osz, R_EAX), i->osz);
    else
        reg_set(cpu, i->osz, R_EAX, bus_pio_read(&cpu->vm->bus, port, i->osz));
    return end_block(cpu, i);    /* devices may have raised an interrupt or asked to stop */
}

/* MOV Sreg, r/m (8E) and POP Sreg: a load of SS holds interrupts off for one instruction. */
static const struct x86_insn *h_mov_sreg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0;
    uint16_t sel = (uint16_t)rm_read(cpu, i, 2, &ea);
    x86_load_seg(cpu, i->reg, sel);
    if (i->reg == S_SS) {
        cpu->s.intr_shadow = 1;
        cpu->exec->ss_shadow = 1;
    }
    return sys_done(cpu, i);
}

static const struct x86_insn *h_store_sreg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint16_t sel = cpu->s.seg[i->reg].sel;
    if (i->rm == RM_MEM)
        mem_wr(cpu, 2, i->seg, ea_of(cpu, i), sel);
    else
        reg_set(cpu, i->osz, i->rm, sel);
    return next_insn(cpu, i);
}

/* PUSH Sreg with a 32-bit operand moves ESP by 4 but writes only the selector's 16 bits, as
 * current Intel processors do. */
static const struct x86_insn *h_push_sreg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint16_t sel = cpu->s.seg[i->reg].sel;
    if (i->osz == 2) {
        stack_push(cpu, 2, sel);
        return next_insn(cpu, i);
    }
    uint32_t sp = sp_get(cpu) - 4;
    if (!cpu->stack32)
        sp &= 0xffff;
    x86_check_access(cpu, S_SS, sp, 4, true);
    mem_wr(cpu, 2, S_SS, sp, sel);
    sp_set(cpu, sp);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint16_t sel = (uint16_t)stack_peek(cpu, i->osz, 0);
    x86_load_seg(cpu, i->reg, sel);
    sp_set(cpu, sp_get(cpu) + i->osz);
    if (i->reg == S_SS) {
        cpu->s.intr_shadow = 1;
        cpu->exec->ss_shadow = 1;
    }
    return sys_done(cpu, i);
}

/* LDS/LES/LSS/LFS/LGS: far pointer from memory; the segment is loaded before the register. */
static const struct x86_insn *h_lxs(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = ea_of(cpu, i);
    uint32_t off = mem_rd(cpu, i->osz, i->seg, ea);
    uint16_t sel = (uint16_t)mem_rd(cpu, 2, i->seg, i->a16 ? ((ea + i->osz) & 0xffff) : ea + i->osz);
    x86_load_seg(cpu, i->op, sel);
    reg_set(cpu, i->osz, i->reg, off);
    return sys_done(cpu, i);
}

static const struct x86_insn *h_arpl(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, d = rm_read(cpu, i, 2, &ea);
    uint32_t s = reg_get(cpu, 2, i->reg);
    if ((d & 3) < (s & 3)) {
        rm_write(cpu, i, 2, ea, (d & ~3u) | (s & 3));
        flags_set(cpu, EFL_ZF, EFL_ZF);
    } else {
        flags_set(cpu, EFL_ZF, 0);
    }
    return next_insn(cpu, i);
}

static const int sreg_of_op[] = { [0x06] = S_ES, [0x07] = S_ES, [0x0e] = S_CS, [0x16] = S_SS,
                                  [0x17] = S_SS, [0x1e] = S_DS, [0x1f] = S_DS };

bool decode_sys(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map == 0) {
        switch (op) {
        case 0xfa: case 0xfb:
            rec->op = op == 0xfb;
            rec->fn = h_cli_sti;
            return true;
        case 0x9c: rec->fn = h_pushf; return true;
        case 0x9d: rec->fn = h_popf; d->end = true; return true;
        case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef:
            rec->osz = (op & 1) ? (uint8_t)d->osz : 1;
            rec->op = (uint8_t)(((op & 2) ? 1 : 0) | ((op & 8) ? 2 : 0));
            rec->imm = d->imm & 0xff;
            rec->fn = h_io;
            d->end = true;
            return true;
        case 0x8e:
            if (d->reg > 5 || d->reg == S_CS)
                return false;
            rec->fn = h_mov_sreg;
            d->end = true;
            return true;
        case 0x8c:
            if (d->reg > 5)
                return false;
            if (d->mem)
                rec->osz = 2;
            rec->fn = h_store_sreg;
            return true;
        case 0x06: case 0x0e: case 0x16: case 0x1e:
            rec->reg = (uint8_t)sreg_of_op[op];
            rec->fn = h_push_sreg;
            return true;
        case 0x07: case 0x17: case 0x1f:
            rec->reg = (uint8_t)sreg_of_op[op];
            rec->fn = h_pop_sreg;
            d->end = true;
            return true;
        case 0xc4: case 0xc5:
            if (!d->mem)
                return false;
            rec->op = op == 0xc4 ? S_ES : S_DS;
            rec->fn = h_lxs;
            d->end = true;
            return true;
        case 0x63:
            if (!d->code32 && !(d->zi.machine_mode == ZYDIS_MACHINE_MODE_LEGACY_16))
                return false;
            rec->fn = h_arpl;
            return true;
        default:
            return false;
        }
    }
    if (d->map != 1)
        return false;
    switch (op) {
    case 0xa0: case 0xa8:
        rec->reg = op == 0xa0 ? S_FS : S_GS;
        rec->fn = h_push_sreg;
        return true;
    case 0xa1: case 0xa9:
        rec->reg = op == 0xa1 ? S_FS : S_GS;
        rec->fn = h_pop_sreg;
        d->end = true;
        return true;
    case 0xb2: case 0xb4: case 0xb5:
        if (!d->mem)
            return false;
        rec->op = op == 0xb2 ? S_SS : op == 0xb4 ? S_FS : S_GS;
        rec->fn = h_lxs;
        d->end = true;
        return true;
    default:
        return false;
    }
}
