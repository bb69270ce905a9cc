/* Intel 8042 keyboard controller (0x60 data, 0x64 status/command) with a minimal keyboard. */
#ifndef RINGFOLD_DEV_I8042_H
#define RINGFOLD_DEV_I8042_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/err.h"
#include "ringfold/irq.h"

#define I8042_QUEUE 16
#define I8042_FROM_AUX 0x01   /* byte came from the auxiliary port (status bit 5) */
#define I8042_TIMEOUT  0x02   /* the device did not answer (status bit 6) */

struct i8042_stats {
    uint64_t commands, kbd_commands, irqs, aux_irqs, resets;
};

struct i8042 {
    uint8_t status;          /* SYS and A2 bits kept here; OBF computed from the buffer */
    uint8_t ram[32];         /* controller RAM; ram[0] is the command byte */
    uint8_t out_port;        /* bit 0 system reset (active low), bit 1 A20 gate */
    uint8_t pending_cmd;     /* controller command waiting for its data byte (0: none) */
    uint8_t kbd_pending;     /* keyboard command waiting for its parameter (0: none) */
    uint8_t obuf;            /* output buffer (last byte, re-read when empty) */
    uint8_t obuf_flags;      /* I8042_FROM_AUX / I8042_TIMEOUT for the byte in obuf */
    bool obf;
    uint16_t queue[I8042_QUEUE];   /* byte | flags << 8 */
    unsigned qhead, qcount;
    bool irq_level, aux_irq_level;
    struct irq_line irq;     /* IRQ 1: keyboard bytes */
    struct irq_line aux_irq; /* IRQ 12: auxiliary-port bytes */
    /* Platform hooks: reset pulse and A20 gate changes (either may be NULL). */
    void (*reset)(void *opaque);
    void (*set_a20)(void *opaque, bool on);
    void *hook_opaque;
    struct i8042_stats stats;
};

void i8042_init(struct i8042 *k, struct irq_line irq1, struct irq_line irq12, void (*reset)(void *),
                void (*set_a20)(void *, bool), void *hook_opaque);
int i8042_register(struct i8042 *k, struct bus *b, struct rf_err *err);
/* A byte from the keyboard (scan code) enters the output queue. */
void i8042_kbd_push(struct i8042 *k, uint8_t byte);

#endif
