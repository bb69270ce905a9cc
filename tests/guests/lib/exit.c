/* Ending a guest test: isa-debug-exit (port 0xF4), else halt with interrupts off. */
#include "guest.h"
#include "io.h"

void guest_exit(uint8_t code)
{
    outb(GUEST_EXIT_PORT, code);
    /* No exit device: stop here so the monitor reports a hung guest. */
    for (;;) {
        cpu_cli();
        cpu_hlt();
    }
}

void guest_pass(void)
{
    guest_exit(GUEST_EXIT_PASS);
}

void guest_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    guest_puts("FAIL: ");
    guest_vprintf(fmt, ap);
    guest_putc('\n');
    va_end(ap);
    guest_exit(GUEST_EXIT_FAIL);
}

bool guest_is_native(void)
{
    return false;
}
