/* ELF32 file layout (System V ABI, Intel386 supplement): only what the loaders read. */
#ifndef RINGFOLD_ELF32_H
#define RINGFOLD_ELF32_H

#include <stdint.h>

/* e_ident bytes (gABI "ELF Identification"). */
#define ELF_EI_CLASS    4
#define ELF_EI_DATA     5
#define ELF_EI_VERSION  6
#define ELF_EI_NIDENT   16
#define ELF_CLASS32     1
#define ELF_DATA2LSB    1
#define ELF_EV_CURRENT  1

#define ELF_ET_EXEC     2
#define ELF_EM_386      3

#define ELF_PT_LOAD     1
/* e_phnum == PN_XNUM means the real count is in section header 0: no kernel does this. */
#define ELF_PN_XNUM     0xffffu

struct elf32_ehdr {
    uint8_t  e_ident[ELF_EI_NIDENT];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint32_t e_entry;
    uint32_t e_phoff;
    uint32_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};

struct elf32_phdr {
    uint32_t p_type;
    uint32_t p_offset;
    uint32_t p_vaddr;
    uint32_t p_paddr;
    uint32_t p_filesz;
    uint32_t p_memsz;
    uint32_t p_flags;
    uint32_t p_align;
};

/* The file format is fixed: these are what a conforming ELF32 file holds byte for byte. */
_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 file header is 52 bytes");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header is 32 bytes");

/* True when the first bytes are "\x7fELF". */
static inline int elf_has_magic(const uint8_t *p, uint64_t size)
{
    return size >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
}

#endif
