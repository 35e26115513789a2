/*
 * verdict.c - names and mappings for verdicts and reasons (DESIGN.md).
 */
#include "engine/verdict.h"

#include <stddef.h>

static const char *const verdict_names[SP_VERDICT_COUNT] = {
    "open", "closed", "rejected", "filtered", "unreachable", "unknown",
};

static const struct {
    const char *name;
    enum sp_verdict verdict;
} reasons[SP_REASON_COUNT] = {
    [SP_REASON_NONE] = {"none", SP_VERDICT_UNKNOWN},
    [SP_REASON_SYN_ACK] = {"syn-ack", SP_VERDICT_OPEN},
    [SP_REASON_MIDDLEBOX_SYN_ACK] = {"middlebox-syn-ack", SP_VERDICT_OPEN},
    [SP_REASON_RST] = {"rst", SP_VERDICT_CLOSED},
    [SP_REASON_MIDDLEBOX_RST] = {"middlebox-rst", SP_VERDICT_REJECTED},
    [SP_REASON_ICMP_PORT_UNREACHABLE] = {"icmp-port-unreachable",
                                         SP_VERDICT_REJECTED},
    [SP_REASON_ICMP_ADMIN_PROHIBITED] = {"icmp-admin-prohibited",
                                         SP_VERDICT_REJECTED},
    [SP_REASON_ICMP_PROTO_UNREACHABLE] = {"icmp-proto-unreachable",
                                          SP_VERDICT_REJECTED},
    [SP_REASON_ICMP_UNREACHABLE_OTHER] = {"icmp-unreachable-other",
                                          SP_VERDICT_REJECTED},
    [SP_REASON_ICMP_NET_UNREACHABLE] = {"icmp-net-unreachable",
                                        SP_VERDICT_UNREACHABLE},
    [SP_REASON_ICMP_HOST_UNREACHABLE] = {"icmp-host-unreachable",
                                         SP_VERDICT_UNREACHABLE},
    [SP_REASON_NO_ROUTE] = {"no-route", SP_VERDICT_UNREACHABLE},
    [SP_REASON_NO_RESPONSE] = {"no-response", SP_VERDICT_FILTERED},
    [SP_REASON_CAPTURE_ENDED] = {"capture-ended", SP_VERDICT_UNKNOWN},
    [SP_REASON_CAPTURE_DROPS] = {"capture-drops", SP_VERDICT_UNKNOWN},
    [SP_REASON_INTERRUPTED] = {"interrupted", SP_VERDICT_UNKNOWN},
};

const char *sp_verdict_name(enum sp_verdict v)
{
    return (unsigned)v < SP_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

const char *sp_reason_name(enum sp_reason r)
{
    return (unsigned)r < SP_REASON_COUNT ? reasons[r].name : "none";
}

enum sp_verdict sp_reason_verdict(enum sp_reason r)
{
    return (unsigned)r < SP_REASON_COUNT ? reasons[r].verdict
                                         : SP_VERDICT_UNKNOWN;
}

enum sp_reason sp_reason_from_unreach(int family, uint8_t code)
{
    if (family == 6) {
        switch (code) {
        case 0:
            return SP_REASON_ICMP_NET_UNREACHABLE; /* no route */
        case 1:
            return SP_REASON_ICMP_ADMIN_PROHIBITED; /* prohibited */
        case 3:
            return SP_REASON_ICMP_HOST_UNREACHABLE; /* address */
        case 4:
            return SP_REASON_ICMP_PORT_UNREACHABLE; /* port */
        default:
            return SP_REASON_ICMP_UNREACHABLE_OTHER;
        }
    }
    switch (code) {
    case 0:
    case 6:
    case 11:
        return SP_REASON_ICMP_NET_UNREACHABLE;
    case 1:
    case 5:
    case 7:
    case 12:
        return SP_REASON_ICMP_HOST_UNREACHABLE;
    case 2:
        return SP_REASON_ICMP_PROTO_UNREACHABLE;
    case 3:
        return SP_REASON_ICMP_PORT_UNREACHABLE;
    case 9:
    case 10:
    case 13:
        return SP_REASON_ICMP_ADMIN_PROHIBITED;
    default:
        return SP_REASON_ICMP_UNREACHABLE_OTHER;
    }
}

const char *sp_reason_errno(enum sp_reason r, int family)
{
    switch (r) {
    case SP_REASON_RST:
    case SP_REASON_MIDDLEBOX_RST:
    case SP_REASON_ICMP_PORT_UNREACHABLE:
        return "ECONNREFUSED";
    case SP_REASON_ICMP_ADMIN_PROHIBITED:
        return family == 6 ? "EACCES" : "EHOSTUNREACH";
    case SP_REASON_ICMP_PROTO_UNREACHABLE:
        return "ENOPROTOOPT";
    case SP_REASON_ICMP_UNREACHABLE_OTHER:
    case SP_REASON_ICMP_HOST_UNREACHABLE:
        return "EHOSTUNREACH";
    case SP_REASON_ICMP_NET_UNREACHABLE:
    case SP_REASON_NO_ROUTE:
        return "ENETUNREACH";
    case SP_REASON_NO_RESPONSE:
        return "ETIMEDOUT";
    default:
        return NULL;
    }
}

const char *sp_unreach_words(int family, uint8_t code)
{
    static const char *const v4[16] = {
        "net unreachable",
        "host unreachable",
        "protocol unreachable",
        "port unreachable",
        "fragmentation needed",
        "source route failed",
        "net unknown",
        "host unknown",
        "source host isolated",
        "net administratively prohibited",
        "host administratively prohibited",
        "net unreachable for TOS",
        "host unreachable for TOS",
        "communication administratively prohibited",
        "host precedence violation",
        "precedence cutoff",
    };
    static const char *const v6[8] = {
        "no route to destination",
        "communication administratively prohibited",
        "beyond scope of source address",
        "address unreachable",
        "port unreachable",
        "source address failed ingress/egress policy",
        "reject route to destination",
        "error in source routing header",
    };
    if (family == 6)
        return code < 8 ? v6[code] : "unreachable (unknown code)";
    return code < 16 ? v4[code] : "unreachable (unknown code)";
}

bool sp_reason_is_active(enum sp_reason r)
{
    switch (r) {
    case SP_REASON_SYN_ACK:
    case SP_REASON_MIDDLEBOX_SYN_ACK:
    case SP_REASON_RST:
    case SP_REASON_MIDDLEBOX_RST:
    case SP_REASON_ICMP_PORT_UNREACHABLE:
    case SP_REASON_ICMP_ADMIN_PROHIBITED:
    case SP_REASON_ICMP_PROTO_UNREACHABLE:
    case SP_REASON_ICMP_UNREACHABLE_OTHER:
    case SP_REASON_ICMP_NET_UNREACHABLE:
    case SP_REASON_ICMP_HOST_UNREACHABLE:
        return true;
    default:
        return false;
    }
}
