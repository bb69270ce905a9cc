/* --stats for the raw engine: native entries, exits by cause, emulation, time split. */
#include <inttypes.h>
#include "raw_priv.h"
#include "raw_stub.h"
#include "jail.h"
#include "shadow.h"

static const char *const raw_exit_names[RAW_X_COUNT] = {
    [RAW_X_GP_PRIV] = "#GP privileged/sensitive insn",
    [RAW_X_GP_IO] = "#GP port I/O",
    [RAW_X_INT_N] = "int n (#GP, err n*8+2)",
    [RAW_X_PF_MAPPED] = "#PF shadow mapped",
    [RAW_X_PF_GUEST] = "#PF reflected to guest",
    [RAW_X_PF_EMULATE] = "#PF emulated (MMIO/low/monitored)",
    [RAW_X_SYSCALL] = "i386 syscall trap (SIGSYS)",
    [RAW_X_TIMER] = "host timer (deadline)",
    [RAW_X_UD] = "#UD",
    [RAW_X_DE] = "#DE",
    [RAW_X_FPU] = "#MF/#XM",
    [RAW_X_BP] = "int3",
    [RAW_X_DB] = "#DB (icebp, single-step)",
    [RAW_X_OTHER] = "other faults (#NP #SS #AC #OF #BR)",
    [RAW_X_ENTRY] = "entry refused by IRETQ",
    [RAW_X_SEG_FIXUP] = "host GDT selector re-resolved",
    [RAW_X_SEG_BAD] = "unloadable guest selector (#GP)",
};

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void raw_print_stats(struct raw *r, FILE *out)
{
    uint64_t exits = 0;
    for (int i = 0; i < RAW_X_COUNT; i++)
        if (i != RAW_X_SEG_FIXUP)
            exits += r->stats.exits[i];
    fprintf(out, "raw: phases 2b and 3: guest CPL-3 code runs natively (paged: %s), and guest kernel code "
                 "(CPL 0-2, paging off or on) under CSAM in this process (scanned, int3-patched; trap-dense paged "
                 "kernel paths linger on emu); real mode, v86 and 16-bit code run on emu%s\n",
            r->single_unsafe ? "in this process, UNSAFE single-process mode" : "in one guest-user process per address space",
            r->csam ? "" : " (CSAM off: kernel code on emu)");
    fprintf(out, "raw: native entries %" PRIu64 ", exits %" PRIu64 ", instructions emulated after a trap %"
            PRIu64 ", LDT shadow writes %" PRIu64 "\n", r->stats.entries, exits, r->stats.emulated, r->ldt.writes);
    fprintf(out, "raw: #PF exits re-entered straight from the frame (no state sync): %" PRIu64 "\n",
            r->stats.fast_resumes);
    for (int i = 0; i < RAW_X_COUNT; i++)
        if (r->stats.exits[i])
            fprintf(out, "raw:   exit %-36s %12" PRIu64 "\n", raw_exit_names[i], r->stats.exits[i]);
    static const char *const modes[X86_EMU_MODE_COUNT] = { "real", "v86", "16-bit pm", "CPL 0-2 32-bit",
                                                            "CPL 3 (not native-able)" };
    fprintf(out, "raw: instructions on emu by mode:");
    for (int m = 0; m < X86_EMU_MODE_COUNT; m++)
        fprintf(out, " %s %" PRIu64 "%s", modes[m], x86_emu_mode_insns(r->emu, (enum x86_emu_mode)m),
                m + 1 < X86_EMU_MODE_COUNT ? "," : "\n");
    uint64_t run = r->stats.run_ns, nat = r->stats.native_ns, emu = r->stats.emu_ns;
    uint64_t mon = run > nat + emu ? run - nat - emu : 0;
    fprintf(out, "raw: host time in run %.3f s: native %.1f%%, emu %.1f%%, monitor (exit handling) %.1f%%\n",
            run / 1e9, pct(nat, run), pct(emu, run), pct(mon, run));
    uint64_t kp = r->stats.native_ns_kernel_paged, ku = r->stats.native_ns_kernel - kp;
    fprintf(out, "raw: native time at guest CPL 3 %.3f s; CPL 0-2 paging off %.3f s (%" PRIu64
            " entries); CPL 0-2 paging on %.3f s (%" PRIu64 " entries)\n",
            (nat - r->stats.native_ns_kernel) / 1e9, ku / 1e9, r->stats.entries_kernel - r->stats.entries_kernel_paged,
            kp / 1e9, r->stats.entries_kernel_paged);
    if (exits)
        fprintf(out, "raw: monitor time per exit (exit handling and shadow mapping; the host's trap delivery, "
                "~2 us quiet, is in native): %.2f us\n", (double)mon / (double)exits / 1e3);
    if (r->stats.emu_ud_host_insn)
        fprintf(out, "raw: %" PRIu64 " instructions the host ran natively were #UD on emu when emulated after a "
                "trap (host-only instructions chosen from the host's CPUID?)\n", r->stats.emu_ud_host_insn);
    if (r->cpuid_faulting)
        fprintf(out, "raw: CPUID faulting on: native CPUID traps and shows ringfold's CPUID\n");
    else
        fprintf(out, "raw: CPUID faulting unavailable on this host: guest user code saw the HOST's CPUID "
                     "(%" PRIu64 " native runs)\n", r->stats.cpuid_native);
    if (r->sep_hidden)
        fprintf(out, "raw: SEP hidden from the guest's CPUID: compat-mode SYSENTER enters this host's kernel "
                     "(not an AMD processor), so guests use int 0x80\n");
    if (r->stats.shadow_flushes_kernel)
        fprintf(out, "raw: full shadow flushes after emu ran the single-step path: %"
                PRIu64 "\n", r->stats.shadow_flushes_kernel);
    fprintf(out, "raw: round trips so far in this process: %" PRIu64 "\n", raw_native_entries);
    raw_csam_print_stats(r, out);
    raw_jail_print_stats(out);
    if (r->single_unsafe)
        fprintf(out, "raw: UNSAFE single-process mode (RINGFOLD_RAW_SINGLE=1): guest user code ran in the "
                     "process that maps guest kernel pages\n");
    else
        raw_stubs_print_stats(r, out);
    fprintf(out, "shadow (the monitor process):\n");
    shadow_print_stats(r->shadow, out);
    x86_emu_print_stats(r->emu, out, emu / 1e9);
}
