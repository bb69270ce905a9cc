/* Unit tests for the 8259A pair: initialization, priority, EOI, masking, cascade, spurious
 * IRQ 7/15, edge vs level (ELCR), poll mode, auto-EOI, rotation and special mask mode. */
#include <criterion/criterion.h>
#include "pic8259.h"

static struct bus b;
static struct pic8259 pic;
static int intr, intr_changes;

static void fake_intr(void *opaque, int level)
{
    (void)opaque;
    intr = level;
    intr_changes++;
}

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&b, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&b, port, 1); }

/* Linux's init sequence: vectors 0x20/0x28, slave on IR2, 8086 mode, normal EOI. */
static void setup(void)
{
    bus_init(&b);
    intr = 0;
    intr_changes = 0;
    pic_init(&pic, fake_intr, NULL);
    cr_assert_eq(pic_register(&pic, &b, NULL), 0);
    out8(0x20, 0x11); out8(0x21, 0x20); out8(0x21, 0x04); out8(0x21, 0x01);
    out8(0xa0, 0x11); out8(0xa1, 0x28); out8(0xa1, 0x02); out8(0xa1, 0x01);
    out8(0x21, 0x00); out8(0xa1, 0x00);
}

static uint8_t master_isr(void) { out8(0x20, 0x0b); return in8(0x20); }
static uint8_t master_irr(void) { out8(0x20, 0x0a); return in8(0x20); }
static uint8_t slave_isr(void) { out8(0xa0, 0x0b); return in8(0xa0); }

TestSuite(pic, .init = setup);

Test(pic, init_sequence_sets_vectors_and_masks)
{
    cr_assert_eq(in8(0x21), 0x00);
    out8(0x21, 0xfb);
    out8(0xa1, 0xff);
    cr_assert_eq(in8(0x21), 0xfb);
    cr_assert_eq(in8(0xa1), 0xff);
    /* A fresh ICW1 clears the mask. */
    out8(0x20, 0x11); out8(0x21, 0x40); out8(0x21, 0x04); out8(0x21, 0x01);
    cr_assert_eq(in8(0x21), 0x00);
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x43);
}

Test(pic, ack_sets_isr_clears_irr_and_drops_intr)
{
    cr_assert_eq(intr, 0);
    pic_set_irq(&pic, 0, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(master_irr(), 0x01);
    cr_assert_eq(pic_intr_ack(&pic), 0x20);
    cr_assert_eq(intr, 0);
    cr_assert_eq(master_isr(), 0x01);
    cr_assert_eq(master_irr(), 0x00);
    out8(0x20, 0x20);   /* non-specific EOI */
    cr_assert_eq(master_isr(), 0x00);
    cr_assert_eq(intr, 0);   /* edge-triggered: no new request without a new edge */
}

Test(pic, fixed_priority_and_nesting)
{
    pic_set_irq(&pic, 5, 1);
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x23);   /* IR3 outranks IR5 */
    cr_assert_eq(intr, 0);                    /* IR5 is below IR3 in service */
    pic_set_irq(&pic, 1, 1);
    cr_assert_eq(intr, 1);                    /* IR1 outranks the in-service IR3 */
    cr_assert_eq(pic_intr_ack(&pic), 0x21);
    cr_assert_eq(master_isr(), 0x0a);
    out8(0x20, 0x20);                         /* EOI clears the highest: IR1 */
    cr_assert_eq(master_isr(), 0x08);
    cr_assert_eq(intr, 0);
    out8(0x20, 0x20);
    cr_assert_eq(master_isr(), 0x00);
    cr_assert_eq(intr, 1);                    /* now IR5 gets through */
    cr_assert_eq(pic_intr_ack(&pic), 0x25);
}

Test(pic, specific_eoi_clears_named_level)
{
    pic_set_irq(&pic, 6, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x26);
    pic_set_irq(&pic, 4, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x24);
    cr_assert_eq(master_isr(), 0x50);
    out8(0x20, 0x66);   /* specific EOI for IR6, leaving IR4 in service */
    cr_assert_eq(master_isr(), 0x10);
}

Test(pic, masked_requests_wait_in_irr)
{
    out8(0x21, 0x10);
    pic_set_irq(&pic, 4, 1);
    cr_assert_eq(intr, 0);
    cr_assert_eq(master_irr(), 0x10);
    out8(0x21, 0x00);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x24);
}

Test(pic, cascade_through_ir2)
{
    pic_set_irq(&pic, 12, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x2c);
    cr_assert_eq(master_isr(), 0x04);
    cr_assert_eq(slave_isr(), 0x10);
    /* A slave interrupt in service blocks lower master levels but not higher ones. */
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(intr, 0);
    pic_set_irq(&pic, 1, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x21);
    out8(0x20, 0x20);
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    cr_assert_eq(slave_isr(), 0);
    cr_assert_eq(master_isr(), 0);
    cr_assert_eq(pic_intr_ack(&pic), 0x23);
    /* Masking IR2 on the master masks the whole slave. */
    out8(0x20, 0x20);
    out8(0x21, 0x04);
    pic_set_irq(&pic, 9, 1);
    cr_assert_eq(intr, 0);
    out8(0x21, 0x00);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x29);
}

Test(pic, spurious_irq7_when_request_vanishes)
{
    pic_set_irq(&pic, 5, 1);
    cr_assert_eq(intr, 1);
    pic_set_irq(&pic, 5, 0);
    cr_assert_eq(intr, 0);
    cr_assert_eq(pic_intr_ack(&pic), 0x27);
    cr_assert_eq(master_isr(), 0x00);   /* spurious IR7 does not set ISR */
    cr_assert_eq(pic.stats.spurious, 1);
}

Test(pic, slave_request_vanishing_before_inta)
{
    /* The slave's INT drops before the acknowledge: the master's IR2 input drops with it,
     * so the master answers with its own spurious IR7. */
    pic_set_irq(&pic, 11, 1);
    cr_assert_eq(intr, 1);
    pic_set_irq(&pic, 11, 0);
    cr_assert_eq(intr, 0);
    cr_assert_eq(pic_intr_ack(&pic), 0x27);
    cr_assert_eq(master_isr(), 0x00);
}

Test(pic, spurious_irq15_leaves_cascade_in_service)
{
    /* The master already resolved IR2 when the slave has nothing left (the race between the
     * two INTA cycles on real hardware, set up here through the master's IRR): the slave
     * answers IR7 = vector 0x2F, and the master keeps IR2 in service until its EOI. */
    pic.chip[0].irr |= 0x04;
    cr_assert_eq(pic_intr_ack(&pic), 0x2f);
    cr_assert_eq(master_isr(), 0x04);
    cr_assert_eq(slave_isr(), 0x00);
    cr_assert_eq(pic.stats.spurious, 1);
    out8(0x20, 0x20);
    cr_assert_eq(master_isr(), 0x00);
}

Test(pic, edge_needs_new_rising_edge)
{
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x23);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 0);             /* line still high, but no new edge */
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(intr, 0);
    pic_set_irq(&pic, 3, 0);
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(intr, 1);
}

Test(pic, level_triggered_via_elcr_rerequests_until_line_drops)
{
    out8(0x4d1, 0x04);                 /* IRQ 10 level-triggered */
    cr_assert_eq(in8(0x4d1), 0x04);
    pic_set_irq(&pic, 10, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x2a);
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 1);             /* still asserted: requests again */
    cr_assert_eq(pic_intr_ack(&pic), 0x2a);
    pic_set_irq(&pic, 10, 0);
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 0);
}

Test(pic, elcr_edge_only_bits_read_as_zero)
{
    out8(0x4d0, 0xff);
    out8(0x4d1, 0xff);
    cr_assert_eq(in8(0x4d0), 0xf8);    /* IRQ 0, 1, 2 */
    cr_assert_eq(in8(0x4d1), 0xde);    /* IRQ 8, 13 */
}

Test(pic, ltim_makes_every_input_level_triggered)
{
    out8(0x20, 0x19); out8(0x21, 0x20); out8(0x21, 0x04); out8(0x21, 0x01);
    pic_set_irq(&pic, 6, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x26);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 1);
}

Test(pic, poll_mode_acknowledges_through_a_read)
{
    pic_set_irq(&pic, 6, 1);
    out8(0x20, 0x0c);                  /* OCW3 poll */
    cr_assert_eq(in8(0x20), 0x86);
    cr_assert_eq(master_isr(), 0x40);
    out8(0x20, 0x0c);
    cr_assert_eq(in8(0x20), 0x00);     /* nothing requesting */
    out8(0x20, 0x20);
    cr_assert_eq(master_isr(), 0x00);
}

Test(pic, auto_eoi_never_sets_isr)
{
    out8(0x20, 0x11); out8(0x21, 0x20); out8(0x21, 0x04); out8(0x21, 0x03);
    pic_set_irq(&pic, 4, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x24);
    cr_assert_eq(master_isr(), 0x00);
    pic_set_irq(&pic, 5, 1);
    cr_assert_eq(intr, 1);             /* nothing in service blocks IR5 */
}

Test(pic, rotate_on_nonspecific_eoi)
{
    pic_set_irq(&pic, 0, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x20);
    out8(0x20, 0xa0);                  /* rotate on non-specific EOI: IR0 becomes lowest */
    pic_set_irq(&pic, 0, 0);
    pic_set_irq(&pic, 0, 1);
    pic_set_irq(&pic, 7, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x27);   /* IR7 now outranks IR0 */
    out8(0x20, 0x20);
    cr_assert_eq(pic_intr_ack(&pic), 0x20);
    /* Set priority: IR4 lowest, so IR5 highest. */
    out8(0x20, 0x20);
    out8(0x20, 0xc4);
    pic_set_irq(&pic, 3, 1);
    pic_set_irq(&pic, 5, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x25);
}

Test(pic, special_mask_mode_lets_lower_levels_in)
{
    pic_set_irq(&pic, 2 + 1, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x23);
    pic_set_irq(&pic, 6, 1);
    cr_assert_eq(intr, 0);
    out8(0x21, 0x08);                  /* mask the in-service IR3 */
    out8(0x20, 0x68);                  /* OCW3: set special mask mode */
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x26);
    out8(0x20, 0x48);                  /* reset special mask mode */
    cr_assert_eq(master_isr(), 0x48);
}

Test(pic, imr_read_after_ocw3_and_irr_isr_select)
{
    out8(0x21, 0x5a);
    out8(0x20, 0x0b);
    cr_assert_eq(in8(0x21), 0x5a);     /* data port always reads IMR */
    pic_set_irq(&pic, 0, 1);
    cr_assert_eq(in8(0x20), 0x00);     /* ISR selected: nothing in service yet */
    out8(0x20, 0x0a);
    cr_assert_eq(in8(0x20), 0x01);
    cr_assert_eq(pic.stats.raised[0], 1);
}

Test(pic, special_mask_mode_skips_levels_in_service)
{
    out8(0x20, 0x68);                  /* special mask mode, nothing masked */
    pic_set_irq(&pic, 3, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x23);
    pic_set_irq(&pic, 3, 0);
    pic_set_irq(&pic, 3, 1);           /* IR3 again while in service */
    pic_set_irq(&pic, 6, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x26);   /* in-service IR3 is skipped, IR6 taken */
}

Test(pic, special_fully_nested_mode_lets_slave_nest)
{
    pic_set_irq(&pic, 9, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x29);
    pic_set_irq(&pic, 8, 1);           /* higher priority on the slave */
    cr_assert_eq(intr, 0);             /* fully nested: master IR2 is in service */
    pic_set_irq(&pic, 8, 0);
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    pic_set_irq(&pic, 9, 0);
    /* Same again with the master in special fully nested mode (ICW4 bit 4). */
    out8(0x20, 0x11); out8(0x21, 0x20); out8(0x21, 0x04); out8(0x21, 0x11);
    out8(0x21, 0x00);
    pic_set_irq(&pic, 9, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x29);
    pic_set_irq(&pic, 8, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(pic_intr_ack(&pic), 0x28);
    cr_assert_eq(slave_isr(), 0x03);
}
