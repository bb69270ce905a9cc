/* The host LDT as the guest's segment registers: shadow descriptors installed with modify_ldt. */
#ifndef RINGFOLD_RAW_LDT_H
#define RINGFOLD_RAW_LDT_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/cpu_state.h"

struct x86_emu;
struct vm;

/* Slots 8184..8189 hold the descriptor caches of ES, CS, SS, DS, FS, GS. Slots below 4096 stay
 * empty so a native load of a guest LDT selector faults (#GP) and is emulated. */
#define RAW_LDT_CACHE_BASE 8184

struct raw_ldt {
    struct seg_reg cache[SEG_COUNT];   /* the guest register each cache slot was built from */
    bool present[SEG_COUNT];
    uint64_t writes;                    /* modify_ldt calls */
    uint64_t fixups;                    /* host GDT selectors re-resolved against the guest's tables */
    /* NULL: modify_ldt in this process. Otherwise the LDT of another process (a guest-user stub,
     * raw_stub.c): the 16-byte struct user_desc is queued for it. */
    int (*write)(void *opaque, const void *user_desc);
    void *write_opaque;
};

/* Host selector of the cache slot of segment register seg (RPL 3, TI = LDT). */
static inline uint16_t raw_ldt_sel(int seg)
{
    return (uint16_t)(((RAW_LDT_CACHE_BASE + seg) << 3) | 7);
}

/* Makes the cache slot of register seg describe s (rewriting the host LDT entry only when it
 * changed). Returns the host selector to load (0 for a null data register), or -1 when the
 * register cannot be expressed natively (system descriptor, 16-bit code segment, modify_ldt
 * failure): the guest then stays on emu. */
int raw_ldt_load(struct raw_ldt *l, int seg, const struct seg_reg *s);

/* The guest's register for a host selector found in segment register seg after an exit: a
 * cache slot gives the register it was built from; a null selector stays null; anything else is
 * a host GDT selector the guest loaded natively meaning its own GDT entry (0x23, 0x2b, 0x33 and
 * 0x7b load without a fault): it is looked up in the guest's tables. 0, or -1 when the guest's
 * entry could not have been loaded (out is then a null register). */
int raw_ldt_to_guest(struct raw_ldt *l, struct x86_emu *e, struct vm *vm, int seg, uint16_t host,
                     struct seg_reg *out);

/* Reads guest linear memory as a supervisor access (descriptor tables, instruction bytes). 0, or
 * -1 when part of it is unmapped or not RAM. */
int raw_read_linear(struct x86_emu *e, struct vm *vm, uint32_t lin, void *buf, unsigned len);

#endif
