/*
 * cookie.h - keyed probe identities.
 *
 * Each probe's source port, ISN, IP ID and ICMP id/seq are derived from a
 * keyed pseudo-random function (SipHash-2-4) of the probe's destination,
 * port and number, with a fresh random key per run (getrandom). A reply must
 * echo these values to be accepted, so a blind spoofer or a stale earlier run
 * cannot forge an answer, and at scale the cookie alone validates a reply.
 */
#ifndef SP_CRAFT_COOKIE_H
#define SP_CRAFT_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"

struct sp_cookie_key {
    uint64_t k0, k1;
};

/* Fills key from getrandom(). Returns 0 or SP_EIO. */
int sp_cookie_key_init(struct sp_cookie_key *key);

/* SipHash-2-4 of msg under key. */
uint64_t sp_siphash(const struct sp_cookie_key *key, const uint8_t *msg,
                    size_t len);

/*
 * The 64-bit cookie of a probe: a PRF of (src, dst, dport, proto, nonce)
 * where nonce is the probe's number within the run (attempt and TTL folded
 * in by the caller). Callers slice it into sport / seq / ip_id.
 */
uint64_t sp_cookie(const struct sp_cookie_key *key, const struct sp_addr *src,
                   const struct sp_addr *dst, uint16_t dport, uint8_t proto,
                   uint32_t nonce);

#endif
