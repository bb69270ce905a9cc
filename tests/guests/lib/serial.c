/* Polled COM1 output for guest kernels (16550A: registers per the NS16550A datasheet). */
#include "guest.h"
#include "io.h"

enum {
    UART_THR = 0, UART_RBR = 0, UART_DLL = 0,
    UART_IER = 1, UART_DLM = 1,
    UART_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
};
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void serial_init(void)
{
    outb(GUEST_COM1 + UART_IER, 0x00);   /* polled: no interrupts */
    outb(GUEST_COM1 + UART_LCR, 0x80);   /* DLAB to reach the divisor */
    outb(GUEST_COM1 + UART_DLL, 0x01);   /* 115200 baud */
    outb(GUEST_COM1 + UART_DLM, 0x00);
    outb(GUEST_COM1 + UART_LCR, 0x03);   /* 8N1 */
    outb(GUEST_COM1 + UART_FCR, 0xC7);   /* FIFOs on and cleared */
    outb(GUEST_COM1 + UART_MCR, 0x03);   /* DTR, RTS; OUT2 off: no IRQ to the PIC */
}

void serial_putc(char c)
{
    /* Bounded wait: an absent or stuck UART must not hang the test forever (an absent
     * one reads 0xFF, which has THRE set, so this only bounds a broken model). */
    for (int spins = 0; spins < 1000000; spins++)
        if (inb(GUEST_COM1 + UART_LSR) & LSR_THR_EMPTY)
            break;
    outb(GUEST_COM1 + UART_THR, (uint8_t)c);
}

bool serial_getc_nowait(char *c)
{
    if (!(inb(GUEST_COM1 + UART_LSR) & LSR_DATA_READY))
        return false;
    *c = (char)inb(GUEST_COM1 + UART_RBR);
    return true;
}

void guest_putc(char c)
{
    serial_putc(c);
}
