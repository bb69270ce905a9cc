/* GDT, IDT and TSS layout and setup helpers for the system test kernels (SDM Vol. 3A 3.4.5, 6.11, 7.2). */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#include <stdint.h>

struct seg_desc {
    uint16_t limit_lo;
    uint16_t base_lo;
    uint8_t base_mid;
    uint8_t access;       /* P, DPL, S, type */
    uint8_t flags_limit;  /* G, D/B, L, AVL in the high nibble; limit 19:16 low */
    uint8_t base_hi;
};
_Static_assert(sizeof(struct seg_desc) == 8, "segment descriptor is 8 bytes (SDM 3.4.5)");

struct gate_desc {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t params;       /* call gates: parameter count; others 0 */
    uint8_t type_attr;    /* P, DPL, type */
    uint16_t off_hi;
};
_Static_assert(sizeof(struct gate_desc) == 8, "gate descriptor is 8 bytes (SDM 6.11)");

/* 32-bit TSS, SDM Vol. 3A 7.2.1 Figure 7-2. */
struct tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 104, "32-bit TSS is 104 bytes (SDM 7.2.1)");

/* Fixed GDT layout shared by every system test; tests fill entries from GDT_FREE up. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS 0x28
#define GDT_FREE 6
#define GDT_ENTRIES 32

/* Access bytes (P=1, S=1 for code/data). */
#define ACC_CODE0 0x9A   /* execute/read, DPL 0 */
#define ACC_DATA0 0x92   /* read/write, DPL 0 */
#define ACC_CODE3 0xFA
#define ACC_DATA3 0xF2
#define ACC_TSS 0x89     /* available 32-bit TSS, DPL 0 */
#define ACC_TSS_BUSY 0x8B
#define FLG_4K32 0xC     /* G=1, D/B=1 */
#define FLG_BYTE32 0x4   /* G=0, D/B=1 */
#define FLG_16 0x0

/* Gate types with P=1 (SDM Table 3-2). */
#define GATE_INT32 0x8E
#define GATE_TRAP32 0x8F
#define GATE_TASK 0x85
#define GATE_CALL32 0x8C
#define GATE_DPL3 0x60

/* The operand of LGDT/LIDT. */
struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint32_t base;
};

extern struct seg_desc desc_gdt[GDT_ENTRIES];
extern struct gate_desc desc_idt[256];
extern struct tss32 desc_tss;

/* Loads the fixed GDT, an IDT whose vectors 0..63 go to isr.S stubs, and the main TSS (ESP0 =
 * a dedicated ring-0 stack). Reloads every segment register. */
void desc_init(void);
/* Loads these tables and the layout every test kernel uses: CS 0x08, data 0x10 in DS/ES/FS/GS/
 * SS, TR 0x28, LDTR null. */
void desc_load(const struct dtr *gdtr, const struct dtr *idtr);
void desc_set_seg(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void desc_set_gate(int vec, uint32_t off, uint16_t sel, uint8_t type_attr);
void desc_set_callgate(int idx, uint16_t sel, uint32_t off, uint8_t type_attr, uint8_t params);
void desc_set_tss(int idx, struct tss32 *t, uint32_t limit, uint8_t access);
/* Returns vector vec to its isr.S stub (interrupt gate, DPL 0). */
void desc_reset_gate(int vec);
uint32_t desc_isr_stub(int vec);

#endif
