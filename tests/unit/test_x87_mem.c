/* x87 loads and stores in every memory format, checked against the host's real x87 (results,
 * flags, stored bytes, masked and unmasked responses), plus fault atomicity of stores. */
#include "test_x87_harness.h"

static const uint16_t cws[] = { 0x037F, 0x077F, 0x0B7F, 0x0F7F, 0x007F, 0x027F,
                                0x037E, 0x0377, 0x036F, 0x035F, 0x0340 };

Test(x87_mem, stores_every_format_rounding_and_exceptions)
{
    x87_f80 v[40];
    unsigned nv = test_values(v);
    v[nv++] = f80_of(2.5L);
    v[nv++] = f80_of(-3.5L);
    v[nv++] = f80_of(32767.5L);
    v[nv++] = f80_of(-32768.49L);
    v[nv++] = f80_of(2147483648.0L);
    v[nv++] = f80_of(-9223372036854775808.0L);
    v[nv++] = f80_of(9223372036854775807.5L);
    v[nv++] = f80_of(999999999999999999.0L);     /* largest packed BCD */
    v[nv++] = f80_of(1e18L);                      /* too big for BCD: invalid */
    v[nv++] = f80_of(-123456789012345678.4L);
    v[nv++] = f80_of(3.4028235677973366e38L);     /* just above FLT_MAX: overflow in m32 */
    v[nv++] = f80_of(1e-40L);                     /* single denormal: underflow in m32 */
    v[nv++] = f80_of(1e-310L);                    /* double denormal */
    static const uint8_t forms[][2] = {
        { 0xD9, 0x15 }, { 0xD9, 0x1D }, { 0xDD, 0x15 }, { 0xDD, 0x1D }, { 0xDB, 0x3D },
        { 0xDB, 0x15 }, { 0xDB, 0x1D }, { 0xDF, 0x15 }, { 0xDF, 0x1D }, { 0xDF, 0x3D },
        { 0xDF, 0x35 },
    };
    uint8_t mem[16];
    memset(mem, 0xA5, sizeof(mem));
    for (unsigned k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
        for (unsigned a = 0; a < nv; a++)
            for (unsigned c = 0; c < sizeof(cws) / sizeof(cws[0]); c++)
                check_same(forms[k][0], forms[k][1], cws[c], 2, (x87_f80[]){ v[a], v[0] }, mem, 0);
        check_same(forms[k][0], forms[k][1], 0x037F, 0, NULL, mem, 0);   /* underflow, masked */
        check_same(forms[k][0], forms[k][1], 0x037E, 0, NULL, mem, 0);   /* unmasked */
    }
}

Test(x87_mem, loads_every_format)
{
    static const uint8_t pats[][10] = {
        { 0x00, 0x00, 0x80, 0x3F },                              /* 1.0f */
        { 0x01, 0x00, 0x00, 0x00 },                              /* denormal f32 */
        { 0x00, 0x00, 0xA0, 0x7F },                              /* SNaN f32 */
        { 0x00, 0x00, 0xC0, 0xFF },                              /* QNaN f32 */
        { 0x00, 0x00, 0x80, 0xFF },                              /* -inf f32 */
        { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF4, 0x7F },      /* SNaN f64 */
        { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 },      /* -denormal f64 */
        { 0x18, 0x2D, 0x44, 0x54, 0xFB, 0x21, 0x09, 0x40 },      /* pi f64 */
        { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F },      /* max int64 */
        { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 },      /* min int64 */
        { 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87, 0x80 },   /* -BCD */
        { 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x00 },   /* max BCD */
        { 0xAB, 0xCD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },   /* bad digits */
        { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0xFF, 0x7F },   /* pseudo-NaN */
        { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00 },   /* pseudo-denormal */
    };
    static const uint8_t forms[][2] = {
        { 0xD9, 0x05 }, { 0xDD, 0x05 }, { 0xDB, 0x2D }, { 0xDB, 0x05 }, { 0xDF, 0x05 },
        { 0xDF, 0x2D }, { 0xDF, 0x25 },
    };
    x87_f80 full[8];
    for (unsigned i = 0; i < 8; i++)
        full[i] = f80_of((long double)i);
    for (unsigned k = 0; k < sizeof(forms) / sizeof(forms[0]); k++)
        for (unsigned p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
            uint8_t mem[16] = { 0 };
            memcpy(mem, pats[p], 10);
            for (unsigned c = 0; c < sizeof(cws) / sizeof(cws[0]); c++)
                check_same(forms[k][0], forms[k][1], cws[c], 1, full, mem, 0);
            check_same(forms[k][0], forms[k][1], 0x037F, 8, full, mem, 0);   /* overflow */
            check_same(forms[k][0], forms[k][1], 0x037E, 8, full, mem, 0);
        }
}

Test(x87_mem, control_and_status_word_stores)
{
    uint8_t mem[16] = { 0 };
    x87_f80 v = f80_of(1.0L);
    check_same(0xD9, 0x3D, 0x0F7F, 1, &v, mem, 0);                   /* FNSTCW */
    check_same(0xDD, 0x3D, 0x037F, 1, &v, mem, 0);                   /* FNSTSW m16 */
    check_same(0xDD, 0x3D, 0x037E, 0, NULL, mem, 0);
    uint16_t cwv = 0xFFFF;
    memcpy(mem, &cwv, 2);
    check_same(0xD9, 0x2D, 0x037F, 1, &v, mem, 0);                   /* FLDCW */
    cr_assert_eq(tcpu.s.fpu.fcw, 0x1F7F);
}

/* A store that faults (here: past the DS limit) leaves the FPU exactly as it was, and a
 * multi-part store writes nothing. */
Test(x87_mem, faulting_stores_have_no_effect)
{
    cpu_setup();
    gmem[0x50] = 0;
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), -1);                 /* FLD1 */
    cr_assert_eq(run_insn(0xD9, 0xEB, 0, true), -1);                 /* FLDPI */
    struct fpu_state before = tcpu.s.fpu;
    memset(gmem + GMEM_SIZE - 16, 0x5A, 16);
    cr_assert_eq(run_insn(0xDB, 0x3D, GMEM_SIZE - 6, true), X86_GP);   /* FSTP m80 */
    cr_assert_eq(run_insn(0xDD, 0x1D, GMEM_SIZE - 4, true), X86_GP);   /* FSTP m64 */
    cr_assert_eq(run_insn(0xDD, 0x35, GMEM_SIZE - 100, true), X86_GP); /* FNSAVE (108) */
    cr_assert_eq(run_insn(0xD9, 0x35, GMEM_SIZE - 20, true), X86_GP);  /* FNSTENV (28) */
    cr_assert_eq(memcmp(&before, &tcpu.s.fpu, sizeof(before)), 0);
    for (unsigned i = GMEM_SIZE - 16; i < GMEM_SIZE; i++)
        cr_assert_eq(gmem[i], 0x5A, "byte %u written by a faulting store", i);
    /* faulting loads, memory arithmetic and state loads change nothing either */
    cr_assert_eq(run_insn(0xDD, 0x05, GMEM_SIZE - 4, true), X86_GP);   /* FLD m64 */
    cr_assert_eq(run_insn(0xDB, 0x2D, GMEM_SIZE - 8, true), X86_GP);   /* FLD m80 */
    cr_assert_eq(run_insn(0xDC, 0x05, GMEM_SIZE - 4, true), X86_GP);   /* FADD m64 */
    cr_assert_eq(run_insn(0xD9, 0x25, GMEM_SIZE - 20, true), X86_GP);  /* FLDENV */
    cr_assert_eq(run_insn(0xDD, 0x25, GMEM_SIZE - 100, true), X86_GP); /* FRSTOR */
    cr_assert_eq(run_insn(0xD9, 0x2D, GMEM_SIZE - 1, true), X86_GP);   /* FLDCW */
    cr_assert_eq(memcmp(&before, &tcpu.s.fpu, sizeof(before)), 0);
}
