/* BT/BTS/BTR/BTC (register, immediate and memory forms with large bit offsets),
 * BSF/BSR (zero source included), BSWAP, XADD, CMPXCHG, CMPXCHG8B, compared with the
 * host CPU. */
#include "insn.h"

/* BT*: CF is the only flag every vendor defines (Intel leaves ZF unchanged, AMD calls
 * it undefined). BSF/BSR: only ZF is defined (SDM Vol. 2A). */
#define BT_UNDEF (FL_OF | FL_SF | FL_AF | FL_PF | FL_ZF)
#define BS_UNDEF (FL_CF | FL_OF | FL_SF | FL_AF | FL_PF)

#define BT_REG(fn, mn, T)                                                          \
    static uint32_t fn(uint32_t a, uint32_t n, uint32_t fi, uint32_t *fo)           \
    {                                                                              \
        T x = (T)a, y = (T)n;                                                      \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[y], %[x]\n\tpushfl\n\tpopl %[f]" \
                         : [x] "+r"(x), [f] "=&r"(f) : [y] "r"(y), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return x;                                                                  \
    }
#define BT_IMM(fn, mn, T, imm)                                                     \
    static uint32_t fn(uint32_t a, uint32_t n, uint32_t fi, uint32_t *fo)           \
    {                                                                              \
        T x = (T)a;                                                                \
        uint32_t f;                                                                \
        (void)n;                                                                   \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " $" #imm ", %[x]\n\tpushfl\n\tpopl %[f]" \
                         : [x] "+r"(x), [f] "=&r"(f) : [fi] "r"(fi) : "cc");       \
        *fo = f;                                                                   \
        return x;                                                                  \
    }
/* Memory forms: the bit offset in a register is signed and reaches outside the
 * addressed dword (SDM Vol. 2A BT, "bit base / bit offset"). */
#define BT_MEM(fn, mn, T)                                                          \
    static void fn(void *base, int32_t n, uint32_t fi, uint32_t *fo)               \
    {                                                                              \
        T y = (T)n;                                                                \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[y], (%[p])\n\tpushfl\n\tpopl %[f]" \
                         : [f] "=&r"(f) : [y] "r"(y), [p] "r"(base), [fi] "r"(fi) : "cc", "memory"); \
        *fo = f;                                                                   \
    }
#define BT_ALL(name)                                                               \
    BT_REG(name##16, #name "w", uint16_t) BT_REG(name##32, #name "l", uint32_t)    \
    BT_IMM(name##16_i, #name "w", uint16_t, 21) BT_IMM(name##32_i, #name "l", uint32_t, 45) \
    BT_MEM(name##m16, #name "w", uint16_t) BT_MEM(name##m32, #name "l", uint32_t)
BT_ALL(bt) BT_ALL(bts) BT_ALL(btr) BT_ALL(btc)

typedef uint32_t (*bt_reg_fn)(uint32_t a, uint32_t n, uint32_t fi, uint32_t *fo);
typedef void (*bt_mem_fn)(void *base, int32_t n, uint32_t fi, uint32_t *fo);
struct bt_op {
    const char *name;
    bt_reg_fn reg16, reg32, imm16, imm32;
    bt_mem_fn mem16, mem32;
};
#define BOP(n) { #n, n##16, n##32, n##16_i, n##32_i, n##m16, n##m32 }
static const struct bt_op bt_ops[] = { BOP(bt), BOP(bts), BOP(btr), BOP(btc) };

static uint32_t bt_area[64];

static void bt_run(const struct bt_op *op)
{
    static const uint32_t offs[] = { 0, 1, 7, 15, 16, 31, 32, 33, 63, 100, 0xffff, 0xffffffe1 };
    static const int32_t moffs[] = { 0, 5, 31, 32, 100, 777, -1, -33, -100, -700, 0x7ff, -0x800 };
    for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        for (int k = 0; k < 2; k++) {
            uint32_t fi = FL_FIXED | (k ? FL_ARITH : 0), fo, r;
            r = op->reg16(0x9e37, offs[i], fi, &fo);
            guest_printf("%s16 9e37 %08x %s -> %04x %s\n", op->name, offs[i], insn_fl(fi, 0), r,
                         insn_fl(fo, BT_UNDEF));
            r = op->reg32(0x9e3779b9, offs[i], fi, &fo);
            guest_printf("%s32 9e3779b9 %08x %s -> %08x %s\n", op->name, offs[i], insn_fl(fi, 0), r,
                         insn_fl(fo, BT_UNDEF));
        }
    }
    uint32_t fo, r = op->imm16(0x9e37, 0, FL_FIXED, &fo);
    guest_printf("%s16 9e37 imm21 -> %04x %s\n", op->name, r, insn_fl(fo, BT_UNDEF));
    r = op->imm32(0x9e3779b9, 0, FL_FIXED, &fo);
    guest_printf("%s32 9e3779b9 imm45 -> %08x %s\n", op->name, r, insn_fl(fo, BT_UNDEF));

    for (unsigned i = 0; i < sizeof moffs / sizeof moffs[0]; i++) {
        for (int w = 0; w < 2; w++) {
            uint32_t s = 0x1234567;
            for (unsigned j = 0; j < 64; j++)
                bt_area[j] = guest_rand(&s);
            (w ? op->mem32 : op->mem16)(&bt_area[32], moffs[i], FL_FIXED, &fo);
            /* Print which dword changed (if any) and the full area checksum. */
            uint32_t sum = 0;
            int changed = -99;
            s = 0x1234567;
            for (unsigned j = 0; j < 64; j++) {
                uint32_t orig = guest_rand(&s);
                if (bt_area[j] != orig)
                    changed = (int)j - 32;
                sum = insn_sum(sum, bt_area[j]);
            }
            guest_printf("%sm%d [base] %d -> %s changed_dword=%d sum=%08x\n", op->name, w ? 32 : 16,
                         moffs[i], insn_fl(fo, BT_UNDEF), changed, sum);
        }
    }
}

#define BS(fn, mn, T)                                                              \
    static uint32_t fn(uint32_t a, uint32_t init, uint32_t fi, uint32_t *fo)        \
    {                                                                              \
        T x = (T)a, r = (T)init;                                                   \
        uint32_t f;                                                                \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" mn " %[x], %[r]\n\tpushfl\n\tpopl %[f]" \
                         : [r] "+r"(r), [f] "=&r"(f) : [x] "r"(x), [fi] "r"(fi) : "cc"); \
        *fo = f;                                                                   \
        return r;                                                                  \
    }
BS(bsf16, "bsfw", uint16_t) BS(bsf32, "bsfl", uint32_t)
BS(bsr16, "bsrw", uint16_t) BS(bsr32, "bsrl", uint32_t)

static void bs_run(void)
{
    /* A zero source leaves the destination unchanged on current Intel and AMD CPUs
     * (AMD documents it, Intel's SDM says "undefined"); 0xcafebabe makes that visible. */
    for (int w = 0; w < 2; w++) {
        int bits = 16 << w;
        unsigned n;
        const uint32_t *v = insn_vals(bits, &n);
        for (unsigned i = 0; i < n; i++) {
            uint32_t fi = FL_FIXED | (i & 1 ? FL_ARITH : 0), fo, r;
            r = (w ? bsf32 : bsf16)(v[i], 0xcafebabe, fi, &fo);
            guest_printf("bsf%d %s -> %s %s\n", bits, insn_hex(v[i], bits), insn_hex(r, bits),
                         insn_fl(fo, BS_UNDEF));
            r = (w ? bsr32 : bsr16)(v[i], 0xcafebabe, fi, &fo);
            guest_printf("bsr%d %s -> %s %s\n", bits, insn_hex(v[i], bits), insn_hex(r, bits),
                         insn_fl(fo, BS_UNDEF));
        }
    }
}

static void misc_bswap_xadd(void)
{
    for (unsigned i = 0; i < insn_nvals32; i++) {
        uint32_t x = insn_vals32[i];
        __asm__("bswap %0" : "+r"(x));
        guest_printf("bswap %08x -> %08x\n", insn_vals32[i], x);
    }
    for (unsigned i = 0; i < insn_nvals32; i += 2) {
        for (unsigned j = 1; j < insn_nvals32; j += 3) {
            uint32_t a = insn_vals32[i], b = insn_vals32[j], f;
            uint16_t a16 = (uint16_t)a, b16 = (uint16_t)b;
            uint8_t a8 = (uint8_t)a, b8 = (uint8_t)b;
            __asm__ volatile("xaddl %1, %0\n\tpushfl\n\tpopl %2" : "+r"(a), "+r"(b), "=r"(f) :: "cc");
            guest_printf("xadd32 %08x %08x -> %08x %08x %s\n", insn_vals32[i], insn_vals32[j], a, b,
                         insn_fl(f, 0));
            __asm__ volatile("xaddw %1, %0\n\tpushfl\n\tpopl %2" : "+r"(a16), "+r"(b16), "=r"(f) :: "cc");
            guest_printf("xadd16 -> %04x %04x %s\n", a16, b16, insn_fl(f, 0));
            /* Memory destination with a LOCK prefix, the form atomics use. */
            static uint8_t m8;
            m8 = a8;
            __asm__ volatile("lock xaddb %1, %0\n\tpushfl\n\tpopl %2" : "+m"(m8), "+q"(b8), "=r"(f) :: "cc");
            guest_printf("lock xadd8 -> %02x %02x %s\n", m8, b8, insn_fl(f, 0));
        }
    }
}

static void misc_cmpxchg(void)
{
    static const uint32_t cases[][2] = {   /* accumulator, destination */
        { 0x12345678, 0x12345678 }, { 0x12345678, 0x12345679 }, { 0x80000000, 0x7fffffff },
        { 0, 0xffffffff }, { 0xffff00ff, 0xffff00ff },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t acc = cases[i][0], dst = cases[i][1], src = 0xabcdef01, f;
        __asm__ volatile("cmpxchgl %3, %1\n\tpushfl\n\tpopl %2"
                         : "+a"(acc), "+r"(dst), "=r"(f) : "r"(src) : "cc");
        guest_printf("cmpxchg32 a=%08x d=%08x -> a=%08x d=%08x %s\n", cases[i][0], cases[i][1], acc,
                     dst, insn_fl(f, 0));
        uint32_t acc16 = cases[i][0];
        static uint16_t m16;
        m16 = (uint16_t)cases[i][1];
        __asm__ volatile("lock cmpxchgw %w3, %1\n\tpushfl\n\tpopl %2"
                         : "+a"(acc16), "+m"(m16), "=r"(f) : "r"(src) : "cc");
        guest_printf("cmpxchg16 -> a=%08x m=%04x %s\n", acc16, m16, insn_fl(f, 0));
        uint32_t acc8 = cases[i][0];
        uint8_t d8 = (uint8_t)cases[i][1];
        __asm__ volatile("cmpxchgb %b3, %1\n\tpushfl\n\tpopl %2"
                         : "+a"(acc8), "+q"(d8), "=r"(f) : "q"(src) : "cc");
        guest_printf("cmpxchg8 -> a=%08x d=%02x %s\n", acc8, d8, insn_fl(f, 0));
    }
    /* CMPXCHG8B: EDX:EAX against m64; equal -> m64 = ECX:EBX and ZF=1, else
     * EDX:EAX = m64 and ZF=0; other flags unaffected (SDM Vol. 2A). */
    static uint64_t m64;
    static const uint64_t m64s[] = { 0x0123456789abcdefull, 0x0123456789abcdeeull, 0x8123456789abcdefull };
    for (unsigned i = 0; i < 3; i++) {
        for (int k = 0; k < 2; k++) {
            uint32_t eax = 0x89abcdef, edx = 0x01234567, f, fi = FL_FIXED | (k ? FL_ARITH : 0);
            m64 = m64s[i];
            __asm__ volatile("pushl %[fi]\n\tpopfl\n\tlock cmpxchg8b %[m]\n\tpushfl\n\tpopl %[f]"
                             : "+a"(eax), "+d"(edx), [m] "+m"(m64), [f] "=&r"(f)
                             : "b"(0xdeadbeef), "c"(0xfeedface), [fi] "r"(fi) : "cc");
            guest_printf("cmpxchg8b m=%016llx %s -> edx:eax=%08x:%08x m=%016llx %s\n",
                         (unsigned long long)m64s[i], insn_fl(fi, 0), edx, eax,
                         (unsigned long long)m64, insn_fl(f, 0));
        }
    }
}

void guest_main(void)
{
    for (unsigned i = 0; i < sizeof bt_ops / sizeof bt_ops[0]; i++)
        bt_run(&bt_ops[i]);
    bs_run();
    misc_bswap_xadd();
    misc_cmpxchg();
}
