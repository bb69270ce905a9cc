/* Guest image loaders: Multiboot v1, plain ELF32, boot sector (later: Linux bzImage). */
#ifndef RINGFOLD_LOADER_H
#define RINGFOLD_LOADER_H

#include <stdint.h>
#include "ringfold/cpu_state.h"
#include "ringfold/err.h"

struct vm;
struct guest_mem;

#define LOADER_MAX_MODULES 16

struct boot_spec {
    const char *kernel;                        /* path of the image */
    const char *cmdline;                       /* --append, may be NULL */
    const char *modules[LOADER_MAX_MODULES];   /* --module / --initrd: "path[ args]" */
    int nmodules;
};

/* Detects the image format, loads it into guest RAM and fills *st with the entry state.
 * On a malformed image returns -EINVAL (or -errno for I/O) with a one-line reason in err,
 * having changed nothing the guest could run. */
int loader_load(struct vm *vm, const struct boot_spec *spec, struct vcpu_state *st, struct rf_err *err);

/* The same on an image already in memory (tests, fuzzing): spec->kernel only names it in
 * messages and the Multiboot command line; modules are still read from their files. */
int loader_load_image(struct guest_mem *mem, const struct boot_spec *spec, const void *data,
                      uint64_t size, struct vcpu_state *st, struct rf_err *err);

#endif
