/*
 * targets.c - target words to addresses (see targets.h).
 */
#include "engine/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/err.h"
#include "engine/grow.h"

static int push(struct sp_target_list *l, const struct sp_addr *a,
                const char *name)
{
    struct sp_target *v;

    if (l->n >= SP_MAX_TARGETS)
        return SP_EINVAL;
    v = sp_grow(l->v, l->n, &l->cap, sizeof(*v), 16);
    if (v == NULL)
        return SP_ENOMEM;
    l->v = v;
    l->v[l->n].addr = *a;
    l->v[l->n].name = name;
    l->n++;
    return 0;
}

bool sp_addr_in_prefix(const struct sp_addr *a, const struct sp_addr *p,
                       int len)
{
    int bits = a->family == 4 ? 32 : 128;

    if (a->family != p->family || len < 0 || len > bits)
        return false;
    for (int i = 0; i < len / 8; i++)
        if (a->b[i] != p->b[i])
            return false;
    if (len % 8) {
        uint8_t m = (uint8_t)(0xff << (8 - len % 8));
        if ((a->b[len / 8] & m) != (p->b[len / 8] & m))
            return false;
    }
    return true;
}

/* Why an address named alone is refused without --force, or NULL. */
static const char *refused(const struct sp_addr *a)
{
    static const uint8_t zero[16];
    struct ifaddrs *ifa = NULL;
    const char *why = NULL;

    if (memcmp(a->b, zero, sp_addr_len(a)) == 0)
        return "an unspecified address";
    if (a->family == 4) {
        if ((a->b[0] & 0xf0) == 0xe0)
            return "a multicast address";
        if (a->b[0] == 255 && a->b[1] == 255 && a->b[2] == 255 &&
            a->b[3] == 255)
            return "the broadcast address";
    } else if (a->b[0] == 0xff) {
        return "a multicast address";
    }
    /* the network or broadcast address of a subnet this host is on */
    if (a->family == 4 && getifaddrs(&ifa) == 0) {
        for (struct ifaddrs *i = ifa; i != NULL && why == NULL;
             i = i->ifa_next) {
            uint32_t ad, mask, x;
            if (i->ifa_addr == NULL || i->ifa_netmask == NULL ||
                i->ifa_addr->sa_family != AF_INET)
                continue;
            ad = ntohl(
                ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
            mask = ntohl(((struct sockaddr_in *)(void *)i->ifa_netmask)
                             ->sin_addr.s_addr);
            memcpy(&x, a->b, 4);
            x = ntohl(x);
            if (mask >= 0xfffffffeu || (x & mask) != (ad & mask))
                continue;
            if ((x & ~mask) == 0)
                why = "the network address of a local subnet";
            else if ((x & ~mask) == ~mask)
                why = "the broadcast address of a local subnet";
        }
        freeifaddrs(ifa);
    }
    return why;
}

static int add_prefix(struct sp_target_list *l, const struct sp_addr *base,
                      int len, const char *word, struct sp_err *err)
{
    int bits = base->family == 4 ? 32 : 128;
    int host = bits - len;
    uint64_t count, i;
    struct sp_addr a = *base;
    int rc;

    if (host > 20)
        return sp_err_set(err, SP_EINVAL,
                          "%s: prefix too large (at most 2^20 addresses)",
                          word);
    /* clear the host bits */
    for (int b = len; b < bits; b++)
        a.b[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
    count = 1ULL << host;
    for (i = 0; i < count; i++) {
        struct sp_addr x = a;
        uint64_t v = i;
        /* add i to the address, from the last byte up */
        for (int k = (int)sp_addr_len(&x) - 1; k >= 0 && v != 0; k--) {
            uint64_t s = x.b[k] + (v & 0xff);
            x.b[k] = (uint8_t)s;
            v = (v >> 8) + (s >> 8);
        }
        /* IPv4 prefixes up to /30 skip their network and broadcast */
        if (base->family == 4 && host >= 2 && (i == 0 || i == count - 1))
            continue;
        rc = push(l, &x, NULL);
        if (rc != 0)
            return sp_err_set(err, rc, "%s: too many targets", word);
    }
    return 0;
}

int sp_targets_add(struct sp_target_list *l, const char *word, int family,
                   bool force, struct sp_err *err)
{
    struct sp_addr a;
    const char *slash = strchr(word, '/');
    struct addrinfo hints, *res = NULL, *r;
    char *name;
    int rc;

    if (slash != NULL) {
        char host[64];
        char *end;
        long len;
        size_t hl = (size_t)(slash - word);
        if (hl == 0 || hl >= sizeof(host))
            return sp_err_set(err, SP_EINVAL, "bad prefix '%s'", word);
        memcpy(host, word, hl);
        host[hl] = '\0';
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (!sp_addr_parse(host, &a) || *end != '\0' || slash[1] == '\0' ||
            len < 0 || len > (a.family == 4 ? 32 : 128))
            return sp_err_set(err, SP_EINVAL, "bad prefix '%s'", word);
        if (family != 0 && a.family != family)
            return sp_err_set(err, SP_EINVAL, "%s is not IPv%d", word, family);
        /* a prefix inside the multicast space is refused like a multicast
         * address named alone */
        if (!force && ((a.family == 4 && len >= 4 && (a.b[0] & 0xf0) == 0xe0) ||
                       (a.family == 6 && len >= 8 && a.b[0] == 0xff)))
            return sp_err_set(err, SP_EINVAL,
                              "%s is multicast: refused without --force", word);
        if (!force && len < (a.family == 4 ? 4 : 8))
            return sp_err_set(err, SP_EINVAL,
                              "%s contains multicast addresses: refused "
                              "without --force",
                              word);
        return add_prefix(l, &a, (int)len, word, err);
    }
    if (sp_addr_parse(word, &a)) {
        const char *why;
        if (family != 0 && a.family != family)
            return sp_err_set(err, SP_EINVAL, "%s is not IPv%d", word, family);
        why = force ? NULL : refused(&a);
        if (why != NULL)
            return sp_err_set(err, SP_EINVAL,
                              "%s is %s: refused without --force", word, why);
        rc = push(l, &a, NULL);
        return rc != 0 ? sp_err_set(err, rc, "too many targets") : 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family == 4   ? AF_INET
                      : family == 6 ? AF_INET6
                                    : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(word, NULL, &hints, &res);
    if (rc != 0 || res == NULL)
        return sp_err_set(err, SP_ENOENT, "unknown host '%s'", word);
    for (r = res; r != NULL; r = r->ai_next) {
        if (r->ai_family == AF_INET) {
            sp_addr_set4(
                &a, (const uint8_t *)&((struct sockaddr_in *)(void *)r->ai_addr)
                        ->sin_addr);
            break;
        }
        if (r->ai_family == AF_INET6) {
            sp_addr_set6(&a, (const uint8_t *)&(
                                 (struct sockaddr_in6 *)(void *)r->ai_addr)
                                 ->sin6_addr);
            break;
        }
    }
    freeaddrinfo(res);
    if (r == NULL)
        return sp_err_set(err, SP_ENOENT, "unknown host '%s'", word);
    {
        /* a name may resolve to what a number would be refused for */
        const char *why = force ? NULL : refused(&a);
        char b[SP_ADDR_STRLEN];
        if (why != NULL)
            return sp_err_set(err, SP_EINVAL,
                              "%s resolves to %s, %s: refused without --force",
                              word, sp_addr_str(&a, b, sizeof(b)), why);
    }
    name = strdup(word);
    if (name == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    {
        char **nn = realloc(l->names, (l->nnames + 1) * sizeof(*nn));
        if (nn == NULL) {
            free(name);
            return sp_err_set(err, SP_ENOMEM, "out of memory");
        }
        l->names = nn;
        l->names[l->nnames++] = name;
    }
    rc = push(l, &a, name);
    return rc != 0 ? sp_err_set(err, rc, "too many targets") : 0;
}

/* Calls fn for every word of the file. */
static int each_word(const char *path, struct sp_err *err,
                     int (*fn)(void *ctx, const char *w, struct sp_err *err),
                     void *ctx)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int rc = 0;
    unsigned lineno = 0;

    if (f == NULL)
        return sp_err_set(err, errno == ENOENT ? SP_ENOENT : SP_EIO, "%s: %s",
                          path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *e;
        lineno++;
        if ((e = strchr(p, '#')) != NULL)
            *e = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
                         e[-1] == '\t'))
            *--e = '\0';
        if (*p == '\0')
            continue;
        rc = fn(ctx, p, err);
        if (rc != 0 && err != NULL) {
            char msg[sizeof(err->msg)];
            memcpy(msg, err->msg, sizeof(msg));
            sp_err_set(err, rc, "%s:%u: %s", path, lineno, msg);
        }
    }
    fclose(f);
    return rc;
}

struct add_ctx {
    struct sp_target_list *l;
    int family;
    bool force;
};

static int add_word(void *ctx, const char *w, struct sp_err *err)
{
    struct add_ctx *c = ctx;
    return sp_targets_add(c->l, w, c->family, c->force, err);
}

int sp_targets_add_file(struct sp_target_list *l, const char *path, int family,
                        bool force, struct sp_err *err)
{
    struct add_ctx c = {l, family, force};
    return each_word(path, err, add_word, &c);
}

struct excl {
    struct sp_addr p[4096];
    int len[4096];
    size_t n;
};

static int excl_word(void *ctx, const char *w, struct sp_err *err)
{
    struct excl *x = ctx;
    char host[64];
    const char *slash = strchr(w, '/');
    size_t hl = slash ? (size_t)(slash - w) : strlen(w);
    long len;
    char *end;

    if (x->n >= 4096)
        return sp_err_set(err, SP_EINVAL, "too many exclusions");
    if (hl >= sizeof(host))
        return sp_err_set(err, SP_EINVAL, "bad address '%s'", w);
    memcpy(host, w, hl);
    host[hl] = '\0';
    if (!sp_addr_parse(host, &x->p[x->n]))
        return sp_err_set(err, SP_EINVAL, "bad address '%s'", w);
    len = x->p[x->n].family == 4 ? 32 : 128;
    if (slash != NULL) {
        long max = len;
        len = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || len < 0 || len > max)
            return sp_err_set(err, SP_EINVAL, "bad prefix '%s'", w);
    }
    x->len[x->n++] = (int)len;
    return 0;
}

int sp_targets_exclude_file(struct sp_target_list *l, const char *path,
                            struct sp_err *err)
{
    struct excl *x = calloc(1, sizeof(*x));
    size_t k = 0;
    int rc;

    if (x == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    rc = each_word(path, err, excl_word, x);
    if (rc == 0) {
        for (size_t i = 0; i < l->n; i++) {
            bool out = false;
            for (size_t j = 0; j < x->n && !out; j++)
                out = sp_addr_in_prefix(&l->v[i].addr, &x->p[j], x->len[j]);
            if (!out)
                l->v[k++] = l->v[i];
        }
        l->n = k;
    }
    free(x);
    return rc;
}

unsigned sp_target_shard(const struct sp_addr *a, uint16_t port,
                         unsigned shards)
{
    uint64_t h = (sp_addr_hash(a, 14695981039346656037ULL) ^ port) *
                 0x9e3779b97f4a7c15ULL;

    return shards <= 1 ? 0 : (unsigned)((h >> 32) % shards);
}

void sp_targets_free(struct sp_target_list *l)
{
    for (size_t i = 0; i < l->nnames; i++)
        free(l->names[i]);
    free(l->names);
    free(l->v);
    memset(l, 0, sizeof(*l));
}
