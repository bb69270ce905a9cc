/* Boot sectors: 512 bytes run at 0000:7C00 in real mode, as a PC BIOS hands over to the
 * first sector of a disk. ringfold has no BIOS: the interrupt vector table is all zeros,
 * so a boot sector that calls INT 10h/13h/16h jumps to 0000:0000 (use port I/O instead). */
#include <string.h>
#include "loader_formats.h"

#define BOOTSECT_SIZE 512u
#define BOOTSECT_ADDR 0x7C00u
#define BIOS_BOOT_DRIVE 0x80u   /* DL: the first hard disk, what a BIOS passes when booting one */

static bool name_is_raw(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && (!strcmp(path + n - 4, ".bin") || !strcmp(path + n - 4, ".img"));
}

bool loader_bootsect_detect(const struct loader_image *img)
{
    if (img->size < 2 || img->size > BOOTSECT_SIZE)
        return false;
    bool sig = img->data[img->size - 2] == 0x55 && img->data[img->size - 1] == 0xAA;
    /* A short file counts only when its name says it is a raw image. */
    return sig && (img->size == BOOTSECT_SIZE || name_is_raw(img->path));
}

int loader_bootsect_load(struct guest_mem *mem, const struct loader_image *img,
                         struct vcpu_state *st, struct rf_err *err)
{
    struct loader_plan plan = { .n = 0 };
    int rc = loader_plan_add(&plan, mem, BOOTSECT_ADDR, img->data, img->size, img->size,
                             img->path, "boot sector", err);
    if (rc < 0)
        return rc;
    loader_plan_commit(&plan, mem);
    vcpu_state_reset(st);
    st->seg[S_CS].sel = 0;
    st->seg[S_CS].base = 0;
    st->eip = BOOTSECT_ADDR;
    st->gpr[R_EDX] = BIOS_BOOT_DRIVE;
    /* The stack grows down from just below the sector, the conventional BIOS hand-over. */
    st->seg[S_SS].sel = 0;
    st->seg[S_SS].base = 0;
    st->gpr[R_ESP] = BOOTSECT_ADDR;
    return 0;
}
