/*
 * test_verdict.c - the verdict/reason tables agree with DESIGN.md.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "engine/verdict.h"
#include "tests/helpers.h"

static void test_unreach_v4_codes(void)
{
    static const struct {
        uint8_t code;
        enum sp_reason r;
    } t[] = {
        {0, SP_REASON_ICMP_NET_UNREACHABLE},
        {1, SP_REASON_ICMP_HOST_UNREACHABLE},
        {2, SP_REASON_ICMP_PROTO_UNREACHABLE},
        {3, SP_REASON_ICMP_PORT_UNREACHABLE},
        {4, SP_REASON_ICMP_UNREACHABLE_OTHER},
        {5, SP_REASON_ICMP_HOST_UNREACHABLE},
        {6, SP_REASON_ICMP_NET_UNREACHABLE},
        {7, SP_REASON_ICMP_HOST_UNREACHABLE},
        {8, SP_REASON_ICMP_UNREACHABLE_OTHER},
        {9, SP_REASON_ICMP_ADMIN_PROHIBITED},
        {10, SP_REASON_ICMP_ADMIN_PROHIBITED},
        {11, SP_REASON_ICMP_NET_UNREACHABLE},
        {12, SP_REASON_ICMP_HOST_UNREACHABLE},
        {13, SP_REASON_ICMP_ADMIN_PROHIBITED},
        {14, SP_REASON_ICMP_UNREACHABLE_OTHER},
        {15, SP_REASON_ICMP_UNREACHABLE_OTHER},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        CU_ASSERT_EQUAL(sp_reason_from_unreach(4, t[i].code), t[i].r);
}

static void test_unreach_v6_codes(void)
{
    CU_ASSERT_EQUAL(sp_reason_from_unreach(6, 0),
                    SP_REASON_ICMP_NET_UNREACHABLE);
    CU_ASSERT_EQUAL(sp_reason_from_unreach(6, 1),
                    SP_REASON_ICMP_ADMIN_PROHIBITED);
    CU_ASSERT_EQUAL(sp_reason_from_unreach(6, 3),
                    SP_REASON_ICMP_HOST_UNREACHABLE);
    CU_ASSERT_EQUAL(sp_reason_from_unreach(6, 4),
                    SP_REASON_ICMP_PORT_UNREACHABLE);
    for (uint8_t c = 5; c < 8; c++)
        CU_ASSERT_EQUAL(sp_reason_from_unreach(6, c),
                        SP_REASON_ICMP_UNREACHABLE_OTHER);
    CU_ASSERT_EQUAL(sp_reason_from_unreach(6, 2),
                    SP_REASON_ICMP_UNREACHABLE_OTHER);
}

static void test_errno_names(void)
{
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(SP_REASON_RST, 4), "ECONNREFUSED");
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(SP_REASON_ICMP_ADMIN_PROHIBITED, 4),
                           "EHOSTUNREACH");
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(SP_REASON_ICMP_ADMIN_PROHIBITED, 6),
                           "EACCES");
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(SP_REASON_NO_RESPONSE, 4),
                           "ETIMEDOUT");
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(SP_REASON_NO_ROUTE, 6),
                           "ENETUNREACH");
    CU_ASSERT_PTR_NULL(sp_reason_errno(SP_REASON_SYN_ACK, 4));
    CU_ASSERT_PTR_NULL(sp_reason_errno(SP_REASON_CAPTURE_ENDED, 4));
}

static void test_reason_verdicts(void)
{
    CU_ASSERT_EQUAL(sp_reason_verdict(SP_REASON_MIDDLEBOX_RST),
                    SP_VERDICT_REJECTED);
    CU_ASSERT_EQUAL(sp_reason_verdict(SP_REASON_MIDDLEBOX_SYN_ACK),
                    SP_VERDICT_OPEN);
    CU_ASSERT_EQUAL(sp_reason_verdict(SP_REASON_CAPTURE_DROPS),
                    SP_VERDICT_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(sp_verdict_name(SP_VERDICT_UNREACHABLE),
                           "unreachable");
    CU_ASSERT_STRING_EQUAL(sp_reason_name(SP_REASON_ICMP_UNREACHABLE_OTHER),
                           "icmp-unreachable-other");
    CU_ASSERT_TRUE(sp_reason_is_active(SP_REASON_ICMP_NET_UNREACHABLE));
    CU_ASSERT_FALSE(sp_reason_is_active(SP_REASON_NO_RESPONSE));
    /* every reason has a distinct name */
    for (int a = 0; a < SP_REASON_COUNT; a++)
        for (int b = a + 1; b < SP_REASON_COUNT; b++)
            CU_ASSERT_NOT_EQUAL(strcmp(sp_reason_name((enum sp_reason)a),
                                       sp_reason_name((enum sp_reason)b)),
                                0);
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"unreach_v4_codes", test_unreach_v4_codes},
        {"unreach_v6_codes", test_unreach_v6_codes},
        {"errno_names", test_errno_names},
        {"reason_verdicts", test_reason_verdicts},
    };
    return sp_test_run("verdict", cases, sizeof(cases) / sizeof(cases[0]));
}
