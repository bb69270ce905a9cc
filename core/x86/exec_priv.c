/* Privileged and system-table instructions on the exec side: SLDT/STR/LLDT/LTR/VERR/VERW,
 * SGDT/SIDT/LGDT/LIDT/SMSW/LMSW/INVLPG, LAR/LSL, CLTS, MOV CR/DR, MSRs, RDTSC/RDPMC, CPUID,
 * SYSENTER/SYSEXIT, and the x87 escapes, WAIT and FXSAVE/FXRSTOR handed to the FPU side. */
#include "x86_exec.h"

static const struct x86_insn *sys_done(struct x86_cpu *cpu, const struct x86_insn *i)
{
    exec_refresh(cpu);
    return end_block(cpu, i);
}

/* 0F 00: SLDT STR LLDT LTR VERR VERW. */
static const struct x86_insn *h_grp6(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0;
    switch (i->op) {
    case 0: case 1: {
        uint16_t sel = i->op ? cpu->s.tr.sel : cpu->s.ldtr.sel;
        if (i->rm == RM_MEM)
            mem_wr(cpu, 2, i->seg, ea_of(cpu, i), sel);
        else
            reg_set(cpu, i->osz, i->rm, sel);
        return next_insn(cpu, i);
    }
    case 2: case 3: {
        x86_require_cpl0(cpu);
        uint16_t sel = (uint16_t)rm_read(cpu, i, 2, &ea);
        sync_eip(cpu, i);
        if (i->op == 2)
            x86_lldt(cpu, sel);
        else
            x86_ltr(cpu, sel);
        return sys_done(cpu, i);
    }
    default: {
        uint16_t sel = (uint16_t)rm_read(cpu, i, 2, &ea);
        bool ok = i->op == 4 ? x86_verr(cpu, sel) : x86_verw(cpu, sel);
        flags_set(cpu, EFL_ZF, ok ? EFL_ZF : 0);
        return next_insn(cpu, i);
    }
    }
}

/* 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG. With a 16-bit operand the base is 24 bits. */
static const struct x86_insn *h_grp7(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = i->rm == RM_MEM ? ea_of(cpu, i) : 0;
    uint32_t ea2 = i->a16 ? ((ea + 2) & 0xffff) : ea + 2;
    switch (i->op) {
    case 0: case 1: {
        const struct dtable_reg *t = i->op ? &cpu->s.idtr : &cpu->s.gdtr;
        x86_check_access(cpu, i->seg, ea, 6, true);
        mem_wr(cpu, 2, i->seg, ea, t->limit);
        mem_wr(cpu, 4, i->seg, ea2, i->osz == 2 ? (t->base & 0xffffff) : t->base);
        return next_insn(cpu, i);
    }
    case 2: case 3: {
        x86_require_cpl0(cpu);
        uint16_t limit = (uint16_t)mem_rd(cpu, 2, i->seg, ea);
        uint32_t base = mem_rd(cpu, 4, i->seg, ea2);
        if (i->osz == 2)
            base &= 0xffffff;
        if (i->op == 2)
            x86_lgdt(cpu, base, limit);
        else
            x86_lidt(cpu, base, limit);
        return sys_done(cpu, i);
    }
    case 4:
        if (i->rm == RM_MEM)
            mem_wr(cpu, 2, i->seg, ea, cpu->s.cr0 & 0xffff);
        else
            reg_set(cpu, i->osz, i->rm, cpu->s.cr0);
        return next_insn(cpu, i);
    case 6: {
        x86_require_cpl0(cpu);
        uint16_t v = (uint16_t)(i->rm == RM_MEM ? mem_rd(cpu, 2, i->seg, ea) : reg_get(cpu, 2, i->rm));
        sync_eip(cpu, i);
        x86_lmsw(cpu, v);
        return sys_done(cpu, i);
    }
    default:
        x86_require_cpl0(cpu);
        sync_eip(cpu, i);
        x86_invlpg(cpu, cpu->s.seg[i->seg].base + ea);
        return sys_done(cpu, i);
    }
}

static const struct x86_insn *h_lar_lsl(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = 0, out = 0;
    uint16_t sel = (uint16_t)rm_read(cpu, i, 2, &ea);
    bool ok = i->op ? x86_lsl(cpu, sel, &out) : x86_lar(cpu, sel, &out);
    if (ok)
        reg_set(cpu, i->osz, i->reg, out);
    flags_set(cpu, EFL_ZF, ok ? EFL_ZF : 0);
    return next_insn(cpu, i);
}

/* 0F 06 CLTS, 0F 08 INVD, 0F 09 WBINVD, 0F 20-23 MOV CR/DR, 0F 30-35, 0F A2 CPUID. */
static const struct x86_insn *h_priv(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t *g = cpu->s.gpr;
    switch (i->opcode) {
    case 0x06:
        x86_require_cpl0(cpu);
        x86_clts(cpu);
        return sys_done(cpu, i);
    case 0x08: case 0x09:
        x86_require_cpl0(cpu);
        return next_insn(cpu, i);
    case 0x20:
        x86_require_cpl0(cpu);
        g[i->rm] = x86_read_cr(cpu, i->reg);
        return next_insn(cpu, i);
    case 0x22:
        x86_require_cpl0(cpu);
        sync_eip(cpu, i);
        x86_write_cr(cpu, i->reg, g[i->rm]);
        return sys_done(cpu, i);
    case 0x21:
        x86_require_cpl0(cpu);
        g[i->rm] = x86_read_dr(cpu, i->reg);
        return next_insn(cpu, i);
    case 0x23:
        x86_require_cpl0(cpu);
        sync_eip(cpu, i);
        x86_write_dr(cpu, i->reg, g[i->rm]);
        return sys_done(cpu, i);
    case 0x30:
        x86_require_cpl0(cpu);
        sync_eip(cpu, i);
        x86_wrmsr(cpu, g[R_ECX], (uint64_t)g[R_EDX] << 32 | g[R_EAX]);
        return sys_done(cpu, i);
    case 0x32: {
        x86_require_cpl0(cpu);
        uint64_t v = x86_rdmsr(cpu, g[R_ECX]);
        g[R_EAX] = (uint32_t)v;
        g[R_EDX] = (uint32_t)(v >> 32);
        return next_insn(cpu, i);
    }
    case 0x31: {
        if ((cpu->s.cr4 & CR4_TSD) && cpu->cpl && cpu->pe)
            x86_raise(cpu, X86_GP, 0);
        uint64_t v = x86_rdtsc(cpu);
        g[R_EAX] = (uint32_t)v;
        g[R_EDX] = (uint32_t)(v >> 32);
        return next_insn(cpu, i);
    }
    case 0x33:
        if (!(cpu->s.cr4 & CR4_PCE) && cpu->cpl && cpu->pe)
            x86_raise(cpu, X86_GP, 0);
        if (g[R_ECX] > 1)
            x86_raise(cpu, X86_GP, 0);
        g[R_EAX] = g[R_EDX] = 0;    /* no performance counters are modelled */
        return next_insn(cpu, i);
    case 0x34:
        sync_eip(cpu, i);
        x86_sysenter(cpu);
        exec_refresh(cpu);
        return NULL;
    case 0x35:
        sync_eip(cpu, i);
        x86_sysexit(cpu);
        exec_refresh(cpu);
        return NULL;
    default: {  /* CPUID */
        uint32_t out[4];
        x86_cpuid(cpu, g[R_EAX], g[R_ECX], out);
        g[R_EAX] = out[0];
        g[R_EBX] = out[1];
        g[R_ECX] = out[2];
        g[R_EDX] = out[3];
        return next_insn(cpu, i);
    }
    }
}

/* x87 escapes: the effective address is computed here, the FPU side does the rest. */
static const struct x86_insn *h_x87(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = i->rm == RM_MEM ? ea_of(cpu, i) : 0;
    cpu->insn_eip = i->eip;
    x87_execute(cpu, i->opcode, i->modrm, i->seg, ea, i->o32);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_fwait(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->insn_eip = i->eip;
    x87_fwait(cpu);
    return next_insn(cpu, i);
}

static const struct x86_insn *h_fxsave(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint32_t ea = ea_of(cpu, i);
    cpu->insn_eip = i->eip;
    if (i->op)
        x87_fxrstor(cpu, i->seg, ea);
    else
        x87_fxsave(cpu, i->seg, ea);
    return next_insn(cpu, i);
}

bool decode_priv(struct x86_dec *d, struct x86_insn *rec)
{
    unsigned op = d->op;
    if (d->map == 0) {
        if (op == 0x9b) {
            rec->fn = h_fwait;
            return true;
        }
        if (op >= 0xd8 && op <= 0xdf) {
            rec->fn = h_x87;
            return true;
        }
        return false;
    }
    if (d->map != 1)
        return false;
    bool pm = d->zi.machine_mode != ZYDIS_MACHINE_MODE_REAL_16;
    switch (op) {
    case 0x00:
        if (!pm || d->reg > 5)
            return false;
        rec->op = (uint8_t)d->reg;
        rec->fn = h_grp6;
        if (d->reg == 2 || d->reg == 3)
            d->end = true;
        return true;
    case 0x01:
        if (d->reg == 5 || (!d->mem && d->reg != 4 && d->reg != 6))
            return false;
        rec->op = (uint8_t)d->reg;
        rec->fn = h_grp7;
        if (d->reg >= 2 && d->reg != 4)
            d->end = true;
        return true;
    case 0x02: case 0x03:
        if (!pm)
            return false;
        rec->op = op == 0x03;
        rec->fn = h_lar_lsl;
        return true;
    case 0x20: case 0x22:
        if (d->reg == 1 || d->reg > 4)
            return false;
        rec->rm = (uint8_t)d->rm;
        rec->fn = h_priv;
        d->end = op == 0x22;
        return true;
    case 0x21: case 0x23:
        rec->rm = (uint8_t)d->rm;
        rec->fn = h_priv;
        d->end = op == 0x23;
        return true;
    case 0x06: case 0x08: case 0x09: case 0x30: case 0x31: case 0x32: case 0x33: case 0xa2:
        rec->fn = h_priv;
        d->end = op == 0x06 || op == 0x30;
        return true;
    case 0x34: case 0x35:
        rec->fn = h_priv;
        d->end = true;
        return true;
    case 0xae:
        if (!d->mem || d->reg > 1)
            return false;
        rec->op = (uint8_t)d->reg;
        rec->fn = h_fxsave;
        return true;
    default:
        return false;
    }
}
