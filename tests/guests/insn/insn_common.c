/* Operand value sets and formatting helpers shared by the instruction tests. */
#include "insn.h"

const uint32_t insn_vals8[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, 0x0f, 0x10, 0x5a, 0xc3 };
const uint32_t insn_vals16[] = { 0x0000, 0x0001, 0x007f, 0x0080, 0x00ff, 0x7fff, 0x8000,
                                 0xffff, 0x0f0f, 0x1234, 0xb5e3 };
const uint32_t insn_vals32[] = { 0x00000000, 0x00000001, 0x0000007f, 0x00000080, 0x000000ff,
                                 0x00007fff, 0x00008000, 0x0000ffff, 0x7fffffff, 0x80000000,
                                 0xffffffff, 0x12345678, 0x9e3779b9, 0xdeadbeef };
const unsigned insn_nvals8 = sizeof insn_vals8 / sizeof insn_vals8[0];
const unsigned insn_nvals16 = sizeof insn_vals16 / sizeof insn_vals16[0];
const unsigned insn_nvals32 = sizeof insn_vals32 / sizeof insn_vals32[0];

const uint32_t *insn_vals(int bits, unsigned *n)
{
    if (bits == 8) {
        *n = insn_nvals8;
        return insn_vals8;
    }
    if (bits == 16) {
        *n = insn_nvals16;
        return insn_vals16;
    }
    *n = insn_nvals32;
    return insn_vals32;
}

const char *insn_fl(uint32_t flags, uint32_t undefined)
{
    static char bufs[4][8];
    static unsigned next;
    static const struct { uint32_t bit; char name; } order[6] = {
        { FL_CF, 'C' }, { FL_PF, 'P' }, { FL_AF, 'A' }, { FL_ZF, 'Z' }, { FL_SF, 'S' }, { FL_OF, 'O' },
    };
    char *b = bufs[next++ & 3];
#ifdef INSN_ALL_FLAGS
    undefined = 0;
#endif
    for (int i = 0; i < 6; i++)
        b[i] = (undefined & order[i].bit) ? '?' : (flags & order[i].bit) ? order[i].name : '.';
    b[6] = 0;
    return b;
}

const char *insn_hex(uint32_t v, int bits)
{
    static char bufs[4][12];
    static unsigned next;
    char *b = bufs[next++ & 3];
    guest_snprintf(b, sizeof bufs[0], "%0*x", bits / 4, v & insn_mask(bits));
    return b;
}
