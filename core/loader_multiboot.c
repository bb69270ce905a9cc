/* Multiboot v1 kernels (Multiboot Specification 0.6.96): header search and checks, the
 * kernel's placement (ELF program headers, or the a.out kludge address fields), and the
 * machine state of §3.2. Modules and boot information are in loader_mbinfo.c. */
#include <errno.h>
#include <string.h>
#include "elf32.h"
#include "loader_formats.h"
#include "loader_multiboot.h"

int64_t loader_multiboot_find(const struct loader_image *img)
{
    uint64_t limit = img->size < MB_SEARCH_BYTES ? img->size : MB_SEARCH_BYTES;
    int64_t first = -1;
    /* A header is the magic with a matching checksum; a stray magic word with a wrong
     * checksum is reported only when no real header follows (GRUB checks both too). */
    for (uint64_t off = 0; off + 4 <= limit; off += 4) {
        if (loader_le32(img->data + off) != MB_HEADER_MAGIC)
            continue;
        if (first < 0)
            first = (int64_t)off;
        /* The whole header must lie in the first 8 KiB (§3.1.1). */
        if (off + MB_HEADER_MIN <= img->size && off + MB_HEADER_MIN <= MB_SEARCH_BYTES) {
            uint32_t sum = MB_HEADER_MAGIC + loader_le32(img->data + off + 4) +
                           loader_le32(img->data + off + 8);
            if (sum == 0)
                return (int64_t)off;
        }
    }
    return first;
}

/* The a.out kludge (§3.1.3): header_addr maps the header's file offset to a physical
 * address, which fixes where file byte (offset - (header_addr - load_addr)) goes. */
static int plan_aout(const struct guest_mem *mem, const struct loader_image *img,
                     const struct mb_header *h, uint64_t hdr_off, struct loader_plan *plan,
                     uint32_t *entry, struct rf_err *err)
{
    const char *p = img->path;
    if (hdr_off + MB_HEADER_AOUT_END > img->size)
        return rf_errf(err, -EINVAL, "%s: truncated Multiboot header (a.out address fields "
                       "past the end of the file)", p);
    if (h->load_addr > h->header_addr)
        return rf_errf(err, -EINVAL, "%s: Multiboot load_addr 0x%x is above header_addr 0x%x",
                       p, h->load_addr, h->header_addr);
    uint64_t delta = h->header_addr - h->load_addr;
    if (delta > hdr_off)
        return rf_errf(err, -EINVAL, "%s: Multiboot header_addr - load_addr (0x%llx) exceeds the "
                       "header's file offset 0x%llx", p, (unsigned long long)delta,
                       (unsigned long long)hdr_off);
    uint64_t off = hdr_off - delta;
    uint64_t filesz;
    if (h->load_end_addr == 0) {
        filesz = img->size - off;
    } else {
        if (h->load_end_addr < h->load_addr)
            return rf_errf(err, -EINVAL, "%s: Multiboot load_end_addr 0x%x is below load_addr 0x%x",
                           p, h->load_end_addr, h->load_addr);
        filesz = h->load_end_addr - h->load_addr;
        if (off + filesz > img->size)
            return rf_errf(err, -EINVAL, "%s: Multiboot load_end_addr 0x%x is past the end of "
                           "the file (%llu bytes loaded from offset 0x%llx)", p, h->load_end_addr,
                           (unsigned long long)filesz, (unsigned long long)off);
    }
    /* The header itself is part of the text it describes. */
    if (delta + MB_HEADER_AOUT_END > filesz)
        return rf_errf(err, -EINVAL, "%s: Multiboot header at 0x%x is outside the loaded range "
                       "0x%x+0x%llx", p, h->header_addr, h->load_addr, (unsigned long long)filesz);
    uint64_t memsz = filesz;
    if (h->bss_end_addr) {
        if ((uint64_t)h->bss_end_addr < h->load_addr + filesz)
            return rf_errf(err, -EINVAL, "%s: Multiboot bss_end_addr 0x%x is below the end of "
                           "the loaded data 0x%llx", p, h->bss_end_addr,
                           (unsigned long long)(h->load_addr + filesz));
        memsz = h->bss_end_addr - h->load_addr;
    }
    int rc = loader_plan_add(plan, mem, h->load_addr, img->data + off, filesz, memsz, p,
                             "kernel image", err);
    if (rc < 0)
        return rc;
    if (h->entry_addr < h->load_addr || h->entry_addr - h->load_addr >= memsz)
        return rf_errf(err, -EINVAL, "%s: entry point 0x%x is not inside the loaded kernel "
                       "0x%x-0x%llx", p, h->entry_addr, h->load_addr,
                       (unsigned long long)(h->load_addr + memsz - 1));
    *entry = h->entry_addr;
    return 0;
}

static int plan_kernel(const struct guest_mem *mem, const struct loader_image *img,
                       const struct mb_header *h, uint64_t hdr_off, struct loader_plan *plan,
                       uint32_t *entry, struct rf_err *err)
{
    /* ELF32 images load by their program headers even with the kludge bit, as GRUB and QEMU
     * do for ELF; other ELF flavours (an ELF64 kernel's 32-bit stub) need the kludge. */
    if (loader_elf_is_i386(img))
        return loader_elf_plan(mem, img, plan, entry, err);
    if (h->flags & MB_HF_AOUT_KLUDGE)
        return plan_aout(mem, img, h, hdr_off, plan, entry, err);
    if (elf_has_magic(img->data, img->size))
        return loader_elf_plan(mem, img, plan, entry, err);   /* names what is wrong */
    return rf_errf(err, -EINVAL, "%s: Multiboot kernel is not ELF32 and its header has no "
                   "a.out kludge address fields (flags bit 16)", img->path);
}

int loader_multiboot_load(struct guest_mem *mem, const struct boot_spec *spec,
                          const struct loader_image *img, uint64_t hdr_off,
                          struct vcpu_state *st, struct rf_err *err)
{
    const char *p = img->path;
    struct mb_header h;
    memset(&h, 0, sizeof(h));
    if (hdr_off + MB_HEADER_MIN > img->size)
        return rf_errf(err, -EINVAL, "%s: truncated Multiboot header at offset 0x%llx", p,
                       (unsigned long long)hdr_off);
    uint64_t avail = img->size - hdr_off;
    memcpy(&h, img->data + hdr_off, avail < sizeof(h) ? avail : sizeof(h));
    if (h.magic + h.flags + h.checksum != 0)
        return rf_errf(err, -EINVAL, "%s: Multiboot checksum wrong (magic + flags + checksum = "
                       "0x%x, must be 0)", p, h.magic + h.flags + h.checksum);
    /* Bits 0-15 are requirements: a loader that does not know one must refuse (§3.1.2). */
    uint32_t unknown = h.flags & MB_HF_REQUIRED_MASK & ~MB_HF_KNOWN;
    if (unknown)
        return rf_errf(err, -EINVAL, "%s: Multiboot header requires unsupported features "
                       "(flags 0x%x)", p, unknown);

    struct loader_plan plan = { .n = 0 };
    struct mb_boot boot;
    memset(&boot, 0, sizeof(boot));
    uint32_t entry = 0;
    int rc = plan_kernel(mem, img, &h, hdr_off, &plan, &entry, err);
    if (rc == 0)
        rc = loader_mbinfo_plan(mem, spec, &plan, &boot, err);
    if (rc == 0) {
        loader_plan_commit(&plan, mem);
        /* §3.2: EAX magic, EBX physical address of the information, flat 32-bit protected
         * mode with paging and interrupts off. ESP is undefined: the kernel sets its own. */
        vcpu_state_flat32(st, entry);
        st->gpr[R_EAX] = MB_BOOT_MAGIC;
        st->gpr[R_EBX] = boot.info_addr;
    }
    loader_mbinfo_free(&boot);
    return rc;
}
