/* Raw phase 2a: guest kernel code runs natively while paging is off, under CSAM's scanning.
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
 * Paged guest kernel code stays on emu (phase 3: a kernel-context process). */
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

static void raw_csam_monitor(void *opaque, uint64_t pa_frame, bool on)
{
    struct raw *r = opaque;
    shadow_monitor_frame(r->shadow, pa_frame, on);
    raw_stubs_monitor(r, pa_frame, on);     /* guest-user processes' mappings of it too */
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

static void raw_csam_overlay(void *opaque, uint64_t pa, uint8_t *buf, unsigned len)
{
    struct raw *r = opaque;
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
        .monitor = raw_csam_monitor,
        .monitor_opaque = r,
        .code_written = raw_csam_code_written,
        .code_written_opaque = r,
    };
    r->csam_nframes = r->vm->mem.size >> 12;
    r->csam_writes_per_frame = calloc(r->csam_nframes + 1, 1);
    r->csam = r->csam_writes_per_frame ? csam_create(&r->vm->mem, &cfg) : NULL;
    if (!r->csam) {
        free(r->csam_writes_per_frame);
        r->csam_writes_per_frame = NULL;
        return rf_errf(err, -ENOMEM, "engine raw: out of memory for CSAM");
    }
    shadow_set_write_hook(r->shadow, raw_csam_written, r);
    shadow_set_exec_filter(r->shadow, raw_csam_exec_ok, r);
    x86_emu_set_code_hooks(r->emu, raw_csam_written, raw_csam_overlay, r);
    x86_emu_set_native_unpaged(r->emu, true);
    return 0;
}

void raw_csam_destroy(struct raw *r)
{
    if (r->csam)
        csam_destroy(r->csam);
    r->csam = NULL;
    free(r->csam_writes_per_frame);
    r->csam_writes_per_frame = NULL;
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
    shadow_set_view(r->shadow, paged ? SHADOW_VIEW_USER : SHADOW_VIEW_ALL);
    if (paged && !r->csam_paged) {
        /* Kernel code stops running natively (phase 2a): put every original byte back, so the
         * guest reads its own code as written and nothing stays write-monitored for nothing
         * (Linux overwrites its decompressor). Scanning starts afresh if paging goes off again. */
        csam_forget_all(r->csam);
        r->stats.csam_forget_all++;
    }
    r->csam_paged = paged;
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
    fprintf(out, "raw: phase 2a: native kernel code (paging off) under CSAM: %" PRIu64 " scans on fetch faults, %"
            PRIu64 " writes to scanned frames (scan forgotten), %" PRIu64 " emu writes watched, %" PRIu64
            " flushes after a frame turned unsafe, %" PRIu64 " times everything unpatched (paging on); %" PRIu64
            " frames written %d times while scanned now run on emu\n",
            r->stats.csam_scans, r->stats.csam_writes, x86_emu_watch_hits(r->emu), r->stats.csam_unsafe_flushes,
            r->stats.csam_forget_all, r->stats.csam_hot_frames, RAW_CSAM_HOT_WRITES);
    fprintf(out, "raw: emu blocks run instead of native after kernel port I/O traps (%u each): %" PRIu64 "\n",
            RAW_IO_LINGER_BLOCKS, r->stats.io_lingers);
    fprintf(out, "raw: patch traps (int3 at a CSAM site, original emulated) %" PRIu64 ":", traps);
    for (int k = 0; k < CSAM_KIND_COUNT; k++)
        if (r->stats.patch_traps[k])
            fprintf(out, " %s %" PRIu64, csam_kind_name((enum csam_kind)k), r->stats.patch_traps[k]);
    fprintf(out, "\n");
    csam_print_stats(r->csam, out);
}
