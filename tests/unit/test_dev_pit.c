/* Unit tests for the 8254 PIT and port 0x61: periodic modes through vtimers, one-shot,
 * strobes, counter latch, read-back status, BCD, access modes, channel 2 gate and OUT. */
#include <criterion/criterion.h>
#include "pit8254.h"
#include "port61.h"

static struct bus b;
static struct vclock clk;
static struct pit8254 pit;
static struct port61 p61;
static int level, rises, changes;

static void fake_irq(void *opaque, int line, int lv)
{
    (void)opaque;
    cr_assert_eq(line, 0);
    if (lv && !level)
        rises++;
    level = lv;
    changes++;
}

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&b, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&b, port, 1); }

/* Guest time of PIT tick t (first ns at which t ticks have elapsed). */
static uint64_t tick_ns(uint64_t t) { return (t * 1000000000ull + PIT_HZ - 1) / PIT_HZ; }

static void set_time(uint64_t ns)
{
    clk.icount = ns;
    vclock_run_timers(&clk);
}

/* Advance in small steps so that every timer runs near its deadline. */
static void run_until(uint64_t ns, uint64_t step)
{
    while (clk.icount + step < ns)
        set_time(clk.icount + step);
    set_time(ns);
}

static void setup(void)
{
    bus_init(&b);
    vclock_init(&clk, true);
    level = rises = changes = 0;
    pit_init(&pit, &clk, (struct irq_line){ fake_irq, NULL, 0 });
    port61_init(&p61, &pit);
    cr_assert_eq(pit_register(&pit, &b, NULL), 0);
    cr_assert_eq(port61_register(&p61, &b, NULL), 0);
    level = 1;   /* OUT is high at power-on */
}

TestSuite(pit, .init = setup);

static uint16_t latch_read(int ch)
{
    out8(0x43, (uint8_t)(ch << 6));   /* counter latch */
    uint8_t lo = in8((uint16_t)(0x40 + ch));
    uint8_t hi = in8((uint16_t)(0x40 + ch));
    return (uint16_t)(lo | hi << 8);
}

Test(pit, mode2_rate_generator_interrupts_every_period)
{
    out8(0x43, 0x34);                 /* ch0, lo/hi, mode 2, binary */
    out8(0x40, 1193 & 0xff);
    out8(0x40, 1193 >> 8);
    cr_assert_eq(rises, 0);
    /* One timer event per period, at the rising edge that ends the one-clock low pulse. */
    cr_assert_eq(vclock_next_deadline(&clk), tick_ns(1193));
    run_until(tick_ns(1193) - 1, 5000);
    cr_assert_eq(rises, 0);
    cr_assert_eq(changes, 0);         /* the IRQ line gets the pulse at the edge */
    /* OUT itself, as status read-back shows it, is low during the last clock. */
    set_time(tick_ns(1192));
    out8(0x43, 0xe2);
    cr_assert_eq(in8(0x40) & 0x80, 0x00);
    set_time(tick_ns(1193));
    cr_assert_eq(rises, 1);
    cr_assert_eq(level, 1);
    run_until(tick_ns(10 * 1193), 5000);
    cr_assert_eq(rises, 10);
    run_until(tick_ns(10 * 1193 + 1192) - 1, 5000);
    cr_assert_eq(rises, 10);
    cr_assert_eq(pit.stats.irq_edges, 10);
}

Test(pit, mode3_square_wave_half_high_half_low)
{
    out8(0x43, 0x36);                 /* ch0, lo/hi, mode 3 */
    out8(0x40, 1000 & 0xff);
    out8(0x40, 1000 >> 8);
    set_time(tick_ns(499));
    cr_assert_eq(level, 1);
    set_time(tick_ns(500));
    cr_assert_eq(level, 0);
    set_time(tick_ns(999));
    cr_assert_eq(level, 0);
    set_time(tick_ns(1000));
    cr_assert_eq(level, 1);
    cr_assert_eq(rises, 1);
    run_until(tick_ns(5000), 3000);
    cr_assert_eq(rises, 5);
    /* Read-back status shows OUT and mode 3 with lo/hi access. */
    set_time(tick_ns(5600));
    out8(0x43, 0xe2);                 /* read-back status of ch0 only */
    cr_assert_eq(in8(0x40), 0x36);    /* OUT low, no null count, rw 3, mode 3, binary */
}

Test(pit, mode0_one_shot_fires_once)
{
    out8(0x43, 0x30);                 /* mode 0: OUT goes low on the control word */
    cr_assert_eq(level, 0);
    out8(0x40, 100);
    out8(0x40, 0);
    set_time(tick_ns(99));
    cr_assert_eq(level, 0);
    cr_assert_eq(rises, 0);
    set_time(tick_ns(100));
    cr_assert_eq(level, 1);
    cr_assert_eq(rises, 1);
    cr_assert_eq(vclock_next_deadline(&clk), UINT64_MAX);   /* nothing more to do */
    set_time(tick_ns(100000));
    cr_assert_eq(rises, 1);
    cr_assert_eq(level, 1);
    /* The counter wraps and keeps counting after terminal count. */
    cr_assert_eq(latch_read(0), (uint16_t)(100 - 100000));
}

Test(pit, mode4_software_strobe_is_one_tick_low)
{
    out8(0x43, 0x38);
    out8(0x40, 50);
    out8(0x40, 0);
    cr_assert_eq(level, 1);
    set_time(tick_ns(50));
    out8(0x43, 0xe2);
    cr_assert_eq(in8(0x40) & 0x80, 0x00);   /* OUT low for the terminal-count clock */
    cr_assert_eq(rises, 0);
    set_time(tick_ns(51));
    out8(0x43, 0xe2);
    cr_assert_eq(in8(0x40) & 0x80, 0x80);
    cr_assert_eq(level, 1);
    cr_assert_eq(rises, 1);           /* the strobe reached the IRQ line as one edge */
    cr_assert_eq(vclock_next_deadline(&clk), UINT64_MAX);
}

Test(pit, counter_latch_freezes_value_until_read)
{
    out8(0x43, 0x34);
    out8(0x40, 10000 & 0xff);
    out8(0x40, 10000 >> 8);
    set_time(tick_ns(1000));
    out8(0x43, 0x00);                 /* latch ch0 */
    set_time(tick_ns(3000));
    cr_assert_eq(in8(0x40), (9000 & 0xff));
    cr_assert_eq(in8(0x40), (9000 >> 8));
    /* After the latched value is read, reads follow the live count again. */
    cr_assert_eq(latch_read(0), 7000);
    /* A second latch before the first is read is ignored. */
    out8(0x43, 0x00);
    set_time(tick_ns(3500));
    out8(0x43, 0x00);
    cr_assert_eq(latch_read(0) , 7000);   /* first latch's LSB+MSB consumed by latch_read */
}

Test(pit, live_reads_toggle_lsb_msb)
{
    out8(0x43, 0x30);
    out8(0x40, 0x34);
    out8(0x40, 0x12);
    set_time(tick_ns(0x10));
    cr_assert_eq(in8(0x40), 0x24);
    cr_assert_eq(in8(0x40), 0x12);
}

Test(pit, readback_status_and_null_count)
{
    out8(0x43, 0x34);
    out8(0x43, 0xe2);                 /* status only */
    /* OUT high, NULL COUNT (no count written yet), rw 3, mode 2. */
    cr_assert_eq(in8(0x40), 0xf4);
    out8(0x40, 0x00);
    out8(0x40, 0x10);
    set_time(tick_ns(0x100));
    out8(0x43, 0xc2);                 /* count and status: Linux's 0xC2 */
    cr_assert_eq(in8(0x40), 0xb4);    /* null count clear once the count is loaded */
    cr_assert_eq(in8(0x40), 0x00);
    cr_assert_eq(in8(0x40), 0x0f);    /* 0x1000 - 0x100 */
    cr_assert_eq(pit.stats.readbacks, 2);
}

Test(pit, bcd_counting)
{
    out8(0x43, 0x35);                 /* mode 2, BCD */
    out8(0x40, 0x00);
    out8(0x40, 0x10);                 /* 1000 decimal */
    set_time(tick_ns(250));
    cr_assert_eq(latch_read(0), 0x0750);
    /* BCD count 0 means 10000. */
    out8(0x43, 0x31);
    out8(0x40, 0);
    out8(0x40, 0);
    set_time(tick_ns(250) + tick_ns(1));
    cr_assert_eq(latch_read(0), 0x9999);
}

Test(pit, lsb_only_and_msb_only_access)
{
    out8(0x43, 0x14);                 /* ch0 LSB only, mode 2 */
    out8(0x40, 100);
    set_time(tick_ns(10));
    cr_assert_eq(in8(0x40), 90);
    cr_assert_eq(in8(0x40), 90);      /* no toggling */
    out8(0x43, 0x24);                 /* MSB only */
    uint64_t t0 = clk.icount;
    out8(0x40, 0x02);                 /* count 512 */
    cr_assert_eq(in8(0x40), 0x02);
    set_time(t0 + tick_ns(2 * 512));
    cr_assert(rises >= 1);
}

Test(pit, count_zero_means_65536)
{
    out8(0x43, 0x34);
    out8(0x40, 0);
    out8(0x40, 0);
    set_time(tick_ns(65535));
    cr_assert_eq(rises, 0);
    set_time(tick_ns(65536));
    cr_assert_eq(rises, 1);
}

Test(pit, reprogramming_restarts_and_is_counted)
{
    out8(0x43, 0x34);
    out8(0x40, 0xe8);
    out8(0x40, 0x03);                 /* 1000 */
    set_time(tick_ns(500));
    out8(0x43, 0x34);
    out8(0x40, 0xd0);
    out8(0x40, 0x07);                 /* 2000 from tick 500 */
    set_time(tick_ns(2499));
    cr_assert_eq(rises, 0);
    set_time(tick_ns(2500));
    cr_assert_eq(rises, 1);
    cr_assert_eq(pit.stats.reprograms, 4);
}

Test(pit, late_timer_run_catches_up_without_looping)
{
    out8(0x43, 0x34);
    out8(0x40, 2);
    out8(0x40, 0);                    /* a 1.7 us period */
    set_time(1000000000ull);          /* one second late: ~600000 periods */
    cr_assert(rises >= 1);
    cr_assert(rises < 10);            /* collapsed: the PIC would latch one edge anyway */
    uint64_t next = vclock_next_deadline(&clk);
    cr_assert(next > 1000000000ull && next < 1000000000ull + 3000);
}

Test(pit, port61_gate_and_out2_for_tsc_calibration)
{
    cr_assert_eq(in8(0x61) & 0x20, 0x20);   /* OUT2 high at power-on */
    out8(0x61, 0x01);                 /* gate 2 on, speaker off */
    out8(0x43, 0xb0);                 /* ch2, lo/hi, mode 0 */
    out8(0x42, 1000 & 0xff);
    out8(0x42, 1000 >> 8);
    cr_assert_eq(in8(0x61) & 0x21, 0x01);
    set_time(tick_ns(999));
    cr_assert_eq(in8(0x61) & 0x20, 0);
    set_time(tick_ns(1000));
    cr_assert_eq(in8(0x61) & 0x20, 0x20);
    cr_assert_eq(rises, 0);           /* channel 2 is not wired to an IRQ */
}

Test(pit, port61_gate_low_pauses_mode0)
{
    out8(0x61, 0x01);
    out8(0x43, 0xb0);
    out8(0x42, 100);
    out8(0x42, 0);
    set_time(tick_ns(40));
    out8(0x61, 0x00);                 /* gate low: counting stops at 60 */
    set_time(tick_ns(500));
    cr_assert_eq(latch_read(2), 60);
    cr_assert_eq(in8(0x61) & 0x20, 0);
    out8(0x61, 0x01);
    set_time(tick_ns(559));
    cr_assert_eq(in8(0x61) & 0x20, 0);
    set_time(tick_ns(560));
    cr_assert_eq(in8(0x61) & 0x20, 0x20);
}

Test(pit, port61_gate_edge_triggers_mode1)
{
    out8(0x43, 0xb2);                 /* ch2, mode 1 (hardware one-shot) */
    out8(0x42, 50);
    out8(0x42, 0);
    set_time(tick_ns(100));
    cr_assert_eq(in8(0x61) & 0x20, 0x20);   /* not triggered yet: OUT high */
    out8(0x61, 0x01);                 /* rising gate triggers */
    cr_assert_eq(in8(0x61) & 0x20, 0);
    set_time(tick_ns(149));
    cr_assert_eq(in8(0x61) & 0x20, 0);
    set_time(tick_ns(150));
    cr_assert_eq(in8(0x61) & 0x20, 0x20);
}

Test(pit, port61_refresh_bit_toggles_and_bits_read_back)
{
    out8(0x61, 0x03);
    set_time(1000);
    uint8_t a = in8(0x61);
    set_time(1000 + 15085);
    uint8_t c = in8(0x61);
    cr_assert_eq(a & 0x03, 0x03);
    cr_assert_neq(a & 0x10, c & 0x10);
    cr_assert_eq(in8(0x43), 0xff);    /* control word register is write-only */
}
