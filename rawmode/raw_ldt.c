/* Shadow descriptors: the guest's segment registers expressed as host LDT entries.
 *
 * The CPU uses a segment register's hidden cache, not the descriptor table (SDM Vol. 3 §3.4.3),
 * so what must be native is each register's cache: raw_ldt_load turns vcpu_state seg[] into a
 * modify_ldt entry (always DPL 3: the host only lets us have CPL-3 descriptors) in one fixed
 * slot per register, and the guest runs with those selectors. Native code that copies one
 * register into another (push ds / pop es) copies the host selector and gets the same cache,
 * which is what hardware does; raw_ldt_to_guest maps selectors back after an exit.
 *
 * The pitfall: native code that loads a selector value meant for the GUEST's GDT loads the
 * HOST's GDT entry of that number. Most fault (#GP, emulated on emu with the guest's tables),
 * but 0x20-0x33 (the host's flat 32-bit code, data and 64-bit code segments, DPL 3) and 0x78-
 * 0x7b (the CPUNODE segment) load. raw_ldt_to_guest notices any non-LDT selector after an exit
 * and looks the value up in the guest's GDT, as the guest meant it. */
#include <asm/ldt.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "raw_ldt.h"

int raw_read_linear(struct x86_emu *e, struct vm *vm, uint32_t lin, void *buf, unsigned len)
{
    uint8_t *out = buf;
    while (len) {
        struct x86_emu_xlate x;
        struct x86_emu_event ev;
        if (x86_emu_translate(e, lin, 0, &x, &ev) < 0)
            return -1;
        unsigned n = 4096 - (lin & 0xfff);
        if (n > len)
            n = len;
        const uint8_t *p = guest_mem_ptr(&vm->mem, x.pa);
        if (!p || !guest_mem_is_ram(&vm->mem, x.pa, n))
            return -1;
        memcpy(out, p, n);
        out += n;
        lin += n;
        len -= n;
    }
    return 0;
}

static bool raw_seg_same(const struct seg_reg *a, const struct seg_reg *b)
{
    /* The accessed bit (type bit 0) does not change what the host descriptor says. */
    return a->base == b->base && a->limit == b->limit && ((a->attr ^ b->attr) & ~1u) == 0;
}

int raw_ldt_load(struct raw_ldt *l, int seg, const struct seg_reg *s)
{
    bool data_reg = seg != S_CS && seg != S_SS;
    if (!(s->attr & SEG_ATTR_P) || (s->sel & ~3u) == 0) {
        /* A null (unusable) data register: null natively too, so any use faults and is
         * emulated with the guest's own null-segment #GP. */
        return data_reg ? (s->sel & 3) : -1;
    }
    if (!(s->attr & SEG_ATTR_S))
        return -1;
    bool code = SEG_ATTR_TYPE(s->attr) & 8;
    if (seg == S_CS && (!code || !(s->attr & SEG_ATTR_DB)))
        return -1;      /* 16-bit code runs on emu (phase 1) */
    if (l->present[seg] && raw_seg_same(&l->cache[seg], s)) {
        l->cache[seg].sel = s->sel;
        return raw_ldt_sel(seg);
    }
    bool g = s->attr & SEG_ATTR_G;
    struct user_desc d = {
        .entry_number = RAW_LDT_CACHE_BASE + (unsigned)seg,
        .base_addr = s->base,
        .limit = g ? s->limit >> 12 : s->limit,
        .seg_32bit = (s->attr & SEG_ATTR_DB) != 0,
        /* Conforming code is refused by modify_ldt; at CPL 3 it behaves as non-conforming. */
        .contents = code ? MODIFY_LDT_CONTENTS_CODE : (SEG_ATTR_TYPE(s->attr) & 4) ? MODIFY_LDT_CONTENTS_STACK
                                                                                    : MODIFY_LDT_CONTENTS_DATA,
        .read_exec_only = !(SEG_ATTR_TYPE(s->attr) & 2),
        .limit_in_pages = g,
        .seg_not_present = 0,
        .useable = (s->attr & 0x100) != 0,
    };
    l->present[seg] = false;
    if (l->write ? l->write(l->write_opaque, &d) != 0 : syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
        return -1;
    l->writes++;
    l->cache[seg] = *s;
    l->present[seg] = true;
    return raw_ldt_sel(seg);
}

/* The guest descriptor for selector sel from its GDT or LDT, as a register cache (SDM Vol. 3
 * §3.4.5). -1 when it is outside the table or unreadable. */
static int raw_guest_desc(struct x86_emu *e, struct vm *vm, uint16_t sel, struct seg_reg *out)
{
    const struct vcpu_state *s = x86_emu_peek(e);
    uint32_t base = s->gdtr.base, limit = s->gdtr.limit;
    if (sel & 4) {
        if (!(s->ldtr.attr & SEG_ATTR_P) || (s->ldtr.sel & ~3u) == 0)
            return -1;
        base = s->ldtr.base;
        limit = s->ldtr.limit;
    }
    uint32_t off = sel & ~7u;
    if (off + 7 > limit)
        return -1;
    uint8_t d[8];
    if (raw_read_linear(e, vm, base + off, d, 8) < 0)
        return -1;
    uint32_t lo = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
    uint32_t hi = (uint32_t)d[4] | (uint32_t)d[5] << 8 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24;
    out->sel = sel;
    out->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
    out->attr = (uint16_t)(((hi >> 8) & 0xff) | (((hi >> 20) & 0xf) << 8));
    uint32_t lim = (lo & 0xffff) | (hi & 0x000f0000u);
    out->limit = (out->attr & SEG_ATTR_G) ? (lim << 12) | 0xfff : lim;
    return 0;
}

int raw_ldt_to_guest(struct raw_ldt *l, struct x86_emu *e, struct vm *vm, int seg, uint16_t host,
                     struct seg_reg *out)
{
    for (int k = 0; k < SEG_COUNT; k++) {
        if (host == raw_ldt_sel(k) && l->present[k]) {
            *out = l->cache[k];
            return 0;
        }
    }
    memset(out, 0, sizeof(*out));
    if ((host & ~3u) == 0) {
        out->sel = host;
        return 0;
    }
    /* A host GDT selector loaded natively: resolve it against the guest's tables as a load at
     * CPL 3 would (SDM Vol. 3 §5.5-5.6: data/readable code with DPL >= max(CPL, RPL); CS code). */
    l->fixups++;
    struct seg_reg d;
    if (raw_guest_desc(e, vm, host, &d) < 0 || !(d.attr & SEG_ATTR_S) || !(d.attr & SEG_ATTR_P))
        return -1;
    bool code = SEG_ATTR_TYPE(d.attr) & 8, readable = SEG_ATTR_TYPE(d.attr) & 2;
    if (seg == S_CS) {
        if (!code)
            return -1;
    } else if (seg == S_SS) {
        if (code || !readable || SEG_ATTR_DPL(d.attr) != 3 || (host & 3) != 3)
            return -1;
    } else if ((code && !readable) || (!(code && (SEG_ATTR_TYPE(d.attr) & 4)) && SEG_ATTR_DPL(d.attr) != 3)) {
        return -1;
    }
    d.attr |= 1;    /* accessed */
    *out = d;
    return 0;
}
