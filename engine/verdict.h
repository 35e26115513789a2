/*
 * verdict.h - the six verdicts and the closed list of reasons of DESIGN.md.
 *
 * Analyzers emit these; sinks format them. The mapping from an ICMP
 * type/code to a reason, and from a reason to the errno an application
 * would have seen, lives in verdict.c so that every part of the tool agrees.
 */
#ifndef SP_ENGINE_VERDICT_H
#define SP_ENGINE_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

enum sp_verdict {
    SP_VERDICT_OPEN = 0,
    SP_VERDICT_CLOSED,
    SP_VERDICT_REJECTED,
    SP_VERDICT_FILTERED,
    SP_VERDICT_UNREACHABLE,
    SP_VERDICT_UNKNOWN,
    SP_VERDICT_COUNT
};

enum sp_reason {
    SP_REASON_NONE = 0, /* not decided yet */
    SP_REASON_SYN_ACK,
    SP_REASON_MIDDLEBOX_SYN_ACK,
    SP_REASON_RST,
    SP_REASON_MIDDLEBOX_RST,
    SP_REASON_ICMP_PORT_UNREACHABLE,
    SP_REASON_ICMP_ADMIN_PROHIBITED,
    SP_REASON_ICMP_PROTO_UNREACHABLE,
    SP_REASON_ICMP_UNREACHABLE_OTHER,
    SP_REASON_ICMP_NET_UNREACHABLE,
    SP_REASON_ICMP_HOST_UNREACHABLE,
    SP_REASON_NO_ROUTE,
    SP_REASON_NO_RESPONSE,
    SP_REASON_CAPTURE_ENDED,
    SP_REASON_CAPTURE_DROPS,
    SP_REASON_INTERRUPTED,
    SP_REASON_COUNT
};

/* "open", "closed", ... */
const char *sp_verdict_name(enum sp_verdict v);

/* "syn-ack", "middlebox-rst", ... ("none" for SP_REASON_NONE). */
const char *sp_reason_name(enum sp_reason r);

/* The verdict a reason belongs to. */
enum sp_verdict sp_reason_verdict(enum sp_reason r);

/*
 * The reason for a destination-unreachable message of the given IP family
 * (4 or 6) and code. Never returns SP_REASON_NONE.
 */
enum sp_reason sp_reason_from_unreach(int family, uint8_t code);

/*
 * The errno name an application sees for this reason ("ECONNREFUSED"), or
 * NULL where none applies. IPv4 and IPv6 differ for admin-prohibited.
 */
const char *sp_reason_errno(enum sp_reason r, int family);

/* A few words describing an unreachable code, for humans. */
const char *sp_unreach_words(int family, uint8_t code);

/* True for reasons that come from an answer on the wire (not silence). */
bool sp_reason_is_active(enum sp_reason r);

#endif
