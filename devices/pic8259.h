/* Intel 8259A programmable interrupt controller pair (master 0x20, slave 0xA0, ELCR 0x4D0). */
#ifndef RINGFOLD_DEV_PIC8259_H
#define RINGFOLD_DEV_PIC8259_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/err.h"

/* One 8259A. Register names follow the datasheet (IRR, ISR, IMR). */
struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t levels;          /* current level of each IR input pin */
    uint8_t elcr;            /* 1 = level-triggered (PIIX ELCR); ICW1.LTIM forces all */
    uint8_t elcr_mask;       /* ELCR bits that may be set (IRQ 0, 1, 2, 8, 13 are edge-only) */
    uint8_t vector_base;     /* ICW2 & 0xF8 */
    uint8_t icw3;
    uint8_t lowest_prio;     /* IR with the lowest priority (rotation); 7 after ICW1 */
    uint8_t init_step;       /* 0: operational; 2/3/4: expecting ICW2/3/4 */
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_aeoi, sfnm;
    bool read_isr, poll, special_mask;
};

struct pic_stats {
    uint64_t raised[16];     /* rising edges (or level assertions) seen per IRQ line */
    uint64_t acks;           /* interrupt acknowledges */
    uint64_t spurious;       /* acknowledges answered with spurious IR7/IR15 */
};

struct pic8259 {
    struct pic_chip chip[2];   /* [0] master, [1] slave on master IR2 */
    void (*intr_set)(void *opaque, int level);   /* the CPU's INTR pin */
    void *intr_opaque;
    int intr_level;
    struct pic_stats stats;
};

/* Power-on state; the INTR output goes to intr_set (may be NULL). */
void pic_init(struct pic8259 *p, void (*intr_set)(void *, int), void *intr_opaque);
/* Registers 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1 on the bus. */
int pic_register(struct pic8259 *p, struct bus *b, struct rf_err *err);
/* Input pin IRQ 0-15 changes level (an irq_set_fn: opaque is the pic8259). */
void pic_set_irq(void *opaque, int irq, int level);
/* Interrupt acknowledge (the two INTA cycles): returns the vector, spurious 7/15 if the
 * request vanished. Safe to call at any time. */
int pic_intr_ack(void *opaque);

#endif
