/* Unit tests of the kvm engine against the host's /dev/kvm (skipped where it cannot be opened):
 * state set and read back through the ioctls, port I/O and MMIO exits reaching the bus, the
 * deadline timer ending a spinning guest, HLT with interrupts off. Every guest here runs with
 * paging off, so they also run on KVM-PVM hosts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "pc.h"
#include "ringfold/cpu_model.h"
#include "ringfold/vm.h"

static struct vm vm;
static void *priv;

static void setup(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        cr_skip_test("/dev/kvm cannot be opened here: %s", strerror(errno));
    close(fd);
    struct vm_config cfg = { .mem_size = 16u << 20, .serial = "null" };
    struct rf_err err = { { 0 } };
    cr_assert_eq(vm_init(&vm, &cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(kvm_engine_ops.create(&vm, &priv, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    if (priv)
        kvm_engine_ops.destroy(priv);
    priv = NULL;
    vm_destroy(&vm);
}

TestSuite(kvm_live, .init = setup, .fini = teardown, .timeout = 30);

/* Loads code at 0x1000 and starts there in flat 32-bit protected mode, paging off. */
static void load_code(const uint8_t *code, size_t len, struct vcpu_state *st)
{
    cr_assert_eq(guest_mem_write(&vm.mem, 0x1000, code, len), 0);
    vcpu_state_flat32(st, 0x1000);
    st->gpr[R_ESP] = 0x8000;
}

Test(kvm_live, state_round_trip_through_kvm)
{
    struct vcpu_state a, b;
    vcpu_state_flat32(&a, 0x00012345);
    for (int i = 0; i < GPR_COUNT; i++)
        a.gpr[i] = 0x01010101u * (uint32_t)(i + 3);
    a.eflags = EFL_FIXED1 | EFL_CF | EFL_ZF | EFL_DF;
    a.gdtr = (struct dtable_reg){ .base = 0x2000, .limit = 0x27 };
    a.idtr = (struct dtable_reg){ .base = 0x3000, .limit = 0x7ff };
    a.seg[S_FS].base = 0x4000;
    a.seg[S_FS].limit = 0xfff;
    a.seg[S_FS].attr &= (uint16_t)~SEG_ATTR_G;
    a.tr = (struct seg_reg){ .sel = 0x20, .attr = SEG_ATTR_P | 0xb, .base = 0x5000, .limit = 0x67 };
    a.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_MP;
    a.cr2 = 0x12345000;
    a.msr.sysenter_cs = 0x10;
    a.msr.sysenter_eip = 0xc0100000;
    a.msr.sysenter_esp = 0xc0002000;
    a.fpu.fcw = 0x027f;
    a.dr[0] = 0x1234;
    a.dr[7] = 0x401;
    kvm_engine_ops.set_state(priv, &a);
    cr_assert_eq(vm.stop, 0, "%s", vm.stop_msg);
    kvm_engine_ops.get_state(priv, &b);
    cr_assert_eq(vm.stop, 0, "%s", vm.stop_msg);
    cr_assert_arr_eq(b.gpr, a.gpr, sizeof(a.gpr));
    cr_assert_eq(b.eip, a.eip);
    cr_assert_eq(b.eflags, a.eflags, "%#x vs %#x", b.eflags, a.eflags);
    for (int i = 0; i < SEG_COUNT; i++) {
        cr_assert_eq(b.seg[i].sel, a.seg[i].sel, "seg %d", i);
        cr_assert_eq(b.seg[i].base, a.seg[i].base, "seg %d", i);
        cr_assert_eq(b.seg[i].limit, a.seg[i].limit, "seg %d", i);
        /* The accessed bit (type bit 0) may be set by KVM on load: compare the rest. */
        cr_assert_eq(b.seg[i].attr | 1, a.seg[i].attr | 1, "seg %d attr %#x vs %#x", i, b.seg[i].attr, a.seg[i].attr);
    }
    cr_assert_eq(b.tr.base, 0x5000u);
    cr_assert_eq(b.tr.sel, 0x20);
    cr_assert_eq(b.gdtr.base, 0x2000u);
    cr_assert_eq(b.gdtr.limit, 0x27);
    cr_assert_eq(b.idtr.base, 0x3000u);
    cr_assert_eq(b.idtr.limit, 0x7ff);
    cr_assert_eq(b.cr0 & (CR0_PE | CR0_MP | CR0_NE | CR0_PG), a.cr0 & (CR0_PE | CR0_MP | CR0_NE | CR0_PG));
    cr_assert_eq(b.cr2, a.cr2);
    cr_assert_eq(b.msr.sysenter_cs, 0x10u);
    cr_assert_eq(b.msr.sysenter_eip, 0xc0100000u);
    cr_assert_eq(b.msr.sysenter_esp, 0xc0002000u);
    cr_assert_eq(b.fpu.fcw, 0x027f);
    cr_assert_eq(b.dr[0], 0x1234u);
}

Test(kvm_live, port_io_reaches_the_bus_and_debug_exit_stops)
{
    /* mov $0x10,%al; out %al,$0xf4 (isa-debug-exit); hlt */
    static const uint8_t code[] = { 0xb0, 0x10, 0xe6, 0xf4, 0xf4 };
    struct vcpu_state st;
    load_code(code, sizeof(code), &st);
    kvm_engine_ops.set_state(priv, &st);
    uint64_t w0 = vm.bus.stats.pio_writes;
    enum engine_exit e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(e, ENGINE_EXIT_STOP, "exit %d, stop %d: %s", e, vm.stop, vm.stop_msg);
    cr_assert_eq(vm.stop, VM_STOP_DEBUG_EXIT, "%s", vm.stop_msg);
    cr_assert_eq(vm.stop_code, 0x10u);
    cr_assert_eq(vm.bus.stats.pio_writes, w0 + 1);
}

Test(kvm_live, string_out_and_mmio_in_the_vga_hole)
{
    /* mov $0x2000,%esi; mov $3,%ecx; mov $0x80,%dx; rep outsb;
     * mov 0xa0000,%eax; mov $0x10,%al; out %al,$0xf4 */
    static const uint8_t code[] = { 0xbe, 0x00, 0x20, 0x00, 0x00, 0xb9, 0x03, 0x00, 0x00, 0x00,
                                    0x66, 0xba, 0x80, 0x00, 0xf3, 0x6e,
                                    0xa1, 0x00, 0x00, 0x0a, 0x00,
                                    0xb0, 0x10, 0xe6, 0xf4 };
    static const uint8_t bytes[] = { 1, 2, 3 };
    struct vcpu_state st;
    load_code(code, sizeof(code), &st);
    cr_assert_eq(guest_mem_write(&vm.mem, 0x2000, bytes, 3), 0);
    kvm_engine_ops.set_state(priv, &st);
    uint64_t w0 = vm.bus.stats.pio_writes;
    uint64_t m0 = vm.bus.stats.mmio_reads;
    kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(vm.stop, VM_STOP_DEBUG_EXIT, "%s", vm.stop_msg);
    cr_assert_eq(vm.bus.stats.pio_writes, w0 + 4, "3 bytes by OUTSB, 1 to debug-exit");
    cr_assert_geq(vm.bus.stats.mmio_reads, m0 + 1, "the VGA hole is not in a memory slot");
}

Test(kvm_live, deadline_ends_a_spinning_guest)
{
    static const uint8_t code[] = { 0xeb, 0xfe };       /* jmp . */
    struct vcpu_state st;
    load_code(code, sizeof(code), &st);
    kvm_engine_ops.set_state(priv, &st);
    uint64_t t0 = vclock_host_ns();
    enum engine_exit e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 20000000ull);
    uint64_t took = vclock_host_ns() - t0;
    cr_assert_eq(e, ENGINE_EXIT_BUDGET);
    cr_assert_geq(took, 20000000ull);
    cr_assert_lt(took, 1000000000ull, "KVM_RUN was not kicked out at the deadline (%llu ns)",
                 (unsigned long long)took);
    /* And again: the timer re-arms for the next slice. */
    e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 10000000ull);
    cr_assert_eq(e, ENGINE_EXIT_BUDGET);
}

Test(kvm_live, hlt_with_interrupts_off_is_hung)
{
    static const uint8_t code[] = { 0xfa, 0xf4 };       /* cli; hlt */
    struct vcpu_state st;
    load_code(code, sizeof(code), &st);
    kvm_engine_ops.set_state(priv, &st);
    enum engine_exit e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(e, ENGINE_EXIT_HALT);
    cr_assert_eq(vm.stop, VM_STOP_HUNG, "%s", vm.stop_msg);
    cr_assert(strstr(vm.stop_msg, "0010:00001002"), "%s", vm.stop_msg);
}

Test(kvm_live, hlt_with_interrupts_on_halts_and_is_reported)
{
    static const uint8_t code[] = { 0xfb, 0xf4, 0xeb, 0xfe };     /* sti; hlt; jmp . */
    struct vcpu_state st;
    load_code(code, sizeof(code), &st);
    kvm_engine_ops.set_state(priv, &st);
    enum engine_exit e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(e, ENGINE_EXIT_HALT);
    cr_assert_eq(vm.stop, 0, "%s", vm.stop_msg);
    struct vcpu_state b;
    kvm_engine_ops.get_state(priv, &b);
    cr_assert_eq(b.halted, 1);
    cr_assert_eq(b.eip, 0x1002u);
    /* Still halted without an interrupt: run returns HALT again, the guest does not go on. */
    e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(e, ENGINE_EXIT_HALT);
}

/* Real mode at 0000:1000 with the master 8259 programmed as a BIOS does (IRQ 0 -> vector 8) and
 * IVT[8] -> 0000:1100, where the handler reports through isa-debug-exit: interrupt delivery
 * without IRET, which KVM-PVM's emulator runs only in real mode. */
static void irq_setup(const uint8_t *code, size_t len, uint8_t handler_code, struct vcpu_state *st)
{
    const uint8_t handler[] = { 0xb0, handler_code, 0xe6, 0xf4, 0xf4 };   /* mov $c,%al; out; hlt */
    const uint16_t ivt8[2] = { 0x1100, 0x0000 };
    cr_assert_eq(guest_mem_write(&vm.mem, 0x1000, code, len), 0);
    cr_assert_eq(guest_mem_write(&vm.mem, 0x1100, handler, sizeof(handler)), 0);
    cr_assert_eq(guest_mem_write(&vm.mem, 8 * 4, ivt8, sizeof(ivt8)), 0);
    const uint8_t icw[][2] = { { 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0x21, 0xfe } };
    for (size_t i = 0; i < sizeof(icw) / sizeof(icw[0]); i++)
        bus_pio_write(&vm.bus, icw[i][0], icw[i][1], 1);
    vcpu_state_reset(st);
    st->seg[S_CS].sel = 0;
    st->seg[S_CS].base = 0;
    st->eip = 0x1000;
    st->gpr[R_ESP] = 0x7000;
}

Test(kvm_live, interrupt_wakes_a_halted_guest)
{
    static const uint8_t code[] = { 0xfb, 0xf4, 0xeb, 0xfe };     /* sti; hlt; jmp . */
    struct vcpu_state st;
    irq_setup(code, sizeof(code), 0x21, &st);
    kvm_engine_ops.set_state(priv, &st);
    enum engine_exit e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(e, ENGINE_EXIT_HALT, "%s", vm.stop_msg);
    pc_set_irq(&vm, 0, 1);
    cr_assert(vm.intr_pending);
    e = kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
    cr_assert_eq(vm.stop, VM_STOP_DEBUG_EXIT, "exit %d: %s", e, vm.stop_msg);
    cr_assert_eq(vm.stop_code, 0x21u, "the vector 8 handler ran");
}

Test(kvm_live, interrupt_waits_for_the_window)
{
    /* cli; mov $2000,%cx; loop .; sti; nop; jmp . : the IRQ is pending from the start but may
     * only be delivered after STI and its one-instruction shadow. */
    static const uint8_t code[] = { 0xfa, 0xb9, 0xd0, 0x07, 0xe2, 0xfe, 0xfb, 0x90, 0xeb, 0xfe };
    struct vcpu_state st;
    irq_setup(code, sizeof(code), 0x22, &st);
    kvm_engine_ops.set_state(priv, &st);
    pc_set_irq(&vm, 0, 1);
    for (int i = 0; i < 100 && !vm.stop; i++)
        kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 20000000ull);
    cr_assert_eq(vm.stop, VM_STOP_DEBUG_EXIT, "%s", vm.stop_msg);
    cr_assert_eq(vm.stop_code, 0x22u);
    struct vcpu_state b;
    kvm_engine_ops.get_state(priv, &b);
    cr_assert_eq(b.gpr[R_ECX] & 0xffff, 0, "delivered only after the CLI loop ran out");
}

Test(kvm_live, cpuid_comes_from_the_cpu_model)
{
    /* The registers CPUID left are read back after the HLT that ends the snippet. */
    static const uint8_t code[] = { 0x0f, 0xa2, 0xfa, 0xf4 };     /* cpuid; cli; hlt */
    for (uint32_t leaf = 0; leaf <= 1; leaf++) {
        struct vcpu_state st, b;
        load_code(code, sizeof(code), &st);
        st.gpr[R_EAX] = leaf;
        st.gpr[R_ECX] = 0;
        vm.stop = 0;
        kvm_engine_ops.set_state(priv, &st);
        kvm_engine_ops.run(priv, vclock_ns(&vm.clock) + 2000000000ull);
        cr_assert_eq(vm.stop, VM_STOP_HUNG, "%s", vm.stop_msg);
        kvm_engine_ops.get_state(priv, &b);
        uint32_t want[4];
        cpu_model_cpuid(vm.cpu, leaf, 0, want);
        if (leaf == 0) {
            cr_assert_eq(b.gpr[R_EAX], want[0], "max leaf %#x vs model %#x", b.gpr[R_EAX], want[0]);
            cr_assert_eq(b.gpr[R_EBX], want[1]);
            cr_assert_eq(b.gpr[R_ECX], want[2]);
            cr_assert_eq(b.gpr[R_EDX], want[3]);
        } else {
            cr_assert_eq(b.gpr[R_EAX], want[0], "signature %#x vs model %#x", b.gpr[R_EAX], want[0]);
        }
    }
}
