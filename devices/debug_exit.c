/* isa-debug-exit: test guests end the run by writing a value (any width) to the port; the
 * exit status (v << 1) | 1 is odd, so it never collides with ringfold's own statuses. */
#include "misc_ports.h"

void debug_exit_init(struct debug_exit *d, void (*exit_fn)(void *, uint32_t), void *opaque)
{
    d->exit = exit_fn;
    d->opaque = opaque;
    d->writes = 0;
}

static void debug_exit_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct debug_exit *d = opaque;
    (void)off;
    (void)size;   /* the bus already masked v to the access width */
    d->writes++;
    if (d->exit)
        d->exit(d->opaque, v);
}

int debug_exit_register(struct debug_exit *d, struct bus *b, uint16_t port, struct rf_err *err)
{
    return bus_register_pio(b, port, 1, "isa-debug-exit", NULL, debug_exit_write, d, err);
}
