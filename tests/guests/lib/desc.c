/* GDT/IDT/TSS construction for the system test kernels: one flat layout every test shares. */
#include "desc.h"

struct seg_desc desc_gdt[GDT_ENTRIES] __attribute__((aligned(8)));
struct gate_desc desc_idt[256] __attribute__((aligned(8)));
struct tss32 desc_tss __attribute__((aligned(128)));
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));

extern const uint32_t isr_stub_table[64];

void desc_set_seg(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    struct seg_desc *d = &desc_gdt[idx];
    d->limit_lo = (uint16_t)limit;
    d->base_lo = (uint16_t)base;
    d->base_mid = (uint8_t)(base >> 16);
    d->access = access;
    d->flags_limit = (uint8_t)((flags << 4) | ((limit >> 16) & 0xF));
    d->base_hi = (uint8_t)(base >> 24);
}

void desc_set_gate(int vec, uint32_t off, uint16_t sel, uint8_t type_attr)
{
    struct gate_desc *g = &desc_idt[vec];
    g->off_lo = (uint16_t)off;
    g->sel = sel;
    g->params = 0;
    g->type_attr = type_attr;
    g->off_hi = (uint16_t)(off >> 16);
}

void desc_set_callgate(int idx, uint16_t sel, uint32_t off, uint8_t type_attr, uint8_t params)
{
    struct gate_desc *g = (struct gate_desc *)&desc_gdt[idx];
    g->off_lo = (uint16_t)off;
    g->sel = sel;
    g->params = params & 0x1F;
    g->type_attr = type_attr;
    g->off_hi = (uint16_t)(off >> 16);
}

void desc_set_tss(int idx, struct tss32 *t, uint32_t limit, uint8_t access)
{
    desc_set_seg(idx, (uint32_t)t, limit, access, 0);
}

uint32_t desc_isr_stub(int vec)
{
    return vec < 64 ? isr_stub_table[vec] : 0;
}

void desc_reset_gate(int vec)
{
    desc_set_gate(vec, desc_isr_stub(vec), SEL_KCODE, GATE_INT32);
}

void desc_init(void)
{
    desc_set_seg(1, 0, 0xFFFFF, ACC_CODE0, FLG_4K32);
    desc_set_seg(2, 0, 0xFFFFF, ACC_DATA0, FLG_4K32);
    desc_set_seg(3, 0, 0xFFFFF, ACC_CODE3, FLG_4K32);
    desc_set_seg(4, 0, 0xFFFFF, ACC_DATA3, FLG_4K32);
    desc_tss.esp0 = (uint32_t)(ring0_stack + sizeof(ring0_stack));
    desc_tss.ss0 = SEL_KDATA;
    desc_tss.iomap = sizeof(struct tss32);   /* no I/O bitmap: beyond the limit */
    desc_set_tss(5, &desc_tss, sizeof(struct tss32) - 1, ACC_TSS);
    for (int v = 0; v < 64; v++)
        desc_reset_gate(v);

    struct dtr g = { sizeof(desc_gdt) - 1, (uint32_t)desc_gdt };
    struct dtr i = { sizeof(desc_idt) - 1, (uint32_t)desc_idt };
    desc_load(&g, &i);
}

void desc_load(const struct dtr *gdtr, const struct dtr *idtr)
{
    __asm__ volatile("lgdt %0\n\t"
                     "lidt %1\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\n\t"
                     "mov $0x10, %%ax\n\t"
                     "mov %%ax, %%ds\n\t"
                     "mov %%ax, %%es\n\t"
                     "mov %%ax, %%fs\n\t"
                     "mov %%ax, %%gs\n\t"
                     "mov %%ax, %%ss\n\t"
                     "mov $0x28, %%ax\n\t"
                     "ltr %%ax\n\t"
                     "xor %%ax, %%ax\n\t"
                     "lldt %%ax"
                     :
                     : "m"(*gdtr), "m"(*idtr)
                     : "eax", "memory");
}
