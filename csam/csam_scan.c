/* CSAM recursive descent: decodes guest code from an entry point along every direct control-flow
 * edge it can follow, recording sensitive instructions, then has the gaps of each frame swept.
 *
 * The technique (VirtualBox's CSAM does the same for its raw mode): start where the guest is about
 * to execute, decode instruction after instruction, follow direct jumps, take both ways of a
 * conditional jump, and for a direct call scan both the callee and the return point. Indirect
 * jumps, indirect calls (their targets) and returns end a path: their targets are only known at
 * run time, so they are scanned when execution reaches them (the engine keeps unscanned frames
 * out of native execution and calls csam_scan on the fault). Every instruction sets "start" and
 * "cover" bits in its frame (csam_mark_insn): a later path that lands inside a known instruction
 * is overlapping code, and the frame is handed to emu (csam_frame_mark_unsafe). Work per call is
 * bounded by an instruction budget; what is left is scanned on demand later.
 * Steps: csam_scan (worklist), csam_decode_in (fetch + Zydis), csam_classify (kind and flow),
 * csam_mark_insn / csam_record_site (bookkeeping), csam_sweep_frame (csam_sweep.c). */
#include <stdlib.h>
#include <string.h>
#include "csam_priv.h"

enum csam_fetch csam_decode_in(struct csam *c, const struct csam_guest *g, uint64_t pa_frame,
                               uint32_t linear_page, unsigned off, ZydisDecodedInstruction *z,
                               uint8_t bytes[15], uint64_t *pa2)
{
    uint8_t buf[15];
    unsigned avail = CSAM_PAGE - off < 15 ? CSAM_PAGE - off : 15;
    *pa2 = CSAM_NO_FRAME;
    if (!csam_read_orig(c, pa_frame, off, buf, avail))
        return CSAM_FETCH_UNMAPPED;
    ZyanStatus st = ZydisDecoderDecodeInstruction(&c->dec, NULL, buf, avail, z);
    if (st == ZYDIS_STATUS_NO_MORE_DATA && avail < 15) {
        /* Crosses into the next linear page, wherever that is mapped. */
        if (linear_page == CSAM_NO_LINEAR)
            return CSAM_FETCH_UNMAPPED;
        int64_t next = g->frame(g->opaque, linear_page + CSAM_PAGE);
        next = next < 0 ? next : (int64_t)((uint64_t)next & ~(uint64_t)(CSAM_PAGE - 1));
        if (next < 0 || !csam_read_orig(c, (uint64_t)next, 0, buf + avail, 15 - avail))
            return CSAM_FETCH_UNMAPPED;
        st = ZydisDecoderDecodeInstruction(&c->dec, NULL, buf, 15, z);
        if (ZYAN_SUCCESS(st) && off + z->length > CSAM_PAGE)
            *pa2 = (uint64_t)next;
    }
    if (!ZYAN_SUCCESS(st))
        return CSAM_FETCH_INVALID;     /* #UD or longer than 15 bytes (#GP) natively */
    memcpy(bytes, buf, z->length);
    return CSAM_FETCH_OK;
}

bool csam_insn_fits(const struct csam *c, const struct csam_frame *f, unsigned off, unsigned len,
                    uint64_t pa2)
{
    unsigned end = off + len > CSAM_PAGE ? CSAM_PAGE : off + len;
    for (unsigned i = off; i < end; i++)
        if (csam_bit(f->cover, i))
            return false;
    if (pa2 != CSAM_NO_FRAME) {
        const struct csam_frame *b = csam_frame_find(c, pa2);
        if (b && b->pa != f->pa)
            for (unsigned i = 0; i < off + len - CSAM_PAGE; i++)
                if (csam_bit(b->cover, i) && !csam_bit(b->guess, i))
                    return false;
    }
    return true;
}

bool csam_mark_insn(struct csam *c, struct csam_frame *f, unsigned off, unsigned len, uint64_t pa2,
                    bool guess)
{
    unsigned end = off + len > CSAM_PAGE ? CSAM_PAGE : off + len;
    csam_bit_set(f->start, off);
    for (unsigned i = off; i < end; i++) {
        csam_bit_set(f->cover, i);
        if (guess)
            csam_bit_set(f->guess, i);
    }
    if (pa2 == CSAM_NO_FRAME || off + len <= CSAM_PAGE)
        return true;
    unsigned spill = off + len - CSAM_PAGE;
    f->spill_to = pa2;
    f->spill_len = (uint8_t)spill;
    f->spill_guess = guess;
    /* The next frame must be monitored too: a write to the tail changes this instruction. */
    struct csam_frame *b = csam_frame_get(c, pa2, f->linear + CSAM_PAGE);
    if (!b)
        return false;
    if (b == f)
        return true;           /* the next linear page maps the same frame: nothing to record */
    for (unsigned i = 0; i < spill; i++)
        csam_bit_set(b->cover, i);
    b->head_cover = (uint8_t)spill;
    return true;
}

void csam_frame_clear_spill(struct csam *c, struct csam_frame *f)
{
    if (f->spill_to == CSAM_NO_FRAME)
        return;
    struct csam_frame *b = f->spill_to != f->pa ? csam_frame_find(c, f->spill_to) : NULL;
    if (b) {
        for (unsigned i = 0; i < b->head_cover; i++)
            if (!csam_bit(b->start, i))
                b->cover[i >> 3] &= (uint8_t)~(1u << (i & 7));
        b->head_cover = 0;
    }
    f->spill_to = CSAM_NO_FRAME;
    f->spill_len = 0;
    f->spill_guess = false;
}

bool csam_record_site(struct csam *c, struct csam_frame *f, unsigned off, int kind,
                      unsigned len, const uint8_t *bytes, bool from_sweep)
{
    struct csam_site s = {
        .linear = f->linear + off, .pa = f->pa + off, .len = (uint8_t)len,
        .kind = (uint8_t)kind, .from_sweep = from_sweep,
    };
    memcpy(s.bytes, bytes, len);
    return csam_site_add(c, f, &s);
}

struct worklist {
    uint32_t *v;
    unsigned n, cap;
};

static bool work_push(struct worklist *w, uint32_t x)
{
    if (w->n == w->cap) {
        unsigned cap = w->cap ? w->cap * 2 : 64;
        uint32_t *n = realloc(w->v, cap * sizeof(*n));
        if (!n)
            return false;
        w->v = n;
        w->cap = cap;
    }
    w->v[w->n++] = x;
    return true;
}

bool csam_queue_sweep(struct csam *c, struct csam_frame *f)
{
    if (f->queued)
        return true;
    if (c->nsweepq == c->sweepq_cap) {
        unsigned cap = c->sweepq_cap ? c->sweepq_cap * 2 : 16;
        struct csam_frame **n = realloc(c->sweepq, cap * sizeof(*n));
        if (!n)
            return false;
        c->sweepq = n;
        c->sweepq_cap = cap;
    }
    c->sweepq[c->nsweepq++] = f;
    f->queued = true;
    return true;
}

static bool is_legacy_prefix(uint8_t b)
{
    return b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e ||
           b == 0x26 || b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67;
}

/* A jump over a prefix ("cmpl $0, %gs:0xc; je 1f; lock; 1: cmpxchg", common in glibc) lands
 * inside a known instruction but decodes to the same instruction minus prefixes, ending at the
 * same byte: no new decoding to scan. Accepted (as a start) only when neither form is sensitive,
 * since entering past the first byte would bypass an int3 patch there. */
static bool prefix_skip(struct csam *c, const struct csam_guest *g, struct csam_frame *f,
                        unsigned off)
{
    unsigned s = off;
    while (s > 0 && off - s < 14 && !csam_bit(f->start, s - 1))
        s--;
    if (s == 0 || !csam_bit(f->start, s - 1))
        return false;
    s--;
    ZydisDecodedInstruction zs, zo;
    uint8_t bs[15], bo[15];
    uint64_t p2s, p2o;
    if (csam_decode_in(c, g, f->pa, f->linear, s, &zs, bs, &p2s) != CSAM_FETCH_OK ||
        csam_decode_in(c, g, f->pa, f->linear, off, &zo, bo, &p2o) != CSAM_FETCH_OK ||
        s + zs.length != off + zo.length)
        return false;
    for (unsigned i = 0; i < off - s; i++)
        if (!is_legacy_prefix(bs[i]))
            return false;
    enum csam_flow flow;
    uint32_t target;
    if (csam_classify(&zs, f->linear + s, c->cfg.cpuid_sensitive, &flow, &target) >= 0 ||
        csam_classify(&zo, f->linear + off, c->cfg.cpuid_sensitive, &flow, &target) >= 0)
        return false;
    csam_bit_set(f->start, off);
    return true;
}

/* Follows one path from lin until it ends; pushes the other edges on w. Returns false when the
 * budget ran out or memory did. */
static bool scan_path(struct csam *c, const struct csam_guest *g, uint32_t lin,
                      struct worklist *w, unsigned *budget)
{
    for (;;) {
        int64_t pa = g->frame(g->opaque, lin & ~(CSAM_PAGE - 1));
        if (pa < 0) {
            c->st.path_unmapped++;         /* it will fault natively; scanned when mapped */
            return true;
        }
        pa &= ~(int64_t)(CSAM_PAGE - 1);
        unsigned off = lin & (CSAM_PAGE - 1);
        uint32_t page = lin & ~(CSAM_PAGE - 1);
        struct csam_frame *f = csam_frame_find(c, (uint64_t)pa);
        if (f)
            f->linear = page;              /* where it is mapped now: the sweep's next page */
        if (f && f->unsafe)
            return true;                   /* emu runs it: no point decoding further */
        /* A start the sweep guessed is confirmed by control flow: promote it and go on. */
        bool promote = f && csam_bit(f->start, off) && csam_bit(f->guess, off);
        if (f && csam_bit(f->start, off) && !promote)
            return true;                   /* known from here on */
        if (f && !promote && csam_bit(f->guess, off))
            csam_frame_unsweep(c, f);      /* the sweep guessed wrong here: real code wins */
        if (f && !promote && off < f->head_cover && !csam_bit(f->start, off))
            csam_withdraw_spilled_guess(c, f);   /* the previous page's sweep guessed that tail */
        if (f && !promote && csam_bit(f->cover, off) && prefix_skip(c, g, f, off)) {
            c->st.prefix_skips++;
            return true;
        }
        if (f && !promote && csam_bit(f->cover, off)) {
            c->st.overlaps++;              /* a jump into the middle of a known instruction */
            csam_frame_mark_unsafe(c, f);
            return true;
        }
        if (*budget == 0) {
            c->st.budget_exhausted++;
            return false;
        }
        ZydisDecodedInstruction z;
        uint8_t bytes[15];
        uint64_t pa2;
        enum csam_flow flow;
        uint32_t target;
        enum csam_fetch r = csam_decode_in(c, g, (uint64_t)pa, page, off, &z, bytes, &pa2);
        if (r == CSAM_FETCH_UNMAPPED) {
            c->st.path_unmapped++;         /* not RAM, or the next page is not present */
            return true;
        }
        if (!f && !(f = csam_frame_get(c, (uint64_t)pa, page)))
            return false;
        if (r == CSAM_FETCH_INVALID) {
            /* Bytes Zydis rejects may still be something the CPU runs: hand the page to emu. */
            c->st.path_undecodable++;
            csam_frame_mark_unsafe(c, f);
            return true;
        }
        if (promote) {
            csam_promote_guess(c, f, off, z.length);
            csam_classify(&z, lin, c->cfg.cpuid_sensitive, &flow, &target);
            (*budget)--;
            c->st.insns_decoded++;
            goto follow;
        }
        csam_withdraw_guesses(c, f, off, z.length, pa2);
        if (!csam_insn_fits(c, f, off, z.length, pa2)) {
            c->st.overlaps++;
            csam_frame_mark_unsafe(c, f);
            return true;
        }
        (*budget)--;
        c->st.insns_decoded++;
        if (!f->scanned) {
            f->scanned = true;
            c->st.pages_scanned++;
        }
        int kind = csam_classify(&z, lin, c->cfg.cpuid_sensitive, &flow, &target);
        if (!csam_mark_insn(c, f, off, z.length, pa2, false) || !csam_queue_sweep(c, f))
            return false;
        if (kind >= 0 && !csam_record_site(c, f, off, kind, z.length, bytes, false))
            return false;
    follow:;
        uint32_t next = lin + z.length;
        switch (flow) {
        case CSAM_FLOW_NEXT:
            lin = next;
            break;
        case CSAM_FLOW_JMP:
            lin = target;
            break;
        case CSAM_FLOW_JCC:
        case CSAM_FLOW_CALL:
            if (!work_push(w, target))
                return false;
            lin = next;
            break;
        case CSAM_FLOW_IND_CALL:
            c->st.ind_call++;
            lin = next;
            break;
        case CSAM_FLOW_IND_JMP:
            c->st.ind_jmp++;
            return true;
        case CSAM_FLOW_RET:
            c->st.ret++;
            return true;
        case CSAM_FLOW_END:
            return true;
        }
    }
}

int csam_scan(struct csam *c, const struct csam_guest *g, uint32_t entry)
{
    uint64_t before = c->sites_added;
    struct worklist w = { 0 };
    unsigned budget = c->cfg.insn_budget;
    bool ok = work_push(&w, entry);
    while (ok && w.n > 0)
        ok = scan_path(c, g, w.v[--w.n], &w, &budget);
    /* Sweep what this call touched, even when the budget ran out: the gaps are what native
     * execution could still reach through an indirect branch. A sweep may queue a neighbour
     * whose guesses it withdrew, so the queue can grow while it is walked. */
    for (unsigned i = 0; i < c->nsweepq; i++) {
        struct csam_frame *f = c->sweepq[i];
        f->queued = false;
        if (!f->unsafe)
            csam_sweep_frame(c, g, f);
    }
    c->nsweepq = 0;
    free(w.v);
    return (int)(c->sites_added - before);
}
