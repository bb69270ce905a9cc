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
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = raw_timer_signal();
    sev._sigev_un._tid = (int)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &sev, &r->timer) != 0)
        return rf_errf(err, -errno, "raw: timer_create: %s", strerror(errno));
    r->timer_ok = true;
    r->timer_deadline = UINT64_MAX;
    return 0;
}

void raw_timer_arm(struct raw *r, uint64_t deadline_ns)
{
    if (!r->timer_ok || deadline_ns == r->timer_deadline)
        return;
    const struct vclock *c = &r->vm->clock;
    uint64_t now_v = vclock_ns(c), host = vclock_host_ns();
    /* Realtime: guest time is host time since start. Deterministic: guest time advances with
     * the host time spent native (raw_engine.c), so the same distance applies. */
    uint64_t at = host + (deadline_ns > now_v ? deadline_ns - now_v : 0);
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / 1000000000ull);
    its.it_value.tv_nsec = (long)(at % 1000000000ull);
    /* A period too, so a signal lost in a race costs one period, never a hang. */
    its.it_interval.tv_nsec = 2000000;
    if (timer_settime(r->timer, TIMER_ABSTIME, &its, NULL) == 0)
        r->timer_deadline = deadline_ns;
}

void raw_timer_destroy(struct raw *r)
{
    if (r->timer_ok)
        timer_delete(r->timer);
    r->timer_ok = false;
}
