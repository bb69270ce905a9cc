/* Intel 8042 keyboard controller: status register, command byte, self and interface tests,
 * keyboard enable/disable, output port (system reset and A20), pulse-reset commands, and a
 * keyboard that acknowledges its commands. The auxiliary (mouse) port exists but nothing is
 * plugged into it: the controller's own AUX commands work (loopback 0xD3, test 0xA9), and
 * bytes sent to the device (0xD4) come back as a timeout error at once, so a guest's mouse
 * probe fails fast instead of waiting for answers that never come. The A20 bit goes to the
 * platform through the set_a20 callback (devices/pc.c), which engines apply to addresses.
 * (8042 / IBM PC AT and PS/2 Technical References.) */
#include <string.h>
#include "i8042.h"

enum {
    ST_OBF = 0x01, ST_IBF = 0x02, ST_SYS = 0x04, ST_A2 = 0x08, ST_UNINHIBITED = 0x10,
    ST_AUX_OBF = 0x20, ST_TIMEOUT = 0x40,
    CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_KBD_DISABLE = 0x10,
    CB_AUX_DISABLE = 0x20, CB_TRANSLATE = 0x40,
    OP_RESET = 0x01, OP_A20 = 0x02, OP_OBF = 0x10,
    KBD_ACK = 0xfa, KBD_RESEND = 0xfe, KBD_BAT_OK = 0xaa,
};

static void i8042_update_irq(struct i8042 *k)
{
    bool aux = k->obuf_flags & I8042_FROM_AUX;
    bool level = k->obf && !aux && (k->ram[0] & CB_KBD_INT);
    bool aux_level = k->obf && aux && (k->ram[0] & CB_AUX_INT);
    if (level != k->irq_level) {
        k->irq_level = level;
        if (level)
            k->stats.irqs++;
        irq_set_level(&k->irq, level);
    }
    if (aux_level != k->aux_irq_level) {
        k->aux_irq_level = aux_level;
        if (aux_level)
            k->stats.aux_irqs++;
        irq_set_level(&k->aux_irq, aux_level);
    }
}

/* Move the next queued byte into the empty output buffer. */
static void i8042_refill(struct i8042 *k)
{
    if (!k->obf && k->qcount) {
        k->obuf = (uint8_t)k->queue[k->qhead];
        k->obuf_flags = (uint8_t)(k->queue[k->qhead] >> 8);
        k->qhead = (k->qhead + 1) % I8042_QUEUE;
        k->qcount--;
        k->obf = true;
    }
    i8042_update_irq(k);
}

static void i8042_queue_flags(struct i8042 *k, uint8_t byte, uint8_t flags)
{
    if (k->qcount < I8042_QUEUE) {
        k->queue[(k->qhead + k->qcount) % I8042_QUEUE] = (uint16_t)(byte | flags << 8);
        k->qcount++;
    }
    i8042_refill(k);
}

static void i8042_queue(struct i8042 *k, uint8_t byte)
{
    i8042_queue_flags(k, byte, 0);
}

void i8042_kbd_push(struct i8042 *k, uint8_t byte)
{
    if (k->ram[0] & CB_KBD_DISABLE)
        return;   /* the disabled keyboard interface holds its clock low: nothing arrives */
    i8042_queue(k, byte);
}

void i8042_init(struct i8042 *k, struct irq_line irq1, struct irq_line irq12, void (*reset)(void *),
                void (*set_a20)(void *, bool), void *hook_opaque)
{
    memset(k, 0, sizeof(*k));
    k->irq = irq1;
    k->aux_irq = irq12;
    k->reset = reset;
    k->set_a20 = set_a20;
    k->hook_opaque = hook_opaque;
    /* State after the BIOS POST: keyboard interrupt on, system flag set, translation on. */
    k->ram[0] = CB_KBD_INT | CB_SYS | CB_TRANSLATE;
    k->status = ST_SYS;
    k->out_port = OP_RESET | OP_A20;
}

static void i8042_pulse_reset(struct i8042 *k)
{
    k->stats.resets++;
    if (k->reset)
        k->reset(k->hook_opaque);
}

static void i8042_write_out_port(struct i8042 *k, uint8_t v)
{
    uint8_t old = k->out_port;
    k->out_port = v;
    if ((v ^ old) & OP_A20 && k->set_a20)
        k->set_a20(k->hook_opaque, v & OP_A20);
    if (!(v & OP_RESET))
        i8042_pulse_reset(k);   /* bit 0 low asserts the CPU reset line */
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
    k->stats.commands++;
    if (cmd >= 0x20 && cmd <= 0x3f) {       /* read controller RAM (0x20: command byte) */
        i8042_queue(k, k->ram[cmd & 0x1f]);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {       /* write controller RAM: data byte follows */
        k->pending_cmd = cmd;
        return;
    }
    if (cmd >= 0xf0) {
        /* Pulse output port bits whose command bit is 0 (bit 0: system reset). */
        if (!(cmd & 1))
            i8042_pulse_reset(k);
        return;
    }
    switch (cmd) {
    case 0xaa:                              /* self-test: passes, sets SYS */
        k->status |= ST_SYS;
        k->ram[0] |= CB_SYS;
        i8042_queue(k, 0x55);
        break;
    case 0xab:                              /* keyboard interface test: no error */
        i8042_queue(k, 0x00);
        break;
    case 0xa7: k->ram[0] |= CB_AUX_DISABLE; break;
    case 0xa8: k->ram[0] &= (uint8_t)~CB_AUX_DISABLE; break;
    case 0xa9: i8042_queue(k, 0x00); break;    /* AUX interface test: lines fine */
    case 0xad: k->ram[0] |= CB_KBD_DISABLE; break;
    case 0xae: k->ram[0] &= (uint8_t)~CB_KBD_DISABLE; break;
    case 0xc0: i8042_queue(k, 0x80); break;    /* input port: keyboard not inhibited */
    case 0xd0:                              /* read output port (bit 4 mirrors OBF) */
        i8042_queue(k, (uint8_t)((k->out_port & ~OP_OBF) | (k->obf ? OP_OBF : 0)));
        break;
    case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        /* write output port / keyboard buffer / AUX buffer (loopback) / to the AUX device */
        k->pending_cmd = cmd;
        break;
    case 0xe0: i8042_queue(k, 0x00); break;    /* test inputs */
    default: break;
    }
}

/* The keyboard's answers to host commands (IBM PS/2 keyboard protocol). */
static void i8042_kbd_command(struct i8042 *k, uint8_t cmd)
{
    k->stats.kbd_commands++;
    if (k->kbd_pending) {
        /* Parameter of 0xED (LEDs), 0xF3 (typematic) or 0xF0 (scan code set). */
        uint8_t which = k->kbd_pending;
        k->kbd_pending = 0;
        i8042_queue(k, KBD_ACK);
        if (which == 0xf0 && cmd == 0)
            i8042_queue(k, (k->ram[0] & CB_TRANSLATE) ? 0x41 : 0x02);   /* current set: 2 */
        return;
    }
    switch (cmd) {
    case 0xff:                              /* reset: ACK, then basic assurance test passed */
        i8042_queue(k, KBD_ACK);
        i8042_queue(k, KBD_BAT_OK);
        break;
    case 0xf2:                              /* identify: MF2 keyboard */
        i8042_queue(k, KBD_ACK);
        i8042_queue(k, 0xab);
        i8042_queue(k, (k->ram[0] & CB_TRANSLATE) ? 0x41 : 0x83);
        break;
    case 0xee: i8042_queue(k, 0xee); break;    /* echo */
    case 0xed: case 0xf3: case 0xf0:
        k->kbd_pending = cmd;
        i8042_queue(k, KBD_ACK);
        break;
    case 0xf4: case 0xf5: case 0xf6: case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb:
        i8042_queue(k, KBD_ACK);
        break;
    default:
        i8042_queue(k, KBD_RESEND);
        break;
    }
}

static void i8042_write_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->pending_cmd;
    k->pending_cmd = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        k->ram[cmd & 0x1f] = v;
        if (cmd == 0x60)
            k->status = (uint8_t)((k->status & ~ST_SYS) | (v & CB_SYS));
        i8042_update_irq(k);
    } else if (cmd == 0xd1) {
        i8042_write_out_port(k, v);
    } else if (cmd == 0xd2) {
        i8042_queue(k, v);
    } else if (cmd == 0xd3) {
        i8042_queue_flags(k, v, I8042_FROM_AUX);
    } else if (cmd == 0xd4) {
        /* No mouse: the controller gives up on the transfer and reports a timeout. */
        k->ram[0] &= (uint8_t)~CB_AUX_DISABLE;
        i8042_queue_flags(k, 0xfe, I8042_FROM_AUX | I8042_TIMEOUT);
    } else {
        /* Writing data to the keyboard enables its interface (8042 behaviour). */
        k->ram[0] &= (uint8_t)~CB_KBD_DISABLE;
        i8042_kbd_command(k, v);
    }
}

static uint32_t i8042_status_read(void *opaque, uint32_t off, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    /* IBF is never set: commands are taken as soon as they are written. */
    uint8_t st = k->status | ST_UNINHIBITED;
    if (k->obf) {
        st |= ST_OBF;
        if (k->obuf_flags & I8042_FROM_AUX)
            st |= ST_AUX_OBF;
        if (k->obuf_flags & I8042_TIMEOUT)
            st |= ST_TIMEOUT;
    }
    return st;
}

static uint32_t i8042_data_read(void *opaque, uint32_t off, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    uint8_t v = k->obuf;   /* an empty buffer re-reads its last byte */
    k->obf = false;
    i8042_update_irq(k);
    i8042_refill(k);
    return v;
}

static void i8042_cmd_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    k->status |= ST_A2;   /* A2: the last write went to the command port */
    i8042_command(k, (uint8_t)v);
}

static void i8042_data_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    k->status &= (uint8_t)~ST_A2;
    i8042_write_data(k, (uint8_t)v);
}

int i8042_register(struct i8042 *k, struct bus *b, struct rf_err *err)
{
    int rc = bus_register_pio(b, 0x60, 1, "i8042-data", i8042_data_read, i8042_data_write, k, err);
    if (rc == 0)
        rc = bus_register_pio(b, 0x64, 1, "i8042-cmd", i8042_status_read, i8042_cmd_write, k, err);
    return rc;
}
