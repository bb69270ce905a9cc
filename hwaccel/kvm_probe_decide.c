/* The probe's pure decision and the recorded-profile format (stub). */
#include <errno.h>
#include <string.h>
#include "kvm_probe.h"

void kvm_probe_decide(const struct kvm_host_profile *p, struct kvm_decision *d)
{
    (void)p;
    memset(d, 0, sizeof *d);
    strcpy(d->reason, "the kvm probe is not implemented yet");
}

int kvm_profile_parse(const char *text, struct kvm_host_profile *p, struct rf_err *err)
{
    (void)text; (void)p;
    return rf_errf(err, -ENOSYS, "kvm profile: not implemented yet");
}

void kvm_profile_write(const struct kvm_host_profile *p, FILE *out)
{
    (void)p; (void)out;
}
