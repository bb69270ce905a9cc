/* The instruction-emulation API (include/ringfold/x86_emulate.h) over the interpreter core. */
#include <stdlib.h>
#include <errno.h>
#include "ringfold/x86_emulate.h"
#include "x86_exec.h"

struct x86_emu {
    struct x86_cpu *cpu;
    bool deliver;
};

struct x86_emu *x86_emu_create(struct vm *vm, struct rf_err *err)
{
    struct x86_emu *e = calloc(1, sizeof(*e));
    if (e)
        e->cpu = exec_cpu_create(vm);
    if (!e || !e->cpu) {
        free(e);
        rf_errf(err, -ENOMEM, "x86 emulator: out of memory");
        return NULL;
    }
    e->deliver = true;
    return e;
}

void x86_emu_destroy(struct x86_emu *e)
{
    if (!e)
        return;
    exec_cpu_destroy(e->cpu);
    free(e);
}

void x86_emu_set_state(struct x86_emu *e, const struct vcpu_state *st) { exec_set_state(e->cpu, st); }
void x86_emu_get_state(struct x86_emu *e, struct vcpu_state *st) { exec_get_state(e->cpu, st); }
void x86_emu_set_deliver(struct x86_emu *e, bool deliver) { e->deliver = deliver; }
uint64_t x86_emu_icount(const struct x86_emu *e) { return e->cpu->stats.insns; }

void x86_emu_code_written(struct x86_emu *e, uint64_t pa, uint64_t len)
{
    for (uint64_t p = pa & ~0xfffull; p < pa + len; p += 4096) {
        uint64_t lo = p > pa ? p : pa, hi = (p + 4096 < pa + len) ? p + 4096 : pa + len;
        if (page_has_code(e->cpu->exec, (uint32_t)p))
            exec_code_write(e->cpu, (uint32_t)lo, (uint32_t)(hi - lo));
    }
}

int x86_emu_translate(struct x86_emu *e, uint32_t linear, unsigned access, struct x86_emu_xlate *out,
                      struct x86_emu_event *ev)
{
    const struct x86_cpu *c = e->cpu;
    if (!(c->s.cr0 & CR0_PG)) {
        *out = (struct x86_emu_xlate){ .pa = linear, .page_size = 4096, .user = true, .writable = true };
    } else {
        struct x86_walk w;
        uint32_t f = x86_paging_walk(e->cpu, linear, access & (PF_W | PF_U | PF_I), &w);
        if (f) {
            *ev = (struct x86_emu_event){ .vector = 14, .err = f & ~X86_WALK_FAULT, .cr2 = linear,
                                          .eip = c->s.eip };
            return -1;
        }
        *out = (struct x86_emu_xlate){ .pa = w.pa, .page_size = w.page_size, .user = w.user,
                                       .writable = w.writable, .nx = w.nx, .global = w.global,
                                       .dirty = w.dirty };
    }
    out->pa &= ~(uint64_t)e->cpu->vm->a20_clear;
    return 0;
}

void x86_emu_flush(struct x86_emu *e)
{
    struct x86_exec *ex = e->cpu->exec;
    x86_emu_code_written(e, 0, (uint64_t)ex->npages << 12);
    x86_tlb_flush(e->cpu, true);
}

/* Runs instructions until stop_at says so; exceptions end the run (delivered or not). */
static enum x86_emu_status emu_loop(struct x86_emu *e, uint32_t lo, uint32_t hi, uint64_t max,
                                    struct x86_emu_event *ev)
{
    struct x86_cpu *cpu = e->cpu;
    struct x86_exec *ex = cpu->exec;
    exec_a20_sync(cpu);     /* the platform may have moved the A20 gate since the last run */
    volatile bool first = true;
    volatile uint64_t done = 0;
    if (setjmp(cpu->fault_jmp)) {
        if (first) {
            first = false;
            if (ev) {
                ev->vector = cpu->exc_vector;
                ev->err = cpu->exc_err;
                ev->cr2 = cpu->s.cr2;
                ev->eip = cpu->insn_eip;
            }
            exec_retire_fault(cpu);
            if (!e->deliver)
                return X86_EMU_EXCEPTION;
        }
        /* Delivery may fault again: the system side escalates to #DF / triple fault. */
        x86_handle_fault(cpu);
        exec_refresh(cpu);
        block_free_zombies(ex);
        return cpu->vm->stop ? X86_EMU_STOP : X86_EMU_EXCEPTION;
    }
    for (;;) {
        cpu->insn_eip = cpu->s.eip;
        struct x86_block *b = block_get(cpu);
        if (!b)
            return X86_EMU_STOP;
        exec_block(cpu, b, true);
        block_free_zombies(ex);
        done++;
        if (cpu->vm->stop)
            return X86_EMU_STOP;
        if (cpu->s.halted)
            return X86_EMU_HALT;
        if (max && done >= max)
            return max == 1 ? X86_EMU_OK : X86_EMU_BUDGET;
        if (cpu->s.eip < lo || cpu->s.eip >= hi)
            return X86_EMU_LEFT_RANGE;
    }
}

static enum x86_emu_status emu_counted(struct x86_emu *e, uint32_t lo, uint32_t hi, uint64_t max,
                                       struct x86_emu_event *ev)
{
    uint64_t before = e->cpu->vm->clock.icount;
    enum x86_emu_status st = emu_loop(e, lo, hi, max, ev);
    e->cpu->stats.insns += e->cpu->vm->clock.icount - before;
    return st;
}

enum x86_emu_status x86_emu_step(struct x86_emu *e, struct x86_emu_event *ev)
{
    return emu_counted(e, 0, 0xffffffffu, 1, ev);
}

enum x86_emu_status x86_emu_run_range(struct x86_emu *e, uint32_t lo, uint32_t hi, uint64_t max_insns,
                                      struct x86_emu_event *ev)
{
    if (e->cpu->s.eip < lo || e->cpu->s.eip >= hi)
        return X86_EMU_LEFT_RANGE;
    return emu_counted(e, lo, hi, max_insns, ev);
}

enum x86_emu_status x86_emu_interrupt(struct x86_emu *e, int vector, struct x86_emu_event *ev)
{
    struct x86_cpu *cpu = e->cpu;
    volatile bool faulted = false;
    if (setjmp(cpu->fault_jmp)) {
        if (!faulted && ev) {
            ev->vector = cpu->exc_vector;
            ev->err = cpu->exc_err;
            ev->cr2 = cpu->s.cr2;
            ev->eip = cpu->insn_eip;
        }
        faulted = true;
        exec_retire_fault(cpu);
        x86_handle_fault(cpu);      /* #DF / triple fault escalation */
        exec_refresh(cpu);
        return cpu->vm->stop ? X86_EMU_STOP : X86_EMU_EXCEPTION;
    }
    cpu->s.halted = 0;
    cpu->insn_eip = cpu->s.eip;
    flags_materialize(cpu);
    cpu->stats.interrupts++;
    x86_deliver_event(cpu, vector & 0xff, EV_EXT_INT, X86_NO_ERR);
    exec_refresh(cpu);
    return X86_EMU_OK;
}
