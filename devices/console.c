/* stdio/file/null console for the UART and port 0xE9. On a terminal, stdin goes to raw mode
 * (restored at exit and on fatal signals) so every key reaches the guest, with QEMU's escape:
 * Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A. Otherwise stdin is read without blocking until
 * EOF. Output is buffered and flushed at each newline and whenever input is polled. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "console.h"

#define CONSOLE_ESCAPE 0x01   /* Ctrl-A */

/* Terminal state is process-wide: the signal handler must reach it. */
static struct termios console_saved_tio;
static volatile sig_atomic_t console_tio_saved;
static bool console_handlers_installed;

static void console_restore_tty(void)
{
    if (console_tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &console_saved_tio);
        console_tio_saved = 0;
    }
}

static void console_on_signal(int sig)
{
    console_restore_tty();
    raise(sig);   /* SA_RESETHAND: the default action runs now */
}

static void console_enter_raw(void)
{
    struct termios tio;
    if (tcgetattr(STDIN_FILENO, &console_saved_tio) < 0)
        return;
    tio = console_saved_tio;
    /* Input raw (no line editing, echo, signals or flow control); output processing kept so
     * a guest's bare "\n" still returns the carriage. */
    tio.c_iflag &= (tcflag_t)~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tio.c_lflag &= (tcflag_t)~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) < 0)
        return;
    console_tio_saved = 1;
    if (!console_handlers_installed) {
        console_handlers_installed = true;
        atexit(console_restore_tty);
        static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGPIPE };
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
            struct sigaction sa;
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = console_on_signal;
            sa.sa_flags = (int)SA_RESETHAND;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
}

int console_open(struct console *c, const char *spec, struct rf_err *err)
{
    memset(c, 0, sizeof(*c));
    c->out_fd = c->in_fd = c->hold_fd = -1;
    if (!spec || !strcmp(spec, "stdio")) {
        c->out_fd = STDOUT_FILENO;
        c->in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (c->in_fd >= 0 && isatty(STDIN_FILENO)) {
            console_enter_raw();
            c->tty = console_tio_saved;
        }
        return 0;
    }
    if (!strcmp(spec, "null"))
        return 0;
    if (!strncmp(spec, "file:", 5)) {
        c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->out_fd < 0)
            return rf_errf(err, -errno, "serial: cannot create %s: %s", spec + 5, strerror(errno));
        c->own_out = true;
        return 0;
    }
    return rf_errf(err, -EINVAL, "serial: unknown backend '%s' (stdio, null, file:PATH)", spec);
}

void console_flush(struct console *c)
{
    size_t done = 0;
    while (done < c->olen && c->out_fd >= 0) {
        ssize_t n = write(c->out_fd, c->obuf + done, c->olen - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;   /* output gone (closed pipe, full disk): the guest cannot be told; drop */
        done += (size_t)n;
    }
    c->olen = 0;
}

void console_putc(void *opaque, uint8_t byte)
{
    struct console *c = opaque;
    c->out_bytes++;
    if (c->out_fd < 0)
        return;
    c->obuf[c->olen++] = byte;
    if (c->olen == sizeof(c->obuf) || byte == '\n')
        console_flush(c);
}

void console_close(struct console *c)
{
    console_flush(c);
    if (c->tty)
        console_restore_tty();
    if (c->own_out && c->out_fd >= 0)
        close(c->out_fd);
    if (c->in_fd >= 0)
        close(c->in_fd);
    if (c->hold_fd >= 0)
        close(c->hold_fd);
    c->out_fd = c->in_fd = c->hold_fd = -1;
}

int console_input_fd(const struct console *c)
{
    return c->in_fd;
}

size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (!c->tty) {
            out[k++] = b;
        } else if (c->escape) {
            c->escape = false;
            if (b == 'x' || b == 'X') {
                if (c->quit)
                    c->quit(c->quit_opaque);
            } else if (b == CONSOLE_ESCAPE) {
                out[k++] = b;
            } else if (b == 'h' || b == '?') {
                fprintf(stderr, "\r\nC-a x  quit ringfold\r\nC-a C-a  send C-a\r\n");
            }
        } else if (b == CONSOLE_ESCAPE) {
            c->escape = true;
        } else {
            out[k++] = b;
        }
    }
    return k;
}

/* End of input: keep in_fd valid but never readable, so the run loop's poll sleeps. */
static void console_input_eof(struct console *c)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) == 0) {
        dup3(p[0], c->in_fd, O_CLOEXEC);
        close(p[0]);
        c->hold_fd = p[1];
    } else {
        close(c->in_fd);
        c->in_fd = -1;
    }
}

size_t console_read(struct console *c, uint8_t *buf, size_t max)
{
    console_flush(c);
    if (c->in_fd < 0 || c->hold_fd >= 0 || max == 0)
        return 0;
    struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return 0;
    uint8_t raw[64];
    if (max > sizeof(raw))
        max = sizeof(raw);
    ssize_t n = read(c->in_fd, raw, max);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        console_input_eof(c);
        return 0;
    }
    c->in_bytes += (uint64_t)n;
    return console_filter(c, raw, (size_t)n, buf);
}
