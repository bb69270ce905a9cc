/* Containment of raw phase 3: PAGED guest user code far-jumps to selector 0x33 and, in 64-bit
 * mode, tries to reach the guest kernel's secret or the host's files from the stub process it
 * runs in (docs/jail.md, "The stub's filters"; docs/raw.md, "Phase 3").
 *
 * Architecturally (emu, QEMU, hardware) the far jump is #GP(0x30): GDT entry 6 is null here
 * (SDM Vol. 2A JMP, "segment type not code"), and the kernel checks that and passes. Under raw
 * mode with paging on, user code runs natively in a ringfold-raw-stub process, where 0x33 is the
 * HOST's 64-bit user code selector; the payload behind it (cmdline payload=):
 *   mmap: (with the stub's deadline timer disarmed first, through timer_settime)
 *         mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, pa(secret page)) and the same MAP_FIXED at
 *         a user page, for fd 3..8 (the stub holds guest RAM as a descriptor), copying whatever
 *         it gets to a user page the kernel then inspects; the secret lives in a SUPERVISOR page
 *         built at run time (no copy of it is ever user-accessible).
 *   open: open(escape_path, O_WRONLY|O_CREAT, 0644) and creat(escape_path, 0644).
 * The stub's seccomp filters hold the mmap for the monitor, which refuses it (it was not
 * queued), and kill the stub on open; either way the VM stops with "guest escape contained".
 * run_hostile.sh accepts that stop on raw, and fails any engine where the secret shows up in
 * the output or the escape file exists. */
#include "systest.h"
#include "usermode.h"
#include "hostile_paging.h"


static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[2][1024] __attribute__((aligned(4096)));
static volatile char secret_page[4096] __attribute__((aligned(4096)));

/* The user-visible side of the payload (all in user pages of the identity map). */
char escape_path[256] = "/tmp/ringfold-hostile-escape";
uint32_t se_mode;                                        /* 1 mmap, 2 open */
uint32_t se_secret_pa;                                   /* the mmap offset: guest RAM = pa */
struct { uint32_t eip; uint16_t cs; } __attribute__((packed)) se_back;  /* m16:32 back to 32-bit */
uint8_t se_loot[64] __attribute__((aligned(64)));        /* what the payload got */
uint32_t se_zero[8];                                     /* a zero struct itimerspec */
/* The descriptors tried, guest RAM's (4, RAW_STUB_FD_MEM) first: were a refusal ever to turn
 * into a CONTINUE, the secret would be copied out at once, before anything else could stop. */
const uint8_t se_fds[6] = { 4, 3, 5, 6, 7, 8 };
uint8_t se_window[4096] __attribute__((aligned(4096)));  /* the MAP_FIXED target */
extern char se_jmp_at[];

/* The secret, XOR 0x5A, so that its text exists only in the supervisor page and in the test's
 * pattern: "RFSECRET-7c1e9b4d-KERNEL-ONLY". */
static const uint8_t secret_x[] = { 0x08, 0x1c, 0x09, 0x1f, 0x19, 0x08, 0x1f, 0x0e, 0x77, 0x6d,
                                    0x39, 0x6b, 0x3f, 0x63, 0x38, 0x6e, 0x3e, 0x77, 0x11, 0x1f,
                                    0x08, 0x14, 0x1f, 0x16, 0x77, 0x15, 0x14, 0x16, 0x03 };

__asm__(".text\n"
        "se_user:\n\t"
        /* Touch every user page the payload uses, so that raw mode has mapped them in the stub
         * before the jump (a fault in 64-bit code would be reported, not leak anything, but the
         * test wants the system calls reached). */
        "movl escape_path, %eax\n\t"
        "movl se_mode, %eax\n\t"
        "movl se_secret_pa, %eax\n\t"
        "movl $0, se_loot\n\t"
        "movl $0, se_zero\n\t"
        "movl se_fds, %eax\n\t"
        "movl $0, se_window\n\t"
        "movl $1f, se_back\n\t"
        "movw %cs, se_back+4\n\t"
        "movl $1f, isr_resume\n"
        "se_jmp_at:\n\t"
        "ljmp $0x33, $se_payload\n"
        "1:\n\t"
        "ret\n"
        /* Only reached in 64-bit mode, on a host that let the jump through. */
        ".code64\n"
        "se_payload:\n\t"
        "movl $se_mode, %eax\n\t"             /* 64-bit code: no absolute memory operands */
        "cmpl $2, (%rax)\n\t"
        "je 5f\n\t"
        /* First disarm the stub's deadline timer (timer_settime is on its allowlist; the ids
         * of a process's POSIX timers start at 0): otherwise its signal interrupts the held
         * mmap before the monitor has looked at it, and the stop comes from the exit at CS 0x33
         * instead of from the authorization this test is about. */
        "xorl %r12d, %r12d\n"
        "7:\n\t"
        "movl $223, %eax\n\t"                  /* timer_settime(id, 0, &zero, NULL) */
        "movl %r12d, %edi\n\t"
        "xorl %esi, %esi\n\t"
        "movl $se_zero, %edx\n\t"
        "xorl %r10d, %r10d\n\t"
        "syscall\n\t"
        "incl %r12d\n\t"
        "cmpl $4, %r12d\n\t"
        "jb 7b\n\t"
        "xorl %r12d, %r12d\n"                   /* index into se_fds */
        "2:\n\t"
        "xorl %r13d, %r13d\n"                    /* pass 0: addr NULL; pass 1: MAP_FIXED */
        "3:\n\t"
        "xorl %edi, %edi\n\t"
        "movl $1, %r10d\n\t"                     /* MAP_SHARED */
        "testl %r13d, %r13d\n\t"
        "jz 4f\n\t"
        "movl $se_window, %edi\n\t"
        "movl $0x11, %r10d\n"                    /* MAP_SHARED | MAP_FIXED */
        "4:\n\t"
        "movl $4096, %esi\n\t"
        "movl $1, %edx\n\t"                      /* PROT_READ */
        "movl $se_fds, %eax\n\t"
        "movzbl (%rax,%r12), %r8d\n\t"
        "movl $se_secret_pa, %eax\n\t"
        "movl (%rax), %r9d\n\t"
        "movl $9, %eax\n\t"                      /* mmap */
        "syscall\n\t"
        "cmpq $-4095, %rax\n\t"
        "jae 6f\n\t"
        "movq %rax, %rsi\n\t"                    /* got it: copy 64 bytes to se_loot */
        "movl $se_loot, %edi\n\t"
        "movl $16, %ecx\n\t"
        "rep movsl\n"
        "6:\n\t"
        "incl %r13d\n\t"
        "cmpl $2, %r13d\n\t"
        "jb 3b\n\t"
        "incl %r12d\n\t"
        "cmpl $6, %r12d\n\t"
        "jb 2b\n\t"
        "movl $se_back, %eax\n\t"
        "ljmpl *(%rax)\n"
        "5:\n\t"                                 /* open and creat of escape_path */
        "movl $2, %eax\n\t"
        "movl $escape_path, %edi\n\t"
        "movl $0x41, %esi\n\t"
        "movl $0644, %edx\n\t"
        "syscall\n\t"
        "movl $85, %eax\n\t"
        "movl $escape_path, %edi\n\t"
        "movl $0644, %esi\n\t"
        "syscall\n\t"
        "movl $se_back, %eax\n\t"
        "ljmpl *(%rax)\n"
        ".code32\n");
void se_user(void);

static void paging_on(void)
{
    hostile_paging_on(pd, pt, secret_page);
}

/* Does buf hold the secret (or any 8-byte piece of it)? */
static bool se_has_secret(const volatile uint8_t *buf, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        for (size_t k = 0; k + 8 <= sizeof(secret_x); k++) {
            size_t j = 0;
            while (j < 8 && buf[i + j] == (secret_x[k + j] ^ 0x5A))
                j++;
            if (j == 8)
                return true;
        }
    return false;
}

void guest_main(void)
{
    desc_init();
    user_init();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    guest_check((uint32_t)se_window + 4096 <= 8u << 20, "kernel image beyond the 8 MiB identity map");
    char buf[sizeof(escape_path)];
    if (guest_cmdline_get("escape_path", buf, sizeof(buf)) && buf[0])
        memcpy(escape_path, buf, sizeof(buf));
    char mode[16];
    se_mode = 1;
    if (guest_cmdline_get("payload", mode, sizeof(mode)) && !strcmp(mode, "open"))
        se_mode = 2;
    /* The test's premise: selector 0x33 names a null descriptor in this guest's GDT. */
    memset(&desc_gdt[6], 0, sizeof(desc_gdt[6]));

    for (size_t i = 0; i < sizeof(secret_x); i++)
        secret_page[i] = (char)(secret_x[i] ^ 0x5A);
    secret_page[sizeof(secret_x)] = 0;
    se_secret_pa = (uint32_t)secret_page;
    paging_on();

    if (se_mode == 1)
        guest_printf("stub_escape: paged user code, far jump to 0x33, payload mmap fd 3..8 offset %x "
                     "(a supervisor page)\n", se_secret_pa);
    else
        guest_printf("stub_escape: paged user code, far jump to 0x33, payload open/creat %s\n", escape_path);
    isr_clear();
    user_run(se_user, 0);
    CHECK(isr_last.vec == 13 && isr_last.err == 0x30 && isr_last.eip == (uint32_t)se_jmp_at &&
              isr_last.cs == SEL_UCODE,
          "ljmp 0x33 with GDT entry 6 null: vector %u err %x at %s", isr_last.vec, isr_last.err,
          isr_last.eip == (uint32_t)se_jmp_at ? "ljmp" : "WRONG");
    bool leaked = se_has_secret(se_loot, sizeof(se_loot)) || se_has_secret(se_window, sizeof(se_window));
    if (leaked) {   /* print it, so that the harness sees the leak in the output too */
        char text[sizeof(se_loot) + 1];
        for (size_t i = 0; i < sizeof(se_loot); i++)
            text[i] = se_loot[i] >= 0x20 && se_loot[i] < 0x7F ? (char)se_loot[i] : '.';
        text[sizeof(se_loot)] = 0;
        guest_printf("loot: %s\n", text);
    }
    CHECK(!leaked, "the user pages hold nothing of the kernel's secret page");
    sys_write_cr0(sys_read_cr0() & ~CR0_PG);
    sys_finish("hostile_stub_escape");
}
