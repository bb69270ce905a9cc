/* x87 control: #UD/#NM/#MF rules, the instruction and operand pointers, FNSTENV/FLDENV and
 * FNSAVE/FRSTOR in all four layouts, FXSAVE/FXRSTOR (checked against the host's FXSAVE). */
#include "test_x87_harness.h"

static uint32_t rd32(unsigned off) { uint32_t v; memcpy(&v, gmem + off, 4); return v; }
static uint16_t rd16(unsigned off) { uint16_t v; memcpy(&v, gmem + off, 2); return v; }

Test(x87_env, reserved_encodings_raise_ud_before_nm)
{
    static const uint8_t ud[][2] = {
        { 0xD9, 0x08 }, { 0xDB, 0x08 }, { 0xDB, 0x20 }, { 0xDB, 0x30 }, { 0xDD, 0x08 },
        { 0xDD, 0x28 }, { 0xDF, 0x08 }, { 0xD9, 0xD1 }, { 0xD9, 0xD7 }, { 0xD9, 0xE2 },
        { 0xD9, 0xE3 }, { 0xD9, 0xE6 }, { 0xD9, 0xE7 }, { 0xD9, 0xEF }, { 0xDA, 0xE8 },
        { 0xDA, 0xF0 }, { 0xDA, 0xFF }, { 0xDB, 0xE5 }, { 0xDB, 0xE7 }, { 0xDB, 0xF8 },
        { 0xDD, 0xF0 }, { 0xDD, 0xFF }, { 0xDE, 0xD8 }, { 0xDE, 0xDA }, { 0xDF, 0xE1 },
        { 0xDF, 0xF8 },
    };
    cpu_setup();
    for (unsigned k = 0; k < sizeof(ud) / sizeof(ud[0]); k++) {
        tcpu.s.cr0 &= ~CR0_EM;
        cr_expect_eq(run_insn(ud[k][0], ud[k][1], T_EA, true), X86_UD, "%02X %02X", ud[k][0], ud[k][1]);
        tcpu.s.cr0 |= CR0_EM;
        cr_expect_eq(run_insn(ud[k][0], ud[k][1], T_EA, true), X86_UD, "%02X %02X", ud[k][0], ud[k][1]);
    }
}

Test(x87_env, device_not_available_rules)
{
    cpu_setup();
    tcpu.s.cr0 |= CR0_EM;
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), X86_NM);
    cr_assert_eq(run_insn(0xDB, 0xE3, 0, true), X86_NM);           /* even FNINIT */
    cr_assert_eq(tcpu.s.fpu.ftw, 0xFFFF);                           /* nothing pushed */
    tcpu.s.cr0 &= ~(CR0_EM | CR0_MP);
    tcpu.s.cr0 |= CR0_TS;
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), X86_NM);
    if (!setjmp(tcpu.fault_jmp))
        x87_fwait(&tcpu);                                           /* TS without MP: no #NM */
    else
        cr_assert_fail("FWAIT with TS=1 MP=0 faulted");
    tcpu.s.cr0 |= CR0_MP;
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fwait(&tcpu);
    cr_assert_eq(tcpu.exc_vector, X86_NM);
    tcpu.s.cr0 = (tcpu.s.cr0 & ~CR0_TS) | CR0_EM;                   /* EM does not affect WAIT */
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fwait(&tcpu);
    cr_assert_eq(tcpu.exc_vector, -1);
}

/* 1/0 with ZE unmasked leaves ZE+ES+B pending; the next waiting instruction takes #MF when
 * CR0.NE=1 (with no effect), no-wait ones do not; with NE=0 execution goes on. */
Test(x87_env, pending_exceptions_and_mf)
{
    cpu_setup();
    uint16_t cw = 0x037B;
    memcpy(gmem + 0x40, &cw, 2);
    cr_assert_eq(run_insn(0xD9, 0x2D, 0x40, true), -1);            /* FLDCW: ZE unmasked */
    cr_assert_eq(run_insn(0xD9, 0xEE, 0, true), -1);               /* FLDZ */
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), -1);               /* FLD1 */
    cr_assert_eq(run_insn(0xD8, 0xF1, 0, true), -1);               /* FDIV ST0, ST1 */
    cr_assert_eq(tcpu.s.fpu.fsw & 0x80FF, FSW_B | FSW_ES | FSW_ZE);
    cr_assert_eq(x87_get(&tcpu.s.fpu, 0).se, 0x3FFF, "unmasked ZE must not store");
    struct fpu_state before = tcpu.s.fpu;
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), X86_MF);
    cr_assert_eq(memcmp(&before, &tcpu.s.fpu, sizeof(before)), 0);
    cr_assert_eq(run_insn(0xDF, 0xE0, 0, true), -1);               /* FNSTSW AX */
    cr_assert_eq(tcpu.s.gpr[R_EAX] & 0xFFFF, before.fsw);
    cr_assert_eq(run_insn(0xD9, 0x3D, 0x40, true), -1);            /* FNSTCW */
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fwait(&tcpu);
    cr_assert_eq(tcpu.exc_vector, X86_MF);
    tcpu.s.cr0 &= ~CR0_NE;                                          /* legacy FERR# mode */
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), -1);
    cr_assert(tcpu.s.fpu.fsw & FSW_ES, "still pending");
    tcpu.s.cr0 |= CR0_NE;
    cr_assert_eq(run_insn(0xDB, 0xE2, 0, true), -1);               /* FNCLEX */
    cr_assert_eq(tcpu.s.fpu.fsw & 0x80FF, 0);
    cr_assert_eq(run_insn(0xD9, 0xE8, 0, true), -1);
    /* FLDCW that masks the flagged exception clears ES; unmasking it again sets it */
    tcpu.s.fpu.fsw |= FSW_ZE;
    cw = 0x037F;
    memcpy(gmem + 0x40, &cw, 2);
    cr_assert_eq(run_insn(0xD9, 0x2D, 0x40, true), -1);
    cr_assert_eq(tcpu.s.fpu.fsw & (FSW_ES | FSW_B), 0);
    cw = 0x037B;
    memcpy(gmem + 0x40, &cw, 2);
    cr_assert_eq(run_insn(0xD9, 0x2D, 0x40, true), -1);
    cr_assert_eq(tcpu.s.fpu.fsw & (FSW_ES | FSW_B), FSW_ES | FSW_B);
}

Test(x87_env, instruction_and_operand_pointers)
{
    cpu_setup();
    float one = 1.0f;
    memcpy(gmem + 0x100, &one, 4);
    tcpu.insn_eip = 0x4321;
    cr_assert_eq(run_insn(0xD9, 0x05, 0x100, true), -1);           /* FLD m32 */
    tcpu.insn_eip = 0x5555;
    cr_assert_eq(run_insn(0xD8, 0x05, 0x100, true), -1);           /* FADD m32 */
    const struct fpu_state *f = &tcpu.s.fpu;
    cr_assert_eq(f->fip, 0x5555);
    cr_assert_eq(f->fcs, 0x10);
    cr_assert_eq(f->fop, 0x005);
    cr_assert_eq(f->fdp, 0x100);
    cr_assert_eq(f->fds, 0x18);
    cr_assert_eq(x87_get(f, 0).se, 0x4000);                         /* 2.0 */
    tcpu.insn_eip = 0x6666;
    cr_assert_eq(run_insn(0xD9, 0x3D, 0x200, true), -1);           /* FNSTCW: no update */
    cr_assert_eq(run_insn(0xDB, 0xE2, 0, true), -1);               /* FNCLEX: no update */
    cr_assert_eq(f->fip, 0x5555);
    cr_assert_eq(f->fop, 0x005);
    tcpu.insn_eip = 0x7777;
    cr_assert_eq(run_insn(0xD9, 0xE1, 0, true), -1);               /* FABS: register form */
    cr_assert_eq(f->fip, 0x7777);
    cr_assert_eq(f->fop, 0x1E1);
    cr_assert_eq(f->fdp, 0x100, "register forms leave the data pointer");
}

static void set_known_state(void)
{
    cpu_setup();
    cr_assert_eq(run_insn(0xD9, 0xEB, 0, true), -1);               /* FLDPI */
    cr_assert_eq(run_insn(0xD9, 0xEE, 0, true), -1);               /* FLDZ */
    struct fpu_state *f = &tcpu.s.fpu;
    f->fcw = 0x0A7A;
    f->fip = 0x00012345;
    f->fcs = 0x1000;
    f->fop = 0x5A5;
    f->fdp = 0x00067890;
    f->fds = 0x2000;
    f->fsw |= FSW_PE | FSW_C3;
}

Test(x87_env, fnstenv_fldenv_protected_32_and_16)
{
    set_known_state();
    struct fpu_state ref = tcpu.s.fpu;
    cr_assert_eq(run_insn(0xD9, 0x35, 0x100, true), -1);           /* FNSTENV 32-bit */
    cr_assert_eq(rd32(0x100), 0xFFFF0A7Au);
    cr_assert_eq(rd32(0x104), 0xFFFF0000u | ref.fsw);
    cr_assert_eq(rd32(0x108), 0xFFFF0000u | ref.ftw);
    cr_assert_eq(rd32(0x10C), 0x00012345u);
    cr_assert_eq(rd32(0x110), 0x05A51000u);
    cr_assert_eq(rd32(0x114), 0x00067890u);
    cr_assert_eq(rd32(0x118), 0xFFFF2000u);
    cr_assert_eq(tcpu.s.fpu.fcw, 0x0A7F, "FNSTENV masks all exceptions");
    cr_assert_eq(run_insn(0xD9, 0x25, 0x100, true), -1);           /* FLDENV */
    cr_assert_eq(memcmp(&ref, &tcpu.s.fpu, sizeof(ref)), 0);

    cr_assert_eq(run_insn(0xD9, 0x35, 0x200, false), -1);          /* FNSTENV 16-bit */
    cr_assert_eq(rd16(0x200), 0x0A7A);
    cr_assert_eq(rd16(0x202), ref.fsw);
    cr_assert_eq(rd16(0x204), ref.ftw);
    cr_assert_eq(rd16(0x206), 0x2345);
    cr_assert_eq(rd16(0x208), 0x1000);
    cr_assert_eq(rd16(0x20A), 0x7890);
    cr_assert_eq(rd16(0x20C), 0x2000);
    cr_assert_eq(run_insn(0xD9, 0x25, 0x200, false), -1);
    cr_assert_eq(tcpu.s.fpu.fcw, 0x0A7A);
    cr_assert_eq(tcpu.s.fpu.fip, 0x2345);
}

/* Real-mode images hold linear pointers: CS:IP 1000:12345 -> 0x22345 (20-bit), with FOP. */
Test(x87_env, fnstenv_fldenv_real_mode_32_and_16)
{
    set_known_state();
    tcpu.pe = false;
    struct fpu_state ref = tcpu.s.fpu;
    cr_assert_eq(run_insn(0xD9, 0x35, 0x100, true), -1);
    cr_assert_eq(rd32(0x10C), 0xFFFF2345u);
    cr_assert_eq(rd32(0x110), (0x0002u << 12) | 0x5A5);
    cr_assert_eq(rd32(0x114), 0xFFFF7890u);
    cr_assert_eq(rd32(0x118), 0x0008u << 12);
    cr_assert_eq(run_insn(0xD9, 0x35, 0x200, false), -1);
    cr_assert_eq(rd16(0x206), 0x2345);
    cr_assert_eq(rd16(0x208), (2u << 12) | 0x5A5);
    cr_assert_eq(rd16(0x20A), 0x7890);
    cr_assert_eq(rd16(0x20C), 8u << 12);
    cr_assert_eq(run_insn(0xD9, 0x25, 0x100, true), -1);
    cr_assert_eq(tcpu.s.fpu.fip, 0x22345u);
    cr_assert_eq(tcpu.s.fpu.fdp, 0x87890u);
    cr_assert_eq(tcpu.s.fpu.fop, 0x5A5);
    cr_assert_eq(tcpu.s.fpu.fcw, ref.fcw);
    cr_assert_eq(tcpu.s.fpu.ftw, ref.ftw);
    cr_assert_eq(run_insn(0xD9, 0x25, 0x200, false), -1);
    cr_assert_eq(tcpu.s.fpu.fip, 0x22345u);
}

Test(x87_env, fnsave_frstor_roundtrip_both_sizes)
{
    for (int o32 = 0; o32 <= 1; o32++) {
        set_known_state();
        struct fpu_state ref = tcpu.s.fpu;
        unsigned n = o32 ? 28 : 14;
        cr_assert_eq(run_insn(0xDD, 0x35, 0x100, o32), -1);        /* FNSAVE */
        x87_f80 st0, st1;
        memcpy(&st0, gmem + 0x100 + n, 10);
        memcpy(&st1, gmem + 0x100 + n + 10, 10);
        cr_assert_eq(st0.se, 0);                                    /* ST(0) = +0 */
        cr_assert_eq(st1.se, 0x4000);                               /* ST(1) = pi */
        cr_assert_eq(tcpu.s.fpu.fcw, 0x037F, "FNSAVE reinitializes");
        cr_assert_eq(tcpu.s.fpu.ftw, 0xFFFF);
        cr_assert_eq(tcpu.s.fpu.fsw, 0);
        cr_assert_eq(run_insn(0xDD, 0x25, 0x100, o32), -1);        /* FRSTOR */
        if (!o32) {   /* the 16-bit image has no FOP and 16-bit pointers */
            ref.fop = tcpu.s.fpu.fop;
            ref.fip &= 0xFFFF;
            ref.fdp &= 0xFFFF;
        }
        cr_assert_eq(memcmp(&ref, &tcpu.s.fpu, sizeof(ref)), 0, "o32=%d", o32);
    }
}

Test(x87_env, fxsave_matches_host_and_fxrstor_roundtrips)
{
    set_known_state();
    tcpu.s.fpu.fcw = 0x037F;
    tcpu.s.fpu.mxcsr = 0x1F80;
    memset(tcpu.s.fpu.xmm, 0x3C, sizeof(tcpu.s.fpu.xmm));
    uint8_t host[512] __attribute__((aligned(16)));
    __asm__ volatile("fninit\n\tfldpi\n\tfldz\n\tfxsave %0\n\tfninit" : "=m"(host));
    if (setjmp(tcpu.fault_jmp))
        cr_assert_fail("fault %d", tcpu.exc_vector);
    x87_fxsave(&tcpu, S_DS, 0x200);
    cr_assert_eq(memcmp(gmem + 0x200, host, 2), 0, "FCW");
    cr_assert_eq(rd16(0x202) & ~(FSW_PE | FSW_C3), host[2] | host[3] << 8, "FSW");
    cr_assert_eq(gmem[0x204], host[4], "abridged tag");
    cr_assert_eq(memcmp(gmem + 0x220, host + 32, 128), 0, "ST(i) slots");
    cr_assert_eq(rd16(0x206), 0x5A5);
    cr_assert_eq(rd32(0x208), 0x12345u);
    cr_assert_eq(rd32(0x218), 0x1F80u);
    cr_assert_eq(rd32(0x21C), 0xFFBFu);
    cr_assert_eq(gmem[0x2A0], 0x3C);
    struct fpu_state ref = tcpu.s.fpu;
    x87_reset(&tcpu);
    memset(tcpu.s.fpu.st, 0, sizeof(tcpu.s.fpu.st));
    x87_fxrstor(&tcpu, S_DS, 0x200);
    cr_assert_eq(memcmp(&ref, &tcpu.s.fpu, sizeof(ref)), 0);
}

Test(x87_env, fxsave_fxrstor_faults)
{
    cpu_setup();
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fxsave(&tcpu, S_DS, 0x208);
    cr_assert_eq(tcpu.exc_vector, X86_GP);
    cr_assert_eq(tcpu.exc_err, 0);
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fxsave(&tcpu, S_DS, GMEM_SIZE - 256);                   /* past the limit */
    cr_assert_eq(tcpu.exc_vector, X86_GP);
    cr_assert_eq(gmem[GMEM_SIZE - 256], 0, "nothing written");
    uint32_t bad = 0x1F80 | 0x40;                                   /* DAZ: reserved on P6 */
    memcpy(gmem + 0x218, &bad, 4);
    struct fpu_state before = tcpu.s.fpu;
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fxrstor(&tcpu, S_DS, 0x200);
    cr_assert_eq(tcpu.exc_vector, X86_GP);
    cr_assert_eq(memcmp(&before, &tcpu.s.fpu, sizeof(before)), 0);
    tcpu.s.cr0 |= CR0_TS;
    tcpu.exc_vector = -1;
    if (!setjmp(tcpu.fault_jmp))
        x87_fxsave(&tcpu, S_DS, 0x200);
    cr_assert_eq(tcpu.exc_vector, X86_NM);
}

/* The interpreter's FNSAVE image equals the host's, pointers aside: control, status and
 * tag words with their reserved halves, and the registers in stack order. */
Test(x87_env, fnsave_image_matches_host)
{
    x87_f80 v[32];
    unsigned nv = test_values(v);
    for (unsigned n = 0; n <= 8; n++)
        for (unsigned a = 0; a + 8 <= nv; a += 5) {
            struct native_out o;
            uint8_t mem[16] = { 0 };
            native_run(0xD9, 0xD0, 0x0A7F, n, v + a, mem, 0, 0x4100, &o);   /* FNOP */
            cpu_setup();
            memcpy(gmem + 0x40, &(uint16_t){ 0x0A7F }, 2);
            cr_assert_eq(run_insn(0xD9, 0x2D, 0x40, true), -1);
            for (unsigned k = n; k-- > 0;) {
                memcpy(gmem + 0x50, &v[a + k], 10);
                cr_assert_eq(run_insn(0xDB, 0x2D, 0x50, true), -1);
            }
            tcpu.s.fpu.fsw |= 0x4100;
            cr_assert_eq(run_insn(0xD9, 0xD0, 0, true), -1);
            cr_assert_eq(run_insn(0xDD, 0x35, 0x200, true), -1);   /* FNSAVE */
            cr_expect_eq(memcmp(gmem + 0x200, o.save, 12), 0, "n=%u a=%u: env words", n, a);
            cr_expect_eq(memcmp(gmem + 0x200 + 28, o.save + 28, 80), 0, "n=%u a=%u: registers", n, a);
        }
}
