/* CSAM internals shared by the csam/ sources: the per-frame scan record and the frame table. */
#ifndef RINGFOLD_CSAM_PRIV_H
#define RINGFOLD_CSAM_PRIV_H

#include <Zydis/Zydis.h>
#include "csam.h"

#define CSAM_PAGE           4096u
#define CSAM_NO_FRAME       UINT64_MAX
#define CSAM_NO_LINEAR      UINT32_MAX      /* linear page unknown: never read across its end */
#define CSAM_HASH_BITS      12
#define CSAM_DEFAULT_BUDGET 65536u

/* What scanning knows about one 4 KiB guest-physical frame. */
struct csam_frame {
    struct csam_frame *next;       /* hash chain */
    uint64_t pa;                   /* frame base */
    uint32_t linear;               /* linear page base it was last reached at */
    bool scanned;                  /* descent reached it (else it only holds a spilled tail) */
    bool unsafe;                   /* run on emu: never patched */
    bool queued;                   /* in this csam_scan's list of frames to sweep */
    uint8_t head_cover;            /* bytes at offset 0 that belong to the previous page's insn */
    uint8_t spill_len;             /* bytes our last instruction spills into spill_to */
    uint64_t spill_to;             /* frame of the next linear page, or CSAM_NO_FRAME */
    uint8_t start[CSAM_PAGE / 8];  /* an instruction starts here */
    uint8_t cover[CSAM_PAGE / 8];  /* byte belongs to a decoded instruction (or a spilled tail) */
    uint8_t guess[CSAM_PAGE / 8];  /* ... to one only the linear sweep decoded (a guess) */
    bool spill_guess;              /* the spilling instruction is a sweep guess */
    struct csam_site *sites;       /* sorted by pa */
    unsigned nsites, cap, npatched;
};

struct csam {
    struct guest_mem *mem;
    struct csam_config cfg;
    ZydisDecoder dec;
    struct csam_frame *hash[1u << CSAM_HASH_BITS];
    unsigned nframes;
    uint64_t sites_added;          /* ever: csam_scan returns its growth */
    struct csam_frame **sweepq;    /* frames to sweep before csam_scan returns */
    unsigned nsweepq, sweepq_cap;
    struct csam_stats st;
};

/* Flow facts about a decoded instruction (csam_classify.c). */
enum csam_flow {
    CSAM_FLOW_NEXT,      /* falls through */
    CSAM_FLOW_JMP,       /* direct jump: target only */
    CSAM_FLOW_JCC,       /* conditional (jcc, loop, jecxz): target and fall-through */
    CSAM_FLOW_CALL,      /* direct near call: target and fall-through */
    CSAM_FLOW_IND_JMP,   /* indirect near jmp: path ends */
    CSAM_FLOW_IND_CALL,  /* indirect near call: fall-through only */
    CSAM_FLOW_RET,       /* near ret: path ends */
    CSAM_FLOW_END,       /* far transfer, iret, hlt, ud2, sysenter...: path ends */
};

/* Kind of z (or -1 when not sensitive); *flow and *target (for direct branches) describe control flow. */
int csam_classify(const ZydisDecodedInstruction *z, uint32_t eip, bool cpuid_sensitive,
                  enum csam_flow *flow, uint32_t *target);

static inline bool csam_bit(const uint8_t *map, unsigned off)
{
    return map[off >> 3] & (1u << (off & 7));
}
static inline void csam_bit_set(uint8_t *map, unsigned off)
{
    map[off >> 3] |= (uint8_t)(1u << (off & 7));
}

/* Frame table (csam_table.c). */
struct csam_frame *csam_frame_find(const struct csam *c, uint64_t pa_frame);
/* Finds or creates the record (monitoring starts); NULL when out of memory. */
struct csam_frame *csam_frame_get(struct csam *c, uint64_t pa_frame, uint32_t linear_page);
/* The frame whose last instruction spills into pa_frame, or NULL. */
struct csam_frame *csam_frame_spilling_into(const struct csam *c, uint64_t pa_frame);
/* Forgets the record (monitoring stops). Patches must already be restored. */
void csam_frame_forget(struct csam *c, struct csam_frame *f);
/* Adds a site (kept sorted); false when out of memory. */
bool csam_site_add(struct csam *c, struct csam_frame *f, const struct csam_site *s);

/* CSAM wrote the guest byte at pa (csam_patch.c): tells the code_written hook. */
void csam_note_write(const struct csam *c, uint64_t pa);
/* Patching (csam_patch.c): restores every patch in f. */
void csam_frame_unpatch(struct csam *c, struct csam_frame *f);
/* Marks f unsafe (run on emu) and removes its patches. */
void csam_frame_mark_unsafe(struct csam *c, struct csam_frame *f);

/* Code reading with patches hidden (csam_patch.c): copies up to len bytes of the frame's original
 * contents from offset off (off + len <= 4096); false when the frame is not RAM. */
bool csam_read_orig(const struct csam *c, uint64_t pa_frame, unsigned off, uint8_t *buf,
                    unsigned len);

/* Linear sweep of a frame's gaps (csam_sweep.c); returns the new sites. */
int csam_sweep_frame(struct csam *c, const struct csam_guest *g, struct csam_frame *f);

/* Decodes the instruction at offset off of frame pa_frame (reached at linear_page), reading the
 * original bytes (patches hidden) and, when it crosses the page end, the next linear page's frame
 * (csam_scan.c). *pa2 gets that frame, or CSAM_NO_FRAME when the instruction fits. With
 * linear_page CSAM_NO_LINEAR a crossing instruction gives CSAM_FETCH_UNMAPPED. */
enum csam_fetch { CSAM_FETCH_OK, CSAM_FETCH_UNMAPPED, CSAM_FETCH_INVALID };
enum csam_fetch csam_decode_in(struct csam *c, const struct csam_guest *g, uint64_t pa_frame,
                               uint32_t linear_page, unsigned off, ZydisDecodedInstruction *z,
                               uint8_t bytes[15], uint64_t *pa2);

/* Marks an instruction of length len at frame f offset off: start, cover, spill into the next
 * page's frame (pa2, or CSAM_NO_FRAME when it fits). Returns false on out of memory. */
bool csam_mark_insn(struct csam *c, struct csam_frame *f, unsigned off, unsigned len,
                    uint64_t pa2, bool guess);
/* Queues f for the sweep at the end of the current csam_scan; false when out of memory. */
bool csam_queue_sweep(struct csam *c, struct csam_frame *f);
/* Before a real instruction at [off, off+len) (spilling into pa2) is checked and marked: the
 * sweep's guesses in its way are withdrawn (csam_frame_unsweep), and the frames re-queued. */
void csam_withdraw_guesses(struct csam *c, struct csam_frame *f, unsigned off, unsigned len,
                           uint64_t pa2);
/* Clears the cover bits our spilled tail set in the next frame and forgets the spill. */
void csam_frame_clear_spill(struct csam *c, struct csam_frame *f);
/* Control flow reached an instruction the sweep had decoded: it is real, not a guess. */
void csam_promote_guess(struct csam *c, struct csam_frame *f, unsigned off, unsigned len);
/* Control flow entered the head of f that the previous page's sweep guessed was its tail. */
void csam_withdraw_spilled_guess(struct csam *c, struct csam_frame *f);
/* Drops everything the sweep guessed in f (its sites, their patches, its start/cover bits):
 * control flow has just shown a real instruction where the sweep had guessed otherwise. */
void csam_frame_unsweep(struct csam *c, struct csam_frame *f);
/* True when [off, off+len) of f (clipped to the page) and the spilled part in pa2 touch no byte
 * of an instruction already known (in pa2: known other than by a sweep guess, which
 * csam_withdraw_guesses removes): the new instruction does not overlap known code. */
bool csam_insn_fits(const struct csam *c, const struct csam_frame *f, unsigned off, unsigned len,
                    uint64_t pa2);
/* Adds the site for a classified instruction; false when out of memory. */
bool csam_record_site(struct csam *c, struct csam_frame *f, unsigned off, int kind,
                      unsigned len, const uint8_t *bytes, bool from_sweep);

#endif
