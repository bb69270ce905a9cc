/* The raw engine's authorization rule for guest-user processes (rawmode/raw_stub_run.c): a held
 * mmap/mprotect runs only when it is exactly the operation the monitor queued. Every argument
 * and every range check is tried one at a time, so a rule that ignored any of them fails here. */
#include <criterion/criterion.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "../../rawmode/raw_stub.h"

#define PID 4242
#define MIN_ADDR 0x1000ull
#define MEM (64ull << 20)

static struct raw_stub_op map_op(void)
{
    return (struct raw_stub_op){ .kind = RAW_STUB_OP_MAP, .prot = PROT_READ | PROT_WRITE, .addr = 0x08048000,
                                 .len = 0x2000, .pa = 0x300000 };
}

/* The notification the stub's own mmap(op) produces. */
static struct seccomp_notif notif_for(const struct raw_stub_op *op)
{
    struct seccomp_notif n;
    memset(&n, 0, sizeof(n));
    n.pid = PID;
    n.data.arch = AUDIT_ARCH_X86_64;
    if (op->kind == RAW_STUB_OP_MAP) {
        n.data.nr = SYS_mmap;
        n.data.args[0] = op->addr;
        n.data.args[1] = op->len;
        n.data.args[2] = op->prot;
        n.data.args[3] = MAP_FIXED | MAP_SHARED;
        n.data.args[4] = RAW_STUB_FD_MEM;
        n.data.args[5] = op->pa;
    } else {
        n.data.nr = SYS_mprotect;
        n.data.args[0] = op->addr;
        n.data.args[1] = op->len;
        n.data.args[2] = op->prot;
    }
    return n;
}

static bool ok(const struct seccomp_notif *n, const struct raw_stub_op *op)
{
    return raw_stub_request_matches(n, op, PID, MIN_ADDR, MEM);
}

Test(raw_stub, exact_mmap_and_mprotect_are_allowed)
{
    struct raw_stub_op op = map_op();
    struct seccomp_notif n = notif_for(&op);
    cr_assert(ok(&n, &op));
    struct raw_stub_op pr = { .kind = RAW_STUB_OP_PROTECT, .prot = PROT_READ, .addr = 0x08048000, .len = 0x1000 };
    n = notif_for(&pr);
    cr_assert(ok(&n, &pr));
}

Test(raw_stub, any_differing_mmap_argument_is_refused)
{
    struct raw_stub_op op = map_op();
    for (int i = 0; i < 6; i++) {
        struct seccomp_notif n = notif_for(&op);
        n.data.args[i] ^= i == 3 ? MAP_PRIVATE | MAP_SHARED : 0x1000;
        cr_assert(!ok(&n, &op), "mmap argument %d changed but allowed", i);
    }
    struct seccomp_notif n = notif_for(&op);
    n.data.args[2] |= PROT_EXEC;
    cr_assert(!ok(&n, &op), "more rights than queued");
    n = notif_for(&op);
    n.data.args[4] = 3;     /* another descriptor: the shared control area */
    cr_assert(!ok(&n, &op));
}

Test(raw_stub, wrong_process_arch_or_call_is_refused)
{
    struct raw_stub_op op = map_op();
    struct seccomp_notif n = notif_for(&op);
    n.pid = PID + 1;
    cr_assert(!ok(&n, &op), "another process");
    n = notif_for(&op);
    n.data.arch = AUDIT_ARCH_I386;
    cr_assert(!ok(&n, &op), "i386 arch");
    n = notif_for(&op);
    n.data.nr = SYS_mprotect;
    cr_assert(!ok(&n, &op), "mprotect where an mmap was queued");
    struct raw_stub_op res = { .kind = RAW_STUB_OP_RESERVE, .addr = op.addr, .len = op.len };
    n = notif_for(&op);
    cr_assert(!ok(&n, &res), "a reservation is never authorized (it needs no authorization)");
}

Test(raw_stub, ranges_outside_the_guest_space_or_ram_are_refused_even_if_queued)
{
    struct raw_stub_op bad[] = {
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0, .len = 0x1000, .pa = 0 },              /* below min */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0xfffff000, .len = 0x2000, .pa = 0 },     /* past 4 GiB */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x100000000ull, .len = 0x1000, .pa = 0 }, /* above */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048800, .len = 0x1000, .pa = 0 },     /* unaligned */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048000, .len = 0, .pa = 0 },          /* empty */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048000, .len = 0x1000, .pa = MEM },   /* past RAM */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048000, .len = 0x2000, .pa = MEM - 0x1000 },
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048000, .len = 0x1000, .pa = 0x800 }, /* unaligned pa */
        { .kind = RAW_STUB_OP_MAP, .prot = PROT_READ, .addr = 0x08048000, .len = 0x1000, .pa = ~0ull - 0xfff },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seccomp_notif n = notif_for(&bad[i]);
        cr_assert(!ok(&n, &bad[i]), "case %zu allowed", i);
    }
}
