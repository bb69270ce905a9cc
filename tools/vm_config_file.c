/* VM config files: `key = value` lines, `#` comments, parsed into strings and flags that the
 * CLI then checks exactly as it checks its own options (tools/ringfold.c run_setting_apply).
 * The format is documented in docs/config.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vm_config_file.h"

_Static_assert(VMCF_MAX_MODULES == 16, "keep in step with core/loader.h LOADER_MAX_MODULES");

static const struct {
    const char *name;
    enum vmcf_key key;
    bool boolean;
} vmcf_keys[] = {
    { "engine", VMCF_ENGINE, false },
    { "force-engine", VMCF_FORCE_ENGINE, true },
    { "cpu", VMCF_CPU, false },
    { "mem", VMCF_MEM, false },
    { "kernel", VMCF_KERNEL, false },
    { "module", VMCF_MODULE, false },
    { "initrd", VMCF_MODULE, false },
    { "append", VMCF_APPEND, false },
    { "serial", VMCF_SERIAL, false },
    { "timeout", VMCF_TIMEOUT, false },
    { "deterministic", VMCF_DETERMINISTIC, true },
    { "reboot", VMCF_REBOOT, true },
    { "stats", VMCF_STATS, true },
    { "trace", VMCF_TRACE, false },
    { "trace-file", VMCF_TRACE_FILE, false },
};

const char *vm_config_file_key_name(enum vmcf_key key)
{
    for (size_t i = 0; i < sizeof(vmcf_keys) / sizeof(vmcf_keys[0]); i++)
        if (vmcf_keys[i].key == key)
            return vmcf_keys[i].name;
    return "?";
}

/* The parser's state for one file: where it is, and where a failure is reported. */
struct vmcf_parser {
    const char *path;
    int line;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int vmcf_fail(struct vmcf_parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool vmcf_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* yes/no in the spellings people write in config files (systemd, Git, kvmtool's options). */
static int vmcf_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* A relative image path in a config file names a file beside the config, wherever ringfold is
 * started from (as a Makefile's or a kvmtool script's neighbours would be found). For a module
 * only the path before the first space is a path; the rest is the module's command line. */
static char *vmcf_resolve(const char *cfg_path, const char *value)
{
    const char *slash = strrchr(cfg_path, '/');
    if (value[0] == '/' || value[0] == '\0' || value[0] == ' ' || !slash)
        return strdup(value);
    int dirlen = (int)(slash - cfg_path);
    size_t need = (size_t)dirlen + 1 + strlen(value) + 1;
    char *s = malloc(need);
    if (s)
        snprintf(s, need, "%.*s/%s", dirlen, cfg_path, value);
    return s;
}

/* Splits one line (without its newline) into key and value, handling quotes and comments.
 * Writes the unquoted value into val (at least as long as the line). Returns 1 for a key,
 * 0 for a blank or comment line, -EINVAL on a syntax error. */
static int vmcf_split(struct vmcf_parser *p, char *s, char **key, char *val)
{
    while (vmcf_is_blank(*s))
        s++;
    if (*s == '\0' || *s == '#')
        return 0;
    *key = s;
    while (*s && *s != '=' && !vmcf_is_blank(*s))
        s++;
    char *key_end = s;
    while (vmcf_is_blank(*s))
        s++;
    if (*s != '=') {
        *key_end = '\0';
        return vmcf_fail(p, "expected 'key = value', got '%s%s'", *key, *s ? " ..." : "");
    }
    *key_end = '\0';
    if (key_end == *key)
        return vmcf_fail(p, "missing key before '='");
    s++;
    while (vmcf_is_blank(*s))
        s++;
    char *v = val;
    if (*s == '"') {
        /* Quoted: spaces and '#' are kept; \" and \\ are the only escapes. */
        for (s++; *s != '"'; s++) {
            if (*s == '\0')
                return vmcf_fail(p, "%s: missing closing quote", *key);
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            *v++ = *s;
        }
        *v = '\0';
        for (s++; vmcf_is_blank(*s); s++)
            ;
        if (*s && *s != '#')
            return vmcf_fail(p, "%s: text after the closing quote", *key);
        return 1;
    }
    /* Unquoted: a '#' at the start or after a blank begins a comment (so file:log#1 keeps it). */
    for (; *s; s++) {
        if (*s == '#' && (v == val || vmcf_is_blank(s[-1])))
            break;
        *v++ = *s;
    }
    while (v > val && vmcf_is_blank(v[-1]))
        v--;
    *v = '\0';
    if (v == val)
        return vmcf_fail(p, "%s: missing value", *key);
    return 1;
}

/* Files one key = value into out, checking what only the file format knows: the key exists,
 * it is not set twice, booleans are booleans. */
static int vmcf_store(struct vmcf_parser *p, struct vm_config_file *out, const char *key,
                      const char *val)
{
    size_t i, nkeys = sizeof(vmcf_keys) / sizeof(vmcf_keys[0]);
    for (i = 0; i < nkeys; i++) {
        /* force_engine reads as force-engine: both spellings are common in config files. */
        const char *a = vmcf_keys[i].name, *b = key;
        while (*a && (*a == *b || (*a == '-' && *b == '_')))
            a++, b++;
        if (!*a && !*b)
            break;
    }
    if (i == nkeys)
        return vmcf_fail(p, "unknown key '%s' (see docs/config.md)", key);
    enum vmcf_key k = vmcf_keys[i].key;
    const char *name = vmcf_keys[i].name;

    if (k == VMCF_MODULE) {
        if (out->nmodules == VMCF_MAX_MODULES)
            return vmcf_fail(p, "%s: at most %d modules", name, VMCF_MAX_MODULES);
        char *m = vmcf_resolve(p->path, val);
        if (!m)
            return -ENOMEM;
        out->module_line[out->nmodules] = p->line;
        out->modules[out->nmodules++] = m;
        return 0;
    }
    if (out->value[k])
        return vmcf_fail(p, "%s: set twice (first at line %d)", name, out->line[k]);
    if (vmcf_keys[i].boolean && vmcf_parse_bool(val, &out->flag[k]) < 0)
        return vmcf_fail(p, "%s: '%s' is not yes or no", name, val);
    bool builtin = !strcmp(val, "linux") || !strcmp(val, "linux-pae");
    out->value[k] = k == VMCF_KERNEL && !builtin ? vmcf_resolve(p->path, val) : strdup(val);
    if (!out->value[k])
        return -ENOMEM;
    out->line[k] = p->line;
    return 0;
}

int vm_config_file_parse(const char *path, const char *text, size_t len,
                         struct vm_config_file *out, char *err, size_t errlen)
{
    struct vmcf_parser p = { .path = path, .line = 0, .err = err, .errlen = errlen };
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = '\0';
    out->path = strdup(path);
    char *buf = malloc(len + 1), *val = malloc(len + 1);
    int rc = 0;
    if (!out->path || !buf || !val) {
        rc = -ENOMEM;
        goto cleanup;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';

    for (char *s = buf; rc == 0 && s < buf + len;) {
        p.line++;
        char *nl = memchr(s, '\n', (size_t)(buf + len - s));
        char *end = nl ? nl : buf + len;
        if (memchr(s, '\0', (size_t)(end - s))) {
            rc = vmcf_fail(&p, "NUL byte: not a text file");
            break;
        }
        *end = '\0';
        if (end > s && end[-1] == '\r')    /* a file saved with DOS line ends */
            end[-1] = '\0';
        char *key;
        rc = vmcf_split(&p, s, &key, val);
        if (rc > 0)
            rc = vmcf_store(&p, out, key, val);
        s = end + 1;
    }
    if (rc == -ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);

cleanup:
    free(buf);
    free(val);
    if (rc < 0)
        vm_config_file_free(out);
    return rc < 0 ? rc : 0;
}

int vm_config_file_load(const char *path, struct vm_config_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)VMCF_MAX_FILE_SIZE) {
        snprintf(err, errlen, "%s: not a config file (%s)", path,
                 S_ISREG(st.st_mode) ? "larger than 64 KiB" : "not a regular file");
        close(fd);
        return -EINVAL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (text && len < (size_t)st.st_size &&
           (n = read(fd, text + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    int e = !text ? ENOMEM : n < 0 ? errno : 0;
    close(fd);
    if (e) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        free(text);
        return -e;
    }
    int rc = vm_config_file_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

void vm_config_file_free(struct vm_config_file *f)
{
    for (int k = 0; k < VMCF_NKEYS; k++)
        free(f->value[k]);
    for (int i = 0; i < f->nmodules; i++)
        free(f->modules[i]);
    free(f->path);
    memset(f, 0, sizeof(*f));
}
