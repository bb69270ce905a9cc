/* Internals of the kvm engine shared by its files (hwaccel/kvm_*.c); nothing outside hwaccel/
 * includes this. */
#ifndef RINGFOLD_HWACCEL_KVM_PRIV_H
#define RINGFOLD_HWACCEL_KVM_PRIV_H

#include "../core/thread_timer.h"
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <linux/kvm.h>
#include "ringfold/cpu_state.h"
#include "ringfold/err.h"

struct vm;
struct cpu_model;

/* Exit reasons are small numbers (KVM_EXIT_*, < 64 in every kernel we know); larger ones are
 * counted in the last bucket. */
#define KVM_STAT_EXITS 64

struct kvm_engine_stats {
    uint64_t exits[KVM_STAT_EXITS];     /* by kvm_run->exit_reason */
    uint64_t eintr;                     /* KVM_RUN returned -EINTR (deadline timer) */
    uint64_t runs;                      /* KVM_RUN calls */
    uint64_t guest_ns;                  /* host time inside KVM_RUN */
    uint64_t monitor_ns;                /* host time in run() outside KVM_RUN (exit handling) */
    uint64_t irqs_injected;             /* KVM_INTERRUPT */
    uint64_t nmis_injected;             /* KVM_NMI */
    uint64_t irq_window_requests;       /* runs entered with request_interrupt_window set */
    uint64_t pio_exits_string;          /* KVM_EXIT_IO with count > 1 (rep ins/outs) */
    uint64_t mmio_bytes;
    uint64_t a20_remaps;                /* memory slot changes for the A20 gate */
};

/* The MSRs the vcpu_state carries that KVM exposes through KVM_GET/SET_MSRS (EFER and the APIC
 * base travel in kvm_sregs instead). */
#define KVM_STATE_MAX_MSRS 40

struct kvm_msr_list_buf {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[KVM_STATE_MAX_MSRS];
};

struct kvm_engine {
    struct vm *vm;
    int kvm_fd, vm_fd, vcpu_fd;
    struct kvm_run *run;
    size_t run_size;

    /* Which of the state MSRs this KVM accepts (from KVM_GET_MSR_INDEX_LIST). */
    uint32_t msr_idx[KVM_STATE_MAX_MSRS];
    int nmsrs;

    /* The deadline timer: a per-thread POSIX timer whose signal sets run->immediate_exit, so
     * KVM_RUN returns -EINTR at the deadline even if the signal lands just before entry. */
    struct thread_timer timer;  /* core/thread_timer.h */

    bool halted;            /* the guest executed HLT; KVM (no in-kernel irqchip) left it to us */
    bool run_fresh;         /* kvm_run's ready_for_interrupt_injection/if_flag describe the
                             * vCPU as it is (false after set_state, until the next KVM_RUN) */
    uint32_t a20_seen_gen;  /* vm->a20_gen when the memory slots were last laid out */
    bool a20_aliased;       /* [1 MiB, 2 MiB) currently maps guest physical [0, 1 MiB) */

    struct kvm_engine_stats stats;
};

/* kvm_vcpu_state.c: pure conversions between vcpu_state and KVM's structures. The to_*
 * functions write only the fields the vcpu_state carries: callers start from what KVM
 * returned (or zeroes) so the rest (e.g. the sregs interrupt bitmap) is kept. */
void kvm_seg_to_kvm(const struct seg_reg *s, struct kvm_segment *k);
void kvm_seg_from_kvm(const struct kvm_segment *k, struct seg_reg *s);
void kvm_state_to_regs(const struct vcpu_state *st, struct kvm_regs *r);
void kvm_state_from_regs(const struct kvm_regs *r, struct vcpu_state *st);
void kvm_state_to_sregs(const struct vcpu_state *st, struct kvm_sregs *s);
void kvm_state_from_sregs(const struct kvm_sregs *s, struct vcpu_state *st);
void kvm_state_to_fpu(const struct vcpu_state *st, struct kvm_fpu *f);
void kvm_state_from_fpu(const struct kvm_fpu *f, struct vcpu_state *st);
void kvm_state_to_debugregs(const struct vcpu_state *st, struct kvm_debugregs *d);
void kvm_state_from_debugregs(const struct kvm_debugregs *d, struct vcpu_state *st);
/* Fills entries for the given MSR indices from st (tsc: the guest TSC value to load). */
void kvm_state_to_msrs(const struct vcpu_state *st, uint64_t tsc, const uint32_t *idx, int n,
                       struct kvm_msr_entry *e);
/* Reads entries back; returns the guest TSC value found (0 when MSR_IA32_TSC is not among them). */
uint64_t kvm_state_from_msrs(const struct kvm_msr_entry *e, int n, struct vcpu_state *st);
/* Every MSR index the state carries, in a fixed order; returns how many. */
int kvm_state_msr_indices(uint32_t *idx, int max);
void kvm_state_to_events(const struct vcpu_state *st, struct kvm_vcpu_events *ev);
void kvm_state_from_events(const struct kvm_vcpu_events *ev, struct vcpu_state *st);

/* kvm_vcpu_io.c: the whole vCPU state through the ioctls (uses the conversions above). */
int kvm_vcpu_get(struct kvm_engine *k, struct vcpu_state *st, struct rf_err *err);
int kvm_vcpu_put(struct kvm_engine *k, const struct vcpu_state *st, struct rf_err *err);
/* One line with the registers that matter after a crash, for stop messages. */
void kvm_vcpu_dump(struct kvm_engine *k, char *buf, size_t len);

/* kvm_cpuid.c: KVM_SET_CPUID2 from the VM's CPU model. */
int kvm_cpuid_setup(struct kvm_engine *k, const struct cpu_model *m, struct rf_err *err);

/* kvm_memory.c: the guest memfd as memory slots (VGA hole left out); the A20 gate. */
int kvm_memory_setup(struct kvm_engine *k, struct rf_err *err);
int kvm_memory_a20_sync(struct kvm_engine *k, struct rf_err *err);

/* kvm_run.c: the KVM_RUN loop and exit dispatch; the deadline timer. */
int kvm_timer_setup(struct kvm_engine *k, struct rf_err *err);
void kvm_timer_destroy(struct kvm_engine *k);
int kvm_run_vcpu(struct kvm_engine *k, uint64_t deadline_ns);   /* an enum engine_exit */
const char *kvm_exit_name(unsigned reason);

#endif
