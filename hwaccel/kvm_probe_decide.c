/* The probe's pure decision (can `kvm` run a guest here, and why) and the recorded-profile
 * format ("key = value" lines) that `ringfold probe --record` writes and the tests read. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "kvm_probe.h"

enum field_type { F_STR, F_BOOL, F_INT, F_OCT };

struct profile_field {
    const char *key;
    enum field_type type;
    size_t off, size;
};

#define PF(name, type) { #name, type, offsetof(struct kvm_host_profile, name), \
                         sizeof(((struct kvm_host_profile *)0)->name) }
static const struct profile_field profile_fields[] = {
    PF(cpu_vendor, F_STR), PF(cpu_brand, F_STR),
    PF(cpuid_vmx, F_BOOL), PF(cpuid_svm, F_BOOL), PF(cpuid_hypervisor, F_BOOL),
    PF(dev_present, F_BOOL), PF(dev_open_errno, F_INT),
    PF(dev_mode, F_OCT), PF(dev_uid, F_INT), PF(dev_gid, F_INT), PF(dev_owner, F_STR),
    PF(api_version, F_INT),
    PF(cap_user_memory, F_BOOL), PF(cap_ext_cpuid, F_BOOL), PF(cap_immediate_exit, F_BOOL),
    PF(cap_irqchip, F_BOOL), PF(cap_set_tss_addr, F_BOOL), PF(max_memslots, F_INT),
    PF(module, F_STR), PF(ept, F_INT), PF(npt, F_INT), PF(vpid, F_INT),
    PF(unrestricted_guest, F_INT), PF(nested, F_INT),
    PF(pvm, F_BOOL), PF(pvm_evidence, F_STR),
    PF(paged_guest, F_INT), PF(unpaged_guest, F_INT), PF(guest_detail, F_STR),
};
#undef PF
#define NFIELDS (sizeof profile_fields / sizeof profile_fields[0])

void kvm_profile_write(const struct kvm_host_profile *p, FILE *out)
{
    fprintf(out, "# ringfold KVM host profile (ringfold probe --record); see docs/probe.md\n");
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct profile_field *f = &profile_fields[i];
        const char *at = (const char *)p + f->off;
        switch (f->type) {
        case F_STR:
            fprintf(out, "%s = %s\n", f->key, at);
            break;
        case F_BOOL:
            fprintf(out, "%s = %d\n", f->key, *(const bool *)at ? 1 : 0);
            break;
        case F_INT:
            if (f->size == sizeof(int))
                fprintf(out, "%s = %d\n", f->key, *(const int *)at);
            break;
        case F_OCT:
            fprintf(out, "%s = %04o\n", f->key, *(const unsigned *)at);
            break;
        }
    }
}

static void profile_defaults(struct kvm_host_profile *p)
{
    memset(p, 0, sizeof *p);
    p->api_version = -1;
    p->ept = p->npt = p->vpid = p->unrestricted_guest = p->nested = -1;
    p->paged_guest = p->unpaged_guest = -1;
}

static int profile_set(const struct profile_field *f, const char *val, struct kvm_host_profile *p)
{
    char *at = (char *)p + f->off, *end;
    long v;
    switch (f->type) {
    case F_STR:
        if (strlen(val) >= f->size)
            return -1;
        strcpy(at, val);
        return 0;
    case F_BOOL:
        if (strcmp(val, "0") && strcmp(val, "1"))
            return -1;
        *(bool *)at = val[0] == '1';
        return 0;
    case F_INT:
    case F_OCT:
        errno = 0;
        v = strtol(val, &end, f->type == F_OCT ? 8 : 10);
        if (errno || end == val || *end || v < -1 || v > 0x7fffffff)
            return -1;
        *(int *)at = (int)v;
        return 0;
    }
    return -1;
}

int kvm_profile_parse(const char *text, struct kvm_host_profile *p, struct rf_err *err)
{
    profile_defaults(p);
    int lineno = 0;
    for (const char *line = text; line && *line; ) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        char buf[320];
        if (len >= sizeof buf)
            return rf_errf(err, -EINVAL, "kvm profile: line %d: too long", lineno);
        memcpy(buf, line, len);
        buf[len] = 0;
        line = nl ? nl + 1 : NULL;
        while (len && isspace((unsigned char)buf[len - 1]))
            buf[--len] = 0;
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return rf_errf(err, -EINVAL, "kvm profile: line %d: expected 'key = value'", lineno);
        char *kend = eq;
        while (kend > s && isspace((unsigned char)kend[-1]))
            kend--;
        *kend = 0;
        char *val = eq + 1;
        while (isspace((unsigned char)*val))
            val++;
        const struct profile_field *f = NULL;
        for (size_t i = 0; i < NFIELDS; i++)
            if (!strcmp(profile_fields[i].key, s))
                f = &profile_fields[i];
        if (!f)
            return rf_errf(err, -EINVAL, "kvm profile: line %d: unknown key '%s'", lineno, s);
        if (profile_set(f, val, p) < 0)
            return rf_errf(err, -EINVAL, "kvm profile: line %d: bad value for %s: '%s'",
                           lineno, s, val);
    }
    return 0;
}

/* Appends ", no EPT"-style notes on the second-level paging and friends to a yes reason. */
static void decide_notes(const struct kvm_host_profile *p, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    if (p->cpuid_vmx) {
        if (p->ept == 0)
            n += (size_t)snprintf(buf + n, len - n, ", no EPT (KVM shadows guest page tables: slower)");
        else if (p->ept == 1)
            n += (size_t)snprintf(buf + n, len - n, ", EPT");
        if (n < len && p->unrestricted_guest == 0)
            n += (size_t)snprintf(buf + n, len - n, ", no unrestricted guest (real mode emulated)");
        if (n < len && p->vpid == 0)
            snprintf(buf + n, len - n, ", no VPID");
    } else if (p->cpuid_svm) {
        if (p->npt == 0)
            snprintf(buf, len, ", no NPT (KVM shadows guest page tables: slower)");
        else if (p->npt == 1)
            snprintf(buf, len, ", NPT");
    }
}

void kvm_probe_decide(const struct kvm_host_profile *p, struct kvm_decision *d)
{
    bool hw = p->cpuid_vmx || p->cpuid_svm;
    const char *tech = p->cpuid_vmx ? "VT-x" : "AMD-V";
    memset(d, 0, sizeof *d);

    if (!p->dev_present) {
        if (hw)
            snprintf(d->reason, sizeof d->reason,
                     "no /dev/kvm: the CPU has %s but no KVM module is loaded (modprobe %s)",
                     tech, p->cpuid_vmx ? "kvm_intel" : "kvm_amd");
        else
            snprintf(d->reason, sizeof d->reason,
                     "no /dev/kvm and no hardware virtualization (CPU has neither VT-x nor AMD-V)");
        return;
    }
    if (p->dev_open_errno) {
        int n = snprintf(d->reason, sizeof d->reason, "/dev/kvm: cannot open: %s",
                         strerror(p->dev_open_errno));
        if (n > 0 && (p->dev_open_errno == EACCES || p->dev_open_errno == EPERM)) {
            /* The usual fix: the group that owns /dev/kvm (udev makes it root:kvm 0660). */
            const char *group = strchr(p->dev_owner, ':');
            if (group && (p->dev_mode & 060) == 060)
                snprintf(d->reason + n, sizeof d->reason - (size_t)n,
                         " (no permission: add this user to group %s)", group + 1);
            else
                snprintf(d->reason + n, sizeof d->reason - (size_t)n,
                         " (no permission: /dev/kvm is %s mode %04o)",
                         p->dev_owner[0] ? p->dev_owner : "?", p->dev_mode);
        }
        return;
    }
    if (p->api_version < 0) {
        snprintf(d->reason, sizeof d->reason,
                 "/dev/kvm: KVM_GET_API_VERSION failed (not a KVM device?)");
        return;
    }
    if (p->api_version != 12) {
        snprintf(d->reason, sizeof d->reason,
                 "KVM API version %d, ringfold needs 12 (API mismatch)", p->api_version);
        return;
    }
    if (!p->cap_user_memory) {
        snprintf(d->reason, sizeof d->reason, "KVM lacks KVM_CAP_USER_MEMORY");
        return;
    }
    d->can_run_unpaged = p->unpaged_guest == 1;
    d->can_run_paged = p->paged_guest == 1;

    /* KVM-PVM: the vendor module says so, or a CPU without vmx/svm runs the unpaged guest and
     * not the paged one (ARCHITECTURE.md, "Hardware engine"). */
    bool pvm = p->pvm || !strcmp(p->module, "kvm_pvm") ||
               (!hw && p->unpaged_guest == 1 && p->paged_guest == 0);
    if (pvm) {
        d->can_run_paged = false;   /* even if it claimed to: PVM is no VT-x/AMD-V */
        snprintf(d->reason, sizeof d->reason,
                 "no hardware virtualization (KVM-PVM: %s); %s",
                 p->pvm_evidence[0] ? p->pvm_evidence
                 : !strcmp(p->module, "kvm_pvm") ? "module kvm_pvm"
                 : "no vmx/svm, paged guest fails while unpaged runs",
                 d->can_run_unpaged ? "KVM runs unpaged guests only"
                 : p->unpaged_guest == 0 ? "the unpaged test guest failed too"
                                         : "the test guests were not run");
        return;
    }
    if (!hw) {
        snprintf(d->reason, sizeof d->reason,
                 "no hardware virtualization: CPUID shows neither VT-x nor AMD-V%s",
                 p->cpuid_hypervisor ? " (running under a hypervisor without nested virtualization)" : "");
        return;
    }
    if (p->paged_guest != 1) {
        snprintf(d->reason, sizeof d->reason, "%s present but the paged test guest %s", tech,
                 p->paged_guest < 0 ? "was not run" : "failed");
        if (p->paged_guest == 0 && p->guest_detail[0]) {
            size_t n = strlen(d->reason);
            snprintf(d->reason + n, sizeof d->reason - n, " (%.120s)", p->guest_detail);
        }
        return;
    }
    d->hw_virt = true;
    char notes[128];
    decide_notes(p, notes, sizeof notes);
    snprintf(d->reason, sizeof d->reason, "hardware virtualization: %s through %s%s", tech,
             p->module[0] ? p->module : "KVM", notes);
}
