/* Motorola MC146818 real-time clock and CMOS memory (0x70 index + NMI mask, 0x71 data, IRQ 8). */
#ifndef RINGFOLD_DEV_RTC_CMOS_H
#define RINGFOLD_DEV_RTC_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/clock.h"
#include "ringfold/err.h"
#include "ringfold/irq.h"

/* 2026-01-01 00:00:00 UTC: the wall clock of a deterministic run. */
#define RTC_DETERMINISTIC_EPOCH 1767225600ll

struct rtc_stats {
    uint64_t irqs;           /* rising edges on IRQ 8 */
    uint64_t time_sets;      /* guest writes of the date or time */
};

struct rtc_cmos {
    uint8_t ram[128];        /* registers 0x00-0x0D and CMOS memory */
    uint8_t index;
    bool nmi_masked;         /* port 0x70 bit 7: stored for the platform, NMIs not modelled */
    int64_t base_sec;        /* wall-clock seconds (UTC) at guest time 0 */
    uint64_t accounted_ns;   /* flags PF/UF/AF are up to date until this guest time */
    bool irq_level;
    struct vclock *clock;
    struct irq_line irq;
    struct vtimer timer;
    struct rtc_stats stats;
};

/* start_sec: wall-clock time (Unix seconds, UTC) at guest time 0; mem_size: guest RAM for
 * the memory size bytes. */
void rtc_init(struct rtc_cmos *r, struct vclock *clock, struct irq_line irq, int64_t start_sec,
              uint64_t mem_size);
int rtc_register(struct rtc_cmos *r, struct bus *b, struct rf_err *err);

#endif
