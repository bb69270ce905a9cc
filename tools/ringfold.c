/* The `ringfold` command line: parses options, builds the VM, loads the guest, runs it,
 * and turns the outcome into an exit status. The only place that prints errors. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ringfold/cpu_model.h"
#include "ringfold/trace.h"
#include "ringfold/vm.h"
#include "../core/loader.h"
#include "../devices/pc.h"
#include "commands.h"
#include "vm_config_file.h"

static const char *prog = "ringfold";

/* The guest's side of the contract is in guests/linux/README.md; the same line as run-qemu.sh. */
#define LINUX_CMDLINE "console=ttyS0 noapic nolapic acpi=off cryptomgr.notests noisapnp " \
                      "io_delay=none 8250.nr_uarts=1 nokaslr"
#define LINUX_MEM_DEFAULT (256ull << 20)

static void usage(FILE *out)
{
    fprintf(out,
        "usage: %s run [--config=FILE] [options] KERNEL\n"
        "       %s run [--config=FILE] [options] linux | linux-pae\n"
        "       %s run --config=FILE [options]\n"
        "       %s bench [--quick] [--iters N] [--repeat N] [--linux] [--linux-repeat N]\n"
        "                    [--json FILE] [--csv FILE] [--chart FILE] [--update-docs]\n"
        "       %s probe [--json] [--record[=FILE]] [--engine=NAME [--paged]]\n"
        "       %s --help | --version\n"
        "\n"
        "Runs a 32-bit x86 PC guest. KERNEL is a Linux bzImage, a Multiboot kernel, a plain\n"
        "ELF32 image or a 512-byte boot sector. 'linux' and 'linux-pae' boot the Debian guest\n"
        "built by `make linux-image` in this binary's build directory (bzImage-686 or\n"
        "bzImage-686-pae with initrd.gz, 256M, command line:\n"
        "  " LINUX_CMDLINE "\n"
        "to which --append adds); write ./linux for a file of that name.\n"
        "\n"
        "options:\n"
        "  --config=FILE      read settings from FILE: `key = value` lines, keys named as these\n"
        "                     long options (docs/config.md); options given here override it\n"
        "  --engine=NAME      emu, raw, kvm or auto (default auto; `ringfold probe` says why)\n"
        "  --force-engine     use --engine's engine even where its probe says it cannot run\n"
        "  --cpu=MODEL        the CPU model CPUID reports (--cpu=help lists them)\n"
        "  --mem=SIZE, -m     guest RAM, e.g. 128M or 1G; a plain number is MiB (default 128M)\n"
        "  --append=CMDLINE   kernel command line\n"
        "  --module=FILE[ ARGS], --initrd=FILE\n"
        "                     Multiboot module (repeatable); a Linux kernel's initrd (one)\n"
        "  --serial=BACKEND   stdio (default), null, or file:PATH\n"
        "  --stats            print what each technique did when the guest stops\n"
        "  --trace=CATS       insn,intr,exc,io,mode,post or all (to stderr)\n"
        "  --trace-file=PATH  write the trace to PATH instead\n"
        "  --timeout=SECONDS  stop the guest after this much wall-clock time\n"
        "  --deterministic    guest time from the instruction count (reproducible runs)\n"
        "  --reboot           on a guest reset or triple fault, boot again instead of exiting\n"
        "QEMU's -m, -kernel, -initrd and -append are accepted too.\n"
        "\n"
        "exit status: the guest's isa-debug-exit value v as (v << 1) | 1; 0 when the guest\n"
        "resets or reboots; 2 bad command line or image; 4 monitor error; 6 triple fault;\n"
        "8 guest hung (HLT nothing can wake); 124 timeout.\n",
        prog, prog, prog, prog, prog, prog);
}

__attribute__((format(printf, 1, 2), noreturn))
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(RF_EXIT_USAGE);
}

/* QEMU style: a bare number is MiB; K, M, G suffixes. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mult = 1ull << 20;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mult = 1ull << 10; break;
        case 'm': case 'M': mult = 1ull << 20; break;
        case 'g': case 'G': mult = 1ull << 30; break;
        default: return -1;
        }
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
        if (*end)
            return -1;
    }
    if (v > (UINT64_MAX >> 30))
        return -1;
    *out = v * mult;
    return 0;
}

/* Maps QEMU's single-dash spellings onto ours so getopt_long sees one syntax. */
static void translate_qemu_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m"))
            argv[i] = "--mem";
        else if (!strcmp(argv[i], "-kernel"))
            argv[i] = "--kernel";
        else if (!strcmp(argv[i], "-initrd"))
            argv[i] = "--initrd";
        else if (!strcmp(argv[i], "-append"))
            argv[i] = "--append";
    }
}

/* getopt values: the settings a config file can also hold are OPT_KEY(its enum vmcf_key), so
 * options and file keys go through one run_setting_apply. */
enum { OPT_CONFIG = 256, OPT_HELP, OPT_KEY_BASE = 512 };
#define OPT_KEY(k) (OPT_KEY_BASE + (k))

static const struct option run_options[] = {
    { "config", required_argument, 0, OPT_CONFIG },
    { "engine", required_argument, 0, OPT_KEY(VMCF_ENGINE) },
    { "force-engine", no_argument, 0, OPT_KEY(VMCF_FORCE_ENGINE) },
    { "cpu", required_argument, 0, OPT_KEY(VMCF_CPU) },
    { "mem", required_argument, 0, OPT_KEY(VMCF_MEM) },
    { "append", required_argument, 0, OPT_KEY(VMCF_APPEND) },
    { "module", required_argument, 0, OPT_KEY(VMCF_MODULE) },
    { "initrd", required_argument, 0, OPT_KEY(VMCF_MODULE) },
    { "serial", required_argument, 0, OPT_KEY(VMCF_SERIAL) },
    { "stats", no_argument, 0, OPT_KEY(VMCF_STATS) },
    { "trace", required_argument, 0, OPT_KEY(VMCF_TRACE) },
    { "trace-file", required_argument, 0, OPT_KEY(VMCF_TRACE_FILE) },
    { "timeout", required_argument, 0, OPT_KEY(VMCF_TIMEOUT) },
    { "deterministic", no_argument, 0, OPT_KEY(VMCF_DETERMINISTIC) },
    { "reboot", no_argument, 0, OPT_KEY(VMCF_REBOOT) },
    { "kernel", required_argument, 0, OPT_KEY(VMCF_KERNEL) },
    { "help", no_argument, 0, OPT_HELP },
    { 0, 0, 0, 0 },
};

/* "FILE:LINE" of the config file's engine key where it chose the engine (no --engine). */
static char engine_named_in[PATH_MAX + 32];

/* What `run` was told, by its options and its config file, before anything is built. */
struct run_settings {
    struct vm_config cfg;
    struct boot_spec spec;
    const char *trace_file;
    unsigned tmask;
    bool reboot;
    bool modules_from_cli;    /* the command line's modules replace the file's, not add to them */
};

/* Checks and records one setting; the single place every option value and every config-file
 * value is validated. where names its origin in messages: "--mem" or "vm.cfg:3: mem". flag is
 * a boolean setting's value (the command line only ever turns one on). */
static void run_setting_apply(struct run_settings *rs, enum vmcf_key key, const char *value,
                              bool flag, const char *where)
{
    switch (key) {
    case VMCF_ENGINE:
        if (strcmp(value, "emu") && strcmp(value, "raw") && strcmp(value, "kvm") &&
            strcmp(value, "auto"))
            die_usage("%s: unknown engine '%s' (emu, raw, kvm, auto)", where, value);
        rs->cfg.engine = value;
        break;
    case VMCF_FORCE_ENGINE: rs->cfg.force_engine = flag; break;
    case VMCF_CPU:
        if (!cpu_model_find(value))
            die_usage("%s: unknown CPU model '%s' (--cpu=help lists them)", where, value);
        rs->cfg.cpu_model = value;
        break;
    case VMCF_MEM:
        if (parse_size(value, &rs->cfg.mem_size) < 0)
            die_usage("%s: cannot parse '%s' (e.g. 128M, 1G)", where, value);
        break;
    case VMCF_APPEND: rs->spec.cmdline = value; break;
    case VMCF_MODULE:
        if (rs->spec.nmodules == LOADER_MAX_MODULES)
            die_usage("%s: at most %d modules", where, LOADER_MAX_MODULES);
        rs->spec.modules[rs->spec.nmodules++] = value;
        break;
    case VMCF_SERIAL:
        if (strcmp(value, "stdio") && strcmp(value, "null") && strncmp(value, "file:", 5))
            die_usage("%s: unknown backend '%s' (stdio, null, file:PATH)", where, value);
        rs->cfg.serial = value;
        break;
    case VMCF_STATS: rs->cfg.stats = flag; break;
    case VMCF_TRACE:
        if (trace_parse(value, &rs->tmask) < 0)
            die_usage("%s: unknown category in '%s' (insn,intr,exc,io,mode,post,all)", where, value);
        break;
    case VMCF_TRACE_FILE: rs->trace_file = value; break;
    case VMCF_TIMEOUT: {
        char *end;
        double s = strtod(value, &end);
        if (end == value || *end || !(s > 0) || s > 1e6)
            die_usage("%s: '%s' is not a positive number of seconds", where, value);
        rs->cfg.timeout_ns = (uint64_t)(s * 1e9);
        break;
    }
    case VMCF_DETERMINISTIC: rs->cfg.deterministic = flag; break;
    case VMCF_REBOOT: rs->reboot = flag; break;
    case VMCF_KERNEL: rs->spec.kernel = value; break;
    case VMCF_NKEYS: break;
    }
}

/* Applies a config file's settings (before the command line's, which override them). */
static void run_settings_from_file(struct run_settings *rs, const struct vm_config_file *f)
{
    char where[PATH_MAX + 64];
    for (int k = 0; k < VMCF_NKEYS; k++) {
        if (!f->value[k])
            continue;
        snprintf(where, sizeof(where), "%s:%d: %s", f->path, f->line[k],
                 vm_config_file_key_name((enum vmcf_key)k));
        run_setting_apply(rs, (enum vmcf_key)k, f->value[k], f->flag[k], where);
        if (k == VMCF_ENGINE)
            snprintf(engine_named_in, sizeof(engine_named_in), "%s:%d", f->path, f->line[k]);
    }
    for (int i = 0; i < f->nmodules; i++) {
        snprintf(where, sizeof(where), "%s:%d: module", f->path, f->module_line[i]);
        run_setting_apply(rs, VMCF_MODULE, f->modules[i], false, where);
    }
}

/* Paths and command line of `run linux`; static so they outlive the boot_spec. */
static struct {
    char kernel[PATH_MAX + 64];
    char initrd[PATH_MAX + 64];
    char cmdline[4096];
} linux_guest;

/* The build directory: where this binary lives (tools/CMakeLists.txt puts it at the top of
 * the build tree, beside guests/linux/ and ringfold-bench.sh). */
static const char *build_dir(const char *what)
{
    static char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n <= 0)
        die_usage("%s: cannot find ringfold's build directory (/proc/self/exe): %s", what,
                  n < 0 ? strerror(errno) : "empty link");
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return dir;
}

/* `run linux` / `run linux-pae`: the image guests/linux/build-image.sh writes into the build
 * directory, which is where this binary lives (tools/CMakeLists.txt puts it at the top). */
static void linux_guest_resolve(struct boot_spec *spec, struct vm_config *cfg)
{
    const char *name = spec->kernel;
    const char *dir = build_dir(name);
    snprintf(linux_guest.kernel, sizeof(linux_guest.kernel), "%s/guests/linux/bzImage-%s", dir,
             strcmp(name, "linux") ? "686-pae" : "686");
    snprintf(linux_guest.initrd, sizeof(linux_guest.initrd), "%s/guests/linux/initrd.gz", dir);
    const char *missing = access(linux_guest.kernel, R_OK) ? linux_guest.kernel
                        : !spec->nmodules && access(linux_guest.initrd, R_OK) ? linux_guest.initrd
                        : NULL;
    if (missing)
        die_usage("%s: %s is not built (build it with: make -C %s linux-image)", name, missing, dir);
    int len = snprintf(linux_guest.cmdline, sizeof(linux_guest.cmdline), "%s%s%s", LINUX_CMDLINE,
                       spec->cmdline ? " " : "", spec->cmdline ? spec->cmdline : "");
    if (len < 0 || (size_t)len >= sizeof(linux_guest.cmdline))
        die_usage("--append: command line too long (%d bytes)", len);
    spec->kernel = linux_guest.kernel;
    spec->cmdline = linux_guest.cmdline;
    if (!spec->nmodules)
        spec->modules[spec->nmodules++] = linux_guest.initrd;
    if (!cfg->mem_size)
        cfg->mem_size = LINUX_MEM_DEFAULT;
}

static void print_stats(struct vm *vm, const char *engine)
{
    FILE *out = stderr;
    fprintf(out, "\n=== ringfold stats (engine %s) ===\n", engine);
    fprintf(out, "engine: %s (%s)\n", engine, vm->engine_why);
    fprintf(out, "cpu model: %s\n", cpu_model_name(vm->cpu));
    if (vm->engine && vm->engine_priv)
        vm->engine->print_stats(vm->engine_priv, out);
    const struct bus_stats *b = &vm->bus.stats;
    fprintf(out, "bus: port reads %llu, writes %llu; MMIO reads %llu, writes %llu\n",
            (unsigned long long)b->pio_reads, (unsigned long long)b->pio_writes,
            (unsigned long long)b->mmio_reads, (unsigned long long)b->mmio_writes);
    fprintf(out, "bus: unassigned port reads %llu, writes %llu; MMIO reads %llu, writes %llu\n",
            (unsigned long long)b->unassigned_pio_reads, (unsigned long long)b->unassigned_pio_writes,
            (unsigned long long)b->unassigned_mmio_reads, (unsigned long long)b->unassigned_mmio_writes);
    pc_print_stats(vm, out);
}

/* One boot: build the VM, load the guest, run it to a stop; returns the exit status. */
static int run_once(const struct vm_config *cfg, const struct boot_spec *spec, enum vm_stop_reason *why)
{
    struct vm vm;
    struct rf_err err = { { 0 } };
    *why = VM_STOP_ERROR;
    int rc = vm_init(&vm, cfg, &err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return rc == -EINVAL ? RF_EXIT_USAGE : RF_EXIT_MONITOR;
    }
    if (TRACE_ON(TRACE_IO))
        trace_attach_bus(&vm.bus);
    rc = loader_load(&vm, spec, &vm.boot_state, &err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        vm_destroy(&vm);
        return RF_EXIT_USAGE;
    }
    int status = vm_start(&vm, &err);
    if (status == 0) {
        /* core/vm.c words a named engine for the command line; a config file's choice says
         * where it was made instead, at start and in --stats. */
        if (engine_named_in[0] && !strcmp(vm.engine_why, "named with --engine"))
            snprintf(vm.engine_why, sizeof(vm.engine_why), "named in %.480s", engine_named_in);
        fprintf(stderr, "%s: engine %s (%s)\n", prog, vm.engine->name, vm.engine_why);
        status = vm_run(&vm, &err);
    }
    if (status < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        vm_destroy(&vm);
        return status == -ENODEV || status == -EINVAL ? RF_EXIT_USAGE : RF_EXIT_MONITOR;
    }
    *why = (enum vm_stop_reason)vm.stop;
    if (vm.stop_msg[0] && vm.stop != VM_STOP_DEBUG_EXIT && vm.stop != VM_STOP_QUIT)
        fprintf(stderr, "%s: %s\n", prog, vm.stop_msg);
    if (cfg->stats)
        print_stats(&vm, vm.engine ? vm.engine->name : "none");
    vm_destroy(&vm);
    return status;
}

/* --reboot boots each machine in a child process: an engine may lock its process down for good
 * (the raw engine's jail forbids opening files and creating guest memory once guest code ran),
 * and a fresh process is what a second power-on should get anyway. The child reports why its
 * machine stopped through a shared page. */
static int run_once_in_child(const struct vm_config *cfg, const struct boot_spec *spec,
                             enum vm_stop_reason *why)
{
    *why = VM_STOP_ERROR;
    int *shared = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        fprintf(stderr, "%s: --reboot: cannot share a page with the child: %s\n", prog, strerror(errno));
        return RF_EXIT_MONITOR;
    }
    *shared = VM_STOP_ERROR;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: --reboot: fork: %s\n", prog, strerror(errno));
        munmap(shared, sizeof(int));
        return RF_EXIT_MONITOR;
    }
    if (pid == 0) {
        enum vm_stop_reason w;
        int st = run_once(cfg, spec, &w);
        *shared = (int)w;
        fflush(NULL);
        _exit(st);
    }
    int wst;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    *why = (enum vm_stop_reason)*shared;
    munmap(shared, sizeof(int));
    if (WIFEXITED(wst))
        return WEXITSTATUS(wst);
    fprintf(stderr, "%s: the machine's process died of signal %d\n", prog,
            WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
    return RF_EXIT_MONITOR;
}

static int cmd_run(int argc, char **argv)
{
    struct run_settings rs;
    struct vm_config_file file;
    memset(&rs, 0, sizeof(rs));
    memset(&file, 0, sizeof(file));
    const char *config = NULL, *cli_kernel = NULL;
    /* The command line's settings, kept in order until the config file has been applied. */
    struct run_arg { int key; const char *value; const char *name; } *cli;
    cli = calloc((size_t)argc + 1, sizeof(*cli));
    int ncli = 0, opt, idx = 0;

    if (!cli)
        return RF_EXIT_MONITOR;
    translate_qemu_args(argc, argv);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", run_options, &idx)) != -1) {
        switch (opt) {
        case OPT_CONFIG:
            if (config)
                die_usage("--config: given twice ('%s' and '%s')", config, optarg);
            config = optarg;
            break;
        case OPT_HELP: case 'h': usage(stdout); return 0;
        default:
            if (opt < OPT_KEY(0) || opt >= OPT_KEY(VMCF_NKEYS))
                exit(RF_EXIT_USAGE);   /* getopt already named the problem */
            if (opt == OPT_KEY(VMCF_CPU) && !strcmp(optarg, "help")) {
                cpu_model_list(stdout);
                return 0;
            }
            if (opt == OPT_KEY(VMCF_KERNEL)) {
                if (cli_kernel)
                    die_usage("run: kernel given twice ('%s' and '%s')", cli_kernel, optarg);
                cli_kernel = optarg;
            }
            cli[ncli++] = (struct run_arg){ opt - OPT_KEY(0), optarg, run_options[idx].name };
            break;
        }
    }
    if (optind < argc) {
        if (cli_kernel)
            die_usage("run: kernel given twice ('%s' and '%s')", cli_kernel, argv[optind]);
        cli_kernel = argv[optind];
        cli[ncli++] = (struct run_arg){ VMCF_KERNEL, argv[optind++], "kernel" };
    }
    if (optind < argc)
        die_usage("run: unexpected argument '%s'", argv[optind]);

    if (config) {
        char err[PATH_MAX + 256];
        if (vm_config_file_load(config, &file, err, sizeof(err)) < 0)
            die_usage("%s", err);
        run_settings_from_file(&rs, &file);
    }
    for (int i = 0; i < ncli; i++) {
        char where[64];
        snprintf(where, sizeof(where), "--%s", cli[i].name);
        if (cli[i].key == VMCF_MODULE && !rs.modules_from_cli) {
            rs.modules_from_cli = true;
            rs.spec.nmodules = 0;
        }
        run_setting_apply(&rs, (enum vmcf_key)cli[i].key, cli[i].value ? cli[i].value : "", true,
                          where);
        if (cli[i].key == VMCF_ENGINE)
            engine_named_in[0] = '\0';
    }
    free(cli);

    struct vm_config cfg = rs.cfg;
    struct boot_spec spec = rs.spec;
    const char *trace_file = rs.trace_file;
    const unsigned tmask = rs.tmask;
    const bool reboot = rs.reboot;
    if (!spec.kernel)
        die_usage("run: no kernel image given (see --help)");
    if (!strcmp(spec.kernel, "linux") || !strcmp(spec.kernel, "linux-pae"))
        linux_guest_resolve(&spec, &cfg);

    if (trace_file) {
        trace_out = fopen(trace_file, "w");
        if (!trace_out)
            die_usage("--trace-file: cannot open '%s': %s", trace_file, strerror(errno));
    }
    trace_mask = tmask;

    /* --reboot: a guest reset (or triple fault) boots the machine again from scratch, as a PC
     * does; by default it ends the run, like QEMU's -no-reboot and kvmtool. */
    enum vm_stop_reason why;
    int status;
    const uint64_t timeout = cfg.timeout_ns, start = vclock_host_ns();
    for (;;) {
        if (timeout) {     /* --timeout covers all boots together */
            uint64_t spent = vclock_host_ns() - start;
            if (spent >= timeout) {
                fprintf(stderr, "%s: timeout: guest still running after %.1f s\n", prog, timeout / 1e9);
                status = RF_EXIT_TIMEOUT;
                break;
            }
            cfg.timeout_ns = timeout - spent;
        }
        status = reboot ? run_once_in_child(&cfg, &spec, &why) : run_once(&cfg, &spec, &why);
        if (!reboot || (why != VM_STOP_RESET && why != VM_STOP_TRIPLE_FAULT))
            break;
        fprintf(stderr, "%s: --reboot: starting the machine again\n", prog);
    }
    if (trace_out)
        fclose(trace_out);
    vm_config_file_free(&file);
    return status;
}

/* `ringfold bench [--quick] [--iters N] [--json FILE] [--csv FILE]`: execs the head-to-head
 * harness (bench/ringfold-bench.sh, copied next to this binary by the build) on this
 * binary's build directory, where it finds the benchmark guests. */
static int cmd_bench(int argc, char **argv)
{
    const char *dir = build_dir("bench");
    char script[PATH_MAX + 32];
    snprintf(script, sizeof(script), "%s/ringfold-bench.sh", dir);
    if (access(script, R_OK))
        die_usage("bench: %s is missing (build the bench_nano target)", script);
    char **args = calloc((size_t)argc + 3, sizeof(*args));
    if (!args)
        return RF_EXIT_MONITOR;
    int k = 0;
    args[k++] = "bash";
    args[k++] = script;
    for (int i = 1; i < argc; i++)
        args[k++] = argv[i];
    args[k++] = (char *)dir;
    args[k] = NULL;
    execvp("bash", args);
    fprintf(stderr, "%s: bench: cannot run %s: %s\n", prog, script, strerror(errno));
    return RF_EXIT_MONITOR;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RF_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ringfold %s\n", RINGFOLD_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "probe"))
        return cmd_probe(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench"))
        return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (try --help)\n", prog, argv[1]);
    return RF_EXIT_USAGE;
}
