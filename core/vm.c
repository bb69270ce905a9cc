/* The VM object and its run loop: the engine runs in time slices bounded by the next
 * device timer; between slices the loop fires timers, polls the console, and sleeps
 * while the guest halts. Everything here is engine-neutral. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "ringfold/cpu_model.h"
#include "ringfold/vm.h"
#include "../devices/pc.h"

/* Upper bound on a slice so console input and --timeout are noticed promptly. */
#define VM_SLICE_NS 10000000ull

int vm_init(struct vm *vm, const struct vm_config *cfg, struct rf_err *err)
{
    memset(vm, 0, sizeof(*vm));
    vm->cfg = *cfg;
    if (!vm->cfg.mem_size)
        vm->cfg.mem_size = GUEST_MEM_DEFAULT;
    if (!vm->cfg.serial)
        vm->cfg.serial = "stdio";
    if (!vm->cfg.engine)
        vm->cfg.engine = "auto";
    vm->cpu = cpu_model_find(vm->cfg.cpu_model);
    if (!vm->cpu)
        return rf_errf(err, -EINVAL, "cpu: unknown model '%s' (--cpu=help lists them)", vm->cfg.cpu_model);
    int rc = guest_mem_init(&vm->mem, vm->cfg.mem_size, err);
    if (rc < 0)
        return rc;
    bus_init(&vm->bus);
    /* A20 starts enabled: the loaders start protected-mode kernels and Linux, which assume it
     * on, and a boot sector runs as after a modern BIOS, which enables A20 before the boot. */
    vm->a20_clear = VM_A20_ON;
    vclock_init(&vm->clock, vm->cfg.deterministic);
    rc = pc_platform_create(vm, err);
    if (rc < 0) {
        guest_mem_destroy(&vm->mem);
        return rc;
    }
    vcpu_state_reset(&vm->boot_state);
    return 0;
}

void vm_destroy(struct vm *vm)
{
    if (vm->engine && vm->engine_priv)
        vm->engine->destroy(vm->engine_priv);
    vm->engine_priv = NULL;
    pc_platform_destroy(vm);
    guest_mem_destroy(&vm->mem);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, uint32_t code, const char *fmt, ...)
{
    if (vm->stop)
        return;
    vm->stop_code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
        va_end(ap);
    }
    vm->stop = why;
}

static int vm_exit_status(const struct vm *vm)
{
    switch (vm->stop) {
    case VM_STOP_DEBUG_EXIT:   return (int)(((vm->stop_code << 1) | 1) & 0xff);
    case VM_STOP_RESET:        return RF_EXIT_OK;
    case VM_STOP_QUIT:         return RF_EXIT_OK;
    case VM_STOP_TRIPLE_FAULT: return RF_EXIT_TRIPLE_FAULT;
    case VM_STOP_HUNG:         return RF_EXIT_HUNG;
    case VM_STOP_TIMEOUT:      return RF_EXIT_TIMEOUT;
    default:                   return RF_EXIT_MONITOR;
    }
}

/* Appends "name: reason" for an engine auto skipped to the explanation. */
static void vm_why_append(struct vm *vm, const char *name, const char *reason)
{
    size_t n = strlen(vm->engine_why);
    snprintf(vm->engine_why + n, sizeof(vm->engine_why) - n, "%s%s: %s", n ? "; " : "", name, reason);
}

/* Chooses the engine named in the config; `auto` takes the first engine whose probe passes
 * and records why each one before it was passed over. */
static int vm_pick_engine(struct vm *vm, struct rf_err *err)
{
    vm->engine_why[0] = 0;
    if (!strcmp(vm->cfg.engine, "auto")) {
        for (int i = 0; engine_table[i]; i++) {
            struct rf_err why = { { 0 } };
            const struct engine_ops *e = engine_table[i];
            int ok = e->probe(&why) == 0;
            /* Only emu and raw can derive guest time from an instruction count. */
            if (ok && vm->cfg.deterministic && !strcmp(e->name, "kvm")) {
                ok = 0;
                rf_errf(&why, -ENOTSUP, "no --deterministic mode under hardware virtualization");
            }
            if (ok && e->create) {
                vm->engine = e;
                char skipped[sizeof(vm->engine_why)];
                memcpy(skipped, vm->engine_why, sizeof(skipped));
                int n = snprintf(vm->engine_why, sizeof(vm->engine_why), "auto: the first engine "
                                 "whose probe passes%s", skipped[0] ? "; passed over " : "");
                if (n > 0 && (size_t)n < sizeof(vm->engine_why))
                    snprintf(vm->engine_why + n, sizeof(vm->engine_why) - (size_t)n, "%.*s",
                             (int)(sizeof(vm->engine_why) - (size_t)n - 1), skipped);
                return 0;
            }
            vm_why_append(vm, e->name, why.msg[0] ? why.msg : "not built");
        }
        return rf_errf(err, -ENODEV, "engine: no engine can run on this host (%s)", vm->engine_why);
    }
    const struct engine_ops *e = engine_find(vm->cfg.engine);
    if (!e)
        return rf_errf(err, -EINVAL, "engine: unknown engine '%s' (emu, raw, kvm, auto)", vm->cfg.engine);
    struct rf_err why = { { 0 } };
    if (!e->create)
        return rf_errf(err, -ENODEV, "engine %s: not available: %s", e->name,
                       e->probe(&why) < 0 && why.msg[0] ? why.msg : "not built");
    if (e->probe(&why) < 0) {
        if (!vm->cfg.force_engine)
            return rf_errf(err, -ENODEV, "engine %s: not available: %s (--force-engine overrides)",
                           e->name, why.msg[0] ? why.msg : "no reason given");
        snprintf(vm->engine_why, sizeof(vm->engine_why), "forced with --force-engine although the "
                 "probe says: %s", why.msg[0] ? why.msg : "no reason given");
    } else {
        snprintf(vm->engine_why, sizeof(vm->engine_why), "named with --engine");
    }
    vm->engine = e;
    return 0;
}

int vm_start(struct vm *vm, struct rf_err *err)
{
    if (vm->engine_priv)
        return 0;
    int rc = vm_pick_engine(vm, err);
    if (rc < 0)
        return rc;
    rc = vm->engine->create(vm, &vm->engine_priv, err);
    if (rc < 0) {
        vm->engine_priv = NULL;
        return rc;
    }
    vm->engine->set_state(vm->engine_priv, &vm->boot_state);
    return 0;
}

/* Sleeps until console input arrives or ns pass, without advancing guest time. */
static void vm_wait_input(int fd, uint64_t ns)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
    ppoll(&p, 1, &ts, NULL);
}

int vm_run(struct vm *vm, struct rf_err *err)
{
    int rc = vm_start(vm, err);
    if (rc < 0)
        return rc;

    const uint64_t host_start = vclock_host_ns();
    const int input_fd = pc_input_fd(vm);
    while (!vm->stop) {
        uint64_t next = vclock_run_timers(&vm->clock);
        pc_poll_input(vm);
        if (vm->stop)
            break;
        if (vm->cfg.timeout_ns && vclock_host_ns() - host_start >= vm->cfg.timeout_ns) {
            vm_request_stop(vm, VM_STOP_TIMEOUT, 0, "timeout: guest still running after %.1f s",
                            vm->cfg.timeout_ns / 1e9);
            break;
        }
        uint64_t now = vclock_ns(&vm->clock);
        uint64_t slice_end = now + VM_SLICE_NS;
        if (next < slice_end)
            slice_end = next;
        enum engine_exit ex = vm->engine->run(vm->engine_priv, slice_end);
        if (ex != ENGINE_EXIT_HALT || vm->stop || vm->intr_pending || vm->nmi_pending)
            continue;
        /* Halted with interrupts enabled: nothing to do until a timer or input. The guest may
         * have armed a timer during the slice, so look at the deadline again. */
        next = vclock_next_deadline(&vm->clock);
        if (vm->clock.deterministic) {
            if (next != UINT64_MAX) {
                vclock_wait_until(&vm->clock, next, -1);      /* jumps guest time */
            } else if (input_fd >= 0) {
                vm_wait_input(input_fd, VM_SLICE_NS);        /* guest time stands still */
            } else {
                vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with no timer armed and no input");
                break;
            }
        } else {
            if (next == UINT64_MAX && input_fd < 0) {
                /* No device timer armed and no input that could arrive: no interrupt can ever
                 * come (the devices have no other source), so the guest would sleep forever. */
                vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with no timer armed and no input");
                break;
            }
            now = vclock_ns(&vm->clock);
            uint64_t wake = next < now + VM_SLICE_NS ? next : now + VM_SLICE_NS;
            vclock_wait_until(&vm->clock, wake, input_fd);
        }
    }
    return vm_exit_status(vm);
}
