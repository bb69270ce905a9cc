/* The host timer that ends a native run at the run loop's deadline.
 *
 * Native guest code runs until it traps; a guest user loop that never traps would keep the
 * monitor out forever, so each run() arms a POSIX timer (SIGEV_THREAD_ID: the signal goes to
 * the thread running guest code) for the virtual deadline. The signal taken in guest code is an
 * exit like any trap (RAW_X_TIMER); taken while the monitor runs it only sets raw_timer_flag,
 * which raw_enter checks right before IRETQ (raw_native.S). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "raw_priv.h"

int raw_timer_create(struct raw *r, struct rf_err *err)
{
    r->timer_deadline = UINT64_MAX;
    return thread_timer_create(&r->timer, raw_timer_signal(), "raw", err);
}

void raw_timer_arm(struct raw *r, uint64_t deadline_ns)
{
    if (!r->timer.ok || deadline_ns == r->timer_deadline)
        return;
    const struct vclock *c = &r->vm->clock;
    uint64_t now_v = vclock_ns(c), host = vclock_host_ns();
    /* Realtime: guest time is host time since start. Deterministic: guest time advances with
     * the host time spent native (raw_engine.c), so the same distance applies. A period too,
     * so a signal lost in a race costs one period, never a hang. */
    uint64_t at = host + (deadline_ns > now_v ? deadline_ns - now_v : 0);
    if (thread_timer_set(&r->timer, at, 2000000) == 0)
        r->timer_deadline = deadline_ns;
}

void raw_timer_disarm(struct raw *r)
{
    thread_timer_disarm(&r->timer);
    r->timer_deadline = UINT64_MAX;
}

void raw_timer_destroy(struct raw *r)
{
    thread_timer_destroy(&r->timer);
}
