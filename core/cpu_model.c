/* CPU models: lookup by name and the CPUID answer of a model, leaf by leaf, from the table in
 * cpu_model_table.c. Every engine asks here, so a guest sees the same processor on each. */
#include <stdbool.h>
#include <string.h>
#include "ringfold/cpu_model.h"
#include "cpu_model_table.h"

const struct cpu_model *cpu_model_find(const char *name)
{
    if (!name || !*name)
        return &cpu_model_table[0];
    for (unsigned i = 0; i < cpu_model_count; i++)
        if (!strcmp(name, cpu_model_table[i].name))
            return &cpu_model_table[i];
    return NULL;
}

const struct cpu_model *cpu_model_at(unsigned i)
{
    return i < cpu_model_count ? &cpu_model_table[i] : NULL;
}

void cpu_model_list(FILE *out)
{
    for (unsigned i = 0; i < cpu_model_count; i++)
        fprintf(out, "%-12s %s\n", cpu_model_table[i].name, cpu_model_table[i].summary);
}

const char *cpu_model_name(const struct cpu_model *m)
{
    return m->name;
}

uint32_t cpu_model_max_leaf(const struct cpu_model *m, uint32_t range)
{
    return range >= 0x80000000u ? m->max_ext : m->max_basic;
}

static bool model_has_leaf(const struct cpu_model *m, uint32_t leaf)
{
    if (leaf < 0x80000000u)
        return leaf <= m->max_basic;
    return m->max_ext && leaf <= m->max_ext;
}

static uint32_t str4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Intel: a leaf past the maximum, basic or extended, gets "the data for the highest basic
 * information leaf" (SDM Vol. 2A, CPUID); every model here is Intel-like in this. */
void cpu_model_cpuid(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)subleaf;      /* no leaf these models report is indexed by ECX */
    memset(out, 0, 4 * sizeof(out[0]));
    if (!model_has_leaf(m, leaf))
        leaf = m->max_basic;
    switch (leaf) {
    case 0:
        out[0] = m->max_basic;
        /* The vendor string reads EBX, EDX, ECX in that order. */
        out[1] = str4(m->vendor);
        out[3] = str4(m->vendor + 4);
        out[2] = str4(m->vendor + 8);
        break;
    case 1:
        memcpy(out, m->leaf1, sizeof(m->leaf1));
        break;
    case 2:
        memcpy(out, m->leaf2, sizeof(m->leaf2));
        break;
    case 0x80000000u:
        out[0] = m->max_ext;
        break;
    case 0x80000001u:
        memcpy(out, m->ext1, sizeof(m->ext1));
        break;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u:
        memcpy(out, m->brand + 16 * (leaf - 0x80000002u), 16);
        break;
    default:
        break;      /* in range but not defined for the model: zeros (SDM Vol. 2A, CPUID) */
    }
}
