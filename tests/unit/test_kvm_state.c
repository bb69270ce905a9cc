/* Unit tests for the kvm engine's state conversions (hwaccel/kvm_vcpu_state.c): vcpu_state to
 * KVM's kvm_regs/kvm_sregs/kvm_fpu/kvm_debugregs/MSR entries/kvm_vcpu_events and back. Pure
 * functions: no /dev/kvm needed. */
#include <criterion/criterion.h>
#include <string.h>
#include "ringfold/cpu_state.h"
#include "../../hwaccel/kvm_priv.h"

/* A protected-mode state with every field set to something distinctive. */
static void state_sample(struct vcpu_state *st)
{
    vcpu_state_flat32(st, 0x00123456);
    for (int i = 0; i < GPR_COUNT; i++)
        st->gpr[i] = 0x11111111u * (uint32_t)(i + 1);
    st->eflags = EFL_FIXED1 | EFL_IF | EFL_CF | EFL_ZF | EFL_IOPL;
    st->seg[S_FS] = (struct seg_reg){ .sel = 0x2b, .attr = SEG_ATTR_P | SEG_ATTR_S | (3 << 5) | 0x3 | SEG_ATTR_DB,
                                      .base = 0x00400000, .limit = 0xfffff };
    st->seg[S_GS] = (struct seg_reg){ .sel = 0, .attr = 0, .base = 0, .limit = 0 };   /* null, unusable */
    st->ldtr = (struct seg_reg){ .sel = 0x28, .attr = SEG_ATTR_P | 0x2, .base = 0x5000, .limit = 0xff };
    st->tr = (struct seg_reg){ .sel = 0x30, .attr = SEG_ATTR_P | 0xb, .base = 0x6000, .limit = 0x67 };
    st->gdtr = (struct dtable_reg){ .base = 0x7000, .limit = 0x3f };
    st->idtr = (struct dtable_reg){ .base = 0x8000, .limit = 0x7ff };
    st->cr0 = CR0_PE | CR0_PG | CR0_WP | CR0_ET | CR0_NE;
    st->cr2 = 0xdeadb000;
    st->cr3 = 0x00009000;
    st->cr4 = CR4_PSE | CR4_PGE | CR4_OSFXSR;
    st->msr.efer = EFER_NXE;
    st->msr.apic_base = 0xfee00900ull;
    st->msr.sysenter_cs = 0x10;
    st->msr.sysenter_esp = 0xc0001000;
    st->msr.sysenter_eip = 0xc0100000;
    st->msr.pat = 0x0007010600070106ull;
    st->msr.mtrr_def_type = 0xc06;
    for (int i = 0; i < 11; i++)
        st->msr.mtrr_fixed[i] = 0x0606060606060606ull + (uint64_t)i;
    for (int i = 0; i < 16; i++)
        st->msr.mtrr_var[i] = 0x1000ull * (uint64_t)(i + 1) | (i & 1 ? 0x800 : 6);
    st->msr.misc_enable = 1;
    st->dr[0] = 0x1000;
    st->dr[1] = 0x2000;
    st->dr[2] = 0x3000;
    st->dr[3] = 0x4000;
    st->dr[6] = 0xffff0ff1u;
    st->dr[7] = 0x00000403u;
    st->intr_shadow = 1;
    st->nmi_masked = 1;
}

Test(kvm_state, regs_round_trip)
{
    struct vcpu_state a, b;
    struct kvm_regs r;
    state_sample(&a);
    memset(&r, 0, sizeof(r));
    kvm_state_to_regs(&a, &r);
    cr_assert_eq(r.rax, a.gpr[R_EAX]);
    cr_assert_eq(r.rsp, a.gpr[R_ESP]);
    cr_assert_eq(r.rdi, a.gpr[R_EDI]);
    cr_assert_eq(r.rip, 0x00123456u);
    cr_assert_eq(r.rflags, a.eflags);
    memset(&b, 0, sizeof(b));
    kvm_state_from_regs(&r, &b);
    cr_assert_arr_eq(b.gpr, a.gpr, sizeof(a.gpr));
    cr_assert_eq(b.eip, a.eip);
    cr_assert_eq(b.eflags, a.eflags);
}

Test(kvm_state, segment_attribute_bits)
{
    /* 32-bit code, DPL 3, conforming+readable (type 0xf), AVL, G: every field by name. */
    struct seg_reg s = { .sel = 0x1b, .base = 0x12345678, .limit = 0xffffffff,
                         .attr = 0xf | SEG_ATTR_S | (3 << 5) | SEG_ATTR_P | 0x100 | SEG_ATTR_DB | SEG_ATTR_G };
    struct kvm_segment k;
    kvm_seg_to_kvm(&s, &k);
    cr_assert_eq(k.selector, 0x1b);
    cr_assert_eq(k.base, 0x12345678u);
    cr_assert_eq(k.limit, 0xffffffffu);
    cr_assert_eq(k.type, 0xf);
    cr_assert_eq(k.s, 1);
    cr_assert_eq(k.dpl, 3);
    cr_assert_eq(k.present, 1);
    cr_assert_eq(k.avl, 1);
    cr_assert_eq(k.l, 0);
    cr_assert_eq(k.db, 1);
    cr_assert_eq(k.g, 1);
    cr_assert_eq(k.unusable, 0);
    struct seg_reg back;
    kvm_seg_from_kvm(&k, &back);
    cr_assert_eq(back.attr, s.attr);
    cr_assert_eq(back.sel, s.sel);
    cr_assert_eq(back.base, s.base);
    cr_assert_eq(back.limit, s.limit);
}

Test(kvm_state, code_and_data_caches_are_accessed)
{
    struct seg_reg code = { .sel = 0x08, .limit = 0xffff, .attr = 0xa | SEG_ATTR_S | SEG_ATTR_P };
    struct seg_reg ldt = { .sel = 0x28, .limit = 0xff, .attr = 0x2 | SEG_ATTR_P };
    struct kvm_segment k;
    kvm_seg_to_kvm(&code, &k);
    cr_assert_eq(k.type, 0xb, "execute/read code gets its accessed bit");
    kvm_seg_to_kvm(&ldt, &k);
    cr_assert_eq(k.type, 0x2, "system descriptors keep their type");
}

Test(kvm_state, null_segment_is_unusable)
{
    struct seg_reg s = { 0 };
    struct kvm_segment k;
    kvm_seg_to_kvm(&s, &k);
    cr_assert_eq(k.unusable, 1, "a cache that is not present is unusable for VM entry");
    cr_assert_eq(k.present, 0);
    /* KVM reports an unusable segment with whatever type bits it kept: not present for us. */
    k.present = 1;
    struct seg_reg back;
    kvm_seg_from_kvm(&k, &back);
    cr_assert_eq(back.attr & SEG_ATTR_P, 0);
}

Test(kvm_state, sregs_round_trip)
{
    struct vcpu_state a, b;
    struct kvm_sregs s;
    state_sample(&a);
    memset(&s, 0, sizeof(s));
    s.interrupt_bitmap[0] = 0x100;      /* not ours: must survive */
    kvm_state_to_sregs(&a, &s);
    cr_assert_eq(s.cs.selector, 0x10);
    cr_assert_eq(s.cs.type, 0xb);
    cr_assert_eq(s.fs.base, 0x00400000u);
    cr_assert_eq(s.fs.dpl, 3);
    cr_assert_eq(s.gs.unusable, 1);
    cr_assert_eq(s.tr.type, 0xb);
    cr_assert_eq(s.ldt.type, 0x2);
    cr_assert_eq(s.gdt.base, 0x7000u);
    cr_assert_eq(s.idt.limit, 0x7ff);
    cr_assert_eq(s.cr0, a.cr0);
    cr_assert_eq(s.cr2, 0xdeadb000u);
    cr_assert_eq(s.cr3, 0x9000u);
    cr_assert_eq(s.cr4, a.cr4);
    cr_assert_eq(s.efer, EFER_NXE);
    cr_assert_eq(s.apic_base, 0xfee00900ull);
    cr_assert_eq(s.interrupt_bitmap[0], 0x100u);
    memset(&b, 0, sizeof(b));
    kvm_state_from_sregs(&s, &b);
    for (int i = 0; i < SEG_COUNT; i++) {
        cr_assert_eq(b.seg[i].sel, a.seg[i].sel, "seg %d", i);
        cr_assert_eq(b.seg[i].attr, a.seg[i].attr, "seg %d attr %#x vs %#x", i, b.seg[i].attr, a.seg[i].attr);
        cr_assert_eq(b.seg[i].base, a.seg[i].base, "seg %d", i);
        cr_assert_eq(b.seg[i].limit, a.seg[i].limit, "seg %d", i);
    }
    cr_assert_eq(memcmp(&b.ldtr, &a.ldtr, sizeof(a.ldtr)), 0);
    cr_assert_eq(memcmp(&b.tr, &a.tr, sizeof(a.tr)), 0);
    cr_assert_eq(b.gdtr.base, a.gdtr.base);
    cr_assert_eq(b.gdtr.limit, a.gdtr.limit);
    cr_assert_eq(b.idtr.base, a.idtr.base);
    cr_assert_eq(b.idtr.limit, a.idtr.limit);
    cr_assert_eq(b.cr0, a.cr0);
    cr_assert_eq(b.cr2, a.cr2);
    cr_assert_eq(b.cr3, a.cr3);
    cr_assert_eq(b.cr4, a.cr4);
    cr_assert_eq(b.msr.efer, a.msr.efer);
    cr_assert_eq(b.msr.apic_base, a.msr.apic_base);
}

Test(kvm_state, real_mode_reset_state_converts)
{
    struct vcpu_state a, b;
    struct kvm_sregs s;
    vcpu_state_reset(&a);
    memset(&s, 0, sizeof(s));
    kvm_state_to_sregs(&a, &s);
    cr_assert_eq(s.cs.selector, 0xf000);
    cr_assert_eq(s.cs.base, 0xffff0000u);
    cr_assert_eq(s.cs.limit, 0xffff);
    cr_assert_eq(s.cs.unusable, 0);
    cr_assert_eq(s.ds.type, 3);
    cr_assert_eq(s.cr0, CR0_ET | CR0_CD | CR0_NW);
    memset(&b, 0, sizeof(b));
    kvm_state_from_sregs(&s, &b);
    cr_assert_eq(memcmp(b.seg, a.seg, sizeof(a.seg)), 0);
    cr_assert_eq(memcmp(&b.tr, &a.tr, sizeof(a.tr)), 0);
    cr_assert_eq(memcmp(&b.ldtr, &a.ldtr, sizeof(a.ldtr)), 0);
}

Test(kvm_state, tr_without_tss_is_shown_as_busy_tss)
{
    /* VM entry wants a busy TSS in TR; a state whose TR never got one is handed over as the
     * reset value's type. */
    struct vcpu_state a;
    struct kvm_sregs s;
    state_sample(&a);
    a.tr.attr = 0;
    memset(&s, 0, sizeof(s));
    kvm_state_to_sregs(&a, &s);
    cr_assert_eq(s.tr.type, 11);
    cr_assert_eq(s.tr.present, 1);
    cr_assert_eq(s.tr.unusable, 0);
}

/* 80-bit values: 1.0 (valid), +0 (zero), +inf (special). */
static void f80(uint8_t *dst, uint64_t mant, uint16_t se)
{
    memset(dst, 0, 16);
    memcpy(dst, &mant, 8);
    memcpy(dst + 8, &se, 2);
}

Test(kvm_state, fpu_stack_order_and_tags)
{
    struct vcpu_state a, b;
    struct kvm_fpu f;
    memset(&a, 0, sizeof(a));
    a.fpu.fcw = 0x037f;
    a.fpu.fsw = (uint16_t)(5u << 11) | 0x0001;          /* TOP = 5, IE */
    /* Physical R5 = ST(0) = 1.0, R6 = ST(1) = +0, R7 = ST(2) = +inf, the rest empty. */
    f80(a.fpu.st[5], 0x8000000000000000ull, 0x3fff);
    f80(a.fpu.st[6], 0, 0);
    f80(a.fpu.st[7], 0x8000000000000000ull, 0x7fff);
    a.fpu.ftw = (uint16_t)(0xffff & ~(3u << 10) & ~(3u << 12) & ~(3u << 14));
    a.fpu.ftw |= (uint16_t)((0u << 10) | (1u << 12) | (2u << 14));
    a.fpu.fop = 0x1d9;
    a.fpu.fip = 0x00101234;
    a.fpu.fdp = 0x00205678;
    a.fpu.mxcsr = 0x1f80;
    for (int i = 0; i < 8; i++)
        memset(a.fpu.xmm[i], 0x10 + i, 16);

    memset(&f, 0xcc, sizeof(f));
    kvm_state_to_fpu(&a, &f);
    cr_assert_eq(memcmp(f.fpr[0], a.fpu.st[5], 10), 0, "fpr[0] is ST(0), physical R(TOP)");
    cr_assert_eq(memcmp(f.fpr[1], a.fpu.st[6], 10), 0);
    cr_assert_eq(memcmp(f.fpr[2], a.fpu.st[7], 10), 0);
    cr_assert_eq(memcmp(f.fpr[3], a.fpu.st[0], 10), 0, "ST(3) wraps to R0");
    cr_assert_eq(f.ftwx, 0xe0, "abridged tag: one bit per physical register, 1 = not empty");
    cr_assert_eq(f.fcw, 0x037f);
    cr_assert_eq(f.fsw, a.fpu.fsw);
    cr_assert_eq(f.last_opcode, 0x1d9);
    cr_assert_eq(f.last_ip, 0x00101234u);
    cr_assert_eq(f.last_dp, 0x00205678u);
    cr_assert_eq(f.mxcsr, 0x1f80u);
    cr_assert_eq(memcmp(f.xmm, a.fpu.xmm, sizeof(a.fpu.xmm)), 0);
    uint8_t zero[16] = { 0 };
    cr_assert_eq(memcmp(f.xmm[8], zero, 16), 0, "xmm8-15 do not exist in 32-bit mode");

    memset(&b, 0, sizeof(b));
    kvm_state_from_fpu(&f, &b);
    cr_assert_eq(b.fpu.ftw, a.fpu.ftw, "full tags recomputed from values: %#x vs %#x", b.fpu.ftw, a.fpu.ftw);
    cr_assert_eq(memcmp(b.fpu.st, a.fpu.st, sizeof(a.fpu.st)), 0);
    cr_assert_eq(b.fpu.fcw, a.fpu.fcw);
    cr_assert_eq(b.fpu.fsw, a.fpu.fsw);
    cr_assert_eq(b.fpu.fop, a.fpu.fop);
    cr_assert_eq(b.fpu.fip, a.fpu.fip);
    cr_assert_eq(b.fpu.fdp, a.fpu.fdp);
    cr_assert_eq(b.fpu.mxcsr, a.fpu.mxcsr);
    cr_assert_eq(memcmp(b.fpu.xmm, a.fpu.xmm, sizeof(a.fpu.xmm)), 0);
}

Test(kvm_state, debugregs_round_trip)
{
    struct vcpu_state a, b;
    struct kvm_debugregs d;
    state_sample(&a);
    memset(&d, 0, sizeof(d));
    kvm_state_to_debugregs(&a, &d);
    cr_assert_eq(d.db[2], 0x3000u);
    cr_assert_eq(d.dr6, 0xffff0ff1u);
    cr_assert_eq(d.dr7, 0x403u);
    memset(&b, 0, sizeof(b));
    kvm_state_from_debugregs(&d, &b);
    cr_assert_eq(memcmp(b.dr, a.dr, 4 * sizeof(a.dr[0])), 0);
    cr_assert_eq(b.dr[6], a.dr[6]);
    cr_assert_eq(b.dr[7], a.dr[7]);
}

Test(kvm_state, msrs_round_trip)
{
    struct vcpu_state a, b;
    uint32_t idx[KVM_STATE_MAX_MSRS];
    struct kvm_msr_entry e[KVM_STATE_MAX_MSRS];
    state_sample(&a);
    int n = kvm_state_msr_indices(idx, KVM_STATE_MAX_MSRS);
    cr_assert_eq(n, 34, "TSC, 3 SYSENTER, PAT, MTRRdefType, MISC_ENABLE, 11 fixed, 16 variable");
    cr_assert_eq(idx[0], 0x10u);
    kvm_state_to_msrs(&a, 0x123456789ull, idx, n, e);
    cr_assert_eq(e[0].index, 0x10u);
    cr_assert_eq(e[0].data, 0x123456789ull);
    cr_assert_eq(e[1].index, 0x174u);
    cr_assert_eq(e[1].data, 0x10u);
    memset(&b, 0, sizeof(b));
    uint64_t tsc = kvm_state_from_msrs(e, n, &b);
    cr_assert_eq(tsc, 0x123456789ull);
    cr_assert_eq(b.msr.sysenter_cs, a.msr.sysenter_cs);
    cr_assert_eq(b.msr.sysenter_esp, a.msr.sysenter_esp);
    cr_assert_eq(b.msr.sysenter_eip, a.msr.sysenter_eip);
    cr_assert_eq(b.msr.pat, a.msr.pat);
    cr_assert_eq(b.msr.mtrr_def_type, a.msr.mtrr_def_type);
    cr_assert_eq(b.msr.misc_enable, a.msr.misc_enable);
    cr_assert_eq(memcmp(b.msr.mtrr_fixed, a.msr.mtrr_fixed, sizeof(a.msr.mtrr_fixed)), 0);
    cr_assert_eq(memcmp(b.msr.mtrr_var, a.msr.mtrr_var, sizeof(a.msr.mtrr_var)), 0);
}

Test(kvm_state, events_shadow_and_nmi_mask)
{
    struct vcpu_state a, b;
    struct kvm_vcpu_events ev;
    state_sample(&a);
    memset(&ev, 0, sizeof(ev));
    kvm_state_to_events(&a, &ev);
    cr_assert(ev.flags & KVM_VCPUEVENT_VALID_SHADOW);
    cr_assert_neq(ev.interrupt.shadow, 0);
    cr_assert_eq(ev.nmi.masked, 1);
    memset(&b, 0, sizeof(b));
    kvm_state_from_events(&ev, &b);
    cr_assert_eq(b.intr_shadow, 1);
    cr_assert_eq(b.nmi_masked, 1);
    a.intr_shadow = 0;
    a.nmi_masked = 0;
    kvm_state_to_events(&a, &ev);
    kvm_state_from_events(&ev, &b);
    cr_assert_eq(b.intr_shadow, 0);
    cr_assert_eq(b.nmi_masked, 0);
}
