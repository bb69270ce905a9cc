/* CSAM's view of guest code through the interpreter's page walker: the csam_guest.frame callback
 * the raw engine hands to csam_scan (one walker in the project, core/x86/sys_paging.c). */
#include <ringfold/x86_emulate.h>
#include "csam_priv.h"

int64_t csam_frame_via_emu(void *emu, uint32_t linear)
{
    struct x86_emu_xlate x;
    struct x86_emu_event ev;
    /* Supervisor instruction fetch: what the CPU would do when this code runs at CPL 0. It sets
     * accessed bits on the way, as the fetch will when the code runs; a page the guest cannot
     * fetch from gives -1 (no #PF is raised: nothing is delivered). */
    if (x86_emu_translate(emu, linear, X86_XLATE_EXEC, &x, &ev) != 0)
        return -1;
    return (int64_t)(x.pa & ~(uint64_t)(CSAM_PAGE - 1));
}
