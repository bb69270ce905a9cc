/* Entering 32-bit guest code natively at host CPL 3 and coming back on a trap or the timer. */
#ifndef RINGFOLD_RAW_NATIVE_H
#define RINGFOLD_RAW_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ringfold/cpu_state.h"
#include "ringfold/err.h"

/* Why raw_enter returned. */
enum raw_exit_reason {
    RAW_EXIT_SIGNAL = 1,     /* guest code took a trap: signo, trapno, err, cr2 say which */
    RAW_EXIT_TIMER = 2,      /* the host timer fired (in guest code or just before entry) */
    RAW_EXIT_ENTRY_FAULT = 3,/* IRETQ into the guest faulted (bad CS/SS/EIP): nothing ran */
};

/* Shared with raw_native.S: the offsets below are _Static_assert'ed in raw_native.c. */
struct raw_frame {
    /* Guest state: input to raw_enter, output on return (host selectors). */
    uint32_t gpr[GPR_COUNT];         /* 0: EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eip;                    /* 32 */
    uint32_t eflags;                 /* 36 */
    uint16_t cs, ss, ds, es, fs, gs; /* 40..51 */
    uint32_t reason;                 /* 52: enum raw_exit_reason */
    /* What the trap said (reason SIGNAL / ENTRY_FAULT). */
    uint64_t trapno, err, cr2;       /* 56, 64, 72 */
    int32_t signo, sig_code;          /* 80, 84 */
    uint64_t trap_addr;               /* 88: fault address, or for SIGSYS the address after the call */
    int32_t sys_nr;                 /* 96: SIGSYS: the i386 system call number */
    uint32_t rip_high;               /* 100: RIP bits 63..32 at the trap: non-zero only when the
                                        host kernel moved guest code above 4 GiB (fast-call
                                        landing pad) */
    /* Host save area. */
    uint64_t host_rsp;               /* 104 */
    uint64_t host_fsbase;            /* 112 */
    uint64_t host_gsbase;            /* 120 */
    void *guest_fpu;                 /* 128: XSAVE/FXSAVE image of the guest's x87/SSE state (64-aligned) */
    void *host_fpu;                  /* 136: the host default image loaded after an exit */
    uint64_t xsave_mask;             /* 144: 0 when the host has no XSAVE: FXSAVE/FXRSTOR */
};

#define RAW_FRAME_GPR        0
#define RAW_FRAME_EIP        32
#define RAW_FRAME_EFLAGS     36
#define RAW_FRAME_CS         40
#define RAW_FRAME_SS         42
#define RAW_FRAME_DS         44
#define RAW_FRAME_ES         46
#define RAW_FRAME_FS         48
#define RAW_FRAME_GS         50
#define RAW_FRAME_REASON     52
#define RAW_FRAME_HOST_RSP   104
#define RAW_FRAME_HOST_FS    112
#define RAW_FRAME_HOST_GS    120
#define RAW_FRAME_GUEST_FPU  128
#define RAW_FRAME_HOST_FPU   136
#define RAW_FRAME_XMASK      144

/* Once per process: signal handlers on an alternate stack, FPU save format, host timer signal.
 * 0, or a negative errno with err filled. */
int raw_native_init(struct rf_err *err);

/* A frame with its FPU images (guest image = the host's reset state until set). NULL: no memory. */
struct raw_frame *raw_frame_create(void);
void raw_frame_destroy(struct raw_frame *f);

/* Runs guest code from the frame's state until it traps or the timer fires; returns the reason
 * (also in f->reason). The calling thread must have run raw_native_init. */
int raw_native_run(struct raw_frame *f);

/* The guest FPU image <-> vcpu_state.fpu (FXSAVE legacy area: stack-ordered registers and the
 * abridged tag word on one side, physical registers and the full tag word on the other). */
void raw_fpu_to_frame(struct raw_frame *f, const struct fpu_state *fpu);
void raw_fpu_from_frame(const struct raw_frame *f, struct fpu_state *fpu);

/* Bytes of a frame's FPU images (the XSAVE size for the host's XCR0, or 512 for FXSAVE); valid
 * after raw_native_init. */
size_t raw_fpu_image_size(void);

/* The host signal used by the native-run timer (a real-time signal). */
int raw_timer_signal(void);

/* Set by the signal handler when the timer fired while the monitor ran; raw_native_run clears
 * it and returns RAW_EXIT_TIMER without entering. */
extern volatile int raw_timer_flag;

/* Round trips (entries) done, for the stats. */
extern uint64_t raw_native_entries;

#endif
