/* CPUID: an i686 (P6 family) model that reports only what the interpreter implements
 * (SDM Vol. 2 CPUID). No local APIC, no MMX/SSE. */
#include <string.h>
#include "sys_cpuid.h"
#include "sys_priv.h"

struct sys_cpu_model sys_cpu_model = {
    .vendor = "RingfoldVCPU",
    .signature = 0x00000633,      /* family 6, model 3, stepping 3, as EDX after reset */
    .features_edx = CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR |
                    CPUID_PAE | CPUID_MCE | CPUID_CX8 | CPUID_SEP | CPUID_MTRR | CPUID_PGE |
                    CPUID_MCA | CPUID_CMOV | CPUID_PAT | CPUID_PSE36 | CPUID_FXSR,
    .features_ecx = 0,
    .ext_edx = CPUID_EXT_NX,      /* the PAE walker enforces NX with EFER.NXE */
    .brand = "ringfold emu i686",
};

#define CPUID_MAX_BASIC 2u
#define CPUID_MAX_EXT 0x80000004u

static uint32_t str4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    (void)cpu;
    (void)sub;
    const struct sys_cpu_model *m = &sys_cpu_model;
    /* Intel answers a leaf past the maximum (basic or extended) with the highest basic leaf. */
    if ((leaf > CPUID_MAX_BASIC && leaf < 0x80000000u) || leaf > CPUID_MAX_EXT)
        leaf = CPUID_MAX_BASIC;
    out[0] = out[1] = out[2] = out[3] = 0;
    switch (leaf) {
    case 0:
        out[0] = CPUID_MAX_BASIC;
        out[1] = str4(m->vendor);
        out[3] = str4(m->vendor + 4);
        out[2] = str4(m->vendor + 8);
        break;
    case 1:
        out[0] = m->signature;
        out[2] = m->features_ecx;
        out[3] = m->features_edx;
        break;
    case 2:
        /* One iteration; descriptors 0x2c (32 KiB L1D, 8-way, 64 B lines), 0x30 (32 KiB L1I)
         * and 0x7d (2 MiB L2, 8-way) (SDM Vol. 2 Table 3-12). */
        out[0] = 0x7d302c01u;
        break;
    case 0x80000000u:
        out[0] = CPUID_MAX_EXT;
        break;
    case 0x80000001u:
        out[3] = m->ext_edx;
        break;
    default: {
        const char *b = m->brand + 16 * (leaf - 0x80000002u);
        for (int i = 0; i < 4; i++)
            out[i] = str4(b + 4 * i);
        break;
    }
    }
}
