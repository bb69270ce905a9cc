/* Unit tests for CSAM (csam/): hand-assembled guest code in a fake guest with a shuffled
 * linear -> frame map, plus a real 32-bit code sample (libc's .text) cross-checked with Capstone. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ringfold/memory.h>
#include "../../csam/csam.h"

/* ---- the fake guest: 16 frames of RAM, linear pages 0x400000.. mapped through a table ---- */

#define NFRAMES   16
#define LBASE     0x400000u
#define NLPAGES   8
#define PG        4096u

static struct guest_mem mem;
static int64_t lmap[NLPAGES];                 /* linear page i -> frame pa, or -1 */
static struct csam_guest guest;
static struct csam *cs;
static int monitor_on[NFRAMES], monitor_off[NFRAMES];
static int code_writes;

static int64_t fake_frame(void *opaque, uint32_t linear)
{
    (void)opaque;
    if (linear < LBASE || linear >= LBASE + NLPAGES * PG)
        return -1;
    return lmap[(linear - LBASE) / PG];
}

static void fake_monitor(void *opaque, uint64_t pa_frame, bool on)
{
    (void)opaque;
    cr_assert_eq(pa_frame % PG, 0);
    cr_assert_lt(pa_frame / PG, NFRAMES);
    (on ? monitor_on : monitor_off)[pa_frame / PG]++;
}

static void fake_code_written(void *opaque, uint64_t pa, uint64_t len)
{
    (void)opaque;
    cr_assert_lt(pa, mem.size);
    cr_assert_eq(len, 1);
    code_writes++;
}

static void setup_guest(bool cpuid_sensitive)
{
    mem.fd = -1;
    mem.size = NFRAMES * PG;
    mem.host = calloc(1, mem.size);
    cr_assert_not_null(mem.host);
    /* Deliberately not identity, and not contiguous: linear page 0 -> frame 5, 1 -> frame 2... */
    static const int64_t map[NLPAGES] = { 5 * PG, 2 * PG, 9 * PG, 12 * PG, -1, 7 * PG, 7 * PG, 3 * PG };
    memcpy(lmap, map, sizeof(lmap));
    guest.frame = fake_frame;
    guest.opaque = NULL;
    memset(monitor_on, 0, sizeof(monitor_on));
    memset(monitor_off, 0, sizeof(monitor_off));
    code_writes = 0;
    struct csam_config cfg = { .cpuid_sensitive = cpuid_sensitive, .monitor = fake_monitor,
                               .code_written = fake_code_written };
    cs = csam_create(&mem, &cfg);
    cr_assert_not_null(cs);
}

static void setup(void)
{
    setup_guest(true);
}

static void teardown(void)
{
    csam_destroy(cs);
    free(mem.host);
}

static uint64_t pa_of(uint32_t linear)
{
    int64_t f = fake_frame(NULL, linear & ~(PG - 1));
    cr_assert_geq(f, 0, "linear %#x is not mapped in the fake guest", linear);
    return (uint64_t)f + (linear & (PG - 1));
}

/* Writes guest code at a linear address (through the map, across pages). */
static void put(uint32_t linear, const uint8_t *code, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem.host[pa_of(linear + (uint32_t)i)] = code[i];
}
#define PUT(lin, ...) do { static const uint8_t c_[] = { __VA_ARGS__ }; put(lin, c_, sizeof(c_)); } while (0)

static const struct csam_site *site(uint32_t linear)
{
    return csam_site_at(cs, pa_of(linear));
}

static void expect_site(uint32_t linear, enum csam_kind kind, unsigned len, bool from_sweep)
{
    const struct csam_site *s = site(linear);
    cr_assert_not_null(s, "no site at %#x (expected %s)", linear, csam_kind_name(kind));
    cr_expect_eq(s->kind, kind, "site at %#x: kind %s, expected %s", linear,
                 csam_kind_name((enum csam_kind)s->kind), csam_kind_name(kind));
    cr_expect_eq(s->len, len, "site at %#x: length %u, expected %u", linear, s->len, len);
    cr_expect_eq(s->linear, linear);
    cr_expect_eq(s->from_sweep, from_sweep, "site at %#x: from_sweep %d", linear, s->from_sweep);
    if (!s->patched)
        cr_expect_eq(s->bytes[0], mem.host[s->pa]);
}

static uint64_t total_sites(void)
{
    struct csam_stats st;
    csam_get_stats(cs, &st);
    uint64_t n = 0;
    for (unsigned k = 0; k < CSAM_KIND_COUNT; k++)
        n += st.sites[k];
    return n;
}

TestSuite(csam, .init = setup, .fini = teardown);

Test(csam, every_kind_found_with_its_length)
{
    uint32_t a = LBASE + 0x100;
    /* Nop padding between the pieces, as compilers emit: the sweep decodes it consistently. */
    memset(mem.host + pa_of(a), 0x90, 0xe0);
    PUT(a,
        0x9c,                   /* +0   pushfd                 */
        0x66, 0x9c,             /* +1   pushfw                 */
        0x9d,                   /* +3   popfd                  */
        0x8c, 0xd8,             /* +4   mov eax, ds            */
        0x1e,                   /* +6   push ds                */
        0x0f, 0xa0,             /* +7   push fs                */
        0x8e, 0xd8,             /* +9   mov ds, eax            */
        0x1f,                   /* +11  pop ds                 */
        0x0f, 0xa9,             /* +12  pop gs                 */
        0xc5, 0x06,             /* +14  lds eax, [esi]         */
        0x0f, 0xb2, 0x06,       /* +16  lss eax, [esi]         */
        0x0f, 0x01, 0x06,       /* +19  sgdt [esi]             */
        0x0f, 0x01, 0x0e,       /* +22  sidt [esi]             */
        0x0f, 0x00, 0xc0,       /* +25  sldt eax               */
        0x0f, 0x00, 0xc8,       /* +28  str eax                */
        0x0f, 0x01, 0xe0,       /* +31  smsw eax               */
        0x0f, 0x02, 0xc3,       /* +34  lar eax, ebx           */
        0x0f, 0x03, 0xc3,       /* +37  lsl eax, ebx           */
        0x0f, 0x00, 0xe0,       /* +40  verr ax                */
        0x0f, 0x00, 0xe8,       /* +43  verw ax                */
        0xff, 0x1e,             /* +46  call far [esi]         */
        0xcd, 0x80,             /* +48  int 0x80               */
        0x0f, 0xa2,             /* +50  cpuid                  */
        0xcc,                   /* +52  int3                   */
        0xfa,                   /* +53  cli                    */
        0xe4, 0x60,             /* +54  in al, 0x60            */
        0x0f, 0x22, 0xd8,       /* +56  mov cr3, eax           */
        0x0f, 0x01, 0x16,       /* +59  lgdt [esi]             */
        0xf4,                   /* +62  hlt                    */
        0x0f, 0x34);            /* +63  sysenter (ends path)   */
    PUT(a + 0x80, 0xcf);        /* iretd                                        */
    PUT(a + 0x90, 0xca, 0x04, 0x00);                              /* retf 4    */
    PUT(a + 0xa0, 0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00);      /* jmp 8:0x1000 */
    PUT(a + 0xb0, 0x9a, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00, 0xc3); /* call 8:0x1000; ret */
    PUT(a + 0xc0, 0x66, 0xcf);  /* iretw                                        */
    PUT(a + 0xd0, 0x0f, 0x05);  /* syscall                                      */
    cr_assert_gt(csam_scan(cs, &guest, a), 0);
    for (uint32_t e = a + 0x80; e <= a + 0xd0; e += 0x10)
        csam_scan(cs, &guest, e);

    static const struct { unsigned off, kind, len; } want[] = {
        { 0, CSAM_PUSHF, 1 }, { 1, CSAM_PUSHF, 2 }, { 3, CSAM_POPF, 1 },
        { 4, CSAM_SEG_READ, 2 }, { 6, CSAM_SEG_READ, 1 }, { 7, CSAM_SEG_READ, 2 },
        { 9, CSAM_SEG_LOAD, 2 }, { 11, CSAM_SEG_LOAD, 1 }, { 12, CSAM_SEG_LOAD, 2 },
        { 14, CSAM_SEG_LOAD, 2 }, { 16, CSAM_SEG_LOAD, 3 },
        { 19, CSAM_DESC_TABLE, 3 }, { 22, CSAM_DESC_TABLE, 3 }, { 25, CSAM_DESC_TABLE, 3 },
        { 28, CSAM_DESC_TABLE, 3 }, { 31, CSAM_DESC_TABLE, 3 },
        { 34, CSAM_SEG_QUERY, 3 }, { 37, CSAM_SEG_QUERY, 3 }, { 40, CSAM_SEG_QUERY, 3 },
        { 43, CSAM_SEG_QUERY, 3 }, { 46, CSAM_FAR, 2 }, { 48, CSAM_INT, 2 },
        { 50, CSAM_CPUID, 2 }, { 52, CSAM_BREAKPOINT, 1 }, { 53, CSAM_TRAPPING, 1 },
        { 54, CSAM_TRAPPING, 2 }, { 56, CSAM_TRAPPING, 3 }, { 59, CSAM_TRAPPING, 3 },
        { 62, CSAM_TRAPPING, 1 }, { 63, CSAM_SYSCALL_INSN, 2 },
        { 0x80, CSAM_IRET, 1 }, { 0x90, CSAM_FAR, 3 }, { 0xa0, CSAM_FAR, 7 },
        { 0xb0, CSAM_FAR, 7 }, { 0xc0, CSAM_IRET, 2 }, { 0xd0, CSAM_SYSCALL_INSN, 2 },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        expect_site(a + want[i].off, (enum csam_kind)want[i].kind, want[i].len, false);
    cr_expect_eq(total_sites(), sizeof(want) / sizeof(want[0]));
    cr_expect_eq(csam_verdict_at(cs, pa_of(a + 63)), CSAM_NATIVE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(a + 64)), CSAM_EMULATE, "inside sysenter");
}

Test(csam, cpuid_traps_when_cpuid_faulting_exists)
{
    csam_destroy(cs);
    struct csam_config cfg = { .cpuid_sensitive = false };
    cs = csam_create(&mem, &cfg);
    PUT(LBASE, 0x0f, 0xa2, 0xc3);               /* cpuid; ret */
    csam_scan(cs, &guest, LBASE);
    expect_site(LBASE, CSAM_TRAPPING, 2, false);
    cr_expect(!csam_kind_patched(CSAM_TRAPPING));
    cr_expect_eq(csam_patch_frame(cs, pa_of(LBASE)), 0);
}

Test(csam, ordinary_instructions_not_flagged)
{
    PUT(LBASE,
        0x89, 0xd8,             /* mov eax, ebx          */
        0x01, 0xc3,             /* add ebx, eax          */
        0x50, 0x58,             /* push eax; pop eax     */
        0x0f, 0x31,             /* rdtsc                 */
        0x8d, 0x04, 0x24,       /* lea eax, [esp]        */
        0x66, 0x8b, 0x06,       /* mov ax, [esi]         */
        0x8b, 0x04, 0x85, 0, 0, 0, 0, /* mov eax, [eax*4] */
        0xf3, 0xa5,             /* rep movsd             */
        0x0f, 0xb1, 0x0a,       /* cmpxchg [edx], ecx    */
        0x90, 0xc3);            /* nop; ret              */
    cr_expect_eq(csam_scan(cs, &guest, LBASE), 0);
    cr_expect_eq(total_sites(), 0);
    cr_expect(csam_frame_scanned(cs, pa_of(LBASE)));
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE)), CSAM_NATIVE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 21)), CSAM_NATIVE, "rep movsd");
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 22)), CSAM_EMULATE, "inside rep movsd");
}

Test(csam, jcc_both_paths_scanned)
{
    PUT(LBASE,
        0x74, 0x04,             /* 0: je 6               */
        0x9c,                   /* 2: pushfd             */
        0xc3,                   /* 3: ret                */
        0x0f, 0x0b,             /* 4: ud2                */
        0x9d,                   /* 6: popfd              */
        0xc3);                  /* 7: ret                */
    csam_scan(cs, &guest, LBASE);
    expect_site(LBASE + 2, CSAM_PUSHF, 1, false);
    expect_site(LBASE + 6, CSAM_POPF, 1, false);
}

Test(csam, call_target_and_fall_through_scanned)
{
    PUT(LBASE,
        0xe8, 0xfb, 0x00, 0x00, 0x00,   /* 0: call 0x100     */
        0x0f, 0x01, 0x06,               /* 5: sgdt [esi]     */
        0xc3);                          /* 8: ret            */
    PUT(LBASE + 0x100, 0x1e, 0xc3);     /* 0x100: push ds; ret */
    /* A backward jcc with a 16-bit operand size truncates its target: 66 0f 84 rel16. */
    csam_scan(cs, &guest, LBASE);
    expect_site(LBASE + 5, CSAM_DESC_TABLE, 3, false);
    expect_site(LBASE + 0x100, CSAM_SEG_READ, 1, false);
}

Test(csam, path_across_pages_marks_both_frames)
{
    uint32_t a = LBASE + PG;        /* linear page 1 -> frame 2; page 2 -> frame 9 */
    PUT(a + 0xffc, 0x90, 0x90,      /* nop; nop                               */
        0x0f, 0x01, 0x06,           /* 0xffe: sgdt [esi], crossing into page 2 */
        0x9c, 0xc3);                /* page 2 + 1: pushfd; ret                  */
    csam_scan(cs, &guest, a + 0xffc);
    cr_expect(csam_frame_scanned(cs, 2 * PG));
    cr_expect(csam_frame_scanned(cs, 9 * PG));
    cr_expect(csam_frame_monitored(cs, 9 * PG));
    cr_expect_eq(monitor_on[2], 1);
    cr_expect_eq(monitor_on[9], 1);
    expect_site(a + 0xffe, CSAM_DESC_TABLE, 3, false);
    cr_expect_eq(site(a + 0xffe)->bytes[2], 0x06, "the crossing instruction's tail is kept");
    expect_site(a + PG + 1, CSAM_PUSHF, 1, false);
    cr_expect_eq(csam_verdict_at(cs, 9 * PG), CSAM_EMULATE, "frame 9 byte 0 is sgdt's tail");

    /* The tail's frame is written: the instruction that spills into it is gone too. */
    csam_frame_written(cs, 9 * PG);
    cr_expect(!csam_frame_scanned(cs, 9 * PG));
    cr_expect(!csam_frame_scanned(cs, 2 * PG));
    cr_expect_null(site(a + 0xffe));
    cr_expect_eq(monitor_off[2], 1);
    cr_expect_eq(monitor_off[9], 1);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.frames_invalidated, 2);
}

Test(csam, crossing_into_unmapped_page_ends_path)
{
    uint32_t a = LBASE + 3 * PG;    /* page 3 -> frame 12; page 4 unmapped */
    PUT(a + 0xffe, 0x0f, 0x01);     /* sgdt whose ModRM byte is on the missing page */
    csam_scan(cs, &guest, a + 0xffe);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.path_unmapped, 1);
    cr_expect_null(site(a + 0xffe));
    cr_expect_eq(csam_verdict_at(cs, pa_of(a + 0xffe)), CSAM_UNSCANNED);
}

Test(csam, indirect_branches_end_paths)
{
    PUT(LBASE,
        0xff, 0xd0,             /* 0: call eax  (fall-through still scanned) */
        0x9c,                   /* 2: pushfd                                 */
        0xff, 0xe0,             /* 3: jmp eax   (ends the path)              */
        0x9d,                   /* 5: popfd     (only the sweep sees it)     */
        0xc3,                   /* 6: ret                                    */
        0x1e);                  /* 7: push ds   (only the sweep sees it)     */
    csam_scan(cs, &guest, LBASE);
    expect_site(LBASE + 2, CSAM_PUSHF, 1, false);
    expect_site(LBASE + 5, CSAM_POPF, 1, true);
    expect_site(LBASE + 7, CSAM_SEG_READ, 1, true);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.ind_call, 1);
    cr_expect_eq(st.ind_jmp, 1);
    cr_expect_eq(st.ret, 0, "the ret is only reached by the sweep");
}

Test(csam, sweep_finds_unreached_function)
{
    PUT(LBASE, 0xc3,                         /* 0: ret                        */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90);
    PUT(LBASE + 16,
        0x55,                   /* 16: push ebp                          */
        0x89, 0xe5,             /* 17: mov ebp, esp                      */
        0x9c,                   /* 19: pushfd                            */
        0xfa,                   /* 20: cli                               */
        0x5d,                   /* 21: pop ebp                           */
        0xc3);                  /* 22: ret                               */
    cr_expect_eq(csam_scan(cs, &guest, LBASE), 2);
    expect_site(LBASE + 19, CSAM_PUSHF, 1, true);
    expect_site(LBASE + 20, CSAM_TRAPPING, 1, true);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 16)), CSAM_NATIVE);
    /* Entering the function later is cheap: already known. */
    cr_expect_eq(csam_scan(cs, &guest, LBASE + 16), 0);
    cr_expect_eq(csam_patch_frame(cs, pa_of(LBASE)), 1, "sweep sites are patched when consistent");
}

Test(csam, inconsistent_sweep_makes_page_unsafe)
{
    PUT(LBASE,
        0xeb, 0x06,             /* 0: jmp 8                                          */
        0x90, 0x90,             /* 2: gap: nop; nop                                  */
        0xb8, 0x9c, 0x00, 0x00, /* 4: gap: mov eax, imm32 would run into 8           */
        0xc3);                  /* 8: ret                                            */
    csam_scan(cs, &guest, LBASE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE)), CSAM_EMULATE);
    cr_expect_eq(csam_patch_frame(cs, pa_of(LBASE)), 0);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.sweep_inconsistent, 1);
    cr_expect_eq(st.pages_unsafe, 1);
}

Test(csam, undecodable_and_overlapping_code_is_unsafe)
{
    PUT(LBASE, 0x90, 0x0f, 0xff);               /* nop; (0f ff: ud0 needs ModRM) ... */
    PUT(LBASE + 0x100, 0x0f, 0x04);             /* 0f 04: no such instruction */
    csam_scan(cs, &guest, LBASE + 0x100);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 0x100)), CSAM_EMULATE);

    uint32_t b = LBASE + 5 * PG;                /* page 5 -> frame 7 */
    PUT(b,
        0xb8, 0xeb, 0xfe, 0x00, 0x00,           /* 0: mov eax, 0xfeeb                     */
        0xeb, 0xfa);                            /* 5: jmp 1: into the mov's immediate     */
    csam_scan(cs, &guest, b);
    cr_expect_eq(csam_verdict_at(cs, pa_of(b)), CSAM_EMULATE);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.overlaps, 1);
    cr_expect_eq(st.path_undecodable, 1);
}

Test(csam, jump_over_a_prefix_is_not_overlapping_code)
{
    PUT(LBASE,
        0x74, 0x01,             /* 0: je 3                               */
        0xf0,                   /* 2: lock                               */
        0x0f, 0xb1, 0x1e,       /* 3: cmpxchg [esi], ebx (2: lock form)  */
        0xc3);                  /* 6: ret                                */
    csam_scan(cs, &guest, LBASE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 2)), CSAM_NATIVE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(LBASE + 3)), CSAM_NATIVE);
    cr_expect(!csam_frame_unsafe(cs, pa_of(LBASE)));

    /* The same trick in front of a sensitive instruction would step over its int3 patch. */
    uint32_t b = LBASE + 2 * PG;
    PUT(b,
        0x74, 0x01,             /* 0: je 3                               */
        0x2e,                   /* 2: cs                                 */
        0x9c,                   /* 3: pushfd (2: cs pushfd)              */
        0xc3);                  /* 4: ret                                */
    csam_scan(cs, &guest, b);
    cr_expect(csam_frame_unsafe(cs, pa_of(b)));
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.prefix_skips, 1);
    cr_expect_eq(st.overlaps, 1);
}

Test(csam, sweep_guess_withdrawn_for_a_crossing_instruction)
{
    uint32_t a = LBASE + PG, b = LBASE + 2 * PG;    /* frames 2 and 9 */
    PUT(a + 0xffe,
        0xb8, 0x00,             /* a+0xffe: mov eax, 0x9c000000 ...       */
        0x00, 0x00, 0x9c,       /* b+0: ... its last three bytes          */
        0xc3);                  /* b+3: ret                               */
    PUT(b + 0x10, 0xc3);
    /* Frame 9 first, from b+0x10: the sweep of its head guesses "add [eax],al; pushfd; ret". */
    csam_scan(cs, &guest, b + 0x10);
    expect_site(b + 2, CSAM_PUSHF, 1, true);
    cr_assert_eq(csam_patch_frame(cs, 9 * PG), 1);
    cr_expect_eq(mem.host[9 * PG + 2], 0xcc);
    /* Control flow reaches the mov: it reads through the patch, and the guess is withdrawn. */
    csam_scan(cs, &guest, a + 0xffe);
    cr_expect_null(site(b + 2), "the guessed pushfd was the mov's immediate");
    cr_expect_eq(mem.host[9 * PG + 2], 0x9c, "its patch is gone");
    cr_expect_eq(csam_verdict_at(cs, pa_of(a + 0xffe)), CSAM_NATIVE);
    cr_expect_eq(csam_verdict_at(cs, pa_of(b)), CSAM_EMULATE, "the mov's tail");
    cr_expect_eq(csam_verdict_at(cs, pa_of(b + 3)), CSAM_NATIVE);
    cr_expect(!csam_frame_unsafe(cs, 9 * PG));
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_geq(st.unsweeps, 1);
    cr_expect_eq(st.sites[CSAM_PUSHF], 0, "wrong guesses are not counted as finds");
}

Test(csam, previous_pages_guessed_tail_gives_way_to_real_code)
{
    uint32_t a = LBASE + PG, b = LBASE + 2 * PG;    /* frames 2 and 9 */
    PUT(a + 0x10, 0xc3, 0x90);                      /* ret; nop; then zeros: "add [eax],al" */
    PUT(a + 0xffe, 0xb8, 0x00);                     /* a guess: mov eax, imm32 ...          */
    PUT(b, 0x9c, 0xc3, 0x90);                       /* ... over what is really pushfd; ret  */
    csam_scan(cs, &guest, a + 0x10);
    cr_expect_eq(csam_verdict_at(cs, 9 * PG), CSAM_UNSCANNED, "frame 9 holds only a guessed tail");
    memset(mem.host + 9 * PG + 3, 0x90, 0x1d);     /* nop padding up to b + 0x20 */
    PUT(b + 0x20, 0xc3);
    csam_scan(cs, &guest, b + 0x20);                /* frame 9 scanned; its head still a guess */
    cr_expect_eq(csam_verdict_at(cs, 9 * PG), CSAM_UNSCANNED);
    csam_scan(cs, &guest, b);                       /* control flow says code starts at b */
    expect_site(b, CSAM_PUSHF, 1, false);
    cr_expect_eq(csam_verdict_at(cs, 9 * PG), CSAM_NATIVE);
    /* Frame 2's end now decodes into frame 9's real code: not consistent, so it goes to emu. */
    cr_expect(csam_frame_unsafe(cs, 2 * PG));
}

Test(csam, patch_and_restore_exactly)
{
    uint32_t a = LBASE + 2 * PG;                /* page 2 -> frame 9 */
    PUT(a + 0x10,
        0x9c,                                   /* pushfd                  */
        0xfa,                                   /* cli (traps: no patch)   */
        0x8e, 0xd8,                             /* mov ds, eax             */
        0xcd, 0x80,                             /* int 0x80                */
        0xc3);
    uint8_t orig[PG];
    memcpy(orig, mem.host + 9 * PG, PG);
    csam_scan(cs, &guest, a + 0x10);
    cr_assert_eq(csam_patch_frame(cs, 9 * PG), 3);
    cr_expect_eq(mem.host[pa_of(a + 0x10)], 0xcc);
    cr_expect_eq(mem.host[pa_of(a + 0x11)], 0xfa);
    cr_expect_eq(mem.host[pa_of(a + 0x12)], 0xcc);
    cr_expect_eq(mem.host[pa_of(a + 0x14)], 0xcc);
    const struct csam_site *s = site(a + 0x12);
    cr_expect(s->patched);
    cr_expect_eq(s->bytes[0], 0x8e);
    cr_expect_eq(s->bytes[1], 0xd8);
    cr_expect(!site(a + 0x11)->patched);
    cr_expect_eq(csam_patch_frame(cs, 9 * PG), 0, "idempotent");

    /* An entry at a known start costs nothing and does not take a patch for a guest int3. */
    cr_expect_eq(csam_scan(cs, &guest, a + 0x12), 0);
    cr_expect_eq(site(a + 0x10)->kind, CSAM_PUSHF);
    /* The guest rewrites the instruction after the int 0x80: the write is reported first. */
    csam_frame_written(cs, 9 * PG);
    cr_expect_eq(memcmp(mem.host + 9 * PG, orig, PG), 0, "original bytes restored exactly");
    PUT(a + 0x16, 0x9d, 0xc3);                  /* popfd; ret */
    orig[0x16] = 0x9d, orig[0x17] = 0xc3;
    csam_scan(cs, &guest, a + 0x10);
    cr_expect_eq(csam_patch_frame(cs, 9 * PG), 4);
    expect_site(a + 0x16, CSAM_POPF, 1, false);
    csam_frame_written(cs, 9 * PG);
    cr_expect_eq(memcmp(mem.host + 9 * PG, orig, PG), 0, "original bytes restored exactly");
    cr_expect(!csam_frame_scanned(cs, 9 * PG));
    cr_expect_null(site(a + 0x10));
    cr_expect_eq(csam_verdict_at(cs, pa_of(a + 0x10)), CSAM_UNSCANNED);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.patches_applied, 7);
    cr_expect_eq(st.patches_removed, 7);
    cr_expect_eq(monitor_on[9], 2);
    cr_expect_eq(monitor_off[9], 2);
}

Test(csam, guest_int3_is_not_a_patch)
{
    PUT(LBASE,
        0xcc,                   /* 0: the guest's own breakpoint */
        0x9c,                   /* 1: pushfd                     */
        0xc3);                  /* 2: ret                        */
    csam_scan(cs, &guest, LBASE);
    cr_assert_eq(csam_patch_frame(cs, pa_of(LBASE)), 1);
    const struct csam_site *bp = site(LBASE), *pf = site(LBASE + 1);
    cr_expect_eq(bp->kind, CSAM_BREAKPOINT);
    cr_expect(!bp->patched, "the guest's int3 is its own: deliver #BP");
    cr_expect(pf->patched);
    cr_expect_eq(mem.host[pa_of(LBASE)], 0xcc);
    cr_expect_eq(mem.host[pa_of(LBASE + 1)], 0xcc);
    csam_frame_written(cs, pa_of(LBASE) & ~(uint64_t)(PG - 1));
    cr_expect_eq(mem.host[pa_of(LBASE)], 0xcc, "the guest's int3 stays");
    cr_expect_eq(mem.host[pa_of(LBASE + 1)], 0x9c);
    cr_expect_eq(code_writes, 2, "emu's code cache told of the patch and of its removal");
}

Test(csam, patch_refused_when_written_behind_its_back)
{
    PUT(LBASE, 0x9c, 0xc3);
    csam_scan(cs, &guest, LBASE);
    mem.host[pa_of(LBASE)] = 0x90;              /* e.g. a DMA write nobody reported */
    cr_expect_eq(csam_patch_frame(cs, pa_of(LBASE)), -EIO);
    cr_expect_eq(mem.host[pa_of(LBASE)], 0x90);
    cr_expect(!csam_frame_scanned(cs, pa_of(LBASE)));
}

Test(csam, two_linear_aliases_share_the_frame)
{
    uint32_t a = LBASE + 5 * PG, b = LBASE + 6 * PG;  /* both map frame 7 */
    PUT(a + 0x20, 0x0f, 0x00, 0xc8, 0xc3);            /* str eax; ret */
    csam_scan(cs, &guest, a + 0x20);
    cr_expect_eq(csam_scan(cs, &guest, b + 0x20), 0, "already scanned through the other alias");
    cr_expect_eq(csam_site_at(cs, 7 * PG + 0x20)->kind, CSAM_DESC_TABLE);
    cr_expect_eq(monitor_on[7], 1);
}

Test(csam, budget_bounds_the_work)
{
    csam_destroy(cs);
    struct csam_config cfg = { .cpuid_sensitive = true, .insn_budget = 8 };
    cs = csam_create(&mem, &cfg);
    for (unsigned i = 0; i < 64; i++)                 /* 64 x (jmp $+2) */
        PUT(LBASE + 2 * i, 0xeb, 0x00);
    PUT(LBASE + 128, 0x9c, 0xc3);
    csam_scan(cs, &guest, LBASE);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_expect_eq(st.insns_decoded, 8);
    cr_expect_eq(st.budget_exhausted, 1);
    /* The sweep still covers the rest of the page. */
    expect_site(LBASE + 128, CSAM_PUSHF, 1, true);
}

/* Random bytes as guest code: never a crash, and patch + invalidate gives back the exact bytes. */
Test(csam, random_code_round_trips)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint8_t *snap = malloc(mem.size);
    for (int round = 0; round < 40; round++) {
        for (uint64_t i = 0; i < mem.size; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Mostly short common instructions, with sensitive bytes sprinkled in. */
            static const uint8_t pick[] = { 0x90, 0x9c, 0x9d, 0x1e, 0x1f, 0xcc, 0xcd, 0xcf, 0x0f,
                                            0x8e, 0x8c, 0xeb, 0x74, 0xe8, 0xc3, 0x89, 0x66, 0xf0 };
            mem.host[i] = (x >> 32) % 4 ? pick[(x >> 40) % sizeof(pick)] : (uint8_t)(x >> 24);
        }
        memcpy(snap, mem.host, mem.size);
        for (int e = 0; e < 30; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            cr_assert_geq(csam_scan(cs, &guest, LBASE + (uint32_t)(x % (NLPAGES * PG))), 0);
        }
        for (unsigned f = 0; f < NFRAMES; f++) {
            int n = csam_patch_frame(cs, (uint64_t)f * PG);
            cr_assert_geq(n, 0);
            for (unsigned o = 0; o < PG; o++) {
                const struct csam_site *si = csam_site_at(cs, (uint64_t)f * PG + o);
                if (si && si->patched)
                    cr_assert_eq(mem.host[si->pa], 0xcc);
                else
                    cr_assert_eq(mem.host[(uint64_t)f * PG + o], snap[(uint64_t)f * PG + o]);
            }
        }
        for (unsigned f = 0; f < NFRAMES; f++)
            csam_frame_written(cs, (uint64_t)f * PG);
        cr_assert_eq(memcmp(mem.host, snap, mem.size), 0, "round %d: bytes not restored", round);
        for (unsigned f = 0; f < NFRAMES; f++)
            cr_assert(!csam_frame_monitored(cs, (uint64_t)f * PG));
    }
    for (unsigned f = 0; f < NFRAMES; f++)
        cr_expect_eq(monitor_on[f], monitor_off[f], "frame %u: monitor on/off unbalanced", f);
    free(snap);
}

/* ---- a real code sample: libc's .text, cross-checked with Capstone ---- */

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* The sensitive kind of a Capstone-decoded instruction, written independently of CSAM's Zydis
 * classifier; -1 for ordinary instructions, -2 for ones only checked in one direction. */
static int capstone_kind(csh h, const cs_insn *in)
{
    static const struct { const char *m; int kind; } names[] = {
        { "pushfd", CSAM_PUSHF }, { "pushf", CSAM_PUSHF }, { "popfd", CSAM_POPF },
        { "popf", CSAM_POPF }, { "lds", CSAM_SEG_LOAD }, { "les", CSAM_SEG_LOAD },
        { "lfs", CSAM_SEG_LOAD }, { "lgs", CSAM_SEG_LOAD }, { "lss", CSAM_SEG_LOAD },
        { "sgdt", CSAM_DESC_TABLE }, { "sidt", CSAM_DESC_TABLE }, { "sldt", CSAM_DESC_TABLE },
        { "str", CSAM_DESC_TABLE }, { "smsw", CSAM_DESC_TABLE }, { "lar", CSAM_SEG_QUERY },
        { "lsl", CSAM_SEG_QUERY }, { "verr", CSAM_SEG_QUERY }, { "verw", CSAM_SEG_QUERY },
        { "ljmp", CSAM_FAR }, { "lcall", CSAM_FAR }, { "retf", CSAM_FAR }, { "iretd", CSAM_IRET },
        { "iret", CSAM_IRET }, { "int", CSAM_INT }, { "int3", CSAM_BREAKPOINT },
        { "int1", CSAM_BREAKPOINT }, { "into", CSAM_BREAKPOINT }, { "cpuid", CSAM_CPUID },
        { "sysenter", CSAM_SYSCALL_INSN }, { "sysexit", CSAM_SYSCALL_INSN },
        { "syscall", CSAM_SYSCALL_INSN }, { "sysret", CSAM_SYSCALL_INSN },
        { "cli", CSAM_TRAPPING }, { "sti", CSAM_TRAPPING }, { "hlt", CSAM_TRAPPING },
        { "in", CSAM_TRAPPING }, { "out", CSAM_TRAPPING }, { "insb", CSAM_TRAPPING },
        { "insw", CSAM_TRAPPING }, { "insd", CSAM_TRAPPING }, { "outsb", CSAM_TRAPPING },
        { "outsw", CSAM_TRAPPING }, { "outsd", CSAM_TRAPPING }, { "lgdt", CSAM_TRAPPING },
        { "lidt", CSAM_TRAPPING }, { "lldt", CSAM_TRAPPING }, { "ltr", CSAM_TRAPPING },
        { "lmsw", CSAM_TRAPPING }, { "invlpg", CSAM_TRAPPING }, { "clts", CSAM_TRAPPING },
        { "rdmsr", CSAM_TRAPPING }, { "wrmsr", CSAM_TRAPPING }, { "wbinvd", CSAM_TRAPPING },
        { "invd", CSAM_TRAPPING },
    };
    const char *m = in->mnemonic;
    if (!strncmp(m, "rep ", 4))
        m += 4;
    /* Far jmp/call in Intel syntax: "jmp"/"call" with a ptr16:32 or m16:32 operand. */
    if ((!strcmp(m, "jmp") || !strcmp(m, "call")) &&
        (in->bytes[0] == 0xea || in->bytes[0] == 0x9a ||
         (in->bytes[0] == 0xff && ((in->detail->x86.modrm >> 3) & 7) % 2 == 1 &&
          ((in->detail->x86.modrm >> 3) & 7) >= 3)))
        return CSAM_FAR;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(m, names[i].m))
            return names[i].kind;
    if (!strcmp(m, "mov") || !strcmp(m, "push") || !strcmp(m, "pop")) {
        const cs_x86 *x = &in->detail->x86;
        for (unsigned i = 0; i < x->op_count; i++) {
            if (x->operands[i].type != X86_OP_REG)
                continue;
            x86_reg r = x->operands[i].reg;
            if (r == X86_REG_CS || r == X86_REG_DS || r == X86_REG_ES || r == X86_REG_FS ||
                r == X86_REG_GS || r == X86_REG_SS) {
                if (!strcmp(m, "push"))
                    return CSAM_SEG_READ;
                if (!strcmp(m, "pop"))
                    return CSAM_SEG_LOAD;
                return i == 0 ? CSAM_SEG_LOAD : CSAM_SEG_READ;
            }
            if ((r >= X86_REG_CR0 && r <= X86_REG_CR15) || (r >= X86_REG_DR0 && r <= X86_REG_DR15))
                return CSAM_TRAPPING;
        }
    }
    (void)h;
    return -1;
}

struct sample {
    uint32_t vaddr;          /* linear address of the first byte */
    uint32_t size;
    uint32_t entries[4096];
    unsigned nentries;
};

static uint32_t sample_base;                    /* linear page of the sample */
static uint32_t sample_pages;

static int64_t sample_frame(void *opaque, uint32_t linear)
{
    (void)opaque;
    uint32_t page = (linear - sample_base) / PG;
    if (linear < sample_base || page >= sample_pages)
        return -1;
    /* Reversed frame order: neighbouring linear pages are far apart physically. */
    return (int64_t)(sample_pages - 1 - page) * PG;
}

/* Loads up to max_bytes of an ELF32 file's .text (from its first page boundary) into a fresh
 * fake guest, with its function symbols (.symtab, else .dynsym) inside them as entry points. */
static bool load_elf_sample(const char *path, struct sample *s, uint32_t max_bytes)
{
    size_t size = 0;
    uint8_t *elf = read_file(path, &size);
    if (!elf)
        return false;
    const Elf32_Ehdr *eh = (const Elf32_Ehdr *)elf;
    if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386 ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf32_Shdr) > size) {
        free(elf);
        return false;
    }
    const Elf32_Shdr *sh = (const Elf32_Shdr *)(elf + eh->e_shoff);
    const char *shstr = (const char *)elf + sh[eh->e_shstrndx].sh_offset;
    const Elf32_Shdr *text = NULL, *syms = NULL;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (!strcmp(shstr + sh[i].sh_name, ".text"))
            text = &sh[i];
        if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !syms))
            syms = &sh[i];
    }
    if (!text || !syms || text->sh_offset + (uint64_t)text->sh_size > size) {
        free(elf);
        return false;
    }
    uint32_t start = (text->sh_addr + PG - 1) & ~(PG - 1);
    uint32_t end = text->sh_addr + text->sh_size;
    if (start >= end) {
        free(elf);
        return false;
    }
    if (end - start > max_bytes)
        end = start + max_bytes;
    memset(s, 0, sizeof(*s));
    s->vaddr = start;
    s->size = end - start;
    sample_base = start;
    sample_pages = (s->size + PG - 1) / PG;
    mem.fd = -1;
    mem.size = (uint64_t)sample_pages * PG;
    mem.host = calloc(1, mem.size);
    for (uint32_t p = 0; p < sample_pages; p++) {
        uint32_t n = s->size - p * PG < PG ? s->size - p * PG : PG;
        memcpy(mem.host + sample_frame(NULL, start + p * PG),
               elf + text->sh_offset + (start - text->sh_addr) + p * PG, n);
    }
    const Elf32_Sym *sym = (const Elf32_Sym *)(elf + syms->sh_offset);
    for (unsigned i = 0; i < syms->sh_size / sizeof(*sym) && s->nentries < 4096; i++)
        if (ELF32_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_value >= start &&
            sym[i].st_value < end)
            s->entries[s->nentries++] = sym[i].st_value;
    free(elf);
    return true;
}

struct sample_result {
    unsigned checked, unknown, safe_pages, scanned_pages;
    unsigned found[CSAM_KIND_COUNT];
};

/* Scans every entry, then walks CSAM's instruction starts in each safe page: Capstone must agree
 * on each length and on each sensitive kind, both ways. */
static void sample_check(const char *name, struct sample *s, struct sample_result *res)
{
    struct csam_guest g = { .frame = sample_frame };
    struct csam_config cfg = { .cpuid_sensitive = true };
    cs = csam_create(&mem, &cfg);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < s->nentries; i++)
        cr_assert_geq(csam_scan(cs, &g, s->entries[i]), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct csam_stats st;
    csam_get_stats(cs, &st);
    cr_log_info("%s: %u KiB, %u entries, scanned in %.1f ms\n", name, s->size / 1024, s->nentries,
                (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    csam_print_stats(cs, stderr);
    cr_expect_eq(st.path_undecodable, 0, "%s: reachable code decodes", name);

    csh h;
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_32, &h), CS_ERR_OK);
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *in = cs_malloc(h);
    for (uint32_t page = 0; page < sample_pages; page++) {
        uint32_t lin = s->vaddr + page * PG;
        uint64_t pa = (uint64_t)sample_frame(NULL, lin);
        if (!csam_frame_scanned(cs, pa))
            continue;
        res->scanned_pages++;
        if (csam_frame_unsafe(cs, pa))
            continue;
        if (csam_patch_frame(cs, pa) < 0)
            cr_assert_fail("%s: patching a scanned frame failed", name);
        res->safe_pages++;
        uint32_t page_end = s->vaddr + s->size - lin < PG ? s->vaddr + s->size - lin : PG;
        for (uint32_t off = 0; off < page_end;) {
            if (csam_verdict_at(cs, pa + off) != CSAM_NATIVE) {
                off++;
                continue;
            }
            uint8_t buf[16] = { 0 };
            uint32_t n = lin + off + 15 <= s->vaddr + s->size ? 15 : s->vaddr + s->size - lin - off;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t l = lin + off + i;
                buf[i] = mem.host[sample_frame(NULL, l & ~(PG - 1)) + (l & (PG - 1))];
            }
            const struct csam_site *site_ = csam_site_at(cs, pa + off);
            if (site_ && site_->patched)
                buf[0] = site_->bytes[0];    /* Capstone sees the original, as CSAM does */
            const uint8_t *code = buf;
            size_t left = n;
            uint64_t addr = lin + off;
            if (!cs_disasm_iter(h, &code, &left, &addr, in)) {
                /* Capstone 4 lacks some newer instructions (rdpkru/wrpkru in glibc's pkey_set):
                 * counted, and bounded by the caller so a real disagreement cannot hide here. */
                cr_log_info("%s: Capstone cannot decode at %#x (CSAM: %s)\n", name, lin + off,
                            site_ ? csam_kind_name((enum csam_kind)site_->kind) : "ordinary");
                cr_expect_null(site_, "CSAM flags what Capstone does not know at %#x", lin + off);
                res->unknown++;
                off++;
                continue;
            }
            int want = capstone_kind(h, in);
            int got = site_ ? site_->kind : -1;
            if (want >= 0 || got >= 0)
                cr_expect_eq(got, want, "%s %#x %s %s: CSAM says %s", name, lin + off,
                             in->mnemonic, in->op_str,
                             got >= 0 ? csam_kind_name((enum csam_kind)got) : "nothing");
            if (site_)
                cr_expect_eq(site_->len, in->size, "%#x: length", lin + off);
            if (got >= 0)
                res->found[got]++;
            /* (Within 15 bytes of the page end an instruction may wait for its next page.) */
            enum csam_verdict next = off + in->size < page_end
                                     ? csam_verdict_at(cs, pa + off + in->size) : CSAM_NATIVE;
            if (!(next == CSAM_UNSCANNED && off + in->size + 15 > PG))
                cr_expect_eq(next, CSAM_NATIVE,
                             "%s %#x %s: next instruction (Capstone length %u) is not a CSAM start",
                             name, lin + off, in->mnemonic, in->size);
            res->checked++;
            off += in->size;
        }
    }
    cs_free(in, 1);
    cs_close(&h);
    csam_unpatch_all(cs);
    csam_destroy(cs);
    cs = NULL;
}

TestSuite(csam_sample, .fini = teardown);

Test(csam_sample, libc_text_matches_capstone)
{
    static const char *paths[] = { "/usr/lib32/libc.so.6", "/lib32/libc.so.6",
                                   "/usr/lib/i386-linux-gnu/libc.so.6" };
    static struct sample s;
    const char *path = NULL;
    for (size_t i = 0; i < 3 && !path; i++)
        if (load_elf_sample(paths[i], &s, 4096 * 1024))
            path = paths[i];
    if (!path)
        cr_skip_test("no 32-bit libc.so.6 (gcc-multilib) to take a code sample from");
    struct sample_result r = { 0 };
    sample_check("libc", &s, &r);
    cr_log_info("libc: checked %u instructions in %u safe of %u scanned pages (%u unknown to "
                "Capstone)\n", r.checked, r.safe_pages, r.scanned_pages, r.unknown);
    cr_expect_gt(r.safe_pages, r.scanned_pages * 9 / 10, "most libc pages are consistent code");
    cr_expect_gt(r.checked, 10000);
    cr_expect_lt(r.unknown * 1000, r.checked, "Capstone and CSAM disagree on too many instructions");
}

/* The project's own guest test kernels: CPL 0 code full of the instructions CSAM is about.
 * They are built with the tests (the .elf files in build/tests/guests; ctest runs this from build/tests/unit,
 * or set CSAM_GUEST_DIR). */
Test(csam_sample, guest_kernels_match_capstone)
{
    const char *dir = getenv("CSAM_GUEST_DIR") ? getenv("CSAM_GUEST_DIR") : "../guests";
    DIR *d = opendir(dir);
    if (!d)
        cr_skip_test("no guest kernels in %s (build them, or set CSAM_GUEST_DIR)", dir);
    struct sample_result r = { 0 };
    unsigned files = 0;
    struct dirent *de;
    static struct sample s;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".elf"))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!load_elf_sample(path, &s, 1u << 20))
            continue;
        sample_check(de->d_name, &s, &r);
        free(mem.host);
        mem.host = NULL;
        files++;
    }
    closedir(d);
    if (!files)
        cr_skip_test("no guest kernels (*.elf) in %s", dir);
    cr_log_info("%u guest kernels: checked %u instructions in %u safe of %u scanned pages\n", files,
                r.checked, r.safe_pages, r.scanned_pages);
    for (unsigned k = 0; k < CSAM_KIND_COUNT; k++)
        if (r.found[k])
            cr_log_info("  %s: %u\n", csam_kind_name((enum csam_kind)k), r.found[k]);
    cr_expect_eq(r.unknown, 0);
    cr_expect_gt(r.checked, 1000);
}

/* ---- through the interpreter's page walker (csam_frame_via_emu), with paging on ---- */

#include <ringfold/vm.h>
#include <ringfold/x86_emulate.h>

Test(csam_emu, scan_through_guest_page_tables)
{
    struct vm vm;
    memset(&vm, 0, sizeof(vm));
    cr_assert_eq(guest_mem_init(&vm.mem, 4u << 20, NULL), 0);
    bus_init(&vm.bus);
    vclock_init(&vm.clock, true);
    struct x86_emu *e = x86_emu_create(&vm, NULL);
    cr_assert_not_null(e);
    /* 2-level paging: PD at 0x10000, one PT at 0x11000 mapping linear 0xc0000000.. with page 0
     * -> frame 0x23000 and page 1 -> frame 0x21000 (backwards), page 2 not present. */
    uint32_t pde = 0x11000 | 0x3, pte0 = 0x23000 | 0x3, pte1 = 0x21000 | 0x1;
    guest_mem_write(&vm.mem, 0x10000 + (0xc0000000u >> 22) * 4, &pde, 4);
    guest_mem_write(&vm.mem, 0x11000, &pte0, 4);
    guest_mem_write(&vm.mem, 0x11004, &pte1, 4);
    static const uint8_t code[] = {
        0x90, 0x90,             /* c0000ffc: nop; nop                       */
        0xeb, 0x00,             /* c0000ffe: jmp c0001000 (next page)        */
        0x9c,                   /* c0001000: pushfd                          */
        0xe9, 0x00, 0x10, 0x00, 0x00,   /* jmp c0002006: not present: path ends */
    };
    guest_mem_write(&vm.mem, 0x23ffc, code, 4);
    guest_mem_write(&vm.mem, 0x21000, code + 4, 6);
    struct vcpu_state st;
    vcpu_state_flat32(&st, 0xc0000ffc);
    st.cr3 = 0x10000;
    st.cr0 |= 0x80000001u;      /* PG, PE */
    x86_emu_set_state(e, &st);

    cr_expect_eq(csam_frame_via_emu(e, 0xc0000ffc), 0x23000);
    cr_expect_eq(csam_frame_via_emu(e, 0xc0001000), 0x21000);
    cr_expect_eq(csam_frame_via_emu(e, 0xc0002000), -1);
    struct csam_guest g = { .frame = csam_frame_via_emu, .opaque = e };
    cs = csam_create(&vm.mem, &(struct csam_config){ .cpuid_sensitive = true });
    cr_expect_eq(csam_scan(cs, &g, 0xc0000ffc), 1);
    const struct csam_site *s = csam_site_at(cs, 0x21000);
    cr_assert_not_null(s);
    cr_expect_eq(s->kind, CSAM_PUSHF);
    cr_expect_eq(s->linear, 0xc0001000);
    cr_expect(csam_frame_scanned(cs, 0x23000));
    struct csam_stats stt;
    csam_get_stats(cs, &stt);
    cr_expect_eq(stt.path_unmapped, 1);
    csam_destroy(cs);
    cs = NULL;
    x86_emu_destroy(e);
    guest_mem_destroy(&vm.mem);
}
