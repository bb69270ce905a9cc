/* The virtual clock and its timers. Realtime mode follows the host monotonic clock;
 * deterministic mode derives time from retired instructions (and skips ahead while the
 * guest is halted), so a test run sees the same interrupts at the same instructions. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include "ringfold/clock.h"

uint64_t vclock_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vclock_init(struct vclock *c, bool deterministic)
{
    c->deterministic = deterministic;
    c->host_start_ns = vclock_host_ns();
    c->icount = 0;
    c->det_skip_ns = 0;
    c->armed = NULL;
}

void vclock_wait_until(struct vclock *c, uint64_t t, int wake_fd)
{
    uint64_t now = vclock_ns(c);
    if (now >= t)
        return;
    if (c->deterministic) {
        c->det_skip_ns += t - now;
        return;
    }
    /* Nanosecond sleeps: rounding to whole milliseconds loses ticks of a 1 kHz PIT. */
    uint64_t left = t - now;
    if (left > 100000000ull)
        left = 100000000ull;
    struct timespec ts = { (time_t)(left / 1000000000ull), (long)(left % 1000000000ull) };
    if (wake_fd >= 0) {
        struct pollfd p = { .fd = wake_fd, .events = POLLIN };
        ppoll(&p, 1, &ts, NULL);
    } else {
        nanosleep(&ts, NULL);
    }
}

void vtimer_init(struct vtimer *t, vtimer_fn fn, void *opaque)
{
    t->deadline = UINT64_MAX;
    t->fn = fn;
    t->opaque = opaque;
    t->next = NULL;
    t->armed = false;
}

void vtimer_del(struct vclock *c, struct vtimer *t)
{
    if (!t->armed)
        return;
    for (struct vtimer **pp = &c->armed; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
    t->deadline = UINT64_MAX;
}

void vtimer_mod(struct vclock *c, struct vtimer *t, uint64_t deadline_ns)
{
    vtimer_del(c, t);
    t->deadline = deadline_ns;
    struct vtimer **pp = &c->armed;
    while (*pp && (*pp)->deadline <= deadline_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = true;
}

uint64_t vclock_run_timers(struct vclock *c)
{
    uint64_t now = vclock_ns(c);
    while (c->armed && c->armed->deadline <= now) {
        struct vtimer *t = c->armed;
        c->armed = t->next;
        t->armed = false;
        t->next = NULL;
        t->fn(t->opaque, now);     /* may re-arm itself */
    }
    return vclock_next_deadline(c);
}
