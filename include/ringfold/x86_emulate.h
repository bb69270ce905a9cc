/* Instruction emulation for other engines (raw mode emulates what cannot run natively):
 * an interpreter context on a VM that executes one instruction, or runs until an event or
 * until EIP leaves a range, and says what happened. */
#ifndef RINGFOLD_X86_EMULATE_H
#define RINGFOLD_X86_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include "cpu_state.h"
#include "err.h"

struct vm;
struct x86_emu;

enum x86_emu_status {
    X86_EMU_OK,          /* the instruction(s) retired */
    X86_EMU_EXCEPTION,   /* an exception was raised (see the event; delivered if deliver is on) */
    X86_EMU_HALT,        /* HLT retired: the vCPU waits for an interrupt */
    X86_EMU_STOP,        /* vm->stop was set (debug exit, triple fault, device error) */
    X86_EMU_LEFT_RANGE,  /* run_range: EIP left [lo, hi) */
    X86_EMU_BUDGET,      /* run_range: max_insns retired */
};

struct x86_emu_event {
    int vector;          /* exception vector */
    uint32_t err;        /* error code, 0xFFFFFFFF when none */
    uint32_t cr2;        /* faulting linear address for #PF */
    uint32_t eip;        /* EIP of the faulting instruction */
};

/* The context uses vm->mem and vm->bus (port and MMIO accesses go to the devices). */
struct x86_emu *x86_emu_create(struct vm *vm, struct rf_err *err);
void x86_emu_destroy(struct x86_emu *e);

void x86_emu_set_state(struct x86_emu *e, const struct vcpu_state *st);
void x86_emu_get_state(struct x86_emu *e, struct vcpu_state *st);

/* On (default): exceptions are delivered through the guest IDT/IVT like hardware would, and the
 * state returned is the handler's entry. Off: the state stays at the faulting instruction. */
void x86_emu_set_deliver(struct x86_emu *e, bool deliver);

/* Executes exactly one instruction (no external interrupts are taken). */
enum x86_emu_status x86_emu_step(struct x86_emu *e, struct x86_emu_event *ev);

/* Runs while EIP stays in [lo, hi), up to max_insns instructions (0: no limit). */
enum x86_emu_status x86_emu_run_range(struct x86_emu *e, uint32_t lo, uint32_t hi, uint64_t max_insns,
                                      struct x86_emu_event *ev);

/* Delivers external interrupt vector (from the PIC) through the guest's IDT/IVT as the CPU
 * would between instructions (the caller checked EFLAGS.IF and the interrupt shadow); wakes a
 * halted vCPU. X86_EMU_OK, or X86_EMU_EXCEPTION when delivery faulted (then escalated). */
enum x86_emu_status x86_emu_interrupt(struct x86_emu *e, int vector, struct x86_emu_event *ev);

/* Guest memory changed behind the emulator's back (native execution): drop decoded code for
 * physical [pa, pa+len), or everything. */
void x86_emu_code_written(struct x86_emu *e, uint64_t pa, uint64_t len);
void x86_emu_flush(struct x86_emu *e);

/* Access kinds for x86_emu_translate (they match the #PF error-code bits W, U and I/D). */
#define X86_XLATE_WRITE 0x02u
#define X86_XLATE_USER  0x04u   /* access at CPL 3 */
#define X86_XLATE_EXEC  0x10u   /* instruction fetch */

struct x86_emu_xlate {
    uint64_t pa;          /* physical address of the linear address (A20 applied) */
    uint32_t page_size;   /* 4 KiB, 2 MiB or 4 MiB; 4 KiB when paging is off */
    bool user;            /* U/S set at every level (always true when paging is off) */
    bool writable;        /* R/W set at every level (always true when paging is off) */
    bool nx;              /* execute-disable somewhere in the walk */
    bool global;          /* a global page (CR4.PGE) */
    bool dirty;           /* D of the final entry is set (now set when the access writes) */
};

/* Translates a linear address through the context's current paging state as an access of
 * kind `access` (X86_XLATE_* bits; 0 = supervisor read) would, setting A/D bits as the CPU
 * does. 0 on success; -1 when the guest would fault, with ev holding #PF, its error code and
 * cr2 (nothing is delivered and no A/D bit changes). */
int x86_emu_translate(struct x86_emu *e, uint32_t linear, unsigned access, struct x86_emu_xlate *out,
                      struct x86_emu_event *ev);

/* Instructions retired by this context. */
uint64_t x86_emu_icount(const struct x86_emu *e);

#endif
