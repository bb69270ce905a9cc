/* CSAM int3 patching and write invalidation: makes each sensitive instruction trap cheaply, keeps
 * the original bytes, and undoes everything when the guest writes to scanned code.
 *
 * Until PATM exists (phase 3), a sensitive instruction that would run silently wrong is replaced
 * in guest RAM by int3 (0xCC) over its first byte (csam_patch_frame). Natively that raises #BP,
 * which reaches the monitor as SIGTRAP with EIP one past the site; csam_site_at(pa of EIP - 1)
 * gives the site and its ORIGINAL bytes, which the raw engine emulates on emu. A 0xCC with no
 * patched site there is the guest's own breakpoint and goes to the guest's #BP handler.
 * Scanned frames are write-monitored (every host mapping read-only, csam_config.monitor). Before a
 * guest write to one is emulated, csam_frame_written puts the original bytes back and forgets the
 * frame, so the write lands on what the guest wrote itself and the frame is scanned afresh when it
 * next runs: self-modifying code and Linux's text_poke keep working. CSAM's own reads of guest code
 * go through csam_read_orig, which hides the patches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ringfold/memory.h>
#include "csam_priv.h"

void csam_note_write(const struct csam *c, uint64_t pa)
{
    if (c->cfg.code_written)
        c->cfg.code_written(c->cfg.code_written_opaque, pa, 1);
}

bool csam_read_orig(const struct csam *c, uint64_t pa_frame, unsigned off, uint8_t *buf,
                    unsigned len)
{
    if (!guest_mem_is_ram(c->mem, pa_frame + off, len))
        return false;
    memcpy(buf, guest_mem_ptr(c->mem, pa_frame + off), len);
    const struct csam_frame *f = csam_frame_find(c, pa_frame);
    if (!f || !f->npatched)
        return true;
    for (unsigned i = 0; i < f->nsites; i++) {
        const struct csam_site *s = &f->sites[i];
        uint64_t at = s->pa - pa_frame;
        if (s->patched && at >= off && at < (uint64_t)off + len)
            buf[at - off] = s->bytes[0];
    }
    return true;
}

void csam_frame_unpatch(struct csam *c, struct csam_frame *f)
{
    for (unsigned i = 0; i < f->nsites && f->npatched; i++) {
        struct csam_site *s = &f->sites[i];
        if (!s->patched)
            continue;
        uint8_t *p = guest_mem_ptr(c->mem, s->pa);
        if (p && *p == 0xcc) {     /* only our own byte: never clobber what is there otherwise */
            *p = s->bytes[0];
            csam_note_write(c, s->pa);
        }
        s->patched = false;
        f->npatched--;
        c->st.patches_removed++;
    }
}

void csam_frame_mark_unsafe(struct csam *c, struct csam_frame *f)
{
    if (f->unsafe)
        return;
    f->unsafe = true;
    if (!f->scanned) {
        f->scanned = true;
        c->st.pages_scanned++;
    }
    c->st.pages_unsafe++;
    csam_frame_unpatch(c, f);
}

/* Guest RAM still holds the bytes the site was decoded from (the part inside this frame). */
static bool site_intact(const struct csam *c, const struct csam_site *s)
{
    unsigned in_frame = CSAM_PAGE - (unsigned)(s->pa & (CSAM_PAGE - 1));
    unsigned n = s->len < in_frame ? s->len : in_frame;
    const uint8_t *p = guest_mem_ptr(c->mem, s->pa);
    return p && guest_mem_is_ram(c->mem, s->pa, n) && memcmp(p, s->bytes, n) == 0;
}

int csam_patch_frame(struct csam *c, uint64_t pa_frame)
{
    struct csam_frame *f = csam_frame_find(c, pa_frame);
    if (!f || !f->scanned || f->unsafe)
        return 0;
    int applied = 0;
    for (unsigned i = 0; i < f->nsites; i++) {
        struct csam_site *s = &f->sites[i];
        if (s->patched || !csam_kind_patched((enum csam_kind)s->kind))
            continue;
        if (!site_intact(c, s)) {
            /* Written behind our back (DMA, emu without the hook): nothing here can be trusted. */
            csam_frame_written(c, pa_frame);
            return -EIO;
        }
        *guest_mem_ptr(c->mem, s->pa) = 0xcc;
        csam_note_write(c, s->pa);
        s->patched = true;
        f->npatched++;
        c->st.patches_applied++;
        applied++;
    }
    return applied;
}

void csam_hide_patches(const struct csam *c, uint64_t pa, uint8_t *buf, unsigned len)
{
    while (len) {
        uint64_t frame = pa & ~(uint64_t)(CSAM_PAGE - 1);
        unsigned off = (unsigned)(pa - frame), n = CSAM_PAGE - off < len ? CSAM_PAGE - off : len;
        const struct csam_frame *f = csam_frame_find(c, frame);
        for (unsigned i = 0; f && f->npatched && i < f->nsites; i++) {
            const struct csam_site *s = &f->sites[i];
            if (s->patched && s->pa >= pa && s->pa < pa + n)
                buf[s->pa - pa] = s->bytes[0];
        }
        buf += n;
        pa += n;
        len -= n;
    }
}

int csam_patch_all(struct csam *c)
{
    int total = 0;
again:
    for (unsigned h = 0; h < (1u << CSAM_HASH_BITS); h++) {
        for (struct csam_frame *f = c->hash[h]; f; f = f->next) {
            int k = csam_patch_frame(c, f->pa);
            if (k == -EIO)
                goto again;     /* frames were forgotten (each -EIO removes one): walk afresh */
            if (k > 0)
                total += k;
        }
    }
    return total;
}

void csam_unpatch_all(struct csam *c)
{
    for (unsigned h = 0; h < (1u << CSAM_HASH_BITS); h++)
        for (struct csam_frame *f = c->hash[h]; f; f = f->next)
            csam_frame_unpatch(c, f);
}

static void frame_drop(struct csam *c, struct csam_frame *f)
{
    csam_frame_unpatch(c, f);
    c->st.frames_invalidated++;
    csam_frame_forget(c, f);
}

void csam_forget_all(struct csam *c)
{
    for (unsigned h = 0; h < (1u << CSAM_HASH_BITS); h++)
        while (c->hash[h]) {
            struct csam_frame *f = c->hash[h];
            csam_frame_unpatch(c, f);
            f->spill_to = CSAM_NO_FRAME;    /* every record goes: no spill bookkeeping needed */
            csam_frame_forget(c, f);
        }
}

void csam_frame_written(struct csam *c, uint64_t pa_frame)
{
    pa_frame &= ~(uint64_t)(CSAM_PAGE - 1);
    struct csam_frame *f = csam_frame_find(c, pa_frame);
    if (!f)
        return;
    /* A frame whose last instruction spills into this one loses that instruction: drop it too
     * (one level: its own predecessor's tail is untouched). Collected first, then dropped. */
    for (;;) {
        struct csam_frame *w = NULL;
        for (unsigned h = 0; h < (1u << CSAM_HASH_BITS) && !w; h++)
            for (struct csam_frame *x = c->hash[h]; x && !w; x = x->next)
                if (x != f && x->spill_to == pa_frame)
                    w = x;
        if (!w)
            break;
        w->spill_to = CSAM_NO_FRAME;   /* so that forgetting it leaves f alone */
        frame_drop(c, w);
    }
    /* The next frame keeps its own scan; only the tail bytes of ours stop being "covered". */
    csam_frame_clear_spill(c, f);
    frame_drop(c, f);
}
