/* The KVM probe: its decision against recorded host profiles (tests/unit/kvm_profiles/), the
 * profile format, and the live probe's consistency on whatever host runs the test. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ringfold/vm.h"
#include "ringfold/x86_emulate.h"
#include "../../hwaccel/kvm_probe.h"

/* The profiles sit beside this file; CMake compiles it by absolute path. */
static void profile_load(const char *name, struct kvm_host_profile *p)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/kvm_profiles/%s", dir, slash ? __FILE__ : ".", name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    struct rf_err err = { { 0 } };
    cr_assert_eq(kvm_profile_parse(text, p, &err), 0, "%s: %s", name, err.msg);
}

static void decide_file(const char *name, struct kvm_decision *d)
{
    struct kvm_host_profile p;
    profile_load(name, &p);
    kvm_probe_decide(&p, d);
}

#define assert_reason_has(d, word) \
    cr_assert(strstr((d).reason, (word)), "reason lacks \"%s\": %s", (word), (d).reason)
#define assert_reason_lacks(d, word) \
    cr_assert(!strstr((d).reason, (word)), "reason has \"%s\": %s", (word), (d).reason)

Test(kvm_decide, vtx_with_ept)
{
    struct kvm_decision d;
    decide_file("vtx_ept.txt", &d);
    cr_assert(d.hw_virt);
    cr_assert(d.can_run_paged);
    cr_assert(d.can_run_unpaged);
    assert_reason_has(d, "VT-x");
    assert_reason_has(d, "kvm_intel");
    assert_reason_has(d, "EPT");
    assert_reason_lacks(d, "no EPT");
}

Test(kvm_decide, vtx_without_ept_is_still_hw_virt)
{
    struct kvm_decision d;
    decide_file("vtx_noept.txt", &d);
    cr_assert(d.hw_virt);
    cr_assert(d.can_run_paged);
    assert_reason_has(d, "VT-x");
    assert_reason_has(d, "no EPT");
    assert_reason_has(d, "no unrestricted guest");
}

Test(kvm_decide, amdv_with_npt)
{
    struct kvm_decision d;
    decide_file("amdv_npt.txt", &d);
    cr_assert(d.hw_virt);
    cr_assert(d.can_run_paged);
    assert_reason_has(d, "AMD-V");
    assert_reason_has(d, "kvm_amd");
    assert_reason_has(d, "NPT");
    assert_reason_lacks(d, "no NPT");
}

Test(kvm_decide, pvm_this_host)
{
    struct kvm_host_profile p;
    profile_load("pvm.txt", &p);
    cr_assert(p.pvm);
    cr_assert_str_eq(p.module, "kvm_pvm");
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_paged);
    cr_assert(d.can_run_unpaged);
    assert_reason_has(d, "no hardware virtualization (KVM-PVM: ");
    assert_reason_has(d, "kvm_pvm");
    assert_reason_has(d, "unpaged guests only");
    assert_reason_has(d, "triple-faults");
}

/* Where module names are hidden, the test guests alone show PVM: no vmx/svm, the unpaged guest
 * runs, the paged one triple-faults. */
Test(kvm_decide, pvm_from_guests_alone)
{
    struct kvm_host_profile p;
    profile_load("pvm.txt", &p);
    p.module[0] = 0;
    p.pvm = false;
    p.pvm_evidence[0] = 0;
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert(d.can_run_unpaged);
    assert_reason_has(d, "KVM-PVM: no vmx/svm, paged guest fails");
}

Test(kvm_decide, pvm_claiming_a_paged_guest_is_still_not_hw_virt)
{
    struct kvm_host_profile p;
    profile_load("pvm.txt", &p);
    p.paged_guest = 1;
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_paged);
}

Test(kvm_decide, no_dev_kvm)
{
    struct kvm_decision d;
    decide_file("no_dev.txt", &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_unpaged);
    cr_assert_not(d.can_run_paged);
    assert_reason_has(d, "no /dev/kvm");
    assert_reason_has(d, "neither VT-x nor AMD-V");
}

Test(kvm_decide, no_dev_kvm_with_vtx_says_which_module)
{
    struct kvm_host_profile p;
    profile_load("no_dev.txt", &p);
    p.cpuid_vmx = true;
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    assert_reason_has(d, "kvm_intel");
}

Test(kvm_decide, no_permission)
{
    struct kvm_decision d;
    decide_file("no_permission.txt", &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_unpaged);
    assert_reason_has(d, "/dev/kvm: cannot open");
    assert_reason_has(d, strerror(EACCES));
    assert_reason_has(d, "no permission: add this user to group kvm");
}

Test(kvm_decide, no_permission_on_a_root_only_node_names_its_mode)
{
    struct kvm_host_profile p;
    profile_load("no_permission.txt", &p);
    p.dev_mode = 0600;
    snprintf(p.dev_owner, sizeof p.dev_owner, "root:root");
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    assert_reason_has(d, "root:root mode 0600");
}

Test(kvm_decide, api_version_ioctl_failing)
{
    struct kvm_host_profile p;
    profile_load("api_mismatch.txt", &p);
    p.api_version = -1;
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_unpaged);
    assert_reason_has(d, "KVM_GET_API_VERSION failed");
}

Test(kvm_decide, api_mismatch)
{
    struct kvm_decision d;
    decide_file("api_mismatch.txt", &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_unpaged);
    assert_reason_has(d, "API version 11");
    assert_reason_has(d, "needs 12");
}

Test(kvm_decide, vtx_whose_paged_guest_fails_is_not_hw_virt)
{
    struct kvm_host_profile p;
    profile_load("vtx_ept.txt", &p);
    p.paged_guest = 0;
    snprintf(p.guest_detail, sizeof p.guest_detail, "unpaged: KVM_EXIT_IO; paged: FAIL_ENTRY (reason 0x21)");
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_paged);
    cr_assert(d.can_run_unpaged);
    assert_reason_has(d, "paged test guest failed");
    assert_reason_has(d, "FAIL_ENTRY");
}

Test(kvm_decide, vtx_without_user_memory)
{
    struct kvm_host_profile p;
    profile_load("vtx_ept.txt", &p);
    p.cap_user_memory = false;
    struct kvm_decision d;
    kvm_probe_decide(&p, &d);
    cr_assert_not(d.hw_virt);
    cr_assert_not(d.can_run_unpaged);
    assert_reason_has(d, "USER_MEMORY");
}

Test(kvm_profile, write_then_parse_round_trips)
{
    struct kvm_host_profile a, b;
    profile_load("vtx_noept.txt", &a);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    kvm_profile_write(&a, f);
    fclose(f);
    struct rf_err err = { { 0 } };
    cr_assert_eq(kvm_profile_parse(buf, &b, &err), 0, "%s", err.msg);
    free(buf);
    cr_assert_str_eq(a.cpu_brand, b.cpu_brand);
    cr_assert_str_eq(a.guest_detail, b.guest_detail);
    cr_assert_eq(a.ept, b.ept);
    cr_assert_eq(a.unrestricted_guest, b.unrestricted_guest);
    cr_assert_eq(a.dev_mode, b.dev_mode);
    cr_assert_eq(a.cpuid_hypervisor, b.cpuid_hypervisor);
    cr_assert_eq(a.paged_guest, b.paged_guest);
    cr_assert_eq(a.max_memslots, b.max_memslots);
}

Test(kvm_profile, missing_keys_keep_unknown_defaults)
{
    struct kvm_host_profile p;
    struct rf_err err = { { 0 } };
    cr_assert_eq(kvm_profile_parse("# nothing\n\ncpu_vendor = GenuineIntel\n", &p, &err), 0);
    cr_assert_str_eq(p.cpu_vendor, "GenuineIntel");
    cr_assert_eq(p.api_version, -1);
    cr_assert_eq(p.ept, -1);
    cr_assert_eq(p.paged_guest, -1);
    cr_assert_not(p.dev_present);
}

Test(kvm_profile, bad_input_is_an_error_with_the_line)
{
    struct kvm_host_profile p;
    struct rf_err err = { { 0 } };
    cr_assert_lt(kvm_profile_parse("cpu_vmx = 1\n", &p, &err), 0);
    cr_assert(strstr(err.msg, "unknown key 'cpu_vmx'"), "%s", err.msg);
    cr_assert_lt(kvm_profile_parse("\ncpuid_vmx = yes\n", &p, &err), 0);
    cr_assert(strstr(err.msg, "line 2"), "%s", err.msg);
    cr_assert_lt(kvm_profile_parse("api_version 12\n", &p, &err), 0);
    cr_assert(strstr(err.msg, "key = value"), "%s", err.msg);
    cr_assert_lt(kvm_profile_parse("api_version = 12x\n", &p, &err), 0);
    cr_assert_lt(kvm_profile_parse("cpu_vendor = ThisIsFarTooLongForTheField\n", &p, &err), 0);
}

/* The test guests' bytes, checked on ringfold's interpreter (an architectural reference that
 * needs no KVM): the paged guest must write the magic, read through its non-identity page. */
static uint32_t guest_port_val;
static unsigned guest_port_hits;

static void guest_port_write(void *opaque, uint32_t offset, uint32_t value, unsigned size)
{
    (void)opaque; (void)offset;
    cr_assert_eq(size, 4u);
    guest_port_val = value;
    guest_port_hits++;
}

static void guest_image_on_emu(bool paged, bool identity_alias, uint32_t want)
{
    static struct vm vm;
    static unsigned char image[KVM_PROBE_GUEST_MEM];
    struct rf_err err = { { 0 } };
    memset(&vm, 0, sizeof vm);
    cr_assert_eq(guest_mem_init(&vm.mem, 1u << 20, &err), 0, "%s", err.msg);
    bus_init(&vm.bus);
    vclock_init(&vm.clock, true);
    cr_assert_eq(bus_register_pio(&vm.bus, KVM_PROBE_GUEST_PORT, 4, "probe", NULL,
                                  guest_port_write, NULL, &err), 0, "%s", err.msg);
    kvm_probe_guest_image(paged, image);
    if (identity_alias) {   /* negative control: map linear 0x5000 to its own (zero) page */
        uint32_t pte = 0x5000 | 3;
        memcpy(image + 0x3000 + 4 * 5, &pte, 4);
    }
    cr_assert_eq(guest_mem_write(&vm.mem, 0, image, sizeof image), 0);
    struct x86_emu *e = x86_emu_create(&vm, &err);
    cr_assert_not_null(e, "%s", err.msg);
    x86_emu_set_deliver(e, false);
    struct vcpu_state st;
    vcpu_state_flat32(&st, KVM_PROBE_GUEST_ENTRY);
    x86_emu_set_state(e, &st);
    guest_port_hits = 0;
    guest_port_val = 0;
    struct x86_emu_event ev = { 0 };
    enum x86_emu_status s = x86_emu_run_range(e, 0, 0xffffffffu, 100, &ev);
    cr_assert_eq(s, X86_EMU_HALT, "status %d, vector %d at %#x", (int)s, ev.vector, ev.eip);
    cr_assert_eq(guest_port_hits, 1u);
    cr_assert_eq(guest_port_val, want, "wrote %#x", guest_port_val);
    x86_emu_get_state(e, &st);
    cr_assert_eq(!!(st.cr0 & 0x80000000u), paged, "CR0.PG at the end");
    x86_emu_destroy(e);
    guest_mem_destroy(&vm.mem);
}

Test(kvm_probe_guests, unpaged_image_runs_on_emu)
{
    guest_image_on_emu(false, false, KVM_PROBE_GUEST_MAGIC);
}

Test(kvm_probe_guests, paged_image_runs_on_emu)
{
    guest_image_on_emu(true, false, KVM_PROBE_GUEST_MAGIC);
}

/* The paged guest's value really comes through the page tables (layout: PT at 0x3000). */
Test(kvm_probe_guests, paged_image_reads_through_its_page_table)
{
    guest_image_on_emu(true, true, 0);
}

/* The live probe, on whatever host runs this: its facts and decision must hang together. */
Test(kvm_probe_live, facts_and_decision_agree)
{
    const struct kvm_host_profile *p = kvm_probe_host(true);
    struct kvm_decision d;
    kvm_probe_decide(p, &d);
    cr_log_info("this host: %s", d.reason);
    cr_assert(p->cpu_vendor[0], "CPUID leaf 0 gave no vendor");
    cr_assert(d.reason[0]);
    if (d.hw_virt)
        cr_assert(p->cpuid_vmx || p->cpuid_svm);
    if (!p->dev_present || p->dev_open_errno)
        cr_assert_eq(p->paged_guest, -1, "guests cannot run without an open /dev/kvm");
    if (p->dev_present && !p->dev_open_errno && p->api_version == 12 && p->cap_user_memory) {
        cr_assert_neq(p->unpaged_guest, -1, "the test guests were not run");
        cr_assert_neq(p->paged_guest, -1, "the test guests were not run");
        cr_assert(strstr(p->guest_detail, "unpaged: ") && strstr(p->guest_detail, "paged: "),
                  "%s", p->guest_detail);
    }
    /* Cached: a second call returns the same facts without running the guests again. */
    cr_assert_eq(kvm_probe_host(true), p);
}
