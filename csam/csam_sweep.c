/* CSAM linear sweep: decodes the gaps that recursive descent left in a scanned frame, to catch
 * code reached only indirectly (function-pointer targets, jump-table cases, exception fixups).
 *
 * The technique: after descent, every byte of the frame is either covered by an instruction that
 * control flow really reaches, or lies in a gap. A gap is decoded straight through from its first
 * byte. x86 decoding is self-synchronizing in practice but not in principle, so the sweep's guess
 * is trusted only when it is *consistent*: it decodes without error and ends exactly where known
 * code begins (or at the page end). Then its instructions are recorded and their sensitive ones
 * patched like any other (from_sweep = true). Otherwise the frame is handed to emu
 * (csam_frame_mark_unsafe): an indirect jump into an unscanned decoding must never run natively.
 * The trade-off (docs/csam.md): a consistent sweep over data (a constant table in .text) can
 * still patch a data byte that looks like pushf; VirtualBox's CSAM accepts the same risk, and
 * PATM (phase 3) checks indirect branch targets instead of guessing. */
#include "csam_priv.h"

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
                     unsigned start, unsigned end)
{
    unsigned p = start;
    while (p < end) {
        ZydisDecodedInstruction z;
        uint8_t bytes[15];
        uint64_t pa2;
        enum csam_fetch r = csam_decode_in(c, g, f->pa, f->linear, p, &z, bytes, &pa2);
        if (r == CSAM_FETCH_UNMAPPED)
            return (int)p;             /* crosses into a page not present: left for later */
        if (r == CSAM_FETCH_INVALID || (p + z.length > end && end < CSAM_PAGE))
            return -1;
        if (!csam_insn_fits(c, f, p, z.length, pa2))
            return -1;                 /* the spilled tail would overlap the next frame's code */
        p += z.length;
    }
    return (int)p;
}

/* Records the instructions of a gap gap_check accepted. */
static int gap_commit(struct csam *c, const struct csam_guest *g, struct csam_frame *f,
                      unsigned start, unsigned stop)
{
    int added = 0;
    for (unsigned p = start; p < stop;) {
        ZydisDecodedInstruction z;
        uint8_t bytes[15];
        uint64_t pa2;
        if (csam_decode_in(c, g, f->pa, f->linear, p, &z, bytes, &pa2) != CSAM_FETCH_OK)
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
    while (off < CSAM_PAGE) {
        if (csam_bit(f->cover, off)) {
            off++;
            continue;
        }
        unsigned end = gap_end_from(f, off);
        int stop = gap_check(c, g, f, off, end);
        unsigned from = off;
        /* A frame whose previous linear page was never scanned may begin with the tail of an
         * instruction from there: try starting 1..14 bytes in. The skipped head stays unknown
         * (csam_verdict_at says UNSCANNED there) until that page is scanned and covers it. */
        for (unsigned k = 1; stop < 0 && off == 0 && f->head_cover == 0 && k < 15 && k < end; k++) {
            stop = gap_check(c, g, f, k, end);
            from = k;
        }
        if (stop < 0) {
            c->st.sweep_inconsistent++;
            csam_frame_mark_unsafe(c, f);
            return added;
        }
        c->st.sweep_consistent++;
        added += gap_commit(c, g, f, from, (unsigned)stop);
        /* stop < end: an instruction waiting for its next page; the bytes stay uncovered and
         * are decoded by csam_scan if execution gets there. */
        off = end > (unsigned)stop ? end : (unsigned)stop;
    }
    return added;
}
