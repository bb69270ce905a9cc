/* Unit tests for VM config files (tools/vm_config_file.c): syntax, comments, quoting,
 * repeatable keys, relative paths, and every error with its FILE:LINE. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vm_config_file.h"   /* tools/: linked into this test (tests/unit/CMakeLists.txt) */

static struct vm_config_file f;
static char err[512];

static int parse_as(const char *path, const char *text)
{
    return vm_config_file_parse(path, text, strlen(text), &f, err, sizeof(err));
}

static int parse(const char *text)
{
    return parse_as("vm.cfg", text);
}

static void teardown(void)
{
    vm_config_file_free(&f);
}

TestSuite(vm_config_file, .fini = teardown);

Test(vm_config_file, keys_values_and_lines)
{
    cr_assert_eq(parse("engine = emu\n"
                       "mem=64M\n"
                       "\tcpu   =\tpentium  \n"
                       "serial = file:/tmp/out.txt\n"
                       "timeout = 2.5\n"
                       "trace = io,exc\n"
                       "trace-file = t.log\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_ENGINE], "emu");
    cr_assert_str_eq(f.value[VMCF_MEM], "64M");
    cr_assert_str_eq(f.value[VMCF_CPU], "pentium");
    cr_assert_str_eq(f.value[VMCF_SERIAL], "file:/tmp/out.txt");
    cr_assert_str_eq(f.value[VMCF_TIMEOUT], "2.5");
    cr_assert_str_eq(f.value[VMCF_TRACE], "io,exc");
    cr_assert_str_eq(f.value[VMCF_TRACE_FILE], "t.log");
    cr_assert_eq(f.line[VMCF_ENGINE], 1);
    cr_assert_eq(f.line[VMCF_CPU], 3);
    cr_assert_eq(f.line[VMCF_TRACE_FILE], 7);
    cr_assert_null(f.value[VMCF_APPEND]);
    cr_assert_null(f.value[VMCF_KERNEL]);
    cr_assert_eq(f.line[VMCF_APPEND], 0);
    cr_assert_str_eq(f.path, "vm.cfg");
}

Test(vm_config_file, empty_and_comment_only_files)
{
    cr_assert_eq(parse(""), 0);
    cr_assert_eq(f.nmodules, 0);
    vm_config_file_free(&f);
    cr_assert_eq(parse("# nothing\n\n   \n\t# indented comment\n"), 0, "%s", err);
    for (int k = 0; k < VMCF_NKEYS; k++)
        cr_assert_null(f.value[k]);
}

Test(vm_config_file, comments_whitespace_and_line_ends)
{
    cr_assert_eq(parse("mem = 256M   # plenty\r\n"
                       "serial = file:log#1\r\n"
                       "engine = raw#\n"
                       "append = console=ttyS0 quiet\t# the rest is a comment"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_MEM], "256M");
    cr_assert_str_eq(f.value[VMCF_SERIAL], "file:log#1", "a # inside a word is not a comment");
    cr_assert_str_eq(f.value[VMCF_ENGINE], "raw#");
    cr_assert_str_eq(f.value[VMCF_APPEND], "console=ttyS0 quiet", "no newline at the end is fine");
    cr_assert_eq(f.line[VMCF_APPEND], 4);
}

Test(vm_config_file, quoted_values)
{
    cr_assert_eq(parse("append = \"console=ttyS0 # kept\"  # dropped\n"
                       "trace-file = \"a \\\"b\\\" c\\\\d\\n\"\n"
                       "cpu = \"\"\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_APPEND], "console=ttyS0 # kept");
    cr_assert_str_eq(f.value[VMCF_TRACE_FILE], "a \"b\" c\\d\\n", "only \\\" and \\\\ are escapes");
    cr_assert_str_eq(f.value[VMCF_CPU], "", "an empty quoted value is a value");
}

Test(vm_config_file, booleans)
{
    cr_assert_eq(parse("stats = yes\nreboot = Off\ndeterministic = 1\nforce_engine = TRUE\n"), 0, "%s", err);
    cr_assert(f.flag[VMCF_STATS]);
    cr_assert_not(f.flag[VMCF_REBOOT]);
    cr_assert_not_null(f.value[VMCF_REBOOT], "a boolean set to no is still set");
    cr_assert(f.flag[VMCF_DETERMINISTIC]);
    cr_assert(f.flag[VMCF_FORCE_ENGINE], "force_engine is force-engine");
    cr_assert_eq(f.line[VMCF_FORCE_ENGINE], 4);
    cr_assert_not(f.flag[VMCF_ENGINE]);
}

Test(vm_config_file, repeatable_modules_and_initrd)
{
    cr_assert_eq(parse("module = /m/a.bin arg1 arg2\ninitrd = /m/initrd.gz\nmodule=/m/b\n"), 0, "%s", err);
    cr_assert_eq(f.nmodules, 3);
    cr_assert_str_eq(f.modules[0], "/m/a.bin arg1 arg2");
    cr_assert_str_eq(f.modules[1], "/m/initrd.gz");
    cr_assert_str_eq(f.modules[2], "/m/b");
    cr_assert_eq(f.module_line[0], 1);
    cr_assert_eq(f.module_line[2], 3);
}

Test(vm_config_file, relative_paths_are_beside_the_file)
{
    cr_assert_eq(parse_as("vms/demo/demo.vmcfg",
                          "kernel = demo.elf\nmodule = mods/m.bin x y\ninitrd = /abs/initrd.gz\n"
                          "trace-file = t.log\nserial = file:out.txt\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_KERNEL], "vms/demo/demo.elf");
    cr_assert_str_eq(f.modules[0], "vms/demo/mods/m.bin x y", "only the path part moves");
    cr_assert_str_eq(f.modules[1], "/abs/initrd.gz");
    cr_assert_str_eq(f.value[VMCF_TRACE_FILE], "t.log", "output files stay where ringfold runs");
    cr_assert_str_eq(f.value[VMCF_SERIAL], "file:out.txt");
    vm_config_file_free(&f);

    cr_assert_eq(parse_as("/etc/rf/linux.vmcfg", "kernel = linux-pae\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_KERNEL], "linux-pae", "the built-in guests are names, not paths");
    vm_config_file_free(&f);
    cr_assert_eq(parse_as("/etc/rf/linux.vmcfg", "kernel = ./linux\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_KERNEL], "/etc/rf/./linux");
    vm_config_file_free(&f);
    cr_assert_eq(parse_as("here.vmcfg", "kernel = k.elf\n"), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_KERNEL], "k.elf", "a file in the current folder: already right");
}

/* Every error: -EINVAL, exactly one line naming FILE:LINE, and nothing left in f. */
static void expect_error(const char *text, const char *want)
{
    cr_assert_eq(parse_as("conf/x.vmcfg", text), -EINVAL, "accepted: %s", text);
    cr_assert_str_eq(err, want);
    cr_assert_null(strchr(err, '\n'));
    cr_assert_null(f.path);
    for (int k = 0; k < VMCF_NKEYS; k++)
        cr_assert_null(f.value[k]);
    cr_assert_eq(f.nmodules, 0);
}

Test(vm_config_file, errors_name_file_and_line)
{
    expect_error("mem = 1G\nfrobnicate = 3\n", "conf/x.vmcfg:2: unknown key 'frobnicate' (see docs/config.md)");
    expect_error("# c\nengine = emu\n\nengine = raw\n", "conf/x.vmcfg:4: engine: set twice (first at line 2)");
    expect_error("stats = yes\nstats = no\n", "conf/x.vmcfg:2: stats: set twice (first at line 1)");
    expect_error("kernel demo.elf\n", "conf/x.vmcfg:1: expected 'key = value', got 'kernel ...'");
    expect_error("\n[vm]\n", "conf/x.vmcfg:2: expected 'key = value', got '[vm]'");
    expect_error("mem\n", "conf/x.vmcfg:1: expected 'key = value', got 'mem'");
    expect_error("= 5\n", "conf/x.vmcfg:1: missing key before '='");
    expect_error("mem =\n", "conf/x.vmcfg:1: mem: missing value");
    expect_error("mem =   # none\n", "conf/x.vmcfg:1: mem: missing value");
    expect_error("append = \"abc\n", "conf/x.vmcfg:1: append: missing closing quote");
    expect_error("append = \"abc\" def\n", "conf/x.vmcfg:1: append: text after the closing quote");
    expect_error("a\n", "conf/x.vmcfg:1: expected 'key = value', got 'a'");
    expect_error("reboot = maybe\n", "conf/x.vmcfg:1: reboot: 'maybe' is not yes or no");
    expect_error("Engine = emu\n", "conf/x.vmcfg:1: unknown key 'Engine' (see docs/config.md)");
}

Test(vm_config_file, nul_byte_is_an_error)
{
    static const char text[] = "mem = 1G\nengine = e\0mu\n";
    cr_assert_eq(vm_config_file_parse("bin.cfg", text, sizeof(text) - 1, &f, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "bin.cfg:2: NUL byte: not a text file");
}

Test(vm_config_file, too_many_modules)
{
    char text[2048] = "";
    for (int i = 0; i <= VMCF_MAX_MODULES; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "module = /m%d\n", i);
    expect_error(text, "conf/x.vmcfg:17: module: at most 16 modules");
}

Test(vm_config_file, load_reads_a_file_and_reports_io_errors)
{
    char path[] = "/tmp/rf_vmcfg_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "# a VM\nengine = emu\nkernel = k.elf\n";
    cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    cr_assert_eq(vm_config_file_load(path, &f, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(f.value[VMCF_ENGINE], "emu");
    cr_assert_str_eq(f.value[VMCF_KERNEL], "/tmp/k.elf", "beside the file, not the current folder");
    vm_config_file_free(&f);
    unlink(path);

    cr_assert_eq(vm_config_file_load("/nonexistent/vm.cfg", &f, err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "/nonexistent/vm.cfg: cannot read: No such file or directory");
    cr_assert_eq(vm_config_file_load("/tmp", &f, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/tmp: not a config file (not a regular file)");
}
