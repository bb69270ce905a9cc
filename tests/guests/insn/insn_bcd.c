/* DAA DAS AAA AAS AAM AAD over every AL with every AF/CF input: one checksum line per
 * 256 inputs plus a few explicit lines, compared with the host CPU. */
#include "insn.h"

/* Undefined flags, SDM Vol. 2A: DAA/DAS leave OF undefined; AAA/AAS leave OF SF ZF PF
 * undefined; AAM/AAD leave OF AF CF undefined. */
#define DAA_UNDEF FL_OF
#define AAA_UNDEF (FL_OF | FL_SF | FL_ZF | FL_PF)
#define AAM_UNDEF (FL_OF | FL_AF | FL_CF)

#define BCD(fn, mn)                                                                \
    static uint32_t fn(uint32_t ax, uint32_t fi, uint32_t *fo)                      \
    {                                                                              \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn "\n\tpushfl\n\tpopl %[f]"   \
                         : "+a"(ax), [f] "=&r"(f) : [fi] "r"(fi) : "cc");          \
        *fo = f;                                                                   \
        return ax & 0xffff;                                                        \
    }
BCD(bcd_daa, "daa") BCD(bcd_das, "das") BCD(bcd_aaa, "aaa") BCD(bcd_aas, "aas")
BCD(bcd_aam10, "aam") BCD(bcd_aad10, "aad")
BCD(bcd_aam16, "aam $16") BCD(bcd_aad7, "aad $7") BCD(bcd_aam255, "aam $255") BCD(bcd_aad0, "aad $0")

typedef uint32_t (*bcd_fn)(uint32_t ax, uint32_t fi, uint32_t *fo);

struct bcd_op {
    const char *name;
    bcd_fn fn;
    uint32_t undef;
};
static const struct bcd_op bcd_ops[] = {
    { "daa", bcd_daa, DAA_UNDEF }, { "das", bcd_das, DAA_UNDEF },
    { "aaa", bcd_aaa, AAA_UNDEF }, { "aas", bcd_aas, AAA_UNDEF },
    { "aam10", bcd_aam10, AAM_UNDEF }, { "aam16", bcd_aam16, AAM_UNDEF },
    { "aam255", bcd_aam255, AAM_UNDEF },
    { "aad10", bcd_aad10, AAM_UNDEF }, { "aad7", bcd_aad7, AAM_UNDEF },
    { "aad0", bcd_aad0, AAM_UNDEF },
};

/* AH values: AAA/AAS carry into AH, AAD folds it into AL. */
static const uint32_t bcd_ah[] = { 0x00, 0x01, 0x09, 0x7f, 0xff };

static void bcd_run(const struct bcd_op *op)
{
    for (unsigned h = 0; h < sizeof bcd_ah / sizeof bcd_ah[0]; h++) {
        for (int in = 0; in < 4; in++) {
            uint32_t fi = FL_FIXED | (in & 1 ? FL_CF : 0) | (in & 2 ? FL_AF : 0);
            uint32_t sum = 0, fo;
            for (uint32_t al = 0; al < 256; al++) {
                uint32_t ax = bcd_ah[h] << 8 | al;
                uint32_t r = op->fn(ax, fi, &fo);
                sum = insn_sum(sum, r << 16 | insn_defined(fo, op->undef));
            }
            guest_printf("%s ah=%02x in=%s sum=%08x\n", op->name, bcd_ah[h], insn_fl(fi, 0), sum);
        }
    }
    /* A few explicit cases, readable when a checksum differs. */
    static const uint32_t ax_cases[] = { 0x0000, 0x0009, 0x000a, 0x0019, 0x0099, 0x009a,
                                         0x00f9, 0x00ff, 0x0105, 0x09fa, 0xff80 };
    for (unsigned i = 0; i < sizeof ax_cases / sizeof ax_cases[0]; i++) {
        for (int in = 0; in < 4; in += 3) {
            uint32_t fi = FL_FIXED | (in ? FL_CF | FL_AF : 0), fo;
            uint32_t r = op->fn(ax_cases[i], fi, &fo);
            guest_printf("%s ax=%04x in=%s -> %04x %s\n", op->name, ax_cases[i], insn_fl(fi, 0), r,
                         insn_fl(fo, op->undef));
        }
    }
}

void guest_main(void)
{
    for (unsigned i = 0; i < sizeof bcd_ops / sizeof bcd_ops[0]; i++)
        bcd_run(&bcd_ops[i]);
}
