/* The kvm engine's run loop: KVM_RUN until the deadline, a halt or a stop, with every exit handed
 * to ringfold's own devices (port I/O and MMIO through vm->bus), interrupts from ringfold's PIC
 * injected with KVM_INTERRUPT (interrupt-window exits when the guest cannot take one yet), and a
 * per-thread POSIX timer that kicks the vCPU out of KVM_RUN at the deadline. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "ringfold/vm.h"
#include "kvm_priv.h"

/* --- the deadline timer ---------------------------------------------------------------------- */

/* A guest that spins without exiting never gives control back on its own, so KVM_RUN must be
 * interrupted from outside. The timer's signal goes to this thread only (SIGEV_THREAD_ID); its
 * handler sets kvm_run->immediate_exit, which KVM polls at entry (api.rst, "immediate_exit"): a
 * signal that lands just before KVM_RUN still makes it return -EINTR at once, and one that lands
 * inside KVM_RUN makes it return -EINTR anyway. No signal mask juggling is needed. */
#define KVM_TIMER_SIGNAL (SIGRTMIN + 5)

static __thread struct kvm_run *volatile kvm_kick_run;

static void kvm_timer_handler(int sig)
{
    (void)sig;
    struct kvm_run *r = kvm_kick_run;
    if (r)
        r->immediate_exit = 1;
}

int kvm_timer_setup(struct kvm_engine *k, struct rf_err *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_timer_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(KVM_TIMER_SIGNAL, &sa, NULL) < 0)
        return rf_errf(err, -errno, "engine kvm: sigaction for the deadline timer: %s", strerror(errno));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, KVM_TIMER_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    int rc = thread_timer_create(&k->timer, KVM_TIMER_SIGNAL, "engine kvm", err);
    if (rc < 0)
        return rc;
    kvm_kick_run = k->run;
    return 0;
}

void kvm_timer_destroy(struct kvm_engine *k)
{
    thread_timer_destroy(&k->timer);
    if (kvm_kick_run == k->run)
        kvm_kick_run = NULL;
}

/* --- exits ----------------------------------------------------------------------------------- */

const char *kvm_exit_name(unsigned reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception", [KVM_EXIT_IO] = "io",
        [KVM_EXIT_HYPERCALL] = "hypercall", [KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
        [KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
        [KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
        [KVM_EXIT_INTR] = "intr", [KVM_EXIT_SET_TPR] = "set_tpr", [KVM_EXIT_TPR_ACCESS] = "tpr_access",
        [KVM_EXIT_NMI] = "nmi", [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
        [KVM_EXIT_SYSTEM_EVENT] = "system_event", [KVM_EXIT_X86_RDMSR] = "x86_rdmsr",
        [KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
    };
    if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
        return names[reason];
    return "other";
}

/* Port I/O: one access, or count of them for INS/OUTS with REP, laid out one after the other in
 * the kvm_run page at data_offset (api.rst, KVM_EXIT_IO). */
static void kvm_exit_io(struct kvm_engine *k)
{
    struct kvm_run *r = k->run;
    struct bus *bus = &k->vm->bus;
    unsigned size = r->io.size;
    if (size != 1 && size != 2 && size != 4)
        return;
    if (r->io.count > 1)
        k->stats.pio_exits_string++;
    uint8_t *data = (uint8_t *)r + r->io.data_offset;
    if ((uint64_t)r->io.data_offset + (uint64_t)r->io.count * size > k->run_size)
        return;                           /* a kernel bug, not guest input: do nothing */
    for (uint32_t i = 0; i < r->io.count; i++, data += size) {
        uint32_t v = 0;
        if (r->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&v, data, size);
            bus_pio_write(bus, r->io.port, v, size);
        } else {
            v = bus_pio_read(bus, r->io.port, size);
            memcpy(data, &v, size);
        }
    }
}

/* MMIO: the VGA hole and anything outside RAM. The bus takes 1, 2 or 4 bytes; wider accesses
 * (8-byte MOVQ/FILD) are split into dwords, odd sizes into bytes, little endian. */
static void kvm_exit_mmio(struct kvm_engine *k)
{
    struct kvm_run *r = k->run;
    struct bus *bus = &k->vm->bus;
    uint32_t len = r->mmio.len > 8 ? 8 : r->mmio.len;
    unsigned step = (len == 8) ? 4 : (len == 1 || len == 2 || len == 4) ? len : 1;
    k->stats.mmio_bytes += len;
    for (uint32_t off = 0; off < len; off += step) {
        uint32_t v = 0;
        if (r->mmio.is_write) {
            memcpy(&v, r->mmio.data + off, step);
            bus_mmio_write(bus, r->mmio.phys_addr + off, v, step);
        } else {
            v = bus_mmio_read(bus, r->mmio.phys_addr + off, step);
            memcpy(r->mmio.data + off, &v, step);
        }
    }
}

static void kvm_stop_error(struct kvm_engine *k, const char *what)
{
    char dump[400];
    kvm_vcpu_dump(k, dump, sizeof(dump));
    vm_request_stop(k->vm, VM_STOP_ERROR, 0, "engine kvm: %s; %s", what, dump);
}

/* KVM_EXIT_INTERNAL_ERROR. The common one is suberror 1, "emulation failed": KVM's own x86
 * instruction emulator (used for MMIO, for real mode without unrestricted guest, and for
 * everything on KVM-PVM without paging) met an instruction it does not implement. With flag bit 0
 * set, run->emulation_failure holds the instruction's length and bytes (api.rst,
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE): they name the culprit in the stop message. */
static void kvm_internal_error(struct kvm_engine *k, char *what, size_t len)
{
    struct kvm_run *r = k->run;
    int n = snprintf(what, len, "KVM internal error (suberror %u", r->internal.suberror);
    if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        n += snprintf(what + n, len - (size_t)n, ": KVM's instruction emulator failed");
        if (r->emulation_failure.ndata >= 2 &&
            (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
            unsigned cnt = r->emulation_failure.insn_size;
            if (cnt > sizeof(r->emulation_failure.insn_bytes))
                cnt = sizeof(r->emulation_failure.insn_bytes);
            n += snprintf(what + n, len - (size_t)n, " on instruction bytes");
            for (unsigned i = 0; i < cnt && (size_t)n < len; i++)
                n += snprintf(what + n, len - (size_t)n, " %02x", r->emulation_failure.insn_bytes[i]);
        }
    } else if (r->internal.ndata) {
        n += snprintf(what + n, len - (size_t)n, ", data %#" PRIx64, (uint64_t)r->internal.data[0]);
    }
    if ((size_t)n < len)
        snprintf(what + n, len - (size_t)n, ")");
}

/* Handles one exit; returns false when the vCPU must not be entered again in this slice. */
static bool kvm_exit_dispatch(struct kvm_engine *k)
{
    struct kvm_run *r = k->run;
    char what[200];
    unsigned reason = r->exit_reason;
    k->stats.exits[reason < KVM_STAT_EXITS ? reason : KVM_STAT_EXITS - 1]++;
    switch (reason) {
    case KVM_EXIT_IO: {
        kvm_exit_io(k);
        struct rf_err err;
        if (k->vm->a20_gen != k->a20_seen_gen && kvm_memory_a20_sync(k, &err) < 0)
            vm_request_stop(k->vm, VM_STOP_ERROR, 0, "%s", err.msg);
        return true;
    }
    case KVM_EXIT_MMIO:
        kvm_exit_mmio(k);
        return true;
    case KVM_EXIT_HLT:
        /* Without an in-kernel irqchip KVM leaves halting to user space: the guest is now just
         * past its HLT, and must not be entered again until an interrupt is delivered. */
        k->halted = true;
        return true;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN: {
        /* VMX/SVM report a triple fault (SDM Vol. 3 §6.15, double fault during #DF) as shutdown. */
        char dump[400];
        kvm_vcpu_dump(k, dump, sizeof(dump));
        vm_request_stop(k->vm, VM_STOP_TRIPLE_FAULT, 0, "triple fault: KVM_EXIT_SHUTDOWN; %s", dump);
        return false;
    }
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof(what), "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason %#" PRIx64
                 " on cpu %u): the vCPU state is not one the hardware accepts",
                 (uint64_t)r->fail_entry.hardware_entry_failure_reason, r->fail_entry.cpu);
        kvm_stop_error(k, what);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        kvm_internal_error(k, what, sizeof(what));
        kvm_stop_error(k, what);
        return false;
    default:
        snprintf(what, sizeof(what), "unexpected exit %u (%s)", reason, kvm_exit_name(reason));
        kvm_stop_error(k, what);
        return false;
    }
}

/* --- interrupts ------------------------------------------------------------------------------ */

static bool kvm_guest_if(struct kvm_engine *k)
{
    struct kvm_regs regs;
    if (ioctl(k->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return false;
    return regs.rflags & EFL_IF;
}

static void kvm_inject_irq(struct kvm_engine *k, int vector)
{
    struct kvm_interrupt irq = { .irq = (uint32_t)(vector & 0xff) };
    if (ioctl(k->vcpu_fd, KVM_INTERRUPT, &irq) < 0) {
        vm_request_stop(k->vm, VM_STOP_ERROR, 0, "engine kvm: KVM_INTERRUPT vector %#x: %s",
                        vector & 0xff, strerror(errno));
        return;
    }
    k->stats.irqs_injected++;
    k->halted = false;
}

/* NMI first (it is not masked by IF), then INTR from the PIC when the guest can take it now,
 * else ask KVM for an exit as soon as it can (request_interrupt_window, api.rst). */
static void kvm_inject_pending(struct kvm_engine *k)
{
    struct vm *vm = k->vm;
    struct kvm_run *r = k->run;
    if (vm->nmi_pending) {
        vm->nmi_pending = 0;
        if (ioctl(k->vcpu_fd, KVM_NMI) == 0) {
            k->stats.nmis_injected++;
            k->halted = false;
        }
    }
    r->request_interrupt_window = 0;
    if (!vm->intr_pending)
        return;
    bool ready = r->ready_for_interrupt_injection && r->if_flag;
    if (k->halted && !k->run_fresh)
        ready = kvm_guest_if(k);    /* halted state set from outside: kvm_run says nothing yet */
    if (ready) {
        int v = vm_intr_ack(vm);
        if (v >= 0)
            kvm_inject_irq(k, v);
    } else {
        r->request_interrupt_window = 1;
        k->stats.irq_window_requests++;
    }
}

/* --- the loop -------------------------------------------------------------------------------- */

int kvm_run_vcpu(struct kvm_engine *k, uint64_t deadline_ns)
{
    struct vm *vm = k->vm;
    struct kvm_run *r = k->run;
    const uint64_t t0 = vclock_host_ns();
    uint64_t guest = 0;
    enum engine_exit ret;

    uint64_t now = vclock_ns(&vm->clock);
    if (deadline_ns > now)
        thread_timer_set(&k->timer, vclock_host_ns() + (deadline_ns - now), 0);
    for (;;) {
        if (vm->stop) {
            ret = ENGINE_EXIT_STOP;
            break;
        }
        if (vclock_ns(&vm->clock) >= deadline_ns) {
            ret = ENGINE_EXIT_BUDGET;
            break;
        }
        if (vm->intr_pending || vm->nmi_pending || r->request_interrupt_window)
            kvm_inject_pending(k);
        if (vm->stop)
            continue;
        if (k->halted) {
            /* Still halted: nothing could be delivered. HLT with IF clear and no NMI to come is
             * a dead guest (emu says the same). */
            if (!vm->nmi_pending && !kvm_guest_if(k)) {
                struct vcpu_state st;
                struct rf_err err;
                if (kvm_vcpu_get(k, &st, &err) == 0)
                    vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with interrupts disabled at "
                                    "%04x:%08" PRIx32, st.seg[S_CS].sel, st.eip);
                else
                    vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with interrupts disabled");
            }
            ret = ENGINE_EXIT_HALT;
            break;
        }
        uint64_t g0 = vclock_host_ns();
        int rc = ioctl(k->vcpu_fd, KVM_RUN, 0);
        int e = errno;
        guest += vclock_host_ns() - g0;
        k->stats.runs++;
        k->run_fresh = true;
        if (rc < 0) {
            if (e == EINTR || e == EAGAIN) {
                r->immediate_exit = 0;
                k->stats.eintr++;
                continue;
            }
            vm_request_stop(vm, VM_STOP_ERROR, 0, "engine kvm: KVM_RUN: %s", strerror(e));
            ret = ENGINE_EXIT_STOP;
            break;
        }
        if (!kvm_exit_dispatch(k)) {
            ret = ENGINE_EXIT_STOP;
            break;
        }
    }
    thread_timer_disarm(&k->timer);
    r->immediate_exit = 0;
    k->stats.guest_ns += guest;
    k->stats.monitor_ns += vclock_host_ns() - t0 - guest;
    return ret;
}
