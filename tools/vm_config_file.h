/* VM config files (`ringfold run --config FILE`): `key = value` lines parsed into strings and
 * flags. Pure: no I/O but vm_config_file_load's read, no validation of values beyond the file's
 * own syntax (booleans); the CLI checks every value with the same code as its options. */
#ifndef RINGFOLD_TOOLS_VM_CONFIG_FILE_H
#define RINGFOLD_TOOLS_VM_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* The keys mirror `ringfold run`'s long options (docs/config.md). */
enum vmcf_key {
    VMCF_ENGINE,
    VMCF_FORCE_ENGINE,     /* boolean */
    VMCF_CPU,
    VMCF_MEM,
    VMCF_KERNEL,           /* a path relative to the file's folder, or linux / linux-pae */
    VMCF_MODULE,           /* repeatable: "module" and "initrd" both land here */
    VMCF_APPEND,
    VMCF_SERIAL,
    VMCF_TIMEOUT,
    VMCF_DETERMINISTIC,    /* boolean */
    VMCF_REBOOT,           /* boolean */
    VMCF_STATS,            /* boolean */
    VMCF_TRACE,
    VMCF_TRACE_FILE,
    VMCF_NKEYS
};

/* As many modules as the loader takes (core/loader.h LOADER_MAX_MODULES); more is an error. */
#define VMCF_MAX_MODULES 16

/* The largest file vm_config_file_load reads: a config is a dozen lines, so anything bigger is
 * the wrong file. */
#define VMCF_MAX_FILE_SIZE (64u << 10)

struct vm_config_file {
    char *value[VMCF_NKEYS];  /* NULL: not in the file; for VMCF_MODULE unused (see modules) */
    bool flag[VMCF_NKEYS];    /* boolean keys: the value, where value[] is set ("yes"/"no") */
    int line[VMCF_NKEYS];     /* where each key was set, for messages; 0: not set */
    char *modules[VMCF_MAX_MODULES];   /* "path[ args]", path already resolved */
    int module_line[VMCF_MAX_MODULES];
    int nmodules;
    char *path;               /* the file's name as given, for messages */
};

/* The key's name as written in a file ("force-engine", "module"...). */
const char *vm_config_file_key_name(enum vmcf_key key);

/* Parses len bytes of text read from path (which names it in messages and gives the folder
 * relative kernel, initrd and module paths are resolved against). Returns 0, or -EINVAL with
 * one line "PATH:LINE: problem" in err (or -ENOMEM); *out is then empty. */
int vm_config_file_parse(const char *path, const char *text, size_t len,
                         struct vm_config_file *out, char *err, size_t errlen);

/* Reads the file at path and parses it; -errno with "PATH: why" in err when it cannot be read. */
int vm_config_file_load(const char *path, struct vm_config_file *out, char *err, size_t errlen);

void vm_config_file_free(struct vm_config_file *f);

#endif
