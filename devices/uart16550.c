/* 16550A UART: registers, DLAB divisor latch, 16-byte receive FIFO with trigger levels and
 * character timeout, the four prioritized interrupt sources and their clearing rules, and
 * loopback (MCR bit 4). Transmission is instant: THR and the shift register are always empty
 * again by the time the guest looks, so THRE/TEMT read 1 and a THRE interrupt follows every
 * write. The IRQ pin is gated by OUT2 as on the PC's serial card. (NS16550A datasheet.) */
#include <string.h>
#include "uart16550.h"

enum {
    UART_LSR_DR = 0x01, UART_LSR_OE = 0x02, UART_LSR_ERRS = 0x9e,
    UART_LSR_THRE = 0x20, UART_LSR_TEMT = 0x40,
    UART_IER_RDI = 0x01, UART_IER_THRI = 0x02, UART_IER_RLSI = 0x04, UART_IER_MSI = 0x08,
    UART_IIR_NONE = 0x01, UART_IIR_MSI = 0x00, UART_IIR_THRI = 0x02, UART_IIR_RDI = 0x04,
    UART_IIR_RLSI = 0x06, UART_IIR_TIMEOUT = 0x0c, UART_IIR_FIFO = 0xc0,
    UART_MCR_DTR = 0x01, UART_MCR_RTS = 0x02, UART_MCR_OUT1 = 0x04, UART_MCR_OUT2 = 0x08,
    UART_MCR_LOOP = 0x10,
    UART_MSR_CTS = 0x10, UART_MSR_DSR = 0x20, UART_MSR_RI = 0x40, UART_MSR_DCD = 0x80,
    UART_FCR_ENABLE = 0x01, UART_FCR_CLEAR_RX = 0x02,
    UART_LCR_DLAB = 0x80,
};

/* UART input clock on the PC: 1.8432 MHz, divided by 16 * divisor per bit. */
#define UART_XTAL_HZ 1843200u

static const unsigned uart_trigger_levels[4] = { 1, 4, 8, 14 };

static bool uart_fifo_on(const struct uart16550 *u)
{
    return u->fcr & UART_FCR_ENABLE;
}

static uint8_t uart_iir(const struct uart16550 *u)
{
    uint8_t id = UART_IIR_NONE;
    if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_ERRS & 0x1e))
        id = UART_IIR_RLSI;
    else if ((u->ier & UART_IER_RDI) && u->rx_count &&
             (!uart_fifo_on(u) || u->rx_count >= uart_trigger_levels[u->fcr >> 6]))
        id = UART_IIR_RDI;
    else if ((u->ier & UART_IER_RDI) && u->rx_count && u->timeout_pending)
        id = UART_IIR_TIMEOUT;
    else if ((u->ier & UART_IER_THRI) && u->thre_pending)
        id = UART_IIR_THRI;
    else if ((u->ier & UART_IER_MSI) && (u->msr & 0x0f))
        id = UART_IIR_MSI;
    return id | (uart_fifo_on(u) ? UART_IIR_FIFO : 0);
}

/* INTRPT reaches the ISA IRQ line only through the OUT2-controlled buffer; in loopback the
 * datasheet forces the OUT2 pin inactive, which closes that buffer too. */
static void uart_update_irq(struct uart16550 *u)
{
    bool level = !(uart_iir(u) & UART_IIR_NONE) && (u->mcr & UART_MCR_OUT2) &&
                 !(u->mcr & UART_MCR_LOOP);
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (level)
        u->stats.irqs++;
    irq_set_level(&u->irq, level);
}

/* Four character times at the programmed baud rate and frame format. */
static uint64_t uart_timeout_ns(const struct uart16550 *u)
{
    unsigned bits = 1 + 5 + (u->lcr & 3) + ((u->lcr & 0x08) ? 1 : 0) + ((u->lcr & 0x04) ? 2 : 1);
    uint64_t div = u->divisor ? u->divisor : 65536;
    return 4ull * bits * div * 16 * 1000000000ull / UART_XTAL_HZ;
}

static void uart_arm_timeout(struct uart16550 *u)
{
    if (!uart_fifo_on(u) || !u->rx_count) {
        if (u->clock)
            vtimer_del(u->clock, &u->timeout_timer);
        return;
    }
    if (!u->clock) {
        u->timeout_pending = true;
        return;
    }
    uint64_t now = vclock_ns(u->clock), wait = uart_timeout_ns(u);
    if (now > UINT64_MAX - 1 - wait) {
        vtimer_del(u->clock, &u->timeout_timer);   /* past the end of time: never */
        return;
    }
    vtimer_mod(u->clock, &u->timeout_timer, now + wait);
}

static void uart_timeout_fire(void *opaque, uint64_t now_ns)
{
    struct uart16550 *u = opaque;
    (void)now_ns;
    if (uart_fifo_on(u) && u->rx_count) {
        u->timeout_pending = true;
        uart_update_irq(u);
    }
}

/* Modem status inputs: a connected peer (CTS, DSR, DCD) normally; in loopback DTR->DSR,
 * RTS->CTS, OUT1->RI, OUT2->DCD. Changes set the delta bits (RI: trailing edge only). */
static void uart_update_msr(struct uart16550 *u)
{
    uint8_t lines;
    if (u->mcr & UART_MCR_LOOP) {
        lines = (u->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) | (u->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
                (u->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (u->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
    } else {
        lines = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
    }
    uint8_t old = u->msr & 0xf0, changed = old ^ lines, delta = u->msr & 0x0f;
    if (changed & UART_MSR_CTS)
        delta |= 0x01;
    if (changed & UART_MSR_DSR)
        delta |= 0x02;
    if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
        delta |= 0x04;
    if (changed & UART_MSR_DCD)
        delta |= 0x08;
    u->msr = lines | delta;
}

void uart_init(struct uart16550 *u, struct irq_line irq, struct vclock *clock, struct uart_backend be)
{
    memset(u, 0, sizeof(*u));
    u->irq = irq;
    u->clock = clock;
    u->backend = be;
    u->divisor = 12;   /* 9600 baud */
    u->msr = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
    vtimer_init(&u->timeout_timer, uart_timeout_fire, u);
}

unsigned uart_rx_space(const struct uart16550 *u)
{
    unsigned cap = uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
    return u->rx_count >= cap ? 0 : cap - u->rx_count;
}

void uart_receive(struct uart16550 *u, uint8_t byte)
{
    u->stats.rx_bytes++;
    if (!uart_rx_space(u)) {
        /* Overrun: in FIFO mode the new character is lost; in 16450 mode it overwrites the
         * unread one in RBR. */
        u->lsr |= UART_LSR_OE;
        u->stats.overruns++;
        if (!uart_fifo_on(u))
            u->rx[u->rx_head] = byte;
    } else {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
        u->rx_count++;
    }
    uart_arm_timeout(u);
    uart_update_irq(u);
}

static void uart_transmit(struct uart16550 *u, uint8_t byte)
{
    /* Writing THR clears the THRE interrupt; the byte leaves at once and THR is empty again,
     * so the interrupt comes back (a fresh edge for an edge-triggered PIC). */
    u->thre_pending = false;
    uart_update_irq(u);
    u->stats.tx_bytes++;
    if (u->mcr & UART_MCR_LOOP)
        uart_receive(u, byte);
    else if (u->backend.write)
        u->backend.write(u->backend.opaque, byte);
    u->thre_pending = true;
    uart_update_irq(u);
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
    if (u->rx_count) {
        u->rbr = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
        u->rx_count--;
    }
    u->timeout_pending = false;
    uart_arm_timeout(u);
    uart_update_irq(u);
    return u->rbr;
}

static uint32_t uart_read(void *opaque, uint32_t off, unsigned size)
{
    struct uart16550 *u = opaque;
    uint8_t v;
    (void)size;
    switch (off) {
    case 0:
        return (u->lcr & UART_LCR_DLAB) ? (uint8_t)u->divisor : uart_read_rbr(u);
    case 1:
        return (u->lcr & UART_LCR_DLAB) ? (uint8_t)(u->divisor >> 8) : u->ier;
    case 2:
        v = uart_iir(u);
        /* Reading IIR when it reports THRE clears that interrupt. */
        if ((v & 0x0f) == UART_IIR_THRI) {
            u->thre_pending = false;
            uart_update_irq(u);
        }
        return v;
    case 3: return u->lcr;
    case 4: return u->mcr;
    case 5:
        v = u->lsr | (u->rx_count ? UART_LSR_DR : 0) | UART_LSR_THRE | UART_LSR_TEMT;
        u->lsr &= (uint8_t)~UART_LSR_ERRS;   /* error bits clear on read */
        uart_update_irq(u);
        return v;
    case 6:
        v = u->msr;
        u->msr &= 0xf0;                      /* delta bits clear on read */
        uart_update_irq(u);
        return v;
    default: return u->scr;
    }
}

static void uart_write_fcr(struct uart16550 *u, uint8_t v)
{
    if ((v ^ u->fcr) & UART_FCR_ENABLE) {
        /* Switching between FIFO and 16450 mode empties the FIFOs. */
        u->rx_count = 0;
        u->rx_head = 0;
        u->timeout_pending = false;
    }
    if (v & UART_FCR_CLEAR_RX) {
        u->rx_count = 0;
        u->rx_head = 0;
        u->timeout_pending = false;
    }
    u->fcr = v & 0xc9;   /* enable, DMA mode, trigger level; bits 1, 2 self-clear */
    if (!uart_fifo_on(u))
        u->fcr = 0;
    uart_arm_timeout(u);
}

static void uart_write(void *opaque, uint32_t off, uint32_t value, unsigned size)
{
    struct uart16550 *u = opaque;
    uint8_t v = (uint8_t)value;
    (void)size;
    switch (off) {
    case 0:
        if (u->lcr & UART_LCR_DLAB)
            u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
        else
            uart_transmit(u, v);
        break;
    case 1:
        if (u->lcr & UART_LCR_DLAB) {
            u->divisor = (uint16_t)((u->divisor & 0x00ff) | (v << 8));
        } else {
            /* Enabling ETBEI while THR is empty raises THRE at once. */
            if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
                u->thre_pending = true;
            u->ier = v & 0x0f;
        }
        break;
    case 2: uart_write_fcr(u, v); break;
    case 3: u->lcr = v; break;
    case 4:
        u->mcr = v & 0x1f;
        uart_update_msr(u);
        break;
    case 5: case 6: break;   /* LSR and MSR are read-only (factory test writes ignored) */
    default: u->scr = v; break;
    }
    uart_update_irq(u);
}

int uart_register(struct uart16550 *u, struct bus *b, uint16_t base, struct rf_err *err)
{
    return bus_register_pio(b, base, 8, "uart16550", uart_read, uart_write, u, err);
}
