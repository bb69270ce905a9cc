/* `ringfold probe`: what this host offers for running guests (CPU, /dev/kvm, the KVM module,
 * two tiny test guests), which engines can run here and which one `auto` picks, and why.
 * docs/probe.md explains each check. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ringfold/engine.h"
#include "../hwaccel/kvm_probe.h"
#include "commands.h"

/* One engine's answer, the way vm_pick_engine (core/vm.c) sees it: its probe passes and it
 * can be created. */
struct probe_engine {
    const struct engine_ops *e;
    bool ok;
    char why[256];
};

static void probe_engine_check(const struct engine_ops *e, struct probe_engine *r)
{
    struct rf_err why = { { 0 } };
    r->e = e;
    r->ok = e->probe(&why) == 0 && e->create;
    if (r->ok)
        snprintf(r->why, sizeof r->why, "%s", e->summary ? e->summary : "probe passes");
    else if (e->probe(&why) == 0)
        snprintf(r->why, sizeof r->why, "not built (the probe passes but there is no create)");
    else
        snprintf(r->why, sizeof r->why, "%s", why.msg[0] ? why.msg : "no reason given");
}

/* What `auto` picks: the first engine in engine_table that passes (core/vm.c); writes the
 * reasons for the ones passed over into skipped. Returns NULL when none can run. */
static const struct probe_engine *probe_auto(const struct probe_engine *all, int n,
                                             char *skipped, size_t len)
{
    size_t used = 0;
    skipped[0] = 0;
    for (int i = 0; i < n; i++) {
        if (all[i].ok)
            return &all[i];
        if (used < len)
            used += (size_t)snprintf(skipped + used, len - used, "%s%s: %s", used ? "; " : "",
                                     all[i].e->name, all[i].why);
    }
    return NULL;
}

static const char *yesno(bool b) { return b ? "yes" : "no"; }

static const char *tri(int v) { return v < 0 ? "unknown" : v ? "yes" : "no"; }

static const char *guest_outcome(int v)
{
    return v < 0 ? "not run" : v ? "ran correctly" : "failed";
}

static void report_text(const struct kvm_host_profile *p, const struct kvm_decision *d,
                        const struct probe_engine *all, int n)
{
    printf("CPU\n  vendor              %s\n  brand               %s\n", p->cpu_vendor,
           p->cpu_brand[0] ? p->cpu_brand : "(not reported)");
    printf("  VT-x (vmx)          %s\n  AMD-V (svm)         %s\n", yesno(p->cpuid_vmx), yesno(p->cpuid_svm));
    printf("  hypervisor bit      %s\n", p->cpuid_hypervisor ? "yes (this host is itself a guest)" : "no");
    printf("/dev/kvm\n");
    if (!p->dev_present) {
        printf("  present             no\n");
    } else {
        printf("  present             yes, mode %04o, owner %s\n", p->dev_mode, p->dev_owner);
        if (p->dev_open_errno)
            printf("  open read/write     no, for uid %u: %s\n", (unsigned)getuid(),
                   strerror(p->dev_open_errno));
        else
            printf("  open read/write     yes, for uid %u\n", (unsigned)getuid());
        if (!p->dev_open_errno)
            printf("  API version         %d (ringfold needs 12)\n", p->api_version);
        if (p->api_version == 12)
            printf("  extensions          USER_MEMORY %s, EXT_CPUID %s, IMMEDIATE_EXIT %s, "
                   "IRQCHIP %s, SET_TSS_ADDR %s, NR_MEMSLOTS %d\n", yesno(p->cap_user_memory),
                   yesno(p->cap_ext_cpuid), yesno(p->cap_immediate_exit), yesno(p->cap_irqchip),
                   yesno(p->cap_set_tss_addr), p->max_memslots);
    }
    printf("KVM module            %s\n", p->module[0] ? p->module : "(none found in /sys/module)");
    if (!strcmp(p->module, "kvm_intel"))
        printf("  ept %s, vpid %s, unrestricted_guest %s, nested %s\n", tri(p->ept), tri(p->vpid),
               tri(p->unrestricted_guest), tri(p->nested));
    else if (!strcmp(p->module, "kvm_amd"))
        printf("  npt %s, nested %s\n", tri(p->npt), tri(p->nested));
    else
        printf("  ept/npt, vpid, unrestricted_guest, nested: not applicable (no kvm_intel or kvm_amd)\n");
    printf("KVM-PVM               %s%s%s\n", yesno(p->pvm), p->pvm ? ": " : "", p->pvm_evidence);
    printf("test guests\n  unpaged 32-bit      %s\n  paged 32-bit        %s\n",
           guest_outcome(p->unpaged_guest), guest_outcome(p->paged_guest));
    if (p->guest_detail[0])
        printf("  what they did       %s\n", p->guest_detail);
    printf("KVM decision\n  hardware virt.      %s\n  unpaged guests      %s\n"
           "  paged guests        %s\n  why                 %s\n", yesno(d->hw_virt),
           yesno(d->can_run_unpaged), yesno(d->can_run_paged), d->reason);
    printf("engines (in the order auto tries them)\n");
    for (int i = 0; i < n; i++)
        printf("  %-4s %s: %s\n", all[i].e->name, all[i].ok ? "yes" : "no", all[i].why);
    char skipped[768];
    const struct probe_engine *pick = probe_auto(all, n, skipped, sizeof skipped);
    if (pick)
        printf("auto picks: %s because it is the first engine that can run here%s%s%s\n",
               pick->e->name, skipped[0] ? " (passed over: " : "", skipped, skipped[0] ? ")" : "");
    else
        printf("auto picks: nothing, no engine can run here (%s)\n", skipped);
}

/* A JSON string literal (RFC 8259 section 7). */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_kv_str(const char *k, const char *v, bool more)
{
    json_str(k);
    printf(": ");
    json_str(v);
    printf(more ? ", " : "");
}

static void json_kv_int(const char *k, long v, bool more)
{
    json_str(k);
    printf(": %ld%s", v, more ? ", " : "");
}

static void json_kv_bool(const char *k, bool v, bool more)
{
    json_str(k);
    printf(": %s%s", v ? "true" : "false", more ? ", " : "");
}

static void report_json(const struct kvm_host_profile *p, const struct kvm_decision *d,
                        const struct probe_engine *all, int n)
{
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", p->dev_mode);
    printf("{\"host\": {");
    json_kv_str("cpu_vendor", p->cpu_vendor, true);
    json_kv_str("cpu_brand", p->cpu_brand, true);
    json_kv_bool("cpuid_vmx", p->cpuid_vmx, true);
    json_kv_bool("cpuid_svm", p->cpuid_svm, true);
    json_kv_bool("cpuid_hypervisor", p->cpuid_hypervisor, true);
    json_kv_bool("dev_present", p->dev_present, true);
    json_kv_str("dev_mode", mode, true);
    json_kv_str("dev_owner", p->dev_owner, true);
    json_kv_int("dev_open_errno", p->dev_open_errno, true);
    json_kv_str("dev_open_error", p->dev_open_errno ? strerror(p->dev_open_errno) : "", true);
    json_kv_int("api_version", p->api_version, true);
    json_kv_bool("cap_user_memory", p->cap_user_memory, true);
    json_kv_bool("cap_ext_cpuid", p->cap_ext_cpuid, true);
    json_kv_bool("cap_immediate_exit", p->cap_immediate_exit, true);
    json_kv_bool("cap_irqchip", p->cap_irqchip, true);
    json_kv_bool("cap_set_tss_addr", p->cap_set_tss_addr, true);
    json_kv_int("max_memslots", p->max_memslots, true);
    json_kv_str("module", p->module, true);
    json_kv_int("ept", p->ept, true);
    json_kv_int("npt", p->npt, true);
    json_kv_int("vpid", p->vpid, true);
    json_kv_int("unrestricted_guest", p->unrestricted_guest, true);
    json_kv_int("nested", p->nested, true);
    json_kv_bool("pvm", p->pvm, true);
    json_kv_str("pvm_evidence", p->pvm_evidence, true);
    json_kv_int("unpaged_guest", p->unpaged_guest, true);
    json_kv_int("paged_guest", p->paged_guest, true);
    json_kv_str("guest_detail", p->guest_detail, false);
    printf("}, \"kvm_decision\": {");
    json_kv_bool("hw_virt", d->hw_virt, true);
    json_kv_bool("can_run_unpaged", d->can_run_unpaged, true);
    json_kv_bool("can_run_paged", d->can_run_paged, true);
    json_kv_str("reason", d->reason, false);
    printf("}, \"engines\": [");
    for (int i = 0; i < n; i++) {
        printf("{");
        json_kv_str("name", all[i].e->name, true);
        json_kv_bool("available", all[i].ok, true);
        json_kv_str("why", all[i].why, false);
        printf("}%s", i + 1 < n ? ", " : "");
    }
    char skipped[768];
    const struct probe_engine *pick = probe_auto(all, n, skipped, sizeof skipped);
    printf("], \"auto\": {");
    json_kv_str("engine", pick ? pick->e->name : "", true);
    json_kv_str("passed_over", skipped, false);
    printf("}}\n");
}

/* --engine=NAME [--paged]: exit 0 when NAME can run such a guest here, 1 when not. */
static int probe_one_engine(const char *name, bool paged, const struct kvm_decision *d,
                            const struct probe_engine *all, int n)
{
    const struct probe_engine *r = NULL;
    if (!strcmp(name, "auto")) {
        for (int i = 0; i < n && !r; i++)
            if (all[i].ok && (strcmp(all[i].e->name, "kvm") || (paged ? d->can_run_paged : true)))
                r = &all[i];
        printf("auto: %s%s\n", r ? "yes: " : "no: no engine can run here", r ? r->e->name : "");
        return r ? 0 : 1;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(all[i].e->name, name))
            r = &all[i];
    if (strcmp(name, "kvm")) {
        printf("%s: %s: %s\n", name, r->ok ? "yes" : "no", r->why);
        return r->ok ? 0 : 1;
    }
    /* kvm: the probe's decision answers "can KVM run this kind of guest"; the engine must
     * also exist. The kvm engine's own probe may be stricter for `auto` (paged guests). */
    bool can = paged ? d->can_run_paged : d->can_run_unpaged;
    if (can && !r->e->create) {
        printf("kvm: no: the kvm engine is not built yet (KVM itself: %s)\n", d->reason);
        return 1;
    }
    if (can && !d->hw_virt)     /* e.g. KVM-PVM: usable, but the kvm engine's own probe says no */
        printf("kvm: yes: %s, with --force-engine (%s)\n",
               d->can_run_paged ? "the test guests ran" : "unpaged guests only", d->reason);
    else
        printf("kvm: %s: %s\n", can ? "yes" : "no", d->reason);
    return can ? 0 : 1;
}

/* Bad options: one line on stderr, exit status 2 (the same rule as `ringfold run`). */
__attribute__((format(printf, 1, 2)))
static int probe_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ringfold probe: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (usage: ringfold probe [--json | --record[=FILE] | --engine=NAME [--paged]])\n");
    return 2;
}

int cmd_probe(int argc, char **argv)
{
    bool json = false, record = false, paged = false;
    const char *engine = NULL, *record_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = true;
        else if (!strcmp(a, "--record"))
            record = true;
        else if (!strncmp(a, "--record=", 9))
            record = true, record_file = a + 9;
        else if (!strcmp(a, "--paged"))
            paged = true;
        else if (!strncmp(a, "--engine=", 9))
            engine = a + 9;
        else
            return probe_usage_error("unknown option '%s'", a);
    }
    if (engine && !engine_find(engine) && strcmp(engine, "auto"))
        return probe_usage_error("--engine: unknown engine '%s' (emu, raw, kvm, auto)", engine);
    if (paged && !engine)
        return probe_usage_error("%s needs --engine=NAME", "--paged");
    if ((json && record) || (engine && (json || record)))
        return probe_usage_error("%s: choose one of --json, --record, --engine", "options");

    const struct kvm_host_profile *p = kvm_probe_host(true);
    struct kvm_decision d;
    kvm_probe_decide(p, &d);
    if (record) {
        FILE *out = record_file ? fopen(record_file, "w") : stdout;
        if (!out) {
            fprintf(stderr, "ringfold probe: %s: %s\n", record_file, strerror(errno));
            return 2;
        }
        kvm_profile_write(p, out);
        if (record_file && fclose(out) != 0) {
            fprintf(stderr, "ringfold probe: %s: %s\n", record_file, strerror(errno));
            return 4;
        }
        return 0;
    }
    struct probe_engine all[8];
    int n = 0;
    for (; engine_table[n] && n < 8; n++)
        probe_engine_check(engine_table[n], &all[n]);
    if (engine)
        return probe_one_engine(engine, paged, &d, all, n);
    if (json)
        report_json(p, &d, all, n);
    else
        report_text(p, &d, all, n);
    return 0;
}
