/* CSAM instruction classification: is a decoded instruction sensitive under ring compression, and
 * how does control flow leave it.
 *
 * Ring compression runs guest CPL 0 code at host CPL 3. An instruction is *sensitive* when its
 * result depends on the privilege level, on IF/IOPL, or on the descriptor tables, all of which
 * differ between what the guest believes (CPL 0, its own GDT/IDT) and what the host CPU really
 * has (CPL 3, Linux's GDT and LDT). Some of these fault at CPL 3 and reach the monitor anyway
 * (CSAM_TRAPPING); the others run without complaint and give wrong results, so CSAM must find
 * them before the code runs (Popek & Goldberg's "sensitive but not privileged" set; SDM Vol. 3A
 * §2.8 lists the system instructions and which are CPL 0 only). The reason for each kind is in
 * csam.h and docs/csam.md. */
#include "csam_priv.h"

static bool is_default_map(const ZydisDecodedInstruction *z)
{
    return z->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
}

static bool is_0f_map(const ZydisDecodedInstruction *z)
{
    return z->opcode_map == ZYDIS_OPCODE_MAP_0F;
}

/* push es/cs/ss/ds (06 0E 16 1E), push fs/gs (0F A0, 0F A8). */
static bool is_push_sreg(const ZydisDecodedInstruction *z)
{
    if (is_default_map(z))
        return z->opcode == 0x06 || z->opcode == 0x0e || z->opcode == 0x16 || z->opcode == 0x1e;
    return is_0f_map(z) && (z->opcode == 0xa0 || z->opcode == 0xa8);
}

/* pop es/ss/ds (07 17 1F), pop fs/gs (0F A1, 0F A9). */
static bool is_pop_sreg(const ZydisDecodedInstruction *z)
{
    if (is_default_map(z))
        return z->opcode == 0x07 || z->opcode == 0x17 || z->opcode == 0x1f;
    return is_0f_map(z) && (z->opcode == 0xa1 || z->opcode == 0xa9);
}

static int classify_kind(const ZydisDecodedInstruction *z, bool cpuid_sensitive)
{
    switch (z->mnemonic) {
    case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFD:
        return CSAM_PUSHF;
    case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFD:
        return CSAM_POPF;
    case ZYDIS_MNEMONIC_MOV:
        if (is_default_map(z) && z->opcode == 0x8c)
            return CSAM_SEG_READ;
        if (is_default_map(z) && z->opcode == 0x8e)
            return CSAM_SEG_LOAD;
        break;          /* mov crN/drN (0F 20-23) are privileged: handled below */
    case ZYDIS_MNEMONIC_PUSH:
        if (is_push_sreg(z))
            return CSAM_SEG_READ;
        return -1;
    case ZYDIS_MNEMONIC_POP:
        if (is_pop_sreg(z))
            return CSAM_SEG_LOAD;
        return -1;
    case ZYDIS_MNEMONIC_LDS: case ZYDIS_MNEMONIC_LES: case ZYDIS_MNEMONIC_LFS:
    case ZYDIS_MNEMONIC_LGS: case ZYDIS_MNEMONIC_LSS:
        return CSAM_SEG_LOAD;
    case ZYDIS_MNEMONIC_SGDT: case ZYDIS_MNEMONIC_SIDT: case ZYDIS_MNEMONIC_SLDT:
    case ZYDIS_MNEMONIC_STR: case ZYDIS_MNEMONIC_SMSW:
        return CSAM_DESC_TABLE;
    case ZYDIS_MNEMONIC_LAR: case ZYDIS_MNEMONIC_LSL:
    case ZYDIS_MNEMONIC_VERR: case ZYDIS_MNEMONIC_VERW:
        return CSAM_SEG_QUERY;
    case ZYDIS_MNEMONIC_JMP: case ZYDIS_MNEMONIC_CALL: case ZYDIS_MNEMONIC_RET:
        return z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR ? CSAM_FAR : -1;
    case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD:
        return CSAM_IRET;
    case ZYDIS_MNEMONIC_INT:
        return CSAM_INT;
    case ZYDIS_MNEMONIC_INT3: case ZYDIS_MNEMONIC_INT1: case ZYDIS_MNEMONIC_INTO:
        return CSAM_BREAKPOINT;
    case ZYDIS_MNEMONIC_CPUID:
        /* With CPUID faulting it traps (#GP) like a privileged instruction. */
        return cpuid_sensitive ? CSAM_CPUID : CSAM_TRAPPING;
    case ZYDIS_MNEMONIC_SYSENTER: case ZYDIS_MNEMONIC_SYSEXIT:
    case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSRET:
        return CSAM_SYSCALL_INSN;
    case ZYDIS_MNEMONIC_CLI: case ZYDIS_MNEMONIC_STI:
        /* IOPL-sensitive: #GP(0) when CPL > IOPL, and the host runs us with IOPL 0 (SDM Vol. 2A,
         * CLI/STI; Linux leaves CR4.PVI clear, so no virtual-interrupt variant applies). */
        return CSAM_TRAPPING;
    case ZYDIS_MNEMONIC_LGDT: case ZYDIS_MNEMONIC_LIDT: case ZYDIS_MNEMONIC_LLDT:
    case ZYDIS_MNEMONIC_LTR: case ZYDIS_MNEMONIC_LMSW: case ZYDIS_MNEMONIC_INVLPG:
    case ZYDIS_MNEMONIC_CLTS: case ZYDIS_MNEMONIC_HLT: case ZYDIS_MNEMONIC_RDMSR:
    case ZYDIS_MNEMONIC_WRMSR: case ZYDIS_MNEMONIC_WBINVD: case ZYDIS_MNEMONIC_INVD:
        /* Named, not left to ZYDIS_ATTRIB_IS_PRIVILEGED: Zydis 4.0 does not set it on lgdt. */
        return CSAM_TRAPPING;
    default:
        break;
    }
    if (z->meta.category == ZYDIS_CATEGORY_IO || z->meta.category == ZYDIS_CATEGORY_IOSTRINGOP)
        return CSAM_TRAPPING;          /* in/out/ins/outs: #GP, no I/O bitmap for us (IOPL 0) */
    if (z->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
        return CSAM_TRAPPING;          /* CPL 0 only: #GP(0) at CPL 3 */
    return -1;
}

/* Direct relative target: EIP of the next instruction plus the displacement, truncated to 16 bits
 * with a 16-bit operand size (SDM Vol. 2A, JMP/Jcc/CALL: "tempEIP AND 0000FFFFH"). */
static uint32_t rel_target(const ZydisDecodedInstruction *z, uint32_t eip)
{
    uint32_t t = eip + z->length + (uint32_t)z->raw.imm[0].value.s;
    return z->operand_width == 16 ? (t & 0xffffu) : t;
}

static enum csam_flow classify_flow(const ZydisDecodedInstruction *z, uint32_t eip, uint32_t *target)
{
    bool rel = z->raw.imm[0].is_relative;
    switch (z->meta.category) {
    case ZYDIS_CATEGORY_COND_BR:          /* jcc, loop*, jcxz/jecxz */
        if (rel) {
            *target = rel_target(z, eip);
            return CSAM_FLOW_JCC;
        }
        return CSAM_FLOW_END;
    case ZYDIS_CATEGORY_UNCOND_BR:
        if (z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
            return CSAM_FLOW_END;         /* target is in another segment: base unknown here */
        if (rel) {
            *target = rel_target(z, eip);
            return CSAM_FLOW_JMP;
        }
        return CSAM_FLOW_IND_JMP;
    case ZYDIS_CATEGORY_CALL:
        if (z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
            return CSAM_FLOW_IND_CALL;    /* callee unknown; its retf comes back after it */
        if (rel) {
            *target = rel_target(z, eip);
            return CSAM_FLOW_CALL;
        }
        return CSAM_FLOW_IND_CALL;
    case ZYDIS_CATEGORY_RET:
        return z->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR ? CSAM_FLOW_END : CSAM_FLOW_RET;
    default:
        break;
    }
    switch (z->mnemonic) {
    case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_SYSENTER: case ZYDIS_MNEMONIC_SYSEXIT:
    case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSRET:
    case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1: case ZYDIS_MNEMONIC_UD2:
        return CSAM_FLOW_END;
    default:
        break;
    }
    if (rel) {                            /* xbegin and the like: both ways, to be safe */
        *target = rel_target(z, eip);
        return CSAM_FLOW_JCC;
    }
    return CSAM_FLOW_NEXT;
}

int csam_classify(const ZydisDecodedInstruction *z, uint32_t eip, bool cpuid_sensitive,
                  enum csam_flow *flow, uint32_t *target)
{
    *target = 0;
    *flow = classify_flow(z, eip, target);
    return classify_kind(z, cpuid_sensitive);
}

static const struct {
    const char *name;
    bool patched;
} kind_info[CSAM_KIND_COUNT] = {
    [CSAM_PUSHF] = { "pushf", true },
    [CSAM_POPF] = { "popf", true },
    [CSAM_SEG_READ] = { "seg-read", true },
    [CSAM_SEG_LOAD] = { "seg-load", true },
    [CSAM_DESC_TABLE] = { "desc-table", true },
    [CSAM_SEG_QUERY] = { "seg-query", true },
    [CSAM_FAR] = { "far", true },
    [CSAM_IRET] = { "iret", true },
    [CSAM_INT] = { "int-n", true },
    [CSAM_CPUID] = { "cpuid", true },
    [CSAM_SYSCALL_INSN] = { "sysenter/syscall", true },
    [CSAM_BREAKPOINT] = { "int3/int1/into", false },
    [CSAM_TRAPPING] = { "trapping", false },
};

const char *csam_kind_name(enum csam_kind k)
{
    return (unsigned)k < CSAM_KIND_COUNT ? kind_info[k].name : "?";
}

bool csam_kind_patched(enum csam_kind k)
{
    return (unsigned)k < CSAM_KIND_COUNT && kind_info[k].patched;
}
