/* Robustness: random guest port traffic to every device, with time advancing and interrupts
 * acknowledged, must never crash, hang or leave the timer list inconsistent. */
#include <criterion/criterion.h>
#include "i8042.h"
#include "misc_ports.h"
#include "pic8259.h"
#include "pit8254.h"
#include "port61.h"
#include "rtc_cmos.h"
#include "uart16550.h"

static struct bus b;
static struct vclock clk;
static struct pic8259 pic;
static struct pit8254 pit;
static struct port61 p61;
static struct uart16550 uart;
static struct rtc_cmos rtc;
static struct i8042 kbd;
static struct port92 p92;
static struct debug_exit dx;
static struct debugcon dcon;
static struct post_code post;
static int intr;

static void set_intr(void *o, int level) { (void)o; intr = level; }
static void nop(void *o) { (void)o; }
static void nop_exit(void *o, uint32_t v) { (void)o; (void)v; }
static void nop_putc(void *o, uint8_t c) { (void)o; (void)c; }

static struct irq_line line(int n) { return (struct irq_line){ pic_set_irq, &pic, n }; }

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const uint16_t ports[] = {
    0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x3f8, 0x3f9, 0x3fa,
    0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x70, 0x71, 0x60, 0x64, 0x92, 0xe9, 0x80,
};

Test(fuzz, random_port_traffic)
{
    bus_init(&b);
    vclock_init(&clk, true);
    pic_init(&pic, set_intr, NULL);
    pit_init(&pit, &clk, line(0));
    port61_init(&p61, &pit);
    uart_init(&uart, line(4), &clk, (struct uart_backend){ nop_putc, NULL });
    rtc_init(&rtc, &clk, line(8), RTC_DETERMINISTIC_EPOCH, 256u << 20);
    i8042_init(&kbd, line(1), line(12), nop, NULL, NULL);
    port92_init(&p92, nop, NULL);
    debug_exit_init(&dx, nop_exit, NULL);
    debugcon_init(&dcon, nop_putc, NULL);
    post_code_init(&post);
    cr_assert_eq(pic_register(&pic, &b, NULL), 0);
    cr_assert_eq(pit_register(&pit, &b, NULL), 0);
    cr_assert_eq(port61_register(&p61, &b, NULL), 0);
    cr_assert_eq(uart_register(&uart, &b, 0x3f8, NULL), 0);
    cr_assert_eq(rtc_register(&rtc, &b, NULL), 0);
    cr_assert_eq(i8042_register(&kbd, &b, NULL), 0);
    cr_assert_eq(port92_register(&p92, &b, NULL), 0);
    cr_assert_eq(debug_exit_register(&dx, &b, 0xf4, NULL), 0);
    cr_assert_eq(debugcon_register(&dcon, &b, NULL), 0);
    cr_assert_eq(post_code_register(&post, &b, NULL), 0);

    for (int i = 0; i < 300000; i++) {
        uint32_t r = next_rand();
        uint16_t port = ports[r % (sizeof(ports) / sizeof(ports[0]))];
        unsigned size = 1u << ((r >> 8) % 3);
        if (r & 0x10000)
            bus_pio_write(&b, port, next_rand(), size);
        else
            bus_pio_read(&b, port, size);
        if ((r >> 20) % 8 == 0)
            uart_receive(&uart, (uint8_t)r);
        if ((r >> 24) % 4 == 0) {
            /* Up to ~1 ms, sometimes a huge jump. */
            clk.icount += (r >> 26) == 0 ? 5000000000ull : next_rand() % 1000000;
            uint64_t next = vclock_run_timers(&clk);
            cr_assert(next == UINT64_MAX || next > vclock_ns(&clk) - 1);
        }
        if (intr) {
            int v = pic_intr_ack(&pic);
            cr_assert(v >= 0 && v <= 0xff);
        }
    }
    /* Every armed timer is in the future and the list is sorted. */
    uint64_t prev = 0;
    for (struct vtimer *t = clk.armed; t; t = t->next) {
        cr_assert(t->armed);
        cr_assert_geq(t->deadline, prev);
        prev = t->deadline;
    }
}

/* A clock that jumps to the end of its range (a deterministic wait for "no deadline") must
 * not make any timer fire forever. */
Test(fuzz, clock_jump_to_end_of_time_terminates, .timeout = 20)
{
    bus_init(&b);
    vclock_init(&clk, true);
    pic_init(&pic, set_intr, NULL);
    pit_init(&pit, &clk, line(0));
    uart_init(&uart, line(4), &clk, (struct uart_backend){ nop_putc, NULL });
    rtc_init(&rtc, &clk, line(8), RTC_DETERMINISTIC_EPOCH, 64u << 20);
    cr_assert_eq(pit_register(&pit, &b, NULL), 0);
    cr_assert_eq(uart_register(&uart, &b, 0x3f8, NULL), 0);
    cr_assert_eq(rtc_register(&rtc, &b, NULL), 0);
    bus_pio_write(&b, 0x43, 0x34, 1);       /* PIT mode 2, count 2 */
    bus_pio_write(&b, 0x40, 2, 1);
    bus_pio_write(&b, 0x40, 0, 1);
    bus_pio_write(&b, 0x70, 0x0b, 1);       /* RTC PIE + AIE + UIE */
    bus_pio_write(&b, 0x71, 0x72, 1);
    bus_pio_write(&b, 0x3fa, 0x01, 1);      /* UART FIFO with data: timeout armed */
    uart_receive(&uart, 'x');
    cr_assert_not_null(clk.armed);
    for (uint64_t jump = UINT64_MAX - 5000000000ull; ; jump = UINT64_MAX) {
        clk.det_skip_ns = jump;
        vclock_run_timers(&clk);
        bus_pio_read(&b, 0x40, 1);
        bus_pio_write(&b, 0x70, 0x0c, 1);
        bus_pio_read(&b, 0x71, 1);
        bus_pio_read(&b, 0x3f8, 1);
        if (jump == UINT64_MAX)
            break;
    }
    /* Nothing is left armed that would be due again at once. */
    cr_assert_null(clk.armed);
}
