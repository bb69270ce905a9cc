/* The KVM host probe: gathers what this host offers for hardware virtualization, runs two
 * tiny test guests, and decides whether `kvm` can run a guest here (docs/probe.md). */
#ifndef RINGFOLD_HWACCEL_KVM_PROBE_H
#define RINGFOLD_HWACCEL_KVM_PROBE_H

#include <stdbool.h>
#include <stdio.h>
#include "ringfold/err.h"

struct kvm_host_profile {           /* facts, gathered or recorded */
    char cpu_vendor[13];            /* CPUID leaf 0 */
    char cpu_brand[49];
    bool cpuid_vmx, cpuid_svm, cpuid_hypervisor;
    bool dev_present;               /* /dev/kvm exists */
    int dev_open_errno;             /* 0: opened O_RDWR; else errno (EACCES...) */
    int api_version;                /* KVM_GET_API_VERSION, -1 unknown */
    bool cap_user_memory, cap_ext_cpuid, cap_immediate_exit, cap_irqchip, cap_set_tss_addr;
    int max_memslots;
    char module[16];                /* "kvm_intel", "kvm_amd", "kvm_pvm", "" */
    int ept, npt, vpid, unrestricted_guest, nested;   /* module params: 1/0, -1 unknown */
    bool pvm;                       /* evidence this /dev/kvm is KVM-PVM */
    char pvm_evidence[128];
    int paged_guest;                /* tiny paged 32-bit guest: 1 ran correctly, 0 failed, -1 not run */
    int unpaged_guest;              /* tiny unpaged protected-mode guest: same */
    char guest_detail[160];         /* what the test guests did (exit reason, value) */
    /* Added fields (not in the original interface). */
    unsigned dev_mode;              /* /dev/kvm st_mode (permission bits), 0 unknown */
    unsigned dev_uid, dev_gid;      /* /dev/kvm owner */
    char dev_owner[32];             /* "user:group" names where known */
};

struct kvm_decision {
    bool hw_virt;                   /* real VT-x/AMD-V that runs a paged 32-bit guest */
    bool can_run_unpaged;           /* KVM usable for real mode / unpaged protected mode */
    bool can_run_paged;
    char reason[256];               /* one line, for messages: why (not) */
};

/* Gathers the facts (cached after the first call; run_guests runs the tiny test guests). */
const struct kvm_host_profile *kvm_probe_host(bool run_guests);
/* Pure: the decision for a profile (unit-tested against recorded profiles). */
void kvm_probe_decide(const struct kvm_host_profile *p, struct kvm_decision *d);
/* Reads a recorded profile ("key = value" lines) / writes one; for tests and `probe --record`. */
int kvm_profile_parse(const char *text, struct kvm_host_profile *p, struct rf_err *err);
void kvm_profile_write(const struct kvm_host_profile *p, FILE *out);

/* Runs the two tiny test guests on an open /dev/kvm fd (hwaccel/kvm_probe_guest.c); fills
 * paged_guest, unpaged_guest and guest_detail. */
void kvm_probe_run_guests(int kvm_fd, struct kvm_host_profile *p);

/* The test guests' memory image (KVM_PROBE_GUEST_MEM bytes at guest-physical 0), so other
 * engines can check the very same bytes: started in flat 32-bit protected mode at
 * KVM_PROBE_GUEST_ENTRY with paging off, a correct CPU writes KVM_PROBE_GUEST_MAGIC to
 * KVM_PROBE_GUEST_PORT (32-bit OUT) and halts. */
#define KVM_PROBE_GUEST_MEM   0x6000u
#define KVM_PROBE_GUEST_ENTRY 0x1000u
#define KVM_PROBE_GUEST_PORT  0x0510u
#define KVM_PROBE_GUEST_MAGIC 0x5A17C0DEu
void kvm_probe_guest_image(bool paged, unsigned char mem[KVM_PROBE_GUEST_MEM]);

#endif
