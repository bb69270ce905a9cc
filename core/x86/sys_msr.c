/* RDMSR/WRMSR for the MSRs an i686 model has, and RDTSC from the virtual clock
 * (SDM Vol. 4 Table 2-2 architectural MSRs, Vol. 3 §11.11 MTRRs, §11.12 PAT). */
#include "sys_priv.h"

/* The virtual TSC runs at 1 GHz: one tick per nanosecond of guest time. */
#define TSC_PER_NS 1u

enum {
    MSR_TSC = 0x10, MSR_PLATFORM_ID = 0x17, MSR_APIC_BASE = 0x1b, MSR_BIOS_SIGN_ID = 0x8b,
    MSR_MTRRCAP = 0xfe, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
    MSR_SYSENTER_EIP = 0x176, MSR_MCG_CAP = 0x179, MSR_MCG_STATUS = 0x17a,
    MSR_MISC_ENABLE = 0x1a0, MSR_MTRR_PHYS0 = 0x200, MSR_MTRR_FIX64K = 0x250,
    MSR_MTRR_FIX16K_80000 = 0x258, MSR_MTRR_FIX16K_A0000 = 0x259, MSR_MTRR_FIX4K_C0000 = 0x268,
    MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_EFER = 0xc0000080u,
};

/* MTRRcap: 8 variable ranges, fixed ranges supported, write-combining supported. */
#define MTRRCAP_VALUE 0x508u
#define PHYS_MASK_36 0xfffffffffull

/* Under raw mode guest code executes RDTSC natively and reads the host's TSC (RDTSC faulting,
 * PR_TSC_SIGSEGV, would also trap the monitor's own clock reads), so the emulated RDTSC reads it
 * too: one TSC, one rate, whichever ring asks (WRMSR to the TSC then moves only the emulated
 * view). Elsewhere the virtual TSC runs at 1 GHz on the VM's clock. */
static uint64_t tsc_raw(struct x86_cpu *cpu)
{
    if (cpu->vm->tsc_host)
        return __builtin_ia32_rdtsc();
    return vclock_ns(&cpu->vm->clock) * TSC_PER_NS;
}

uint64_t x86_rdtsc(struct x86_cpu *cpu)
{
    /* CR4.TSD restricts RDTSC to CPL 0 (SDM Vol. 2 RDTSC). */
    if ((cpu->s.cr4 & CR4_TSD) && cpu->cpl != 0)
        x86_raise(cpu, X86_GP, 0);
    return tsc_raw(cpu) + cpu->s.msr.tsc_offset;
}

/* Memory types valid in MTRRs (UC, WC, WT, WP, WB) and, with UC-, in the PAT. */
static bool mtrr_type_ok(unsigned t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }
static bool pat_type_ok(unsigned t) { return mtrr_type_ok(t) || t == 7; }

static bool bytes_ok(uint64_t v, bool pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (v >> (8 * i)) & 0xff;
        if (!(pat ? pat_type_ok(t) : mtrr_type_ok(t)))
            return false;
    }
    return true;
}

/* Index into msr.mtrr_fixed[] for a fixed-range MTRR, or -1. */
static int mtrr_fixed_index(uint32_t idx)
{
    if (idx == MSR_MTRR_FIX64K)
        return 0;
    if (idx == MSR_MTRR_FIX16K_80000 || idx == MSR_MTRR_FIX16K_A0000)
        return 1 + (int)(idx - MSR_MTRR_FIX16K_80000);
    if (idx >= MSR_MTRR_FIX4K_C0000 && idx < MSR_MTRR_FIX4K_C0000 + 8)
        return 3 + (int)(idx - MSR_MTRR_FIX4K_C0000);
    return -1;
}

uint64_t x86_rdmsr(struct x86_cpu *cpu, uint32_t idx)
{
    struct msr_state *m = &cpu->s.msr;
    x86_require_cpl0(cpu);
    switch (idx) {
    case MSR_TSC: return tsc_raw(cpu) + m->tsc_offset;
    case MSR_PLATFORM_ID: return 0;
    case MSR_APIC_BASE: return m->apic_base;
    case MSR_BIOS_SIGN_ID: return 0;            /* no microcode update loaded */
    case MSR_MTRRCAP: return MTRRCAP_VALUE;
    case MSR_SYSENTER_CS: return m->sysenter_cs;
    case MSR_SYSENTER_ESP: return m->sysenter_esp;
    case MSR_SYSENTER_EIP: return m->sysenter_eip;
    case MSR_MCG_CAP: return 0;                 /* no machine-check banks */
    case MSR_MCG_STATUS: return 0;
    case MSR_MISC_ENABLE: return m->misc_enable;
    case MSR_PAT: return m->pat;
    case MSR_MTRR_DEF_TYPE: return m->mtrr_def_type;
    case MSR_EFER: return m->efer;
    default:
        break;
    }
    if (idx >= MSR_MTRR_PHYS0 && idx < MSR_MTRR_PHYS0 + 16)
        return m->mtrr_var[idx - MSR_MTRR_PHYS0];
    int fi = mtrr_fixed_index(idx);
    if (fi >= 0)
        return m->mtrr_fixed[fi];
    x86_raise(cpu, X86_GP, 0);
}

static _Noreturn void msr_gp(struct x86_cpu *cpu)
{
    x86_raise(cpu, X86_GP, 0);
}

void x86_wrmsr(struct x86_cpu *cpu, uint32_t idx, uint64_t v)
{
    struct msr_state *m = &cpu->s.msr;
    x86_require_cpl0(cpu);
    switch (idx) {
    case MSR_TSC:
        m->tsc_offset = v - tsc_raw(cpu);
        return;
    case MSR_APIC_BASE:
        /* Bits 7:0, 10 and 63:36 are reserved; BSP (bit 8) is read-only. */
        if (v & ~(PHYS_MASK_36 & ~0x4ffull))
            msr_gp(cpu);
        m->apic_base = (v & ~0x100ull) | (m->apic_base & 0x100);
        return;
    case MSR_BIOS_SIGN_ID:
        return;                                 /* written before CPUID to read the revision */
    case MSR_SYSENTER_CS: m->sysenter_cs = (uint32_t)v; return;
    case MSR_SYSENTER_ESP: m->sysenter_esp = (uint32_t)v; return;
    case MSR_SYSENTER_EIP: m->sysenter_eip = (uint32_t)v; return;
    case MSR_MCG_STATUS:
        if (v)
            msr_gp(cpu);
        return;
    case MSR_MISC_ENABLE:
        m->misc_enable = v;
        return;
    case MSR_PAT:
        if (!bytes_ok(v, true))
            msr_gp(cpu);
        m->pat = v;
        return;
    case MSR_MTRR_DEF_TYPE:
        if ((v & ~0xcffull) || !mtrr_type_ok(v & 0xff))
            msr_gp(cpu);
        m->mtrr_def_type = v;
        return;
    case MSR_EFER:
        /* Only NXE exists on a 32-bit processor with NX; LME/SCE/... are reserved. */
        if (v & ~EFER_NXE)
            msr_gp(cpu);
        if ((v ^ m->efer) & EFER_NXE)
            x86_tlb_flush(cpu, true);
        m->efer = v;
        return;
    default:
        break;
    }
    if (idx >= MSR_MTRR_PHYS0 && idx < MSR_MTRR_PHYS0 + 16) {
        bool is_mask = (idx - MSR_MTRR_PHYS0) & 1;
        uint64_t ok = is_mask ? ((PHYS_MASK_36 & ~0xfffull) | 0x800) : ((PHYS_MASK_36 & ~0xfffull) | 0xff);
        if ((v & ~ok) || (!is_mask && !mtrr_type_ok(v & 0xff)))
            msr_gp(cpu);
        m->mtrr_var[idx - MSR_MTRR_PHYS0] = v;
        return;
    }
    int fi = mtrr_fixed_index(idx);
    if (fi >= 0) {
        if (!bytes_ok(v, false))
            msr_gp(cpu);
        m->mtrr_fixed[fi] = v;
        return;
    }
    msr_gp(cpu);
}
