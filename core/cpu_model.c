/* CPU models (placeholder until the model table lands): one model, "ringfold". */
#include <string.h>
#include "ringfold/cpu_model.h"

struct cpu_model {
    const char *name;
    const char *summary;
};

static const struct cpu_model model_ringfold = { "ringfold", "the i686 model emu implements" };

const struct cpu_model *cpu_model_find(const char *name)
{
    if (!name || !*name || !strcmp(name, model_ringfold.name))
        return &model_ringfold;
    return NULL;
}

void cpu_model_list(FILE *out)
{
    fprintf(out, "%-12s %s\n", model_ringfold.name, model_ringfold.summary);
}

const char *cpu_model_name(const struct cpu_model *m)
{
    return m->name;
}

void cpu_model_cpuid(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)m; (void)leaf; (void)subleaf;
    memset(out, 0, 4 * sizeof(out[0]));
}
