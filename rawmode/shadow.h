/* Shadow paging through host mappings: guest linear page L is host page L, mapped on demand
 * from the guest memfd after walking the guest's page tables (docs/shadow-paging.md).
 *
 * How the raw engine's fault path calls this (integration note):
 *   - Host SIGSEGV with trapno 14 while guest code ran natively: linear = the ucontext's CR2
 *     (si_addr), host error code err = uc_mcontext.gregs[REG_ERR]. Access bits:
 *       (err & 2)  -> SH_WRITE       (the W/R bit)
 *       (err & 16) -> SH_EXEC        (the I/D bit: an instruction fetch)
 *       else          SH_READ
 *       | SH_USER when the GUEST's CPL is 3 (the host U bit is always set: the host runs
 *         every guest ring at its CPL 3, so it says nothing about the guest).
 *     Then shadow_fault(s, linear, access, &guest_err):
 *       SHADOW_MAPPED   -> resume natively at the same EIP (the access is retried).
 *       SHADOW_GUEST_PF -> deliver #PF with error code guest_err, CR2 = linear, through emu.
 *       SHADOW_EMULATE  -> run this one instruction on emu (x86_emu_step), then resume.
 *   - Before every native entry: if shadow_error(s) is not NULL, do not enter natively (a
 *     host mapping could not be removed: stop the VM with that message). Call
 *     shadow_sync_a20(s) too (A20 gate changes invalidate every translation).
 *   - Guest MOV CR3 (emulated): shadow_paging_changed(s, true). Guest writes to CR0.PG/WP,
 *     CR4.PSE/PAE/PGE, EFER.NXE, task switches that load CR3 with other changes: (s, false).
 *     INVLPG: shadow_invlpg(s, linear). Keep the emu context's CR0/CR3/CR4/EFER current
 *     BEFORE these calls and before shadow_fault (it walks with them).
 *     CAUTION: a MOV CR3 that reloads the SAME value is a TLB flush too (Linux's
 *     flush_tlb_local / full-range flushes do exactly that after munmap/mprotect of more than
 *     33 pages): comparing CR3 before and after an emu stretch misses it and leaves stale,
 *     possibly freed, frames mapped for guest user code. Likewise a CR4.PGE toggle off and
 *     on (Linux's __flush_tlb_global) leaves CR4 as it was. Report every CR3/CR4 write from
 *     emu (like INVLPG), or revalidate as follows.
 *     While emu does not report INVLPG / same-value CR3 loads: after guest code ran on emu
 *     with paging on and CR0/CR4/EFER unchanged, call shadow_revalidate(s) (CR3 changed:
 *     shadow_paging_changed(s, true) first, it is cheaper) instead of shadow_flush_all.
 *   - Native code at guest CPL 3 only (phase 1): view SHADOW_VIEW_USER (the default). A
 *     switch from ALL to USER flushes everything (supervisor pages must vanish).
 *   - Writes the monitor itself makes to guest RAM through vm->mem.host need nothing: the
 *     host mappings share the memfd pages.
 * One struct shadow per process: it owns the process's low 4 GiB. */
#ifndef RINGFOLD_RAWMODE_SHADOW_H
#define RINGFOLD_RAWMODE_SHADOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vm;
struct rf_err;
struct shadow;
struct x86_emu;

enum shadow_access { SH_READ = 1, SH_WRITE = 2, SH_EXEC = 4, SH_USER = 8 };

enum shadow_result {
    SHADOW_MAPPED,     /* a host mapping now exists: retry the access natively */
    SHADOW_GUEST_PF,   /* the guest's own tables forbid it: deliver #PF(*guest_err), CR2 = linear */
    SHADOW_EMULATE,    /* not mappable (MMIO/hole, below mmap_min_addr, monitored frame written,
                          page-table page being written...): emulate this instruction on emu */
};

enum shadow_view { SHADOW_VIEW_USER, SHADOW_VIEW_ALL };

/* e is the raw engine's emu context: its CR0/CR3/CR4/EFER are the guest's current ones
 * (the raw engine keeps them current) and its page walker (x86_emu_translate) is used.
 * Reserves [mmap_min_addr, 4 GiB) of this process; fails with the reason (and what already
 * lives there) when that is impossible. */
int shadow_create(struct vm *vm, struct x86_emu *e, struct shadow **out, struct rf_err *err);
void shadow_destroy(struct shadow *s);
void shadow_set_view(struct shadow *s, enum shadow_view v);

/* A host fault at guest linear address `linear` (SIGSEGV with trapno 14: access from the
 * host error code: W bit -> SH_WRITE, I/D bit -> SH_EXEC, plus SH_USER when guest CPL is 3). */
enum shadow_result shadow_fault(struct shadow *s, uint32_t linear, unsigned access, uint32_t *guest_err);

/* Paging control changed (CR0.PG/WP, CR3, CR4.PSE/PAE/PGE, EFER.NXE): flush what the
 * architecture flushes (a CR3 write keeps global pages when CR4.PGE). Unpaged: linear = physical. */
void shadow_paging_changed(struct shadow *s, bool cr3_write_only);
void shadow_invlpg(struct shadow *s, uint32_t linear);
void shadow_flush_all(struct shadow *s);

/* Write monitoring per guest-physical frame (CSAM, page tables): every host mapping of a
 * monitored frame is read-only; a write to it gives SHADOW_EMULATE and calls the hook.
 * pa_frame is the frame's guest-physical ADDRESS (4 KiB aligned; the low 12 bits are
 * ignored), not a frame number. Frames that are not RAM are ignored. The hook may call
 * shadow_monitor_frame (e.g. to stop monitoring the frame it is told about). */
typedef void (*shadow_write_hook)(void *opaque, uint64_t pa_frame);
void shadow_set_write_hook(struct shadow *s, shadow_write_hook fn, void *opaque);
void shadow_monitor_frame(struct shadow *s, uint64_t pa_frame, bool on);
void shadow_print_stats(const struct shadow *s, FILE *out);

/* ---- Additions beyond the fixed interface ---- */

/* Host protection bits of a live mapping (PROT_READ/WRITE/EXEC) of linear's page, and its
 * guest-physical frame address in *pa (may be NULL); -1 when the page is not mapped. */
int shadow_query(const struct shadow *s, uint32_t linear, uint64_t *pa);

/* After guest code ran on emu with paging on (it may have edited page tables and executed
 * INVLPG or MOV CR3, which emu does not report): drops or write-protects exactly the mappings
 * that no longer match the guest's current tables, keeps the rest. Correct in place of
 * shadow_flush_all there, and far cheaper when the working set survives (shadow_flush.c).
 * CR0/CR4/EFER changes still need shadow_paging_changed(s, false). */
void shadow_revalidate(struct shadow *s);

/* Flushes everything when the A20 gate moved since the last call; true when it flushed. */
bool shadow_sync_a20(struct shadow *s);

/* NULL, or why the host address space can no longer be trusted to match the shadow state
 * (an unmap failed): never run guest code natively then. */
const char *shadow_error(const struct shadow *s);

/* The budget of host VMAs the shadow mappings may use before everything is evicted
 * (default: half of what vm.max_map_count leaves, see shadow.c). For tests. */
void shadow_set_vma_budget(struct shadow *s, uint64_t vmas);

/* Phase 2a (guest kernel code native while paging is off, view ALL): a frame may be mapped
 * executable only when fn says so (CSAM scanned and patched it); an instruction fetch from a
 * frame it refuses gives SHADOW_EMULATE (counted as exec_refused). The raw engine scans on that
 * fault before asking the shadow, so the refusal is the "not scanned yet" signal. Changing the
 * filter or the view drops every mapping. */
typedef bool (*shadow_exec_filter)(void *opaque, uint64_t pa_frame);
void shadow_set_exec_filter(struct shadow *s, shadow_exec_filter fn, void *opaque);
/* Removes the execute right from every host mapping of the frame (CSAM forgot its scan). */
void shadow_frame_noexec(struct shadow *s, uint64_t pa_frame);

/* Phase 3: a shadow for ANOTHER process's low 4 GiB (a guest-user stub process, raw_stub.c).
 * Its host mapping calls go through these operations, which queue them for that process, instead
 * of being made here; they report failures later (raw_stub.c then resets the shadow). The
 * process reserves [mmap_min_addr, 4 GiB) itself. */
struct shadow_host_ops {
    int (*map)(void *opaque, uint64_t addr, uint64_t len, unsigned prot, uint64_t pa);
    int (*reserve)(void *opaque, uint64_t addr, uint64_t len);      /* PROT_NONE, anonymous */
    int (*protect)(void *opaque, uint64_t addr, uint64_t len, unsigned prot);
};
int shadow_create_remote(struct vm *vm, struct x86_emu *e, const struct shadow_host_ops *ops, void *opaque,
                         struct shadow **out, struct rf_err *err);
/* Forgets every mapping and has the host side replace the whole range with the reservation (the
 * answer to a failed remote operation, and to reusing a stub for another address space). */
void shadow_reset(struct shadow *s);
/* Makes dst monitor the frames src monitors (a new stub shadow joins the monitor's). */
void shadow_copy_monitoring(struct shadow *dst, const struct shadow *src);
/* First linear page the shadow may map (mmap_min_addr rounded up). */
uint32_t shadow_min_page(const struct shadow *s);

struct shadow_stats {
    uint64_t faults;              /* shadow_fault calls */
    uint64_t mapped;              /* new host mappings made */
    uint64_t upgraded;            /* existing read-only mapping made writable (first write: D set) */
    uint64_t spurious;            /* the books said the access was allowed: mapped again */
    uint64_t guest_pf;            /* reflected to the guest as #PF */
    uint64_t emulate_mmio;        /* not RAM: MMIO, VGA hole, past the end of RAM */
    uint64_t emulate_low;         /* below mmap_min_addr */
    uint64_t emulate_monitored;   /* write to a write-monitored frame (hook called) */
    uint64_t emulate_user_view;   /* supervisor page / supervisor-only write in view USER */
    uint64_t map_errors;          /* mmap failed even after an eviction */
    uint64_t ahead;               /* pieces of large guest pages mapped with the faulting one */
    uint64_t live, peak;          /* 4 KiB pages mapped now, most ever */
    uint64_t runs;                /* maximal runs of mergeable pages: host VMAs <= 2*runs+1 */
    uint64_t vma_budget;
    uint64_t flush_full, flush_cr3, invlpg, invlpg_unmapped;
    uint64_t evictions;           /* full flushes forced by the VMA budget */
    uint64_t revalidations, revalidate_dropped, revalidate_downgraded;
    uint64_t monitored_frames, downgrades, hook_calls;
    uint64_t exec_refused, exec_revoked;   /* phase 2a exec filter: fetches refused, rights removed */
    uint64_t mmap_min_addr, max_map_count;
};
void shadow_get_stats(const struct shadow *s, struct shadow_stats *out);

#endif
