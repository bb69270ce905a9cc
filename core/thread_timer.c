/* One-thread host timers for the engines (thread_timer.h): SIGEV_THREAD_ID so the signal
 * interrupts exactly the thread that runs guest code. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "thread_timer.h"

int thread_timer_create(struct thread_timer *t, int signo, const char *who, struct rf_err *err)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
    sev._sigev_un._tid = gettid();
    t->ok = false;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) < 0)
        return rf_errf(err, -errno, "%s: timer_create for the deadline timer: %s", who, strerror(errno));
    t->ok = true;
    return 0;
}

int thread_timer_set(struct thread_timer *t, uint64_t at_ns, uint64_t period_ns)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(at_ns % 1000000000ull);
    if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
        its.it_value.tv_nsec = 1;       /* zero would disarm */
    its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
    return timer_settime(t->id, TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

void thread_timer_disarm(struct thread_timer *t)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (t->ok)
        timer_settime(t->id, 0, &its, NULL);
}

void thread_timer_destroy(struct thread_timer *t)
{
    if (t->ok)
        timer_delete(t->id);
    t->ok = false;
}
