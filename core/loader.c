/* Guest image loading: reads the kernel, recognizes its format and hands it to the
 * Multiboot, Linux bzImage, plain ELF32 or boot-sector loader (loader_*.c). Detection
 * order matters: a Multiboot kernel is usually also an ELF file, and the header decides. */
#include <errno.h>
#include <stdbool.h>
#include "elf32.h"
#include "loader_bzimage.h"
#include "loader_formats.h"
#include "ringfold/vm.h"

int loader_load_image(struct guest_mem *mem, const struct boot_spec *spec, const void *data,
                      uint64_t size, struct vcpu_state *st, struct rf_err *err)
{
    struct loader_image img;
    loader_image_wrap(&img, spec->kernel ? spec->kernel : "KERNEL", data, size);
    const char *p = img.path;
    if (size == 0)
        return rf_errf(err, -EINVAL, "%s: image is empty", p);
    if (size > mem->size)
        return rf_errf(err, -EINVAL, "%s: image too big for RAM (%llu bytes, guest RAM is %llu MiB)",
                       p, (unsigned long long)size, (unsigned long long)(mem->size >> 20));
    struct boot_spec named = *spec;
    named.kernel = p;
    int64_t mb = loader_multiboot_find(&img);
    if (mb >= 0)
        return loader_multiboot_load(mem, &named, &img, (uint64_t)mb, st, err);
    bool elf = elf_has_magic(img.data, img.size);
    /* A bzImage's first sector also ends in 0x55 0xAA: its "HdrS" setup header decides. */
    if (!elf && loader_bzimage_detect(&img))
        return loader_bzimage_load(mem, &named, &img, st, err);
    if (!elf && !loader_bootsect_detect(&img))
        return rf_errf(err, -EINVAL, "%s: not a Linux bzImage, Multiboot, ELF32 or boot-sector image", p);
    /* Only the Multiboot information can carry these: refuse rather than drop them. */
    if (spec->nmodules > 0)
        return rf_errf(err, -EINVAL, "%s: modules need a Multiboot kernel (this is a %s)", p,
                       elf ? "plain ELF32 image" : "boot sector");
    if (spec->cmdline && *spec->cmdline)
        return rf_errf(err, -EINVAL, "%s: a command line needs a Multiboot kernel (this is a %s)",
                       p, elf ? "plain ELF32 image" : "boot sector");
    if (elf)
        return loader_elf_load(mem, &img, st, err);
    return loader_bootsect_load(mem, &img, st, err);
}

int loader_load(struct vm *vm, const struct boot_spec *spec, struct vcpu_state *st, struct rf_err *err)
{
    if (!spec->kernel)
        return rf_errf(err, -EINVAL, "KERNEL: no kernel image given");
    struct loader_image img;
    int rc = loader_image_read(spec->kernel, vm->mem.size, "image", &img, err);
    if (rc < 0)
        return rc;
    rc = loader_load_image(&vm->mem, spec, img.data, img.size, st, err);
    loader_image_free(&img);
    return rc;
}
