/*
 * err.h - error codes and the error-detail struct.
 *
 * Functions that can fail return 0 or a negative SP_E* code; where detail
 * helps, the caller passes a struct sp_err that the failing function fills
 * with one line of text. Library code never prints what it returns.
 */
#ifndef SP_ENGINE_ERR_H
#define SP_ENGINE_ERR_H

enum {
    SP_OK = 0,
    SP_ENOMEM = -1,
    SP_EINVAL = -2,   /* bad argument or input */
    SP_EIO = -3,      /* a file or socket failed */
    SP_EPERM = -4,    /* not permitted (root or CAP_NET_RAW needed) */
    SP_ENOTSUP = -5,  /* unsupported (a link type, a family) */
    SP_ENOENT = -6,   /* not found (file, host, interface) */
    SP_EFORMAT = -7,  /* not a capture file, or a broken one */
    SP_ENOROUTE = -8, /* no route to the destination */
};

struct sp_err {
    int code;
    char msg[256];
};

/* Fills err (if not NULL) with code and a printf-style message; returns code.
 */
int sp_err_set(struct sp_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short text for a code. */
const char *sp_strerror(int code);

#endif
