/*
 * output.c - the human table and JSON Lines sinks (see output.h).
 *
 * JSON keys and value conventions follow DESIGN.md "Output": addresses as
 * inet_ntop writes them, numbers as numbers, unknown values as null. Every
 * record is written as one whole line and flushed, so a consumer (or an
 * interrupt) never sees half a record.
 */
#include "engine/output.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct sp_output {
    struct sp_output_opts o;
    bool header_done, att_header_done, failed;
};

/*
 * Small writers: a large offline --json run prints millions of fields, and
 * printf's format parsing and float conversion were most of its time. The
 * sink is used by one thread only, so the unlocked stdio calls are safe.
 */
static void put_u(FILE *f, unsigned long long v)
{
    char b[24];
    size_t i = sizeof(b);

    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    fwrite_unlocked(b + i, 1, sizeof(b) - i, f);
}

static void put_s(FILE *f, const char *s)
{
    fwrite_unlocked(s, 1, strlen(s), f);
}

static void put_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;

    putc_unlocked('"', f);
    for (;; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
            run++;
            continue;
        }
        fwrite_unlocked(p - run, 1, run, f);
        run = 0;
        if (*p == '\0')
            break;
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else
            fprintf(f, "\\u%04x", *p);
    }
    putc_unlocked('"', f);
}

/* An address as inet_ntop writes it, quoted; IPv4 without inet_ntop. */
static void put_addr(FILE *f, const struct sp_addr *a)
{
    char b[SP_ADDR_STRLEN];

    if (a->family != 4) {
        put_json_str(f, sp_addr_str(a, b, sizeof(b)));
        return;
    }
    putc_unlocked('"', f);
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            putc_unlocked('.', f);
        put_u(f, a->b[i]);
    }
    putc_unlocked('"', f);
}

/* Copies s with every non-printable byte replaced by '?'. */
static const char *safe_text(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < len; i++)
        buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

static void put_addr_or_null(FILE *f, const struct sp_addr *a)
{
    if (a->family == 0)
        put_s(f, "null");
    else
        put_addr(f, a);
}

static void put_int_or_null(FILE *f, long long v)
{
    if (v < 0)
        put_s(f, "null");
    else
        put_u(f, (unsigned long long)v);
}

/* Milliseconds with three decimals (microseconds, rounded). */
static void put_ms_or_null(FILE *f, int64_t ns)
{
    unsigned long long us;

    if (ns < 0) {
        put_s(f, "null");
        return;
    }
    us = ((unsigned long long)ns + 500) / 1000;
    put_u(f, us / 1000);
    putc_unlocked('.', f);
    putc_unlocked((char)('0' + us / 100 % 10), f);
    putc_unlocked((char)('0' + us / 10 % 10), f);
    putc_unlocked((char)('0' + us % 10), f);
}

static void json_result(FILE *f, const char *type, const struct sp_result *r)
{
    const char *en = sp_reason_errno(r->reason, r->target.family);

    put_s(f, "{\"type\":\"");
    put_s(f, type);
    put_s(f, "\",\"target\":");
    put_addr(f, &r->target);
    if (r->name != NULL) {
        fputs(",\"name\":", f);
        put_json_str(f, r->name);
    }
    put_s(f, ",\"port\":");
    put_u(f, r->port);
    put_s(f, ",\"proto\":\"tcp\",\"verdict\":\"");
    put_s(f, sp_verdict_name(r->verdict));
    put_s(f, "\",\"reason\":\"");
    put_s(f, sp_reason_name(r->reason));
    put_s(f, "\",\"hop\":");
    put_int_or_null(f, r->hop);
    fputs(",\"responder\":", f);
    put_addr_or_null(f, &r->responder);
    fputs(",\"reply_ttl\":", f);
    put_int_or_null(f, r->reply_ttl);
    fputs(",\"rtt_ms\":", f);
    put_ms_or_null(f, r->rtt_ns);
    fputs(",\"errno\":", f);
    if (en != NULL)
        put_json_str(f, en);
    else
        fputs("null", f);
    fputs(",\"icmp_type\":", f);
    put_int_or_null(f, r->icmp_type);
    fputs(",\"icmp_code\":", f);
    put_int_or_null(f, r->icmp_code);
}

static const char *hop_answer_name(uint8_t kind, uint8_t reason)
{
    switch (kind) {
    case SP_HOP_NONE:
        return "none";
    case SP_HOP_TIME_EXCEEDED:
        return "time-exceeded";
    case SP_HOP_SYN_ACK:
        return "syn-ack";
    case SP_HOP_RST:
        return "rst";
    case SP_HOP_ECHO_REPLY:
        return "echo-reply";
    case SP_HOP_UNREACH:
        return sp_reason_name((enum sp_reason)reason);
    default:
        return NULL;
    }
}

static const char *note_name(uint8_t note)
{
    switch (note) {
    case SP_NOTE_QUIET:
        return "quiet";
    case SP_NOTE_RATE_LIMITED:
        return "rate-limited";
    case SP_NOTE_LOSS:
        return "loss";
    default:
        return NULL;
    }
}

static void json_verdicts(FILE *f, const unsigned *v)
{
    bool first = true;

    fputc('{', f);
    for (int i = 0; i < SP_VERDICT_COUNT; i++) {
        if (v[i] == 0)
            continue;
        fprintf(f, "%s\"%s\":%u", first ? "" : ",",
                sp_verdict_name((enum sp_verdict)i), v[i]);
        first = false;
    }
    fputc('}', f);
}

/* Live runs stream each record as it is reached; offline, records are
 * buffered and flushed at the summary (one write per record was half the
 * time of a large --json run). */
static void finish_line(struct sp_output *o)
{
    if ((o->o.flush_each && fflush(o->o.out) != 0) || ferror(o->o.out))
        o->failed = true;
}

/* The summary ends a run: always flushed, whatever flush_each says. */
static void flush_now(struct sp_output *o)
{
    if (fflush(o->o.out) != 0 || ferror(o->o.out))
        o->failed = true;
}

static void json_attempt(void *st, const struct sp_attempt_rec *a)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;
    long long frac = a->first_seen_ns % 1000000000LL;
    char fb[12];

    json_result(f, "attempt", &a->r);
    put_s(f, ",\"client\":");
    put_addr(f, &a->client);
    put_s(f, ",\"client_port\":");
    put_u(f, a->client_port);
    put_s(f, ",\"first_seen\":");
    put_u(f, (unsigned long long)(a->first_seen_ns / 1000000000LL));
    for (int i = 9; i >= 1; i--) {
        fb[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    fb[0] = '.';
    fwrite_unlocked(fb, 1, 10, f);
    put_s(f, ",\"syn_count\":");
    put_u(f, a->syn_count);
    put_s(f, "}\n");
    finish_line(o);
}

static void json_target(void *st, const struct sp_target_rec *t)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;

    json_result(f, "target", &t->r);
    fputs(",\"verdicts\":", f);
    json_verdicts(f, t->verdicts);
    if (t->hops != NULL) {
        fputs(",\"hops\":[", f);
        for (size_t i = 0; i < t->nhops; i++) {
            const struct sp_hop *h = &t->hops[i];
            const char *s = hop_answer_name(h->syn, h->syn_reason);
            const char *e = hop_answer_name(h->echo, h->echo_reason);
            const char *u = hop_answer_name(h->udp, h->udp_reason);
            const char *n = note_name(h->note);
            fprintf(f, "%s{\"ttl\":%u,\"addr\":", i ? "," : "", h->ttl);
            put_addr_or_null(f, &h->addr);
            fputs(",\"rtt_ms\":", f);
            put_ms_or_null(f, h->rtt_ns);
            /* null: no probe of that kind was sent with this TTL */
            put_s(f, ",\"syn\":");
            if (s != NULL)
                put_json_str(f, s);
            else
                put_s(f, "null");
            put_s(f, ",\"echo\":");
            if (e != NULL)
                put_json_str(f, e);
            else
                put_s(f, "null");
            if (u != NULL)
                fprintf(f, ",\"udp\":\"%s\"", u);
            if (n != NULL)
                fprintf(f, ",\"note\":\"%s\"", n);
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputs("}\n", f);
    finish_line(o);
}

static void json_summary(void *st, const struct sp_summary *s)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;

    fputs("{\"type\":\"summary\",\"verdicts\":", f);
    json_verdicts(f, s->verdicts);
    fprintf(f,
            ",\"attempts\":%llu,\"packets\":%llu,\"unrelated\":%llu,"
            "\"truncated\":%llu,\"invalid\":%llu,\"capture_drops\":%llu,"
            "\"incomplete\":%s}\n",
            (unsigned long long)s->attempts, (unsigned long long)s->packets,
            (unsigned long long)s->unrelated, (unsigned long long)s->truncated,
            (unsigned long long)s->invalid,
            (unsigned long long)s->capture_drops,
            s->incomplete ? "true" : "false");
    flush_now(o);
}

/* ---- text ------------------------------------------------------------------
 */

static void fmt_ms(int64_t ns, char *buf, size_t len)
{
    if (ns < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
}

static void fmt_int(int v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%d", v);
}

static void text_result_cols(FILE *f, const struct sp_result *r)
{
    char tb[SP_ADDR_STRLEN], rb[SP_ADDR_STRLEN], hop[12], ttl[12], rtt[24];

    sp_addr_str(&r->target, tb, sizeof(tb));
    sp_addr_str(&r->responder, rb, sizeof(rb));
    fmt_int(r->hop, hop, sizeof(hop));
    fmt_int(r->reply_ttl, ttl, sizeof(ttl));
    fmt_ms(r->rtt_ns, rtt, sizeof(rtt));
    fprintf(f, "%-22s %5u  %-11s %-22s %3s  %-22s %3s  %s", tb, r->port,
            sp_verdict_name(r->verdict), sp_reason_name(r->reason), hop, rb,
            ttl, rtt);
}

static void text_attempt(void *st, const struct sp_attempt_rec *a)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;
    char cb[SP_ADDR_STRLEN];

    if (!o->o.verbose)
        return;
    if (!o->att_header_done) {
        fprintf(f,
                "attempts:\n%-22s %5s  %-11s %-22s %3s  %-22s %3s  %-9s "
                "%-28s %s\n",
                "TARGET", "PORT", "VERDICT", "REASON", "HOP", "RESPONDER",
                "TTL", "RTT", "CLIENT", "SYNS");
        o->att_header_done = true;
    }
    text_result_cols(f, &a->r);
    fprintf(f, "  %s:%u  %u\n", sp_addr_str(&a->client, cb, sizeof(cb)),
            a->client_port, a->syn_count);
    finish_line(o);
}

static void text_hops(FILE *f, const struct sp_target_rec *t)
{
    fprintf(f, " hop  %-24s %-10s %-24s %-24s %s\n", "address", "rtt",
            "tcp SYN", "icmp echo", "note");
    for (size_t i = 0; i < t->nhops; i++) {
        const struct sp_hop *h = &t->hops[i];
        char ab[SP_ADDR_STRLEN], rtt[24];
        const char *s = hop_answer_name(h->syn, h->syn_reason);
        const char *e = hop_answer_name(h->echo, h->echo_reason);
        const char *n = note_name(h->note);
        if (h->addr.family != 0)
            sp_addr_str(&h->addr, ab, sizeof(ab));
        else
            snprintf(ab, sizeof(ab), "*");
        fmt_ms(h->rtt_ns, rtt, sizeof(rtt));
        const char *u = hop_answer_name(h->udp, h->udp_reason);
        char other[64];
        if (e == NULL && u != NULL) {
            /* a UDP traceroute in the capture: shown in the probe column */
            snprintf(other, sizeof(other), "udp: %s", u);
            e = other;
        }
        fprintf(f, "%4u  %-24s %-10s %-24s %-24s %s\n", h->ttl, ab, rtt,
                s ? s : "-", e ? e : "-", n ? n : "");
    }
}

int sp_output_sentence(const struct sp_target_rec *t, char *buf, size_t len)
{
    const struct sp_result *r = &t->r;
    char rb[SP_ADDR_STRLEN];
    const char *en = sp_reason_errno(r->reason, r->target.family);
    int n = 0;

    sp_addr_str(&r->responder, rb, sizeof(rb));
    switch (r->reason) {
    case SP_REASON_SYN_ACK:
        n = snprintf(buf, len, "the host answers the SYN: the port is open");
        break;
    case SP_REASON_MIDDLEBOX_SYN_ACK:
        n = snprintf(buf, len,
                     "a box at hop %d answers for the host (SYN proxy or "
                     "load balancer): the connection opens there",
                     r->hop);
        break;
    case SP_REASON_RST:
        n = snprintf(buf, len,
                     "the host itself resets the connection: nothing "
                     "listens on tcp/%u",
                     r->port);
        break;
    case SP_REASON_MIDDLEBOX_RST:
        n = snprintf(
            buf, len,
            "a RST claiming to come from %s was forged at hop %d "
            "(its TTL %d puts it at another distance than the "
            "host)%s",
            rb, r->hop, r->reply_ttl,
            t->middlebox_host_answer ? "; the host's own answer followed" : "");
        break;
    case SP_REASON_ICMP_PORT_UNREACHABLE:
    case SP_REASON_ICMP_ADMIN_PROHIBITED:
    case SP_REASON_ICMP_PROTO_UNREACHABLE:
    case SP_REASON_ICMP_UNREACHABLE_OTHER:
    case SP_REASON_ICMP_NET_UNREACHABLE:
    case SP_REASON_ICMP_HOST_UNREACHABLE:
        n = snprintf(
            buf, len, "%s at hop %d says %s (ICMP %d/%d)", rb, r->hop,
            sp_unreach_words(r->target.family,
                             (uint8_t)(r->icmp_code < 0 ? 0 : r->icmp_code)),
            r->icmp_type, r->icmp_code);
        break;
    case SP_REASON_NO_ROUTE:
        n = snprintf(buf, len,
                     "the local routing table has no route to this "
                     "address: nothing was sent");
        break;
    case SP_REASON_NO_RESPONSE:
        if (t->have_trace && r->hop > 0 && t->hops != NULL &&
            (size_t)r->hop <= t->nhops &&
            t->hops[r->hop - 1].addr.family != 0) {
            char hb[SP_ADDR_STRLEN];
            sp_addr_str(&t->hops[r->hop - 1].addr, hb, sizeof(hb));
            n = snprintf(buf, len,
                         "silently dropped after hop %d (%s), before hop %d",
                         r->hop, hb, r->hop + 1);
        } else if (t->have_trace && r->hop >= 0)
            n = snprintf(buf, len, "silently dropped after hop %d", r->hop);
        else
            n = snprintf(buf, len, "no answer to any SYN");
        if (n >= 0 && (size_t)n < len) {
            if (t->echo_state == 1 && t->echo_hop > 0)
                n += snprintf(buf + n, len - (size_t)n,
                              "; ICMP echo reaches the host%s%d, so the host "
                              "is up and a filter drops tcp/%u",
                              t->have_trace ? " at hop " : " at distance ",
                              t->echo_hop, r->port);
            else if (t->echo_state == 0)
                n += snprintf(buf + n, len - (size_t)n,
                              "; the host does not answer ICMP echo either");
        }
        break;
    case SP_REASON_CAPTURE_ENDED:
        n = snprintf(buf, len, "the capture ended before the wait was over");
        break;
    case SP_REASON_CAPTURE_DROPS:
        n = snprintf(buf, len,
                     "the capture dropped packets while this probe waited");
        break;
    case SP_REASON_INTERRUPTED:
        n = snprintf(buf, len, "interrupted before the wait was over");
        break;
    default:
        n = snprintf(buf, len, "no evidence");
        break;
    }
    if (en != NULL && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, "; an application sees %s", en);
    return n;
}

/* DESIGN.md "What to tell the user": causes and the next step. */
static void explain(FILE *f, const struct sp_target_rec *t)
{
    const struct sp_result *r = &t->r;
    const char *causes = NULL, *next = NULL;

    switch (r->reason) {
    case SP_REASON_SYN_ACK:
    case SP_REASON_MIDDLEBOX_SYN_ACK:
        causes = "a service is listening";
        next = "if the application still fails, look above TCP (TLS, "
               "the protocol, the application's own logs)";
        break;
    case SP_REASON_RST:
        causes = "nothing listens on the port; the service crashed or did "
                 "not start; it listens on another port or only on "
                 "127.0.0.1";
        next = "on the server: is the service running, and on which "
               "address and port is it listening (ss -ltnp)?";
        break;
    case SP_REASON_MIDDLEBOX_RST:
        causes = "a firewall or proxy on the path resets the connection in "
                 "the host's name";
        next = "the box at that hop, not the host, refuses; compare with the "
               "host's own answer and check that box's rules";
        break;
    case SP_REASON_ICMP_PORT_UNREACHABLE:
        causes = "a REJECT rule (the host's own firewall if the host "
                 "answered, else the router's)";
        next = "check the rule set of the box that answered for this port";
        break;
    case SP_REASON_ICMP_ADMIN_PROHIBITED:
    case SP_REASON_ICMP_PROTO_UNREACHABLE:
    case SP_REASON_ICMP_UNREACHABLE_OTHER:
        causes = "an explicit REJECT rule or prohibit route on the router "
                 "that answered";
        next = "the router at that hop rejects this port; its rule set or "
               "routing table decides";
        break;
    case SP_REASON_ICMP_NET_UNREACHABLE:
    case SP_REASON_ICMP_HOST_UNREACHABLE:
        causes = "the router that answered has no route, or the host's "
                 "segment cannot resolve it (host down)";
        next = "routing at that hop, or whether the host is up on its own "
               "segment";
        break;
    case SP_REASON_NO_ROUTE:
        causes = "no default gateway, interface down, VPN tunnel dropped";
        next = "the local routing table: is there a route (or default "
               "route) to this address (ip route get)?";
        break;
    case SP_REASON_NO_RESPONSE:
        if (t->echo_state == 1) {
            causes = "a firewall or cloud security group drops this port "
                     "silently";
            next = "check the filter at or just after the last answering "
                   "hop (router ACL, host firewall, security group) for "
                   "this port and source";
        } else {
            causes = "host down or overloaded, wrong address or DNS, a "
                     "filter dropping everything";
            next = "check that the address is right (DNS), then the host's "
                   "load and the path's filters";
        }
        break;
    default:
        causes = "the capture ended too soon, or dropped packets";
        next = "capture longer, or probe more slowly";
        break;
    }
    fprintf(f, "    causes:    %s\n    next step: %s\n", causes, next);
}

static void text_target(void *st, const struct sp_target_rec *t)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;
    char sentence[512];

    if (t->hops != NULL) {
        char tb[SP_ADDR_STRLEN];
        fprintf(f, "\n%s tcp/%u path:\n",
                sp_addr_str(&t->r.target, tb, sizeof(tb)), t->r.port);
        text_hops(f, t);
        o->header_done = false;
    }
    if (!o->header_done) {
        if (o->att_header_done || t->hops != NULL)
            fputc('\n', f);
        fprintf(f, "%-22s %5s  %-11s %-22s %3s  %-22s %3s  %s\n", "TARGET",
                "PORT", "VERDICT", "REASON", "HOP", "RESPONDER", "TTL", "RTT");
        o->header_done = true;
    }
    text_result_cols(f, &t->r);
    if (t->r.name != NULL) {
        char nb[256];
        fprintf(f, "  (%s)", safe_text(t->r.name, nb, sizeof(nb)));
    }
    fputc('\n', f);
    if (t->hops != NULL || o->o.explain) {
        sp_output_sentence(t, sentence, sizeof(sentence));
        fprintf(f, "    %s: %s.\n", sp_verdict_name(t->r.verdict), sentence);
    }
    if (o->o.explain)
        explain(f, t);
    finish_line(o);
}

static void text_summary(void *st, const struct sp_summary *s)
{
    struct sp_output *o = st;
    FILE *f = o->o.out;
    bool first = true;

    fputs("\nsummary:", f);
    for (int i = 0; i < SP_VERDICT_COUNT; i++) {
        if (s->verdicts[i] == 0)
            continue;
        fprintf(f, "%s %u %s", first ? "" : ",", s->verdicts[i],
                sp_verdict_name((enum sp_verdict)i));
        first = false;
    }
    if (first)
        fputs(" no connection attempts", f);
    fprintf(f,
            "; %llu attempts, %llu packets, %llu unrelated, %llu truncated, "
            "%llu invalid, %llu capture drops%s\n",
            (unsigned long long)s->attempts, (unsigned long long)s->packets,
            (unsigned long long)s->unrelated, (unsigned long long)s->truncated,
            (unsigned long long)s->invalid,
            (unsigned long long)s->capture_drops,
            s->incomplete ? " (incomplete)" : "");
    flush_now(o);
}

struct sp_output *sp_output_create(const struct sp_output_opts *opts)
{
    struct sp_output *o = calloc(1, sizeof(*o));

    if (o != NULL)
        o->o = *opts;
    return o;
}

void sp_output_sink(struct sp_output *o, struct sp_sink *sink)
{
    sink->state = o;
    sink->attempt = o->o.json ? json_attempt : text_attempt;
    sink->target = o->o.json ? json_target : text_target;
    sink->summary = o->o.json ? json_summary : text_summary;
}

bool sp_output_failed(const struct sp_output *o)
{
    return o->failed;
}

void sp_output_destroy(struct sp_output *o)
{
    free(o);
}
