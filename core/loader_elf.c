/* ELF32 executables: validation of the file and program headers, and the plain-ELF boot.
 * Segments load at p_paddr (what the kernel's linker script says is physical), with
 * p_memsz - p_filesz bytes zeroed (the .bss), as GRUB and QEMU do. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "elf32.h"
#include "loader_formats.h"

/* The host is x86 (little endian) like the guest: ELF fields are read with memcpy. */
static void read_ehdr(const struct loader_image *img, struct elf32_ehdr *eh)
{
    memcpy(eh, img->data, sizeof(*eh));
}

bool loader_elf_is_i386(const struct loader_image *img)
{
    if (!elf_has_magic(img->data, img->size) || img->size < sizeof(struct elf32_ehdr))
        return false;
    struct elf32_ehdr eh;
    read_ehdr(img, &eh);
    return eh.e_ident[ELF_EI_CLASS] == ELF_CLASS32 && eh.e_ident[ELF_EI_DATA] == ELF_DATA2LSB &&
           eh.e_machine == ELF_EM_386;
}

static int check_ehdr(const struct loader_image *img, struct elf32_ehdr *eh, struct rf_err *err)
{
    const char *p = img->path;
    if (!elf_has_magic(img->data, img->size))
        return rf_errf(err, -EINVAL, "%s: bad ELF magic (not an ELF file)", p);
    if (img->size < ELF_EI_NIDENT)
        return rf_errf(err, -EINVAL, "%s: truncated ELF header (%llu bytes)", p,
                       (unsigned long long)img->size);
    if (img->data[ELF_EI_CLASS] != ELF_CLASS32)
        return rf_errf(err, -EINVAL, "%s: ELF class %u is not ELFCLASS32 (a 64-bit kernel?)", p,
                       img->data[ELF_EI_CLASS]);
    if (img->data[ELF_EI_DATA] != ELF_DATA2LSB)
        return rf_errf(err, -EINVAL, "%s: ELF data encoding %u is not little endian", p,
                       img->data[ELF_EI_DATA]);
    if (img->size < sizeof(*eh))
        return rf_errf(err, -EINVAL, "%s: truncated ELF header (%llu of %zu bytes)", p,
                       (unsigned long long)img->size, sizeof(*eh));
    read_ehdr(img, eh);
    if (eh->e_ident[ELF_EI_VERSION] != ELF_EV_CURRENT || eh->e_version != ELF_EV_CURRENT)
        return rf_errf(err, -EINVAL, "%s: unknown ELF version %u", p, eh->e_version);
    if (eh->e_machine != ELF_EM_386)
        return rf_errf(err, -EINVAL, "%s: ELF machine %u is not EM_386", p, eh->e_machine);
    if (eh->e_type != ELF_ET_EXEC)
        return rf_errf(err, -EINVAL, "%s: ELF type %u is not ET_EXEC (relocatable or shared "
                       "objects cannot be booted)", p, eh->e_type);
    if (eh->e_phnum == 0)
        return rf_errf(err, -EINVAL, "%s: ELF file has no program headers", p);
    if (eh->e_phnum == ELF_PN_XNUM)
        return rf_errf(err, -EINVAL, "%s: extended program header numbering (PN_XNUM) "
                       "is not supported", p);
    if (eh->e_phentsize < sizeof(struct elf32_phdr))
        return rf_errf(err, -EINVAL, "%s: ELF program header size %u is below %zu", p,
                       eh->e_phentsize, sizeof(struct elf32_phdr));
    uint64_t ph_end = (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize;
    if (ph_end > img->size)
        return rf_errf(err, -EINVAL, "%s: program headers at 0x%x-0x%llx are outside the file "
                       "(%llu bytes)", p, eh->e_phoff, (unsigned long long)ph_end - 1,
                       (unsigned long long)img->size);
    return 0;
}

static bool in_range(uint32_t x, uint32_t base, uint32_t len)
{
    return x >= base && (uint64_t)x < (uint64_t)base + len;
}

int loader_elf_plan(const struct guest_mem *mem, const struct loader_image *img,
                    struct loader_plan *plan, uint32_t *entry, struct rf_err *err)
{
    struct elf32_ehdr eh;
    int rc = check_ehdr(img, &eh, err);
    if (rc < 0)
        return rc;
    const char *p = img->path;
    bool found = false;
    int loads = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct elf32_phdr ph;
        memcpy(&ph, img->data + eh.e_phoff + (uint64_t)i * eh.e_phentsize, sizeof(ph));
        if (ph.p_type != ELF_PT_LOAD)
            continue;
        char what[48];
        snprintf(what, sizeof(what), "segment %u", i);
        /* p_offset means nothing for a segment with no file data (pure .bss). */
        if (ph.p_filesz && (uint64_t)ph.p_offset + ph.p_filesz > img->size)
            return rf_errf(err, -EINVAL, "%s: %s file data 0x%x+0x%x is outside the file "
                           "(%llu bytes)", p, what, ph.p_offset, ph.p_filesz,
                           (unsigned long long)img->size);
        const uint8_t *src = ph.p_filesz ? img->data + ph.p_offset : NULL;
        rc = loader_plan_add(plan, mem, ph.p_paddr, src, ph.p_filesz, ph.p_memsz, p, what, err);
        if (rc < 0)
            return rc;
        if (ph.p_memsz == 0)
            continue;
        loads++;
        /* GRUB's rule: an entry inside a segment's virtual range is translated to the
         * physical copy, so higher-half kernels linked with AT() start where they were put. */
        if (!found && in_range(eh.e_entry, ph.p_vaddr, ph.p_memsz)) {
            *entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
            found = true;
        }
    }
    if (loads == 0)
        return rf_errf(err, -EINVAL, "%s: ELF file has no loadable (PT_LOAD) segment", p);
    for (int i = 0; i < plan->n && !found; i++) {
        const struct loader_seg *s = &plan->seg[i];
        if (in_range(eh.e_entry, (uint32_t)s->pa, (uint32_t)s->memsz)) {
            *entry = eh.e_entry;
            found = true;
        }
    }
    if (!found)
        return rf_errf(err, -EINVAL, "%s: entry point 0x%x is not inside a loaded segment",
                       p, eh.e_entry);
    return 0;
}

int loader_elf_load(struct guest_mem *mem, const struct loader_image *img,
                    struct vcpu_state *st, struct rf_err *err)
{
    struct loader_plan plan = { .n = 0 };
    uint32_t entry = 0;
    int rc = loader_elf_plan(mem, img, &plan, &entry, err);
    if (rc < 0)
        return rc;
    loader_plan_commit(&plan, mem);
    /* Same machine state as Multiboot but with no magic and no info pointer: EAX = EBX = 0. */
    vcpu_state_flat32(st, entry);
    st->gpr[R_EAX] = 0;
    st->gpr[R_EBX] = 0;
    return 0;
}
