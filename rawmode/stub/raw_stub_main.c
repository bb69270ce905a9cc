/* ringfold-raw-stub: the host process that runs guest USER code for one guest address space
 * (raw engine phase 3, docs/raw.md). It holds nothing but that address space's user-accessible
 * guest pages below 4 GiB, performs the mapping operations the monitor sends (each one that
 * grants access authorized by the monitor through seccomp's user notification), and enters
 * guest code with the same native entry as the monitor (rawmode/raw_native.*).
 *
 * It is a fresh executable, not a fork of the monitor: guest user code that escapes to the
 * host's 64-bit selector finds no copy of the monitor's memory (device state, guest kernel
 * data, the emulator's caches) here, only this small program, and may make no system call but
 * the few the protocol needs (everything else kills the process; i386 calls trap as the
 * guest's int 0x80). Protocol: rawmode/raw_stub_proto.h. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../../core/thread_timer.h"
#include "../raw_native.h"
#include "../raw_stub_proto.h"

#define STUB_TOP (1ull << 32)
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define STUB_WAIT_KILLABLE_RECV SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#else
#define STUB_WAIT_KILLABLE_RECV (1ul << 5)
#endif

static void stub_die(const char *what, int e)
{
    fprintf(stderr, "ringfold-raw-stub: %s: %s\n", what, strerror(e));
    exit(2);
}

#define LD_ABS(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/* Filter 1, with the listener: i386 calls trap (the guest's int 0x80, delivered by the
 * monitor); an mmap that is not an anonymous PROT_NONE reservation and an mprotect that grants
 * any right wait for the monitor's verdict. Everything else is left to filter 2. */
static int stub_install_notify_filter(void)
{
    struct sock_filter prog[] = {
        LD_ABS(offsetof(struct seccomp_data, arch)),
        JEQ(AUDIT_ARCH_I386, 0, 1),
        RET(SECCOMP_RET_TRAP),
        JEQ(AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_KILL_PROCESS),
        LD_ABS(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_mmap, 0, 6),
        LD_ABS(ARG_LO(3)),                                   /* flags */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 3),
        LD_ABS(ARG_LO(2)),                                   /* prot */
        JEQ(PROT_NONE, 0, 1),
        RET(SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_USER_NOTIF),
        JEQ(SYS_mprotect, 0, 3),
        LD_ABS(ARG_LO(2)),
        JEQ(PROT_NONE, 1, 0),
        RET(SECCOMP_RET_USER_NOTIF),
        RET(SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fp = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };
    /* WAIT_KILLABLE_RECV (Linux 5.19): once the monitor has the request, only a kill interrupts
     * the wait for its answer, so the timer signal cannot withdraw an authorized mapping. */
    int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                          SECCOMP_FILTER_FLAG_NEW_LISTENER | STUB_WAIT_KILLABLE_RECV, &fp);
    if (fd < 0 && errno == EINVAL)
        fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    return fd;
}

/* Filter 2: the allowlist. Anything else, x32 calls included, kills the process. */
static int stub_install_allowlist(void)
{
    struct sock_filter prog[] = {
        LD_ABS(offsetof(struct seccomp_data, arch)),
        JEQ(AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_ALLOW),                              /* i386: filter 1 traps it */
        LD_ABS(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_mmap, 11, 0),             /* the monitor authorizes (filter 1) */
        JEQ(SYS_mprotect, 10, 0),         /* likewise, unless it only removes rights */
        JEQ(SYS_modify_ldt, 9, 0),        /* shadow descriptors (DPL 3 only: harmless) */
        JEQ(SYS_futex, 8, 0),             /* the handoff with the monitor */
        JEQ(SYS_rt_sigreturn, 7, 0),      /* every exit from guest code is a signal */
        JEQ(SYS_timer_settime, 6, 0),     /* the deadline of each native run */
        JEQ(SYS_clock_gettime, 5, 0),     /* vDSO fallback */
        JEQ(SYS_restart_syscall, 4, 0),   /* a futex wait interrupted by the timer signal */
        JEQ(SYS_exit, 3, 0),
        JEQ(SYS_exit_group, 2, 0),
        JEQ(SYS_arch_prctl, 2, 0),        /* FS/GS bases on hosts without FSGSBASE */
        RET(SECCOMP_RET_KILL_PROCESS),
        RET(SECCOMP_RET_ALLOW),
        LD_ABS(ARG_LO(0)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x1001, 0, 2),  /* ARCH_SET_GS .. ARCH_GET_GS */
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 0x1004, 1, 0),
        RET(SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog fp = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp);
}

static void stub_send_fd(int sock, int fd)
{
    char byte = 'L';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c;
    memset(&c, 0, sizeof(c));
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    if (sendmsg(sock, &m, 0) != 1)
        stub_die("sending the seccomp listener", errno);
}

static void stub_do_ops(struct raw_stub_shm *shm)
{
    uint32_t n = shm->nops < RAW_STUB_MAX_OPS ? shm->nops : RAW_STUB_MAX_OPS;
    uint32_t failed = 0;
    int first = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct raw_stub_op *op = &shm->ops[i];
        void *at = (void *)(uintptr_t)op->addr;
        long rc = 0;
        switch (op->kind) {
        case RAW_STUB_OP_MAP:
            rc = mmap(at, op->len, (int)op->prot, MAP_FIXED | MAP_SHARED, RAW_STUB_FD_MEM, (off_t)op->pa) == MAP_FAILED
                     ? -1 : 0;
            break;
        case RAW_STUB_OP_RESERVE:
            rc = mmap(at, op->len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) ==
                         MAP_FAILED ? -1 : 0;
            break;
        case RAW_STUB_OP_PROTECT:
            rc = mprotect(at, op->len, (int)op->prot);
            break;
        case RAW_STUB_OP_LDT:
            rc = syscall(SYS_modify_ldt, 1, op->ldt, sizeof(op->ldt));
            break;
        default:
            rc = -1;
            errno = EINVAL;
        }
        if (rc < 0 && !failed++)
            first = errno;
    }
    shm->ops_failed = failed;
    shm->op_errno = first;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        stub_die("usage: ringfold-raw-stub MIN_ADDR (started by the raw engine only)", EINVAL);
    uint64_t min_addr = strtoull(argv[1], NULL, 0);
    if (min_addr < 4096 || min_addr >= STUB_TOP || (min_addr & 4095))
        stub_die("bad MIN_ADDR", EINVAL);
    struct raw_stub_shm *shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, RAW_STUB_FD_SHM, 0);
    if (shm == MAP_FAILED)
        stub_die("mapping the shared page", errno);
    close(RAW_STUB_FD_SHM);
    /* The guest linear space, as in the monitor (rawmode/shadow.c): nothing of ours below 4 GiB. */
    void *base = (void *)(uintptr_t)min_addr;
    if (mmap(base, STUB_TOP - min_addr, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
             -1, 0) != base)
        stub_die("reserving the guest linear space", errno ? errno : EEXIST);
    struct rf_err err = { { 0 } };
    if (raw_native_init(&err) < 0)
        stub_die(err.msg, EINVAL);
    struct raw_frame *f = raw_frame_create();
    if (!f)
        stub_die("frame", ENOMEM);
    size_t fpu = raw_fpu_image_size();
    if (fpu > RAW_STUB_FPU_MAX)
        stub_die("FPU image larger than the shared area", E2BIG);
    struct thread_timer timer;
    if (thread_timer_create(&timer, raw_timer_signal(), "ringfold-raw-stub", &err) < 0)
        stub_die(err.msg, EINVAL);
    /* CPUID faulting where the host has it, as the monitor does (guest CPUID then traps). */
    syscall(SYS_arch_prctl, 0x1012 /* ARCH_SET_CPUID */, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "rf-raw-user");
    /* Nothing open but guest RAM (for authorized mappings), the socket and stderr. */
    close(0);
    close(1);
    syscall(SYS_close_range, RAW_STUB_FD_SOCK + 1, ~0u, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        stub_die("PR_SET_NO_NEW_PRIVS", errno);
    int listener = stub_install_notify_filter();
    if (listener < 0)
        stub_die("seccomp user-notification filter", errno);
    stub_send_fd(RAW_STUB_FD_SOCK, listener);
    close(listener);
    close(RAW_STUB_FD_SOCK);
    if (stub_install_allowlist() != 0)
        stub_die("seccomp allowlist", errno);

    uint64_t armed_at = 0;
    for (;;) {
        uint32_t c;
        /* The monitor ends a stub by killing it (raw_stubs_destroy). */
        while ((c = __atomic_load_n(&shm->ctl, __ATOMIC_ACQUIRE)) != RAW_STUB_GO)
            syscall(SYS_futex, &shm->ctl, FUTEX_WAIT, c, NULL, NULL, 0);
        stub_do_ops(shm);
        if (shm->enter && !shm->ops_failed && shm->fpu_size == fpu) {
            memcpy(f, shm->regs, RAW_STUB_REGS_BYTES);
            memcpy(f->guest_fpu, shm->fpu, fpu);
            uint64_t at = shm->timer_at_ns;
            if (at != armed_at && thread_timer_set(&timer, at, 2000000) == 0)
                armed_at = at;
            raw_native_run(f);
            memcpy(shm->regs, f, RAW_STUB_REGS_BYTES);
            memcpy(shm->fpu, f->guest_fpu, fpu);
        }
        __atomic_store_n(&shm->ctl, RAW_STUB_DONE, __ATOMIC_RELEASE);
        syscall(SYS_futex, &shm->ctl, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}
