/* The kvm engine: hardware virtualization (VT-x/AMD-V) through Linux KVM. This file is the ops
 * table and the VM/vCPU lifecycle; the pieces are kvm_memory.c (memory slots, A20), kvm_cpuid.c
 * (KVM_SET_CPUID2 from the CPU model), kvm_vcpu_state.c + kvm_vcpu_io.c (state both ways) and
 * kvm_run.c (KVM_RUN, exits, interrupt injection, the deadline timer). docs/kvm.md explains it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ringfold/vm.h"
#include "kvm_priv.h"
#include "kvm_probe.h"

/* Where KVM may put the three pages of the TSS it needs to run real mode on VT-x without
 * unrestricted guest, and its identity-map page: just below the BIOS ROM at the top of the 4 GiB
 * space, far above any RAM ringfold gives a guest (GUEST_MEM_MAX is 3 GiB). */
#define KVM_TSS_ADDR         0xfffbd000u
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

/* vcpu_state's TSC runs at 1 GHz of the virtual clock (emu: TSC_PER_NS 1); ask KVM for the same
 * rate where the host can scale the TSC, so time measured with RDTSC agrees across engines. */
#define KVM_GUEST_TSC_KHZ 1000000

static int kvm_probe(struct rf_err *why)
{
    struct kvm_decision d;
    kvm_probe_decide(kvm_probe_host(true), &d);
    if (d.hw_virt)
        return 0;
    return rf_errf(why, -ENODEV, "%s", d.reason[0] ? d.reason : "no hardware virtualization");
}

static void kvm_destroy(void *priv)
{
    struct kvm_engine *k = priv;
    if (!k)
        return;
    kvm_timer_destroy(k);
    if (k->run && k->run != MAP_FAILED)
        munmap(k->run, k->run_size);
    if (k->vcpu_fd >= 0)
        close(k->vcpu_fd);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->kvm_fd >= 0)
        close(k->kvm_fd);
    free(k);
}

/* The state MSRs this KVM knows (KVM_GET_MSR_INDEX_LIST); the rest stay the guest's business. */
static void kvm_msrs_select(struct kvm_engine *k)
{
    uint32_t want[KVM_STATE_MAX_MSRS];
    int nwant = kvm_state_msr_indices(want, KVM_STATE_MAX_MSRS);
    struct kvm_msr_list probe = { .nmsrs = 0 };
    k->nmsrs = 0;
    if (ioctl(k->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return;
    struct kvm_msr_list *list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    if (!list)
        return;
    list->nmsrs = probe.nmsrs;
    if (ioctl(k->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) == 0) {
        for (int i = 0; i < nwant; i++)
            for (uint32_t j = 0; j < list->nmsrs; j++)
                if (list->indices[j] == want[i]) {
                    k->msr_idx[k->nmsrs++] = want[i];
                    break;
                }
    }
    free(list);
    /* MTRRs and PAT are emulated by KVM but not all kernels list them: take the TSC-and-SYSENTER
     * core at least, which every KVM has. */
    if (!k->nmsrs)
        k->nmsrs = kvm_state_msr_indices(k->msr_idx, 4);
}

static int kvm_errno(struct rf_err *err, const char *what)
{
    int e = errno;
    return rf_errf(err, -e, "engine kvm: %s: %s", what, strerror(e));
}

static int kvm_create(struct vm *vm, void **priv, struct rf_err *err)
{
    if (vm->cfg.deterministic)
        return rf_errf(err, -EINVAL, "engine kvm: no deterministic mode (the guest runs on the real "
                       "CPU, so guest time cannot follow an instruction count); use emu");
    struct kvm_engine *k = calloc(1, sizeof(*k));
    if (!k)
        return rf_errf(err, -ENOMEM, "engine kvm: out of memory");
    k->vm = vm;
    k->kvm_fd = k->vm_fd = k->vcpu_fd = -1;
    int rc;

    k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->kvm_fd < 0) {
        rc = kvm_errno(err, "/dev/kvm");
        goto fail;
    }
    int api = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        rc = rf_errf(err, -ENOTSUP, "engine kvm: KVM API version %d, ringfold speaks %d", api, KVM_API_VERSION);
        goto fail;
    }
    if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
        ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        rc = rf_errf(err, -ENOTSUP, "engine kvm: this KVM lacks KVM_CAP_USER_MEMORY or "
                     "KVM_CAP_IMMEDIATE_EXIT, both of which ringfold needs");
        goto fail;
    }
    k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
    if (k->vm_fd < 0) {
        rc = kvm_errno(err, "KVM_CREATE_VM");
        goto fail;
    }
    /* Intel needs both before the first vCPU runs real mode (api.rst, KVM_SET_TSS_ADDR); AMD
     * accepts and ignores them. A KVM without the capability does not need them. */
    if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
        ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        rc = kvm_errno(err, "KVM_SET_TSS_ADDR");
        goto fail;
    }
    if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        uint64_t addr = KVM_IDENTITY_MAP_ADDR;
        ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
    }
    rc = kvm_memory_setup(k, err);
    if (rc < 0)
        goto fail;
    k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
    if (k->vcpu_fd < 0) {
        rc = kvm_errno(err, "KVM_CREATE_VCPU");
        goto fail;
    }
    int sz = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run)) {
        rc = kvm_errno(err, "KVM_GET_VCPU_MMAP_SIZE");
        goto fail;
    }
    k->run_size = (size_t)sz;
    k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu_fd, 0);
    if (k->run == MAP_FAILED) {
        k->run = NULL;
        rc = kvm_errno(err, "mmap of the kvm_run page");
        goto fail;
    }
    rc = kvm_cpuid_setup(k, vm->cpu, err);
    if (rc < 0)
        goto fail;
    if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0)
        ioctl(k->vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)KVM_GUEST_TSC_KHZ);
    kvm_msrs_select(k);
    rc = kvm_timer_setup(k, err);
    if (rc < 0)
        goto fail;
    *priv = k;
    return 0;
fail:
    kvm_destroy(k);
    return rc;
}

static enum engine_exit kvm_run(void *priv, uint64_t deadline_ns)
{
    return (enum engine_exit)kvm_run_vcpu(priv, deadline_ns);
}

static void kvm_get_state(void *priv, struct vcpu_state *st)
{
    struct kvm_engine *k = priv;
    struct rf_err err;
    if (kvm_vcpu_get(k, st, &err) < 0)
        vm_request_stop(k->vm, VM_STOP_ERROR, 0, "%s", err.msg);
}

static void kvm_set_state(void *priv, const struct vcpu_state *st)
{
    struct kvm_engine *k = priv;
    struct rf_err err;
    if (kvm_vcpu_put(k, st, &err) < 0)
        vm_request_stop(k->vm, VM_STOP_ERROR, 0, "%s", err.msg);
}

static void kvm_print_stats(void *priv, FILE *out)
{
    struct kvm_engine *k = priv;
    const struct kvm_engine_stats *s = &k->stats;
    uint64_t total = 0;
    for (int i = 0; i < KVM_STAT_EXITS; i++)
        total += s->exits[i];
    fprintf(out, "kvm: %llu exits in %llu KVM_RUN calls (%llu returned -EINTR: deadline kicks)\n",
            (unsigned long long)total, (unsigned long long)s->runs, (unsigned long long)s->eintr);
    fprintf(out, "kvm: exits by reason:");
    for (int i = 0; i < KVM_STAT_EXITS; i++)
        if (s->exits[i])
            fprintf(out, " %s %llu", kvm_exit_name((unsigned)i), (unsigned long long)s->exits[i]);
    fprintf(out, "\n");
    double g = s->guest_ns / 1e9, m = s->monitor_ns / 1e9;
    fprintf(out, "kvm: time: guest %.3f s (inside KVM_RUN), monitor %.3f s (handling exits), "
            "guest share %.1f%%\n", g, m, g + m > 0 ? 100.0 * g / (g + m) : 0.0);
    fprintf(out, "kvm: interrupts injected %llu, NMIs injected %llu, interrupt-window requests %llu, "
            "string I/O exits %llu, MMIO bytes %llu, A20 slot remaps %llu\n",
            (unsigned long long)s->irqs_injected, (unsigned long long)s->nmis_injected,
            (unsigned long long)s->irq_window_requests, (unsigned long long)s->pio_exits_string,
            (unsigned long long)s->mmio_bytes, (unsigned long long)s->a20_remaps);
}

const struct engine_ops kvm_engine_ops = {
    .name = "kvm",
    .summary = "VT-x/AMD-V through Linux KVM (memory slots, exits to ringfold's own devices)",
    .probe = kvm_probe,
    .create = kvm_create,
    .run = kvm_run,
    .get_state = kvm_get_state,
    .set_state = kvm_set_state,
    .print_stats = kvm_print_stats,
    .destroy = kvm_destroy,
};
