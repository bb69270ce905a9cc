/* Validated load plans: the one place loaders check guest-physical ranges and write RAM. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "loader_plan.h"

#define FOUR_GIB (1ull << 32)

int loader_check_ram(const struct guest_mem *mem, uint64_t pa, uint64_t len,
                     const char *path, const char *what, struct rf_err *err)
{
    unsigned long long a = pa, e = pa + len;
    if (len == 0)
        return 0;
    if (pa >= FOUR_GIB || len > FOUR_GIB - pa)
        return rf_errf(err, -EINVAL, "%s: %s at 0x%llx (%llu bytes) wraps past 4 GiB",
                       path, what, a, (unsigned long long)len);
    if (e > mem->size)
        return rf_errf(err, -EINVAL, "%s: %s at 0x%llx-0x%llx is outside guest RAM (%llu MiB)",
                       path, what, a, e - 1, (unsigned long long)(mem->size >> 20));
    /* The legacy VGA window is MMIO on a PC, not RAM (memory.h). */
    if (pa < PC_VGA_HOLE_END && e > PC_VGA_HOLE_START)
        return rf_errf(err, -EINVAL, "%s: %s at 0x%llx-0x%llx overlaps the VGA hole 0x%x-0x%x",
                       path, what, a, e - 1, PC_VGA_HOLE_START, PC_VGA_HOLE_END - 1);
    if (!guest_mem_is_ram(mem, pa, len))
        return rf_errf(err, -EINVAL, "%s: %s at 0x%llx-0x%llx is not guest RAM", path, what, a, e - 1);
    return 0;
}

static bool ranges_meet(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

bool loader_plan_overlaps(const struct loader_plan *plan, uint64_t pa, uint64_t len)
{
    for (int i = 0; i < plan->n; i++)
        if (ranges_meet(pa, len, plan->seg[i].pa, plan->seg[i].memsz))
            return true;
    return false;
}

int loader_plan_add(struct loader_plan *plan, const struct guest_mem *mem, uint64_t pa,
                    const uint8_t *src, uint64_t filesz, uint64_t memsz,
                    const char *path, const char *what, struct rf_err *err)
{
    if (filesz > memsz)
        return rf_errf(err, -EINVAL, "%s: %s has memory size 0x%llx smaller than its file size 0x%llx",
                       path, what, (unsigned long long)memsz, (unsigned long long)filesz);
    if (memsz == 0)
        return 0;
    int rc = loader_check_ram(mem, pa, memsz, path, what, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < plan->n; i++) {
        const struct loader_seg *s = &plan->seg[i];
        if (ranges_meet(pa, memsz, s->pa, s->memsz))
            return rf_errf(err, -EINVAL, "%s: %s at 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx",
                           path, what, (unsigned long long)pa, (unsigned long long)(pa + memsz - 1),
                           s->what, (unsigned long long)s->pa,
                           (unsigned long long)(s->pa + s->memsz - 1));
    }
    if (plan->n == LOADER_PLAN_MAX)
        return rf_errf(err, -EINVAL, "%s: more than %d ranges to load", path, LOADER_PLAN_MAX);
    struct loader_seg *s = &plan->seg[plan->n++];
    s->pa = pa;
    s->src = src;
    s->filesz = filesz;
    s->memsz = memsz;
    snprintf(s->what, sizeof(s->what), "%s", what);
    return 0;
}

uint64_t loader_plan_end(const struct loader_plan *plan)
{
    uint64_t end = 0;
    for (int i = 0; i < plan->n; i++)
        if (plan->seg[i].pa + plan->seg[i].memsz > end)
            end = plan->seg[i].pa + plan->seg[i].memsz;
    return end;
}

void loader_plan_commit(const struct loader_plan *plan, struct guest_mem *mem)
{
    for (int i = 0; i < plan->n; i++) {
        const struct loader_seg *s = &plan->seg[i];
        /* Every range passed loader_check_ram, so the host pointer is valid for memsz bytes. */
        uint8_t *dst = guest_mem_ptr(mem, s->pa);
        if (s->filesz)
            memcpy(dst, s->src, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
}
