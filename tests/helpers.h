/*
 * helpers.h - shared helpers for the CUnit test binaries.
 */
#ifndef SP_TESTS_HELPERS_H
#define SP_TESTS_HELPERS_H

#include <stddef.h>
#include <stdint.h>

struct sp_test_case {
    const char *name;
    void (*fn)(void);
};

/*
 * Registers the cases in one suite named `suite`, runs them with the basic
 * runner in verbose mode, and returns the process exit status: 0 only if
 * registration worked and no test or assertion failed (CUnit itself does not
 * set the exit status).
 */
int sp_test_run(const char *suite, const struct sp_test_case *cases, size_t n);

/*
 * Parses a hex string (spaces, newlines and ':' ignored) into buf. Returns
 * the number of bytes, or -1 if the string is not even-length hex or does
 * not fit.
 */
long sp_test_hex(const char *hex, uint8_t *buf, size_t cap);

#endif
