/* Host-side check of the guest printf (format.c) against the C library's snprintf:
 * built with add_guest_native, run as ctest guest.lib.format. */
#include "guest.h"

int snprintf(char *buf, size_t size, const char *fmt, ...);   /* libc, native build only */

static int failures;

#define CHECK(...)                                                                 \
    do {                                                                           \
        char a[128], b[128];                                                       \
        int na = guest_snprintf(a, sizeof a, __VA_ARGS__);                         \
        int nb = snprintf(b, sizeof b, __VA_ARGS__);                               \
        if (na != nb || strcmp(a, b)) {                                            \
            guest_printf("mismatch for %s: guest \"%s\" (%d), libc \"%s\" (%d)\n", #__VA_ARGS__, a, na, b, nb); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

void guest_main(void)
{
    CHECK("%d %d %d %d", 0, -1, 2147483647, (int)0x80000000);
    CHECK("%u %x %X %o", 4294967295u, 0xdeadbeefu, 0xdeadbeefu, 0777u);
    CHECK("[%08x] [%8x] [%-8x] [%.3x] [%#x] [%#x] [%#o]", 0x1234u, 0x1234u, 0x1234u, 0x5u, 0u, 0xabu, 8u);
    CHECK("%llx %llu %lld %lld", 0x0123456789abcdefull, 18446744073709551615ull, -9223372036854775807ll - 1, 42ll);
    CHECK("%016llx %20llu", 0xfedcba9876543210ull, 12345678901234567890ull);
    CHECK("[%s] [%10s] [%-10s] [%.2s] [%c] [%3c]", "abc", "abc", "abc", "abc", 'x', 'y');
    CHECK("%+d % d %05d %-5d| %.0d", 5, 5, -42, -42, 0);
    CHECK("%hhx %hx %lx %zu %%", 0x1ffu, 0x1ffffu, 0xfffffffful, (size_t)7);
    CHECK("%*d %-*d %.*d", 6, 12, 6, 12, 4, 7);
    char small[4];
    int n = guest_snprintf(small, sizeof small, "%s", "truncated");
    if (n != 9 || strcmp(small, "tru")) {
        guest_printf("truncation: got \"%s\" (%d)\n", small, n);
        failures++;
    }
    if (failures)
        guest_fail("%d format mismatches", failures);
    guest_printf("format: all cases match the C library\n");
}
