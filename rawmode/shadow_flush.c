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
#include <sys/mman.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
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

void shadow_reset(struct shadow *s)
{
    shadow_forget_all(s);
    shadow_host_unmap(s, s->min_page, SHADOW_PAGES - s->min_page);
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
    /* ... and mappings made in view USER are executable without CSAM's consent (phase 2a). */
    if (v == SHADOW_VIEW_ALL && s->view != SHADOW_VIEW_ALL && s->exec_ok)
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

/* True when the live mapping entry e of page p still matches what the guest's tables say now
 * (frame, user view, NX, global, page-size class); *writable_now says whether W may stay. */
static bool shadow_entry_current(struct shadow *s, uint32_t p, uint64_t e, bool *writable_now)
{
    struct x86_emu_xlate x;
    struct x86_emu_event ev;
    unsigned acc = s->view == SHADOW_VIEW_USER ? X86_XLATE_USER : 0;
    if (x86_emu_translate(s->e, p << 12, acc, &x, &ev) < 0)
        return false;
    unsigned large = x.page_size == (2u << 20) ? SHE_LARGE2M : x.page_size == (4u << 20) ? SHE_LARGE4M : 0;
    if ((x.pa & SHE_FRAME) != (e & SHE_FRAME) || (s->view == SHADOW_VIEW_USER && !x.user) ||
        ((e & PROT_EXEC) && x.nx) || (x.global != !!(e & SHE_GLOBAL)) ||
        large != (e & (SHE_LARGE2M | SHE_LARGE4M)))
        return false;
    /* Unpaged: no D bit, RAM is always writable. */
    *writable_now = x.writable && (x.dirty || !(x86_emu_peek(s->e)->cr0 & CR0_PG));
    return true;
}

/* Keeps every mapping the guest's tables still give and drops or write-protects the rest.
 *
 * Why this is enough after guest kernel code ran on emu (whatever it did: INVLPG, MOV CR3
 * with the same value, PTE edits with or without invalidation): after any sequence of TLB
 * invalidations the architecture guarantees at most that the CURRENT tables are used, and a
 * mapping equal to the current translation is exactly that. What an unchanged mapping cannot
 * show is an A bit the guest cleared: the walk here sets it again, as a CPU that caches the
 * translation speculatively may (SDM Vol. 3 §4.10.2.3); a cleared D bit removes the write
 * right so the next write sets D again. Cost: one table walk per live page (tens of ns) instead
 * of unmapping everything and a fault (several µs) per page used again. */
void shadow_revalidate(struct shadow *s)
{
    s->st.revalidations++;
    uint32_t start = 0, end = 0;
    for (uint32_t p = shadow_next_live(s, 0); p < SHADOW_PAGES; p = shadow_next_live(s, p + 1)) {
        uint64_t e = s->ent[p];
        bool w = false;
        if (!shadow_entry_current(s, p, e, &w)) {
            if (end == start)
                start = p;
            end = p + 1;
            shadow_forget_page(s, p);
            s->st.revalidate_dropped++;
            continue;
        }
        if (end > start)
            shadow_host_unmap(s, start, end - start);
        start = end = 0;
        if ((e & PROT_WRITE) && !w) {
            shadow_protect_page(s, p, (unsigned)(e & SHE_PROT) & ~(unsigned)PROT_WRITE);
            s->st.revalidate_downgraded++;
        }
    }
    if (end > start)
        shadow_host_unmap(s, start, end - start);
}
