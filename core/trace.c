/* --trace: category mask, output stream, and Capstone disassembly for instruction traces. */
#include <capstone/capstone.h>
#include <stdarg.h>
#include <string.h>
#include "ringfold/bus.h"
#include "ringfold/trace.h"

unsigned trace_mask;
FILE *trace_out;

static const struct { const char *name; unsigned bit; } trace_names[] = {
    { "insn", TRACE_INSN }, { "intr", TRACE_INTR }, { "exc", TRACE_EXC },
    { "io", TRACE_IO },     { "mode", TRACE_MODE }, { "post", TRACE_POST },
};

int trace_parse(const char *spec, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            *mask = ~0u;
            continue;
        }
        unsigned i;
        for (i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
            if (!strcmp(tok, trace_names[i].name))
                break;
        if (i == sizeof(trace_names) / sizeof(trace_names[0]))
            return -1;
        *mask |= trace_names[i].bit;
    }
    return 0;
}

void trace_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(trace_out ? trace_out : stderr, fmt, ap);
    va_end(ap);
}

int trace_disasm(const uint8_t *bytes, unsigned len, uint32_t addr, int mode16, char *buf, size_t bufsz)
{
    static csh handle[2];
    static int opened[2];
    int m = mode16 ? 1 : 0;
    if (!opened[m]) {
        if (cs_open(CS_ARCH_X86, m ? CS_MODE_16 : CS_MODE_32, &handle[m]) != CS_ERR_OK)
            return snprintf(buf, bufsz, "(capstone unavailable)"), -1;
        opened[m] = 1;
    }
    cs_insn *insn;
    size_t n = cs_disasm(handle[m], bytes, len, addr, 1, &insn);
    if (n == 0) {
        snprintf(buf, bufsz, "(bad)");
        return -1;
    }
    snprintf(buf, bufsz, "%s %s", insn[0].mnemonic, insn[0].op_str);
    int size = (int)insn[0].size;
    cs_free(insn, n);
    return size;
}

/* --trace io: one line per port or MMIO access, printed by the bus itself so every engine's
 * accesses look the same. */
static void trace_bus_access(void *opaque, int is_mmio, int is_write, uint64_t addr, uint32_t value,
                             unsigned size)
{
    (void)opaque;
    if (is_mmio)
        trace_printf("io: mmio %s %08llx %s %0*x (%u)\n", is_write ? "write" : "read ",
                     (unsigned long long)addr, is_write ? "<-" : "->", (int)size * 2, value, size);
    else
        trace_printf("io: port %s %04llx %s %0*x (%u)\n", is_write ? "write" : "read ",
                     (unsigned long long)addr, is_write ? "<-" : "->", (int)size * 2, value, size);
}

void trace_attach_bus(struct bus *b)
{
    b->trace = trace_bus_access;
    b->trace_opaque = NULL;
}
