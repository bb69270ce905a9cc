/* The CPU models --cpu=NAME offers, each the full CPUID answer of one processor, trimmed to
 * what the emu interpreter implements (SYS_CPUID_EMU_* in core/x86/sys_cpuid.h): every engine
 * reports the same model, and raw mode falls back to emu, so a model never promises more than
 * emu can do. Sources: Intel SDM Vol. 2A, CPUID (Tables 3-8, 3-10, 3-11, 3-12); Intel AP-485
 * "Intel Processor Identification and the CPUID Instruction"; SDM Vol. 3 "Processor
 * identification and feature determination" (P6 family).
 *
 * No AMD model yet: Linux runs EMMS (an MMX instruction) on every AuthenticAMD CPU, in the
 * FXSAVE-leak workaround of restore_fpregs_from_fpstate, so an Athlon without MMX takes #UD
 * on the way to user mode (tried: init dies at once). An amd-k7 model waits for emu's MMX. */
#include "ringfold/cpu_model.h"
#include "cpu_model_table.h"

/* The features every P6-family model here starts from: what a P6 core has and emu runs. */
#define P6_BASE (CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_PAE | \
                 CPUID_MCE | CPUID_CX8 | CPUID_MTRR | CPUID_PGE | CPUID_MCA | CPUID_CMOV)

/* P6 leaf 2: AL = 1 (one CPUID(2) call gives everything), then one-byte descriptors, bit 31
 * of each register clear = valid (SDM Vol. 2A Table 3-12). 0x01/0x02/0x03/0x04 are the P6
 * instruction and data TLBs for 4 KiB and 4 MiB pages. */
#define P6_TLB_DESC 0x03020101u

const struct cpu_model cpu_model_table[] = {
    {
        /* The default, unchanged since session 1: a vendor of our own, so nothing mistakes it for
         * a real part's errata, with every feature emu implements, including NX (the PAE walker
         * enforces it with EFER.NXE) through an extended leaf and a brand string. Family 6
         * model 3 stepping 3, the value EDX holds after reset. Leaf 2: 0x2c (32 KiB L1D,
         * 8-way, 64-byte lines), 0x30 (32 KiB L1I) and 0x7d (2 MiB L2, 8-way). */
        .name = "ringfold",
        .summary = "RingfoldVCPU, family 6: every feature emu implements, NX included (default)",
        .vendor = "RingfoldVCPU",
        .max_basic = 2,
        .leaf1 = { 0x00000633u, 0, 0,
                   P6_BASE | CPUID_SEP | CPUID_PAT | CPUID_PSE36 | CPUID_FXSR },
        .leaf2 = { 0x7d302c01u, 0, 0, 0 },
        .max_ext = 0x80000004u,
        .ext1 = { 0, 0, 0, CPUID_EXT_NX },
        .brand = "ringfold emu i686",
    },
    {
        /* Pentium Pro (family 6 model 1), stepping 9: a late stepping, past the B-step errata
         * Linux works around (steppings below 8). Its features minus the local APIC (not
         * modelled). The SEP bit is left clear: SYSENTER/SYSEXIT came with the Pentium II (SDM
         * Vol. 2B, SYSENTER), and AP-485 tells software to ignore SEP below signature 0x633.
         * No PAT, PSE-36 or FXSR: those came later in the family. No extended leaves: P6 parts
         * before the Pentium 4 have none, and 0x80000000 answers like leaf 2; Linux then names
         * the part from its own model table ("Pentium Pro"). Leaf 2: 8 KiB L1I 4-way (0x06),
         * 8 KiB L1D 2-way (0x0a), 256 KiB L2 4-way (0x42), 32-byte lines. */
        .name = "pentium-pro",
        .summary = "GenuineIntel Pentium Pro (6/1/9): no SEP, PAT, PSE-36, FXSR or NX",
        .vendor = "GenuineIntel",
        .max_basic = 2,
        .leaf1 = { 0x00000619u, 0, 0, P6_BASE },
        .leaf2 = { P6_TLB_DESC, 0, 0, 0x0a040642u },
        .max_ext = 0,
    },
    {
        /* Pentium II "Deschutes" (family 6 model 5), stepping 2: the P6 with SEP, PAT, PSE-36
         * and FXSR (SDM Vol. 3, P6-family CPUID Table "New P6-Family Processor Feature
         * Information"). MMX and the local APIC are left out: emu implements neither. With
         * FXSR but no SSE, CR4.OSFXSR makes FXSAVE/FXRSTOR save the x87 state only. No extended
         * leaves (so no NX); Linux names it "Pentium II (Deschutes)". Leaf 2: 16 KiB L1I
         * (0x08), 16 KiB L1D (0x0c), 512 KiB L2 4-way (0x43), 32-byte lines. */
        .name = "pentium2",
        .summary = "GenuineIntel Pentium II Deschutes (6/5/2) without MMX: no NX",
        .vendor = "GenuineIntel",
        .max_basic = 2,
        .leaf1 = { 0x00000652u, 0, 0,
                   P6_BASE | CPUID_SEP | CPUID_PAT | CPUID_PSE36 | CPUID_FXSR },
        .leaf2 = { P6_TLB_DESC, 0, 0, 0x0c040843u },
        .max_ext = 0,
    },
};

const unsigned cpu_model_count = sizeof(cpu_model_table) / sizeof(cpu_model_table[0]);
