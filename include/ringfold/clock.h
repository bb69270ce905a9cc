/* Guest time: the host monotonic clock, or a deterministic clock derived from the instruction count. */
#ifndef RINGFOLD_CLOCK_H
#define RINGFOLD_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* In deterministic mode one retired guest instruction advances time by this much. */
#define VCLOCK_DET_NS_PER_INSN 1

struct vtimer;
typedef void (*vtimer_fn)(void *opaque, uint64_t now_ns);

struct vtimer {
    uint64_t deadline;        /* ns on the virtual clock; UINT64_MAX = not armed */
    vtimer_fn fn;
    void *opaque;
    struct vtimer *next;      /* armed list, sorted by deadline */
    bool armed;
};

struct vclock {
    bool deterministic;
    uint64_t host_start_ns;   /* realtime: host monotonic time at VM start */
    uint64_t icount;          /* instructions retired, updated by the engine */
    uint64_t det_skip_ns;     /* deterministic: time skipped while halted */
    struct vtimer *armed;
};

void vclock_init(struct vclock *c, bool deterministic);
uint64_t vclock_host_ns(void);

/* Current guest time in ns since VM start. */
static inline uint64_t vclock_ns(const struct vclock *c)
{
    if (c->deterministic)
        return c->icount * VCLOCK_DET_NS_PER_INSN + c->det_skip_ns;
    return vclock_host_ns() - c->host_start_ns;
}

/* Halted guest: jump (deterministic) or sleep (realtime) until t, or until *wake becomes non-zero. */
void vclock_wait_until(struct vclock *c, uint64_t t, int wake_fd);

void vtimer_init(struct vtimer *t, vtimer_fn fn, void *opaque);
void vtimer_mod(struct vclock *c, struct vtimer *t, uint64_t deadline_ns);
void vtimer_del(struct vclock *c, struct vtimer *t);
/* Runs every timer whose deadline has passed; returns the next deadline (UINT64_MAX if none). */
uint64_t vclock_run_timers(struct vclock *c);
static inline uint64_t vclock_next_deadline(const struct vclock *c)
{
    return c->armed ? c->armed->deadline : UINT64_MAX;
}

#endif
