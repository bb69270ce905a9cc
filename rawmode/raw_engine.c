/* The raw engine (placeholder until native execution lands, issue 6). */
#include <errno.h>
#include "ringfold/engine.h"

static int raw_probe(struct rf_err *why)
{
    return rf_errf(why, -ENOSYS, "the raw engine is not implemented yet (issue 6)");
}

const struct engine_ops raw_engine_ops = {
    .name = "raw", .summary = "native execution in ring-compressed mode (planned)", .probe = raw_probe,
};
