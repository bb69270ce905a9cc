/* Unit tests for the PC platform wiring: device IRQs reach the CPU through the 8259 pair,
 * device-initiated stops map onto VM stop reasons, CMOS sees the VM's memory size. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>
#include "pc.h"
#include "ringfold/vm.h"

static struct vm vm;

static void out8(uint16_t port, uint8_t v) { bus_pio_write(&vm.bus, port, v, 1); }
static uint8_t in8(uint16_t port) { return (uint8_t)bus_pio_read(&vm.bus, port, 1); }

static void setup(void)
{
    struct vm_config cfg = { .mem_size = 64u << 20, .serial = "null", .deterministic = true };
    struct rf_err err = { { 0 } };
    cr_assert_eq(vm_init(&vm, &cfg, &err), 0, "%s", err.msg);
    /* Linux's PIC setup. */
    out8(0x20, 0x11); out8(0x21, 0x20); out8(0x21, 0x04); out8(0x21, 0x01);
    out8(0xa0, 0x11); out8(0xa1, 0x28); out8(0xa1, 0x02); out8(0xa1, 0x01);
    out8(0x21, 0x00); out8(0xa1, 0x00);
}

static void teardown(void) { vm_destroy(&vm); }

static void advance(uint64_t ns)
{
    vm.clock.icount += ns;
    vclock_run_timers(&vm.clock);
}

TestSuite(pc, .init = setup, .fini = teardown);

Test(pc, pit_irq0_reaches_intr_and_ack_gives_vector)
{
    cr_assert_eq(vm.intr_pending, 0);
    cr_assert_not_null(vm.intr_ack_fn);
    out8(0x43, 0x34);
    out8(0x40, 0x9c);
    out8(0x40, 0x2e);                  /* 11932: 100 Hz */
    for (int i = 0; i < 100 && !vm.intr_pending; i++)
        advance(200000);
    cr_assert_eq(vm.intr_pending, 1);
    cr_assert_eq(vm_intr_ack(&vm), 0x20);
    cr_assert_eq(vm.intr_pending, 0);
    out8(0x20, 0x20);
}

Test(pc, uart_irq4_through_out2)
{
    out8(0x3fc, 0x08);                 /* OUT2 */
    out8(0x3f9, 0x02);                 /* THRE interrupt */
    cr_assert_eq(vm.intr_pending, 1);
    cr_assert_eq(vm_intr_ack(&vm), 0x24);
}

Test(pc, rtc_irq8_through_the_slave)
{
    bus_pio_write(&vm.bus, 0x70, 0x0b, 1);
    bus_pio_write(&vm.bus, 0x71, 0x42, 1);   /* periodic interrupt, 1024 Hz */
    advance(1000000);
    cr_assert_eq(vm.intr_pending, 1);
    cr_assert_eq(vm_intr_ack(&vm), 0x28);
    /* Without reading register C the line stays high: no second interrupt. */
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    advance(3000000);
    cr_assert_eq(vm.intr_pending, 0);
}

Test(pc, keyboard_irq1)
{
    out8(0x64, 0xaa);
    cr_assert_eq(vm.intr_pending, 1);
    cr_assert_eq(vm_intr_ack(&vm), 0x21);
    cr_assert_eq(in8(0x60), 0x55);
}

Test(pc, debug_exit_stops_with_value)
{
    out8(0xf4, 0x10);
    cr_assert_eq(vm.stop, VM_STOP_DEBUG_EXIT);
    cr_assert_eq(vm.stop_code, 0x10);
}

Test(pc, i8042_reset_stops_with_reset)
{
    out8(0x64, 0xfe);
    cr_assert_eq(vm.stop, VM_STOP_RESET);
    cr_assert(strstr(vm.stop_msg, "reset") != NULL);
}

Test(pc, port92_reset_and_a20)
{
    cr_assert(pc_a20_enabled(&vm));    /* i8042 output port has A20 on after POST */
    out8(0x64, 0xd1);
    out8(0x60, 0x01);
    cr_assert(!pc_a20_enabled(&vm));
    out8(0x92, 0x02);
    cr_assert(pc_a20_enabled(&vm));
    cr_assert_eq(vm.stop, 0);
    out8(0x92, 0x03);
    cr_assert_eq(vm.stop, VM_STOP_RESET);
}

Test(pc, cmos_memory_size_and_deterministic_date)
{
    bus_pio_write(&vm.bus, 0x70, 0x17, 1);
    uint8_t lo = in8(0x71);
    bus_pio_write(&vm.bus, 0x70, 0x18, 1);
    uint8_t hi = in8(0x71);
    cr_assert_eq(lo | hi << 8, 63 * 1024);
    bus_pio_write(&vm.bus, 0x70, 0x34, 1);
    lo = in8(0x71);
    bus_pio_write(&vm.bus, 0x70, 0x35, 1);
    hi = in8(0x71);
    cr_assert_eq(lo | hi << 8, 48 * 16);
    bus_pio_write(&vm.bus, 0x70, 0x09, 1);
    cr_assert_eq(in8(0x71), 0x26);
}

Test(pc, absent_hardware_reads_all_ones_and_stats_print)
{
    cr_assert_eq(in8(0x2f8), 0xff);    /* COM2 */
    cr_assert_eq(in8(0x279), 0xff);
    cr_assert_eq(in8(0xe9), 0xe9);
    out8(0x80, 0x55);
    out8(0x3f8, 'x');
    FILE *f = tmpfile();
    pc_print_stats(&vm, f);
    char buf[2048] = { 0 };
    rewind(f);
    cr_assert_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
    fclose(f);
    cr_assert(strstr(buf, "uart: 1 bytes sent") != NULL, "%s", buf);
    cr_assert(strstr(buf, "port 0x80 1 writes (last 0x55)") != NULL, "%s", buf);
    cr_assert_eq(pc_input_fd(&vm), -1);   /* serial null: no input */
}

Test(pc, stdin_input_reaches_uart_with_flow_control)
{
    vm_destroy(&vm);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(0);
    dup2(p[0], 0);
    close(p[0]);
    struct vm_config cfg = { .mem_size = 64u << 20, .serial = "stdio", .deterministic = true };
    cr_assert_eq(vm_init(&vm, &cfg, NULL), 0);
    cr_assert_geq(pc_input_fd(&vm), 0);
    out8(0x3fa, 0x01);                 /* FIFO on */
    char msg[40];
    for (int i = 0; i < 40; i++)
        msg[i] = (char)('A' + i % 26);
    cr_assert_eq(write(p[1], msg, sizeof(msg)), (ssize_t)sizeof(msg));
    pc_poll_input(&vm);
    int got = 0;
    while (in8(0x3fd) & 0x01) {
        cr_assert_eq(in8(0x3f8), (uint8_t)msg[got]);
        got++;
    }
    cr_assert_eq(got, 16);             /* only what the FIFO holds: no overrun */
    cr_assert_eq(in8(0x3fd) & 0x02, 0);
    for (int round = 0; round < 3; round++) {
        pc_poll_input(&vm);
        while (in8(0x3fd) & 0x01) {
            cr_assert_eq(in8(0x3f8), (uint8_t)msg[got]);
            got++;
        }
    }
    cr_assert_eq(got, 40);
    close(p[1]);
    pc_poll_input(&vm);                /* EOF: nothing more, no error */
    cr_assert_eq(in8(0x3fd) & 0x01, 0);
    dup2(saved, 0);
    close(saved);
}
