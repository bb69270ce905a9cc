/* The image formats loader_load() dispatches to; each validates fully before writing RAM. */
#ifndef RINGFOLD_LOADER_FORMATS_H
#define RINGFOLD_LOADER_FORMATS_H

#include <stdbool.h>
#include <stdint.h>
#include "loader.h"
#include "loader_image.h"
#include "loader_plan.h"
#include "ringfold/memory.h"

/* ---- ELF32 (loader_elf.c) ---- */
/* True for an ELF file of class 32, little endian, machine 386 (type not checked). */
bool loader_elf_is_i386(const struct loader_image *img);
/* Plans every PT_LOAD at p_paddr and finds the physical entry point, which must lie in a
 * loaded segment (e_entry is matched against p_vaddr first, then p_paddr). */
int loader_elf_plan(const struct guest_mem *mem, const struct loader_image *img,
                    struct loader_plan *plan, uint32_t *entry, struct rf_err *err);
/* A plain ELF32 kernel: flat 32-bit protected mode at the entry, EAX = EBX = 0. */
int loader_elf_load(struct guest_mem *mem, const struct loader_image *img,
                    struct vcpu_state *st, struct rf_err *err);

/* ---- Multiboot v1 (loader_multiboot.c, loader_mbinfo.c) ---- */
/* Finds a Multiboot header (magic at a 4-byte aligned offset in the first 8 KiB);
 * returns its offset or -1. The checksum is checked by loader_multiboot_load. */
int64_t loader_multiboot_find(const struct loader_image *img);
int loader_multiboot_load(struct guest_mem *mem, const struct boot_spec *spec,
                          const struct loader_image *img, uint64_t hdr_off,
                          struct vcpu_state *st, struct rf_err *err);

/* ---- Boot sector (loader_bootsect.c) ---- */
bool loader_bootsect_detect(const struct loader_image *img);
int loader_bootsect_load(struct guest_mem *mem, const struct loader_image *img,
                         struct vcpu_state *st, struct rf_err *err);

#endif
