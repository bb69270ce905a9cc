/* Port 0x61 (system control port B): bit 0 gates PIT channel 2, bit 1 enables the speaker,
 * bit 4 toggles with every DRAM refresh cycle (15.085 us) and bit 5 shows channel 2's OUT.
 * Linux calibrates the TSC by polling bit 5 with channel 2 in mode 0. */
#include "port61.h"

#define PORT61_REFRESH_NS 15085u

void port61_init(struct port61 *p, struct pit8254 *pit)
{
    p->pit = pit;
    p->value = 0;
}

static uint32_t port61_read(void *opaque, uint32_t off, unsigned size)
{
    struct port61 *p = opaque;
    (void)off;
    (void)size;
    uint64_t ns = vclock_ns(p->pit->clock);
    uint8_t v = p->value & 0x0f;
    if ((ns / PORT61_REFRESH_NS) & 1)
        v |= 0x10;
    if (pit_get_out(p->pit, 2))
        v |= 0x20;
    return v;   /* bits 6, 7 (IOCHK, parity error) never set: no such errors here */
}

static void port61_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct port61 *p = opaque;
    (void)off;
    (void)size;
    p->value = (uint8_t)(v & 0x0f);
    pit_set_gate(p->pit, 2, v & 1);
}

int port61_register(struct port61 *p, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0x61, 1, "port61", port61_read, port61_write, p, err);
}
