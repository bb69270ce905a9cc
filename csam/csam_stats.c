/* CSAM statistics: what was scanned, what was found by kind, what was patched and invalidated,
 * printed by --stats (the raw engine calls csam_print_stats). */
#include <inttypes.h>
#include "csam_priv.h"

void csam_print_stats(const struct csam *c, FILE *out)
{
    const struct csam_stats *s = &c->st;
    fprintf(out, "csam: %" PRIu64 " pages scanned (%u frames monitored), %" PRIu64
            " unsafe (run on emu)\n", s->pages_scanned, c->nframes, s->pages_unsafe);
    fprintf(out, "csam: %" PRIu64 " instructions decoded along control flow, %" PRIu64
            " by the linear sweep (%" PRIu64 " gaps consistent, %" PRIu64 " not)\n",
            s->insns_decoded, s->insns_swept, s->sweep_consistent, s->sweep_inconsistent);
    if (s->gaps_unknown)
        fprintf(out, "csam: %" PRIu64 " inconsistent gaps left unknown (never entered; the frame stays native)\n",
                s->gaps_unknown);
    fprintf(out, "csam: paths ended by %" PRIu64 " indirect jmp, %" PRIu64 " ret, %" PRIu64
            " unmapped, %" PRIu64 " undecodable; %" PRIu64 " indirect calls; %" PRIu64
            " overlaps (+%" PRIu64 " jumps over a prefix); %" PRIu64 " sweep guesses withdrawn; budget ran out %" PRIu64 " times\n",
            s->ind_jmp, s->ret, s->path_unmapped, s->path_undecodable, s->ind_call, s->overlaps,
            s->prefix_skips, s->unsweeps, s->budget_exhausted);
    fprintf(out, "csam: sites by kind:");
    for (unsigned k = 0; k < CSAM_KIND_COUNT; k++)
        if (s->sites[k])
            fprintf(out, " %s %" PRIu64 "%s", csam_kind_name((enum csam_kind)k), s->sites[k],
                    csam_kind_patched((enum csam_kind)k) ? "" : " (traps natively)");
    fprintf(out, "\n");
    fprintf(out, "csam: %" PRIu64 " int3 patches applied, %" PRIu64 " removed; %" PRIu64
            " frames invalidated by guest writes\n", s->patches_applied, s->patches_removed,
            s->frames_invalidated);
}
