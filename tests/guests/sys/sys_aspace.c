/* Many guest address spaces (SDM Vol. 3A 4.3, 4.10): eight page directories with their own user
 * pages, CR3 switched between them with user code run in each. Written to catch stale shadow
 * mappings in a monitor that caches per-CR3 state (raw mode's per-address-space stub processes,
 * a pool smaller than eight forces eviction): a frame shared by two spaces, PTE edits in a space
 * that is not current (remap, RW->RO, P->NP, U->S, a whole PDE), INVLPG in the current one, kernel
 * writes to user frames, a same-value MOV CR3, a directory frame freed and reused for new
 * content under the same CR3 value, and global user pages with CR4.PGE. User code must never
 * reach the kernel's (supervisor) mappings. */
#include "systest.h"

#define PG_P 0x001u
#define PG_RW 0x002u
#define PG_US 0x004u
#define PG_G 0x100u
#define PG_URW (PG_P | PG_RW | PG_US)
#define PG_URO (PG_P | PG_US)

#define NAS 8                       /* address spaces; more than a pool of 4 stub processes */
#define UBASE 0x40000000u           /* the user region: PD slot 256, one page table per space */
#define U_CODE (UBASE + 0x0000)     /* the user code: one frame, read-only, in every space */
#define U_STACK (UBASE + 0x1000)    /* per space */
#define U_DATA (UBASE + 0x2000)     /* per space, tagged with its number */
#define U_SHR (UBASE + 0x3000)      /* (a) the shared frame in space 1 ... */
#define U_TEST (UBASE + 0x4000)     /* the page whose PTE the tests edit */
#define U_SHR2 (UBASE + 0x5000)     /* ... and in space 6, at another address */
#define U_GLOB (UBASE + 0x6000)     /* (g) a global user page */
#define SLOT(va) (((va) >> 12) & 1023)

#define NOVEC 0xFFu
#define TAG(i) (0xA5A50000u | (i))
#define MARK_X 0x11111111u
#define MARK_Y 0x22222222u
#define MARK_Z 0x33333333u
#define MARK_G1 0x61616161u
#define MARK_G2 0x62626262u
#define MARK_G3 0x63636363u
#define MARK_NEW 0x7E7E7E7Eu

enum { FR_CODE, FR_STACK0, FR_DATA0 = FR_STACK0 + NAS, FR_SHR = FR_DATA0 + NAS, FR_X, FR_Y, FR_Z,
       FR_G1, FR_G2, FR_G3, FR_NEW, FR_N };

static uint32_t kpt[2][1024] __attribute__((aligned(4096)));   /* identity 0-8 MiB, supervisor */
static uint32_t pds[NAS][1024] __attribute__((aligned(4096)));
static uint32_t upts[NAS + 1][1024] __attribute__((aligned(4096)));  /* [NAS]: a spare table */
static uint8_t frames[FR_N][4096] __attribute__((aligned(4096)));

extern char __kernel_end[];
extern char as_user_blob[], as_user_blob_end[], as_ret_isr[];
uint32_t as_enter(uint32_t op, uint32_t a, uint32_t v, uint32_t a2);
__attribute__((noreturn)) void as_abort(void);

/* The user code, position independent (copied into FR_CODE). EAX = operation, EBX = address,
 * ECX = value, EDX = second address; returns EAX through int $0x30. It pushes and pops first, so
 * the space's stack page is used too. It lies in .rodata, a program image the kernel loads, never
 * runs: on raw, CSAM int3-patches the int-n sites of kernel code pages it scans (the linear sweep
 * reaches code never run) and, as of phase 2a, a data read of such a page sees the patches. */
__asm__(".section .rodata\n"
        ".globl as_user_blob, as_user_blob_end\n"
        "as_user_blob:\n"
        "    push %ecx\n"
        "    pop %ecx\n"
        "    cmp $1, %eax\n"
        "    je 1f\n"
        "    cmp $2, %eax\n"
        "    je 2f\n"
        "    cmp $3, %eax\n"
        "    je 3f\n"
        "    mov (%ebx), %eax\n"            /* 0: read */
        "    int $0x30\n"
        "1:  mov %ecx, (%ebx)\n"            /* 1: write, read back */
        "    mov (%ebx), %eax\n"
        "    int $0x30\n"
        "2:  xor %eax, %eax\n"              /* 2: sum of the page's dwords */
        "    mov $1024, %ecx\n"
        "4:  add (%ebx), %eax\n"
        "    add $4, %ebx\n"
        "    dec %ecx\n"
        "    jnz 4b\n"
        "    int $0x30\n"
        "3:  mov (%ebx), %eax\n"            /* 3: copy a dword from EBX to EDX */
        "    mov %eax, (%edx)\n"
        "    mov (%edx), %eax\n"
        "    int $0x30\n"
        "as_user_blob_end:\n");

/* as_enter: CPL 0 -> CPL 3 by IRET at U_CODE on the current space's stack page (IF off);
 * as_ret_isr (int $0x30, DPL 3 gate) and as_abort (from a fault handler) come back here. */
__asm__(".text\n"
        ".globl as_enter, as_ret_isr, as_abort\n"
        "as_enter:\n"
        "    push %ebp\n"
        "    push %ebx\n"
        "    push %esi\n"
        "    push %edi\n"
        "    mov %esp, as_kesp\n"
        "    mov 20(%esp), %eax\n"
        "    mov 24(%esp), %ebx\n"
        "    mov 28(%esp), %ecx\n"
        "    mov 32(%esp), %edx\n"
        "    push $0x23\n"
        "    push $0x40002000\n"             /* U_STACK + 4096 */
        "    push $0x2\n"
        "    push $0x1B\n"
        "    push $0x40000000\n"             /* U_CODE */
        "    mov $0x23, %si\n"
        "    mov %si, %ds\n"
        "    mov %si, %es\n"
        "    mov %si, %fs\n"
        "    mov %si, %gs\n"
        "    iret\n"
        "as_abort:\n"
        "as_ret_isr:\n"
        "    mov $0x10, %si\n"
        "    mov %si, %ds\n"
        "    mov %si, %es\n"
        "    mov %si, %fs\n"
        "    mov %si, %gs\n"
        "    mov as_kesp, %esp\n"
        "    pop %edi\n"
        "    pop %esi\n"
        "    pop %ebx\n"
        "    pop %ebp\n"
        "    ret\n");
_Static_assert(U_STACK + 4096 == 0x40002000u && U_CODE == 0x40000000u, "as_enter's constants");

uint32_t as_kesp;
static struct { uint32_t vec, err, cr2, eip; } as_fault;
static int cur = -1;

enum { OP_READ, OP_WRITE, OP_SUM, OP_COPY };
struct ures { uint32_t val, vec, err, cr2; };

static uint32_t pa(const void *p) { return (uint32_t)p; }   /* identity mapped */
static uint32_t *fw(int f, uint32_t off) { return (uint32_t *)(frames[f] + off); }

/* An exception at CPL 3 ends the user run with its vector, error code and CR2; one at CPL 0 is a
 * bug of this kernel (or of the monitor): fail at once. */
static void as_exc(struct isr_frame *f)
{
    if ((f->cs & 3) != 3)
        guest_fail("sys_aspace: vector %u err %x in the kernel at %x:%08x, cr2 %08x, space %d",
                   f->vec, f->err, f->cs, f->eip, isr_last.cr2, cur);
    as_fault.vec = f->vec;
    as_fault.err = f->err;
    as_fault.cr2 = isr_last.cr2;
    as_fault.eip = f->eip;
    as_abort();
}

static void as_switch(int i)
{
    sys_write_cr3(pa(pds[i]));
    cur = i;
}

static struct ures urun(uint32_t op, uint32_t a, uint32_t v, uint32_t a2)
{
    as_fault.vec = NOVEC;
    uint32_t val = as_enter(op, a, v, a2);
    if (as_fault.vec != NOVEC)
        return (struct ures){ 0, as_fault.vec, as_fault.err, as_fault.cr2 };
    return (struct ures){ val, NOVEC, 0, 0 };
}

static void expect_val(const char *what, struct ures r, uint32_t want)
{
    CHECK(r.vec == NOVEC && r.val == want, "space %d: %-44s = %08x (want %08x)%s", cur, what,
          r.val, want, r.vec == NOVEC ? "" : ", FAULTED");
    if (r.vec != NOVEC)
        guest_printf("  got vector %u err %x cr2 %08x at eip %08x\n", r.vec, r.err, r.cr2,
                     as_fault.eip);
}

static void expect_pf(const char *what, struct ures r, uint32_t err, uint32_t cr2)
{
    CHECK(r.vec == 14 && r.err == err && r.cr2 == cr2,
          "space %d: %-44s #PF err=%x cr2=%08x (want err=%x cr2=%08x)%s", cur, what, r.err, r.cr2,
          err, cr2, r.vec == 14 ? "" : r.vec == NOVEC ? ", NO FAULT" : ", OTHER VECTOR");
    if (r.vec != 14 && r.vec != NOVEC)
        guest_printf("  got vector %u err %x\n", r.vec, r.err);
}

static uint32_t data_sum(int i)
{
    uint32_t s = 0;
    for (uint32_t k = 0; k < 1024; k++)
        s += *fw(FR_DATA0 + i, k * 4);
    return s;
}

/* Space i's user page table: code, stack, data, the test page on FR_X, nothing else. */
static void upt_fill(uint32_t *pt, int i)
{
    for (int k = 0; k < 1024; k++)
        pt[k] = 0;
    pt[SLOT(U_CODE)] = pa(frames[FR_CODE]) | PG_URO;
    pt[SLOT(U_STACK)] = pa(frames[FR_STACK0 + i]) | PG_URW;
    pt[SLOT(U_DATA)] = pa(frames[FR_DATA0 + i]) | PG_URW;
    pt[SLOT(U_TEST)] = pa(frames[FR_X]) | PG_URW;
}

static void pd_fill(uint32_t *pd, uint32_t *upt)
{
    for (int k = 0; k < 1024; k++)
        pd[k] = 0;
    pd[0] = pa(kpt[0]) | PG_P | PG_RW;
    pd[1] = pa(kpt[1]) | PG_P | PG_RW;
    pd[UBASE >> 22] = pa(upt) | PG_URW;
}

static void setup(void)
{
    guest_check((uint32_t)__kernel_end <= 0x800000u, "kernel ends at %p, beyond the identity map",
                (void *)__kernel_end);
    for (int t = 0; t < 2; t++)
        for (uint32_t k = 0; k < 1024; k++)
            kpt[t][k] = ((uint32_t)t << 22 | k << 12) | PG_P | PG_RW;
    kpt[0][0] = 0;                  /* null pointers fault */
    uint32_t seed = 0x5EED;
    for (int i = 0; i < NAS; i++) {
        for (uint32_t k = 0; k < 1024; k++)
            *fw(FR_DATA0 + i, k * 4) = guest_rand(&seed);
        *fw(FR_DATA0 + i, 0) = TAG((uint32_t)i);
        upt_fill(upts[i], i);
        pd_fill(pds[i], upts[i]);
    }
    upts[1][SLOT(U_SHR)] = pa(frames[FR_SHR]) | PG_URW;
    upts[6][SLOT(U_SHR2)] = pa(frames[FR_SHR]) | PG_URW;
    *fw(FR_X, 0) = MARK_X;
    *fw(FR_Y, 0) = MARK_Y;
    *fw(FR_Z, 0) = MARK_Z;
    *fw(FR_G1, 0) = MARK_G1;
    *fw(FR_G2, 0) = MARK_G2;
    *fw(FR_G3, 0) = MARK_G3;
    *fw(FR_NEW, 0) = MARK_NEW;
    memcpy(frames[FR_CODE], as_user_blob, (size_t)(as_user_blob_end - as_user_blob));
    for (int v = 0; v < 32; v++)
        isr_handlers[v] = as_exc;
    desc_set_gate(0x30, (uint32_t)as_ret_isr, SEL_KCODE, GATE_INT32 | GATE_DPL3);
    as_switch(0);
    sys_write_cr0(sys_read_cr0() | CR0_PG | CR0_WP);
    CHECK(sys_read_cr0() & CR0_PG, "paging on, %d address spaces, kernel supervisor-only", NAS);
}

/* Every space in the given order: its tag, a write read back (and seen by the kernel through
 * its own mapping), and the sum of its data page computed by user code. */
static void sweep(const char *name, int round, const int *order)
{
    guest_printf("-- sweep %s\n", name);
    for (int n = 0; n < NAS; n++) {
        int i = order[n];
        as_switch(i);
        expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG((uint32_t)i));
        uint32_t v = 0xB0000000u | (uint32_t)round << 8 | (uint32_t)i;
        expect_val("user write, read back", urun(OP_WRITE, U_DATA + 4, v, 0), v);
        CHECK(*fw(FR_DATA0 + i, 4) == v, "space %d: %-44s = %08x", i, "kernel sees the user write",
              *fw(FR_DATA0 + i, 4));
        expect_val("user sum of the data page", urun(OP_SUM, U_DATA, 0, 0), data_sum(i));
        uint32_t k = pa(frames[FR_DATA0 + i]) + 8;   /* the same frame, kernel's mapping */
        expect_pf("read the kernel's mapping of it", urun(OP_READ, k, 0, 0), 0x5, k);
    }
}

static void test_sweeps(void)
{
    static const int fwd[NAS] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    static const int rev[NAS] = { 7, 6, 5, 4, 3, 2, 1, 0 };
    static const int stride[NAS] = { 0, 3, 6, 1, 4, 7, 2, 5 };
    sweep("forward", 0, fwd);
    sweep("reverse", 1, rev);
    sweep("stride 3", 2, stride);
}

/* (a) One frame in two spaces, at different addresses: each sees the other's user writes, both
 * while the two alternate and after six other spaces ran in between. */
static void test_shared(void)
{
    guest_printf("-- (a) a frame shared by spaces 1 and 6\n");
    as_switch(1);
    expect_val("write shared (U_SHR)", urun(OP_WRITE, U_SHR + 0x10, 0x5A5A0001u, 0), 0x5A5A0001u);
    as_switch(6);
    expect_val("read shared (U_SHR2), right after", urun(OP_READ, U_SHR2 + 0x10, 0, 0), 0x5A5A0001u);
    expect_val("write shared (U_SHR2)", urun(OP_WRITE, U_SHR2 + 0x10, 0x5A5A0002u, 0), 0x5A5A0002u);
    as_switch(1);
    expect_val("read shared (U_SHR)", urun(OP_READ, U_SHR + 0x10, 0, 0), 0x5A5A0002u);
    for (int i = 2; i <= 7; i++) {        /* six others run in between (evicting 1 and 6) */
        as_switch(i == 6 ? 0 : i);
        expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG((uint32_t)cur));
    }
    as_switch(1);
    expect_val("copy private -> shared", urun(OP_COPY, U_DATA, 0, U_SHR + 0x20), TAG(1));
    for (int i = 2; i <= 5; i++) {
        as_switch(i);
        expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG((uint32_t)i));
    }
    as_switch(6);
    expect_val("read shared after four others", urun(OP_READ, U_SHR2 + 0x20, 0, 0), TAG(1));
    expect_val("copy private -> shared", urun(OP_COPY, U_DATA, 0, U_SHR2 + 0x24), TAG(6));
    as_switch(1);
    expect_val("read shared", urun(OP_READ, U_SHR + 0x24, 0, 0), TAG(6));
    CHECK(*fw(FR_SHR, 0x20) == TAG(1) && *fw(FR_SHR, 0x24) == TAG(6),
          "kernel sees both user writes in the shared frame");
    as_switch(0);
    expect_pf("U_SHR is not mapped in space 0", urun(OP_READ, U_SHR, 0, 0), 0x4, U_SHR);
}

/* (b) The kernel (running in space 0) edits the tables of a space that is not current, after
 * that space's user code used the page; switching to it must show the edit (MOV CR3 flushes
 * every non-global translation, SDM 4.10.4.1). */
static void test_noncurrent(void)
{
    guest_printf("-- (b) PTE edits in spaces that are not current\n");
    as_switch(2);
    expect_val("read U_TEST (frame X)", urun(OP_READ, U_TEST, 0, 0), MARK_X);
    as_switch(3);
    expect_val("write U_TEST+8 (frame X)", urun(OP_WRITE, U_TEST + 8, 0x0BADF00Du, 0), 0x0BADF00Du);
    as_switch(4);
    expect_val("read U_TEST (frame X)", urun(OP_READ, U_TEST, 0, 0), MARK_X);
    as_switch(5);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(5));
    as_switch(6);
    expect_val("read U_TEST (frame X)", urun(OP_READ, U_TEST, 0, 0), MARK_X);

    as_switch(0);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(0));
    upts[2][SLOT(U_TEST)] = pa(frames[FR_Y]) | PG_URW;          /* remap */
    upts[3][SLOT(U_TEST)] = pa(frames[FR_X]) | PG_URO;          /* RW -> RO */
    upts[4][SLOT(U_TEST)] = 0;                                  /* present -> not present */
    upts[6][SLOT(U_TEST)] = pa(frames[FR_X]) | PG_P | PG_RW;    /* user -> supervisor */
    for (int k = 0; k < 1024; k++)                              /* a whole new page table */
        upts[NAS][k] = upts[5][k];
    upts[NAS][SLOT(U_DATA)] = pa(frames[FR_Z]) | PG_URW;
    pds[5][UBASE >> 22] = pa(upts[NAS]) | PG_URW;

    as_switch(2);
    expect_val("remapped U_TEST reads frame Y", urun(OP_READ, U_TEST, 0, 0), MARK_Y);
    as_switch(3);
    expect_pf("write to U_TEST, now read-only", urun(OP_WRITE, U_TEST + 8, 1, 0), 0x7, U_TEST + 8);
    expect_val("read-only U_TEST still reads", urun(OP_READ, U_TEST + 8, 0, 0), 0x0BADF00Du);
    as_switch(4);
    expect_pf("read U_TEST+0xc, now not present", urun(OP_READ, U_TEST + 0xC, 0, 0), 0x4, U_TEST + 0xC);
    expect_pf("write U_TEST+0x10, not present", urun(OP_WRITE, U_TEST + 0x10, 1, 0), 0x6, U_TEST + 0x10);
    as_switch(5);
    expect_val("new page table: U_DATA is frame Z", urun(OP_READ, U_DATA, 0, 0), MARK_Z);
    as_switch(6);
    expect_pf("read U_TEST, now supervisor", urun(OP_READ, U_TEST + 0x14, 0, 0), 0x5, U_TEST + 0x14);

    as_switch(0);                   /* undo the page-table swap of space 5, again from space 0 */
    pds[5][UBASE >> 22] = pa(upts[5]) | PG_URW;
    upts[6][SLOT(U_TEST)] = pa(frames[FR_X]) | PG_URW;
    as_switch(5);
    expect_val("old page table back: private tag", urun(OP_READ, U_DATA, 0, 0), TAG(5));
    as_switch(6);
    expect_val("U_TEST user again", urun(OP_READ, U_TEST, 0, 0), MARK_X);
}

/* (c) INVLPG after each PTE change in the current space (SDM 4.10.4.1). */
static void test_invlpg(void)
{
    guest_printf("-- (c) INVLPG in the current space\n");
    as_switch(2);
    expect_val("read U_TEST (frame Y)", urun(OP_READ, U_TEST, 0, 0), MARK_Y);
    upts[2][SLOT(U_TEST)] = pa(frames[FR_Z]) | PG_URW;
    sys_invlpg(U_TEST);
    expect_val("remap + invlpg: frame Z", urun(OP_READ, U_TEST, 0, 0), MARK_Z);
    expect_val("write frame Z", urun(OP_WRITE, U_TEST + 0x40, 0x2222C0DEu, 0), 0x2222C0DEu);
    upts[2][SLOT(U_TEST)] = pa(frames[FR_Z]) | PG_URO;
    sys_invlpg(U_TEST);
    expect_pf("RW->RO + invlpg: write", urun(OP_WRITE, U_TEST + 0x44, 1, 0), 0x7, U_TEST + 0x44);
    expect_val("RW->RO + invlpg: read", urun(OP_READ, U_TEST + 0x40, 0, 0), 0x2222C0DEu);
    upts[2][SLOT(U_TEST)] = 0;
    sys_invlpg(U_TEST);
    expect_pf("P->NP + invlpg: read", urun(OP_READ, U_TEST + 0x48, 0, 0), 0x4, U_TEST + 0x48);
    upts[2][SLOT(U_TEST)] = pa(frames[FR_X]) | PG_URW;
    sys_invlpg(U_TEST);
    expect_val("NP->P (frame X): read", urun(OP_READ, U_TEST, 0, 0), MARK_X);
    CHECK(*fw(FR_Z, 0x44) == 0, "the refused write did not reach frame Z");
}

/* (d) The kernel writes user frames through its identity mapping and through the user address
 * (copy_to_user); user code reads them back, and the kernel reads user writes both ways. */
static void test_kernel_writes(void)
{
    guest_printf("-- (d) kernel writes to user pages\n");
    as_switch(3);
    expect_val("user writes U_DATA+0x100 first", urun(OP_WRITE, U_DATA + 0x100, 1, 0), 1);
    for (uint32_t k = 0; k < 4; k++) {
        *fw(FR_DATA0 + 3, 0x100 + 4 * k) = 0xD0D00000u | k;
        expect_val("kernel wrote via identity map", urun(OP_READ, U_DATA + 0x100 + 4 * k, 0, 0),
                   0xD0D00000u | k);
    }
    volatile uint32_t *u = (volatile uint32_t *)(U_DATA + 0x200);
    *u = 0xC0FFEE03u;
    expect_val("kernel wrote via the user address", urun(OP_READ, U_DATA + 0x200, 0, 0), 0xC0FFEE03u);
    CHECK(*fw(FR_DATA0 + 3, 0x200) == 0xC0FFEE03u, "space 3: identity map sees it too");
    expect_val("user write", urun(OP_WRITE, U_DATA + 0x204, 0x0DDBA11u, 0), 0x0DDBA11u);
    CHECK(u[1] == 0x0DDBA11u && *fw(FR_DATA0 + 3, 0x204) == 0x0DDBA11u,
          "space 3: kernel reads the user write via the user address and the identity map");
    /* The same in a space that is not current: the kernel writes space 7's frame while 0 runs. */
    as_switch(7);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(7));
    as_switch(0);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(0));
    *fw(FR_DATA0 + 7, 0x300) = 0x77D0D077u;
    as_switch(7);
    expect_val("kernel wrote while space 0 was current", urun(OP_READ, U_DATA + 0x300, 0, 0), 0x77D0D077u);
}

/* (e) A MOV to CR3 with the value CR3 already holds still flushes (SDM 4.10.4.1). */
static void test_same_cr3(void)
{
    guest_printf("-- (e) same-value MOV CR3\n");
    as_switch(4);
    expect_pf("U_TEST not present (from (b))", urun(OP_READ, U_TEST, 0, 0), 0x4, U_TEST);
    upts[4][SLOT(U_TEST)] = pa(frames[FR_Y]) | PG_URW;
    as_switch(4);
    expect_val("NP->P (frame Y), same CR3", urun(OP_READ, U_TEST, 0, 0), MARK_Y);
    upts[4][SLOT(U_TEST)] = pa(frames[FR_Z]) | PG_URW;
    as_switch(4);
    expect_val("Y->Z, same CR3", urun(OP_READ, U_TEST, 0, 0), MARK_Z);
    upts[4][SLOT(U_TEST)] = pa(frames[FR_Z]) | PG_URO;
    as_switch(4);
    expect_pf("RW->RO, same CR3: write", urun(OP_WRITE, U_TEST + 0x80, 1, 0), 0x7, U_TEST + 0x80);
    upts[4][SLOT(U_TEST)] = 0;
    as_switch(4);
    expect_pf("P->NP, same CR3: read", urun(OP_READ, U_TEST + 0x84, 0, 0), 0x4, U_TEST + 0x84);
    upts[4][SLOT(U_TEST)] = pa(frames[FR_X]) | PG_URW;
    as_switch(4);
    expect_val("back to frame X, same CR3", urun(OP_READ, U_TEST, 0, 0), MARK_X);
}

/* (f) Space 7's directory (and page table) frames freed and reused for a different space: the
 * same CR3 value now means new mappings. */
static void test_reuse(void)
{
    guest_printf("-- (f) a directory frame reused under the same CR3 value\n");
    as_switch(7);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(7));
    expect_val("read U_TEST (frame X)", urun(OP_READ, U_TEST, 0, 0), MARK_X);
    as_switch(0);
    memset(pds[7], 0, 4096);        /* freed ... */
    memset(upts[7], 0, 4096);
    upt_fill(upts[NAS], 7);         /* ... reallocated: a new page table in another frame */
    upts[NAS][SLOT(U_DATA)] = pa(frames[FR_NEW]) | PG_URW;
    upts[NAS][SLOT(U_TEST)] = 0;
    pd_fill(pds[7], upts[NAS]);
    as_switch(7);
    expect_val("reused directory: new data frame", urun(OP_READ, U_DATA, 0, 0), MARK_NEW);
    expect_pf("reused directory: U_TEST not present", urun(OP_READ, U_TEST, 0, 0), 0x4, U_TEST);
    /* Once more, back into the old page-table frame with its old contents. */
    as_switch(1);
    expect_val("private data tag", urun(OP_READ, U_DATA, 0, 0), TAG(1));
    memset(pds[7], 0, 4096);
    upt_fill(upts[7], 7);
    pd_fill(pds[7], upts[7]);
    as_switch(7);
    expect_val("reused again: old data frame", urun(OP_READ, U_DATA, 0, 0), TAG(7));
    expect_val("reused again: U_TEST frame X", urun(OP_READ, U_TEST, 0, 0), MARK_X);
}

static void glob_set(uint32_t pte)
{
    for (int i = 0; i < NAS; i++)
        upts[i][SLOT(U_GLOB)] = pte;
}

/* (g) A global user page in every space (CR4.PGE): kept across CR3 loads, invalidated by INVLPG
 * and by toggling CR4.PGE (SDM 4.10.2.4, 4.10.4.1); non-global pages still flush on MOV CR3. */
static void test_global(void)
{
    guest_printf("-- (g) global user pages, CR4.PGE\n");
    sys_write_cr4(sys_read_cr4() | CR4_PGE);
    glob_set(pa(frames[FR_G1]) | PG_URW | PG_G);
    for (int i = 0; i < NAS; i++) {
        as_switch(i);
        expect_val("global page: frame G1", urun(OP_READ, U_GLOB, 0, 0), MARK_G1);
    }
    as_switch(2);
    expect_val("write the global page", urun(OP_WRITE, U_GLOB + 4, 0x6106106Au, 0), 0x6106106Au);
    as_switch(5);
    expect_val("another space reads the write", urun(OP_READ, U_GLOB + 4, 0, 0), 0x6106106Au);
    glob_set(pa(frames[FR_G2]) | PG_URW | PG_G);
    sys_invlpg(U_GLOB);
    for (int i = 0; i < NAS; i += 3) {
        as_switch(i);
        expect_val("after invlpg: frame G2", urun(OP_READ, U_GLOB, 0, 0), MARK_G2);
    }
    glob_set(pa(frames[FR_G3]) | PG_URW | PG_G);
    sys_write_cr4(sys_read_cr4() & ~CR4_PGE);
    sys_write_cr4(sys_read_cr4() | CR4_PGE);
    for (int i = 1; i < NAS; i += 3) {
        as_switch(i);
        expect_val("after a CR4.PGE toggle: frame G3", urun(OP_READ, U_GLOB, 0, 0), MARK_G3);
    }
    /* With PGE on, the private (non-global) pages must still change with CR3. */
    static const int order[NAS] = { 3, 0, 5, 2, 7, 4, 1, 6 };
    for (int n = 0; n < NAS; n++) {
        as_switch(order[n]);
        expect_val("PGE on: private data tag", urun(OP_READ, U_DATA, 0, 0), TAG((uint32_t)order[n]));
    }
    glob_set(0);
    sys_invlpg(U_GLOB);
    as_switch(6);
    expect_pf("global page unmapped + invlpg", urun(OP_READ, U_GLOB + 8, 0, 0), 0x4, U_GLOB + 8);
    glob_set(pa(frames[FR_G1]) | PG_URO | PG_G);
    sys_write_cr4(sys_read_cr4() & ~CR4_PGE);
    as_switch(3);
    expect_val("PGE off, read-only global: frame G1", urun(OP_READ, U_GLOB + 4, 0, 0), 0x6106106Au);
    expect_pf("PGE off, read-only global: write", urun(OP_WRITE, U_GLOB, 1, 0), 0x7, U_GLOB);
}

void guest_main(void)
{
    desc_init();
    setup();
    test_sweeps();
    test_shared();
    test_noncurrent();
    test_invlpg();
    test_kernel_writes();
    test_same_cr3();
    test_reuse();
    test_global();
    static const int last[NAS] = { 6, 4, 2, 0, 7, 5, 3, 1 };
    sweep("final", 3, last);
    sys_finish("sys_aspace");
}
