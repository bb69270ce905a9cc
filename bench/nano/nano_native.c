/* bench/nano/nano_native.c: the user-level nanobenchmarks (compute, pushfpopf, callret) run
 * natively as a 32-bit Linux process, the baseline column of ringfold-bench.sh. The loops are
 * nano_user.S's, built with -DNANO_NATIVE; the output lines are the guest's:
 *   nano: tsc_hz=H / nano: NAME iters=N cycles=C / nano: done
 * The TSC rate is measured against CLOCK_MONOTONIC (median of five 10 ms windows). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint32_t nano_iters = 100000;
volatile uint64_t user_t0, user_t1;
void user_compute(void);
void user_pushfpopf(void);
void user_callret(void);

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tsc_window(void)
{
    uint64_t n0 = now_ns(), t0 = rdtsc(), n1, t1;
    do {
        n1 = now_ns();
        t1 = rdtsc();
    } while (n1 - n0 < 10000000ull);
    return (t1 - t0) * 1000000000ull / (n1 - n0);
}

static uint64_t tsc_calibrate(void)
{
    uint64_t w[5];
    for (int i = 0; i < 5; i++) {
        uint64_t v = tsc_window();
        int j = i;
        for (; j > 0 && w[j - 1] > v; j--)
            w[j] = w[j - 1];
        w[j] = v;
    }
    return w[2];
}

/* Warm-up iterations at most, as in the guest (nano.c: WARMUP_ITERS, COMPUTE_WARMUP). */
static const struct { const char *name; void (*fn)(void); uint32_t warmup; } benches[] = {
    { "compute", user_compute, 200000 }, { "pushfpopf", user_pushfpopf, 1000 },
    { "callret", user_callret, 1000 },
};

int main(int argc, char **argv)
{
    uint32_t iters = nano_iters;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "iters=", 6) || !argv[i][6] ||
            (iters = (uint32_t)strtoul(argv[i] + 6, &end, 10), *end)) {
            fprintf(stderr, "nano-native: usage: nano-native [iters=N]\n");
            return 2;
        }
    }
    printf("nano: tsc_hz=%llu\n", (unsigned long long)tsc_calibrate());
    for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        nano_iters = iters < benches[i].warmup ? iters : benches[i].warmup;
        benches[i].fn();
        nano_iters = iters;
        benches[i].fn();
        printf("nano: %s iters=%u cycles=%llu\n", benches[i].name, iters,
               (unsigned long long)(user_t1 - user_t0));
    }
    printf("nano: done\n");
    return 0;
}
