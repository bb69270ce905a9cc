/* CPUID in the interpreter: the feature bits emu implements, which bound every CPU model. */
#ifndef RINGFOLD_SYS_CPUID_H
#define RINGFOLD_SYS_CPUID_H

#include "ringfold/cpu_model.h"

/* What the interpreter implements, by CPUID bit. A model (core/cpu_model_table.c) may
 * advertise only these (tests/unit/test_cpu_model.c checks every model); when emu learns a
 * feature (MMX, say), add its bit here first, then to the models that should report it.
 * Leaf 1 EDX: no APIC (no local APIC is modelled), no MMX/SSE. */
#define SYS_CPUID_EMU_EDX (CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | \
                           CPUID_PAE | CPUID_MCE | CPUID_CX8 | CPUID_SEP | CPUID_MTRR | CPUID_PGE | \
                           CPUID_MCA | CPUID_CMOV | CPUID_PAT | CPUID_PSE36 | CPUID_FXSR)
#define SYS_CPUID_EMU_ECX 0u
/* Leaf 0x80000001: NX (the PAE walker enforces it with EFER.NXE). No SYSCALL, no long mode. */
#define SYS_CPUID_EMU_EXT_EDX CPUID_EXT_NX
#define SYS_CPUID_EMU_EXT_ECX 0u

#endif
