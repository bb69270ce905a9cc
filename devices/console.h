/* The serial console backend: stdio (raw terminal with a Ctrl-A escape), file:PATH, or null. */
#ifndef RINGFOLD_DEV_CONSOLE_H
#define RINGFOLD_DEV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ringfold/err.h"

struct console {
    int out_fd;              /* -1: output dropped */
    bool own_out;
    int in_fd;               /* private dup of stdin, -1: no input */
    int hold_fd;             /* after EOF: write end of a pipe keeping in_fd quiet */
    bool tty;                /* stdin is a terminal in raw mode: the escape is active */
    bool escape;             /* Ctrl-A seen */
    uint8_t obuf[4096];
    size_t olen;
    void (*quit)(void *opaque);
    void *quit_opaque;
    uint64_t out_bytes, in_bytes;
};

/* spec: "stdio", "null" or "file:PATH" (created/truncated, output only). */
int console_open(struct console *c, const char *spec, struct rf_err *err);
void console_close(struct console *c);
/* Buffered output of one byte (a uart_backend / debugcon write function; opaque = console). */
void console_putc(void *opaque, uint8_t byte);
void console_flush(struct console *c);
/* The fd to sleep on for input (-1 none). */
int console_input_fd(const struct console *c);
/* Reads at most max bytes of guest input without blocking, after escape processing
 * (Ctrl-A x calls quit; Ctrl-A Ctrl-A gives one Ctrl-A). */
size_t console_read(struct console *c, uint8_t *buf, size_t max);
/* Feeds raw input bytes through the escape processing; exposed for tests. */
size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out);

#endif
