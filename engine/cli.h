/*
 * cli.h - the command line: options of DESIGN.md into a struct sp_config.
 *
 * Parsing only: no file is opened and no name is resolved here, so the
 * parser is testable without privileges or a network.
 */
#ifndef SP_ENGINE_CLI_H
#define SP_ENGINE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sp_err;

/* Exit statuses (DESIGN.md). */
enum {
    SP_EXIT_OK = 0,
    SP_EXIT_NOT_OPEN = 1,
    SP_EXIT_USAGE = 2,
    SP_EXIT_INPUT = 3,
    SP_EXIT_PERM = 4,
    SP_EXIT_SIGINT = 130,
    SP_EXIT_SIGTERM = 143,
};

enum { SP_MAX_PORT_RANGES = 256 };

struct sp_port_range {
    uint16_t lo, hi;
};

struct sp_config {
    const char *read_file;  /* -r */
    const char *write_file; /* -w */
    const char *iface;      /* -i */
    const char *src_addr;   /* -S */
    const char *exclude_file;
    const char *input_file; /* -I */
    const char *user;       /* --user (default "nobody") */
    struct sp_port_range ports[SP_MAX_PORT_RANGES];
    size_t nports; /* ranges */
    bool have_ports;
    bool trace, json, verbose, explain, force;
    int family; /* 0 any, 4, 6 */
    double wait_s;
    int retries;
    int max_hops;
    double rate;
    unsigned buffer_kib; /* -B: capture buffer, 0 for the default */
    unsigned shards, shard;
    char **args; /* positional words: targets live, filter words offline */
    int nargs;
    bool help, version;
};

/*
 * Parses argv into cfg. Returns 0, or SP_EINVAL with err holding one line
 * that says what is wrong (the caller prints it and exits with
 * SP_EXIT_USAGE). cfg->args points into argv.
 */
int sp_cli_parse(int argc, char **argv, struct sp_config *cfg,
                 struct sp_err *err);

/* Parses "22,80,443,8000-8100" into cfg->ports. */
int sp_cli_parse_ports(const char *s, struct sp_config *cfg,
                       struct sp_err *err);

/* True if port is among cfg's ranges (or no -p was given). */
bool sp_cli_port_selected(const struct sp_config *cfg, uint16_t port);

/* Number of ports in cfg's ranges. */
size_t sp_cli_port_count(const struct sp_config *cfg);

/* The n-th port of cfg's ranges (0 <= n < sp_cli_port_count). */
uint16_t sp_cli_port_at(const struct sp_config *cfg, size_t n);

/* Writes the --help text. */
void sp_cli_usage(FILE *f);

#endif
