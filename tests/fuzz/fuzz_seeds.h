/* The contract between fuzz targets and the standalone driver (standalone_driver.c). */
#ifndef RINGFOLD_FUZZ_SEEDS_H
#define RINGFOLD_FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point: every target defines it; it must return 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_seed {
    uint8_t *data;      /* malloc'd; the driver owns it afterwards */
    size_t size;
};

/* Optional: well-formed inputs the standalone driver mutates, since random bytes alone
 * rarely get past a format's magic numbers. Fills at most max entries, returns the count.
 * The driver's --write-seeds DIR saves them as a starting corpus for libFuzzer. */
size_t fuzz_target_seeds(struct fuzz_seed *out, size_t max);

#endif
