/* CSAM linear sweep: decodes the gaps that recursive descent left in a scanned frame, to catch
 * code reached only indirectly (function-pointer targets, jump-table cases, exception fixups).
 *
 * The technique: after descent, every byte of the frame is either covered by an instruction that
 * control flow really reaches, or lies in a gap. A gap is decoded straight through from its first
 * byte. x86 decoding is self-synchronizing in practice but not in principle, so the sweep's guess
 * is trusted only when it is *consistent*: it decodes without error and ends exactly where known
 * code begins (or at the page end). Then its instructions are recorded and their sensitive ones
 * patched like any other (from_sweep = true). Otherwise the frame is handed to emu
 * (csam_frame_mark_unsafe): an indirect jump into an unscanned decoding must never run natively;
 * or, with csam_config.gaps_unknown, only the gap stays unknown (data such as a Multiboot header
 * at the start of .text would otherwise send the whole page's code to emu).
 * The trade-off (docs/csam.md): a consistent sweep over data (a constant table in .text) can
 * still patch a data byte that looks like pushf; VirtualBox's CSAM accepts the same risk, and
 * PATM (phase 3) checks indirect branch targets instead of guessing. */
#include <ringfold/memory.h>
#include "csam_priv.h"

void csam_frame_unsweep(struct csam *c, struct csam_frame *f)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < f->nsites; i++) {
        struct csam_site *s = &f->sites[i];
        if (!s->from_sweep) {
            f->sites[kept++] = *s;
            continue;
        }
        if (s->patched) {
            uint8_t *p = guest_mem_ptr(c->mem, s->pa);
            if (p && *p == 0xcc) {
                *p = s->bytes[0];
                csam_note_write(c, s->pa);
            }
            f->npatched--;
            c->st.patches_removed++;
        }
        c->st.sites[s->kind]--;        /* it was a wrong guess, not a find */
    }
    f->nsites = kept;
    for (unsigned i = 0; i < CSAM_PAGE / 8; i++) {
        f->start[i] &= (uint8_t)~f->guess[i];
        f->cover[i] &= (uint8_t)~f->guess[i];
        f->guess[i] = 0;
    }
    if (f->spill_guess)
        csam_frame_clear_spill(c, f);
    c->st.unsweeps++;
}

void csam_promote_guess(struct csam *c, struct csam_frame *f, unsigned off, unsigned len)
{
    unsigned end = off + len > CSAM_PAGE ? CSAM_PAGE : off + len;
    for (unsigned i = off; i < end; i++)
        f->guess[i >> 3] &= (uint8_t)~(1u << (i & 7));
    if (off + len > CSAM_PAGE)
        f->spill_guess = false;
    for (unsigned i = 0; i < f->nsites; i++)
        if (f->sites[i].pa == f->pa + off)
            f->sites[i].from_sweep = false;
    c->st.guesses_confirmed++;
}

void csam_withdraw_guesses(struct csam *c, struct csam_frame *f, unsigned off, unsigned len,
                           uint64_t pa2)
{
    unsigned end = off + len > CSAM_PAGE ? CSAM_PAGE : off + len;
    for (unsigned i = off; i < end; i++)
        if (csam_bit(f->guess, i)) {
            csam_frame_unsweep(c, f);
            csam_queue_sweep(c, f);
            break;
        }
    if (pa2 == CSAM_NO_FRAME || off + len <= CSAM_PAGE)
        return;
    struct csam_frame *b = csam_frame_find(c, pa2);
    if (b && b != f)
        for (unsigned i = 0; i < off + len - CSAM_PAGE; i++)
            if (csam_bit(b->guess, i)) {
                /* Its sweep started inside our tail, not knowing it was there. */
                csam_frame_unsweep(c, b);
                if (b->scanned && !b->unsafe)
                    csam_queue_sweep(c, b);
                break;
            }
}

void csam_withdraw_spilled_guess(struct csam *c, struct csam_frame *f)
{
    struct csam_frame *w = csam_frame_spilling_into(c, f->pa);
    if (!w || !w->spill_guess)
        return;
    csam_frame_unsweep(c, w);          /* also clears the tail it had put on f */
    if (w->scanned && !w->unsafe)
        csam_queue_sweep(c, w);
}

/* First covered offset at or after off, or the page size. */
static unsigned gap_end_from(const struct csam_frame *f, unsigned off)
{
    while (off < CSAM_PAGE && !csam_bit(f->cover, off))
        off++;
    return off;
}

/* Decodes [start, end) without recording; returns where the decoding stopped (end, or past the
 * page end for a final instruction crossing it, or the start of an instruction whose next page
 * is not present), or -1 when the gap does not decode consistently. */
static int gap_check(struct csam *c, const struct csam_guest *g, struct csam_frame *f,
                     uint32_t lin, unsigned start, unsigned end)
{
    unsigned p = start;
    while (p < end) {
        ZydisDecodedInstruction z;
        uint8_t bytes[15];
        uint64_t pa2;
        enum csam_fetch r = csam_decode_in(c, g, f->pa, lin, p, &z, bytes, &pa2);
        if (r == CSAM_FETCH_UNMAPPED)
            return (int)p;             /* crosses into a page not present: left for later */
        if (r == CSAM_FETCH_INVALID || (p + z.length > end && end < CSAM_PAGE))
            return -1;
        if (!csam_insn_fits(c, f, p, z.length, pa2))
            return -1;                 /* the spilled tail would overlap the next frame's code */
        /* 00 00 (add [eax], al) is what zero-filled data decodes to and compilers do not emit:
         * the gap is data (a stack or buffer sharing the frame), and an int3 "patch" of a byte
         * there would corrupt it (a return address on the stack, seen in sys_realmode). */
        if (c->cfg.gaps_unknown && bytes[0] == 0 && z.length >= 2 && bytes[1] == 0)
            return -1;
        p += z.length;
    }
    return (int)p;
}

/* Records the instructions of a gap gap_check accepted. */
static int gap_commit(struct csam *c, const struct csam_guest *g, struct csam_frame *f,
                      uint32_t lin, unsigned start, unsigned stop)
{
    int added = 0;
    for (unsigned p = start; p < stop;) {
        ZydisDecodedInstruction z;
        uint8_t bytes[15];
        uint64_t pa2;
        if (csam_decode_in(c, g, f->pa, lin, p, &z, bytes, &pa2) != CSAM_FETCH_OK)
            break;                     /* cannot differ from gap_check: same bytes, same calls */
        enum csam_flow flow;
        uint32_t target;
        int kind = csam_classify(&z, f->linear + p, c->cfg.cpuid_sensitive, &flow, &target);
        if (pa2 != CSAM_NO_FRAME)
            csam_withdraw_guesses(c, f, p, z.length, pa2);
        if (!csam_mark_insn(c, f, p, z.length, pa2, true))
            break;
        c->st.insns_swept++;
        if (kind >= 0) {
            if (!csam_record_site(c, f, p, kind, z.length, bytes, true))
                break;
            added++;
        }
        p += z.length;
    }
    return added;
}

int csam_sweep_frame(struct csam *c, const struct csam_guest *g, struct csam_frame *f)
{
    int added = 0;
    unsigned off = 0;
    /* The guest may have remapped the linear page since (another address space): then the
     * next page is unknown, and an instruction crossing the end is left for later. */
    int64_t now = g->frame(g->opaque, f->linear);
    uint32_t lin = now >= 0 && ((uint64_t)now & ~(uint64_t)(CSAM_PAGE - 1)) == f->pa
                   ? f->linear : CSAM_NO_LINEAR;
    while (off < CSAM_PAGE) {
        if (csam_bit(f->cover, off)) {
            off++;
            continue;
        }
        unsigned end = gap_end_from(f, off);
        int stop = gap_check(c, g, f, lin, off, end);
        unsigned from = off;
        /* A frame whose previous linear page was never scanned may begin with the tail of an
         * instruction from there: try starting 1..14 bytes in. The skipped head stays unknown
         * (csam_verdict_at says UNSCANNED there) until that page is scanned and covers it. */
        for (unsigned k = 1; stop < 0 && off == 0 && f->head_cover == 0 && k < 15 && k < end; k++) {
            stop = gap_check(c, g, f, lin, k, end);
            from = k;
        }
        if (stop < 0) {
            c->st.sweep_inconsistent++;
            if (c->cfg.gaps_unknown) {
                /* Left undecoded: csam_verdict_at says UNSCANNED there, so the raw engine never
                 * enters it; only an indirect branch of native code could (docs/csam.md). */
                c->st.gaps_unknown++;
                off = end;
                continue;
            }
            csam_frame_mark_unsafe(c, f);
            return added;
        }
        c->st.sweep_consistent++;
        added += gap_commit(c, g, f, lin, from, (unsigned)stop);
        /* stop < end: an instruction waiting for its next page; the bytes stay uncovered and
         * are decoded by csam_scan if execution gets there. */
        off = end > (unsigned)stop ? end : (unsigned)stop;
    }
    return added;
}
