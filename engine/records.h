/*
 * records.h - what analyzers produce and output sinks format.
 *
 * Plain data, family-agnostic. A value that is not known is marked as such
 * (hop < 0, reply_ttl < 0, rtt_ns < 0, responder.family == 0) and printed as
 * null in JSON.
 */
#ifndef SP_ENGINE_RECORDS_H
#define SP_ENGINE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"
#include "engine/verdict.h"

/* What came back for one probe kind at one TTL. */
enum sp_hop_answer {
    SP_HOP_NOT_SENT = 0, /* no probe of this kind at this TTL */
    SP_HOP_NONE,         /* probed, silence */
    SP_HOP_TIME_EXCEEDED,
    SP_HOP_SYN_ACK,
    SP_HOP_RST,
    SP_HOP_ECHO_REPLY,
    SP_HOP_UNREACH, /* the reason says which */
};

enum sp_hop_note {
    SP_NOTE_NONE = 0,
    SP_NOTE_QUIET,        /* never answers while later hops do */
    SP_NOTE_RATE_LIMITED, /* answered some probes, more once paced */
    SP_NOTE_LOSS,         /* answers from beyond it went missing too */
};

struct sp_hop {
    uint8_t ttl;
    struct sp_addr addr;                         /* family 0: nobody answered */
    int64_t rtt_ns;                              /* < 0: unknown */
    uint8_t syn, echo, udp;                      /* enum sp_hop_answer */
    uint8_t syn_reason, echo_reason, udp_reason; /* enum sp_reason for
                                                     SP_HOP_UNREACH */
    uint8_t note;                                /* enum sp_hop_note */
};

/* The evidence behind a verdict (DESIGN.md "Evidence fields"). */
struct sp_result {
    struct sp_addr target;
    uint16_t port;
    const char *name; /* host name as given, or NULL */
    enum sp_verdict verdict;
    enum sp_reason reason;
    int hop;                  /* < 0: null */
    struct sp_addr responder; /* family 0: null */
    int reply_ttl;            /* < 0: null */
    int64_t rtt_ns;           /* < 0: null */
    int icmp_type, icmp_code; /* < 0: null */
};

/* One TCP connection attempt seen in a capture (offline records). */
struct sp_attempt_rec {
    struct sp_result r;
    struct sp_addr client;
    uint16_t client_port;
    int64_t first_seen_ns;
    unsigned syn_count;
};

/* One destination and port, over all its attempts. */
struct sp_target_rec {
    struct sp_result r;
    unsigned verdicts[SP_VERDICT_COUNT];
    const struct sp_hop *hops; /* NULL without a trace */
    size_t nhops;
    bool have_trace;
    int echo_state;    /* -1 not probed, 0 silent, 1 replied */
    int echo_hop;      /* hop at which echo reached the host, < 0 unknown */
    int syn_last_hop;  /* last TTL that drew time-exceeded for the SYN */
    int echo_last_hop; /* last TTL that drew time-exceeded for echo */
    bool middlebox_host_answer; /* the host answered after a forged RST */
};

struct sp_summary {
    unsigned verdicts[SP_VERDICT_COUNT]; /* over targets */
    uint64_t packets, unrelated, truncated, invalid, capture_drops;
    uint64_t attempts;
    bool incomplete;
};

/*
 * Output sink: analyzers call these on the engine thread, in order; sinks
 * copy what they keep (records and their hop arrays are only valid during
 * the call).
 */
struct sp_sink {
    void *state;
    void (*attempt)(void *state, const struct sp_attempt_rec *a);
    void (*target)(void *state, const struct sp_target_rec *t);
    void (*summary)(void *state, const struct sp_summary *s);
};

#endif
