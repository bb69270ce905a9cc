/* Host mappings of guest frames at guest linear addresses, and their bookkeeping.
 *
 * The technique: mapping a guest page is one mmap(MAP_FIXED | MAP_SHARED) of the guest memfd
 * at offset pa onto linear address L inside the PROT_NONE reservation; unmapping is an
 * anonymous PROT_NONE mmap over it, which keeps the reservation whole (munmap would leave a
 * hole glibc could fill). Every mapping is recorded per linear page (s->ent) so that INVLPG,
 * CR3 writes and monitoring can remove or downgrade exactly what the architecture asks for,
 * and linked into a per-frame list so a frame's aliases are found in O(aliases).
 *
 * Host VMAs: adjacent mappings with the same protection and contiguous file offsets merge
 * into one VMA (the kernel's vma_merge), so what the process's vm.max_map_count bounds is the
 * number of runs of such pages, not pages. s->st.runs counts them exactly as pages come and
 * go; the reservation around N runs is split into at most N + 1 pieces, so VMAs <= 2N + 1.
 * shadow_map_page evicts everything when a new run would break the budget. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "ringfold/vm.h"
#include "shadow_priv.h"

/* Pages p and p+1 form one host VMA when both are mapped with the same rights at
 * consecutive memfd offsets. */
static bool shadow_joins(const struct shadow *s, uint32_t p)
{
    if (p + 1 >= SHADOW_PAGES)
        return false;
    uint64_t a = s->ent[p], b = s->ent[p + 1];
    return (a & SHE_LIVE) && (b & SHE_LIVE) && (a & SHE_PROT) == (b & SHE_PROT) &&
           (b & SHE_FRAME) == (a & SHE_FRAME) + 4096;
}

/* Runs that page p adds (by existing) given its neighbours: 1 alone, 0 extending a run,
 * -1 bridging two runs. */
static int64_t shadow_run_delta(const struct shadow *s, uint32_t p)
{
    int64_t d = 1;
    if (p > 0 && shadow_joins(s, p - 1))
        d--;
    if (shadow_joins(s, p))
        d--;
    return d;
}

static void shadow_bm_set(struct shadow *s, uint32_t p)
{
    s->live_bm[p / 64] |= 1ull << (p % 64);
    s->live_sum[p / 4096] |= 1ull << (p / 64 % 64);
}

static void shadow_bm_clear(struct shadow *s, uint32_t p)
{
    uint64_t *w = &s->live_bm[p / 64];
    *w &= ~(1ull << (p % 64));
    if (!*w)
        s->live_sum[p / 4096] &= ~(1ull << (p / 64 % 64));
}

uint32_t shadow_next_live(const struct shadow *s, uint32_t from)
{
    if (from >= SHADOW_PAGES)
        return SHADOW_PAGES;
    uint32_t w = from / 64;
    uint64_t bits = s->live_bm[w] & (~0ull << (from % 64));
    if (bits)
        return w * 64 + (uint32_t)__builtin_ctzll(bits);
    /* Skip empty bitmap words 64 at a time through the summary. */
    for (uint32_t sw = (w + 1) / 64; sw < SHADOW_SUM_WORDS; sw++) {
        uint64_t sum = s->live_sum[sw];
        if (sw == (w + 1) / 64)
            sum &= ~0ull << ((w + 1) % 64);
        if (!sum)
            continue;
        uint32_t bw = sw * 64 + (uint32_t)__builtin_ctzll(sum);
        return bw * 64 + (uint32_t)__builtin_ctzll(s->live_bm[bw]);
    }
    return SHADOW_PAGES;
}

/* Links page into its frame's alias list and the live set (s->ent[page] already set). */
static void shadow_track(struct shadow *s, uint32_t page)
{
    uint64_t frame = (s->ent[page] & SHE_FRAME) >> 12;
    uint32_t h = s->head[frame];
    s->prev[page] = 0;
    s->next[page] = h;
    if (h)
        s->prev[h] = page;
    s->head[frame] = page;
    shadow_bm_set(s, page);
    if (s->ent[page] & SHE_GLOBAL)
        s->globals++;
    s->st.runs += (uint64_t)shadow_run_delta(s, page);
    if (++s->st.live > s->st.peak)
        s->st.peak = s->st.live;
}

void shadow_forget_page(struct shadow *s, uint32_t page)
{
    uint64_t e = s->ent[page];
    if (!(e & SHE_LIVE))
        return;
    s->st.runs -= (uint64_t)shadow_run_delta(s, page);
    uint64_t frame = (e & SHE_FRAME) >> 12;
    uint32_t p = s->prev[page], n = s->next[page];
    if (p)
        s->next[p] = n;
    else
        s->head[frame] = n;
    if (n)
        s->prev[n] = p;
    shadow_bm_clear(s, page);
    if (e & SHE_GLOBAL)
        s->globals--;
    s->st.live--;
    s->ent[page] = 0;
}

int shadow_host_unmap(struct shadow *s, uint32_t first, uint32_t npages)
{
    if (s->host)
        return s->host->reserve(s->host_opaque, (uint64_t)first << 12, (uint64_t)npages << 12);
    void *at = (void *)((uintptr_t)first << 12);
    void *r = mmap(at, (size_t)npages << 12, PROT_NONE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED)
        return 0;
    int e = errno;
    /* Splitting VMAs can fail at the map-count limit; replacing the whole reservation
     * never needs more VMAs than it frees. */
    void *base = (void *)((uintptr_t)s->min_page << 12);
    r = mmap(base, SHADOW_TOP - ((uint64_t)s->min_page << 12), PROT_NONE,
             MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        snprintf(s->error, sizeof(s->error), "shadow: cannot unmap guest pages at %p: %s", at, strerror(e));
        return -e;
    }
    /* Everything is gone on the host side now: make the bookkeeping say so. */
    for (uint32_t p = shadow_next_live(s, 0); p < SHADOW_PAGES; p = shadow_next_live(s, p + 1))
        shadow_forget_page(s, p);
    return 0;
}

void shadow_unmap_page(struct shadow *s, uint32_t page)
{
    if (!shadow_live(s, page))
        return;
    shadow_forget_page(s, page);
    shadow_host_unmap(s, page, 1);
}

/* Maps n pages of consecutive frames from pa at linear page `page` with host rights prot
 * (PROT_*), replacing what is there, with one host call. Evicts everything first when a new
 * run could push the VMA count past the budget (one range is at most one new run). */
int shadow_map_range(struct shadow *s, uint32_t page, uint32_t n, uint64_t pa, unsigned prot, unsigned flags)
{
    for (uint32_t i = 0; i < n; i++)
        if (shadow_live(s, page + i))
            shadow_forget_page(s, page + i);
    if (2 * (s->st.runs + 1) + 1 > s->st.vma_budget) {
        s->st.evictions++;
        shadow_flush(s, false);
    }
    void *at = (void *)((uintptr_t)page << 12);
    for (int attempt = 0; !s->host; attempt++) {
        void *r = mmap(at, (size_t)n << 12, (int)prot, MAP_FIXED | MAP_SHARED, s->vm->mem.fd, (off_t)pa);
        if (r != MAP_FAILED)
            break;
        int e = errno;
        if (e != ENOMEM || attempt) {
            s->st.map_errors++;
            /* MAP_FIXED may have removed the old mappings before failing: make sure the
             * pages are PROT_NONE so the books are right. */
            shadow_host_unmap(s, page, n);
            return -e;
        }
        s->st.evictions++;
        shadow_flush(s, false);
    }
    if (s->host) {
        int rc = s->host->map(s->host_opaque, (uint64_t)page << 12, (uint64_t)n << 12, prot, pa);
        if (rc < 0) {
            s->st.map_errors++;
            return rc;
        }
    }
    uint64_t fl = flags & ~(SHE_FRAME | SHE_PROT | SHE_LIVE);
    for (uint32_t i = 0; i < n; i++) {
        s->ent[page + i] = ((pa + ((uint64_t)i << 12)) & SHE_FRAME) | SHE_LIVE | (prot & SHE_PROT) | fl;
        shadow_track(s, page + i);
    }
    return 0;
}

int shadow_map_page(struct shadow *s, uint32_t page, uint64_t pa, unsigned prot, unsigned flags)
{
    return shadow_map_range(s, page, 1, pa, prot, flags);
}

/* Changes the rights of a live mapping (monitoring downgrades). */
int shadow_protect_page(struct shadow *s, uint32_t page, unsigned prot)
{
    uint64_t e = s->ent[page];
    if (!(e & SHE_LIVE) || (e & SHE_PROT) == prot)
        return 0;
    if (s->host ? s->host->protect(s->host_opaque, (uint64_t)page << 12, 4096, prot) < 0
                : mprotect((void *)((uintptr_t)page << 12), 4096, (int)prot) < 0) {
        /* mprotect splits VMAs and can hit the map-count limit: dropping the page is always
         * correct (it is simply mapped again on the next fault). */
        shadow_unmap_page(s, page);
        return 0;
    }
    s->st.runs -= (uint64_t)shadow_run_delta(s, page);
    s->ent[page] = (e & ~(uint64_t)SHE_PROT) | prot;
    s->st.runs += (uint64_t)shadow_run_delta(s, page);
    return 0;
}
