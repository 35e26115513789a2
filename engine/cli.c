/*
 * cli.c - command-line parsing (see cli.h).
 */
#include "engine/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/err.h"

enum {
    OPT_TRACE = 256,
    OPT_JSON,
    OPT_EXPLAIN,
    OPT_WAIT,
    OPT_RETRIES,
    OPT_MAX_HOPS,
    OPT_RATE,
    OPT_EXCLUDE,
    OPT_SHARDS,
    OPT_SHARD,
    OPT_USER,
    OPT_FORCE,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"trace", no_argument, NULL, OPT_TRACE},
    {"json", no_argument, NULL, OPT_JSON},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"verbose", no_argument, NULL, 'v'},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"max-hops", required_argument, NULL, OPT_MAX_HOPS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"shards", required_argument, NULL, OPT_SHARDS},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"user", required_argument, NULL, OPT_USER},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"ports", required_argument, NULL, 'p'},
    {"read", required_argument, NULL, 'r'},
    {"write", required_argument, NULL, 'w'},
    {"interface", required_argument, NULL, 'i'},
    {"source", required_argument, NULL, 'S'},
    {"input", required_argument, NULL, 'I'},
    {"buffer-size", required_argument, NULL, 'B'},
    {NULL, 0, NULL, 0},
};

void sp_cli_usage(FILE *f)
{
    fputs("usage: synprobe -p PORTS [options] TARGET...       probe live "
          "(root)\n"
          "       synprobe -r FILE [options] [FILTER...]        analyse a "
          "capture\n"
          "\n"
          "Tells whether a TCP port is open, closed, rejected, filtered or\n"
          "unreachable, from the packets themselves, and at which hop.\n"
          "\n"
          "  -p PORTS        ports to probe: 22,80,443,8000-8100 (live: "
          "required;\n"
          "                  offline: narrows the report)\n"
          "  --trace         hop by hop: TTL-limited SYNs and echoes, in "
          "parallel\n"
          "  -r FILE         read a .pcap/.pcapng file (no root needed); the "
          "words\n"
          "                  after it form a tcpdump filter selecting attempts "
          "by SYN\n"
          "  -w FILE         write every probe and reply to a pcap file\n"
          "  --json          JSON Lines (type: attempt, target, summary)\n"
          "  -v              verbose: also every attempt (offline)\n"
          "  --explain       what the verdict means, likely causes, next "
          "step\n"
          "  -i IFACE        interface to send and capture on\n"
          "  -S SRCADDR      source address (default: by route lookup)\n"
          "  -B KIB          capture buffer in KiB (default 32768)\n"
          "  --wait SEC      silence this long means filtered (default 3)\n"
          "  --retries N     new SYNs after silence (default 2)\n"
          "  --max-hops N    trace depth (default 30)\n"
          "  --rate PPS      probes per second (default 100)\n"
          "  --exclude FILE  addresses and prefixes never to probe\n"
          "  -I FILE         read targets from a file, one per line\n"
          "  --shards N --shard I  probe the I-th of N disjoint parts (I from "
          "0)\n"
          "  --user NAME     drop root to this user after opening sockets "
          "(nobody)\n"
          "  --force         probe network, broadcast and multicast "
          "addresses too\n"
          "  -4, -6          IPv4 or IPv6 only\n"
          "  --help, --version\n"
          "\n"
          "Verdicts: open, closed, rejected, filtered, unreachable, unknown.\n"
          "Exit status: 0 every target open (offline: also no attempt), 1 some "
          "target\n"
          "not open or unknown, 2 usage error, 3 input error (unreadable "
          "file,\n"
          "unknown host), 4 not permitted (needs root or CAP_NET_RAW), 130 "
          "after\n"
          "SIGINT, 143 after SIGTERM.\n"
          "\n"
          "examples:\n"
          "  sudo synprobe -p 443 db.example.com\n"
          "  sudo synprobe --trace -p 443 198.18.4.100 -w evidence.pcap\n"
          "  synprobe -r capture.pcap --json tcp port 443\n",
          f);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

int sp_cli_parse_ports(const char *s, struct sp_config *cfg, struct sp_err *err)
{
    char buf[4096];
    char *save = NULL;

    size_t n = strlen(s);

    /* strtok would skip empty items: "80,,81" and "80," are typos */
    if (n >= sizeof(buf) || n == 0 || s[0] == ',' || s[n - 1] == ',' ||
        strstr(s, ",,") != NULL)
        return sp_err_set(err, SP_EINVAL, "bad port list '%s'", s);
    strcpy(buf, s);
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long lo, hi;
        char *dash = strchr(tok, '-');
        if (dash != NULL) {
            *dash = '\0';
            if (!parse_uint(tok, 65535, &lo) ||
                !parse_uint(dash + 1, 65535, &hi))
                return sp_err_set(err, SP_EINVAL, "bad port range in '%s'", s);
        } else {
            if (!parse_uint(tok, 65535, &lo))
                return sp_err_set(err, SP_EINVAL, "bad port '%s' in '%s'", tok,
                                  s);
            hi = lo;
        }
        if (lo == 0 || lo > hi)
            return sp_err_set(err, SP_EINVAL,
                              "bad port range in '%s' (ports are 1-65535)", s);
        if (cfg->nports >= SP_MAX_PORT_RANGES)
            return sp_err_set(err, SP_EINVAL, "too many port ranges");
        cfg->ports[cfg->nports].lo = (uint16_t)lo;
        cfg->ports[cfg->nports].hi = (uint16_t)hi;
        cfg->nports++;
    }
    if (cfg->nports == 0)
        return sp_err_set(err, SP_EINVAL, "bad port list '%s'", s);
    cfg->have_ports = true;
    return 0;
}

bool sp_cli_port_selected(const struct sp_config *cfg, uint16_t port)
{
    if (!cfg->have_ports)
        return true;
    for (size_t i = 0; i < cfg->nports; i++)
        if (port >= cfg->ports[i].lo && port <= cfg->ports[i].hi)
            return true;
    return false;
}

size_t sp_cli_port_count(const struct sp_config *cfg)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->nports; i++)
        n += (size_t)(cfg->ports[i].hi - cfg->ports[i].lo) + 1;
    return n;
}

uint16_t sp_cli_port_at(const struct sp_config *cfg, size_t n)
{
    for (size_t i = 0; i < cfg->nports; i++) {
        size_t w = (size_t)(cfg->ports[i].hi - cfg->ports[i].lo) + 1;
        if (n < w)
            return (uint16_t)(cfg->ports[i].lo + n);
        n -= w;
    }
    return 0;
}

static int bad_number(struct sp_err *err, const char *opt, const char *v,
                      const char *what)
{
    return sp_err_set(err, SP_EINVAL, "%s: bad value '%s' (%s)", opt, v, what);
}

int sp_cli_parse(int argc, char **argv, struct sp_config *cfg,
                 struct sp_err *err)
{
    int c;
    unsigned long u;
    bool have_shard = false, have_shards = false;

    memset(cfg, 0, sizeof(*cfg));
    cfg->wait_s = 3.0;
    cfg->retries = 2;
    cfg->max_hops = 30;
    cfg->rate = 100.0;
    cfg->shards = 1;
    cfg->user = "nobody";
    opterr = 0;
    optind = 1;
    /* Options may follow targets (synprobe --trace -p 443 host -w f.pcap);
     * a leading ':' reports a missing value as ':'. */
    while ((c = getopt_long(argc, argv, ":p:r:w:i:S:I:B:v46", long_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'p':
            if (sp_cli_parse_ports(optarg, cfg, err) != 0)
                return SP_EINVAL;
            break;
        case 'r':
            cfg->read_file = optarg;
            break;
        case 'w':
            cfg->write_file = optarg;
            break;
        case 'i':
            cfg->iface = optarg;
            break;
        case 'S':
            cfg->src_addr = optarg;
            break;
        case 'I':
            cfg->input_file = optarg;
            break;
        case 'v':
            cfg->verbose = true;
            break;
        case 'B':
            if (!parse_uint(optarg, 1024 * 1024, &u) || u < 64)
                return bad_number(err, "-B", optarg,
                                  "capture buffer in KiB, 64 or more");
            cfg->buffer_kib = (unsigned)u;
            break;
        case '4':
            cfg->family = 4;
            break;
        case '6':
            cfg->family = 6;
            break;
        case OPT_TRACE:
            cfg->trace = true;
            break;
        case OPT_JSON:
            cfg->json = true;
            break;
        case OPT_EXPLAIN:
            cfg->explain = true;
            break;
        case OPT_FORCE:
            cfg->force = true;
            break;
        case OPT_HELP:
            cfg->help = true;
            return 0;
        case OPT_VERSION:
            cfg->version = true;
            return 0;
        case OPT_USER:
            cfg->user = optarg;
            break;
        case OPT_EXCLUDE:
            cfg->exclude_file = optarg;
            break;
        case OPT_WAIT: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !isfinite(v) || v < 0 ||
                v > 3600)
                return bad_number(err, "--wait", optarg,
                                  "seconds from 0 to 3600");
            cfg->wait_s = v;
            break;
        }
        case OPT_RATE: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !isfinite(v) || v <= 0 ||
                v > 100e6)
                return bad_number(err, "--rate", optarg,
                                  "packets per second above 0");
            cfg->rate = v;
            break;
        }
        case OPT_RETRIES:
            if (!parse_uint(optarg, 20, &u))
                return bad_number(err, "--retries", optarg, "0 to 20");
            cfg->retries = (int)u;
            break;
        case OPT_MAX_HOPS:
            if (!parse_uint(optarg, 32, &u) || u == 0)
                return bad_number(err, "--max-hops", optarg, "1 to 32");
            cfg->max_hops = (int)u;
            break;
        case OPT_SHARDS:
            if (!parse_uint(optarg, 1u << 20, &u) || u == 0)
                return bad_number(err, "--shards", optarg, "1 or more");
            cfg->shards = (unsigned)u;
            have_shards = true;
            break;
        case OPT_SHARD:
            if (!parse_uint(optarg, 1u << 20, &u))
                return bad_number(err, "--shard", optarg, "0 to N-1");
            cfg->shard = (unsigned)u;
            have_shard = true;
            break;
        case ':':
            return sp_err_set(err, SP_EINVAL, "option %s needs a value",
                              argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < 256)
                return sp_err_set(err, SP_EINVAL, "unknown option -%c", optopt);
            return sp_err_set(err, SP_EINVAL, "unknown option %s",
                              argv[optind - 1]);
        }
    }
    cfg->args = argv + optind;
    cfg->nargs = argc - optind;
    if (have_shard != have_shards && have_shard)
        return sp_err_set(err, SP_EINVAL, "--shard needs --shards");
    if (cfg->shard >= cfg->shards)
        return sp_err_set(err, SP_EINVAL,
                          "--shard %u: must be below --shards %u", cfg->shard,
                          cfg->shards);
    if (cfg->read_file == NULL) {
        if (!cfg->have_ports)
            return sp_err_set(err, SP_EINVAL,
                              "live probing needs -p PORTS, e.g. synprobe "
                              "-p 443 198.18.4.100");
        if (cfg->nargs == 0 && cfg->input_file == NULL)
            return sp_err_set(err, SP_EINVAL,
                              "no target given, e.g. synprobe -p 443 "
                              "198.18.4.100");
    } else if (cfg->trace) {
        return sp_err_set(err, SP_EINVAL,
                          "--trace probes live; with -r the traces in the "
                          "capture are used");
    }
    return 0;
}
