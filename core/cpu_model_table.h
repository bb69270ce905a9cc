/* The CPU model table's layout, private to core/cpu_model*.c: one entry per --cpu=NAME. */
#ifndef RINGFOLD_CPU_MODEL_TABLE_H
#define RINGFOLD_CPU_MODEL_TABLE_H

#include <stdbool.h>
#include <stdint.h>

/* What a leaf past the model's maximum returns. Intel: "the data for the highest basic
 * information leaf" (SDM Vol. 2A, CPUID); AMD parts return zeros there. */
enum cpu_model_oor {
    CPU_OOR_HIGHEST_BASIC,
    CPU_OOR_ZERO,
};

/* One model: the whole CPUID answer, leaf by leaf. Registers are { EAX, EBX, ECX, EDX }. */
struct cpu_model {
    const char *name;
    const char *summary;            /* one line for --cpu=help */
    char vendor[13];                /* leaf 0 EBX, EDX, ECX */
    enum cpu_model_oor oor;
    uint32_t max_basic;             /* leaf 0 EAX: 1 or 2 */
    uint32_t leaf1[4];              /* signature, brand/APIC ID, feature ECX, feature EDX */
    uint32_t leaf2[4];              /* cache and TLB descriptors (when max_basic >= 2) */
    uint32_t max_ext;               /* leaf 0x80000000 EAX; 0: no extended leaves at all */
    bool ext_vendor;                /* 0x80000000 EBX/EDX/ECX repeat the vendor (AMD) */
    uint32_t ext1[4];               /* 0x80000001: extended signature and features */
    char brand[48];                 /* 0x80000002..4, NUL padded (when max_ext >= 0x80000004) */
    uint32_t ext5[4];               /* 0x80000005: AMD L1 cache and TLB */
    uint32_t ext6[4];               /* 0x80000006: L2 cache */
};

extern const struct cpu_model cpu_model_table[];
extern const unsigned cpu_model_count;

#endif
