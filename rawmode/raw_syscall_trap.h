/* The minimal seccomp filter every process that runs guest code needs: i386 system calls trap. */
#ifndef RINGFOLD_RAW_SYSCALL_TRAP_H
#define RINGFOLD_RAW_SYSCALL_TRAP_H

#include "ringfold/err.h"

/* Installs (once per process) a filter that turns every i386-arch system call (the guest's
 * int 0x80, and sysenter/syscall from compat mode) into SIGSYS, with PR_SET_NO_NEW_PRIVS.
 * 0, or a negative errno with err filled. */
int raw_syscall_trap_install(struct rf_err *err);

/* Whether this kernel lets an unprivileged process install a filter (for the probe). */
int raw_syscall_trap_probe(struct rf_err *why);

#endif
