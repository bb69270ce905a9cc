/* Inline access to ports, control registers, MSRs and descriptor-table registers for the system tests. */
#ifndef GUEST_SYSREGS_H
#define GUEST_SYSREGS_H

#include <stdint.h>

#define SYS_DEF_CR(n)                                                              \
    static inline uint32_t sys_read_cr##n(void)                                    \
    {                                                                              \
        uint32_t v;                                                                \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                          \
        return v;                                                                  \
    }                                                                              \
    static inline void sys_write_cr##n(uint32_t v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
SYS_DEF_CR(0)
SYS_DEF_CR(2)
SYS_DEF_CR(3)
SYS_DEF_CR(4)
#undef SYS_DEF_CR

#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_PG 0x80000000u
#define CR4_TSD 0x00000004u
#define CR4_PSE 0x00000010u
#define CR4_PAE 0x00000020u
#define CR4_PGE 0x00000080u

#define EFL_CF 0x00000001u
#define EFL_TF 0x00000100u
#define EFL_IF 0x00000200u
#define EFL_IOPL3 0x00003000u
#define EFL_NT 0x00004000u
#define EFL_VM 0x00020000u

static inline uint64_t sys_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void sys_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint32_t sys_read_eflags(void)
{
    uint32_t v;
    __asm__ volatile("pushfl; popl %0" : "=r"(v));
    return v;
}
static inline void sys_invlpg(uint32_t lin) { __asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory"); }
#endif
