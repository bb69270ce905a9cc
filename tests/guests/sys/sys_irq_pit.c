/* 8259A + 8254: PIT channel 0 in mode 2 at 1 kHz counted over ~50 ms with STI/HLT, EOI and the
 * in-service register, masking, CLI, and the STI interrupt shadow (SDM Vol. 3A 6.8.3: an
 * interrupt pending at STI is taken only after the next instruction, so STI; HLT never misses). */
#include "systest.h"
#include "pctimer.h"

#define PIT_DIV 1193   /* 1193182 / 1193 = 1000.15 Hz */

static volatile uint32_t ticks, first_eip, do_eoi = 1;

static void irq0_handler(struct isr_frame *f)
{
    if (ticks++ == 0)
        first_eip = f->eip;
    if (do_eoi)
        pic_eoi(0);
}

static void pit_ch0_start(void)
{
    outb(0x43, 0x34);   /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
    outb(0x40, PIT_DIV & 0xFF);
    outb(0x40, PIT_DIV >> 8);
}

static uint32_t count_window(void)
{
    ticks = 0;
    pit_ch2_start(50);
    __asm__ volatile("sti");
    while (!pit_ch2_done())
        __asm__ volatile("hlt");   /* every IRQ 0 wakes HLT; channel 2 ends the window */
    __asm__ volatile("cli");
    return ticks;
}

static void test_rate(void)
{
    /* 1 kHz over 50 ms by an independent clock (channel 2): 50. A monitor that ties virtual
     * time to the host's may drop ticks while the host deschedules it, so the best of three
     * windows is checked: it catches a wrong rate, not a noisy host. */
    uint32_t best = 0, n[3];
    for (int i = 0; i < 3; i++) {
        n[i] = count_window();
        if (n[i] > best)
            best = n[i];
    }
    CHECK(best >= 45 && best <= 55, "IRQ0 ticks in 50 ms (ch2 window), best of 3: %s",
          best >= 45 && best <= 55 ? "45..55" : "OUT OF RANGE");
    guest_printf("  (counted %u %u %u)\n", n[0], n[1], n[2]);

    /* Waiting for 20 ticks by HLT alone also works: each wakes the CPU. */
    ticks = 0;
    __asm__ volatile("sti");
    while (ticks < 20)
        __asm__ volatile("hlt");
    __asm__ volatile("cli");
    CHECK(ticks == 20 || ticks == 21, "20 ticks by sti/hlt loop");
}

static void test_readback(void)
{
    outb(0x43, 0x00);   /* counter latch, channel 0 */
    uint32_t lo = inb(0x40), hi = inb(0x40);
    uint32_t c = hi << 8 | lo;
    CHECK(c >= 1 && c <= PIT_DIV, "channel 0 latched count within 1..%u", PIT_DIV);
}

static void test_eoi(void)
{
    do_eoi = 0;
    ticks = 0;
    __asm__ volatile("sti");
    pit_wait_ms(10);
    __asm__ volatile("cli");
    uint32_t n = ticks;
    uint8_t isr = pic_read_isr();
    CHECK(n == 1 && (isr & 1), "without EOI: one tick in 10 ms (%u), ISR bit 0 set", n);
    do_eoi = 1;
    pic_eoi(0);
    CHECK((pic_read_isr() & 1) == 0, "EOI clears ISR bit 0");
    ticks = 0;
    __asm__ volatile("sti");
    pit_wait_ms(10);
    __asm__ volatile("cli");
    CHECK(ticks >= 2, "with EOI ticks resume");
}

static void test_mask_cli(void)
{
    ticks = 0;
    pit_wait_ms(5);
    CHECK(ticks == 0, "IF=0: no tick delivered");
    CHECK(pic_read_irr() & 1, "  IRR bit 0 pending meanwhile");
    outb(0x21, 0xFF);
    __asm__ volatile("sti");
    pit_wait_ms(5);
    __asm__ volatile("cli");
    /* The one request already latched in IRR may or may not be lost by masking: none is taken. */
    CHECK(ticks == 0, "IRQ0 masked in IMR: no tick with IF=1");
    outb(0x21, 0xFE);
}

static void test_sti_shadow(void)
{
    extern char irq_after_hlt[];
    /* Make sure IRQ 0 is pending (IRR) while IF=0, then STI; HLT. */
    ticks = 0;
    while (!(pic_read_irr() & 1))
        ;
    __asm__ volatile("sti\n\t"
                     "hlt\n"
                     "irq_after_hlt:\n\t"
                     "cli" : : : "memory");
    CHECK(ticks >= 1 && first_eip == (uint32_t)irq_after_hlt, "sti; hlt with IRQ pending: taken after hlt (%s)",
          first_eip == (uint32_t)irq_after_hlt ? "eip after hlt" : "WRONG eip");
}

/* An external interrupt whose IDT gate is not present: #NP with EXT=1 and IDT=1 in the error
 * code, (vector << 3) | 3 (SDM 6.13). The PIC has already acknowledged it, so the #NP handler
 * restores the gate and sends the EOI. */
static volatile uint32_t np_err, np_hits;

static void np_handler(struct isr_frame *f)
{
    np_err = f->err;
    np_hits++;
    desc_reset_gate(PIC_MASTER_BASE);
    pic_eoi(0);
}

static void test_ext_bit(void)
{
    isr_handlers[11] = np_handler;
    desc_set_gate(PIC_MASTER_BASE, desc_isr_stub(PIC_MASTER_BASE), SEL_KCODE, GATE_INT32 & 0x7F);
    np_hits = 0;
    __asm__ volatile("sti");
    pit_ch2_start(50);
    while (!np_hits && !pit_ch2_done())
        ;
    ticks = 0;
    pit_wait_ms(10);
    __asm__ volatile("cli");
    isr_handlers[11] = 0;
    if (sys_qemu_quirks() && np_hits == 1 && np_err == (PIC_MASTER_BASE << 3 | 2))
        guest_printf("IRQ0 with its gate not present: #NP err=%x, EXT=0 under QEMU (known QEMU deviation)\n", np_err);
    else
        CHECK(np_hits == 1 && np_err == (PIC_MASTER_BASE << 3 | 3),
              "IRQ0 with its gate not present: #NP err=%x (EXT=1)", np_err);
    CHECK(ticks >= 2, "ticks resume once the gate is back");
}

void guest_main(void)
{
    desc_init();
    isr_handlers[0x20] = irq0_handler;
    pic_init(0xFE, 0xFF);
    CHECK(inb(0x21) == 0xFE && inb(0xA1) == 0xFF, "PIC IMR read back: %02x %02x", inb(0x21), inb(0xA1));
    pit_ch0_start();
    test_rate();
    test_readback();
    test_eoi();
    test_mask_cli();
    test_sti_shadow();
    test_ext_bit();
    outb(0x21, 0xFF);
    sys_finish("sys_irq_pit");
}
