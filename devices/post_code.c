/* Port 0x80, the POST diagnostic port: firmware progress codes and Linux's I/O delay writes. */
#include "misc_ports.h"
#include "ringfold/trace.h"

void post_code_init(struct post_code *p)
{
    p->last = 0;
    p->writes = 0;
}

static uint32_t post_code_read(void *opaque, uint32_t off, unsigned size)
{
    struct post_code *p = opaque;
    (void)off;
    (void)size;
    return p->last;
}

static void post_code_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct post_code *p = opaque;
    (void)off;
    (void)size;
    p->last = (uint8_t)v;
    p->writes++;
    if (TRACE_ON(TRACE_POST))
        trace_printf("post: %02x\n", p->last);
}

int post_code_register(struct post_code *p, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0x80, 1, "post-code", post_code_read, post_code_write, p, err);
}
