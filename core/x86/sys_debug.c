/* Debug-register breakpoint matching: DR7 enable, R/W and LEN fields against DR0-DR3
 * (SDM Vol. 3 §17.2.4, §17.2.5). */
#include "sys_debug.h"

/* LEN encodings 00, 01, 11, 10 mean 1, 2, 4 and 8 bytes; the address is aligned down. */
static uint32_t dr_len(uint32_t dr7, int n)
{
    static const uint32_t lens[4] = { 1, 2, 8, 4 };
    return lens[(dr7 >> (18 + 4 * n)) & 3];
}

static unsigned dr_rw(uint32_t dr7, int n)
{
    return (dr7 >> (16 + 4 * n)) & 3;
}

static bool dr_enabled(uint32_t dr7, int n)
{
    return (dr7 >> (2 * n)) & 3;
}

/* True when [a, a+len) overlaps breakpoint n's aligned range. */
static bool dr_overlap(const struct x86_cpu *c, int n, uint32_t a, unsigned len)
{
    uint32_t blen = dr_len(c->s.dr[7], n);
    uint64_t start = c->s.dr[n] & ~(blen - 1);
    return (uint64_t)a < start + blen && start < (uint64_t)a + len;
}

uint32_t sys_dr_match_exec(const struct x86_cpu *c, uint32_t lin)
{
    uint32_t dr7 = c->s.dr[7], hits = 0;
    for (int n = 0; n < 4; n++)
        if (dr_enabled(dr7, n) && dr_rw(dr7, n) == 0 && c->s.dr[n] == lin)
            hits |= 1u << n;
    return hits;
}

uint32_t sys_dr_match_data(const struct x86_cpu *c, uint32_t lin, unsigned len, bool write)
{
    uint32_t dr7 = c->s.dr[7], hits = 0;
    for (int n = 0; n < 4; n++) {
        unsigned rw = dr_rw(dr7, n);
        if (dr_enabled(dr7, n) && (rw == 3 || (rw == 1 && write)) && dr_overlap(c, n, lin, len))
            hits |= 1u << n;
    }
    return hits;
}

uint32_t sys_dr_match_io(const struct x86_cpu *c, uint16_t port, unsigned len)
{
    uint32_t dr7 = c->s.dr[7], hits = 0;
    if (!(c->s.cr4 & CR4_DE))
        return 0;
    for (int n = 0; n < 4; n++)
        if (dr_enabled(dr7, n) && dr_rw(dr7, n) == 2 && dr_overlap(c, n, port, len))
            hits |= 1u << n;
    return hits;
}
