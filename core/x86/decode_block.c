/* The decoded-instruction cache: basic blocks keyed by physical address and mode, decoded once
 * and reused; a per-physical-page list of blocks lets guest writes to code invalidate exactly
 * the blocks they touch (self-modifying code, including writes into the running block). */
#include <stdlib.h>
#include "x86_exec.h"

static unsigned block_hash(uint32_t pa)
{
    return (pa * 0x9e3779b1u) >> (32 - BLOCK_HASH_BITS);
}

int exec_init(struct x86_cpu *cpu)
{
    struct x86_exec *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return -1;
    ex->npages = (uint32_t)(cpu->mem->size >> 12);
    ex->page_blocks = calloc(ex->npages ? ex->npages : 1, sizeof(*ex->page_blocks));
    if (!ex->page_blocks) {
        free(ex);
        return -1;
    }
    ZydisDecoderInit(&ex->dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&ex->dec16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
    ZydisDecoderInit(&ex->dec_real, ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16);
    memset(ex->tlbs, 0xff, sizeof(ex->tlbs));
    ex->tlb = ex->tlbs[0];
    cpu->exec = ex;
    cpu->ea_zero = 0;
    return 0;
}

static void block_unhash(struct x86_exec *ex, struct x86_block *b)
{
    struct x86_block **pp = &ex->hash[block_hash(b->pa)];
    while (*pp && *pp != b)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = b->hnext;
}

void exec_destroy(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    if (!ex)
        return;
    for (unsigned h = 0; h < (1u << BLOCK_HASH_BITS); h++) {
        struct x86_block *b = ex->hash[h];
        while (b) {
            struct x86_block *n = b->hnext;
            free(b);
            b = n;
        }
    }
    block_free_zombies(ex);
    free(ex->page_blocks);
    free(ex->watch_bm);
    free(ex);
    cpu->exec = NULL;
}

void block_free_zombies(struct x86_exec *ex)
{
    while (ex->zombies) {
        struct x86_block *n = ex->zombies->pnext;
        free(ex->zombies);
        ex->zombies = n;
    }
}

/* Page lists link a block through pnext on its first page and pnext2 on its second. */
static struct x86_block **page_link(struct x86_block *b, uint32_t pfn)
{
    return (b->pa >> 12) == pfn ? &b->pnext : &b->pnext2;
}

static void page_unlink(struct x86_exec *ex, uint32_t pfn, struct x86_block *b)
{
    struct x86_block **pp = &ex->page_blocks[pfn];
    while (*pp && *pp != b)
        pp = page_link(*pp, pfn);
    if (*pp)
        *pp = *page_link(b, pfn);
}

void exec_code_write(struct x86_cpu *cpu, uint32_t pa, uint32_t len)
{
    struct x86_exec *ex = cpu->exec;
    uint32_t pfn = pa >> 12;
    if (pfn >= ex->npages)
        return;
    struct x86_block **pp = &ex->page_blocks[pfn];
    ex->code_writes++;
    while (*pp) {
        struct x86_block *b = *pp;
        ex->code_walk_steps++;
        bool first = (b->pa >> 12) == pfn;
        uint32_t lo = first ? b->pa : b->pa2, hi = first ? b->pa_end : b->pa2_end;
        if (lo < pa + len && pa < hi) {
            *pp = *page_link(b, pfn);
            if (b->pa2 != NO_PA2)
                page_unlink(ex, first ? b->pa2 >> 12 : b->pa >> 12, b);
            block_unhash(ex, b);
            b->valid = 0;
            ex->blocks_live--;      /* it leaves the cache whether freed now or as a zombie */
            ex->gen++;      /* chains may point at this block */
            ex->attention = 1;
            cpu->stats.decode_invalidations++;
            if (b == ex->cur_block) {
                /* The running block was overwritten: stop right after the writing instruction
                 * (the record after it becomes a block end; this block is never reused). */
                if (ex->cur) {
                    struct x86_insn *nx = (struct x86_insn *)ex->cur + 1;
                    nx->fn = h_block_end;
                    nx->nret = ex->cur->nret;
                }
                ex->smc_exits++;
                b->pnext = ex->zombies;
                ex->zombies = b;
            } else {
                free(b);
            }
        } else {
            pp = page_link(b, pfn);
        }
    }
}

uint32_t exec_mode_key(const struct x86_cpu *cpu)
{
    return (uint32_t)cpu->code32 | (uint32_t)cpu->pe << 1 | (uint32_t)cpu->v86 << 2;
}

static const ZydisDecoder *decoder_for(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    if (!cpu->pe || cpu->v86)
        return &ex->dec_real;
    return cpu->code32 ? &ex->dec32 : &ex->dec16;
}

/* Fills a record that raises a fault when executed. */
static void rec_fault(struct x86_insn *r, uint32_t eip, int vector, uint32_t err)
{
    memset(r, 0, sizeof(*r));
    r->eip = eip;
    r->fn = h_raise;
    r->op = (uint8_t)vector;
    r->imm = err;
}

static struct x86_block *block_decode(struct x86_cpu *cpu, uint32_t pa0, const uint8_t *host0, uint32_t mode)
{
    struct x86_exec *ex = cpu->exec;
    const struct seg_reg *cs = &cpu->s.seg[S_CS];
    const ZydisDecoder *dec = decoder_for(cpu);
    struct x86_insn recs[BLOCK_MAX_INSNS + 1];
    uint32_t eip = cpu->s.eip;
    uint32_t lin0 = cs->base + eip;
    uint32_t page_end = (lin0 & 0xfffff000u) + 4096;   /* may wrap to 0: compare via offsets */
    bool nocache = host0 == NULL || ex->force_nocache;
    uint32_t pa2 = NO_PA2, tail = 0;
    unsigned n = 0;
    uint32_t eip_mask = cpu->code32 ? 0xffffffffu : 0xffffu;

    for (;;) {
        uint32_t lin = cs->base + eip;
        struct x86_insn *r = &recs[n];
        if (eip > cs->limit) {
            rec_fault(r, eip, X86_GP, 0);
            n++;
            break;
        }
        uint8_t buf[16];
        uint32_t in_page = page_end - lin;
        unsigned avail = in_page < 15 ? in_page : 15;
        if (host0) {
            memcpy(buf, host0 + (lin - lin0), avail);
            if (ex->overlay_fn)     /* raw mode: decode the original bytes under int3 patches */
                ex->overlay_fn(ex->hooks_opaque, pa0 + (lin - lin0), buf, avail);
        } else
            lin_read(cpu, lin, buf, avail, cpu->cpl == 3);
        struct x86_dec d;
        ZyanStatus st = ZydisDecoderDecodeInstruction(dec, NULL, buf, avail, &d.zi);
        if (st == ZYDIS_STATUS_NO_MORE_DATA && avail < 15) {
            if (n > 0)
                break;                  /* the page-crossing instruction gets its own block */
            uint32_t p2;
            const uint8_t *h2 = tlb_fetch(cpu, lin + avail, &p2);   /* may #PF on the next page */
            if (h2 && (p2 >> 12) < ex->npages && !nocache) {
                memcpy(buf + avail, h2, 15 - avail);
                if (ex->overlay_fn)
                    ex->overlay_fn(ex->hooks_opaque, p2, buf + avail, 15 - avail);
                pa2 = p2;       /* cached, and registered on both pages */
            } else {
                lin_read(cpu, lin + avail, buf + avail, 15 - avail, cpu->cpl == 3);
                nocache = true;
            }
            tail = avail;
            avail = 15;
            st = ZydisDecoderDecodeInstruction(dec, NULL, buf, avail, &d.zi);
            if (ZYAN_SUCCESS(st))
                tail = d.zi.length - tail;
            else
                pa2 = NO_PA2, nocache = true;
        }
        memset(r, 0, sizeof(*r));
        r->eip = eip;
        if (!ZYAN_SUCCESS(st)) {
            /* Longer than 15 bytes: #GP(0); anything else undefined: #UD (SDM Vol. 2A §2.3.11). */
            if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG || st == ZYDIS_STATUS_NO_MORE_DATA)
                rec_fault(r, eip, X86_GP, 0);
            else
                rec_fault(r, eip, X86_UD, X86_NO_ERR);
            n++;
            break;
        }
        r->len = d.zi.length;
        if ((uint64_t)eip + r->len - 1 > cs->limit) {
            rec_fault(r, eip, X86_GP, 0);
            n++;
            break;
        }
        if (!decode_insn(cpu, &d, r)) {
            rec_fault(r, eip, X86_UD, X86_NO_ERR);
            n++;
            break;
        }
        r->eip = eip;
        r->len = d.zi.length;
        n++;
        uint32_t next = (eip + r->len) & eip_mask;
        bool wrapped = next != eip + r->len;    /* 16-bit IP wrapped to 0: a new block */
        eip = next;
        if (d.end || n >= BLOCK_MAX_INSNS || nocache || wrapped || pa2 != NO_PA2 || (page_end - lin) <= r->len)
            break;
    }
    /* Terminator: falls through to the next block. */
    memset(&recs[n], 0, sizeof(recs[n]));
    recs[n].fn = h_block_end;
    recs[n].eip = eip;
    for (unsigned k = 0; k < n; k++)
        recs[k].nret = (uint16_t)(k + 1);
    recs[n].nret = (uint16_t)n;

    struct x86_block *b = malloc(sizeof(*b) + (n + 1) * sizeof(struct x86_insn));
    if (!b) {
        vm_request_stop(cpu->vm, VM_STOP_ERROR, 0, "emu: out of memory for decoded blocks");
        return NULL;
    }
    memcpy(b->insns, recs, (n + 1) * sizeof(struct x86_insn));
    b->pa = pa0;
    uint32_t bytes = 0;
    for (unsigned k = 0; k < n; k++)
        bytes += recs[k].len;
    b->pa_end = pa0 + (bytes ? bytes : 1);
    if (pa2 != NO_PA2) {
        b->pa_end = (pa0 | 0xfffu) + 1;
        b->pa2 = pa2;
        b->pa2_end = pa2 + tail;
    } else {
        b->pa2 = b->pa2_end = NO_PA2;
    }
    b->cs_base = cs->base;
    b->eip = cpu->s.eip;
    b->mode = mode;
    b->n = (uint16_t)n;
    b->valid = 1;
    b->nocache = nocache;
    b->hnext = b->pnext = b->pnext2 = NULL;
    b->succ[0] = b->succ[1] = NULL;
    b->succ_eip[0] = b->succ_eip[1] = 0;
    b->chain_gen = 0;
    cpu->stats.decode_blocks++;
    if (!nocache) {
        uint32_t pfn = pa0 >> 12;
        if (!ex->page_blocks[pfn])
            tlb_drop_writes_to(ex, pa0 & 0xfffff000u);   /* writes to this page now go slow */
        b->pnext = ex->page_blocks[pfn];
        ex->page_blocks[pfn] = b;
        if (pa2 != NO_PA2) {
            uint32_t pfn2 = pa2 >> 12;
            if (!ex->page_blocks[pfn2])
                tlb_drop_writes_to(ex, pa2 & 0xfffff000u);
            b->pnext2 = ex->page_blocks[pfn2];
            ex->page_blocks[pfn2] = b;
        }
        unsigned h = block_hash(pa0);
        b->hnext = ex->hash[h];
        ex->hash[h] = b;
        ex->blocks_live++;
    } else {
        b->pnext = ex->zombies;     /* used once, freed at the next block boundary */
        ex->zombies = b;
    }
    return b;
}

struct x86_block *block_get(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    uint32_t cs_base = cpu->s.seg[S_CS].base, eip = cpu->s.eip;
    uint32_t lin = cs_base + eip;
    cpu->insn_eip = eip;       /* a fetch fault restarts here */
    if (eip > cpu->s.seg[S_CS].limit)
        x86_raise(cpu, X86_GP, 0);
    uint32_t pa;
    const uint8_t *h;
    const struct tlb_entry *e = &ex->tlb[(lin >> 12) & TLB_MASK];
    if (likely(e->tag_x == (lin & 0xfffff000u))) {
        h = (const uint8_t *)(e->addend + lin);
        pa = e->pa | (lin & 0xfff);
    } else {
        h = tlb_fetch(cpu, lin, &pa);
    }
    uint32_t mode = exec_mode_key(cpu);
    if (h && (pa >> 12) < ex->npages && ex->force_nocache) {
        return block_decode(cpu, pa, h, mode);      /* one-shot (x86_emu_step_fresh) */
    } else if (h && (pa >> 12) < ex->npages) {
        struct x86_block **pp = &ex->hash[block_hash(pa)];
        for (struct x86_block *b = *pp; b; pp = &b->hnext, b = b->hnext) {
            if (b->pa == pa && b->eip == eip && b->cs_base == cs_base && b->mode == mode) {
                if (b->pa2 != NO_PA2) {
                    /* The second page's mapping may have changed since decoding. */
                    uint32_t p2;
                    tlb_fetch(cpu, (lin | 0xfffu) + 1, &p2);
                    if ((p2 & 0xfffff000u) != (b->pa2 & 0xfffff000u))
                        continue;
                }
                if (pp != &ex->hash[block_hash(pa)]) {   /* move to front */
                    *pp = b->hnext;
                    b->hnext = ex->hash[block_hash(pa)];
                    ex->hash[block_hash(pa)] = b;
                }
                return b;
            }
        }
    } else {
        h = NULL;
    }
    return block_decode(cpu, pa, h, mode);
}
