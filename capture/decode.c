/*
 * decode.c - captured bytes to struct sp_packet (see decode.h).
 *
 * Every read goes through capture/cursor.h. Each layer is a `struct seg`:
 * the bytes that were captured for it, plus the length its parent header
 * says it has. A header that does not fit in the claimed length is
 * impossible (SP_DECODE_INVALID); one that fits in the claimed length but
 * not in what was captured is cut short (SP_DECODE_TRUNCATED). The cursor
 * of a layer never reaches past its claimed length, so Ethernet padding and
 * the like are never parsed as packet data.
 */
#include "capture/decode.h"

#include <stdint.h>
#include <string.h>

#include "capture/cursor.h"

enum {
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_IPV6 = 0x86dd,
    ETHERTYPE_VLAN = 0x8100,
    ETHERTYPE_QINQ = 0x88a8,
    MAX_VLAN_TAGS = 2,
    SLL_HDR_LEN = 16,
    SLL_PROTO_OFF = 14,
    SLL2_HDR_LEN = 20,
    IP4_HDR_MIN = 20,
    IP6_HDR_LEN = 40,
    TCP_HDR_MIN = 20,
    UDP_HDR_LEN = 8,
    ICMP_HDR_LEN = 8,
    QUOTE_L4_MIN = 8, /* RFC 792: IP header + 64 bits of the datagram */
    QUOTE_TCP_FLAGS_END = 14,
    MAX_EXT_HEADERS = 8,
};

/* IPv6 extension headers we step over (RFC 8200 4.1). */
enum {
    EXT_HOPOPTS = 0,
    EXT_ROUTING = 43,
    EXT_FRAGMENT = 44,
    EXT_AH = 51,
    EXT_DSTOPTS = 60,
};

/* BSD address-family values seen in DLT_NULL / DLT_LOOP headers. */
enum {
    BSD_AF_INET = 2,
    BSD_AF_INET6_BSD = 24,     /* NetBSD, OpenBSD, BSD/OS */
    BSD_AF_INET6_FREEBSD = 28, /* FreeBSD, DragonFly */
    BSD_AF_INET6_DARWIN = 30,  /* macOS, iOS */
};

/* ICMP types that quote the packet they are about. */
enum {
    ICMP4_ECHO_REPLY = 0,
    ICMP4_UNREACH = 3,
    ICMP4_ECHO_REQUEST = 8,
    ICMP4_TIME_EXCEEDED = 11,
    ICMP4_PARAM_PROBLEM = 12,
    ICMP4_CODE_FRAG_NEEDED = 4,
    ICMP6_UNREACH = 1,
    ICMP6_TOO_BIG = 2,
    ICMP6_TIME_EXCEEDED = 3,
    ICMP6_PARAM_PROBLEM = 4,
    ICMP6_ECHO_REQUEST = 128,
    ICMP6_ECHO_REPLY = 129,
};

/*
 * The bytes of one layer: c covers what was captured of it, never more than
 * `claimed` bytes (the length its parent header gives, SIZE_MAX if none).
 */
struct seg {
    struct sp_cur c;
    size_t claimed;
};

/* Whether n more bytes can be read from s: OK, TRUNCATED or INVALID. */
static enum sp_decode_result seg_need(const struct seg *s, size_t n)
{
    if (sp_cur_has(&s->c, n))
        return SP_DECODE_OK;
    if (n > s->claimed - s->c.off)
        return SP_DECODE_INVALID;
    return SP_DECODE_TRUNCATED;
}

/* Makes rest the part of s from its cursor on, with the claim carried on. */
static void seg_rest(const struct seg *s, struct seg *rest)
{
    sp_cur_sub(&s->c, SIZE_MAX, &rest->c);
    rest->claimed = s->claimed == SIZE_MAX ? SIZE_MAX : s->claimed - s->c.off;
}

/* Bytes the segment claims, or the captured ones if it claims nothing. */
static size_t seg_claimed(const struct seg *s)
{
    return s->claimed == SIZE_MAX ? s->c.len : s->claimed;
}

static uint16_t clamp16(size_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

/* ---- link layer ------------------------------------------------------- */

static enum sp_decode_result ethertype_family(uint16_t type, int *fam)
{
    if (type == ETHERTYPE_IPV4) {
        *fam = 4;
        return SP_DECODE_OK;
    }
    if (type == ETHERTYPE_IPV6) {
        *fam = 6;
        return SP_DECODE_OK;
    }
    return SP_DECODE_OTHER;
}

/* Reads an ethertype and up to MAX_VLAN_TAGS 802.1Q / 802.1ad tags. */
static enum sp_decode_result ethertype_walk(struct sp_cur *c, int *fam)
{
    uint16_t type;
    int tags = 0;

    if (!sp_cur_be16(c, &type))
        return SP_DECODE_TRUNCATED;
    while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
        if (tags == MAX_VLAN_TAGS)
            return SP_DECODE_OTHER;
        tags++;
        /* TCI, then the next ethertype */
        if (!sp_cur_skip(c, 2) || !sp_cur_be16(c, &type))
            return SP_DECODE_TRUNCATED;
    }
    return ethertype_family(type, fam);
}

static enum sp_decode_result bsd_af_family(uint32_t af, int *fam)
{
    switch (af) {
    case BSD_AF_INET:
        *fam = 4;
        return SP_DECODE_OK;
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
        *fam = 6;
        return SP_DECODE_OK;
    default:
        return SP_DECODE_OTHER;
    }
}

/* Moves c past the link header; sets *fam to the IP version it carries. */
static enum sp_decode_result decode_link(enum sp_link link, struct sp_cur *c,
                                         int *fam)
{
    uint16_t proto;
    uint32_t af;
    uint8_t b;

    switch (link) {
    case SP_LINK_ETHER:
        if (!sp_cur_skip(c, 12)) /* destination and source MAC */
            return SP_DECODE_TRUNCATED;
        return ethertype_walk(c, fam);
    case SP_LINK_SLL:
        /*
         * libpcap puts a VLAN tag it took from the kernel's metadata right
         * after the protocol field, as on Ethernet.
         */
        if (!sp_cur_has(c, SLL_HDR_LEN) || !sp_cur_skip(c, SLL_PROTO_OFF))
            return SP_DECODE_TRUNCATED;
        return ethertype_walk(c, fam);
    case SP_LINK_SLL2:
        if (!sp_cur_has(c, SLL2_HDR_LEN) || !sp_cur_be16(c, &proto) ||
            !sp_cur_skip(c, SLL2_HDR_LEN - 2))
            return SP_DECODE_TRUNCATED;
        return ethertype_family(proto, fam);
    case SP_LINK_RAW:
        if (!sp_cur_peek_u8(c, &b))
            return SP_DECODE_TRUNCATED;
        if (b >> 4 != 4 && b >> 4 != 6)
            return SP_DECODE_INVALID;
        *fam = b >> 4;
        return SP_DECODE_OK;
    case SP_LINK_IPV4:
        *fam = 4;
        return SP_DECODE_OK;
    case SP_LINK_IPV6:
        *fam = 6;
        return SP_DECODE_OK;
    case SP_LINK_NULL:
        /* written in the byte order of the host that wrote the file */
        if (!sp_cur_be32(c, &af))
            return SP_DECODE_TRUNCATED;
        if (bsd_af_family(af, fam) == SP_DECODE_OK)
            return SP_DECODE_OK;
        af = (af >> 24) | (af >> 8 & 0xff00u) | (af << 8 & 0xff0000u) |
             (af << 24);
        return bsd_af_family(af, fam);
    case SP_LINK_LOOP:
        if (!sp_cur_be32(c, &af))
            return SP_DECODE_TRUNCATED;
        return bsd_af_family(af, fam);
    }
    return SP_DECODE_INVALID;
}

/* ---- IPv6 extension headers ------------------------------------------- */

/*
 * Steps s over the extension headers starting with *nh, at most
 * MAX_EXT_HEADERS of them; *nh ends as the header that follows them. A
 * fragment header with a non-zero offset ends the walk with *later set, as
 * what follows it is the middle of a payload. More headers than the bound
 * also end the walk, with *nh still naming an extension header.
 */
static enum sp_decode_result walk_ext6(struct seg *s, uint8_t *nh, bool *later,
                                       bool *more)
{
    for (int i = 0; i < MAX_EXT_HEADERS; i++) {
        struct sp_cur h = s->c;
        enum sp_decode_result r;
        uint8_t next, hlen;
        uint16_t offm;
        size_t len;

        switch (*nh) {
        case EXT_HOPOPTS:
        case EXT_ROUTING:
        case EXT_DSTOPTS:
        case EXT_AH:
        case EXT_FRAGMENT:
            break;
        default:
            return SP_DECODE_OK;
        }
        r = seg_need(s, 2);
        if (r != SP_DECODE_OK)
            return r;
        if (!sp_cur_u8(&h, &next) || !sp_cur_u8(&h, &hlen))
            return SP_DECODE_TRUNCATED; /* not reached: checked above */
        if (*nh == EXT_FRAGMENT)
            len = 8;
        else if (*nh == EXT_AH)
            len = ((size_t)hlen + 2) * 4; /* RFC 4302: 32-bit words */
        else
            len = ((size_t)hlen + 1) * 8;
        r = seg_need(s, len);
        if (r != SP_DECODE_OK)
            return r;
        if (*nh == EXT_FRAGMENT) {
            if (!sp_cur_be16(&h, &offm))
                return SP_DECODE_TRUNCATED; /* not reached */
            *more = (offm & 1) != 0;
            if (offm >> 3 != 0)
                *later = true;
        }
        sp_cur_skip(&s->c, len);
        *nh = next;
        if (*later)
            return SP_DECODE_OK;
    }
    return SP_DECODE_OK;
}

/* ---- ICMP quotes ------------------------------------------------------ */

/* The first bytes of the quoted transport header, in q. */
static void decode_quote_l4(struct sp_cur *q, int fam, struct sp_inner *in,
                            unsigned *have)
{
    uint16_t skip16;
    uint32_t skip32;
    uint8_t skip8;

    in->l4_len = clamp16(sp_cur_left(q));
    if (!sp_cur_has(q, QUOTE_L4_MIN))
        return;
    switch (in->proto) {
    case SP_PROTO_TCP:
        sp_cur_be16(q, &in->sport);
        sp_cur_be16(q, &in->dport);
        sp_cur_be32(q, &in->seq);
        /* ack, data offset, then the flags at byte 13 if quoted */
        if (sp_cur_be32(q, &skip32) && sp_cur_u8(q, &skip8))
            sp_cur_u8(q, &in->tcp_flags);
        break;
    case SP_PROTO_UDP:
        sp_cur_be16(q, &in->sport);
        sp_cur_be16(q, &in->dport);
        break;
    case SP_PROTO_ICMP:
    case SP_PROTO_ICMP6:
        if (in->proto != (fam == 4 ? SP_PROTO_ICMP : SP_PROTO_ICMP6))
            break;
        sp_cur_u8(q, &in->icmp_type);
        sp_cur_u8(q, &in->icmp_code);
        sp_cur_be16(q, &skip16); /* checksum */
        sp_cur_be16(q, &in->icmp_id);
        sp_cur_be16(q, &in->icmp_seq);
        break;
    default:
        break;
    }
    *have |= SP_HAVE_INNER_L4;
}

/*
 * The quoted IPv4 packet. Its total length is used only to cut off what
 * follows it (RFC 4884 extensions), never to call the quote truncated.
 */
static void decode_quote4(const struct sp_cur *q, struct sp_inner *in,
                          unsigned *have)
{
    struct sp_cur h, l4;
    uint8_t vihl, tos;
    uint16_t totlen, frag, sum;
    uint8_t a[4], b[4];
    size_t hlen;

    sp_cur_sub(q, SIZE_MAX, &h);
    if (!sp_cur_peek_u8(&h, &vihl) || vihl >> 4 != 4)
        return;
    hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < IP4_HDR_MIN || !sp_cur_has(&h, IP4_HDR_MIN))
        return;
    if (!sp_cur_skip(&h, 1) || !sp_cur_u8(&h, &tos) ||
        !sp_cur_be16(&h, &totlen) || !sp_cur_be16(&h, &in->ip_id) ||
        !sp_cur_be16(&h, &frag) || !sp_cur_u8(&h, &in->ttl) ||
        !sp_cur_u8(&h, &in->proto) || !sp_cur_be16(&h, &sum) ||
        !sp_cur_bytes(&h, a, 4) || !sp_cur_bytes(&h, b, 4))
        return;
    sp_addr_set4(&in->src, a);
    sp_addr_set4(&in->dst, b);
    if (!sp_cur_skip(&h, hlen - IP4_HDR_MIN))
        return;
    *have |= SP_HAVE_INNER;
    if ((frag & 0x1fff) != 0)
        return;
    sp_cur_sub(q, totlen >= hlen ? (size_t)totlen : SIZE_MAX, &l4);
    sp_cur_skip(&l4, hlen);
    decode_quote_l4(&l4, 4, in, have);
}

static void decode_quote6(const struct sp_cur *q, struct sp_inner *in,
                          unsigned *have)
{
    struct sp_cur h;
    struct seg s;
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t nh, a[16], b[16];
    enum sp_decode_result r;
    bool later = false, more = false;

    sp_cur_sub(q, SIZE_MAX, &h);
    if (!sp_cur_has(&h, IP6_HDR_LEN))
        return;
    if (!sp_cur_be32(&h, &vtcfl) || vtcfl >> 28 != 6 ||
        !sp_cur_be16(&h, &plen) || !sp_cur_u8(&h, &nh) ||
        !sp_cur_u8(&h, &in->ttl) || !sp_cur_bytes(&h, a, 16) ||
        !sp_cur_bytes(&h, b, 16))
        return;
    sp_addr_set6(&in->src, a);
    sp_addr_set6(&in->dst, b);
    in->proto = nh;
    *have |= SP_HAVE_INNER;

    sp_cur_sub(q, plen != 0 ? (size_t)IP6_HDR_LEN + plen : SIZE_MAX, &s.c);
    s.claimed = SIZE_MAX; /* the quote may end anywhere */
    sp_cur_skip(&s.c, IP6_HDR_LEN);
    r = walk_ext6(&s, &nh, &later, &more);
    in->proto = nh; /* as far as the walk got */
    if (r != SP_DECODE_OK || later)
        return;
    decode_quote_l4(&s.c, 6, in, have);
}

/* ---- transport -------------------------------------------------------- */

static enum sp_decode_result decode_tcp(const struct seg *s,
                                        struct sp_packet *p)
{
    struct sp_cur c = s->c;
    enum sp_decode_result r;
    uint8_t offb;
    size_t hlen;

    r = seg_need(s, TCP_HDR_MIN);
    if (r == SP_DECODE_INVALID)
        return r;
    if (!sp_cur_be16(&c, &p->sport) || !sp_cur_be16(&c, &p->dport) ||
        !sp_cur_be32(&c, &p->seq) || !sp_cur_be32(&c, &p->ack) ||
        !sp_cur_u8(&c, &offb))
        return SP_DECODE_TRUNCATED;
    hlen = (size_t)(offb >> 4) * 4;
    if (hlen < TCP_HDR_MIN)
        return SP_DECODE_INVALID;
    r = seg_need(s, hlen);
    if (r == SP_DECODE_INVALID)
        return r;
    p->tcp_optlen = (uint8_t)(hlen - TCP_HDR_MIN);
    if (!sp_cur_u8(&c, &p->tcp_flags) || !sp_cur_be16(&c, &p->window))
        return SP_DECODE_TRUNCATED;
    if (r != SP_DECODE_OK)
        return r;
    p->payload_len = clamp16(seg_claimed(s) - hlen);
    p->have |= SP_HAVE_TCP;
    return SP_DECODE_OK;
}

static enum sp_decode_result decode_udp(const struct seg *s,
                                        struct sp_packet *p)
{
    struct sp_cur c = s->c;
    enum sp_decode_result r;

    r = seg_need(s, UDP_HDR_LEN);
    if (r == SP_DECODE_INVALID)
        return r;
    if (!sp_cur_be16(&c, &p->sport) || !sp_cur_be16(&c, &p->dport))
        return SP_DECODE_TRUNCATED;
    if (r != SP_DECODE_OK)
        return r;
    p->payload_len = clamp16(seg_claimed(s) - UDP_HDR_LEN);
    p->have |= SP_HAVE_UDP;
    return SP_DECODE_OK;
}

static bool icmp_is_error(int fam, uint8_t type)
{
    if (fam == 4)
        return type == ICMP4_UNREACH || type == ICMP4_TIME_EXCEEDED ||
               type == ICMP4_PARAM_PROBLEM;
    return type == ICMP6_UNREACH || type == ICMP6_TOO_BIG ||
           type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAM_PROBLEM;
}

/*
 * ICMP and ICMPv6 share a layout: type, code, checksum, 4 bytes that depend
 * on the type, then for errors as much of the offending packet as fits.
 */
static enum sp_decode_result decode_icmp(const struct seg *s, int fam,
                                         struct sp_packet *p)
{
    struct sp_cur c = s->c;
    enum sp_decode_result r;
    uint16_t sum, w1, w2;

    r = seg_need(s, ICMP_HDR_LEN);
    if (r == SP_DECODE_INVALID)
        return r;
    if (!sp_cur_u8(&c, &p->icmp_type) || !sp_cur_u8(&c, &p->icmp_code) ||
        !sp_cur_be16(&c, &sum) || !sp_cur_be16(&c, &w1) ||
        !sp_cur_be16(&c, &w2))
        return SP_DECODE_TRUNCATED;
    p->have |= SP_HAVE_ICMP;
    p->payload_len = clamp16(seg_claimed(s) - ICMP_HDR_LEN);

    if (fam == 4 ? (p->icmp_type == ICMP4_ECHO_REQUEST ||
                    p->icmp_type == ICMP4_ECHO_REPLY)
                 : (p->icmp_type == ICMP6_ECHO_REQUEST ||
                    p->icmp_type == ICMP6_ECHO_REPLY)) {
        p->icmp_id = w1;
        p->icmp_seq = w2;
        return SP_DECODE_OK;
    }
    if (fam == 4 && p->icmp_type == ICMP4_UNREACH &&
        p->icmp_code == ICMP4_CODE_FRAG_NEEDED)
        p->icmp_mtu = w2; /* RFC 1191 */
    if (fam == 6 && p->icmp_type == ICMP6_TOO_BIG)
        p->icmp_mtu = (uint32_t)w1 << 16 | w2;
    if (icmp_is_error(fam, p->icmp_type)) {
        /* c is clamped by the outer length: no padding gets quoted */
        if (fam == 4)
            decode_quote4(&c, &p->inner, &p->have);
        else
            decode_quote6(&c, &p->inner, &p->have);
    }
    return SP_DECODE_OK;
}

/* The transport header at the cursor of s, by p->proto. */
static enum sp_decode_result decode_l4(const struct seg *ip, int fam,
                                       struct sp_packet *p)
{
    struct seg s;

    seg_rest(ip, &s);
    switch (p->proto) {
    case SP_PROTO_TCP:
        return decode_tcp(&s, p);
    case SP_PROTO_UDP:
        return decode_udp(&s, p);
    case SP_PROTO_ICMP:
        return fam == 4 ? decode_icmp(&s, 4, p) : SP_DECODE_OK;
    case SP_PROTO_ICMP6:
        return fam == 6 ? decode_icmp(&s, 6, p) : SP_DECODE_OK;
    default:
        return SP_DECODE_OK;
    }
}

/* ---- network layer ---------------------------------------------------- */

/* The result of a packet whose IP length says more than was captured. */
static enum sp_decode_result finish(enum sp_decode_result r, bool cut)
{
    if (r == SP_DECODE_OK && cut)
        return SP_DECODE_TRUNCATED;
    return r;
}

static enum sp_decode_result decode_ip4(const struct sp_cur *c,
                                        struct sp_packet *p)
{
    struct sp_cur h;
    struct seg s;
    uint8_t vihl, a[4], b[4];
    uint16_t totlen, frag, sum;
    size_t hlen;
    bool cut;

    sp_cur_sub(c, SIZE_MAX, &h);
    if (!sp_cur_peek_u8(&h, &vihl))
        return SP_DECODE_TRUNCATED;
    if (vihl >> 4 != 4)
        return SP_DECODE_INVALID;
    hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < IP4_HDR_MIN)
        return SP_DECODE_INVALID;
    if (!sp_cur_has(&h, IP4_HDR_MIN))
        return SP_DECODE_TRUNCATED;
    if (!sp_cur_skip(&h, 1) || !sp_cur_u8(&h, &p->tos) ||
        !sp_cur_be16(&h, &totlen) || !sp_cur_be16(&h, &p->ip_id) ||
        !sp_cur_be16(&h, &frag) || !sp_cur_u8(&h, &p->ttl) ||
        !sp_cur_u8(&h, &p->proto) || !sp_cur_be16(&h, &sum) ||
        !sp_cur_bytes(&h, a, 4) || !sp_cur_bytes(&h, b, 4))
        return SP_DECODE_TRUNCATED; /* not reached: 20 bytes are there */
    if (totlen < hlen)
        return SP_DECODE_INVALID;
    sp_addr_set4(&p->src, a);
    sp_addr_set4(&p->dst, b);
    p->more_frags = (frag & 0x2000) != 0;
    p->frag_later = (frag & 0x1fff) != 0;

    /* from here on, nothing past the total length is looked at */
    cut = !sp_cur_sub(c, totlen, &s.c);
    s.claimed = totlen;
    if (!sp_cur_skip(&s.c, hlen)) /* options */
        return SP_DECODE_TRUNCATED;
    p->have |= SP_HAVE_IP;
    if (p->frag_later)
        return finish(SP_DECODE_OK, cut);
    return finish(decode_l4(&s, 4, p), cut);
}

static enum sp_decode_result decode_ip6(const struct sp_cur *c,
                                        struct sp_packet *p)
{
    struct sp_cur h;
    struct seg s;
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t v, a[16], b[16];
    enum sp_decode_result r;
    bool cut;

    sp_cur_sub(c, SIZE_MAX, &h);
    if (!sp_cur_peek_u8(&h, &v))
        return SP_DECODE_TRUNCATED;
    if (v >> 4 != 6)
        return SP_DECODE_INVALID;
    if (!sp_cur_be32(&h, &vtcfl) || !sp_cur_be16(&h, &plen) ||
        !sp_cur_u8(&h, &p->proto) || !sp_cur_u8(&h, &p->ttl) ||
        !sp_cur_bytes(&h, a, 16) || !sp_cur_bytes(&h, b, 16))
        return SP_DECODE_TRUNCATED;
    p->tos = (uint8_t)(vtcfl >> 20);
    sp_addr_set6(&p->src, a);
    sp_addr_set6(&p->dst, b);
    p->have |= SP_HAVE_IP;
    /* IPv6 has no IP id outside fragment headers: ip_id stays 0 */

    if (plen == 0) {
        /* a jumbogram (RFC 2675): its length is in a hop-by-hop option */
        sp_cur_sub(c, SIZE_MAX, &s.c);
        s.claimed = SIZE_MAX;
        cut = false;
    } else {
        cut = !sp_cur_sub(c, (size_t)IP6_HDR_LEN + plen, &s.c);
        s.claimed = (size_t)IP6_HDR_LEN + plen;
    }
    sp_cur_skip(&s.c, IP6_HDR_LEN);
    r = walk_ext6(&s, &p->proto, &p->frag_later, &p->more_frags);
    if (r != SP_DECODE_OK)
        return r;
    if (p->frag_later)
        return finish(SP_DECODE_OK, cut);
    return finish(decode_l4(&s, 6, p), cut);
}

/* ---- public ----------------------------------------------------------- */

enum sp_decode_result sp_decode(enum sp_link link, const uint8_t *buf,
                                size_t caplen, struct sp_packet *out)
{
    struct sp_cur c, ip;
    enum sp_decode_result r;
    int fam = 0;

    /* a copy of a zero packet: GCC turns memset of this size into
     * "rep stos", whose start-up cost was a third of a whole decode */
    static const struct sp_packet zero;
    *out = zero;
    out->caplen = caplen > UINT32_MAX ? UINT32_MAX : (uint32_t)caplen;
    sp_cur_init(&c, buf, caplen);
    r = decode_link(link, &c, &fam);
    if (r != SP_DECODE_OK)
        return r;
    sp_cur_sub(&c, SIZE_MAX, &ip);
    return fam == 4 ? decode_ip4(&ip, out) : decode_ip6(&ip, out);
}

enum sp_icmp_kind sp_icmp_kind(const struct sp_packet *p)
{
    if (!(p->have & SP_HAVE_ICMP))
        return SP_ICMP_NONE;
    if (p->proto == SP_PROTO_ICMP) {
        switch (p->icmp_type) {
        case ICMP4_ECHO_REQUEST:
            return SP_ICMP_ECHO_REQUEST;
        case ICMP4_ECHO_REPLY:
            return SP_ICMP_ECHO_REPLY;
        case ICMP4_UNREACH:
            return SP_ICMP_UNREACH;
        case ICMP4_TIME_EXCEEDED:
            return SP_ICMP_TIME_EXCEEDED;
        default:
            return SP_ICMP_OTHER;
        }
    }
    if (p->proto == SP_PROTO_ICMP6) {
        switch (p->icmp_type) {
        case ICMP6_ECHO_REQUEST:
            return SP_ICMP_ECHO_REQUEST;
        case ICMP6_ECHO_REPLY:
            return SP_ICMP_ECHO_REPLY;
        case ICMP6_UNREACH:
            return SP_ICMP_UNREACH;
        case ICMP6_TOO_BIG:
            return SP_ICMP_TOO_BIG;
        case ICMP6_TIME_EXCEEDED:
            return SP_ICMP_TIME_EXCEEDED;
        default:
            return SP_ICMP_OTHER;
        }
    }
    return SP_ICMP_NONE;
}

bool sp_packet_is_tcp(const struct sp_packet *p)
{
    return (p->have & SP_HAVE_TCP) != 0 && p->proto == SP_PROTO_TCP;
}

const char *sp_decode_result_name(enum sp_decode_result r)
{
    switch (r) {
    case SP_DECODE_OK:
        return "ok";
    case SP_DECODE_TRUNCATED:
        return "truncated";
    case SP_DECODE_INVALID:
        return "invalid";
    case SP_DECODE_OTHER:
        return "other";
    }
    return "unknown";
}

const char *sp_link_name(enum sp_link link)
{
    switch (link) {
    case SP_LINK_ETHER:
        return "ethernet";
    case SP_LINK_SLL:
        return "linux-sll";
    case SP_LINK_SLL2:
        return "linux-sll2";
    case SP_LINK_RAW:
        return "raw";
    case SP_LINK_IPV4:
        return "ipv4";
    case SP_LINK_IPV6:
        return "ipv6";
    case SP_LINK_NULL:
        return "null";
    case SP_LINK_LOOP:
        return "loop";
    }
    return "unknown";
}
