/* Builders of small guest images in memory (ELF32, Multiboot ELF, Multiboot a.out kludge,
 * boot sector), shared by the loader unit tests and the fuzz seeds. Test-only code. */
#ifndef RINGFOLD_TESTS_LOADER_IMAGES_H
#define RINGFOLD_TESTS_LOADER_IMAGES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "elf32.h"
#include "loader_multiboot.h"

struct timg {
    uint8_t *data;
    size_t size;
};

struct timg_seg {
    uint32_t paddr, vaddr, filesz, memsz;
    uint8_t seed;       /* file bytes are seed + offset, so misplaced data is visible */
};

/* Where the builders put things in the file. */
#define TIMG_PHOFF      52u
#define TIMG_MB_OFF     0x200u      /* Multiboot header in ELF images */
#define TIMG_DATA_OFF   0x1000u     /* first segment's file data */

static inline uint8_t timg_byte(uint8_t seed, uint32_t i)
{
    return (uint8_t)(seed + i * 7u + (i >> 8));
}

static inline void timg_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A Multiboot header with the given flags and a correct checksum at p. */
static inline void timg_mb_header(uint8_t *p, uint32_t flags)
{
    timg_put32(p, MB_HEADER_MAGIC);
    timg_put32(p + 4, flags);
    timg_put32(p + 8, 0u - MB_HEADER_MAGIC - flags);
}

static inline void timg_mb_fix_checksum(struct timg *t, uint32_t off)
{
    uint32_t flags;
    memcpy(&flags, t->data + off + 4, 4);
    timg_put32(t->data + off + 8, 0u - MB_HEADER_MAGIC - flags);
}

/* ELF32 EM_386 ET_EXEC with one PT_LOAD per segment, file data page aligned from
 * TIMG_DATA_OFF; with multiboot, a header with mb_flags at TIMG_MB_OFF. */
static inline struct timg timg_elf(const struct timg_seg *segs, int n, uint32_t entry,
                                   bool multiboot, uint32_t mb_flags)
{
    size_t size = TIMG_DATA_OFF;
    for (int i = 0; i < n; i++)
        size += (segs[i].filesz + 0xfffu) & ~0xfffu;
    struct timg t = { calloc(1, size), size };
    struct elf32_ehdr eh = { .e_type = ELF_ET_EXEC, .e_machine = ELF_EM_386,
                             .e_version = ELF_EV_CURRENT, .e_entry = entry,
                             .e_phoff = TIMG_PHOFF, .e_ehsize = sizeof(struct elf32_ehdr),
                             .e_phentsize = sizeof(struct elf32_phdr), .e_phnum = (uint16_t)n };
    memcpy(eh.e_ident, "\x7f" "ELF", 4);
    eh.e_ident[ELF_EI_CLASS] = ELF_CLASS32;
    eh.e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
    eh.e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
    memcpy(t.data, &eh, sizeof(eh));
    uint32_t off = TIMG_DATA_OFF;
    for (int i = 0; i < n; i++) {
        struct elf32_phdr ph = { .p_type = ELF_PT_LOAD, .p_offset = off, .p_vaddr = segs[i].vaddr,
                                 .p_paddr = segs[i].paddr, .p_filesz = segs[i].filesz,
                                 .p_memsz = segs[i].memsz, .p_flags = 7, .p_align = 0x1000 };
        memcpy(t.data + TIMG_PHOFF + (size_t)i * sizeof(ph), &ph, sizeof(ph));
        for (uint32_t j = 0; j < segs[i].filesz; j++)
            t.data[off + j] = timg_byte(segs[i].seed, j);
        off += (segs[i].filesz + 0xfffu) & ~0xfffu;
    }
    if (multiboot)
        timg_mb_header(t.data + TIMG_MB_OFF, mb_flags);
    return t;
}

/* Multiboot a.out kludge image: text_size bytes loaded at load_addr, the header at file
 * offset hdr_off (so header_addr = load_addr + hdr_off), bss bytes of .bss after it. */
static inline struct timg timg_aout(uint32_t load_addr, uint32_t text_size, uint32_t bss,
                                    uint32_t entry_off, uint32_t hdr_off)
{
    struct timg t = { calloc(1, text_size), text_size };
    for (uint32_t j = 0; j < text_size; j++)
        t.data[j] = timg_byte(0x40, j);
    uint8_t *h = t.data + hdr_off;
    uint32_t flags = MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_AOUT_KLUDGE;
    timg_mb_header(h, flags);
    timg_put32(h + 12, load_addr + hdr_off);            /* header_addr */
    timg_put32(h + 16, load_addr);                      /* load_addr */
    timg_put32(h + 20, load_addr + text_size);          /* load_end_addr */
    timg_put32(h + 24, bss ? load_addr + text_size + bss : 0);  /* bss_end_addr */
    timg_put32(h + 28, load_addr + entry_off);          /* entry_addr */
    return t;
}

/* 512-byte boot sector with the 0x55 0xAA signature. */
static inline struct timg timg_bootsect(void)
{
    struct timg t = { calloc(1, 512), 512 };
    for (uint32_t j = 0; j < 510; j++)
        t.data[j] = timg_byte(0x11, j);
    t.data[510] = 0x55;
    t.data[511] = 0xAA;
    return t;
}

#endif
