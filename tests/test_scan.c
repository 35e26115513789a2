/*
 * test_scan.c - the scan's probing order and sharding: a keyed permutation
 * visits every pair exactly once, and shards split the space disjointly.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scan.h"
#include "engine/targets.h"
#include "tests/helpers.h"

static void check_perm(uint64_t n, uint64_t k0, uint64_t k1)
{
    struct sp_perm p;
    uint8_t *seen = calloc(n, 1);
    uint64_t dups = 0, fixed = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    sp_perm_init(&p, n, k0, k1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = sp_perm_at(&p, i);
        CU_ASSERT_FATAL(v < n);
        dups += seen[v];
        seen[v] = 1;
        fixed += v == i;
    }
    CU_ASSERT_EQUAL(dups, 0);
    /* an order that looks random keeps few points in place */
    if (n >= 1000)
        CU_ASSERT(fixed < n / 100);
    free(seen);
}

static void test_perm_is_a_bijection(void)
{
    static const uint64_t sizes[] = {1, 2, 3, 7, 256, 1000, 65537, 1000003};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_perm(sizes[i], 0x1234 + i, 0x9876 * i);
}

static void test_perm_depends_on_key(void)
{
    struct sp_perm a, b;
    unsigned same = 0;

    sp_perm_init(&a, 10000, 1, 2);
    sp_perm_init(&b, 10000, 3, 4);
    for (uint64_t i = 0; i < 10000; i++)
        same += sp_perm_at(&a, i) == sp_perm_at(&b, i);
    CU_ASSERT(same < 100);
    /* consecutive probes do not go to neighbouring pairs */
    {
        unsigned near = 0;
        for (uint64_t i = 1; i < 10000; i++) {
            uint64_t x = sp_perm_at(&a, i - 1), y = sp_perm_at(&a, i);
            near += (x > y ? x - y : y - x) <= 1;
        }
        CU_ASSERT(near < 50);
    }
}

static void test_shards_cover_once(void)
{
    enum { SHARDS = 5 };
    unsigned count[SHARDS] = {0};
    struct sp_addr a;

    for (unsigned host = 0; host < 256; host++) {
        uint8_t b[4] = {198, 18, 7, (uint8_t)host};
        sp_addr_set4(&a, b);
        for (uint16_t port = 1; port <= 40; port++) {
            unsigned s = sp_target_shard(&a, port, SHARDS);
            CU_ASSERT_FATAL(s < SHARDS);
            count[s]++;
            /* the same pair always lands in the same shard */
            CU_ASSERT_EQUAL(sp_target_shard(&a, port, SHARDS), s);
        }
    }
    for (unsigned s = 0; s < SHARDS; s++) /* 10240 / 5 = 2048 each */
        CU_ASSERT(count[s] > 1700 && count[s] < 2400);
    CU_ASSERT_EQUAL(sp_target_shard(&a, 80, 1), 0);
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"perm_is_a_bijection", test_perm_is_a_bijection},
        {"perm_depends_on_key", test_perm_depends_on_key},
        {"shards_cover_once", test_shards_cover_once},
    };
    return sp_test_run("scan", cases, sizeof(cases) / sizeof(cases[0]));
}
