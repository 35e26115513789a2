/*
 * fuzz_decode.c - libFuzzer target for the packet decoder (capture/decode.c).
 *
 * Input: the first byte picks the link type (modulo the 8 framings of enum
 * sp_link), the rest is the captured frame, exactly as long as libpcap's
 * caplen would be. libFuzzer hands us a heap buffer of exactly that size, so
 * AddressSanitizer sees any read past the capture.
 *
 * After decoding, every field of struct sp_packet is read (UndefinedBehavior-
 * Sanitizer checks bool and enum loads) and passed through the helpers the
 * rest of synprobe uses on it. Broken invariants of decode.h abort, so they
 * count as crashes: a result other than the four declared ones, flags in
 * `have` that need a layer which was not decoded, caplen not echoed, a
 * quoted transport longer than the capture.
 *
 * Built two ways (CMakeLists.txt): with -fsanitize=fuzzer as fuzz_decode,
 * and with tests/fuzz/replay.c as fuzz_decode_replay, which CTest runs over
 * tests/fuzz/regressions/fuzz_decode/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture/decode.h"
#include "engine/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the field reads from being optimised away. */
static volatile uint64_t sink;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 1099511628211ULL;
}

static uint64_t touch_addr(uint64_t h, const struct sp_addr *a)
{
    char buf[SP_ADDR_STRLEN];
    const char *s = sp_addr_str(a, buf, sizeof(buf));

    h = mix(h, a->family);
    h = mix(h, sp_addr_len(a));
    h = mix(h, sp_addr_hash(a, 0));
    for (; *s != '\0'; s++)
        h = mix(h, (unsigned char)*s);
    return h;
}

static uint64_t touch_inner(uint64_t h, const struct sp_inner *in)
{
    h = touch_addr(h, &in->src);
    h = touch_addr(h, &in->dst);
    h = mix(h, in->ttl);
    h = mix(h, in->proto);
    h = mix(h, in->ip_id);
    h = mix(h, in->sport);
    h = mix(h, in->dport);
    h = mix(h, in->seq);
    h = mix(h, in->tcp_flags);
    h = mix(h, in->icmp_type);
    h = mix(h, in->icmp_code);
    h = mix(h, in->icmp_id);
    h = mix(h, in->icmp_seq);
    return mix(h, in->l4_len);
}

static uint64_t touch(const struct sp_packet *p)
{
    uint64_t h = 14695981039346656037ULL;

    h = mix(h, (uint64_t)p->ts_ns);
    h = mix(h, p->caplen);
    h = mix(h, p->wirelen);
    h = mix(h, p->have);
    h = touch_addr(h, &p->src);
    h = touch_addr(h, &p->dst);
    h = mix(h, p->ttl);
    h = mix(h, p->tos);
    h = mix(h, p->ip_id);
    h = mix(h, p->frag_later);
    h = mix(h, p->more_frags);
    h = mix(h, p->proto);
    h = mix(h, p->sport);
    h = mix(h, p->dport);
    h = mix(h, p->seq);
    h = mix(h, p->ack);
    h = mix(h, p->tcp_flags);
    h = mix(h, p->window);
    h = mix(h, p->tcp_optlen);
    h = mix(h, p->payload_len);
    h = mix(h, p->icmp_type);
    h = mix(h, p->icmp_code);
    h = mix(h, p->icmp_id);
    h = mix(h, p->icmp_seq);
    h = mix(h, p->icmp_mtu);
    h = touch_inner(h, &p->inner);
    h = mix(h, (uint64_t)sp_icmp_kind(p));
    return mix(h, sp_packet_is_tcp(p));
}

/* The promises of decode.h that hold for any input. */
static void check(const struct sp_packet *p, enum sp_decode_result r,
                  size_t caplen)
{
    const unsigned all = SP_HAVE_IP | SP_HAVE_TCP | SP_HAVE_UDP | SP_HAVE_ICMP |
                         SP_HAVE_INNER | SP_HAVE_INNER_L4;
    const unsigned l4 = SP_HAVE_TCP | SP_HAVE_UDP | SP_HAVE_ICMP;

    if (r != SP_DECODE_OK && r != SP_DECODE_TRUNCATED &&
        r != SP_DECODE_INVALID && r != SP_DECODE_OTHER)
        abort();
    if (p->caplen != caplen)
        abort();
    if ((p->have & ~all) != 0)
        abort();
    if ((p->have & l4) != 0 && !(p->have & SP_HAVE_IP))
        abort();
    if ((p->have & SP_HAVE_INNER) && !(p->have & SP_HAVE_ICMP))
        abort();
    if ((p->have & SP_HAVE_INNER_L4) && !(p->have & SP_HAVE_INNER))
        abort();
    if (r == SP_DECODE_OTHER && p->have != 0)
        abort();
    if (p->inner.l4_len > caplen)
        abort();
    if (p->tcp_optlen > 40)
        abort();
    if (sp_packet_is_tcp(p) && p->proto != SP_PROTO_TCP)
        abort();
    if (sp_icmp_kind(p) != SP_ICMP_NONE && !(p->have & SP_HAVE_ICMP))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_packet p;
    enum sp_link link;
    enum sp_decode_result r;

    if (size == 0)
        return 0;
    link = (enum sp_link)(data[0] % 8);
    r = sp_decode(link, data + 1, size - 1, &p);
    check(&p, r, size - 1);
    sink = mix(touch(&p), (uint64_t)r);
    sink = mix(sink, (uintptr_t)sp_decode_result_name(r));
    sink = mix(sink, (uintptr_t)sp_link_name(link));
    return 0;
}
