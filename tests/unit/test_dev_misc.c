/* Unit tests for port 0x92, isa-debug-exit, the 0xE9 debug console, the POST port and the
 * console's escape handling and backends. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include "console.h"
#include "misc_ports.h"
#include "ringfold/trace.h"

static struct bus b;
static int resets, exits;
static uint32_t exit_value;
static char chars[64];
static int nchars;

static void fake_reset(void *opaque) { (void)opaque; resets++; }
static void fake_exit(void *opaque, uint32_t v) { (void)opaque; exits++; exit_value = v; }
static void fake_putc(void *opaque, uint8_t c) { (void)opaque; chars[nchars++] = (char)c; }

static void setup(void)
{
    bus_init(&b);
    resets = exits = nchars = 0;
    exit_value = 0;
}

TestSuite(misc, .init = setup);

Test(misc, port92_a20_and_fast_reset_on_rising_bit0)
{
    struct port92 p;
    port92_init(&p, fake_reset, NULL);
    cr_assert_eq(port92_register(&p, &b, NULL), 0);
    cr_assert_eq(bus_pio_read(&b, 0x92, 1), 0x00);
    bus_pio_write(&b, 0x92, 0x02, 1);
    cr_assert(port92_a20(&p));
    cr_assert_eq(bus_pio_read(&b, 0x92, 1), 0x02);
    cr_assert_eq(resets, 0);
    bus_pio_write(&b, 0x92, 0x03, 1);
    cr_assert_eq(resets, 1);
    bus_pio_write(&b, 0x92, 0x03, 1);   /* no 0->1 transition: no second reset */
    cr_assert_eq(resets, 1);
    bus_pio_write(&b, 0x92, 0x00, 1);
    cr_assert(!port92_a20(&p));
    bus_pio_write(&b, 0x92, 0x01, 1);
    cr_assert_eq(resets, 2);
    cr_assert_eq(p.resets, 2);
}

Test(misc, debug_exit_any_width)
{
    struct debug_exit d;
    debug_exit_init(&d, fake_exit, NULL);
    cr_assert_eq(debug_exit_register(&d, &b, 0xf4, NULL), 0);
    bus_pio_write(&b, 0xf4, 0x31, 1);
    cr_assert_eq(exits, 1);
    cr_assert_eq(exit_value, 0x31);
    bus_pio_write(&b, 0xf4, 0x1234, 2);
    cr_assert_eq(exit_value, 0x1234);
    bus_pio_write(&b, 0xf4, 0x00010002, 4);
    cr_assert_eq(exit_value, 0x00010002);
    bus_pio_write(&b, 0xf4, 0xffffff05, 1);   /* a byte write carries only the byte */
    cr_assert_eq(exit_value, 0x05);
    cr_assert_eq(bus_pio_read(&b, 0xf4, 1), 0xff);
    cr_assert_eq(d.writes, 4);
}

Test(misc, debugcon_bytes_and_detection)
{
    struct debugcon d;
    debugcon_init(&d, fake_putc, NULL);
    cr_assert_eq(debugcon_register(&d, &b, NULL), 0);
    cr_assert_eq(bus_pio_read(&b, 0xe9, 1), 0xe9);
    bus_pio_write(&b, 0xe9, 'o', 1);
    bus_pio_write(&b, 0xe9, 'k', 1);
    cr_assert_eq(nchars, 2);
    cr_assert_eq(memcmp(chars, "ok", 2), 0);
    cr_assert_eq(d.bytes, 2);
}

Test(misc, post_code_stored_counted_and_traced)
{
    struct post_code p;
    post_code_init(&p);
    cr_assert_eq(post_code_register(&p, &b, NULL), 0);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    trace_out = f;
    bus_pio_write(&b, 0x80, 0x12, 1);
    trace_mask = TRACE_POST;
    bus_pio_write(&b, 0x80, 0xab, 1);
    trace_mask = 0;
    trace_out = NULL;
    cr_assert_eq(bus_pio_read(&b, 0x80, 1), 0xab);
    cr_assert_eq(p.writes, 2);
    char buf[64] = { 0 };
    rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    cr_assert_eq(n, strlen("post: ab\n"));
    cr_assert_str_eq(buf, "post: ab\n");   /* only the traced write */
}

static int quits;
static void fake_quit(void *opaque) { (void)opaque; quits++; }

Test(misc, console_escape_sequences_on_a_terminal)
{
    struct console c;
    cr_assert_eq(console_open(&c, "null", NULL), 0);
    c.tty = true;                      /* as if stdin were a terminal */
    c.quit = fake_quit;
    quits = 0;
    uint8_t out[16];
    size_t n = console_filter(&c, (const uint8_t *)"a\x01\x01" "b", 4, out);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(out, "a\x01" "b", 3), 0);
    n = console_filter(&c, (const uint8_t *)"\x01", 1, out);   /* escape split across reads */
    cr_assert_eq(n, 0);
    n = console_filter(&c, (const uint8_t *)"xz", 2, out);
    cr_assert_eq(quits, 1);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 'z');
    c.tty = false;                     /* not a terminal: bytes pass unchanged */
    n = console_filter(&c, (const uint8_t *)"\x01x", 2, out);
    cr_assert_eq(n, 2);
    cr_assert_eq(quits, 1);
    console_close(&c);
}

Test(misc, console_file_backend_and_bad_spec)
{
    char path[] = "/tmp/ringfold-console-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "old contents", 12), 12);
    close(fd);
    char spec[64];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct console c;
    cr_assert_eq(console_open(&c, spec, NULL), 0);
    console_putc(&c, 'h');
    console_putc(&c, 'i');
    console_close(&c);
    char buf[32] = { 0 };
    fd = open(path, O_RDONLY);
    cr_assert_eq(read(fd, buf, sizeof(buf)), 2);   /* truncated, then written */
    close(fd);
    unlink(path);
    cr_assert_str_eq(buf, "hi");
    struct rf_err e;
    cr_assert_lt(console_open(&c, "file:/nonexistent-dir/x", &e), 0);
    cr_assert(strstr(e.msg, "/nonexistent-dir/x") != NULL);
    cr_assert_lt(console_open(&c, "tcp:1234", &e), 0);
}

Test(misc, console_stdin_pipe_until_eof)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(0);
    dup2(p[0], 0);
    close(p[0]);
    struct console c;
    cr_assert_eq(console_open(&c, "stdio", NULL), 0);
    cr_assert(!c.tty);
    int fd = console_input_fd(&c);
    cr_assert_geq(fd, 0);
    uint8_t buf[16];
    cr_assert_eq(console_read(&c, buf, sizeof(buf)), 0);   /* nothing yet, no blocking */
    cr_assert_eq(write(p[1], "hello", 5), 5);
    cr_assert_eq(console_read(&c, buf, 3), 3);             /* at most what the UART holds */
    cr_assert_eq(memcmp(buf, "hel", 3), 0);
    cr_assert_eq(console_read(&c, buf, sizeof(buf)), 2);
    close(p[1]);
    cr_assert_eq(console_read(&c, buf, sizeof(buf)), 0);   /* EOF */
    /* After EOF the fd stays valid but never polls readable (no busy wake-ups). */
    struct pollfd pf = { .fd = console_input_fd(&c), .events = POLLIN };
    cr_assert_eq(poll(&pf, 1, 0), 0);
    console_close(&c);
    dup2(saved, 0);
    close(saved);
}
