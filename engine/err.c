/*
 * err.c - error codes and detail messages (see err.h).
 */
#include "engine/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sp_err_set(struct sp_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* libnet and libpcap messages often end in a newline: one line only. */
    n = strlen(err->msg);
    while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == '\r'))
        err->msg[--n] = '\0';
    return code;
}

const char *sp_strerror(int code)
{
    switch (code) {
    case SP_OK:
        return "success";
    case SP_ENOMEM:
        return "out of memory";
    case SP_EINVAL:
        return "invalid argument";
    case SP_EIO:
        return "input/output error";
    case SP_EPERM:
        return "operation not permitted";
    case SP_ENOTSUP:
        return "not supported";
    case SP_ENOENT:
        return "not found";
    case SP_EFORMAT:
        return "bad file format";
    case SP_ENOROUTE:
        return "no route to host";
    default:
        return "unknown error";
    }
}
