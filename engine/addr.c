/*
 * addr.c - family-agnostic IP address helpers (see addr.h).
 */
#include "engine/addr.h"

#include <arpa/inet.h>
#include <string.h>

void sp_addr_set4(struct sp_addr *a, const uint8_t b[4])
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    memcpy(a->b, b, 4);
}

void sp_addr_set6(struct sp_addr *a, const uint8_t b[16])
{
    memset(a, 0, sizeof(*a));
    a->family = 6;
    memcpy(a->b, b, 16);
}

bool sp_addr_parse(const char *s, struct sp_addr *a)
{
    uint8_t b[16];

    if (s == NULL)
        return false;
    if (inet_pton(AF_INET, s, b) == 1) {
        sp_addr_set4(a, b);
        return true;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        sp_addr_set6(a, b);
        return true;
    }
    return false;
}

const char *sp_addr_str(const struct sp_addr *a, char *buf, size_t len)
{
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : 0;

    if (len == 0)
        return buf;
    if (af == 0 || inet_ntop(af, a->b, buf, (socklen_t)len) == NULL) {
        buf[0] = '-';
        if (len > 1)
            buf[1] = '\0';
        else
            buf[0] = '\0';
    }
    return buf;
}

size_t sp_addr_len(const struct sp_addr *a)
{
    return a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
}

bool sp_addr_eq(const struct sp_addr *a, const struct sp_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int sp_addr_cmp(const struct sp_addr *a, const struct sp_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->b, b->b, sizeof(a->b));
}

uint64_t sp_addr_hash(const struct sp_addr *a, uint64_t h)
{
    size_t n = sp_addr_len(a);

    h ^= a->family;
    h *= 1099511628211ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= a->b[i];
        h *= 1099511628211ULL;
    }
    return h;
}
