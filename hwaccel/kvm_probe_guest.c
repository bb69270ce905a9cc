/* The probe's two tiny test guests, run through raw KVM ioctls: can this /dev/kvm run an
 * unpaged 32-bit protected-mode guest, and one that turns paging on?
 *
 * Why run guests at all: CPUID and module names say what the host claims; a guest that
 * runs says what it does. KVM-PVM (ARCHITECTURE.md "Hardware engine") accepts every ioctl
 * and runs unpaged code through its instruction emulator, but a 32-bit guest that sets
 * CR0.PG triple-faults. Each guest ends by writing a value it read from memory to an I/O
 * port, which KVM reports as KVM_EXIT_IO; the paged guest reads it through a page that is
 * NOT identity mapped, so a host that ignored CR0.PG would write the wrong value.
 *
 * Each guest runs in a forked child with an alarm: a vCPU that spins in guest mode would
 * otherwise hold KVM_RUN (and the probe) forever, and the child's VM and its memory go
 * away with it whatever happens. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "kvm_probe.h"

/* Guest-physical layout (one 24 KiB slot at 0). */
enum {
    GUEST_MEM = KVM_PROBE_GUEST_MEM,
    GUEST_CODE = KVM_PROBE_GUEST_ENTRY,   /* identity mapped */
    GUEST_PD = 0x2000,
    GUEST_PT = 0x3000,
    GUEST_DATA = 0x4000,      /* the value to read; the paged guest sees it at linear 0x5000 */
    GUEST_ALIAS = 0x5000,     /* phys 0x5000 stays zero: reading it unpaged gives 0 */
    GUEST_PORT = KVM_PROBE_GUEST_PORT,
};
static const uint32_t probe_magic = KVM_PROBE_GUEST_MAGIC;
_Static_assert(GUEST_ALIAS + 4 <= GUEST_MEM, "the alias page lies inside the slot");

#define LE16(v) (uint8_t)(v), (uint8_t)((v) >> 8)
#define LE32(v) LE16(v), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

/* Unpaged: mov eax,[GUEST_DATA]; mov dx,GUEST_PORT; out dx,eax; hlt */
static const uint8_t code_unpaged[] = {
    0xA1, LE32(GUEST_DATA),
    0x66, 0xBA, LE16(GUEST_PORT), 0xEF, 0xF4,
};
/* Paged: load CR3, set CR0.PG (SDM Vol. 3A 9.9.1: the instruction after MOV CR0 is fetched
 * through the new mapping, hence the identity-mapped code page), then read the alias. */
static const uint8_t code_paged[] = {
    0xB8, LE32(GUEST_PD),               /* mov eax, GUEST_PD */
    0x0F, 0x22, 0xD8,                   /* mov cr3, eax */
    0x0F, 0x20, 0xC0,                   /* mov eax, cr0 */
    0x0D, 0x00, 0x00, 0x00, 0x80,       /* or eax, 0x80000000 */
    0x0F, 0x22, 0xC0,                   /* mov cr0, eax */
    0xEB, 0x00,                         /* jmp $+2 */
    0xA1, LE32(GUEST_ALIAS),            /* mov eax, [GUEST_ALIAS] */
    0x66, 0xBA, LE16(GUEST_PORT),       /* mov dx, GUEST_PORT */
    0xEF, 0xF4,                         /* out dx, eax; hlt */
};

void kvm_probe_guest_image(bool paged, unsigned char mem[KVM_PROBE_GUEST_MEM])
{
    memset(mem, 0, GUEST_MEM);
    if (paged) {
        memcpy(mem + GUEST_CODE, code_paged, sizeof code_paged);
        /* 32-bit non-PAE paging (SDM Vol. 3A 4.3): PDE 0 -> PT; PTE 1 identity, PTE 5 -> data.
         * Present | writable. */
        uint32_t pde = GUEST_PT | 3, pte_code = GUEST_CODE | 3, pte_alias = GUEST_DATA | 3;
        memcpy(mem + GUEST_PD, &pde, 4);
        memcpy(mem + GUEST_PT + 4 * (GUEST_CODE >> 12), &pte_code, 4);
        memcpy(mem + GUEST_PT + 4 * (GUEST_ALIAS >> 12), &pte_alias, 4);
    } else {
        memcpy(mem + GUEST_CODE, code_unpaged, sizeof code_unpaged);
    }
    memcpy(mem + GUEST_DATA, &probe_magic, 4);
}

/* What one guest run ended with, passed from the child to the parent. */
struct guest_result {
    int ok;                 /* 1: KVM_EXIT_IO out of probe_magic to GUEST_PORT */
    char detail[72];
};

static void guest_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    memset(s, 0, sizeof *s);
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->db = 1;
    s->g = 1;
}

static void guest_fail(struct guest_result *r, const char *what)
{
    snprintf(r->detail, sizeof r->detail, "%s: %s", what, strerror(errno));
}

/* Creates the VM, runs the guest to its first exit that is not a retry, fills r. */
static void guest_run_one(int kvm_fd, bool paged, struct guest_result *r)
{
    int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm < 0) {
        guest_fail(r, "KVM_CREATE_VM");
        return;
    }
    /* VMX without unrestricted guest needs a TSS area for real mode; harmless elsewhere. */
    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0)
        ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
    uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        guest_fail(r, "mmap");
        return;
    }
    struct kvm_userspace_memory_region slot = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
        .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
        guest_fail(r, "KVM_SET_USER_MEMORY_REGION");
        return;
    }
    kvm_probe_guest_image(paged, mem);

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        guest_fail(r, "KVM_CREATE_VCPU");
        return;
    }
    int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) {
        guest_fail(r, "KVM_GET_VCPU_MMAP_SIZE");
        return;
    }
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        guest_fail(r, "mmap(vcpu)");
        return;
    }

    /* Start directly in flat 32-bit protected mode (SDM Vol. 3A 9.9.1 without the far jump):
     * TR and LDTR keep KVM's reset values, which VM entry accepts. */
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        guest_fail(r, "KVM_GET_SREGS");
        return;
    }
    guest_seg(&sregs.cs, 0x08, 0xb);
    guest_seg(&sregs.ds, 0x10, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 = 0x11;          /* PE | ET */
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
        guest_fail(r, "KVM_SET_SREGS");
        return;
    }
    struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 0x2, .rsp = GUEST_MEM };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        guest_fail(r, "KVM_SET_REGS");
        return;
    }

    for (int tries = 0; tries < 16; tries++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            guest_fail(r, "KVM_RUN");
            return;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint32_t v = 0;
            memcpy(&v, (uint8_t *)run + run->io.data_offset, run->io.size <= 4 ? run->io.size : 4);
            r->ok = run->io.direction == KVM_EXIT_IO_OUT && run->io.port == GUEST_PORT &&
                    run->io.size == 4 && v == probe_magic;
            snprintf(r->detail, sizeof r->detail, "KVM_EXIT_IO port %#x value %#x%s",
                     run->io.port, v, r->ok ? "" : " (wrong)");
            return;
        }
        case KVM_EXIT_SHUTDOWN:
            snprintf(r->detail, sizeof r->detail, "SHUTDOWN (triple fault)");
            return;
        case KVM_EXIT_FAIL_ENTRY:
            snprintf(r->detail, sizeof r->detail, "FAIL_ENTRY (reason %#llx)",
                     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return;
        case KVM_EXIT_INTERNAL_ERROR:
            snprintf(r->detail, sizeof r->detail, "INTERNAL_ERROR (suberror %u)",
                     run->internal.suberror);
            return;
        case KVM_EXIT_HLT:
            snprintf(r->detail, sizeof r->detail, "HLT before the port write");
            return;
        default:
            snprintf(r->detail, sizeof r->detail, "exit reason %u", run->exit_reason);
            return;
        }
    }
    snprintf(r->detail, sizeof r->detail, "KVM_RUN interrupted repeatedly");
}

/* Runs one guest in a child process with a 5 s alarm; returns 1 ran correctly, 0 failed. */
static int guest_run_isolated(int kvm_fd, bool paged, char *detail, size_t len)
{
    int fds[2];
    if (pipe(fds) < 0) {
        snprintf(detail, len, "pipe: %s", strerror(errno));
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(detail, len, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        struct guest_result r = { 0, "" };
        close(fds[0]);
        signal(SIGALRM, SIG_DFL);
        alarm(5);
        guest_run_one(kvm_fd, paged, &r);
        ssize_t n = write(fds[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    struct guest_result r = { 0, "" };
    ssize_t n;
    do
        n = read(fds[0], &r, sizeof r);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof r) {
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            snprintf(detail, len, "no exit within 5 s");
        else
            snprintf(detail, len, "test process failed (status %#x)", (unsigned)status);
        return 0;
    }
    snprintf(detail, len, "%s", r.detail);
    return r.ok;
}

void kvm_probe_run_guests(int kvm_fd, struct kvm_host_profile *p)
{
    char unpaged[80], paged[80];
    p->unpaged_guest = guest_run_isolated(kvm_fd, false, unpaged, sizeof unpaged);
    p->paged_guest = guest_run_isolated(kvm_fd, true, paged, sizeof paged);
    snprintf(p->guest_detail, sizeof p->guest_detail, "unpaged: %.70s; paged: %.70s", unpaged, paged);
}
