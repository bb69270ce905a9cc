/* The CPU model CPUID reports: vendor, signature and feature bits, adjustable before a VM starts. */
#ifndef RINGFOLD_SYS_CPUID_H
#define RINGFOLD_SYS_CPUID_H

#include <stdint.h>

struct sys_cpu_model {
    char vendor[13];          /* 12 characters, returned in EBX, EDX, ECX of leaf 0 */
    uint32_t signature;       /* leaf 1 EAX: stepping, model, family */
    uint32_t features_edx;    /* leaf 1 EDX */
    uint32_t features_ecx;    /* leaf 1 ECX */
    uint32_t ext_edx;         /* leaf 0x80000001 EDX */
    char brand[48];           /* leaves 0x80000002..4, NUL padded */
};

/* Leaf 1 EDX bits (SDM Vol. 2 CPUID Table 3-11). */
#define CPUID_FPU   (1u << 0)
#define CPUID_VME   (1u << 1)
#define CPUID_DE    (1u << 2)
#define CPUID_PSE   (1u << 3)
#define CPUID_TSC   (1u << 4)
#define CPUID_MSR   (1u << 5)
#define CPUID_PAE   (1u << 6)
#define CPUID_MCE   (1u << 7)
#define CPUID_CX8   (1u << 8)
#define CPUID_SEP   (1u << 11)
#define CPUID_MTRR  (1u << 12)
#define CPUID_PGE   (1u << 13)
#define CPUID_MCA   (1u << 14)
#define CPUID_CMOV  (1u << 15)
#define CPUID_PAT   (1u << 16)
#define CPUID_PSE36 (1u << 17)
#define CPUID_MMX   (1u << 23)
#define CPUID_FXSR  (1u << 24)
#define CPUID_EXT_NX (1u << 20)   /* leaf 0x80000001 EDX */

/* The model every emu vCPU reports; the exec side may add bits it implements (e.g. MMX). */
extern struct sys_cpu_model sys_cpu_model;

#endif
