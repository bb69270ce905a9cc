/* Private state of the interpreter's exec side: decoded-instruction records and blocks, the
 * software TLB, the segment-check cache, lazy flags, and the inline memory fast paths.
 *
 * How it runs (the techniques of ARCHITECTURE.md "Making an interpreter fast"):
 *  - decode once: decode_block.c turns guest bytes (Zydis) into blocks of x86_insn records, each
 *    with a handler specialised for its form (exec_alu.c: one per operation x size x operand
 *    kind) and a precomputed effective-address recipe (ea_of: base + index << scale + disp);
 *  - threaded dispatch: a handler that falls through calls the next record's handler itself
 *    (next_insn), so exec_run.c enters a block once; blocks chain to their successors;
 *  - lazy flags: lf_set records the operation, flags_lazy.c computes flags only when read;
 *  - software TLB: mem_rd/mem_wr are a segment span compare, a TLB index and tag compare, and
 *    a load; everything else (misses, page crossings, MMIO, code pages) is mem_access.c's slow
 *    path;
 *  - self-modifying code: pages holding decoded blocks never get direct write entries, so
 *    writes reach exec_code_write(), which drops the blocks they overlap;
 *  - events (interrupts, stop requests, single-step) are looked at only between blocks, when
 *    something raised exec->attention. */
#ifndef RINGFOLD_X86_EXEC_H
#define RINGFOLD_X86_EXEC_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "x86_cpu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- decoded instructions ---------------------------------------------------------------- */
struct x86_insn;
/* A handler executes one decoded instruction and returns the next record to run, or NULL when
 * the block ends (it then has set cpu->s.eip). */
typedef const struct x86_insn *(*x86_handler)(struct x86_cpu *cpu, const struct x86_insn *i);

#define RM_MEM 0xff          /* i->rm when the r/m operand is in memory */

struct x86_insn {
    x86_handler fn;
    uint32_t eip;            /* offset in CS of this instruction (the restart point) */
    uint32_t disp;           /* EA displacement; branch target; moffs */
    uint32_t imm;
    uint16_t base, index;    /* byte offsets in struct x86_cpu of the EA registers (ea_zero: none) */
    uint8_t len, scale, seg, a16;
    uint8_t reg, rm;         /* register operands (byte ops: byte index into gpr[]) */
    uint8_t op, osz;         /* sub-operation; operand size in bytes */
    uint16_t imm2;
    uint8_t opcode, modrm;   /* raw bytes for the x87 escapes and diagnostics */
    uint8_t rep;             /* 0, 0xF3 or 0xF2 */
    uint8_t o32;             /* operand size 32 (for far transfers, stack ops) */
    uint16_t nret;           /* instructions retired when the block ends after this record */
};

/* A basic block of decoded instructions, keyed by physical address and mode. */
struct x86_block {
    uint32_t pa, pa_end;         /* physical bytes [pa, pa_end) the block was decoded from */
    uint32_t cs_base, eip;
    uint32_t mode;
    struct x86_block *hnext;     /* hash chain */
    struct x86_block *pnext;     /* blocks of the same physical page */
    struct x86_block *pnext2;    /* ... of the second page, for a last instruction crossing into it */
    uint32_t pa2, pa2_end;       /* bytes taken from the second page; pa2 = NO_PA2 when none */
    struct x86_block *succ[2];   /* chained successors, valid while chain_gen == exec->gen */
    uint32_t succ_eip[2];
    uint32_t succ_page[2];       /* exec_emulate.c: physical page of succ[k], checked against the TLB */
    uint64_t chain_gen;
    uint16_t n;                  /* instruction records (a terminator follows them) */
    uint8_t valid;
    uint8_t nocache;             /* decoded for one use (crosses a page, not RAM) */
    /* exec_emulate.c's loop also keys chains by CPL 3 or not (the block key has no CPL, and a
     * chained successor skips the fetch permission check), so that it can keep chains across
     * state loads and event deliveries that leave the translation alone. */
    uint8_t chain_cpl3;
    struct x86_insn insns[];
};

/* ---- software TLB ------------------------------------------------------------------------ */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_MASK (TLB_SIZE - 1)
#define TLB_INVALID 0x800u       /* never equal to a tag: page bits and size-1 alignment bits only */

struct tlb_entry {
    uint32_t tag_r, tag_w, tag_x;   /* linear page when that access may go straight to RAM */
    uint32_t pa;                    /* physical page */
    uint32_t global;                /* G page with CR4.PGE: survives CR3 loads */
    uintptr_t addend;               /* host pointer = addend + linear address */
};

/* Segment limit/type checks precomputed per size (index 0..3 for 1, 2, 4, 8 bytes): an access
 * of size at off is allowed when (off - lo) <= span, compared as a 64-bit signed value. */
struct seg_cache {
    uint32_t base;
    uint32_t lo;
    int64_t rspan[4], wspan[4];
};

/* Lazy flags: the operation whose arithmetic flags are pending (SDM Vol. 1 §3.4.3.1). */
enum lf_op { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC };
#define EFL_ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

#define BLOCK_HASH_BITS 14
#define NO_PA2 0xffffffffu
#define BLOCK_MAX_INSNS 64

struct x86_exec {
    struct tlb_entry *tlb;           /* tlbs[0] supervisor or tlbs[1] user, for the CPL now */
    struct seg_cache seg[SEG_COUNT];
    uint32_t lf_res, lf_s1, lf_s2;
    uint8_t lf_op, lf_sz, lf_cin;
    const struct x86_insn *cur;      /* record executing now, NULL outside instructions */
    uint32_t fault_retired;          /* instructions of the block retired before a fault */
    struct x86_block *cur_block;
    struct x86_block *prev_block;    /* block that ran last, for chaining its successor */
    uint64_t gen;                    /* bumped when chains may be stale (TLB, mode, code writes) */
    uint64_t check_at;               /* icount at which the loop next looks at the clock */
    /* Set by anything that may make an event deliverable or need the slow loop path: I/O, MMIO,
     * mode/segment changes, EFLAGS writes, STI/HLT, code invalidation. */
    int attention;
    bool dbg;                        /* DR7 arms a breakpoint: single-step path, data accesses slow */
    uint8_t ss_shadow;               /* MOV SS / POP SS just ran: #DB traps wait one instruction */
    uint32_t db_hits;                /* DR6 B0-B3 of data/I/O breakpoints hit by this instruction */
    uint32_t a20_gen;                /* vm->a20_gen the TLB was filled under */

    ZydisDecoder dec32, dec16, dec_real;
    struct x86_block *hash[1u << BLOCK_HASH_BITS];
    struct x86_block **page_blocks;  /* per physical page: blocks decoded from it */
    uint32_t npages;
    struct x86_block *zombies;       /* invalidated while running, freed at the next boundary */
    uint64_t blocks_live;
    uint64_t smc_exits;
    uint64_t code_writes, code_walk_steps;   /* writes reaching code pages; blocks examined */
    uint64_t blocks_run;

    /* Raw mode's CSAM (exec_emulate.c x86_emu_set_code_hooks): frames whose writes must be
     * reported BEFORE they land (watch_bm, watch_fn), and a fetch overlay that shows decode the
     * original bytes under int3 patches (overlay_fn). NULL / unused for the emu engine. */
    uint64_t *watch_bm;              /* [npages / 64 + 1], NULL until a frame is watched */
    void (*watch_fn)(void *opaque, uint64_t pa_frame);
    void (*overlay_fn)(void *opaque, uint64_t pa, uint8_t *buf, unsigned len);
    void *hooks_opaque;
    uint64_t watch_hits;
    bool force_nocache;              /* x86_emu_step_fresh: decode one-shot, cache nothing */

    struct tlb_entry tlbs[2][TLB_SIZE];
};

/* ---- register helpers -------------------------------------------------------------------- */
#define GPR_OFF(r) ((uint16_t)(offsetof(struct x86_cpu, s.gpr) + 4u * (r)))
#define ZERO_OFF   ((uint16_t)offsetof(struct x86_cpu, ea_zero))

static inline uint32_t reg_get(struct x86_cpu *cpu, int sz, unsigned r)
{
    if (sz == 1)
        return ((uint8_t *)cpu->s.gpr)[r];
    if (sz == 2)
        return (uint16_t)cpu->s.gpr[r];
    return cpu->s.gpr[r];
}

static inline void reg_set(struct x86_cpu *cpu, int sz, unsigned r, uint32_t v)
{
    if (sz == 1)
        ((uint8_t *)cpu->s.gpr)[r] = (uint8_t)v;
    else if (sz == 2)
        memcpy(&cpu->s.gpr[r], &(uint16_t){ (uint16_t)v }, 2);
    else
        cpu->s.gpr[r] = v;
}

static inline uint32_t ea_of(struct x86_cpu *cpu, const struct x86_insn *i)
{
    const char *c = (const char *)cpu;
    uint32_t b, x;
    memcpy(&b, c + i->base, 4);
    memcpy(&x, c + i->index, 4);
    uint32_t ea = i->disp + b + (x << i->scale);
    return i->a16 ? (ea & 0xffff) : ea;
}

static inline uint32_t size_mask(int sz)
{
    return sz == 1 ? 0xffu : sz == 2 ? 0xffffu : 0xffffffffu;
}

static inline int size_idx(int sz) { return sz == 1 ? 0 : sz == 2 ? 1 : sz == 4 ? 2 : 3; }

/* ---- memory (mem_access.c) --------------------------------------------------------------- */
uint32_t mem_read_slow(struct x86_cpu *cpu, int seg, uint32_t off, int size);
void mem_write_slow(struct x86_cpu *cpu, int seg, uint32_t off, int size, uint32_t v);
/* Linear access with the current CPL's privilege (no segment checks). */
void lin_read(struct x86_cpu *cpu, uint32_t lin, void *dst, unsigned len, bool user);
void lin_write(struct x86_cpu *cpu, uint32_t lin, const void *src, unsigned len, bool user);
_Noreturn void seg_fault(struct x86_cpu *cpu, int seg);
/* Recomputes mode-derived caches (segment checks, TLB for the CPL): after anything that may
 * change segments, CPL, CR0 or EFLAGS.VM. */
void exec_refresh(struct x86_cpu *cpu);
/* Host pointer for an instruction fetch at lin (NULL: not RAM, *pa set); raises #PF. */
const uint8_t *tlb_fetch(struct x86_cpu *cpu, uint32_t lin, uint32_t *pa);
void tlb_drop_writes_to(struct x86_exec *ex, uint32_t pa_page);
/* Flushes the TLB when the platform changed the A20 gate since the last call (cheap compare). */
void exec_a20_sync(struct x86_cpu *cpu);

static inline uint32_t mem_rd(struct x86_cpu *cpu, int sz, int seg, uint32_t off)
{
    struct x86_exec *ex = cpu->exec;
    const struct seg_cache *sc = &ex->seg[seg];
    if (likely((int64_t)(uint32_t)(off - sc->lo) <= sc->rspan[size_idx(sz)])) {
        uint32_t lin = sc->base + off;
        const struct tlb_entry *e = &ex->tlb[(lin >> 12) & TLB_MASK];
        if (likely(e->tag_r == (lin & (0xfffff000u | (uint32_t)(sz - 1))))) {
            const void *p = (const void *)(e->addend + lin);
            if (sz == 1) return *(const uint8_t *)p;
            if (sz == 2) { uint16_t v; memcpy(&v, p, 2); return v; }
            uint32_t v; memcpy(&v, p, 4); return v;
        }
    }
    return mem_read_slow(cpu, seg, off, sz);
}

static inline void mem_wr(struct x86_cpu *cpu, int sz, int seg, uint32_t off, uint32_t v)
{
    struct x86_exec *ex = cpu->exec;
    const struct seg_cache *sc = &ex->seg[seg];
    if (likely((int64_t)(uint32_t)(off - sc->lo) <= sc->wspan[size_idx(sz)])) {
        uint32_t lin = sc->base + off;
        const struct tlb_entry *e = &ex->tlb[(lin >> 12) & TLB_MASK];
        if (likely(e->tag_w == (lin & (0xfffff000u | (uint32_t)(sz - 1))))) {
            void *p = (void *)(e->addend + lin);
            if (sz == 1) *(uint8_t *)p = (uint8_t)v;
            else if (sz == 2) memcpy(p, &(uint16_t){ (uint16_t)v }, 2);
            else memcpy(p, &v, 4);
            return;
        }
    }
    mem_write_slow(cpu, seg, off, sz, v);
}

/* Checks a write would succeed (segment and paging) without writing: for instructions that
 * must not leave partial effects. */
static inline void mem_wcheck(struct x86_cpu *cpu, int seg, uint32_t off, uint32_t len)
{
    x86_check_access(cpu, seg, off, len, true);
}

/* ---- lazy flags (flags_lazy.c) ----------------------------------------------------------- */
uint32_t flags_arith(struct x86_cpu *cpu);    /* CF PF AF ZF SF OF of the pending operation */
bool flags_cf(struct x86_cpu *cpu);
bool x86_cond_slow(struct x86_cpu *cpu, unsigned cc);
/* Makes s.eflags exact (lf_op = LF_NONE) so an instruction can edit bits directly. */
void flags_materialize(struct x86_cpu *cpu);
/* Sets the arithmetic flags named in mask to the bits of val (others stay). */
void flags_set(struct x86_cpu *cpu, uint32_t mask, uint32_t val);
/* Sets CF and OF (rotates), keeping SF ZF AF PF without computing the pending CF/OF. */
void flags_set_cf_of(struct x86_cpu *cpu, uint32_t cfof);
/* SF ZF PF of a result of sz bytes. */
uint32_t flags_szp(uint32_t res, int sz);

static inline void lf_set(struct x86_cpu *cpu, enum lf_op op, int sz, uint32_t s1, uint32_t s2,
                          uint32_t res)
{
    struct x86_exec *ex = cpu->exec;
    ex->lf_op = (uint8_t)op;
    ex->lf_sz = (uint8_t)sz;
    ex->lf_s1 = s1;
    ex->lf_s2 = s2;
    ex->lf_res = res;
}

/* Condition codes (SDM Vol. 1 Appendix B), decided from the pending operation when cheap. */
static inline bool x86_cond(struct x86_cpu *cpu, unsigned cc)
{
    const struct x86_exec *ex = cpu->exec;
    if (ex->lf_op == LF_SUB) {
        unsigned sh = 32 - 8 * ex->lf_sz;
        uint32_t a = ex->lf_s1 << sh, b = ex->lf_s2 << sh;
        bool r;
        switch (cc >> 1) {
        case 1: r = a < b; break;
        case 2: r = a == b; break;
        case 3: r = a <= b; break;
        case 4: r = (int32_t)(a - b) < 0; break;
        case 6: r = (int32_t)a < (int32_t)b; break;
        case 7: r = (int32_t)a <= (int32_t)b; break;
        default: return x86_cond_slow(cpu, cc);
        }
        return r ^ (cc & 1);
    }
    if (ex->lf_op == LF_LOGIC) {
        int32_t r = (int32_t)(ex->lf_res << (32 - 8 * ex->lf_sz));
        bool v;
        switch (cc >> 1) {
        case 0: case 1: v = false; break;
        case 2: v = r == 0; break;
        case 3: v = r == 0; break;
        case 4: case 6: v = r < 0; break;
        case 7: v = r <= 0; break;
        default: return x86_cond_slow(cpu, cc);
        }
        return v ^ (cc & 1);
    }
    if (ex->lf_op != LF_NONE && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
        int32_t r = (int32_t)(ex->lf_res << (32 - 8 * ex->lf_sz));
        return ((cc >> 1) == 2 ? r == 0 : r < 0) ^ (cc & 1);
    }
    return x86_cond_slow(cpu, cc);
}

/* ---- stack helpers ------------------------------------------------------------------------ */
static inline uint32_t sp_get(struct x86_cpu *cpu)
{
    return cpu->stack32 ? cpu->s.gpr[R_ESP] : (cpu->s.gpr[R_ESP] & 0xffff);
}
static inline void sp_set(struct x86_cpu *cpu, uint32_t v)
{
    if (cpu->stack32)
        cpu->s.gpr[R_ESP] = v;
    else
        cpu->s.gpr[R_ESP] = (cpu->s.gpr[R_ESP] & 0xffff0000u) | (v & 0xffff);
}

/* The store faults before ESP changes, so a faulting PUSH restarts cleanly. */
static inline void stack_push(struct x86_cpu *cpu, int sz, uint32_t v)
{
    uint32_t sp = sp_get(cpu) - (uint32_t)sz;
    if (!cpu->stack32)
        sp &= 0xffff;
    mem_wr(cpu, sz, S_SS, sp, v);
    sp_set(cpu, sp);
}

static inline uint32_t stack_pop(struct x86_cpu *cpu, int sz)
{
    uint32_t sp = sp_get(cpu);
    uint32_t v = mem_rd(cpu, sz, S_SS, sp);
    sp_set(cpu, sp + (uint32_t)sz);
    return v;
}

/* Reads the stack depth bytes above ESP without moving it. */
static inline uint32_t stack_peek(struct x86_cpu *cpu, int sz, uint32_t depth)
{
    uint32_t sp = sp_get(cpu) + depth;
    if (!cpu->stack32)
        sp &= 0xffff;
    return mem_rd(cpu, sz, S_SS, sp);
}

/* ---- operand helpers --------------------------------------------------------------------- */
static inline uint32_t rm_read(struct x86_cpu *cpu, const struct x86_insn *i, int sz, uint32_t *ea)
{
    if (i->rm != RM_MEM)
        return reg_get(cpu, sz, i->rm);
    *ea = ea_of(cpu, i);
    return mem_rd(cpu, sz, i->seg, *ea);
}

static inline void rm_write(struct x86_cpu *cpu, const struct x86_insn *i, int sz, uint32_t ea, uint32_t v)
{
    if (i->rm != RM_MEM)
        reg_set(cpu, sz, i->rm, v);
    else
        mem_wr(cpu, sz, i->seg, ea, v);
}

/* Threaded dispatch: a handler that falls through runs the next record itself (a sibling call
 * GCC turns into a jump), so the loop is entered once per block, not per instruction. Depth is
 * bounded by BLOCK_MAX_INSNS. */
static inline const struct x86_insn *next_insn(struct x86_cpu *cpu, const struct x86_insn *i)
{
    const struct x86_insn *n = i + 1;
    cpu->exec->cur = n;
    return n->fn(cpu, n);
}

static inline uint32_t next_eip(const struct x86_insn *i)
{
    return i->eip + i->len;
}

/* Ends the block at the next instruction: s.eip is set to the following instruction. */
static inline const struct x86_insn *end_block(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->s.eip = next_eip(i);
    return NULL;
}

/* Before calling the system side: the restart point and the return EIP are architectural. */
static inline void sync_eip(struct x86_cpu *cpu, const struct x86_insn *i)
{
    cpu->insn_eip = i->eip;
    cpu->s.eip = next_eip(i);
}

/* ---- decoding (decode_*.c) --------------------------------------------------------------- */
/* Decoder input for one instruction. */
struct x86_dec {
    ZydisDecodedInstruction zi;
    unsigned map, op;            /* 0: one-byte map, 1: 0F map; opcode byte */
    unsigned mod, reg, rm;
    bool has_modrm, mem;
    int osz;                     /* 2 or 4 */
    bool a16, lock;
    uint8_t rep;
    int seg;                     /* effective segment for the memory operand */
    bool seg_override;
    uint32_t imm, imm1;
    bool end;                    /* the block must end after this instruction */
    bool code32;
};

/* Fills rec for d; returns false for an undefined opcode (the caller emits #UD). */
bool decode_insn(struct x86_cpu *cpu, struct x86_dec *d, struct x86_insn *rec);
/* Group decoders, each in the file that holds the handlers. */
bool decode_alu(struct x86_dec *d, struct x86_insn *rec);
bool decode_mov(struct x86_dec *d, struct x86_insn *rec);
bool decode_ctl(struct x86_dec *d, struct x86_insn *rec);
bool decode_str(struct x86_dec *d, struct x86_insn *rec);
bool decode_sys(struct x86_dec *d, struct x86_insn *rec);
bool decode_priv(struct x86_dec *d, struct x86_insn *rec);
bool decode_misc(struct x86_dec *d, struct x86_insn *rec);
bool decode_alu2(struct x86_dec *d, struct x86_insn *rec);

const struct x86_insn *h_block_end(struct x86_cpu *cpu, const struct x86_insn *i);
const struct x86_insn *h_raise_ud(struct x86_cpu *cpu, const struct x86_insn *i);
const struct x86_insn *h_raise(struct x86_cpu *cpu, const struct x86_insn *i);

/* ---- block cache (decode_block.c) -------------------------------------------------------- */
int exec_init(struct x86_cpu *cpu);
void exec_destroy(struct x86_cpu *cpu);
struct x86_block *block_get(struct x86_cpu *cpu);
void block_free_zombies(struct x86_exec *ex);
/* A guest write reached physical [pa, pa+len) of a page that holds decoded code. */
void exec_code_write(struct x86_cpu *cpu, uint32_t pa, uint32_t len);
static inline bool page_has_code(const struct x86_exec *ex, uint32_t pa)
{
    uint32_t pfn = pa >> 12;
    return pfn < ex->npages && ex->page_blocks[pfn] != NULL;
}
uint32_t exec_mode_key(const struct x86_cpu *cpu);
static inline bool page_watched(const struct x86_exec *ex, uint32_t pa)
{
    uint32_t pfn = pa >> 12;
    return ex->watch_bm && pfn < ex->npages && (ex->watch_bm[pfn / 64] >> (pfn % 64) & 1);
}
/* A write is about to reach a watched frame: tell the hook first (it may rewrite the frame). */
static inline void exec_watch_write(struct x86_exec *ex, uint32_t pa)
{
    if (page_watched(ex, pa)) {
        ex->watch_hits++;
        ex->watch_fn(ex->hooks_opaque, pa & ~0xfffu);
    }
}

/* ---- running (exec_run.c) ---------------------------------------------------------------- */
enum exec_result { EXEC_OK, EXEC_FAULT, EXEC_HALT, EXEC_STOP };
/* Executes instructions until the block ends (max_insns 1: exactly one instruction).
 * Must be called with fault_jmp armed. */
void exec_block(struct x86_cpu *cpu, struct x86_block *b, bool single);
void exec_retire_fault(struct x86_cpu *cpu);
/* The engine's run: until the virtual clock reaches deadline, HLT, or a stop request. */
enum engine_exit exec_run(struct x86_cpu *cpu, uint64_t deadline);
/* Allocates and resets a CPU on vm (NULL when out of memory). */
struct x86_cpu *exec_cpu_create(struct vm *vm);
void exec_cpu_destroy(struct x86_cpu *cpu);
void exec_set_state(struct x86_cpu *cpu, const struct vcpu_state *st);
void exec_get_state(struct x86_cpu *cpu, struct vcpu_state *st);
void exec_print_stats(struct x86_cpu *cpu, FILE *out, double seconds);

#endif
