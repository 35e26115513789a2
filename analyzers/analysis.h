/*
 * analysis.h - correlating packets into attempts, targets and verdicts.
 *
 * One analysis turns a stream of decoded packets (live or from a file) into
 * attempt and target records, by the rules of DESIGN.md:
 *   - a SYN opens an attempt; the same 4-tuple and ISN again is a
 *     retransmission, a new ISN a new attempt;
 *   - a reply counts only if it proves it answers a SYN we saw (SYN-ACK
 *     ack == isn+1, RST ack in {isn, isn+1}, ICMP errors quoting the SYN's
 *     addresses, ports and sequence number); anything else is "unrelated";
 *   - the first valid answer decides an attempt; a RST whose distance differs
 *     from the host's own is a middlebox RST;
 *   - a SYN that drew ICMP time-exceeded is a trace probe: it adds a hop to
 *     its target's path instead of being an attempt;
 *   - for a target, the latest attempt with an active answer decides, else
 *     silence after the wait (filtered), else unknown.
 *
 * Time is an input (packet timestamps offline, the clock live), so runs are
 * deterministic. Attempts are finalised and freed once their wait has passed,
 * which keeps memory flat as captures grow. No I/O, no threads: the engine
 * thread (or a test) calls these functions directly.
 */
#ifndef SP_ANALYZERS_ANALYSIS_H
#define SP_ANALYZERS_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/records.h"

struct sp_packet;
struct sp_analysis;

/*
 * Shared by live and offline runs so that a -w capture read back with -r
 * gives the live verdicts: silence ends as "filtered" after --wait, or after
 * SP_CONCLUSIVE_MS once the host answered echo; attempts stay open
 * SP_GRACE_MS beyond that for late ICMP errors.
 */
enum { SP_CONCLUSIVE_MS = 500, SP_GRACE_MS = 1000 };

struct sp_analysis_cfg {
    int64_t wait_ns;       /* --wait: silence this long after the last SYN */
    int64_t grace_ns;      /* attempts are kept this much longer, so a late ICMP
                              error (neighbour failure) still lands on them */
    int64_t conclusive_ns; /* silence this long suffices once the host
                              answered echo (0: never) */
    int trace_ttl_max;     /* silent SYNs at or below this TTL are trace
                              probes when their target has a trace */
    bool emit_attempts;    /* call sink->attempt for every attempt */
    bool ttl_limited_trace; /* live --trace: every SYN at or below
                               trace_ttl_max is a trace probe */
    /*
     * Live: a SYN opens an attempt only if this returns true (the keyed
     * cookie proves it is ours). NULL offline: every selected SYN does.
     */
    bool (*own_syn)(void *ctx, const struct sp_packet *p);
    bool (*own_echo)(void *ctx, const struct sp_packet *p);
    void *ctx;
};

/* Creates an analysis writing to sink (which must outlive it); NULL when
 * out of memory. */
struct sp_analysis *sp_analysis_create(const struct sp_analysis_cfg *cfg,
                                       const struct sp_sink *sink);

/*
 * Feeds one decoded packet. `selected`: the filter expression matched (only
 * selected SYNs open attempts). Advances the clock to the packet's time.
 */
void sp_analysis_packet(struct sp_analysis *a, const struct sp_packet *p,
                        bool selected);

/*
 * The lookup keys of a packet: the hashes of the attempt and (for a SYN)
 * the target it will look up. sp_analysis_keys is pure, so another thread
 * may compute them (synprobe -r: the capture thread) for
 * sp_analysis_packet_keyed and sp_analysis_prefetch, along with the
 * packet's part in the dispatch.
 */
struct sp_analysis_hint {
    uint64_t att, tgt; /* hashes of the keys */
    bool ok, syn;      /* ok: the packet looks an attempt up */
    uint8_t role;      /* what the packet is to the analysis (private) */
};

/*
 * Fills *k. Returns false for a packet that sp_analysis_packet would only
 * take the time of (data, ACKs, FINs, UDP, other ICMP, frames without IP):
 * a reader may leave those out and call sp_analysis_tick with the latest of
 * their times before the next packet it feeds, which gives the same results
 * (most packets of a large capture are such, offline.c).
 */
bool sp_analysis_keys(const struct sp_packet *p, struct sp_analysis_hint *k);

/* As sp_analysis_packet, with p's keys computed already. */
void sp_analysis_packet_keyed(struct sp_analysis *a, const struct sp_packet *p,
                              bool selected, const struct sp_analysis_hint *k);

/*
 * A hint only, which changes no result: packets will be fed soon, so start
 * fetching the table entries they will look up. Each packet goes through
 * two steps (its buckets, then the first entries of its chains), a few
 * packets apart, before it is fed: k[s] are the keys of the packet at step
 * s (NULL for none). One call per packet fed.
 */
void sp_analysis_prefetch(struct sp_analysis *a,
                          const struct sp_analysis_hint *const k[2]);

/* Advances the clock (live timers): finalises attempts whose wait passed. */
void sp_analysis_tick(struct sp_analysis *a, int64_t now_ns);

/*
 * Notes capture drops at time now_ns: attempts still waiting for an answer
 * then end as unknown / capture-drops instead of filtered.
 */
void sp_analysis_drops(struct sp_analysis *a, int64_t now_ns);

/*
 * Records a target that could not be probed (no route): it ends as
 * unreachable / no-route with hop 0.
 */
void sp_analysis_no_route(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port, const char *name);

/* Names a target (live: the host name the user gave). The string must
 * outlive the analysis. */
void sp_analysis_name(struct sp_analysis *a, const struct sp_addr *dst,
                      uint16_t port, const char *name);

/*
 * True once every attempt to (dst, port) made so far has drawn an answer
 * and the target has an active answer (live: no more retries needed).
 */
bool sp_analysis_answered(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port);

/*
 * The host's distance in hops as its own answers tell (echo replies,
 * SYN-ACKs, else RSTs), or -1 if it has not answered yet.
 */
int sp_analysis_host_distance(struct sp_analysis *a, const struct sp_addr *dst);

/*
 * What came back so far at one TTL of a target's path: for the SYN trace
 * (syn true) or the host's echo trace. SP_HOP_NOT_SENT if nothing is known.
 */
enum sp_hop_answer sp_analysis_hop(struct sp_analysis *a,
                                   const struct sp_addr *dst, uint16_t port,
                                   int ttl, bool syn);

/*
 * How many ICMP errors matching our probes came from whoever answered at
 * this TTL of a target's path (-1 if nobody did). Linux routers send a burst
 * of about 6 and then 1 per second: more than that means rate limiting.
 */
int sp_analysis_hop_icmp_errors(struct sp_analysis *a,
                                const struct sp_addr *dst, uint16_t port,
                                int ttl);

/* Attaches a note (rate-limited, loss) to a hop of a target's SYN path. */
/*
 * Where the first ICMP error that answered a SYN to (dst, port) came from:
 * its hop (by the error's own distance) and how many matching errors that
 * sender has sent us. False if no ICMP error answered one.
 */
bool sp_analysis_icmp_answer(struct sp_analysis *a, const struct sp_addr *dst,
                             uint16_t port, int *hop, int *errors);

void sp_analysis_hop_note(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port, int ttl, enum sp_hop_note note);

/* True if a router said net/host unreachable for any probe to the host. */
bool sp_analysis_host_unreachable(struct sp_analysis *a,
                                  const struct sp_addr *dst);

/* True if the host answered ICMP echo. */
bool sp_analysis_echo_alive(struct sp_analysis *a, const struct sp_addr *dst);

/*
 * Ends the analysis at time end_ns: attempts still waiting end as filtered
 * if their wait passed, else unknown with `pending_reason`
 * (SP_REASON_CAPTURE_ENDED offline, SP_REASON_INTERRUPTED after a signal);
 * then every target is emitted, in the order first seen.
 */
void sp_analysis_finish(struct sp_analysis *a, int64_t end_ns,
                        enum sp_reason pending_reason);

/* Counters for the summary. */
void sp_analysis_counts(const struct sp_analysis *a, struct sp_summary *s);

void sp_analysis_destroy(struct sp_analysis *a);

/* The sender's distance guessed from a received TTL (DESIGN.md): initial
 * TTL is the next of 64/128/255 at or above it; distance = init - ttl + 1. */
int sp_ttl_distance(uint8_t ttl);

#endif
