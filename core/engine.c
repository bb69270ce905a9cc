/* The table of engines. raw and kvm are listed so that the command line can name them and
 * say honestly that they are not built yet. */
#include <errno.h>
#include <string.h>
#include "ringfold/engine.h"

static int raw_probe(struct rf_err *why)
{
    return rf_errf(why, -ENOSYS, "the raw engine is not implemented yet (issue 6)");
}

static int kvm_probe(struct rf_err *why)
{
    return rf_errf(why, -ENOSYS, "the kvm engine is not implemented yet (issue 5)");
}

static const struct engine_ops raw_planned = {
    .name = "raw", .summary = "native execution in ring-compressed mode (planned)", .probe = raw_probe,
};
static const struct engine_ops kvm_planned = {
    .name = "kvm", .summary = "VT-x/AMD-V through Linux KVM (planned)", .probe = kvm_probe,
};

/* `auto` order: hardware first, then raw, then the interpreter. */
const struct engine_ops *const engine_table[] = { &kvm_planned, &raw_planned, &emu_engine_ops, NULL };

const struct engine_ops *engine_find(const char *name)
{
    for (int i = 0; engine_table[i]; i++)
        if (!strcmp(engine_table[i]->name, name))
            return engine_table[i];
    return NULL;
}
