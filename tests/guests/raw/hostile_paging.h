/* Paging for the hostile kernels that need a guest-kernel secret (hostile_kread, hostile_stub_escape):
 * the first 8 MiB identity-mapped user-accessible, except the one supervisor page holding the
 * secret, then CR0.PG on. */
#ifndef HOSTILE_PAGING_H
#define HOSTILE_PAGING_H

#include <stdint.h>
#include "systest.h"

#define PG_P 0x001u
#define PG_RW 0x002u
#define PG_US 0x004u

static inline void hostile_paging_on(uint32_t pd[1024], uint32_t pt[2][1024], const volatile void *secret)
{
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 1024; i++)
            pt[t][i] = ((uint32_t)(t * 1024 + i) << 12) | PG_P | PG_RW | PG_US;
        pd[t] = (uint32_t)pt[t] | PG_P | PG_RW | PG_US;
    }
    uint32_t s = (uint32_t)secret;
    pt[s >> 22][(s >> 12) & 1023] &= ~PG_US;   /* the only supervisor page */
    sys_write_cr3((uint32_t)pd);
    sys_write_cr0(sys_read_cr0() | CR0_PG);
}

#endif
