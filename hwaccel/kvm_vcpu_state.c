/* Pure conversions between ringfold's vcpu_state and KVM's register structures (kvm_regs,
 * kvm_sregs, kvm_fpu, kvm_debugregs, MSR entries, kvm_vcpu_events), both ways. No ioctls here,
 * so tests/unit/test_kvm_state.c checks every field's round trip without /dev/kvm. */
#include <string.h>
#include "kvm_priv.h"

/* MSR numbers (SDM Vol. 4, Table 2-2: architectural MSRs). */
#define MSR_IA32_TSC          0x010u
#define MSR_IA32_MISC_ENABLE  0x1a0u
#define MSR_SYSENTER_CS       0x174u
#define MSR_SYSENTER_ESP      0x175u
#define MSR_SYSENTER_EIP      0x176u
#define MSR_MTRR_PHYS0        0x200u     /* base/mask pairs 0x200..0x20f */
#define MSR_MTRR_FIX64K       0x250u
#define MSR_MTRR_FIX16K_80000 0x258u
#define MSR_MTRR_FIX16K_A0000 0x259u
#define MSR_MTRR_FIX4K_C0000  0x268u     /* eight of them, 0x268..0x26f */
#define MSR_PAT               0x277u
#define MSR_MTRR_DEF_TYPE     0x2ffu

/* --- segments ------------------------------------------------------------------------------ */

/* vcpu_state keeps descriptor bits 40..55 in attr; kvm_segment spells each one out. A segment
 * whose cache is not present is "unusable" in VMX terms (SDM Vol. 3 §24.4.1: null selectors
 * loaded in protected mode), which KVM also accepts on SVM. */
void kvm_seg_to_kvm(const struct seg_reg *s, struct kvm_segment *k)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->sel;
    k->type = (uint8_t)SEG_ATTR_TYPE(s->attr);
    k->s = !!(s->attr & SEG_ATTR_S);
    k->dpl = (uint8_t)SEG_ATTR_DPL(s->attr);
    k->present = !!(s->attr & SEG_ATTR_P);
    k->avl = !!(s->attr & 0x0100);
    k->l = !!(s->attr & 0x0200);
    k->db = !!(s->attr & SEG_ATTR_DB);
    k->g = !!(s->attr & SEG_ATTR_G);
    k->unusable = !k->present;
    /* VM entry wants the accessed bit in every usable code/data cache (SDM Vol. 3 §26.3.1.2); a
     * real CPU has it there anyway, as loading a descriptor sets it (§3.4.5.1). */
    if (k->s && k->present)
        k->type |= 1;
}

void kvm_seg_from_kvm(const struct kvm_segment *k, struct seg_reg *s)
{
    s->base = (uint32_t)k->base;
    s->limit = k->limit;
    s->sel = k->selector;
    uint16_t a = (uint16_t)(k->type & 0xf);
    if (k->s)
        a |= SEG_ATTR_S;
    a |= (uint16_t)((k->dpl & 3) << 5);
    if (k->present && !k->unusable)
        a |= SEG_ATTR_P;
    if (k->avl)
        a |= 0x0100;
    if (k->l)
        a |= 0x0200;
    if (k->db)
        a |= SEG_ATTR_DB;
    if (k->g)
        a |= SEG_ATTR_G;
    s->attr = a;
}

/* --- general registers --------------------------------------------------------------------- */

void kvm_state_to_regs(const struct vcpu_state *st, struct kvm_regs *r)
{
    r->rax = st->gpr[R_EAX];
    r->rcx = st->gpr[R_ECX];
    r->rdx = st->gpr[R_EDX];
    r->rbx = st->gpr[R_EBX];
    r->rsp = st->gpr[R_ESP];
    r->rbp = st->gpr[R_EBP];
    r->rsi = st->gpr[R_ESI];
    r->rdi = st->gpr[R_EDI];
    r->rip = st->eip;
    r->rflags = st->eflags | EFL_FIXED1;     /* bit 1 is always 1 (SDM Vol. 1 §3.4.3) */
}

void kvm_state_from_regs(const struct kvm_regs *r, struct vcpu_state *st)
{
    st->gpr[R_EAX] = (uint32_t)r->rax;
    st->gpr[R_ECX] = (uint32_t)r->rcx;
    st->gpr[R_EDX] = (uint32_t)r->rdx;
    st->gpr[R_EBX] = (uint32_t)r->rbx;
    st->gpr[R_ESP] = (uint32_t)r->rsp;
    st->gpr[R_EBP] = (uint32_t)r->rbp;
    st->gpr[R_ESI] = (uint32_t)r->rsi;
    st->gpr[R_EDI] = (uint32_t)r->rdi;
    st->eip = (uint32_t)r->rip;
    st->eflags = (uint32_t)r->rflags;
}

/* --- system registers ---------------------------------------------------------------------- */

static struct kvm_segment *kvm_sreg_seg(struct kvm_sregs *s, int i)
{
    switch (i) {
    case S_ES: return &s->es;
    case S_CS: return &s->cs;
    case S_SS: return &s->ss;
    case S_DS: return &s->ds;
    case S_FS: return &s->fs;
    default:   return &s->gs;
    }
}

void kvm_state_to_sregs(const struct vcpu_state *st, struct kvm_sregs *s)
{
    for (int i = 0; i < SEG_COUNT; i++)
        kvm_seg_to_kvm(&st->seg[i], kvm_sreg_seg(s, i));
    kvm_seg_to_kvm(&st->ldtr, &s->ldt);
    kvm_seg_to_kvm(&st->tr, &s->tr);
    /* VM entry requires a busy TSS in TR (SDM Vol. 3 §26.3.1.2) even before the guest's first
     * LTR; a TR cache with no valid TSS type is shown to KVM as the reset value (busy 32-bit
     * TSS at 0, present) — the guest cannot tell, as nothing uses TR before LTR. */
    if (!s->tr.present || (s->tr.type != 3 && s->tr.type != 11)) {
        s->tr.type = 11;
        s->tr.present = 1;
        s->tr.s = 0;
        s->tr.unusable = 0;
    }
    s->gdt.base = st->gdtr.base;
    s->gdt.limit = st->gdtr.limit;
    s->idt.base = st->idtr.base;
    s->idt.limit = st->idtr.limit;
    s->cr0 = st->cr0;
    s->cr2 = st->cr2;
    s->cr3 = st->cr3;
    s->cr4 = st->cr4;
    s->efer = st->msr.efer;
    s->apic_base = st->msr.apic_base;
}

void kvm_state_from_sregs(const struct kvm_sregs *s, struct vcpu_state *st)
{
    struct kvm_sregs tmp = *s;
    for (int i = 0; i < SEG_COUNT; i++)
        kvm_seg_from_kvm(kvm_sreg_seg(&tmp, i), &st->seg[i]);
    kvm_seg_from_kvm(&s->ldt, &st->ldtr);
    kvm_seg_from_kvm(&s->tr, &st->tr);
    st->gdtr.base = (uint32_t)s->gdt.base;
    st->gdtr.limit = s->gdt.limit;
    st->idtr.base = (uint32_t)s->idt.base;
    st->idtr.limit = s->idt.limit;
    st->cr0 = (uint32_t)s->cr0;
    st->cr2 = (uint32_t)s->cr2;
    st->cr3 = (uint32_t)s->cr3;
    st->cr4 = (uint32_t)s->cr4;
    st->msr.efer = s->efer;
    st->msr.apic_base = s->apic_base;
}

/* --- x87 / SSE ----------------------------------------------------------------------------- */

static unsigned fpu_top(uint16_t fsw)
{
    return (fsw >> 11) & 7;
}

/* The full tag of a non-empty register from its value (SDM Vol. 1 §8.1.7): 01 zero, 00 valid
 * (normal, integer bit set), 10 special (NaN, infinity, denormal, unsupported encodings). */
static unsigned fpu_tag_of(const uint8_t *v)
{
    uint64_t m;
    uint16_t se;
    memcpy(&m, v, 8);
    memcpy(&se, v + 8, 2);
    unsigned exp = se & 0x7fff;
    if (exp == 0)
        return m == 0 ? 1 : 2;
    if (exp == 0x7fff || !(m >> 63))
        return 2;
    return 0;
}

/* KVM's kvm_fpu is the FXSAVE image: registers in stack order ST(0)..ST(7) and the abridged
 * one-bit-per-physical-register tag (SDM Vol. 2 FXSAVE); vcpu_state holds physical registers
 * R0..R7 and the full two-bit tag word. FCS/FDS have no place in kvm_fpu and are not carried. */
void kvm_state_to_fpu(const struct vcpu_state *st, struct kvm_fpu *f)
{
    const struct fpu_state *x = &st->fpu;
    unsigned top = fpu_top(x->fsw);
    memset(f->fpr, 0, sizeof(f->fpr));
    for (unsigned i = 0; i < 8; i++)
        memcpy(f->fpr[i], x->st[(top + i) & 7], 10);
    f->fcw = x->fcw;
    f->fsw = x->fsw;
    uint8_t abridged = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((x->ftw >> (2 * p)) & 3) != 3)
            abridged |= (uint8_t)(1u << p);
    f->ftwx = abridged;
    f->last_opcode = x->fop;
    f->last_ip = x->fip;
    f->last_dp = x->fdp;
    memset(f->xmm, 0, sizeof(f->xmm));
    memcpy(f->xmm, x->xmm, sizeof(x->xmm));
    f->mxcsr = x->mxcsr;
}

void kvm_state_from_fpu(const struct kvm_fpu *f, struct vcpu_state *st)
{
    struct fpu_state *x = &st->fpu;
    unsigned top = fpu_top(f->fsw);
    for (unsigned i = 0; i < 8; i++) {
        memset(x->st[(top + i) & 7], 0, 16);
        memcpy(x->st[(top + i) & 7], f->fpr[i], 10);
    }
    x->fcw = f->fcw;
    x->fsw = f->fsw;
    uint16_t ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned tag = (f->ftwx & (1u << p)) ? fpu_tag_of(x->st[p]) : 3;
        ftw |= (uint16_t)(tag << (2 * p));
    }
    x->ftw = ftw;
    x->fop = f->last_opcode;
    x->fip = (uint32_t)f->last_ip;
    x->fdp = (uint32_t)f->last_dp;
    memcpy(x->xmm, f->xmm, sizeof(x->xmm));
    x->mxcsr = f->mxcsr;
}

/* --- debug registers ----------------------------------------------------------------------- */

void kvm_state_to_debugregs(const struct vcpu_state *st, struct kvm_debugregs *d)
{
    for (int i = 0; i < 4; i++)
        d->db[i] = st->dr[i];
    d->dr6 = st->dr[6];
    d->dr7 = st->dr[7];
    d->flags = 0;
}

void kvm_state_from_debugregs(const struct kvm_debugregs *d, struct vcpu_state *st)
{
    for (int i = 0; i < 4; i++)
        st->dr[i] = (uint32_t)d->db[i];
    st->dr[6] = (uint32_t)d->dr6;
    st->dr[7] = (uint32_t)d->dr7;
}

/* --- MSRs ---------------------------------------------------------------------------------- */

int kvm_state_msr_indices(uint32_t *idx, int max)
{
    uint32_t all[KVM_STATE_MAX_MSRS];
    int n = 0;
    all[n++] = MSR_IA32_TSC;
    all[n++] = MSR_SYSENTER_CS;
    all[n++] = MSR_SYSENTER_ESP;
    all[n++] = MSR_SYSENTER_EIP;
    all[n++] = MSR_PAT;
    all[n++] = MSR_MTRR_DEF_TYPE;
    all[n++] = MSR_IA32_MISC_ENABLE;
    all[n++] = MSR_MTRR_FIX64K;
    all[n++] = MSR_MTRR_FIX16K_80000;
    all[n++] = MSR_MTRR_FIX16K_A0000;
    for (uint32_t i = 0; i < 8; i++)
        all[n++] = MSR_MTRR_FIX4K_C0000 + i;
    for (uint32_t i = 0; i < 16; i++)
        all[n++] = MSR_MTRR_PHYS0 + i;
    if (n > max)
        n = max;
    memcpy(idx, all, (size_t)n * sizeof(*idx));
    return n;
}

/* Where MSR idx lives in the state (NULL for the TSC and anything unknown). */
static uint64_t *msr_slot(struct msr_state *m, uint32_t idx, uint32_t **slot32)
{
    *slot32 = NULL;
    switch (idx) {
    case MSR_SYSENTER_CS:      *slot32 = &m->sysenter_cs; return NULL;
    case MSR_SYSENTER_ESP:     *slot32 = &m->sysenter_esp; return NULL;
    case MSR_SYSENTER_EIP:     *slot32 = &m->sysenter_eip; return NULL;
    case MSR_PAT:              return &m->pat;
    case MSR_MTRR_DEF_TYPE:    return &m->mtrr_def_type;
    case MSR_IA32_MISC_ENABLE: return &m->misc_enable;
    case MSR_MTRR_FIX64K:      return &m->mtrr_fixed[0];
    case MSR_MTRR_FIX16K_80000: return &m->mtrr_fixed[1];
    case MSR_MTRR_FIX16K_A0000: return &m->mtrr_fixed[2];
    default: break;
    }
    if (idx >= MSR_MTRR_FIX4K_C0000 && idx < MSR_MTRR_FIX4K_C0000 + 8)
        return &m->mtrr_fixed[3 + idx - MSR_MTRR_FIX4K_C0000];
    if (idx >= MSR_MTRR_PHYS0 && idx < MSR_MTRR_PHYS0 + 16)
        return &m->mtrr_var[idx - MSR_MTRR_PHYS0];
    return NULL;
}

void kvm_state_to_msrs(const struct vcpu_state *st, uint64_t tsc, const uint32_t *idx, int n,
                       struct kvm_msr_entry *e)
{
    struct msr_state m = st->msr;
    for (int i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        e[i].index = idx[i];
        uint32_t *s32;
        uint64_t *s64 = msr_slot(&m, idx[i], &s32);
        if (idx[i] == MSR_IA32_TSC)
            e[i].data = tsc;
        else if (s64)
            e[i].data = *s64;
        else if (s32)
            e[i].data = *s32;
    }
}

uint64_t kvm_state_from_msrs(const struct kvm_msr_entry *e, int n, struct vcpu_state *st)
{
    uint64_t tsc = 0;
    for (int i = 0; i < n; i++) {
        uint32_t *s32;
        uint64_t *s64 = msr_slot(&st->msr, e[i].index, &s32);
        if (e[i].index == MSR_IA32_TSC)
            tsc = e[i].data;
        else if (s64)
            *s64 = e[i].data;
        else if (s32)
            *s32 = (uint32_t)e[i].data;
    }
    return tsc;
}

/* --- events: interrupt shadow and NMI masking ---------------------------------------------- */

/* The STI and MOV SS shadows (SDM Vol. 3 §6.8.3) block interrupts for one instruction; vcpu_state
 * has one flag for both, handed to KVM as the STI kind. */
void kvm_state_to_events(const struct vcpu_state *st, struct kvm_vcpu_events *ev)
{
    ev->interrupt.shadow = st->intr_shadow ? KVM_X86_SHADOW_INT_STI : 0;
    ev->nmi.masked = st->nmi_masked ? 1 : 0;
    ev->flags |= KVM_VCPUEVENT_VALID_SHADOW;
}

void kvm_state_from_events(const struct kvm_vcpu_events *ev, struct vcpu_state *st)
{
    st->intr_shadow = ev->interrupt.shadow ? 1 : 0;
    st->nmi_masked = ev->nmi.masked ? 1 : 0;
}
