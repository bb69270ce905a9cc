/* Unit tests for native execution (rawmode/raw_native*): tiny 32-bit blobs entered at CPL 3 in
 * compat mode through raw_native_run, in Criterion's forked test processes, checking what comes
 * back: registers, the trap's EIP/number/error code/CR2, the monitor's FS base and FPU state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "ringfold/err.h"
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "../../rawmode/raw_ldt.h"
#include "../../rawmode/raw_native.h"
#include "../../rawmode/raw_syscall_trap.h"

#define CODE_AT 0x10000000u      /* blob page, below 4 GiB so 32-bit code reaches it */
#define STACK_TOP 0x10002000u
#define HOLE 0x20000000u         /* nothing mapped here */

static __thread volatile uint32_t tls_canary = 0xfeedf00d;
static struct raw_ldt ldt;
static struct raw_frame *fr;

static void setup(void)
{
    struct rf_err err = { { 0 } };
    cr_assert_eq(raw_native_init(&err), 0, "%s", err.msg);
    void *p = mmap((void *)(uintptr_t)CODE_AT, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    cr_assert_eq((uintptr_t)p, CODE_AT, "mmap: %s", strerror(errno));
    memset(&ldt, 0, sizeof(ldt));
    fr = raw_frame_create();
    cr_assert(fr);
    /* Flat 32-bit code and data, as the guest's descriptor caches would hold them. */
    struct seg_reg code = { .sel = 0x1b, .attr = 0xcfb, .base = 0, .limit = 0xffffffffu };
    struct seg_reg data = { .sel = 0x23, .attr = 0xcf3, .base = 0, .limit = 0xffffffffu };
    int cs = raw_ldt_load(&ldt, S_CS, &code);
    int ds = raw_ldt_load(&ldt, S_DS, &data);
    cr_assert(cs > 0 && ds > 0, "modify_ldt refused the shadow descriptors");
    fr->cs = (uint16_t)cs;
    fr->ss = fr->ds = fr->es = (uint16_t)ds;
    fr->fs = fr->gs = 0;
    fr->eip = CODE_AT;
    fr->eflags = 0x202;
    fr->gpr[R_ESP] = STACK_TOP;
}

static void put_code(const uint8_t *code, size_t n)
{
    memcpy((void *)(uintptr_t)CODE_AT, code, n);
}

TestSuite(raw_native, .init = setup);

Test(raw_native, registers_and_gp_from_cli)
{
    /* mov eax,0x11111111; mov ebx,0x22222222; mov ecx,0x33333333; mov edx,0x44444444;
     * mov esi,0x55555555; mov edi,0x66666666; mov ebp,0x77777777; add eax, 0 (flags); cli */
    static const uint8_t code[] = { 0xb8, 0x11, 0x11, 0x11, 0x11, 0xbb, 0x22, 0x22, 0x22, 0x22,
                                    0xb9, 0x33, 0x33, 0x33, 0x33, 0xba, 0x44, 0x44, 0x44, 0x44,
                                    0xbe, 0x55, 0x55, 0x55, 0x55, 0xbf, 0x66, 0x66, 0x66, 0x66,
                                    0xbd, 0x77, 0x77, 0x77, 0x77, 0x83, 0xc0, 0x00, 0xfa };
    put_code(code, sizeof(code));
    int r = raw_native_run(fr);
    cr_assert_eq(r, RAW_EXIT_SIGNAL);
    cr_assert_eq(fr->signo, SIGSEGV);
    cr_assert_eq(fr->trapno, 13, "cli at CPL 3 is #GP");
    cr_assert_eq(fr->eip, CODE_AT + sizeof(code) - 1, "EIP of the cli, got %#x", fr->eip);
    cr_assert_eq(fr->gpr[R_EAX], 0x11111111u);
    cr_assert_eq(fr->gpr[R_EBX], 0x22222222u);
    cr_assert_eq(fr->gpr[R_ECX], 0x33333333u);
    cr_assert_eq(fr->gpr[R_EDX], 0x44444444u);
    cr_assert_eq(fr->gpr[R_ESI], 0x55555555u);
    cr_assert_eq(fr->gpr[R_EDI], 0x66666666u);
    cr_assert_eq(fr->gpr[R_EBP], 0x77777777u);
    cr_assert_eq(fr->gpr[R_ESP], STACK_TOP);
    cr_assert_eq(fr->cs, raw_ldt_sel(S_CS));
    cr_assert_eq(fr->ss, raw_ldt_sel(S_DS));
    cr_assert_eq(fr->eflags & (EFL_ZF | EFL_CF | EFL_SF), 0, "add eax,0 of a non-zero value");
    cr_assert_eq(tls_canary, 0xfeedf00du, "monitor TLS reachable after the exit");
}

Test(raw_native, int_n_is_gp_with_idt_error_code)
{
    static const uint8_t code[] = { 0xcd, 0x30 };      /* int 0x30 */
    put_code(code, sizeof(code));
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    cr_assert_eq(fr->trapno, 13);
    cr_assert_eq(fr->err, 0x30u * 8 + 2, "err = vector*8+2, got %#lx", (unsigned long)fr->err);
    cr_assert_eq(fr->eip, CODE_AT);
}

Test(raw_native, page_fault_gives_cr2_and_error_code)
{
    /* mov dword [HOLE+0x10], eax */
    static const uint8_t code[] = { 0xa3, 0x10, 0x00, 0x00, 0x20 };
    put_code(code, sizeof(code));
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    cr_assert_eq(fr->signo, SIGSEGV);
    cr_assert_eq(fr->trapno, 14);
    cr_assert_eq(fr->cr2, HOLE + 0x10u);
    cr_assert_eq(fr->err & 6, 6, "user write: W and U set, got %#lx", (unsigned long)fr->err);
    cr_assert_eq(fr->eip, CODE_AT);
}

Test(raw_native, guest_fs_does_not_break_monitor_tls)
{
    /* A guest FS segment with base 0x10001000: mov fs, bx; mov dword fs:[8], 0xabcdef01; cli */
    struct seg_reg fsd = { .sel = 0x33, .attr = 0x4f3, .base = CODE_AT + 0x1000, .limit = 0xfff };
    int fs = raw_ldt_load(&ldt, S_FS, &fsd);
    cr_assert(fs > 0);
    static const uint8_t code[] = { 0x8e, 0xe3, 0x64, 0xc7, 0x05, 0x08, 0x00, 0x00, 0x00,
                                    0x01, 0xef, 0xcd, 0xab, 0xfa };
    put_code(code, sizeof(code));
    fr->gpr[R_EBX] = (uint32_t)fs;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
        cr_assert_eq(fr->trapno, 13);
        cr_assert_eq(fr->fs, fs, "the guest FS selector comes back: %#x vs %#x (ds %#x gs %#x) i=%d", fr->fs, fs, fr->ds, fr->gs, i);
        cr_assert_eq(tls_canary, 0xfeedf00du);
        fr->fs = 0;
        fr->eip = CODE_AT;
    }
    uint32_t v;
    memcpy(&v, (void *)(uintptr_t)(CODE_AT + 0x1008), 4);
    cr_assert_eq(v, 0xabcdef01u, "FS-relative guest write landed at the segment base");
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", 42);      /* glibc, TLS and the stack protector work */
    cr_assert_str_eq(buf, "42");
}

Test(raw_native, guest_fpu_control_word_survives_exit)
{
    /* fldcw [CODE_AT+0x100]; mov eax, 0x3f800000 (1.0f); movd xmm0, eax; cli */
    static const uint8_t code[] = { 0xd9, 0x2d, 0x00, 0x01, 0x00, 0x10, 0xb8, 0x00, 0x00, 0x80, 0x3f,
                                    0x66, 0x0f, 0x6e, 0xc0, 0xfa };
    put_code(code, sizeof(code));
    uint16_t cw = 0x0c7f;       /* round toward zero, all masked */
    memcpy((void *)(uintptr_t)(CODE_AT + 0x100), &cw, 2);
    struct fpu_state in = { .fcw = 0x37f, .ftw = 0xffff, .mxcsr = 0x1f80 };
    raw_fpu_to_frame(fr, &in);
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    uint16_t host_cw;
    uint32_t host_mxcsr;
    __asm__ volatile("fnstcw %0; stmxcsr %1" : "=m"(host_cw), "=m"(host_mxcsr));
    cr_assert_eq(host_cw, 0x37f, "the monitor runs with the default FCW, got %#x", host_cw);
    cr_assert_eq(host_mxcsr & 0xffbf, 0x1f80);
    struct fpu_state out;
    memset(&out, 0, sizeof(out));
    raw_fpu_from_frame(fr, &out);
    cr_assert_eq(out.fcw, 0x0c7f, "guest FCW kept: %#x", out.fcw);
    uint32_t x0;
    memcpy(&x0, out.xmm[0], 4);
    cr_assert_eq(x0, 0x3f800000u, "guest XMM0 kept");
    /* And it goes back in on the next entry: fnstcw [CODE_AT+0x104]; cli */
    static const uint8_t code2[] = { 0xd9, 0x3d, 0x04, 0x01, 0x00, 0x10, 0xfa };
    put_code(code2, sizeof(code2));
    fr->eip = CODE_AT;
    raw_fpu_to_frame(fr, &out);
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    uint16_t seen;
    memcpy(&seen, (void *)(uintptr_t)(CODE_AT + 0x104), 2);
    cr_assert_eq(seen, 0x0c7f);
}

Test(raw_native, round_trip_cost)
{
    static const uint8_t code[] = { 0xfa };     /* cli: enter + trivial #GP exit */
    put_code(code, sizeof(code));
    struct timespec a, b;
    const int n = 20000;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        fr->eip = CODE_AT;
        cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
    fprintf(stderr, "raw round trip (enter + #GP exit): %.0f ns\n", ns);
    cr_assert(ns > 0);
}

Test(raw_native, int80_is_trapped_by_seccomp)
{
    struct rf_err err = { { 0 } };
    cr_assert_eq(raw_syscall_trap_install(&err), 0, "%s", err.msg);
    /* mov eax, 4 (i386 write); mov ebx, 1; int 0x80: must not reach the host. */
    static const uint8_t code[] = { 0xb8, 0x04, 0x00, 0x00, 0x00, 0xbb, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80 };
    put_code(code, sizeof(code));
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    cr_assert_eq(fr->signo, SIGSYS);
    cr_assert_eq(fr->sys_nr, 4);
    cr_assert_eq(fr->trap_addr, CODE_AT + sizeof(code), "si_call_addr is after int 0x80");
    cr_assert_eq(fr->gpr[R_EAX], 4u, "the trap rolled EAX back to the call number");
}

Test(raw_native, fast_syscall_leaves_32bit_code_and_is_seen)
{
    struct rf_err err = { { 0 } };
    cr_assert_eq(raw_syscall_trap_install(&err), 0, "%s", err.msg);
    /* syscall from compat mode: #UD on Intel; on AMD the host kernel takes it as its vDSO fast
     * call, moving EIP to a landing pad above 4 GiB (raw_engine.c stops the VM then). */
    static const uint8_t code[] = { 0x0f, 0x05 };
    put_code(code, sizeof(code));
    fr->gpr[R_EBP] = STACK_TOP - 64;
    int r = raw_native_run(fr);
    cr_assert_eq(r, RAW_EXIT_SIGNAL);
    bool ud = fr->signo == SIGILL && fr->trapno == 6 && fr->eip == CODE_AT;
    bool moved = fr->rip_high != 0 && (fr->signo == SIGSYS || fr->signo == SIGSEGV);
    cr_assert(ud || moved, "signal %d trap %lu at %04x:%08x%08x", fr->signo, (unsigned long)fr->trapno,
              fr->cs, fr->rip_high, fr->eip);
}

Test(raw_native, far_jump_to_host_64bit_selector_is_seen)
{
    /* ljmp $0x33, $CODE_AT+7; then in 64-bit mode: cli (#GP). */
    static const uint8_t code[] = { 0xea, 0x07, 0x00, 0x00, 0x10, 0x33, 0x00, 0xfa };
    put_code(code, sizeof(code));
    cr_assert_eq(raw_native_run(fr), RAW_EXIT_SIGNAL);
    cr_assert_eq(fr->trapno, 13);
    cr_assert_eq(fr->cs, 0x33, "the exit shows the host 64-bit selector, got %#x", fr->cs);
    cr_assert_eq(fr->eip, CODE_AT + 7);
    cr_assert_eq(tls_canary, 0xfeedf00du);
}

/* ---- pieces that need no native entry: FPU image conversion, selector resolution ---- */

Test(raw_fpu, stack_order_and_full_tags_round_trip)
{
    struct raw_frame *f = raw_frame_create();
    cr_assert(f);
    struct fpu_state in;
    memset(&in, 0, sizeof(in));
    in.fcw = 0x027f;
    in.fsw = (uint16_t)(5u << 11);      /* TOP = 5: ST0 is physical R5 */
    in.mxcsr = 0x1fa0;
    /* R5 = 1.0 (valid), R6 = +0 (zero), R7 = +inf (special), the rest empty. */
    static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
    static const uint8_t inf[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f };
    memcpy(in.st[5], one, 10);
    memcpy(in.st[7], inf, 10);
    in.ftw = (uint16_t)(0xffffu & ~(3u << 10) & ~(3u << 12) & ~(3u << 14));
    in.ftw |= (uint16_t)(0u << 10 | 1u << 12 | 2u << 14);
    in.xmm[3][0] = 0x5a;
    raw_fpu_to_frame(f, &in);
    const uint8_t *area = f->guest_fpu;
    cr_assert_eq(area[4], 0xe0, "abridged tag: R5-R7 in use, got %#x", area[4]);
    cr_assert_eq(memcmp(area + 32, one, 10), 0, "ST0 (R5) first in the image");
    cr_assert_eq(memcmp(area + 64, inf, 10), 0, "ST2 (R7) third");
    struct fpu_state out;
    memset(&out, 0xcc, sizeof(out));
    raw_fpu_from_frame(f, &out);
    cr_assert_eq(out.fcw, in.fcw);
    cr_assert_eq(out.fsw, in.fsw);
    cr_assert_eq(out.ftw, in.ftw, "full tag word rebuilt from contents: %#x vs %#x", out.ftw, in.ftw);
    cr_assert_eq(out.mxcsr, in.mxcsr);
    cr_assert_eq(memcmp(out.st[5], one, 10), 0);
    cr_assert_eq(memcmp(out.st[7], inf, 10), 0);
    cr_assert_eq(out.xmm[3][0], 0x5a);
    raw_frame_destroy(f);
}

Test(raw_ldt, host_gdt_selector_resolves_against_the_guest_gdt)
{
    struct vm vm;
    struct vm_config cfg = { .mem_size = 16u << 20, .serial = "null", .deterministic = true };
    struct rf_err err = { { 0 } };
    cr_assert_eq(vm_init(&vm, &cfg, &err), 0, "%s", err.msg);
    struct x86_emu *e = x86_emu_create(&vm, &err);
    cr_assert(e, "%s", err.msg);
    /* A guest GDT at 0x1000: entry 6 (selector 0x33) a TLS data segment with base 0x12345000,
     * limit 0xfffff pages, DPL 3; entry 4 (0x23) a DPL-0 data segment. */
    uint8_t gdt[8 * 8];
    memset(gdt, 0, sizeof(gdt));
    const uint8_t tls[8] = { 0xff, 0xff, 0x00, 0x50, 0x34, 0xf2, 0xcf, 0x12 };
    const uint8_t dpl0[8] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00 };
    memcpy(gdt + 6 * 8, tls, 8);
    memcpy(gdt + 4 * 8, dpl0, 8);
    cr_assert_eq(guest_mem_write(&vm.mem, 0x1000, gdt, sizeof(gdt)), 0);
    struct vcpu_state st;
    vcpu_state_flat32(&st, 0x100000);
    st.gdtr.base = 0x1000;
    st.gdtr.limit = sizeof(gdt) - 1;
    x86_emu_set_state(e, &st);
    struct raw_ldt l;
    memset(&l, 0, sizeof(l));
    struct seg_reg out;
    cr_assert_eq(raw_ldt_to_guest(&l, e, &vm, S_GS, 0x33, &out), 0);
    cr_assert_eq(out.sel, 0x33);
    cr_assert_eq(out.base, 0x12345000u, "base %#x", out.base);
    cr_assert_eq(out.limit, 0xffffffffu);
    cr_assert_eq(SEG_ATTR_DPL(out.attr), 3);
    cr_assert_eq(l.fixups, 1);
    cr_assert_eq(raw_ldt_to_guest(&l, e, &vm, S_DS, 0x23, &out), -1, "DPL-0 data cannot be loaded at CPL 3");
    cr_assert_eq(raw_ldt_to_guest(&l, e, &vm, S_ES, 0, &out), 0, "null stays null");
    cr_assert_eq(out.sel, 0);
    x86_emu_destroy(e);
    vm_destroy(&vm);
}
