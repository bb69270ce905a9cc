/* The kvm engine's vCPU state through KVM's ioctls: the whole vcpu_state out of and into the
 * kernel (registers, segments, control registers, FPU/SSE, debug registers, MSRs, interrupt
 * shadow and NMI masking), and a one-line register dump for crash reports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "ringfold/vm.h"
#include "kvm_priv.h"

static int kvm_ioctl_err(struct rf_err *err, const char *what)
{
    int e = errno;
    return rf_errf(err, -e, "engine kvm: %s: %s", what, strerror(e));
}

int kvm_vcpu_get(struct kvm_engine *k, struct vcpu_state *st, struct rf_err *err)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_fpu f;
    struct kvm_debugregs d;
    struct kvm_vcpu_events ev;
    struct kvm_msr_list_buf m;

    memset(st, 0, sizeof(*st));
    if (ioctl(k->vcpu_fd, KVM_GET_REGS, &r) < 0)
        return kvm_ioctl_err(err, "KVM_GET_REGS");
    if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return kvm_ioctl_err(err, "KVM_GET_SREGS");
    kvm_state_from_regs(&r, st);
    kvm_state_from_sregs(&s, st);
    if (ioctl(k->vcpu_fd, KVM_GET_FPU, &f) == 0)
        kvm_state_from_fpu(&f, st);
    if (ioctl(k->vcpu_fd, KVM_GET_DEBUGREGS, &d) == 0)
        kvm_state_from_debugregs(&d, st);
    memset(&ev, 0, sizeof(ev));
    if (ioctl(k->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) == 0)
        kvm_state_from_events(&ev, st);
    memset(&m, 0, sizeof(m));
    m.hdr.nmsrs = (uint32_t)k->nmsrs;
    for (int i = 0; i < k->nmsrs; i++)
        m.e[i].index = k->msr_idx[i];
    int got = k->nmsrs ? ioctl(k->vcpu_fd, KVM_GET_MSRS, &m) : 0;
    if (got > 0) {
        uint64_t tsc = kvm_state_from_msrs(m.e, got, st);
        /* vcpu_state's TSC is relative to the virtual clock (guest TSC = clock ns + offset). */
        st->msr.tsc_offset = tsc - vclock_ns(&k->vm->clock);
    }
    st->halted = k->halted;
    return 0;
}

/* KVM_SET_MSRS stops at the first entry it refuses and returns how many it took: skip that one
 * and go on, so one MSR the host KVM dislikes does not lose the rest. */
static void kvm_vcpu_put_msrs(struct kvm_engine *k, const struct vcpu_state *st)
{
    struct kvm_msr_list_buf m;
    uint64_t tsc = vclock_ns(&k->vm->clock) + st->msr.tsc_offset;
    int done = 0;
    while (done < k->nmsrs) {
        memset(&m, 0, sizeof(m));
        int n = k->nmsrs - done;
        kvm_state_to_msrs(st, tsc, k->msr_idx + done, n, m.e);
        m.hdr.nmsrs = (uint32_t)n;
        int r = ioctl(k->vcpu_fd, KVM_SET_MSRS, &m);
        if (r < 0)
            return;
        done += r + 1;      /* r entries taken; entry r refused (or r == n: all done) */
    }
}

int kvm_vcpu_put(struct kvm_engine *k, const struct vcpu_state *st, struct rf_err *err)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_fpu f;
    struct kvm_debugregs d;
    struct kvm_vcpu_events ev;

    if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return kvm_ioctl_err(err, "KVM_GET_SREGS");
    kvm_state_to_sregs(st, &s);
    if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &s) < 0)
        return kvm_ioctl_err(err, "KVM_SET_SREGS");
    memset(&r, 0, sizeof(r));
    kvm_state_to_regs(st, &r);
    if (ioctl(k->vcpu_fd, KVM_SET_REGS, &r) < 0)
        return kvm_ioctl_err(err, "KVM_SET_REGS");
    memset(&f, 0, sizeof(f));
    kvm_state_to_fpu(st, &f);
    if (ioctl(k->vcpu_fd, KVM_SET_FPU, &f) < 0)
        return kvm_ioctl_err(err, "KVM_SET_FPU");
    memset(&d, 0, sizeof(d));
    kvm_state_to_debugregs(st, &d);
    if (ioctl(k->vcpu_fd, KVM_SET_DEBUGREGS, &d) < 0 && errno != EINVAL && errno != ENOTTY)
        return kvm_ioctl_err(err, "KVM_SET_DEBUGREGS");
    memset(&ev, 0, sizeof(ev));
    if (ioctl(k->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
        /* Flags name the optional parts KVM should take; with none but the shadow, what was
         * just read (pending exception, queued interrupt, NMI state) is written back unchanged. */
        ev.flags = 0;
        kvm_state_to_events(st, &ev);
        if (ioctl(k->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
            return kvm_ioctl_err(err, "KVM_SET_VCPU_EVENTS");
    }
    kvm_vcpu_put_msrs(k, st);
    k->halted = st->halted;
    k->run_fresh = false;
    return 0;
}

void kvm_vcpu_dump(struct kvm_engine *k, char *buf, size_t len)
{
    struct vcpu_state st;
    struct rf_err err;
    if (kvm_vcpu_get(k, &st, &err) < 0) {
        snprintf(buf, len, "(registers unavailable: %s)", err.msg);
        return;
    }
    snprintf(buf, len, "cs:eip=%04x:%08x ss:esp=%04x:%08x eflags=%08x cr0=%08x cr2=%08x cr3=%08x "
             "cr4=%08x eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x "
             "idtr=%08x/%04x gdtr=%08x/%04x tr=%04x",
             st.seg[S_CS].sel, st.eip, st.seg[S_SS].sel, st.gpr[R_ESP], st.eflags, st.cr0, st.cr2,
             st.cr3, st.cr4, st.gpr[R_EAX], st.gpr[R_EBX], st.gpr[R_ECX], st.gpr[R_EDX],
             st.gpr[R_ESI], st.gpr[R_EDI], st.gpr[R_EBP], st.idtr.base, st.idtr.limit,
             st.gdtr.base, st.gdtr.limit, st.tr.sel);
}
