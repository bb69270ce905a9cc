/* Public API of ringfold's guest test library: what a test kernel (and its native
 * 32-bit Linux twin) may call. Keep this stable: tests/guests/{demo,insn,sys} use it.
 *
 * A guest kernel is a Multiboot v1 ELF linked at 1 MiB (lib/guest.ld). lib/start.S
 * loads a flat GDT (code GUEST_CS, data GUEST_DS), a 64 KiB stack, clears .bss, EFLAGS
 * and the x87 (FNINIT, CR0.NE=1 MP=1 EM=0 TS=0), initialises COM1, records the
 * Multiboot info and calls guest_main(). Returning from guest_main() is guest_pass().
 *
 * Exit convention (isa-debug-exit at port 0xF4, QEMU's: the monitor exits with
 * status (v << 1) | 1):
 *   guest_pass()      writes GUEST_EXIT_PASS (0x10) -> monitor status 33
 *   guest_fail(...)   prints "FAIL: <message>\n", writes GUEST_EXIT_FAIL (0x11) -> 35
 *   guest_exit(v)     writes v -> (v << 1) | 1
 * If the write does not stop the machine (no such device), the guest halts with
 * interrupts disabled (ringfold reports "guest hung", status 8).
 *
 * Output goes to COM1 (16550 at 0x3F8, polled, 115200 8N1), bytes as printed: "\n"
 * is NOT turned into "\r\n", so serial captures compare byte-for-byte with the native
 * build's stdout.
 *
 * The native build (add_guest_native in cmake/GuestKernel.cmake) links the same test
 * sources with lib/format.c and lib/native_shim.c: output goes to stdout, guest_exit()
 * calls exit() (0 for GUEST_EXIT_PASS, 1 otherwise) and guest_mbi() is NULL. Code that
 * needs ring 0 (port I/O, CR access) must not run in a native build: test
 * guest_is_native().
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "multiboot.h"

#define GUEST_CS 0x08           /* flat 4 GiB 32-bit code, DPL 0 (lib/start.S) */
#define GUEST_DS 0x10           /* flat 4 GiB data, DPL 0: DS, ES, FS, GS, SS */

#define GUEST_EXIT_PORT 0xF4
#define GUEST_EXIT_PASS 0x10    /* monitor exit status 33 */
#define GUEST_EXIT_FAIL 0x11    /* monitor exit status 35 */

#define GUEST_COM1 0x3F8

/* Entry point every test kernel defines. */
void guest_main(void);

/* ---- output ---- */
void guest_putc(char c);
void guest_puts(const char *s);              /* no newline added */
/* printf subset: flags "-0+ #", width and precision (numbers or '*'), length
 * hh h l ll z, conversions d i u x X o c s p %. "%08x", "%llx", "%-10s" all work. */
int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int guest_vprintf(const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* Low level: calls out(c, ctx) for each character; returns the count. */
int guest_vformat(void (*out)(char c, void *ctx), void *ctx, const char *fmt, va_list ap);

/* ---- exit ---- */
__attribute__((noreturn)) void guest_exit(uint8_t code);
__attribute__((noreturn)) void guest_pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void guest_fail(const char *fmt, ...);
/* guest_check(cond, fmt, ...): guest_fail with the message unless cond holds. */
#define guest_check(cond, ...) do { if (!(cond)) guest_fail(__VA_ARGS__); } while (0)

/* ---- environment ---- */
bool guest_is_native(void);                   /* true in the native Linux build */

/* ---- Multiboot info (lib/multiboot.c) ---- */
const struct multiboot_info *guest_mbi(void);   /* NULL if the magic was wrong / native */
const char *guest_cmdline(void);                /* "" when none was passed */
uint32_t guest_mem_lower_kb(void);              /* 0 when the loader gave no memory info */
uint32_t guest_mem_upper_kb(void);
/* Iterate the memory map: pass NULL first, then the previous entry; NULL at the end.
 * Entries are bounds-checked against mmap_length. */
const struct multiboot_mmap_entry *guest_mmap_next(const struct multiboot_mmap_entry *prev);
/* Value of "key=value" in the command line, copied into buf (NUL-terminated);
 * returns false if the key is absent. A bare "key" yields "". */
bool guest_cmdline_get(const char *key, char *buf, size_t size);

/* ---- serial (lib/serial.c) ---- */
void serial_init(void);                         /* called by start.S before guest_main */
void serial_putc(char c);
bool serial_getc_nowait(char *c);

/* ---- string helpers (lib/string.c in guests, libc natively) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Deterministic pseudo-random numbers (xorshift32), identical in guest and native. */
uint32_t guest_rand(uint32_t *state);

#endif
