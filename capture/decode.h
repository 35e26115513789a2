/*
 * decode.h - turns captured bytes into a plain struct sp_packet.
 *
 * The decoder is the only code that sees raw packet bytes. It reads them
 * through a bounds-checked cursor (capture/cursor.h), never past the captured
 * length and never by casting bytes to header structs. It knows nothing of
 * probes or verdicts: it reports what is on the wire and how much of it was
 * there. Nothing here touches libpcap: the link type is our own enum, mapped
 * from pcap's DLT values by the capture source.
 *
 * Result: SP_DECODE_OK when every header the packet claims was captured,
 * SP_DECODE_TRUNCATED when the capture ended before the packet's own lengths
 * say it ends (the fields that were read are still filled in and flagged in
 * `have`), SP_DECODE_INVALID when a header is impossible (IPv4 IHL < 5, TCP
 * data offset < 5, a version nibble that is neither 4 nor 6, ...), and
 * SP_DECODE_OTHER for frames that carry no IP (ARP, LLDP, ...).
 */
#ifndef SP_CAPTURE_DECODE_H
#define SP_CAPTURE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"

/* Link-layer framings the decoder understands (see sp_link_from_dlt()). */
enum sp_link {
    SP_LINK_ETHER, /* Ethernet II, with up to two 802.1Q / 802.1ad tags */
    SP_LINK_SLL,   /* Linux cooked v1, 16-byte header */
    SP_LINK_SLL2,  /* Linux cooked v2, 20-byte header */
    SP_LINK_RAW,   /* raw IP, version from the first nibble */
    SP_LINK_IPV4,  /* raw IPv4 only */
    SP_LINK_IPV6,  /* raw IPv6 only */
    SP_LINK_NULL,  /* BSD loopback, 4-byte AF in the writer's byte order */
    SP_LINK_LOOP,  /* OpenBSD loopback, 4-byte AF in network order */
};

enum sp_decode_result {
    SP_DECODE_OK = 0,
    SP_DECODE_TRUNCATED,
    SP_DECODE_INVALID,
    SP_DECODE_OTHER,
};

/* Bits of sp_packet.have: which parts were decoded completely. */
enum {
    SP_HAVE_IP = 1u << 0,      /* outer IP header */
    SP_HAVE_TCP = 1u << 1,     /* whole TCP header incl. options */
    SP_HAVE_UDP = 1u << 2,     /* UDP header */
    SP_HAVE_ICMP = 1u << 3,    /* ICMP/ICMPv6 type, code and 4 more bytes */
    SP_HAVE_INNER = 1u << 4,   /* quoted IP header inside an ICMP error */
    SP_HAVE_INNER_L4 = 1u << 5 /* first 8 bytes of the quoted transport */
};

/* TCP flag bits as in the header (RFC 9293). */
enum {
    SP_TCP_FIN = 0x01,
    SP_TCP_SYN = 0x02,
    SP_TCP_RST = 0x04,
    SP_TCP_PSH = 0x08,
    SP_TCP_ACK = 0x10,
    SP_TCP_URG = 0x20,
    SP_TCP_ECE = 0x40,
    SP_TCP_CWR = 0x80,
};

/* IP protocol numbers we act on. */
enum {
    SP_PROTO_ICMP = 1,
    SP_PROTO_TCP = 6,
    SP_PROTO_UDP = 17,
    SP_PROTO_ICMP6 = 58,
};

/*
 * The packet an ICMP error quotes (RFC 792, RFC 4443): its IP header and at
 * least the first 8 bytes of its transport header. Routers may quote only
 * those 8 bytes; Linux quotes more. Fields past the first 8 bytes (the TCP
 * flags) are valid only when inner_l4_len says they were there.
 */
struct sp_inner {
    struct sp_addr src, dst;
    uint8_t ttl;   /* TTL / hop limit left when the probe died */
    uint8_t proto; /* after IPv6 extension headers */
    uint16_t ip_id;
    uint16_t sport, dport; /* TCP / UDP */
    uint32_t seq;          /* TCP */
    uint8_t tcp_flags;     /* TCP, if l4_len >= 14 */
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq; /* ICMP echo */
    uint16_t l4_len;            /* quoted transport bytes captured */
};

struct sp_packet {
    int64_t ts_ns;    /* capture timestamp, ns since the epoch */
    uint32_t caplen;  /* bytes captured */
    uint32_t wirelen; /* bytes on the wire */
    unsigned have;    /* SP_HAVE_* */

    /* IP */
    struct sp_addr src, dst;
    uint8_t ttl; /* TTL / hop limit */
    uint8_t tos; /* TOS / traffic class */
    uint16_t ip_id;
    bool frag_later; /* a non-first fragment: carries no transport header */
    bool more_frags;
    uint8_t proto; /* transport protocol, after IPv6 extension headers */

    /* TCP / UDP */
    uint16_t sport, dport;
    uint32_t seq, ack; /* TCP */
    uint8_t tcp_flags;
    uint16_t window;
    uint8_t tcp_optlen;   /* bytes of TCP options */
    uint16_t payload_len; /* transport payload, by the IP length */

    /* ICMP / ICMPv6 */
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq; /* echo request / reply */
    uint32_t icmp_mtu;          /* packet too big, fragmentation needed */
    struct sp_inner inner;      /* for errors; valid per SP_HAVE_INNER* */
};

/* Kinds of ICMP messages, independent of the family. */
enum sp_icmp_kind {
    SP_ICMP_NONE = 0,
    SP_ICMP_ECHO_REQUEST,
    SP_ICMP_ECHO_REPLY,
    SP_ICMP_UNREACH,
    SP_ICMP_TIME_EXCEEDED,
    SP_ICMP_TOO_BIG, /* ICMPv6 2; IPv4 uses UNREACH code 4 */
    SP_ICMP_OTHER,
};

/*
 * Decodes one captured frame of link type `link`. `buf` holds `caplen`
 * captured bytes; `out` is cleared and filled (ts_ns, wirelen are left for
 * the caller to set). Never reads outside buf[0..caplen). Thread-safe.
 */
enum sp_decode_result sp_decode(enum sp_link link, const uint8_t *buf,
                                size_t caplen, struct sp_packet *out);

/* Classifies the ICMP / ICMPv6 message of a decoded packet. */
enum sp_icmp_kind sp_icmp_kind(const struct sp_packet *p);

/* True if the packet is a TCP packet whose header was fully decoded. */
bool sp_packet_is_tcp(const struct sp_packet *p);

/* Name of a decode result for messages ("ok", "truncated", ...). */
const char *sp_decode_result_name(enum sp_decode_result r);

/* Name of a link type for messages. */
const char *sp_link_name(enum sp_link link);

#endif
