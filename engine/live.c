/* live.c - placeholder until live probing lands (issue 4). */
#include <stdio.h>

#include "engine/cli.h"
#include "engine/run.h"

int sp_run_live(const struct sp_config *cfg)
{
    (void)cfg;
    fprintf(stderr, "synprobe: live probing is not built yet\n");
    return SP_EXIT_USAGE;
}
