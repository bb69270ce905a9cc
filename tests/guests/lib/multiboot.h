/* Multiboot v1 information structure as the loader hands it to a guest kernel
 * (Multiboot Specification 0.6.96, section 3.3 "Boot information format"). */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u   /* in EAX at entry */

/* Bits of multiboot_info.flags saying which fields are valid. */
#define MULTIBOOT_INFO_MEMORY      (1u << 0)    /* mem_lower, mem_upper */
#define MULTIBOOT_INFO_BOOTDEV     (1u << 1)
#define MULTIBOOT_INFO_CMDLINE     (1u << 2)
#define MULTIBOOT_INFO_MODS        (1u << 3)
#define MULTIBOOT_INFO_MMAP        (1u << 6)    /* mmap_length, mmap_addr */
#define MULTIBOOT_INFO_LOADER_NAME (1u << 9)

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;          /* KiB below 1 MiB */
    uint32_t mem_upper;          /* KiB above 1 MiB, up to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;            /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;        /* bytes of the memory map buffer */
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info;
    uint32_t vbe_mode_info;
    uint16_t vbe_mode;
    uint16_t vbe_interface_seg;
    uint16_t vbe_interface_off;
    uint16_t vbe_interface_len;
};
_Static_assert(sizeof(struct multiboot_info) == 88, "multiboot_info layout (spec 3.3)");

/* One memory map entry. `size` does not count itself: the next entry starts at
 * (char *)entry + entry->size + 4 (spec 3.3, "mmap_*"). */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;               /* 1 = available RAM, 3 = ACPI, 4 = NVS, 5 = bad, else reserved */
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "multiboot mmap entry layout");

struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t string;
    uint32_t reserved;
};
_Static_assert(sizeof(struct multiboot_module) == 16, "multiboot module layout");

#endif
