/* Multiboot modules and the boot information structure (Multiboot 0.6.96 §3.3): modules go
 * page aligned above the kernel, the information block into free low memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader_multiboot.h"

#define PAGE 4096u
#define ONE_MIB 0x100000u
static const char loader_name[] = "ringfold";

static uint64_t align_page(uint64_t x)
{
    return (x + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

/* Moves a range that would touch the VGA hole (or sit below 1 MiB while crossing it)
 * up to 1 MiB, where RAM is contiguous. */
static uint64_t skip_hole(uint64_t start, uint64_t len)
{
    if (start < PC_VGA_HOLE_END && start + len > PC_VGA_HOLE_START)
        return ONE_MIB;
    if (start >= PC_VGA_HOLE_START && start < ONE_MIB)
        return ONE_MIB;
    return start;
}

void loader_mbinfo_free(struct mb_boot *boot)
{
    for (int i = 0; i < boot->nmods; i++) {
        loader_image_free(&boot->mods[i]);
        free(boot->paths[i]);
        boot->paths[i] = NULL;
    }
    boot->nmods = 0;
    free(boot->blob);
    boot->blob = NULL;
}

/* "path args": the file is everything before the first space, as in GRUB's module line. */
static char *module_path(const char *spec)
{
    size_t n = strcspn(spec, " ");
    return n ? strndup(spec, n) : NULL;
}

static int plan_modules(const struct guest_mem *mem, const struct boot_spec *spec,
                        struct loader_plan *plan, struct mb_boot *boot,
                        struct mb_module *mods, struct rf_err *err)
{
    char **paths = boot->paths;
    uint64_t cur = loader_plan_end(plan);
    for (int i = 0; i < spec->nmodules; i++) {
        const char *m = spec->modules[i];
        if (!m || !*m || *m == ' ')
            return rf_errf(err, -EINVAL, "%s: module %d has no file name ('%s')", spec->kernel,
                           i + 1, m ? m : "");
        boot->nmods = i + 1;
        paths[i] = module_path(m);
        if (!paths[i])
            return rf_errf(err, -ENOMEM, "%s: out of memory", spec->kernel);
        struct loader_image *img = &boot->mods[i];
        int rc = loader_image_read(paths[i], mem->size, "module", img, err);
        if (rc < 0)
            return rc;
        uint64_t start = skip_hole(align_page(cur), img->size);
        if (start + img->size > mem->size)
            return rf_errf(err, -EINVAL, "%s: module too big for RAM (%llu bytes at 0x%llx, above "
                           "the kernel and earlier modules, past the end of %llu MiB)", paths[i],
                           (unsigned long long)img->size, (unsigned long long)start,
                           (unsigned long long)(mem->size >> 20));
        char what[48];
        snprintf(what, sizeof(what), "module %d", i + 1);
        rc = loader_plan_add(plan, mem, start, img->data, img->size, img->size, paths[i], what, err);
        if (rc < 0)
            return rc;
        mods[i].mod_start = (uint32_t)start;
        mods[i].mod_end = (uint32_t)(start + img->size);
        mods[i].reserved = 0;
        cur = start + img->size;
    }
    return 0;
}

static bool info_fits(const struct guest_mem *mem, const struct loader_plan *plan,
                      uint64_t base, uint64_t len)
{
    return loader_check_ram(mem, base, len, "", "", NULL) == 0 &&
           !loader_plan_overlaps(plan, base, len);
}

/* The preferred spot first, then any free page-aligned spot in low memory, then above
 * everything loaded. Page 0 holds the (zero) real-mode IVT and is never used. */
static int place_info(const struct guest_mem *mem, const struct loader_plan *plan, uint64_t len,
                      uint64_t *out)
{
    if (info_fits(mem, plan, MB_INFO_PREFERRED, len) && MB_INFO_PREFERRED + len <= MB_LOW_RAM_END) {
        *out = MB_INFO_PREFERRED;
        return 0;
    }
    for (uint64_t b = PAGE; b + len <= MB_LOW_RAM_END; b += PAGE)
        if (info_fits(mem, plan, b, len)) {
            *out = b;
            return 0;
        }
    uint64_t b = skip_hole(align_page(loader_plan_end(plan)), len);
    if (info_fits(mem, plan, b, len)) {
        *out = b;
        return 0;
    }
    return -1;
}

static uint32_t put_str(uint8_t *blob, uint64_t base, uint64_t *pos, const char *a, const char *b)
{
    uint32_t addr = (uint32_t)(base + *pos);
    size_t la = strlen(a);
    memcpy(blob + *pos, a, la);
    *pos += la;
    if (b && *b) {
        blob[(*pos)++] = ' ';
        size_t lb = strlen(b);
        memcpy(blob + *pos, b, lb);
        *pos += lb;
    }
    blob[(*pos)++] = 0;
    return addr;
}

int loader_mbinfo_plan(const struct guest_mem *mem, const struct boot_spec *spec,
                       struct loader_plan *plan, struct mb_boot *boot, struct rf_err *err)
{
    struct mb_module mods[LOADER_MAX_MODULES];
    if (spec->nmodules < 0 || spec->nmodules > LOADER_MAX_MODULES)
        return rf_errf(err, -EINVAL, "%s: %d modules (at most %d)", spec->kernel, spec->nmodules,
                       LOADER_MAX_MODULES);
    int rc = plan_modules(mem, spec, plan, boot, mods, err);
    if (rc < 0)
        return rc;

    struct mb_mmap_entry mmap[3];
    int nmmap = 0;
    mmap[nmmap++] = (struct mb_mmap_entry){ 20, 0, MB_LOW_RAM_END, MB_MMAP_AVAILABLE };
    /* EBDA, VGA window and BIOS area: reserved on every PC, RAM or not. */
    mmap[nmmap++] = (struct mb_mmap_entry){ 20, MB_LOW_RAM_END, ONE_MIB - MB_LOW_RAM_END,
                                            MB_MMAP_RESERVED };
    if (mem->size > ONE_MIB)
        mmap[nmmap++] = (struct mb_mmap_entry){ 20, ONE_MIB, mem->size - ONE_MIB, MB_MMAP_AVAILABLE };

    const char *append = spec->cmdline ? spec->cmdline : "";
    uint64_t len = sizeof(struct mb_info) + sizeof(mmap[0]) * (unsigned)nmmap +
                   sizeof(mods[0]) * (unsigned)spec->nmodules + sizeof(loader_name) +
                   strlen(spec->kernel) + 1 + strlen(append) + 1;
    for (int i = 0; i < spec->nmodules; i++)
        len += strlen(spec->modules[i]) + 1;
    uint64_t base;
    if (place_info(mem, plan, len, &base) < 0)
        return rf_errf(err, -EINVAL, "%s: no free guest RAM for the %llu-byte Multiboot "
                       "information", spec->kernel, (unsigned long long)len);
    boot->blob = calloc(1, len);
    if (!boot->blob)
        return rf_errf(err, -ENOMEM, "%s: out of memory building the boot information", spec->kernel);

    struct mb_info info = { 0 };
    uint64_t pos = sizeof(info);
    info.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP | MB_INFO_LOADER_NAME;
    info.mem_lower = 640;
    /* Above 1 MiB RAM is contiguous up to its end (the PCI window starts beyond GUEST_MEM_MAX). */
    info.mem_upper = mem->size > ONE_MIB ? (uint32_t)((mem->size - ONE_MIB) >> 10) : 0;
    info.mmap_addr = (uint32_t)(base + pos);
    info.mmap_length = (uint32_t)(sizeof(mmap[0]) * (unsigned)nmmap);
    memcpy(boot->blob + pos, mmap, info.mmap_length);
    pos += info.mmap_length;
    uint64_t mods_pos = pos;
    info.mods_count = (uint32_t)spec->nmodules;
    info.mods_addr = (uint32_t)(base + pos);
    pos += sizeof(mods[0]) * (unsigned)spec->nmodules;
    info.boot_loader_name = put_str(boot->blob, base, &pos, loader_name, NULL);
    /* GRUB and QEMU pass the kernel's own path first, then the arguments. */
    info.cmdline = put_str(boot->blob, base, &pos, spec->kernel, append);
    for (int i = 0; i < spec->nmodules; i++)
        mods[i].string = put_str(boot->blob, base, &pos, spec->modules[i], NULL);
    memcpy(boot->blob + mods_pos, mods, sizeof(mods[0]) * (unsigned)spec->nmodules);
    memcpy(boot->blob, &info, sizeof(info));
    boot->info_addr = (uint32_t)base;
    return loader_plan_add(plan, mem, base, boot->blob, len, len, spec->kernel,
                           "boot information", err);
}
