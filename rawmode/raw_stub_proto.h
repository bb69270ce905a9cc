/* The protocol between the raw engine and a guest-user stub process (rawmode/stub/): the layout
 * of the memory they share and the order of what happens in it (docs/raw.md, "Phase 3").
 *
 * The monitor owns the stub's guest address space; the stub only executes. One turn:
 *   1. The monitor writes the host mapping operations its shadow queued for this process (ops),
 *      the guest registers and FPU image, sets ctl = GO and wakes the stub (futex).
 *   2. The stub performs the ops in order. Each mmap of a guest frame and each mprotect that
 *      grants rights is held by seccomp (SECCOMP_RET_USER_NOTIF) until the monitor, which waits
 *      on the notification descriptor, has checked it against ops[i] and answered CONTINUE.
 *   3. If `enter`, the stub runs guest code natively until a trap or its deadline timer,
 *      writes the registers and exit information back, sets ctl = DONE and wakes the monitor.
 * Everything the stub writes here is guest input to the monitor: it is copied out and checked,
 * never followed (no pointers live in this memory). */
#ifndef RINGFOLD_RAW_STUB_PROTO_H
#define RINGFOLD_RAW_STUB_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "raw_native.h"

/* Descriptors the stub finds at start (posix_spawn dup2s them there). */
#define RAW_STUB_FD_SHM  3   /* this structure (a memfd) */
#define RAW_STUB_FD_MEM  4   /* guest RAM (the VM's memfd): mmap'ed only as the monitor allows */
#define RAW_STUB_FD_SOCK 5   /* AF_UNIX: the stub sends its seccomp listener descriptor once */

#define RAW_STUB_MAX_OPS 1024
#define RAW_STUB_FPU_MAX 16384
/* The part of struct raw_frame that travels: guest registers, selectors and exit information
 * (everything before the host save area). */
#define RAW_STUB_REGS_BYTES offsetof(struct raw_frame, host_rsp)

enum raw_stub_ctl { RAW_STUB_IDLE = 0, RAW_STUB_GO = 1, RAW_STUB_DONE = 2 };

enum raw_stub_op_kind {
    RAW_STUB_OP_MAP = 1,      /* mmap(addr, len, prot, MAP_FIXED | MAP_SHARED, guest memfd, pa) */
    RAW_STUB_OP_RESERVE,      /* mmap(addr, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS
                                 | MAP_NORESERVE, -1, 0): unmaps while keeping the reservation */
    RAW_STUB_OP_PROTECT,      /* mprotect(addr, len, prot) */
    RAW_STUB_OP_LDT,          /* modify_ldt(1, &ldt, 16) */
};

struct raw_stub_op {
    uint32_t kind;
    uint32_t prot;
    uint64_t addr, len, pa;
    uint32_t ldt[4];          /* struct user_desc, 16 bytes */
};

struct raw_stub_shm {
    uint32_t ctl;             /* futex word: enum raw_stub_ctl */
    uint32_t enter;           /* after the ops: 1 run guest code, 0 only the ops */
    uint32_t nops;
    uint32_t ops_failed;      /* written by the stub: ops that failed; the first one's errno: */
    int32_t op_errno;
    uint32_t fpu_size;        /* bytes of fpu[] in use (the monitor's XSAVE image size) */
    uint64_t timer_at_ns;     /* CLOCK_MONOTONIC time at which the native run must end */
    struct raw_stub_op ops[RAW_STUB_MAX_OPS];
    uint8_t regs[RAW_STUB_REGS_BYTES];
    uint8_t fpu[RAW_STUB_FPU_MAX] __attribute__((aligned(64)));
};

#endif
