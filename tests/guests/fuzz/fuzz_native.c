/* Fuzz kernel for native execution (issue 6): random instruction bytes run at CPL 3 and then at
 * CPL 0 under paging, every exception recovered, the PIT bounding runaway samples; the outcome
 * histogram is printed and the kernel passes when every sample ended in a recovered event.
 * Command line: fuzz_seed=N fuzz_iters=N (ring 3) fuzz_iters0=N (ring 0) fuzz_escape fuzz_verbose
 * fuzz_avoid=ac,hostcs fuzz_r0paged (fuzz_native.h). */
#include "fuzz_native.h"
#include "desc.h"
#include "guest.h"
#include "io.h"
#include "isr.h"
#include "pctimer.h"
#include "sysregs.h"

struct fz_opts fz_opts = { .seed = 1, .iters3 = 1500, .iters0 = 1000 };
volatile uint32_t fz_ticks;

void fz_seed(uint32_t seed);
extern char __kernel_end[];

/* ---- paging: 4 KiB pages, no PSE (SDM Vol. 3A 4.3) ---- */
#define PTE_P 1u
#define PTE_W 2u
#define PTE_U 4u

static uint32_t kpd[1024] __attribute__((aligned(4096)));
static uint32_t kpt0[1024] __attribute__((aligned(4096)));   /* identity 0-4 MiB, supervisor */
static uint32_t fzpt[1024] __attribute__((aligned(4096)));   /* the fuzz region at 1 GiB */
static uint32_t fpd[1024] __attribute__((aligned(4096)));    /* ring-0 phase address space */
static uint32_t fpt0[1024] __attribute__((aligned(4096)));   /* its few system pages */
static uint8_t frames[FZ_NFRAMES][4096] __attribute__((aligned(4096)));
static uint8_t code_pool[FZ_R0_POOL][4096] __attribute__((aligned(4096)));
static uint32_t code_pool_next;

uint32_t fz_kernel_pd(void) { return (uint32_t)kpd; }
uint32_t fz_fuzz_pd(void) { return (uint32_t)fpd; }

void fz_fuzz_pd_map_sys(uint32_t lin, uint32_t pages, bool writable)
{
    for (uint32_t i = 0; i < pages; i++) {
        uint32_t a = (lin & ~0xFFFu) + i * 4096;
        fpt0[a >> 12] = a | PTE_P | (writable ? PTE_W : 0);
    }
}

/* The ring-0 phase's task switches load CR3, which flushes (SDM Vol. 3A 7.3 step 8, 4.10.4.1):
 * no INVLPG needed when the recovery task changes this between samples. */
void fz_fuzz_pd_user(bool user)
{
    fpd[FZ_CODE >> 22] = (uint32_t)fzpt | PTE_P | PTE_W | (user ? PTE_U : 0);
}

void fz_code_next_frame(void)
{
    uint8_t *to = code_pool[code_pool_next++ % FZ_R0_POOL];
    memcpy(to, (const void *)(fzpt[0] & ~0xFFFu), 4096);   /* identity mapped below 4 MiB */
    fzpt[0] = (uint32_t)to | PTE_P | PTE_W | PTE_U;
    sys_invlpg(FZ_CODE);        /* the kernel's own mapping; the fuzz task's CR3 load flushes */
}

static void paging_init(void)
{
    if ((uint32_t)__kernel_end > 0x400000)
        guest_fail("kernel ends at %p, beyond the 4 MiB identity map", (void *)__kernel_end);
    for (uint32_t i = 0; i < 1024; i++)
        kpt0[i] = i * 4096 | PTE_P | PTE_W;
    kpt0[0] = 0;   /* page 0 unmapped: null pointers fault */
    static const uint32_t slot[FZ_NFRAMES] = { 0, 2, 3, 5 };   /* code, scratch x2, stack */
    for (int f = 0; f < FZ_NFRAMES; f++)
        fzpt[slot[f]] = (uint32_t)frames[f] | PTE_P | PTE_W | PTE_U;
    kpd[0] = (uint32_t)kpt0 | PTE_P | PTE_W;
    kpd[FZ_CODE >> 22] = (uint32_t)fzpt | PTE_P | PTE_W | PTE_U;
    fpd[0] = (uint32_t)fpt0 | PTE_P | PTE_W;
    fpd[FZ_CODE >> 22] = (uint32_t)fzpt | PTE_P | PTE_W | PTE_U;
    sys_write_cr3((uint32_t)kpd);
    sys_write_cr0(sys_read_cr0() | CR0_PG | CR0_WP);
}

/* ---- PIT channel 0 at 200 Hz on IRQ 0 (8254 datasheet, mode 2) ---- */
#define FZ_PIT_DIV (1193182u / 200u)

static void timer_init(void)
{
    pic_init(0xFE, 0xFF);
    outb(0x43, 0x34);
    outb(0x40, FZ_PIT_DIV & 0xFF);
    outb(0x40, FZ_PIT_DIV >> 8);
}

void fz_eoi(void)
{
    outb(0x20, 0x20);
}

/* ---- options ---- */
static uint32_t parse_u32(const char *s)
{
    uint32_t v = 0, base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s; s++) {
        uint32_t d;
        if (*s >= '0' && *s <= '9')
            d = (uint32_t)(*s - '0');
        else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
            d = (uint32_t)((*s | 0x20) - 'a' + 10);
        else
            break;
        v = v * base + d;
    }
    return v;
}

static void parse_opts(void)
{
    char buf[32];
    if (guest_cmdline_get("fuzz_seed", buf, sizeof(buf)))
        fz_opts.seed = parse_u32(buf);
    if (guest_cmdline_get("fuzz_iters", buf, sizeof(buf)))
        fz_opts.iters3 = parse_u32(buf);
    if (guest_cmdline_get("fuzz_iters0", buf, sizeof(buf)))
        fz_opts.iters0 = parse_u32(buf);
    fz_opts.escape = guest_cmdline_get("fuzz_escape", buf, sizeof(buf));
    fz_opts.verbose = guest_cmdline_get("fuzz_verbose", buf, sizeof(buf));
    fz_opts.r0paged = guest_cmdline_get("fuzz_r0paged", buf, sizeof(buf));
    if (guest_cmdline_get("fuzz_avoid", buf, sizeof(buf))) {
        for (char *w = buf; *w;) {
            char *e = w;
            while (*e && *e != ',')
                e++;
            char c = *e;
            *e = 0;
            if (!strcmp(w, "ac"))
                fz_opts.avoid_ac = true;
            else if (!strcmp(w, "hostcs"))
                fz_opts.avoid_hostcs = true;
            else
                guest_fail("fuzz_avoid: unknown item '%s' (ac, hostcs)", w);
            w = c ? e + 1 : e;
        }
    }
}

/* ---- report ---- */
static const char *const vec_name[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
    "#GP", "#PF", "v15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void fz_report(const char *phase, const uint32_t *hist, uint32_t samples)
{
    uint32_t total = 0;
    for (int o = 0; o < FZ_OUT_N; o++) {
        if (!hist[o])
            continue;
        total += hist[o];
        if (o < 32)
            guest_printf("fuzz %s: vector %2d %-4s %u\n", phase, o, vec_name[o] ? vec_name[o] : "",
                         hist[o]);
        else if (o < 48)
            guest_printf("fuzz %s: vector %2d IRQ  %u\n", phase, o, hist[o]);
        else
            guest_printf("fuzz %s: %s %u\n", phase, o == FZ_OUT_TIMEOUT ? "timeout" : "task-jump",
                         hist[o]);
    }
    guest_check(total == samples, "fuzz %s: %u outcomes for %u samples", phase, total, samples);
}

void fz_dump_sample(uint32_t i, const struct fz_regs *r);
void fz_dump_sample(uint32_t i, const struct fz_regs *r)
{
    const uint8_t *c = (const uint8_t *)FZ_CODE;
    guest_printf("sample %u: eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x esi=%08x "
                 "edi=%08x efl=%08x code", i, r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp,
                 r->esi, r->edi, r->eflags);
    for (int k = 0; k < 48; k++)
        guest_printf(" %02x", c[k]);
    guest_printf("\n");
}

/* ---- ring 3: every vector 0..63 lands here through lib/isr.S (interrupt gates, TSS stack) ---- */
static void fz3_isr(struct isr_frame *f)
{
    uint32_t v = f->vec;
    bool user = (f->cs & 3) == 3;
    if (v == 0x20) {
        fz_ticks++;
        fz_eoi();
        if (user && fz_ticks >= FZ_TICK_LIMIT)
            fz3_abort(FZ_OUT_TIMEOUT);
        return;
    }
    if (v == 0x27 || v == 0x2F)   /* spurious IRQ 7/15: nothing to acknowledge */
        return;
    if (!user)
        guest_fail("ring 3 phase: vector %u err %x in the kernel at %x:%08x", v, f->err, f->cs,
                   f->eip);
    fz3_abort(v < 48 ? v : FZ_OUT_TASKJMP);
}

static uint32_t hist3[FZ_OUT_N], hist0[FZ_OUT_N];

void guest_main(void)
{
    parse_opts();
    fz_seed(fz_opts.seed);
    guest_printf("fuzz_native: seed %u, %u ring-3 samples, %u ring-0 samples%s%s%s%s\n",
                 fz_opts.seed, fz_opts.iters3, fz_opts.iters0,
                 fz_opts.r0paged ? " (paged kernel code: clts first, mostly supervisor pages)" : "",
                 fz_opts.escape ? ", escapes allowed" : "", fz_opts.avoid_ac ? ", no AC" : "",
                 fz_opts.avoid_hostcs ? ", no far transfers to 0x20-0x23" : "");
    desc_init();
    for (int v = 0; v < 64; v++)
        isr_handlers[v] = fz3_isr;
    paging_init();
    timer_init();

    struct fz_regs r;
    for (uint32_t i = 0; i < fz_opts.iters3; i++) {
        fz_gen_sample(false);
        fz_gen_regs(&r, false);
        if (fz_opts.verbose)
            fz_dump_sample(i, &r);
        fz_ticks = 0;
        uint32_t out = fz3_enter(&r);
        hist3[out < FZ_OUT_N ? out : FZ_OUT_TASKJMP]++;
        if (fz_opts.verbose)
            guest_printf("sample %u: outcome %u\n", i, out);
    }
    fz_report("ring3", hist3, fz_opts.iters3);

    fz0_run(fz_opts.iters0, hist0);
    fz_report("ring0", hist0, fz_opts.iters0);
    guest_printf("fuzz_native: all %u samples recovered\n", fz_opts.iters3 + fz_opts.iters0);
    guest_pass();
}
