/* The `emu` engine: the ops table that drives the interpreter from the VM run loop. */
#include <errno.h>
#include <stdlib.h>
#include "ringfold/engine.h"
#include "x86_exec.h"

struct emu_priv {
    struct x86_cpu *cpu;
    uint64_t run_ns;        /* host time spent inside run(), for the MIPS figure */
};

static int emu_probe(struct rf_err *why)
{
    (void)why;
    return 0;   /* a pure interpreter runs on any host */
}

static int emu_create(struct vm *vm, void **priv, struct rf_err *err)
{
    struct emu_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return rf_errf(err, -ENOMEM, "engine emu: out of memory");
    p->cpu = exec_cpu_create(vm);
    if (!p->cpu) {
        free(p);
        return rf_errf(err, -ENOMEM, "engine emu: out of memory for the CPU");
    }
    *priv = p;
    return 0;
}

static enum engine_exit emu_run(void *priv, uint64_t deadline_ns)
{
    struct emu_priv *p = priv;
    uint64_t t0 = vclock_host_ns();
    enum engine_exit e = exec_run(p->cpu, deadline_ns);
    p->run_ns += vclock_host_ns() - t0;
    return e;
}

static void emu_get_state(void *priv, struct vcpu_state *st)
{
    exec_get_state(((struct emu_priv *)priv)->cpu, st);
}

static void emu_set_state(void *priv, const struct vcpu_state *st)
{
    exec_set_state(((struct emu_priv *)priv)->cpu, st);
}

static void emu_print_stats(void *priv, FILE *out)
{
    struct emu_priv *p = priv;
    exec_print_stats(p->cpu, out, p->run_ns / 1e9);
}

static void emu_destroy(void *priv)
{
    struct emu_priv *p = priv;
    exec_cpu_destroy(p->cpu);
    free(p);
}

const struct engine_ops emu_engine_ops = {
    .name = "emu",
    .summary = "x86 interpreter (decoded-block cache, software TLB, lazy flags)",
    .probe = emu_probe,
    .create = emu_create,
    .run = emu_run,
    .get_state = emu_get_state,
    .set_state = emu_set_state,
    .print_stats = emu_print_stats,
    .destroy = emu_destroy,
};
