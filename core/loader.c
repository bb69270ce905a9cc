/* PLACEHOLDER, replaced by the loaders work. */
#include <errno.h>
#include "loader.h"

int loader_load(struct vm *vm, const struct boot_spec *spec, struct vcpu_state *st, struct rf_err *err)
{
    (void)vm; (void)st;
    return rf_errf(err, -ENOSYS, "%s: loaders not built yet", spec->kernel);
}
