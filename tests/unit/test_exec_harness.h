/* Shared set-up for the interpreter's unit tests: a bare VM (memory, bus, clock; no devices)
 * and helpers to load code and run it on the emu engine until HLT. */
#ifndef TEST_EXEC_HARNESS_H
#define TEST_EXEC_HARNESS_H

#include <string.h>
#include "ringfold/engine.h"
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"

#define CODE_BASE 0x1000u
#define STACK_TOP 0x80000u

static struct vm tvm;
static void *tpriv;

static inline void tvm_setup(void)
{
    memset(&tvm, 0, sizeof(tvm));
    guest_mem_init(&tvm.mem, 16u << 20, NULL);
    bus_init(&tvm.bus);
    vclock_init(&tvm.clock, true);
    tpriv = NULL;
}

static inline void tvm_teardown(void)
{
    if (tpriv)
        emu_engine_ops.destroy(tpriv);
    tpriv = NULL;
    guest_mem_destroy(&tvm.mem);
}

static inline void tvm_load(uint32_t pa, const void *bytes, size_t len)
{
    guest_mem_write(&tvm.mem, pa, bytes, len);
}

static inline struct vcpu_state tvm_flat(uint32_t eip)
{
    struct vcpu_state st;
    vcpu_state_flat32(&st, eip);
    st.gpr[R_ESP] = STACK_TOP;
    return st;
}

/* Runs st on the engine (block mode) until HLT or stop; returns the final state. */
static inline struct vcpu_state tvm_run(const struct vcpu_state *st)
{
    struct vcpu_state out;
    if (!tpriv)
        emu_engine_ops.create(&tvm, &tpriv, NULL);
    emu_engine_ops.set_state(tpriv, st);
    for (int k = 0; k < 1000 && !tvm.stop; k++) {
        enum engine_exit e = emu_engine_ops.run(tpriv, tvm.clock.icount + 100000000ull);
        if (e == ENGINE_EXIT_HALT)
            break;
    }
    emu_engine_ops.get_state(tpriv, &out);
    return out;
}

#endif
