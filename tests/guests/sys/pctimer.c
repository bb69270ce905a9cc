/* 8259A PIC pair and 8254 PIT channel 2 helpers for the system test kernels. */
#include "pctimer.h"
#include "io.h"

#define PIT_HZ 1193182u

void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
    outb(0x20, 0x11);              /* ICW1: edge, cascade, ICW4 needed */
    outb(0xA0, 0x11);
    outb(0x21, PIC_MASTER_BASE);   /* ICW2: vector base */
    outb(0xA1, PIC_SLAVE_BASE);
    outb(0x21, 0x04);              /* ICW3: slave on IRQ 2 */
    outb(0xA1, 0x02);              /* ICW3: slave identity 2 */
    outb(0x21, 0x01);              /* ICW4: 8086 mode, normal EOI */
    outb(0xA1, 0x01);
    outb(0x21, master_mask);       /* OCW1 */
    outb(0xA1, slave_mask);
}

void pic_eoi(int irq)
{
    if (irq >= 8)
        outb(0xA0, 0x20);
    outb(0x20, 0x20);              /* OCW2: non-specific EOI */
}

uint8_t pic_read_isr(void)
{
    outb(0x20, 0x0B);
    return inb(0x20);
}

uint8_t pic_read_irr(void)
{
    outb(0x20, 0x0A);
    return inb(0x20);
}

void pit_ch2_start(unsigned ms)
{
    uint32_t count = PIT_HZ * ms / 1000;
    if (count > 0xFFFF)
        count = 0xFFFF;
    /* Gate 2 on, speaker off; channel 2, lobyte/hibyte, mode 0: OUT2 rises at terminal count
     * and reads back as port 0x61 bit 5. */
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
}

int pit_ch2_done(void)
{
    return (inb(0x61) & 0x20) != 0;
}

void pit_wait_ms(unsigned ms)
{
    pit_ch2_start(ms);
    while (!pit_ch2_done())
        ;
}
