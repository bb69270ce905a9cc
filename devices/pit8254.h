/* Intel 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz of guest time. */
#ifndef RINGFOLD_DEV_PIT8254_H
#define RINGFOLD_DEV_PIT8254_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/clock.h"
#include "ringfold/err.h"
#include "ringfold/irq.h"

#define PIT_HZ 1193182u

struct pit8254;

struct pit_channel {
    struct pit8254 *pit;
    int index;
    uint8_t mode;            /* 0-5 (6, 7 alias 2, 3) */
    uint8_t rw;              /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    bool gate;
    bool armed;              /* a count was loaded and (modes 1, 5) triggered */
    bool null_count;         /* count written but not yet loaded into the counting element */
    bool write_msb_next;     /* rw 3: next write is the MSB */
    bool read_msb_next;      /* rw 3: next read is the MSB */
    bool count_latched, status_latched;
    bool latch_msb_next;     /* rw 3: next read of a latched count is its MSB */
    uint8_t write_lsb;       /* rw 3: the LSB waiting for its MSB */
    uint8_t status;
    uint16_t latched;
    uint32_t count;          /* reload value in clock ticks: 1..65536 (or 1..10000 in BCD) */
    uint16_t written;        /* raw value as written (BCD digits in BCD mode) */
    uint64_t load_tick;      /* PIT tick at which counting started */
    uint32_t frozen;         /* modes 0/4 with gate low: count left when the gate fell */
    bool frozen_valid;
    bool out;                /* output level last driven on the IRQ line */
    struct irq_line irq;     /* channel 0: IRQ 0; others unconnected */
    struct vtimer timer;
    uint64_t event_tick;     /* tick (absolute) of the output change the timer is armed for */
};

struct pit_stats {
    uint64_t reprograms;     /* control words and counts written */
    uint64_t irq_edges;      /* rising edges on channel 0's output */
    uint64_t latches, readbacks;
};

struct pit8254 {
    struct pit_channel ch[3];
    struct vclock *clock;
    struct pit_stats stats;
};

/* Channel 0's output drives irq0 (may be unconnected). Gates 0 and 1 are tied high. */
void pit_init(struct pit8254 *pit, struct vclock *clock, struct irq_line irq0);
int pit_register(struct pit8254 *pit, struct bus *b, struct rf_err *err);
/* Gate input and output level of a channel (for port 0x61: channel 2). */
void pit_set_gate(struct pit8254 *pit, int ch, bool level);
bool pit_get_out(struct pit8254 *pit, int ch);
/* PIT clock ticks since VM start. */
uint64_t pit_now_tick(const struct pit8254 *pit);

#endif
