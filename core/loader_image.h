/* A guest image file read whole into host memory, the input every loader parses. */
#ifndef RINGFOLD_LOADER_IMAGE_H
#define RINGFOLD_LOADER_IMAGE_H

#include <stdint.h>
#include "ringfold/err.h"

struct loader_image {
    const char *path;       /* for messages; the caller's string */
    const uint8_t *data;
    uint64_t size;
    uint8_t *owned;         /* buffer to free, NULL when data belongs to the caller */
};

/* Reads path whole. Files larger than max bytes are refused before being read
 * ("too big for RAM"), so a huge or endless file cannot exhaust host memory. */
int loader_image_read(const char *path, uint64_t max, const char *what,
                      struct loader_image *img, struct rf_err *err);

/* Wraps a caller-owned buffer (fuzzing, tests) without copying. */
void loader_image_wrap(struct loader_image *img, const char *path, const void *data, uint64_t size);

void loader_image_free(struct loader_image *img);

/* Little-endian field reads that never go past the image. */
static inline uint32_t loader_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
