/*
 * helpers.c - shared helpers for the CUnit test binaries (see helpers.h).
 */
#include "tests/helpers.h"

#include <CUnit/Basic.h>
#include <ctype.h>
#include <stdio.h>

int sp_test_run(const char *suite, const struct sp_test_case *cases, size_t n)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite(suite, NULL, NULL);
    if (s == NULL) {
        CU_cleanup_registry();
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (CU_add_test(s, cases[i].name, cases[i].fn) == NULL) {
            CU_cleanup_registry();
            return 2;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long sp_test_hex(const char *hex, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    int hi = -1;

    for (const char *p = hex; *p != '\0'; p++) {
        int v;
        if (isspace((unsigned char)*p) || *p == ':')
            continue;
        v = hexval((unsigned char)*p);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return -1;
        buf[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}
