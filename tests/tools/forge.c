/*
 * forge.c - an on-path spoofer for the lab's spoof-proof test.
 *
 * Runs in a router namespace of the lab, watches the SYNs and echo requests
 * that pass through it, and for each one injects forged "answers" towards
 * the prober that must all be rejected: a SYN-ACK and a RST with the right
 * ports but a wrong ack, a RST from another host, ICMP unreachables quoting
 * other sequence numbers, an echo reply with another sequence. It stops after
 * sending --count packets or --seconds, whichever comes first, and prints how
 * many it sent. Only used by tests, only inside the lab.
 *
 * usage: forge IFACE COUNT SECONDS
 *        forge flood SRC DST COUNT   (COUNT unrelated RSTs, as fast as the
 *                                     machine sends them, for load tests)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd4 = -1, fd6 = -1;
static unsigned long sent, limit;
static volatile sig_atomic_t stopping;
static pcap_t *pc;

/* SIGTERM: stop and still print how many were sent. */
static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
    if (pc != NULL)
        pcap_breakloop(pc);
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t pseudo(const uint8_t *src, const uint8_t *dst, size_t alen,
                       uint8_t proto, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < alen; i += 2) {
        s += (uint32_t)(src[i] << 8 | src[i + 1]);
        s += (uint32_t)(dst[i] << 8 | dst[i + 1]);
    }
    return s + proto + (uint32_t)len;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Sends an IP packet with payload l4 (already checksummed) from src to dst. */
static void send_ip(int v6, const uint8_t *src, const uint8_t *dst,
                    uint8_t proto, const uint8_t *l4, size_t n)
{
    uint8_t pkt[1500];
    struct sockaddr_storage ss;
    socklen_t sl;
    size_t hl = v6 ? 40 : 20;

    if (sent >= limit || hl + n > sizeof(pkt))
        return;
    memset(pkt, 0, hl);
    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        pkt[0] = 0x60;
        put16(pkt + 4, (uint16_t)n);
        pkt[6] = proto;
        pkt[7] = 60;
        memcpy(pkt + 8, src, 16);
        memcpy(pkt + 24, dst, 16);
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, dst, 16);
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        pkt[0] = 0x45;
        put16(pkt + 2, (uint16_t)(20 + n));
        pkt[8] = 60;
        pkt[9] = proto;
        memcpy(pkt + 12, src, 4);
        memcpy(pkt + 16, dst, 4);
        put16(pkt + 10, csum(pkt, 20, 0));
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, dst, 4);
        sl = sizeof(*s4);
    }
    memcpy(pkt + hl, l4, n);
    if (sendto(v6 ? fd6 : fd4, pkt, hl + n, 0, (struct sockaddr *)&ss, sl) > 0)
        sent++;
}

static void forge_tcp(int v6, const uint8_t *from, const uint8_t *to,
                      uint16_t sport, uint16_t dport, uint8_t flags,
                      uint32_t seq, uint32_t ack)
{
    uint8_t t[20];
    size_t alen = v6 ? 16 : 4;

    memset(t, 0, sizeof(t));
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    put16(t + 16, csum(t, 20, pseudo(from, to, alen, 6, 20)));
    send_ip(v6, from, to, 6, t, 20);
}

/* An ICMP error from `from` to the prober quoting the probe with seq. */
static void forge_icmp(int v6, const uint8_t *from, const uint8_t *probe,
                       size_t plen, uint32_t seq)
{
    uint8_t m[8 + 80];
    size_t hl = v6 ? 40 : 20;
    size_t q = plen < hl + 8 ? plen : hl + 8;
    size_t alen = v6 ? 16 : 4;
    const uint8_t *prober = probe + (v6 ? 8 : 12);

    memset(m, 0, sizeof(m));
    m[0] = v6 ? 1 : 3;  /* destination unreachable */
    m[1] = v6 ? 1 : 13; /* admin prohibited */
    memcpy(m + 8, probe, q);
    if (q >= hl + 8)
        put32(m + 8 + hl + 4, seq); /* quote another sequence number */
    if (v6)
        put16(m + 2, csum(m, 8 + q, pseudo(from, prober, alen, 58, 8 + q)));
    else
        put16(m + 2, csum(m, 8 + q, 0));
    send_ip(v6, from, prober, v6 ? 58 : 1, m, 8 + q);
}

static void on_packet(const uint8_t *p, size_t n)
{
    int v6;
    size_t hl;
    uint8_t proto, other[16];

    if (n < 1)
        return;
    v6 = (p[0] >> 4) == 6;
    hl = v6 ? 40 : (size_t)(p[0] & 15) * 4;
    if (n < hl + 20)
        return;
    proto = v6 ? p[6] : p[9];
    const uint8_t *src = p + (v6 ? 8 : 12), *dst = p + (v6 ? 24 : 16);
    size_t alen = v6 ? 16 : 4;
    memcpy(other, dst, alen);
    other[alen - 1] ^= 0x5a; /* "another host" on the target's subnet */
    if (proto == 6 && (p[hl + 13] & 0x12) == 0x02) {
        uint16_t sp = (uint16_t)(p[hl] << 8 | p[hl + 1]);
        uint16_t dp = (uint16_t)(p[hl + 2] << 8 | p[hl + 3]);
        uint32_t seq = (uint32_t)p[hl + 4] << 24 | (uint32_t)p[hl + 5] << 16 |
                       (uint32_t)p[hl + 6] << 8 | p[hl + 7];
        for (int k = 0; k < 4; k++) {
            forge_tcp(v6, dst, src, dp, sp, 0x12, 77, seq + 2 + k);
            forge_tcp(v6, dst, src, dp, sp, 0x14, 0, seq + 9 + k);
            forge_tcp(v6, other, src, dp, sp, 0x14, 0, seq + 1);
            forge_icmp(v6, dst, p, n, seq + 3 + k);
            forge_icmp(v6, other, p, n, seq ^ 0x80000000u);
        }
    } else if ((proto == 1 && p[hl] == 8) || (proto == 58 && p[hl] == 128)) {
        uint8_t e[16];
        memset(e, 0, sizeof(e));
        e[0] = v6 ? 129 : 0;
        memcpy(e + 4, p + hl + 4, 4);
        e[7] ^= 0x55; /* another sequence number */
        if (v6)
            put16(e + 2, csum(e, 16, pseudo(dst, src, alen, 58, 16)));
        else
            put16(e + 2, csum(e, 16, 0));
        for (int k = 0; k < 8; k++)
            send_ip(v6, dst, src, proto, e, 16);
    }
}

/* A bounded flood of RST|ACKs from src to dst with ever-changing ports:
 * they pass synprobe's capture filter and must all end as unrelated. */
static int flood(const char *src, const char *dst, unsigned long count)
{
    uint8_t s[16], d[16];
    int v6 = strchr(src, ':') != NULL;

    if (inet_pton(v6 ? AF_INET6 : AF_INET, src, s) != 1 ||
        inet_pton(v6 ? AF_INET6 : AF_INET, dst, d) != 1) {
        fprintf(stderr, "forge: bad address\n");
        return 2;
    }
    limit = count;
    for (unsigned long i = 0; i < count && sent < limit; i++)
        forge_tcp(v6, s, d, (uint16_t)(1024 + i % 60000),
                  (uint16_t)(40000 + i % 20000), 0x14, 0, (uint32_t)i);
    printf("%lu\n", sent);
    fflush(stdout); /* before any sanitizer report at exit */
    return 0;
}

int main(int argc, char **argv)
{
    char eb[PCAP_ERRBUF_SIZE];
    struct bpf_program prog;
    struct sigaction sa;
    time_t end;
    int on = 1;

    if (argc != 4 && !(argc == 5 && strcmp(argv[1], "flood") == 0)) {
        fprintf(stderr, "usage: forge IFACE COUNT SECONDS\n"
                        "       forge flood SRC DST COUNT\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL); /* the time bound, even with no traffic */
    limit = strtoul(argv[2], NULL, 10);
    end = time(NULL) + atoi(argv[3]);
    if (argc == 4)
        alarm((unsigned)atoi(argv[3]));
    fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    if (fd4 < 0 || fd6 < 0) {
        perror("forge: raw socket");
        return 1;
    }
    setsockopt(fd4, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on));
    if (argc == 5)
        return flood(argv[2], argv[3], strtoul(argv[4], NULL, 10));
    pc = pcap_create(argv[1], eb);
    if (pc == NULL)
        return 1;
    pcap_set_immediate_mode(pc, 1);
    pcap_set_snaplen(pc, 200);
    pcap_set_timeout(pc, 100);
    if (pcap_activate(pc) < 0 ||
        pcap_compile(pc, &prog,
                     "inbound and ((tcp[tcpflags] & (tcp-syn|tcp-ack) == "
                     "tcp-syn) or icmp[icmptype] == icmp-echo or (ip6 and "
                     "(tcp or icmp6)))",
                     1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(pc, &prog) != 0) {
        fprintf(stderr, "forge: %s\n", pcap_geterr(pc));
        return 1;
    }
    pcap_freecode(&prog);
    while (sent < limit && time(NULL) < end && !stopping) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int rc = pcap_next_ex(pc, &h, &d);
        size_t off = pcap_datalink(pc) == DLT_EN10MB ? 14 : 0;
        if (rc < 0)
            break;
        if (rc == 0 || h->caplen <= off)
            continue;
        on_packet(d + off, h->caplen - off);
    }
    printf("%lu\n", sent);
    fflush(stdout); /* before any sanitizer report at exit */
    pcap_close(pc);
    return 0;
}
