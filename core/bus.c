/* Port-I/O and MMIO dispatch. Ports resolve through a 64 K table (one load per access);
 * unassigned ports read all-ones and unassigned MMIO reads 0, as on QEMU's PC. */
#include <errno.h>
#include <string.h>
#include "ringfold/bus.h"

void bus_init(struct bus *b)
{
    memset(b, 0, sizeof(*b));
}

int bus_register_pio(struct bus *b, uint16_t base, uint32_t len, const char *name,
                     bus_read_fn rd, bus_write_fn wr, void *opaque, struct rf_err *err)
{
    if (len == 0 || base + len > 0x10000)
        return rf_errf(err, -EINVAL, "bus: %s: port range %#x+%u out of bounds", name, base, len);
    if (b->npio == BUS_MAX_PIO)
        return rf_errf(err, -ENOSPC, "bus: %s: too many port regions", name);
    for (uint32_t p = base; p < base + len; p++)
        if (b->port_map[p])
            return rf_errf(err, -EBUSY, "bus: %s: port %#x already taken by %s", name, p,
                           b->pio[b->port_map[p] - 1].name);
    struct bus_region *r = &b->pio[b->npio++];
    *r = (struct bus_region){ name, base, len, rd, wr, opaque };
    for (uint32_t p = base; p < base + len; p++)
        b->port_map[p] = (uint8_t)b->npio;
    return 0;
}

int bus_register_mmio(struct bus *b, uint64_t base, uint64_t len, const char *name,
                      bus_read_fn rd, bus_write_fn wr, void *opaque, struct rf_err *err)
{
    if (len == 0 || base + len < base || base + len > (1ull << 32))
        return rf_errf(err, -EINVAL, "bus: %s: MMIO range out of bounds", name);
    if (b->nmmio == BUS_MAX_MMIO)
        return rf_errf(err, -ENOSPC, "bus: %s: too many MMIO regions", name);
    for (int i = 0; i < b->nmmio; i++)
        if (base < b->mmio[i].base + b->mmio[i].len && b->mmio[i].base < base + len)
            return rf_errf(err, -EBUSY, "bus: %s overlaps %s", name, b->mmio[i].name);
    b->mmio[b->nmmio++] = (struct bus_region){ name, base, len, rd, wr, opaque };
    return 0;
}

static uint32_t size_mask(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

uint32_t bus_pio_read(struct bus *b, uint16_t port, unsigned size)
{
    uint8_t idx = b->port_map[port];
    uint32_t v;
    b->stats.pio_reads++;
    if (idx && b->pio[idx - 1].read) {
        struct bus_region *r = &b->pio[idx - 1];
        v = r->read(r->opaque, port - (uint32_t)r->base, size) & size_mask(size);
    } else {
        b->stats.unassigned_pio_reads++;
        v = size_mask(size);
    }
    if (b->trace)
        b->trace(b->trace_opaque, 0, 0, port, v, size);
    return v;
}

void bus_pio_write(struct bus *b, uint16_t port, uint32_t value, unsigned size)
{
    uint8_t idx = b->port_map[port];
    b->stats.pio_writes++;
    value &= size_mask(size);
    if (b->trace)
        b->trace(b->trace_opaque, 0, 1, port, value, size);
    if (idx && b->pio[idx - 1].write) {
        struct bus_region *r = &b->pio[idx - 1];
        r->write(r->opaque, port - (uint32_t)r->base, value, size);
    } else {
        b->stats.unassigned_pio_writes++;
    }
}

static struct bus_region *mmio_find(struct bus *b, uint64_t addr)
{
    for (int i = 0; i < b->nmmio; i++)
        if (addr - b->mmio[i].base < b->mmio[i].len)
            return &b->mmio[i];
    return NULL;
}

uint32_t bus_mmio_read(struct bus *b, uint64_t addr, unsigned size)
{
    struct bus_region *r = mmio_find(b, addr);
    uint32_t v;
    b->stats.mmio_reads++;
    if (r && r->read) {
        v = r->read(r->opaque, (uint32_t)(addr - r->base), size) & size_mask(size);
    } else {
        b->stats.unassigned_mmio_reads++;
        v = 0;
    }
    if (b->trace)
        b->trace(b->trace_opaque, 1, 0, addr, v, size);
    return v;
}

void bus_mmio_write(struct bus *b, uint64_t addr, uint32_t value, unsigned size)
{
    struct bus_region *r = mmio_find(b, addr);
    b->stats.mmio_writes++;
    value &= size_mask(size);
    if (b->trace)
        b->trace(b->trace_opaque, 1, 1, addr, value, size);
    if (r && r->write)
        r->write(r->opaque, (uint32_t)(addr - r->base), value, size);
    else
        b->stats.unassigned_mmio_writes++;
}
