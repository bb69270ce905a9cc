/* The raw engine's jail (rawmode/jail.c): guest int 0x80 and 64-bit escapes are trapped and
 * never reach the host, the monitor's forbidden calls are diagnosed, allowed ones still work.
 * Each test forks a child that enters the jail; 32-bit code runs at CPL 3 in compat mode through
 * a test-only entry (modify_ldt + iretq), the way the raw engine runs guest code. */
#include <asm/ldt.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../../rawmode/jail.h"

/* Guest-like memory below 4 GiB: code page, then a data/stack page. */
#define JT_LOW 0x50000000u
#define JT_DATA (JT_LOW + 0x1000u)
#define JT_STR_(x) #x
#define JT_STR(x) JT_STR_(x)
#define JT_ANSWER (JT_DATA + 0x000)   /* what the trapped getpid returned to guest code */
#define JT_REGS (JT_DATA + 0x004)     /* ebx, ecx, edx after the trapped write */
#define JT_MSG (JT_DATA + 0x100)      /* "hello" */
#define JT_PATH (JT_DATA + 0x200)     /* the file an escape tries to create */
#define JT_FARPTR (JT_DATA + 0x300)   /* offset:selector for the far jump to 0x33 */
#define JT_STACK_TOP (JT_LOW + 0x2000u - 16)

#define JT_LDT_CS 0x07   /* LDT entry 0, RPL 3: 32-bit code */
#define JT_LDT_DS 0x0f   /* LDT entry 1, RPL 3: data */
#define JT_HOST_CS64 0x33
#define JT_HOST_CS32 0x23

/* (a) guest int 0x80 with i386 getpid (20), write (4), -1 and exit (1), then hlt (#GP). */
extern const char jt_int80_start[], jt_int80_end[];
/* sysenter from compat mode: #UD on AMD, a vDSO-convention system call on Intel. */
extern const char jt_sysenter_start[], jt_sysenter_end[];
/* syscall from compat mode: the same vDSO-convention entry on AMD, #UD on Intel. */
extern const char jt_syscall_start[], jt_syscall_end[];
/* (b) far jump to the host's 64-bit selector, then open (2), creat (85) and int 0x80 open (5)
 * from 64-bit code, then ud2. */
extern const char jt_esc_start[], jt_esc64[], jt_esc_end[];
__asm__(".pushsection .text\n"
        ".code32\n"
        "jt_int80_start:\n\t"
        "movl $20, %eax\n\t"
        "int $0x80\n\t"
        "movl %eax, " JT_STR(JT_ANSWER) "\n\t"
        "movl $4, %eax\n\t"
        "movl $1, %ebx\n\t"
        "movl $" JT_STR(JT_MSG) ", %ecx\n\t"
        "movl $5, %edx\n\t"
        "int $0x80\n\t"
        "movl %ebx, " JT_STR(JT_REGS) "\n\t"
        "movl %ecx, " JT_STR(JT_REGS) "+4\n\t"
        "movl %edx, " JT_STR(JT_REGS) "+8\n\t"
        "movl $-1, %eax\n\t"
        "int $0x80\n\t"
        "movl $1, %eax\n\t"
        "movl $42, %ebx\n\t"
        "int $0x80\n\t"
        "hlt\n"
        "jt_int80_end:\n"
        "jt_sysenter_start:\n\t"
        "movl %esp, %ebp\n\t"
        "sysenter\n\t"
        "hlt\n"
        "jt_sysenter_end:\n"
        "jt_syscall_start:\n\t"
        "movl %esp, %ebp\n\t"
        "movl $20, %eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "jt_syscall_end:\n"
        "jt_esc_start:\n\t"
        "ljmp *" JT_STR(JT_FARPTR) "\n\t"
        "hlt\n"
        ".code64\n"
        "jt_esc64:\n\t"
        "movl $2, %eax\n\t"
        "movl $" JT_STR(JT_PATH) ", %edi\n\t"
        "movl $0x41, %esi\n\t"            /* O_WRONLY | O_CREAT */
        "movl $0644, %edx\n\t"
        "syscall\n\t"
        "movl $85, %eax\n\t"
        "movl $" JT_STR(JT_PATH) ", %edi\n\t"
        "movl $0644, %esi\n\t"
        "syscall\n\t"
        "movl $5, %eax\n\t"
        "movl $" JT_STR(JT_PATH) ", %ebx\n\t"
        "movl $0x41, %ecx\n\t"
        "movl $0644, %edx\n\t"
        "int $0x80\n\t"
        "ud2\n"
        "jt_esc_end:\n"
        ".popsection\n");

/* What the child saw, in memory shared with the parent. */
struct jt_event {
    int sig;
    enum raw_jail_origin origin;
    int nr, data, trapno;
    uint32_t arch;
    uint64_t ip, rax;
    uint16_t cs;
    bool cs_64bit;
};
struct jt_shared {
    int n;
    struct jt_event ev[8];
    int final_sig;
    uint64_t final_ip;
    int final_trapno;
    uint32_t answer, regs[3];
};
static struct jt_shared *jt;

struct jt_result {
    int status;
    char out[4096], err[4096];
    size_t out_len;
};

static void jt_sigsys(int sig, siginfo_t *si, void *uctx)
{
    ucontext_t *uc = uctx;
    struct raw_jail_sigsys s;
    raw_jail_classify(si, uctx, &s);
    if (jt->n < 8) {
        struct jt_event *e = &jt->ev[jt->n];
        e->sig = sig;
        e->origin = s.origin;
        e->nr = s.nr;
        e->arch = s.arch;
        e->ip = s.ip;
        e->cs = s.cs;
        e->cs_64bit = s.cs_64bit;
        e->data = s.data;
        e->rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
    }
    jt->n++;
    if (s.origin == RAW_JAIL_GUEST_ESCAPE)
        raw_jail_report_escape(&s);
    /* What an engine does after emulating the call: the result goes in EAX, then resume. */
    uc->uc_mcontext.gregs[REG_RAX] = s.origin == RAW_JAIL_GUEST_I386 ? 0x1000 + jt->n : -EPERM;
}

/* The end of the guest code (hlt: #GP, ud2: #UD): record where and leave. */
static void jt_sigend(int sig, siginfo_t *si, void *uctx)
{
    (void)si;
    ucontext_t *uc = uctx;
    jt->final_sig = sig;
    jt->final_ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    jt->final_trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    const volatile uint32_t *d = (const volatile uint32_t *)(uintptr_t)JT_DATA;
    jt->answer = d[0];
    jt->regs[0] = d[1];
    jt->regs[1] = d[2];
    jt->regs[2] = d[3];
    _exit(0);
}

static void jt_handlers(bool sigsys)
{
    static char altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sa.sa_sigaction = jt_sigend;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    if (sigsys) {
        sa.sa_sigaction = jt_sigsys;
        sigaction(SIGSYS, &sa, NULL);
    }
}

/* Maps the low pages, copies the code blob there and installs the LDT code and data segments. */
static void jt_setup_low(const char *start, const char *end, const char *path)
{
    void *p = mmap((void *)(uintptr_t)JT_LOW, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)(uintptr_t)JT_LOW)
        _exit(100);
    memcpy(p, start, (size_t)(end - start));
    memcpy((char *)(uintptr_t)JT_MSG, "hello", 5);
    if (path)
        strcpy((char *)(uintptr_t)JT_PATH, path);
    struct user_desc cs = { .entry_number = 0, .base_addr = 0, .limit = 0xFFFFF, .seg_32bit = 1,
                            .contents = MODIFY_LDT_CONTENTS_CODE, .limit_in_pages = 1, .useable = 1 };
    struct user_desc ds = cs;
    ds.entry_number = 1;
    ds.contents = MODIFY_LDT_CONTENTS_DATA;
    if (syscall(SYS_modify_ldt, 1, &cs, sizeof(cs)) != 0 || syscall(SYS_modify_ldt, 1, &ds, sizeof(ds)) != 0)
        _exit(101);
}

/* Enters 32-bit compat mode at CPL 3 (LDT code segment) at eip; never returns. */
__attribute__((noreturn)) static void jt_enter32(uint32_t eip)
{
    uint64_t cs = JT_LDT_CS, ds = JT_LDT_DS, ip = eip, sp = JT_STACK_TOP;
    __asm__ volatile("mov %w1, %%ds\n\t"
                     "mov %w1, %%es\n\t"
                     "pushq %1\n\t"
                     "pushq %3\n\t"
                     "pushfq\n\t"
                     "pushq %0\n\t"
                     "pushq %2\n\t"
                     "iretq"
                     : : "r"(cs), "r"(ds), "r"(ip), "r"(sp) : "memory");
    __builtin_unreachable();
}

static void jt_jail(bool own_handler)
{
    struct raw_jail_config cfg = { .cpuid_faulting = true, .install_sigsys_handler = own_handler };
    struct rf_err err = { { 0 } };
    if (raw_jail_enter(&cfg, &err) < 0) {
        dprintf(2, "%s\n", err.msg);
        _exit(102);
    }
}

/* Runs fn in a child with stdout and stderr on pipes; collects both and the wait status. */
static void jt_run(void (*fn)(void), struct jt_result *r)
{
    /* A host without these cannot run raw mode at all: skip, saying why. */
    uint8_t ldt[16];
    if (syscall(SYS_modify_ldt, 0, ldt, sizeof(ldt)) < 0 && errno == ENOSYS)
        cr_skip_test("modify_ldt is not available on this host (CONFIG_MODIFY_LDT_SYSCALL)");
    if (prctl(PR_GET_SECCOMP) < 0 && errno == EINVAL)
        cr_skip_test("seccomp is not available on this host");
    int po[2], pe[2];
    cr_assert(pipe(po) == 0 && pipe(pe) == 0);
    memset(jt, 0, sizeof(*jt));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        fn();
        _exit(0);
    }
    close(po[1]);
    close(pe[1]);
    cr_assert(waitpid(pid, &r->status, 0) == pid);
    ssize_t n = read(po[0], r->out, sizeof(r->out) - 1);
    r->out_len = n > 0 ? (size_t)n : 0;
    r->out[r->out_len] = 0;
    n = read(pe[0], r->err, sizeof(r->err) - 1);
    r->err[n > 0 ? n : 0] = 0;
    close(po[0]);
    close(pe[0]);
}

static char jt_path[64];

static void jt_init(void)
{
    jt = mmap(NULL, sizeof(*jt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(jt != MAP_FAILED);
    snprintf(jt_path, sizeof(jt_path), "/tmp/ringfold-jail-%d", (int)getpid());
    unlink(jt_path);
}

static void jt_fini(void)
{
    unlink(jt_path);
    munmap(jt, sizeof(*jt));
}

TestSuite(raw_jail, .init = jt_init, .fini = jt_fini);

static void child_int80(bool jail)
{
    jt_setup_low(jt_int80_start, jt_int80_end, NULL);
    jt_handlers(true);
    if (jail)
        jt_jail(false);
    jt_enter32(JT_LOW);
}
static void child_int80_jailed(void) { child_int80(true); }
static void child_int80_free(void) { child_int80(false); }

/* Control: without the jail, the same guest code's int 0x80 reaches the host (the test can
 * see a leak: "hello" on fd 1, exit status 42). */
Test(raw_jail, control_int80_reaches_host_without_jail)
{
    struct jt_result r;
    jt_run(child_int80_free, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 42, "status %#x", r.status);
    cr_assert_str_eq(r.out, "hello");
}

/* (a) In the jail, each int 0x80 is a SIGSYS for the guest: arch i386, below 4 GiB, registers
 * intact, nothing done on the host. */
Test(raw_jail, guest_int80_trapped_as_guest_event)
{
    struct jt_result r;
    jt_run(child_int80_jailed, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, stderr: %s", r.status, r.err);
    cr_assert_eq(jt->n, 4);
    static const int nrs[4] = { 20, 4, -1, 1 };
    for (int i = 0; i < 4; i++) {
        const struct jt_event *e = &jt->ev[i];
        cr_assert_eq(e->arch, AUDIT_ARCH_I386);
        /* SECCOMP_RET_TRAP rolls the registers back: EAX is the guest's, not -ENOSYS. */
        cr_assert_eq((uint32_t)e->rax, (uint32_t)nrs[i], "rax %#llx", (unsigned long long)e->rax);
        cr_assert_eq(e->nr, nrs[i]);
        cr_assert_eq(e->origin, RAW_JAIL_GUEST_I386);
        cr_assert(e->ip > JT_LOW && e->ip < JT_LOW + 0x1000, "ip %#llx", (unsigned long long)e->ip);
        cr_assert_eq(e->cs, JT_LDT_CS);
        cr_assert(!e->cs_64bit);
        cr_assert_eq(e->data, RAW_JAIL_DATA_GUEST_IP);
    }
    cr_assert_eq(jt->answer, 0x1001u, "the guest got the handler's answer, not the host pid");
    cr_assert(jt->regs[0] == 1 && jt->regs[1] == JT_MSG && jt->regs[2] == 5, "registers intact");
    cr_assert_eq(r.out_len, 0u, "int 0x80 write reached the host: '%s'", r.out);
    /* The exit did not happen either: the code went on to its hlt (#GP, trapno 13). */
    cr_assert_eq(jt->final_sig, SIGSEGV);
    cr_assert_eq(jt->final_trapno, 13);
    cr_assert_eq(jt->final_ip, JT_LOW + (uint64_t)(jt_int80_end - jt_int80_start) - 1);
}

static void child_escape(bool jail)
{
    jt_setup_low(jt_esc_start, jt_esc_end, jt_path);
    volatile uint32_t *fp = (volatile uint32_t *)(uintptr_t)JT_FARPTR;
    fp[0] = JT_LOW + (uint32_t)(jt_esc64 - jt_esc_start);
    fp[1] = JT_HOST_CS64;
    jt_handlers(true);
    if (jail)
        jt_jail(false);
    jt_enter32(JT_LOW);
}
static void child_escape_jailed(void) { child_escape(true); }
static void child_escape_free(void) { child_escape(false); }

/* Control: without the jail the 64-bit payload does create the file. */
Test(raw_jail, control_escape_creates_file_without_jail)
{
    struct jt_result r;
    jt_run(child_escape_free, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x", r.status);
    cr_assert_eq(access(jt_path, F_OK), 0, "the escape payload should work without the jail");
}

/* (b) 32-bit code far-jumps to the host's 64-bit selector and makes host system calls: each is
 * trapped and classified as a contained escape; the file is never created. */
Test(raw_jail, escape_via_selector_0x33_contained)
{
    struct jt_result r;
    jt_run(child_escape_jailed, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, stderr: %s", r.status, r.err);
    cr_assert_eq(jt->n, 3);
    static const int nrs[3] = { 2, 85, 5 };
    static const uint32_t arch[3] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 };
    for (int i = 0; i < 3; i++) {
        const struct jt_event *e = &jt->ev[i];
        cr_assert_eq(e->nr, nrs[i]);
        cr_assert_eq(e->arch, arch[i]);
        cr_assert_eq(e->origin, RAW_JAIL_GUEST_ESCAPE);
        cr_assert_eq(e->cs, JT_HOST_CS64);
        cr_assert(e->cs_64bit);
        cr_assert(e->ip < (1ull << 32));
    }
    cr_assert_neq(access(jt_path, F_OK), 0, "the escape created %s", jt_path);
    cr_assert_eq(jt->final_sig, SIGILL);
    cr_assert(strstr(r.err, "jail: guest escape contained: 64-bit code (cs 0x33) made host system call 2 (open)"),
              "stderr: %s", r.err);
}

/* (c) The monitor's own forbidden calls are trapped and named, then the process aborts. */
static void child_monitor_openat(void)
{
    jt_jail(true);
    syscall(SYS_openat, AT_FDCWD, jt_path, O_WRONLY | O_CREAT, 0644);
    _exit(0);
}
static void child_monitor_execve(void)
{
    jt_jail(true);
    char *argv[] = { (char *)"/bin/true", NULL };
    execve("/bin/true", argv, environ);
    _exit(0);
}
static void child_monitor_ioctl(void)
{
    jt_jail(true);
    int n;
    ioctl(0, FIONREAD, &n);   /* ioctl is allowed for the terminal requests only */
    _exit(0);
}
static void child_monitor_kill_other(void)
{
    int parent = (int)getppid();
    jt_jail(true);
    syscall(SYS_tgkill, parent, parent, 0);   /* signals to ourselves only */
    _exit(0);
}
static void child_int80_from_64bit_code(void)
{
    jt_jail(true);
    /* An i386 call made from 64-bit code above 4 GiB: trapped by rule 2 without any help from
     * the raw engine's own i386 filter. The monitor never does this, escaped guest code can:
     * the jail's own handler reports an escape and ends the process with status 4. */
    long rax = 20;
    __asm__ volatile("int $0x80" : "+a"(rax) : : "memory");
    _exit(0);
}

static void jt_expect_violation(void (*fn)(void), const char *msg)
{
#ifdef RINGFOLD_SANITIZE
    cr_skip_test("sanitizer build: the jail does not enforce its allowlist (rawmode/jail.c)");
#endif
    struct jt_result r;
    jt_run(fn, &r);
    cr_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT, "status %#x, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, msg), "stderr '%s' lacks '%s'", r.err, msg);
}

Test(raw_jail, monitor_openat_diagnosed)
{
    jt_expect_violation(child_monitor_openat, "jail: the monitor made a forbidden system call 257 (openat) at 0x");
    cr_assert_neq(access(jt_path, F_OK), 0, "openat created %s", jt_path);
}

Test(raw_jail, monitor_execve_diagnosed)
{
    jt_expect_violation(child_monitor_execve, "forbidden system call 59 (execve)");
}

Test(raw_jail, monitor_ioctl_argument_checked)
{
    jt_expect_violation(child_monitor_ioctl, "forbidden system call 16 (ioctl)");
}

Test(raw_jail, monitor_tgkill_other_process_diagnosed)
{
    jt_expect_violation(child_monitor_kill_other, "forbidden system call 234 (tgkill)");
}

Test(raw_jail, i386_call_from_64bit_code_trapped_as_escape)
{
    struct jt_result r;
    jt_run(child_int80_from_64bit_code, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 4, "status %#x, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, "jail: guest escape contained: 64-bit code (cs 0x33) made host system call i386 20 at 0x"),
              "stderr: %s", r.err);
}

static void child_syscall(void)
{
    jt_setup_low(jt_syscall_start, jt_syscall_end, NULL);
    jt_handlers(true);
    jt_jail(false);
    jt_enter32(JT_LOW);
}

Test(raw_jail, guest_syscall_insn_trapped_or_undefined)
{
    struct jt_result r;
    jt_run(child_syscall, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, stderr: %s", r.status, r.err);
    if (jt->n == 0) {
        cr_assert_eq(jt->final_sig, SIGILL);
        cr_assert_eq(jt->final_ip, JT_LOW + 7, "#UD at the syscall");
        cr_log_info("syscall from compat mode: #UD (Intel behaviour)");
    } else {
        const struct jt_event *e = &jt->ev[0];
        cr_log_info("syscall from compat mode: i386 call %d at %#llx cs %#x rax %#llx origin %d (AMD behaviour)",
                    e->nr, (unsigned long long)e->ip, e->cs, (unsigned long long)e->rax, e->origin);
        cr_assert_eq(e->arch, AUDIT_ARCH_I386);
        cr_assert_eq(e->nr, 20);
        cr_assert_eq(e->origin, RAW_JAIL_GUEST_FASTCALL);
    }
}

static void child_sysenter(void)
{
    jt_setup_low(jt_sysenter_start, jt_sysenter_end, NULL);
    jt_handlers(true);
    jt_jail(false);
    jt_enter32(JT_LOW);
}

/* sysenter from compat mode never reaches the host as a system call: AMD raises #UD (SIGILL
 * at the instruction), Intel enters the kernel's SYSENTER path, which the jail traps and
 * classifies as the guest's sysenter. */
Test(raw_jail, guest_sysenter_trapped_or_undefined)
{
    struct jt_result r;
    jt_run(child_sysenter, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, stderr: %s", r.status, r.err);
    if (jt->n == 0) {
        cr_assert_eq(jt->final_sig, SIGILL);
        cr_assert_eq(jt->final_ip, JT_LOW + 2, "#UD at the sysenter");
        cr_log_info("sysenter from compat mode: #UD (AMD behaviour)");
    } else {
        cr_assert_eq(jt->ev[0].origin, RAW_JAIL_GUEST_FASTCALL);
        cr_assert_eq(jt->ev[0].arch, AUDIT_ARCH_I386);
        cr_log_info("sysenter from compat mode: i386 system call %d at %#llx (Intel behaviour)", jt->ev[0].nr,
                    (unsigned long long)jt->ev[0].ip);
    }
}

/* (d) What the monitor needs still works in the jail. */
static volatile sig_atomic_t jt_usr1;
static void jt_on_usr1(int sig) { (void)sig; jt_usr1 = 1; }

static void child_allowed(void)
{
    int keep = open("/dev/null", O_RDONLY);
    int drop = open("/dev/null", O_RDONLY);
    struct raw_jail_config cfg = { .keep_fds = &keep, .n_keep_fds = 1, .cpuid_faulting = false,
                                   .install_sigsys_handler = true };
    struct rf_err err = { { 0 } };
    if (raw_jail_enter(&cfg, &err) < 0) {
        dprintf(2, "%s\n", err.msg);
        _exit(102);
    }
    int bad = 0;
    struct timespec ts;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 || clock_gettime(CLOCK_REALTIME, &ts) != 0)
        bad |= 1;
    void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) != 0 || madvise(p, 8192, MADV_DONTNEED) != 0 ||
        munmap(p, 8192) != 0)
        bad |= 2;
    struct timespec d = { 0, 1000000 };
    if (nanosleep(&d, NULL) != 0)
        bad |= 4;
    if (fcntl(keep, F_GETFD) < 0 || fcntl(drop, F_GETFD) >= 0 || errno != EBADF)
        bad |= 8;   /* kept descriptor open, the other one closed */
    struct stat st;
    if (fstat(1, &st) != 0 || !S_ISFIFO(st.st_mode))
        bad |= 16;
    if (ioctl(1, TCGETS, &ts) == 0 || errno != ENOTTY)
        bad |= 32;   /* allowed (isatty), fails normally on a pipe */
    signal(SIGUSR1, jt_on_usr1);
    raise(SIGUSR1);
    if (!jt_usr1)
        bad |= 64;
    uint8_t ldt[16];
    if (syscall(SYS_modify_ldt, 0, ldt, sizeof(ldt)) < 0)
        bad |= 128;
    timer_t t;
    struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    struct itimerspec its = { .it_value = { 10, 0 } };
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0 || timer_settime(t, 0, &its, NULL) != 0 ||
        timer_delete(t) != 0)
        bad |= 256;
    void *m = malloc(1 << 20);
    free(m);
    struct raw_jail_stats s;
    raw_jail_get_stats(&s);
    if (!s.entered || s.syscalls_allowed < 40 || s.fds_closed < 1)
        bad |= 512;
    printf("allowed %d\n", bad);
    raw_jail_print_stats(stdout);
    fflush(stdout);
    _exit(bad ? 1 : 0);
}

static void child_keep_open(void)
{
    int fd = open("/dev/null", O_RDONLY);
    struct raw_jail_config cfg = { .keep_open_fds = true, .install_sigsys_handler = true };
    struct rf_err err = { { 0 } };
    if (raw_jail_enter(&cfg, &err) < 0)
        _exit(102);
    struct raw_jail_stats s;
    raw_jail_get_stats(&s);
    raw_jail_print_stats(stdout);
    fflush(stdout);
    _exit(fcntl(fd, F_GETFD) >= 0 && s.fds_kept_open && s.fds_closed == 0 ? 0 : 1);
}

Test(raw_jail, keep_open_fds_closes_nothing)
{
    struct jt_result r;
    jt_run(child_keep_open, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, out: %s", r.status, r.out);
    cr_assert(strstr(r.out, "descriptors NOT closed"), "out: %s", r.out);
}

Test(raw_jail, allowed_calls_work)
{
    struct jt_result r;
    jt_run(child_allowed, &r);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, out: %s, stderr: %s", r.status,
              r.out, r.err);
    cr_assert(strstr(r.out, "allowed 0\n"), "out: %s", r.out);
    cr_assert(strstr(r.out, "jail: seccomp filter installed"), "out: %s", r.out);
    cr_assert(strstr(r.out, "monitor violations 0"), "out: %s", r.out);
}

/* CPUID faulting: whatever the host offers, the jail's report agrees with the kernel. */
static void child_cpuid(void)
{
    jt_jail(true);
    struct raw_jail_stats s;
    raw_jail_get_stats(&s);
    long on = syscall(SYS_arch_prctl, 0x1011 /* ARCH_GET_CPUID */, 0L);
    /* ARCH_GET_CPUID returns 1 while CPUID runs normally, 0 while it faults. */
    printf("faulting %d errno %d get %ld\n", s.cpuid_faulting, s.cpuid_errno, on);
    fflush(stdout);
    _exit(s.cpuid_faulting == (on == 0) && (s.cpuid_faulting || s.cpuid_errno) ? 0 : 1);
}

Test(raw_jail, cpuid_faulting_reported)
{
    struct jt_result r;
    jt_run(child_cpuid, &r);
    cr_log_info("%s", r.out);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x, out: %s, stderr: %s", r.status,
              r.out, r.err);
}

/* The classifier alone: the address and the code segment decide. */
Test(raw_jail, classify_by_address_and_segment)
{
    siginfo_t si;
    ucontext_t uc;
    memset(&si, 0, sizeof(si));
    memset(&uc, 0, sizeof(uc));
    si.si_signo = SIGSYS;
    si.si_syscall = 4;
    si.si_arch = AUDIT_ARCH_I386;
    si.si_call_addr = (void *)(uintptr_t)0x1000;
    uc.uc_mcontext.gregs[REG_CSGSFS] = JT_HOST_CS32;
    cr_assert_eq(raw_jail_classify(&si, &uc, NULL), RAW_JAIL_GUEST_I386);
    uc.uc_mcontext.gregs[REG_CSGSFS] = JT_HOST_CS64;
    cr_assert_eq(raw_jail_classify(&si, &uc, NULL), RAW_JAIL_GUEST_ESCAPE);
    si.si_arch = AUDIT_ARCH_X86_64;
    uc.uc_mcontext.gregs[REG_CSGSFS] = JT_HOST_CS32;
    cr_assert_eq(raw_jail_classify(&si, &uc, NULL), RAW_JAIL_GUEST_ESCAPE);
    si.si_call_addr = (void *)(uintptr_t)0x7f0000001000ull;
    uc.uc_mcontext.gregs[REG_CSGSFS] = JT_HOST_CS64;
    struct raw_jail_sigsys s;
    cr_assert_eq(raw_jail_classify(&si, &uc, &s), RAW_JAIL_MONITOR);
    cr_assert_eq(s.nr, 4);
    /* The same from saved values: sysenter on Intel reports a vDSO IP above 4 GiB with CS 0x23. */
    cr_assert_eq(raw_jail_classify_call(AUDIT_ARCH_I386, 4, 0x7fff00001000ull, JT_HOST_CS32, NULL),
                 RAW_JAIL_GUEST_FASTCALL);
    cr_assert_eq(raw_jail_classify_call(AUDIT_ARCH_I386, 4, 0x7fff00001000ull, JT_HOST_CS64, NULL),
                 RAW_JAIL_GUEST_ESCAPE);
    cr_assert_eq(raw_jail_classify_call(AUDIT_ARCH_X86_64, 2, 0x1000, 0, NULL), RAW_JAIL_GUEST_ESCAPE);
    cr_assert_eq(raw_jail_classify_call(AUDIT_ARCH_I386, 4, 0x1000, JT_LDT_CS, NULL), RAW_JAIL_GUEST_I386);
    cr_assert_str_eq(raw_jail_syscall_name(257), "openat");
    cr_assert_str_eq(raw_jail_syscall_name(100000), "?");
}
