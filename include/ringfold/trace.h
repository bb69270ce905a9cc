/* --trace: categories of events printed as they happen (to stderr or a file). */
#ifndef RINGFOLD_TRACE_H
#define RINGFOLD_TRACE_H

#include <stdint.h>
#include <stdio.h>

enum trace_cat {
    TRACE_INSN = 1u << 0,   /* every instruction, disassembled with Capstone */
    TRACE_INTR = 1u << 1,   /* interrupts delivered */
    TRACE_EXC  = 1u << 2,   /* exceptions raised */
    TRACE_IO   = 1u << 3,   /* port and MMIO accesses */
    TRACE_MODE = 1u << 4,   /* mode switches: real/protected/v86, paging, PAE */
    TRACE_POST = 1u << 5,   /* POST codes written to port 0x80 */
};

extern unsigned trace_mask;
extern FILE *trace_out;

/* Parses "insn,intr,exc,io,mode,post,all"; returns -1 on an unknown name. */
int trace_parse(const char *spec, unsigned *mask);

#define TRACE_ON(cat) (__builtin_expect((trace_mask & (cat)) != 0, 0))
void trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct bus;
/* --trace io: makes the bus report every access. */
void trace_attach_bus(struct bus *b);

/* Disassembles one instruction with Capstone into buf; mode16 selects 16-bit decoding. */
int trace_disasm(const uint8_t *bytes, unsigned len, uint32_t addr, int mode16, char *buf, size_t bufsz);

#endif
