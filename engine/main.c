/*
 * main.c - synprobe's entry point: parse, dispatch, exit status.
 *
 * The only place that turns an error into a message and an exit status.
 */
#include <stdio.h>
#include <string.h>

#include "engine/cli.h"
#include "engine/err.h"
#include "engine/run.h"

int main(int argc, char **argv)
{
    struct sp_config cfg;
    struct sp_err err = {0};

    if (sp_cli_parse(argc, argv, &cfg, &err) != 0) {
        fprintf(stderr, "synprobe: %s (see synprobe --help)\n", err.msg);
        return SP_EXIT_USAGE;
    }
    if (cfg.help) {
        sp_cli_usage(stdout);
        return SP_EXIT_OK;
    }
    if (cfg.version) {
        printf("synprobe %s\n", SYNPROBE_VERSION);
        return SP_EXIT_OK;
    }
    sp_run_signals();
    if (cfg.read_file != NULL)
        return sp_run_offline(&cfg);
    return sp_run_live(&cfg);
}
