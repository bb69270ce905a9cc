/* Unit tests for malformed images: every one is refused with a one-line message naming the
 * file and the problem, and guest RAM is left exactly as it was (nothing half-loaded). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "../fuzz/loader_images.h"
#include "loader.h"
#include "ringfold/vm.h"

#define MIB (1ull << 20)
#define VM_SIZE (16 * MIB)

static struct vm vm;
static uint64_t ram_sum;

/* FNV-1a over 64-bit words: any changed byte changes it. */
static uint64_t ram_checksum(void)
{
    const uint64_t *w = (const uint64_t *)vm.mem.host;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < vm.mem.size / 8; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

static void setup(void)
{
    struct rf_err err = { { 0 } };
    memset(&vm, 0, sizeof(vm));
    cr_assert_eq(guest_mem_init(&vm.mem, VM_SIZE, &err), 0, "%s", err.msg);
    for (uint64_t i = 0; i < VM_SIZE; i++)
        vm.mem.host[i] = (uint8_t)(i * 13 + (i >> 12));
    ram_sum = ram_checksum();
}

static void teardown(void)
{
    guest_mem_destroy(&vm.mem);
}

TestSuite(loader_errors, .init = setup, .fini = teardown);

/* Loads an in-memory image and expects code, a one-line message that starts with the
 * offending file's name and contains want, and RAM untouched. */
static void expect_fail_spec(const struct boot_spec *spec, const struct timg *t, int code,
                             const char *file, const char *want)
{
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = loader_load_image(&vm.mem, spec, t->data, t->size, &st, &err);
    cr_assert_eq(rc, code, "rc %d, message '%s'", rc, err.msg);
    cr_assert(strstr(err.msg, file) == err.msg, "message names %s first: '%s'", file, err.msg);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_assert_eq(strchr(err.msg, '\n'), NULL, "one line");
    cr_assert_eq(ram_checksum(), ram_sum, "guest RAM changed by a failed load");
}

static void expect_fail(const struct timg *t, const char *want)
{
    struct boot_spec spec = { .kernel = "bad.img" };
    expect_fail_spec(&spec, t, -EINVAL, "bad.img: ", want);
    free(t->data);
}

static struct timg one_seg_elf(uint32_t paddr, uint32_t filesz, uint32_t memsz, uint32_t entry,
                               bool mb)
{
    struct timg_seg seg = { paddr, paddr, filesz, memsz, 9 };
    return timg_elf(&seg, 1, entry, mb, 0);
}

static struct elf32_ehdr *ehdr(struct timg *t)
{
    return (struct elf32_ehdr *)t->data;
}

static struct elf32_phdr *phdr(struct timg *t, int i)
{
    return (struct elf32_phdr *)(t->data + TIMG_PHOFF + i * sizeof(struct elf32_phdr));
}

Test(loader_errors, missing_file)
{
    struct boot_spec spec = { .kernel = "/nonexistent/kernel.elf" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load(&vm, &spec, &st, &err), -ENOENT);
    cr_assert(strstr(err.msg, "/nonexistent/kernel.elf: cannot open"), "%s", err.msg);
    cr_assert_eq(ram_checksum(), ram_sum);
}

Test(loader_errors, directory)
{
    struct boot_spec spec = { .kernel = "/tmp" };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_lt(loader_load(&vm, &spec, &st, &err), 0);
    cr_assert(strstr(err.msg, "/tmp: "), "%s", err.msg);
}

Test(loader_errors, empty_file)
{
    char path[] = "/tmp/rf-empty-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct boot_spec spec = { .kernel = path };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load(&vm, &spec, &st, &err), -EINVAL);
    cr_assert(strstr(err.msg, "image is empty"), "%s", err.msg);
    unlink(path);
}

Test(loader_errors, image_too_big_for_ram)
{
    char path[] = "/tmp/rf-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(ftruncate(fd, (off_t)(VM_SIZE + 1)), 0);   /* sparse: nothing is read */
    close(fd);
    struct boot_spec spec = { .kernel = path };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load(&vm, &spec, &st, &err), -EINVAL);
    cr_assert(strstr(err.msg, "too big for RAM"), "%s", err.msg);
    unlink(path);
    cr_assert_eq(ram_checksum(), ram_sum);
}

Test(loader_errors, unknown_format)
{
    struct timg t = { calloc(1, 1000), 1000 };
    memset(t.data, 0x90, 1000);
    expect_fail(&t, "bad.img: not a Linux bzImage, Multiboot, ELF32 or boot-sector image");
    struct timg b = timg_bootsect();
    b.data[511] = 0;   /* no signature */
    expect_fail(&b, "not a Linux bzImage, Multiboot, ELF32 or boot-sector image");
}

Test(loader_errors, truncated_elf_header)
{
    struct timg t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    t.size = 40;
    expect_fail(&t, "truncated ELF header");
}

Test(loader_errors, elf_class_data_machine_type)
{
    struct timg t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    t.data[ELF_EI_CLASS] = 2;
    expect_fail(&t, "ELFCLASS32");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    t.data[ELF_EI_DATA] = 2;
    expect_fail(&t, "little endian");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_machine = 62;
    expect_fail(&t, "EM_386");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_type = 3;
    expect_fail(&t, "ET_EXEC");
    /* The same checks apply to a Multiboot ELF without the a.out kludge. */
    t = one_seg_elf(0x100000, 16, 16, 0x100000, true);
    t.data[ELF_EI_CLASS] = 2;
    expect_fail(&t, "ELFCLASS32");
}

Test(loader_errors, program_headers_outside_file)
{
    struct timg t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_phoff = (uint32_t)t.size - 16;
    expect_fail(&t, "program headers");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_phnum = 0xfffe;
    expect_fail(&t, "program headers");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_phoff = 0xfffffff0u;
    expect_fail(&t, "outside the file");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_phnum = 0;
    expect_fail(&t, "no program headers");
    t = one_seg_elf(0x100000, 16, 16, 0x100000, false);
    ehdr(&t)->e_phentsize = 8;
    expect_fail(&t, "program header size");
}

Test(loader_errors, segment_data_outside_file)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, false);
    phdr(&t, 0)->p_offset = (uint32_t)t.size - 0x10;
    expect_fail(&t, "outside the file");
    t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, false);
    phdr(&t, 0)->p_offset = 0xffffff00u;
    phdr(&t, 0)->p_filesz = 0x200;
    phdr(&t, 0)->p_memsz = 0x200;
    expect_fail(&t, "outside the file");
}

Test(loader_errors, segment_outside_ram_in_hole_or_wrapping)
{
    struct timg t = one_seg_elf(VM_SIZE - 0x800, 0x1000, 0x1000, VM_SIZE - 0x800, false);
    expect_fail(&t, "outside guest RAM");
    t = one_seg_elf(0x40000000u, 0x10, 0x10, 0x40000000u, false);
    expect_fail(&t, "outside guest RAM");
    t = one_seg_elf(0x9F000, 0x1000, 0x2000, 0x9F000, false);
    expect_fail(&t, "VGA hole");
    t = one_seg_elf(0xB0000, 0x10, 0x10, 0xB0000, false);
    expect_fail(&t, "VGA hole");
    t = one_seg_elf(0xFFFFF000u, 0x10, 0x2000, 0xFFFFF000u, false);
    expect_fail(&t, "wraps past 4 GiB");
    /* Only the .bss part runs past the end of RAM: still refused. */
    t = one_seg_elf(VM_SIZE - 0x1000, 0x1000, 0x2000, VM_SIZE - 0x1000, false);
    expect_fail(&t, "outside guest RAM");
}

Test(loader_errors, memsz_below_filesz)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x80, 0x100000, false);
    expect_fail(&t, "smaller than its file size");
}

Test(loader_errors, entry_not_in_a_segment)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x100, 0x100100, false);
    expect_fail(&t, "entry point 0x100100 is not inside a loaded segment");
    t = one_seg_elf(0x100000, 0x100, 0x100, 0x0, true);
    expect_fail(&t, "entry point");
}

Test(loader_errors, no_loadable_segment_and_overlap)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, false);
    phdr(&t, 0)->p_type = 4;   /* PT_NOTE */
    expect_fail(&t, "no loadable");
    struct timg_seg segs[] = { { 0x100000, 0x100000, 0x100, 0x2000, 1 },
                               { 0x101000, 0x101000, 0x100, 0x100, 2 } };
    t = timg_elf(segs, 2, 0x100000, false, 0);
    expect_fail(&t, "overlaps segment 0");
}

Test(loader_errors, multiboot_checksum_and_flags)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, true);
    t.data[TIMG_MB_OFF + 8] ^= 1;
    expect_fail(&t, "Multiboot checksum wrong");
    t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, true);
    timg_put32(t.data + TIMG_MB_OFF + 4, 1u << 3);   /* unknown required feature */
    timg_mb_fix_checksum(&t, TIMG_MB_OFF);
    expect_fail(&t, "unsupported features");
}

Test(loader_errors, multiboot_truncated_header)
{
    struct timg t = { calloc(1, 8), 8 };
    timg_put32(t.data, MB_HEADER_MAGIC);
    expect_fail(&t, "truncated Multiboot header");
    /* Kludge bit set but the file ends inside the address fields. */
    t.data = calloc(1, 20);
    t.size = 20;
    timg_mb_header(t.data, MB_HF_AOUT_KLUDGE);
    expect_fail(&t, "truncated Multiboot header");
}

Test(loader_errors, multiboot_not_elf_without_kludge)
{
    struct timg t = { calloc(1, 4096), 4096 };
    timg_mb_header(t.data + 64, MB_HF_MEMINFO);
    expect_fail(&t, "flags bit 16");
}

Test(loader_errors, aout_fields_inconsistent)
{
    const uint32_t H = 0x40;
    struct timg t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 16, 0x100000 + H + 4);       /* load_addr above header_addr */
    timg_mb_fix_checksum(&t, H);
    expect_fail(&t, "is above header_addr");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 16, 0x100000 - 0x1000);      /* would start before the file */
    expect_fail(&t, "exceeds the header's file offset");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 20, 0x0fffff);               /* load_end below load_addr */
    expect_fail(&t, "below load_addr");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 20, 0x100000 + 0x2001);      /* past the end of the file */
    expect_fail(&t, "past the end of the file");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 24, 0x101000);               /* bss_end below load_end */
    expect_fail(&t, "bss_end_addr");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 28, 0x103000);               /* entry just past bss */
    expect_fail(&t, "entry point 0x103000");
    t = timg_aout(0x100000, 0x2000, 0x1000, 0x80, H);
    timg_put32(t.data + H + 20, 0x100000 + H);            /* header outside loaded part */
    expect_fail(&t, "outside the loaded range");
    t = timg_aout(0xA0000, 0x2000, 0, 0x80, H);
    expect_fail(&t, "VGA hole");
    t = timg_aout(0xFFFFF000u, 0x2000, 0, 0x80, H);
    timg_put32(t.data + H + 20, 0);                       /* to the end of the file: wraps */
    expect_fail(&t, "wraps past 4 GiB");
}

static char *temp_file(size_t size, uint8_t fill)
{
    char *path = strdup("/tmp/rf-mod-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    uint8_t *buf = malloc(size + 1);
    memset(buf, fill, size);
    cr_assert_eq(write(fd, buf, size), (ssize_t)size);
    free(buf);
    close(fd);
    return path;
}

Test(loader_errors, module_problems_leave_ram_untouched)
{
    char *ok = temp_file(100, 0x77);
    struct timg k = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, true);
    struct boot_spec spec = { .kernel = "mbk", .modules = { ok, "/nonexistent/initrd" },
                              .nmodules = 2 };
    expect_fail_spec(&spec, &k, -ENOENT, "/nonexistent/initrd: ", "cannot open module");

    /* Too big for RAM by itself: refused from its size, before it is read. */
    char *big = strdup("/tmp/rf-mod-big-XXXXXX");
    int fd = mkstemp(big);
    cr_assert_eq(ftruncate(fd, (off_t)VM_SIZE + 4096), 0);
    close(fd);
    struct boot_spec spec2 = { .kernel = "mbk", .modules = { big }, .nmodules = 1 };
    expect_fail_spec(&spec2, &k, -EINVAL, big, "too big for RAM");
    free(k.data);

    /* Fits in RAM but not above a kernel near the top. */
    char *mid = temp_file(2 * MIB, 0x55);
    k = one_seg_elf(VM_SIZE - MIB, 0x100, 0x100, VM_SIZE - MIB, true);
    struct boot_spec spec3 = { .kernel = "mbk", .modules = { mid }, .nmodules = 1 };
    expect_fail_spec(&spec3, &k, -EINVAL, mid, "module too big for RAM");

    struct boot_spec spec4 = { .kernel = "mbk", .modules = { " args only" }, .nmodules = 1 };
    expect_fail_spec(&spec4, &k, -EINVAL, "mbk: ", "no file name");
    free(k.data);
    unlink(ok); unlink(big); unlink(mid);
    free(ok); free(big); free(mid);
}

Test(loader_errors, modules_or_cmdline_without_multiboot)
{
    struct timg t = one_seg_elf(0x100000, 0x100, 0x100, 0x100000, false);
    struct boot_spec spec = { .kernel = "plain.elf", .modules = { "/etc/hostname" }, .nmodules = 1 };
    expect_fail_spec(&spec, &t, -EINVAL, "plain.elf: ", "modules need a Multiboot kernel");
    struct boot_spec spec2 = { .kernel = "plain.elf", .cmdline = "quiet" };
    expect_fail_spec(&spec2, &t, -EINVAL, "plain.elf: ", "command line needs a Multiboot kernel");
    free(t.data);
    struct timg b = timg_bootsect();
    struct boot_spec spec3 = { .kernel = "boot.img", .cmdline = "x" };
    expect_fail_spec(&spec3, &b, -EINVAL, "boot.img: ", "boot sector");
    free(b.data);
}
