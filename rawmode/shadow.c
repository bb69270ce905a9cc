/* Shadow paging setup: reserving the guest's linear space (the low 4 GiB of this process),
 * the host limits that shape it (mmap_min_addr, vm.max_map_count), and the statistics.
 *
 * The technique in one paragraph: guest linear address L is host address L in the process
 * that runs guest code, so native guest instructions address guest memory directly. The
 * monitor reserves [mmap_min_addr, 4 GiB) with one PROT_NONE mapping so nothing of the host
 * (glibc's heap or mmap areas) can ever land there, then maps guest frames into it page by
 * page as guest code faults on them (shadow_fault.c), and removes them when the guest's TLB
 * would drop them (shadow_flush.c). The bookkeeping is in shadow_map.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "ringfold/vm.h"
#include "shadow_priv.h"

/* Stock distributions use 65536; the project's hosts 4096. */
#define SHADOW_DEFAULT_MIN_ADDR  65536u
#define SHADOW_DEFAULT_MAP_COUNT 65530u

static uint64_t shadow_read_sysctl(const char *path, uint64_t fallback)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fallback;
    unsigned long long v;
    int n = fscanf(f, "%llu", &v);
    fclose(f);
    return n == 1 ? v : fallback;
}

/* Lines of /proc/self/maps: the process's VMAs. */
static uint64_t shadow_count_vmas(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    uint64_t n = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Describes the first mapping overlapping [lo, hi) for the error message. */
static void shadow_occupant(uint64_t lo, uint64_t hi, char *buf, size_t len)
{
    snprintf(buf, len, "something (unreadable /proc/self/maps)");
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a < hi && b > lo) {
            line[strcspn(line, "\n")] = 0;
            snprintf(buf, len, "%.160s", line);
            break;
        }
    }
    fclose(f);
}

static void shadow_free(struct shadow *s)
{
    free(s->ent);
    free(s->next);
    free(s->prev);
    free(s->head);
    free(s->monitored);
    free(s->live_bm);
    free(s);
}

/* The books for a shadow (no host mappings yet); min_addr from the host's mmap_min_addr. */
static int shadow_alloc(struct vm *vm, struct x86_emu *e, struct shadow **out, uint64_t *min_out, struct rf_err *err)
{
    *out = NULL;
    uint64_t min_addr = shadow_read_sysctl("/proc/sys/vm/mmap_min_addr", SHADOW_DEFAULT_MIN_ADDR);
    uint64_t max_maps = shadow_read_sysctl("/proc/sys/vm/max_map_count", SHADOW_DEFAULT_MAP_COUNT);
    /* Never map guest page 0 even where the host allows it: a NULL dereference in the
     * monitor must keep crashing instead of reading guest memory. */
    min_addr = (min_addr + 4095) & ~4095ull;
    if (min_addr < 4096)
        min_addr = 4096;
    if (min_addr >= SHADOW_TOP)
        return rf_errf(err, -EINVAL, "shadow: mmap_min_addr %#" PRIx64 " leaves no guest linear space", min_addr);

    struct shadow *s = calloc(1, sizeof(*s));
    if (!s)
        return rf_errf(err, -ENOMEM, "shadow: out of memory");
    s->vm = vm;
    s->e = e;
    s->min_page = (uint32_t)(min_addr >> 12);
    s->view = SHADOW_VIEW_USER;
    s->a20_gen = vm->a20_gen;
    s->nframes = vm->mem.size >> 12;
    s->ent = calloc(SHADOW_PAGES, sizeof(*s->ent));
    s->next = calloc(SHADOW_PAGES, sizeof(*s->next));
    s->prev = calloc(SHADOW_PAGES, sizeof(*s->prev));
    s->head = calloc(s->nframes ? s->nframes : 1, sizeof(*s->head));
    s->monitored = calloc(s->nframes / 64 + 1, sizeof(*s->monitored));
    s->live_bm = calloc(SHADOW_BM_WORDS, sizeof(*s->live_bm));
    if (!s->ent || !s->next || !s->prev || !s->head || !s->monitored || !s->live_bm) {
        shadow_free(s);
        return rf_errf(err, -ENOMEM, "shadow: out of memory for the mapping tables");
    }
    s->st.mmap_min_addr = min_addr;
    s->st.max_map_count = max_maps;
    *min_out = min_addr;
    *out = s;
    return 0;
}

int shadow_create(struct vm *vm, struct x86_emu *e, struct shadow **out, struct rf_err *err)
{
    struct shadow *s;
    uint64_t min_addr;
    int rc = shadow_alloc(vm, e, &s, &min_addr, err);
    if (rc < 0)
        return rc;
    *out = NULL;
    uint64_t max_maps = s->st.max_map_count;

    /* MAP_FIXED_NOREPLACE fails with EEXIST instead of replacing what lives there; kernels
     * before 4.17 ignore the flag and treat the address as a hint, hence the address check. */
    void *base = (void *)(uintptr_t)min_addr;
    size_t len = SHADOW_TOP - min_addr;
    void *r = mmap(base, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (r != base) {
        int code = r == MAP_FAILED ? errno : EEXIST;
        if (r != MAP_FAILED)
            munmap(r, len);
        char who[256];
        shadow_occupant(min_addr, SHADOW_TOP, who, sizeof(who));
        shadow_free(s);
        if (code == EEXIST)
            return rf_errf(err, -EEXIST, "shadow: cannot reserve the guest linear space [%#" PRIx64
                           ", 4 GiB): already in use by %s (a non-PIE binary, a sanitizer's shadow "
                           "memory, or a second raw VM in this process)", min_addr, who);
        return rf_errf(err, -code, "shadow: cannot reserve the guest linear space [%#" PRIx64 ", 4 GiB): %s",
                       min_addr, strerror(code));
    }

    /* Half of what the process has left of vm.max_map_count goes to shadow mappings, the
     * other half stays for the monitor (heap arenas, threads, the jail). */
    uint64_t used = shadow_count_vmas();
    s->st.vma_budget = max_maps > used ? (max_maps - used) / 2 : 16;
    if (s->st.vma_budget < 16)
        s->st.vma_budget = 16;
    *out = s;
    return 0;
}

int shadow_create_remote(struct vm *vm, struct x86_emu *e, const struct shadow_host_ops *ops, void *opaque,
                         struct shadow **out, struct rf_err *err)
{
    struct shadow *s;
    uint64_t min_addr;
    int rc = shadow_alloc(vm, e, &s, &min_addr, err);
    if (rc < 0)
        return rc;
    s->host = ops;
    s->host_opaque = opaque;
    /* The stub process holds a few dozen VMAs of its own; the rest of the limit is the shadow's. */
    uint64_t max_maps = s->st.max_map_count;
    s->st.vma_budget = max_maps > 128 ? (max_maps - 128) / 2 : 16;
    *out = s;
    return 0;
}

uint32_t shadow_min_page(const struct shadow *s)
{
    return s->min_page;
}

void shadow_copy_monitoring(struct shadow *dst, const struct shadow *src)
{
    if (dst->nframes != src->nframes)
        return;
    memcpy(dst->monitored, src->monitored, (dst->nframes / 64 + 1) * sizeof(*dst->monitored));
    dst->st.monitored_frames = src->st.monitored_frames;
    dst->hook = src->hook;
    dst->hook_opaque = src->hook_opaque;
}

void shadow_destroy(struct shadow *s)
{
    if (!s)
        return;
    uint64_t base = (uint64_t)s->min_page << 12;
    if (!s->host)
        munmap((void *)(uintptr_t)base, SHADOW_TOP - base);
    shadow_free(s);
}

int shadow_query(const struct shadow *s, uint32_t linear, uint64_t *pa)
{
    uint64_t e = s->ent[linear >> 12];
    if (!(e & SHE_LIVE))
        return -1;
    if (pa)
        *pa = e & SHE_FRAME;
    return (int)(e & SHE_PROT);
}

const char *shadow_error(const struct shadow *s)
{
    return s->error[0] ? s->error : NULL;
}

void shadow_set_vma_budget(struct shadow *s, uint64_t vmas)
{
    s->st.vma_budget = vmas < 3 ? 3 : vmas;
}

void shadow_get_stats(const struct shadow *s, struct shadow_stats *out)
{
    *out = s->st;
}

void shadow_print_stats(const struct shadow *s, FILE *out)
{
    const struct shadow_stats *t = &s->st;
    fprintf(out, "shadow: %" PRIu64 " faults: %" PRIu64 " mapped, %" PRIu64 " upgraded to writable (first "
            "write, D set), %" PRIu64 " spurious (mapped again), %" PRIu64 " reflected as guest #PF\n",
            t->faults, t->mapped, t->upgraded, t->spurious, t->guest_pf);
    if (t->ahead)
        fprintf(out, "shadow: %" PRIu64 " more 4 KiB pieces of large guest pages mapped with the faulting one\n",
                t->ahead);
    fprintf(out, "shadow: emulated instead: %" PRIu64 " MMIO/not RAM, %" PRIu64 " below mmap_min_addr %#" PRIx64
            ", %" PRIu64 " writes to monitored frames, %" PRIu64 " supervisor-only in the user view, %" PRIu64
            " mmap errors\n", t->emulate_mmio, t->emulate_low, t->mmap_min_addr, t->emulate_monitored,
            t->emulate_user_view, t->map_errors);
    fprintf(out, "shadow: %" PRIu64 " pages mapped now (peak %" PRIu64 ") in %" PRIu64 " mergeable runs "
            "(<= %" PRIu64 " host VMAs; budget %" PRIu64 " of vm.max_map_count %" PRIu64 ")\n",
            t->live, t->peak, t->runs, 2 * t->runs + 1, t->vma_budget, t->max_map_count);
    fprintf(out, "shadow: flushes: %" PRIu64 " full, %" PRIu64 " CR3 (globals kept), %" PRIu64 " INVLPG (%" PRIu64
            " pages unmapped), %" PRIu64 " evictions (VMA budget)\n",
            t->flush_full, t->flush_cr3, t->invlpg, t->invlpg_unmapped, t->evictions);
    if (t->revalidations)
        fprintf(out, "shadow: %" PRIu64 " revalidations after emulated kernel code: %" PRIu64 " pages dropped, %" PRIu64
                " write-protected, the rest kept\n", t->revalidations, t->revalidate_dropped, t->revalidate_downgraded);
    fprintf(out, "shadow: %" PRIu64 " frames write-monitored, %" PRIu64 " mappings downgraded to read-only, %" PRIu64
            " write-hook calls\n", t->monitored_frames, t->downgrades, t->hook_calls);
    if (t->exec_refused || t->exec_revoked)
        fprintf(out, "shadow: kernel view: %" PRIu64 " fetches from frames CSAM had not scanned refused, %" PRIu64
                " execute rights removed (frame written)\n", t->exec_refused, t->exec_revoked);
}
