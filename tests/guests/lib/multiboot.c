/* Access to the Multiboot v1 information the loader passed in EBX (spec section 3.3). */
#include "guest.h"

static const struct multiboot_info *mb_info;

/* Called by start.S with the entry EAX and EBX. */
void guest_lib_init(uint32_t magic, uint32_t info);

void guest_lib_init(uint32_t magic, uint32_t info)
{
    mb_info = magic == MULTIBOOT_BOOTLOADER_MAGIC && info
        ? (const struct multiboot_info *)(uintptr_t)info : NULL;
}

const struct multiboot_info *guest_mbi(void)
{
    return mb_info;
}

const char *guest_cmdline(void)
{
    if (!mb_info || !(mb_info->flags & MULTIBOOT_INFO_CMDLINE) || !mb_info->cmdline)
        return "";
    return (const char *)(uintptr_t)mb_info->cmdline;
}

uint32_t guest_mem_lower_kb(void)
{
    return mb_info && (mb_info->flags & MULTIBOOT_INFO_MEMORY) ? mb_info->mem_lower : 0;
}

uint32_t guest_mem_upper_kb(void)
{
    return mb_info && (mb_info->flags & MULTIBOOT_INFO_MEMORY) ? mb_info->mem_upper : 0;
}

const struct multiboot_mmap_entry *guest_mmap_next(const struct multiboot_mmap_entry *prev)
{
    if (!mb_info || !(mb_info->flags & MULTIBOOT_INFO_MMAP))
        return NULL;
    uintptr_t start = mb_info->mmap_addr, end = start + mb_info->mmap_length;
    uintptr_t next = prev ? (uintptr_t)prev + prev->size + 4 : start;
    /* The size field lets entries grow; one that would run past the buffer ends it. */
    if (next < start || next + sizeof(struct multiboot_mmap_entry) > end)
        return NULL;
    return (const struct multiboot_mmap_entry *)next;
}

bool guest_cmdline_get(const char *key, char *buf, size_t size)
{
    const char *s = guest_cmdline();
    size_t klen = strlen(key);
    while (*s) {
        while (*s == ' ')
            s++;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        if ((size_t)(s - w) >= klen && !strncmp(w, key, klen) &&
            (w + klen == s || w[klen] == '=')) {
            const char *v = w + klen == s ? s : w + klen + 1;
            size_t n = (size_t)(s - v);
            if (size) {
                if (n >= size)
                    n = size - 1;
                memcpy(buf, v, n);
                buf[n] = 0;
            }
            return true;
        }
    }
    return false;
}
