/* Decoded-block cache bookkeeping: the "live blocks" statistic counts blocks in the cache, so a
 * block invalidated by a guest write to its code leaves the count. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "test_exec_harness.h"

TestSuite(exec_blocks, .init = tvm_setup, .fini = tvm_teardown);

struct block_stats {
    uint64_t decoded, executed, live, invalidated;
};

static struct block_stats stats_now(void)
{
    struct block_stats s = { 0 };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    emu_engine_ops.print_stats(tpriv, f);
    fclose(f);
    const char *p = strstr(buf, "blocks decoded");
    cr_assert_not_null(p, "no block line in:\n%s", buf);
    int n = sscanf(p, "blocks decoded %" SCNu64 ", executed %" SCNu64 ", live %" SCNu64
                   ", invalidated by guest writes %" SCNu64, &s.decoded, &s.executed, &s.live,
                   &s.invalidated);
    cr_assert_eq(n, 4, "cannot parse: %s", p);
    free(buf);
    return s;
}

Test(exec_blocks, invalidated_block_leaves_live_count)
{
    /* 0x1000: mov eax, 1; jmp 0x1100
     * 0x1100: inc ecx; cmp ecx, 2; je 0x1180
     * 0x1106: mov byte [0x1001], 2 (rewrites the first block's immediate); jmp 0x1000
     * 0x1180: hlt
     * Blocks decoded: 0x1000, 0x1100, 0x1106, 0x1000 again, 0x1180; one invalidated. */
    static const uint8_t b1[] = { 0xb8, 1, 0, 0, 0, 0xe9, 0xf6, 0x00, 0x00, 0x00 };
    static const uint8_t b2[] = { 0x41, 0x83, 0xf9, 0x02, 0x74, 0x7a,
                                  0xc6, 0x05, 0x01, 0x10, 0x00, 0x00, 0x02,
                                  0xe9, 0xee, 0xfe, 0xff, 0xff };
    static const uint8_t b3[] = { 0xf4 };
    tvm_load(0x1000, b1, sizeof(b1));
    tvm_load(0x1100, b2, sizeof(b2));
    tvm_load(0x1180, b3, sizeof(b3));
    struct vcpu_state st = tvm_flat(0x1000);
    st.gpr[R_EAX] = st.gpr[R_ECX] = 0;
    struct vcpu_state out = tvm_run(&st);
    cr_assert_eq(out.gpr[R_EAX], 2u, "the rewritten instruction ran");
    cr_assert_eq(out.gpr[R_ECX], 2u);
    struct block_stats s = stats_now();
    cr_assert_eq(s.invalidated, 1u);
    cr_assert_eq(s.decoded, 5u);
    cr_assert_eq(s.live, s.decoded - s.invalidated, "live %" PRIu64 " of %" PRIu64 " decoded, %" PRIu64
                 " invalidated", s.live, s.decoded, s.invalidated);
}
