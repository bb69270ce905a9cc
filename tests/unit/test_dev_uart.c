/* Unit tests for the 16550A UART: reset values, DLAB, transmit, THRE interrupt and its IIR
 * clearing, OUT2 gating, receive/overrun, FIFO trigger levels and timeout, priorities, loopback. */
#include <criterion/criterion.h>
#include "uart16550.h"

static struct bus b;
static struct vclock clk;
static struct uart16550 u;
static int level, rises;
static uint8_t sent[64];
static int nsent;

static void fake_irq(void *opaque, int line, int lv)
{
    (void)opaque;
    cr_assert_eq(line, 4);
    if (lv && !level)
        rises++;
    level = lv;
}

static void fake_tx(void *opaque, uint8_t byte)
{
    (void)opaque;
    if (nsent < (int)sizeof(sent))
        sent[nsent++] = byte;
}

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&b, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&b, port, 1); }

enum { RBR = 0x3f8, IER = 0x3f9, IIR = 0x3fa, LCR = 0x3fb, MCR = 0x3fc, LSR = 0x3fd, MSR = 0x3fe, SCR = 0x3ff };

static void setup(void)
{
    bus_init(&b);
    vclock_init(&clk, true);
    level = rises = nsent = 0;
    uart_init(&u, (struct irq_line){ fake_irq, NULL, 4 }, &clk, (struct uart_backend){ fake_tx, NULL });
    cr_assert_eq(uart_register(&u, &b, 0x3f8, NULL), 0);
}

static void advance(uint64_t ns)
{
    clk.icount += ns;
    vclock_run_timers(&clk);
}

TestSuite(uart, .init = setup);

Test(uart, reset_values)
{
    cr_assert_eq(in8(LSR), 0x60);     /* THRE | TEMT */
    cr_assert_eq(in8(IIR), 0x01);     /* no interrupt, FIFOs off */
    cr_assert_eq(in8(IER), 0x00);
    cr_assert_eq(in8(LCR), 0x00);
    cr_assert_eq(in8(MSR), 0xb0);     /* CTS, DSR, DCD from the connected console */
    cr_assert_eq(level, 0);
}

Test(uart, dlab_selects_divisor_latch)
{
    out8(LCR, 0x83);
    out8(RBR, 0x01);
    out8(IER, 0x00);
    cr_assert_eq(in8(RBR), 0x01);
    cr_assert_eq(in8(IER), 0x00);
    cr_assert_eq(u.divisor, 1);
    cr_assert_eq(nsent, 0);           /* divisor writes are not transmitted */
    out8(LCR, 0x03);
    cr_assert_eq(in8(LCR), 0x03);
    out8(RBR, 'h');
    out8(RBR, 'i');
    cr_assert_eq(nsent, 2);
    cr_assert_eq(sent[0], 'h');
    cr_assert_eq(sent[1], 'i');
    cr_assert_eq(u.stats.tx_bytes, 2);
    cr_assert_eq(in8(LSR) & 0x60, 0x60);   /* transmit is instant */
}

Test(uart, scratch_register)
{
    out8(SCR, 0x5a);
    cr_assert_eq(in8(SCR), 0x5a);
}

Test(uart, thre_interrupt_and_iir_read_clears_it)
{
    out8(MCR, 0x08);                  /* OUT2: IRQ enabled on the PC */
    out8(IER, 0x02);
    cr_assert_eq(level, 1);
    cr_assert_eq(in8(IIR), 0x02);     /* reading IIR reporting THRE clears it */
    cr_assert_eq(level, 0);
    cr_assert_eq(in8(IIR), 0x01);
    out8(RBR, 'x');                   /* THR empties again: fresh interrupt */
    cr_assert_eq(level, 1);
    cr_assert_eq(rises, 2);
    /* Writing THR while THRE is pending drops and re-raises the line (an edge). */
    out8(RBR, 'y');
    cr_assert_eq(rises, 3);
    /* Re-writing IER with ETBEI already set does not re-raise THRE. */
    cr_assert_eq(in8(IIR), 0x02);
    out8(IER, 0x02);
    cr_assert_eq(in8(IIR), 0x01);
    /* Disabling and re-enabling ETBEI with THR empty does. */
    out8(IER, 0x00);
    out8(IER, 0x02);
    cr_assert_eq(in8(IIR), 0x02);
    cr_assert_eq(u.stats.irqs, (uint64_t)rises);
}

Test(uart, out2_gates_the_irq_line)
{
    out8(IER, 0x02);
    cr_assert_eq(in8(IIR) & 0x0f, 0x02);
    out8(IER, 0x00);
    out8(IER, 0x02);
    cr_assert_eq(level, 0);           /* pending, but OUT2 is off */
    out8(MCR, 0x08);
    cr_assert_eq(level, 1);
    out8(MCR, 0x00);
    cr_assert_eq(level, 0);
}

Test(uart, receive_without_fifo_and_overrun)
{
    out8(MCR, 0x08);
    out8(IER, 0x01);
    cr_assert_eq(uart_rx_space(&u), 1);
    uart_receive(&u, 'a');
    cr_assert_eq(level, 1);
    cr_assert_eq(in8(LSR), 0x61);
    cr_assert_eq(in8(IIR), 0x04);
    cr_assert_eq(in8(RBR), 'a');
    cr_assert_eq(level, 0);
    cr_assert_eq(in8(LSR), 0x60);
    cr_assert_eq(in8(IIR), 0x01);
    uart_receive(&u, 'b');
    uart_receive(&u, 'c');            /* RBR not read: overrun, 'c' overwrites 'b' */
    cr_assert_eq(uart_rx_space(&u), 0);
    cr_assert_eq(in8(LSR), 0x63);
    cr_assert_eq(in8(LSR), 0x61);     /* OE cleared by the LSR read */
    cr_assert_eq(in8(RBR), 'c');
    cr_assert_eq(u.stats.overruns, 1);
    cr_assert_eq(u.stats.rx_bytes, 3);
}

Test(uart, fifo_trigger_level)
{
    out8(0x3fa, 0x81);                /* FIFO on, trigger 8 */
    out8(MCR, 0x08);
    out8(IER, 0x01);
    cr_assert_eq(in8(IIR), 0xc1);
    cr_assert_eq(uart_rx_space(&u), 16);
    for (int i = 0; i < 7; i++)
        uart_receive(&u, (uint8_t)('0' + i));
    cr_assert_eq(in8(IIR), 0xc1);     /* below trigger, timeout not yet */
    cr_assert_eq(level, 0);
    uart_receive(&u, '7');
    cr_assert_eq(in8(IIR), 0xc4);
    cr_assert_eq(level, 1);
    cr_assert_eq(in8(RBR), '0');      /* FIFO order */
    cr_assert_eq(in8(IIR), 0xc1);     /* 7 left: below trigger again */
    cr_assert_eq(level, 0);
    cr_assert_eq(uart_rx_space(&u), 9);
}

Test(uart, fifo_character_timeout)
{
    out8(LCR, 0x83);
    out8(RBR, 1);                     /* 115200 baud */
    out8(IER, 0);
    out8(LCR, 0x03);                  /* 8N1: 10 bits a character */
    out8(0x3fa, 0xc1);                /* trigger 14 */
    out8(MCR, 0x08);
    out8(IER, 0x01);
    uart_receive(&u, 'a');
    uart_receive(&u, 'b');
    uint64_t four_chars = 4ull * 10 * 16 * 1000000000ull / 1843200;   /* ~347 us */
    advance(four_chars - 1000);
    cr_assert_eq(in8(IIR), 0xc1);
    advance(1000);
    cr_assert_eq(in8(IIR), 0xcc);     /* character timeout */
    cr_assert_eq(level, 1);
    cr_assert_eq(in8(RBR), 'a');      /* a read clears the timeout and restarts it */
    cr_assert_eq(in8(IIR), 0xc1);
    cr_assert_eq(level, 0);
    advance(four_chars);
    cr_assert_eq(in8(IIR), 0xcc);
    cr_assert_eq(in8(RBR), 'b');
    advance(4 * four_chars);
    cr_assert_eq(in8(IIR), 0xc1);     /* empty FIFO: no timeout */
}

Test(uart, fifo_overrun_and_clear)
{
    out8(0x3fa, 0x01);
    for (int i = 0; i < 17; i++)
        uart_receive(&u, (uint8_t)i);
    cr_assert_eq(in8(LSR) & 0x03, 0x03);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(in8(RBR), i);    /* the 17th byte was lost */
    cr_assert_eq(in8(LSR) & 0x01, 0);
    uart_receive(&u, 'z');
    out8(0x3fa, 0x03);                /* clear RX FIFO */
    cr_assert_eq(in8(LSR) & 0x01, 0);
    uart_receive(&u, 'q');
    out8(0x3fa, 0x00);                /* FIFO off empties it too */
    cr_assert_eq(in8(LSR) & 0x01, 0);
    cr_assert_eq(in8(IIR), 0x01);
}

Test(uart, interrupt_priorities)
{
    out8(MCR, 0x08);
    out8(IER, 0x0f);
    cr_assert_eq(in8(IIR), 0x02);     /* THRE pending */
    out8(IER, 0x0d);
    out8(IER, 0x0f);                  /* THRE pending again */
    uart_receive(&u, 'a');
    cr_assert_eq(in8(IIR), 0x04);     /* RX data outranks THRE */
    uart_receive(&u, 'b');            /* overrun */
    cr_assert_eq(in8(IIR), 0x06);     /* line status outranks everything */
    in8(LSR);
    cr_assert_eq(in8(IIR), 0x04);
    in8(RBR);
    cr_assert_eq(in8(IIR), 0x02);
    cr_assert_eq(in8(IIR), 0x01);
    cr_assert_eq(level, 0);
}

Test(uart, loopback_echo_and_modem_lines)
{
    out8(MCR, 0x10);                  /* loop, all outputs off */
    cr_assert_eq(in8(MSR) & 0xf0, 0x00);
    out8(RBR, 'L');
    cr_assert_eq(nsent, 0);           /* nothing leaves the chip */
    cr_assert_eq(in8(LSR) & 0x01, 0x01);
    cr_assert_eq(in8(RBR), 'L');
    out8(MCR, 0x1f);                  /* DTR RTS OUT1 OUT2 looped to DSR CTS RI DCD */
    cr_assert_eq(in8(MSR), 0xfb);     /* lines high; DCTS DDSR DDCD (RI only on trailing edge) */
    cr_assert_eq(in8(MSR), 0xf0);     /* deltas cleared by the read */
    out8(MCR, 0x1b);                  /* OUT1 off: RI trailing edge */
    cr_assert_eq(in8(MSR), 0xb4);
    /* Linux's probe: MCR = LOOP | OUT2 | RTS should read MSR 0x90 (CTS | DCD). */
    out8(MCR, 0x1a);
    cr_assert_eq(in8(MSR) & 0xf0, 0x90);
}

Test(uart, loopback_blocks_irq_and_modem_status_interrupt)
{
    out8(MCR, 0x18);
    out8(IER, 0x08);
    out8(MCR, 0x19);                  /* DTR -> DSR change */
    cr_assert_eq(in8(IIR), 0x00);     /* modem status interrupt identified ... */
    cr_assert_eq(level, 0);           /* ... but the line is closed in loopback */
    in8(MSR);
    cr_assert_eq(in8(IIR), 0x01);
    out8(MCR, 0x08);                  /* leaving loopback: peer lines come back */
    cr_assert_eq(in8(IIR), 0x00);
    cr_assert_eq(level, 1);
    cr_assert_eq(in8(MSR) & 0xf0, 0xb0);
    cr_assert_eq(level, 0);
}
