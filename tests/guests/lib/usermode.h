/* Running a C function at CPL 3 and coming back: user_run enters it by IRET, int $0x30 returns. */
#ifndef GUEST_USERMODE_H
#define GUEST_USERMODE_H

#include <stdint.h>

#define USER_RETURN_VEC 0x30

/* Installs the DPL-3 return gate (vector 0x30). Call after desc_init(). */
void user_init(void);
/* Runs fn at CPL 3 (CS 0x1B, SS/DS/ES/FS/GS 0x23) on the user stack with the given EFLAGS
 * (bit 1 forced). Returns the EAX fn had when it executed int $0x30 (or returned). */
uint32_t user_run(void (*fn)(void), uint32_t eflags);
/* Top of the 16 KiB user stack. */
extern uint8_t user_stack_top[];

#endif
