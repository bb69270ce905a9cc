/* Robustness: random instruction bytes in 32-bit, 16-bit protected and real mode must end in an
 * architectural outcome (run, fault, triple fault, HLT) and never crash the monitor. */
#include <stdlib.h>
#include <criterion/criterion.h>
#include "test_exec_harness.h"

TestSuite(exec_fuzz, .init = tvm_setup, .fini = tvm_teardown);

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void fuzz_mode(int mode, int rounds)
{
    void *priv = NULL;
    cr_assert_eq(emu_engine_ops.create(&tvm, &priv, NULL), 0);
    for (int round = 0; round < rounds; round++) {
        uint8_t code[256];
        for (unsigned k = 0; k < sizeof(code); k++)
            code[k] = (uint8_t)next_rand();
        tvm_load(CODE_BASE, code, sizeof(code));
        /* Scatter a few random words over low memory (descriptor tables, stack). */
        for (int k = 0; k < 64; k++) {
            uint32_t v = next_rand(), a = next_rand() % 0x10000u;
            tvm_load(a & ~3u, &v, 4);
        }
        struct vcpu_state st = tvm_flat(CODE_BASE);
        if (mode == 1) {
            for (int s = 0; s < SEG_COUNT; s++)
                st.seg[s].attr &= (uint16_t)~SEG_ATTR_DB;
        } else if (mode == 2) {
            vcpu_state_reset(&st);
            st.seg[S_CS].base = 0;
            st.seg[S_CS].sel = 0;
            st.eip = CODE_BASE;
        }
        for (int r = 0; r < 8; r++)
            st.gpr[r] = next_rand() & 0xfffff;
        tvm.stop = 0;
        emu_engine_ops.set_state(priv, &st);
        for (int k = 0; k < 4 && !tvm.stop; k++)
            if (emu_engine_ops.run(priv, tvm.clock.icount + 20000) == ENGINE_EXIT_HALT)
                break;
        struct vcpu_state out;
        emu_engine_ops.get_state(priv, &out);
    }
    emu_engine_ops.destroy(priv);
}

Test(exec_fuzz, random_bytes_32bit) { fuzz_mode(0, 1500); }
Test(exec_fuzz, random_bytes_16bit_protected) { fuzz_mode(1, 800); }
Test(exec_fuzz, random_bytes_real_mode) { fuzz_mode(2, 800); }
