/* Containment: with paging on, user mode tries to read a supervisor page (U/S=0) holding a
 * secret: #PF with error code 5 (present, read, user) and CR2 = the address on every engine,
 * never the secret (SDM Vol. 3A 4.6, 4.7). Also after loading the selectors that name the
 * HOST's flat segments under raw mode (0x23 32-bit code... as data 0x2b, 64-bit code 0x33):
 * this guest's GDT makes those loads legal here too (entries 4 and 5 flat user data, entry 6 a
 * flat readable 32-bit user code segment; the TSS moves to entry 7), so every engine must give
 * the same #PF. Under raw mode a supervisor page is simply not mapped in the host process that
 * runs guest user code (shadow view USER), so no segment can reach it (docs/jail.md). */
#include "systest.h"
#include "usermode.h"
#include "hostile_paging.h"

#define SECRET 0x5EC2E75Au
#define PUBLIC 0x0B11C000u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[2][1024] __attribute__((aligned(4096)));
static volatile uint32_t secret_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t public_page[1024] __attribute__((aligned(4096)));

/* Inputs and outputs of the CPL-3 probes. */
uint32_t kr_addr, kr_value;

/* Each probe: EAX = 0, arm isr_resume, access kr_addr through one segment, store EAX, restore
 * the segment registers. A faulting access resumes at the label with EAX still 0. */
#define KR_PROBE(name, load, access, restore)                                                  \
    name ":\n\t"                                                                               \
    "movl kr_addr, %ecx\n\t"                                                                   \
    "xorl %eax, %eax\n\t"                                                                      \
    "movl $1f, isr_resume\n\t" load access "\n1:\n\t" restore "movl %eax, kr_value\n\t"        \
    "movl $0, isr_resume\n\t"                                                                  \
    "ret\n"
#define KR_RESTORE "movw $0x23, %dx\n\tmovw %dx, %ds\n\tmovw %dx, %es\n\tmovw %dx, %fs\n\tmovw %dx, %gs\n\t"

__asm__(".text\n"
        KR_PROBE("kr_read_ds23", "", "movl (%ecx), %eax", "")
        KR_PROBE("kr_read_ds2b", "movw $0x2b, %dx\n\tmovw %dx, %ds\n\t", "movl (%ecx), %eax", KR_RESTORE)
        KR_PROBE("kr_read_es2b", "movw $0x2b, %dx\n\tmovw %dx, %es\n\t", "movl %es:(%ecx), %eax", KR_RESTORE)
        KR_PROBE("kr_read_ds33", "movw $0x33, %dx\n\tmovw %dx, %ds\n\t", "movl (%ecx), %eax", KR_RESTORE)
        KR_PROBE("kr_read_fs33", "movw $0x33, %dx\n\tmovw %dx, %fs\n\t", "movl %fs:(%ecx), %eax", KR_RESTORE)
        KR_PROBE("kr_read_gs23", "movw $0x23, %dx\n\tmovw %dx, %gs\n\t", "movl %gs:(%ecx), %eax", KR_RESTORE)
        KR_PROBE("kr_read_ss2b", "movw $0x2b, %dx\n\tmovw %dx, %ss\n\t", "movl %ss:(%ecx), %eax",
                 "movw $0x23, %dx\n\tmovw %dx, %ss\n\t")
        KR_PROBE("kr_write_es2b", "movw $0x2b, %dx\n\tmovw %dx, %es\n\t", "movl $0x1badf00d, %es:(%ecx)",
                 KR_RESTORE)
        /* A user-mode copy loop over the page: the fault must come at its first byte. */
        KR_PROBE("kr_scan_ds33", "movw $0x33, %dx\n\tmovw %dx, %ds\n\tmovl $1024, %edx\n\t",
                 "2: orl (%ecx), %eax\n\taddl $4, %ecx\n\tdecl %edx\n\tjnz 2b", KR_RESTORE));
void kr_read_ds23(void), kr_read_ds2b(void), kr_read_es2b(void), kr_read_ds33(void), kr_read_fs33(void),
    kr_read_gs23(void), kr_read_ss2b(void), kr_write_es2b(void), kr_scan_ds33(void);

static const struct {
    const char *what;
    void (*fn)(void);
    uint32_t err;
} probes[] = {
    { "read, ds=0x23", kr_read_ds23, 5 },
    { "read, ds=0x2b", kr_read_ds2b, 5 },
    { "read, es=0x2b", kr_read_es2b, 5 },
    { "read, ds=0x33", kr_read_ds33, 5 },
    { "read, fs=0x33", kr_read_fs33, 5 },
    { "read, gs=0x23", kr_read_gs23, 5 },
    { "read, ss=0x2b", kr_read_ss2b, 5 },
    { "write, es=0x2b", kr_write_es2b, 7 },
    { "scan, ds=0x33", kr_scan_ds33, 5 },
};

static void paging_on(void)
{
    hostile_paging_on(pd, pt, secret_page);
}

void guest_main(void)
{
    desc_init();
    user_init();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    guest_check((uint32_t)secret_page + 4096 <= 8u << 20, "kernel image beyond the 8 MiB identity map");

    /* The TSS moves from entry 5 to 7 so that 0x2b can be a data segment (TR keeps its own
     * cache, but a fresh LTR keeps this kernel honest on every engine). */
    desc_set_tss(7, &desc_tss, sizeof(desc_tss) - 1, ACC_TSS);
    __asm__ volatile("ltr %w0" : : "r"(0x38) : "memory");
    desc_set_seg(5, 0, 0xFFFFF, ACC_DATA3, FLG_4K32);   /* 0x2b: flat user data */
    desc_set_seg(6, 0, 0xFFFFF, ACC_CODE3, FLG_4K32);   /* 0x33: flat readable 32-bit user code */

    for (int i = 0; i < 1024; i++) {
        secret_page[i] = SECRET;
        public_page[i] = PUBLIC + (uint32_t)i;
    }
    paging_on();

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        /* Control first: the same probe on a user page works and reads the right value. */
        bool is_write = probes[i].err & 2;
        bool is_scan = probes[i].fn == kr_scan_ds33;
        uint32_t want = is_write ? 0 : public_page[0];
        if (is_scan)
            for (int k = 0; k < 1024; k++)
                want |= public_page[k];
        kr_addr = (uint32_t)public_page;
        kr_value = 0xFFFFFFFFu;
        isr_clear();
        user_run(probes[i].fn, 0);
        CHECK(isr_last.vec == 0xFF && kr_value == want, "%-15s user page: no fault, value %x", probes[i].what,
              kr_value);

        kr_addr = (uint32_t)secret_page;
        kr_value = 0;
        isr_clear();
        user_run(probes[i].fn, 0);
        CHECK(isr_last.vec == 14 && isr_last.err == probes[i].err && isr_last.cr2 == (uint32_t)secret_page,
              "%-15s kernel page: vector %u err %x cr2 %s", probes[i].what, isr_last.vec, isr_last.err,
              isr_last.cr2 == (uint32_t)secret_page ? "= secret page" : "WRONG");
        CHECK(kr_value != SECRET && kr_value == 0, "%-15s kernel page: the secret stayed hidden (%x)",
              probes[i].what, kr_value);
    }
    CHECK(public_page[0] == 0x1badf00d && secret_page[0] == SECRET, "the user page took the write, the secret did not");
    sys_write_cr0(sys_read_cr0() & ~CR0_PG);
    sys_finish("hostile_kread");
}
