/* Gathers the KVM host profile: CPUID, /dev/kvm and its permissions, the API version and the
 * extensions ringfold uses, the vendor module and its parameters, and evidence of KVM-PVM. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "kvm_probe.h"

/* CPUID: vendor (leaf 0), brand (0x80000002-4), VMX (1:ECX[5], SDM Vol. 3C 24.6), SVM
 * (0x80000001:ECX[2], AMD APM Vol. 2 15.4), hypervisor present (1:ECX[31]). */
static void host_cpuid(struct kvm_host_profile *p)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    memcpy(p->cpu_vendor, &b, 4);
    memcpy(p->cpu_vendor + 4, &d, 4);
    memcpy(p->cpu_vendor + 8, &c, 4);
    p->cpu_vendor[12] = 0;
    if (a >= 1) {
        __cpuid(1, a, b, c, d);
        p->cpuid_vmx = c & (1u << 5);
        p->cpuid_hypervisor = c & (1u << 31);
    }
    __cpuid(0x80000000, a, b, c, d);
    if (a >= 0x80000001) {
        unsigned max = a;
        __cpuid(0x80000001, a, b, c, d);
        p->cpuid_svm = c & (1u << 2);
        if (max >= 0x80000004) {
            unsigned r[12];
            for (unsigned i = 0; i < 3; i++)
                __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
            char brand[49];
            memcpy(brand, r, 48);
            brand[48] = 0;
            const char *s = brand;
            while (*s == ' ')
                s++;
            snprintf(p->cpu_brand, sizeof p->cpu_brand, "%s", s);
        }
    }
}

static bool host_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A module parameter: "Y"/"1" -> 1, "N"/"0" -> 0 (kvm_amd's npt/nested are ints, kvm_intel's
 * are bools), -1 when the file is absent or unreadable. */
static int host_module_param(const char *module, const char *param)
{
    char path[128], buf[16] = "";
    snprintf(path, sizeof path, "/sys/module/%s/parameters/%s", module, param);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    bool got = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!got)
        return -1;
    if (buf[0] == 'Y' || buf[0] == 'y' || (buf[0] >= '1' && buf[0] <= '9'))
        return 1;
    if (buf[0] == 'N' || buf[0] == 'n' || buf[0] == '0')
        return 0;
    return -1;
}

/* Which vendor module serves /dev/kvm. Built-in modules also appear in /sys/module once they
 * have parameters, so this works without /proc/modules (absent on this project's hosts). */
static void host_module(struct kvm_host_profile *p)
{
    static const char *const mods[] = { "kvm_pvm", "kvm_intel", "kvm_amd" };
    p->ept = p->npt = p->vpid = p->unrestricted_guest = p->nested = -1;
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/sys/module/%s", mods[i]);
        if (host_path_exists(path)) {
            snprintf(p->module, sizeof p->module, "%s", mods[i]);
            break;
        }
    }
    if (!strcmp(p->module, "kvm_intel")) {
        p->ept = host_module_param("kvm_intel", "ept");
        p->vpid = host_module_param("kvm_intel", "vpid");
        p->unrestricted_guest = host_module_param("kvm_intel", "unrestricted_guest");
        p->nested = host_module_param("kvm_intel", "nested");
    } else if (!strcmp(p->module, "kvm_amd")) {
        p->npt = host_module_param("kvm_amd", "npt");
        p->nested = host_module_param("kvm_amd", "nested");
    }
}

static void host_dev(struct kvm_host_profile *p)
{
    struct stat st;
    if (stat("/dev/kvm", &st) < 0)
        return;
    p->dev_present = true;
    p->dev_mode = st.st_mode & 07777;
    p->dev_uid = st.st_uid;
    p->dev_gid = st.st_gid;
    struct passwd *pw = getpwuid(st.st_uid);
    struct group *gr = getgrgid(st.st_gid);
    char u[16], g[16];
    if (pw)
        snprintf(u, sizeof u, "%.15s", pw->pw_name);
    else
        snprintf(u, sizeof u, "%u", (unsigned)st.st_uid);
    if (gr)
        snprintf(g, sizeof g, "%.15s", gr->gr_name);
    else
        snprintf(g, sizeof g, "%u", (unsigned)st.st_gid);
    snprintf(p->dev_owner, sizeof p->dev_owner, "%s:%s", u, g);
}

static void host_caps(int fd, struct kvm_host_profile *p)
{
    p->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (p->api_version < 0)
        p->api_version = -1;
    if (p->api_version != KVM_API_VERSION)
        return;     /* the meaning of extension numbers is only defined for API 12 */
    p->cap_user_memory = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0;
    p->cap_ext_cpuid = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID) > 0;
    p->cap_immediate_exit = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
    p->cap_irqchip = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0;
    p->cap_set_tss_addr = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0;
    int slots = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    p->max_memslots = slots > 0 ? slots : 0;
}

/* Does the kernel command line name PVM (e.g. "nested_pvm=1" on this project's hosts)? */
static bool host_cmdline_pvm(char *word, size_t len)
{
    char buf[4096];
    FILE *f = fopen("/proc/cmdline", "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (!strcmp(tok, "--"))
            break;      /* what follows is init's arguments, not the kernel's */
        if (strstr(tok, "pvm")) {
            snprintf(word, len, "%.40s", tok);
            return true;
        }
    }
    return false;
}

static void host_evidence_add(struct kvm_host_profile *p, const char *what)
{
    size_t used = strlen(p->pvm_evidence);
    snprintf(p->pvm_evidence + used, sizeof p->pvm_evidence - used, "%s%s", used ? ", " : "", what);
}

/* KVM-PVM runs without VMX/SVM: the vendor module is kvm_pvm, or (where module names are
 * hidden) /dev/kvm works on a CPU without vmx/svm and only the paged guest fails. */
static void host_pvm(struct kvm_host_profile *p)
{
    bool no_hw = !p->cpuid_vmx && !p->cpuid_svm;
    bool guest_pattern = p->unpaged_guest == 1 && p->paged_guest == 0;
    char word[48];
    p->pvm_evidence[0] = 0;
    p->pvm = !strcmp(p->module, "kvm_pvm") || (p->dev_present && no_hw && guest_pattern);
    if (!p->pvm)
        return;
    if (!strcmp(p->module, "kvm_pvm"))
        host_evidence_add(p, "module kvm_pvm");
    if (no_hw)
        host_evidence_add(p, p->cpuid_hypervisor ? "no vmx/svm under a hypervisor" : "no vmx/svm");
    if (guest_pattern)
        host_evidence_add(p, strstr(p->guest_detail, "paged: SHUTDOWN")
                                 ? "paged guest triple-faults while unpaged runs"
                                 : "paged guest fails while unpaged runs");
    if (host_cmdline_pvm(word, sizeof word)) {
        char what[64];
        snprintf(what, sizeof what, "cmdline %s", word);
        host_evidence_add(p, what);
    }
}

const struct kvm_host_profile *kvm_probe_host(bool run_guests)
{
    static struct kvm_host_profile p;
    static bool gathered, guests_done;
    if (!gathered) {
        memset(&p, 0, sizeof p);
        p.api_version = -1;
        p.paged_guest = p.unpaged_guest = -1;
        host_cpuid(&p);
        host_module(&p);
        host_dev(&p);
        if (p.dev_present) {
            int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                p.dev_open_errno = errno;
            } else {
                host_caps(fd, &p);
                close(fd);
            }
        }
        gathered = true;
    }
    if (run_guests && !guests_done && p.dev_present && p.dev_open_errno == 0 &&
        p.api_version == KVM_API_VERSION && p.cap_user_memory) {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            kvm_probe_run_guests(fd, &p);
            close(fd);
        }
        guests_done = true;
    }
    host_pvm(&p);
    return &p;
}
