/* CPU models: what CPUID reports to the guest (vendor, signature, features), chosen per VM
 * with --cpu and shared by every engine (emu answers CPUID from it, kvm hands it to
 * KVM_SET_CPUID2, raw emulates CPUID from it). */
#ifndef RINGFOLD_CPU_MODEL_H
#define RINGFOLD_CPU_MODEL_H

#include <stdint.h>
#include <stdio.h>

struct cpu_model;

/* The model --cpu=NAME selects, or NULL for an unknown name; NULL or "" gives the default. */
const struct cpu_model *cpu_model_find(const char *name);

/* Lists every model with a one-line summary (for --cpu=help). */
void cpu_model_list(FILE *out);

const char *cpu_model_name(const struct cpu_model *m);

/* The registers CPUID leaf/subleaf returns on this model: out = { EAX, EBX, ECX, EDX }. */
void cpu_model_cpuid(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

#endif
