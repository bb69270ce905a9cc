/* Unit tests for the MC146818 RTC/CMOS: deterministic start date, BCD/binary/12-hour encoding,
 * time advancing with guest time, UIP window, periodic/update/alarm interrupts, register C
 * clearing, setting the clock, memory size bytes. */
#include <criterion/criterion.h>
#include "rtc_cmos.h"

static struct bus b;
static struct vclock clk;
static struct rtc_cmos rtc;
static int level, rises;

#define SEC 1000000000ull
#define MIB (1ull << 20)

static void fake_irq(void *opaque, int line, int lv)
{
    (void)opaque;
    cr_assert_eq(line, 8);
    if (lv && !level)
        rises++;
    level = lv;
}

static uint8_t cmos_read(uint8_t idx)
{
    bus_pio_write(&b, 0x70, idx, 1);
    return (uint8_t)bus_pio_read(&b, 0x71, 1);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
    bus_pio_write(&b, 0x70, idx, 1);
    bus_pio_write(&b, 0x71, v, 1);
}

static void make(int64_t start, uint64_t mem)
{
    bus_init(&b);
    vclock_init(&clk, true);
    level = rises = 0;
    rtc_init(&rtc, &clk, (struct irq_line){ fake_irq, NULL, 8 }, start, mem);
    cr_assert_eq(rtc_register(&rtc, &b, NULL), 0);
}

static void setup(void) { make(RTC_DETERMINISTIC_EPOCH, 128 * MIB); }

static void set_time(uint64_t ns)
{
    clk.icount = ns;
    vclock_run_timers(&clk);
}

TestSuite(rtc, .init = setup);

Test(rtc, deterministic_start_date_in_bcd)
{
    cr_assert_eq(cmos_read(0x00), 0x00);
    cr_assert_eq(cmos_read(0x02), 0x00);
    cr_assert_eq(cmos_read(0x04), 0x00);
    cr_assert_eq(cmos_read(0x06), 0x05);   /* 2026-01-01 is a Thursday (Sunday = 1) */
    cr_assert_eq(cmos_read(0x07), 0x01);
    cr_assert_eq(cmos_read(0x08), 0x01);
    cr_assert_eq(cmos_read(0x09), 0x26);
    cr_assert_eq(cmos_read(0x32), 0x20);
    cr_assert_eq(cmos_read(0x0a), 0x26);
    cr_assert_eq(cmos_read(0x0b), 0x02);
    cr_assert_eq(cmos_read(0x0d), 0x80);   /* VRT */
}

Test(rtc, time_advances_with_guest_clock_bcd_and_binary)
{
    set_time(3 * 3600 * SEC + 25 * 60 * SEC + 47 * SEC + SEC / 2);
    cr_assert_eq(cmos_read(0x04), 0x03);
    cr_assert_eq(cmos_read(0x02), 0x25);
    cr_assert_eq(cmos_read(0x00), 0x47);
    cmos_write(0x0b, 0x06);                /* binary, 24 h */
    cr_assert_eq(cmos_read(0x02), 25);
    cr_assert_eq(cmos_read(0x00), 47);
    set_time(40ull * 86400 * SEC);         /* 2026-02-10 */
    cr_assert_eq(cmos_read(0x08), 2);
    cr_assert_eq(cmos_read(0x07), 10);
}

Test(rtc, twelve_hour_mode)
{
    make(RTC_DETERMINISTIC_EPOCH + 13 * 3600 + 5 * 60, 32 * MIB);
    cr_assert_eq(cmos_read(0x04), 0x13);
    cmos_write(0x0b, 0x00);                /* BCD, 12 h */
    cr_assert_eq(cmos_read(0x04), 0x81);   /* 1 PM */
    cmos_write(0x0b, 0x04);                /* binary, 12 h */
    cr_assert_eq(cmos_read(0x04), 0x81);
    set_time(11 * 3600 * SEC);             /* 00:05 next day */
    cr_assert_eq(cmos_read(0x04), 12);     /* 12 AM */
    set_time(23 * 3600 * SEC);             /* 12:05 */
    cr_assert_eq(cmos_read(0x04), 0x80 | 12);
}

Test(rtc, update_in_progress_window)
{
    set_time(SEC / 2);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0);
    set_time(SEC - 244000 - 1);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0);
    set_time(SEC - 244000);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0x80);
    cr_assert_eq(cmos_read(0x00), 0x00);   /* registers advance at the end of the window */
    set_time(SEC);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0);
    cr_assert_eq(cmos_read(0x00), 0x01);
}

/* Run for `ns` in steps, acknowledging each interrupt by reading C like a driver. */
static int count_periodic(uint64_t ns, uint64_t step)
{
    int n = 0;
    for (uint64_t t = clk.icount; t < ns; t += step) {
        set_time(t + step);
        if (level) {
            uint8_t c = cmos_read(0x0c);
            cr_assert_eq(c & 0xc0, 0xc0);
            n++;
        }
    }
    return n;
}

Test(rtc, periodic_interrupt_1024hz)
{
    cmos_write(0x0b, 0x42);                /* PIE */
    cr_assert_eq(count_periodic(100000000ull, 50000), 102);   /* 100 ms at 1024 Hz */
    cr_assert_eq(rtc.stats.irqs, 102);
}

Test(rtc, periodic_interrupt_2hz_and_rates_1_2)
{
    cmos_write(0x0a, 0x2f);                /* rate 15: 500 ms */
    cmos_write(0x0b, 0x42);
    cr_assert_eq(count_periodic(2 * SEC, 1000000), 4);
    cmos_write(0x0a, 0x21);                /* rate 1 = rate 8: 256 Hz */
    uint64_t t0 = clk.icount;
    cr_assert_eq(count_periodic(t0 + SEC, 100000), 256);
}

Test(rtc, pf_flag_without_pie_raises_no_irq)
{
    set_time(10000000);
    cr_assert_eq(level, 0);
    cr_assert_eq(vclock_next_deadline(&clk), UINT64_MAX);   /* no timer while masked */
    cr_assert_eq(cmos_read(0x0c), 0x40);   /* PF set, IRQF clear */
    cr_assert_eq(cmos_read(0x0c), 0x00);   /* cleared by the read */
}

Test(rtc, reg_c_read_clears_irq)
{
    cmos_write(0x0b, 0x42);
    set_time(1000000);
    cr_assert_eq(level, 1);
    set_time(5000000);                     /* more periods: the line simply stays high */
    cr_assert_eq(rises, 1);
    cr_assert_eq(cmos_read(0x0c), 0xc0);
    cr_assert_eq(level, 0);
    cr_assert_eq(cmos_read(0x0c), 0x00);
}

Test(rtc, update_ended_interrupt_each_second)
{
    cmos_write(0x0b, 0x12);                /* UIE */
    set_time(SEC - 1);
    cr_assert_eq(level, 0);
    set_time(SEC);
    cr_assert_eq(level, 1);
    cr_assert_eq(cmos_read(0x0c) & 0xf0, 0xd0);   /* IRQF | PF (unmasked flag) | UF */
    set_time(2 * SEC);
    cr_assert_eq(rises, 2);
}

Test(rtc, alarm_interrupt_exact_and_dont_care)
{
    cmos_write(0x01, 0x05);
    cmos_write(0x03, 0x00);
    cmos_write(0x05, 0x00);
    cmos_write(0x0b, 0x22);                /* AIE */
    for (int s = 1; s <= 4; s++)
        set_time(s * SEC);
    cr_assert_eq(level, 0);
    set_time(5 * SEC);
    cr_assert_eq(level, 1);
    cr_assert_eq(cmos_read(0x0c) & 0xa0, 0xa0);
    /* Every minute at second 30: minutes and hours "don't care". */
    cmos_write(0x01, 0x30);
    cmos_write(0x03, 0xc0);
    cmos_write(0x05, 0xff);
    for (int s = 6; s < 30; s++)
        set_time(s * SEC);
    cr_assert_eq(level, 0);
    set_time(30 * SEC);
    cr_assert_eq(level, 1);
    cmos_read(0x0c);
    for (int s = 31; s <= 90; s++)
        set_time(s * SEC);
    cr_assert_eq(rises, 3);
}

Test(rtc, setting_the_clock)
{
    cmos_write(0x0b, 0x82);                /* SET: updates stop */
    cmos_write(0x09, 0x30);
    cmos_write(0x08, 0x06);
    cmos_write(0x07, 0x15);
    cmos_write(0x04, 0x08);
    cmos_write(0x02, 0x30);
    cmos_write(0x00, 0x00);
    set_time(5 * SEC);
    cr_assert_eq(cmos_read(0x00), 0x00);   /* frozen while SET */
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0);
    cmos_write(0x0b, 0x02);
    set_time(7 * SEC);
    cr_assert_eq(cmos_read(0x00), 0x02);
    cr_assert_eq(cmos_read(0x02), 0x30);
    cr_assert_eq(cmos_read(0x04), 0x08);
    cr_assert_eq(cmos_read(0x07), 0x15);
    cr_assert_eq(cmos_read(0x08), 0x06);
    cr_assert_eq(cmos_read(0x09), 0x30);
    cr_assert_eq(cmos_read(0x06), 0x07);   /* 2030-06-15 is a Saturday (7): recomputed */
    /* A running clock takes single-field writes. */
    cmos_write(0x02, 0x45);
    set_time(8 * SEC);
    cr_assert_eq(cmos_read(0x02), 0x45);
    cr_assert_eq(cmos_read(0x00), 0x03);
    /* SET also clears UIE. */
    cmos_write(0x0b, 0x92);
    cr_assert_eq(cmos_read(0x0b), 0x82);
}

Test(rtc, memory_size_bytes_128m)
{
    cr_assert_eq(cmos_read(0x15), 0x80);   /* 640 KiB */
    cr_assert_eq(cmos_read(0x16), 0x02);
    cr_assert_eq(cmos_read(0x17), 0xff);   /* 127 MiB in KiB saturates at 0xFFFF */
    cr_assert_eq(cmos_read(0x18), 0xff);
    cr_assert_eq(cmos_read(0x30), 0xff);
    cr_assert_eq(cmos_read(0x31), 0xff);
    cr_assert_eq(cmos_read(0x34), 0x00);   /* 112 MiB / 64 KiB = 0x700 */
    cr_assert_eq(cmos_read(0x35), 0x07);
    cr_assert_eq(cmos_read(0x14), 0x02);
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++)
        sum += cmos_read((uint8_t)i);
    cr_assert_eq((cmos_read(0x2e) << 8) | cmos_read(0x2f), sum);
}

Test(rtc, memory_size_bytes_small)
{
    make(RTC_DETERMINISTIC_EPOCH, 8 * MIB);
    cr_assert_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 7 * 1024);
    cr_assert_eq(cmos_read(0x30) | cmos_read(0x31) << 8, 7 * 1024);
    cr_assert_eq(cmos_read(0x34) | cmos_read(0x35) << 8, 0);
    make(RTC_DETERMINISTIC_EPOCH, 48 * MIB);
    cr_assert_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 47 * 1024);
    cr_assert_eq(cmos_read(0x34) | cmos_read(0x35) << 8, 32 * 16);
}

Test(rtc, index_port_nmi_mask_and_ram)
{
    cmos_write(0x40, 0xa5);
    cr_assert_eq(cmos_read(0x40), 0xa5);
    bus_pio_write(&b, 0x70, 0x8f, 1);      /* NMI disabled, index 0x0F */
    cr_assert(rtc.nmi_masked);
    cr_assert_eq(rtc.index, 0x0f);
    bus_pio_write(&b, 0x70, 0x0f, 1);
    cr_assert(!rtc.nmi_masked);
    cr_assert_eq(bus_pio_read(&b, 0x70, 1), 0xff);
    cmos_write(0x0d, 0x00);                /* read-only */
    cr_assert_eq(cmos_read(0x0d), 0x80);
    cmos_write(0x0c, 0xff);
    cr_assert_eq(cmos_read(0x0c) & 0xb0, 0x00);
}
