/* printf-style formatting for guest kernels, shared by the guest and the native build
 * so both produce byte-identical output. */
#include "guest.h"

struct fmt_spec {
    bool left, zero, plus, space, alt;
    int width, prec;             /* prec < 0: none */
    int len;                     /* -2 hh, -1 h, 0 int, 1 long, 2 long long, 3 size_t */
};

struct fmt_out {
    void (*out)(char c, void *ctx);
    void *ctx;
    int count;
};

static void emit(struct fmt_out *o, char c)
{
    o->out(c, o->ctx);
    o->count++;
}

static void emit_pad(struct fmt_out *o, char c, int n)
{
    while (n-- > 0)
        emit(o, c);
}

/* Digits of v in base, least significant first, into buf; returns the count.
 * 64-bit division would need libgcc's __udivdi3: do it 32 bits at a time instead. */
static int fmt_digits(char *buf, uint64_t v, unsigned base, bool upper)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    if (v == 0)
        buf[n++] = '0';
    while (v) {
        uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
        uint32_t qhi = hi / base, r = hi % base;
        /* (r:lo) / base, long division in two 16-bit halves: r < base <= 16. */
        uint32_t mid = (r << 16) | (lo >> 16);
        uint32_t qmid = mid / base;
        r = mid % base;
        uint32_t low = (r << 16) | (lo & 0xFFFF);
        uint32_t qlow = low / base;
        r = low % base;
        buf[n++] = dig[r];
        v = ((uint64_t)qhi << 32) | (qmid << 16) | qlow;
    }
    return n;
}

static void fmt_number(struct fmt_out *o, const struct fmt_spec *sp, uint64_t v, bool neg,
                       unsigned base, bool upper, const char *prefix)
{
    char buf[24];
    int nd = (sp->prec == 0 && v == 0) ? 0 : fmt_digits(buf, v, base, upper);
    int zeros = sp->prec > nd ? sp->prec - nd : 0;
    char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    int plen = (int)strlen(prefix);
    int total = nd + zeros + (sign ? 1 : 0) + plen;
    int pad = sp->width > total ? sp->width - total : 0;

    if (sp->zero && !sp->left && sp->prec < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!sp->left)
        emit_pad(o, ' ', pad);
    if (sign)
        emit(o, sign);
    for (int i = 0; i < plen; i++)
        emit(o, prefix[i]);
    emit_pad(o, '0', zeros);
    while (nd > 0)
        emit(o, buf[--nd]);
    if (sp->left)
        emit_pad(o, ' ', pad);
}

static void fmt_string(struct fmt_out *o, const struct fmt_spec *sp, const char *s)
{
    if (!s)
        s = "(null)";
    int n = 0;
    while (s[n] && (sp->prec < 0 || n < sp->prec))
        n++;
    int pad = sp->width > n ? sp->width - n : 0;
    if (!sp->left)
        emit_pad(o, ' ', pad);
    for (int i = 0; i < n; i++)
        emit(o, s[i]);
    if (sp->left)
        emit_pad(o, ' ', pad);
}

static int fmt_int_arg(const char **pf, va_list *ap)
{
    const char *f = *pf;
    int v = 0;
    if (*f == '*') {
        v = va_arg(*ap, int);
        f++;
    } else {
        while (*f >= '0' && *f <= '9')
            v = v * 10 + (*f++ - '0');
    }
    *pf = f;
    return v;
}

static uint64_t fmt_get_unsigned(int len, va_list *ap)
{
    switch (len) {
    case -2: return (unsigned char)va_arg(*ap, unsigned);
    case -1: return (unsigned short)va_arg(*ap, unsigned);
    case 1:  return va_arg(*ap, unsigned long);
    case 2:  return va_arg(*ap, unsigned long long);
    case 3:  return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

static int64_t fmt_get_signed(int len, va_list *ap)
{
    switch (len) {
    case -2: return (signed char)va_arg(*ap, int);
    case -1: return (short)va_arg(*ap, int);
    case 1:  return va_arg(*ap, long);
    case 2:  return va_arg(*ap, long long);
    case 3:  return (int64_t)va_arg(*ap, size_t);
    default: return va_arg(*ap, int);
    }
}

int guest_vformat(void (*out)(char c, void *ctx), void *ctx, const char *fmt, va_list ap0)
{
    struct fmt_out o = { out, ctx, 0 };
    va_list ap;
    va_copy(ap, ap0);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            emit(&o, *f);
            continue;
        }
        struct fmt_spec sp = { .prec = -1 };
        for (f++;; f++) {
            if (*f == '-') sp.left = true;
            else if (*f == '0') sp.zero = true;
            else if (*f == '+') sp.plus = true;
            else if (*f == ' ') sp.space = true;
            else if (*f == '#') sp.alt = true;
            else break;
        }
        sp.width = fmt_int_arg(&f, &ap);
        if (sp.width < 0) {
            sp.left = true;
            sp.width = -sp.width;
        }
        if (*f == '.') {
            f++;
            sp.prec = fmt_int_arg(&f, &ap);
        }
        for (;; f++) {
            if (*f == 'h') sp.len = sp.len == -1 ? -2 : -1;
            else if (*f == 'l') sp.len = sp.len == 1 ? 2 : 1;
            else if (*f == 'z') sp.len = 3;
            else break;
        }
        switch (*f) {
        case 'd': case 'i': {
            int64_t v = fmt_get_signed(sp.len, &ap);
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            fmt_number(&o, &sp, mag, v < 0, 10, false, "");
            break;
        }
        case 'u': fmt_number(&o, &sp, fmt_get_unsigned(sp.len, &ap), false, 10, false, ""); break;
        case 'x': case 'X': {
            uint64_t v = fmt_get_unsigned(sp.len, &ap);
            /* '#': "0x" / "0X" before a non-zero value, as C says. */
            fmt_number(&o, &sp, v, false, 16, *f == 'X', sp.alt && v ? (*f == 'X' ? "0X" : "0x") : "");
            break;
        }
        case 'o': {
            uint64_t v = fmt_get_unsigned(sp.len, &ap);
            fmt_number(&o, &sp, v, false, 8, false, sp.alt && v ? "0" : "");
            break;
        }
        case 'p':
            fmt_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, "0x");
            break;
        case 'c': {
            char c[2] = { (char)va_arg(ap, int), 0 };
            struct fmt_spec cs = sp;
            cs.prec = 1;
            if (c[0] == 0) {            /* a NUL character is still one character */
                int pad = sp.width > 1 ? sp.width - 1 : 0;
                if (!sp.left) emit_pad(&o, ' ', pad);
                emit(&o, 0);
                if (sp.left) emit_pad(&o, ' ', pad);
            } else {
                fmt_string(&o, &cs, c);
            }
            break;
        }
        case 's': fmt_string(&o, &sp, va_arg(ap, const char *)); break;
        case '%': emit(&o, '%'); break;
        case '\0': f--; break;          /* lone '%' at the end: print nothing more */
        default:                        /* unknown conversion: show it verbatim */
            emit(&o, '%');
            emit(&o, *f);
            break;
        }
    }
    va_end(ap);
    return o.count;
}

static void out_console(char c, void *ctx)
{
    (void)ctx;
    guest_putc(c);
}

int guest_vprintf(const char *fmt, va_list ap)
{
    return guest_vformat(out_console, NULL, fmt, ap);
}

int guest_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = guest_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

struct snbuf {
    char *buf;
    size_t size, pos;
};

static void out_buffer(char c, void *ctx)
{
    struct snbuf *b = ctx;
    if (b->pos + 1 < b->size)
        b->buf[b->pos] = c;
    b->pos++;
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct snbuf b = { buf, size, 0 };
    int n = guest_vformat(out_buffer, &b, fmt, ap);
    if (size)
        buf[b.pos < size ? b.pos : size - 1] = 0;
    return n;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void guest_puts(const char *s)
{
    while (*s)
        guest_putc(*s++);
}

uint32_t guest_rand(uint32_t *state)
{
    /* Marsaglia's xorshift32: no multiplication, same sequence everywhere. */
    uint32_t x = *state ? *state : 0x2545F491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}
