/* The shadow page-fault path: a host #PF in natively running guest code becomes a new host
 * mapping, a guest #PF, or "emulate this instruction".
 *
 * The technique, step by step (shadow_fault):
 *  1. Walk the guest's page tables with the interpreter's walker (x86_emu_translate) as the
 *     faulting access would: it checks U/S, R/W (with CR0.WP), NX, reserved bits, and sets
 *     A, and D for a write, in guest memory exactly as the CPU would (SDM Vol. 3 §4.8). If the
 *     guest forbids the access, the walker's error code goes back to the guest as #PF.
 *  2. Refuse what a host mapping cannot represent: frames that are not RAM (MMIO, the VGA
 *     hole, past the end of RAM: the device must see every access), linear pages below the
 *     host's mmap_min_addr, supervisor pages in the user view (guest user code could reach
 *     them through the host's flat selectors), writes to write-monitored frames (CSAM's
 *     scanned code, after calling the hook). The instruction is emulated instead.
 *  3. Map the 4 KiB piece of the frame at the faulting linear page with the guest's rights:
 *     readable always, executable unless NX, writable only when the guest allows the write
 *     AND the page is already dirty (or this access writes it) AND the frame is not
 *     monitored. A 2 MiB / 4 MiB guest page is mapped whole (shadow_map_large).
 *     Mapping a clean page read-only makes its first write fault again, and that
 *     walk sets D: the guest sees D exactly when its page was written, as on hardware.
 *     (Unpaged guests have no D bit: linear = physical, everything writable.) */
#include <sys/mman.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "shadow_priv.h"

/* True when the host mapping rights prot let this access through. */
static bool shadow_prot_allows(unsigned prot, unsigned access)
{
    if ((access & SH_WRITE) && !(prot & PROT_WRITE))
        return false;
    if ((access & SH_EXEC) && !(prot & PROT_EXEC))
        return false;
    return (prot & PROT_READ) != 0;
}

static bool shadow_paged(const struct shadow *s)
{
    return (x86_emu_peek(s->e)->cr0 & CR0_PG) != 0;
}

/* View ALL runs guest kernel code: only frames CSAM scanned and patched may execute. */
static bool shadow_exec_refused(const struct shadow *s, uint64_t pa)
{
    return s->view != SHADOW_VIEW_USER && s->exec_ok && !s->exec_ok(s->exec_opaque, pa & SHE_FRAME);
}

/* Host rights of piece i of a large page mapped with prot, or -1 when it cannot be mapped.
 * Write monitoring and the exec filter are per frame, so per piece: a large page holding both
 * scanned kernel code and the kernel stack (Linux's 4 MiB direct map) gets each piece's own
 * rights (one prot for all would let an exec fault and a write fault undo each other forever). */
static int shadow_piece_prot(const struct shadow *s, uint32_t page, uint64_t pa, unsigned prot)
{
    if (page < s->min_page || !guest_mem_ptr(&s->vm->mem, pa))
        return -1;
    if (shadow_frame_monitored(s, pa >> 12))
        prot &= ~(unsigned)PROT_WRITE;
    if ((prot & PROT_EXEC) && shadow_exec_refused(s, pa))
        prot &= ~(unsigned)PROT_EXEC;
    return (int)prot;
}

/* A 2 MiB / 4 MiB guest page is one translation with one set of rights and one A/D pair, so
 * all of it is mapped at once: one host call per stretch of RAM pieces with equal rights
 * (monitored frames read-only, holes and pages below mmap_min_addr left out). One fault then
 * covers what would take 512 or 1024, which matters for Linux's direct map of lowmem. */
static int shadow_map_large(struct shadow *s, uint32_t linear, const struct x86_emu_xlate *x, unsigned prot,
                            unsigned flags)
{
    uint32_t npages = x->page_size >> 12;
    uint32_t base = (linear >> 12) & ~(npages - 1), fault = (linear >> 12) - base;
    uint64_t base_pa = x->pa & ~(uint64_t)(x->page_size - 1);
    /* The stretch holding the faulting piece is mapped last, so that an eviction forced by
     * the budget can never undo it (the fault would repeat forever). */
    int fp = shadow_piece_prot(s, base + fault, base_pa + ((uint64_t)fault << 12), prot);
    uint32_t fi = fault, fj = fault + 1;
    while (fi > 0 && shadow_piece_prot(s, base + fi - 1, base_pa + ((uint64_t)(fi - 1) << 12), prot) == fp)
        fi--;
    while (fj < npages && shadow_piece_prot(s, base + fj, base_pa + ((uint64_t)fj << 12), prot) == fp)
        fj++;
    for (uint32_t i = 0; i < npages;) {
        int p = shadow_piece_prot(s, base + i, base_pa + ((uint64_t)i << 12), prot);
        if (i == fi || p < 0) {
            i = i == fi ? fj : i + 1;
            continue;
        }
        uint32_t j = i + 1;
        while (j < npages && j != fi && shadow_piece_prot(s, base + j, base_pa + ((uint64_t)j << 12), prot) == p)
            j++;
        if (shadow_map_range(s, base + i, j - i, base_pa + ((uint64_t)i << 12), (unsigned)p, flags) == 0)
            s->st.ahead += j - i;
        i = j;
    }
    int rc = shadow_map_range(s, base + fi, fj - fi, base_pa + ((uint64_t)fi << 12), (unsigned)fp, flags);
    if (rc == 0)
        s->st.ahead += fj - fi - 1;
    return rc;
}

enum shadow_result shadow_fault(struct shadow *s, uint32_t linear, unsigned access, uint32_t *guest_err)
{
    s->st.faults++;
    unsigned xa = 0;
    if (access & SH_WRITE)
        xa |= X86_XLATE_WRITE;
    if (access & SH_EXEC)
        xa |= X86_XLATE_EXEC;
    if (access & SH_USER)
        xa |= X86_XLATE_USER;

    struct x86_emu_xlate x;
    struct x86_emu_event ev;
    if (x86_emu_translate(s->e, linear, xa, &x, &ev) < 0) {
        s->st.guest_pf++;
        if (guest_err)
            *guest_err = ev.err;
        return SHADOW_GUEST_PF;
    }

    uint32_t page = linear >> 12;
    uint64_t pa = x.pa & SHE_FRAME;
    if (page < s->min_page) {
        s->st.emulate_low++;
        return SHADOW_EMULATE;
    }
    if (!guest_mem_ptr(&s->vm->mem, pa)) {
        s->st.emulate_mmio++;
        return SHADOW_EMULATE;
    }
    bool user_view = s->view == SHADOW_VIEW_USER;
    if (user_view && !x.user) {
        s->st.emulate_user_view++;
        return SHADOW_EMULATE;
    }
    uint64_t frame = pa >> 12;
    bool monitored = shadow_frame_monitored(s, frame);
    if ((access & SH_WRITE) && monitored) {
        s->st.emulate_monitored++;
        s->st.hook_calls += s->hook != NULL;
        if (s->hook)
            s->hook(s->hook_opaque, pa);
        return SHADOW_EMULATE;
    }

    unsigned prot = PROT_READ | (x.nx ? 0 : PROT_EXEC);
    /* A successful supervisor write to a read-only page (CR0.WP = 0) may be mapped writable
     * only where no guest user code runs. Monitoring and the exec filter apply per frame
     * (large pages: per piece, shadow_piece_prot), so `large_prot` has neither. */
    bool may_write = x.writable || (!user_view && (access & SH_WRITE));
    if (may_write && (x.dirty || (access & SH_WRITE) || !shadow_paged(s)))
        prot |= PROT_WRITE;
    unsigned large_prot = prot;
    if (monitored)
        prot &= ~(unsigned)PROT_WRITE;
    bool exec_refused = shadow_exec_refused(s, pa);
    if (exec_refused)
        prot &= ~(unsigned)PROT_EXEC;
    if (!shadow_prot_allows(prot, access)) {
        if (exec_refused && (access & SH_EXEC) && shadow_prot_allows(prot | PROT_EXEC, access))
            s->st.exec_refused++;
        else
            s->st.emulate_user_view++;
        return SHADOW_EMULATE;
    }

    /* A fault on a mapping that already allows the access means the host's mapping is not
     * what the books say (something else replaced it): map again rather than answer MAPPED
     * over a mapping that would fault forever. */
    uint64_t old = s->ent[page];
    bool spurious = (old & SHE_LIVE) && (old & SHE_FRAME) == pa && shadow_prot_allows(old & SHE_PROT, access) &&
                    (prot & ~old & SHE_PROT) == 0;
    s->st.spurious += spurious;
    unsigned flags = x.global ? SHE_GLOBAL : 0;
    if (x.page_size == (2u << 20))
        flags |= SHE_LARGE2M;
    else if (x.page_size == (4u << 20))
        flags |= SHE_LARGE4M;
    /* With the A20 gate closed the pieces of a large page do not map consecutive frames:
     * map the faulting piece only. */
    int rc = (flags & (SHE_LARGE2M | SHE_LARGE4M)) && !s->vm->a20_clear
                 ? shadow_map_large(s, linear, &x, large_prot, flags)
                 : shadow_map_page(s, page, pa, prot, flags);
    if (rc < 0)
        return SHADOW_EMULATE;
    if (spurious)
        ;
    else if ((old & SHE_LIVE) && (old & SHE_FRAME) == pa)
        s->st.upgraded++;
    else
        s->st.mapped++;
    return SHADOW_MAPPED;
}

void shadow_set_write_hook(struct shadow *s, shadow_write_hook fn, void *opaque)
{
    s->hook = fn;
    s->hook_opaque = opaque;
}

/* Monitoring is per frame, not per linear page: Linux patches its own text through a
 * temporary alias (text_poke), so every mapping of the frame, wherever it sits, loses its
 * write right. Turning monitoring off leaves the mappings read-only; the next write faults
 * and upgrades them. */
void shadow_monitor_frame(struct shadow *s, uint64_t pa_frame, bool on)
{
    uint64_t frame = pa_frame >> 12;
    if (frame >= s->nframes || !guest_mem_ptr(&s->vm->mem, frame << 12))
        return;
    uint64_t bit = 1ull << (frame % 64), *w = &s->monitored[frame / 64];
    if (!on) {
        if (*w & bit)
            s->st.monitored_frames--;
        *w &= ~bit;
        return;
    }
    if (!(*w & bit))
        s->st.monitored_frames++;
    *w |= bit;
    for (uint32_t p = s->head[frame], n; p && shadow_live(s, p); p = n) {
        n = s->next[p];     /* p may be dropped from the list below */
        unsigned prot = s->ent[p] & SHE_PROT;
        if (prot & PROT_WRITE) {
            shadow_protect_page(s, p, prot & ~(unsigned)PROT_WRITE);
            s->st.downgrades++;
        }
    }
}

void shadow_set_exec_filter(struct shadow *s, shadow_exec_filter fn, void *opaque)
{
    s->exec_ok = fn;
    s->exec_opaque = opaque;
    shadow_flush_all(s);    /* mappings made without the filter may be executable */
}

void shadow_frame_noexec(struct shadow *s, uint64_t pa_frame)
{
    uint64_t frame = pa_frame >> 12;
    if (frame >= s->nframes)
        return;
    for (uint32_t p = s->head[frame], n; p && shadow_live(s, p); p = n) {
        n = s->next[p];     /* p may be dropped from the list below */
        unsigned prot = s->ent[p] & SHE_PROT;
        if (prot & PROT_EXEC) {
            shadow_protect_page(s, p, prot & ~(unsigned)PROT_EXEC);
            s->st.exec_revoked++;
        }
    }
}
