/* CSAM bookkeeping: the table of frames CSAM knows about (keyed by guest-physical frame), their
 * sites, and the queries the raw engine makes on its trap and entry paths.
 *
 * Everything is keyed by guest-PHYSICAL frame, not linear page: Linux rewrites its own text through
 * a temporary alias mapping (text_poke), and the same frame may be executed at several linear
 * addresses, so "was this code scanned" and "who wrote to it" are questions about frames. A frame
 * record exists while CSAM wants the frame write-monitored; creating and forgetting a record is
 * what calls the monitor hook (csam_frame_get, csam_frame_forget). */
#include <stdlib.h>
#include <string.h>
#include "csam_priv.h"

static unsigned frame_hash(uint64_t pa)
{
    return (unsigned)(((pa >> 12) * 0x9e3779b97f4a7c15ull) >> (64 - CSAM_HASH_BITS));
}

struct csam *csam_create(struct guest_mem *m, const struct csam_config *cfg)
{
    struct csam *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->mem = m;
    if (cfg)
        c->cfg = *cfg;
    if (!c->cfg.insn_budget)
        c->cfg.insn_budget = CSAM_DEFAULT_BUDGET;
    /* Phase 2 runs only 32-bit kernel code natively: 16-bit code stays on emu. */
    ZydisDecoderInit(&c->dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    return c;
}

void csam_destroy(struct csam *c)
{
    if (!c)
        return;
    for (unsigned h = 0; h < (1u << CSAM_HASH_BITS); h++) {
        struct csam_frame *f = c->hash[h];
        while (f) {
            struct csam_frame *n = f->next;
            free(f->sites);
            free(f);
            f = n;
        }
    }
    free(c->sweepq);
    free(c);
}

struct csam_frame *csam_frame_find(const struct csam *c, uint64_t pa_frame)
{
    for (struct csam_frame *f = c->hash[frame_hash(pa_frame)]; f; f = f->next)
        if (f->pa == pa_frame)
            return f;
    return NULL;
}

/* A linear scan: frames are created far less often than they are looked up. */
struct csam_frame *csam_frame_spilling_into(const struct csam *c, uint64_t pa_frame)
{
    for (unsigned h = 0; h < (1u << CSAM_HASH_BITS); h++)
        for (struct csam_frame *f = c->hash[h]; f; f = f->next)
            if (f->spill_to == pa_frame && f->pa != pa_frame)
                return f;
    return NULL;
}

struct csam_frame *csam_frame_get(struct csam *c, uint64_t pa_frame, uint32_t linear_page)
{
    struct csam_frame *f = csam_frame_find(c, pa_frame);
    if (f)
        return f;
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->pa = pa_frame;
    f->linear = linear_page;
    f->spill_to = CSAM_NO_FRAME;
    /* The tail of a known instruction from the previous page is not a place to start decoding. */
    struct csam_frame *w = csam_frame_spilling_into(c, pa_frame);
    if (w) {
        f->head_cover = w->spill_len;
        for (unsigned i = 0; i < w->spill_len; i++)
            csam_bit_set(f->cover, i);
    }
    unsigned h = frame_hash(pa_frame);
    f->next = c->hash[h];
    c->hash[h] = f;
    c->nframes++;
    if (c->cfg.monitor)
        c->cfg.monitor(c->cfg.monitor_opaque, pa_frame, true);
    return f;
}

static void frame_unlink_free(struct csam *c, struct csam_frame *f)
{
    struct csam_frame **pp = &c->hash[frame_hash(f->pa)];
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    c->nframes--;
    uint64_t pa = f->pa;
    free(f->sites);
    free(f);
    if (c->cfg.monitor)
        c->cfg.monitor(c->cfg.monitor_opaque, pa, false);
}

void csam_frame_forget(struct csam *c, struct csam_frame *f)
{
    uint64_t spill = f->spill_to;
    frame_unlink_free(c, f);
    /* A record kept only for our spilled tail has no reason to stay monitored now. */
    if (spill != CSAM_NO_FRAME) {
        struct csam_frame *b = csam_frame_find(c, spill);
        if (b && !b->scanned && b->nsites == 0 && !csam_frame_spilling_into(c, spill))
            frame_unlink_free(c, b);
    }
}

bool csam_site_add(struct csam *c, struct csam_frame *f, const struct csam_site *s)
{
    if (f->nsites == f->cap) {
        unsigned cap = f->cap ? f->cap * 2 : 8;
        struct csam_site *n = realloc(f->sites, cap * sizeof(*n));
        if (!n)
            return false;
        f->sites = n;
        f->cap = cap;
    }
    unsigned i = f->nsites;
    while (i > 0 && f->sites[i - 1].pa > s->pa) {
        f->sites[i] = f->sites[i - 1];
        i--;
    }
    f->sites[i] = *s;
    f->nsites++;
    c->st.sites[s->kind]++;
    c->sites_added++;
    return true;
}

const struct csam_site *csam_site_at(const struct csam *c, uint64_t pa)
{
    const struct csam_frame *f = csam_frame_find(c, pa & ~(uint64_t)(CSAM_PAGE - 1));
    if (!f)
        return NULL;
    unsigned lo = 0, hi = f->nsites;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (f->sites[mid].pa < pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->nsites && f->sites[lo].pa == pa ? &f->sites[lo] : NULL;
}

bool csam_frame_scanned(const struct csam *c, uint64_t pa_frame)
{
    const struct csam_frame *f = csam_frame_find(c, pa_frame & ~(uint64_t)(CSAM_PAGE - 1));
    return f && f->scanned;
}

bool csam_frame_unsafe(const struct csam *c, uint64_t pa_frame)
{
    const struct csam_frame *f = csam_frame_find(c, pa_frame & ~(uint64_t)(CSAM_PAGE - 1));
    return f && f->unsafe;
}

bool csam_frame_monitored(const struct csam *c, uint64_t pa_frame)
{
    return csam_frame_find(c, pa_frame & ~(uint64_t)(CSAM_PAGE - 1)) != NULL;
}

enum csam_verdict csam_verdict_at(const struct csam *c, uint64_t pa)
{
    const struct csam_frame *f = csam_frame_find(c, pa & ~(uint64_t)(CSAM_PAGE - 1));
    unsigned off = (unsigned)(pa & (CSAM_PAGE - 1));
    if (f && f->unsafe)
        return CSAM_EMULATE;
    if (!f || !f->scanned)
        return CSAM_UNSCANNED;
    if (csam_bit(f->start, off))
        return CSAM_NATIVE;
    /* Inside an instruction control flow reached: entering there would run a decoding nobody
     * scanned. Inside one the sweep only guessed: csam_scan will withdraw the guess. */
    if (!csam_bit(f->cover, off) || csam_bit(f->guess, off))
        return CSAM_UNSCANNED;
    if (off < f->head_cover) {         /* the tail of the previous page's last instruction */
        const struct csam_frame *w = csam_frame_spilling_into(c, f->pa);
        if (w && w->spill_guess)
            return CSAM_UNSCANNED;
    }
    return CSAM_EMULATE;
}

void csam_get_stats(const struct csam *c, struct csam_stats *out)
{
    *out = c->st;
}
