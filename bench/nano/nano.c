/* bench/nano/nano.c: the nanobenchmark guest: sets up IDT, TSS, SYSENTER and paging, times each
 * operation with RDTSC over `nano_iters=N` iterations and prints one line per benchmark on COM1:
 *   nano: tsc_hz=H                         (TSC rate measured against PIT channel 2)
 *   nano: user_tsc_hz=U                    (the rate ring 3's RDTSC runs at, against ring 0's)
 *   nano: NAME nano_iters=N cycles=C            (C: TSC ticks for all N iterations, loop included)
 *   nano: done
 * then writes 0x10 to isa-debug-exit (exit status 33). Any failure prints "nano: FAIL ..." and
 * writes 0x11. Command line (Multiboot): "iters=N" (default 100000), "only=NAME" runs one,
 * "budget_ms=M" (default 2000, 0 = none): fewer than N iterations where N would take longer.
 * Each benchmark first runs a discarded warm-up pass of min(N, 1000) iterations, the CPU-bound
 * compute loops one of min(N, 200000) (COMPUTE_WARMUP says why). */
#include <stdint.h>

#define COM1            0x3F8
#define DEBUG_EXIT      0xF4
#define EXIT_OK         0x10
#define EXIT_FAIL       0x11
#define DEFAULT_ITERS   100000u
#define WARMUP_ITERS    1000u
/* The compute loops measure steady-state CPU-bound speed (issue 6: >= 0.9x native). An engine
 * may keep code on its interpreter for a while after the events before the loop (raw: up to
 * 65536 blocks of kernel code after a trap or a switch from user code, each loop iteration is
 * one block): a warm-up well past that, so the timed pass sees the loop as it runs for long. */
#define COMPUTE_WARMUP  200000u
#define DEFAULT_BUDGET_MS 2000u

#define KCODE 0x08
#define UCODE 0x1b
#define TSS_SEL 0x28

/* Pages: identity map of the first 8 MiB with 4 KiB pages. Every PTE has U/S set so ring 3
 * code can run the kernel image's user-level loops (a benchmark, not an isolation test). */
#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define MAP_MB  8u
#define PF_PAGE_A   0x700000u           /* pgfault: two pages, each fault maps one, unmaps the other */
#define PF_PAGE_B   0x701000u
#define PTEMOD_PAGE 0x702000u
#define FRAME_X     0x710000u           /* backing frames for the above */
#define FRAME_Y     0x711000u
#define USER_STACK_TOP 0x6ff000u

struct trap_frame {                     /* what nano.S's trap_common leaves on the stack */
    uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;
    uint32_t vector, err;
    uint32_t eip, cs, eflags;
};

struct tss32 {                          /* SDM Vol. 3 §8.2.1, Figure 8-2 */
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};
_Static_assert(sizeof(struct tss32) == 104, "32-bit TSS is 104 bytes");

struct idt_gate { uint16_t off_lo, sel; uint8_t zero, type; uint16_t off_hi; };
_Static_assert(sizeof(struct idt_gate) == 8, "IDT gate is 8 bytes");

void nano_main(uint32_t magic, const uint32_t *mbi);
void nano_trap(struct trap_frame *f);
void user_enter(void (*fn)(void), uint32_t user_stack_top);
extern uint32_t nano_iters;
extern volatile uint64_t user_t0, user_t1;
extern char user_compute[], user_syscall[], user_sysenter[], user_pushfpopf[], user_callret[];
extern char user_pgfault[];
extern uint64_t gdt[];
extern char trap_0[], trap_1[], trap_2[], trap_3[], trap_4[], trap_5[], trap_6[], trap_7[];
extern char trap_8[], trap_9[], trap_10[], trap_11[], trap_12[], trap_13[], trap_14[];
extern char trap_15[], trap_16[], trap_17[], trap_18[], trap_19[];
extern char trap_syscall[], trap_int81[], sysenter_entry[];

static struct idt_gate idt[256] __attribute__((aligned(8)));
static struct tss32 tss __attribute__((aligned(128)));
static uint32_t pd0[1024] __attribute__((aligned(4096)));
static uint32_t pd1[1024] __attribute__((aligned(4096)));
static uint32_t pts[MAP_MB / 4][1024] __attribute__((aligned(4096)));
static uint8_t trap_stack[8192] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

uint32_t nano_iters = DEFAULT_ITERS;     /* read by nano_user.S */
static uint32_t budget_ms = DEFAULT_BUDGET_MS; /* budget_ms=N: at most ~N ms per benchmark, 0 = none */
static const char *only;              /* only=NAME, or NULL for all */
static char only_buf[32];
volatile uint64_t user_t0, user_t1;     /* written by the ring 3 loops */
static volatile uint32_t pf_count;
extern char div_site[], div_next[];

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline void wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }

/* --- COM1, polled ----------------------------------------------------------------------- */

static void putc_com1(char c)
{
    for (int spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
        ;
    outb(COM1, (uint8_t)c);
}

static void puts_com1(const char *s) { while (*s) putc_com1(*s++); }

static void put_u64(uint64_t v)
{
    char buf[24];
    int i = sizeof(buf);
    buf[--i] = 0;
    do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    puts_com1(&buf[i]);
}

static void put_hex(uint32_t v)
{
    puts_com1("0x");
    for (int s = 28; s >= 0; s -= 4)
        putc_com1("0123456789abcdef"[(v >> s) & 15]);
}

__attribute__((noreturn)) static void guest_exit(uint8_t code)
{
    outb(DEBUG_EXIT, code);
    for (;;)                            /* no isa-debug-exit: stop here */
        __asm__ volatile("cli; hlt");
}

__attribute__((noreturn)) static void fail(const char *why, uint32_t a)
{
    puts_com1("nano: FAIL ");
    puts_com1(why);
    putc_com1(' ');
    put_hex(a);
    putc_com1('\n');
    guest_exit(EXIT_FAIL);
}

/* --- command line ------------------------------------------------------------------------ */

/* Finds "key" at the start of a word (QEMU passes "KERNEL-PATH ARGS"): the text after it. */
static const char *find_key(const char *s, const char *key)
{
    for (int word_start = 1; *s; word_start = (*s++ == ' ')) {
        if (!word_start)
            continue;
        int i = 0;
        while (key[i] && s[i] == key[i])
            i++;
        if (!key[i])
            return s + i;
    }
    return 0;
}

static int word_eq(const char *w, const char *name)
{
    while (*name && *w == *name)
        w++, name++;
    return !*name && (*w == 0 || *w == ' ');
}

static void parse_cmdline(const uint32_t *mbi)
{
    if (!mbi || !(mbi[0] & 4))          /* Multiboot info flags bit 2: cmdline valid */
        return;
    const char *cmd = (const char *)mbi[4];
    const char *p = find_key(cmd, "iters=");
    if (p) {
        uint32_t v = 0;
        if (*p < '0' || *p > '9')
            fail("iters= wants a decimal number", 0);
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > 100000000u)
                fail("iters too large", v);
            v = v * 10 + (uint32_t)(*p - '0');
        }
        nano_iters = v;
    }
    p = find_key(cmd, "budget_ms=");
    if (p) {
        uint32_t v = 0;
        if (*p < '0' || *p > '9')
            fail("budget_ms= wants a decimal number", 0);
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > 100000000u)
                fail("budget_ms too large", v);
            v = v * 10 + (uint32_t)(*p - '0');
        }
        budget_ms = v;
    }
    /* Copied: the Multiboot command line may lie above the 8 MiB that paging maps. */
    const char *o = find_key(cmd, "only=");
    if (o) {
        unsigned i = 0;
        while (o[i] && o[i] != ' ' && i < sizeof(only_buf) - 1) {
            only_buf[i] = o[i];
            i++;
        }
        only_buf[i] = 0;
        only = only_buf;
    }
}

/* --- set-up ------------------------------------------------------------------------------ */

static void idt_set(int vec, void *handler, uint8_t dpl)
{
    uint32_t a = (uint32_t)handler;
    /* 32-bit interrupt gate (type 0xE): IF cleared on entry, SDM Vol. 3 §6.11. */
    idt[vec] = (struct idt_gate){ (uint16_t)a, KCODE, 0, (uint8_t)(0x8E | (dpl << 5)), (uint16_t)(a >> 16) };
}

static void tables_init(void)
{
    static void *const exc[20] = { trap_0, trap_1, trap_2, trap_3, trap_4, trap_5, trap_6, trap_7,
        trap_8, trap_9, trap_10, trap_11, trap_12, trap_13, trap_14, trap_15, trap_16, trap_17,
        trap_18, trap_19 };
    for (int v = 0; v < 20; v++)
        idt_set(v, exc[v], 0);
    idt_set(0x80, trap_syscall, 3);     /* reachable with int from ring 3 */
    idt_set(0x81, trap_int81, 0);       /* ring 0 only */
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));

    tss.ss0 = 0x10;
    tss.esp0 = (uint32_t)(trap_stack + sizeof(trap_stack));
    tss.iomap = sizeof(tss);            /* no I/O bitmap: ring 3 I/O faults (IOPL 0) */
    uint32_t base = (uint32_t)&tss, limit = sizeof(tss) - 1;
    /* Available 32-bit TSS descriptor (type 9), DPL 0, byte granular: SDM Vol. 3 §8.2.2. */
    gdt[TSS_SEL / 8] = (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
                       (0x89ull << 40) | ((uint64_t)(base >> 24) << 56);
    __asm__ volatile("ltr %w0" :: "r"(TSS_SEL));

    /* SYSENTER MSRs (SDM Vol. 4 Table 2-2: 0x174 CS, 0x175 ESP, 0x176 EIP). */
    wrmsr(0x174, KCODE);
    wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof(sysenter_stack)));
    wrmsr(0x176, (uint32_t)sysenter_entry);
}

static volatile uint32_t *pte_of(uint32_t lin) { return &pts[lin >> 22][(lin >> 12) & 1023]; }

static void invlpg(uint32_t lin) { __asm__ volatile("invlpg (%0)" :: "r"(lin) : "memory"); }

static void paging_init(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pd0[i] = 0;
    for (uint32_t t = 0; t < MAP_MB / 4; t++) {
        for (uint32_t i = 0; i < 1024; i++)
            pts[t][i] = ((t << 22) | (i << 12)) | PTE_P | PTE_W | PTE_U;
        pd0[t] = (uint32_t)pts[t] | PTE_P | PTE_W | PTE_U;
    }
    *pte_of(PF_PAGE_A) = 0;             /* not present: the pgfault benchmark maps them */
    *pte_of(PF_PAGE_B) = 0;
    *pte_of(PTEMOD_PAGE) = FRAME_X | PTE_P | PTE_W;
    for (uint32_t i = 0; i < 1024; i++) /* the second address space: same mappings, its own PD */
        pd1[i] = pd0[i];
    __asm__ volatile("mov %0, %%cr3" :: "r"(pd0));
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0; jmp 1f; 1:" :: "r"(cr0 | 0x80000000u) : "memory");
}

/* --- traps ------------------------------------------------------------------------------- */

void nano_trap(struct trap_frame *f)
{
    if (f->vector == 14) {
        uint32_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        /* The pgfault benchmark: map the faulting page, unmap its partner so the next touch of
         * the partner faults again (the partner may be in the TLB: SDM Vol. 3 §4.10.4.1). */
        if ((cr2 & ~0xfffu) == PF_PAGE_A || (cr2 & ~0xfffu) == PF_PAGE_B) {
            uint32_t other = (cr2 & ~0xfffu) ^ (PF_PAGE_A ^ PF_PAGE_B);
            *pte_of(cr2) = FRAME_Y | PTE_P | PTE_W | PTE_U;
            *pte_of(other) = 0;
            invlpg(other);
            pf_count++;
            return;
        }
        fail("unexpected #PF at", cr2);
    }
    if (f->vector == 0 && f->eip == (uint32_t)div_site) {
        f->eip = (uint32_t)div_next;    /* the divzero benchmark: skip the faulting div */
        return;
    }
    puts_com1("nano: FAIL exception ");
    put_u64(f->vector);
    puts_com1(" err ");
    put_hex(f->err);
    puts_com1(" at eip");
    fail("", f->eip);
}

/* --- ring 0 loops ------------------------------------------------------------------------- */

/* Each returns the TSC ticks of n iterations; the loop (dec + jnz) is part of the figure. */

static uint64_t k_in(uint32_t n)
{
    uint64_t t0 = rdtsc();
    /* Port 0x61 (system control port B): reading it has no side effect. */
    if (n)
        __asm__ volatile("1: inb $0x61, %%al; dec %0; jnz 1b" : "+r"(n) :: "eax", "memory");
    return rdtsc() - t0;
}

static uint64_t k_out(uint32_t n)
{
    uint64_t t0 = rdtsc();
    /* Port 0x80 (POST code): the classic I/O delay port, a write-only sink. */
    if (n)
        __asm__ volatile("xor %%eax, %%eax; 1: outb %%al, $0x80; dec %0; jnz 1b" : "+r"(n) :: "eax", "memory");
    return rdtsc() - t0;
}

static uint64_t k_clisti(uint32_t n)
{
    uint64_t t0 = rdtsc();
    /* The PIC is fully masked (nano_main), so the STI windows deliver nothing. */
    if (n)
        __asm__ volatile("1: cli; sti; dec %0; jnz 1b; cli" : "+r"(n) :: "memory");
    return rdtsc() - t0;
}

static uint64_t k_divzero(uint32_t n)
{
    uint64_t t0 = rdtsc();
    /* #DE is a fault (SDM Vol. 3 §6.15): the handler moves EIP from div_site to div_next. */
    if (n)
        __asm__ volatile("1: xor %%ecx, %%ecx; mov $1, %%eax; xor %%edx, %%edx\n"
                         ".globl div_site, div_next\n"
                         "div_site: divl %%ecx\n"
                         "div_next: dec %0; jnz 1b" : "+r"(n) :: "eax", "ecx", "edx", "memory");
    return rdtsc() - t0;
}

static uint64_t k_ptemod(uint32_t n)
{
    volatile uint32_t *pte = pte_of(PTEMOD_PAGE);
    uint32_t flip = FRAME_X ^ FRAME_Y;
    uint64_t t0 = rdtsc();
    /* Re-point the page at the other frame, then drop the stale translation (SDM Vol. 3
     * §4.10.4.1: software must invalidate after changing a PTE that may be cached). */
    if (n)
        __asm__ volatile("1: xorl %2, (%1); invlpg (%3); dec %0; jnz 1b"
                         : "+r"(n) : "r"(pte), "r"(flip), "r"(PTEMOD_PAGE) : "memory");
    return rdtsc() - t0;
}

static uint64_t k_cr3(uint32_t n)
{
    uint32_t a = (uint32_t)pd0, flip = (uint32_t)pd0 ^ (uint32_t)pd1;
    uint64_t t0 = rdtsc();
    /* One MOV to CR3 per iteration, alternating between the two address spaces; each flushes
     * the non-global TLB entries (SDM Vol. 3 §4.10.4.1). */
    if (n)
        __asm__ volatile("1: xor %2, %1; mov %1, %%cr3; dec %0; jnz 1b"
                         : "+r"(n), "+r"(a) : "r"(flip) : "memory");
    __asm__ volatile("mov %0, %%cr3" :: "r"(pd0) : "memory");
    return rdtsc() - t0;
}

static uint64_t k_int(uint32_t n)
{
    uint64_t t0 = rdtsc();
    if (n)
        __asm__ volatile("1: int $0x81; dec %0; jnz 1b" : "+r"(n) :: "memory");
    return rdtsc() - t0;
}

static uint64_t run_user(char *fn)
{
    user_enter((void (*)(void))fn, USER_STACK_TOP);
    return user_t1 - user_t0;
}

static uint64_t u_compute(uint32_t n) { (void)n; return run_user(user_compute); }
static uint64_t u_syscall(uint32_t n) { (void)n; return run_user(user_syscall); }
static uint64_t u_sysenter(uint32_t n) { (void)n; return run_user(user_sysenter); }
static uint64_t u_pushfpopf(uint32_t n) { (void)n; return run_user(user_pushfpopf); }
static uint64_t u_callret(uint32_t n) { (void)n; return run_user(user_callret); }

void kernel_compute(void);

/* kcompute: the compute loop at ring 0 in the kernel's normal state, paging on (issue 6: "a
 * CPU-bound loop in guest kernel mode (CPL 0, paging on)" at >= 0.9x native; the raw engine's
 * phase 2b runs paged kernel code natively under CSAM). Its native twin is nano-native's
 * `compute`. */
static uint64_t k_kcompute(uint32_t n)
{
    (void)n;
    kernel_compute();
    return user_t1 - user_t0;
}

/* kcompute0: the same loop with paging off (CR0.PG cleared around it; the 8 MiB identity map
 * makes that transparent to this code): raw's phase 2a figure, unpaged kernel code native. */
static uint64_t k_kcompute0(uint32_t n)
{
    (void)n;
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0; jmp 1f; 1:" :: "r"(cr0 & ~0x80000000u) : "memory");
    kernel_compute();
    __asm__ volatile("mov %0, %%cr0; jmp 1f; 1:" :: "r"(cr0) : "memory");
    return user_t1 - user_t0;
}

static uint64_t u_pgfault(uint32_t n)
{
    pf_count = 0;
    *pte_of(PF_PAGE_A) = 0;
    *pte_of(PF_PAGE_B) = 0;
    invlpg(PF_PAGE_A);
    invlpg(PF_PAGE_B);
    uint64_t c = run_user(user_pgfault);
    if (pf_count != n)                  /* each iteration must have been exactly one fault */
        fail("pgfault: page faults taken, want iters:", pf_count);
    return c;
}

static const struct bench {
    const char *name;
    uint64_t (*run)(uint32_t n);
    uint32_t warmup;                    /* warm-up iterations at most; 0: WARMUP_ITERS */
} benches[] = {
    { "compute", u_compute, COMPUTE_WARMUP }, { "syscall", u_syscall, 0 },
    { "sysenter", u_sysenter, 0 }, { "in", k_in, 0 }, { "out", k_out, 0 },
    { "clisti", k_clisti, 0 }, { "pushfpopf", u_pushfpopf, 0 }, { "callret", u_callret, 0 },
    { "pgfault", u_pgfault, 0 }, { "divzero", k_divzero, 0 }, { "ptemod", k_ptemod, 0 },
    { "cr3", k_cr3, 0 }, { "int", k_int, 0 }, { "kcompute", k_kcompute, COMPUTE_WARMUP },
    { "kcompute0", k_kcompute0, COMPUTE_WARMUP },
};

/* TSC rate against PIT channel 2 (8254 datasheet): mode 0 from 0xFFFF, gate on through port 0x61
 * bit 0, counting down at 1.193182 MHz. A sample latches the count (control word 0x80) between
 * two RDTSCs; a sample whose two RDTSCs lie close together was not interrupted, so the count
 * belongs to their midpoint within half that gap. The rate comes from the tightest of the first
 * samples and the tightest of the samples about 35 ms later: a host that deschedules the VM
 * between samples (common when the host is busy; a plain "wait for OUT" window then reads long)
 * costs nothing, only one inside both chosen samples would. */
struct pit_sample { uint64_t tsc2; uint64_t gap; uint32_t count; };   /* tsc2 = 2 x midpoint */

static struct pit_sample pit_sample_take(void)
{
    uint64_t a = rdtsc();
    outb(0x43, 0x80);                   /* counter latch, channel 2 */
    uint32_t lo = inb(0x42);
    uint32_t hi = inb(0x42);
    uint64_t b = rdtsc();
    return (struct pit_sample){ a + b, b - a, lo | hi << 8 };
}

/* The tightest of n samples. */
static struct pit_sample pit_sample_best(int n)
{
    struct pit_sample best = pit_sample_take();
    for (int i = 1; i < n; i++) {
        struct pit_sample s = pit_sample_take();
        if (s.gap < best.gap)
            best = s;
    }
    return best;
}

static uint64_t tsc_calibrate(void)
{
    const uint32_t span = 42000;        /* PIT ticks between the two sample groups, 35.2 ms */
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));  /* gate on, speaker off */
    outb(0x43, 0xB0);                   /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(0x42, 0xff);
    outb(0x42, 0xff);                   /* counts down from 0xFFFF: 54.9 ms before it wraps */
    struct pit_sample s0 = pit_sample_best(16);
    if (s0.count < span + 8000)
        fail("tsc calibration: PIT channel 2 does not count from 0xFFFF; count", s0.count);
    uint32_t polls = 0;
    while (pit_sample_take().count > s0.count - span) {
        if (++polls > 100000000u)
            fail("tsc calibration: PIT channel 2 does not count down; polls", polls);
    }
    struct pit_sample s1 = pit_sample_best(16);
    if (s1.count >= s0.count)
        fail("tsc calibration: PIT channel 2 wrapped or stopped; count", s1.count);
    /* hz = TSC ticks / seconds; the midpoints are kept doubled, hence the 2 below. */
    return (s1.tsc2 - s0.tsc2) * 1193182ull / (2ull * (s0.count - s1.count));
}

/* One ring 3 compute loop of n iterations: its own RDTSC span (ring 3) and the span ring 0 saw
 * around it, entry and exit included. */
static void user_span(uint32_t n, uint64_t *user, uint64_t *kernel)
{
    nano_iters = n;
    uint64_t k0 = rdtsc();
    *user = run_user(user_compute);
    *kernel = rdtsc() - k0;
}

/* The rate of the TSC as ring 3 reads it, in terms of tsc_hz (ring 0's). The two must be one
 * clock (SDM Vol. 3 §18.17); an engine that runs ring 3 natively and ring 0 emulated can get
 * that wrong, and the ring 3 figures are then timed with the rate this measures. Loops of n and
 * 2n iterations, so that the fixed entry and exit costs cancel; the median of three. */
static uint64_t user_tsc_calibrate(uint64_t tsc_hz)
{
    uint64_t u, k, ua, ka, r[3];
    uint32_t n = 1000;
    for (;;) {                          /* n such that a loop takes about 10 ms of ring 0 time */
        user_span(n, &u, &k);
        if (k >= tsc_hz / 100 || n >= (1u << 26))
            break;
        n *= 2;
    }
    for (int i = 0; i < 3; i++) {
        user_span(n, &ua, &ka);
        user_span(2 * n, &u, &k);
        r[i] = k > ka && u > ua ? (u - ua) * (tsc_hz / 1000) / ((k - ka) / 1000 + 1) : tsc_hz;
    }
    for (int i = 0; i < 2; i++)         /* sort three */
        for (int j = 0; j < 2 - i; j++)
            if (r[j] > r[j + 1]) {
                uint64_t t = r[j]; r[j] = r[j + 1]; r[j + 1] = t;
            }
    return r[1];
}

void nano_main(uint32_t magic, const uint32_t *mbi)
{
    if (magic != 0x2BADB002)
        fail("not started by a Multiboot loader, eax", magic);
    parse_cmdline(mbi);
    outb(0x21, 0xff);                   /* mask every 8259A line: the benchmarks run */
    outb(0xA1, 0xff);                   /* without interrupts, whatever the firmware set up */
    tables_init();
    paging_init();
    uint64_t tsc_hz = tsc_calibrate();
    puts_com1("nano: tsc_hz=");
    put_u64(tsc_hz);
    putc_com1('\n');
    const uint32_t run_iters = nano_iters; /* the user loops read nano_iters */
    puts_com1("nano: user_tsc_hz=");
    put_u64(user_tsc_calibrate(tsc_hz));
    putc_com1('\n');
    int ran = 0;
    for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        if (only && !word_eq(only, benches[i].name))
            continue;
        /* A discarded warm-up pass first, so translation caches (QEMU TCG's, later raw mode's
         * patches and kvm's shadow state) are filled before the timed pass. */
        uint32_t wmax = benches[i].warmup ? benches[i].warmup : WARMUP_ITERS;
        uint32_t warm = run_iters < wmax ? run_iters : wmax;
        nano_iters = warm;
        uint64_t wc = benches[i].run(warm);
        /* The time budget: a system on which one operation costs tens of microseconds would
         * spend minutes on 500000 of them; the warm-up's cost per operation (an overestimate,
         * the caches were cold) sets how many fit in budget_ms. Never fewer than the warm-up. */
        uint32_t n = run_iters;
        if (budget_ms && warm && wc / warm * n > tsc_hz / 1000 * budget_ms) {
            uint64_t fit = tsc_hz / 1000 * budget_ms / (wc / warm);
            n = fit < warm ? warm : (uint32_t)fit;
        }
        nano_iters = n;
        uint64_t c = benches[i].run(n);
        puts_com1("nano: ");
        puts_com1(benches[i].name);
        puts_com1(" iters=");
        put_u64(nano_iters);
        puts_com1(" cycles=");
        put_u64(c);
        putc_com1('\n');
        ran++;
    }
    if (!ran)
        fail("only= names no benchmark", 0);
    puts_com1("nano: done\n");
    guest_exit(EXIT_OK);
}
