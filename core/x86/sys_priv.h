/* Internal helpers shared by the interpreter's system side (sys_*.c): descriptors, stacks, tasks. */
#ifndef RINGFOLD_SYS_PRIV_H
#define RINGFOLD_SYS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include "x86_cpu.h"

/* A segment or gate descriptor as read from the GDT/LDT/IDT (SDM Vol. 3 §3.4.5, §6.11). */
struct sys_desc {
    uint32_t lo, hi;     /* raw descriptor dwords */
    uint32_t addr;       /* linear address of the descriptor (for accessed/busy updates) */
    uint32_t base;
    uint32_t limit;      /* byte-granular, G applied */
    uint16_t attr;       /* descriptor bits 40..55, as struct seg_reg.attr */
};

/* System descriptor types (S = 0), SDM Vol. 3 Table 3-2. */
enum {
    SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALLGATE16 = 4, SYS_TASKGATE = 5,
    SYS_INTGATE16 = 6, SYS_TRAPGATE16 = 7, SYS_TSS32_AVAIL = 9, SYS_TSS32_BUSY = 11,
    SYS_CALLGATE32 = 12, SYS_INTGATE32 = 14, SYS_TRAPGATE32 = 15,
};

static inline bool desc_is_code(uint16_t a) { return (a & SEG_ATTR_S) && (a & 8); }
static inline bool desc_is_data(uint16_t a) { return (a & SEG_ATTR_S) && !(a & 8); }
static inline bool desc_conforming(uint16_t a) { return desc_is_code(a) && (a & 4); }
static inline bool desc_readable(uint16_t a) { return desc_is_data(a) || (a & 2); }
static inline bool desc_writable_data(uint16_t a) { return desc_is_data(a) && (a & 2); }
static inline bool desc_present(uint16_t a) { return (a & SEG_ATTR_P) != 0; }
static inline int desc_dpl(uint16_t a) { return SEG_ATTR_DPL(a); }
/* Gate fields: selector in lo[31:16], offset lo[15:0] | hi[31:16], param count hi[4:0]. */
static inline uint16_t gate_sel(const struct sys_desc *d) { return (uint16_t)(d->lo >> 16); }
static inline uint32_t gate_off(const struct sys_desc *d) { return (d->lo & 0xffff) | (d->hi & 0xffff0000u); }

/* sys_seg.c */
void sys_desc_parse(struct sys_desc *d, uint32_t lo, uint32_t hi);
/* Reads the descriptor for sel from the GDT or LDT. Returns false when the selector is outside
 * the table (or the LDT is null); no fault is raised. */
bool sys_desc_fetch(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d);
/* As sys_desc_fetch, but raises vec with error code sel (plus EXT) when out of bounds. */
void sys_desc_load(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, int vec);
void sys_desc_set_accessed(struct x86_cpu *cpu, struct sys_desc *d);
/* Raises vec with a selector error code: low two bits replaced by the EXT flag. */
_Noreturn void sys_fault_sel(struct x86_cpu *cpu, int vec, uint32_t sel);
/* RET/IRET to protected mode: checks the popped CS and EIP (#GP/#NP), loads its descriptor. */
void sys_return_cs_check(struct x86_cpu *cpu, uint16_t cs, uint32_t eip, struct sys_desc *cd);
/* Installs sel/d into segment register seg (no checks). */
void sys_seg_commit(struct x86_cpu *cpu, int seg, uint16_t sel, const struct sys_desc *d);
/* Real-mode / v86 load: base = sel << 4. v86 gets a 64 KiB DPL 3 segment; real mode keeps the
 * cached limit and attributes (unreal mode) unless the cache was unusable. */
void sys_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel);
/* Loads a null selector into a data segment register: unusable until reloaded. */
void sys_seg_null(struct x86_cpu *cpu, int seg, uint16_t sel);
/* Protected-mode checks for SS at privilege cpl; vec (#GP or #TS) for type/privilege errors,
 * #SS for not present. Fills d (accessed bit set). */
void sys_check_ss(struct x86_cpu *cpu, uint16_t sel, int cpl, int vec, struct sys_desc *d);
/* Protected-mode checks for DS/ES/FS/GS at privilege cpl; returns false for a null selector. */
bool sys_check_data(struct x86_cpu *cpu, uint16_t sel, int cpl, int vec, struct sys_desc *d);
/* After a return to an outer privilege level: data segments not accessible at the new CPL
 * become null (SDM Vol. 3 RET/IRET pseudo-code). */
void sys_null_inaccessible(struct x86_cpu *cpu);

/* sys_stack.c: pushes on a stack described by a descriptor, for stack switches; the frame is
 * written before any register changes, so a fault leaves the CPU state untouched. */
struct sys_stack {
    uint32_t base, limit;
    uint16_t attr;
    uint16_t sel;
    uint32_t sp;          /* full ESP; only SP is used for 16-bit stacks */
    bool user;            /* accesses at CPL 3 (use the current SS and CPL checks) */
};
void sys_stack_from_ss(struct x86_cpu *cpu, struct sys_stack *st);
void sys_stack_from_desc(struct sys_stack *st, uint16_t sel, const struct sys_desc *d, uint32_t sp);
/* Checks that n bytes can be pushed; raises #SS(sel) (with EXT) otherwise. */
void sys_stack_check_push(struct x86_cpu *cpu, const struct sys_stack *st, uint32_t n, bool use_sel);
void sys_stack_push(struct x86_cpu *cpu, struct sys_stack *st, uint32_t v, bool o32);
uint32_t sys_stack_pop(struct x86_cpu *cpu, struct sys_stack *st, bool o32);
/* Releases n bytes (RET imm16): moves SP up without reading. */
void sys_stack_skip(struct sys_stack *st, uint32_t n);
/* Writes the stack pointer back into ESP (for 16-bit stacks st->sp kept the upper half). */
void sys_stack_store_sp(struct x86_cpu *cpu, const struct sys_stack *st);

/* sys_task.c */
enum sys_task_reason { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
/* Switches to the task whose TSS descriptor is tss_sel/d. err != X86_NO_ERR is pushed on the
 * new task's stack (exception through a task gate). */
void sys_task_switch(struct x86_cpu *cpu, uint16_t tss_sel, struct sys_desc *d, enum sys_task_reason why,
                     uint32_t err);

/* Task gate (IDT, or JMP/CALL through a gate): checks the TSS descriptor tss_sel names in the
 * GDT (#GP/#NP with that selector) and switches to it. */
void sys_task_via_gate(struct x86_cpu *cpu, uint16_t tss_sel, enum sys_task_reason why, uint32_t err);

/* sys_cr.c */
/* Loads the four PAE PDPTEs from CR3; raises #GP(0) on reserved bits (SDM Vol. 3 §4.4.1). */
void sys_load_pdptes(struct x86_cpu *cpu, uint32_t cr3);

/* sys_event_pm.c: delivery through the IDT; err X86_NO_ERR pushes no error code. */
void sys_deliver_pm(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err);
/* Reads the stack for privilege level dpl from the current TSS; #TS(TR) when outside it. */
void sys_tss_stack(struct x86_cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp);

#endif
