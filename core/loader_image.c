/* Reading guest image files (kernel, modules) into host memory with a size cap. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loader_image.h"

void loader_image_wrap(struct loader_image *img, const char *path, const void *data, uint64_t size)
{
    img->path = path;
    img->data = data;
    img->size = size;
    img->owned = NULL;
}

void loader_image_free(struct loader_image *img)
{
    free(img->owned);
    img->owned = NULL;
    img->data = NULL;
    img->size = 0;
}

/* Reads up to max+1 bytes so a file that grows, or a device with no size, is still caught. */
static int read_all(int fd, uint64_t max, uint8_t **out, uint64_t *len)
{
    uint64_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (n > max) {
                break;
            }
            uint64_t ncap = cap * 2;
            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= cap)
                ncap = cap + 1;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            free(buf);
            return e;
        }
        if (r == 0)
            break;
        n += (uint64_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

int loader_image_read(const char *path, uint64_t max, const char *what,
                      struct loader_image *img, struct rf_err *err)
{
    memset(img, 0, sizeof(*img));
    img->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_errf(err, -errno, "%s: cannot open %s: %s", path, what, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return rf_errf(err, -e, "%s: cannot stat %s: %s", path, what, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return rf_errf(err, -EISDIR, "%s: %s is a directory", path, what);
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
        close(fd);
        return rf_errf(err, -EINVAL, "%s: %s too big for RAM (%llu bytes, guest RAM is %llu MiB)",
                       path, what, (unsigned long long)sb.st_size, (unsigned long long)(max >> 20));
    }
    uint8_t *buf = NULL;
    uint64_t len = 0;
    int rc = read_all(fd, max, &buf, &len);
    close(fd);
    if (rc < 0)
        return rf_errf(err, rc, "%s: cannot read %s: %s", path, what, strerror(-rc));
    if (len > max) {
        free(buf);
        return rf_errf(err, -EINVAL, "%s: %s too big for RAM (more than %llu MiB)",
                       path, what, (unsigned long long)(max >> 20));
    }
    img->data = img->owned = buf;
    img->size = len;
    return 0;
}
