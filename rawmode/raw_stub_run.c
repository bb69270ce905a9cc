/* Raw phase 3: one turn of a guest-user stub process (protocol: raw_stub_proto.h).
 *
 * The monitor hands the stub its queued host mapping operations and the guest state, then
 * answers the stub's seccomp user notifications: an mmap of a guest frame or an mprotect that
 * grants rights runs only when it is exactly the operation the monitor queued (arguments are
 * registers, so there is no time-of-check race). Anything else — a different call, an
 * operation out of order, a stub that does not come back, dies, or reports nonsense — is guest
 * code that escaped to the host's 64-bit selector: the call is refused and the VM stopped with
 * "guest escape contained". The stub's memory is read only by copying plain values out. */
#include <errno.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "raw_priv.h"
#include "raw_stub.h"

#define RAW_STUB_TOP (1ull << 32)
/* A stub that has not answered this long after its deadline is stuck in host code. */
#define RAW_STUB_GRACE_NS 3000000000ull

static void raw_stub_contained(struct raw_stub *s, const char *what)
{
    s->dead = true;
    raw_stub_kill(s);
    vm_request_stop(s->r->vm, VM_STOP_ERROR, 0, "raw: guest escape contained: the guest-user process %d (pid %d) "
                    "%s; nothing reached the host beyond it", s->index, (int)s->pid, what);
}

static bool raw_stub_op_needs_auth(const struct raw_stub_op *op)
{
    return op->kind == RAW_STUB_OP_MAP || (op->kind == RAW_STUB_OP_PROTECT && op->prot != PROT_NONE);
}

bool raw_stub_request_matches(const struct seccomp_notif *n, const struct raw_stub_op *op, pid_t pid,
                              uint64_t min_addr, uint64_t mem_size)
{
    if (n->pid != (uint32_t)pid || n->data.arch != AUDIT_ARCH_X86_64)
        return false;
    if (op->addr < min_addr || op->len == 0 || op->len > RAW_STUB_TOP || op->addr > RAW_STUB_TOP - op->len ||
        (op->addr | op->len) & 4095)
        return false;
    const __u64 *a = n->data.args;
    if (op->kind == RAW_STUB_OP_MAP)
        return n->data.nr == SYS_mmap && a[0] == op->addr && a[1] == op->len && a[2] == op->prot &&
               a[3] == (MAP_FIXED | MAP_SHARED) && a[4] == RAW_STUB_FD_MEM && a[5] == op->pa &&
               op->pa <= mem_size && op->len <= mem_size - op->pa && !(op->pa & 4095);
    if (op->kind == RAW_STUB_OP_PROTECT)
        return n->data.nr == SYS_mprotect && a[0] == op->addr && a[1] == op->len && a[2] == op->prot;
    return false;
}

static bool raw_stub_call_matches(const struct raw_stub *s, const struct seccomp_notif *n, const struct raw_stub_op *op)
{
    return raw_stub_request_matches(n, op, s->pid, (uint64_t)shadow_min_page(s->shadow) << 12, s->r->vm->mem.size);
}

static bool raw_stub_died(struct raw_stub *s)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == s->pid) {
        raw_stub_contained(s, si.si_status == SIGSYS ? "was killed by its seccomp filter (a host system call "
                                                       "it may not make)"
                                                     : "died");
        s->pid = 0;     /* reaped */
        return true;
    }
    return false;
}

/* Answers the next notification: CONTINUE when it is op, EPERM otherwise. The stub's timer
 * signal may interrupt its call while it waits for the answer; the kernel then drops the
 * notification (our answer fails with ENOENT) and the restarted call asks again. */
static int raw_stub_authorize(struct raw_stub *s, const struct raw_stub_op *op)
{
    for (;;) {
        int rc;
        if (!raw_stub_poll_in(s->listener, 3000)) {
            if (raw_stub_died(s))
                return -1;
            raw_stub_contained(s, "did not perform the mapping operations it was sent");
            return -1;
        }
        struct seccomp_notif n;
        memset(&n, 0, sizeof(n));
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            raw_stub_contained(s, "vanished during a mapping operation");
            return -1;
        }
        bool ok = op && raw_stub_call_matches(s, &n, op);
        struct seccomp_notif_resp resp = { .id = n.id, .error = ok ? 0 : -EPERM,
                                           .flags = ok ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0 };
        while ((rc = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp)) < 0 && errno == EINTR)
            ;
        if (!ok) {
            char what[160];
            snprintf(what, sizeof(what), "asked for a host %s call the monitor had not requested (refused)",
                     n.data.nr == SYS_mmap ? "mmap" : n.data.nr == SYS_mprotect ? "mprotect" : "system");
            raw_stub_contained(s, what);
            return -1;
        }
        if (rc < 0 && errno == ENOENT)
            continue;       /* interrupted before our answer: it asks again */
        s->auths++;
        return 0;
    }
}

/* Waits for DONE, watching for a stub that is dead, stuck, or asking for something. The
 * monitor's deadline timer interrupts the wait every 2 ms once the slice is over, so the checks
 * run by elapsed time, not only on a timed-out wait. */
static int raw_stub_wait(struct raw_stub *s, uint64_t until)
{
    uint64_t check = vclock_host_ns() + 20000000ull;
    for (;;) {
        uint32_t c = __atomic_load_n(&s->shm->ctl, __ATOMIC_ACQUIRE);
        if (c == RAW_STUB_DONE)
            return 0;
        if (c != RAW_STUB_GO) {
            raw_stub_contained(s, "corrupted its control word");
            return -1;
        }
        struct timespec ts = { 0, 20000000 };
        syscall(SYS_futex, &s->shm->ctl, FUTEX_WAIT, RAW_STUB_GO, &ts, NULL, 0);
        uint64_t now = vclock_host_ns();
        if (now < check || __atomic_load_n(&s->shm->ctl, __ATOMIC_ACQUIRE) == RAW_STUB_DONE)
            continue;
        check = now + 20000000ull;
        if (raw_stub_died(s))
            return -1;
        if (raw_stub_poll_in(s->listener, 0)) {
            raw_stub_authorize(s, NULL);    /* unsolicited: refused, reported */
            return -1;
        }
        if (now > until) {
            raw_stub_contained(s, "did not come back from guest code (stuck in host code?)");
            return -1;
        }
    }
}

int raw_stub_run(struct raw_stub *s, struct raw_frame *f, uint64_t timer_at)
{
    struct raw_stubs *ss = s->r->stubs;
    if (s->dead)
        return -1;
    struct raw_stub_shm *shm = s->shm;
    uint32_t nq = s->nq;
    memcpy(shm->ops, s->q, nq * sizeof(s->q[0]));
    shm->nops = nq;
    shm->enter = f != NULL;
    shm->ops_failed = 0;
    shm->fpu_size = (uint32_t)raw_fpu_image_size();
    if (f) {
        memcpy(shm->regs, f, RAW_STUB_REGS_BYTES);
        memcpy(shm->fpu, f->guest_fpu, shm->fpu_size);
        shm->timer_at_ns = timer_at;
        s->runs++;
    } else {
        ss->op_flushes++;
    }
    s->nq = 0;
    uint64_t t0 = vclock_host_ns();
    __atomic_store_n(&shm->ctl, RAW_STUB_GO, __ATOMIC_RELEASE);
    syscall(SYS_futex, &shm->ctl, FUTEX_WAKE, 1, NULL, NULL, 0);
    for (uint32_t i = 0; i < nq; i++)
        if (raw_stub_op_needs_auth(&s->q[i]) && raw_stub_authorize(s, &s->q[i]) < 0)
            return -1;
    uint64_t until = (f && timer_at > t0 ? timer_at : t0) + RAW_STUB_GRACE_NS;
    if (raw_stub_wait(s, until) < 0)
        return -1;
    ss->wait_ns += vclock_host_ns() - t0;
    ss->handoffs++;
    __atomic_store_n(&shm->ctl, RAW_STUB_IDLE, __ATOMIC_RELAXED);
    if (shm->ops_failed) {
        /* Some mapping failed (the host's map-count limit): the stub's address space no longer
         * matches the books. Start it over; guest code did not run. */
        s->resets++;
        shadow_reset(s->shadow);
        return 0;
    }
    if (!f)
        return 0;
    memcpy(f, shm->regs, RAW_STUB_REGS_BYTES);
    memcpy(f->guest_fpu, shm->fpu, raw_fpu_image_size());
    if (f->reason < RAW_EXIT_SIGNAL || f->reason > RAW_EXIT_ENTRY_FAULT) {
        raw_stub_contained(s, "reported an impossible exit");
        return -1;
    }
    return (int)f->reason;
}
