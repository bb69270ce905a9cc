/* The kvm engine (placeholder until the KVM backend lands, issue 5). */
#include <errno.h>
#include "ringfold/engine.h"

static int kvm_probe(struct rf_err *why)
{
    return rf_errf(why, -ENOSYS, "the kvm engine is not implemented yet (issue 5)");
}

const struct engine_ops kvm_engine_ops = {
    .name = "kvm", .summary = "VT-x/AMD-V through Linux KVM (planned)", .probe = kvm_probe,
};
