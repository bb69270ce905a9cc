/* Triple fault on purpose: with an empty IDT every exception is a #GP on delivery, the #GP a
 * #DF, the #DF a shutdown (SDM Vol. 3A 6.15 interrupt 8). ringfold must report it (exit status
 * 6); QEMU with -no-reboot simply exits with status 0. */
#include "systest.h"

void guest_main(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } empty = { 0, 0 };
    guest_printf("sys_triple: loading a zero-limit IDT and executing ud2\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
    guest_fail("sys_triple: still running after the triple fault");
}
