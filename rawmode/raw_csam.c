/* Raw phases 2a and 2b: guest kernel code runs natively under CSAM's scanning.
 *
 * With paging off there is no guest user address space to protect, so the shadow maps guest
 * RAM flat (view ALL) and guest CPL-0 code can run natively in ring-compressed mode (host CPL 3,
 * LDT copies of its segment caches with DPL 3: raw_ldt.c). What makes that safe is that no byte
 * runs natively before CSAM has scanned it (csam/csam.h, docs/csam.md):
 *   1. The shadow maps a frame executable only when CSAM scanned it and found it safe
 *      (raw_csam_exec_ok, the shadow's exec filter). The first instruction fetch from any other
 *      frame faults (#PF with the I/D bit); raw_csam_prepare then scans from the faulting EIP
 *      (csam_scan), int3-patches the sensitive instructions it found (csam_patch_all) and the
 *      shadow maps the frame executable. A frame CSAM finds unsafe stays non-executable and its
 *      code runs on emu (raw_csam_native_ok says no; emu asks again at every block boundary).
 *   2. Scanned frames are write-monitored everywhere: the shadow maps them read-only (a native
 *      write exits to raw_csam_written through the shadow's write hook) and emu reports its own
 *      writes to them (x86_emu_watch_frame). Either way csam_frame_written restores the original
 *      bytes and forgets the scan BEFORE the write lands, and the frame loses its execute right
 *      (raw_csam_monitor -> shadow_frame_noexec) until it is scanned again.
 *   3. A patched site traps natively with int3 (SIGTRAP); raw_exit.c emulates the original
 *      instruction on emu. Emu never sees a patch: its decoder reads code through
 *      raw_csam_overlay (csam_hide_patches), and CSAM's patch writes drop emu's decoded blocks.
 * Phase 2b: the same with paging on. Guest kernel code (CPL 0-2) runs natively in view ALL with
 * the same exec filter; CSAM walks the guest's tables (csam_frame_via_emu) and keys everything
 * by guest-physical frame, so alias mappings and CR3 switches need nothing. Paged user code runs
 * in view USER (raw_view_for). Trap-dense kernel paths stay on emu a while after each trap
 * (raw_kernel_trap: the adaptive linger). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "raw_priv.h"
#include "raw_stub.h"
#include "shadow.h"
#include "../csam/csam.h"

_Static_assert(CSAM_KIND_COUNT <= sizeof(((struct raw *)0)->stats.patch_traps) / sizeof(uint64_t),
               "raw stats: one patch-trap counter per CSAM kind");

static bool raw_emu_code_frame(const struct raw *r, uint64_t fn)
{
    return fn < r->csam_nframes && (r->emu_code_bm[fn / 64] >> (fn % 64) & 1);
}

/* Write monitoring of a frame in every process that maps guest memory: this one and each
 * guest-user process (a user write to it must exit wherever it runs, and stop exiting there
 * too once the frame is no longer monitored). */
static void raw_monitor_everywhere(struct raw *r, uint64_t pa_frame, bool on)
{
    shadow_monitor_frame(r->shadow, pa_frame, on);
    raw_stubs_monitor(r, pa_frame, on);
}

static void raw_csam_monitor(void *opaque, uint64_t pa_frame, bool on)
{
    struct raw *r = opaque;
    /* The shadow's one monitor bit per frame serves CSAM and emu's decoded code alike. */
    bool mon = on || raw_emu_code_frame(r, pa_frame >> 12);
    raw_monitor_everywhere(r, pa_frame, mon);
    if (x86_emu_watch_frame(r->emu, pa_frame, on) < 0) {
        r->native_broken = true;    /* cannot watch emu's writes: never run kernel code natively */
        vm_request_stop(r->vm, VM_STOP_ERROR, 0, "raw: out of memory for emu's write watch");
    }
    if (!on)
        shadow_frame_noexec(r->shadow, pa_frame);
}

static void raw_csam_code_written(void *opaque, uint64_t pa, uint64_t len)
{
    struct raw *r = opaque;
    x86_emu_code_written(r->emu, pa, len);
}

/* Writes to a scanned frame after which its code runs on emu: each costs an exit, a restore and
 * a rescan, so a frame that is both code and busy data (a stack below boot code, variables next
 * to a loop) is cheaper interpreted (VirtualBox's CSAM gives up on such pages the same way). */
#define RAW_CSAM_HOT_WRITES 8

/* Instructions decoded along control flow per scan (raw_csam_create). */
#define RAW_CSAM_SCAN_BUDGET 2048u

static bool raw_csam_hot(const struct raw *r, uint64_t pa)
{
    uint64_t fn = pa >> 12;
    return fn < r->csam_nframes && r->csam_writes_per_frame[fn] >= RAW_CSAM_HOT_WRITES;
}

/* A write (native through the shadow's hook, or by emu) is about to land in a monitored frame. */
static void raw_csam_written(void *opaque, uint64_t pa_frame)
{
    struct raw *r = opaque;
    pa_frame &= ~0xfffull;
    if (csam_frame_monitored(r->csam, pa_frame)) {
        r->stats.csam_writes++;
        uint64_t fn = pa_frame >> 12;
        if (fn < r->csam_nframes && r->csam_writes_per_frame[fn] < RAW_CSAM_HOT_WRITES &&
            ++r->csam_writes_per_frame[fn] == RAW_CSAM_HOT_WRITES)
            r->stats.csam_hot_frames++;
        csam_frame_written(r->csam, pa_frame);
    }
}

/* The shadow's write hook: a NATIVE write is about to land in a monitored frame. Besides CSAM's
 * frames these are the frames emu decoded kernel code from (raw_csam_overlay): emu's blocks there
 * go, and the frame is no longer monitored for emu's sake until emu decodes from it again (a
 * freed code frame reused as data costs one exit, not one per write). Emu's own writes it sees
 * itself (its self-modifying-code path), so its watch hook is raw_csam_written alone. */
static void raw_csam_native_written(void *opaque, uint64_t pa_frame)
{
    struct raw *r = opaque;
    pa_frame &= ~0xfffull;
    uint64_t efn = pa_frame >> 12;
    if (raw_emu_code_frame(r, efn)) {
        r->emu_code_bm[efn / 64] &= ~(1ull << (efn % 64));
        r->stats.emu_code_written++;
        x86_emu_code_written(r->emu, pa_frame, 4096);
        if (!csam_frame_monitored(r->csam, pa_frame))
            raw_monitor_everywhere(r, pa_frame, false);
    }
    raw_csam_written(opaque, pa_frame);
}

/* Emu decodes an instruction from guest-physical pa (decode_block.c, once per cached block's
 * instruction): hide CSAM's patches, and make sure a native write to the frame reaches emu.
 * Emu's blocks are keyed by physical frame and only emu's own writes invalidate them; with
 * kernel code native (phase 2b) the kernel copies, clears and patches pages natively, so every
 * frame emu holds decoded KERNEL code of is write-monitored (raw_csam_native_written drops the
 * blocks). Guest user code on emu is rare and written natively only by itself (as in phase 1). */
static void raw_csam_overlay(void *opaque, uint64_t pa, uint8_t *buf, unsigned len)
{
    struct raw *r = opaque;
    uint64_t fn = pa >> 12;
    if (fn < r->csam_nframes && !(r->emu_code_bm[fn / 64] >> (fn % 64) & 1) &&
        (x86_emu_peek(r->emu)->seg[S_CS].sel & 3) != 3) {
        r->emu_code_bm[fn / 64] |= 1ull << (fn % 64);
        r->stats.emu_code_frames++;
        raw_monitor_everywhere(r, fn << 12, true);
    }
    csam_hide_patches(r->csam, pa, buf, len);
}

static bool raw_csam_exec_ok(void *opaque, uint64_t pa_frame)
{
    struct raw *r = opaque;
    pa_frame &= ~0xfffull;
    return csam_frame_scanned(r->csam, pa_frame) && !csam_frame_unsafe(r->csam, pa_frame) &&
           !raw_csam_hot(r, pa_frame);
}

int raw_csam_create(struct raw *r, struct rf_err *err)
{
    const char *env = getenv("RINGFOLD_RAW_CSAM");
    if (env && !strcmp(env, "0")) {
        r->csam_off_why = "RINGFOLD_RAW_CSAM=0";
        return 0;
    }
    struct csam_config cfg = {
        .cpuid_sensitive = !r->cpuid_faulting,
        .gaps_unknown = true,
        /* Scan lazily: a scan from one entry point would otherwise follow direct calls through
         * most of a paged Linux kernel (4 million instructions decoded and swept, ~2 s, for code
         * that mostly never runs natively); what is left is scanned on its first fetch fault. */
        .insn_budget = RAW_CSAM_SCAN_BUDGET,
        .monitor = raw_csam_monitor,
        .monitor_opaque = r,
        .code_written = raw_csam_code_written,
        .code_written_opaque = r,
    };
    r->csam_nframes = r->vm->mem.size >> 12;
    r->csam_writes_per_frame = calloc(r->csam_nframes + 1, 1);
    r->emu_code_bm = calloc(r->csam_nframes / 64 + 1, sizeof(uint64_t));
    r->csam = r->csam_writes_per_frame && r->emu_code_bm ? csam_create(&r->vm->mem, &cfg) : NULL;
    if (!r->csam) {
        free(r->csam_writes_per_frame);
        r->csam_writes_per_frame = NULL;
        free(r->emu_code_bm);
        r->emu_code_bm = NULL;
        return rf_errf(err, -ENOMEM, "engine raw: out of memory for CSAM");
    }
    shadow_set_write_hook(r->shadow, raw_csam_native_written, r);
    shadow_set_exec_filter(r->shadow, raw_csam_exec_ok, r);
    x86_emu_set_code_hooks(r->emu, raw_csam_written, raw_csam_overlay, r);
    x86_emu_set_native_unpaged(r->emu, true);
    x86_emu_set_native_paged(r->emu, true);
    r->kern_linger_cur = RAW_KERN_LINGER_MIN;
    return 0;
}

void raw_csam_destroy(struct raw *r)
{
    if (r->csam)
        csam_destroy(r->csam);
    r->csam = NULL;
    free(r->csam_writes_per_frame);
    r->csam_writes_per_frame = NULL;
    free(r->emu_code_bm);
    r->emu_code_bm = NULL;
}

/* Guest-physical address of linear code address lin, or -1 (CSAM's own walker). */
static int64_t raw_csam_pa(struct raw *r, uint32_t lin)
{
    int64_t frame = csam_frame_via_emu(r->emu, lin);
    return frame < 0 ? -1 : frame + (lin & 0xfff);
}

bool raw_csam_native_ok(struct raw *r, const struct vcpu_state *s)
{
    int64_t pa = raw_csam_pa(r, s->seg[S_CS].base + s->eip);
    /* Unscanned code may go: its first fetch faults and is scanned then (raw_csam_prepare). */
    return pa >= 0 && !raw_csam_hot(r, (uint64_t)pa) && csam_verdict_at(r->csam, (uint64_t)pa) != CSAM_EMULATE;
}

/* Scans guest code from linear eip_lin and patches what the scan found. */
static void raw_csam_scan(struct raw *r, uint32_t eip_lin, int64_t pa)
{
    struct csam_stats before, after;
    csam_get_stats(r->csam, &before);
    const struct csam_guest g = { csam_frame_via_emu, r->emu };
    int added = csam_scan(r->csam, &g, eip_lin);
    r->stats.csam_scans++;
    csam_get_stats(r->csam, &after);
    if (added > 0 || after.unsweeps != before.unsweeps)
        csam_patch_all(r->csam);
    else
        csam_patch_frame(r->csam, (uint64_t)pa & ~0xfffull);
    /* A frame a later path found unsafe (overlapping code) may still be mapped executable. */
    if (after.pages_unsafe != before.pages_unsafe) {
        r->stats.csam_unsafe_flushes++;
        shadow_flush_all(r->shadow);
    }
}

/* An instruction fetch faulted at linear `fault` while the instruction at linear `eip_lin` ran
 * (they differ when the instruction crosses into the next page). Scans from the instruction so
 * the faulting frame may become executable; the shadow's exec filter then decides. */
void raw_csam_prepare(struct raw *r, uint32_t eip_lin, uint32_t fault)
{
    int64_t pa = raw_csam_pa(r, fault);
    if (pa >= 0 && !raw_csam_hot(r, (uint64_t)pa) && !raw_csam_exec_ok(r, (uint64_t)pa))
        raw_csam_scan(r, eip_lin, pa);
}

/* Before a native entry in the kernel view: true when the code at s's CS:EIP is a scanned
 * instruction start in a safe frame (scanning it first when needed). */
bool raw_csam_entry_ok(struct raw *r, const struct vcpu_state *s)
{
    uint32_t lin = s->seg[S_CS].base + s->eip;
    int64_t pa = raw_csam_pa(r, lin);
    if (pa < 0 || raw_csam_hot(r, (uint64_t)pa))
        return false;
    enum csam_verdict v = csam_verdict_at(r->csam, (uint64_t)pa);
    if (v == CSAM_UNSCANNED) {
        raw_csam_scan(r, lin, pa);
        v = csam_verdict_at(r->csam, (uint64_t)pa);
    }
    return v == CSAM_NATIVE;
}

/* Before an instruction is emulated after a trap: may emu keep its decoded blocks of the code
 * page? Yes when native writes to it cannot have gone unseen: kernel-view code (which only runs
 * natively from frames CSAM scanned) in a frame CSAM still monitors, the instruction not
 * crossing into the next page. Otherwise x86_emu_refetch drops the page's blocks, which after
 * every cli/sti/pushf trap in native paged kernel code re-decoded the kernel's hot pages (emu
 * blocks invalidated 9,400 -> 49,000 in a Linux pagefault run, ~80% of them by refetch). */
bool raw_csam_code_coherent(struct raw *r, const struct vcpu_state *s)
{
    if (!r->csam || !raw_kernel_view(r, s))
        return false;
    uint32_t lin = s->seg[S_CS].base + s->eip;
    if ((lin & 0xfff) > 0x1000 - 15)
        return false;
    int64_t pa = raw_csam_pa(r, lin);
    return pa >= 0 && csam_frame_monitored(r->csam, (uint64_t)pa & ~0xfffull);
}

/* SIGTRAP one byte past linear `lin`: a CSAM patch there? Returns its kind, or -1. */
int raw_csam_patch_at(struct raw *r, uint32_t lin)
{
    if (!r->csam)
        return -1;
    int64_t pa = raw_csam_pa(r, lin);
    if (pa < 0)
        return -1;
    const struct csam_site *s = csam_site_at(r->csam, (uint64_t)pa);
    return s && s->patched ? s->kind : -1;
}

void raw_csam_paging(struct raw *r, bool paged)
{
    if (!r->csam)
        return;
    if (paged && !r->csam_paged) {
        /* Paging turned on: the unpaged code's scans (the bzImage decompressor's, which Linux
         * overwrites next) are forgotten once: every original byte back, nothing stays
         * write-monitored for nothing, and paged kernel code is scanned afresh as it runs
         * (phase 2b). Only this transition forgets: CSAM's records are per guest-PHYSICAL
         * frame, so CR3 switches (every system call under page-table isolation) keep them. */
        csam_forget_all(r->csam);
        r->stats.csam_forget_all++;
    }
    r->csam_paged = paged;
}

/* A trap in native paged kernel code was emulated (or reflected). Without PATM every cli, sti,
 * pushf, popf and iret costs a signal round trip (~5-10 us here) where emu runs ~800
 * instructions, so kernel paths dense in them are faster interpreted. The linger: the next
 * kern_linger_cur emu blocks run before the kernel may go native again. Adaptive: when the
 * native stretch since the previous trap was short (a trap-dense path: the round trip cost
 * more than the stretch gained) the linger doubles, up to RAW_KERN_LINGER_MAX; when it was long
 * (a trap-free loop) it halves, down to RAW_KERN_LINGER_MIN. */
void raw_kernel_trap(struct raw *r)
{
    uint64_t stretch = r->stats.native_ns_kernel_paged - r->kern_mark_ns;
    r->kern_mark_ns = r->stats.native_ns_kernel_paged;
    if (stretch < RAW_KERN_STRETCH_SHORT_NS && r->kern_linger_cur < RAW_KERN_LINGER_MAX) {
        r->kern_linger_cur *= 2;
        r->stats.kern_linger_up++;
    } else if (stretch > RAW_KERN_STRETCH_LONG_NS && r->kern_linger_cur > RAW_KERN_LINGER_MIN) {
        r->kern_linger_cur /= 2;
        r->stats.kern_linger_down++;
    }
    if (r->kern_linger < r->kern_linger_cur)
        r->kern_linger = r->kern_linger_cur;
    r->stats.kern_linger_traps++;
}

void raw_csam_print_stats(struct raw *r, FILE *out)
{
    if (!r->csam) {
        fprintf(out, "raw: CSAM off (%s): guest kernel code runs on emu\n", r->csam_off_why ? r->csam_off_why : "?");
        return;
    }
    uint64_t traps = 0;
    for (int k = 0; k < CSAM_KIND_COUNT; k++)
        traps += r->stats.patch_traps[k];
    fprintf(out, "raw: native kernel code under CSAM (2a paging off, 2b on): %" PRIu64 " scans, %"
            PRIu64 " writes to scanned frames (scan forgotten), %" PRIu64 " emu writes watched, %" PRIu64
            " flushes after a frame turned unsafe, %" PRIu64 " times everything unpatched (paging on); %" PRIu64
            " frames written %d times while scanned now run on emu\n",
            r->stats.csam_scans, r->stats.csam_writes, x86_emu_watch_hits(r->emu), r->stats.csam_unsafe_flushes,
            r->stats.csam_forget_all, r->stats.csam_hot_frames, RAW_CSAM_HOT_WRITES);
    fprintf(out, "raw: emu blocks run instead of native after kernel port I/O traps (%u each): %" PRIu64 "\n",
            RAW_IO_LINGER_BLOCKS, r->stats.io_lingers);
    fprintf(out, "raw: frames emu decoded code from, write-monitored for native writes: %" PRIu64
            " (%" PRIu64 " of them written, emu's blocks dropped); emulations after a trap that kept emu's "
            "blocks of the (CSAM-monitored) code page: %" PRIu64 "\n", r->stats.emu_code_frames,
            r->stats.emu_code_written, r->stats.refetch_skipped);
    fprintf(out, "raw: phase 2b linger: paged kernel code kept on emu %" PRIu64 " times: after %"
            PRIu64 " traps in native paged kernel code (linger now %u blocks, doubled %" PRIu64 "x, halved %"
            PRIu64 "x) or after native user code (%u blocks); %" PRIu64 " shadow view switches\n",
            r->stats.kern_lingers, r->stats.kern_linger_traps, r->kern_linger_cur, r->stats.kern_linger_up,
            r->stats.kern_linger_down, RAW_VIEW_SWITCH_LINGER, r->stats.view_switches);
    fprintf(out, "raw: patch traps (int3 at a CSAM site, original emulated) %" PRIu64 ":", traps);
    for (int k = 0; k < CSAM_KIND_COUNT; k++)
        if (r->stats.patch_traps[k])
            fprintf(out, " %s %" PRIu64, csam_kind_name((enum csam_kind)k), r->stats.patch_traps[k]);
    fprintf(out, "\n");
    csam_print_stats(r->csam, out);
}
