/* Guest memory access for the interpreter: segment checks, the software TLB, page-crossing
 * splits, MMIO, and the exported x86_read/write/sys/phys functions of x86_cpu.h. */
#include "x86_exec.h"
#include "ringfold/trace.h"
#include "sys_debug.h"

/* Segment limit and type rules (SDM Vol. 3 §5.3 and §5.4): expand-up segments allow
 * [0, limit], expand-down ones (limit, 0xFFFF or 0xFFFFFFFF by the B bit]; code segments are
 * never writable and readable only with R set; null/unusable segments fault on any access.
 * Real and v86 mode use the cached limits but no type checks. */
static void seg_limits(const struct x86_cpu *cpu, int seg, int64_t *lo, int64_t *hi, bool *rd, bool *wr)
{
    const struct seg_reg *s = &cpu->s.seg[seg];
    bool prot = cpu->pe && !cpu->v86;
    *rd = *wr = true;
    *lo = 0;
    *hi = s->limit;
    if (prot) {
        if (!(s->attr & SEG_ATTR_P) || !(s->attr & SEG_ATTR_S)) {
            *rd = *wr = false;
        } else if (s->attr & 8) {
            *wr = false;
            *rd = (s->attr & 2) != 0;
        } else {
            *wr = (s->attr & 2) != 0;
        }
    }
    if ((s->attr & SEG_ATTR_S) && !(s->attr & 8) && (s->attr & 4)) {
        *lo = (int64_t)s->limit + 1;
        *hi = (s->attr & SEG_ATTR_DB) ? 0xffffffffll : 0xffffll;
    }
}

static void seg_compute(const struct x86_cpu *cpu, int seg, struct seg_cache *c)
{
    int64_t lo, hi;
    bool rd, wr;
    seg_limits(cpu, seg, &lo, &hi, &rd, &wr);
    c->base = cpu->s.seg[seg].base;
    c->lo = (uint32_t)lo;
    for (int k = 0; k < 4; k++) {
        int64_t span = lo > 0xffffffffll ? -1 : hi - lo - ((1 << k) - 1);
        c->rspan[k] = rd && span >= 0 ? span : -1;
        c->wspan[k] = wr && span >= 0 ? span : -1;
    }
}

void exec_refresh(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    for (int s = 0; s < SEG_COUNT; s++)
        seg_compute(cpu, s, &ex->seg[s]);
    ex->tlb = ex->tlbs[cpu->cpl == 3];
    bool dbg = sys_dr_armed(cpu);
    if (dbg && !ex->dbg)
        x86_tlb_flush(cpu, true);   /* data breakpoints need every access on the slow path */
    ex->dbg = dbg;
    ex->gen++;      /* CS base, mode or CPL may differ: chained successors are re-checked */
    ex->attention = 1;
}

_Noreturn void seg_fault(struct x86_cpu *cpu, int seg)
{
    x86_raise(cpu, seg == S_SS ? X86_SS : X86_GP, 0);
}

/* Full (uncached) segment check; returns the linear address. */
static uint32_t seg_check(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t len, bool write)
{
    int64_t lo, hi;
    bool rd, wr;
    seg_limits(cpu, seg, &lo, &hi, &rd, &wr);
    if (!(write ? wr : rd) || (int64_t)off < lo || (int64_t)off + len - 1 > hi)
        seg_fault(cpu, seg);
    return cpu->s.seg[seg].base + off;
}

/* ---- A20 gate ------------------------------------------------------------------------- */
/* Forces physical address bit 20 to 0 while the platform holds A20 off (vm->a20_clear). */
static inline uint64_t a20_apply(const struct x86_cpu *cpu, uint64_t pa)
{
    return pa & ~(uint64_t)cpu->vm->a20_clear;
}

void exec_a20_sync(struct x86_cpu *cpu)
{
    struct x86_exec *ex = cpu->exec;
    uint32_t gen = cpu->vm->a20_gen;
    if (gen == ex->a20_gen)
        return;
    ex->a20_gen = gen;
    /* Every cached translation and every chained block was formed under the old mask; the
     * decoded blocks themselves stay valid: they are keyed by the (masked) physical address. */
    x86_tlb_flush(cpu, true);
}

/* ---- TLB ---------------------------------------------------------------------------------- */
void tlb_drop_writes_to(struct x86_exec *ex, uint32_t pa_page)
{
    for (int u = 0; u < 2; u++)
        for (unsigned k = 0; k < TLB_SIZE; k++)
            if (ex->tlbs[u][k].pa == pa_page)
                ex->tlbs[u][k].tag_w = TLB_INVALID;
}

/* Translates lin for an access (PF_W / PF_I bits in acc), raising #PF as the walk says.
 * Fills the TLB for RAM pages; returns the host pointer, or NULL for MMIO (*pa set). */
static uint8_t *tlb_fill(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, bool user, uint64_t *pa_out)
{
    struct x86_exec *ex = cpu->exec;
    uint32_t page = lin & 0xfffff000u;
    uint64_t pa = page;
    bool wr_ok = true, nx = false, global = false;
    cpu->stats.tlb_misses++;
    if (cpu->paging) {
        struct x86_walk w;
        cpu->stats.page_walks++;
        uint32_t r = x86_paging_walk(cpu, lin, acc | (user ? PF_U : 0), &w);
        if (r & X86_WALK_FAULT) {
            cpu->s.cr2 = lin;
            x86_raise(cpu, X86_PF, r & ~X86_WALK_FAULT);
        }
        pa = w.pa & ~0xfffull;
        /* Only a page whose D bit is already set may be written without another walk. */
        wr_ok = w.dirty && (user ? (w.user && w.writable) : (w.writable || !(cpu->s.cr0 & CR0_WP)));
        nx = w.nx;
        global = w.global && (cpu->s.cr4 & CR4_PGE);
    }
    /* A20 masked: physical address bit 20 reads as 0 for every CPU access (the 8086 wrap).
     * Applied here, at the fill, so the cached fast path costs nothing; a gate change
     * flushes the TLB (exec_run.c). */
    pa = a20_apply(cpu, pa);
    *pa_out = pa | (lin & 0xfff);
    uint8_t *host = pa < (1ull << 32) ? guest_mem_ptr(cpu->mem, pa) : NULL;
    if (!host)
        return NULL;
    struct tlb_entry *e = &ex->tlbs[user][(lin >> 12) & TLB_MASK];
    e->pa = (uint32_t)pa;
    e->global = global;
    e->addend = (uintptr_t)host - page;
    e->tag_r = ex->dbg ? TLB_INVALID : page;
    e->tag_w = wr_ok && !ex->dbg && !page_has_code(ex, (uint32_t)pa) && !page_watched(ex, (uint32_t)pa) ? page
                                                                                                : TLB_INVALID;
    e->tag_x = nx ? TLB_INVALID : page;
    return host + (lin & 0xfff);
}

static uint8_t *translate(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, bool user, uint64_t *pa)
{
    struct tlb_entry *e = &cpu->exec->tlbs[user][(lin >> 12) & TLB_MASK];
    uint32_t page = lin & 0xfffff000u;
    uint32_t tag = acc & PF_W ? e->tag_w : acc & PF_I ? e->tag_x : e->tag_r;
    if (tag == page) {
        *pa = e->pa | (lin & 0xfff);
        return (uint8_t *)(e->addend + lin);
    }
    return tlb_fill(cpu, lin, acc, user, pa);
}

const uint8_t *tlb_fetch(struct x86_cpu *cpu, uint32_t lin, uint32_t *pa)
{
    uint64_t p;
    const uint8_t *h = translate(cpu, lin, PF_I, cpu->cpl == 3, &p);
    *pa = (uint32_t)p;
    return h;
}

static uint32_t mmio_read(struct x86_cpu *cpu, uint64_t pa, unsigned len)
{
    cpu->exec->attention = 1;     /* a device may have raised an interrupt or a stop */
    if (len == 1 || len == 2 || len == 4)
        return bus_mmio_read(&cpu->vm->bus, pa, len);
    uint32_t v = 0;
    for (unsigned k = 0; k < len; k++)
        v |= (bus_mmio_read(&cpu->vm->bus, pa + k, 1) & 0xff) << (8 * k);
    return v;
}

void lin_read(struct x86_cpu *cpu, uint32_t lin, void *dst, unsigned len, bool user)
{
    uint8_t *out = dst;
    while (len) {
        unsigned chunk = 4096 - (lin & 0xfff);
        if (chunk > len)
            chunk = len;
        uint64_t pa;
        uint8_t *h = translate(cpu, lin, 0, user, &pa);
        if (h) {
            memcpy(out, h, chunk);
        } else {
            for (unsigned k = 0; k < chunk; k += 4) {
                unsigned n = chunk - k >= 4 ? 4 : chunk - k;
                uint32_t v = mmio_read(cpu, pa + k, n);
                memcpy(out + k, &v, n);
            }
        }
        out += chunk;
        lin += chunk;
        len -= chunk;
    }
}

/* Writes translate every page first so that a fault leaves memory untouched (SDM Vol. 3 §6.5). */
void lin_write(struct x86_cpu *cpu, uint32_t lin, const void *src, unsigned len, bool user)
{
    struct x86_exec *ex = cpu->exec;
    const uint8_t *in = src;
    uint8_t *h[2];
    uint64_t pa[2];
    unsigned n[2];
    int parts = 0;
    uint32_t l = lin;
    unsigned left = len;
    while (left && parts < 2) {
        unsigned chunk = 4096 - (l & 0xfff);
        if (chunk > left)
            chunk = left;
        h[parts] = translate(cpu, l, PF_W, user, &pa[parts]);
        n[parts] = chunk;
        parts++;
        l += chunk;
        left -= chunk;
    }
    for (int p = 0; p < parts; p++) {
        if (h[p]) {
            exec_watch_write(ex, (uint32_t)pa[p]);
            memcpy(h[p], in, n[p]);
            if (page_has_code(ex, (uint32_t)pa[p]))
                exec_code_write(cpu, (uint32_t)pa[p], n[p]);
        } else {
            ex->attention = 1;
            for (unsigned k = 0; k < n[p]; k += 4) {
                unsigned m = n[p] - k >= 4 ? 4 : n[p] - k;
                uint32_t v = 0;
                memcpy(&v, in + k, m);
                if (m == 3) {
                    for (unsigned b = 0; b < 3; b++)
                        bus_mmio_write(&cpu->vm->bus, pa[p] + k + b, (v >> (8 * b)) & 0xff, 1);
                } else {
                    bus_mmio_write(&cpu->vm->bus, pa[p] + k, v, m);
                }
            }
        }
        in += n[p];
    }
}

uint32_t mem_read_slow(struct x86_cpu *cpu, int seg, uint32_t off, int size)
{
    uint32_t lin = seg_check(cpu, seg, off, (uint32_t)size, false);
    uint32_t v = 0;
    lin_read(cpu, lin, &v, (unsigned)size, cpu->cpl == 3);
    if (unlikely(cpu->exec->dbg))
        cpu->exec->db_hits |= sys_dr_match_data(cpu, lin, (unsigned)size, false);
    return v;
}

void mem_write_slow(struct x86_cpu *cpu, int seg, uint32_t off, int size, uint32_t v)
{
    uint32_t lin = seg_check(cpu, seg, off, (uint32_t)size, true);
    lin_write(cpu, lin, &v, (unsigned)size, cpu->cpl == 3);
    if (unlikely(cpu->exec->dbg))
        cpu->exec->db_hits |= sys_dr_match_data(cpu, lin, (unsigned)size, true);
}

/* ---- the exported contract ---------------------------------------------------------------- */
uint8_t x86_read8(struct x86_cpu *cpu, int seg, uint32_t off) { return (uint8_t)mem_read_slow(cpu, seg, off, 1); }
uint16_t x86_read16(struct x86_cpu *cpu, int seg, uint32_t off) { return (uint16_t)mem_read_slow(cpu, seg, off, 2); }
uint32_t x86_read32(struct x86_cpu *cpu, int seg, uint32_t off) { return mem_read_slow(cpu, seg, off, 4); }

uint64_t x86_read64(struct x86_cpu *cpu, int seg, uint32_t off)
{
    uint32_t lin = seg_check(cpu, seg, off, 8, false);
    uint64_t v = 0;
    lin_read(cpu, lin, &v, 8, cpu->cpl == 3);
    if (unlikely(cpu->exec->dbg))
        cpu->exec->db_hits |= sys_dr_match_data(cpu, lin, 8, false);
    return v;
}

void x86_write8(struct x86_cpu *cpu, int seg, uint32_t off, uint8_t v) { mem_write_slow(cpu, seg, off, 1, v); }
void x86_write16(struct x86_cpu *cpu, int seg, uint32_t off, uint16_t v) { mem_write_slow(cpu, seg, off, 2, v); }
void x86_write32(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t v) { mem_write_slow(cpu, seg, off, 4, v); }

void x86_write64(struct x86_cpu *cpu, int seg, uint32_t off, uint64_t v)
{
    uint32_t lin = seg_check(cpu, seg, off, 8, true);
    lin_write(cpu, lin, &v, 8, cpu->cpl == 3);
    if (unlikely(cpu->exec->dbg))
        cpu->exec->db_hits |= sys_dr_match_data(cpu, lin, 8, true);
}

void x86_check_access(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t len, bool write)
{
    if (!len)
        return;
    uint32_t lin = seg_check(cpu, seg, off, len, write);
    bool user = cpu->cpl == 3;
    uint64_t pa;
    translate(cpu, lin, write ? PF_W : 0, user, &pa);
    uint32_t last = lin + len - 1;
    if ((last ^ lin) & 0xfffff000u)
        translate(cpu, last, write ? PF_W : 0, user, &pa);
}

uint8_t x86_sys_read8(struct x86_cpu *cpu, uint32_t lin) { uint8_t v; lin_read(cpu, lin, &v, 1, false); return v; }
uint16_t x86_sys_read16(struct x86_cpu *cpu, uint32_t lin) { uint16_t v; lin_read(cpu, lin, &v, 2, false); return v; }
uint32_t x86_sys_read32(struct x86_cpu *cpu, uint32_t lin) { uint32_t v; lin_read(cpu, lin, &v, 4, false); return v; }
void x86_sys_write8(struct x86_cpu *cpu, uint32_t lin, uint8_t v) { lin_write(cpu, lin, &v, 1, false); }
void x86_sys_write16(struct x86_cpu *cpu, uint32_t lin, uint16_t v) { lin_write(cpu, lin, &v, 2, false); }
void x86_sys_write32(struct x86_cpu *cpu, uint32_t lin, uint32_t v) { lin_write(cpu, lin, &v, 4, false); }

uint32_t x86_phys_read32(struct x86_cpu *cpu, uint64_t pa)
{
    pa = a20_apply(cpu, pa);   /* page-walk and PDPTE reads see the A20 gate too */
    uint8_t *h = guest_mem_is_ram(cpu->mem, pa, 4) ? guest_mem_ptr(cpu->mem, pa) : NULL;
    if (h) {
        uint32_t v;
        memcpy(&v, h, 4);
        return v;
    }
    return bus_mmio_read(&cpu->vm->bus, pa, 4);
}

uint64_t x86_phys_read64(struct x86_cpu *cpu, uint64_t pa)
{
    return x86_phys_read32(cpu, pa) | (uint64_t)x86_phys_read32(cpu, pa + 4) << 32;
}

void x86_phys_write32(struct x86_cpu *cpu, uint64_t pa, uint32_t v)
{
    pa = a20_apply(cpu, pa);
    uint8_t *h = guest_mem_is_ram(cpu->mem, pa, 4) ? guest_mem_ptr(cpu->mem, pa) : NULL;
    if (!h) {
        cpu->exec->attention = 1;
        bus_mmio_write(&cpu->vm->bus, pa, v, 4);
        return;
    }
    exec_watch_write(cpu->exec, (uint32_t)pa);
    memcpy(h, &v, 4);
    if (page_has_code(cpu->exec, (uint32_t)pa))
        exec_code_write(cpu, (uint32_t)pa, 4);
}

void x86_tlb_flush(struct x86_cpu *cpu, bool include_global)
{
    struct x86_exec *ex = cpu->exec;
    cpu->stats.tlb_flushes++;
    ex->gen++;
    if (include_global) {
        memset(ex->tlbs, 0xff, sizeof(ex->tlbs));   /* all-ones tags never match an access */
        for (int u = 0; u < 2; u++)
            for (unsigned k = 0; k < TLB_SIZE; k++)
                ex->tlbs[u][k].global = 0;
        return;
    }
    /* A CR3 load keeps global translations (SDM Vol. 3 §4.10.2.4). */
    for (int u = 0; u < 2; u++) {
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            struct tlb_entry *e = &ex->tlbs[u][k];
            if (!e->global)
                e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
        }
    }
}

void x86_tlb_flush_page(struct x86_cpu *cpu, uint32_t lin)
{
    struct x86_exec *ex = cpu->exec;
    ex->gen++;
    for (int u = 0; u < 2; u++) {
        struct tlb_entry *e = &ex->tlbs[u][(lin >> 12) & TLB_MASK];
        e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    }
}
