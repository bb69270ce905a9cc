/* CPUID for the kvm engine: the VM's CPU model (the same one emu answers from) handed to KVM with
 * KVM_SET_CPUID2, so a guest sees one processor whichever engine runs it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "ringfold/cpu_model.h"
#include "kvm_priv.h"

/* Bounds on what we hand over: a model reporting absurd maxima must not make us allocate or
 * loop without end. 32 basic and 32 extended leaves cover every model of this era many times. */
#define CPUID_MAX_BASIC 0x1fu
#define CPUID_MAX_EXT   0x8000001fu
#define CPUID_SUBLEAVES 8u
#define CPUID_MAX_ENTRIES 160

/* Leaves whose output depends on ECX (SDM Vol. 2 CPUID): deterministic cache parameters (4),
 * structured extended features (7), topology (0xB, 0x1F), XSAVE (0xD), and the resource
 * leaves 0xF, 0x10, 0x12, 0x14, 0x17, 0x18. */
static bool cpuid_indexed(uint32_t leaf)
{
    switch (leaf) {
    case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14: case 0x17:
    case 0x18: case 0x1f:
        return true;
    default:
        return false;
    }
}

static void cpuid_add(struct kvm_cpuid2 *c, const struct cpu_model *m, uint32_t leaf)
{
    uint32_t subs = cpuid_indexed(leaf) ? CPUID_SUBLEAVES : 1;
    for (uint32_t sub = 0; sub < subs && c->nent < CPUID_MAX_ENTRIES; sub++) {
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
        uint32_t r[4];
        memset(e, 0, sizeof(*e));
        cpu_model_cpuid(m, leaf, sub, r);
        e->function = leaf;
        e->index = sub;
        e->flags = cpuid_indexed(leaf) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
        e->eax = r[0];
        e->ebx = r[1];
        e->ecx = r[2];
        e->edx = r[3];
    }
}

int kvm_cpuid_setup(struct kvm_engine *k, const struct cpu_model *m, struct rf_err *err)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
    if (!c)
        return rf_errf(err, -ENOMEM, "engine kvm: out of memory for CPUID");
    uint32_t r[4];
    cpu_model_cpuid(m, 0, 0, r);
    uint32_t max_basic = r[0] < CPUID_MAX_BASIC ? r[0] : CPUID_MAX_BASIC;
    for (uint32_t leaf = 0; leaf <= max_basic; leaf++)
        cpuid_add(c, m, leaf);
    cpu_model_cpuid(m, 0x80000000u, 0, r);
    if (r[0] >= 0x80000000u) {
        uint32_t max_ext = r[0] < CPUID_MAX_EXT ? r[0] : CPUID_MAX_EXT;
        for (uint32_t leaf = 0x80000000u; leaf <= max_ext; leaf++)
            cpuid_add(c, m, leaf);
    }
    int rc = 0;
    if (ioctl(k->vcpu_fd, KVM_SET_CPUID2, c) < 0) {
        int e = errno;
        rc = rf_errf(err, -e, "engine kvm: KVM_SET_CPUID2 (%u entries from CPU model %s): %s",
                     c->nent, cpu_model_name(m), strerror(e));
    }
    free(c);
    return rc;
}
