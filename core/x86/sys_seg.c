/* Segmentation: descriptor fetch from the GDT/LDT, segment register loads with their protection
 * checks (SDM Vol. 3 §3.4, §5.5-5.8, MOV/POP Sreg pseudo-code), and LAR/LSL/VERR/VERW. */
#include "sys_priv.h"

void sys_desc_parse(struct sys_desc *d, uint32_t lo, uint32_t hi)
{
    d->lo = lo;
    d->hi = hi;
    d->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
    uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000u);
    /* attr packs access byte (bits 40..47) and AVL/L/D/G (bits 52..55) into 12 bits. */
    d->attr = (uint16_t)(((hi >> 8) & 0xff) | ((hi >> 12) & 0xf00));
    /* G: the 20-bit limit counts 4 KiB units and the low 12 bits read as ones (§3.4.5). */
    if (d->attr & SEG_ATTR_G)
        limit = (limit << 12) | 0xfff;
    d->limit = limit;
}

bool sys_desc_fetch(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d)
{
    uint32_t base, limit;
    if (sel & 4) {
        /* A null or unusable LDTR makes every LDT selector out of bounds. */
        if ((cpu->s.ldtr.sel & 0xfffc) == 0 || !desc_present(cpu->s.ldtr.attr))
            return false;
        base = cpu->s.ldtr.base;
        limit = cpu->s.ldtr.limit;
    } else {
        base = cpu->s.gdtr.base;
        limit = cpu->s.gdtr.limit;
    }
    if ((uint32_t)(sel | 7) > limit)
        return false;
    d->addr = base + (sel & 0xfff8u);
    sys_desc_parse(d, x86_sys_read32(cpu, d->addr), x86_sys_read32(cpu, d->addr + 4));
    return true;
}

_Noreturn void sys_fault_sel(struct x86_cpu *cpu, int vec, uint32_t sel)
{
    x86_raise(cpu, vec, (sel & 0xfffcu) | cpu->ev_ext);
}

void sys_desc_load(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d, int vec)
{
    if (!sys_desc_fetch(cpu, sel, d))
        sys_fault_sel(cpu, vec, sel);
}

void sys_desc_set_accessed(struct x86_cpu *cpu, struct sys_desc *d)
{
    /* The accessed bit (type bit 0) lives in byte 5 of the descriptor (§3.4.5.1). */
    if ((d->attr & SEG_ATTR_S) && !(d->attr & 1)) {
        d->attr |= 1;
        d->hi |= 0x100;
        x86_sys_write8(cpu, d->addr + 5, (uint8_t)(d->hi >> 8));
    }
}

void sys_seg_commit(struct x86_cpu *cpu, int seg, uint16_t sel, const struct sys_desc *d)
{
    struct seg_reg *r = &cpu->s.seg[seg];
    r->sel = sel;
    r->base = d->base;
    r->limit = d->limit;
    r->attr = d->attr;
}

void sys_seg_real(struct x86_cpu *cpu, int seg, uint16_t sel)
{
    struct seg_reg *r = &cpu->s.seg[seg];
    r->sel = sel;
    r->base = (uint32_t)sel << 4;
    if (cpu->v86) {
        /* Virtual-8086 segments are always 64 KiB, read/write, DPL 3 (§20.1.1). */
        r->limit = 0xffff;
        r->attr = SEG_ATTR_P | SEG_ATTR_S | (3 << 5) | (seg == S_CS ? 0xb : 0x3);
    } else if (!(r->attr & SEG_ATTR_P)) {
        /* Real mode keeps the cached limit and attributes (the "unreal mode" behaviour),
         * but a segment left unusable by protected mode becomes a plain 64 KiB segment. */
        r->limit = 0xffff;
        r->attr = SEG_ATTR_P | SEG_ATTR_S | (seg == S_CS ? 0xb : 0x3);
    }
}

void sys_seg_null(struct x86_cpu *cpu, int seg, uint16_t sel)
{
    struct seg_reg *r = &cpu->s.seg[seg];
    r->sel = sel;
    r->base = 0;
    r->limit = 0;
    r->attr = 0;     /* not present: every access through it raises #GP(0) */
}

void sys_check_ss(struct x86_cpu *cpu, uint16_t sel, int cpl, int vec, struct sys_desc *d)
{
    if ((sel & 0xfffc) == 0)
        x86_raise(cpu, vec, cpu->ev_ext);
    sys_desc_load(cpu, sel, d, vec);
    if ((sel & 3) != cpl || !desc_writable_data(d->attr) || desc_dpl(d->attr) != cpl)
        sys_fault_sel(cpu, vec, sel);
    if (!desc_present(d->attr))
        sys_fault_sel(cpu, X86_SS, sel);
    sys_desc_set_accessed(cpu, d);
}

bool sys_check_data(struct x86_cpu *cpu, uint16_t sel, int cpl, int vec, struct sys_desc *d)
{
    if ((sel & 0xfffc) == 0)
        return false;
    sys_desc_load(cpu, sel, d, vec);
    if (!desc_readable(d->attr))
        sys_fault_sel(cpu, vec, sel);
    /* Data and non-conforming code need DPL >= max(CPL, RPL) (§5.6). */
    if (!desc_conforming(d->attr)) {
        int dpl = desc_dpl(d->attr);
        if ((sel & 3) > dpl || cpl > dpl)
            sys_fault_sel(cpu, vec, sel);
    }
    if (!desc_present(d->attr))
        sys_fault_sel(cpu, X86_NP, sel);
    sys_desc_set_accessed(cpu, d);
    return true;
}

void sys_null_inaccessible(struct x86_cpu *cpu)
{
    static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
    for (unsigned i = 0; i < 4; i++) {
        struct seg_reg *r = &cpu->s.seg[segs[i]];
        if ((desc_is_data(r->attr) || (desc_is_code(r->attr) && !desc_conforming(r->attr))) &&
            desc_dpl(r->attr) < cpu->cpl)
            sys_seg_null(cpu, segs[i], 0);
    }
}

void x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel)
{
    if (!cpu->pe || cpu->v86) {
        sys_seg_real(cpu, seg, sel);
        if (seg == S_SS || seg == S_CS)
            x86_update_mode(cpu);
        return;
    }
    struct sys_desc d;
    if (seg == S_CS)            /* MOV CS is #UD; CS changes only through far transfers */
        x86_raise(cpu, X86_UD, X86_NO_ERR);
    if (seg == S_SS) {
        sys_check_ss(cpu, sel, cpu->cpl, X86_GP, &d);
        sys_seg_commit(cpu, seg, sel, &d);
        x86_update_mode(cpu);
        return;
    }
    if (sys_check_data(cpu, sel, cpu->cpl, X86_GP, &d))
        sys_seg_commit(cpu, seg, sel, &d);
    else
        sys_seg_null(cpu, seg, sel);
}

/* LAR/LSL/VERR/VERW never fault on the selector: they report failure in ZF (SDM Vol. 2). */
static bool seg_visible(struct x86_cpu *cpu, uint16_t sel, struct sys_desc *d)
{
    if (!cpu->pe || cpu->v86)
        x86_raise(cpu, X86_UD, X86_NO_ERR);
    if ((sel & 0xfffc) == 0 || !sys_desc_fetch(cpu, sel, d))
        return false;
    if (desc_conforming(d->attr))
        return true;
    int dpl = desc_dpl(d->attr);
    return dpl >= cpu->cpl && dpl >= (sel & 3);
}

bool x86_lar(struct x86_cpu *cpu, uint16_t sel, uint32_t *out)
{
    struct sys_desc d;
    if (!seg_visible(cpu, sel, &d))
        return false;
    if (!(d.attr & SEG_ATTR_S)) {
        switch (SEG_ATTR_TYPE(d.attr)) {
        case SYS_TSS16_AVAIL: case SYS_LDT: case SYS_TSS16_BUSY: case SYS_CALLGATE16:
        case SYS_TASKGATE: case SYS_TSS32_AVAIL: case SYS_TSS32_BUSY: case SYS_CALLGATE32:
            break;
        default:
            return false;
        }
    }
    *out = d.hi & 0x00f0ff00u;
    return true;
}

bool x86_lsl(struct x86_cpu *cpu, uint16_t sel, uint32_t *out)
{
    struct sys_desc d;
    if (!seg_visible(cpu, sel, &d))
        return false;
    if (!(d.attr & SEG_ATTR_S)) {
        switch (SEG_ATTR_TYPE(d.attr)) {
        case SYS_TSS16_AVAIL: case SYS_LDT: case SYS_TSS16_BUSY:
        case SYS_TSS32_AVAIL: case SYS_TSS32_BUSY:
            break;
        default:
            return false;
        }
    }
    *out = d.limit;
    return true;
}

bool x86_verr(struct x86_cpu *cpu, uint16_t sel)
{
    struct sys_desc d;
    return seg_visible(cpu, sel, &d) && (d.attr & SEG_ATTR_S) && desc_readable(d.attr);
}

bool x86_verw(struct x86_cpu *cpu, uint16_t sel)
{
    struct sys_desc d;
    return seg_visible(cpu, sel, &d) && desc_writable_data(d.attr);
}

/* The target checks of RET and IRET to protected mode (SDM Vol. 3 §5.8.6): never to a more
 * privileged level, a code segment whose DPL matches the RPL (or is <= it when conforming),
 * present, and EIP inside its limit. */
void sys_return_cs_check(struct x86_cpu *cpu, uint16_t cs, uint32_t eip, struct sys_desc *cd)
{
    if ((cs & 0xfffc) == 0)
        x86_raise(cpu, X86_GP, 0);
    sys_desc_load(cpu, cs, cd, X86_GP);
    int rpl = cs & 3, dpl = desc_dpl(cd->attr);
    if (rpl < cpu->cpl || !desc_is_code(cd->attr) ||
        (desc_conforming(cd->attr) ? dpl > rpl : dpl != rpl))
        sys_fault_sel(cpu, X86_GP, cs);
    if (!desc_present(cd->attr))
        sys_fault_sel(cpu, X86_NP, cs);
    if (eip > cd->limit)
        x86_raise(cpu, X86_GP, 0);
}
