/* Unit tests for the A20 gate wiring: the i8042 output port and port 0x92 drive vm->a20_clear
 * (OR of the two sources, as on PS/2 chipsets) and bump vm->a20_gen only on a real change. */
#include <criterion/criterion.h>
#include "pc.h"
#include "ringfold/vm.h"

static struct vm vm;

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&vm.bus, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&vm.bus, port, 1); }

static void setup(void)
{
    struct vm_config cfg = { .mem_size = 16u << 20, .serial = "null", .deterministic = true };
    struct rf_err err = { { 0 } };
    cr_assert_eq(vm_init(&vm, &cfg, &err), 0, "%s", err.msg);
}

static void teardown(void) { vm_destroy(&vm); }

/* i8042 command 0xD1: the next data byte is written to the output port. */
static void kbd_out_port(uint8_t v)
{
    out8(0x64, 0xd1);
    out8(0x60, v);
}

TestSuite(a20, .init = setup, .fini = teardown);

Test(a20, starts_enabled)
{
    cr_assert_eq(vm.a20_clear, VM_A20_ON);
    cr_assert(pc_a20_enabled(&vm));
    cr_assert_eq(vm.stop, 0);
}

Test(a20, both_sources_must_be_off)
{
    uint32_t gen = vm.a20_gen;
    out8(0x92, 0x02);                       /* port 0x92 on, i8042 on: no change */
    cr_assert_eq(vm.a20_clear, VM_A20_ON);
    cr_assert_eq(vm.a20_gen, gen);
    kbd_out_port(0xdd);                     /* i8042 off, port 0x92 still on */
    cr_assert_eq(vm.a20_clear, VM_A20_ON);
    cr_assert_eq(vm.a20_gen, gen);
    out8(0x92, 0x00);                       /* both off */
    cr_assert_eq(vm.a20_clear, VM_A20_OFF);
    cr_assert_eq(vm.a20_clear, 0x00100000u);
    cr_assert_neq(vm.a20_gen, gen);
    cr_assert_not(pc_a20_enabled(&vm));
    cr_assert_eq(in8(0x92) & 2, 0);         /* the device still reads back its own bit */
}

Test(a20, each_source_reopens_and_repeats_do_not_bump)
{
    out8(0x92, 0x00);
    kbd_out_port(0xdd);
    cr_assert_eq(vm.a20_clear, VM_A20_OFF);
    uint32_t gen = vm.a20_gen;
    out8(0x92, 0x00);                       /* same state again: no generation change */
    cr_assert_eq(vm.a20_gen, gen);
    kbd_out_port(0xdf);
    cr_assert_eq(vm.a20_clear, VM_A20_ON);
    cr_assert_eq(vm.a20_gen, gen + 1);
    kbd_out_port(0xdd);
    cr_assert_eq(vm.a20_clear, VM_A20_OFF);
    out8(0x92, 0x02);
    cr_assert_eq(vm.a20_clear, VM_A20_ON);
    cr_assert_eq(vm.a20_gen, gen + 3);
    cr_assert_eq(in8(0x92) & 2, 2);
    cr_assert_eq(vm.stop, 0);               /* bit 0 stayed 0: no reset */
}
