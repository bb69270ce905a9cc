/* Shared helpers for the instruction tests: operand value sets, flag printing, and the
 * flags-masking policy. Each test is built twice (guest kernel, native Linux program)
 * and the two outputs must be byte-identical.
 *
 * Undefined flags. The goldens come from the CPU that runs the test, and the
 * project's hosts are Intel Xeons and AMD EPYCs; where the SDM leaves a flag undefined,
 * the two vendors (and Intel generations) do produce different values: MUL/IMUL
 * SF/ZF/AF/PF, DIV/IDIV all six, BSF/BSR all but ZF, multi-bit shift/rotate OF and
 * shift AF, SHLD/SHRD OF/AF, BT* OF/SF/AF/PF, logic-op AF, and the BCD adjusts' listed
 * undefined flags. Those are printed as '?' so a test passes against either vendor.
 * Build with -DINSN_ALL_FLAGS (CMake: RINGFOLD_INSN_ALL_FLAGS=ON) to print every flag
 * and check an engine against one particular host CPU bit-for-bit. */
#ifndef INSN_H
#define INSN_H

#include "guest.h"

#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_TF 0x100u
#define FL_IF 0x200u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_FIXED 0x002u            /* EFLAGS bit 1 always reads as 1 */

/* Edge-value operand sets plus a few fixed pseudo-random values per width. */
extern const uint32_t insn_vals8[];
extern const uint32_t insn_vals16[];
extern const uint32_t insn_vals32[];
extern const unsigned insn_nvals8, insn_nvals16, insn_nvals32;

/* The value set and count for a width of 8, 16 or 32 bits. */
const uint32_t *insn_vals(int bits, unsigned *n);

/* "CPAZSO" letters: letter = set, '.' = clear, '?' = undefined (see above).
 * Returns one of a few rotating static buffers, so two calls fit in one printf. */
const char *insn_fl(uint32_t flags, uint32_t undefined);

/* Width-dependent hex: "%02x" / "%04x" / "%08x" of v truncated to bits. */
const char *insn_hex(uint32_t v, int bits);

/* Mask of the value bits for a width. */
static inline uint32_t insn_mask(int bits)
{
    return bits == 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
}

/* Running checksum for loops that print one line per many inputs. Each step is a
 * bijection of the running state (xor, multiply by an odd constant, rotate), so two
 * sequences that differ in one value never end with the same sum. */
static inline uint32_t insn_sum(uint32_t s, uint32_t v)
{
    s = (s ^ v) * 0x9E3779B1u;
    return s << 13 | s >> 19;
}



/* flags with the undefined ones cleared (all kept under INSN_ALL_FLAGS), for checksums. */
static inline uint32_t insn_defined(uint32_t flags, uint32_t undefined)
{
#ifdef INSN_ALL_FLAGS
    (void)undefined;
    return flags & FL_ARITH;
#else
    return flags & FL_ARITH & ~undefined;
#endif
}
#endif
