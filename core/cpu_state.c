/* Reset and boot states of a vCPU, shared by loaders and engines. */
#include <string.h>
#include "ringfold/cpu_state.h"

static void seg_set(struct seg_reg *s, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr)
{
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr;
}

void vcpu_state_reset(struct vcpu_state *st)
{
    memset(st, 0, sizeof(*st));
    st->eflags = EFL_FIXED1;
    st->eip = 0xfff0;
    st->cr0 = CR0_ET | CR0_CD | CR0_NW;
    /* Real-mode data segments: present, read/write, accessed (type 3). */
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&st->seg[i], 0, 0, 0xffff, SEG_ATTR_P | SEG_ATTR_S | 0x3);
    /* CS: execute/read, accessed (type 0xb); base 0xffff0000 until the first far jump. */
    seg_set(&st->seg[S_CS], 0xf000, 0xffff0000u, 0xffff, SEG_ATTR_P | SEG_ATTR_S | 0xb);
    seg_set(&st->ldtr, 0, 0, 0xffff, SEG_ATTR_P | 0x2);
    seg_set(&st->tr, 0, 0, 0xffff, SEG_ATTR_P | 0xb);
    st->gdtr.limit = 0xffff;
    st->idtr.limit = 0xffff;
    st->gpr[R_EDX] = 0x0633;          /* family 6, model 3 stepping 3: a P6 */
    st->dr[6] = 0xffff0ff0u;
    st->dr[7] = 0x00000400u;
    st->fpu.fcw = 0x0040;
    st->fpu.ftw = 0x5555;
    st->fpu.mxcsr = 0x1f80;
    st->msr.pat = 0x0007040600070406ull;
    st->msr.apic_base = 0xfee00900ull;
}

void vcpu_state_flat32(struct vcpu_state *st, uint32_t eip)
{
    vcpu_state_reset(st);
    st->eip = eip;
    st->cr0 = CR0_PE | CR0_ET;
    st->fpu.fcw = 0x037f;
    st->fpu.ftw = 0xffff;
    const uint16_t code = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | SEG_ATTR_G | 0xb;
    const uint16_t data = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | SEG_ATTR_G | 0x3;
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&st->seg[i], 0x18, 0, 0xffffffffu, data);
    seg_set(&st->seg[S_CS], 0x10, 0, 0xffffffffu, code);
}
