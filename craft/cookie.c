/*
 * cookie.c - SipHash-2-4 and the per-probe cookie (see cookie.h).
 *
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012) is written here from the paper's description: a 128-bit key, four
 * 64-bit state words, two compression rounds per 8-byte little-endian block,
 * a last block carrying the message length in its top byte, and four
 * finalisation rounds. It is a PRF for short inputs, which is exactly what a
 * probe cookie is; it is not a general-purpose MAC over long data.
 *
 * The key comes from getrandom(2), fresh for every run, so cookies of an
 * earlier run (or of another synprobe instance) never validate.
 */
#include "craft/cookie.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "engine/err.h"

static uint64_t rotl64(uint64_t x, unsigned n)
{
    return (x << n) | (x >> (64 - n));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* One SipRound over the state v[0..3]. */
static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl64(v[2], 32);
}

static void sip_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

uint64_t sp_siphash(const struct sp_cookie_key *key, const uint8_t *msg,
                    size_t len)
{
    /* Initialisation constants: "somepseudorandomlygeneratedbytes". */
    uint64_t v[4] = {
        key->k0 ^ UINT64_C(0x736f6d6570736575),
        key->k1 ^ UINT64_C(0x646f72616e646f6d),
        key->k0 ^ UINT64_C(0x6c7967656e657261),
        key->k1 ^ UINT64_C(0x7465646279746573),
    };
    size_t full = len - len % 8;
    uint64_t last;

    for (size_t off = 0; off < full; off += 8)
        sip_compress(v, load_le64(msg + off));

    /* Final block: the remaining 0-7 bytes, then len mod 256 in the top. */
    last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)msg[full + i] << (8 * i);
    sip_compress(v, last);

    v[2] ^= 0xff;
    for (unsigned i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int sp_cookie_key_init(struct sp_cookie_key *key)
{
    uint8_t raw[16];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SP_EIO;
        }
        got += (size_t)n;
    }
    /* The key bytes are read as SipHash reads its key: little-endian. */
    key->k0 = load_le64(raw);
    key->k1 = load_le64(raw + 8);
    memset(raw, 0, sizeof(raw));
    return 0;
}

/* Appends the address in a fixed 16-byte slot (unused bytes zero). */
static size_t put_addr(uint8_t *p, const struct sp_addr *a)
{
    size_t n = sp_addr_len(a);

    memset(p, 0, 16);
    if (n > 16)
        n = 16;
    memcpy(p, a->b, n);
    return 16;
}

uint64_t sp_cookie(const struct sp_cookie_key *key, const struct sp_addr *src,
                   const struct sp_addr *dst, uint16_t dport, uint8_t proto,
                   uint32_t nonce)
{
    /*
     * Fixed layout, so that no two different inputs pack to the same bytes:
     * src[16] dst[16] src family, dst family, dport(be16) proto
     * nonce(be32) = 41 bytes.
     */
    uint8_t m[41];
    size_t off = 0;

    off += put_addr(m + off, src);
    off += put_addr(m + off, dst);
    m[off++] = src->family;
    m[off++] = dst->family;
    m[off++] = (uint8_t)(dport >> 8);
    m[off++] = (uint8_t)dport;
    m[off++] = proto;
    m[off++] = (uint8_t)(nonce >> 24);
    m[off++] = (uint8_t)(nonce >> 16);
    m[off++] = (uint8_t)(nonce >> 8);
    m[off++] = (uint8_t)nonce;
    return sp_siphash(key, m, off);
}
