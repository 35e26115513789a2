/*
 * test_craft.c - probe building (craft/probe.c) and cookies (craft/cookie.c).
 *
 * Probes are built with sp_craft_build(), which uses a LIBNET_NONE context:
 * no socket, no root. Each packet is checked byte by byte against the spec,
 * and every checksum is recomputed here, independently of libnet, with a
 * one's-complement sum (RFC 1071) over the right pseudo-header (RFC 9293,
 * RFC 8200 section 8.1). SipHash-2-4 is checked against the reference test
 * vectors (key 00..0f, message 00..n-1).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "capture/decode.h"
#include "craft/cookie.h"
#include "craft/probe.h"
#include "engine/addr.h"
#include "engine/err.h"
#include "tests/helpers.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Adds bytes to a running one's-complement sum (odd tail padded with 0). */
static uint32_t sum_add(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += be16(p + i);
    if (n % 2)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

/* Folds the sum to 16 bits; a region with a correct checksum gives 0xffff. */
static uint16_t sum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Sum of the IPv4 or IPv6 pseudo-header for a transport segment. */
static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, size_t l4len)
{
    uint8_t tail[8] = {0};
    uint32_t s;

    if ((ip[0] >> 4) == 4) {
        s = sum_add(0, ip + 12, 8); /* src, dst */
        tail[0] = 0;
        tail[1] = proto;
        tail[2] = (uint8_t)(l4len >> 8);
        tail[3] = (uint8_t)l4len;
        return sum_add(s, tail, 4);
    }
    s = sum_add(0, ip + 8, 32); /* src, dst */
    tail[0] = (uint8_t)(l4len >> 24);
    tail[1] = (uint8_t)(l4len >> 16);
    tail[2] = (uint8_t)(l4len >> 8);
    tail[3] = (uint8_t)l4len;
    tail[7] = proto;
    return sum_add(s, tail, 8);
}

static const uint8_t src4[4] = {192, 0, 2, 10};
static const uint8_t dst4[4] = {198, 51, 100, 77};
static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0,    0,    0,    0,    0, 0, 0, 0x0a};
static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xee, 0,   0, 0,
                                 0,    0,    0,    0,    0,    0x12, 0x34};

static struct sp_probe_spec make_spec(enum sp_probe_kind kind, int family)
{
    struct sp_probe_spec s;

    memset(&s, 0, sizeof(s));
    s.kind = kind;
    if (family == 4) {
        sp_addr_set4(&s.src, src4);
        sp_addr_set4(&s.dst, dst4);
    } else {
        sp_addr_set6(&s.src, src6);
        sp_addr_set6(&s.dst, dst6);
    }
    s.ttl = 7;
    s.ip_id = 0xbeef;
    s.sport = 40001;
    s.dport = 443;
    s.seq = 0xdeadbeef;
    s.icmp_id = 0x1357;
    s.icmp_seq = 0x2468;
    return s;
}

static void check_ipv4(const uint8_t *p, long n, uint8_t proto, uint8_t ttl,
                       uint16_t id)
{
    CU_ASSERT_EQUAL(p[0], 0x45); /* version 4, IHL 5 */
    CU_ASSERT_EQUAL(p[1], 0);    /* TOS */
    CU_ASSERT_EQUAL(be16(p + 2), n);
    CU_ASSERT_EQUAL(be16(p + 4), id);
    CU_ASSERT_EQUAL(be16(p + 6), 0x4000); /* DF, offset 0 */
    CU_ASSERT_EQUAL(p[8], ttl);
    CU_ASSERT_EQUAL(p[9], proto);
    CU_ASSERT_EQUAL(memcmp(p + 12, src4, 4), 0);
    CU_ASSERT_EQUAL(memcmp(p + 16, dst4, 4), 0);
    CU_ASSERT_NOT_EQUAL(be16(p + 10), 0);
    CU_ASSERT_EQUAL(sum_fold(sum_add(0, p, 20)), 0xffff);
}

static void check_ipv6(const uint8_t *p, long n, uint8_t nh, uint8_t hlim)
{
    CU_ASSERT_EQUAL(be32(p), 0x60000000u); /* version 6, tc 0, flow 0 */
    CU_ASSERT_EQUAL(be16(p + 4), n - 40);  /* payload length */
    CU_ASSERT_EQUAL(p[6], nh);
    CU_ASSERT_EQUAL(p[7], hlim);
    CU_ASSERT_EQUAL(memcmp(p + 8, src6, 16), 0);
    CU_ASSERT_EQUAL(memcmp(p + 24, dst6, 16), 0);
}

static void check_syn(const uint8_t *t, size_t tlen,
                      const struct sp_probe_spec *s)
{
    CU_ASSERT_EQUAL(tlen, 20);
    CU_ASSERT_EQUAL(be16(t), s->sport);
    CU_ASSERT_EQUAL(be16(t + 2), s->dport);
    CU_ASSERT_EQUAL(be32(t + 4), s->seq);
    CU_ASSERT_EQUAL(be32(t + 8), 0); /* ack */
    CU_ASSERT_EQUAL(t[12], 0x50);    /* data offset 5, no options */
    CU_ASSERT_EQUAL(t[13], 0x02);    /* SYN only */
    CU_ASSERT_EQUAL(be16(t + 14), 64240);
    CU_ASSERT_EQUAL(be16(t + 18), 0); /* urgent pointer */
}

static void check_echo(const uint8_t *m, size_t mlen, uint8_t type,
                       const struct sp_probe_spec *s)
{
    CU_ASSERT_EQUAL(mlen, 8 + 16);
    CU_ASSERT_EQUAL(m[0], type);
    CU_ASSERT_EQUAL(m[1], 0);
    CU_ASSERT_EQUAL(be16(m + 4), s->icmp_id);
    CU_ASSERT_EQUAL(be16(m + 6), s->icmp_seq);
    CU_ASSERT_EQUAL(memcmp(m + 8, "synprobe", 8), 0);
}

static void test_build_syn_v4(void)
{
    struct sp_probe_spec s = make_spec(SP_PROBE_SYN, 4);
    struct sp_err err = {0};
    uint8_t p[128];
    long n = sp_craft_build(&s, p, sizeof(p), &err);

    CU_ASSERT_EQUAL_FATAL(n, 40);
    check_ipv4(p, n, 6, 7, 0xbeef);
    check_syn(p + 20, (size_t)n - 20, &s);
    CU_ASSERT_EQUAL(sum_fold(sum_add(pseudo_sum(p, 6, (size_t)n - 20), p + 20,
                                     (size_t)n - 20)),
                    0xffff);
    /* The checks can fail: one flipped bit breaks both sums. */
    p[13] ^= 0x01;
    CU_ASSERT_NOT_EQUAL(sum_fold(sum_add(0, p, 20)), 0xffff);
    CU_ASSERT_NOT_EQUAL(sum_fold(sum_add(pseudo_sum(p, 6, (size_t)n - 20),
                                         p + 20, (size_t)n - 20)),
                        0xffff);
}

static void test_build_syn_v6(void)
{
    struct sp_probe_spec s = make_spec(SP_PROBE_SYN, 6);
    struct sp_err err = {0};
    uint8_t p[128];
    long n;

    s.ttl = 64;
    n = sp_craft_build(&s, p, sizeof(p), &err);
    CU_ASSERT_EQUAL_FATAL(n, 60);
    check_ipv6(p, n, 6, 64);
    check_syn(p + 40, (size_t)n - 40, &s);
    CU_ASSERT_EQUAL(sum_fold(sum_add(pseudo_sum(p, 6, (size_t)n - 40), p + 40,
                                     (size_t)n - 40)),
                    0xffff);
}

static void test_build_echo_v4(void)
{
    struct sp_probe_spec s = make_spec(SP_PROBE_ECHO, 4);
    struct sp_err err = {0};
    uint8_t p[128];
    long n;

    s.ttl = 1;
    s.ip_id = 1;
    n = sp_craft_build(&s, p, sizeof(p), &err);
    CU_ASSERT_EQUAL_FATAL(n, 44);
    check_ipv4(p, n, 1, 1, 1);
    check_echo(p + 20, (size_t)n - 20, 8, &s);
    /* ICMPv4 has no pseudo-header. */
    CU_ASSERT_EQUAL(sum_fold(sum_add(0, p + 20, (size_t)n - 20)), 0xffff);
}

static void test_build_echo_v6(void)
{
    struct sp_probe_spec s = make_spec(SP_PROBE_ECHO, 6);
    struct sp_err err = {0};
    uint8_t p[128];
    long n;

    s.ttl = 255;
    n = sp_craft_build(&s, p, sizeof(p), &err);
    CU_ASSERT_EQUAL_FATAL(n, 64);
    check_ipv6(p, n, 58, 255);
    check_echo(p + 40, (size_t)n - 40, 128, &s);
    CU_ASSERT_EQUAL(sum_fold(sum_add(pseudo_sum(p, 58, (size_t)n - 40), p + 40,
                                     (size_t)n - 40)),
                    0xffff);
}

/* Many different specs: every field lands and every checksum stays right. */
static void test_build_sweep(void)
{
    struct sp_err err = {0};
    uint8_t p[128];

    for (unsigned i = 0; i < 64; i++) {
        int fam = (i & 1) ? 6 : 4;
        enum sp_probe_kind k = (i & 2) ? SP_PROBE_ECHO : SP_PROBE_SYN;
        struct sp_probe_spec s = make_spec(k, fam);
        size_t ipl = fam == 4 ? 20 : 40;
        uint8_t l4p = k == SP_PROBE_SYN ? 6 : (fam == 4 ? 1 : 58);
        long n;

        s.ttl = (uint8_t)(i * 37 + 1);
        s.ip_id = (uint16_t)(i * 7919u);
        s.sport = (uint16_t)(1024 + i * 811u);
        s.dport = (uint16_t)(i * 65521u);
        s.seq = i * 0x9e3779b9u;
        s.icmp_id = (uint16_t)~s.sport;
        s.icmp_seq = (uint16_t)(i * 257u);
        n = sp_craft_build(&s, p, sizeof(p), &err);
        CU_ASSERT_FATAL(n > 0);
        if (fam == 4) {
            check_ipv4(p, n, l4p, s.ttl, s.ip_id);
        } else {
            check_ipv6(p, n, l4p, s.ttl);
        }
        if (k == SP_PROBE_SYN)
            check_syn(p + ipl, (size_t)n - ipl, &s);
        else
            check_echo(p + ipl, (size_t)n - ipl, fam == 4 ? 8 : 128, &s);
        uint32_t ps = (fam == 4 && k == SP_PROBE_ECHO)
                          ? 0
                          : pseudo_sum(p, l4p, (size_t)n - ipl);
        CU_ASSERT_EQUAL(sum_fold(sum_add(ps, p + ipl, (size_t)n - ipl)),
                        0xffff);
    }
}

/* Our own decoder reads back exactly what the spec asked for. */
static void test_build_decode(void)
{
    struct sp_err err = {0};
    uint8_t p[128];

    for (unsigned i = 0; i < 4; i++) {
        int fam = (i & 1) ? 6 : 4;
        enum sp_probe_kind k = (i & 2) ? SP_PROBE_ECHO : SP_PROBE_SYN;
        struct sp_probe_spec s = make_spec(k, fam);
        struct sp_packet pkt;
        long n = sp_craft_build(&s, p, sizeof(p), &err);

        CU_ASSERT_FATAL(n > 0);
        CU_ASSERT_EQUAL_FATAL(sp_decode(SP_LINK_RAW, p, (size_t)n, &pkt),
                              SP_DECODE_OK);
        CU_ASSERT(pkt.have & SP_HAVE_IP);
        CU_ASSERT(sp_addr_eq(&pkt.src, &s.src));
        CU_ASSERT(sp_addr_eq(&pkt.dst, &s.dst));
        CU_ASSERT_EQUAL(pkt.ttl, s.ttl);
        CU_ASSERT_EQUAL(pkt.tos, 0);
        CU_ASSERT_FALSE(pkt.frag_later);
        CU_ASSERT_FALSE(pkt.more_frags);
        if (fam == 4)
            CU_ASSERT_EQUAL(pkt.ip_id, s.ip_id);
        if (k == SP_PROBE_SYN) {
            CU_ASSERT_TRUE(sp_packet_is_tcp(&pkt));
            CU_ASSERT_EQUAL(pkt.proto, SP_PROTO_TCP);
            CU_ASSERT_EQUAL(pkt.sport, s.sport);
            CU_ASSERT_EQUAL(pkt.dport, s.dport);
            CU_ASSERT_EQUAL(pkt.seq, s.seq);
            CU_ASSERT_EQUAL(pkt.ack, 0);
            CU_ASSERT_EQUAL(pkt.tcp_flags, SP_TCP_SYN);
            CU_ASSERT_EQUAL(pkt.window, 64240);
            CU_ASSERT_EQUAL(pkt.tcp_optlen, 0);
            CU_ASSERT_EQUAL(pkt.payload_len, 0);
        } else {
            CU_ASSERT(pkt.have & SP_HAVE_ICMP);
            CU_ASSERT_EQUAL(pkt.proto,
                            fam == 4 ? SP_PROTO_ICMP : SP_PROTO_ICMP6);
            CU_ASSERT_EQUAL(sp_icmp_kind(&pkt), SP_ICMP_ECHO_REQUEST);
            CU_ASSERT_EQUAL(pkt.icmp_type, fam == 4 ? 8 : 128);
            CU_ASSERT_EQUAL(pkt.icmp_code, 0);
            CU_ASSERT_EQUAL(pkt.icmp_id, s.icmp_id);
            CU_ASSERT_EQUAL(pkt.icmp_seq, s.icmp_seq);
        }
    }
}

static void test_build_errors(void)
{
    struct sp_probe_spec s = make_spec(SP_PROBE_SYN, 4);
    struct sp_err err = {0};
    uint8_t p[128];

    CU_ASSERT_EQUAL(sp_craft_build(&s, p, 39, &err), SP_EINVAL);
    CU_ASSERT_EQUAL(err.code, SP_EINVAL);
    CU_ASSERT_EQUAL(sp_craft_build(&s, p, 40, &err), 40);

    sp_addr_set6(&s.dst, dst6);
    CU_ASSERT_EQUAL(sp_craft_build(&s, p, sizeof(p), &err), SP_EINVAL);
    s = make_spec(SP_PROBE_SYN, 4);
    s.src.family = s.dst.family = 0;
    CU_ASSERT_EQUAL(sp_craft_build(&s, p, sizeof(p), &err), SP_EINVAL);
    s = make_spec(SP_PROBE_ECHO, 6);
    s.kind = (enum sp_probe_kind)7;
    CU_ASSERT_EQUAL(sp_craft_build(&s, p, sizeof(p), NULL), SP_EINVAL);
    s = make_spec(SP_PROBE_ECHO, 6);
    CU_ASSERT_EQUAL(sp_craft_build(&s, p, 63, NULL), SP_EINVAL);
}

static const struct sp_cookie_key ref_key = {UINT64_C(0x0706050403020100),
                                             UINT64_C(0x0f0e0d0c0b0a0908)};

static void test_siphash_vectors(void)
{
    /* Reference outputs for key 00..0f and message 00..len-1. */
    static const struct {
        size_t len;
        uint64_t out;
    } v[] = {
        {0, UINT64_C(0x726fdb47dd0e0e31)},  {1, UINT64_C(0x74f839c593dc67fd)},
        {7, UINT64_C(0xab0200f58b01d137)},  {8, UINT64_C(0x93f5f5799a932462)},
        {15, UINT64_C(0xa129ca6149be45e5)}, {16, UINT64_C(0x3f2acc7f57c29bdb)},
        {63, UINT64_C(0x958a324ceb064572)},
    };
    uint8_t msg[64];

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        CU_ASSERT_EQUAL(sp_siphash(&ref_key, msg, v[i].len), v[i].out);
}

static void test_cookie_inputs(void)
{
    struct sp_addr s4, d4, s6, d6, x;
    uint64_t base, c[16];
    size_t n = 0;

    sp_addr_set4(&s4, src4);
    sp_addr_set4(&d4, dst4);
    sp_addr_set6(&s6, src6);
    sp_addr_set6(&d6, dst6);
    base = sp_cookie(&ref_key, &s4, &d4, 443, 6, 1000);
    CU_ASSERT_EQUAL(sp_cookie(&ref_key, &s4, &d4, 443, 6, 1000), base);

    c[n++] = base;
    c[n++] = sp_cookie(&ref_key, &d4, &s4, 443, 6, 1000); /* swapped */
    x = d4;
    x.b[3] ^= 1;
    c[n++] = sp_cookie(&ref_key, &s4, &x, 443, 6, 1000);
    x = s4;
    x.b[0] ^= 0x80;
    c[n++] = sp_cookie(&ref_key, &x, &d4, 443, 6, 1000);
    c[n++] = sp_cookie(&ref_key, &s4, &d4, 444, 6, 1000);
    c[n++] = sp_cookie(&ref_key, &s4, &d4, 443, 1, 1000);
    c[n++] = sp_cookie(&ref_key, &s4, &d4, 443, 6, 1001);
    c[n++] = sp_cookie(&ref_key, &s4, &d4, 443, 6, 1000u | 1u << 31);
    c[n++] = sp_cookie(&ref_key, &s6, &d6, 443, 6, 1000);
    x = d6;
    x.b[15] ^= 1;
    c[n++] = sp_cookie(&ref_key, &s6, &x, 443, 6, 1000);
    /* An IPv6 address whose first bytes equal an IPv4 one. */
    x = d6;
    memset(x.b, 0, 16);
    memcpy(x.b, dst4, 4);
    c[n++] = sp_cookie(&ref_key, &s4, &x, 443, 6, 1000);

    struct sp_cookie_key k2 = ref_key;
    k2.k1 ^= 1;
    c[n++] = sp_cookie(&k2, &s4, &d4, 443, 6, 1000);

    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            CU_ASSERT_NOT_EQUAL(c[a], c[b]);
}

static void test_cookie_key_init(void)
{
    struct sp_cookie_key a, b;
    struct sp_addr s4, d4;

    CU_ASSERT_EQUAL_FATAL(sp_cookie_key_init(&a), 0);
    CU_ASSERT_EQUAL_FATAL(sp_cookie_key_init(&b), 0);
    CU_ASSERT(a.k0 != b.k0 || a.k1 != b.k1);
    sp_addr_set4(&s4, src4);
    sp_addr_set4(&d4, dst4);
    CU_ASSERT_NOT_EQUAL(sp_cookie(&a, &s4, &d4, 80, 6, 1),
                        sp_cookie(&b, &s4, &d4, 80, 6, 1));
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"build_syn_v4", test_build_syn_v4},
        {"build_syn_v6", test_build_syn_v6},
        {"build_echo_v4", test_build_echo_v4},
        {"build_echo_v6", test_build_echo_v6},
        {"build_sweep", test_build_sweep},
        {"build_decode", test_build_decode},
        {"build_errors", test_build_errors},
        {"siphash_vectors", test_siphash_vectors},
        {"cookie_inputs", test_cookie_inputs},
        {"cookie_key_init", test_cookie_key_init},
    };
    return sp_test_run("craft", cases, sizeof(cases) / sizeof(cases[0]));
}
