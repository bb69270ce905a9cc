/* The instruction loop: runs decoded blocks, and at block boundaries counts retired
 * instructions, checks the deadline, stop requests and interrupts (NMI, INTR with IF and no
 * interrupt shadow), HLT, single-step traps; faults longjmp back here for delivery. */
#include <inttypes.h>
#include "x86_exec.h"
#include "ringfold/trace.h"

_Noreturn void x86_raise(struct x86_cpu *cpu, int vector, uint32_t err)
{
    struct x86_exec *ex = cpu->exec;
    if (ex && ex->cur)
        cpu->insn_eip = ex->cur->eip;
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
        if (TRACE_ON(TRACE_INSN))
            trace_insn(cpu, i);
        ex->cur = i;
        const struct x86_insn *nx = i->fn(cpu, i);
        if (nx)
            cpu->s.eip = next_eip(i);
        n = i->fn != h_block_end;
    } else {
        do {
            ex->cur = i;
            i = i->fn(cpu, i);
        } while (i);
        n = (uint64_t)(ex->cur - b->insns) + (ex->cur->fn != h_block_end);
    }
    ex->cur = NULL;
    ex->blocks_run++;
    cpu->vm->clock.icount += n;
    cpu->stats.insns += n;
}

/* After x86_raise(): count what retired before the fault, restart at the faulting instruction
 * and let the system side deliver (or escalate). */
void exec_retire_fault(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    if (ex->cur_block && ex->cur) {
        uint64_t n = (uint64_t)(ex->cur - ex->cur_block->insns);
        cpu->vm->clock.icount += n;
        cpu->stats.insns += n;
    }
    ex->cur = NULL;
    ex->cur_block = NULL;
    cpu->s.eip = cpu->insn_eip;
    cpu->s.intr_shadow = 0;
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

/* One instruction with its single-step (#DB, DR6.BS) and RF bookkeeping (SDM Vol. 3 §17.3.1.4). */
static void exec_single(struct x86_cpu *cpu, struct x86_block *b)
{
    bool tf = cpu->s.eflags & EFL_TF;
    bool rf = cpu->s.eflags & EFL_RF;
    exec_block(cpu, b, true);
    if (rf && b->insns[0].opcode != 0xcf)
        cpu->s.eflags &= ~EFL_RF;
    if (tf && !cpu->vm->stop) {
        cpu->s.dr[6] |= 0x4000;
        cpu->insn_eip = cpu->s.eip;
        flags_materialize(cpu);
        cpu->stats.exceptions[X86_DB]++;
        x86_deliver_event(cpu, X86_DB, EV_EXCEPTION, X86_NO_ERR);
        exec_refresh(cpu);
    }
}

enum engine_exit exec_run(struct x86_cpu *cpu, uint64_t deadline)
{
    struct x86_exec *ex = cpu->exec;
    struct vm *vm = cpu->vm;
    struct vclock *clk = &vm->clock;
    volatile unsigned poll = 0;

    if (setjmp(cpu->fault_jmp)) {
        exec_retire_fault(cpu);
        x86_handle_fault(cpu);
        exec_refresh(cpu);
    }
    for (;;) {
        ex->cur = NULL;
        ex->cur_block = NULL;
        if (ex->zombies)
            block_free_zombies(ex);
        if (vm->stop)
            return ENGINE_EXIT_STOP;
        if (clk->deterministic || ++poll >= 32) {
            poll = 0;
            if (vclock_ns(clk) >= deadline)
                return ENGINE_EXIT_BUDGET;
        }
        if (cpu->s.intr_shadow) {
            /* STI / MOV SS / POP SS: exactly one more instruction before interrupts. */
            cpu->insn_eip = cpu->s.eip;
            struct x86_block *b = block_get(cpu);
            cpu->s.intr_shadow = 0;
            if (b)
                exec_single(cpu, b);
            continue;
        }
        if ((vm->intr_pending || vm->nmi_pending) && exec_check_events(cpu))
            continue;
        if (cpu->s.halted) {
            if (!(cpu->s.eflags & EFL_IF) && !vm->nmi_pending)
                vm_request_stop(vm, VM_STOP_HUNG, 0, "hung: HLT with interrupts disabled at %04x:%08" PRIx32,
                                cpu->s.seg[S_CS].sel, cpu->s.eip);
            return ENGINE_EXIT_HALT;
        }
        cpu->insn_eip = cpu->s.eip;
        struct x86_block *b = block_get(cpu);
        if (!b)
            return ENGINE_EXIT_STOP;
        if (unlikely(cpu->s.eflags & (EFL_TF | EFL_RF)) || TRACE_ON(TRACE_INSN))
            exec_single(cpu, b);
        else
            exec_block(cpu, b, false);
    }
}
