/* Port 0x92 (PS/2 "system control port A", fast A20 and reset): bit 1 gates A20 (ORed with
 * the i8042's output port by the platform), a 0-to-1 transition of bit 0 resets the CPU. */
#include "misc_ports.h"

void port92_init(struct port92 *p, void (*reset)(void *), void *opaque)
{
    p->value = 0;
    p->reset = reset;
    p->opaque = opaque;
    p->resets = 0;
}

static uint32_t port92_read(void *opaque, uint32_t off, unsigned size)
{
    struct port92 *p = opaque;
    (void)off;
    (void)size;
    return p->value;
}

static void port92_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct port92 *p = opaque;
    (void)off;
    (void)size;
    bool pulse = (v & 1) && !(p->value & 1);
    p->value = (uint8_t)(v & 0x03);
    if (pulse) {
        p->resets++;
        if (p->reset)
            p->reset(p->opaque);
    }
}

int port92_register(struct port92 *p, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0x92, 1, "port92", port92_read, port92_write, p, err);
}
