/* The virtual machine: memory, bus, clock, platform devices and one vCPU driven by an engine. */
#ifndef RINGFOLD_VM_H
#define RINGFOLD_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "bus.h"
#include "clock.h"
#include "cpu_state.h"
#include "engine.h"
#include "err.h"
#include "memory.h"

/* Exit statuses of `ringfold run` (isa-debug-exit gives odd values (v << 1) | 1). */
enum rf_exit_status {
    RF_EXIT_OK           = 0,    /* guest reset/rebooted, or ran to its end */
    RF_EXIT_USAGE        = 2,    /* bad command line or unusable guest image */
    RF_EXIT_MONITOR      = 4,    /* the monitor itself failed (host error) */
    RF_EXIT_TRIPLE_FAULT = 6,
    RF_EXIT_HUNG         = 8,    /* HLT nothing can wake: IF clear, or no timer armed and no input */
    RF_EXIT_TIMEOUT      = 124,  /* --timeout expired, as timeout(1) */
};

enum vm_stop_reason {
    VM_RUNNING = 0,
    VM_STOP_DEBUG_EXIT,     /* isa-debug-exit write */
    VM_STOP_RESET,          /* guest reset (i8042 pulse, port 0x92, triple fault with --reboot off) */
    VM_STOP_TRIPLE_FAULT,
    VM_STOP_HUNG,
    VM_STOP_TIMEOUT,
    VM_STOP_QUIT,           /* user pressed the console escape */
    VM_STOP_ERROR,
};

struct vm_config {
    uint64_t mem_size;
    const char *engine;        /* "emu", "raw", "kvm", "auto" */
    bool deterministic;        /* guest time from the instruction count */
    uint64_t timeout_ns;       /* 0: none */
    const char *serial;        /* "stdio", "null", "file:PATH" */
    bool stats;
    bool force_engine;         /* --force-engine: use the named engine even where its probe says no */
    const char *cpu_model;     /* --cpu=NAME, see cpu_model.h; NULL: the default model */
};

struct pc_platform;
struct cpu_model;

/* Values of vm->a20_clear. */
#define VM_A20_ON  0u             /* gate open: no address bit forced */
#define VM_A20_OFF 0x00100000u    /* gate closed: physical address bit 20 forced to 0 */

struct vm {
    struct vm_config cfg;
    struct guest_mem mem;
    struct bus bus;
    struct vclock clock;
    struct pc_platform *pc;

    const struct engine_ops *engine;
    void *engine_priv;
    char engine_why[512];           /* why this engine: printed at start and in --stats */
    const struct cpu_model *cpu;    /* what CPUID reports, the same for every engine */
    bool tsc_host;                  /* the guest's TSC is the host's (raw: guest code reads it
                                       natively, so emulated RDTSC must agree with it) */
    uint32_t cpuid1_edx_hide;       /* leaf 1 EDX bits the engine cannot support on this host
                                       (raw where compat-mode SYSENTER enters the host kernel: SEP) */
    struct vcpu_state boot_state;   /* set by the loader, handed to the engine */

    /* The CPU's INTR pin, driven by the interrupt controller; the engine acknowledges
     * with vm_intr_ack() when it can take the interrupt. */
    volatile int intr_pending;
    int (*intr_ack_fn)(void *opaque);
    void *intr_ack_opaque;
    volatile int nmi_pending;

    /* The A20 gate, set by the platform (i8042 output port / port 0x92): the physical address
     * bits every CPU access has forced to 0, VM_A20_ON (0, so a zeroed struct vm has the gate
     * open) or VM_A20_OFF (bit 20: the 8086 wrap at 1 MiB). a20_gen is bumped on every change
     * so an engine that caches translations notices with one compare. */
    volatile uint32_t a20_clear;
    volatile uint32_t a20_gen;

    /* Set by devices and engines to end the run; engines poll it after I/O and at block ends. */
    volatile int stop;
    uint32_t stop_code;             /* debug-exit value etc. */
    char stop_msg[512];
};

int vm_init(struct vm *vm, const struct vm_config *cfg, struct rf_err *err);
void vm_destroy(struct vm *vm);

static inline int vm_intr_ack(struct vm *vm)
{
    return vm->intr_ack_fn(vm->intr_ack_opaque);
}

/* Ends the run at the next check; the first reason wins. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Picks the engine (recording why in vm->engine_why), creates it and hands it the boot state. */
int vm_start(struct vm *vm, struct rf_err *err);

/* Starts the engine if vm_start was not called, runs until a stop, returns the `ringfold run`
 * exit status. */
int vm_run(struct vm *vm, struct rf_err *err);

#endif
