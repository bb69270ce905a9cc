/* A load plan: every range a loader will write into guest RAM, validated as a whole
 * before the first byte is copied, so a bad image never leaves RAM half-loaded. */
#ifndef RINGFOLD_LOADER_PLAN_H
#define RINGFOLD_LOADER_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/err.h"
#include "ringfold/memory.h"

#define LOADER_PLAN_MAX 64

struct loader_seg {
    uint64_t pa;
    const uint8_t *src;     /* filesz bytes copied from here, the rest of memsz zeroed */
    uint64_t filesz;
    uint64_t memsz;
    char what[48];          /* "segment 2", "module 1", "boot information" */
};

struct loader_plan {
    struct loader_seg seg[LOADER_PLAN_MAX];
    int n;
};

/* Checks that [pa, pa+len) is guest RAM; on failure the message names path, what and why
 * (wraps past 4 GiB, past the end of RAM, in the VGA hole). */
int loader_check_ram(const struct guest_mem *mem, uint64_t pa, uint64_t len,
                     const char *path, const char *what, struct rf_err *err);

/* Adds a range after checking it is RAM and overlaps nothing already planned.
 * Zero-length ranges are accepted and ignored. */
int loader_plan_add(struct loader_plan *plan, const struct guest_mem *mem, uint64_t pa,
                    const uint8_t *src, uint64_t filesz, uint64_t memsz,
                    const char *path, const char *what, struct rf_err *err);

/* True when [pa, pa+len) intersects a planned range. */
bool loader_plan_overlaps(const struct loader_plan *plan, uint64_t pa, uint64_t len);

/* One past the highest planned byte (0 when empty). */
uint64_t loader_plan_end(const struct loader_plan *plan);

/* Copies every planned range; cannot fail once every add succeeded. */
void loader_plan_commit(const struct loader_plan *plan, struct guest_mem *mem);

#endif
