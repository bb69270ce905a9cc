/* The sensitive-but-unprivileged instructions of Robin & Irvine (USENIX Security 2000), plus CPUID
 * and RDTSC, each run at CPL 0 and again at CPL 3; prints what it saw and checks it against what
 * an i686 gives. Raw mode must hide ring compression from every one of these. The output is
 * compared line by line with golden/sys_sensitive.txt, so it prints no addresses. */
#include "systest.h"
#include "usermode.h"

#define NSEL 15
#define NOFAULT 0xFFFFFFFFu
/* GDT layout of this kernel, from GDT_FREE (6) up. */
#define SEL_NP 0x30        /* 6: data, not present */
#define SEL_CGATE 0x38     /* 7: call gate DPL 3 */
#define SEL_CONF 0x40      /* 8: conforming code DPL 0, readable */
#define SEL_XONLY3 0x48    /* 9: execute-only code DPL 3 */
#define SEL_IGATE 0x50     /* 10: interrupt gate (invalid in the GDT for LAR) */
#define SEL_RO3 0x58       /* 11: read-only data DPL 3, byte limit 0x1234 */
#define SEL_GATE3 0x63     /* 12: call gate DPL 3 -> 0x08:sens_gate_target */
#define SEL_LDT 0x78       /* 15: LDT */
#define SEL_LDT_DATA 0x0F  /* LDT entry 1, TI=1, RPL 3: data DPL 3 */

static const uint16_t sels[NSEL] = { 0x00, 0x08, 0x10, 0x13, 0x1B, 0x23, 0x28, SEL_NP, SEL_CGATE, SEL_CONF,
                                     SEL_XONLY3, SEL_IGATE, SEL_RO3, SEL_LDT, SEL_LDT_DATA };

struct probe {
    uint32_t pushf, popf_after, cli_vec, cs, ss, ds, push_cs, push_ss;
    uint16_t gdt_limit, idt_limit;
    uint32_t gdt_base, idt_base, ldtr, tr, msw;
    uint32_t lar[NSEL], lar_zf[NSEL], lsl[NSEL], lsl_zf[NSEL], verr[NSEL], verw[NSEL];
    uint32_t gate_vec, gate_cs, gate_ss, gate_caller_cs;
    uint32_t ljmp_vec, lcall0_vec, lret0_vec, iret_same_vec, iret_if, iret0_vec;
    uint32_t int_dpl3_vec, int_dpl3_hits, int_dpl0_vec, int_dpl0_hits;
    uint32_t cpuid_vendor[3], cpuid_family;
    uint32_t tsc_up, tsd_vec;
};

static struct probe res[2];
static struct probe *cur;
static volatile uint32_t int35_hits;

static void int35_handler(struct isr_frame *f)
{
    (void)f;
    int35_hits++;
}

static void print_fault(const char *what, uint32_t got, uint32_t want)
{
    if (got == NOFAULT)
        CHECK(got == want, "%-24s -> none", what);
    else
        CHECK(got == want, "%-24s -> vec=%u err=%04x", what, got >> 16, got & 0xFFFF);
}

/* Runs one possibly-faulting instruction sequence; returns the vector (0xFF: none). */
/* Runs one possibly-faulting sequence (ESP is restored afterwards, as a fault may leave
 * pushed words behind); evaluates to vector << 16 | error code, or NOFAULT. */
#define TRY(seq, ...)                                                                     \
    ({                                                                                    \
        isr_last.vec = 0xFF;                                                              \
        __asm__ volatile("movl %%esp, %%esi\n\tmovl $1f, isr_resume\n\t" seq               \
                         "\n1:\n\tmovl $0, isr_resume\n\tmovl %%esi, %%esp" __VA_ARGS__);     \
        isr_last.vec == 0xFF ? NOFAULT : (isr_last.vec << 16 | isr_last.err);            \
    })

static void probe_flags(void)
{
    uint32_t v;
    __asm__ volatile("pushfl; popl %0" : "=r"(v));
    cur->pushf = v & 0x00007202;   /* IF, IOPL, NT and the fixed bit: the sensitive part */
    /* POPF asking for IOPL=3 and IF=0: at CPL 3 with IOPL 0 both are silently ignored. */
    __asm__ volatile("pushfl\n\t"
                     "pushfl\n\t"
                     "orl $0x3000, (%%esp)\n\t"
                     "andl $~0x200, (%%esp)\n\t"
                     "popfl\n\t"
                     "pushfl\n\t"
                     "popl %0\n\t"
                     "popfl" : "=r"(v) : : "cc", "memory");
    cur->popf_after = v & 0x00007202;
    cur->cli_vec = TRY("cli\n\tsti", : : : "esi", "memory");
}

static void probe_segs(void)
{
    uint32_t a = 0, b = 0;
    __asm__ volatile("movl %%cs, %0\n\tmovl %%ss, %1" : "=r"(a), "=r"(b));
    cur->cs = a & 0xFFFF;
    cur->ss = b & 0xFFFF;
    __asm__ volatile("movl %%ds, %0" : "=r"(a));
    cur->ds = a & 0xFFFF;
    __asm__ volatile("pushl %%cs\n\tpopl %0\n\tpushl %%ss\n\tpopl %1" : "=r"(a), "=r"(b));
    cur->push_cs = a & 0xFFFF;
    cur->push_ss = b & 0xFFFF;
}

static void probe_tables(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } g, i;
    uint32_t ldtr = 0, tr = 0, msw = 0;
    __asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(g), "=m"(i));
    __asm__ volatile("sldt %0\n\tstr %1\n\tsmsw %2" : "=r"(ldtr), "=r"(tr), "=r"(msw));
    cur->gdt_limit = g.limit;
    cur->gdt_base = g.base;
    cur->idt_limit = i.limit;
    cur->idt_base = i.base;
    cur->ldtr = ldtr & 0xFFFF;
    cur->tr = tr & 0xFFFF;
    cur->msw = msw & 0xFFFF;   /* SMSW r32: bits 31:16 are undefined (SDM Vol. 2B SMSW) */
}

static void probe_selectors(void)
{
    for (int k = 0; k < NSEL; k++) {
        uint32_t s = sels[k], v = 0xDEAD, zf;
        __asm__ volatile("larl %2, %0\n\tsetz %b1\n\tmovzbl %b1, %1" : "+r"(v), "=q"(zf) : "r"(s) : "cc");
        /* LAR r32 bits 19:16 (limit 19:16) are undefined on some processors: masked. */
        cur->lar[k] = zf ? (v & 0x00F0FF00) : 0;
        cur->lar_zf[k] = zf;
        v = 0xDEAD;
        __asm__ volatile("lsll %2, %0\n\tsetz %b1\n\tmovzbl %b1, %1" : "+r"(v), "=q"(zf) : "r"(s) : "cc");
        cur->lsl[k] = zf ? v : 0;
        cur->lsl_zf[k] = zf;
        __asm__ volatile("verr %w1\n\tsetz %b0\n\tmovzbl %b0, %0" : "=q"(zf) : "r"(s) : "cc");
        cur->verr[k] = zf;
        __asm__ volatile("verw %w1\n\tsetz %b0\n\tmovzbl %b0, %0" : "=q"(zf) : "r"(s) : "cc");
        cur->verw[k] = zf;
    }
}

/* Call-gate target: what CS and SS look like inside, and the caller's CS on the stack. */
__asm__(".text\n"
        "sens_gate_target:\n\t"
        "movw %cs, sens_gate_cs\n\t"
        "movw %ss, sens_gate_ss\n\t"
        "movl 4(%esp), %eax\n\t"
        "movw %ax, sens_gate_ccs\n\t"
        "lret\n");
void sens_gate_target(void);
uint16_t sens_gate_cs, sens_gate_ss, sens_gate_ccs;

static void probe_far(void)
{
    uint32_t cs, f;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    cs &= 0xFFFF;
    /* Far call through a DPL-3 call gate to CPL 0 code: from CPL 3 a privilege change. */
    sens_gate_cs = sens_gate_ss = sens_gate_ccs = 0;
    cur->gate_vec = TRY("lcall $0x63, $0", : : : "eax", "esi", "memory");
    cur->gate_cs = sens_gate_cs;
    cur->gate_ss = sens_gate_ss;
    cur->gate_caller_cs = sens_gate_ccs;
    /* Far jump to the current code segment (same privilege). */
    cur->ljmp_vec = TRY("pushl %0\n\tpushl $2f\n\tljmp *(%%esp)\n2:\n\taddl $8, %%esp", : : "r"(cs) : "esi", "memory");
    /* Far call to the DPL-0 non-conforming code: only CPL 0 may (SDM 5.8.2). */
    cur->lcall0_vec = TRY("lcall $0x08, $2f\n\tjmp 1f\n2:\n\tlret", : : : "esi", "memory");
    /* Far return to a CS with RPL 0: allowed at CPL 0, #GP at CPL 3 (RPL < CPL). */
    cur->lret0_vec = TRY("pushl $0x08\n\tpushl $2f\n\tlret\n2:", : : : "esi", "memory");
    /* IRET to the same privilege level, asking for IF=0. */
    cur->iret_same_vec = TRY("pushfl\n\tandl $~0x200, (%%esp)\n\tpushl %0\n\tpushl $2f\n\tiret\n2:", : : "r"(cs) : "esi", "memory");
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    cur->iret_if = (f >> 9) & 1;
    __asm__ volatile("pushfl\n\torl $0x200, (%%esp)\n\tpopfl" : : : "cc", "memory");
    /* IRET from CPL 3 to CPL 0 code is refused: #GP(selector). */
    cur->iret0_vec = TRY("pushfl\n\tpushl $0x08\n\tpushl $2f\n\tiret\n2:", : : : "esi", "memory");
}

static void probe_int(void)
{
    int35_hits = 0;
    cur->int_dpl3_vec = TRY("int $0x35", : : : "esi", "memory");
    cur->int_dpl3_hits = int35_hits;
    int35_hits = 0;
    cur->int_dpl0_vec = TRY("int $0x36", : : : "esi", "memory");
    cur->int_dpl0_hits = int35_hits;
}

static void probe_cpuid_tsc(void)
{
    uint32_t r[4];
    cpu_cpuid(0, 0, r);
    cur->cpuid_vendor[0] = r[1];
    cur->cpuid_vendor[1] = r[3];
    cur->cpuid_vendor[2] = r[2];
    cpu_cpuid(1, 0, r);
    uint32_t fam = (r[0] >> 8) & 0xF;
    cur->cpuid_family = fam == 0xF ? fam + ((r[0] >> 20) & 0xFF) : fam;
    uint32_t lo1, hi1, lo2, hi2;
    __asm__ volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
    for (volatile int i = 0; i < 100; i++)
        ;
    __asm__ volatile("rdtsc" : "=a"(lo2), "=d"(hi2));
    uint64_t t1 = ((uint64_t)hi1 << 32) | lo1, t2 = ((uint64_t)hi2 << 32) | lo2;
    cur->tsc_up = t2 > t1;
}

static void probe_tsd(void)
{
    cur->tsd_vec = TRY("rdtsc", : : : "eax", "edx", "esi", "memory");
}

static void probe_all(void)
{
    probe_flags();
    probe_segs();
    probe_tables();
    probe_selectors();
    probe_far();
    probe_int();
    probe_cpuid_tsc();
}

static void probe_all_tsd(void)
{
    probe_tsd();
}

/* What an i686 gives, per selector of sels[]: LAR value (0: LAR fails), LSL value (0: fails),
 * VERR, VERW; row 0 at CPL 0, row 1 at CPL 3. The flat segments 0x08-0x23 have their accessed
 * bit preset (as Linux does), so LAR does not depend on which loads set it (SDM 3.4.5.1).
 * Call gate and GDT interrupt gate offsets are 0. */
struct sel_expect {
    uint32_t lar, lsl, verr, verw;
};
static const struct sel_expect sel_want[2][NSEL] = {
    {
        { 0, 0, 0, 0 },                                   /* null */
        { 0x00C09B00, 0xFFFFFFFF, 1, 0 },                 /* 0x08 kernel code */
        { 0x00C09300, 0xFFFFFFFF, 1, 1 },                 /* 0x10 kernel data */
        { 0, 0, 0, 0 },                                   /* 0x13: RPL 3 > DPL 0 */
        { 0x00C0FB00, 0xFFFFFFFF, 1, 0 },                 /* 0x1B user code */
        { 0x00C0F300, 0xFFFFFFFF, 1, 1 },                 /* 0x23 user data */
        { 0x00008B00, 0x67, 0, 0 },                       /* 0x28 busy TSS */
        { 0x00C01200, 0xFFFFFFFF, 1, 1 },                 /* 0x30 not present: not checked */
        { 0x0000EC00, 0, 0, 0 },                          /* 0x38 call gate: LAR only */
        { 0x00C09E00, 0xFFFFFFFF, 1, 0 },                 /* 0x40 conforming code */
        { 0x00C0F800, 0xFFFFFFFF, 0, 0 },                 /* 0x48 execute-only code */
        { 0, 0, 0, 0 },                                   /* 0x50 interrupt gate: invalid */
        { 0x0040F000, 0x1234, 1, 0 },                     /* 0x58 read-only data */
        { 0x00008200, 0x0F, 0, 0 },                       /* 0x78 LDT */
        { 0x00C0F200, 0xFFFFFFFF, 1, 1 },                 /* 0x0F LDT data */
    },
    {
        { 0, 0, 0, 0 },
        { 0, 0, 0, 0 },                                   /* DPL 0 < CPL 3 */
        { 0, 0, 0, 0 },
        { 0, 0, 0, 0 },
        { 0x00C0FB00, 0xFFFFFFFF, 1, 0 },
        { 0x00C0F300, 0xFFFFFFFF, 1, 1 },
        { 0, 0, 0, 0 },
        { 0, 0, 0, 0 },
        { 0x0000EC00, 0, 0, 0 },
        { 0x00C09E00, 0xFFFFFFFF, 1, 0 },                 /* conforming: no DPL check */
        { 0x00C0F800, 0xFFFFFFFF, 0, 0 },
        { 0, 0, 0, 0 },
        { 0x0040F000, 0x1234, 1, 0 },
        { 0, 0, 0, 0 },
        { 0x00C0F200, 0xFFFFFFFF, 1, 1 },
    },
};

static void report(int cpl)
{
    const struct probe *p = &res[cpl ? 1 : 0];
    int u = cpl != 0;
    uint32_t gp = 13u << 16;
    guest_printf("--- CPL %d ---\n", cpl);
    CHECK(p->pushf == (EFL_IF | 2), "cpl%d pushf               %08x", cpl, p->pushf);
    CHECK(p->popf_after == (u ? (EFL_IF | 2) : (EFL_IOPL3 | 2)), "cpl%d popf IOPL=3 IF=0 -> %08x", cpl,
          p->popf_after);
    print_fault(u ? "cpl3 cli" : "cpl0 cli", p->cli_vec, u ? gp : NOFAULT);
    uint32_t wcs = u ? SEL_UCODE : SEL_KCODE, wss = u ? SEL_UDATA : SEL_KDATA;
    CHECK(p->cs == wcs && p->ss == wss && p->ds == wss, "cpl%d mov cs=%04x ss=%04x ds=%04x", cpl, p->cs, p->ss,
          p->ds);
    CHECK(p->push_cs == wcs && p->push_ss == wss, "cpl%d push cs=%04x ss=%04x", cpl, p->push_cs, p->push_ss);
    CHECK(p->gdt_limit == sizeof(desc_gdt) - 1 && p->gdt_base == (uint32_t)desc_gdt,
          "cpl%d sgdt limit=%04x base=%s", cpl, p->gdt_limit, p->gdt_base == (uint32_t)desc_gdt ? "loaded" : "OTHER");
    CHECK(p->idt_limit == sizeof(desc_idt) - 1 && p->idt_base == (uint32_t)desc_idt,
          "cpl%d sidt limit=%04x base=%s", cpl, p->idt_limit, p->idt_base == (uint32_t)desc_idt ? "loaded" : "OTHER");
    CHECK(p->ldtr == SEL_LDT, "cpl%d sldt %04x", cpl, p->ldtr);
    CHECK(p->tr == SEL_TSS, "cpl%d str  %04x", cpl, p->tr);
    /* PE, MP, ET (hardwired 1 since the i486), NE: set by start.S. */
    CHECK(p->msw == 0x0033, "cpl%d smsw %04x", cpl, p->msw);
    for (int k = 0; k < NSEL; k++) {
        const struct sel_expect *w = &sel_want[u][k];
        CHECK(p->lar_zf[k] == (w->lar != 0) && p->lar[k] == w->lar && p->lsl_zf[k] == (w->lsl != 0) &&
                  p->lsl[k] == w->lsl && p->verr[k] == w->verr && p->verw[k] == w->verw,
              "cpl%d sel %04x lar zf=%u %08x lsl zf=%u %08x verr=%u verw=%u", cpl, sels[k], p->lar_zf[k],
              p->lar[k], p->lsl_zf[k], p->lsl[k], p->verr[k], p->verw[k]);
    }
    print_fault(u ? "cpl3 lcall gate 0063" : "cpl0 lcall gate 0063", p->gate_vec, NOFAULT);
    CHECK(p->gate_cs == SEL_KCODE && p->gate_ss == SEL_KDATA && p->gate_caller_cs == wcs,
          "cpl%d   in gate: cs=%04x ss=%04x, stacked caller cs=%04x", cpl, p->gate_cs, p->gate_ss, p->gate_caller_cs);
    print_fault(u ? "cpl3 ljmp same cs" : "cpl0 ljmp same cs", p->ljmp_vec, NOFAULT);
    print_fault(u ? "cpl3 lcall 0008" : "cpl0 lcall 0008", p->lcall0_vec, u ? (gp | 0x08) : NOFAULT);
    print_fault(u ? "cpl3 lret to 0008" : "cpl0 lret to 0008", p->lret0_vec, u ? (gp | 0x08) : NOFAULT);
    print_fault(u ? "cpl3 iret same cs" : "cpl0 iret same cs", p->iret_same_vec, NOFAULT);
    CHECK(p->iret_if == (u ? 1u : 0u), "cpl%d iret IF=0 -> IF=%u", cpl, p->iret_if);
    print_fault(u ? "cpl3 iret to 0008" : "cpl0 iret to 0008", p->iret0_vec, u ? (gp | 0x08) : NOFAULT);
    print_fault(u ? "cpl3 int 0x35 (DPL3)" : "cpl0 int 0x35 (DPL3)", p->int_dpl3_vec, 0x35u << 16);
    CHECK(p->int_dpl3_hits == 1, "cpl%d int 0x35 handler ran %u time(s)", cpl, p->int_dpl3_hits);
    print_fault(u ? "cpl3 int 0x36 (DPL0)" : "cpl0 int 0x36 (DPL0)", p->int_dpl0_vec, u ? (gp | (0x36 * 8 + 2)) : 0x36u << 16);
    CHECK(p->int_dpl0_hits == (u ? 0u : 1u), "cpl%d int 0x36 handler ran %u time(s)", cpl, p->int_dpl0_hits);
    int same = p->cpuid_vendor[0] == res[0].cpuid_vendor[0] && p->cpuid_vendor[1] == res[0].cpuid_vendor[1] &&
               p->cpuid_vendor[2] == res[0].cpuid_vendor[2];
    CHECK(same && p->cpuid_vendor[0] != 0, "cpl%d cpuid vendor as at CPL0: %s", cpl, same ? "yes" : "NO");
    CHECK(p->cpuid_family >= 6, "cpl%d cpuid family>=6: %s", cpl, p->cpuid_family >= 6 ? "yes" : "NO");
    CHECK(p->tsc_up == 1, "cpl%d rdtsc monotonic: %s", cpl, p->tsc_up ? "yes" : "NO");
    print_fault(u ? "cpl3 rdtsc CR4.TSD=1" : "cpl0 rdtsc CR4.TSD=1", p->tsd_vec, u ? gp : NOFAULT);
}

static uint64_t ldt[2];

void guest_main(void)
{
    desc_init();
    user_init();
    for (int k = 1; k <= 4; k++)
        desc_gdt[k].access |= 1;
    outb(0x21, 0xFF);   /* every 8259 line masked: the probes run with IF=1 */
    outb(0xA1, 0xFF);
    desc_set_seg(6, 0, 0xFFFFF, 0x12, FLG_4K32);
    desc_set_callgate(7, SEL_KCODE, 0, GATE_CALL32 | GATE_DPL3, 0);
    desc_set_seg(8, 0, 0xFFFFF, 0x9E, FLG_4K32);
    desc_set_seg(9, 0, 0xFFFFF, 0xF8, FLG_4K32);
    desc_set_callgate(10, SEL_KCODE, 0, GATE_INT32 | GATE_DPL3, 0);
    desc_set_seg(11, 0, 0x1234, 0xF0, FLG_BYTE32);
    desc_set_callgate(12, SEL_KCODE, (uint32_t)sens_gate_target, GATE_CALL32 | GATE_DPL3, 0);
    /* LDT: entry 1 is a flat DPL-3 data segment (access F2, 4 KiB, 32-bit). */
    ldt[1] = 0x00CFF2000000FFFFull;
    desc_set_seg(15, (uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0);
    __asm__ volatile("lldt %w0" : : "r"(SEL_LDT));
    desc_set_gate(0x35, desc_isr_stub(0x35), SEL_KCODE, GATE_INT32 | GATE_DPL3);
    desc_set_gate(0x36, desc_isr_stub(0x36), SEL_KCODE, GATE_INT32);
    isr_handlers[0x35] = int35_handler;
    isr_handlers[0x36] = int35_handler;

    cur = &res[0];
    __asm__ volatile("sti");
    probe_all();
    __asm__ volatile("cli");
    cur = &res[1];
    user_run(probe_all, EFL_IF);

    sys_write_cr4(sys_read_cr4() | CR4_TSD);
    cur = &res[0];
    probe_all_tsd();
    cur = &res[1];
    user_run(probe_all_tsd, EFL_IF);
    sys_write_cr4(sys_read_cr4() & ~CR4_TSD);

    report(0);
    report(3);
    sys_finish("sys_sensitive");
}
