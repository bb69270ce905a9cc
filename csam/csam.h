/* CSAM, code scanning and analysis: finds the sensitive instructions in guest kernel code before it
 * runs natively in ring-compressed mode, int3-patches them, and says which frames to write-monitor. */
#ifndef RINGFOLD_CSAM_H
#define RINGFOLD_CSAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct guest_mem;

/* How CSAM finds guest code: the raw engine supplies a linear -> guest-physical translation over
 * the guest's current paging (unpaged: identity). It must not fault and should not set dirty bits;
 * code bytes are then read from guest RAM directly (struct guest_mem), so CSAM sees its own
 * patches and can hide them. Returns the physical address of the 4 KiB frame holding `linear`,
 * or -1 when the page is not present or not RAM (MMIO, hole). */
struct csam_guest {
    int64_t (*frame)(void *opaque, uint32_t linear);
    void *opaque;
};

/* What makes an instruction interesting. Reasons per kind: docs/csam.md and ARCHITECTURE.md
 * "Raw mode". Kinds up to CSAM_SYSCALL_INSN are patched (they misbehave silently, or trap in a
 * host-dependent way); the rest trap natively with enough information and are only counted. */
enum csam_kind {
    CSAM_PUSHF,        /* pushf/pushfd: shows the real IF/IOPL */
    CSAM_POPF,         /* popf/popfd: IF/IOPL changes silently ignored at CPL 3 */
    CSAM_SEG_READ,     /* mov r/m,sreg; push sreg: shows the compressed RPL / host selector */
    CSAM_SEG_LOAD,     /* mov sreg,r/m; pop sreg; lds/les/lfs/lgs/lss: host GDT, not the guest's */
    CSAM_DESC_TABLE,   /* sgdt sidt sldt str smsw: host values (UMIP emulation: dummies) */
    CSAM_SEG_QUERY,    /* lar lsl verr verw: answer about host descriptors at CPL 3 */
    CSAM_FAR,          /* far call/jmp (direct and indirect), far ret */
    CSAM_IRET,         /* iret: no privilege change at host CPL 3, pops no ESP/SS */
    CSAM_INT,          /* int n (CD ib): int 0x80 would become a host i386 syscall (SIGSYS) */
    CSAM_CPUID,        /* cpuid, only when CPUID faulting is unavailable (host CPUID otherwise) */
    CSAM_SYSCALL_INSN, /* sysenter sysexit syscall sysret: vendor-dependent behaviour in compat mode */
    CSAM_BREAKPOINT,   /* int3 int1 into: trap natively with their own vector; int3 is the guest's */
    CSAM_TRAPPING,     /* cli sti hlt in out ins outs mov crN/drN lgdt lidt lldt ltr lmsw invlpg
                          rdmsr wrmsr clts wbinvd ... : #GP/#UD natively, emulated on the trap */
    CSAM_KIND_COUNT
};

/* One sensitive instruction, found at guest-physical address pa (first seen at linear). */
struct csam_site {
    uint32_t linear;
    uint64_t pa;
    uint8_t len;
    uint8_t kind;        /* enum csam_kind */
    bool patched;        /* 0xCC is in guest RAM at pa; bytes[0] is the original first byte */
    bool from_sweep;     /* found by the linear sweep, not along control flow */
    uint8_t bytes[15];   /* the ORIGINAL instruction bytes: what the trap path emulates */
};

/* Called when a frame starts (on) or stops (off) needing write monitoring: the raw engine passes
 * it to shadow_monitor_frame so every host mapping of the frame is read-only. */
typedef void (*csam_monitor_fn)(void *opaque, uint64_t pa_frame, bool on);

/* Called after CSAM itself wrote guest RAM (an int3 patch applied or removed): the raw engine
 * passes it to x86_emu_code_written so emu's decoded-code cache stays coherent. */
typedef void (*csam_code_written_fn)(void *opaque, uint64_t pa, uint64_t len);

struct csam_config {
    bool cpuid_sensitive;      /* no CPUID faulting on this host: patch cpuid */
    bool gaps_unknown;         /* a gap the sweep cannot decode consistently, or that holds 00 00
                                  (zero-filled data), stays unknown (verdict UNSCANNED, never
                                  patched) instead of making its frame unsafe */
    unsigned insn_budget;      /* instructions decoded per csam_scan along control flow; 0: default */
    csam_monitor_fn monitor;   /* may be NULL */
    void *monitor_opaque;
    csam_code_written_fn code_written;   /* may be NULL */
    void *code_written_opaque;
};

struct csam;
struct x86_emu;

/* A csam_guest.frame for the raw engine: opaque is its struct x86_emu, whose CR0/CR3/CR4/EFER
 * are the guest's current ones; walks the guest's tables with x86_emu_translate as an
 * instruction fetch would (setting A bits; never D bits, never faulting). */
int64_t csam_frame_via_emu(void *emu, uint32_t linear);

/* NULL when out of memory. m is guest RAM, where code is read and patches are written. */
struct csam *csam_create(struct guest_mem *m, const struct csam_config *cfg);
/* Does not restore patches: call csam_unpatch_all first if the guest lives on. */
void csam_destroy(struct csam *c);

/* Scans 32-bit guest code from entry along direct control flow (jmp, jcc both ways, call target
 * and fall-through), across pages, then sweeps the gaps of every frame reached. Returns the number
 * of new sites (>= 0). Cheap when entry is already a known instruction start. */
int csam_scan(struct csam *c, const struct csam_guest *g, uint32_t entry);

/* What the raw engine may do with guest kernel code at pa. */
enum csam_verdict {
    CSAM_UNSCANNED,    /* csam_scan it first */
    CSAM_NATIVE,       /* scanned, consistent: patch it and run it natively */
    CSAM_EMULATE,      /* scanned but unsafe (undecodable, overlapping or inconsistent code): emu */
};
enum csam_verdict csam_verdict_at(const struct csam *c, uint64_t pa);
bool csam_frame_scanned(const struct csam *c, uint64_t pa_frame);
/* Scanned and found unsafe: guest kernel code in it runs on emu until the frame is written. */
bool csam_frame_unsafe(const struct csam *c, uint64_t pa_frame);
/* True for every frame CSAM wants write-monitored (scanned, or holding the tail of a scanned
 * instruction that crosses a page boundary). */
bool csam_frame_monitored(const struct csam *c, uint64_t pa_frame);

/* The site whose first byte is at pa, or NULL. On a SIGTRAP at a patched site (EIP - 1) the raw
 * engine emulates site->bytes; a 0xCC without a patched site is the guest's own breakpoint. */
const struct csam_site *csam_site_at(const struct csam *c, uint64_t pa);

/* Writes 0xCC over the first byte of every patchable site in the frame (not in unsafe frames).
 * Returns the number of patches applied, or -EIO when guest RAM no longer holds the scanned
 * bytes (the frame is then forgotten, as if written). */
int csam_patch_frame(struct csam *c, uint64_t pa_frame);
/* csam_patch_frame for every scanned frame (a scan may add sites to frames patched before);
 * returns the patches applied. */
int csam_patch_all(struct csam *c);
/* Replaces patched bytes in buf, which holds guest RAM from physical pa on (len bytes, any
 * frames), with the original ones: emu's instruction fetch overlay (x86_emu_set_code_hooks). */
void csam_hide_patches(const struct csam *c, uint64_t pa, uint8_t *buf, unsigned len);
/* Restores every patched byte and forgets every frame (monitoring stops): the guest no longer
 * runs kernel code natively (raw phase 2a: paging turned on), so nothing should stay patched. */
void csam_forget_all(struct csam *c);
/* Restores every patched byte (CSAM is being turned off; the guest keeps running elsewhere). */
void csam_unpatch_all(struct csam *c);

/* The guest is about to write to a monitored frame: restore its original bytes, forget its scan
 * and sites (and those of a frame whose last instruction spills into it). Call it BEFORE the
 * write is emulated, so the write lands on original bytes. */
void csam_frame_written(struct csam *c, uint64_t pa_frame);

const char *csam_kind_name(enum csam_kind k);
bool csam_kind_patched(enum csam_kind k);

struct csam_stats {
    uint64_t pages_scanned, pages_unsafe, insns_decoded, insns_swept;
    uint64_t sites[CSAM_KIND_COUNT];
    uint64_t ind_jmp, ind_call, ret, path_unmapped, path_undecodable, budget_exhausted;
    uint64_t sweep_consistent, sweep_inconsistent, overlaps, prefix_skips, unsweeps, guesses_confirmed;
    uint64_t patches_applied, patches_removed, frames_invalidated;
    uint64_t gaps_unknown;     /* inconsistent gaps left undecoded (gaps_unknown) */
};
void csam_get_stats(const struct csam *c, struct csam_stats *out);
void csam_print_stats(const struct csam *c, FILE *out);

#endif
