/* The instruction loop: runs decoded blocks, and at block boundaries counts retired
 * instructions, checks the deadline, stop requests and interrupts (NMI, INTR with IF and no
 * interrupt shadow), HLT, single-step traps; faults longjmp back here for delivery. */
#include <inttypes.h>
#include "x86_exec.h"
#include "ringfold/trace.h"
#include "sys_debug.h"

_Noreturn void x86_raise(struct x86_cpu *cpu, int vector, uint32_t err)
{
    struct x86_exec *ex = cpu->exec;
    if (ex && ex->cur) {
        /* The record may live in a stack frame the longjmp discards: take what is needed now. */
        cpu->insn_eip = ex->cur->eip;
        ex->fault_retired = ex->cur->nret - 1u;
        ex->cur = NULL;
    }
    cpu->exc_vector = vector;
    cpu->exc_err = err;
    if (vector >= 0 && vector < 32)
        cpu->stats.exceptions[vector]++;
    if (TRACE_ON(TRACE_EXC))
        trace_printf("exc: #%d err=%#x at %04x:%08" PRIx32 " cr2=%08" PRIx32 "\n", vector, err,
                     cpu->s.seg[S_CS].sel, cpu->insn_eip, cpu->s.cr2);
    longjmp(cpu->fault_jmp, 1);
}

static void trace_insn(struct x86_cpu *cpu, const struct x86_insn *i)
{
    uint8_t bytes[16] = { 0 };
    char text[128];
    unsigned len = i->len ? i->len : 1;
    struct x86_exec *ex = cpu->exec;
    const struct x86_insn *saved = ex->cur;
    ex->cur = NULL;
    lin_read(cpu, cpu->s.seg[S_CS].base + i->eip, bytes, len, cpu->cpl == 3);
    ex->cur = saved;
    if (trace_disasm(bytes, len, i->eip, !cpu->code32, text, sizeof(text)) < 0)
        snprintf(text, sizeof(text), "(bad)");
    trace_printf("%04x:%08" PRIx32 "  %s\n", cpu->s.seg[S_CS].sel, i->eip, text);
}

/* Runs one block (or only its first instruction). Counts what retired. */
void exec_block(struct x86_cpu *cpu, struct x86_block *b, bool single)
{
    struct x86_exec *ex = cpu->exec;
    const struct x86_insn *i = b->insns;
    uint64_t n;
    ex->cur_block = b;
    if (single) {
        /* Run the first record against a private terminator, so that threaded handlers stop
         * after one instruction. */
        struct x86_insn one[2];
        one[0] = *i;
        memset(&one[1], 0, sizeof(one[1]));
        one[1].fn = h_block_end;
        one[1].eip = next_eip(i);
        one[1].nret = 1;
        if (TRACE_ON(TRACE_INSN))
            trace_insn(cpu, i);
        ex->cur = &one[0];
        one[0].fn(cpu, &one[0]);
        n = i->fn != h_block_end;
    } else {
        ex->cur = i;
        i->fn(cpu, i);
        n = ex->cur->nret;
    }
    ex->cur = NULL;
    ex->blocks_run++;
    cpu->vm->clock.icount += n;
}

/* After x86_raise(): count what retired before the fault, restart at the faulting instruction
 * and let the system side deliver (or escalate). */
void exec_retire_fault(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    if (ex->cur_block)
        cpu->vm->clock.icount += ex->fault_retired;
    ex->fault_retired = 0;
    ex->cur = NULL;
    ex->cur_block = NULL;
    ex->prev_block = NULL;
    cpu->s.eip = cpu->insn_eip;
    cpu->s.intr_shadow = 0;
    ex->db_hits = 0;
    ex->attention = 1;
    flags_materialize(cpu);
}

static void deliver_external(struct x86_cpu *cpu, int vector, enum x86_event_kind kind)
{
    cpu->s.halted = 0;
    cpu->insn_eip = cpu->s.eip;
    flags_materialize(cpu);
    if (TRACE_ON(TRACE_INTR))
        trace_printf("intr: %s vector %#x at %04x:%08" PRIx32 "\n", kind == EV_NMI ? "NMI" : "INTR",
                     vector, cpu->s.seg[S_CS].sel, cpu->s.eip);
    cpu->stats.interrupts++;
    x86_deliver_event(cpu, vector, kind, X86_NO_ERR);
    exec_refresh(cpu);
}

/* Checks pending NMI/INTR; returns true when one was delivered. */
static bool exec_check_events(struct x86_cpu *cpu)
{
    struct vm *vm = cpu->vm;
    if (cpu->s.intr_shadow)
        return false;
    if (vm->nmi_pending && !cpu->s.nmi_masked) {
        vm->nmi_pending = 0;
        deliver_external(cpu, X86_NMI, EV_NMI);
        cpu->s.nmi_masked = 1;
        return true;
    }
    if (vm->intr_pending && (cpu->s.eflags & EFL_IF)) {
        int v = vm_intr_ack(vm);
        if (v >= 0) {
            deliver_external(cpu, v & 0xff, EV_EXT_INT);
            return true;
        }
    }
    return false;
}

/* One instruction with its debug checks (SDM Vol. 3 §17.3): an execute breakpoint faults before
 * it unless RF is set; TF single-step (DR6.BS) and data/I/O breakpoints trap after it; after
 * MOV SS / POP SS the trap waits for the next instruction; RF clears once it retires. */
static void exec_single(struct x86_cpu *cpu, struct x86_block *b)
{
    struct x86_exec *ex = cpu->exec;
    bool tf = cpu->s.eflags & EFL_TF;
    bool rf = cpu->s.eflags & EFL_RF;
    if (ex->dbg && !rf) {
        uint32_t hits = sys_dr_match_exec(cpu, cpu->s.seg[S_CS].base + cpu->s.eip);
        if (hits) {
            cpu->s.dr[6] = (cpu->s.dr[6] & ~0xfu) | hits;
            cpu->insn_eip = cpu->s.eip;
            x86_raise(cpu, X86_DB, X86_NO_ERR);
        }
    }
    ex->ss_shadow = 0;
    exec_block(cpu, b, true);
    if (rf && b->insns[0].opcode != 0xcf)
        cpu->s.eflags &= ~EFL_RF;
    if ((tf || ex->db_hits) && !ex->ss_shadow && !cpu->vm->stop) {
        cpu->s.dr[6] = (cpu->s.dr[6] & ~0xfu) | (ex->db_hits & 0xf) | (tf ? 0x4000u : 0);
        ex->db_hits = 0;
        cpu->insn_eip = cpu->s.eip;
        flags_materialize(cpu);
        cpu->stats.exceptions[X86_DB]++;
        x86_deliver_event(cpu, X86_DB, EV_EXCEPTION, X86_NO_ERR);
        exec_refresh(cpu);
    }
}

/* The successor of the block that ran last: its chained pointer when still valid, else a
 * cache lookup, which is then chained. */
static inline struct x86_block *next_block(struct x86_cpu *cpu, struct x86_exec *ex)
{
    struct x86_block *p = ex->prev_block;
    uint32_t eip = cpu->s.eip;
    if (likely(p && p->chain_gen == ex->gen)) {
        if (p->succ[0] && p->succ_eip[0] == eip)
            return p->succ[0];
        if (p->succ[1] && p->succ_eip[1] == eip)
            return p->succ[1];
    }
    struct x86_block *b = block_get(cpu);
    if (p && b && !b->nocache && !p->nocache && p->valid) {
        if (p->chain_gen != ex->gen) {
            p->succ[0] = p->succ[1] = NULL;
            p->chain_gen = ex->gen;
        }
        int k = p->succ[0] ? 1 : 0;
        p->succ[k] = b;
        p->succ_eip[k] = eip;
    }
    return b;
}

/* When to look at the clock next: exactly at the deadline in deterministic mode (time is the
 * instruction count), every few thousand instructions in real time. */
static uint64_t next_check(const struct vclock *clk, uint64_t deadline)
{
    if (clk->deterministic) {
        uint64_t now = vclock_ns(clk);
        return clk->icount + (deadline > now ? (deadline - now + VCLOCK_DET_NS_PER_INSN - 1) / VCLOCK_DET_NS_PER_INSN : 0);
    }
    return clk->icount + 1024;
}

static enum engine_exit exec_run_loop(struct x86_cpu *cpu, uint64_t deadline)
{
    struct x86_exec *ex = cpu->exec;
    struct vm *vm = cpu->vm;
    struct vclock *clk = &vm->clock;

    if (setjmp(cpu->fault_jmp)) {
        exec_retire_fault(cpu);
        x86_handle_fault(cpu);
        exec_refresh(cpu);
    }
    ex->prev_block = NULL;
    ex->check_at = next_check(clk, deadline);
    for (;;) {
        if (unlikely(ex->attention)) {
            ex->attention = 0;
            ex->cur = NULL;
            ex->cur_block = NULL;
            ex->prev_block = NULL;
            exec_a20_sync(cpu);     /* port I/O (which ends its block) may have moved the A20 gate */
            if (ex->zombies)
                block_free_zombies(ex);
            if (vm->stop) {
                ex->attention = 1;
                return ENGINE_EXIT_STOP;
            }
            if (vclock_ns(clk) >= deadline) {
                ex->attention = 1;
                return ENGINE_EXIT_BUDGET;
            }
            if (cpu->s.intr_shadow) {
                /* STI / MOV SS / POP SS: exactly one more instruction before interrupts. */
                ex->attention = 1;
                cpu->insn_eip = cpu->s.eip;
                struct x86_block *b = block_get(cpu);
                cpu->s.intr_shadow = 0;
                if (b)
                    exec_single(cpu, b);
                continue;
            }
            if ((vm->intr_pending || vm->nmi_pending) && exec_check_events(cpu)) {
                ex->attention = 1;
                continue;
            }
            if (cpu->s.halted) {
                ex->attention = 1;
                if (!(cpu->s.eflags & EFL_IF) && !vm->nmi_pending)
                    vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with interrupts disabled at %04x:%08" PRIx32,
                                    cpu->s.seg[S_CS].sel, cpu->s.eip);
                return ENGINE_EXIT_HALT;
            }
            if ((cpu->s.eflags & (EFL_TF | EFL_RF)) || ex->dbg || TRACE_ON(TRACE_INSN)) {
                ex->attention = 1;      /* stay on the one-instruction path */
                cpu->insn_eip = cpu->s.eip;
                struct x86_block *b = block_get(cpu);
                if (!b)
                    return ENGINE_EXIT_STOP;
                exec_single(cpu, b);
                continue;
            }
        }
        if (unlikely(clk->icount >= ex->check_at)) {
            if (vclock_ns(clk) >= deadline) {
                ex->attention = 1;
                return ENGINE_EXIT_BUDGET;
            }
            ex->check_at = next_check(clk, deadline);
        }
        struct x86_block *b = next_block(cpu, ex);
        if (unlikely(!b))
            return ENGINE_EXIT_STOP;
        /* The block itself: one indirect call per instruction, no per-instruction checks. */
        const struct x86_insn *i = b->insns;
        ex->cur_block = b;
        ex->cur = i;
        i->fn(cpu, i);
        clk->icount += ex->cur->nret;
        ex->cur = NULL;
        ex->blocks_run++;
        ex->prev_block = b;
    }
}

enum engine_exit exec_run(struct x86_cpu *cpu, uint64_t deadline)
{
    uint64_t before = cpu->vm->clock.icount;
    cpu->exec->attention = 1;     /* devices and timers ran since the last call */
    enum engine_exit e = exec_run_loop(cpu, deadline);
    cpu->stats.insns += cpu->vm->clock.icount - before;
    return e;
}
