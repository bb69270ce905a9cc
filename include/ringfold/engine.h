/* The engine interface: one const ops table per execution engine (emu, raw, kvm). */
#ifndef RINGFOLD_ENGINE_H
#define RINGFOLD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "cpu_state.h"
#include "err.h"

struct vm;

/* Why engine->run returned. */
enum engine_exit {
    ENGINE_EXIT_BUDGET,    /* reached the deadline: the run loop fires timers and calls again */
    ENGINE_EXIT_HALT,      /* guest executed HLT and no interrupt is deliverable */
    ENGINE_EXIT_STOP,      /* vm->stop was set (device request, triple fault, error) */
};

struct engine_ops {
    const char *name;
    const char *summary;
    /* Can this engine run guests on this host? Fills why when it cannot. */
    int (*probe)(struct rf_err *why);
    int (*create)(struct vm *vm, void **priv, struct rf_err *err);
    /* Run the vCPU until the virtual clock reaches deadline_ns, HLT, or a stop request. */
    enum engine_exit (*run)(void *priv, uint64_t deadline_ns);
    void (*get_state)(void *priv, struct vcpu_state *st);
    void (*set_state)(void *priv, const struct vcpu_state *st);
    /* --stats: what each technique did. */
    void (*print_stats)(void *priv, FILE *out);
    void (*destroy)(void *priv);
};

/* Every engine ringfold knows, in the order `auto` considers them. */
extern const struct engine_ops *const engine_table[];
const struct engine_ops *engine_find(const char *name);

extern const struct engine_ops emu_engine_ops;   /* core/x86/emu_engine.c */
extern const struct engine_ops raw_engine_ops;   /* rawmode/raw_engine.c */
extern const struct engine_ops kvm_engine_ops;   /* hwaccel/kvm_engine.c */

#endif
