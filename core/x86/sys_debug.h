/* Debug-register breakpoint matching (SDM Vol. 3 §17.2), for the exec side to call at instruction
 * fetch, after data accesses and on port I/O when a breakpoint is armed in DR7. */
#ifndef RINGFOLD_SYS_DEBUG_H
#define RINGFOLD_SYS_DEBUG_H

#include <stdbool.h>
#include <stdint.h>
#include "x86_cpu.h"

/* True when any of L0-3/G0-3 is set: only then do the match functions need calling. */
static inline bool sys_dr_armed(const struct x86_cpu *c) { return (c->s.dr[7] & 0xffu) != 0; }

/* DR6 B0-B3 bits of the enabled execute breakpoints at linear address lin (a fault: report
 * before the instruction runs, unless EFLAGS.RF is set). */
uint32_t sys_dr_match_exec(const struct x86_cpu *c, uint32_t lin);
/* DR6 B0-B3 bits of the enabled data breakpoints that [lin, lin+len) touches: R/W = 01 matches
 * writes, R/W = 11 reads and writes (a trap: report after the instruction). */
uint32_t sys_dr_match_data(const struct x86_cpu *c, uint32_t lin, unsigned len, bool write);
/* DR6 B0-B3 bits of the enabled I/O breakpoints (R/W = 10, only with CR4.DE) for a port access. */
uint32_t sys_dr_match_io(const struct x86_cpu *c, uint16_t port, unsigned len);

#endif
