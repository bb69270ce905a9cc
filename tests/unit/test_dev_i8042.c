/* Unit tests for the i8042: status bits, self/interface tests, command byte, keyboard
 * enable/disable, output port (A20, reset), pulse reset, keyboard command answers, IRQ 1,
 * and the empty auxiliary port (loopback, IRQ 12, timeouts for the absent mouse). */
#include <criterion/criterion.h>
#include "i8042.h"

static struct bus b;
static struct i8042 k;
static int level, rises, resets, a20_calls, aux_level, aux_rises;
static bool a20;

static void fake_irq(void *opaque, int line, int lv)
{
    (void)opaque;
    if (line == 12) {
        if (lv && !aux_level)
            aux_rises++;
        aux_level = lv;
        return;
    }
    cr_assert_eq(line, 1);
    if (lv && !level)
        rises++;
    level = lv;
}

static void fake_reset(void *opaque) { (void)opaque; resets++; }
static void fake_a20(void *opaque, bool on) { (void)opaque; a20 = on; a20_calls++; }

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&b, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&b, port, 1); }

static void setup(void)
{
    bus_init(&b);
    level = rises = resets = a20_calls = aux_level = aux_rises = 0;
    a20 = true;
    i8042_init(&k, (struct irq_line){ fake_irq, NULL, 1 }, (struct irq_line){ fake_irq, NULL, 12 },
               fake_reset, fake_a20, NULL);
    cr_assert_eq(i8042_register(&k, &b, NULL), 0);
}

TestSuite(i8042, .init = setup);

Test(i8042, status_after_post)
{
    uint8_t st = in8(0x64);
    cr_assert_eq(st & 0x01, 0);        /* OBF clear */
    cr_assert_eq(st & 0x02, 0);        /* IBF never set */
    cr_assert_eq(st & 0x04, 0x04);     /* SYS: POST passed */
    cr_assert_eq(st & 0x10, 0x10);     /* keyboard not inhibited */
}

Test(i8042, self_test_and_interface_test)
{
    out8(0x64, 0xaa);
    cr_assert_eq(in8(0x64) & 0x01, 0x01);
    cr_assert_eq(level, 1);            /* command byte enables IRQ 1 */
    cr_assert_eq(in8(0x60), 0x55);
    cr_assert_eq(in8(0x64) & 0x01, 0);
    cr_assert_eq(level, 0);
    out8(0x64, 0xab);
    cr_assert_eq(in8(0x60), 0x00);
    cr_assert_eq(in8(0x60), 0x00);     /* an empty buffer re-reads the last byte */
    cr_assert_eq(rises, 2);
}

Test(i8042, a2_bit_tracks_last_port_written)
{
    out8(0x64, 0xae);
    cr_assert_eq(in8(0x64) & 0x08, 0x08);
    out8(0x60, 0xf4);
    cr_assert_eq(in8(0x64) & 0x08, 0x00);
}

Test(i8042, command_byte_read_write_and_irq_enable)
{
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x60), 0x45);
    out8(0x64, 0x60);
    out8(0x60, 0x60);                  /* translate + disable aux bits, no IRQ, SYS clear */
    cr_assert_eq(in8(0x64) & 0x04, 0); /* SYS follows command byte bit 2 */
    int before = rises;
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x64) & 0x01, 0x01);
    cr_assert_eq(rises, before);       /* IRQ 1 disabled */
    cr_assert_eq(in8(0x60), 0x60);
    /* Controller RAM beyond the command byte. */
    out8(0x64, 0x65);
    out8(0x60, 0x99);
    out8(0x64, 0x25);
    cr_assert_eq(in8(0x60), 0x99);
}

Test(i8042, disable_enable_keyboard)
{
    out8(0x64, 0xad);
    i8042_kbd_push(&k, 0x1e);
    cr_assert_eq(in8(0x64) & 0x01, 0); /* disabled: nothing arrives */
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x60) & 0x10, 0x10);
    out8(0x64, 0xae);
    i8042_kbd_push(&k, 0x1e);
    cr_assert_eq(in8(0x60), 0x1e);
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x60) & 0x10, 0);
}

Test(i8042, output_port_a20_and_reset)
{
    out8(0x64, 0xd0);
    cr_assert_eq(in8(0x60) & 0x03, 0x03);   /* not in reset, A20 on */
    out8(0x64, 0xd1);
    out8(0x60, 0x01);                  /* A20 off */
    cr_assert_eq(a20_calls, 1);
    cr_assert(!a20);
    cr_assert_eq(resets, 0);
    out8(0x64, 0xd0);
    cr_assert_eq(in8(0x60) & 0x03, 0x01);
    out8(0x64, 0xd1);
    out8(0x60, 0x03);
    cr_assert(a20);
    out8(0x64, 0xd1);
    out8(0x60, 0x02);                  /* bit 0 low: system reset */
    cr_assert_eq(resets, 1);
}

Test(i8042, pulse_reset_command)
{
    out8(0x64, 0xff);                  /* pulses nothing */
    cr_assert_eq(resets, 0);
    out8(0x64, 0xfe);
    cr_assert_eq(resets, 1);
    cr_assert_eq(k.stats.resets, 1);
}

static void expect_bytes(const uint8_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(in8(0x64) & 0x01, 0x01, "byte %d missing", i);
        cr_assert_eq(level, 1);
        cr_assert_eq(in8(0x60), want[i], "byte %d", i);
    }
    cr_assert_eq(in8(0x64) & 0x01, 0);
    cr_assert_eq(level, 0);
}

Test(i8042, keyboard_commands_are_acknowledged)
{
    out8(0x60, 0xff);
    expect_bytes((const uint8_t[]){ 0xfa, 0xaa }, 2);
    cr_assert_eq(rises, 2);            /* one IRQ edge per byte */
    out8(0x60, 0xf2);
    expect_bytes((const uint8_t[]){ 0xfa, 0xab, 0x41 }, 3);
    out8(0x60, 0xed);
    expect_bytes((const uint8_t[]){ 0xfa }, 1);
    out8(0x60, 0x07);                  /* LED parameter */
    expect_bytes((const uint8_t[]){ 0xfa }, 1);
    out8(0x60, 0xf0);
    out8(0x60, 0x00);                  /* query scan code set */
    expect_bytes((const uint8_t[]){ 0xfa, 0xfa, 0x41 }, 3);
    out8(0x60, 0xee);
    expect_bytes((const uint8_t[]){ 0xee }, 1);
    out8(0x60, 0xf4);
    expect_bytes((const uint8_t[]){ 0xfa }, 1);
    out8(0x60, 0x42);                  /* not a command */
    expect_bytes((const uint8_t[]){ 0xfe }, 1);
}

Test(i8042, write_keyboard_output_buffer)
{
    out8(0x64, 0xd2);
    out8(0x60, 0x9c);
    expect_bytes((const uint8_t[]){ 0x9c }, 1);
}

Test(i8042, aux_port_loopback_and_irq12)
{
    out8(0x64, 0xa9);                  /* AUX interface test */
    cr_assert_eq(in8(0x60), 0x00);
    out8(0x64, 0xa7);
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x60) & 0x20, 0x20);   /* AUX disabled in the command byte */
    out8(0x64, 0xa8);
    out8(0x64, 0x20);
    cr_assert_eq(in8(0x60) & 0x20, 0x00);
    out8(0x64, 0xd3);                  /* loopback: the byte comes back from the AUX side */
    out8(0x60, 0x5a);
    cr_assert_eq(in8(0x64) & 0x21, 0x21);
    cr_assert_eq(aux_level, 0);        /* AUX interrupt not enabled in the command byte */
    cr_assert_eq(level, 0);            /* and never on IRQ 1 */
    cr_assert_eq(in8(0x60), 0x5a);
    cr_assert_eq(in8(0x64) & 0x21, 0x00);
    out8(0x64, 0x60);
    out8(0x60, 0x47);                  /* enable the AUX interrupt */
    out8(0x64, 0xd3);
    out8(0x60, 0xa5);
    cr_assert_eq(aux_level, 1);
    cr_assert_eq(in8(0x60), 0xa5);
    cr_assert_eq(aux_level, 0);
    cr_assert_eq(aux_rises, 1);
    cr_assert_eq(k.stats.aux_irqs, 1);
}

Test(i8042, absent_mouse_times_out_at_once)
{
    out8(0x64, 0xd4);                  /* send to the AUX device: nobody there */
    out8(0x60, 0xff);
    uint8_t st = in8(0x64);
    cr_assert_eq(st & 0x61, 0x61);     /* OBF, AUX data, timeout */
    cr_assert_eq(in8(0x60), 0xfe);
    cr_assert_eq(in8(0x64) & 0x61, 0x00);
}
