/* The i386 system-call trap: guest code must never make a host system call.
 *
 * In a 64-bit process, `int 0x80` executed by 32-bit guest code enters the host kernel as a real
 * i386 system call (ARCHITECTURE.md "Raw mode"). A seccomp filter that returns SECCOMP_RET_TRAP
 * for every call whose arch is AUDIT_ARCH_I386 turns it into SIGSYS before the kernel does
 * anything; raw_exit.c then emulates the instruction (emu delivers int 0x80 through the guest's
 * IDT). The monitor itself only makes x86-64 calls, which pass. The jail (rawmode/jail*) stacks
 * its allowlist on top; seccomp runs every filter and the strictest action wins. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "raw_syscall_trap.h"

static bool raw_trap_installed;

int raw_syscall_trap_probe(struct rf_err *why)
{
    /* SECCOMP_GET_ACTION_AVAIL answers without installing anything. */
    unsigned action = SECCOMP_RET_TRAP;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
        return rf_errf(why, -errno, "seccomp SECCOMP_RET_TRAP unavailable: %s", strerror(errno));
    return 0;
}

int raw_syscall_trap_install(struct rf_err *err)
{
    if (raw_trap_installed)
        return 0;
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fp = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return rf_errf(err, -errno, "raw: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
        return rf_errf(err, -errno, "raw: seccomp i386 trap filter: %s", strerror(errno));
    raw_trap_installed = true;
    return 0;
}
