/* Architectural state of one IA-32 vCPU: the engine-neutral form every engine converts to. */
#ifndef RINGFOLD_CPU_STATE_H
#define RINGFOLD_CPU_STATE_H

#include <stdint.h>

enum gpr_index { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, GPR_COUNT };
enum seg_index { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, SEG_COUNT };

/* A segment register with its hidden descriptor cache (SDM Vol. 3 §3.4.3).
 * attr holds descriptor bits 40..55: bits 0-3 type, 4 S, 5-6 DPL, 7 P,
 * 8 AVL, 9 L, 10 D/B, 11 G. limit is the expanded byte-granular limit. */
struct seg_reg {
    uint16_t sel;
    uint16_t attr;
    uint32_t base;
    uint32_t limit;
};

#define SEG_ATTR_TYPE(a)  ((a) & 0xf)
#define SEG_ATTR_S        0x0010
#define SEG_ATTR_DPL(a)   (((a) >> 5) & 3)
#define SEG_ATTR_P        0x0080
#define SEG_ATTR_DB       0x0400
#define SEG_ATTR_G        0x0800

struct dtable_reg {
    uint32_t base;
    uint16_t limit;
};

/* x87/SSE state in FXSAVE terms; st[] are the physical registers R0..R7 as
 * 80-bit extended values (little endian, 10 bytes used). ftw is the full
 * 16-bit tag word (2 bits per physical register, 11 = empty). */
struct fpu_state {
    uint16_t fcw, fsw, ftw, fop;
    uint32_t fip, fdp;
    uint16_t fcs, fds;
    uint8_t  st[8][16];
    uint32_t mxcsr;
    uint8_t  xmm[8][16];
};

/* Model-specific registers the i686 model implements. */
struct msr_state {
    uint64_t tsc_offset;          /* guest TSC = virtual clock TSC + tsc_offset */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t efer;
    uint64_t pat;
    uint64_t apic_base;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11];
    uint64_t mtrr_var[16];        /* base/mask pairs for 8 ranges */
    uint64_t misc_enable;
};

struct vcpu_state {
    uint32_t gpr[GPR_COUNT];
    uint32_t eip;
    uint32_t eflags;
    struct seg_reg seg[SEG_COUNT];
    struct seg_reg ldtr, tr;
    struct dtable_reg gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    struct msr_state msr;
    struct fpu_state fpu;
    uint8_t halted;               /* in HLT, waiting for an interrupt */
    uint8_t intr_shadow;          /* STI / MOV SS shadow on the next instruction */
    uint8_t nmi_masked;           /* inside an NMI handler until IRET */
};

/* EFLAGS bits (SDM Vol. 1 §3.4.3). */
#define EFL_CF   0x00000001u
#define EFL_FIXED1 0x00000002u
#define EFL_PF   0x00000004u
#define EFL_AF   0x00000010u
#define EFL_ZF   0x00000040u
#define EFL_SF   0x00000080u
#define EFL_TF   0x00000100u
#define EFL_IF   0x00000200u
#define EFL_DF   0x00000400u
#define EFL_OF   0x00000800u
#define EFL_IOPL 0x00003000u
#define EFL_NT   0x00004000u
#define EFL_RF   0x00010000u
#define EFL_VM   0x00020000u
#define EFL_AC   0x00040000u
#define EFL_VIF  0x00080000u
#define EFL_VIP  0x00100000u
#define EFL_ID   0x00200000u

#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u

#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u

#define EFER_NXE (1ull << 11)

/* Architectural reset state (SDM Vol. 3 §9.1.1), real mode at F000:FFF0. */
void vcpu_state_reset(struct vcpu_state *st);

/* Flat 32-bit protected mode, paging off, CS=0x10 DS=ES=SS=FS=GS=0x18 base 0
 * limit 4 GiB, interrupts off: the state Multiboot and Linux's 32-bit boot
 * protocol hand to a kernel. */
void vcpu_state_flat32(struct vcpu_state *st, uint32_t eip);

#endif
