/* CPU model table: every model answers CPUID consistently, advertises only what emu implements,
 * and emu's CPUID instruction answers from the VM's model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ringfold/cpu_model.h"
#include "ringfold/vm.h"
#include "x86/sys_cpuid.h"
#include "x86/x86_cpu.h"

static void vendor_of(const uint32_t r[4], char v[13])
{
    memcpy(v, &r[1], 4);
    memcpy(v + 4, &r[3], 4);
    memcpy(v + 8, &r[2], 4);
    v[12] = 0;
}

static void cpuid(const struct cpu_model *m, uint32_t leaf, uint32_t r[4])
{
    cpu_model_cpuid(m, leaf, 0, r);
}

Test(cpu_model, lookup)
{
    cr_assert_not_null(cpu_model_at(0));
    cr_assert_eq(cpu_model_find(NULL), cpu_model_at(0), "NULL gives the default");
    cr_assert_eq(cpu_model_find(""), cpu_model_at(0));
    cr_assert_str_eq(cpu_model_name(cpu_model_find(NULL)), "ringfold");
    cr_assert_null(cpu_model_find("pentium4"));
    cr_assert_null(cpu_model_find("RINGFOLD"), "names are exact");
    unsigned n = 0;
    for (const struct cpu_model *m; (m = cpu_model_at(n)); n++)
        cr_assert_eq(cpu_model_find(cpu_model_name(m)), m, "%s", cpu_model_name(m));
    cr_assert_geq(n, 3u);
    cr_assert_not_null(cpu_model_find("pentium-pro"));
    cr_assert_not_null(cpu_model_find("pentium2"));
}

Test(cpu_model, list_names_every_model)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cpu_model_list(f);
    fclose(f);
    for (unsigned i = 0; cpu_model_at(i); i++)
        cr_assert_not_null(strstr(buf, cpu_model_name(cpu_model_at(i))));
    free(buf);
}

/* The session-1 model, bit for bit: the default must not change what guests saw. */
Test(cpu_model, default_is_unchanged)
{
    const struct cpu_model *m = cpu_model_find(NULL);
    uint32_t r[4];
    char v[13];
    cpuid(m, 0, r);
    vendor_of(r, v);
    cr_assert_eq(r[0], 2u);
    cr_assert_str_eq(v, "RingfoldVCPU");
    cpuid(m, 1, r);
    cr_assert_eq(r[0], 0x633u);
    cr_assert_eq(r[1], 0u);
    cr_assert_eq(r[2], 0u);
    cr_assert_eq(r[3], 0x0103f9ffu, "FPU..CX8 SEP MTRR PGE MCA CMOV PAT PSE36 FXSR: %#x", r[3]);
    cpuid(m, 2, r);
    cr_assert_eq(r[0], 0x7d302c01u);
    cpuid(m, 0x80000000u, r);
    cr_assert_eq(r[0], 0x80000004u);
    cr_assert_eq(r[1] | r[2] | r[3], 0u, "Intel-style: no vendor in 0x80000000");
    cpuid(m, 0x80000001u, r);
    cr_assert_eq(r[3], CPUID_EXT_NX);
    char brand[49] = { 0 };
    for (uint32_t l = 0; l < 3; l++) {
        cpuid(m, 0x80000002u + l, r);
        memcpy(brand + 16 * l, r, 16);
    }
    cr_assert_str_eq(brand, "ringfold emu i686");
}

Test(cpu_model, every_model_is_well_formed)
{
    for (unsigned i = 0; cpu_model_at(i); i++) {
        const struct cpu_model *m = cpu_model_at(i);
        const char *n = cpu_model_name(m);
        uint32_t r[4], again[4];
        char v[13];
        cpuid(m, 0, r);
        vendor_of(r, v);
        cr_assert(!strcmp(v, "RingfoldVCPU") || !strcmp(v, "GenuineIntel"),
                  "%s: vendor '%s'", n, v);
        uint32_t max = r[0];
        cr_assert(max >= 1 && max <= 2, "%s: max basic leaf %u", n, max);
        cr_assert_eq(max, cpu_model_max_leaf(m, 0), "%s", n);

        /* Leaf 1: a 686 (family 6) with what Debian's 686 and 686-pae kernels need. */
        cpuid(m, 1, r);
        cr_assert_eq((r[0] >> 8) & 0xf, 6u, "%s: family", n);
        uint32_t need = CPUID_FPU | CPUID_CX8 | CPUID_CMOV | CPUID_PAE | CPUID_TSC;
        cr_assert_eq(r[3] & need, need, "%s: fpu cx8 cmov pae tsc", n);
        cr_assert_eq(r[3] & ~SYS_CPUID_EMU_EDX, 0u, "%s: leaf 1 EDX bits emu lacks: %#x", n,
                     r[3] & ~SYS_CPUID_EMU_EDX);
        cr_assert_eq(r[2] & ~SYS_CPUID_EMU_ECX, 0u, "%s: leaf 1 ECX bits emu lacks", n);
        cr_assert_eq(r[3] & (CPUID_APIC | CPUID_MMX | CPUID_SSE | CPUID_SSE2), 0u, "%s", n);

        /* Extended range: advertised exactly when the model has it. */
        uint32_t max_ext = cpu_model_max_leaf(m, 0x80000000u);
        cpuid(m, 0x80000000u, r);
        if (max_ext) {
            cr_assert_eq(r[0], max_ext, "%s", n);
            cr_assert_geq(max_ext, 0x80000001u, "%s", n);
            cr_assert_leq(max_ext, 0x80000008u, "%s", n);
            cpuid(m, 0x80000001u, r);
            cr_assert_eq(r[3] & ~SYS_CPUID_EMU_EXT_EDX, 0u, "%s: 0x80000001 EDX bits emu lacks: %#x", n,
                         r[3] & ~SYS_CPUID_EMU_EXT_EDX);
            cr_assert_eq(r[2] & ~SYS_CPUID_EMU_EXT_ECX, 0u, "%s", n);
            cr_assert_eq(r[3] & (CPUID_EXT_LM | CPUID_EXT_SYSCALL | CPUID_EXT_3DNOW), 0u, "%s", n);
        } else {
            cr_assert_lt(r[0], 0x80000000u, "%s: without extended leaves 0x80000000 must not look like "
                         "a maximum (%#x)", n, r[0]);
        }

        /* Brand string: 48 bytes over three leaves, NUL-terminated, NUL-padded. */
        if (max_ext >= 0x80000004u) {
            char b[48];
            for (uint32_t l = 0; l < 3; l++) {
                cpuid(m, 0x80000002u + l, r);
                memcpy(b + 16 * l, r, 16);
            }
            size_t len = strnlen(b, sizeof(b));
            cr_assert_lt(len, sizeof(b), "%s: brand not NUL-terminated", n);
            cr_assert_gt(len, 0u, "%s: empty brand", n);
            for (size_t k = len; k < sizeof(b); k++)
                cr_assert_eq(b[k], 0, "%s: brand not NUL-padded", n);
        }

        /* Every leaf in range is stable and ignores the subleaf (none here is indexed). */
        for (uint32_t leaf = 0; leaf <= max; leaf++) {
            cpu_model_cpuid(m, leaf, 0, r);
            cpu_model_cpuid(m, leaf, 7, again);
            cr_assert_arr_eq(r, again, sizeof(r), "%s: leaf %#x", n, leaf);
        }
        for (uint32_t leaf = 0x80000000u; max_ext && leaf <= max_ext; leaf++) {
            cpu_model_cpuid(m, leaf, 0, r);
            cpu_model_cpuid(m, leaf, 3, again);
            cr_assert_arr_eq(r, again, sizeof(r), "%s: leaf %#x", n, leaf);
        }

        /* Out of range, basic or extended: the answer of the highest basic leaf (Intel). */
        uint32_t oor[] = { max + 1, 7, 0x40000000u, max_ext ? max_ext + 1 : 0x80000000u, 0x8fffffffu,
                           0xffffffffu };
        uint32_t want[4];
        cpuid(m, max, want);
        for (unsigned k = 0; k < sizeof(oor) / sizeof(oor[0]); k++) {
            cpuid(m, oor[k], r);
            cr_assert_arr_eq(r, want, sizeof(r), "%s: out-of-range leaf %#x", n, oor[k]);
        }
    }
}

Test(cpu_model, intel_models_name_real_parts)
{
    uint32_t r[4];
    char v[13];
    const struct cpu_model *ppro = cpu_model_find("pentium-pro");
    cpuid(ppro, 0, r);
    vendor_of(r, v);
    cr_assert_str_eq(v, "GenuineIntel");
    cpuid(ppro, 1, r);
    cr_assert_eq(r[0] & 0xff0, 0x610u, "family 6 model 1");
    /* AP-485: SEP below signature 0x633 is not SYSENTER; the Pentium Pro has no PAT/FXSR. */
    cr_assert_eq(r[3] & (CPUID_SEP | CPUID_PAT | CPUID_PSE36 | CPUID_FXSR), 0u);
    const struct cpu_model *p2 = cpu_model_find("pentium2");
    cpuid(p2, 0, r);
    vendor_of(r, v);
    cr_assert_str_eq(v, "GenuineIntel");
    cpuid(p2, 1, r);
    cr_assert_eq(r[0] & 0xff0, 0x650u, "family 6 model 5");
    cr_assert(r[3] & CPUID_SEP);
    cr_assert_geq(r[0] & 0xfff, 0x633u, "SEP valid from 0x633 on");
    cpuid(p2, 2, r);
    cr_assert_eq(r[0] & 0xff, 1u, "one CPUID(2) iteration");
}

/* emu's CPUID instruction answers from vm->cpu; a CPU with no model gets the default. */
Test(cpu_model, emu_answers_from_vm_model)
{
    static struct vm vm;
    static struct x86_cpu cpu;
    uint32_t r[4], want[4];
    char v[13];
    cpu.vm = &vm;
    for (unsigned i = 0; cpu_model_at(i); i++) {
        vm.cpu = cpu_model_at(i);
        for (uint32_t leaf = 0; leaf <= 0x80000005u; leaf = leaf == 3 ? 0x80000000u : leaf + 1) {
            x86_cpuid(&cpu, leaf, 0, r);
            cpu_model_cpuid(vm.cpu, leaf, 0, want);
            cr_assert_arr_eq(r, want, sizeof(r), "%s leaf %#x", cpu_model_name(vm.cpu), leaf);
        }
    }
    vm.cpu = cpu_model_find("pentium2");
    x86_cpuid(&cpu, 0, 0, r);
    vendor_of(r, v);
    cr_assert_str_eq(v, "GenuineIntel");
    vm.cpu = NULL;
    x86_cpuid(&cpu, 0, 0, r);
    vendor_of(r, v);
    cr_assert_str_eq(v, "RingfoldVCPU");
}
