/* Small fixed-function ports: fast A20/reset (0x92), isa-debug-exit (0xF4), the Bochs/QEMU
 * debug console (0xE9) and the POST code port (0x80). One .c file each. */
#ifndef RINGFOLD_DEV_MISC_PORTS_H
#define RINGFOLD_DEV_MISC_PORTS_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/err.h"

/* Port 0x92, PS/2 system control port A: bit 1 A20 gate, bit 0 fast reset. */
struct port92 {
    uint8_t value;
    void (*reset)(void *opaque);
    void *opaque;
    uint64_t resets;
};
void port92_init(struct port92 *p, void (*reset)(void *), void *opaque);
int port92_register(struct port92 *p, struct bus *b, struct rf_err *err);
static inline bool port92_a20(const struct port92 *p) { return p->value & 0x02; }

/* isa-debug-exit at 0xF4 (QEMU convention): a write of v ends the run with status (v << 1) | 1. */
struct debug_exit {
    void (*exit)(void *opaque, uint32_t value);
    void *opaque;
    uint64_t writes;
};
void debug_exit_init(struct debug_exit *d, void (*exit_fn)(void *, uint32_t), void *opaque);
int debug_exit_register(struct debug_exit *d, struct bus *b, uint16_t port, struct rf_err *err);

/* Port 0xE9 debug console: bytes written go to the same console as the UART's output
 * (so both streams interleave in order); reads return 0xE9, which guests use to detect it. */
struct debugcon {
    void (*write)(void *opaque, uint8_t byte);
    void *opaque;
    uint64_t bytes;
};
void debugcon_init(struct debugcon *d, void (*write)(void *, uint8_t), void *opaque);
int debugcon_register(struct debugcon *d, struct bus *b, struct rf_err *err);

/* Port 0x80: POST codes (and Linux's I/O delay writes): the last value is kept and read back,
 * and each write is shown with --trace post. */
struct post_code {
    uint8_t last;
    uint64_t writes;
};
void post_code_init(struct post_code *p);
int post_code_register(struct post_code *p, struct bus *b, struct rf_err *err);

#endif
