/* Instruction decoding: Zydis finds the length, prefixes, ModRM/SIB, displacement and immediates;
 * this file turns them into a record (effective-address recipe, operand size, segment) and asks
 * the group decoders, each next to its handlers, to pick the specialised handler. */
#include "x86_exec.h"

const struct x86_insn *h_block_end(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.eip = i->eip;
    return NULL;
}

const struct x86_insn *h_raise_ud(struct x86_cpu *cpu, const struct x86_insn *i)
{
    (void)i;
    x86_raise(cpu, X86_UD, X86_NO_ERR);
}

/* A fault found while decoding (too long: #GP(0); CS limit: #GP(0)). */
const struct x86_insn *h_raise(struct x86_cpu *cpu, const struct x86_insn *i)
{
    x86_raise(cpu, i->op, i->imm);
}

/* 16-bit addressing forms (SDM Vol. 2A Table 2-1): base, index, default segment SS for BP. */
static const uint8_t ea16_base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
static const int8_t ea16_index[8] = { R_ESI, R_EDI, R_ESI, R_EDI, -1, -1, -1, -1 };

static void decode_ea(struct x86_dec *d, struct x86_insn *rec)
{
    const ZydisDecodedInstruction *z = &d->zi;
    int seg = S_DS;
    rec->base = rec->index = ZERO_OFF;
    rec->scale = 0;
    rec->disp = (uint32_t)z->raw.disp.value;
    if (d->a16) {
        if (d->mod == 0 && d->rm == 6) {
            rec->disp &= 0xffff;
        } else {
            rec->base = GPR_OFF(ea16_base[d->rm]);
            if (ea16_index[d->rm] >= 0)
                rec->index = GPR_OFF((unsigned)ea16_index[d->rm]);
            if (d->rm == 2 || d->rm == 3 || d->rm == 6)
                seg = S_SS;
        }
    } else if (d->rm == 4) {
        unsigned b = z->raw.sib.base, x = z->raw.sib.index;
        if (!(b == 5 && d->mod == 0)) {
            rec->base = GPR_OFF(b);
            if (b == R_ESP || b == R_EBP)
                seg = S_SS;
        }
        if (x != 4) {
            rec->index = GPR_OFF(x);
            rec->scale = z->raw.sib.scale;
        }
    } else if (!(d->rm == 5 && d->mod == 0)) {
        rec->base = GPR_OFF(d->rm);
        if (d->rm == R_EBP)
            seg = S_SS;
    }
    d->seg = d->seg_override ? d->seg : seg;
}

bool decode_insn(struct x86_cpu *cpu, struct x86_dec *d, struct x86_insn *rec)
{
    const ZydisDecodedInstruction *z = &d->zi;
    bool opsize = false, adsize = false;
    d->lock = false;
    d->rep = 0;
    d->seg_override = false;
    d->seg = S_DS;
    for (unsigned k = 0; k < z->raw.prefix_count; k++) {
        switch (z->raw.prefixes[k].value) {
        case 0x66: opsize = true; break;
        case 0x67: adsize = true; break;
        case 0xf0: d->lock = true; break;
        case 0xf2: case 0xf3: d->rep = z->raw.prefixes[k].value; break;
        case 0x26: d->seg = S_ES; d->seg_override = true; break;
        case 0x2e: d->seg = S_CS; d->seg_override = true; break;
        case 0x36: d->seg = S_SS; d->seg_override = true; break;
        case 0x3e: d->seg = S_DS; d->seg_override = true; break;
        case 0x64: d->seg = S_FS; d->seg_override = true; break;
        case 0x65: d->seg = S_GS; d->seg_override = true; break;
        default: break;
        }
    }
    d->code32 = z->machine_mode == ZYDIS_MACHINE_MODE_LEGACY_32;
    d->osz = (d->code32 ^ opsize) ? 4 : 2;
    d->a16 = !(d->code32 ^ adsize);
    if (z->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT)
        d->map = 0;
    else if (z->opcode_map == ZYDIS_OPCODE_MAP_0F)
        d->map = 1;
    else
        return false;       /* 0F 38 / 0F 3A / 3DNow!: not on a P6 */
    if (z->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
        return false;
    d->op = z->opcode;
    d->has_modrm = (z->attributes & ZYDIS_ATTRIB_HAS_MODRM) != 0;
    d->mod = z->raw.modrm.mod;
    d->reg = z->raw.modrm.reg;
    d->rm = z->raw.modrm.rm;
    d->mem = d->has_modrm && d->mod != 3;
    d->imm = (uint32_t)z->raw.imm[0].value.u;
    d->imm1 = (uint32_t)z->raw.imm[1].value.u;
    d->end = false;
    /* moffs forms (A0-A3) carry their offset as a displacement or an immediate. */
    if (d->map == 0 && d->op >= 0xa0 && d->op <= 0xa3)
        d->mem = false;

    rec->osz = (uint8_t)d->osz;
    rec->o32 = d->osz == 4;
    rec->a16 = d->a16;
    rec->rep = d->rep;
    rec->reg = (uint8_t)d->reg;
    rec->rm = d->mem ? RM_MEM : (uint8_t)d->rm;
    rec->opcode = (uint8_t)d->op;
    rec->modrm = (uint8_t)(d->mod << 6 | d->reg << 3 | d->rm);
    rec->base = rec->index = ZERO_OFF;
    rec->seg = (uint8_t)d->seg;
    if (d->mem) {
        decode_ea(d, rec);
        rec->seg = (uint8_t)d->seg;
    }
    if (d->map == 0 && d->op >= 0xa0 && d->op <= 0xa3) {
        rec->disp = z->raw.disp.size ? (uint32_t)z->raw.disp.value : d->imm;
        if (d->a16)
            rec->disp &= 0xffff;
    }
    /* String instructions: the source segment defaults to DS (overridable). */
    if (d->map == 0 && ((d->op >= 0xa4 && d->op <= 0xaf) || (d->op >= 0x6c && d->op <= 0x6f) || d->op == 0xd7))
        rec->seg = (uint8_t)(d->seg_override ? d->seg : S_DS);
    (void)cpu;

    /* LOCK is only valid on a read-modify-write memory destination (SDM Vol. 2B LOCK). */
    if (d->lock && !d->mem)
        return false;

    bool ok = decode_alu(d, rec) || decode_alu2(d, rec) || decode_mov(d, rec) || decode_ctl(d, rec) ||
              decode_str(d, rec) || decode_misc(d, rec) || decode_sys(d, rec) ||
              decode_priv(d, rec);
    if (ok && d->lock) {
        bool lockable = false;
        unsigned op = d->op;
        if (d->map == 0)
            lockable = (op < 0x40 && (op & 7) < 2 && (op >> 3) != 7) || (op >= 0x80 && op <= 0x83 && d->reg != 7) ||
                       op == 0x86 || op == 0x87 || ((op == 0xf6 || op == 0xf7) && (d->reg == 2 || d->reg == 3)) ||
                       ((op == 0xfe || op == 0xff) && d->reg <= 1);
        else
            lockable = op == 0xab || op == 0xb3 || op == 0xbb || (op == 0xba && d->reg >= 5) ||
                       op == 0xb0 || op == 0xb1 || op == 0xc0 || op == 0xc1 || (op == 0xc7 && d->reg == 1);
        if (!lockable)
            return false;
    }
    return ok;
}
