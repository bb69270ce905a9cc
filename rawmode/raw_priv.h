/* The raw engine's private state, shared by raw_engine.c, raw_exit.c, raw_timer.c, raw_stats.c. */
#ifndef RINGFOLD_RAW_PRIV_H
#define RINGFOLD_RAW_PRIV_H

#include "../core/thread_timer.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "raw_ldt.h"
#include "raw_native.h"
#include "shadow.h"

struct shadow;
struct csam;

/* Exits from native code, by cause (the --stats lines). */
enum raw_exit_kind {
    RAW_X_GP_PRIV,      /* #GP from a privileged/sensitive instruction (cli, hlt, mov crN, lgdt...) */
    RAW_X_GP_IO,        /* #GP from in/out/ins/outs (IOPL/bitmap) */
    RAW_X_INT_N,        /* #GP with err = n*8+2: int n through a DPL-0 host gate */
    RAW_X_PF_MAPPED,    /* #PF the shadow answered with a new host mapping */
    RAW_X_PF_GUEST,     /* #PF reflected to the guest (its own tables forbid the access) */
    RAW_X_PF_EMULATE,   /* #PF on MMIO / low page / monitored frame: instruction emulated */
    RAW_X_SYSCALL,      /* SIGSYS from the i386 syscall trap: int 0x80 / sysenter / syscall */
    RAW_X_TIMER,        /* the host timer (deadline) */
    RAW_X_UD,           /* #UD (SIGILL) */
    RAW_X_DE,           /* #DE (SIGFPE) */
    RAW_X_FPU,          /* #MF / #XM (SIGFPE) */
    RAW_X_BP,           /* int3 (SIGTRAP) */
    RAW_X_DB,           /* #DB: icebp, or single-step after a native POPF set TF */
    RAW_X_OTHER,        /* #NP #SS #AC #OF #BR ... */
    RAW_X_ENTRY,        /* IRETQ refused the guest state (nothing ran) */
    RAW_X_SEG_FIXUP,    /* a host GDT selector loaded natively, re-resolved against the guest GDT */
    RAW_X_SEG_BAD,      /* ... that the guest could not have loaded: #GP delivered */
    RAW_X_COUNT
};

/* What the engine does about an exit. */
enum raw_action {
    RAW_ACT_RESUME,     /* nothing: go on (native again if the state allows) */
    RAW_ACT_EMULATE,    /* run the instruction at EIP on emu (fresh decode) */
    RAW_ACT_GUEST_PF,   /* deliver #PF(pf_err) with CR2 = pf_addr */
    RAW_ACT_DEBUG,      /* deliver the single-step #DB (DR6.BS already set) */
    RAW_ACT_STOP,       /* the monitor cannot go on: vm_request_stop was called */
};

struct raw {
    struct vm *vm;
    struct x86_emu *emu;        /* the guest's master state lives here between native runs */
    struct shadow *shadow;      /* this (the monitor's) process's low 4 GiB */
    struct raw_frame *frame;    /* the frame of the native run being handled (one of the two below) */
    struct raw_frame *frame_here;   /* native runs in this process */
    struct raw_frame *frame_user;   /* runs in a guest-user stub process (phase 3, raw_stub.c) */
    struct shadow *cur_shadow;  /* the shadow of the process that ran: r->shadow or a stub's */
    struct raw_ldt ldt;

    /* Phase 3: paged guest user code runs in stub processes (raw_stub.c) unless single_unsafe. */
    struct raw_stubs *stubs;
    unsigned nstubs;
    bool single_unsafe;
    bool entered_once;
    bool here_stale;            /* the guest flushed its TLB: revalidate r->shadow before running here */          /* raw_first_entry ran (stubs started, jail entered) */         /* RINGFOLD_RAW_SINGLE=1: everything in this process (benchmarks only) */
    struct vcpu_state st;       /* scratch copy while entering/leaving native */

    struct thread_timer timer;  /* core/thread_timer.h */
    uint64_t timer_deadline;    /* the virtual deadline the host timer is armed for */

    bool cpuid_faulting;        /* arch_prctl(ARCH_SET_CPUID) works on this host */
    bool sep_hidden;            /* SEP cleared from the guest's CPUID (raw_hide_sep) */
    bool native_broken;         /* something failed that makes native entry unsafe */

    /* Phase 2a (raw_csam.c): CSAM, or NULL when off (csam_off_why says why). */
    struct csam *csam;
    const char *csam_off_why;
    bool csam_paged;            /* paging was on at the last raw_csam_paging */
    unsigned io_linger;         /* "may it go native?" answers left that say no after kernel I/O */
    /* Phase 2b (paged kernel code native): emu blocks left before paged kernel code may go native
     * again, set after a trap in native paged kernel code (kern_linger_cur, adaptive) and after
     * native guest user code ran (RAW_VIEW_SWITCH_LINGER: going native would switch views). */
    unsigned kern_linger;
    unsigned kern_linger_cur;   /* the adaptive trap linger: doubled/halved by the last stretch */
    uint64_t kern_mark_ns;      /* stats.native_ns_kernel_paged at the last paged kernel trap */
    enum shadow_view view;      /* the view raw_can_native last set for a native entry */
    uint8_t *csam_writes_per_frame; /* [csam_nframes]: writes that made CSAM forget the frame */
    uint64_t csam_nframes;
    /* Frames emu decoded code from, write-monitored in the shadow so that a NATIVE write to one
     * (paged kernel code copying, clearing, patching pages) drops emu's stale blocks. */
    uint64_t *emu_code_bm;

    /* Paging control the shadow was last told about. */
    uint32_t pg_cr0, pg_cr3, pg_cr4;
    uint64_t pg_efer;
    uint64_t pg_flushes;        /* x86_emu_tlb_flushes at the last look */

    /* The last #PF reflected to the guest. */
    uint32_t pf_err, pf_addr;
    /* shadow_fault's answer for the exit being handled, when raw_fast_resume already asked. */
    bool pf_cached;
    int pf_cached_result;
    uint32_t pf_cached_err;
    uint64_t deadline;          /* of the run in progress */
    uint64_t deadline_host;     /* ... in host monotonic ns */

    struct {
        uint64_t exits[RAW_X_COUNT];
        uint64_t entries;
        uint64_t emulated;          /* instructions emulated on emu after a trap */
        uint64_t emu_ud_host_insn;  /* emulated after a non-#UD trap, and emu raised #UD */
        uint64_t fast_resumes;      /* #PF exits re-entered straight from the frame */
        uint64_t ldt_refused;       /* states raw_ldt_load could not express: one step on emu */
        uint64_t cpuid_native;      /* native runs where guest CPUID showed the host's (no faulting) */
        uint64_t shadow_flushes_kernel; /* full shadow flushes: emu could not watch for INVLPG */
        uint64_t run_ns, native_ns, emu_ns;
        uint64_t native_ns_kernel;      /* part of native_ns at guest CPL 0-2 (paging off or on) */
        uint64_t entries_kernel;
        uint64_t native_ns_kernel_paged, entries_kernel_paged;  /* ... of which with paging on (2b) */
        uint64_t emu_code_frames, emu_code_written, refetch_skipped;
        uint64_t kern_lingers, kern_linger_traps, view_switches, kern_linger_up, kern_linger_down;
        uint64_t csam_scans, csam_writes, csam_unsafe_flushes, csam_entry_refused, csam_forget_all, csam_hot_frames, io_lingers;
        uint64_t patch_traps[16];       /* by enum csam_kind */
    } stats;
};

/* raw_engine.c: the shadow's answer to the #PF in f (st: the guest state that went in). */
enum shadow_result raw_shadow_fault(struct raw *r, const struct vcpu_state *st, const struct raw_frame *f,
                                    uint32_t *guest_err);

/* Emu blocks to run after a port I/O trap in native kernel code before going native again. */
#define RAW_IO_LINGER_BLOCKS 256u
/* Phase 2b linger (raw_csam.c, raw_kernel_trap): after a trap in native paged kernel code, emu
 * runs between MIN and MAX blocks (adaptive) before the code may go native again. */
#define RAW_KERN_LINGER_MIN 64u
#define RAW_KERN_LINGER_MAX 65536u
/* Native time in paged kernel code between two traps (signal delivery included, ~2-7 us here)
 * below which the linger doubles, and above which it halves. */
#define RAW_KERN_STRETCH_SHORT_NS 20000u
#define RAW_KERN_STRETCH_LONG_NS 200000u
/* Emu blocks of paged kernel code after native guest user code ran before the kernel may go
 * native: that entry switches the shadow from view USER to ALL and back (two full flushes and
 * the user working set faulted in again), which only a long kernel stretch pays for. */
#define RAW_VIEW_SWITCH_LINGER 200000u

/* raw_exit.c: after a native run, st holds the guest state (host selectors already mapped back);
 * adjusts EIP where the trap reports the next instruction, and decides. */
enum raw_action raw_exit_classify(struct raw *r, struct vcpu_state *st, int reason);
void raw_exit_act(struct raw *r, enum raw_action a);
/* True when the exit is a fault (EIP at the instruction, nothing of it done), not a trap. */
bool raw_exit_is_fault(const struct raw_frame *f);

/* raw_csam.c: phase 2a, guest kernel code native while paging is off. */
int raw_csam_create(struct raw *r, struct rf_err *err);
void raw_csam_destroy(struct raw *r);
/* May the guest state go native as far as CSAM knows (no scan: emu calls it between blocks)? */
bool raw_csam_native_ok(struct raw *r, const struct vcpu_state *s);
/* Before entering: scans CS:EIP when needed; true when it is a scanned instruction start. */
bool raw_csam_entry_ok(struct raw *r, const struct vcpu_state *s);
/* An instruction fetch fault in the kernel view: scan so the frame may become executable. */
void raw_csam_prepare(struct raw *r, uint32_t eip_lin, uint32_t fault);
/* True when emu's decoded blocks of the code at s's CS:EIP cannot be stale (no refetch needed). */
bool raw_csam_code_coherent(struct raw *r, const struct vcpu_state *s);
/* The kind of the patched CSAM site at linear lin, or -1. */
int raw_csam_patch_at(struct raw *r, uint32_t lin);
void raw_csam_print_stats(struct raw *r, FILE *out);
/* Paging is on (paged) or off now: the shadow's view; turning paging on forgets CSAM's work. */
void raw_csam_paging(struct raw *r, bool paged);
/* Code in state s runs natively under CSAM in the shadow's view ALL: CSAM on, and guest kernel
 * code (CPL 0-2, phase 2a unpaged and 2b paged) or anything while paging is off. */
static inline bool raw_kernel_view(const struct raw *r, const struct vcpu_state *s)
{
    return r->csam && (!(s->cr0 & CR0_PG) || (s->seg[S_CS].sel & 3) != 3);
}
/* The shadow view native code of state s needs (the one place that decides it): ALL for kernel
 * code under CSAM, USER for paged guest user code (or everything when CSAM is off). A switch
 * flushes; in a tree where paged user code runs in its own stub process this stays ALL. */
static inline enum shadow_view raw_view_for(const struct raw *r, const struct vcpu_state *s)
{
    return raw_kernel_view(r, s) ? SHADOW_VIEW_ALL : SHADOW_VIEW_USER;
}
/* raw_csam.c: a trap in native paged kernel code was emulated: adapt and start the linger. */
void raw_kernel_trap(struct raw *r);

/* raw_timer.c */
int raw_timer_create(struct raw *r, struct rf_err *err);
void raw_timer_arm(struct raw *r, uint64_t deadline_ns);
void raw_timer_disarm(struct raw *r);
void raw_timer_destroy(struct raw *r);

/* raw_stats.c */
void raw_print_stats(struct raw *r, FILE *out);

#endif
