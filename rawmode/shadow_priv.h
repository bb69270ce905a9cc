/* Shadow paging internals shared by rawmode/shadow*.c: the table of host mappings per guest
 * linear page, its inverse (frame -> linear pages) and the live-page bitmap. */
#ifndef RINGFOLD_RAWMODE_SHADOW_PRIV_H
#define RINGFOLD_RAWMODE_SHADOW_PRIV_H

#include <stdint.h>
#include "shadow.h"

#define SHADOW_TOP       (1ull << 32)          /* guest linear space ends at 4 GiB */
#define SHADOW_PAGES     (1u << 20)            /* 4 KiB pages below 4 GiB */
#define SHADOW_BM_WORDS  (SHADOW_PAGES / 64)
#define SHADOW_SUM_WORDS (SHADOW_BM_WORDS / 64)

/* One 64-bit entry per linear page: the frame address in bits 63..12, flags below.
 * The low three bits are the host PROT_* bits of the mapping. */
#define SHE_PROT     0x007u
#define SHE_LIVE     0x008u
#define SHE_GLOBAL   0x010u     /* from a global guest entry (CR4.PGE): survives CR3 writes */
#define SHE_LARGE2M  0x020u     /* a 4 KiB piece of a 2 MiB guest page (PAE) */
#define SHE_LARGE4M  0x040u     /* a 4 KiB piece of a 4 MiB guest page (PSE) */
#define SHE_FRAME    (~0xfffull)

struct shadow {
    struct vm *vm;
    struct x86_emu *e;
    uint32_t min_page;          /* first linear page we may map (mmap_min_addr, rounded up) */
    enum shadow_view view;
    uint32_t a20_gen;

    uint64_t *ent;              /* [SHADOW_PAGES] */
    uint32_t *next, *prev;      /* [SHADOW_PAGES]: links of the per-frame lists (0 = none) */
    uint32_t *head;             /* [nframes]: first linear page mapping the frame (0 = none) */
    uint64_t nframes;
    uint64_t *monitored;        /* [nframes / 64] bitmap of write-monitored frames */
    uint64_t *live_bm;          /* [SHADOW_BM_WORDS] */
    uint64_t live_sum[SHADOW_SUM_WORDS];   /* bit w set when live_bm[w] != 0 */
    uint64_t globals;           /* live pages with SHE_GLOBAL */

    const struct shadow_host_ops *host;     /* NULL: this process's own address space */
    void *host_opaque;

    shadow_write_hook hook;
    void *hook_opaque;
    shadow_exec_filter exec_ok;     /* view ALL: may this frame be mapped executable? */
    void *exec_opaque;
    char error[256];
    struct shadow_stats st;
};

static inline bool shadow_live(const struct shadow *s, uint32_t page)
{
    return (s->ent[page] & SHE_LIVE) != 0;
}

static inline bool shadow_frame_monitored(const struct shadow *s, uint64_t frame)
{
    return frame < s->nframes && (s->monitored[frame / 64] >> (frame % 64) & 1);
}

/* shadow_map.c: host mappings and their bookkeeping. */
int shadow_map_page(struct shadow *s, uint32_t page, uint64_t pa, unsigned prot, unsigned flags);
int shadow_map_range(struct shadow *s, uint32_t page, uint32_t n, uint64_t pa, unsigned prot, unsigned flags);
int shadow_protect_page(struct shadow *s, uint32_t page, unsigned prot);
void shadow_unmap_page(struct shadow *s, uint32_t page);
uint32_t shadow_next_live(const struct shadow *s, uint32_t from);
int shadow_host_unmap(struct shadow *s, uint32_t first, uint32_t npages);
void shadow_forget_page(struct shadow *s, uint32_t page);

/* shadow_flush.c */
void shadow_flush(struct shadow *s, bool keep_global);

#endif
