/* Intel 8259A PIC pair as cascaded on the PC/AT: initialization words, masking, EOI and
 * rotation, OCW3 reads and poll mode, special mask mode, edge/level (ELCR) inputs and the
 * interrupt-acknowledge sequence, following the 8259A datasheet. */
#include <string.h>
#include "pic8259.h"

#define PIC_CASCADE_IR 2

/* Priority rank 0 (highest) .. 7 of the first set bit in mask, rotated so that the IR just
 * after lowest_prio has rank 0; 8 if mask is empty (datasheet: "Priority resolver"). */
static int pic_rank(const struct pic_chip *c, uint8_t mask)
{
    for (int r = 0; r < 8; r++)
        if (mask & (1u << ((c->lowest_prio + 1 + r) & 7)))
            return r;
    return 8;
}

static int pic_ir_of_rank(const struct pic_chip *c, int rank)
{
    return (c->lowest_prio + 1 + rank) & 7;
}

static uint8_t pic_level_mask(const struct pic_chip *c)
{
    return c->ltim ? 0xff : c->elcr;
}

/* The IR this chip would interrupt with now, or -1: the highest-priority unmasked request
 * that outranks everything in service. In special mask mode any unmasked level that is not
 * itself in service may interrupt (datasheet: "Special Mask Mode"); in special fully nested
 * mode the master lets the cascade IR interrupt again while it is in service, so a
 * higher-priority slave request can nest. */
static int pic_best(const struct pic_chip *c, bool master)
{
    uint8_t req = c->irr & ~c->imr;
    if (c->special_mask)
        req &= ~c->isr;
    int rank = pic_rank(c, req);
    if (rank == 8)
        return -1;
    int ir = pic_ir_of_rank(c, rank);
    if (c->special_mask)
        return ir;
    uint8_t blocking = c->isr;
    if (master && c->sfnm)
        blocking &= (uint8_t)~(1u << PIC_CASCADE_IR);
    return rank < pic_rank(c, blocking) ? ir : -1;
}

static void pic_update(struct pic8259 *p)
{
    /* Slave INT drives master IR2 as a level. */
    struct pic_chip *m = &p->chip[0];
    int slave_int = pic_best(&p->chip[1], false) >= 0;
    if (slave_int)
        m->irr |= 1u << PIC_CASCADE_IR;
    else
        m->irr &= ~(1u << PIC_CASCADE_IR);
    m->levels = (uint8_t)((m->levels & ~(1u << PIC_CASCADE_IR)) | (slave_int << PIC_CASCADE_IR));
    int level = pic_best(m, true) >= 0;
    if (level != p->intr_level) {
        p->intr_level = level;
        if (p->intr_set)
            p->intr_set(p->intr_opaque, level);
    }
}

static void pic_chip_reset(struct pic_chip *c, uint8_t elcr_mask)
{
    uint8_t elcr = c->elcr;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr & elcr_mask;
    c->elcr_mask = elcr_mask;
    c->lowest_prio = 7;
}

void pic_init(struct pic8259 *p, void (*intr_set)(void *, int), void *intr_opaque)
{
    memset(p, 0, sizeof(*p));
    /* PIIX ELCR: IRQ 0, 1, 2 (master) and 8, 13 (slave) are edge-only. */
    pic_chip_reset(&p->chip[0], 0xf8);
    pic_chip_reset(&p->chip[1], 0xde);
    p->intr_set = intr_set;
    p->intr_opaque = intr_opaque;
}

void pic_set_irq(void *opaque, int irq, int level)
{
    struct pic8259 *p = opaque;
    if (irq < 0 || irq > 15 || irq == PIC_CASCADE_IR)
        return;
    struct pic_chip *c = &p->chip[irq >> 3];
    uint8_t bit = (uint8_t)(1u << (irq & 7));
    bool was = c->levels & bit;
    if (level) {
        c->levels |= bit;
        if (pic_level_mask(c) & bit) {
            if (!was)
                p->stats.raised[irq]++;
            c->irr |= bit;
        } else if (!was) {
            /* Edge sense latch: only a low-to-high transition requests. */
            p->stats.raised[irq]++;
            c->irr |= bit;
        }
    } else {
        /* The datasheet requires IR to stay high until the first INTA; a request that
         * drops before then vanishes (and an INTA then yields the spurious IR7). */
        c->levels &= ~bit;
        c->irr &= ~bit;
    }
    pic_update(p);
}

/* Acknowledge ir on chip c: set ISR (unless auto-EOI) and clear an edge request. */
static void pic_chip_ack(struct pic_chip *c, int ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (c->auto_eoi) {
        if (c->rotate_aeoi)
            c->lowest_prio = (uint8_t)ir;
    } else {
        c->isr |= bit;
    }
    if (!(pic_level_mask(c) & bit))
        c->irr &= ~bit;
}

int pic_intr_ack(void *opaque)
{
    struct pic8259 *p = opaque;
    struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
    int vector;
    p->stats.acks++;
    int ir = pic_best(m, true);
    if (ir < 0) {
        /* No request left: the 8259A answers IR7 without setting ISR. */
        p->stats.spurious++;
        vector = m->vector_base | 7;
    } else if (ir == PIC_CASCADE_IR && !m->single) {
        int sir = pic_best(s, false);
        pic_chip_ack(m, ir);
        if (sir < 0) {
            /* The slave lost its request between INT and INTA: spurious IR15; the master
             * still holds IR2 in service and needs its EOI. */
            p->stats.spurious++;
            vector = s->vector_base | 7;
        } else {
            pic_chip_ack(s, sir);
            vector = s->vector_base | sir;
        }
    } else {
        pic_chip_ack(m, ir);
        vector = m->vector_base | ir;
    }
    pic_update(p);
    return vector;
}

/* OCW2 (datasheet: R, SL, EOI bits 7-5). */
static void pic_ocw2(struct pic_chip *c, uint8_t v)
{
    int ir = v & 7;
    switch (v >> 5) {
    case 0: c->rotate_aeoi = false; break;                 /* rotate in AEOI: clear */
    case 4: c->rotate_aeoi = true; break;                  /* rotate in AEOI: set */
    case 1: case 5: {                                      /* non-specific EOI (+rotate) */
        int rank = pic_rank(c, c->isr);
        if (rank == 8)
            break;
        int top = pic_ir_of_rank(c, rank);
        c->isr &= (uint8_t)~(1u << top);
        if (v >> 5 == 5)
            c->lowest_prio = (uint8_t)top;
        break;
    }
    case 3: case 7:                                        /* specific EOI (+rotate) */
        c->isr &= (uint8_t)~(1u << ir);
        if (v >> 5 == 7)
            c->lowest_prio = (uint8_t)ir;
        break;
    case 6: c->lowest_prio = (uint8_t)ir; break;           /* set priority */
    default: break;                                        /* 2: no operation */
    }
}

static void pic_write_cmd(struct pic8259 *p, struct pic_chip *c, uint8_t v)
{
    if (v & 0x10) {
        /* ICW1: IMR and ISR cleared, IR7 lowest, special mask off, read IRR; the edge
         * sense latch is reset, so inputs already high must rise again to request. */
        uint8_t levels = c->levels, elcr = c->elcr, mask = c->elcr_mask;
        pic_chip_reset(c, mask);
        c->elcr = elcr;
        c->levels = levels;
        c->ltim = v & 0x08;
        c->single = v & 0x02;
        c->icw4_needed = v & 0x01;
        c->irr = levels & pic_level_mask(c);
        c->init_step = 2;
    } else if (v & 0x08) {
        /* OCW3 */
        if (v & 0x04)
            c->poll = true;
        if (v & 0x02)
            c->read_isr = v & 0x01;
        if (v & 0x40)
            c->special_mask = v & 0x20;
    } else {
        pic_ocw2(c, v);
    }
    pic_update(p);
}

static void pic_write_data(struct pic8259 *p, struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xf8;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:
        /* ICW4: bit 1 AEOI, bit 4 SFNM; bit 0 (8086 mode) is assumed. */
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default:
        c->imr = v;   /* OCW1 */
        break;
    }
    pic_update(p);
}

/* Poll command: the next read acts as an INTA for this chip and returns 0x80 | IR. */
static uint8_t pic_poll_read(struct pic8259 *p, int idx)
{
    struct pic_chip *c = &p->chip[idx];
    c->poll = false;
    int ir = pic_best(c, idx == 0);
    if (ir < 0)
        return 0;
    pic_chip_ack(c, ir);
    pic_update(p);
    return (uint8_t)(0x80 | ir);
}

static uint32_t pic_read(void *opaque, uint32_t off, unsigned size, int idx)
{
    struct pic8259 *p = opaque;
    struct pic_chip *c = &p->chip[idx];
    (void)size;
    if (c->poll)
        return pic_poll_read(p, idx);
    if (off == 0)
        return c->read_isr ? c->isr : c->irr;
    return c->imr;
}

static void pic_write(void *opaque, uint32_t off, uint32_t v, unsigned size, int idx)
{
    struct pic8259 *p = opaque;
    (void)size;
    if (off == 0)
        pic_write_cmd(p, &p->chip[idx], (uint8_t)v);
    else
        pic_write_data(p, &p->chip[idx], (uint8_t)v);
}

static uint32_t pic_master_read(void *o, uint32_t off, unsigned size) { return pic_read(o, off, size, 0); }
static uint32_t pic_slave_read(void *o, uint32_t off, unsigned size) { return pic_read(o, off, size, 1); }
static void pic_master_write(void *o, uint32_t off, uint32_t v, unsigned size) { pic_write(o, off, v, size, 0); }
static void pic_slave_write(void *o, uint32_t off, uint32_t v, unsigned size) { pic_write(o, off, v, size, 1); }

static uint32_t elcr_read(void *opaque, uint32_t off, unsigned size)
{
    struct pic8259 *p = opaque;
    (void)size;
    return p->chip[off & 1].elcr;
}

static void elcr_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct pic8259 *p = opaque;
    struct pic_chip *c = &p->chip[off & 1];
    (void)size;
    c->elcr = (uint8_t)v & c->elcr_mask;
    /* Lines that became level-triggered request while high. */
    c->irr |= c->levels & pic_level_mask(c);
    pic_update(p);
}

int pic_register(struct pic8259 *p, struct bus *b, struct rf_err *err)
{
    int rc = bus_register_pio(b, 0x20, 2, "pic-master", pic_master_read, pic_master_write, p, err);
    if (rc == 0)
        rc = bus_register_pio(b, 0xa0, 2, "pic-slave", pic_slave_read, pic_slave_write, p, err);
    if (rc == 0)
        rc = bus_register_pio(b, 0x4d0, 2, "elcr", elcr_read, elcr_write, p, err);
    return rc;
}
