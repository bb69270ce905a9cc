/* National Semiconductor 16550A UART (COM1: 0x3F8, IRQ 4) with 16-byte FIFOs. */
#ifndef RINGFOLD_DEV_UART16550_H
#define RINGFOLD_DEV_UART16550_H

#include <stdbool.h>
#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/clock.h"
#include "ringfold/err.h"
#include "ringfold/irq.h"

#define UART_FIFO_SIZE 16

/* Where transmitted bytes go (the console); write may be NULL (bytes dropped). */
struct uart_backend {
    void (*write)(void *opaque, uint8_t byte);
    void *opaque;
};

struct uart_stats {
    uint64_t tx_bytes, rx_bytes, overruns, irqs;
};

struct uart16550 {
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    uint8_t rbr;             /* last byte received (non-FIFO holding register / empty reads) */
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    bool thre_pending;       /* THR-empty interrupt condition (cleared by IIR read / THR write) */
    bool timeout_pending;    /* character timeout (FIFO mode) */
    bool irq_level;
    struct irq_line irq;
    struct vclock *clock;    /* for the character timeout; NULL: timeout is immediate */
    struct vtimer timeout_timer;
    struct uart_backend backend;
    struct uart_stats stats;
};

void uart_init(struct uart16550 *u, struct irq_line irq, struct vclock *clock, struct uart_backend be);
int uart_register(struct uart16550 *u, struct bus *b, uint16_t base, struct rf_err *err);
/* Host-side input: free space in the receiver (FIFO, or the single holding register), and
 * delivery of one byte (overruns if there is no space, as the line would). */
unsigned uart_rx_space(const struct uart16550 *u);
void uart_receive(struct uart16550 *u, uint8_t byte);

#endif
