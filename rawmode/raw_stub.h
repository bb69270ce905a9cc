/* Raw phase 3: guest user code runs in stub processes, one per guest address space (raw_stub.c). */
#ifndef RINGFOLD_RAW_STUB_H
#define RINGFOLD_RAW_STUB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "ringfold/err.h"
#include "raw_ldt.h"
#include "raw_stub_proto.h"

struct raw;
struct shadow;

#define RAW_STUBS_MAX 16
#define RAW_STUBS_DEFAULT 4

/* One stub process and the monitor's books about its address space. */
struct raw_stub {
    struct raw *r;
    unsigned index;
    pid_t pid;
    int pidfd;                      /* to kill it from inside the jail (pidfd_send_signal) */
    int listener;                   /* its seccomp user-notification descriptor */
    struct raw_stub_shm *shm;
    struct shadow *shadow;          /* its low 4 GiB (view USER), operations queued in q */
    struct raw_ldt ldt;             /* its LDT, likewise */
    struct raw_stub_op q[RAW_STUB_MAX_OPS];
    uint32_t nq;
    uint32_t cr3;                   /* the guest address space it holds, when bound */
    bool bound;
    bool stale;                     /* the guest's TLB would have been flushed: revalidate first */
    bool dead;
    uint64_t last_used;
    uint64_t runs, ops, auths, binds, resets, revalidations;
};

struct raw_stubs {
    struct raw_stub s[RAW_STUBS_MAX];
    unsigned n;
    uint64_t tick;
    int cpu, stub_cpu;              /* host CPUs of the vCPU thread and of the stubs, or -1 */
    uint64_t same_ns, cross_ns;     /* an empty round trip on one CPU / across two (placement) */
    uint64_t wait_ns, handoffs, op_flushes, evictions;
};

/* Where ringfold-raw-stub is: $RINGFOLD_RAW_STUB, beside the running executable, or the build
 * tree's. 0, or -ENOENT with why filled. */
int raw_stub_find(char *path, size_t len, struct rf_err *why);

/* Starts n stub processes (before the jail: it forbids creating processes) and pins this thread
 * and them to the current host CPU. */
int raw_stubs_start(struct raw *r, unsigned n, struct rf_err *err);
void raw_stubs_destroy(struct raw *r);

/* The stub holding guest address space cr3 (binding the least recently used one when none
 * does), revalidated against the guest's current tables when stale. NULL: none usable (the VM
 * was stopped with the reason). */
struct raw_stub *raw_stubs_get(struct raw *r, uint32_t cr3);

/* Runs the frame's guest state in stub s until an exit: returns the exit reason (f filled as by
 * raw_native_run), 0 when nothing ran and the caller should simply try again, or -1 when the VM
 * was stopped (the stub misbehaved: contained and reported). timer_at: host monotonic ns. */
int raw_stub_run(struct raw_stub *s, struct raw_frame *f, uint64_t timer_at);

/* TLB events the guest caused, for the stubs' shadows: INVLPG of linear in the current address
 * space; any flush (every stub must revalidate before it runs again); a paging-mode change
 * (every stub forgets everything). */
void raw_stubs_invlpg(struct raw *r, uint32_t cr3, uint32_t linear);
void raw_stubs_stale_all(struct raw *r);
void raw_stubs_reset_all(struct raw *r);
/* The authorization rule (raw_stub_run.c): is the held system call n exactly the queued operation
 * op of the stub with this pid? An mmap of guest RAM (MAP_FIXED | MAP_SHARED, descriptor 4,
 * page-aligned offset inside mem_size) or an mprotect, every argument equal, the range page-aligned
 * inside [min_addr, 4 GiB), x86-64. Anything else is refused. */
struct seccomp_notif;
bool raw_stub_request_matches(const struct seccomp_notif *n, const struct raw_stub_op *op, pid_t pid,
                              uint64_t min_addr, uint64_t mem_size);

/* Waits up to ms for fd to be readable, waiting on across EINTR (the deadline timer keeps
 * interrupting the monitor's waits): true when it is. */
bool raw_stub_poll_in(int fd, unsigned ms);

/* Kills stub s (SIGKILL through its pidfd: the jail allows signals to our stubs only). */
void raw_stub_kill(struct raw_stub *s);

/* Write monitoring of a frame (CSAM) in every stub's shadow too. */
void raw_stubs_monitor(struct raw *r, uint64_t pa_frame, bool on);

void raw_stubs_print_stats(struct raw *r, FILE *out);

#endif
