/*
 * test_cli.c - command-line parsing and target words (no network: only
 * numeric addresses and prefixes are used here).
 */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <string.h>

#include "engine/cli.h"
#include "engine/err.h"
#include "engine/targets.h"
#include "tests/helpers.h"

static int parse(struct sp_config *cfg, struct sp_err *err, int n, ...)
{
    static char *argv[32];
    va_list ap;

    argv[0] = (char *)"synprobe";
    va_start(ap, n);
    for (int i = 0; i < n && i < 30; i++)
        argv[i + 1] = va_arg(ap, char *);
    va_end(ap);
    argv[n + 1] = NULL;
    return sp_cli_parse(n + 1, argv, cfg, err);
}

static void test_ports(void)
{
    struct sp_config cfg;
    struct sp_err err;

    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(sp_cli_parse_ports("22,80,443,8000-8100", &cfg, &err), 0);
    CU_ASSERT_EQUAL(sp_cli_port_count(&cfg), 104);
    CU_ASSERT_EQUAL(sp_cli_port_at(&cfg, 0), 22);
    CU_ASSERT_EQUAL(sp_cli_port_at(&cfg, 3), 8000);
    CU_ASSERT_EQUAL(sp_cli_port_at(&cfg, 103), 8100);
    CU_ASSERT_TRUE(sp_cli_port_selected(&cfg, 8050));
    CU_ASSERT_FALSE(sp_cli_port_selected(&cfg, 81));
    static const char *const bad[] = {"0",   "65536", "80-22", "a",    "",
                                      "80,", "-5",    "1-",    "80 81"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&cfg, 0, sizeof(cfg));
        CU_ASSERT_EQUAL(sp_cli_parse_ports(bad[i], &cfg, &err), SP_EINVAL);
    }
}

static void test_defaults_and_options(void)
{
    struct sp_config cfg;
    struct sp_err err;

    CU_ASSERT_EQUAL(
        parse(&cfg, &err, 6, "--trace", "-p", "443", "h", "-w", "x.pcap"), 0);
    CU_ASSERT_TRUE(cfg.trace);
    CU_ASSERT_STRING_EQUAL(cfg.write_file, "x.pcap");
    CU_ASSERT_EQUAL(cfg.nargs, 1);
    CU_ASSERT_STRING_EQUAL(cfg.args[0], "h");
    CU_ASSERT_DOUBLE_EQUAL(cfg.wait_s, 3.0, 1e-9);
    CU_ASSERT_EQUAL(cfg.retries, 2);
    CU_ASSERT_EQUAL(cfg.max_hops, 30);
    CU_ASSERT_STRING_EQUAL(cfg.user, "nobody");

    CU_ASSERT_EQUAL(
        parse(&cfg, &err, 6, "-r", "f.pcap", "--json", "tcp", "port", "443"),
        0);
    CU_ASSERT_TRUE(cfg.json);
    CU_ASSERT_EQUAL(cfg.nargs, 3);
}

static void test_usage_errors(void)
{
    struct sp_config cfg;
    struct sp_err err;

    CU_ASSERT_EQUAL(parse(&cfg, &err, 1, "198.18.4.100"), SP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "-p"));
    CU_ASSERT_EQUAL(parse(&cfg, &err, 2, "-p", "80"), SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 3, "--bogus", "-p", "80"), SP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--bogus"));
    CU_ASSERT_EQUAL(parse(&cfg, &err, 4, "--wait", "x", "-p", "80"), SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 4, "--wait", "-1", "-r", "f"), SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 4, "--max-hops", "0", "-r", "f"),
                    SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 4, "--rate", "0", "-r", "f"), SP_EINVAL);
    CU_ASSERT_EQUAL(
        parse(&cfg, &err, 6, "--shards", "2", "--shard", "2", "-r", "f"),
        SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 3, "-r", "f", "--trace"), SP_EINVAL);
    CU_ASSERT_EQUAL(parse(&cfg, &err, 1, "-p"), SP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs a value"));
}

static void test_targets_prefix(void)
{
    struct sp_target_list l;
    struct sp_err err;
    char b[SP_ADDR_STRLEN];

    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(sp_targets_add(&l, "198.18.7.0/29", 0, false, &err), 0);
    /* network and broadcast skipped */
    CU_ASSERT_EQUAL(l.n, 6);
    CU_ASSERT_STRING_EQUAL(sp_addr_str(&l.v[0].addr, b, sizeof(b)),
                           "198.18.7.1");
    CU_ASSERT_STRING_EQUAL(sp_addr_str(&l.v[5].addr, b, sizeof(b)),
                           "198.18.7.6");
    CU_ASSERT_EQUAL(sp_targets_add(&l, "fd53:7970:4::/126", 0, false, &err), 0);
    CU_ASSERT_EQUAL(l.n, 10);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "198.18.7.9/32", 4, false, &err), 0);
    CU_ASSERT_EQUAL(l.n, 11);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "198.18.7.9/33", 0, false, &err),
                    SP_EINVAL);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "10.0.0.0/8", 0, false, &err),
                    SP_EINVAL); /* too large */
    CU_ASSERT_EQUAL(sp_targets_add(&l, "198.18.7.9", 6, false, &err),
                    SP_EINVAL); /* -6 with an IPv4 address */
    sp_targets_free(&l);
}

static void test_targets_refused_without_force(void)
{
    struct sp_target_list l;
    struct sp_err err;

    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(sp_targets_add(&l, "224.0.0.1", 0, false, &err), SP_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--force"));
    CU_ASSERT_EQUAL(sp_targets_add(&l, "255.255.255.255", 0, false, &err),
                    SP_EINVAL);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "ff02::1", 0, false, &err), SP_EINVAL);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "0.0.0.0", 0, false, &err), SP_EINVAL);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "224.0.0.0/28", 0, false, &err),
                    SP_EINVAL); /* multicast inside a prefix, too */
    CU_ASSERT_EQUAL(sp_targets_add(&l, "ff02::/120", 0, false, &err),
                    SP_EINVAL);
    CU_ASSERT_EQUAL(l.n, 0);
    CU_ASSERT_EQUAL(sp_targets_add(&l, "224.0.0.1", 0, true, &err), 0);
    CU_ASSERT_EQUAL(l.n, 1);
    sp_targets_free(&l);
}

static void test_prefix_match(void)
{
    struct sp_addr a, p;

    sp_addr_parse("198.18.4.100", &a);
    sp_addr_parse("198.18.4.0", &p);
    CU_ASSERT_TRUE(sp_addr_in_prefix(&a, &p, 24));
    CU_ASSERT_TRUE(sp_addr_in_prefix(&a, &p, 25));
    CU_ASSERT_FALSE(sp_addr_in_prefix(&a, &p, 26));
    sp_addr_parse("fd53:7970:4::100", &a);
    CU_ASSERT_FALSE(sp_addr_in_prefix(&a, &p, 0)); /* other family */
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"ports", test_ports},
        {"defaults_and_options", test_defaults_and_options},
        {"usage_errors", test_usage_errors},
        {"targets_prefix", test_targets_prefix},
        {"targets_refused_without_force", test_targets_refused_without_force},
        {"prefix_match", test_prefix_match},
    };
    return sp_test_run("cli", cases, sizeof(cases) / sizeof(cases[0]));
}
