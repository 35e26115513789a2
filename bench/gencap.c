/*
 * gencap.c - writes a large synthetic capture and its ground truth, for the
 * offline benchmark (bench/offline_bench.sh).
 *
 *   gencap [-r RATE] [-w WAIT2] ATTEMPTS SEED OUT.pcap TRUTH.txt
 *
 * Attempts start RATE per second of capture time (default 2000) and their
 * packets interleave, so only a few thousand are open at any moment. Every
 * packet is built by hand (Ethernet, IPv4 or IPv6, TCP, ICMP, UDP; IP header
 * checksums are filled in, transport checksums are 0) and written to a
 * nanosecond pcap with strictly increasing timestamps. Addresses stay in the
 * lab ranges of DESIGN.md: clients in 198.18.0.0/17 and fd00:c::/64, servers
 * in 198.19.0.0/16 and fd00:5::/64, routers in 198.18.128.0/17 and
 * fd00:f::/64.
 *
 * The truth file has one line per attempt, as DESIGN.md defines them:
 *   client client_port target port verdict reason
 * Trace probes (SYNs that drew time-exceeded, and silent TTL-limited SYNs to
 * a traced target) are not attempts and get no line. An attempt nobody
 * answered is filtered/no-response if at least 3 s of capture follow its
 * last SYN, else unknown/capture-ended.
 *
 * On stdout, key=value lines: attempts, packets, seconds, max_open (attempt
 * records an analyser holds at once with --wait 3: from the first SYN to 3 s
 * after the last SYN or the first answer, trace probes included) and
 * max_open_w2 (the same with --wait WAIT2).
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define MS       (NS_PER_S / 1000)
#define US       (NS_PER_S / 1000000)
#define WAIT_NS  (3 * NS_PER_S)
#define T_BASE   (1700000000LL * NS_PER_S)

enum { NCLIENT = 32768, NSRV4 = 1024, NSRV6 = 256, NPATH = 64 };
enum { K_TCP = 1, K_ICMP, K_UDP };
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

/* ---- deterministic PRNG (splitmix64) ------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [0, n) */
static uint32_t rndn(uint32_t n)
{
    return (uint32_t)((rnd() >> 32) * n >> 32);
}

static bool chance(unsigned per_mille)
{
    return rndn(1000) < per_mille;
}

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* ---- addresses ------------------------------------------------------------
 */

struct addr {
    uint8_t fam; /* 4 or 6 */
    uint8_t b[16];
};

static struct addr client_addr(int fam, uint32_t i)
{
    struct addr a;

    memset(&a, 0, sizeof(a));
    a.fam = (uint8_t)fam;
    if (fam == 4) {
        a.b[0] = 198;
        a.b[1] = 18;
        a.b[2] = (uint8_t)(i >> 8 & 0x7f);
        a.b[3] = (uint8_t)i;
    } else {
        a.b[0] = 0xfd;
        a.b[3] = 0x0c;
        a.b[13] = (uint8_t)(i >> 16);
        a.b[14] = (uint8_t)(i >> 8);
        a.b[15] = (uint8_t)i;
    }
    return a;
}

static struct addr server_addr(int fam, uint32_t i)
{
    struct addr a;

    memset(&a, 0, sizeof(a));
    a.fam = (uint8_t)fam;
    if (fam == 4) {
        a.b[0] = 198;
        a.b[1] = 19;
        a.b[2] = (uint8_t)(i / 250);
        a.b[3] = (uint8_t)(i % 250 + 1);
    } else {
        a.b[0] = 0xfd;
        a.b[3] = 0x05;
        a.b[14] = (uint8_t)(i >> 8);
        a.b[15] = (uint8_t)(i + 1);
    }
    return a;
}

static struct addr router_addr(int fam, uint32_t path, int hop)
{
    struct addr a;

    memset(&a, 0, sizeof(a));
    a.fam = (uint8_t)fam;
    if (fam == 4) {
        a.b[0] = 198;
        a.b[1] = 18;
        a.b[2] = (uint8_t)(128 + path);
        a.b[3] = (uint8_t)hop;
    } else {
        a.b[0] = 0xfd;
        a.b[3] = 0x0f;
        a.b[13] = (uint8_t)path;
        a.b[15] = (uint8_t)hop;
    }
    return a;
}

static const char *addr_str(const struct addr *a, char *buf, size_t n)
{
    return inet_ntop(a->fam == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)n);
}

/* A server's fixed traits: its distance in hops (2..15) and initial TTL. */
struct server {
    struct addr a;
    uint32_t idx;
    int dist;
    int init_ttl;
};

static struct server pick_server(int fam)
{
    struct server s;
    uint64_t h;

    s.idx = fam == 4 ? rndn(NSRV4) : rndn(NSRV6);
    s.a = server_addr(fam, s.idx);
    h = hash64((uint64_t)s.idx * 2 + (fam == 6));
    s.dist = 2 + (int)(h % 14);
    h >>= 8;
    if (fam == 6)
        s.init_ttl = 64;
    else
        s.init_ttl = h % 10 < 7 ? 64 : h % 10 < 9 ? 128 : 255;
    return s;
}

static uint8_t server_ttl(const struct server *s)
{
    return (uint8_t)(s->init_ttl - s->dist + 1);
}

/* What a box at `hop` hops with initial TTL 64 sends arrives with. */
static uint8_t ttl_from(int hop)
{
    return (uint8_t)(64 - hop + 1);
}

/* ---- scheduled packets: a binary min-heap on (time, order) -------------- */

struct pkt {
    int64_t t;
    uint64_t ord;
    uint32_t pend; /* index into pending[] for a SYN of an unanswered
                      attempt, else UINT32_MAX */
    uint8_t kind;  /* K_TCP, K_ICMP, K_UDP */
    uint8_t flags; /* TCP flags */
    uint8_t ttl;   /* the packet's own TTL / hop limit */
    uint8_t itype; /* ICMP error type and code */
    uint8_t icode;
    uint8_t qttl;   /* TTL in the quoted header */
    uint8_t qshort; /* quote only 8 bytes of TCP (RFC 792) */
    uint16_t sport, dport, paylen;
    uint32_t seq, ack;
    struct addr src, dst; /* ICMP: the quoted SYN's addresses */
    struct addr rtr;      /* ICMP: the sender of the error */
};

static struct pkt *heap;
static size_t heap_n, heap_cap;
static uint64_t heap_ord;

static bool pkt_before(const struct pkt *a, const struct pkt *b)
{
    return a->t < b->t || (a->t == b->t && a->ord < b->ord);
}

static void heap_push(struct pkt *p)
{
    size_t i;

    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 4096;
        heap = realloc(heap, heap_cap * sizeof(*heap));
        if (heap == NULL) {
            perror("gencap");
            exit(1);
        }
    }
    p->ord = heap_ord++;
    i = heap_n++;
    while (i > 0 && pkt_before(p, &heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = *p;
}

static void heap_pop(struct pkt *out)
{
    struct pkt last;
    size_t i = 0;

    *out = heap[0];
    last = heap[--heap_n];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_n)
            break;
        if (c + 1 < heap_n && pkt_before(&heap[c + 1], &heap[c]))
            c++;
        if (!pkt_before(&heap[c], &last))
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (heap_n > 0)
        heap[i] = last;
}

static void push_tcp(int64_t t, const struct addr *src, const struct addr *dst,
                     uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, uint8_t ttl, uint16_t paylen, uint32_t pend)
{
    struct pkt p;

    memset(&p, 0, sizeof(p));
    p.t = t;
    p.kind = K_TCP;
    p.src = *src;
    p.dst = *dst;
    p.sport = sport;
    p.dport = dport;
    p.seq = seq;
    p.ack = ack;
    p.flags = flags;
    p.ttl = ttl;
    p.paylen = paylen;
    p.pend = pend;
    heap_push(&p);
}

/* An ICMP error from rtr about the SYN client:cport -> server:port, isn. */
static void push_icmp(int64_t t, const struct addr *rtr, uint8_t ttl,
                      uint8_t type, uint8_t code, const struct addr *client,
                      const struct addr *server, uint16_t cport, uint16_t port,
                      uint32_t isn, uint8_t qttl)
{
    struct pkt p;

    memset(&p, 0, sizeof(p));
    p.t = t;
    p.kind = K_ICMP;
    p.rtr = *rtr;
    p.ttl = ttl;
    p.itype = type;
    p.icode = code;
    p.src = *client;
    p.dst = *server;
    p.sport = cport;
    p.dport = port;
    p.seq = isn;
    p.qttl = qttl;
    p.qshort = client->fam == 4 && chance(500);
    p.pend = UINT32_MAX;
    heap_push(&p);
}

static void push_udp(int64_t t, const struct addr *src, const struct addr *dst,
                     uint16_t sport, uint16_t dport, uint16_t paylen)
{
    struct pkt p;

    memset(&p, 0, sizeof(p));
    p.t = t;
    p.kind = K_UDP;
    p.src = *src;
    p.dst = *dst;
    p.sport = sport;
    p.dport = dport;
    p.ttl = 64;
    p.paylen = paylen;
    p.pend = UINT32_MAX;
    heap_push(&p);
}

/* ---- packet bytes ----------------------------------------------------------
 */

static uint8_t *put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
    return b + 2;
}

static uint8_t *put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
    return b + 4;
}

static uint16_t ip4_sum(const uint8_t *h)
{
    uint32_t s = 0;

    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* An IP header for l4len bytes of protocol proto; returns the end. */
static uint8_t *put_ip(uint8_t *b, const struct addr *src,
                       const struct addr *dst, uint8_t proto, uint8_t ttl,
                       size_t l4len, uint8_t tos, uint16_t id)
{
    if (src->fam == 4) {
        b[0] = 0x45;
        b[1] = tos;
        put16(b + 2, (uint16_t)(20 + l4len));
        put16(b + 4, id);
        put16(b + 6, 0x4000); /* DF */
        b[8] = ttl;
        b[9] = proto;
        put16(b + 10, 0);
        memcpy(b + 12, src->b, 4);
        memcpy(b + 16, dst->b, 4);
        put16(b + 10, ip4_sum(b));
        return b + 20;
    }
    put32(b, 0x60000000u | (uint32_t)tos << 20);
    put16(b + 4, (uint16_t)l4len);
    b[6] = proto;
    b[7] = ttl;
    memcpy(b + 8, src->b, 16);
    memcpy(b + 24, dst->b, 16);
    return b + 40;
}

/* A TCP header; SYNs and SYN-ACKs carry Linux's 20 bytes of options. */
static uint8_t *put_tcp(uint8_t *b, uint16_t sport, uint16_t dport,
                        uint32_t seq, uint32_t ack, uint8_t flags,
                        uint16_t paylen)
{
    bool opts = flags & F_SYN;
    size_t hl = opts ? 40 : 20;

    put16(b, sport);
    put16(b + 2, dport);
    put32(b + 4, seq);
    put32(b + 8, ack);
    b[12] = (uint8_t)(hl / 4 << 4);
    b[13] = flags;
    put16(b + 14, (flags & F_RST) ? 0 : 64240);
    put16(b + 16, 0); /* checksum left 0 */
    put16(b + 18, 0);
    if (opts) {
        static const uint8_t o[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                      0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
        memcpy(b + 20, o, sizeof(o));
    }
    memset(b + hl, 0, paylen);
    return b + hl + paylen;
}

static const uint8_t mac_client[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x01};
static const uint8_t mac_gw[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe};

/* Builds the frame of p into buf; returns its length. */
static size_t build(const struct pkt *p, uint8_t *buf)
{
    const struct addr *src = p->kind == K_ICMP ? &p->rtr : &p->src;
    bool out =
        src->fam == 4 ? src->b[1] == 18 && src->b[2] < 128 : src->b[3] == 0x0c;
    int fam = src->fam;
    uint8_t *b = buf + 14, *l4, *end;
    size_t l4len;

    memcpy(buf, out ? mac_gw : mac_client, 6);
    memcpy(buf + 6, out ? mac_client : mac_gw, 6);
    put16(buf + 12, fam == 4 ? 0x0800 : 0x86dd);
    l4 = b + (fam == 4 ? 20 : 40);
    switch (p->kind) {
    case K_TCP:
        end = put_tcp(l4, p->sport, p->dport, p->seq, p->ack, p->flags,
                      p->paylen);
        l4len = (size_t)(end - l4);
        put_ip(b, &p->src, &p->dst, 6, p->ttl, l4len, 0,
               (uint16_t)(p->seq ^ p->sport));
        break;
    case K_ICMP: {
        uint8_t *q = l4 + 8, *qt;
        l4[0] = p->itype;
        l4[1] = p->icode;
        put16(l4 + 2, 0);
        put32(l4 + 4, 0);
        /* the quoted SYN, as it was when it died */
        qt = put_ip(q, &p->src, &p->dst, 6, p->qttl, 40, 0,
                    (uint16_t)(p->seq ^ p->sport));
        end = put_tcp(qt, p->sport, p->dport, p->seq, 0, F_SYN, 0);
        if (p->qshort)
            end = qt + 8;
        l4len = (size_t)(end - l4);
        put_ip(b, &p->rtr, &p->src, fam == 4 ? 1 : 58, p->ttl, l4len, 0xc0, 0);
        break;
    }
    default: /* K_UDP */
        put16(l4, p->sport);
        put16(l4 + 2, p->dport);
        put16(l4 + 4, (uint16_t)(8 + p->paylen));
        put16(l4 + 6, 0);
        memset(l4 + 8, 0, p->paylen);
        l4len = 8u + p->paylen;
        put_ip(b, &p->src, &p->dst, 17, p->ttl, l4len, 0, 0);
        break;
    }
    return 14 + (size_t)(l4 - b) + l4len;
}

/* ---- attempts and truth ------------------------------------------------- */

struct pending { /* an attempt nobody answers: decided at the end */
    char line[112];
    int64_t last_syn;
};

static struct pending *pending;
static size_t npending, cap_pending;
static FILE *truth;
static uint64_t nattempts;

/* For max_open: each analyser record's first SYN and the time its wait
 * starts (last SYN or first answer). */
static int64_t *ostart, *obase;
static size_t nopen, cap_open;

static uint32_t next_slot;

/* A fresh client address and port: no 4-tuple is ever reused. */
static void new_client(int fam, struct addr *a, uint16_t *port)
{
    uint32_t s = next_slot++;

    *a = client_addr(fam, s % NCLIENT);
    *port = (uint16_t)(1024 + (s / NCLIENT * 7919u) % 50000u);
}

static void note_open(int64_t start, int64_t base)
{
    if (nopen == cap_open) {
        cap_open = cap_open ? cap_open * 2 : 1 << 16;
        ostart = realloc(ostart, cap_open * sizeof(*ostart));
        obase = realloc(obase, cap_open * sizeof(*obase));
        if (ostart == NULL || obase == NULL) {
            perror("gencap");
            exit(1);
        }
    }
    ostart[nopen] = start;
    obase[nopen] = base;
    nopen++;
}

/* The attempt's key: client client_port target port. */
static void truth_key(char *buf, size_t n, const struct addr *client,
                      uint16_t cport, const struct addr *target, uint16_t port)
{
    char c[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];

    snprintf(buf, n, "%s %u %s %u", addr_str(client, c, sizeof(c)), cport,
             addr_str(target, t, sizeof(t)), port);
}

static void truth_answered(const struct addr *client, uint16_t cport,
                           const struct addr *target, uint16_t port,
                           const char *verdict, const char *reason)
{
    char line[112];

    truth_key(line, sizeof(line), client, cport, target, port);
    fprintf(truth, "%s %s %s\n", line, verdict, reason);
    nattempts++;
}

/* Registers an attempt that stays silent; returns its pending index. */
static uint32_t truth_silent(const struct addr *client, uint16_t cport,
                             const struct addr *target, uint16_t port)
{
    if (npending == cap_pending) {
        cap_pending = cap_pending ? cap_pending * 2 : 1 << 14;
        pending = realloc(pending, cap_pending * sizeof(*pending));
        if (pending == NULL) {
            perror("gencap");
            exit(1);
        }
    }
    truth_key(pending[npending].line, sizeof(pending[npending].line), client,
              cport, target, port);
    pending[npending].last_syn = 0;
    nattempts++;
    return (uint32_t)npending++;
}

static const uint16_t ports_open[] = {22,   80,   443,  8080,
                                      8443, 3306, 5432, 6379};
static const uint16_t ports_closed[] = {23,   81,   8000,  8081,
                                        9000, 9090, 10000, 11211};
static const uint16_t ports_filt[] = {135,  139,  445,  1433,
                                      3389, 5900, 6000, 9200};
static const uint16_t ports_icmp[] = {111,  161,  389, 2049,
                                      5060, 5061, 873, 636};
static const uint16_t ports_mbox[] = {25, 110, 143, 465, 587, 993, 995, 1723};
static const uint16_t ports_trace[] = {9100, 9443};
static const uint16_t ports_unr[] = {7000, 7001};

#define PICK(arr) ((arr)[rndn(sizeof(arr) / sizeof((arr)[0]))])

/* The round trip to a server at dist hops, in ns. */
static int64_t rtt_to(int dist)
{
    return 150 * US + dist * 300 * US + (int64_t)rndn(200) * US;
}

/* Sends the SYN (and retransmissions at +1 s, +3 s) of one attempt; returns
 * the time of the last one. */
static int64_t syns(int64_t t0, int count, const struct addr *c, uint16_t cport,
                    const struct server *s, uint16_t port, uint32_t isn,
                    uint8_t ttl, uint32_t pend)
{
    static const int64_t at[] = {0, 1 * NS_PER_S, 3 * NS_PER_S, 7 * NS_PER_S};
    int64_t t = t0;

    for (int i = 0; i < count; i++) {
        t = t0 + at[i] + (i ? (int64_t)rndn(1000) * US / 100 : 0);
        push_tcp(t, c, &s->a, cport, port, isn, 0, F_SYN, ttl, 0, pend);
    }
    return t;
}

/* An open attempt, with a handshake and sometimes a short exchange. */
static void gen_open(int64_t t0, const struct server *s, uint16_t port)
{
    struct addr c;
    uint16_t cport;
    uint32_t isn = (uint32_t)rnd(), sisn = (uint32_t)rnd();
    int n = chance(150) ? 2 : chance(60) ? 3 : 1;
    int64_t rtt = rtt_to(s->dist), last, ta;
    uint8_t st = server_ttl(s);

    new_client(s->a.fam, &c, &cport);
    last = syns(t0, n, &c, cport, s, port, isn, 64, UINT32_MAX);
    ta = last + rtt;
    push_tcp(ta, &s->a, &c, port, cport, sisn, isn + 1, F_SYN | F_ACK, st, 0,
             UINT32_MAX);
    if (chance(30)) /* the server retransmits its SYN-ACK */
        push_tcp(ta + NS_PER_S, &s->a, &c, port, cport, sisn, isn + 1,
                 F_SYN | F_ACK, st, 0, UINT32_MAX);
    push_tcp(ta + 20 * US, &c, &s->a, cport, port, isn + 1, sisn + 1, F_ACK, 64,
             0, UINT32_MAX);
    if (chance(400)) {
        int64_t t = ta + 40 * US;
        push_tcp(t, &c, &s->a, cport, port, isn + 1, sisn + 1, F_PSH | F_ACK,
                 64, 120, UINT32_MAX);
        t += rtt;
        push_tcp(t, &s->a, &c, port, cport, sisn + 1, isn + 121, F_PSH | F_ACK,
                 st, 900, UINT32_MAX);
        push_tcp(t + 30 * US, &c, &s->a, cport, port, isn + 121, sisn + 901,
                 F_FIN | F_ACK, 64, 0, UINT32_MAX);
        t += 30 * US + rtt;
        push_tcp(t, &s->a, &c, port, cport, sisn + 901, isn + 122,
                 F_FIN | F_ACK, st, 0, UINT32_MAX);
        push_tcp(t + 20 * US, &c, &s->a, cport, port, isn + 122, sisn + 902,
                 F_ACK, 64, 0, UINT32_MAX);
    }
    truth_answered(&c, cport, &s->a, port, "open", "syn-ack");
    note_open(t0, ta);
}

/* A closed port: the host's own RST|ACK (ack = isn + 1, sometimes isn). */
static void gen_closed(int64_t t0, const struct server *s, uint16_t port)
{
    struct addr c;
    uint16_t cport;
    uint32_t isn = (uint32_t)rnd();
    int n = chance(50) ? 2 : 1;
    int64_t last, ta;

    new_client(s->a.fam, &c, &cport);
    last = syns(t0, n, &c, cport, s, port, isn, 64, UINT32_MAX);
    ta = last + rtt_to(s->dist);
    push_tcp(ta, &s->a, &c, port, cport, 0, chance(50) ? isn : isn + 1,
             F_RST | F_ACK, server_ttl(s), 0, UINT32_MAX);
    truth_answered(&c, cport, &s->a, port, "closed", "rst");
    note_open(t0, ta);
}

/* Silence through all retries. */
static void gen_filtered(int64_t t0, const struct server *s, uint16_t port)
{
    struct addr c;
    uint16_t cport;
    uint32_t isn = (uint32_t)rnd();
    int n = chance(500) ? 3 : chance(600) ? 2 : 1;
    uint32_t pend;
    int64_t last;

    new_client(s->a.fam, &c, &cport);
    pend = truth_silent(&c, cport, &s->a, port);
    last = syns(t0, n, &c, cport, s, port, isn, 64, pend);
    note_open(t0, last);
}

/* An ICMP error decides: a filter's reject, or a router without a route. */
static void gen_icmp(int64_t t0, const struct server *s, uint16_t port,
                     bool unreach)
{
    struct addr c, r;
    uint16_t cport;
    uint32_t isn = (uint32_t)rnd();
    int fam = s->a.fam, hop, nsyn = 1;
    uint8_t type = fam == 4 ? 3 : 1, code;
    const char *verdict, *reason;
    int64_t t, ta;
    bool late = false;

    new_client(fam, &c, &cport);
    hop = 1 + (int)rndn((uint32_t)s->dist - 1); /* a router before the host */
    if (!unreach) {
        verdict = "rejected";
        if (chance(500)) {
            code = fam == 4 ? 3 : 4;
            reason = "icmp-port-unreachable";
            if (chance(500))
                hop = s->dist; /* the host's own firewall */
        } else {
            static const uint8_t adm4[] = {13, 13, 13, 9, 10};
            code = fam == 4 ? PICK(adm4) : 1;
            reason = "icmp-admin-prohibited";
        }
    } else {
        verdict = "unreachable";
        if (chance(500)) {
            code = 0;
            reason = "icmp-net-unreachable";
        } else {
            /* neighbour resolution fails at the last router: ~3 s late,
             * one error per queued SYN */
            code = fam == 4 ? 1 : 3;
            reason = "icmp-host-unreachable";
            hop = s->dist - 1;
            late = true;
            nsyn = 2;
        }
    }
    r = router_addr(fam, s->idx % NPATH, hop);
    if (hop == s->dist)
        r = s->a;
    t = syns(t0, nsyn, &c, cport, s, port, isn, 64, UINT32_MAX);
    if (late) {
        ta = t0 + 3 * NS_PER_S + 2 * MS;
        push_icmp(ta, &r, ttl_from(hop), type, code, &c, &s->a, cport, port,
                  isn, (uint8_t)(64 - hop + 1));
        push_icmp(ta + 50 * US, &r, ttl_from(hop), type, code, &c, &s->a, cport,
                  port, isn, (uint8_t)(64 - hop + 1));
    } else {
        ta = t + rtt_to(hop);
        push_icmp(ta, &r, ttl_from(hop), type, code, &c, &s->a, cport, port,
                  isn, (uint8_t)(64 - hop + 1));
        if (fam == 6) {
            /* Linux retries the SYN after an ICMPv6 error */
            int64_t t2 = t + NS_PER_S;
            push_tcp(t2, &c, &s->a, cport, port, isn, 0, F_SYN, 64, 0,
                     UINT32_MAX);
            push_icmp(t2 + rtt_to(hop), &r, ttl_from(hop), type, code, &c,
                      &s->a, cport, port, isn, (uint8_t)(64 - hop + 1));
        }
    }
    truth_answered(&c, cport, &s->a, port, verdict, reason);
    note_open(t0, ta);
}

/* A middlebox on the path resets in the host's name; the host's own SYN-ACK
 * to another port, just before, tells its distance. */
static void gen_middlebox(int64_t t0, const struct server *s, uint16_t port,
                          bool host_answers_too)
{
    struct addr c;
    uint16_t cport;
    uint32_t isn = (uint32_t)rnd();
    int m = 1 + (int)rndn((uint32_t)s->dist - 1);
    uint8_t ttl = chance(800) ? ttl_from(m) : (uint8_t)(255 - m + 1);
    int64_t last, ta;

    gen_open(t0 - 5 * MS, s, PICK(ports_open));
    new_client(s->a.fam, &c, &cport);
    last = syns(t0, 1, &c, cport, s, port, isn, 64, UINT32_MAX);
    ta = last + rtt_to(m);
    push_tcp(ta, &s->a, &c, port, cport, 0, isn + 1, F_RST | F_ACK, ttl, 0,
             UINT32_MAX);
    if (host_answers_too)
        push_tcp(last + rtt_to(s->dist) + MS, &s->a, &c, port, cport,
                 (uint32_t)rnd(), isn + 1, F_SYN | F_ACK, server_ttl(s), 0,
                 UINT32_MAX);
    truth_answered(&c, cport, &s->a, port, "rejected", "middlebox-rst");
    note_open(t0, ta);
}

/*
 * An IPv4 TCP traceroute: TTL 1..k expire at routers, k+1.. vanish (the
 * filter drops after hop k); these are trace probes. Then the full-TTL SYN,
 * the attempt, stays silent. With `open`, the port answers instead: the
 * TTL-limited SYNs that reach the host draw SYN-ACKs and are attempts.
 */
static void gen_trace(int64_t t0, const struct server *s, uint16_t port,
                      bool open)
{
    int k = open ? s->dist - 1 : 1 + (int)rndn((uint32_t)s->dist - 1);
    int maxttl = k + 2;
    struct addr c;
    uint16_t cport;
    uint32_t isn;
    int64_t t = t0, last;
    uint32_t pend;

    for (int ttl = 1; ttl <= maxttl; ttl++, t += 100 * US) {
        new_client(4, &c, &cport);
        isn = (uint32_t)rnd();
        push_tcp(t, &c, &s->a, cport, port, isn, 0, F_SYN, (uint8_t)ttl, 0,
                 UINT32_MAX);
        if (ttl <= k) {
            struct addr r = router_addr(4, s->idx % NPATH, ttl);
            int64_t ta = t + rtt_to(ttl);
            push_icmp(ta, &r, ttl_from(ttl), 11, 0, &c, &s->a, cport, port, isn,
                      1);
            note_open(t, ta);
        } else if (open) {
            int64_t ta = t + rtt_to(s->dist);
            push_tcp(ta, &s->a, &c, port, cport, (uint32_t)rnd(), isn + 1,
                     F_SYN | F_ACK, server_ttl(s), 0, UINT32_MAX);
            truth_answered(&c, cport, &s->a, port, "open", "syn-ack");
            note_open(t, ta);
        } else {
            note_open(t, t);
        }
    }
    new_client(4, &c, &cport);
    isn = (uint32_t)rnd();
    t += 10 * MS;
    if (open) {
        int64_t ta = t + rtt_to(s->dist);
        push_tcp(t, &c, &s->a, cport, port, isn, 0, F_SYN, 64, 0, UINT32_MAX);
        push_tcp(ta, &s->a, &c, port, cport, (uint32_t)rnd(), isn + 1,
                 F_SYN | F_ACK, server_ttl(s), 0, UINT32_MAX);
        truth_answered(&c, cport, &s->a, port, "open", "syn-ack");
        note_open(t, ta);
        return;
    }
    pend = truth_silent(&c, cport, &s->a, port);
    last = syns(t, 3, &c, cport, s, port, isn, 64, pend);
    note_open(t, last);
}

/* Traffic that answers nothing: DNS, and stray SYN-ACKs (backscatter). */
static void gen_noise(int64_t t0)
{
    struct addr c = client_addr(4, rndn(NCLIENT)), dns;
    struct server s = pick_server(chance(800) ? 4 : 6);

    memset(&dns, 0, sizeof(dns));
    dns.fam = 4;
    dns.b[0] = 198;
    dns.b[1] = 19;
    dns.b[2] = 255;
    dns.b[3] = 53;
    push_udp(t0, &c, &dns, (uint16_t)(30000 + rndn(30000)), 53, 40);
    push_udp(t0 + 400 * US, &dns, &c, 53, (uint16_t)(30000 + rndn(30000)), 120);
    if (chance(300)) {
        struct addr v = client_addr(s.a.fam, rndn(NCLIENT));
        push_tcp(t0 + 10 * US, &s.a, &v, PICK(ports_open),
                 (uint16_t)(60000 + rndn(5000)), (uint32_t)rnd(),
                 (uint32_t)rnd(), F_SYN | F_ACK, server_ttl(&s), 0, UINT32_MAX);
    }
}

static void gen_attempt(int64_t t0)
{
    uint32_t r = rndn(1000);
    int fam = chance(250) ? 6 : 4;
    struct server s;

    if (r >= 900 && r < 950) {
        s = pick_server(4);
        gen_trace(t0, &s, PICK(ports_trace), false);
        return;
    }
    if (r >= 985) {
        s = pick_server(4);
        gen_trace(t0, &s, PICK(ports_open), true);
        return;
    }
    s = pick_server(fam);
    if (r < 500)
        gen_open(t0, &s, PICK(ports_open));
    else if (r < 700)
        gen_closed(t0, &s, PICK(ports_closed));
    else if (r < 800)
        gen_filtered(t0, &s, PICK(ports_filt));
    else if (r < 850)
        gen_icmp(t0, &s, PICK(ports_icmp), false);
    else if (r < 900)
        gen_middlebox(t0, &s, PICK(ports_mbox), false);
    else if (r < 965)
        gen_icmp(t0, &s, PICK(ports_unr), true);
    else
        gen_middlebox(t0, &s, PICK(ports_mbox), true);
}

/* ---- main -----------------------------------------------------------------
 */

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The most records open at once when each stays until base + wait. */
static size_t max_open(int64_t wait)
{
    size_t i = 0, j = 0, cur = 0, best = 0;

    while (i < nopen) {
        if (j < nopen && obase[j] + wait <= ostart[i]) {
            cur--;
            j++;
        } else {
            cur++;
            i++;
            if (cur > best)
                best = cur;
        }
    }
    return best;
}

static void usage(void)
{
    fprintf(stderr, "usage: gencap [-r RATE] [-w WAIT2] ATTEMPTS SEED OUT.pcap "
                    "TRUTH.txt\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double rate = 2000, wait2 = 30;
    unsigned long long n, seed;
    pcap_t *pd;
    pcap_dumper_t *dump;
    uint8_t frame[2048];
    uint64_t started = 0, packets = 0;
    int64_t gap, next_start, last_t = 0;
    int o;

    while ((o = getopt(argc, argv, "r:w:")) != -1) {
        switch (o) {
        case 'r':
            rate = atof(optarg);
            break;
        case 'w':
            wait2 = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 4 || rate <= 0 || wait2 <= 0)
        usage();
    n = strtoull(argv[optind], NULL, 10);
    seed = strtoull(argv[optind + 1], NULL, 10);
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    gap = (int64_t)(NS_PER_S / rate);
    if (gap < 2)
        gap = 2;

    pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
                                              PCAP_TSTAMP_PRECISION_NANO);
    dump = pd ? pcap_dump_open(pd, argv[optind + 2]) : NULL;
    truth = fopen(argv[optind + 3], "w");
    if (dump == NULL || truth == NULL) {
        fprintf(stderr, "gencap: cannot open output: %s\n",
                pd ? pcap_geterr(pd) : "pcap_open_dead failed");
        return 1;
    }

    next_start = T_BASE;
    while (started < n || heap_n > 0) {
        struct pkt p;
        struct pcap_pkthdr h;
        /* start every attempt due before the next packet */
        while (started < n && (heap_n == 0 || next_start <= heap[0].t)) {
            gen_attempt(next_start);
            if (chance(20))
                gen_noise(next_start + gap / 2);
            started++;
            next_start = T_BASE + (int64_t)started * gap +
                         (int64_t)rndn((uint32_t)(gap / 2));
        }
        if (heap_n == 0)
            continue;
        heap_pop(&p);
        if (p.t <= last_t)
            p.t = last_t + 1; /* strictly increasing */
        last_t = p.t;
        if (p.pend != UINT32_MAX)
            pending[p.pend].last_syn = p.t;
        h.ts.tv_sec = (time_t)(p.t / NS_PER_S);
        /* a nanosecond dumper takes nanoseconds in tv_usec */
        h.ts.tv_usec = (suseconds_t)(p.t % NS_PER_S);
        h.len = h.caplen = (bpf_u_int32)build(&p, frame);
        pcap_dump((u_char *)dump, &h, frame);
        packets++;
    }
    pcap_dump_close(dump);

    for (size_t i = 0; i < npending; i++) {
        bool waited = last_t - pending[i].last_syn >= WAIT_NS;
        fprintf(truth, "%s %s\n", pending[i].line,
                waited ? "filtered no-response" : "unknown capture-ended");
    }
    if (fclose(truth) != 0) {
        perror("gencap: truth");
        return 1;
    }
    qsort(ostart, nopen, sizeof(*ostart), cmp64);
    qsort(obase, nopen, sizeof(*obase), cmp64);
    printf("attempts=%llu\npackets=%llu\nseconds=%.1f\nrecords=%zu\n"
           "max_open=%zu\nmax_open_w2=%zu\nwait2=%g\n",
           (unsigned long long)nattempts, (unsigned long long)packets,
           (double)(last_t - T_BASE) / NS_PER_S, nopen, max_open(WAIT_NS),
           max_open((int64_t)(wait2 * NS_PER_S)), wait2);
    free(heap);
    free(pending);
    free(ostart);
    free(obase);
    return 0;
}
