/*
 * probe.h - building and sending probes (TCP SYN, ICMP echo) with libnet.
 *
 * craft/ is the only place that includes <libnet.h>. It builds packets from
 * a plain struct sp_probe_spec and sends them on raw sockets; it never reads
 * replies. One struct sp_craft belongs to one thread (libnet has no locking).
 */
#ifndef SP_CRAFT_PROBE_H
#define SP_CRAFT_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"

struct sp_err;

enum sp_probe_kind {
    SP_PROBE_SYN,
    SP_PROBE_ECHO,
};

/* Everything that goes into one probe packet; all values in host order. */
struct sp_probe_spec {
    enum sp_probe_kind kind;
    struct sp_addr src, dst; /* same family */
    uint8_t ttl;             /* TTL / hop limit */
    uint16_t ip_id;          /* IPv4 only (IPv6 has none) */
    uint16_t sport, dport;   /* SYN */
    uint32_t seq;            /* SYN: the ISN */
    uint16_t icmp_id;        /* ECHO */
    uint16_t icmp_seq;       /* ECHO */
};

struct sp_craft;

/*
 * Opens raw sending sockets for the families in `families` (bit 0: IPv4,
 * bit 1: IPv6). `iface` may be NULL; when given, sockets are bound to it.
 * Returns 0, SP_EPERM without root/CAP_NET_RAW, or another SP_E* code with
 * err filled.
 */
int sp_craft_open(struct sp_craft **out, const char *iface, unsigned families,
                  struct sp_err *err);

/* Sends one probe. Returns 0 or a negative SP_E* code with err filled. */
int sp_craft_send(struct sp_craft *c, const struct sp_probe_spec *spec,
                  struct sp_err *err);

/*
 * Batched sending, for scans: sp_craft_queue builds the probe with libnet now
 * and keeps its bytes; sp_craft_flush sends everything queued with one
 * sendmmsg per family. A full batch (SP_CRAFT_BATCH probes) is flushed by
 * the next queue call. Both return 0 or a negative SP_E* code; a probe the
 * kernel refused (no route) is counted in *failed when failed is not NULL.
 */
enum { SP_CRAFT_BATCH = 256 };
int sp_craft_queue(struct sp_craft *c, const struct sp_probe_spec *spec,
                   struct sp_err *err);
int sp_craft_flush(struct sp_craft *c, unsigned *failed, struct sp_err *err);

/*
 * Link-layer sending for scans: an AF_PACKET socket on interface ifindex
 * (an Ethernet link) that bypasses the qdisc. Probes queued with
 * sp_craft_queue_link are still built by libnet, framed with an Ethernet
 * header from src_mac to the next hop's dst_mac, and sent by sp_craft_flush
 * with one sendmmsg (a full batch is flushed by the next queue call). The
 * socket keeps only a few frames waiting in the device and blocks the
 * sender while they do. Frames sent this way skip the IP stack, its routing
 * and every packet tap (a -w capture would not see them). Open it before
 * dropping privileges. Returns 0 or a negative SP_E* code with err filled
 * (c is then unchanged).
 */
int sp_craft_link_open(struct sp_craft *c, int ifindex,
                       const uint8_t src_mac[6], const uint8_t dst_mac[6],
                       struct sp_err *err);
int sp_craft_queue_link(struct sp_craft *c, const struct sp_probe_spec *spec,
                        struct sp_err *err);
/* Closes the link-layer socket early, once its last frames are flushed (a
 * packet socket's close waits for the kernel's readers to let go of it:
 * better while a scan cools down than at its end). */
void sp_craft_link_close(struct sp_craft *c);

/* Closes the sockets and frees c (NULL is fine). */
void sp_craft_close(struct sp_craft *c);

/*
 * Builds the probe's IP packet (starting at the IP header) into buf without
 * opening any socket, with correct checksums. Returns the length, or a
 * negative SP_E* code (SP_EINVAL if it does not fit in cap). For tests and
 * for writing probes to a capture file.
 */
long sp_craft_build(const struct sp_probe_spec *spec, uint8_t *buf, size_t cap,
                    struct sp_err *err);

#endif
