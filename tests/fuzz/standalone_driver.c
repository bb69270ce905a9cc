/* A main() for libFuzzer targets in builds without libFuzzer (gcc, ctest smoke runs): runs
 * the files given as arguments, then a bounded number of pseudo-random and mutated inputs
 * from a fixed seed, so every run is reproducible. Options follow libFuzzer's spelling:
 *   -runs=N  -seed=S  -max_len=L  -max_total_time=SECONDS  --write-seeds DIR  [FILE...]
 * A crash reports the iteration; rerun with the same options and -runs set to it, or save
 * the input with RINGFOLD_FUZZ_SAVE=PATH (each input is written there before it runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fuzz_seeds.h"

#pragma weak fuzz_target_seeds

#define MAX_SEEDS 64

static uint64_t rng_state;

/* xorshift64*: small, fast, and the same sequence on every host. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int read_file(const char *path, struct fuzz_seed *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -ENOMEM;
    out->data = buf;
    out->size = n;
    return 0;
}

static void run_one(const uint8_t *data, size_t size)
{
    const char *save = getenv("RINGFOLD_FUZZ_SAVE");
    if (save) {
        FILE *f = fopen(save, "wb");
        if (f) {
            fwrite(data, 1, size, f);
            fclose(f);
        }
    }
    /* A private copy, so reads past the end are caught by ASan as under libFuzzer. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

/* Values that tend to sit on boundaries: sizes, signs, page and 4 GiB edges. */
static const uint32_t interesting[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x9fc00, 0xa0000, 0xc0000, 0x100000, 0x7fffffff, 0x80000000u, 0xfffff000u, 0xffffffffu,
};

static size_t mutate(uint8_t *buf, size_t size, size_t max_len, const struct fuzz_seed *seeds,
                     size_t nseeds)
{
    int steps = 1 + (int)rng_below(4);
    for (int s = 0; s < steps; s++) {
        switch (rng_below(7)) {
        case 0:     /* flip a bit */
            if (size)
                buf[rng_below(size)] ^= (uint8_t)(1u << rng_below(8));
            break;
        case 1:     /* random byte */
            if (size)
                buf[rng_below(size)] = (uint8_t)rng();
            break;
        case 2: {   /* an interesting 32-bit value at an aligned or random offset */
            if (size < 4)
                break;
            size_t off = rng_below(size - 3);
            if (rng() & 1)
                off &= ~(size_t)3;
            uint32_t v = interesting[rng_below(sizeof(interesting) / sizeof(interesting[0]))];
            if (rng() & 1)
                v += (uint32_t)rng_below(3) - 1;
            memcpy(buf + off, &v, 4);
            break;
        }
        case 3:     /* truncate */
            if (size)
                size = rng_below(size + 1);
            break;
        case 4: {   /* grow with random bytes */
            size_t add = rng_below(64) + 1;
            if (size + add > max_len)
                add = max_len - size;
            for (size_t i = 0; i < add; i++)
                buf[size + i] = (uint8_t)rng();
            size += add;
            break;
        }
        case 5: {   /* copy a block within the input */
            if (size < 2)
                break;
            size_t len = rng_below(size / 2) + 1;
            size_t from = rng_below(size - len + 1), to = rng_below(size - len + 1);
            memmove(buf + to, buf + from, len);
            break;
        }
        case 6: {   /* splice in part of another seed */
            if (!nseeds)
                break;
            const struct fuzz_seed *o = &seeds[rng_below(nseeds)];
            if (!o->size || !size)
                break;
            size_t len = rng_below(o->size) + 1;
            size_t at = rng_below(size);
            if (at + len > max_len)
                len = max_len - at;
            memcpy(buf + at, o->data + rng_below(o->size - len + 1), len);
            if (at + len > size)
                size = at + len;
            break;
        }
        }
    }
    return size;
}

static int write_seeds(const char *dir, const struct fuzz_seed *seeds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/seed-%02zu", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(seeds[i].data, 1, seeds[i].size, f) != seeds[i].size) {
            fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
            if (f)
                fclose(f);
            return 1;
        }
        fclose(f);
    }
    printf("fuzz: wrote %zu seeds to %s\n", n, dir);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long runs = 10000, seed = 1;
    size_t max_len = 65536;
    double max_time = 0;
    const char *seed_dir = NULL;
    struct fuzz_seed seeds[MAX_SEEDS];
    size_t nseeds = 0;

    if (fuzz_target_seeds)
        nseeds = fuzz_target_seeds(seeds, MAX_SEEDS);
    size_t nbuiltin = nseeds;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "-runs=", 6)) {
            runs = strtoull(a + 6, NULL, 0);
        } else if (!strncmp(a, "-seed=", 6)) {
            seed = strtoull(a + 6, NULL, 0);
        } else if (!strncmp(a, "-max_len=", 9)) {
            max_len = strtoull(a + 9, NULL, 0);
        } else if (!strncmp(a, "-max_total_time=", 16)) {
            max_time = strtod(a + 16, NULL);
        } else if (!strcmp(a, "--write-seeds") && i + 1 < argc) {
            seed_dir = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "usage: %s [-runs=N] [-seed=S] [-max_len=L] [-max_total_time=S] "
                    "[--write-seeds DIR] [FILE...]\n", argv[0]);
            return 2;
        } else {
            if (nseeds == MAX_SEEDS)
                continue;
            if (read_file(a, &seeds[nseeds]) < 0) {
                fprintf(stderr, "fuzz: cannot read %s\n", a);
                return 2;
            }
            printf("fuzz: running %s (%zu bytes)\n", a, seeds[nseeds].size);
            run_one(seeds[nseeds].data, seeds[nseeds].size);
            nseeds++;
        }
    }
    if (seed_dir)
        return write_seeds(seed_dir, seeds, nbuiltin);
    if (max_len < 16)
        max_len = 16;
    /* -runs=0 replays only the files named on the command line. */
    for (size_t i = 0; runs && i < nbuiltin; i++)
        run_one(seeds[i].data, seeds[i].size);

    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    uint8_t *buf = malloc(max_len);
    if (!buf)
        return 1;
    double t0 = now_s();
    unsigned long long i;
    for (i = 0; i < runs; i++) {
        size_t size;
        if (nseeds && rng_below(4)) {
            const struct fuzz_seed *s = &seeds[rng_below(nseeds)];
            size = s->size < max_len ? s->size : max_len;
            memcpy(buf, s->data, size);
            size = mutate(buf, size, max_len, seeds, nseeds);
        } else {
            size = rng_below(rng() & 1 ? 64 : max_len) + 1;
            for (size_t j = 0; j < size; j++)
                buf[j] = (uint8_t)rng();
        }
        run_one(buf, size);
        if (max_time > 0 && (i & 63) == 0 && now_s() - t0 > max_time) {
            i++;
            break;
        }
    }
    printf("fuzz: %llu inputs (seed %llu, %zu seeds) in %.1f s, no crash\n", i, seed, nseeds,
           now_s() - t0);
    free(buf);
    for (size_t k = 0; k < nseeds; k++)
        free(seeds[k].data);
    return 0;
}
