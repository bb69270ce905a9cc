/* Native 32-bit Linux twin of the guest runtime: the same test sources, run on the host
 * CPU, print the golden output to stdout (see guest.h). Not linked into guest kernels. */
#include <stdio.h>
#include <stdlib.h>
#include "guest.h"

void guest_putc(char c)
{
    putchar((unsigned char)c);
}

void guest_exit(uint8_t code)
{
    fflush(stdout);
    exit(code == GUEST_EXIT_PASS ? 0 : 1);
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
    return true;
}

const struct multiboot_info *guest_mbi(void) { return NULL; }
const char *guest_cmdline(void) { return ""; }
uint32_t guest_mem_lower_kb(void) { return 0; }
uint32_t guest_mem_upper_kb(void) { return 0; }

const struct multiboot_mmap_entry *guest_mmap_next(const struct multiboot_mmap_entry *prev)
{
    (void)prev;
    return NULL;
}

bool guest_cmdline_get(const char *key, char *buf, size_t size)
{
    (void)key, (void)buf, (void)size;
    return false;
}

int main(void)
{
    /* Same starting x87 state as lib/start.S: FNINIT (control word 0x037F). */
    __asm__ volatile("fninit");
    guest_main();
    guest_pass();
}
