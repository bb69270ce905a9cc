/* Ring-0 phase of the native-execution fuzzer: each sample runs as a hardware task at CPL 0 in
 * an address space holding only the fuzz pages and the descriptor tables; every exception and
 * IRQ vector is a task gate to a recovery task, so a sample that trashes ESP, the segment
 * registers or its own page still ends in a clean switch (SDM Vol. 3A 6.11.1, 7.3, 7.4). */
#include "fuzz_native.h"
#include "desc.h"
#include "guest.h"
#include "sysregs.h"

#define R0_NVEC 48                       /* vectors 0..47: exceptions, IRQs 0x20-0x2F */
#define GDT_MAIN 5                       /* 0x28: the phase's main task */
#define GDT_FUZZ 7                       /* 0x38: the sample's task (entry 6 stays null) */
#define GDT_REC 8                        /* 0x40 + 8 * v: recovery task of vector v */
#define GDT_START (GDT_REC + R0_NVEC)    /* 0x1C0: the first recovery entry, from the main task */
#define SEL_START (GDT_START << 3)
#define GDT_N 64


/* Written by the CPU on task switches: mapped writable in the fuzz address space. */
static struct fz0_sys {
    struct seg_desc gdt[GDT_N];
    struct tss32 main, fuzz;
    struct tss32 rec[R0_NVEC + 1];
} sys __attribute__((aligned(4096)));

/* Only read by the CPU and the lgdt/lidt templates: mapped read-only. */
static struct fz0_ro {
    struct gate_desc idt[R0_NVEC];
    struct dtr gdtr, idtr;
} ro __attribute__((aligned(4096)));

static uint8_t rec_stack[4096] __attribute__((aligned(16)));
#define REC_TOP ((uint32_t)rec_stack + sizeof(rec_stack))

uint32_t fz0_gdtr_addr, fz0_idtr_addr, fz0_cr0;
extern char fz0_rec_entry[];

static uint32_t *hist;
static uint32_t remaining, sample;
static bool started;
static struct fz_regs regs;

void fz_dump_sample(uint32_t i, const struct fz_regs *r);
uint32_t fz0_recover(uint32_t tr, uint32_t esp);

/* A 32-bit TSS descriptor in this phase's own GDT (lib/desc.c's helpers write desc_gdt). */
static void set_tss_desc(int idx, struct tss32 *t, bool busy)
{
    struct seg_desc *d = &sys.gdt[idx];
    uint32_t base = (uint32_t)t, limit = sizeof(*t) - 1;
    d->limit_lo = (uint16_t)limit;
    d->base_lo = (uint16_t)base;
    d->base_mid = (uint8_t)(base >> 16);
    d->access = busy ? ACC_TSS_BUSY : ACC_TSS;
    d->flags_limit = 0;
    d->base_hi = (uint8_t)(base >> 24);
}

static void seg_copy(struct seg_desc *d, const struct seg_desc *s)
{
    *d = *s;
    d->access |= 1;   /* accessed: no descriptor writes on loads */
}

static void next_sample(struct tss32 *self)
{
    bool user = true;
    if (fz_opts.r0paged) {
        user = (fz_rand() & 3) == 0;
        fz_fuzz_pd_user(user);
        fz_code_next_frame();
    }
    fz_gen_sample(true);
    fz_gen_regs(&regs, true);
    if (fz_opts.verbose) {
        fz_dump_sample(sample, &regs);
        guest_printf("sample %u: fuzz pages %s\n", sample, user ? "user" : "supervisor");
    }
    struct tss32 *t = &sys.fuzz;
    t->eip = regs.eip;
    t->eflags = regs.eflags;
    t->eax = regs.eax;
    t->ecx = regs.ecx;
    t->edx = regs.edx;
    t->ebx = regs.ebx;
    t->esp = regs.esp;
    t->ebp = regs.ebp;
    t->esi = regs.esi;
    t->edi = regs.edi;
    t->cs = SEL_KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->ldt = 0;
    t->link = 0;
    t->cr3 = fz_fuzz_pd();
    t->trap = 0;
    /* IRET with NT returns to the link's task, which must be busy (SDM IRET, TASK-RETURN). */
    set_tss_desc(GDT_FUZZ, t, true);
    self->link = GDT_FUZZ << 3;
    fz_ticks = 0;
}

/* Called by fz0_rec_entry in recovery task tr. Returns 1 when an error code sits on this task's
 * stack (the switch pushed one: ESP is a word below the top). */
uint32_t fz0_recover(uint32_t tr, uint32_t esp)
{
    uint32_t idx = (tr & 0xFFFF) >> 3;
    uint32_t errc = esp == REC_TOP - 4;
    bool nested = (sys_read_eflags() & EFL_NT) != 0;   /* entered by an event or CALL, not JMP */
    __asm__ volatile("clts\n\tmov %0, %%dr7" : : "r"(0u));
    if (idx < GDT_REC || idx > GDT_START)
        guest_fail("ring 0 phase: recovery entered with TR=%x", tr);
    struct tss32 *self = &sys.rec[idx - GDT_REC];
    if (idx == GDT_START && !started) {
        started = true;
    } else {
        uint32_t v = idx - GDT_REC, out = v;
        if (!nested || v == R0_NVEC) {
            out = FZ_OUT_TASKJMP;
        } else if (v == 0x20 || v == 0x27 || v == 0x2F) {
            if (v == 0x20) {
                fz_ticks++;
                fz_eoi();
            }
            if (v != 0x20 || fz_ticks < FZ_TICK_LIMIT)
                return errc;   /* resume the sample: link and busy bit are still the fuzz task's */
            out = FZ_OUT_TIMEOUT;
        }
        hist[out]++;
        if (fz_opts.verbose) {
            guest_printf("sample %u: outcome %u at %x:%08x\n", sample, out, sys.fuzz.cs,
                         sys.fuzz.eip);
            /* The bytes there (the kernel's CR3 maps the code page too), for campaign.sh
             * --compare: an outcome that differs between engines names its instruction. */
            if (sys.fuzz.eip - FZ_CODE <= 4096 - 16) {
                const uint8_t *c = (const uint8_t *)sys.fuzz.eip;
                guest_printf("sample %u: bytes at eip", sample);
                for (int k = 0; k < 16; k++)
                    guest_printf(" %02x", c[k]);
                guest_printf("\n");
            }
            if (out == 14 && errc)
                guest_printf("sample %u: #PF err %x cr2 %08x\n", sample, *(uint32_t *)esp,
                             sys_read_cr2());
        }
        sample++;
        remaining--;
    }
    if (!remaining) {
        self->link = GDT_MAIN << 3;   /* the main task stays busy across our CALL */
        return errc;
    }
    next_sample(self);
    return errc;
}

void fz0_run(uint32_t iters, uint32_t *h)
{
    hist = h;
    remaining = iters;
    sample = 0;
    for (int i = 1; i <= 4; i++)
        seg_copy(&sys.gdt[i], &desc_gdt[i]);
    for (int v = 0; v <= R0_NVEC; v++) {
        struct tss32 *t = &sys.rec[v];
        t->eip = (uint32_t)fz0_rec_entry;
        t->esp = REC_TOP;
        t->eflags = 0x2;
        t->cs = SEL_KCODE;
        t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
        t->cr3 = fz_kernel_pd();
        t->iomap = sizeof(struct tss32);
        set_tss_desc(GDT_REC + v, t, false);
    }
    sys.main.cr3 = fz_kernel_pd();
    sys.main.iomap = sizeof(struct tss32);
    sys.fuzz.iomap = sizeof(struct tss32);
    sys.fuzz.ss0 = SEL_KDATA;
    sys.fuzz.esp0 = FZ_STACK + 0x400;
    set_tss_desc(GDT_MAIN, &sys.main, false);
    set_tss_desc(GDT_FUZZ, &sys.fuzz, false);
    for (int v = 0; v < R0_NVEC; v++) {
        ro.idt[v].off_lo = ro.idt[v].off_hi = 0;
        ro.idt[v].params = 0;
        ro.idt[v].sel = (uint16_t)((GDT_REC + v) << 3);
        ro.idt[v].type_attr = GATE_TASK;
    }
    ro.gdtr.limit = sizeof(sys.gdt) - 1;
    ro.gdtr.base = (uint32_t)sys.gdt;
    ro.idtr.limit = sizeof(ro.idt) - 1;
    ro.idtr.base = (uint32_t)ro.idt;
    fz0_gdtr_addr = (uint32_t)&ro.gdtr;
    fz0_idtr_addr = (uint32_t)&ro.idtr;
    fz0_cr0 = sys_read_cr0();
    /* The fuzz address space: the fuzz pages (fuzz_native.c) plus the tables a task switch and
     * an event delivery touch, at the same linear addresses as in the kernel's. */
    fz_fuzz_pd_map_sys((uint32_t)&sys, (sizeof(sys) + 4095) / 4096, true);
    fz_fuzz_pd_map_sys((uint32_t)&ro, 1, false);

    desc_load(&ro.gdtr, &ro.idtr);
    if (iters)
        __asm__ volatile("lcall $0x1C0, $0" : : : "memory", "cc");
    __asm__ volatile("clts");
    _Static_assert(SEL_START == 0x1C0, "lcall operand");
}
