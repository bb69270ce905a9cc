/* The PC platform: creates the ISA devices from a const table, wires their IRQ lines into
 * the 8259 pair and the pair's INTR output into the VM, and maps device-initiated stops
 * (isa-debug-exit, i8042/port 0x92 reset, console quit) onto vm_request_stop. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "pc.h"
#include "console.h"
#include "i8042.h"
#include "misc_ports.h"
#include "pic8259.h"
#include "pit8254.h"
#include "port61.h"
#include "rtc_cmos.h"
#include "uart16550.h"
#include "ringfold/vm.h"

/* ISA IRQ assignments of the PC/AT. */
enum { PC_IRQ_PIT = 0, PC_IRQ_KBD = 1, PC_IRQ_COM1 = 4, PC_IRQ_RTC = 8, PC_IRQ_AUX = 12 };
#define PC_COM1_BASE 0x3f8
#define PC_DEBUG_EXIT_PORT 0xf4

struct pc_platform {
    struct vm *vm;
    struct console con;
    struct pic8259 pic;
    struct pit8254 pit;
    struct port61 port61;
    struct uart16550 uart;
    struct rtc_cmos rtc;
    struct i8042 kbd;
    struct port92 port92;
    struct debug_exit dbg_exit;
    struct debugcon dbgcon;
    struct post_code post;
    /* Port 0x92's own bus handlers, wrapped so that a write also updates the A20 gate. */
    struct bus_region port92_dev;
};

static struct irq_line pc_irq(struct pc_platform *pc, int n)
{
    return (struct irq_line){ pic_set_irq, &pc->pic, n };
}

static void pc_intr_set(void *opaque, int level)
{
    struct pc_platform *pc = opaque;
    pc->vm->intr_pending = level;
}

static void pc_reset_from_kbd(void *opaque)
{
    struct pc_platform *pc = opaque;
    vm_request_stop(pc->vm, VM_STOP_RESET, 0, "guest reset (i8042 reset line)");
}

static void pc_reset_from_port92(void *opaque)
{
    struct pc_platform *pc = opaque;
    vm_request_stop(pc->vm, VM_STOP_RESET, 0, "guest reset (port 0x92 fast reset)");
}

/* The A20 gate is open when the i8042 output port bit 1 OR port 0x92 bit 1 is set (the
 * PS/2 chipsets' rule); engines read the result from vm->a20_clear and notice a change through
 * vm->a20_gen. Called after either source was written. */
static void pc_a20_update(struct pc_platform *pc)
{
    uint32_t clear = pc_a20_enabled(pc->vm) ? VM_A20_ON : VM_A20_OFF;
    if (clear == pc->vm->a20_clear)
        return;
    pc->vm->a20_clear = clear;
    pc->vm->a20_gen++;
}

static void pc_a20_from_kbd(void *opaque, bool on)
{
    (void)on;       /* the device state already holds it; the OR with port 0x92 decides */
    pc_a20_update(opaque);
}

static uint32_t pc_port92_read(void *opaque, uint32_t off, unsigned size)
{
    struct pc_platform *pc = opaque;
    return pc->port92_dev.read(pc->port92_dev.opaque, off, size);
}

static void pc_port92_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct pc_platform *pc = opaque;
    pc->port92_dev.write(pc->port92_dev.opaque, off, v, size);
    pc_a20_update(pc);
}

static void pc_debug_exit(void *opaque, uint32_t value)
{
    struct pc_platform *pc = opaque;
    vm_request_stop(pc->vm, VM_STOP_DEBUG_EXIT, (int)value, NULL);
}

static void pc_quit(void *opaque)
{
    struct pc_platform *pc = opaque;
    vm_request_stop(pc->vm, VM_STOP_QUIT, 0, "quit: Ctrl-A x pressed");
}

/* One constructor per device: initialise the model, register its ports. */
static int pc_add_pic(struct pc_platform *pc, struct rf_err *err)
{
    pic_init(&pc->pic, pc_intr_set, pc);
    pc->vm->intr_ack_fn = pic_intr_ack;
    pc->vm->intr_ack_opaque = &pc->pic;
    return pic_register(&pc->pic, &pc->vm->bus, err);
}

static int pc_add_pit(struct pc_platform *pc, struct rf_err *err)
{
    pit_init(&pc->pit, &pc->vm->clock, pc_irq(pc, PC_IRQ_PIT));
    port61_init(&pc->port61, &pc->pit);
    int rc = pit_register(&pc->pit, &pc->vm->bus, err);
    return rc < 0 ? rc : port61_register(&pc->port61, &pc->vm->bus, err);
}

static int pc_add_uart(struct pc_platform *pc, struct rf_err *err)
{
    struct uart_backend be = { console_putc, &pc->con };
    uart_init(&pc->uart, pc_irq(pc, PC_IRQ_COM1), &pc->vm->clock, be);
    return uart_register(&pc->uart, &pc->vm->bus, PC_COM1_BASE, err);
}

static int pc_add_rtc(struct pc_platform *pc, struct rf_err *err)
{
    /* A deterministic run starts at a fixed date so that its output is reproducible. */
    int64_t start = pc->vm->cfg.deterministic ? RTC_DETERMINISTIC_EPOCH : (int64_t)time(NULL);
    rtc_init(&pc->rtc, &pc->vm->clock, pc_irq(pc, PC_IRQ_RTC), start, pc->vm->mem.size);
    return rtc_register(&pc->rtc, &pc->vm->bus, err);
}

static int pc_add_i8042(struct pc_platform *pc, struct rf_err *err)
{
    i8042_init(&pc->kbd, pc_irq(pc, PC_IRQ_KBD), pc_irq(pc, PC_IRQ_AUX), pc_reset_from_kbd,
               pc_a20_from_kbd, pc);
    return i8042_register(&pc->kbd, &pc->vm->bus, err);
}

static int pc_add_port92(struct pc_platform *pc, struct rf_err *err)
{
    port92_init(&pc->port92, pc_reset_from_port92, pc);
    int rc = port92_register(&pc->port92, &pc->vm->bus, err);
    if (rc < 0)
        return rc;
    /* The device knows nothing of the VM and has no A20 hook: interpose on its bus region
     * (public struct bus fields) so every write re-evaluates the gate here. */
    struct bus *b = &pc->vm->bus;
    struct bus_region *r = &b->pio[b->port_map[0x92] - 1];
    pc->port92_dev = *r;
    r->read = pc_port92_read;
    r->write = pc_port92_write;
    r->opaque = pc;
    return 0;
}

static int pc_add_debug_exit(struct pc_platform *pc, struct rf_err *err)
{
    debug_exit_init(&pc->dbg_exit, pc_debug_exit, pc);
    return debug_exit_register(&pc->dbg_exit, &pc->vm->bus, PC_DEBUG_EXIT_PORT, err);
}

static int pc_add_debugcon(struct pc_platform *pc, struct rf_err *err)
{
    debugcon_init(&pc->dbgcon, console_putc, &pc->con);
    return debugcon_register(&pc->dbgcon, &pc->vm->bus, err);
}

static int pc_add_post(struct pc_platform *pc, struct rf_err *err)
{
    post_code_init(&pc->post);
    return post_code_register(&pc->post, &pc->vm->bus, err);
}

/* The PIC first: every other device's IRQ line points into it. */
static const struct pc_device {
    const char *name;
    int (*add)(struct pc_platform *pc, struct rf_err *err);
} pc_devices[] = {
    { "pic8259", pc_add_pic },
    { "pit8254", pc_add_pit },
    { "uart16550", pc_add_uart },
    { "rtc-cmos", pc_add_rtc },
    { "i8042", pc_add_i8042 },
    { "port92", pc_add_port92 },
    { "isa-debug-exit", pc_add_debug_exit },
    { "debugcon", pc_add_debugcon },
    { "post-code", pc_add_post },
};

int pc_platform_create(struct vm *vm, struct rf_err *err)
{
    struct pc_platform *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return rf_errf(err, -ENOMEM, "pc: out of memory");
    pc->vm = vm;
    int rc = console_open(&pc->con, vm->cfg.serial, err);
    if (rc < 0) {
        free(pc);
        return rc;
    }
    pc->con.quit = pc_quit;
    pc->con.quit_opaque = pc;
    vm->pc = pc;
    for (size_t i = 0; i < sizeof(pc_devices) / sizeof(pc_devices[0]); i++) {
        rc = pc_devices[i].add(pc, err);
        if (rc < 0) {
            pc_platform_destroy(vm);
            return rc;
        }
    }
    return 0;
}

void pc_platform_destroy(struct vm *vm)
{
    struct pc_platform *pc = vm->pc;
    if (!pc)
        return;
    /* Timers live on the VM clock's list: take them off before freeing. */
    for (int i = 0; i < 3; i++)
        vtimer_del(&vm->clock, &pc->pit.ch[i].timer);
    vtimer_del(&vm->clock, &pc->uart.timeout_timer);
    vtimer_del(&vm->clock, &pc->rtc.timer);
    console_close(&pc->con);
    if (vm->intr_ack_opaque == &pc->pic) {
        vm->intr_ack_fn = NULL;
        vm->intr_ack_opaque = NULL;
    }
    free(pc);
    vm->pc = NULL;
}

int pc_input_fd(struct vm *vm)
{
    return vm->pc ? console_input_fd(&vm->pc->con) : -1;
}

void pc_poll_input(struct vm *vm)
{
    struct pc_platform *pc = vm->pc;
    if (!pc)
        return;
    /* Take only what the receiver can hold: the rest waits in the host pipe (flow control). */
    uint8_t buf[UART_FIFO_SIZE];
    size_t n = console_read(&pc->con, buf, uart_rx_space(&pc->uart));
    for (size_t i = 0; i < n; i++)
        uart_receive(&pc->uart, buf[i]);
}

bool pc_a20_enabled(struct vm *vm)
{
    struct pc_platform *pc = vm->pc;
    return pc && ((pc->kbd.out_port & 0x02) || port92_a20(&pc->port92));
}

void pc_set_irq(struct vm *vm, int irq, int level)
{
    if (vm->pc)
        pic_set_irq(&vm->pc->pic, irq, level);
}

void pc_print_stats(struct vm *vm, FILE *out)
{
    struct pc_platform *pc = vm->pc;
    if (!pc)
        return;
    const struct pic_stats *ps = &pc->pic.stats;
    fprintf(out, "pic: %llu acknowledges, %llu spurious; raised per IRQ:",
            (unsigned long long)ps->acks, (unsigned long long)ps->spurious);
    for (int i = 0; i < 16; i++)
        if (ps->raised[i])
            fprintf(out, " %d:%llu", i, (unsigned long long)ps->raised[i]);
    fputc('\n', out);
    fprintf(out, "pit: %llu reprogrammings, %llu IRQ 0 edges, %llu latches, %llu read-backs\n",
            (unsigned long long)pc->pit.stats.reprograms, (unsigned long long)pc->pit.stats.irq_edges,
            (unsigned long long)pc->pit.stats.latches, (unsigned long long)pc->pit.stats.readbacks);
    fprintf(out, "uart: %llu bytes sent, %llu received, %llu overruns, %llu interrupts\n",
            (unsigned long long)pc->uart.stats.tx_bytes, (unsigned long long)pc->uart.stats.rx_bytes,
            (unsigned long long)pc->uart.stats.overruns, (unsigned long long)pc->uart.stats.irqs);
    fprintf(out, "rtc: %llu interrupts, %llu time sets\n",
            (unsigned long long)pc->rtc.stats.irqs, (unsigned long long)pc->rtc.stats.time_sets);
    fprintf(out, "i8042: %llu controller commands, %llu keyboard commands, %llu IRQ 1, %llu IRQ 12, "
            "%llu resets\n",
            (unsigned long long)pc->kbd.stats.commands, (unsigned long long)pc->kbd.stats.kbd_commands,
            (unsigned long long)pc->kbd.stats.irqs, (unsigned long long)pc->kbd.stats.aux_irqs,
            (unsigned long long)pc->kbd.stats.resets);
    fprintf(out, "misc: port 0x80 %llu writes (last %#04x), port 0xe9 %llu bytes, port 0x92 %llu resets, "
            "debug-exit %llu writes\n",
            (unsigned long long)pc->post.writes, pc->post.last, (unsigned long long)pc->dbgcon.bytes,
            (unsigned long long)pc->port92.resets, (unsigned long long)pc->dbg_exit.writes);
}
