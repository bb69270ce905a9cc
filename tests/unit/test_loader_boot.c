/* Unit tests for the loaders on well-formed images: RAM contents, entry state, Multiboot
 * boot information (command line, modules, memory map), boot sectors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "../fuzz/loader_images.h"
#include "loader.h"
#include "ringfold/vm.h"

#define MIB (1ull << 20)

static struct vm vm;

static void vm_setup(uint64_t size)
{
    struct rf_err err = { { 0 } };
    memset(&vm, 0, sizeof(vm));
    cr_assert_eq(guest_mem_init(&vm.mem, size, &err), 0, "%s", err.msg);
    vm.cfg.mem_size = size;
    /* Garbage everywhere, so zero-filled .bss is really written by the loader. */
    memset(vm.mem.host, 0xCC, size);
}

static void vm_teardown(void)
{
    guest_mem_destroy(&vm.mem);
}

TestSuite(loader_boot, .fini = vm_teardown);

/* Writes data to a fresh temp file; the caller unlinks it. */
static char *temp_file(const void *data, size_t size, const char *suffix)
{
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/rf-loader-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, size), (ssize_t)size);
    close(fd);
    return path;
}

static const uint8_t *ram(uint32_t pa)
{
    return vm.mem.host + pa;
}

static uint32_t ram32(uint32_t pa)
{
    uint32_t v;
    memcpy(&v, ram(pa), 4);
    return v;
}

static void assert_flat32(const struct vcpu_state *st, uint32_t eip)
{
    cr_assert_eq(st->eip, eip);
    cr_assert_eq(st->seg[S_CS].sel, 0x10);
    cr_assert_eq(st->seg[S_CS].base, 0);
    cr_assert_eq(st->seg[S_CS].limit, 0xffffffffu);
    cr_assert(st->seg[S_CS].attr & SEG_ATTR_DB, "32-bit code segment");
    cr_assert_eq(st->seg[S_DS].sel, 0x18);
    cr_assert_eq(st->seg[S_SS].sel, 0x18);
    cr_assert(st->cr0 & CR0_PE, "protected mode");
    cr_assert_eq(st->cr0 & CR0_PG, 0, "paging off");
    cr_assert_eq(st->eflags & EFL_IF, 0, "interrupts off");
}

static void assert_seg_loaded(const struct timg *t, uint32_t file_off, uint32_t pa,
                              uint32_t filesz, uint32_t memsz)
{
    cr_assert_eq(memcmp(ram(pa), t->data + file_off, filesz), 0, "segment data at 0x%x", pa);
    for (uint32_t i = filesz; i < memsz; i++)
        cr_assert_eq(ram(pa)[i], 0, ".bss byte at 0x%x not zeroed", pa + i);
}

Test(loader_boot, multiboot_elf_with_modules_and_cmdline)
{
    vm_setup(64 * MIB);
    struct timg_seg segs[] = {
        { 0x100000, 0x100000, 0x3000, 0x5000, 1 },
        { 0x200000, 0x200000, 0x800, 0x800, 2 },
    };
    struct timg k = timg_elf(segs, 2, 0x100010, true, MB_HF_PAGE_ALIGN | MB_HF_MEMINFO);
    uint8_t m1[5000], m2[4096];
    for (unsigned i = 0; i < sizeof(m1); i++)
        m1[i] = (uint8_t)(i * 3 + 1);
    for (unsigned i = 0; i < sizeof(m2); i++)
        m2[i] = (uint8_t)(i * 5 + 2);
    char *kpath = temp_file(k.data, k.size, ".elf");
    char *p1 = temp_file(m1, sizeof(m1), "");
    char *p2 = temp_file(m2, sizeof(m2), "");
    char m2spec[128];
    snprintf(m2spec, sizeof(m2spec), "%s arg1 arg2", p2);
    struct boot_spec spec = { .kernel = kpath, .cmdline = "console=ttyS0 quiet",
                              .modules = { p1, m2spec }, .nmodules = 2 };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = loader_load(&vm, &spec, &st, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);

    assert_seg_loaded(&k, TIMG_DATA_OFF, 0x100000, 0x3000, 0x5000);
    assert_seg_loaded(&k, TIMG_DATA_OFF + 0x3000, 0x200000, 0x800, 0x800);
    assert_flat32(&st, 0x100010);
    cr_assert_eq(st.gpr[R_EAX], 0x2BADB002u);
    uint32_t info = st.gpr[R_EBX];
    cr_assert(info >= 0x1000 && info + sizeof(struct mb_info) <= MB_LOW_RAM_END,
              "info at 0x%x in free low memory", info);

    struct mb_info mi;
    memcpy(&mi, ram(info), sizeof(mi));
    cr_assert_eq(mi.flags & (MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
                             MB_INFO_LOADER_NAME),
                 MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP | MB_INFO_LOADER_NAME);
    cr_assert_eq(mi.flags & MB_INFO_BOOTDEV, 0, "no boot device");
    cr_assert_eq(mi.mem_lower, 640);
    cr_assert_eq(mi.mem_upper, (64 * 1024) - 1024);
    char want[256];
    snprintf(want, sizeof(want), "%s console=ttyS0 quiet", kpath);
    cr_assert_str_eq((const char *)ram(mi.cmdline), want);
    cr_assert_str_eq((const char *)ram(mi.boot_loader_name), "ringfold");

    cr_assert_eq(mi.mods_count, 2);
    struct mb_module mods[2];
    memcpy(mods, ram(mi.mods_addr), sizeof(mods));
    cr_assert_eq(mods[0].mod_start % 4096, 0);
    cr_assert_geq(mods[0].mod_start, 0x200800, "module above the kernel");
    cr_assert_eq(mods[0].mod_end - mods[0].mod_start, sizeof(m1));
    cr_assert_eq(memcmp(ram(mods[0].mod_start), m1, sizeof(m1)), 0);
    cr_assert_str_eq((const char *)ram(mods[0].string), p1);
    cr_assert_eq(mods[1].mod_start % 4096, 0);
    cr_assert_geq(mods[1].mod_start, mods[0].mod_end);
    cr_assert_eq(mods[1].mod_end - mods[1].mod_start, sizeof(m2));
    cr_assert_eq(memcmp(ram(mods[1].mod_start), m2, sizeof(m2)), 0);
    cr_assert_str_eq((const char *)ram(mods[1].string), m2spec);

    cr_assert_eq(mi.mmap_length, 3 * sizeof(struct mb_mmap_entry));
    struct mb_mmap_entry mm[3];
    memcpy(mm, ram(mi.mmap_addr), sizeof(mm));
    cr_assert_eq(mm[0].size, 20);
    cr_assert(mm[0].base_addr == 0 && mm[0].length == 0x9FC00 && mm[0].type == 1);
    cr_assert(mm[1].base_addr == 0x9FC00 && mm[1].length == 0x100000 - 0x9FC00 && mm[1].type == 2);
    cr_assert(mm[2].base_addr == 0x100000 && mm[2].length == 63 * MIB && mm[2].type == 1);

    unlink(kpath);
    unlink(p1);
    unlink(p2);
    free(kpath); free(p1); free(p2); free(k.data);
}

Test(loader_boot, multiboot_cmdline_without_append_is_the_path)
{
    vm_setup(16 * MIB);
    struct timg_seg seg = { 0x100000, 0x100000, 0x100, 0x100, 3 };
    struct timg k = timg_elf(&seg, 1, 0x100000, true, 0);
    struct boot_spec spec = { .kernel = "/boot/kernel.elf" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    struct mb_info mi;
    memcpy(&mi, ram(st.gpr[R_EBX]), sizeof(mi));
    cr_assert_str_eq((const char *)ram(mi.cmdline), "/boot/kernel.elf");
    cr_assert_eq(mi.mods_count, 0);
    cr_assert_eq(mi.mem_upper, 15 * 1024);
    free(k.data);
}

Test(loader_boot, multiboot_aout_kludge)
{
    vm_setup(16 * MIB);
    struct timg k = timg_aout(0x100000, 0x2000, 0x1000, 0x80, 0x40);
    struct boot_spec spec = { .kernel = "aout.bin", .cmdline = "x=1" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, 0, 0x100000, 0x2000, 0x3000);
    cr_assert_eq(ram(0x103000)[0], 0xCC, "nothing written past bss_end_addr");
    assert_flat32(&st, 0x100080);
    cr_assert_eq(st.gpr[R_EAX], MB_BOOT_MAGIC);
    cr_assert_eq(ram32(0x100040), MB_HEADER_MAGIC, "header lands at header_addr");
    struct mb_info mi;
    memcpy(&mi, ram(st.gpr[R_EBX]), sizeof(mi));
    cr_assert_str_eq((const char *)ram(mi.cmdline), "aout.bin x=1");
    free(k.data);
}

Test(loader_boot, multiboot_aout_load_end_zero_loads_to_end_of_file)
{
    vm_setup(16 * MIB);
    struct timg k = timg_aout(0x200000, 0x1800, 0, 0, 0x20);
    timg_put32(k.data + 0x20 + 20, 0);   /* load_end_addr = 0: the whole file */
    struct boot_spec spec = { .kernel = "k" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, 0, 0x200000, 0x1800, 0x1800);
    cr_assert_eq(ram(0x201800)[0], 0xCC);
    free(k.data);
}

Test(loader_boot, boot_info_avoids_a_low_kernel)
{
    vm_setup(16 * MIB);
    /* The kernel covers 0x1000-0x3FFFF, including the preferred 0x9000. */
    struct timg k = timg_aout(0x1000, 0x3F000, 0, 0, 0x100);
    struct boot_spec spec = { .kernel = "low.bin" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    uint32_t info = st.gpr[R_EBX];
    cr_assert(info >= 0x40000 || info + sizeof(struct mb_info) <= 0x1000, "info at 0x%x", info);
    cr_assert_eq(memcmp(ram(0x1000), k.data, k.size), 0, "kernel intact under the info");
    struct mb_info mi;
    memcpy(&mi, ram(info), sizeof(mi));
    cr_assert_str_eq((const char *)ram(mi.cmdline), "low.bin");
    free(k.data);
}

Test(loader_boot, higher_half_elf_entry_is_translated)
{
    vm_setup(16 * MIB);
    struct timg_seg seg = { 0x100000, 0xC0100000u, 0x1000, 0x2000, 4 };
    struct timg k = timg_elf(&seg, 1, 0xC0100020u, true, MB_HF_MEMINFO);
    struct boot_spec spec = { .kernel = "hh" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, TIMG_DATA_OFF, 0x100000, 0x1000, 0x2000);
    assert_flat32(&st, 0x100020);
    free(k.data);
}

Test(loader_boot, multiboot_elf_wins_over_aout_kludge)
{
    vm_setup(16 * MIB);
    struct timg_seg seg = { 0x300000, 0x300000, 0x1000, 0x1000, 5 };
    struct timg k = timg_elf(&seg, 1, 0x300004, true, MB_HF_AOUT_KLUDGE);
    /* Kludge fields that would load elsewhere: ignored for an ELF32 image. */
    timg_put32(k.data + TIMG_MB_OFF + 12, 0x500000 + TIMG_MB_OFF);
    timg_put32(k.data + TIMG_MB_OFF + 16, 0x500000);
    timg_put32(k.data + TIMG_MB_OFF + 28, 0x500000);
    struct boot_spec spec = { .kernel = "k" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, TIMG_DATA_OFF, 0x300000, 0x1000, 0x1000);
    cr_assert_eq(ram(0x500000)[0], 0xCC);
    cr_assert_eq(st.eip, 0x300004);
    free(k.data);
}

Test(loader_boot, plain_elf)
{
    vm_setup(16 * MIB);
    struct timg_seg segs[] = {
        { 0x100000, 0x100000, 0x1234, 0x4000, 6 },
        { 0x10000, 0x10000, 0x200, 0x200, 7 },
    };
    struct timg k = timg_elf(segs, 2, 0x10100, false, 0);
    char *path = temp_file(k.data, k.size, ".elf");
    struct boot_spec spec = { .kernel = path };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load(&vm, &spec, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, TIMG_DATA_OFF, 0x100000, 0x1234, 0x4000);
    assert_seg_loaded(&k, TIMG_DATA_OFF + 0x2000, 0x10000, 0x200, 0x200);
    assert_flat32(&st, 0x10100);
    cr_assert_eq(st.gpr[R_EAX], 0);
    cr_assert_eq(st.gpr[R_EBX], 0);
    cr_assert_eq(ram(0x9000)[0], 0xCC, "no boot information for a plain ELF");
    unlink(path);
    free(path);
    free(k.data);
}

static void assert_bootsect_state(const struct vcpu_state *st)
{
    cr_assert_eq(st->cr0 & CR0_PE, 0, "real mode");
    cr_assert_eq(st->seg[S_CS].sel, 0);
    cr_assert_eq(st->seg[S_CS].base, 0);
    cr_assert_eq(st->eip, 0x7C00);
    cr_assert_eq(st->gpr[R_EDX] & 0xff, 0x80, "DL = first hard disk");
    cr_assert_eq(st->seg[S_SS].sel, 0);
    cr_assert_eq(st->seg[S_SS].base, 0);
    cr_assert_eq(st->gpr[R_ESP] & 0xffff, 0x7C00);
    cr_assert_eq(st->eflags & EFL_IF, 0);
}

Test(loader_boot, boot_sector)
{
    vm_setup(16 * MIB);
    struct timg b = timg_bootsect();
    char *path = temp_file(b.data, b.size, "");
    struct boot_spec spec = { .kernel = path };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load(&vm, &spec, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(ram(0x7C00), b.data, 512), 0);
    cr_assert_eq(ram(0x7E00)[0], 0xCC);
    cr_assert_eq(ram(0x7BFF)[0], 0xCC);
    assert_bootsect_state(&st);
    unlink(path);
    free(path);
    free(b.data);
}

Test(loader_boot, short_boot_sector_needs_a_raw_image_name)
{
    vm_setup(16 * MIB);
    uint8_t code[] = { 0xf4, 0xeb, 0xfd, 0x55, 0xAA };   /* hlt; jmp $-1; signature */
    struct boot_spec spec = { .kernel = "tiny.bin" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, code, sizeof(code), &st, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(ram(0x7C00), code, sizeof(code)), 0);
    assert_bootsect_state(&st);

    spec.kernel = "tiny.img";
    cr_assert_eq(loader_load_image(&vm.mem, &spec, code, sizeof(code), &st, &err), 0, "%s", err.msg);
    spec.kernel = "tiny.dat";
    cr_assert_eq(loader_load_image(&vm.mem, &spec, code, sizeof(code), &st, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "tiny.dat: not a Linux bzImage, Multiboot, ELF32 or boot-sector image");
}

Test(loader_boot, module_without_args_and_empty_module)
{
    vm_setup(16 * MIB);
    struct timg_seg seg = { 0x100000, 0x100000, 0x100, 0x100, 3 };
    struct timg k = timg_elf(&seg, 1, 0x100000, true, 0);
    char *p1 = temp_file("", 0, "");
    char *p2 = temp_file("abc", 3, "");
    struct boot_spec spec = { .kernel = "k", .modules = { p1, p2 }, .nmodules = 2 };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    struct mb_info mi;
    memcpy(&mi, ram(st.gpr[R_EBX]), sizeof(mi));
    struct mb_module mods[2];
    memcpy(mods, ram(mi.mods_addr), sizeof(mods));
    cr_assert_eq(mods[0].mod_end, mods[0].mod_start, "empty module");
    cr_assert_eq(mods[1].mod_end - mods[1].mod_start, 3);
    cr_assert_eq(memcmp(ram(mods[1].mod_start), "abc", 3), 0);
    cr_assert_str_eq((const char *)ram(mods[1].string), p2);
    unlink(p1); unlink(p2);
    free(p1); free(p2); free(k.data);
}

Test(loader_boot, bss_only_segment_ignores_its_file_offset)
{
    vm_setup(16 * MIB);
    struct timg_seg segs[] = { { 0x100000, 0x100000, 0x100, 0x100, 1 },
                               { 0x200000, 0x200000, 0, 0x3000, 2 } };
    struct timg k = timg_elf(segs, 2, 0x100000, false, 0);
    struct elf32_phdr ph;
    memcpy(&ph, k.data + TIMG_PHOFF + sizeof(ph), sizeof(ph));
    ph.p_offset = 0xfffffff0u;
    memcpy(k.data + TIMG_PHOFF + sizeof(ph), &ph, sizeof(ph));
    struct boot_spec spec = { .kernel = "bss" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    assert_seg_loaded(&k, 0, 0x200000, 0, 0x3000);
    cr_assert_eq(ram(0x203000)[0], 0xCC);
    free(k.data);
}

Test(loader_boot, module_skips_the_vga_hole)
{
    vm_setup(16 * MIB);
    /* Kernel 0x10000-0x8FFFF: a 128 KiB module after it would cross 0xA0000. */
    struct timg k = timg_aout(0x10000, 0x80000, 0, 0, 0x100);
    uint8_t *m = malloc(0x20000);
    for (unsigned i = 0; i < 0x20000; i++)
        m[i] = (uint8_t)(i ^ (i >> 9));
    char *p = temp_file(m, 0x20000, "");
    struct boot_spec spec = { .kernel = "low", .modules = { p }, .nmodules = 1 };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&vm.mem, &spec, k.data, k.size, &st, &err), 0, "%s", err.msg);
    struct mb_info mi;
    memcpy(&mi, ram(st.gpr[R_EBX]), sizeof(mi));
    struct mb_module mod;
    memcpy(&mod, ram(mi.mods_addr), sizeof(mod));
    cr_assert_eq(mod.mod_start, 0x100000);
    cr_assert_eq(memcmp(ram(0x100000), m, 0x20000), 0);
    uint32_t info = st.gpr[R_EBX];
    cr_assert(info + sizeof(mi) <= 0x10000 || (info >= 0x90000 && info < MB_LOW_RAM_END) ||
              info >= 0x120000, "info at 0x%x overlaps nothing", info);
    unlink(p);
    free(p); free(m); free(k.data);
}
