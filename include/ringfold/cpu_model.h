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

/* The registers CPUID leaf/subleaf returns on this model: out = { EAX, EBX, ECX, EDX }.
 * Defined for every 32-bit leaf: a leaf past the model's maximum (basic or extended) gets
 * the highest basic leaf's answer, as on Intel parts (SDM Vol. 2A, CPUID). */
void cpu_model_cpuid(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* The highest leaf of a range the model answers itself: range 0 gives the highest basic
 * leaf, range 0x80000000 the highest extended leaf or 0 when the model has no extended
 * leaves (then 0x80000000 itself is out of range). An engine that hands the model to
 * hardware (KVM_SET_CPUID2) passes leaves range..max of both ranges. */
uint32_t cpu_model_max_leaf(const struct cpu_model *m, uint32_t range);

/* The i-th model of the table (0-based), NULL past the end: for tests and listings. */
const struct cpu_model *cpu_model_at(unsigned i);

/* Leaf 1 EDX feature bits (SDM Vol. 2A, CPUID, Table 3-11). */
#define CPUID_FPU   (1u << 0)
#define CPUID_VME   (1u << 1)
#define CPUID_DE    (1u << 2)
#define CPUID_PSE   (1u << 3)
#define CPUID_TSC   (1u << 4)
#define CPUID_MSR   (1u << 5)
#define CPUID_PAE   (1u << 6)
#define CPUID_MCE   (1u << 7)
#define CPUID_CX8   (1u << 8)
#define CPUID_APIC  (1u << 9)
#define CPUID_SEP   (1u << 11)
#define CPUID_MTRR  (1u << 12)
#define CPUID_PGE   (1u << 13)
#define CPUID_MCA   (1u << 14)
#define CPUID_CMOV  (1u << 15)
#define CPUID_PAT   (1u << 16)
#define CPUID_PSE36 (1u << 17)
#define CPUID_CLFSH (1u << 19)
#define CPUID_MMX   (1u << 23)
#define CPUID_FXSR  (1u << 24)
#define CPUID_SSE   (1u << 25)
#define CPUID_SSE2  (1u << 26)
/* Leaf 0x80000001 EDX bits (SDM Vol. 2A Table 3-8; AMD APM Vol. 3 Appendix E). */
#define CPUID_EXT_SYSCALL (1u << 11)
#define CPUID_EXT_NX      (1u << 20)
#define CPUID_EXT_MMXEXT  (1u << 22)
#define CPUID_EXT_LM      (1u << 29)
#define CPUID_EXT_3DNOWEXT (1u << 30)
#define CPUID_EXT_3DNOW   (1u << 31)

#endif
