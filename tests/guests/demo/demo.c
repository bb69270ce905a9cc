/* The demo guest that `ringfold run` boots first: shows what the virtual PC looks like
 * (CPUID, memory, command line, RTC), draws a Mandelbrot set, then resets the machine. */
#include "guest.h"
#include "io.h"

static void demo_rule(void)
{
    guest_puts("  ------------------------------------------------------------\n");
}

static void demo_cpu(void)
{
    uint32_t r[4], vendor[4] = { 0 };
    cpu_cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    vendor[0] = r[1], vendor[1] = r[3], vendor[2] = r[2];   /* EBX, EDX, ECX: SDM CPUID leaf 0 */
    guest_printf("  CPU vendor   %s (max leaf %u)\n", (const char *)vendor, max_leaf);
    if (max_leaf >= 1) {
        cpu_cpuid(1, 0, r);
        /* Display family/model fold in the extended fields (SDM Vol. 2A, CPUID leaf 1). */
        uint32_t family = (r[0] >> 8) & 0xF, model = (r[0] >> 4) & 0xF;
        if (family == 0xF)
            family += (r[0] >> 20) & 0xFF;
        if (family == 0x6 || family >= 0xF)
            model |= ((r[0] >> 16) & 0xF) << 4;
        guest_printf("  CPU family   %u, model %u, stepping %u%s%s%s%s\n", family, model, r[0] & 0xF,
                     r[3] & 1 ? ", fpu" : "", r[3] & (1 << 4) ? " tsc" : "",
                     r[3] & (1 << 8) ? " cx8" : "", r[3] & (1 << 15) ? " cmov" : "");
    }
    cpu_cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000004u && r[0] < 0x8000FFFFu) {
        uint32_t brand[13] = { 0 };
        for (uint32_t i = 0; i < 3; i++)
            cpu_cpuid(0x80000002u + i, 0, &brand[i * 4]);
        const char *b = (const char *)brand;
        while (*b == ' ')
            b++;
        guest_printf("  CPU brand    %s\n", b);
    }
}

static void demo_memory(void)
{
    if (!guest_mbi()) {
        guest_puts("  memory       (no Multiboot information)\n");
        return;
    }
    uint32_t lower = guest_mem_lower_kb(), upper = guest_mem_upper_kb();
    guest_printf("  memory       %u KiB low + %u KiB high = %u MiB\n", lower, upper,
                 (lower + upper + 1023) / 1024);
    for (const struct multiboot_mmap_entry *e = guest_mmap_next(NULL); e; e = guest_mmap_next(e))
        guest_printf("    %08llx-%08llx %s\n", (unsigned long long)e->addr,
                     (unsigned long long)(e->addr + e->len - 1),
                     e->type == 1 ? "RAM" : e->type == 3 ? "ACPI" : "reserved");
    const char *cmd = guest_cmdline();
    if (*cmd)
        guest_printf("  command line \"%s\"\n", cmd);
    else
        guest_puts("  command line (none: try --append=\"hello\")\n");
    const struct multiboot_info *mbi = guest_mbi();
    if ((mbi->flags & MULTIBOOT_INFO_LOADER_NAME) && mbi->boot_loader_name)
        guest_printf("  loaded by    %s\n", (const char *)(uintptr_t)mbi->boot_loader_name);
}

/* 4.12 fixed point keeps the inner loop in integer instructions. */
static void demo_mandelbrot(void)
{
    static const char shade[] = " .:-=+*#%@";
    guest_puts("\n");
    for (int y = 0; y < 21; y++) {
        guest_puts("  ");
        for (int x = 0; x < 64; x++) {
            int32_t cr = -2 * 4096 + x * 2.6 * 4096 / 64, ci = -1 * 4096 + y * 2 * 4096 / 20;
            int32_t zr = 0, zi = 0;
            int it = 0;
            while (it < 36) {
                int32_t zr2 = zr * zr >> 12, zi2 = zi * zi >> 12;
                if (zr2 + zi2 > 4 * 4096)
                    break;
                zi = (zr * zi >> 11) + ci;
                zr = zr2 - zi2 + cr;
                it++;
            }
            guest_putc(it >= 36 ? '@' : shade[it * 9 / 36]);
        }
        guest_puts("\n");
    }
    guest_puts("\n");
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);          /* bit 7 clear: NMI stays enabled, as the BIOS leaves it */
    return inb(0x71);
}

static unsigned bcd(uint8_t v, bool binary)
{
    return binary ? v : (v >> 4) * 10 + (v & 0xF);
}

static void demo_rtc(void)
{
    /* MC146818: read while no update is in progress (register A bit 7), and read twice
     * until two reads agree, so a rollover between fields cannot tear the time. */
    uint8_t t[7], u[7];
    static const uint8_t regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };
    int tries = 0;
    do {
        for (int spin = 0; spin < 100000 && (cmos_read(0x0A) & 0x80); spin++)
            ;
        for (int i = 0; i < 7; i++)
            t[i] = cmos_read(regs[i]);
        for (int i = 0; i < 7; i++)
            u[i] = cmos_read(regs[i]);
    } while (memcmp(t, u, sizeof t) && ++tries < 5);
    uint8_t b = cmos_read(0x0B);
    bool binary = b & 0x04, h24 = b & 0x02;
    unsigned hour = bcd(t[2] & 0x7F, binary);
    if (!h24) {               /* 12-hour mode: bit 7 is PM */
        hour %= 12;
        if (t[2] & 0x80)
            hour += 12;
    }
    unsigned century = bcd(t[6], binary);
    if (century < 19 || century > 30)
        century = 20;         /* no century register */
    guest_printf("  RTC          %u-%02u-%02u %02u:%02u:%02u\n", century * 100 + bcd(t[5], binary),
                 bcd(t[4], binary), bcd(t[3], binary), hour, bcd(t[1], binary), bcd(t[0], binary));
}

static __attribute__((noreturn)) void demo_reset(void)
{
    /* i8042 command 0xFE pulses the CPU reset line; wait for the input buffer first
     * (status bit 1), bounded in case there is no controller. */
    for (int spin = 0; spin < 100000 && (inb(0x64) & 0x02); spin++)
        ;
    outb(0x64, 0xFE);
    for (int spin = 0; spin < 1000000; spin++)
        cpu_pause();
    guest_fail("demo: the i8042 reset did not reset the machine");
}

void guest_main(void)
{
    guest_puts("\n");
    demo_rule();
    guest_puts("  ringfold demo guest: a 32-bit Multiboot kernel on a virtual PC\n");
    demo_rule();
    demo_cpu();
    demo_memory();
    demo_rtc();
    demo_mandelbrot();
    guest_puts("  That was the guest. It now resets the machine through the i8042\n"
               "  keyboard controller, and ringfold exits with status 0.\n\n");
    demo_reset();
}
