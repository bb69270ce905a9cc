/* String instructions: REP MOVSB/MOVSW/MOVSD, REP STOSB/STOSD, LODS, REPE CMPSB and
 * REPNE SCASB with DF=0 and DF=1; prints ESI/EDI relative to the buffers, ECX, flags
 * and the destination buffer, compared with the host CPU. */
#include "insn.h"

#define BUF 64
static uint8_t str_src[BUF], str_dst[BUF];

struct str_regs {
    uint32_t esi, edi, ecx, eax, flags;
};

static void str_reset(void)
{
    for (int i = 0; i < BUF; i++) {
        str_src[i] = (uint8_t)(i * 7 + 3);
        str_dst[i] = (uint8_t)(0xE0 ^ i);
    }
}

/* Run one string instruction with DF as given; CLD afterwards (the C ABI needs DF=0). */
#define STR_FN(fn, text)                                                           \
    static void fn(struct str_regs *r, int df)                                     \
    {                                                                              \
        uint32_t fi = FL_FIXED | (df ? FL_DF : 0);                                 \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" text "\n\tpushfl\n\tpopl %[f]\n\tcld" \
                         : "+S"(r->esi), "+D"(r->edi), "+c"(r->ecx), "+a"(r->eax),    \
                           [f] "=&r"(r->flags)                                     \
                         : [fi] "r"(fi) : "cc", "memory");                         \
    }
STR_FN(str_rep_movsb, "rep movsb")
STR_FN(str_rep_movsw, "rep movsw")
STR_FN(str_rep_movsd, "rep movsl")
STR_FN(str_rep_stosb, "rep stosb")
STR_FN(str_rep_stosd, "rep stosl")
STR_FN(str_lodsb, "lodsb")
STR_FN(str_lodsd, "lodsl")
STR_FN(str_movsb, "movsb")
STR_FN(str_repe_cmpsb, "repe cmpsb")
STR_FN(str_repne_cmpsb, "repne cmpsb")
STR_FN(str_repne_scasb, "repne scasb")
STR_FN(str_repe_scasb, "repe scasb")

typedef void (*str_fn)(struct str_regs *r, int df);

static void str_print(const char *name, int df, int si, int di, uint32_t cx, uint32_t ax,
                      const struct str_regs *r, bool show_flags)
{
    guest_printf("%s df=%d si=%d di=%d cx=%u ax=%08x -> si=%d di=%d cx=%u ax=%08x", name, df, si, di,
                 cx, ax, (int)(r->esi - (uint32_t)(uintptr_t)str_src),
                 (int)(r->edi - (uint32_t)(uintptr_t)str_dst), r->ecx, r->eax);
    if (show_flags)
        guest_printf(" %s", insn_fl(r->flags, 0));
    guest_printf(" df=%d\n  dst:", !!(r->flags & FL_DF));
    for (int i = 0; i < BUF; i++)
        guest_printf("%s%02x", i % 16 ? "" : " ", str_dst[i]);
    guest_printf("\n");
}

static void str_case(const char *name, str_fn fn, int df, int si, int di, uint32_t cx, uint32_t ax,
                     bool show_flags)
{
    str_reset();
    struct str_regs r = { (uint32_t)(uintptr_t)str_src + si, (uint32_t)(uintptr_t)str_dst + di, cx, ax, 0 };
    fn(&r, df);
    str_print(name, df, si, di, cx, ax, &r, show_flags);
}

/* Overlapping copy inside one buffer: the element-by-element semantics are visible
 * (SDM Vol. 2B MOVS: each iteration reads after the previous one wrote). */
static void str_overlap_case(int df, int si, int di, uint32_t cx)
{
    str_reset();
    struct str_regs r = { (uint32_t)(uintptr_t)str_src + si, (uint32_t)(uintptr_t)str_src + di, cx, 0, 0 };
    str_rep_movsb(&r, df);
    guest_printf("rep movsb overlap df=%d si=%d di=%d cx=%u -> si=%d di=%d cx=%u\n  buf:", df, si, di, cx,
                 (int)(r.esi - (uint32_t)(uintptr_t)str_src), (int)(r.edi - (uint32_t)(uintptr_t)str_src),
                 r.ecx);
    for (int i = 0; i < BUF; i++)
        guest_printf("%s%02x", i % 16 ? "" : " ", str_src[i]);
    guest_printf("\n");
}

/* Comparison cases: dst is a copy of src with one byte changed at index `diff`. */
static void str_cmp_case(const char *name, str_fn fn, int df, int si, int di, uint32_t cx,
                         uint32_t ax, int diff)
{
    str_reset();
    memcpy(str_dst, str_src, BUF);
    if (diff >= 0)
        str_dst[diff] ^= 0x40;
    struct str_regs r = { (uint32_t)(uintptr_t)str_src + si, (uint32_t)(uintptr_t)str_dst + di, cx, ax, 0 };
    fn(&r, df);
    str_print(name, df, si, di, cx, ax, &r, true);
}

void guest_main(void)
{
    for (int df = 0; df < 2; df++) {
        int s = df ? 40 : 4, d = df ? 50 : 9;      /* DF=1 walks down from a high index */
        str_case("rep movsb", str_rep_movsb, df, s, d, 13, 0, false);
        str_case("rep movsb", str_rep_movsb, df, s, d, 0, 0, false);
        str_case("rep movsw", str_rep_movsw, df, s, d, 7, 0, false);
        str_case("rep movsd", str_rep_movsd, df, s, d, 5, 0, false);
        str_case("rep movsd", str_rep_movsd, df, s + 1, d - 3, 3, 0, false);
        str_overlap_case(df, s, s + (df ? -1 : 1), 9);
        str_case("rep stosb", str_rep_stosb, df, s, d, 17, 0x123456a5, false);
        str_case("rep stosd", str_rep_stosd, df, s, d, 4, 0xdeadbeef, false);
        str_case("movsb", str_movsb, df, s, d, 99, 0, false);
        str_case("lodsb", str_lodsb, df, s, d, 99, 0xffffffff, false);
        str_case("lodsd", str_lodsd, df, s, d, 99, 0, false);

        str_cmp_case("repe cmpsb", str_repe_cmpsb, df, s, s, 20, 0, df ? s - 9 : s + 9);
        str_cmp_case("repe cmpsb", str_repe_cmpsb, df, s, s, 8, 0, -1);
        str_cmp_case("repe cmpsb", str_repe_cmpsb, df, s, s, 0, 0, s);
        str_cmp_case("repne cmpsb", str_repne_cmpsb, df, s, s + 1, 12, 0, -1);
        str_cmp_case("repne cmpsb", str_repne_cmpsb, df, s, s, 12, 0, s);
        /* SCAS compares AL with [EDI]: dst = src, so search for a known byte. */
        str_cmp_case("repne scasb", str_repne_scasb, df, 0, s, 30, str_src[df ? s - 11 : s + 11], -1);
        str_cmp_case("repne scasb", str_repne_scasb, df, 0, s, 10, 0x100 | 0xEE, -1);
        str_cmp_case("repe scasb", str_repe_scasb, df, 0, s, 10, str_src[s], -1);
    }
}
