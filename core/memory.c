/* Guest physical memory as one memfd, so every engine (and every host process of raw mode)
 * maps the same pages instead of copying RAM. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ringfold/memory.h"

int guest_mem_init(struct guest_mem *m, uint64_t size, struct rf_err *err)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    if (size < GUEST_MEM_MIN)
        return rf_errf(err, -EINVAL, "memory: %llu bytes is below the 1 MiB minimum",
                       (unsigned long long)size);
    if (size > GUEST_MEM_MAX)
        return rf_errf(err, -EINVAL, "memory: %llu MiB exceeds the %llu MiB a 32-bit PC guest can use "
                       "below the MMIO window", (unsigned long long)(size >> 20),
                       (unsigned long long)(GUEST_MEM_MAX >> 20));
    if (size & 0xfff)
        return rf_errf(err, -EINVAL, "memory: size must be a multiple of 4 KiB");
    int fd = memfd_create("ringfold-ram", MFD_CLOEXEC);
    if (fd < 0)
        return rf_errf(err, -errno, "memory: memfd_create: %s", strerror(errno));
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        return rf_errf(err, -e, "memory: cannot size guest RAM to %llu MiB: %s",
                       (unsigned long long)(size >> 20), strerror(e));
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return rf_errf(err, -e, "memory: cannot map %llu MiB of guest RAM: %s",
                       (unsigned long long)(size >> 20), strerror(e));
    }
    m->fd = fd;
    m->host = p;
    m->size = size;
    return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
    if (m->host)
        munmap(m->host, m->size);
    if (m->fd >= 0)
        close(m->fd);
    m->host = NULL;
    m->fd = -1;
}

bool guest_mem_is_ram(const struct guest_mem *m, uint64_t pa, uint64_t len)
{
    if (len == 0)
        return pa <= m->size;
    if (pa >= m->size || len > m->size - pa)
        return false;
    return pa + len <= PC_VGA_HOLE_START || pa >= PC_VGA_HOLE_END;
}

int guest_mem_write(struct guest_mem *m, uint64_t pa, const void *src, uint64_t len)
{
    if (!guest_mem_is_ram(m, pa, len))
        return -EFAULT;
    memcpy(m->host + pa, src, len);
    return 0;
}

int guest_mem_read(const struct guest_mem *m, uint64_t pa, void *dst, uint64_t len)
{
    if (!guest_mem_is_ram(m, pa, len))
        return -EFAULT;
    memcpy(dst, m->host + pa, len);
    return 0;
}
