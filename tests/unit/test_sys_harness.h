/* Test bed for the interpreter's system side: a struct vm with real guest RAM, bus and clock, and
 * a struct x86_cpu over it with the exec side's memory layer (exec_init) but no instruction loop:
 * tests call the system-side functions directly. Include from one test_sys_*.c per executable. */
#ifndef TEST_SYS_HARNESS_H
#define TEST_SYS_HARNESS_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>
#include "x86/x86_exec.h"

static struct vm tb_vm;
static struct x86_cpu tb_cpu;
static struct x86_cpu *const cpu = &tb_cpu;

#define TB_MEM (16u << 20)

static void tb_setup(void)
{
    struct rf_err err;
    memset(&tb_vm, 0, sizeof(tb_vm));
    memset(&tb_cpu, 0, sizeof(tb_cpu));
    cr_assert_eq(guest_mem_init(&tb_vm.mem, TB_MEM, &err), 0);
    bus_init(&tb_vm.bus);
    vclock_init(&tb_vm.clock, true);
    tb_cpu.vm = &tb_vm;
    tb_cpu.mem = &tb_vm.mem;
    cr_assert_eq(exec_init(&tb_cpu), 0);
    x86_cpu_reset(&tb_cpu);
}

static void tb_teardown(void)
{
    exec_destroy(&tb_cpu);
    guest_mem_destroy(&tb_vm.mem);
}

/* Pretends the CPU runs at cpl (CS.RPL and SS.DPL) without a privilege transfer. */
__attribute__((unused)) static void tb_set_cpl(int cpl)
{
    cpu->s.seg[S_CS].sel = (uint16_t)((cpu->s.seg[S_CS].sel & ~3) | cpl);
    cpu->s.seg[S_SS].attr = (uint16_t)((cpu->s.seg[S_SS].attr & ~0x60) | (cpl << 5));
    x86_update_mode(cpu);
}

/* Runs stmt with fault_jmp armed; evaluates to the raised vector, or -1 when none. */
#define TB_FAULT(stmt)                                                                     \
    ({                                                                                     \
        volatile int tb_v_ = -1;                                                                \
        if (setjmp(cpu->fault_jmp) == 0) {                                                 \
            stmt;                                                                          \
        } else {                                                                           \
            tb_v_ = cpu->exc_vector;                                                       \
        }                                                                                  \
        tb_v_;                                                                             \
    })

/* ---- guest memory helpers ----------------------------------------------------------------- */
static void pw32(uint64_t pa, uint32_t v) { cr_assert_eq(guest_mem_write(&tb_vm.mem, pa, &v, 4), 0); }
__attribute__((unused)) static void pw64(uint64_t pa, uint64_t v) { cr_assert_eq(guest_mem_write(&tb_vm.mem, pa, &v, 8), 0); }
__attribute__((unused)) static uint32_t pr32(uint64_t pa)
{
    uint32_t v = 0;
    cr_assert_eq(guest_mem_read(&tb_vm.mem, pa, &v, 4), 0);
    return v;
}
__attribute__((unused)) static uint16_t pr16(uint64_t pa)
{
    uint16_t v = 0;
    cr_assert_eq(guest_mem_read(&tb_vm.mem, pa, &v, 2), 0);
    return v;
}

/* Segment descriptor dwords for base/limit(20-bit)/access byte/flags nibble (G, D/B). */
__attribute__((unused)) static void gdt_set(uint32_t gdt, unsigned idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | ((uint32_t)access << 8) | (limit & 0xf0000) |
                  ((uint32_t)(flags & 0xf) << 20) | (base & 0xff000000u);
    pw32(gdt + idx * 8, lo);
    pw32(gdt + idx * 8 + 4, hi);
}

/* Gate descriptor (interrupt/trap/call/task gate). */
__attribute__((unused)) static void gate_set(uint32_t table, unsigned idx, uint16_t sel, uint32_t off, uint8_t access, uint8_t params)
{
    pw32(table + idx * 8, (off & 0xffff) | ((uint32_t)sel << 16));
    pw32(table + idx * 8 + 4, (off & 0xffff0000u) | ((uint32_t)access << 8) | params);
}

/* A flat protected-mode machine: GDT at 0x1000 with ring 0 code/data (0x08, 0x10), ring 3
 * code/data (0x1b, 0x23), a 32-bit TSS at 0x3000 (selector 0x28) whose ring 0 stack is
 * 0x10:0x9000, and an IDT at 0x2000. Starts at CPL 0 with ESP 0x8000. */
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS 0x3000u
__attribute__((unused)) static void tb_flat_pm(void)
{
    gdt_set(GDT, 1, 0, 0xfffff, 0x9a, 0xc);
    gdt_set(GDT, 2, 0, 0xfffff, 0x92, 0xc);
    gdt_set(GDT, 3, 0, 0xfffff, 0xfa, 0xc);
    gdt_set(GDT, 4, 0, 0xfffff, 0xf2, 0xc);
    gdt_set(GDT, 5, TSS, 0x67, 0x89, 0x0);
    pw32(TSS + 4, 0x9000);
    pw32(TSS + 8, 0x10);
    pw32(TSS + 0x66, 0x68u << 16);      /* I/O map base just past the TSS: no bitmap */
    cpu->s.gdtr.base = GDT;
    cpu->s.gdtr.limit = 0x7f;
    cpu->s.idtr.base = IDT;
    cpu->s.idtr.limit = 0x7ff;
    cpu->s.cr0 |= CR0_PE;
    x86_update_mode(cpu);
    cr_assert_eq(TB_FAULT(x86_far_jmp(cpu, 0x08, 0x100, true)), -1);
    for (volatile int s = 0; s < SEG_COUNT; s++)
        if (s != S_CS)
            cr_assert_eq(TB_FAULT(x86_load_seg(cpu, s, 0x10)), -1);
    cr_assert_eq(TB_FAULT(x86_ltr(cpu, 0x28)), -1);
    cpu->s.gpr[R_ESP] = 0x8000;
}

#endif
