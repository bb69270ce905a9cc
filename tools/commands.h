/* Subcommands of `ringfold` that live in their own files; each takes its argv from the
 * subcommand name on and returns the process exit status. */
#ifndef RINGFOLD_TOOLS_COMMANDS_H
#define RINGFOLD_TOOLS_COMMANDS_H

/* `ringfold probe`: what the host offers and which engine `auto` picks (tools/probe_cmd.c). */
int cmd_probe(int argc, char **argv);

#endif
