/* Raw phase 3: the stub processes that run guest user code, one per guest address space.
 *
 * Guest kernel and guest user code both run at host CPL 3, and any CPL-3 code can load the
 * host's flat selectors: whatever is mapped where guest user code runs is readable by it
 * (ARCHITECTURE.md "Raw mode"). So guest user code never runs in the monitor process, which maps
 * guest kernel pages to run compressed kernel code: it runs in a stub process
 * (rawmode/stub/raw_stub_main.c) whose low 4 GiB hold exactly one guest address space's
 * user-accessible pages. Each stub has its own shadow (view USER) whose host mapping calls are
 * queued here and performed by the stub, each mapping authorized by this process through
 * seccomp's user notification (raw_stub_run.c). A stub stays bound to its guest CR3, so its
 * mappings survive the guest's context switches (a shadow page-table cache); the least
 * recently used stub is rebound when a new address space needs one. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "raw_priv.h"
#include "raw_stub.h"
#include "shadow.h"

#define RAW_STUB_NAME "ringfold-raw-stub"

static int raw_stub_try(char *path, size_t len, const char *dir)
{
    if (snprintf(path, len, "%s/%s", dir, RAW_STUB_NAME) >= (int)len)
        return -1;
    return access(path, X_OK);
}

int raw_stub_find(char *path, size_t len, struct rf_err *why)
{
    const char *env = getenv("RINGFOLD_RAW_STUB");
    if (env && *env) {
        if (snprintf(path, len, "%s", env) < (int)len && access(path, X_OK) == 0)
            return 0;
        return rf_errf(why, -ENOENT, "RINGFOLD_RAW_STUB=%s is not an executable", env);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if (raw_stub_try(path, len, exe) == 0)
                return 0;
        }
    }
#ifdef RINGFOLD_RAW_STUB_DIR
    if (raw_stub_try(path, len, RINGFOLD_RAW_STUB_DIR) == 0)
        return 0;
#endif
    return rf_errf(why, -ENOENT, "the guest-user process executable %s was not found beside %s "
                   "(build it, or set RINGFOLD_RAW_STUB)", RAW_STUB_NAME, n > 0 ? exe : "ringfold");
}

/* ---- the shadow's and the LDT's host operations, queued for the stub ---- */

static struct raw_stub_op *raw_stub_slot(struct raw_stub *s)
{
    if (s->nq == RAW_STUB_MAX_OPS && raw_stub_run(s, NULL, 0) < 0)
        return NULL;
    if (s->nq == RAW_STUB_MAX_OPS)
        return NULL;
    struct raw_stub_op *op = &s->q[s->nq++];
    memset(op, 0, sizeof(*op));
    s->ops++;
    return op;
}

static int raw_stub_q_map(void *opaque, uint64_t addr, uint64_t len, unsigned prot, uint64_t pa)
{
    struct raw_stub_op *op = raw_stub_slot(opaque);
    if (!op)
        return -EIO;
    *op = (struct raw_stub_op){ .kind = RAW_STUB_OP_MAP, .prot = prot, .addr = addr, .len = len, .pa = pa };
    return 0;
}

static int raw_stub_q_reserve(void *opaque, uint64_t addr, uint64_t len)
{
    struct raw_stub_op *op = raw_stub_slot(opaque);
    if (!op)
        return -EIO;
    *op = (struct raw_stub_op){ .kind = RAW_STUB_OP_RESERVE, .addr = addr, .len = len };
    return 0;
}

static int raw_stub_q_protect(void *opaque, uint64_t addr, uint64_t len, unsigned prot)
{
    struct raw_stub_op *op = raw_stub_slot(opaque);
    if (!op)
        return -EIO;
    *op = (struct raw_stub_op){ .kind = RAW_STUB_OP_PROTECT, .prot = prot, .addr = addr, .len = len };
    return 0;
}

static int raw_stub_q_ldt(void *opaque, const void *user_desc)
{
    struct raw_stub_op *op = raw_stub_slot(opaque);
    if (!op)
        return -1;
    op->kind = RAW_STUB_OP_LDT;
    memcpy(op->ldt, user_desc, sizeof(op->ldt));
    return 0;
}

static const struct shadow_host_ops raw_stub_host_ops = {
    .map = raw_stub_q_map,
    .reserve = raw_stub_q_reserve,
    .protect = raw_stub_q_protect,
};

/* ---- starting and stopping ---- */

bool raw_stub_poll_in(int fd, unsigned ms)
{
    uint64_t until = vclock_host_ns() + (uint64_t)ms * 1000000ull;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, ms < 100 ? (int)ms : 100);
        if (rc == 1)
            return (p.revents & POLLIN) != 0;
        if ((rc < 0 && errno != EINTR) || vclock_host_ns() >= until)
            return false;
    }
}

static int raw_stub_recv_fd(int sock, int *fd)
{
    if (!raw_stub_poll_in(sock, 10000))
        return -ETIMEDOUT;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
    ssize_t n;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        return n == 0 ? -EPIPE : -errno;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int)))
        return -EPROTO;
    memcpy(fd, CMSG_DATA(h), sizeof(int));
    return 0;
}

static int raw_stub_spawn(struct raw *r, struct raw_stub *s, const char *path, struct rf_err *err)
{
    s->r = r;
    s->listener = -1;
    s->pidfd = -1;
    int shm_fd = memfd_create("ringfold-raw-stub-shm", MFD_CLOEXEC);
    if (shm_fd < 0 || ftruncate(shm_fd, sizeof(struct raw_stub_shm)) < 0) {
        int e = errno;
        if (shm_fd >= 0)
            close(shm_fd);
        return rf_errf(err, -e, "raw: shared memory for a guest-user process: %s", strerror(e));
    }
    s->shm = mmap(NULL, sizeof(struct raw_stub_shm), PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
    if (s->shm == MAP_FAILED) {
        s->shm = NULL;
        close(shm_fd);
        return rf_errf(err, -errno, "raw: mapping the shared memory of a guest-user process: %s", strerror(errno));
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        close(shm_fd);
        return rf_errf(err, -errno, "raw: socketpair: %s", strerror(errno));
    }
    char min[32];
    snprintf(min, sizeof(min), "%#" PRIx64, (uint64_t)shadow_min_page(r->shadow) << 12);
    char *argv[] = { (char *)path, min, NULL };
    char *envp[] = { NULL };
    /* The dup2s below must not overwrite each other's sources (the guest memfd is often 3):
     * every source first moves above the target numbers. */
    int src[3] = { fcntl(shm_fd, F_DUPFD_CLOEXEC, 16), fcntl(r->vm->mem.fd, F_DUPFD_CLOEXEC, 16),
                   fcntl(sv[1], F_DUPFD_CLOEXEC, 16) };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, src[0], RAW_STUB_FD_SHM);
    posix_spawn_file_actions_adddup2(&fa, src[1], RAW_STUB_FD_MEM);
    posix_spawn_file_actions_adddup2(&fa, src[2], RAW_STUB_FD_SOCK);
    int rc = src[0] < 0 || src[1] < 0 || src[2] < 0 ? EMFILE : posix_spawn(&s->pid, path, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 3; i++)
        if (src[i] >= 0)
            close(src[i]);
    close(shm_fd);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        s->pid = 0;
        return rf_errf(err, -rc, "raw: starting %s: %s", path, strerror(rc));
    }
    s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    rc = raw_stub_recv_fd(sv[0], &s->listener);
    close(sv[0]);
    if (rc < 0) {
        s->dead = true;
        return rf_errf(err, rc, "raw: the guest-user process %s (pid %d) did not start: %s", path, (int)s->pid,
                       strerror(-rc));
    }
    s->shm->fpu_size = (uint32_t)raw_fpu_image_size();
    rc = shadow_create_remote(r->vm, r->emu, &raw_stub_host_ops, s, &s->shadow, err);
    if (rc < 0)
        return rc;
    shadow_copy_monitoring(s->shadow, r->shadow);
    s->ldt.write = raw_stub_q_ldt;
    s->ldt.write_opaque = s;
    return 0;
}

/* Mean ns of an empty turn (no ops, no guest code) of stub s: the handoff's cost. */
static uint64_t raw_stub_turn_ns(struct raw_stub *s, unsigned k)
{
    uint64_t t0 = vclock_host_ns();
    for (unsigned i = 0; i < k; i++)
        if (raw_stub_run(s, NULL, 0) < 0)
            return UINT64_MAX;
    return (vclock_host_ns() - t0) / k;
}

static bool raw_stub_pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof(set), &set) == 0;
}

/* Every guest exit of user code is two handoffs between this thread and a stub, so where they
 * run matters: ARCHITECTURE.md measured ~2 us per handoff on one CPU and ~40 us across CPUs on
 * its Intel host; on the AMD host of this project an empty round trip takes ~10-17 us on one
 * CPU (a switch between two address spaces is expensive under nested virtualization) and
 * 20-170 us across two (waking an idle CPU is worse). Hosts differ, so both placements are
 * measured here and the faster kept; RINGFOLD_RAW_PIN=0 leaves placement to the scheduler. */
static void raw_stubs_place(struct raw_stubs *ss)
{
    ss->cpu = ss->stub_cpu = -1;
    const char *pin = getenv("RINGFOLD_RAW_PIN");
    if (pin && !strcmp(pin, "0"))
        return;
    int me = sched_getcpu();
    cpu_set_t allowed;
    if (me < 0 || sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || !raw_stub_pin(0, me))
        return;
    ss->cpu = ss->stub_cpu = me;
    int other = -1;
    for (int c = 0; c < CPU_SETSIZE && other < 0; c++)
        if (c != me && CPU_ISSET(c, &allowed))
            other = c;
    for (unsigned i = 0; i < ss->n; i++)
        raw_stub_pin(ss->s[i].pid, me);
    if (other < 0)
        return;
    struct raw_stub *s0 = &ss->s[0];
    raw_stub_turn_ns(s0, 20);                       /* warm both */
    ss->same_ns = raw_stub_turn_ns(s0, 200);
    if (!raw_stub_pin(s0->pid, other))
        return;
    raw_stub_turn_ns(s0, 20);
    ss->cross_ns = raw_stub_turn_ns(s0, 200);
    bool cross = ss->cross_ns < ss->same_ns;
    ss->stub_cpu = cross ? other : me;
    for (unsigned i = 0; i < ss->n; i++)
        raw_stub_pin(ss->s[i].pid, ss->stub_cpu);
}

int raw_stubs_start(struct raw *r, unsigned n, struct rf_err *err)
{
    if (r->stubs)
        return 0;
    char path[PATH_MAX];
    int rc = raw_stub_find(path, sizeof(path), err);
    if (rc < 0)
        return rc;
    r->stubs = calloc(1, sizeof(*r->stubs));
    if (!r->stubs)
        return rf_errf(err, -ENOMEM, "raw: out of memory");
    struct raw_stubs *ss = r->stubs;
    if (n > RAW_STUBS_MAX)
        n = RAW_STUBS_MAX;
    for (unsigned i = 0; i < n; i++) {
        ss->s[i].index = i;
        rc = raw_stub_spawn(r, &ss->s[i], path, err);
        ss->n = i + 1;
        if (rc < 0)
            return rc;
    }
    raw_stubs_place(ss);
    ss->handoffs = ss->wait_ns = ss->op_flushes = 0;    /* the placement's turns are not the guest's */
    return 0;
}

void raw_stub_kill(struct raw_stub *s)
{
    if (s->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

/* A stub holds nothing worth a graceful exit, and one that guest code took over would not
 * honour a request: every stub is killed, then reaped. */
void raw_stubs_destroy(struct raw *r)
{
    struct raw_stubs *ss = r->stubs;
    if (!ss)
        return;
    for (unsigned i = 0; i < ss->n; i++) {
        struct raw_stub *s = &ss->s[i];
        raw_stub_kill(s);
        if (s->listener >= 0)
            close(s->listener);
    }
    for (unsigned i = 0; i < ss->n; i++) {
        struct raw_stub *s = &ss->s[i];
        if (s->pid > 0) {
            siginfo_t si;
            /* Without a pidfd (kernel < 5.3) it cannot be killed here: do not wait for it (the
             * kernel kills it when this thread exits: PR_SET_PDEATHSIG). */
            waitid(P_PID, (id_t)s->pid, &si, WEXITED | (s->pidfd >= 0 ? 0 : WNOHANG));
        }
        if (s->pidfd >= 0)
            close(s->pidfd);
        if (s->shm)
            munmap(s->shm, sizeof(*s->shm));
        shadow_destroy(s->shadow);
    }
    free(ss);
    r->stubs = NULL;
}

/* ---- binding stubs to guest address spaces ---- */

struct raw_stub *raw_stubs_get(struct raw *r, uint32_t cr3)
{
    struct raw_stubs *ss = r->stubs;
    cr3 &= ~0x18u;      /* PWT/PCD: the same address space */
    struct raw_stub *s = NULL, *lru = NULL;
    for (unsigned i = 0; i < ss->n; i++) {
        struct raw_stub *c = &ss->s[i];
        if (c->dead)
            continue;
        if (c->bound && c->cr3 == cr3) {
            s = c;
            break;
        }
        if (!lru || !c->bound || (lru->bound && c->last_used < lru->last_used))
            lru = c;
    }
    if (!s) {
        s = lru;
        if (!s) {
            vm_request_stop(r->vm, VM_STOP_ERROR, 0, "raw: no guest-user process left to run guest user code");
            return NULL;
        }
        if (s->bound) {
            ss->evictions++;
            shadow_reset(s->shadow);
        }
        s->bound = true;
        s->cr3 = cr3;
        s->stale = false;
        s->binds++;
    }
    s->last_used = ++ss->tick;
    if (s->stale) {
        /* The guest switched address spaces (or flushed) since this stub last ran: keep what the
         * guest's current tables still give, drop the rest (shadow_flush.c). */
        shadow_revalidate(s->shadow);
        s->revalidations++;
        s->stale = false;
    }
    return s;
}

void raw_stubs_invlpg(struct raw *r, uint32_t cr3, uint32_t linear)
{
    struct raw_stubs *ss = r->stubs;
    if (!ss)
        return;
    cr3 &= ~0x18u;
    for (unsigned i = 0; i < ss->n; i++) {
        struct raw_stub *s = &ss->s[i];
        if (s->bound && !s->stale && s->cr3 == cr3)
            shadow_invlpg(s->shadow, linear);
    }
}

void raw_stubs_stale_all(struct raw *r)
{
    struct raw_stubs *ss = r->stubs;
    for (unsigned i = 0; ss && i < ss->n; i++)
        ss->s[i].stale = true;
}

void raw_stubs_reset_all(struct raw *r)
{
    struct raw_stubs *ss = r->stubs;
    for (unsigned i = 0; ss && i < ss->n; i++) {
        struct raw_stub *s = &ss->s[i];
        if (s->bound && !s->dead)
            shadow_reset(s->shadow);
        s->bound = false;
        s->stale = false;
    }
}

void raw_stubs_monitor(struct raw *r, uint64_t pa_frame, bool on)
{
    struct raw_stubs *ss = r->stubs;
    for (unsigned i = 0; ss && i < ss->n; i++)
        if (ss->s[i].shadow)
            shadow_monitor_frame(ss->s[i].shadow, pa_frame, on);
}

void raw_stubs_print_stats(struct raw *r, FILE *out)
{
    struct raw_stubs *ss = r->stubs;
    if (!ss) {
        fprintf(out, "raw: guest-user processes: none started (no paged guest user code ran natively)\n");
        return;
    }
    uint64_t runs = 0, ops = 0, auths = 0, binds = 0, resets = 0, reval = 0;
    for (unsigned i = 0; i < ss->n; i++) {
        const struct raw_stub *s = &ss->s[i];
        runs += s->runs;
        ops += s->ops;
        auths += s->auths;
        binds += s->binds;
        resets += s->resets;
        reval += s->revalidations;
    }
    fprintf(out, "raw: guest-user processes (phase 3): %u; vCPU thread on host CPU %d, them on CPU %d (an empty "
            "round trip measured %.2f us on one CPU, %.2f us across two: the faster was kept)\n",
            ss->n, ss->cpu, ss->stub_cpu, (double)ss->same_ns / 1e3, (double)ss->cross_ns / 1e3);
    fprintf(out, "raw: %" PRIu64 " runs in them, %.2f us per round trip (handoffs and guest time), %" PRIu64
            " address spaces bound (%" PRIu64 " evictions), %" PRIu64 " revalidations on return\n",
            runs, ss->handoffs ? (double)ss->wait_ns / 1e3 / (double)ss->handoffs : 0.0,
            binds, ss->evictions, reval);
    fprintf(out, "raw: host mapping operations sent to them: %" PRIu64 " (%" PRIu64 " authorized through seccomp "
            "user notification, %" PRIu64 " batches sent early, %" PRIu64 " failed batches: shadow reset)\n",
            ops, auths, ss->op_flushes, resets);
}
