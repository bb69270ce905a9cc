/* Stack frames for far calls, returns, interrupts and task switches: pushes and pops on a stack
 * given by a descriptor (which may not be loaded in SS yet), with limit checks (SDM Vol. 3 §6.12.1). */
#include "sys_priv.h"

void sys_stack_from_ss(struct x86_cpu *cpu, struct sys_stack *st)
{
    const struct seg_reg *ss = &cpu->s.seg[S_SS];
    st->base = ss->base;
    st->limit = ss->limit;
    st->attr = ss->attr;
    st->sel = ss->sel;
    st->sp = cpu->s.gpr[R_ESP];
    /* At CPL 3 the stack accesses are user accesses: go through the ordinary checked path. */
    st->user = cpu->cpl == 3;
}

void sys_stack_from_desc(struct sys_stack *st, uint16_t sel, const struct sys_desc *d, uint32_t sp)
{
    st->base = d->base;
    st->limit = d->limit;
    st->attr = d->attr;
    st->sel = sel;
    st->sp = sp;
    st->user = false;
}

static bool stack_b32(const struct sys_stack *st) { return (st->attr & SEG_ATTR_DB) != 0; }

static uint32_t stack_off(const struct sys_stack *st, uint32_t sp)
{
    return stack_b32(st) ? sp : (sp & 0xffff);
}

/* True when [off, off+len) lies inside the segment (expand-down aware, §3.4.5.1). */
static bool stack_in_limit(const struct sys_stack *st, uint32_t off, uint32_t len)
{
    uint32_t top = stack_b32(st) ? 0xffffffffu : 0xffffu;
    uint64_t last = (uint64_t)off + len - 1;
    if (last > top)
        return false;
    if (desc_is_data(st->attr) && (st->attr & 4))
        return off > st->limit;
    return last <= st->limit;
}

void sys_stack_check_push(struct x86_cpu *cpu, const struct sys_stack *st, uint32_t n, bool use_sel)
{
    uint32_t off = stack_off(st, st->sp - n);
    /* A 16-bit stack that wraps through zero is checked piecewise by the pushes themselves. */
    if (!stack_b32(st) && (st->sp & 0xffff) < n && (st->sp & 0xffff) != 0)
        return;
    if (!stack_in_limit(st, off, n))
        x86_raise(cpu, X86_SS, use_sel ? ((st->sel & 0xfffcu) | cpu->ev_ext) : cpu->ev_ext);
}

static void stack_set_sp(struct sys_stack *st, uint32_t sp)
{
    st->sp = stack_b32(st) ? sp : ((st->sp & 0xffff0000u) | (sp & 0xffff));
}

void sys_stack_push(struct x86_cpu *cpu, struct sys_stack *st, uint32_t v, bool o32)
{
    uint32_t n = o32 ? 4 : 2;
    uint32_t off = stack_off(st, st->sp - n);
    if (st->user) {
        if (o32)
            x86_write32(cpu, S_SS, off, v);
        else
            x86_write16(cpu, S_SS, off, (uint16_t)v);
    } else {
        if (!stack_in_limit(st, off, n))
            x86_raise(cpu, X86_SS, (st->sel & 0xfffcu) | cpu->ev_ext);
        if (o32)
            x86_sys_write32(cpu, st->base + off, v);
        else
            x86_sys_write16(cpu, st->base + off, (uint16_t)v);
    }
    stack_set_sp(st, st->sp - n);
}

uint32_t sys_stack_pop(struct x86_cpu *cpu, struct sys_stack *st, bool o32)
{
    uint32_t n = o32 ? 4 : 2;
    uint32_t off = stack_off(st, st->sp);
    uint32_t v;
    if (st->user) {
        v = o32 ? x86_read32(cpu, S_SS, off) : x86_read16(cpu, S_SS, off);
    } else {
        if (!stack_in_limit(st, off, n))
            x86_raise(cpu, X86_SS, cpu->ev_ext);
        v = o32 ? x86_sys_read32(cpu, st->base + off) : x86_sys_read16(cpu, st->base + off);
    }
    stack_set_sp(st, st->sp + n);
    return v;
}

void sys_stack_skip(struct sys_stack *st, uint32_t n)
{
    stack_set_sp(st, st->sp + n);
}

void sys_stack_store_sp(struct x86_cpu *cpu, const struct sys_stack *st)
{
    /* st->sp keeps the upper half unchanged for 16-bit stacks (only SP moves). */
    cpu->s.gpr[R_ESP] = st->sp;
}
