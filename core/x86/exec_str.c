/* String instructions MOVS/CMPS/SCAS/LODS/STOS/INS/OUTS with REP/REPE/REPNE. Registers are
 * updated after every iteration, so a fault mid-string restarts where it stopped; a long REP
 * yields after a bounded number of iterations so interrupts are taken (SDM Vol. 1 §7.3.9.1). */
#include "x86_exec.h"

enum { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS, S_INS, S_OUTS };

#define STR_BUDGET 4096u

static inline void idx_step(struct x86_cpu *cpu, unsigned r, uint32_t amask, int32_t step)
{
    uint32_t v = cpu->s.gpr[r];
    cpu->s.gpr[r] = (v & ~amask) | ((v + (uint32_t)step) & amask);
}

/* REP MOVS/STOS on flat RAM pages: whole runs within one page at a time through the TLB.
 * Returns the iterations done (0: take the general path). */
static uint32_t str_fast(struct x86_cpu *cpu, const struct x86_insn *i, uint32_t count, int sz)
{
    struct x86_exec *ex = cpu->exec;
    if (i->a16 || (cpu->s.eflags & EFL_DF))
        return 0;
    uint32_t di = cpu->s.gpr[R_EDI];
    const struct seg_cache *es = &ex->seg[S_ES];
    if (es->lo != 0 || es->wspan[0] < 0)
        return 0;
    uint32_t dlin = es->base + di;
    uint32_t room = (4096 - (dlin & 0xfff)) / (uint32_t)sz;
    if ((dlin & (uint32_t)(sz - 1)) || room == 0)
        return 0;
    uint32_t n = count < room ? count : room;
    if ((uint64_t)di + (uint64_t)n * (uint32_t)sz - 1 > (uint64_t)es->wspan[0])
        return 0;
    const struct tlb_entry *de = &ex->tlb[(dlin >> 12) & TLB_MASK];
    if (de->tag_w != (dlin & 0xfffff000u))
        return 0;
    uint8_t *dp = (uint8_t *)(de->addend + dlin);
    if (i->op == S_STOS) {
        uint32_t v = cpu->s.gpr[R_EAX];
        if (sz == 1)
            memset(dp, (int)(v & 0xff), n);
        else
            for (uint32_t k = 0; k < n; k++)
                memcpy(dp + k * (uint32_t)sz, &v, (size_t)sz);
    } else {
        const struct seg_cache *ss = &ex->seg[i->seg];
        uint32_t si = cpu->s.gpr[R_ESI];
        uint32_t slin = ss->base + si;
        uint32_t sroom = (4096 - (slin & 0xfff)) / (uint32_t)sz;
        if (ss->lo != 0 || ss->rspan[0] < 0 || (slin & (uint32_t)(sz - 1)))
            return 0;
        if (sroom < n)
            n = sroom;
        if (n == 0 || (uint64_t)si + (uint64_t)n * (uint32_t)sz - 1 > (uint64_t)ss->rspan[0])
            return 0;
        const struct tlb_entry *se = &ex->tlb[(slin >> 12) & TLB_MASK];
        if (se->tag_r != (slin & 0xfffff000u))
            return 0;
        const uint8_t *sp = (const uint8_t *)(se->addend + slin);
        /* Overlapping forward copies must behave byte by byte (memmove would not). */
        if (dp > sp && dp < sp + (size_t)n * (size_t)sz) {
            for (uint32_t k = 0; k < n * (uint32_t)sz; k++)
                dp[k] = sp[k];
        } else {
            memmove(dp, sp, (size_t)n * (size_t)sz);
        }
        cpu->s.gpr[R_ESI] = si + n * (uint32_t)sz;
    }
    cpu->s.gpr[R_EDI] = di + n * (uint32_t)sz;
    return n;
}

static const struct x86_insn *h_string(struct x86_cpu *cpu, const struct x86_insn *i)
{
    int sz = i->osz;
    uint32_t amask = i->a16 ? 0xffffu : 0xffffffffu;
    int32_t step = (cpu->s.eflags & EFL_DF) ? -sz : sz;
    bool rep = i->rep != 0;
    uint32_t count = rep ? (cpu->s.gpr[R_ECX] & amask) : 1;
    if (!count)
        return next_insn(cpu, i);
    if ((i->op == S_INS || i->op == S_OUTS)) {
        x86_check_io(cpu, (uint16_t)cpu->s.gpr[R_EDX], (unsigned)sz);
        cpu->exec->attention = 1;
    }
    bool done = false;
    for (uint32_t budget = STR_BUDGET; budget && !done; budget--) {
        uint32_t si = cpu->s.gpr[R_ESI] & amask, di = cpu->s.gpr[R_EDI] & amask;
        bool stop = false;
        if (rep && (i->op == S_MOVS || i->op == S_STOS) && count > 1) {
            uint32_t n = str_fast(cpu, i, count, sz);
            if (n) {
                count -= n;
                cpu->s.gpr[R_ECX] = (cpu->s.gpr[R_ECX] & ~amask) | (count & amask);
                if (!count)
                    return next_insn(cpu, i);
                continue;
            }
        }
        switch (i->op) {
        case S_MOVS:
            mem_wr(cpu, sz, S_ES, di, mem_rd(cpu, sz, i->seg, si));
            idx_step(cpu, R_ESI, amask, step);
            idx_step(cpu, R_EDI, amask, step);
            break;
        case S_STOS:
            mem_wr(cpu, sz, S_ES, di, cpu->s.gpr[R_EAX]);
            idx_step(cpu, R_EDI, amask, step);
            break;
        case S_LODS:
            reg_set(cpu, sz, R_EAX, mem_rd(cpu, sz, i->seg, si));
            idx_step(cpu, R_ESI, amask, step);
            break;
        case S_CMPS: {
            uint32_t a = mem_rd(cpu, sz, i->seg, si), b = mem_rd(cpu, sz, S_ES, di);
            lf_set(cpu, LF_SUB, sz, a, b, a - b);
            idx_step(cpu, R_ESI, amask, step);
            idx_step(cpu, R_EDI, amask, step);
            stop = ((a ^ b) & size_mask(sz)) ? i->rep == 0xf3 : i->rep == 0xf2;
            break;
        }
        case S_SCAS: {
            uint32_t a = reg_get(cpu, sz, R_EAX), b = mem_rd(cpu, sz, S_ES, di);
            lf_set(cpu, LF_SUB, sz, a, b, a - b);
            idx_step(cpu, R_EDI, amask, step);
            stop = ((a ^ b) & size_mask(sz)) ? i->rep == 0xf3 : i->rep == 0xf2;
            break;
        }
        case S_INS: {
            x86_check_access(cpu, S_ES, di, (uint32_t)sz, true);
            uint32_t v = bus_pio_read(&cpu->vm->bus, (uint16_t)cpu->s.gpr[R_EDX], (unsigned)sz);
            mem_wr(cpu, sz, S_ES, di, v);
            idx_step(cpu, R_EDI, amask, step);
            break;
        }
        default: {
            uint32_t v = mem_rd(cpu, sz, i->seg, si);
            bus_pio_write(&cpu->vm->bus, (uint16_t)cpu->s.gpr[R_EDX], v, (unsigned)sz);
            idx_step(cpu, R_ESI, amask, step);
            break;
        }
        }
        if (!rep) {
            done = true;
            break;
        }
        count--;
        cpu->s.gpr[R_ECX] = (cpu->s.gpr[R_ECX] & ~amask) | (count & amask);
        done = !count || stop;
        if ((i->op == S_OUTS || i->op == S_INS) && cpu->vm->stop)
            break;
    }
    if (!done) {
        /* Budget spent or a stop request: come back to this instruction (registers are current). */
        cpu->s.eip = i->eip;
        return NULL;
    }
    if (i->op == S_INS || i->op == S_OUTS)
        return end_block(cpu, i);
    return next_insn(cpu, i);
}

bool decode_str(struct x86_dec *d, struct x86_insn *rec)
{
    static const int8_t kinds[16] = { -1, -1, -1, -1, S_MOVS, S_MOVS, S_CMPS, S_CMPS,
                                      -1, -1, S_STOS, S_STOS, S_LODS, S_LODS, S_SCAS, S_SCAS };
    unsigned op = d->op;
    if (d->map != 0)
        return false;
    int kind;
    if (op >= 0xa0 && op <= 0xaf && kinds[op - 0xa0] >= 0)
        kind = kinds[op - 0xa0];
    else if (op == 0x6c || op == 0x6d)
        kind = S_INS;
    else if (op == 0x6e || op == 0x6f)
        kind = S_OUTS;
    else
        return false;
    rec->op = (uint8_t)kind;
    rec->osz = (op & 1) ? (uint8_t)d->osz : 1;
    rec->fn = h_string;
    if (kind == S_INS || kind == S_OUTS)
        d->end = true;
    /* REP on LODS/STOS/MOVS/INS/OUTS means plain REP whichever of F2/F3 it is. */
    if (rec->rep && kind != S_CMPS && kind != S_SCAS)
        rec->rep = 0xf3;
    return true;
}
