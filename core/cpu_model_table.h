/* The CPU model table's layout, private to core/cpu_model*.c: one entry per --cpu=NAME. */
#ifndef RINGFOLD_CPU_MODEL_TABLE_H
#define RINGFOLD_CPU_MODEL_TABLE_H

#include <stdint.h>

/* One model: the whole CPUID answer, leaf by leaf. Registers are { EAX, EBX, ECX, EDX }. */
struct cpu_model {
    const char *name;
    const char *summary;            /* one line for --cpu=help */
    char vendor[13];                /* leaf 0 EBX, EDX, ECX */
    uint32_t max_basic;             /* leaf 0 EAX: 1 or 2 */
    uint32_t leaf1[4];              /* signature, brand/APIC ID, feature ECX, feature EDX */
    uint32_t leaf2[4];              /* cache and TLB descriptors (when max_basic >= 2) */
    uint32_t max_ext;               /* leaf 0x80000000 EAX; 0: no extended leaves at all */
    uint32_t ext1[4];               /* 0x80000001: extended signature and features */
    char brand[48];                 /* 0x80000002..4, NUL padded (when max_ext >= 0x80000004) */
};

extern const struct cpu_model cpu_model_table[];
extern const unsigned cpu_model_count;

#endif
