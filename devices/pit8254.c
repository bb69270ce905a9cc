/* Intel 8254 PIT: three 16-bit down counters in modes 0-5, computed from guest time rather
 * than ticked: each channel remembers when counting started and derives its count and OUT
 * level from the elapsed 1.193182 MHz ticks. Channel 0's OUT edges reach IRQ 0 through a
 * vtimer armed for the next output change, so nothing polls. (8254 datasheet, "Modes".) */
#include <string.h>
#include "pit8254.h"

static uint64_t pit_ticks_of_ns(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

/* First nanosecond at which tick t has begun (rounded up so ticks_of_ns(ns) >= t);
 * UINT64_MAX when that lies beyond the clock's range. */
static uint64_t pit_ns_of_tick(uint64_t t)
{
    unsigned __int128 ns = ((unsigned __int128)t * 1000000000u + PIT_HZ - 1) / PIT_HZ;
    return ns >= UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

uint64_t pit_now_tick(const struct pit8254 *pit)
{
    return pit_ticks_of_ns(vclock_ns(pit->clock));
}

static uint32_t pit_bcd_to_bin(uint16_t v)
{
    return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

static uint16_t pit_bin_to_bcd(uint32_t v)
{
    v %= 10000;
    return (uint16_t)((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000) << 12));
}

static bool pit_is_periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Period used for modes 2 and 3: a count of 1 is illegal there; treat it as 2. */
static uint64_t pit_period(const struct pit_channel *c)
{
    return c->count < 2 ? 2 : c->count;
}

/* Ticks counted since the count was loaded (modes 0/4 hold still while the gate is low). */
static uint64_t pit_elapsed(const struct pit_channel *c, uint64_t tick)
{
    if ((c->mode == 0 || c->mode == 4) && !c->gate)
        return c->frozen;
    return tick >= c->load_tick ? tick - c->load_tick : 0;
}

static bool pit_out_at(const struct pit_channel *c, uint64_t tick)
{
    if (!c->armed)
        return c->mode != 0;   /* mode 0 OUT goes low on the control word, others high */
    uint64_t d = pit_elapsed(c, tick), n = c->count;
    switch (c->mode) {
    case 0: return d >= n;
    case 1: return d >= n;
    case 2: return !c->gate || d % pit_period(c) != pit_period(c) - 1;
    case 3: return !c->gate || d % pit_period(c) < (pit_period(c) + 1) / 2;
    case 4: case 5: return d != n;
    default: return true;
    }
}

/* Modes 2, 4 and 5 drop OUT for a single clock (838 ns) before it rises again. The IRQ line
 * gets that as an instantaneous low-high pulse at the rising edge: the PIC sees the same edge,
 * and the timer runs once per event instead of twice, 838 ns apart. */
static bool pit_pulse_mode(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 4 || c->mode == 5;
}

/* Tick (absolute) of the next IRQ-relevant OUT change strictly after tick (for the pulse
 * modes: the rising edge ending the one-clock low), or UINT64_MAX. */
static uint64_t pit_next_change(const struct pit_channel *c, uint64_t tick)
{
    if (!c->armed)
        return UINT64_MAX;
    if (!c->gate && c->mode != 1 && c->mode != 5)
        return UINT64_MAX;
    uint64_t d = pit_elapsed(c, tick), n = c->count;
    switch (c->mode) {
    case 0: case 1:
        return d < n ? c->load_tick + n : UINT64_MAX;
    case 4: case 5:
        return d <= n ? c->load_tick + n + 1 : UINT64_MAX;
    case 2:
        return tick - d % pit_period(c) + pit_period(c);
    case 3: {
        uint64_t p = pit_period(c), r = d % p, base = tick - r, fall = (p + 1) / 2;
        return r < fall ? base + fall : base + p;
    }
    default:
        return UINT64_MAX;
    }
}

/* Current count as the counting element shows it (binary; 0 stands for 65536/10000). */
static uint32_t pit_count_at(const struct pit_channel *c, uint64_t tick)
{
    uint32_t mod = c->bcd ? 10000 : 65536;
    if (!c->armed)
        return c->count % mod;
    if (pit_is_periodic(c) && !c->gate)
        return c->count % mod;
    uint64_t d = pit_elapsed(c, tick), n = c->count;
    uint64_t v;
    if (c->mode == 2)
        v = n - d % pit_period(c);
    else if (c->mode == 3)
        v = (n - (2 * d) % pit_period(c)) & ~1ull;   /* mode 3 counts down by two */
    else
        v = (n + (uint64_t)mod * ((d / mod) + 1) - d);  /* wraps after terminal count */
    return (uint32_t)(v % mod);
}

static void pit_drive(struct pit_channel *c, bool out)
{
    if (out == c->out)
        return;
    c->out = out;
    if (out && c->index == 0)
        c->pit->stats.irq_edges++;
    irq_set_level(&c->irq, out);
}

static void pit_schedule(struct pit_channel *c, uint64_t from_tick)
{
    if (!c->irq.set)
        return;   /* nobody listens to this OUT: it is computed when read */
    uint64_t t = pit_next_change(c, from_tick);
    if (t == UINT64_MAX || pit_ns_of_tick(t) == UINT64_MAX) {
        vtimer_del(c->pit->clock, &c->timer);
        return;
    }
    c->event_tick = t;
    vtimer_mod(c->pit->clock, &c->timer, pit_ns_of_tick(t));
}

/* Timer: apply the OUT change the timer was armed for (at its own tick, so a late run still
 * produces every edge), then arm the next one. A run far behind (a stalled host) skips to the
 * last period: the PIC latches one edge anyway. */
static void pit_timer_fire(void *opaque, uint64_t now_ns)
{
    struct pit_channel *c = opaque;
    uint64_t tick = c->event_tick;
    if (pit_pulse_mode(c))
        pit_drive(c, false);
    pit_drive(c, pit_out_at(c, tick));
    uint64_t now = pit_ticks_of_ns(now_ns);
    uint64_t from = tick;
    if (pit_is_periodic(c) && now > tick + 2 * pit_period(c))
        from = now - pit_period(c) - 1;
    pit_schedule(c, from);
}

/* Re-evaluate OUT now and re-arm the timer after any register change. */
static void pit_refresh(struct pit_channel *c)
{
    uint64_t now = pit_now_tick(c->pit);
    pit_drive(c, pit_out_at(c, now));
    pit_schedule(c, now);
}

void pit_init(struct pit8254 *pit, struct vclock *clock, struct irq_line irq0)
{
    memset(pit, 0, sizeof(*pit));
    pit->clock = clock;
    for (int i = 0; i < 3; i++) {
        struct pit_channel *c = &pit->ch[i];
        c->pit = pit;
        c->index = i;
        c->gate = i != 2;   /* gates 0 and 1 are tied high on the PC; 2 is port 0x61 bit 0 */
        c->mode = 3;
        c->rw = 3;
        c->count = 65536;
        c->out = true;
        vtimer_init(&c->timer, pit_timer_fire, c);
    }
    pit->ch[0].irq = irq0;
}

static void pit_load(struct pit_channel *c, uint16_t raw)
{
    uint64_t now = pit_now_tick(c->pit);
    c->written = raw;
    if (c->bcd)
        c->count = raw ? pit_bcd_to_bin(raw) : 10000;
    else
        c->count = raw ? raw : 65536;
    if (c->count == 0)
        c->count = 10000;   /* BCD 0000 */
    c->pit->stats.reprograms++;
    c->frozen = 0;
    c->load_tick = now;
    /* Modes 1 and 5 wait for a gate trigger; the others start counting at once (the model
     * loads the counting element immediately, so the null-count status clears here). */
    if (c->mode == 1 || c->mode == 5) {
        c->armed = false;
    } else {
        c->armed = true;
        c->null_count = false;
    }
    pit_refresh(c);
}

static void pit_write_count(struct pit_channel *c, uint8_t v)
{
    switch (c->rw) {
    case 1: pit_load(c, v); break;
    case 2: pit_load(c, (uint16_t)(v << 8)); break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
        } else {
            c->write_msb_next = false;
            pit_load(c, (uint16_t)(c->write_lsb | (v << 8)));
        }
        break;
    }
}

static uint16_t pit_visible_count(const struct pit_channel *c, uint64_t tick)
{
    uint32_t v = pit_count_at(c, tick);
    return c->bcd ? pit_bin_to_bcd(v) : (uint16_t)v;
}

static void pit_latch_count(struct pit_channel *c)
{
    if (c->count_latched)
        return;   /* a second latch before the first is read is ignored */
    c->latched = pit_visible_count(c, pit_now_tick(c->pit));
    c->count_latched = true;
    c->latch_msb_next = false;
    c->pit->stats.latches++;
}

static void pit_latch_status(struct pit_channel *c)
{
    if (c->status_latched)
        return;
    /* Status byte: OUT, NULL COUNT, RW1 RW0, M2 M1 M0, BCD (8254 "Read-Back Command"). */
    bool out = pit_out_at(c, pit_now_tick(c->pit));
    c->status = (uint8_t)((out << 7) | (c->null_count << 6) | (c->rw << 4) | (c->mode << 1) | c->bcd);
    c->status_latched = true;
}

static void pit_control(struct pit8254 *pit, uint8_t v)
{
    int sc = v >> 6;
    if (sc == 3) {
        /* Read-back: bit 5 low latches counts, bit 4 low latches status, bits 1-3 select. */
        pit->stats.readbacks++;
        for (int i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            if (!(v & 0x10))
                pit_latch_status(&pit->ch[i]);
            if (!(v & 0x20))
                pit_latch_count(&pit->ch[i]);
        }
        return;
    }
    struct pit_channel *c = &pit->ch[sc];
    uint8_t rw = (v >> 4) & 3;
    if (rw == 0) {
        pit_latch_count(c);
        return;
    }
    c->rw = rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;   /* 6 and 7 are aliases of 2 and 3 */
    c->bcd = v & 1;
    c->write_msb_next = c->read_msb_next = false;
    c->count_latched = c->status_latched = false;
    c->null_count = true;
    c->armed = false;
    c->pit->stats.reprograms++;
    pit_refresh(c);
}

static uint8_t pit_read_count(struct pit_channel *c)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        uint16_t v = c->latched;
        if (c->rw == 1) {
            c->count_latched = false;
            return (uint8_t)v;
        }
        if (c->rw == 2) {
            c->count_latched = false;
            return (uint8_t)(v >> 8);
        }
        if (!c->latch_msb_next) {
            c->latch_msb_next = true;
            return (uint8_t)v;
        }
        c->count_latched = false;
        c->latch_msb_next = false;
        return (uint8_t)(v >> 8);
    }
    uint16_t v = pit_visible_count(c, pit_now_tick(c->pit));
    switch (c->rw) {
    case 1: return (uint8_t)v;
    case 2: return (uint8_t)(v >> 8);
    default:
        c->read_msb_next = !c->read_msb_next;
        return c->read_msb_next ? (uint8_t)v : (uint8_t)(v >> 8);
    }
}

static uint32_t pit_read(void *opaque, uint32_t off, unsigned size)
{
    struct pit8254 *pit = opaque;
    (void)size;
    if (off == 3)
        return 0xff;   /* the control word register cannot be read */
    return pit_read_count(&pit->ch[off]);
}

static void pit_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct pit8254 *pit = opaque;
    (void)size;
    if (off == 3)
        pit_control(pit, (uint8_t)v);
    else
        pit_write_count(&pit->ch[off], (uint8_t)v);
}

int pit_register(struct pit8254 *pit, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0x40, 4, "pit", pit_read, pit_write, pit, err);
}

void pit_set_gate(struct pit8254 *pit, int ch, bool level)
{
    struct pit_channel *c = &pit->ch[ch];
    if (level == c->gate)
        return;
    uint64_t now = pit_now_tick(pit);
    if (!level && (c->mode == 0 || c->mode == 4))
        c->frozen = pit_elapsed(c, now);   /* counting pauses */
    c->gate = level;
    if (level) {
        if (c->mode == 0 || c->mode == 4) {
            c->load_tick = now - c->frozen;   /* counting resumes where it stopped */
        } else if (c->mode == 1 || c->mode == 5) {
            /* Rising gate edge (re)triggers: load the count and start. */
            if (c->count) {
                c->armed = true;
                c->null_count = false;
                c->load_tick = now;
            }
        } else {
            c->load_tick = now;   /* modes 2, 3: a rising gate reloads the count */
        }
    }
    pit_refresh(c);
}

bool pit_get_out(struct pit8254 *pit, int ch)
{
    return pit_out_at(&pit->ch[ch], pit_now_tick(pit));
}
