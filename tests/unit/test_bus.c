/* Unit tests for the port/MMIO bus: dispatch, offsets, unassigned behaviour, overlaps. */
#include <criterion/criterion.h>
#include "ringfold/bus.h"

struct fake { uint32_t last_off, last_val; unsigned last_size; int writes; };

static uint32_t fake_read(void *o, uint32_t off, unsigned size)
{
    (void)o;
    return 0x12345600u | off | (size << 4);
}

static void fake_write(void *o, uint32_t off, uint32_t v, unsigned size)
{
    struct fake *f = o;
    f->last_off = off;
    f->last_val = v;
    f->last_size = size;
    f->writes++;
}

static struct bus b;

Test(bus, pio_dispatch_offsets_and_masking)
{
    struct fake f = { 0 };
    bus_init(&b);
    cr_assert_eq(bus_register_pio(&b, 0x3f8, 8, "uart", fake_read, fake_write, &f, NULL), 0);
    cr_assert_eq(bus_pio_read(&b, 0x3fa, 1), 0x12u);          /* 0x..12 masked to one byte */
    cr_assert_eq(bus_pio_read(&b, 0x3f9, 2), 0x5621u);
    bus_pio_write(&b, 0x3fd, 0x1ff, 1);
    cr_assert_eq(f.last_off, 5);
    cr_assert_eq(f.last_val, 0xff);
    cr_assert_eq(b.stats.pio_writes, 1);
}

Test(bus, unassigned_ports_read_all_ones_and_mmio_zero)
{
    bus_init(&b);
    cr_assert_eq(bus_pio_read(&b, 0x279, 1), 0xffu);
    cr_assert_eq(bus_pio_read(&b, 0xcfc, 4), 0xffffffffu);
    cr_assert_eq(bus_pio_read(&b, 0x2e, 2), 0xffffu);
    cr_assert_eq(bus_mmio_read(&b, 0xfee00000u, 4), 0u);
    bus_pio_write(&b, 0x80, 1, 1);
    bus_mmio_write(&b, 0xa0000, 1, 1);
    cr_assert_eq(b.stats.unassigned_pio_reads, 3);
    cr_assert_eq(b.stats.unassigned_pio_writes, 1);
    cr_assert_eq(b.stats.unassigned_mmio_reads, 1);
    cr_assert_eq(b.stats.unassigned_mmio_writes, 1);
}

Test(bus, overlapping_registrations_are_refused)
{
    struct rf_err e;
    bus_init(&b);
    cr_assert_eq(bus_register_pio(&b, 0x60, 1, "kbd", fake_read, NULL, NULL, NULL), 0);
    cr_assert_lt(bus_register_pio(&b, 0x5f, 2, "clash", fake_read, NULL, NULL, &e), 0);
    cr_assert(strstr(e.msg, "kbd") != NULL);
    cr_assert_lt(bus_register_pio(&b, 0xffff, 2, "wrap", fake_read, NULL, NULL, NULL), 0);
    cr_assert_eq(bus_register_mmio(&b, 0xfec00000u, 0x1000, "ioapic", fake_read, NULL, NULL, NULL), 0);
    cr_assert_lt(bus_register_mmio(&b, 0xfec00800u, 0x1000, "clash", fake_read, NULL, NULL, NULL), 0);
    cr_assert_eq(bus_mmio_read(&b, 0xfec00010u, 1), 0x10u);   /* offset 0x10 | size 1 << 4 */
}
