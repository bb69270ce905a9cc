/* Unit tests for the Linux bzImage loader on synthetic images: zero page, command line,
 * initrd placement, entry state, and the malformed images it must refuse untouched. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loader.h"
#include "loader_bzimage.h"
#include "ringfold/vm.h"

#define MIB (1ull << 20)
#define SETUP_SECTS 3
#define PM_OFF ((SETUP_SECTS + 1) * 512)
#define PM_SIZE 0x3000u

static struct guest_mem mem;

static void mem_setup(uint64_t size)
{
    struct rf_err err = { { 0 } };
    cr_assert_eq(guest_mem_init(&mem, size, &err), 0, "%s", err.msg);
    /* Garbage everywhere, so a refused image provably wrote nothing. */
    memset(mem.host, 0xCC, size);
}

static void mem_teardown(void)
{
    guest_mem_destroy(&mem);
}

TestSuite(bzimage, .fini = mem_teardown);

struct bz {
    uint8_t data[PM_OFF + PM_SIZE + 64 + 512];    /* room to move the kernel up a sector */
    size_t size;
};

static void put16(struct bz *b, uint32_t off, uint16_t v) { memcpy(b->data + off, &v, 2); }
static void put32(struct bz *b, uint32_t off, uint32_t v) { memcpy(b->data + off, &v, 4); }
static void put64(struct bz *b, uint32_t off, uint64_t v) { memcpy(b->data + off, &v, 8); }

static uint32_t ram32(uint32_t pa)
{
    uint32_t v;
    memcpy(&v, mem.host + pa, 4);
    return v;
}

/* A bzImage as boot.rst describes the 2.15 header of Debian's kernels, with a small
 * protected-mode part (a recognizable pattern) and 64 trailing "signature" bytes. */
static void bz_make(struct bz *b)
{
    memset(b->data, 0, sizeof(b->data));
    b->size = PM_OFF + PM_SIZE + 64;
    b->data[0x1f1] = SETUP_SECTS;
    put32(b, 0x1f4, PM_SIZE / 16);          /* syssize */
    put16(b, 0x1fe, 0xAA55);
    b->data[0x200] = 0xEB;                  /* jmp short to the end of the header */
    b->data[0x201] = 0x6a;                  /* header ends at 0x26c */
    memcpy(b->data + 0x202, "HdrS", 4);
    put16(b, 0x206, 0x020f);
    b->data[0x211] = 0x01;                  /* LOADED_HIGH */
    put32(b, 0x214, 0x100000);              /* code32_start */
    put16(b, 0x224, 0x1234);                /* heap_end_ptr, overwritten by the loader */
    put32(b, 0x22c, 0x7fffffff);            /* initrd_addr_max */
    put32(b, 0x230, 0x1000000);             /* kernel_alignment */
    b->data[0x234] = 1;                     /* relocatable */
    put32(b, 0x238, 2047);                  /* cmdline_size */
    put64(b, 0x258, 0x1000000);             /* pref_address */
    put32(b, 0x260, 0x800000);              /* init_size: 16-24 MiB */
    for (uint32_t i = 0; i < PM_SIZE; i++)
        b->data[PM_OFF + i] = (uint8_t)(i * 7 + 3);
    memset(b->data + PM_OFF + PM_SIZE, 0xEE, 64);
}

/* Writes data to a fresh temp file; the caller unlinks and frees it. */
static char *temp_file(const void *data, size_t size)
{
    char *path = strdup("/tmp/rf-bzimage-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, size), (ssize_t)size);
    close(fd);
    return path;
}

static int load(const struct bz *b, const char *cmdline, const char *initrd,
                struct vcpu_state *st, struct rf_err *err)
{
    struct boot_spec spec = { .kernel = "bz", .cmdline = cmdline };
    if (initrd)
        spec.modules[spec.nmodules++] = initrd;
    return loader_load_image(&mem, &spec, b->data, b->size, st, err);
}

static void expect_refused(const struct bz *b, const char *initrd, const char *cmdline,
                           const char *msg_part)
{
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(b, cmdline, initrd, &st, &err), -EINVAL, "accepted; wanted '%s'", msg_part);
    cr_assert(strstr(err.msg, msg_part), "message '%s' lacks '%s'", err.msg, msg_part);
    cr_assert(!strchr(err.msg, '\n'), "one-line message");
    /* Validate-then-commit: nothing written, not the kernel nor the zero page. */
    cr_assert_eq(mem.host[0x100000], 0xCC);
    cr_assert_eq(mem.host[BZ_ZERO_PAGE_ADDR + 0x210], 0xCC);
    cr_assert_eq(mem.host[BZ_CMDLINE_ADDR], 0xCC);
}

Test(bzimage, valid_image_fills_zero_page_and_entry_state)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(&b, "console=ttyS0 quiet", NULL, &st, &err), 0, "%s", err.msg);

    /* Protected-mode code at 1 MiB: syssize*16 bytes, not the trailing signature. */
    cr_assert_eq(memcmp(mem.host + 0x100000, b.data + PM_OFF, PM_SIZE), 0);
    cr_assert_eq(mem.host[0x100000 + PM_SIZE], 0xCC, "bytes past syssize*16 not loaded");

    const uint8_t *zp = mem.host + BZ_ZERO_PAGE_ADDR;
    cr_assert_eq(zp[0], 0, "zero page zeroed before the header");
    cr_assert_eq(zp[0x1e4], 0);
    cr_assert_eq(memcmp(zp + 0x1f1, b.data + 0x1f1, 0x210 - 0x1f1), 0, "header copied");
    cr_assert_eq(memcmp(zp + 0x230, b.data + 0x230, 0x26c - 0x230), 0, "header copied");
    cr_assert_eq(zp[0x26c], 0, "nothing past the header's end");
    cr_assert_eq(zp[0x210], 0xff, "type_of_loader");
    cr_assert_eq(zp[0x211], 0x81, "loadflags LOADED_HIGH | CAN_USE_HEAP");
    cr_assert_eq(zp[0x224] | zp[0x225] << 8, 0xde00, "heap_end_ptr");
    cr_assert_eq(ram32(BZ_ZERO_PAGE_ADDR + 0x228), BZ_CMDLINE_ADDR);
    cr_assert_str_eq((const char *)mem.host + BZ_CMDLINE_ADDR, "console=ttyS0 quiet");
    cr_assert_eq(ram32(BZ_ZERO_PAGE_ADDR + 0x218), 0, "no initrd");
    cr_assert_eq(ram32(BZ_ZERO_PAGE_ADDR + 0x21c), 0);

    /* e820: low RAM, the EBDA and BIOS area reserved, RAM from 1 MiB to the end. */
    cr_assert_eq(zp[0x1e8], 3);
    struct { uint64_t addr, size; uint32_t type; } __attribute__((packed)) e[3];
    memcpy(e, zp + 0x2d0, sizeof(e));
    cr_assert(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == 1);
    cr_assert(e[1].addr == 0x9fc00 && e[1].size == 0x100000 - 0x9fc00 && e[1].type == 2);
    cr_assert(e[2].addr == 0x100000 && e[2].size == 63 * MIB && e[2].type == 1);

    cr_assert_eq(st.eip, 0x100000);
    cr_assert_eq(st.seg[S_CS].sel, 0x10);
    cr_assert_eq(st.seg[S_CS].limit, 0xffffffffu);
    cr_assert(st.seg[S_CS].attr & SEG_ATTR_DB, "32-bit code");
    cr_assert(st.seg[S_DS].sel == 0x18 && st.seg[S_ES].sel == 0x18 && st.seg[S_SS].sel == 0x18);
    cr_assert(st.cr0 & CR0_PE);
    cr_assert_eq(st.cr0 & CR0_PG, 0);
    cr_assert_eq(st.eflags & EFL_IF, 0, "interrupts off");
    cr_assert_eq(st.gpr[R_ESI], BZ_ZERO_PAGE_ADDR);
    cr_assert(st.gpr[R_EBX] == 0 && st.gpr[R_EBP] == 0 && st.gpr[R_EDI] == 0);
}

Test(bzimage, no_cmdline_gives_empty_string)
{
    mem_setup(32 * MIB);
    struct bz b;
    bz_make(&b);
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(&b, NULL, NULL, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(ram32(BZ_ZERO_PAGE_ADDR + 0x228), BZ_CMDLINE_ADDR, "cmd_line_ptr never 0");
    cr_assert_eq(mem.host[BZ_CMDLINE_ADDR], 0);
}

Test(bzimage, syssize_zero_loads_rest_of_file_and_setup_sects_zero_means_four)
{
    mem_setup(32 * MIB);
    struct bz b;
    bz_make(&b);
    b.data[0x1f1] = 0;          /* 4 setup sectors: the kernel starts at 5 * 512 */
    memmove(b.data + 5 * 512, b.data + PM_OFF, PM_SIZE + 64);
    b.size = 5 * 512 + PM_SIZE + 64;
    put32(&b, 0x1f4, 0);
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(&b, "", NULL, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(mem.host + 0x100000, b.data + 5 * 512, PM_SIZE + 64), 0);
}

Test(bzimage, initrd_goes_high_page_aligned)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    uint8_t rd[10000];
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(i ^ 0x5a);
    char *path = temp_file(rd, sizeof(rd));
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = load(&b, "x", path, &st, &err);
    unlink(path);
    free(path);
    cr_assert_eq(rc, 0, "%s", err.msg);
    uint32_t addr = ram32(BZ_ZERO_PAGE_ADDR + 0x218);
    cr_assert_eq(ram32(BZ_ZERO_PAGE_ADDR + 0x21c), sizeof(rd));
    cr_assert_eq(addr % 4096, 0);
    cr_assert_eq(addr, (64 * MIB - sizeof(rd)) & ~0xfffull, "as high as RAM allows");
    cr_assert_eq(memcmp(mem.host + addr, rd, sizeof(rd)), 0);
}

Test(bzimage, initrd_respects_initrd_addr_max)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    put32(&b, 0x22c, 0x1ffffff);    /* below 32 MiB */
    uint8_t rd[5000] = { 1, 2, 3 };
    char *path = temp_file(rd, sizeof(rd));
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = load(&b, "", path, &st, &err);
    unlink(path);
    free(path);
    cr_assert_eq(rc, 0, "%s", err.msg);
    uint32_t addr = ram32(BZ_ZERO_PAGE_ADDR + 0x218);
    cr_assert_eq(addr, (32 * MIB - sizeof(rd)) & ~0xfffull);
    cr_assert_leq(addr + sizeof(rd) - 1, 0x1ffffff);
}

Test(bzimage, initrd_moves_below_decompression_area)
{
    /* RAM ends at 24 MiB, exactly where the decompression area (16-24 MiB) ends. */
    mem_setup(24 * MIB);
    struct bz b;
    bz_make(&b);
    uint8_t rd[8192] = { 9 };
    char *path = temp_file(rd, sizeof(rd));
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    int rc = load(&b, "", path, &st, &err);
    unlink(path);
    free(path);
    cr_assert_eq(rc, 0, "%s", err.msg);
    uint32_t addr = ram32(BZ_ZERO_PAGE_ADDR + 0x218);
    cr_assert_eq(addr, 16 * MIB - sizeof(rd));
    cr_assert_eq(mem.host[addr], 9);
}

Test(bzimage, initrd_too_big_refused)
{
    mem_setup(24 * MIB);
    struct bz b;
    bz_make(&b);
    size_t n = 15 * MIB + 512 * 1024;   /* more than 1 MiB + kernel .. 16 MiB */
    uint8_t *rd = calloc(1, n);
    char *path = temp_file(rd, n);
    expect_refused(&b, path, "", "does not fit");
    unlink(path);
    free(path);
    free(rd);
}

Test(bzimage, two_initrds_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    struct boot_spec spec = { .kernel = "bz", .modules = { "/dev/null", "/dev/null" },
                              .nmodules = 2 };
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(loader_load_image(&mem, &spec, b.data, b.size, &st, &err), -EINVAL);
    cr_assert(strstr(err.msg, "one initrd"), "%s", err.msg);
    cr_assert_eq(mem.host[0x100000], 0xCC);
}

Test(bzimage, missing_and_empty_initrd_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_lt(load(&b, "", "/nonexistent/initrd.gz", &st, &err), 0);
    cr_assert(strstr(err.msg, "/nonexistent/initrd.gz: cannot open initrd"), "%s", err.msg);
    expect_refused(&b, "/dev/null", "", "initrd is empty");
}

Test(bzimage, cmdline_longer_than_cmdline_size_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    put32(&b, 0x238, 8);
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(&b, "12345678", NULL, &st, &err), 0, "exactly cmdline_size: %s", err.msg);
    memset(mem.host, 0xCC, 64 * MIB);
    expect_refused(&b, NULL, "123456789", "command line is 9 bytes, the kernel accepts at most 8");
}

Test(bzimage, old_protocol_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    put16(&b, 0x206, 0x0209);
    expect_refused(&b, NULL, "", "Linux boot protocol 2.09 is too old");
}

Test(bzimage, truncated_images_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    b.size = PM_OFF + PM_SIZE - 16;     /* syssize promises more than the file holds */
    expect_refused(&b, NULL, "", "truncated bzImage: syssize says");
    b.size = PM_OFF;                    /* nothing after the setup sectors */
    expect_refused(&b, NULL, "", "no protected-mode kernel");
    b.size = 0x240;                     /* header cut before its end at 0x26c */
    expect_refused(&b, NULL, "", "truncated Linux setup header");
}

Test(bzimage, malformed_headers_refused)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    put16(&b, 0x1fe, 0x1234);
    expect_refused(&b, NULL, "", "boot_flag 0x1234");
    bz_make(&b);
    b.data[0x211] = 0;
    expect_refused(&b, NULL, "", "zImage");
    bz_make(&b);
    put32(&b, 0x214, 0x200000);
    expect_refused(&b, NULL, "", "code32_start is 0x200000");
    bz_make(&b);
    b.data[0x201] = 0x20;               /* header too short to hold init_size */
    expect_refused(&b, NULL, "", "setup header ends at 0x222");
    bz_make(&b);
    put32(&b, 0x260, 0);
    expect_refused(&b, NULL, "", "init_size is 0");
    bz_make(&b);
    put32(&b, 0x230, 0x3000);           /* not a power of two */
    expect_refused(&b, NULL, "", "kernel_alignment 0x3000");
    bz_make(&b);
    put64(&b, 0x258, 0x80000);
    expect_refused(&b, NULL, "", "pref_address 0x80000");
}

Test(bzimage, too_little_ram_for_decompression_refused)
{
    mem_setup(20 * MIB);
    struct bz b;
    bz_make(&b);
    expect_refused(&b, NULL, "", "needs RAM up to 0x1800000 to decompress");
}

Test(bzimage, detection_needs_hdrs)
{
    struct bz b;
    bz_make(&b);
    struct loader_image img;
    loader_image_wrap(&img, "bz", b.data, b.size);
    cr_assert(loader_bzimage_detect(&img));
    b.data[0x202] = 'h';
    cr_assert_not(loader_bzimage_detect(&img));
    loader_image_wrap(&img, "bz", b.data, 0x205);
    b.data[0x202] = 'H';
    cr_assert_not(loader_bzimage_detect(&img), "too short for the magic");
}

Test(bzimage, non_bzimage_still_refused_as_before)
{
    mem_setup(64 * MIB);
    struct bz b;
    bz_make(&b);
    memcpy(b.data + 0x202, "HdrZ", 4);  /* a 0x55AA sector followed by data: no format */
    struct vcpu_state st;
    struct rf_err err = { { 0 } };
    cr_assert_eq(load(&b, NULL, NULL, &st, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "bz: not a Linux bzImage, Multiboot, ELF32 or boot-sector image");
}
