/*
 * addr.h - family-agnostic IP addresses.
 *
 * Every struct in synprobe that holds an address holds a struct sp_addr, so
 * IPv4 and IPv6 take the same code paths everywhere. An IPv4 address sits in
 * the first four bytes; the rest are zero so that memcmp-based comparison and
 * hashing work for both families.
 */
#ifndef SP_ENGINE_ADDR_H
#define SP_ENGINE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SP_ADDR_STRLEN = 46 }; /* INET6_ADDRSTRLEN */

struct sp_addr {
    uint8_t family; /* 4, 6, or 0 for "no address" */
    uint8_t b[16];  /* network byte order; IPv4 uses b[0..3] */
};

/* Sets a from 4 or 16 network-order bytes. */
void sp_addr_set4(struct sp_addr *a, const uint8_t b[4]);
void sp_addr_set6(struct sp_addr *a, const uint8_t b[16]);

/* Parses a numeric IPv4 or IPv6 address. Returns true on success. */
bool sp_addr_parse(const char *s, struct sp_addr *a);

/* Writes the address as inet_ntop does ("-" for no address); returns buf. */
const char *sp_addr_str(const struct sp_addr *a, char *buf, size_t len);

bool sp_addr_eq(const struct sp_addr *a, const struct sp_addr *b);
int sp_addr_cmp(const struct sp_addr *a, const struct sp_addr *b);

/* Length in bytes of the address (4, 16, or 0). */
size_t sp_addr_len(const struct sp_addr *a);

/* Mixes the address into a 64-bit hash state (FNV-1a style). */
uint64_t sp_addr_hash(const struct sp_addr *a, uint64_t h);

#endif
