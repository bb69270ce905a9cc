/* MC146818 RTC and CMOS RAM. Time is not ticked: the clock reads wall-clock time at VM start
 * plus elapsed guest time, and the flags (periodic PF, alarm AF, update-ended UF) are
 * accounted lazily for the interval since they were last looked at; a vtimer is armed only
 * while one of those interrupts is enabled. (MC146818A datasheet; CMOS layout of the IBM AT.) */
#include <string.h>
#include <time.h>
#include "rtc_cmos.h"

enum {
    RTC_SEC = 0x00, RTC_SEC_ALARM = 0x01, RTC_MIN = 0x02, RTC_MIN_ALARM = 0x03,
    RTC_HOUR = 0x04, RTC_HOUR_ALARM = 0x05, RTC_WDAY = 0x06, RTC_MDAY = 0x07,
    RTC_MONTH = 0x08, RTC_YEAR = 0x09, RTC_REG_A = 0x0a, RTC_REG_B = 0x0b,
    RTC_REG_C = 0x0c, RTC_REG_D = 0x0d, RTC_CENTURY = 0x32,
    RTC_A_UIP = 0x80,
    RTC_B_SET = 0x80, RTC_B_PIE = 0x40, RTC_B_AIE = 0x20, RTC_B_UIE = 0x10,
    RTC_B_DM_BINARY = 0x04, RTC_B_24H = 0x02,
    RTC_C_IRQF = 0x80, RTC_C_PF = 0x40, RTC_C_AF = 0x20, RTC_C_UF = 0x10,
    RTC_D_VRT = 0x80,
};

#define NS_PER_SEC 1000000000ull
/* The update cycle: UIP rises 244 us before the registers advance (datasheet, "UIP"). */
#define RTC_UIP_NS 244000ull
#define RTC_BASE_HZ 32768u

static uint64_t rtc_now(const struct rtc_cmos *r)
{
    return vclock_ns(r->clock);
}

static bool rtc_binary(const struct rtc_cmos *r)
{
    return r->ram[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t rtc_encode(const struct rtc_cmos *r, int v)
{
    return rtc_binary(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int rtc_decode(const struct rtc_cmos *r, uint8_t v)
{
    return rtc_binary(r) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hour(const struct rtc_cmos *r, int h)
{
    if (r->ram[RTC_REG_B] & RTC_B_24H)
        return rtc_encode(r, h);
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(rtc_encode(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int rtc_decode_hour(const struct rtc_cmos *r, uint8_t v)
{
    if (r->ram[RTC_REG_B] & RTC_B_24H)
        return rtc_decode(r, v);
    return rtc_decode(r, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

/* Periodic interrupt period in 32.768 kHz cycles (reg A RS3-0; 0 = off; 1 and 2 repeat 8, 9). */
static uint64_t rtc_period_cycles(const struct rtc_cmos *r)
{
    unsigned rs = r->ram[RTC_REG_A] & 0x0f;
    if (rs == 0)
        return 0;
    if (rs < 3)
        rs += 7;
    return 1ull << (rs - 1);
}

static uint64_t rtc_cycles_of_ns(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * RTC_BASE_HZ / NS_PER_SEC);
}

/* UINT64_MAX when beyond the clock's range. */
static uint64_t rtc_ns_of_cycles(uint64_t c)
{
    unsigned __int128 ns = ((unsigned __int128)c * NS_PER_SEC + RTC_BASE_HZ - 1) / RTC_BASE_HZ;
    return ns >= UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* Writes the time and date of wall-clock second secs into the registers. */
static void rtc_fill(struct rtc_cmos *r, int64_t secs)
{
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    r->ram[RTC_SEC] = rtc_encode(r, tm.tm_sec);
    r->ram[RTC_MIN] = rtc_encode(r, tm.tm_min);
    r->ram[RTC_HOUR] = rtc_encode_hour(r, tm.tm_hour);
    r->ram[RTC_WDAY] = rtc_encode(r, tm.tm_wday + 1);
    r->ram[RTC_MDAY] = rtc_encode(r, tm.tm_mday);
    r->ram[RTC_MONTH] = rtc_encode(r, tm.tm_mon + 1);
    r->ram[RTC_YEAR] = rtc_encode(r, year % 100);
    r->ram[RTC_CENTURY] = rtc_encode(r, year / 100);
}

/* The wall-clock second the registers describe (guest-written values may be out of range:
 * timegm normalizes them instead of failing). */
static int64_t rtc_regs_to_secs(const struct rtc_cmos *r)
{
    struct tm tm = { 0 };
    tm.tm_sec = rtc_decode(r, r->ram[RTC_SEC]);
    tm.tm_min = rtc_decode(r, r->ram[RTC_MIN]);
    tm.tm_hour = rtc_decode_hour(r, r->ram[RTC_HOUR]);
    tm.tm_mday = rtc_decode(r, r->ram[RTC_MDAY]);
    tm.tm_mon = rtc_decode(r, r->ram[RTC_MONTH]) - 1;
    tm.tm_year = rtc_decode(r, r->ram[RTC_CENTURY]) * 100 + rtc_decode(r, r->ram[RTC_YEAR]) - 1900;
    return (int64_t)timegm(&tm);
}

static bool rtc_running(const struct rtc_cmos *r)
{
    return !(r->ram[RTC_REG_B] & RTC_B_SET);
}

/* Alarm registers match when equal or "don't care" (the two top bits set). */
static bool rtc_alarm_matches(struct rtc_cmos *r, int64_t secs)
{
    uint8_t save[10], century = r->ram[RTC_CENTURY];
    memcpy(save, r->ram, sizeof(save));
    rtc_fill(r, secs);
    bool match = true;
    static const uint8_t pairs[3][2] = { { RTC_SEC_ALARM, RTC_SEC }, { RTC_MIN_ALARM, RTC_MIN },
                                          { RTC_HOUR_ALARM, RTC_HOUR } };
    for (int i = 0; i < 3; i++) {
        uint8_t a = save[pairs[i][0]];
        if ((a & 0xc0) != 0xc0 && a != r->ram[pairs[i][1]])
            match = false;
    }
    memcpy(r->ram, save, sizeof(save));
    r->ram[RTC_CENTURY] = century;
    return match;
}

static void rtc_update_irq(struct rtc_cmos *r)
{
    uint8_t c = r->ram[RTC_REG_C] & 0x70, b = r->ram[RTC_REG_B];
    bool irqf = (c & RTC_C_PF && b & RTC_B_PIE) || (c & RTC_C_AF && b & RTC_B_AIE) ||
                (c & RTC_C_UF && b & RTC_B_UIE);
    r->ram[RTC_REG_C] = (uint8_t)(c | (irqf ? RTC_C_IRQF : 0));
    if (irqf == r->irq_level)
        return;
    r->irq_level = irqf;
    if (irqf)
        r->stats.irqs++;
    irq_set_level(&r->irq, irqf);
}

/* Sets PF, UF and AF for every periodic tick and update cycle in (accounted_ns, now]. */
static void rtc_account(struct rtc_cmos *r, uint64_t now)
{
    uint64_t then = r->accounted_ns;
    if (now <= then)
        return;
    r->accounted_ns = now;
    uint64_t period = rtc_period_cycles(r);
    if (period && rtc_cycles_of_ns(now) / period > rtc_cycles_of_ns(then) / period)
        r->ram[RTC_REG_C] |= RTC_C_PF;
    if (rtc_running(r)) {
        uint64_t s0 = then / NS_PER_SEC, s1 = now / NS_PER_SEC;
        if (s1 > s0) {
            r->ram[RTC_REG_C] |= RTC_C_UF;
            /* The alarm pattern repeats at least daily: a day of updates covers all matches. */
            uint64_t first = s1 - s0 > 86400 ? s1 - 86400 + 1 : s0 + 1;
            for (uint64_t s = first; s <= s1; s++) {
                if (rtc_alarm_matches(r, r->base_sec + (int64_t)s)) {
                    r->ram[RTC_REG_C] |= RTC_C_AF;
                    break;
                }
            }
        }
    }
    rtc_update_irq(r);
}

/* Arms the timer for the next event of an enabled interrupt source. */
static void rtc_schedule(struct rtc_cmos *r)
{
    uint64_t now = rtc_now(r), next = UINT64_MAX;
    uint8_t b = r->ram[RTC_REG_B];
    uint64_t period = rtc_period_cycles(r);
    if ((b & RTC_B_PIE) && period) {
        uint64_t c = (rtc_cycles_of_ns(now) / period + 1) * period;
        next = rtc_ns_of_cycles(c);
    }
    if ((b & (RTC_B_AIE | RTC_B_UIE)) && rtc_running(r) && now / NS_PER_SEC < UINT64_MAX / NS_PER_SEC) {
        uint64_t s = (now / NS_PER_SEC + 1) * NS_PER_SEC;
        if (s < next)
            next = s;
    }
    if (next == UINT64_MAX)
        vtimer_del(r->clock, &r->timer);
    else
        vtimer_mod(r->clock, &r->timer, next);
}

static void rtc_timer_fire(void *opaque, uint64_t now_ns)
{
    struct rtc_cmos *r = opaque;
    rtc_account(r, now_ns);
    rtc_schedule(r);
}

static uint8_t rtc_read_reg(struct rtc_cmos *r, uint8_t idx)
{
    uint64_t now = rtc_now(r);
    switch (idx) {
    case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_WDAY: case RTC_MDAY:
    case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        if (rtc_running(r))
            rtc_fill(r, r->base_sec + (int64_t)(now / NS_PER_SEC));
        return r->ram[idx];
    case RTC_REG_A: {
        bool uip = rtc_running(r) && now % NS_PER_SEC >= NS_PER_SEC - RTC_UIP_NS;
        return (uint8_t)((r->ram[RTC_REG_A] & 0x7f) | (uip ? RTC_A_UIP : 0));
    }
    case RTC_REG_C: {
        rtc_account(r, now);
        uint8_t v = r->ram[RTC_REG_C];
        r->ram[RTC_REG_C] = 0;   /* reading C clears every flag and IRQF */
        rtc_update_irq(r);
        return v;
    }
    case RTC_REG_D:
        return RTC_D_VRT;        /* the battery is always good */
    default:
        return r->ram[idx];
    }
}

static void rtc_write_reg(struct rtc_cmos *r, uint8_t idx, uint8_t v)
{
    uint64_t now = rtc_now(r);
    switch (idx) {
    case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_WDAY: case RTC_MDAY:
    case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        r->stats.time_sets++;
        if (rtc_running(r)) {
            /* Setting a field of a running clock: the others keep their current values. */
            rtc_fill(r, r->base_sec + (int64_t)(now / NS_PER_SEC));
            r->ram[idx] = v;
            r->base_sec = rtc_regs_to_secs(r) - (int64_t)(now / NS_PER_SEC);
        } else {
            r->ram[idx] = v;
        }
        break;
    case RTC_REG_A:
        rtc_account(r, now);
        r->ram[RTC_REG_A] = v & 0x7f;   /* UIP is read-only */
        rtc_schedule(r);
        break;
    case RTC_REG_B: {
        rtc_account(r, now);
        bool was_set = !rtc_running(r);
        if (v & RTC_B_SET)
            v &= (uint8_t)~RTC_B_UIE;   /* SET clears UIE (datasheet, register B) */
        if (!was_set && (v & RTC_B_SET))
            rtc_fill(r, r->base_sec + (int64_t)(now / NS_PER_SEC));   /* freeze */
        r->ram[RTC_REG_B] = v;
        if (was_set && !(v & RTC_B_SET))
            r->base_sec = rtc_regs_to_secs(r) - (int64_t)(now / NS_PER_SEC);   /* resume */
        rtc_update_irq(r);
        rtc_schedule(r);
        break;
    }
    case RTC_REG_C: case RTC_REG_D:
        break;                     /* read-only */
    default:
        r->ram[idx] = v;
        break;
    }
}

static uint32_t rtc_read(void *opaque, uint32_t off, unsigned size)
{
    struct rtc_cmos *r = opaque;
    (void)size;
    if (off == 0)
        return 0xff;   /* the index register is write-only */
    return rtc_read_reg(r, r->index);
}

static void rtc_write(void *opaque, uint32_t off, uint32_t v, unsigned size)
{
    struct rtc_cmos *r = opaque;
    (void)size;
    if (off == 0) {
        r->index = v & 0x7f;
        r->nmi_masked = v & 0x80;
    } else {
        rtc_write_reg(r, r->index, (uint8_t)v);
    }
}

/* IBM AT CMOS layout: base memory, extended memory (KiB above 1 MiB, also at 0x30), memory
 * above 16 MiB in 64 KiB blocks (0x34), equipment byte, checksum over 0x10-0x2D. */
static void rtc_fill_memory(struct rtc_cmos *r, uint64_t mem_size)
{
    uint64_t ext_kib = mem_size > (1u << 20) ? (mem_size - (1u << 20)) / 1024 : 0;
    uint64_t hi_blocks = mem_size > (16u << 20) ? (mem_size - (16u << 20)) / 65536 : 0;
    if (ext_kib > 0xffff)
        ext_kib = 0xffff;
    if (hi_blocks > 0xffff)
        hi_blocks = 0xffff;
    r->ram[0x10] = 0x00;           /* no floppy drives */
    r->ram[0x12] = 0x00;           /* no hard disks */
    r->ram[0x14] = 0x02;           /* equipment: FPU present, VGA, no floppy */
    r->ram[0x15] = 640 & 0xff;     /* 640 KiB base memory */
    r->ram[0x16] = 640 >> 8;
    r->ram[0x17] = r->ram[0x30] = (uint8_t)ext_kib;
    r->ram[0x18] = r->ram[0x31] = (uint8_t)(ext_kib >> 8);
    r->ram[0x34] = (uint8_t)hi_blocks;
    r->ram[0x35] = (uint8_t)(hi_blocks >> 8);
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++)
        sum += r->ram[i];
    r->ram[0x2e] = (uint8_t)(sum >> 8);
    r->ram[0x2f] = (uint8_t)sum;
}

void rtc_init(struct rtc_cmos *r, struct vclock *clock, struct irq_line irq, int64_t start_sec,
              uint64_t mem_size)
{
    memset(r, 0, sizeof(*r));
    r->clock = clock;
    r->irq = irq;
    r->base_sec = start_sec;
    r->ram[RTC_REG_A] = 0x26;      /* 32.768 kHz time base, 1024 Hz rate selected */
    r->ram[RTC_REG_B] = RTC_B_24H; /* BCD, 24-hour, no interrupts */
    r->accounted_ns = vclock_ns(clock);
    rtc_fill(r, start_sec);
    rtc_fill_memory(r, mem_size);
    vtimer_init(&r->timer, rtc_timer_fire, r);
}

int rtc_register(struct rtc_cmos *r, struct bus *b, struct rf_err *err)
{
    return bus_register_pio(b, 0x70, 2, "rtc-cmos", rtc_read, rtc_write, r, err);
}
