/* Guest physical memory: one memfd shared by every engine, with MMIO holes. */
#ifndef RINGFOLD_MEMORY_H
#define RINGFOLD_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include "err.h"

#define GUEST_MEM_DEFAULT   (128ull << 20)
#define GUEST_MEM_MIN       (1ull << 20)
/* RAM above this would overlap the PCI/MMIO window below 4 GiB. */
#define GUEST_MEM_MAX       (3ull << 30)

/* The legacy VGA window is not RAM on a PC: accesses go to the MMIO bus. */
#define PC_VGA_HOLE_START   0xA0000u
#define PC_VGA_HOLE_END     0xC0000u

struct guest_mem {
    int fd;            /* memfd holding all guest RAM */
    uint8_t *host;     /* the monitor's own mapping of the whole memfd */
    uint64_t size;     /* bytes of RAM, guest physical 0 .. size-1 */
};

int guest_mem_init(struct guest_mem *m, uint64_t size, struct rf_err *err);
void guest_mem_destroy(struct guest_mem *m);

/* True when [pa, pa+len) is entirely RAM (not a hole, not past the end). */
bool guest_mem_is_ram(const struct guest_mem *m, uint64_t pa, uint64_t len);

/* Host pointer for RAM at pa, or NULL when pa is not RAM. */
static inline uint8_t *guest_mem_ptr(const struct guest_mem *m, uint64_t pa)
{
    if (pa >= m->size || (pa >= PC_VGA_HOLE_START && pa < PC_VGA_HOLE_END))
        return 0;
    return m->host + pa;
}

/* Copies into/out of RAM; fail with -EFAULT when any byte is not RAM. */
int guest_mem_write(struct guest_mem *m, uint64_t pa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *m, uint64_t pa, void *dst, uint64_t len);

#endif
