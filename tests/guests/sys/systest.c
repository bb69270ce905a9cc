/* Shared end-of-test reporting for the system test kernels. */
#include "systest.h"

int sys_failures;

void sys_finish(const char *name)
{
    if (sys_failures)
        guest_fail("%s: %d check(s) failed", name, sys_failures);
    guest_printf("%s: all checks passed\n", name);
    guest_pass();
}

bool sys_qemu_quirks(void)
{
    char buf[4];
    return guest_cmdline_get("qemu-quirks", buf, sizeof(buf));
}
