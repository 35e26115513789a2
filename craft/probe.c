/*
 * probe.c - builds and sends TCP SYN and ICMP echo probes with libnet 1.1.6
 * (see probe.h).
 *
 * Holds: one libnet context per (family, probe kind), each keeping the ptags
 * of its two headers, so that every later probe of that kind only updates
 * the pblocks in place instead of allocating new ones (libnet's ptag model).
 * One context per kind avoids libnet_clear_packet() when SYN and echo
 * probes alternate. Does not hold: reading replies, choosing source
 * addresses or probe values (the engine and cookie.c do that).
 *
 * Decisions a reader needs:
 * - Headers are built top-down as libnet requires: transport first, then IP.
 * - Every checksum is passed as 0 so that libnet fills it when it coalesces
 *   the packet (TCP/ICMP/ICMPv6 with their pseudo-headers, and the IPv4
 *   header checksum in every mode, LIBNET_NONE included).
 * - libnet 1.1.6 ignores the device for LIBNET_RAW4, so the interface is
 *   bound here with SO_BINDTODEVICE, for both families alike; libnet itself
 *   is always given a NULL device (it then never enumerates interfaces).
 * - The SYN carries a plain 20-byte TCP header (no options): SYN only,
 *   window 64240, ack 0. IPv4 probes set DF. IPv6 gets no extension
 *   headers (libnet 1.1.6 computes transport checksums assuming a 40-byte
 *   IPv6 header).
 * - Randomness never comes from libnet_get_prand(); every value is in spec.
 */
#define _GNU_SOURCE /* sendmmsg */
#include "craft/probe.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <libnet.h>

/*
 * libnet-headers.h defines icmp_id and icmp_seq as macros for its own ICMP
 * struct members; they would rewrite the fields of struct sp_probe_spec. We
 * never touch libnet's header structs, so drop them.
 */
#undef icmp_id
#undef icmp_seq

#include "engine/err.h"

enum { FAM_V4, FAM_V6, FAM_COUNT };
enum { KIND_COUNT = 2 };

/* Protocol numbers and message types (RFC 791, RFC 792, RFC 4443). */
enum {
    PROTO_ICMP = 1,
    PROTO_TCP = 6,
    PROTO_ICMPV6 = 58,
    ICMPV4_ECHO_REQUEST = 8,
    ICMPV6_ECHO_REQUEST = 128,
    SYN_WINDOW = 64240,
    IPV4_FLAG_DF = 0x4000,
    ECHO_PAYLOAD_LEN = 16,
};

/* The echo payload: recognisable in a capture, padded with zeros. */
static const uint8_t echo_payload[ECHO_PAYLOAD_LEN] = "synprobe";

/* A libnet context and the ptags of the packet it holds (0 = not built). */
struct ctx {
    libnet_t *l;
    libnet_ptag_t l4;
    libnet_ptag_t ip;
};

enum { PKT_MAX = 128 }; /* a SYN or echo probe is at most 40 + 24 bytes */

/* Probes built and waiting for sendmmsg, per family. */
struct batch {
    uint8_t pkt[SP_CRAFT_BATCH][PKT_MAX];
    struct sockaddr_storage to[SP_CRAFT_BATCH];
    struct iovec iov[SP_CRAFT_BATCH];
    struct mmsghdr msg[SP_CRAFT_BATCH];
    unsigned n;
};

/*
 * Link-layer sending (sp_craft_link_open). Frames are copied into the
 * kernel by sendmmsg: a small frame then sits in one linear buffer. (A
 * TPACKET transmit ring hands the kernel page fragments instead, which a
 * veth or bridge must copy into a fresh page per frame: more work, not
 * less.) The socket blocks while LINK_SNDBUF bytes of our frames wait in
 * the device, so the sender sleeps instead of spinning and the device's
 * queue does not overflow: a veth drops whatever does not fit in its ring
 * of 256 frames. The kernel doubles the value and charges a small frame
 * about 900 bytes, so about 160 frames wait at most (fewer left the
 * receiving side idle at times, 256 and more were partly dropped).
 */
enum {
    ETH_HDR = 14,
    LINK_SNDBUF = 72 << 10,
    LINK_TIMEOUT_S = 1, /* a send that cannot go on for this long ... */
    LINK_STUCK = 10,    /* ... this many times in a row is an error */
};

struct link {
    int fd;
    uint8_t eth[ETH_HDR - 2]; /* destination, source */
    unsigned n;
    uint8_t frame[SP_CRAFT_BATCH][ETH_HDR + PKT_MAX];
    struct iovec iov[SP_CRAFT_BATCH];
    struct mmsghdr msg[SP_CRAFT_BATCH];
};

struct sp_craft {
    struct ctx ctx[FAM_COUNT][KIND_COUNT];
    struct batch *batch[FAM_COUNT]; /* allocated on first use */
    struct link *link;              /* NULL unless opened */
};

/* Checks spec; returns FAM_V4 / FAM_V6 or SP_EINVAL with err filled. */
static int spec_family(const struct sp_probe_spec *spec, struct sp_err *err)
{
    if (spec->kind != SP_PROBE_SYN && spec->kind != SP_PROBE_ECHO)
        return sp_err_set(err, SP_EINVAL, "unknown probe kind %d",
                          (int)spec->kind);
    if (spec->src.family != spec->dst.family)
        return sp_err_set(err, SP_EINVAL,
                          "source and destination families differ (%u, %u)",
                          spec->src.family, spec->dst.family);
    if (spec->dst.family == 4)
        return FAM_V4;
    if (spec->dst.family == 6)
        return FAM_V6;
    return sp_err_set(err, SP_EINVAL, "bad address family %u",
                      spec->dst.family);
}

/* The libnet context that builds spec's kind in its family: 0 with *x set,
 * or a negative SP_E* code with err filled (bad spec, family not opened). */
static int send_ctx(struct sp_craft *c, const struct sp_probe_spec *spec,
                    struct ctx **x, struct sp_err *err)
{
    int fam = spec_family(spec, err);

    if (fam < 0)
        return fam;
    *x = &c->ctx[fam][spec->kind == SP_PROBE_SYN ? 0 : 1];
    if ((*x)->l == NULL)
        return sp_err_set(err, SP_ENOTSUP, "IPv%c sending was not opened",
                          fam == FAM_V4 ? '4' : '6');
    return fam;
}

static uint32_t addr4(const struct sp_addr *a)
{
    uint32_t v;

    /* libnet wants IPv4 addresses as uint32_t in network byte order. */
    memcpy(&v, a->b, sizeof(v));
    return v;
}

static struct libnet_in6_addr addr6(const struct sp_addr *a)
{
    struct libnet_in6_addr v;

    memcpy(v.libnet_s6_addr, a->b, 16);
    return v;
}

/* Builds the transport header; returns its total length or SP_EIO. */
static long build_l4(struct ctx *c, int fam, const struct sp_probe_spec *spec,
                     struct sp_err *err)
{
    libnet_ptag_t t;
    long len;

    if (spec->kind == SP_PROBE_SYN) {
        t = libnet_build_tcp(spec->sport, spec->dport, spec->seq, 0, TH_SYN,
                             SYN_WINDOW, 0, 0, LIBNET_TCP_H, NULL, 0, c->l,
                             c->l4);
        len = LIBNET_TCP_H;
    } else if (fam == FAM_V4) {
        t = libnet_build_icmpv4_echo(ICMPV4_ECHO_REQUEST, 0, 0, spec->icmp_id,
                                     spec->icmp_seq, echo_payload,
                                     ECHO_PAYLOAD_LEN, c->l, c->l4);
        len = LIBNET_ICMPV4_ECHO_H + ECHO_PAYLOAD_LEN;
    } else {
        /* The 1.1.6 prototype takes a non-const payload; it only copies. */
        uint8_t payload[ECHO_PAYLOAD_LEN];

        memcpy(payload, echo_payload, sizeof(payload));
        t = libnet_build_icmpv6_echo(ICMPV6_ECHO_REQUEST, 0, 0, spec->icmp_id,
                                     spec->icmp_seq, payload, sizeof(payload),
                                     c->l, c->l4);
        len = LIBNET_ICMPV6_ECHO_H + ECHO_PAYLOAD_LEN;
    }
    if (t == -1)
        return sp_err_set(err, SP_EIO, "libnet: %s", libnet_geterror(c->l));
    c->l4 = t;
    return len;
}

/*
 * Builds (or, through the kept ptags, updates) the whole probe in c->l.
 * Returns the IP packet's length or a negative SP_E* code.
 */
static long build(struct ctx *c, int fam, const struct sp_probe_spec *spec,
                  struct sp_err *err)
{
    uint8_t proto;
    libnet_ptag_t t;
    long l4len = build_l4(c, fam, spec, err);

    if (l4len < 0)
        return l4len;
    if (fam == FAM_V4) {
        proto = spec->kind == SP_PROBE_SYN ? PROTO_TCP : PROTO_ICMP;
        t = libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + l4len), 0, spec->ip_id,
                              IPV4_FLAG_DF, spec->ttl, proto, 0,
                              addr4(&spec->src), addr4(&spec->dst), NULL, 0,
                              c->l, c->ip);
    } else {
        proto = spec->kind == SP_PROBE_SYN ? PROTO_TCP : PROTO_ICMPV6;
        /* In 1.1.6 `len` is the payload length, without the 40 bytes. */
        t = libnet_build_ipv6(0, 0, (uint16_t)l4len, proto, spec->ttl,
                              addr6(&spec->src), addr6(&spec->dst), NULL, 0,
                              c->l, c->ip);
    }
    if (t == -1)
        return sp_err_set(err, SP_EIO, "libnet: %s", libnet_geterror(c->l));
    c->ip = t;
    return (fam == FAM_V4 ? LIBNET_IPV4_H : LIBNET_IPV6_H) + l4len;
}

static bool is_perm_error(int e, const char *msg)
{
    return e == EPERM || e == EACCES ||
           strstr(msg, "Operation not permitted") != NULL ||
           strstr(msg, "Permission denied") != NULL;
}

static int open_ctx(struct ctx *c, int fam, const char *iface,
                    struct sp_err *err)
{
    char eb[LIBNET_ERRBUF_SIZE] = "";
    int e;

    errno = 0;
    c->l = libnet_init(fam == FAM_V4 ? LIBNET_RAW4 : LIBNET_RAW6, NULL, eb);
    if (c->l == NULL) {
        e = errno;
        if (is_perm_error(e, eb))
            return sp_err_set(err, SP_EPERM, "needs root or CAP_NET_RAW");
        return sp_err_set(err, SP_EIO, "IPv%c raw socket: %s",
                          fam == FAM_V4 ? '4' : '6', eb);
    }
    if (iface != NULL &&
        setsockopt(libnet_getfd(c->l), SOL_SOCKET, SO_BINDTODEVICE, iface,
                   (socklen_t)(strlen(iface) + 1)) < 0) {
        e = errno;
        if (e == ENODEV)
            return sp_err_set(err, SP_ENOENT, "no such interface: %s", iface);
        if (e == EPERM)
            return sp_err_set(err, SP_EPERM, "needs root or CAP_NET_RAW");
        return sp_err_set(err, SP_EIO, "binding to %s: %s", iface, strerror(e));
    }
    return 0;
}

int sp_craft_open(struct sp_craft **out, const char *iface, unsigned families,
                  struct sp_err *err)
{
    struct sp_craft *c;
    int rc = 0;

    *out = NULL;
    if ((families & 3u) == 0 || (families & ~3u) != 0)
        return sp_err_set(err, SP_EINVAL, "bad family set 0x%x", families);
    if (iface != NULL && (iface[0] == '\0' || strlen(iface) >= IFNAMSIZ))
        return sp_err_set(err, SP_EINVAL, "bad interface name \"%s\"", iface);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    for (int fam = 0; fam < FAM_COUNT && rc == 0; fam++) {
        if ((families & (1u << fam)) == 0)
            continue;
        for (int k = 0; k < KIND_COUNT && rc == 0; k++)
            rc = open_ctx(&c->ctx[fam][k], fam, iface, err);
    }
    if (rc != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    sp_craft_close(c);
    return rc;
}

int sp_craft_send(struct sp_craft *c, const struct sp_probe_spec *spec,
                  struct sp_err *err)
{
    struct ctx *x = NULL;
    long len;
    int fam = send_ctx(c, spec, &x, err);
    int n, e;

    if (fam < 0)
        return fam;
    len = build(x, fam, spec, err);
    if (len < 0)
        return (int)len;
    errno = 0;
    n = libnet_write(x->l);
    e = errno;
    if (n < 0) {
        if (e == ENETUNREACH || e == EHOSTUNREACH)
            return sp_err_set(err, SP_ENOROUTE, "send: %s",
                              libnet_geterror(x->l));
        return sp_err_set(err, SP_EIO, "send: %s", libnet_geterror(x->l));
    }
    if (n != len)
        return sp_err_set(err, SP_EIO, "send: short write (%d of %ld bytes)", n,
                          len);
    return 0;
}

static int flush_family(struct sp_craft *c, int fam, unsigned *failed,
                        struct sp_err *err)
{
    struct batch *b = c->batch[fam];
    unsigned done = 0, full = 0;
    int fd = b != NULL ? libnet_getfd(c->ctx[fam][0].l) : -1;

    while (b != NULL && done < b->n) {
        int n = sendmmsg(fd, b->msg + done, b->n - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == ENOBUFS || errno == EAGAIN) && ++full < 100000) {
                /* the device queue is full for a moment: try again (the
                 * caller's rate bounds how often) */
                sched_yield();
                continue;
            }
            if (errno == ENETUNREACH || errno == EHOSTUNREACH ||
                errno == EACCES || errno == EINVAL) {
                /* this one probe cannot go: skip it, send the rest */
                if (failed != NULL)
                    (*failed)++;
                done++;
                continue;
            }
            b->n = 0;
            return sp_err_set(err, SP_EIO, "sendmmsg: %s", strerror(errno));
        }
        done += (unsigned)n;
    }
    if (b != NULL)
        b->n = 0;
    return 0;
}

/* Sends every frame queued on the link, one sendmmsg for as many as the
 * device takes; a frame the device dropped (its queue was full) is skipped,
 * as a router would drop it. */
static int flush_link(struct link *k, struct sp_err *err)
{
    unsigned done = 0, stuck = 0;

    while (k != NULL && done < k->n) {
        int n = sendmmsg(k->fd, k->msg + done, k->n - done, 0);
        if (n > 0) {
            done += (unsigned)n;
            stuck = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ENOBUFS) {
            done++;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            ++stuck < LINK_STUCK)
            continue; /* LINK_TIMEOUT_S without room: try again */
        k->n = 0;
        return sp_err_set(err, SP_EIO, "send on the link: %s",
                          n < 0 ? strerror(errno) : "nothing sent");
    }
    if (k != NULL)
        k->n = 0;
    return 0;
}

int sp_craft_flush(struct sp_craft *c, unsigned *failed, struct sp_err *err)
{
    int rrc = flush_link(c->link, err);

    if (rrc != 0)
        return rrc;
    for (int fam = 0; fam < FAM_COUNT; fam++) {
        int rc = flush_family(c, fam, failed, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Builds spec with libnet in x and copies the assembled packet (checksums
 * included; libnet hands out a buffer of its own) to out, which has room
 * for PKT_MAX bytes. Returns the length, or a negative SP_E* code. */
static long build_into(struct ctx *x, int fam, const struct sp_probe_spec *spec,
                       uint8_t *out, struct sp_err *err)
{
    uint8_t *pkt = NULL;
    uint32_t len = 0;
    long built = build(x, fam, spec, err);

    if (built < 0)
        return built;
    if (libnet_pblock_coalesce(x->l, &pkt, &len) == -1)
        return sp_err_set(err, SP_EIO, "libnet: %s", libnet_geterror(x->l));
    if (len > PKT_MAX) {
        free(pkt);
        return sp_err_set(err, SP_EINVAL, "probe of %u bytes", len);
    }
    memcpy(out, pkt, len);
    free(pkt);
    return (long)len;
}

int sp_craft_queue(struct sp_craft *c, const struct sp_probe_spec *spec,
                   struct sp_err *err)
{
    struct ctx *x = NULL;
    struct batch *b;
    long len;
    int fam = send_ctx(c, spec, &x, err);
    unsigned i;

    if (fam < 0)
        return fam;
    if (c->batch[fam] == NULL) {
        c->batch[fam] = calloc(1, sizeof(*c->batch[fam]));
        if (c->batch[fam] == NULL)
            return sp_err_set(err, SP_ENOMEM, "out of memory");
    }
    b = c->batch[fam];
    if (b->n == SP_CRAFT_BATCH) {
        int rc = flush_family(c, fam, NULL, err);
        if (rc != 0)
            return rc;
    }
    len = build_into(x, fam, spec, b->pkt[b->n], err);
    if (len < 0)
        return (int)len;
    i = b->n++;
    memset(&b->to[i], 0, sizeof(b->to[i]));
    if (fam == FAM_V4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&b->to[i];
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, spec->dst.b, 4);
        b->msg[i].msg_hdr.msg_namelen = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&b->to[i];
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, spec->dst.b, 16);
        b->msg[i].msg_hdr.msg_namelen = sizeof(*s6);
    }
    b->iov[i].iov_base = b->pkt[i];
    b->iov[i].iov_len = (size_t)len;
    b->msg[i].msg_hdr.msg_name = &b->to[i];
    b->msg[i].msg_hdr.msg_iov = &b->iov[i];
    b->msg[i].msg_hdr.msg_iovlen = 1;
    b->msg[i].msg_hdr.msg_control = NULL;
    b->msg[i].msg_hdr.msg_controllen = 0;
    b->msg[i].msg_hdr.msg_flags = 0;
    return 0;
}

static void link_close(struct link *k)
{
    if (k == NULL)
        return;
    if (k->fd >= 0)
        close(k->fd);
    free(k);
}

int sp_craft_link_open(struct sp_craft *c, int ifindex,
                       const uint8_t src_mac[6], const uint8_t dst_mac[6],
                       struct sp_err *err)
{
    struct link *k = calloc(1, sizeof(*k));
    struct sockaddr_ll sll;
    struct timeval tv = {LINK_TIMEOUT_S, 0};
    int one = 1, sndbuf = LINK_SNDBUF;

    if (k == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    /* protocol 0: this socket receives nothing */
    k->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        int e = errno;
        link_close(k);
        if (e == EPERM || e == EACCES)
            return sp_err_set(err, SP_EPERM, "needs root or CAP_NET_RAW");
        return sp_err_set(err, SP_EIO, "packet socket: %s", strerror(e));
    }
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    if (setsockopt(k->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) <
            0 ||
        setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
        setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        bind(k->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        int e = errno;
        link_close(k);
        return sp_err_set(err, SP_EIO, "link socket: %s", strerror(e));
    }
    for (unsigned i = 0; i < SP_CRAFT_BATCH; i++) {
        k->iov[i].iov_base = k->frame[i];
        k->msg[i].msg_hdr.msg_iov = &k->iov[i];
        k->msg[i].msg_hdr.msg_iovlen = 1;
    }
    memcpy(k->eth, dst_mac, 6);
    memcpy(k->eth + 6, src_mac, 6);
    link_close(c->link);
    c->link = k;
    return 0;
}

void sp_craft_link_close(struct sp_craft *c)
{
    link_close(c->link);
    c->link = NULL;
}

int sp_craft_queue_link(struct sp_craft *c, const struct sp_probe_spec *spec,
                        struct sp_err *err)
{
    struct link *k = c->link;
    struct ctx *x = NULL;
    uint8_t *frame;
    long len;
    int fam = send_ctx(c, spec, &x, err);

    if (fam < 0)
        return fam;
    if (k == NULL)
        return sp_err_set(err, SP_ENOTSUP, "no link-layer sending for IPv%c",
                          fam == FAM_V4 ? '4' : '6');
    if (k->n == SP_CRAFT_BATCH) {
        int rc = flush_link(k, err);
        if (rc != 0)
            return rc;
    }
    frame = k->frame[k->n];
    len = build_into(x, fam, spec, frame + ETH_HDR, err);
    if (len < 0)
        return (int)len;
    memcpy(frame, k->eth, sizeof(k->eth));
    frame[12] = fam == FAM_V4 ? 0x08 : 0x86;
    frame[13] = fam == FAM_V4 ? 0x00 : 0xdd;
    k->iov[k->n].iov_len = ETH_HDR + (size_t)len;
    k->n++;
    return 0;
}

void sp_craft_close(struct sp_craft *c)
{
    if (c == NULL)
        return;
    link_close(c->link);
    free(c->batch[0]);
    free(c->batch[1]);
    for (int fam = 0; fam < FAM_COUNT; fam++)
        for (int k = 0; k < KIND_COUNT; k++)
            if (c->ctx[fam][k].l != NULL)
                libnet_destroy(c->ctx[fam][k].l);
    free(c);
}

long sp_craft_build(const struct sp_probe_spec *spec, uint8_t *buf, size_t cap,
                    struct sp_err *err)
{
    char eb[LIBNET_ERRBUF_SIZE] = "";
    struct ctx c = {0};
    uint8_t *pkt = NULL;
    uint32_t n = 0;
    long rc;
    int fam = spec_family(spec, err);

    if (fam < 0)
        return fam;
    /* LIBNET_NONE: construction only, no socket, no privilege needed. */
    c.l = libnet_init(LIBNET_NONE, NULL, eb);
    if (c.l == NULL)
        return sp_err_set(err, SP_EIO, "libnet_init: %s", eb);
    rc = build(&c, fam, spec, err);
    if (rc < 0)
        goto out;
    if (libnet_pblock_coalesce(c.l, &pkt, &n) == -1) {
        rc = sp_err_set(err, SP_EIO, "libnet: %s", libnet_geterror(c.l));
        goto out;
    }
    if (n != (uint32_t)rc) {
        rc = sp_err_set(err, SP_EIO, "libnet built %u bytes, expected %ld", n,
                        rc);
        goto out;
    }
    if (n > cap) {
        rc = sp_err_set(err, SP_EINVAL, "probe of %u bytes does not fit in %zu",
                        n, cap);
        goto out;
    }
    memcpy(buf, pkt, n);
    rc = (long)n;
out:
    free(pkt);
    libnet_destroy(c.l);
    return rc;
}
