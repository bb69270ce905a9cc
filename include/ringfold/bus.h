/* The engine-neutral port-I/O and MMIO bus that devices register on. */
#ifndef RINGFOLD_BUS_H
#define RINGFOLD_BUS_H

#include <stdint.h>
#include "err.h"

/* Device callbacks: offset is relative to the registered base, size is 1, 2 or 4. */
typedef uint32_t (*bus_read_fn)(void *opaque, uint32_t offset, unsigned size);
typedef void (*bus_write_fn)(void *opaque, uint32_t offset, uint32_t value, unsigned size);

struct bus_region {
    const char *name;
    uint64_t base, len;
    bus_read_fn read;     /* NULL: reads as unassigned */
    bus_write_fn write;   /* NULL: writes dropped */
    void *opaque;
};

#define BUS_MAX_PIO  64
#define BUS_MAX_MMIO 16

struct bus_stats {
    uint64_t pio_reads, pio_writes, mmio_reads, mmio_writes;
    uint64_t unassigned_pio_reads, unassigned_pio_writes;
    uint64_t unassigned_mmio_reads, unassigned_mmio_writes;
};

struct bus {
    struct bus_region pio[BUS_MAX_PIO];
    struct bus_region mmio[BUS_MAX_MMIO];
    int npio, nmmio;
    uint8_t port_map[65536];   /* port -> 1 + index into pio[], 0 = unassigned */
    struct bus_stats stats;
    /* Hook for --trace io: called for every access when set. */
    void (*trace)(void *opaque, int is_mmio, int is_write, uint64_t addr, uint32_t value, unsigned size);
    void *trace_opaque;
};

void bus_init(struct bus *b);
int bus_register_pio(struct bus *b, uint16_t base, uint32_t len, const char *name,
                     bus_read_fn rd, bus_write_fn wr, void *opaque, struct rf_err *err);
int bus_register_mmio(struct bus *b, uint64_t base, uint64_t len, const char *name,
                      bus_read_fn rd, bus_write_fn wr, void *opaque, struct rf_err *err);

/* Unassigned ports read all-ones, unassigned MMIO reads 0; writes to either are dropped. */
uint32_t bus_pio_read(struct bus *b, uint16_t port, unsigned size);
void bus_pio_write(struct bus *b, uint16_t port, uint32_t value, unsigned size);
uint32_t bus_mmio_read(struct bus *b, uint64_t addr, unsigned size);
void bus_mmio_write(struct bus *b, uint64_t addr, uint32_t value, unsigned size);

#endif
