/* Linux kernels in bzImage format, booted through the 32-bit boot protocol (boot.rst). */
#ifndef RINGFOLD_LOADER_BZIMAGE_H
#define RINGFOLD_LOADER_BZIMAGE_H

#include <stdbool.h>
#include "loader.h"
#include "loader_image.h"
#include "ringfold/memory.h"

/* Where ringfold puts the zero page (boot_params) and, right after it, the command line:
 * free conventional memory below the EBDA, as boot.rst's memory layout suggests. */
#define BZ_ZERO_PAGE_ADDR   0x10000u
#define BZ_CMDLINE_ADDR     0x11000u

/* True when the image carries the Linux setup header signature "HdrS" at 0x202. Version
 * and the other fields are checked by loader_bzimage_load, which names what is wrong. */
bool loader_bzimage_detect(const struct loader_image *img);

/* Loads the protected-mode kernel at 1 MiB, spec->modules[0] (at most one) as the initrd
 * high in RAM, the zero page and command line, and sets *st to the 32-bit boot protocol's
 * entry state (flat protected mode, ESI = zero page). Validates everything first. */
int loader_bzimage_load(struct guest_mem *mem, const struct boot_spec *spec,
                        const struct loader_image *img, struct vcpu_state *st,
                        struct rf_err *err);

#endif
