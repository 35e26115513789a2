/*
 * cursor.h - bounds-checked reads from a byte buffer.
 *
 * The decoder reads every packet byte through a struct sp_cur. Each reader
 * checks that the bytes are there first; if they are not it returns false
 * and changes neither the cursor nor its output. Multi-byte values are put
 * together from single bytes, so nothing depends on alignment or on the
 * host's byte order.
 *
 * Invariant: off <= len. Nothing here reads buf[len] or beyond.
 */
#ifndef SP_CAPTURE_CURSOR_H
#define SP_CAPTURE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sp_cur {
    const uint8_t *buf;
    size_t len; /* bytes readable from buf */
    size_t off; /* next byte to read */
};

/* Points c at len bytes of buf (a NULL buf is read as empty). */
static inline void sp_cur_init(struct sp_cur *c, const uint8_t *buf, size_t len)
{
    c->buf = buf;
    c->len = buf != NULL ? len : 0;
    c->off = 0;
}

/* Bytes left to read. */
static inline size_t sp_cur_left(const struct sp_cur *c)
{
    return c->len - c->off;
}

/* True if at least n bytes are left. */
static inline bool sp_cur_has(const struct sp_cur *c, size_t n)
{
    return n <= sp_cur_left(c);
}

static inline bool sp_cur_u8(struct sp_cur *c, uint8_t *v)
{
    if (!sp_cur_has(c, 1))
        return false;
    *v = c->buf[c->off];
    c->off += 1;
    return true;
}

/* Reads the next byte without moving the cursor. */
static inline bool sp_cur_peek_u8(const struct sp_cur *c, uint8_t *v)
{
    if (!sp_cur_has(c, 1))
        return false;
    *v = c->buf[c->off];
    return true;
}

static inline bool sp_cur_be16(struct sp_cur *c, uint16_t *v)
{
    const uint8_t *p;

    if (!sp_cur_has(c, 2))
        return false;
    p = c->buf + c->off;
    *v = (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
    c->off += 2;
    return true;
}

static inline bool sp_cur_be32(struct sp_cur *c, uint32_t *v)
{
    const uint8_t *p;

    if (!sp_cur_has(c, 4))
        return false;
    p = c->buf + c->off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
    c->off += 4;
    return true;
}

static inline bool sp_cur_le32(struct sp_cur *c, uint32_t *v)
{
    const uint8_t *p;

    if (!sp_cur_has(c, 4))
        return false;
    p = c->buf + c->off;
    *v = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 |
         (uint32_t)p[0];
    c->off += 4;
    return true;
}

/* Copies the next n bytes to dst. */
static inline bool sp_cur_bytes(struct sp_cur *c, void *dst, size_t n)
{
    if (!sp_cur_has(c, n))
        return false;
    if (n > 0)
        memcpy(dst, c->buf + c->off, n);
    c->off += n;
    return true;
}

static inline bool sp_cur_skip(struct sp_cur *c, size_t n)
{
    if (!sp_cur_has(c, n))
        return false;
    c->off += n;
    return true;
}

/*
 * Makes sub a cursor over the next n bytes of c, clamped to what c has
 * left, starting at sub->off = 0. c itself does not move. Returns true if
 * all n bytes were there, false if sub had to be cut short.
 */
static inline bool sp_cur_sub(const struct sp_cur *c, size_t n,
                              struct sp_cur *sub)
{
    size_t left = sp_cur_left(c);
    bool whole = n <= left;

    sub->buf = c->buf != NULL ? c->buf + c->off : NULL;
    sub->len = whole ? n : left;
    sub->off = 0;
    return whole;
}

#endif
