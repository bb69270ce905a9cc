/* `ringfold probe` (placeholder until the KVM probe lands, issue 5): each engine's own probe. */
#include <stdio.h>
#include "ringfold/engine.h"
#include "commands.h"

int cmd_probe(int argc, char **argv)
{
    (void)argc; (void)argv;
    for (int i = 0; engine_table[i]; i++) {
        struct rf_err why = { { 0 } };
        int ok = engine_table[i]->probe(&why) == 0 && engine_table[i]->create;
        printf("%-4s %s%s%s\n", engine_table[i]->name, ok ? "yes" : "no",
               ok ? "" : ": ", ok ? "" : why.msg);
    }
    return 0;
}
