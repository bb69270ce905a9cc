/* Shared checking helpers for the system test kernels: one printed line per check, failures counted. */
#ifndef SYS_SYSTEST_H
#define SYS_SYSTEST_H

#include <stdint.h>
#include "guest.h"
#include "io.h"
#include "sysregs.h"
#include "desc.h"
#include "isr.h"

extern int sys_failures;

/* Prints the description, then "ok" or "FAIL"; counts failures. */
#define CHECK(cond, ...)                      \
    do {                                      \
        guest_printf(__VA_ARGS__);                  \
        if (cond) {                           \
            guest_printf(": ok\n");                 \
        } else {                              \
            guest_printf(": FAIL\n");               \
            sys_failures++;                   \
        }                                     \
    } while (0)

/* True when the command line holds "qemu-quirks": the kernel runs under QEMU TCG for checking
 * the tests themselves, and known QEMU deviations from real hardware are reported, not failed. */
bool sys_qemu_quirks(void);

/* Ends the kernel: guest_pass() when every check held, else guest_fail(). */
void sys_finish(const char *name) __attribute__((noreturn));

#endif
