/* Shared declarations of the native-execution fuzzer kernel (fuzz_native.c, fuzz_gen.c, fuzz_ring0.c, fuzz_entry.S). */
#ifndef FUZZ_NATIVE_H
#define FUZZ_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

/* The fuzz region: user-accessible pages at 1 GiB, each surrounded by unmapped guard pages so
 * that runaway string instructions and stray pointers stop with #PF instead of reaching the
 * kernel (which, in the ring-0 phase, is not mapped at all). */
#define FZ_CODE 0x40000000u      /* one page of sample code */
#define FZ_SCRATCH 0x40002000u   /* two pages of random data, pointers point here */
#define FZ_SCRATCH_SIZE 0x2000u
#define FZ_STACK 0x40005000u     /* one page, ESP starts in its upper half */
#define FZ_NFRAMES 4

/* GPRs, EIP and EFLAGS a sample starts with (fz3_enter reads this layout). */
struct fz_regs {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags;
};

struct fz_opts {
    uint32_t seed;
    uint32_t iters3;    /* ring-3 samples */
    uint32_t iters0;    /* ring-0 samples */
    bool escape;        /* allow far transfers to 0x30-0x33 and SYSCALL/SYSENTER bytes */
    bool verbose;       /* print every sample's outcome */
    /* fuzz_r0paged: the ring-0 samples as paged kernel code that can run natively (raw phase
     * 2b): each starts with CLTS (the task switch's CR0.TS would keep raw on emu) and three in
     * four see the fuzz pages as supervisor-only, as a kernel's own pages. */
    bool r0paged;
    /* fuzz_avoid=ac,hostcs: leave out what triggers known raw-mode bugs, so that a campaign
     * finds others: EFLAGS.AC set natively (popf/iret), far transfers to 0x20-0x23. */
    bool avoid_ac, avoid_hostcs;
};

extern struct fz_opts fz_opts;

uint32_t fz_rand(void);
/* Fills the code page, scratch and stack for one sample; ring0 selects the ring-0 template
 * set and scrubbing (fuzz_gen.c). */
void fz_gen_sample(bool ring0);
void fz_gen_regs(struct fz_regs *r, bool ring0);

/* Paging (fuzz_native.c): the kernel's page directory (identity 0-4 MiB supervisor + the fuzz
 * region) and the ring-0 phase's one (the fuzz region + the given system pages only). */
uint32_t fz_kernel_pd(void);
uint32_t fz_fuzz_pd(void);
void fz_fuzz_pd_map_sys(uint32_t lin, uint32_t pages, bool writable);
/* The fuzz region's U/S in the ring-0 phase's address space (its page-directory entry). */
void fz_fuzz_pd_user(bool user);
/* fuzz_r0paged: the code page moves to the next frame of a pool (the current contents copied
 * along), so that each frame is rewritten rarely: raw's CSAM sends a frame rewritten 8 times
 * while scanned to emu for good, which would end native execution of the samples early. */
#define FZ_R0_POOL 256
void fz_code_next_frame(void);

/* PIT ticks during the current sample (IRQ 0 handlers bump it). */
extern volatile uint32_t fz_ticks;
#define FZ_TICK_LIMIT 3
void fz_eoi(void);

/* Outcome histogram: vectors 0..47, then these. */
#define FZ_OUT_TIMEOUT 48
#define FZ_OUT_TASKJMP 49
#define FZ_OUT_N 50
void fz_report(const char *phase, const uint32_t *hist, uint32_t samples);

/* Ring 3 entry/exit (fuzz_entry.S). */
uint32_t fz3_enter(const struct fz_regs *r);
__attribute__((noreturn)) void fz3_abort(uint32_t outcome);

/* Ring-0 phase (fuzz_ring0.c). */
void fz0_run(uint32_t iters, uint32_t *hist);

#endif
