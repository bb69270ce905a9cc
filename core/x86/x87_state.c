/* x87 FPU: FNINIT state, FWAIT, and x87_execute: encoding checks, #NM/#MF, dispatch of the
 * escape opcodes D8-DF, the instruction/operand pointers, and the commit of the new state. */
#include <string.h>
#include "x87_priv.h"

/* FNINIT state (SDM Vol. 1 §8.1.1, Table 8-10): FCW 037Fh, FSW 0, all tags empty,
 * instruction/data pointers and opcode cleared. Register contents are left as they are. */
void x87_reset(struct x86_cpu *cpu)
{
    struct fpu_state *f = &cpu->s.fpu;
    f->fcw = 0x037F;
    f->fsw = 0;
    f->ftw = 0xFFFF;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

/* A pending unmasked exception is taken by the next waiting x87 instruction (SDM Vol. 1
 * §8.6): #MF with CR0.NE=1. With NE=0 a PC would signal FERR# to the interrupt controller
 * (IRQ13) through external logic; ringfold does not model that yet, so the exception stays
 * pending (ES set, visible to FNSTSW) and the instruction simply executes. */
static void check_pending(struct x86_cpu *cpu)
{
    if ((cpu->s.fpu.fsw & FSW_ES) && (cpu->s.cr0 & CR0_NE))
        x86_raise(cpu, X86_MF, X86_NO_ERR);
}

/* WAIT/FWAIT: #NM only when both TS and MP are set (SDM Vol. 3 Table 2-2). */
void x87_fwait(struct x86_cpu *cpu)
{
    if ((cpu->s.cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
        x86_raise(cpu, X86_NM, X86_NO_ERR);
    check_pending(cpu);
}

/* True for encodings a P6 rejects with #UD (SDM Vol. 2 Appendix A.4, Tables,
 * with the undocumented P6 aliases FSTP1 D9 D8+i, FCOM2 DC D0+i, FCOMP3 DC D8+i, FXCH4 DD C8+i,
 * FCOMP5 DE D0+i, FXCH7 DF C8+i, FSTP8 DF D0+i, FSTP9 DF D8+i, FFREEP DF C0+i accepted). */
static bool x87_reserved(uint8_t op, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    if (modrm < 0xC0) {
        switch (op) {
        case 0xD9: return reg == 1;
        case 0xDB: return reg == 1 || reg == 4 || reg == 6;   /* /1 FISTTP is SSE3 */
        case 0xDD: return reg == 1 || reg == 5;
        case 0xDF: return reg == 1;
        default: return false;
        }
    }
    switch (op) {
    case 0xD9:
        if (modrm >= 0xD1 && modrm <= 0xD7) return true;
        return modrm == 0xE2 || modrm == 0xE3 || modrm == 0xE6 || modrm == 0xE7 || modrm == 0xEF;
    case 0xDA: return reg >= 4 && modrm != 0xE9;
    case 0xDB: return (reg == 4 && modrm > 0xE4) || reg == 7;
    case 0xDD: return reg >= 6;
    case 0xDE: return reg == 3 && modrm != 0xD9;
    case 0xDF: return (reg == 4 && modrm != 0xE0) || reg == 7;
    default: return false;
    }
}

/* The no-wait control instructions: they neither take pending exceptions nor update the
 * instruction/operand pointers. FLDCW, FLDENV and FRSTOR wait but do not update them. */
static bool x87_nowait(uint8_t op, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    if (modrm < 0xC0)
        return (op == 0xD9 && (reg == 6 || reg == 7)) || (op == 0xDD && (reg == 6 || reg == 7));
    return (op == 0xDB && modrm >= 0xE0 && modrm <= 0xE4) || (op == 0xDF && modrm == 0xE0);
}

static bool x87_control(uint8_t op, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    if (x87_nowait(op, modrm))
        return true;
    return modrm < 0xC0 && ((op == 0xD9 && (reg == 4 || reg == 5)) || (op == 0xDD && reg == 4));
}

static void exec_mem(struct x87_ctx *c)
{
    unsigned reg = (c->modrm >> 3) & 7;
    switch (c->opcode) {
    case 0xD8: case 0xDA: case 0xDC: case 0xDE:
        x87_arith(c);
        return;
    case 0xD9:
        switch (reg) {
        case 4: x87_fldenv(c); return;
        case 5:
            c->f->fcw = (uint16_t)((x86_read16(c->cpu, c->seg, c->ea) & FCW_WRITABLE) | FCW_ONES);
            x87_update_es(c->f);
            return;
        case 6: x87_fstenv(c); return;
        case 7: x86_write16(c->cpu, c->seg, c->ea, c->f->fcw); return;
        default: x87_load_store(c); return;
        }
    case 0xDD:
        switch (reg) {
        case 4: x87_frstor(c); return;
        case 6: x87_fsave(c); return;
        case 7: x86_write16(c->cpu, c->seg, c->ea, c->f->fsw); return;
        default: x87_load_store(c); return;
        }
    default:
        x87_load_store(c);
        return;
    }
}

static void exec_reg(struct x87_ctx *c)
{
    unsigned reg = (c->modrm >> 3) & 7, rm = c->modrm & 7;
    switch (c->opcode) {
    case 0xD8: case 0xDC: case 0xDE:
        x87_arith(c);
        return;
    case 0xD9:
        switch (reg) {
        case 0: x87_fld_reg(c, rm); return;
        case 1: x87_fxch(c, rm); return;
        case 2: return;                             /* FNOP */
        case 3: x87_fstpnce(c, rm); return;         /* D9 D8+i */
        default: x87_misc_d9(c); return;
        }
    case 0xDA:
        if (reg < 4)
            x87_fcmov(c);
        else
            x87_compare_reg(c, 1, HA_UCOM, 2);      /* DA E9 FUCOMPP */
        return;
    case 0xDB:
        if (reg < 4) {
            x87_fcmov(c);
        } else if (reg == 4) {
            if (c->modrm == 0xE2) {                 /* FNCLEX */
                c->f->fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
            } else if (c->modrm == 0xE3) {          /* FNINIT */
                c->f->fcw = 0x037F;
                c->f->fsw = 0;
                c->f->ftw = 0xFFFF;
                c->f->fop = 0;
                c->f->fip = c->f->fdp = 0;
                c->f->fcs = c->f->fds = 0;
            }                                       /* E0 FENI, E1 FDISI, E4 FSETPM: no-ops */
        } else {
            x87_comi(c, rm, reg == 5, false);       /* E8 FUCOMI, F0 FCOMI */
        }
        return;
    case 0xDD:
        switch (reg) {
        case 0:                                     /* FFREE: clears C1 (measured) */
            x87_free(c->f, rm);
            c->f->fsw &= (uint16_t)~FSW_C1;
            return;
        case 1: x87_fxch(c, rm); return;            /* FXCH4 alias */
        case 2: x87_fst_reg(c, rm, false); return;
        case 3: x87_fst_reg(c, rm, true); return;
        case 4: x87_compare_reg(c, rm, HA_UCOM, 0); return;
        default: x87_compare_reg(c, rm, HA_UCOM, 1); return;
        }
    default: /* 0xDF */
        switch (reg) {
        case 0:                                                 /* FFREEP */
            x87_free(c->f, rm);
            x87_pop(c->f);
            c->f->fsw &= (uint16_t)~FSW_C1;
            return;
        case 1: x87_fxch(c, rm); return;                        /* FXCH7 alias */
        case 2: case 3: x87_fst_reg(c, rm, true); return;       /* FSTP8/FSTP9 aliases */
        case 4: c->cpu->s.gpr[R_EAX] = (c->cpu->s.gpr[R_EAX] & 0xFFFF0000u) | c->f->fsw; return;
        default: x87_comi(c, rm, reg == 5, true); return;       /* FUCOMIP, FCOMIP */
        }
    }
}

void x87_execute(struct x86_cpu *cpu, uint8_t opcode, uint8_t modrm, int seg, uint32_t ea, bool o32)
{
    if (opcode < 0xD8 || x87_reserved(opcode, modrm))
        x86_raise(cpu, X86_UD, X86_NO_ERR);
    /* CR0.EM: no FPU, emulate in software; CR0.TS: lazy FPU context switch (SDM Vol. 3 §2.5). */
    if (cpu->s.cr0 & (CR0_EM | CR0_TS))
        x86_raise(cpu, X86_NM, X86_NO_ERR);
    if (!x87_nowait(opcode, modrm))
        check_pending(cpu);

    struct fpu_state copy;
    struct x87_ctx c = { .cpu = cpu, .f = &cpu->s.fpu, .opcode = opcode, .modrm = modrm,
                         .seg = seg, .ea = ea, .o32 = o32 };
    /* Loads, memory arithmetic, FLDCW, FLDENV and FRSTOR do all their (faultable) reads
     * before changing anything, so they work in place too; the forms that store (reg 2, 3,
     * 6, 7 of D9 DB DD DF) work on a copy committed after their last write. */
    if (modrm < 0xC0 && (opcode & 1) && (modrm & 0x10)) {
        memcpy(&copy, &cpu->s.fpu, X87_STATE_BYTES);
        c.f = &copy;
    }
    if (modrm < 0xC0)
        exec_mem(&c);
    else
        exec_reg(&c);
    /* Last non-control instruction: FIP/FCS, FOP, and FDP/FDS for memory operands
     * (SDM Vol. 1 §8.1.8-8.1.9). */
    if (!x87_control(opcode, modrm)) {
        c.f->fip = cpu->insn_eip;
        c.f->fcs = cpu->s.seg[S_CS].sel;
        c.f->fop = (uint16_t)(((opcode & 7u) << 8) | modrm);
        if (modrm < 0xC0) {
            c.f->fdp = ea;
            c.f->fds = cpu->s.seg[seg].sel;
        }
    }
    if (c.f != &cpu->s.fpu)
        memcpy(&cpu->s.fpu, c.f, X87_STATE_BYTES);
}
