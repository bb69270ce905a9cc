/* PIC and PIT helpers shared by the interrupt and device kernels (8259A and 8254 datasheets). */
#ifndef SYS_PCTIMER_H
#define SYS_PCTIMER_H

#include <stdint.h>

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0x28

/* ICW1-ICW4 for both 8259As (master vectors 0x20-0x27, slave 0x28-0x2F, slave on IRQ 2),
 * then the given masks. */
void pic_init(uint8_t master_mask, uint8_t slave_mask);
void pic_eoi(int irq);
uint8_t pic_read_isr(void);   /* master in-service register (OCW3 0x0B) */
uint8_t pic_read_irr(void);   /* master interrupt request register (OCW3 0x0A) */

/* Busy-waits ms (1..54) milliseconds, timed by PIT channel 2 in mode 0 through port 0x61. */
void pit_wait_ms(unsigned ms);
/* Starts a channel 2 one-shot of ms milliseconds; pit_ch2_done() says when it ran out. */
void pit_ch2_start(unsigned ms);
int pit_ch2_done(void);

#endif
