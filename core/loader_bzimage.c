/* Linux bzImage kernels through the 32-bit boot protocol (Documentation/arch/x86/boot.rst,
 * "32-bit Boot Protocol"; zero-page.rst): no real-mode setup code runs, so ringfold does
 * what it would have done — fill boot_params (the "zero page") with the setup header, the
 * command line, the initrd and an e820 memory map — and jumps to the protected-mode
 * kernel at code32_start in flat 32-bit mode. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "loader_bzimage.h"
#include "loader_plan.h"

#define ONE_MIB             0x100000u
#define PAGE                4096u
#define SETUP_HDR_START     0x1f1u      /* boot.rst: the header starts at 0x1f1 ... */
#define SETUP_HDR_JUMP      0x200u      /* ... with a short jump whose byte 0x201 gives its end */
#define SETUP_HDR_MAGIC     0x53726448u /* "HdrS" at 0x202 */
#define BOOT_FLAG_MAGIC     0xAA55u
#define PROTO_MIN           0x020au     /* 2.10: pref_address and init_size */
#define PROTO_MIN_HDR_END   0x264u      /* one past init_size, the last 2.10 field we read */
#define HDR_END_MAX         (SETUP_HDR_JUMP + 2 + 0x7f)  /* a short jump reaches no further */
#define LOADED_HIGH         0x01u       /* loadflags bit 0: protected-mode code at 1 MiB */
#define CAN_USE_HEAP        0x80u       /* loadflags bit 7: heap_end_ptr is valid */
#define LOADER_TYPE_UNKNOWN 0xffu       /* type_of_loader for a loader without an assigned id */
#define HEAP_END_PTR        0xde00u     /* boot.rst's example: heap end 0xe000 minus 0x200 */
#define DEFAULT_INITRD_MAX  0x37ffffffu /* boot.rst: initrd_addr_max before protocol 2.03 */
#define E820_RAM            1u
#define E820_RESERVED       2u
#define EBDA_START          0x9fc00u    /* what a PC BIOS keeps for itself below 640 KiB */

/* The setup header, byte for byte at 0x1f1 of both the image and boot_params. */
struct bz_setup_header {
    uint8_t  setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;
    uint16_t jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t  type_of_loader;
    uint8_t  loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;
    uint32_t ramdisk_image;
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t  ext_loader_ver;
    uint8_t  ext_loader_type;
    uint32_t cmd_line_ptr;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t  relocatable_kernel;
    uint8_t  min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset;
    uint32_t payload_length;
    uint64_t setup_data;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t handover_offset;
    uint32_t kernel_info_offset;
} __attribute__((packed));

struct bz_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

#define BZ_E820_MAX 128

/* boot_params (zero-page.rst), only the fields ringfold fills; the rest stays zero. */
struct bz_boot_params {
    uint8_t  _screen_info_etc[0x1e4];
    uint32_t scratch;                   /* the decompressor's first stack (head_32.S) */
    uint8_t  e820_entries;
    uint8_t  _pad1[SETUP_HDR_START - 0x1e9];
    struct bz_setup_header hdr;
    uint8_t  _pad2[0x2d0 - 0x26c];
    struct bz_e820_entry e820_table[BZ_E820_MAX];
    uint8_t  _pad3[0x1000 - 0xcd0];
} __attribute__((packed));

#define HDR_AT(f) (SETUP_HDR_START + offsetof(struct bz_setup_header, f))
_Static_assert(sizeof(struct bz_setup_header) == 0x26c - SETUP_HDR_START, "setup header ends at 0x26c");
_Static_assert(HDR_AT(syssize) == 0x1f4 && HDR_AT(boot_flag) == 0x1fe, "setup header layout");
_Static_assert(HDR_AT(header) == 0x202 && HDR_AT(version) == 0x206, "setup header layout");
_Static_assert(HDR_AT(type_of_loader) == 0x210 && HDR_AT(loadflags) == 0x211, "setup header layout");
_Static_assert(HDR_AT(code32_start) == 0x214 && HDR_AT(ramdisk_image) == 0x218, "setup header layout");
_Static_assert(HDR_AT(ramdisk_size) == 0x21c && HDR_AT(heap_end_ptr) == 0x224, "setup header layout");
_Static_assert(HDR_AT(cmd_line_ptr) == 0x228 && HDR_AT(initrd_addr_max) == 0x22c, "setup header layout");
_Static_assert(HDR_AT(kernel_alignment) == 0x230 && HDR_AT(relocatable_kernel) == 0x234, "setup header layout");
_Static_assert(HDR_AT(cmdline_size) == 0x238 && HDR_AT(pref_address) == 0x258, "setup header layout");
_Static_assert(HDR_AT(init_size) == 0x260 && PROTO_MIN_HDR_END == HDR_AT(init_size) + 4, "setup header layout");
_Static_assert(sizeof(struct bz_e820_entry) == 20, "e820 entries are 20 bytes");
_Static_assert(offsetof(struct bz_boot_params, scratch) == 0x1e4, "boot_params layout");
_Static_assert(offsetof(struct bz_boot_params, e820_entries) == 0x1e8, "boot_params layout");
_Static_assert(offsetof(struct bz_boot_params, hdr) == SETUP_HDR_START, "boot_params layout");
_Static_assert(offsetof(struct bz_boot_params, e820_table) == 0x2d0, "boot_params layout");
_Static_assert(sizeof(struct bz_boot_params) == 4096, "boot_params is one page");
_Static_assert(HDR_END_MAX <= 0x2d0, "a copied header never reaches the e820 table");

/* Everything the checks decide, so the commit step has nothing left to refuse. */
struct bz_layout {
    struct bz_setup_header h;
    uint32_t hdr_end;           /* one past the header's last byte (0x202 + byte 0x201) */
    uint64_t pm_off, pm_size;   /* protected-mode kernel in the file */
    uint64_t run_start, run_end;    /* where the decompressor builds the kernel */
    const char *cmdline;
    uint64_t cmdline_len;
    uint64_t initrd_addr;
    struct loader_image initrd;
};

bool loader_bzimage_detect(const struct loader_image *img)
{
    return img->size >= HDR_AT(header) + 4 && loader_le32(img->data + HDR_AT(header)) == SETUP_HDR_MAGIC;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* The setup header: protocol, sizes and the protected-mode kernel's place in the file. */
static int check_header(const struct loader_image *img, struct bz_layout *lo, struct rf_err *err)
{
    const char *p = img->path;
    struct bz_setup_header *h = &lo->h;
    if (img->size < HDR_AT(version) + 2)
        return rf_errf(err, -EINVAL, "%s: truncated Linux setup header (%llu bytes)", p,
                       (unsigned long long)img->size);
    uint64_t avail = img->size - SETUP_HDR_START;
    memcpy(h, img->data + SETUP_HDR_START, avail < sizeof(*h) ? avail : sizeof(*h));
    if (h->boot_flag != BOOT_FLAG_MAGIC)
        return rf_errf(err, -EINVAL, "%s: Linux setup header has boot_flag 0x%04x, not 0xaa55", p,
                       h->boot_flag);
    if (h->version < PROTO_MIN)
        return rf_errf(err, -EINVAL, "%s: Linux boot protocol %u.%02u is too old (ringfold needs "
                       "2.10 or later)", p, h->version >> 8, h->version & 0xff);
    lo->hdr_end = SETUP_HDR_JUMP + 2 + img->data[SETUP_HDR_JUMP + 1];
    if (lo->hdr_end < PROTO_MIN_HDR_END || lo->hdr_end > HDR_END_MAX)
        return rf_errf(err, -EINVAL, "%s: Linux setup header ends at 0x%x (byte 0x201), outside "
                       "0x%x-0x%x for protocol 2.10+", p, lo->hdr_end, PROTO_MIN_HDR_END, HDR_END_MAX);
    if (lo->hdr_end > img->size)
        return rf_errf(err, -EINVAL, "%s: truncated Linux setup header (ends at 0x%x, file has "
                       "%llu bytes)", p, lo->hdr_end, (unsigned long long)img->size);
    /* boot.rst: "If this field is 0, the real value is 4." */
    unsigned sects = h->setup_sects ? h->setup_sects : 4;
    lo->pm_off = (uint64_t)(sects + 1) * 512;
    if (lo->pm_off >= img->size)
        return rf_errf(err, -EINVAL, "%s: truncated bzImage: no protected-mode kernel after %u "
                       "setup sectors (file has %llu bytes)", p, sects, (unsigned long long)img->size);
    uint64_t rest = img->size - lo->pm_off;
    /* syssize counts 16-byte paragraphs; what follows them (Debian's signature) is not code. */
    lo->pm_size = h->syssize ? (uint64_t)h->syssize * 16 : rest;
    if (lo->pm_size > rest)
        return rf_errf(err, -EINVAL, "%s: truncated bzImage: syssize says %llu bytes of "
                       "protected-mode kernel at offset 0x%llx, the file has %llu", p,
                       (unsigned long long)lo->pm_size, (unsigned long long)lo->pm_off,
                       (unsigned long long)rest);
    if (!(h->loadflags & LOADED_HIGH))
        return rf_errf(err, -EINVAL, "%s: zImage (loadflags bit 0 clear: kernel loads at "
                       "0x10000), only bzImage kernels are supported", p);
    if (h->code32_start != ONE_MIB)
        return rf_errf(err, -EINVAL, "%s: code32_start is 0x%x, ringfold loads bzImage kernels "
                       "at 0x100000 only", p, h->code32_start);
    return 0;
}

/* The decompressor's output area: head_32.S rounds the load address up to kernel_alignment
 * (relocatable kernels) and never goes below the compiled-in address, pref_address. */
static int check_run_area(const struct guest_mem *mem, const char *p, struct bz_layout *lo,
                          struct rf_err *err)
{
    const struct bz_setup_header *h = &lo->h;
    if (h->pref_address < ONE_MIB || h->pref_address >= (1ull << 32))
        return rf_errf(err, -EINVAL, "%s: pref_address 0x%llx is outside 1 MiB-4 GiB", p,
                       (unsigned long long)h->pref_address);
    if (h->init_size == 0)
        return rf_errf(err, -EINVAL, "%s: init_size is 0 (the kernel must say how much memory "
                       "it decompresses into)", p);
    uint64_t start = h->pref_address;
    if (h->relocatable_kernel) {
        uint32_t a = h->kernel_alignment;
        if (a < PAGE || (a & (a - 1)))
            return rf_errf(err, -EINVAL, "%s: relocatable kernel with kernel_alignment 0x%x (not a "
                           "power of two of at least 4 KiB)", p, a);
        if (align_up(ONE_MIB, a) > start)
            start = align_up(ONE_MIB, a);
    }
    lo->run_start = start;
    lo->run_end = start + h->init_size;
    if (lo->run_end > mem->size)
        return rf_errf(err, -EINVAL, "%s: the kernel needs RAM up to 0x%llx to decompress "
                       "(0x%llx + init_size 0x%x); guest RAM is %llu MiB", p,
                       (unsigned long long)lo->run_end, (unsigned long long)start, h->init_size,
                       (unsigned long long)(mem->size >> 20));
    return loader_check_ram(mem, lo->run_start, h->init_size, p, "decompression area", err);
}

static bool meets(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The initrd goes as high as initrd_addr_max and RAM allow, page aligned, as boot.rst
 * recommends; when that lands in the decompression area, just below it instead. */
static int place_initrd(const struct guest_mem *mem, const struct boot_spec *spec,
                        struct bz_layout *lo, struct rf_err *err)
{
    const char *p = spec->kernel;
    if (spec->nmodules == 0)
        return 0;
    if (spec->nmodules > 1)
        return rf_errf(err, -EINVAL, "%s: a Linux kernel takes one initrd, %d were given", p,
                       spec->nmodules);
    const char *path = spec->modules[0];
    if (!path || !*path)
        return rf_errf(err, -EINVAL, "%s: initrd has no file name", p);
    int rc = loader_image_read(path, mem->size, "initrd", &lo->initrd, err);
    if (rc < 0)
        return rc;
    uint64_t size = lo->initrd.size;
    if (size == 0)
        return rf_errf(err, -EINVAL, "%s: initrd is empty", path);
    uint64_t max = lo->h.initrd_addr_max ? lo->h.initrd_addr_max : DEFAULT_INITRD_MAX;
    uint64_t top = max + 1 < mem->size ? max + 1 : mem->size;
    uint64_t kern_end = align_up(ONE_MIB + lo->pm_size, PAGE);
    uint64_t cand[2] = { top, lo->run_start < top ? lo->run_start : top };
    for (int i = 0; i < 2; i++) {
        if (cand[i] < kern_end + size)
            continue;
        uint64_t a = (cand[i] - size) & ~(uint64_t)(PAGE - 1);
        if (a < kern_end || meets(a, size, lo->run_start, lo->run_end - lo->run_start))
            continue;
        lo->initrd_addr = a;
        return 0;
    }
    return rf_errf(err, -EINVAL, "%s: initrd (%llu bytes) does not fit below 0x%llx clear of the "
                   "kernel (0x100000-0x%llx) and its decompression area (0x%llx-0x%llx); "
                   "give the guest more --mem", path, (unsigned long long)size,
                   (unsigned long long)top, (unsigned long long)(kern_end - 1),
                   (unsigned long long)lo->run_start, (unsigned long long)(lo->run_end - 1));
}

static void fill_e820(struct bz_boot_params *bp, const struct guest_mem *mem)
{
    const struct bz_e820_entry map[] = {
        { 0, EBDA_START, E820_RAM },
        { EBDA_START, ONE_MIB - EBDA_START, E820_RESERVED },
        { ONE_MIB, mem->size - ONE_MIB, E820_RAM },
    };
    memcpy(bp->e820_table, map, sizeof(map));
    bp->e820_entries = sizeof(map) / sizeof(map[0]);
}

/* boot.rst "32-bit Boot Protocol": a zeroed boot_params with the image's setup header,
 * then the fields a boot loader writes. */
static void fill_boot_params(struct bz_boot_params *bp, const struct guest_mem *mem,
                             const struct loader_image *img, const struct bz_layout *lo)
{
    memset(bp, 0, sizeof(*bp));
    memcpy((uint8_t *)bp + SETUP_HDR_START, img->data + SETUP_HDR_START, lo->hdr_end - SETUP_HDR_START);
    bp->hdr.type_of_loader = LOADER_TYPE_UNKNOWN;
    bp->hdr.loadflags = (uint8_t)((lo->h.loadflags & LOADED_HIGH) | CAN_USE_HEAP);
    bp->hdr.heap_end_ptr = HEAP_END_PTR;
    bp->hdr.cmd_line_ptr = BZ_CMDLINE_ADDR;
    bp->hdr.ramdisk_image = (uint32_t)lo->initrd_addr;
    bp->hdr.ramdisk_size = (uint32_t)lo->initrd.size;
    fill_e820(bp, mem);
}

static int plan_all(struct guest_mem *mem, const struct loader_image *img, struct bz_layout *lo,
                    struct loader_plan *plan, struct bz_boot_params *bp, struct rf_err *err)
{
    const char *p = img->path;
    int rc = loader_plan_add(plan, mem, ONE_MIB, img->data + lo->pm_off, lo->pm_size, lo->pm_size,
                             p, "protected-mode kernel", err);
    if (rc == 0)
        rc = loader_plan_add(plan, mem, BZ_ZERO_PAGE_ADDR, (const uint8_t *)bp, sizeof(*bp),
                             sizeof(*bp), p, "zero page", err);
    if (rc == 0)
        rc = loader_plan_add(plan, mem, BZ_CMDLINE_ADDR, (const uint8_t *)lo->cmdline,
                             lo->cmdline_len, lo->cmdline_len + 1, p, "command line", err);
    if (rc == 0 && lo->initrd.size)
        rc = loader_plan_add(plan, mem, lo->initrd_addr, lo->initrd.data, lo->initrd.size,
                             lo->initrd.size, p, "initrd", err);
    return rc;
}

int loader_bzimage_load(struct guest_mem *mem, const struct boot_spec *spec,
                        const struct loader_image *img, struct vcpu_state *st,
                        struct rf_err *err)
{
    const char *p = img->path;
    struct bz_layout lo;
    memset(&lo, 0, sizeof(lo));
    int rc = check_header(img, &lo, err);
    if (rc == 0)
        rc = check_run_area(mem, p, &lo, err);
    if (rc < 0)
        return rc;
    lo.cmdline = spec->cmdline ? spec->cmdline : "";
    lo.cmdline_len = strlen(lo.cmdline);
    /* cmdline_size excludes the terminating zero; the line must also end below the EBDA. */
    if (lo.cmdline_len > lo.h.cmdline_size || BZ_CMDLINE_ADDR + lo.cmdline_len + 1 > EBDA_START)
        return rf_errf(err, -EINVAL, "%s: command line is %llu bytes, the kernel accepts at most %u",
                       p, (unsigned long long)lo.cmdline_len, lo.h.cmdline_size);
    struct boot_spec named = *spec;
    named.kernel = p;
    rc = place_initrd(mem, &named, &lo, err);
    struct bz_boot_params bp;
    struct loader_plan plan = { .n = 0 };
    if (rc == 0) {
        fill_boot_params(&bp, mem, img, &lo);
        rc = plan_all(mem, img, &lo, &plan, &bp, err);
    }
    if (rc == 0) {
        loader_plan_commit(&plan, mem);
        /* Flat 32-bit protected mode with __BOOT_CS 0x10 and __BOOT_DS 0x18, paging and
         * interrupts off; ESI points at boot_params, EBP = EDI = EBX = 0. */
        vcpu_state_flat32(st, lo.h.code32_start);
        st->gpr[R_ESI] = BZ_ZERO_PAGE_ADDR;
        st->gpr[R_EBP] = st->gpr[R_EDI] = st->gpr[R_EBX] = 0;
    }
    loader_image_free(&lo.initrd);
    return rc;
}
