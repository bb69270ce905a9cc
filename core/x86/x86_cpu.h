/* The interpreter's CPU object and the contract between its parts:
 *   exec/decode/memory side (decode cache, dispatch, integer ops, TLB, emu engine),
 *   system side (segmentation, paging walk, events, task switch, gates, CR/MSR/CPUID),
 *   x87 side (FPU escape opcodes, FXSAVE/FXRSTOR).
 * Guest-visible faults are raised with x86_raise(), which longjmps to the instruction
 * loop: handlers must finish every check that can fault before committing state, so a
 * faulting instruction restarts with no partial effects (SDM Vol. 3 §6.5). */
#ifndef RINGFOLD_X86_CPU_H
#define RINGFOLD_X86_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include "ringfold/cpu_state.h"
#include "ringfold/vm.h"

/* Exception vectors. */
enum {
    X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OF = 4, X86_BR = 5, X86_UD = 6,
    X86_NM = 7, X86_DF = 8, X86_TS = 10, X86_NP = 11, X86_SS = 12, X86_GP = 13,
    X86_PF = 14, X86_MF = 16, X86_AC = 17, X86_MC = 18, X86_XM = 19,
};
#define X86_NO_ERR 0xFFFFFFFFu

/* Page-fault error code bits; also used as the access kind of a translation. */
#define PF_P   0x01u   /* protection violation (vs not present) */
#define PF_W   0x02u   /* write access */
#define PF_U   0x04u   /* access at CPL 3 (not an implicit supervisor access) */
#define PF_RSVD 0x08u  /* reserved bit set in a paging entry */
#define PF_I   0x10u   /* instruction fetch */

/* How an event entered delivery: decides DPL checks, error codes and the saved EIP. */
enum x86_event_kind {
    EV_EXCEPTION,   /* CPU-detected fault/trap/abort; cpu->s.eip already the right return EIP */
    EV_EXT_INT,     /* maskable external interrupt (vector from the PIC) */
    EV_NMI,
    EV_SOFT_INT,    /* INT n: gate DPL checked against CPL, v86 IOPL rules */
    EV_SOFT_EXC,    /* INT3 / INTO: gate DPL checked against CPL */
    EV_ICEBP,       /* INT1 (F1): delivered like a #DB trap, no DPL check */
};

/* Result of a page walk. */
struct x86_walk {
    uint64_t pa;        /* physical address of the translated linear address */
    uint32_t page_size; /* 4 KiB, 2 MiB or 4 MiB */
    bool user;          /* U/S set at every level */
    bool writable;      /* R/W set at every level */
    bool nx;            /* execute-disable at some level (PAE with EFER.NXE) */
    bool global;
    bool dirty;         /* D bit of the final entry is set */
};
#define X86_WALK_FAULT 0x80000000u

struct x86_cpu_stats {
    uint64_t insns;
    uint64_t exceptions[32];
    uint64_t interrupts;       /* external interrupts delivered */
    uint64_t soft_ints;
    uint64_t tlb_misses;
    uint64_t tlb_flushes;
    uint64_t page_walks;
    uint64_t decode_blocks;     /* blocks decoded into the cache */
    uint64_t decode_invalidations;
    uint64_t task_switches;
    uint64_t mode_switches;
};

struct x86_exec;    /* exec side's private state: decode cache, TLB, lazy flags (x86_exec.h) */

struct x86_cpu {
    struct vcpu_state s;        /* architectural state; s.eflags arithmetic flags are valid only
                                   through x86_get_eflags() (the exec side computes them lazily) */
    struct vm *vm;
    struct guest_mem *mem;

    /* Derived mode, kept current by x86_update_mode() after any change to CR0, EFLAGS.VM, CS, SS. */
    int cpl;
    bool pe, v86, code32, stack32, paging, pae;

    /* Fault plumbing. fault_jmp is armed by the instruction loop; x86_raise() stores the
     * exception and jumps there. */
    jmp_buf fault_jmp;
    int exc_vector;
    uint32_t exc_err;
    int delivering;             /* vector being delivered, -1 none: a fault during delivery escalates */
    uint32_t insn_eip;          /* EIP of the instruction executing now (restart point) */

    struct x86_cpu_stats stats;
    struct x86_exec *exec;
    uint32_t ea_zero;           /* always 0: the "no register" slot of decoded effective addresses */

    /* system side */
    uint64_t pdpte[4];          /* PAE PDPTEs, loaded at CR3 write / paging enable (SDM Vol. 3 §4.4.1) */
    uint32_t ev_ext;            /* EXT bit (1) for error codes raised while delivering an external event */
    int fault_chain[3];         /* vectors of the current escalation chain, for the triple-fault report */
    int fault_chain_len;
    int delivering_kind;        /* enum x86_event_kind of cpu->delivering */
    uint32_t pdpte_cr3;         /* CR3 the PDPTEs were loaded from; pdpte_valid says they were */
    bool pdpte_valid;

    /* Told of every INVLPG this CPU executes (raw mode keeps its shadow mappings exact). */
    void (*invlpg_hook)(void *opaque, uint32_t lin);
    void *invlpg_opaque;
};

/* ---- exec/memory side -------------------------------------------------------------------- */
_Noreturn void x86_raise(struct x86_cpu *cpu, int vector, uint32_t err);

uint32_t x86_get_eflags(struct x86_cpu *cpu);
void x86_set_eflags(struct x86_cpu *cpu, uint32_t value);   /* no privilege masking */

/* Segmented accesses with limit/type checks (#GP, or #SS for the SS segment) and paging. */
uint8_t  x86_read8 (struct x86_cpu *cpu, int seg, uint32_t off);
uint16_t x86_read16(struct x86_cpu *cpu, int seg, uint32_t off);
uint32_t x86_read32(struct x86_cpu *cpu, int seg, uint32_t off);
uint64_t x86_read64(struct x86_cpu *cpu, int seg, uint32_t off);
void x86_write8 (struct x86_cpu *cpu, int seg, uint32_t off, uint8_t v);
void x86_write16(struct x86_cpu *cpu, int seg, uint32_t off, uint16_t v);
void x86_write32(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t v);
void x86_write64(struct x86_cpu *cpu, int seg, uint32_t off, uint64_t v);
/* Checks that [off, off+len) of seg may be accessed (write or read) without touching memory;
 * raises the fault a real access would. Used to make multi-part stores atomic. */
void x86_check_access(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t len, bool write);

/* Implicit supervisor-mode linear accesses (GDT/LDT/IDT/TSS, stack switches). Paging applies. */
uint8_t  x86_sys_read8 (struct x86_cpu *cpu, uint32_t lin);
uint16_t x86_sys_read16(struct x86_cpu *cpu, uint32_t lin);
uint32_t x86_sys_read32(struct x86_cpu *cpu, uint32_t lin);
void x86_sys_write8 (struct x86_cpu *cpu, uint32_t lin, uint8_t v);
void x86_sys_write16(struct x86_cpu *cpu, uint32_t lin, uint16_t v);
void x86_sys_write32(struct x86_cpu *cpu, uint32_t lin, uint32_t v);

/* Physical accesses (page-table walks): RAM directly, MMIO through the bus. */
uint32_t x86_phys_read32(struct x86_cpu *cpu, uint64_t pa);
uint64_t x86_phys_read64(struct x86_cpu *cpu, uint64_t pa);
void x86_phys_write32(struct x86_cpu *cpu, uint64_t pa, uint32_t v);

/* Software TLB control, called by the system side on CR0/CR3/CR4/INVLPG/EFER changes. */
void x86_tlb_flush(struct x86_cpu *cpu, bool include_global);
void x86_tlb_flush_page(struct x86_cpu *cpu, uint32_t lin);

/* ---- system side ------------------------------------------------------------------------- */
void x86_cpu_reset(struct x86_cpu *cpu);       /* power-on state (calls x87_reset) */
void x86_update_mode(struct x86_cpu *cpu);

/* Page walk for lin with access bits PF_W|PF_U|PF_I. Sets A (and D on writes) as hardware
 * does. Returns 0, or X86_WALK_FAULT | the #PF error code (no A/D change on a fault). */
uint32_t x86_paging_walk(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, struct x86_walk *w);

/* Called by the instruction loop after x86_raise() longjmps: delivers cpu->exc_vector,
 * escalating to #DF or a triple fault (vm_request_stop) when it occurs during delivery. */
void x86_handle_fault(struct x86_cpu *cpu);
/* Delivers an event through the IVT/IDT (gates, stack switch, v86, task gates).
 * cpu->s.eip must hold the EIP to push. */
void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err);

void x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel);  /* MOV/POP Sreg, LDS..LGS */
void x86_far_jmp(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32);
void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32);
void x86_far_ret(struct x86_cpu *cpu, uint16_t pop_bytes, bool o32);
void x86_iret(struct x86_cpu *cpu, bool o32);
void x86_sysenter(struct x86_cpu *cpu);
void x86_sysexit(struct x86_cpu *cpu);

uint32_t x86_read_cr(struct x86_cpu *cpu, int n);
void x86_write_cr(struct x86_cpu *cpu, int n, uint32_t v);
uint32_t x86_read_dr(struct x86_cpu *cpu, int n);
void x86_write_dr(struct x86_cpu *cpu, int n, uint32_t v);
void x86_lgdt(struct x86_cpu *cpu, uint32_t base, uint16_t limit);
void x86_lidt(struct x86_cpu *cpu, uint32_t base, uint16_t limit);
void x86_lldt(struct x86_cpu *cpu, uint16_t sel);
void x86_ltr(struct x86_cpu *cpu, uint16_t sel);
void x86_clts(struct x86_cpu *cpu);
void x86_lmsw(struct x86_cpu *cpu, uint16_t v);
void x86_invlpg(struct x86_cpu *cpu, uint32_t lin);
/* LAR/LSL/VERR/VERW: return true (ZF=1) when the selector passes, with *out the result. */
bool x86_lar(struct x86_cpu *cpu, uint16_t sel, uint32_t *out);
bool x86_lsl(struct x86_cpu *cpu, uint16_t sel, uint32_t *out);
bool x86_verr(struct x86_cpu *cpu, uint16_t sel);
bool x86_verw(struct x86_cpu *cpu, uint16_t sel);
/* ARPL is exec-side (pure arithmetic on selectors). */

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4]);
uint64_t x86_rdmsr(struct x86_cpu *cpu, uint32_t idx);              /* #GP on unknown */
void x86_wrmsr(struct x86_cpu *cpu, uint32_t idx, uint64_t v);     /* #GP on unknown/reserved */
uint64_t x86_rdtsc(struct x86_cpu *cpu);                            /* from the virtual clock */
/* IN/OUT/INS/OUTS permission (CPL vs IOPL, TSS I/O bitmap, v86); raises #GP when denied. */
void x86_check_io(struct x86_cpu *cpu, uint16_t port, unsigned size);
/* Privileged instruction at CPL > 0 (or v86): raises #GP(0). */
void x86_require_cpl0(struct x86_cpu *cpu);

/* ---- x87 side ---------------------------------------------------------------------------- */
void x87_reset(struct x86_cpu *cpu);                 /* FNINIT */
/* An escape opcode 0xD8..0xDF with its ModRM; for memory forms seg:ea is the operand. */
void x87_execute(struct x86_cpu *cpu, uint8_t opcode, uint8_t modrm, int seg, uint32_t ea, bool o32);
void x87_fwait(struct x86_cpu *cpu);                 /* WAIT/FWAIT: #NM / pending #MF */
void x87_fxsave(struct x86_cpu *cpu, int seg, uint32_t ea);
void x87_fxrstor(struct x86_cpu *cpu, int seg, uint32_t ea);

#endif
