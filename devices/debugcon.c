/* Port 0xE9 debug console (Bochs "port E9 hack", QEMU -debugcon): one byte per write. */
#include "misc_ports.h"

void debugcon_init(struct debugcon *d, void (*write)(void *, uint8_t), void *opaque)
{
    d->write = write;
    d->opaque = opaque;
    d->bytes = 0;
}

static uint32_t debugcon_read(void *opaque, uint32_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return 0xe9;
}

static void debugcon_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct debugcon *d = opaque;
    (void)off;
    (void)size;
    d->bytes++;
    if (d->write)
        d->write(d->opaque, (uint8_t)v);
}

int debugcon_register(struct debugcon *d, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0xe9, 1, "debugcon", debugcon_read, debugcon_write, d, err);
}
