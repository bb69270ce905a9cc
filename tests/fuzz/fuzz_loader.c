/* Fuzz target for the guest image loaders: arbitrary bytes as a kernel image on a small VM.
 * Beyond "no crash" it checks the loader's promises: a refused image leaves guest RAM
 * byte-for-byte unchanged and gets a message naming the file; an accepted one enters at
 * an address inside RAM. Each input is tried as "fuzz.bin" (so short boot sectors count)
 * and as "fuzz" with a command line and one Multiboot module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz_seeds.h"
#include "loader_images.h"
#include "loader.h"
#include "ringfold/memory.h"

#define FUZZ_RAM (2u << 20)

static struct guest_mem mem;
static uint8_t *snapshot;
static char module_spec[96];
static char module_path[64];

static void remove_module(void)
{
    unlink(module_path);
}

static void fuzz_fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_loader: %s (%s)\n", what, msg);
    abort();
}

static void fuzz_init(void)
{
    struct rf_err err = { { 0 } };
    if (guest_mem_init(&mem, FUZZ_RAM, &err) < 0)
        fuzz_fail("guest_mem_init", err.msg);
    snapshot = malloc(FUZZ_RAM);
    if (!snapshot)
        fuzz_fail("malloc", "snapshot");
    memcpy(snapshot, mem.host, FUZZ_RAM);
    snprintf(module_path, sizeof(module_path), "/tmp/rf-fuzz-module-XXXXXX");
    int fd = mkstemp(module_path);
    if (fd < 0 || write(fd, "module contents", 15) != 15)
        fuzz_fail("module file", module_path);
    close(fd);
    atexit(remove_module);
    snprintf(module_spec, sizeof(module_spec), "%s a b", module_path);
}

static void try_load(const uint8_t *data, size_t size, const char *name, int nmods)
{
    /* Plain ELF and boot sectors refuse a command line and modules: only the Multiboot
     * run gets them. */
    struct boot_spec spec = { .kernel = name, .cmdline = nmods ? "console=ttyS0" : NULL,
                              .modules = { module_spec }, .nmodules = nmods };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = loader_load_image(&mem, &spec, data, size, &st, &err);
    if (rc < 0) {
        if (memcmp(mem.host, snapshot, FUZZ_RAM))
            fuzz_fail("a refused image changed guest RAM", err.msg);
        if (strncmp(err.msg, name, strlen(name)) && strncmp(err.msg, "/tmp/", 5))
            fuzz_fail("error message does not name the file", err.msg);
        if (strchr(err.msg, '\n'))
            fuzz_fail("error message is not one line", err.msg);
        return;
    }
    uint32_t linear = st.seg[S_CS].base + st.eip;
    if (!guest_mem_is_ram(&mem, linear, 1))
        fuzz_fail("accepted image enters outside RAM", name);
    memcpy(snapshot, mem.host, FUZZ_RAM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!snapshot)
        fuzz_init();
    try_load(data, size, "fuzz.bin", 0);
    try_load(data, size, "fuzz", 1);
    return 0;
}

/* Valid images of every format, placed to fit FUZZ_RAM. */
size_t fuzz_target_seeds(struct fuzz_seed *out, size_t max)
{
    struct timg t[6];
    size_t n = 0;
    struct timg_seg two[] = { { 0x100000, 0x100000, 0x300, 0x1000, 1 },
                              { 0x10000, 0x10000, 0x40, 0x40, 2 } };
    struct timg_seg hh = { 0x100000, 0xC0100000u, 0x200, 0x400, 3 };
    t[n++] = timg_elf(two, 2, 0x100010, true, MB_HF_PAGE_ALIGN | MB_HF_MEMINFO);
    t[n++] = timg_elf(&hh, 1, 0xC0100000u, true, MB_HF_MEMINFO | MB_HF_AOUT_KLUDGE);
    t[n++] = timg_elf(two, 2, 0x10000, false, 0);
    t[n++] = timg_aout(0x100000, 0x400, 0x200, 0x20, 0x40);
    t[n++] = timg_aout(0x8000, 0x200, 0, 0, 0x10);
    t[n++] = timg_bootsect();
    size_t k;
    for (k = 0; k < n && k < max; k++) {
        out[k].data = t[k].data;
        out[k].size = t[k].size;
    }
    for (size_t j = k; j < n; j++)
        free(t[j].data);
    return k;
}
