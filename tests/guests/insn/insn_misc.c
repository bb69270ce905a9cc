/* SETcc/CMOVcc/Jcc over all 16 conditions, MOVSX/MOVZX, CBW/CWDE/CWD/CDQ, LEA
 * addressing forms, ENTER/LEAVE nesting 0-3, XLAT, LAHF/SAHF and PUSHF/POPF,
 * compared with the host CPU. */
#include "insn.h"

/* ---- conditions (SDM Vol. 2 Appendix B.1.4.7: condition codes) ---- */

/* Bit 0: SETcc, bit 1: CMOVcc (register), bit 2: CMOVcc (memory, 16-bit), bit 3: Jcc
 * rel8, bit 4: Jcc rel32. */
#define COND(cc)                                                                   \
    static uint32_t cond_##cc(uint32_t fi)                                         \
    {                                                                              \
        uint8_t s;                                                                 \
        uint32_t r = 0, one = 1, j8, j32;                                          \
        static uint16_t m16 = 1;                                                   \
        uint16_t r16 = 0;                                                          \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t"                                \
                         "set" #cc " %[s]\n\t"                                     \
                         "cmov" #cc "l %[one], %[r]\n\t"                           \
                         "cmov" #cc "w %[m], %[r16]\n\t"                           \
                         "movl $0, %[j8]\n\t"                                      \
                         "j" #cc " 1f\n\t"                                         \
                         "jmp 2f\n"                                                \
                         "1:\tmovl $1, %[j8]\n"                                    \
                         "2:\tmovl $0, %[j32]\n\t"                                 \
                         "%{disp32%} j" #cc " 3f\n\t"                                \
                         "jmp 4f\n"                                                \
                         "3:\tmovl $1, %[j32]\n"                                   \
                         "4:"                                                      \
                         : [s] "=&q"(s), [r] "+r"(r), [r16] "+r"(r16), [j8] "=&r"(j8), \
                           [j32] "=&r"(j32)                                        \
                         : [one] "r"(one), [m] "m"(m16), [fi] "r"(fi) : "cc");     \
        return s | r << 1 | (uint32_t)r16 << 2 | j8 << 3 | j32 << 4;               \
    }
COND(o) COND(no) COND(b) COND(ae) COND(e) COND(ne) COND(be) COND(a)
COND(s) COND(ns) COND(p) COND(np) COND(l) COND(ge) COND(le) COND(g)

static void cond_run(void)
{
    static uint32_t (*const fns[16])(uint32_t) = {
        cond_o, cond_no, cond_b, cond_ae, cond_e, cond_ne, cond_be, cond_a,
        cond_s, cond_ns, cond_p, cond_np, cond_l, cond_ge, cond_le, cond_g,
    };
    static const char *const names[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
                                           "s", "ns", "p", "np", "l", "ge", "le", "g" };
    static const uint32_t bits[5] = { FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF };
    for (int cc = 0; cc < 16; cc++) {
        guest_printf("j%-2s", names[cc]);
        /* Every combination of the five flags conditions read; AF rides along. */
        for (uint32_t combo = 0; combo < 32; combo++) {
            uint32_t fi = FL_FIXED | (combo & 1 ? FL_AF : 0);
            for (int b = 0; b < 5; b++)
                if (combo & (1u << b))
                    fi |= bits[b];
            uint32_t r = fns[cc](fi);
            guest_printf("%s%x", combo % 8 ? "" : " ", r);
        }
        guest_printf("\n");
    }
}

/* ---- MOVSX/MOVZX, CBW/CWDE/CWD/CDQ ---- */

static void ext_run(void)
{
    for (unsigned i = 0; i < insn_nvals8; i++) {
        uint8_t b = (uint8_t)insn_vals8[i];
        uint32_t sx32, zx32, sx16 = 0xaaaaaaaa, zx16 = 0x55555555;
        __asm__("movsbl %1, %0" : "=r"(sx32) : "q"(b));
        __asm__("movzbl %1, %0" : "=r"(zx32) : "m"(b));
        __asm__("movsbw %1, %w0" : "+r"(sx16) : "q"(b));
        __asm__("movzbw %1, %w0" : "+r"(zx16) : "m"(b));
        guest_printf("movsx/zx8 %02x -> %08x %08x %08x %08x\n", b, sx32, zx32, sx16, zx16);
    }
    for (unsigned i = 0; i < insn_nvals16; i++) {
        uint16_t w = (uint16_t)insn_vals16[i];
        uint32_t sx, zx;
        __asm__("movswl %1, %0" : "=r"(sx) : "r"(w));
        __asm__("movzwl %1, %0" : "=r"(zx) : "m"(w));
        guest_printf("movsx/zx16 %04x -> %08x %08x\n", w, sx, zx);
    }
    for (unsigned i = 0; i < insn_nvals32; i++) {
        uint32_t v = insn_vals32[i], a = v, d = 0x5a5a5a5a, a2 = v, a3 = v, d2 = 0x5a5a5a5a;
        __asm__("cbw" : "+a"(a));
        __asm__("cwde" : "+a"(a2));
        __asm__("cwd" : "+a"(a3), "+d"(d));
        uint32_t a4 = v;
        __asm__("cdq" : "+a"(a4), "+d"(d2));
        guest_printf("cbw/cwde/cwd/cdq %08x -> %08x %08x %08x:%08x %08x:%08x\n", v, a, a2, d, a3, d2, a4);
    }
}

/* ---- LEA: every ModRM/SIB shape, 16-bit addressing, 16-bit operand size ---- */

static void lea_run(void)
{
    static const uint32_t bases[] = { 0x12345678, 0x80000000, 0xfffffff0, 0 };
    for (unsigned i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint32_t b = bases[i], x = 0x9abcdef0 ^ (i * 0x1111), r[16];
        __asm__("leal (%1), %0" : "=r"(r[0]) : "r"(b));
        __asm__("leal 0x7f(%1), %0" : "=r"(r[1]) : "r"(b));
        __asm__("leal -0x80(%1), %0" : "=r"(r[2]) : "r"(b));
        __asm__("leal 0x12345678(%1), %0" : "=r"(r[3]) : "r"(b));
        __asm__("leal (%1,%2), %0" : "=r"(r[4]) : "r"(b), "r"(x));
        __asm__("leal 3(%1,%2,2), %0" : "=r"(r[5]) : "r"(b), "r"(x));
        __asm__("leal -5(%1,%2,4), %0" : "=r"(r[6]) : "r"(b), "r"(x));
        __asm__("leal 0x7fffffff(%1,%2,8), %0" : "=r"(r[7]) : "r"(b), "r"(x));
        __asm__("leal 0x1000(,%1,4), %0" : "=r"(r[8]) : "r"(x));
        __asm__("leal 0x12345678, %0" : "=r"(r[9]));
        /* EBP as base has no disp-less encoding (mod=00 rm=101 means disp32). */
        __asm__("pushl %%ebp\n\tmovl %1, %%ebp\n\tleal (%%ebp), %0\n\tpopl %%ebp" : "=r"(r[10]) : "r"(b));
        __asm__("pushl %%ebp\n\tmovl %1, %%ebp\n\tleal 8(%%ebp,%2,2), %0\n\tpopl %%ebp" : "=r"(r[11]) : "r"(b), "r"(x));
        /* ESP as base needs a SIB byte; print the offset from ESP. */
        __asm__("leal 12(%%esp,%1,2), %0\n\tsubl %%esp, %0" : "=r"(r[12]) : "r"(b));
        /* 16-bit addressing (67 prefix): [BX+SI+disp] wraps at 64 KiB, zero-extended. */
        uint32_t bx = b & 0xffff, si = x & 0xffff, di = (x >> 16) & 0xffff;
        __asm__("addr16 leal 0x7ff0(%%bx,%%si), %0" : "=r"(r[13]) : "b"(bx), "S"(si));
        __asm__("addr16 leal -2(%%bx,%%di), %0" : "=r"(r[14]) : "b"(bx), "D"(di));
        /* 16-bit operand size: only AX changes. */
        r[15] = 0xcccccccc;
        __asm__("leaw 0x10(%1,%2,4), %w0" : "+r"(r[15]) : "r"(b), "r"(x));
        guest_printf("lea b=%08x x=%08x ->", b, x);
        for (int k = 0; k < 16; k++)
            guest_printf(" %08x", r[k]);
        guest_printf("\n");
    }
}

/* ---- ENTER/LEAVE on a private stack (SDM Vol. 2A ENTER: nesting level copies the
 * enclosing frame pointers from [EBP-4], [EBP-8], ... then pushes the new one) ---- */

static uint32_t ent_stack[128];
static uint32_t ent_saved_esp, ent_saved_ebp, ent_top, ent_fp;
static uint32_t ent_esp1, ent_ebp1, ent_esp2, ent_ebp2;

#define ENTER(level)                                                               \
    static void enter_##level(void)                                                \
    {                                                                              \
        __asm__ volatile("movl %%esp, %c[se]\n\tmovl %%ebp, %c[sb]\n\t"            \
                         "movl %c[top], %%esp\n\tmovl %c[fp], %%ebp\n\t"           \
                         "enter $24, $" #level "\n\t"                              \
                         "movl %%esp, %c[e1]\n\tmovl %%ebp, %c[b1]\n\t"            \
                         "leave\n\t"                                               \
                         "movl %%esp, %c[e2]\n\tmovl %%ebp, %c[b2]\n\t"            \
                         "movl %c[se], %%esp\n\tmovl %c[sb], %%ebp"                \
                         :: [se] "i"(&ent_saved_esp), [sb] "i"(&ent_saved_ebp),    \
                            [top] "i"(&ent_top), [fp] "i"(&ent_fp),                \
                            [e1] "i"(&ent_esp1), [b1] "i"(&ent_ebp1),              \
                            [e2] "i"(&ent_esp2), [b2] "i"(&ent_ebp2)               \
                         : "memory");                                              \
    }
ENTER(0) ENTER(1) ENTER(2) ENTER(3)

/* Pointers into ent_stack print as "S+offset" so native and guest runs compare. */
static const char *ent_val(uint32_t v)
{
    static char bufs[4][16];
    static unsigned next;
    char *b = bufs[next++ & 3];
    uint32_t base = (uint32_t)(uintptr_t)ent_stack;
    if (v >= base && v <= base + sizeof ent_stack)
        guest_snprintf(b, sizeof bufs[0], "S+%03x", v - base);
    else
        guest_snprintf(b, sizeof bufs[0], "%08x", v);
    return b;
}

static void enter_run(void)
{
    static void (*const fns[4])(void) = { enter_0, enter_1, enter_2, enter_3 };
    for (int level = 0; level < 4; level++) {
        for (unsigned i = 0; i < 128; i++)
            ent_stack[i] = 0xf0000000 | i;
        /* The caller's frame at ent_stack[100]: [EBP-4..] hold its display. */
        ent_top = (uint32_t)(uintptr_t)&ent_stack[90];
        ent_fp = (uint32_t)(uintptr_t)&ent_stack[100];
        fns[level]();
        guest_printf("enter 24,%d -> esp=%s ebp=%s leave -> esp=%s ebp=%s\n  stack:", level,
                     ent_val(ent_esp1), ent_val(ent_ebp1), ent_val(ent_esp2), ent_val(ent_ebp2));
        for (unsigned i = 76; i < 90; i++)
            guest_printf(" %s", ent_val(ent_stack[i]));
        guest_printf("\n");
    }
}

/* ---- XLAT, LAHF/SAHF, PUSHF/POPF ---- */

static void flags_run(void)
{
    static uint8_t table[256];
    for (int i = 0; i < 256; i++)
        table[i] = (uint8_t)(i * 13 + 7);
    uint32_t sum = 0;
    for (uint32_t al = 0; al < 256; al++) {
        uint32_t a = 0xabcd0000 | al;
        __asm__("xlat" : "+a"(a) : "b"(table), "m"(table));
        sum = insn_sum(sum, a);
        if (al % 85 == 0)
            guest_printf("xlat al=%02x -> %08x\n", al, a);
    }
    guest_printf("xlat all sum=%08x\n", sum);

    sum = 0;
    for (uint32_t ah = 0; ah < 256; ah++) {
        uint32_t a = ah << 8 | 0x5a, f;
        __asm__ volatile("pushl $0x8d6\n\tpopfl\n\tsahf\n\tpushfl\n\tpopl %0" : "=r"(f) : "a"(a) : "cc");
        /* IF differs between ring 0 and a Linux process: keep the flags SAHF touches,
         * OF (which it must leave alone) and the fixed bits 1, 3, 5. */
        f &= FL_ARITH | FL_FIXED | 0x28;
        sum = insn_sum(sum, f);
        if (ah % 51 == 0)
            guest_printf("sahf ah=%02x (OF in) -> %03x\n", ah, f);
    }
    guest_printf("sahf all sum=%08x\n", sum);
    for (uint32_t combo = 0; combo < 64; combo += 7) {
        uint32_t fi = FL_FIXED | (combo & 1 ? FL_CF : 0) | (combo & 2 ? FL_PF : 0) |
                      (combo & 4 ? FL_AF : 0) | (combo & 8 ? FL_ZF : 0) | (combo & 16 ? FL_SF : 0) |
                      (combo & 32 ? FL_OF : 0);
        uint32_t a = 0x12345678;
        __asm__ volatile("pushl %1\n\tpopfl\n\tlahf" : "+a"(a) : "r"(fi) : "cc");
        guest_printf("lahf %s -> %08x\n", insn_fl(fi, 0), a);
    }

    /* POPF/PUSHF round trip of the arithmetic flags and DF (TF, IF, IOPL, AC are left
     * alone: at CPL 3 natively they trap or are ignored). Reserved bits 3, 5, 15 read
     * as 0 and bit 1 as 1 (SDM Vol. 1 3.4.3). */
    static const uint32_t vals[] = { 0x0, 0x8d5, 0xcd5, 0x400, 0x28, 0x8000, 0x0fff & ~0x300u, 0x001 };
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint32_t f, f16;
        __asm__ volatile("pushl %1\n\tpopfl\n\tpushfl\n\tpopl %0\n\tcld" : "=r"(f) : "r"(vals[i]) : "cc");
        __asm__ volatile("pushw %w1\n\tpopfw\n\tpushfw\n\tpopw %w0\n\tcld" : "=r"(f16) : "r"(vals[i]) : "cc");
        guest_printf("popf %08x -> pushf %08x, popfw/pushfw %04x\n", vals[i], f & 0x8fff & ~0x300u,
                     f16 & 0x8fff & ~0x300u);
    }
}

/* ---- high byte registers (AH CH DH BH: ModRM reg 4-7 without REX, SDM Vol. 2A
 * 3.1.1.3) and XCHG ---- */

static void hibyte_run(void)
{
    uint32_t a = 0x11223344, b = 0x55667788, c = 0x99aabbcc, d = 0xddeeff00, f;
    __asm__ volatile("addb %%ah, %%bl\n\tpushfl\n\tpopl %4" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "=r"(f) :: "cc");
    guest_printf("add bl,ah -> %08x %08x %s\n", a, b, insn_fl(f, 0));
    __asm__ volatile("subb %%dh, %%ch\n\tpushfl\n\tpopl %4" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "=r"(f) :: "cc");
    guest_printf("sub ch,dh -> %08x %08x %s\n", c, d, insn_fl(f, 0));
    __asm__ volatile("xchgb %%ah, %%al\n\txchgb %%bh, %%cl\n\tmovb %%dh, %%ah\n\tmovzbl %%bh, %%edx"
                     : "+a"(a), "+b"(b), "+c"(c), "+d"(d));
    guest_printf("xchg/mov/movzx hi -> %08x %08x %08x %08x\n", a, b, c, d);
    __asm__ volatile("incb %%bh\n\tnegb %%ch\n\tshlb $3, %%dh\n\tnotb %%ah"
                     : "+a"(a), "+b"(b), "+c"(c), "+d"(d) :: "cc");
    guest_printf("inc/neg/shl/not hi -> %08x %08x %08x %08x\n", a, b, c, d);
    uint32_t x = 0x12345678, y = 0x9abcdef0;
    uint16_t x16 = 0x1234, y16 = 0xabcd;
    __asm__ volatile("xchgl %0, %1" : "+r"(x), "+r"(y));
    __asm__ volatile("xchgw %0, %1" : "+r"(x16), "+m"(y16));
    guest_printf("xchg -> %08x %08x %04x %04x\n", x, y, x16, y16);
}

void guest_main(void)
{
    hibyte_run();
    cond_run();
    ext_run();
    lea_run();
    enter_run();
    flags_run();
}
