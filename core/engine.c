/* The table of engines, in the order `auto` considers them: hardware first, then raw, then
 * the interpreter. */
#include <string.h>
#include "ringfold/engine.h"

const struct engine_ops *const engine_table[] = { &kvm_engine_ops, &raw_engine_ops, &emu_engine_ops, NULL };

const struct engine_ops *engine_find(const char *name)
{
    for (int i = 0; engine_table[i]; i++)
        if (!strcmp(engine_table[i]->name, name))
            return engine_table[i];
    return NULL;
}
