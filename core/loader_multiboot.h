/* Multiboot v1 layouts (Multiboot Specification 0.6.96, §3.1 header, §3.3 boot information). */
#ifndef RINGFOLD_LOADER_MULTIBOOT_H
#define RINGFOLD_LOADER_MULTIBOOT_H

#include <stdint.h>
#include "loader.h"
#include "loader_image.h"
#include "loader_plan.h"

#define MB_HEADER_MAGIC     0x1BADB002u
#define MB_BOOT_MAGIC       0x2BADB002u   /* EAX at kernel entry (§3.2) */
#define MB_SEARCH_BYTES     8192u         /* the header lies within the first 8 KiB (§3.1.1) */

/* Header flags (§3.1.2). Bits 0-15 are requirements a loader must honour or refuse. */
#define MB_HF_PAGE_ALIGN    (1u << 0)     /* modules page aligned */
#define MB_HF_MEMINFO       (1u << 1)     /* mem_* fields wanted */
#define MB_HF_VIDEO         (1u << 2)     /* video mode table: ignored by ringfold */
#define MB_HF_AOUT_KLUDGE   (1u << 16)    /* load address fields valid */
#define MB_HF_REQUIRED_MASK 0x0000ffffu
#define MB_HF_KNOWN         (MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO)

struct mb_header {
    uint32_t magic, flags, checksum;
    /* valid with MB_HF_AOUT_KLUDGE */
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
    /* valid with MB_HF_VIDEO */
    uint32_t mode_type, width, height, depth;
};
_Static_assert(sizeof(struct mb_header) == 48, "Multiboot header is 48 bytes");
#define MB_HEADER_MIN       12u           /* magic, flags, checksum */
#define MB_HEADER_AOUT_END  32u           /* through entry_addr */

/* Boot information flags (§3.3). */
#define MB_INFO_MEMORY      (1u << 0)
#define MB_INFO_BOOTDEV     (1u << 1)
#define MB_INFO_CMDLINE     (1u << 2)
#define MB_INFO_MODS        (1u << 3)
#define MB_INFO_MMAP        (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;        /* KiB below 640 KiB / above 1 MiB to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
    uint64_t framebuffer_addr;
    uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
    uint8_t  framebuffer_bpp, framebuffer_type;
    uint8_t  color_info[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mb_info) == 116, "Multiboot information is 116 bytes");
_Static_assert(__builtin_offsetof(struct mb_info, mmap_length) == 44, "mmap_length at 44");
_Static_assert(__builtin_offsetof(struct mb_info, boot_loader_name) == 64, "boot_loader_name at 64");
_Static_assert(__builtin_offsetof(struct mb_info, framebuffer_addr) == 88, "framebuffer_addr at 88");

struct mb_module {
    uint32_t mod_start, mod_end;          /* [start, end) physical */
    uint32_t string;                      /* "path args", NUL terminated */
    uint32_t reserved;
};
_Static_assert(sizeof(struct mb_module) == 16, "Multiboot module entry is 16 bytes");

/* mmap_addr points at `size`, which counts the bytes after itself (20). */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t base_addr, length;
    uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "Multiboot mmap entry is 24 bytes");
#define MB_MMAP_AVAILABLE   1u
#define MB_MMAP_RESERVED    2u

/* Where low RAM ends on ringfold's PC: the EBDA would start here on a real one. */
#define MB_LOW_RAM_END      0x9FC00u
/* Preferred place of the boot information, in free conventional memory. */
#define MB_INFO_PREFERRED   0x9000u

/* Modules and boot information (loader_mbinfo.c). The boot info blob is built in
 * *blob (malloc'd, the caller frees it) and added to plan with the modules, which are
 * read into mods[] (the caller frees them with loader_image_free). */
struct mb_boot {
    struct loader_image mods[LOADER_MAX_MODULES];
    char *paths[LOADER_MAX_MODULES];      /* module file names, for messages */
    int nmods;                            /* entries of mods/paths to free */
    uint8_t *blob;
    uint32_t info_addr;
};
int loader_mbinfo_plan(const struct guest_mem *mem, const struct boot_spec *spec,
                       struct loader_plan *plan, struct mb_boot *boot, struct rf_err *err);
void loader_mbinfo_free(struct mb_boot *boot);

#endif
