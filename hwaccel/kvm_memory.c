/* Guest RAM for the kvm engine: the VM's memfd (already mapped by the monitor at vm->mem.host)
 * registered as KVM memory slots, with the VGA window left out so guest accesses there exit to
 * ringfold's MMIO bus, and the A20 gate modelled by re-pointing the slot above 1 MiB. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "ringfold/vm.h"
#include "kvm_priv.h"

#define MIB (1ull << 20)

/* Slot numbers: below the VGA hole, between it and 1 MiB, the A20 megabyte, the rest. */
enum { SLOT_LOW, SLOT_ROM, SLOT_A20, SLOT_HIGH };

static int kvm_slot_set(struct kvm_engine *k, uint32_t slot, uint64_t gpa, uint64_t size,
                        uint64_t host_off, struct rf_err *err)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)(k->vm->mem.host + host_off),
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        int e = errno;
        return rf_errf(err, -e, "engine kvm: memory slot %u (%#llx+%#llx): %s", slot,
                       (unsigned long long)gpa, (unsigned long long)size, strerror(e));
    }
    return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The A20 megabyte: guest physical [1 MiB, 2 MiB). With the gate closed physical bit 20 is forced
 * to 0 (vm.h), so these addresses reach [0, 1 MiB): the slot points at the first megabyte of the
 * memfd instead. Two simplifications, documented in docs/kvm.md: only this megabyte is aliased
 * (the 8086 wrap-around at FFFF:0010 is what software that turns A20 off relies on; the other
 * odd megabytes stay as they are), and 0x1A0000..0x1BFFFF shows the RAM behind the VGA hole
 * where a PC would decode VGA. */
static int kvm_slot_a20(struct kvm_engine *k, bool aliased, struct rf_err *err)
{
    uint64_t size = k->vm->mem.size;
    if (size <= MIB)
        return 0;
    uint64_t len = min_u64(size, 2 * MIB) - MIB;
    int rc = kvm_slot_set(k, SLOT_A20, MIB, 0, 0, err);     /* delete, then re-create */
    if (rc < 0)
        return rc;
    rc = kvm_slot_set(k, SLOT_A20, MIB, len, aliased ? 0 : MIB, err);
    if (rc == 0)
        k->a20_aliased = aliased;
    return rc;
}

int kvm_memory_setup(struct kvm_engine *k, struct rf_err *err)
{
    uint64_t size = k->vm->mem.size;
    int rc = kvm_slot_set(k, SLOT_LOW, 0, min_u64(size, PC_VGA_HOLE_START), 0, err);
    if (rc == 0 && size > PC_VGA_HOLE_END)
        rc = kvm_slot_set(k, SLOT_ROM, PC_VGA_HOLE_END, min_u64(size, MIB) - PC_VGA_HOLE_END,
                          PC_VGA_HOLE_END, err);
    if (rc == 0 && size > MIB)
        rc = kvm_slot_set(k, SLOT_A20, MIB, min_u64(size, 2 * MIB) - MIB, MIB, err);
    if (rc == 0 && size > 2 * MIB)
        rc = kvm_slot_set(k, SLOT_HIGH, 2 * MIB, size - 2 * MIB, 2 * MIB, err);
    if (rc < 0)
        return rc;
    k->a20_aliased = false;
    k->a20_seen_gen = k->vm->a20_gen;
    return kvm_memory_a20_sync(k, err);
}

int kvm_memory_a20_sync(struct kvm_engine *k, struct rf_err *err)
{
    struct vm *vm = k->vm;
    bool want = vm->a20_clear != VM_A20_ON;
    k->a20_seen_gen = vm->a20_gen;
    if (want == k->a20_aliased)
        return 0;
    k->stats.a20_remaps++;
    return kvm_slot_a20(k, want, err);
}
