/* Removing shadow mappings exactly when the architecture drops TLB entries: CR3 writes
 * (global pages kept under CR4.PGE), paging-mode changes, INVLPG, view and A20 changes.
 *
 * The host mappings act as the guest's TLB, so the rules are the TLB's (SDM Vol. 3 §4.10.4):
 * MOV to CR3 invalidates every non-global translation; changing CR0.PG or CR4.PGE (and, for
 * us, anything that changes what a walk returns for a page that stays cached: CR0.WP,
 * CR4.PSE/PAE, EFER.NXE) invalidates all, global ones included; INVLPG invalidates the
 * translation of one page, global or not, which for a 2 MiB / 4 MiB guest page means every
 * 4 KiB piece of it we mapped. A guest that edits a present entry without invalidating may
 * see either translation on hardware too, so mapping lazily on faults stays correct. */
#include "ringfold/vm.h"
#include "shadow_priv.h"

/* Clears the books for every live page without touching the host (the caller replaced the
 * whole reservation). O(live pages) through the live bitmap. */
static void shadow_forget_all(struct shadow *s)
{
    for (uint32_t sw = 0; sw < SHADOW_SUM_WORDS; sw++) {
        while (s->live_sum[sw]) {
            uint32_t w = sw * 64 + (uint32_t)__builtin_ctzll(s->live_sum[sw]);
            for (uint64_t bits = s->live_bm[w]; bits; bits &= bits - 1) {
                uint32_t p = w * 64 + (uint32_t)__builtin_ctzll(bits);
                s->head[(s->ent[p] & SHE_FRAME) >> 12] = 0;
                s->ent[p] = 0;
            }
            s->live_bm[w] = 0;
            s->live_sum[sw] &= s->live_sum[sw] - 1;
        }
    }
    s->st.live = 0;
    s->st.runs = 0;
    s->globals = 0;
}

void shadow_flush(struct shadow *s, bool keep_global)
{
    if (!keep_global || s->globals == 0) {
        if (s->st.live == 0)
            return;
        shadow_forget_all(s);
        shadow_host_unmap(s, s->min_page, SHADOW_PAGES - s->min_page);
        return;
    }
    /* Unmap the non-global pages between globals, one host call per stretch. */
    uint32_t start = 0, end = 0;
    for (uint32_t p = shadow_next_live(s, 0); p < SHADOW_PAGES; p = shadow_next_live(s, p + 1)) {
        if (s->ent[p] & SHE_GLOBAL) {
            if (end > start)
                shadow_host_unmap(s, start, end - start);
            start = end = 0;
            continue;
        }
        if (end == start)
            start = p;
        end = p + 1;
        shadow_forget_page(s, p);
    }
    if (end > start)
        shadow_host_unmap(s, start, end - start);
}

void shadow_flush_all(struct shadow *s)
{
    s->st.flush_full++;
    shadow_flush(s, false);
}

void shadow_paging_changed(struct shadow *s, bool cr3_write_only)
{
    if (cr3_write_only) {
        /* Globals exist only while CR4.PGE is on: turning PGE off is a full flush. */
        s->st.flush_cr3++;
        shadow_flush(s, true);
    } else {
        shadow_flush_all(s);
    }
}

/* Drops the pieces of large guest pages (flag) of size `size` containing linear. */
static void shadow_invlpg_large(struct shadow *s, uint32_t linear, uint64_t size, unsigned flag)
{
    uint32_t first = (uint32_t)((linear & ~(size - 1)) >> 12);
    uint32_t last = first + (uint32_t)(size >> 12);
    for (uint32_t p = shadow_next_live(s, first); p < last; p = shadow_next_live(s, p + 1)) {
        if (s->ent[p] & flag) {
            shadow_unmap_page(s, p);
            s->st.invlpg_unmapped++;
        }
    }
}

void shadow_invlpg(struct shadow *s, uint32_t linear)
{
    s->st.invlpg++;
    uint32_t page = linear >> 12;
    if (shadow_live(s, page)) {
        shadow_unmap_page(s, page);
        s->st.invlpg_unmapped++;
    }
    /* One INVLPG drops the whole translation of a large page (§4.10.4.1). */
    shadow_invlpg_large(s, linear, 2u << 20, SHE_LARGE2M);
    shadow_invlpg_large(s, linear, 4u << 20, SHE_LARGE4M);
}

void shadow_set_view(struct shadow *s, enum shadow_view v)
{
    /* Mappings made in view ALL include supervisor pages (and supervisor-only write rights
     * under CR0.WP = 0) that guest user code must never reach. */
    if (v == SHADOW_VIEW_USER && s->view != SHADOW_VIEW_USER)
        shadow_flush_all(s);
    s->view = v;
}

bool shadow_sync_a20(struct shadow *s)
{
    uint32_t gen = s->vm->a20_gen;
    if (gen == s->a20_gen)
        return false;
    s->a20_gen = gen;
    shadow_flush_all(s);
    return true;
}
