/* Instruction emulation for other engines (raw mode emulates what cannot run natively):
 * an interpreter context on a VM that executes one instruction, or runs until an event or
 * until EIP leaves a range, and says what happened. */
#ifndef RINGFOLD_X86_EMULATE_H
#define RINGFOLD_X86_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* Like x86_emu_step, but decodes the instruction from memory as it is now and caches nothing:
 * for one instruction emulated after a native trap, so that guest user pages never hold decoded
 * blocks (whose invalidation on the next trap would unchain every block, and whose presence
 * sends the kernel's writes to those pages down the self-modifying-code path). */
enum x86_emu_status x86_emu_step_fresh(struct x86_emu *e, struct x86_emu_event *ev);

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

/* ---- for the raw engine (rawmode/): running the guest on emu between native stretches ---- */

/* Returned by x86_emu_run_until when `native` said the guest may leave the interpreter. */
#define X86_EMU_NATIVE ((enum x86_emu_status)100)

/* Asked at instruction-block boundaries while the guest is in 32-bit protected mode at CPL 3
 * (not v86), and with x86_emu_set_native_unpaged at any CPL while paging is off (with
 * x86_emu_set_native_paged also at CPL 0-2 while it is on): true when the
 * caller wants the guest back (to run it natively). */
typedef bool (*x86_emu_native_fn)(void *opaque, const struct vcpu_state *s);

/* Runs like the emu engine does (whole decoded blocks, external interrupts and NMIs taken when
 * EFLAGS.IF and the interrupt shadow allow, exceptions delivered) until the virtual clock
 * reaches deadline_ns (X86_EMU_BUDGET), HLT (X86_EMU_HALT; the caller decides whether the
 * vCPU is hung), a stop request (X86_EMU_STOP), or `native` says yes (X86_EMU_NATIVE).
 * The state `native` sees has valid segment/control/VM/TF/IF fields; arithmetic flags may be
 * stale. With single-stepping or breakpoints armed it runs the emu engine's loop to the
 * deadline instead (CPL 3 is then not noticed before the deadline). */
enum x86_emu_status x86_emu_run_until(struct x86_emu *e, uint64_t deadline_ns, x86_emu_native_fn native,
                                      void *opaque);

/* The context's state without the copy (arithmetic EFLAGS bits may be stale). */
const struct vcpu_state *x86_emu_peek(const struct x86_emu *e);

/* Like x86_emu_set_state, but keeps the software TLB: for states that differ from the current
 * one only in registers native guest code can change (GPRs, EIP, EFLAGS, segment registers, FPU),
 * so CR0/CR3/CR4/EFER must be the context's current ones. */
void x86_emu_set_regs(struct x86_emu *e, const struct vcpu_state *st);

/* Drops decoded code of the page holding CS:EIP (and the next one, for an instruction that
 * crosses), so the next step decodes the bytes memory holds now: native code may have written
 * them. Paging faults are ignored (the step then raises them). */
void x86_emu_refetch(struct x86_emu *e);

/* Instructions x86_emu_run_until retired, by the mode they ran in. */
enum x86_emu_mode { X86_EMU_MODE_REAL, X86_EMU_MODE_V86, X86_EMU_MODE_PM16, X86_EMU_MODE_KERNEL,
                    X86_EMU_MODE_USER, X86_EMU_MODE_COUNT };
uint64_t x86_emu_mode_insns(const struct x86_emu *e, enum x86_emu_mode m);

/* Delivers exception `vector` (error code err, 0xFFFFFFFF for none; CR2 = cr2 for #PF) as if the
 * instruction at the current EIP had raised it, escalating like the interpreter does. Used for
 * faults found outside the interpreter (a #PF the guest's tables give to native code).
 * X86_EMU_EXCEPTION, or X86_EMU_STOP when it ended in a triple fault. */
enum x86_emu_status x86_emu_exception(struct x86_emu *e, int vector, uint32_t err, uint32_t cr2);

/* The interpreter's --stats lines for this context (seconds: the time it ran, for MIPS). */
void x86_emu_print_stats(struct x86_emu *e, FILE *out, double seconds);

/* Called after x86_emu_run_until executed a guest INVLPG (linear: its operand's linear address),
 * or with all = true when it could not watch for them (single-step / breakpoint fallback): what
 * shadow paging needs to drop stale host mappings. */
typedef void (*x86_emu_invlpg_fn)(void *opaque, uint32_t linear, bool all);
void x86_emu_set_invlpg_hook(struct x86_emu *e, x86_emu_invlpg_fn fn, void *opaque);

/* Raw mode's code scanning (CSAM, csam/csam.h) keeps int3 patches in guest RAM. watch: called
 * BEFORE a guest write (by any instruction emu executes) lands in a frame marked with
 * x86_emu_watch_frame, so the frame's original bytes can be put back first. overlay: called when
 * emu decodes guest code from RAM at physical pa, to replace patched bytes in buf[0..len) with
 * the original ones, so emu never executes a 0xCC patch. Setting the hooks drops decoded code. */
typedef void (*x86_emu_watch_fn)(void *opaque, uint64_t pa_frame);
typedef void (*x86_emu_overlay_fn)(void *opaque, uint64_t pa, uint8_t *buf, unsigned len);
void x86_emu_set_code_hooks(struct x86_emu *e, x86_emu_watch_fn watch, x86_emu_overlay_fn overlay, void *opaque);
/* Marks (on) or unmarks a RAM frame (guest-physical address) for the watch hook; -ENOMEM or 0. */
int x86_emu_watch_frame(struct x86_emu *e, uint64_t pa_frame, bool on);
uint64_t x86_emu_watch_hits(const struct x86_emu *e);
/* x86_emu_run_until also asks `native` at every block boundary while paging is off and the code
 * is 32-bit protected mode (any CPL): raw mode runs unpaged kernel code natively (phase 2a). */
void x86_emu_set_native_unpaged(struct x86_emu *e, bool on);
/* With native_unpaged on: ask at every block boundary at CPL 0-2 while paging is on too (raw phase
 * 2b runs paged kernel code natively). */
void x86_emu_set_native_paged(struct x86_emu *e, bool on);
/* The next `blocks` block boundaries where run_until would ask `native` because of
 * native_unpaged/native_paged do not ask (the caller's "stay on emu a while", without a call
 * per block). Attention-time questions (CPL 3) are unaffected. */
void x86_emu_skip_native_asks(struct x86_emu *e, uint64_t blocks);
/* How many of those skipped questions are still to come. */
uint64_t x86_emu_native_asks_skipped(const struct x86_emu *e);

/* Full TLB flushes the context has done (CR3 writes, paging-control changes, task switches):
 * a change since the last look means every cached translation must go, even when CR3 was
 * rewritten with the value it had (Linux flushes that way). */
uint64_t x86_emu_tlb_flushes(const struct x86_emu *e);

#endif
