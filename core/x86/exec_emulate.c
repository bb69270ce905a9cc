/* The instruction-emulation API (include/ringfold/x86_emulate.h) over the interpreter core. */
#include <stdlib.h>
#include <errno.h>
#include "ringfold/x86_emulate.h"
#include "x86_exec.h"
#include "ringfold/trace.h"
#include "ringfold/vm.h"

/* What chained successors (x86_exec.h: x86_block.succ) depend on beyond the block key (CS
 * base, mode) and CPL (chain_cpl3): the translation of the successor's address (checked
 * against the TLB when a chain is followed, until_next_block) and the block still being cached.
 * exec->gen moves at every exec_refresh() (each segment load, IRET, event delivery, raw's
 * register load after every native run), TLB flush and INVLPG: that dropped all chains, and
 * ~30% of Linux kernel blocks went through block_get(). So run_until keeps its own chain
 * generation, moved only when cached blocks were dropped or paging / CS / debug state changed. */
struct emu_chain_key {
    uint64_t invalidations, efer;
    uint32_t cr0, cr4, cs_base, cs_limit, a20;
    bool dbg;
};

#define EMU_CGEN_BASE (1ull << 63)    /* never an exec->gen value: exec_run's chains never match */

struct x86_emu {
    struct x86_cpu *cpu;
    bool deliver;
    uint64_t by_mode[X86_EMU_MODE_COUNT];   /* run_until's instructions by mode */
    x86_emu_invlpg_fn invlpg_fn;
    void *invlpg_opaque;
    bool native_unpaged;    /* ask `native` at every block boundary while paging is off */
    bool native_paged;      /* ... and at CPL 0-2 while paging is on (raw phase 2b) */
    uint64_t ask_skip;      /* block boundaries left where that question is not asked */
    bool skip_pg;           /* CR0.PG when the skip was last looked at: a change ends it */
    uint64_t cgen;          /* run_until's chain generation (EMU_CGEN_BASE and up) */
    uint64_t seen_gen;      /* exec->gen when cgen was last brought up to date */
    struct emu_chain_key key;
    /* The code page until_next_block() last checked against the TLB: linear page, physical
     * page, and exec->gen then (TLB flushes, INVLPG and CPL changes all move it). */
    uint32_t v_page, v_pa;
    uint64_t v_gen;
    enum x86_emu_mode mode;  /* until_mode() since run_until's last attention */
    bool ask_unpaged;       /* native_unpaged applies in the state since then */
};

static void chain_key_take(const struct x86_emu *e, struct emu_chain_key *k)
{
    const struct x86_cpu *cpu = e->cpu;
    const struct vcpu_state *s = &cpu->s;
    memset(k, 0, sizeof(*k));   /* compared with memcmp: padding too */
    k->invalidations = cpu->stats.decode_invalidations;
    k->efer = s->msr.efer;
    k->cr0 = s->cr0;
    k->cr4 = s->cr4;
    k->cs_base = s->seg[S_CS].base;
    k->cs_limit = s->seg[S_CS].limit;     /* a chained successor skips block_get's limit check */
    k->a20 = cpu->vm->a20_clear;
    k->dbg = cpu->exec->dbg;
}

/* exec->gen moved: move cgen too unless only exec_refresh() moved it. */
static void chain_sync(struct x86_emu *e)
{
    struct emu_chain_key now;
    e->seen_gen = e->cpu->exec->gen;
    chain_key_take(e, &now);
    if (memcmp(&now, &e->key, sizeof(now)) != 0) {
        e->cgen++;
        e->key = now;
    }
}

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
    e->cgen = EMU_CGEN_BASE;
    e->seen_gen = ~e->cpu->exec->gen;   /* the first run_until takes the key */
    e->v_gen = ~e->cpu->exec->gen;
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

enum x86_emu_status x86_emu_step_fresh(struct x86_emu *e, struct x86_emu_event *ev)
{
    struct x86_exec *ex = e->cpu->exec;
    ex->force_nocache = true;
    enum x86_emu_status st = emu_counted(e, 0, 0xffffffffu, 1, ev);
    ex->force_nocache = false;
    return st;
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

/* ---- run_until: the raw engine's "run on emu until the guest can go native" ---------------- */

const struct vcpu_state *x86_emu_peek(const struct x86_emu *e) { return &e->cpu->s; }

uint64_t x86_emu_tlb_flushes(const struct x86_emu *e) { return e->cpu->stats.tlb_flushes; }

uint64_t x86_emu_mode_insns(const struct x86_emu *e, enum x86_emu_mode m)
{
    return m < X86_EMU_MODE_COUNT ? e->by_mode[m] : 0;
}

void x86_emu_set_regs(struct x86_emu *e, const struct vcpu_state *st)
{
    struct x86_cpu *cpu = e->cpu;
    cpu->s = *st;
    cpu->exec->ss_shadow = 0;
    cpu->exec->db_hits = 0;
    cpu->exec->prev_block = NULL;
    x86_set_eflags(cpu, st->eflags);
    x86_update_mode(cpu);
    exec_refresh(cpu);
}

void x86_emu_refetch(struct x86_emu *e)
{
    struct x86_cpu *cpu = e->cpu;
    uint32_t lin = cpu->s.seg[S_CS].base + cpu->s.eip;
    for (int k = 0; k < 2; k++) {
        struct x86_emu_xlate x;
        struct x86_emu_event ev;
        uint32_t page = (lin & ~0xfffu) + (uint32_t)k * 4096u;
        if (x86_emu_translate(e, page, X86_XLATE_EXEC | (cpu->cpl == 3 ? X86_XLATE_USER : 0), &x, &ev) == 0)
            x86_emu_code_written(e, x.pa & ~0xfffull, 4096);
    }
}

/* The CPU calls this from INVLPG itself (sys_cr.c x86_invlpg), so the hook sees exactly the
 * pages the guest invalidates, whichever loop executed the instruction. */
static void emu_invlpg_relay(void *opaque, uint32_t lin)
{
    struct x86_emu *e = opaque;
    e->invlpg_fn(e->invlpg_opaque, lin, false);
}

void x86_emu_set_invlpg_hook(struct x86_emu *e, x86_emu_invlpg_fn fn, void *opaque)
{
    e->invlpg_fn = fn;
    e->invlpg_opaque = opaque;
    e->cpu->invlpg_hook = fn ? emu_invlpg_relay : NULL;
    e->cpu->invlpg_opaque = e;

}

void x86_emu_set_code_hooks(struct x86_emu *e, x86_emu_watch_fn watch, x86_emu_overlay_fn overlay, void *opaque)
{
    struct x86_exec *ex = e->cpu->exec;
    ex->watch_fn = watch;
    ex->overlay_fn = overlay;
    ex->hooks_opaque = opaque;
    x86_emu_flush(e);       /* blocks decoded before the overlay existed */
}

int x86_emu_watch_frame(struct x86_emu *e, uint64_t pa_frame, bool on)
{
    struct x86_exec *ex = e->cpu->exec;
    uint64_t pfn = pa_frame >> 12;
    if (pfn >= ex->npages || !ex->watch_fn)
        return 0;
    if (!ex->watch_bm) {
        if (!on)
            return 0;
        ex->watch_bm = calloc(ex->npages / 64 + 1, sizeof(uint64_t));
        if (!ex->watch_bm)
            return -ENOMEM;
    }
    uint64_t bit = 1ull << (pfn % 64);
    if (on) {
        ex->watch_bm[pfn / 64] |= bit;
        tlb_drop_writes_to(ex, (uint32_t)(pfn << 12));     /* writes to it now take the slow path */
    } else {
        ex->watch_bm[pfn / 64] &= ~bit;
    }
    return 0;
}

uint64_t x86_emu_watch_hits(const struct x86_emu *e) { return e->cpu->exec->watch_hits; }

void x86_emu_set_native_unpaged(struct x86_emu *e, bool on) { e->native_unpaged = on; }
void x86_emu_set_native_paged(struct x86_emu *e, bool on) { e->native_paged = on; }
void x86_emu_skip_native_asks(struct x86_emu *e, uint64_t blocks) { e->ask_skip = blocks; }
uint64_t x86_emu_native_asks_skipped(const struct x86_emu *e) { return e->ask_skip; }

static enum x86_emu_mode until_mode(const struct x86_cpu *cpu)
{
    if (!cpu->pe)
        return X86_EMU_MODE_REAL;
    if (cpu->v86)
        return X86_EMU_MODE_V86;
    if (!cpu->code32)
        return X86_EMU_MODE_PM16;
    return cpu->cpl == 3 ? X86_EMU_MODE_USER : X86_EMU_MODE_KERNEL;
}

/* An external event between instructions, as the emu engine's loop takes it (SDM Vol. 3
 * §6.9: NMI before INTR; INTR only with IF set and no STI/MOV SS shadow). */
static bool until_events(struct x86_cpu *cpu)
{
    struct vm *vm = cpu->vm;
    int vector;
    enum x86_event_kind kind;
    if (vm->nmi_pending && !cpu->s.nmi_masked) {
        vm->nmi_pending = 0;
        vector = X86_NMI;
        kind = EV_NMI;
    } else if (vm->intr_pending && (cpu->s.eflags & EFL_IF)) {
        vector = vm_intr_ack(vm);
        if (vector < 0)
            return false;
        kind = EV_EXT_INT;
    } else {
        return false;
    }
    cpu->s.halted = 0;
    cpu->insn_eip = cpu->s.eip;
    flags_materialize(cpu);
    cpu->stats.interrupts++;
    x86_deliver_event(cpu, vector & 0xff, kind, X86_NO_ERR);
    if (kind == EV_NMI)
        cpu->s.nmi_masked = 1;
    exec_refresh(cpu);
    return true;
}

/* The successor of the block that ran last: its chained pointer while valid, else a cache
 * lookup, then chained (the emu engine's loop does the same, exec_run.c). */
static inline struct x86_block *until_next_block(struct x86_emu *e, struct x86_cpu *cpu, struct x86_exec *ex)
{
    if (__builtin_expect(ex->gen != e->seen_gen, 0))
        chain_sync(e);
    struct x86_block *p = ex->prev_block;
    uint32_t eip = cpu->s.eip;
    uint8_t cpl3 = cpu->cpl == 3;
    uint64_t gen = e->cgen;
    if (__builtin_expect(p && p->chain_gen == gen && p->chain_cpl3 == cpl3, 1)) {
        int k = p->succ[0] && p->succ_eip[0] == eip ? 0 : p->succ[1] && p->succ_eip[1] == eip ? 1 : -1;
        if (k >= 0) {
            /* Still what block_get would find: the TLB of this CPL maps the address to the
             * block's page (INVLPG and TLB flushes drop entries; a refill may map elsewhere).
             * Only p and the TLB are read: the successor's header may not be in cache yet. */
            uint32_t lin = cpu->s.seg[S_CS].base + eip, page = lin & 0xfffff000u;
            if (page == e->v_page && p->succ_page[k] == e->v_pa && ex->gen == e->v_gen)
                return p->succ[k];      /* the page checked last, and no TLB change since */
            const struct tlb_entry *t = &ex->tlb[(lin >> 12) & TLB_MASK];
            if (__builtin_expect(t->tag_x == page && t->pa == p->succ_page[k], 1)) {
                e->v_page = page;
                e->v_pa = t->pa;
                e->v_gen = ex->gen;
                return p->succ[k];
            }
        }
    }
    struct x86_block *b = block_get(cpu);
    if (p && b && !b->nocache && !p->nocache && p->valid && b->pa2 == NO_PA2) {
        if (p->chain_gen != gen || p->chain_cpl3 != cpl3) {
            p->succ[0] = p->succ[1] = NULL;
            p->chain_gen = gen;
            p->chain_cpl3 = cpl3;
        }
        int k = p->succ[0] ? 1 : 0;
        p->succ[k] = b;
        p->succ_eip[k] = eip;
        p->succ_page[k] = b->pa & 0xfffff000u;
    }
    return b;
}

/* When to look at the clock next: at the deadline in deterministic mode (time is the
 * instruction count), every 1024 instructions in real time. */
static uint64_t until_next_check(const struct vclock *clk, uint64_t deadline)
{
    if (clk->deterministic) {
        uint64_t now = vclock_ns(clk);
        return clk->icount + (deadline > now ? (deadline - now + VCLOCK_DET_NS_PER_INSN - 1) / VCLOCK_DET_NS_PER_INSN : 0);
    }
    return clk->icount + 1024;
}

/* Like the emu engine's loop: blocks chained to blocks, and the checks (stop, events, HLT,
 * single-step, and here: may the guest go native?) only when something raised exec->attention
 * (I/O, EFLAGS writes, mode and CPL changes, HLT...) or the clock is due. */
static enum x86_emu_status until_loop(struct x86_emu *e, uint64_t deadline, x86_emu_native_fn native,
                                      void *opaque)
{
    struct x86_cpu *cpu = e->cpu;
    struct x86_exec *ex = cpu->exec;
    struct vm *vm = cpu->vm;
    struct vclock *clk = &vm->clock;
    exec_a20_sync(cpu);
    if (setjmp(cpu->fault_jmp)) {
        /* Everything the guest does here is delivered (or escalates): the interpreter is the
         * CPU while the guest is off native. */
        exec_retire_fault(cpu);
        x86_handle_fault(cpu);
        exec_refresh(cpu);
        block_free_zombies(ex);
        ex->attention = 1;
    }
    ex->attention = 1;
    ex->prev_block = NULL;
    ex->check_at = 0;
    for (;;) {
        if (__builtin_expect(ex->attention, 0)) {
            ex->attention = 0;
            ex->cur = NULL;
            ex->cur_block = NULL;
            ex->prev_block = NULL;
            exec_a20_sync(cpu);
            if (ex->zombies)
                block_free_zombies(ex);
            if (vm->stop)
                goto out_stop;
            if (vclock_ns(clk) >= deadline)
                goto out_budget;
            if ((cpu->s.eflags & EFL_RF) && !ex->dbg && !(cpu->s.eflags & EFL_TF)) {
                /* RF only suppresses instruction breakpoints (SDM Vol. 3 §17.3.1.1); with none
                 * armed it may simply be cleared, as the instruction that follows would. */
                cpu->s.eflags &= ~EFL_RF;
            }
            if ((cpu->s.eflags & (EFL_TF | EFL_RF)) || ex->dbg || TRACE_ON(TRACE_INSN)) {
                /* Single-stepping and breakpoints: the emu engine's own loop does them right. */
                uint64_t before = clk->icount;
                enum engine_exit x = exec_run(cpu, deadline);
                cpu->stats.insns -= clk->icount - before;     /* counted again by our caller */
                e->by_mode[until_mode(cpu)] += clk->icount - before;
                if (e->invlpg_fn)
                    e->invlpg_fn(e->invlpg_opaque, 0, true);
                return x == ENGINE_EXIT_HALT ? X86_EMU_HALT : x == ENGINE_EXIT_STOP ? X86_EMU_STOP : X86_EMU_BUDGET;
            }
            if (cpu->s.intr_shadow) {
                /* One instruction after STI / MOV SS before an interrupt may arrive. */
                cpu->s.intr_shadow = 0;
                ex->attention = 1;
            } else if ((vm->intr_pending || vm->nmi_pending) && until_events(cpu)) {
                ex->attention = 1;
                continue;
            } else if (cpu->s.halted) {
                ex->attention = 1;
                return X86_EMU_HALT;
            } else if (native && cpu->cpl == 3 && cpu->pe && !cpu->v86 && native(opaque, &cpu->s)) {
                ex->attention = 1;
                return X86_EMU_NATIVE;
            }
            /* Mode, CPL and CR0 change only where exec_refresh() raises attention: what the
             * blocks until the next attention need of them is taken once, here. */
            e->mode = until_mode(cpu);
            /* A linger is about the paged kernel path that trapped: turning paging off or on
             * enters other code (a ring-0 loop run with paging off), which is asked at once. */
            if (!!(cpu->s.cr0 & CR0_PG) != e->skip_pg) {
                e->skip_pg = !e->skip_pg;
                e->ask_skip = 0;
            }
            e->ask_unpaged = e->native_unpaged && native && cpu->pe && !cpu->v86 && cpu->code32 &&
                             (!(cpu->s.cr0 & CR0_PG) || (e->native_paged && cpu->cpl != 3));
        }
        if (__builtin_expect(clk->icount >= ex->check_at, 0)) {
            if (vclock_ns(clk) >= deadline)
                goto out_budget;
            ex->check_at = until_next_check(clk, deadline);
        }
        /* Raw phases 2a/2b: guest kernel code may run natively once it leaves a frame CSAM
         * found unsafe, or once the engine's linger count ran out, which no attention event
         * marks: ask at every block boundary. */
        if (e->ask_unpaged && (e->ask_skip ? (e->ask_skip--, false) : native(opaque, &cpu->s))) {
            ex->attention = 1;
            return X86_EMU_NATIVE;
        }
        cpu->insn_eip = cpu->s.eip;
        struct x86_block *b = until_next_block(e, cpu, ex);
        if (!b)
            goto out_stop;
        /* exec_block(cpu, b, false), inline: one indirect call enters the block. */
        const struct x86_insn *i = b->insns;
        ex->cur_block = b;
        ex->cur = i;
        i->fn(cpu, i);
        uint64_t n = ex->cur->nret;
        ex->cur = NULL;
        ex->blocks_run++;
        clk->icount += n;
        e->by_mode[e->mode] += n;
        ex->prev_block = b;
    }
out_budget:
    ex->attention = 1;
    return X86_EMU_BUDGET;
out_stop:
    ex->attention = 1;
    return X86_EMU_STOP;
}

enum x86_emu_status x86_emu_run_until(struct x86_emu *e, uint64_t deadline_ns, x86_emu_native_fn native,
                                      void *opaque)
{
    uint64_t before = e->cpu->vm->clock.icount;
    enum x86_emu_status st = until_loop(e, deadline_ns, native, opaque);
    e->cpu->stats.insns += e->cpu->vm->clock.icount - before;
    return st;
}

enum x86_emu_status x86_emu_exception(struct x86_emu *e, int vector, uint32_t err, uint32_t cr2)
{
    struct x86_cpu *cpu = e->cpu;
    if (setjmp(cpu->fault_jmp)) {
        /* Delivery faulted: x86_handle_fault escalates (#DF, triple fault). */
        exec_retire_fault(cpu);
        x86_handle_fault(cpu);
        exec_refresh(cpu);
        return cpu->vm->stop ? X86_EMU_STOP : X86_EMU_EXCEPTION;
    }
    cpu->s.halted = 0;
    cpu->insn_eip = cpu->s.eip;
    flags_materialize(cpu);
    if (vector == X86_PF)
        cpu->s.cr2 = cr2;
    cpu->exc_vector = vector & 0x1f;
    cpu->exc_err = err;
    cpu->stats.exceptions[vector & 0x1f]++;
    x86_handle_fault(cpu);
    exec_refresh(cpu);
    return cpu->vm->stop ? X86_EMU_STOP : X86_EMU_EXCEPTION;
}

void x86_emu_print_stats(struct x86_emu *e, FILE *out, double seconds)
{
    exec_print_stats(e->cpu, out, seconds);
}
