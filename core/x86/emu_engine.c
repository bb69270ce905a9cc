/* PLACEHOLDER, replaced by the interpreter: the emu engine ops table. */
#include <errno.h>
#include "ringfold/engine.h"

static int emu_probe(struct rf_err *why) { (void)why; return 0; }
static int emu_create(struct vm *vm, void **priv, struct rf_err *err)
{
    (void)vm; (void)priv;
    return rf_errf(err, -ENOSYS, "engine emu: interpreter not built yet");
}
const struct engine_ops emu_engine_ops = { .name = "emu", .summary = "x86 interpreter",
                                           .probe = emu_probe, .create = emu_create };
