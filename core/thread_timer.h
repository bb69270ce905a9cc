/* A one-thread host timer for engines: a POSIX timer that signals the calling thread (the one
 * running guest code), so a native run or KVM_RUN comes back at the slice deadline. */
#ifndef RINGFOLD_CORE_THREAD_TIMER_H
#define RINGFOLD_CORE_THREAD_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "ringfold/err.h"

struct thread_timer {
    timer_t id;
    bool ok;
};

/* Creates the timer on CLOCK_MONOTONIC, delivering signo to the calling thread. who names the
 * engine in the error message. */
int thread_timer_create(struct thread_timer *t, int signo, const char *who, struct rf_err *err);
/* Fires at host monotonic time at_ns (vclock_host_ns() terms), then every period_ns (0: once).
 * Returns 0 or -errno. */
int thread_timer_set(struct thread_timer *t, uint64_t at_ns, uint64_t period_ns);
void thread_timer_disarm(struct thread_timer *t);
void thread_timer_destroy(struct thread_timer *t);

#endif
