/* Life cycle of an interpreter CPU: creation on a VM, state transfer to and from the
 * engine-neutral struct vcpu_state (lazy flags synced), and the --stats report. */
#include <inttypes.h>
#include <stdlib.h>
#include "x86_exec.h"

struct x86_cpu *exec_cpu_create(struct vm *vm)
{
    struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
    if (!cpu)
        return NULL;
    cpu->vm = vm;
    cpu->mem = &vm->mem;
    cpu->delivering = -1;
    if (exec_init(cpu) < 0) {
        free(cpu);
        return NULL;
    }
    x86_cpu_reset(cpu);
    exec_refresh(cpu);
    return cpu;
}

void exec_cpu_destroy(struct x86_cpu *cpu)
{
    if (!cpu)
        return;
    exec_destroy(cpu);
    free(cpu);
}

void exec_set_state(struct x86_cpu *cpu, const struct vcpu_state *st)
{
    cpu->s = *st;
    cpu->exec->ss_shadow = 0;
    cpu->exec->db_hits = 0;
    cpu->exec->prev_block = NULL;
    x86_set_eflags(cpu, st->eflags);
    x86_update_mode(cpu);
    x86_tlb_flush(cpu, true);
    exec_refresh(cpu);
}

void exec_get_state(struct x86_cpu *cpu, struct vcpu_state *st)
{
    *st = cpu->s;
    st->eflags = x86_get_eflags(cpu);
}

void exec_print_stats(struct x86_cpu *cpu, FILE *out, double seconds)
{
    static const char *const names[32] = {
        "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "9", "TS", "NP", "SS", "GP", "PF", "15",
        "MF", "AC", "MC", "XM",
    };
    const struct x86_cpu_stats *s = &cpu->stats;
    struct x86_exec *ex = cpu->exec;
    fprintf(out, "emu: %" PRIu64 " instructions in %.3f s of run time (%.1f MIPS)\n", s->insns, seconds,
            seconds > 0 ? s->insns / seconds / 1e6 : 0.0);
    fprintf(out, "emu: blocks decoded %" PRIu64 ", executed %" PRIu64 ", live %" PRIu64
            ", invalidated by guest writes %" PRIu64 " (%" PRIu64 " while running)\n",
            s->decode_blocks, ex->blocks_run, ex->blocks_live, s->decode_invalidations, ex->smc_exits);
    fprintf(out, "emu: guest writes to code pages %" PRIu64 " (%" PRIu64 " blocks examined)\n", ex->code_writes,
            ex->code_walk_steps);
    fprintf(out, "emu: TLB misses %" PRIu64 ", flushes %" PRIu64 ", page walks %" PRIu64 "\n",
            s->tlb_misses, s->tlb_flushes, s->page_walks);
    fprintf(out, "emu: interrupts %" PRIu64 ", software interrupts %" PRIu64 ", task switches %" PRIu64 "\n",
            s->interrupts, s->soft_ints, s->task_switches);
    bool any = false;
    for (int v = 0; v < 32; v++) {
        if (!s->exceptions[v])
            continue;
        if (!any)
            fprintf(out, "emu: exceptions:");
        any = true;
        if (names[v])
            fprintf(out, " #%s %" PRIu64, names[v], s->exceptions[v]);
        else
            fprintf(out, " #%d %" PRIu64, v, s->exceptions[v]);
    }
    if (any)
        fprintf(out, "\n");
}
