/* State shared by the jail's two halves: jail.c (entering it) and jail_sigsys.c (its traps). */
#ifndef RAWMODE_JAIL_INTERNAL_H
#define RAWMODE_JAIL_INTERNAL_H

#include "jail.h"

/* One jail per process (seccomp filters are per process, and so is this record). Written by
 * raw_jail_enter() before the filter exists and by signal handlers after: plain fields. */
extern struct raw_jail_stats raw_jail_state;

#endif
