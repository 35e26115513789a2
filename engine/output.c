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

/*
 * JSON records are assembled in a buffer of the output's own and handed to
 * stdio once per record: a large offline --json run prints millions of
 * fields, and printf's format parsing, inet_ntop's sprintf and one stdio
 * call per field were most of its time. The sink is used by one thread
 * only, so the unlocked stdio calls are safe.
 */
/* JSON lines gather in JB_SIZE and go to the stream half of it at a time:
 * 64 KiB writes, which an unbuffered stdout (synprobe -r --json) passes on
 * without a copy. */
enum { JB_SIZE = 128 << 10, ADDR_CACHE = 512 };

/* An IPv6 address's text, quoted (a direct-mapped cache: the same targets
 * and responders come back in record after record, and IPv6 text takes
 * longer to write). */
struct addr_text {
    struct sp_addr a;
    uint8_t len;
    char s[SP_ADDR_STRLEN + 2];
};

/* A byte in decimal, padded to four bytes, and its length. */
struct dec_byte {
    char s[4];
    uint8_t len;
};

/* A fixed piece of text and its length. */
struct name {
    const char *s;
    size_t len;
};

struct jb {
    FILE *f;
    size_t n;
    char b[JB_SIZE];
    struct addr_text cache[ADDR_CACHE];
    struct dec_byte dec[256];
    /* names by enum value, and errno as JSON ([1]: IPv6) by reason */
    struct name verdicts[SP_VERDICT_COUNT], reasons[SP_REASON_COUNT];
    struct name errnos[2][SP_REASON_COUNT];
    struct name head_attempt, head_target;
};

struct sp_output {
    struct sp_output_opts o;
    bool header_done, att_header_done, failed;
    struct jb jb;
};

static inline void jb_flush(struct jb *j)
{
    if (j->n > 0)
        fwrite_unlocked(j->b, 1, j->n, j->f);
    j->n = 0;
}

/* Makes room for `need` more bytes (need <= JB_SIZE); returns where. */
static inline char *jb_room(struct jb *j, size_t need)
{
    if (JB_SIZE - j->n < need)
        jb_flush(j);
    return j->b + j->n;
}

static inline void jb_mem(struct jb *j, const char *s, size_t len)
{
    if (len > JB_SIZE - j->n) {
        jb_flush(j);
        if (len > JB_SIZE) {
            fwrite_unlocked(s, 1, len, j->f);
            return;
        }
    }
    memcpy(j->b + j->n, s, len);
    j->n += len;
}

static inline void jb_c(struct jb *j, char c)
{
    *jb_room(j, 1) = c;
    j->n++;
}

/* Writes v in decimal at p; returns the number of digits (<= 20). */
static inline size_t fmt_u(char *p, unsigned long long v)
{
    /* "00" to "99": two digits per division */
    static const char pairs[201] = "0001020304050607080910111213141516171819"
                                   "2021222324252627282930313233343536373839"
                                   "4041424344454647484950515253545556575859"
                                   "6061626364656667686970717273747576777879"
                                   "8081828384858687888990919293949596979899";
    size_t n = 1, i;

    for (unsigned long long x = v; x >= 10 && n < 20; x /= 10)
        n++;
    for (i = n; v >= 100; v /= 100) {
        i -= 2;
        memcpy(p + i, pairs + 2 * (v % 100), 2);
    }
    if (v >= 10)
        memcpy(p + i - 2, pairs + 2 * v, 2);
    else
        p[i - 1] = (char)('0' + v);
    return n;
}

static inline void jb_u(struct jb *j, unsigned long long v)
{
    j->n += fmt_u(jb_room(j, 20), v);
}

/* Dotted quad, as inet_ntop writes it; returns its length (<= 15). Writes
 * up to 16 bytes at p. */
static size_t fmt_ip4(const struct dec_byte *t, char *p, const uint8_t *b)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        if (i > 0)
            p[n++] = '.';
        memcpy(p + n, t[b[i]].s, 4);
        n += t[b[i]].len;
    }
    return n;
}

/*
 * IPv6 text exactly as glibc's inet_ntop writes it: lowercase hex groups
 * without leading zeros; the first longest run of two or more zero groups
 * becomes "::"; ::a.b.c.d and ::ffff:a.b.c.d keep their IPv4 tail. Returns
 * the length (<= 45).
 */
static size_t fmt_ip6(const struct dec_byte *t, char *p, const uint8_t *b)
{
    static const char hex[] = "0123456789abcdef";
    unsigned w[8];
    int best = -1, blen = 0, cur = -1, clen = 0;
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
        if (w[i] != 0) {
            cur = -1;
            continue;
        }
        if (cur < 0) {
            cur = i;
            clen = 0;
        }
        if (++clen > blen) {
            best = cur;
            blen = clen;
        }
    }
    if (blen < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        int shift;
        if (best >= 0 && i >= best && i < best + blen) {
            if (i == best)
                p[n++] = ':';
            continue;
        }
        if (i != 0)
            p[n++] = ':';
        if (i == 6 && best == 0 && (blen == 6 || (blen == 5 && w[5] == 0xffff)))
            return n + fmt_ip4(t, p + n, b + 12);
        for (shift = 12; shift > 0 && (w[i] >> shift) == 0; shift -= 4)
            ;
        for (; shift >= 0; shift -= 4)
            p[n++] = hex[(w[i] >> shift) & 0xf];
    }
    if (best >= 0 && best + blen == 8)
        p[n++] = ':';
    return n;
}

static void jb_json_str(struct jb *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;

    jb_c(j, '"');
    for (;; p++) {
        char *o;
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
            run++;
            continue;
        }
        jb_mem(j, (const char *)p - run, run);
        run = 0;
        if (*p == '\0')
            break;
        o = jb_room(j, 6);
        o[0] = '\\';
        if (*p == '"' || *p == '\\') {
            o[1] = (char)*p;
            j->n += 2;
        } else {
            memcpy(o + 1, "u00", 3);
            o[4] = hex[*p >> 4];
            o[5] = hex[*p & 0xf];
            j->n += 6;
        }
    }
    jb_c(j, '"');
}

/* An address as inet_ntop writes it, quoted ("-" for none). */
/*
 * Records are written through a cursor into room reserved for a whole
 * record (REC_MAX bytes: every field but a host name has a bound, and a
 * name goes through the checked jb_json_str), so no field checks for room.
 */
enum { REC_MAX = 768 };

#define PUT_LIT(p, lit)                                                        \
    ((p) = (char *)memcpy((p), "" lit, sizeof(lit) - 1) + sizeof(lit) - 1)

static char *put_name(char *p, const struct name *n)
{
    memcpy(p, n->s, n->len);
    return p + n->len;
}

static char *put_u(char *p, unsigned long long v)
{
    return p + fmt_u(p, v);
}

/* An address, quoted; IPv6 from the cache (writes up to 48 bytes at p). */
static char *put_addr(struct jb *j, char *p, const struct sp_addr *a)
{
    uint64_t lo, hi;
    struct addr_text *c;
    size_t n = 1;

    if (a->family == 4) {
        /* quick enough to write directly */
        *p = '"';
        n += fmt_ip4(j->dec, p + n, a->b);
        p[n++] = '"';
        return p + n;
    }
    memcpy(&lo, a->b, sizeof(lo));
    memcpy(&hi, a->b + 8, sizeof(hi));
    lo =
        (lo * 0x9e3779b97f4a7c15ULL) ^ (hi ^ a->family) * 0xc2b2ae3d27d4eb4fULL;
    c = &j->cache[(lo >> 40) % ADDR_CACHE];
    if (c->len == 0 || c->a.family != a->family ||
        memcmp(c->a.b, a->b, sizeof(a->b)) != 0) {
        /* a miss: format it (an empty entry has len 0) */
        c->s[0] = '"';
        if (a->family == 6)
            n += fmt_ip6(j->dec, c->s + n, a->b);
        else
            c->s[n++] = '-';
        c->s[n++] = '"';
        c->len = (uint8_t)n;
        c->a = *a;
    }
    memcpy(p, c->s, sizeof(c->s));
    return p + c->len;
}

static char *put_addr_or_null(struct jb *j, char *p, const struct sp_addr *a)
{
    if (a->family == 0)
        return PUT_LIT(p, "null");
    return put_addr(j, p, a);
}

static char *put_int_or_null(char *p, long long v)
{
    if (v < 0)
        return PUT_LIT(p, "null");
    return put_u(p, (unsigned long long)v);
}

/* Milliseconds with three decimals (microseconds, rounded). */
static char *put_ms_or_null(char *p, int64_t ns)
{
    unsigned long long us;

    if (ns < 0)
        return PUT_LIT(p, "null");
    us = ((unsigned long long)ns + 500) / 1000;
    p = put_u(p, us / 1000);
    p[0] = '.';
    p[1] = (char)('0' + us / 100 % 10);
    p[2] = (char)('0' + us / 10 % 10);
    p[3] = (char)('0' + us % 10);
    return p + 4;
}

static const struct name *verdict_name(const struct jb *j, enum sp_verdict v)
{
    return &j->verdicts[(unsigned)v < SP_VERDICT_COUNT ? v
                                                       : SP_VERDICT_UNKNOWN];
}

/* The common fields of attempt and target records, from the opening brace;
 * `head` is "{\"type\":\"...\",\"target\":". Returns the cursor, in room
 * for REC_MAX bytes less what it wrote. */
static char *json_result(struct jb *j, char *p, const struct name *head,
                         const struct sp_result *r)
{
    unsigned reason = (unsigned)r->reason < SP_REASON_COUNT
                          ? (unsigned)r->reason
                          : (unsigned)SP_REASON_NONE;
    const struct name *en = &j->errnos[r->target.family == 6][reason];

    p = put_name(p, head);
    p = put_addr(j, p, &r->target);
    if (r->name != NULL) {
        PUT_LIT(p, ",\"name\":");
        j->n = (size_t)(p - j->b);
        jb_json_str(j, r->name);
        p = jb_room(j, REC_MAX);
    }
    PUT_LIT(p, ",\"port\":");
    p = put_u(p, r->port);
    PUT_LIT(p, ",\"proto\":\"tcp\",\"verdict\":\"");
    p = put_name(p, verdict_name(j, r->verdict));
    PUT_LIT(p, "\",\"reason\":\"");
    p = put_name(p, &j->reasons[reason]);
    PUT_LIT(p, "\",\"hop\":");
    p = put_int_or_null(p, r->hop);
    PUT_LIT(p, ",\"responder\":");
    p = put_addr_or_null(j, p, &r->responder);
    PUT_LIT(p, ",\"reply_ttl\":");
    p = put_int_or_null(p, r->reply_ttl);
    PUT_LIT(p, ",\"rtt_ms\":");
    p = put_ms_or_null(p, r->rtt_ns);
    PUT_LIT(p, ",\"errno\":");
    p = put_name(p, en);
    PUT_LIT(p, ",\"icmp_type\":");
    p = put_int_or_null(p, r->icmp_type);
    PUT_LIT(p, ",\"icmp_code\":");
    return put_int_or_null(p, r->icmp_code);
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

/* {"open":N,...}: at most SP_VERDICT_COUNT * 40 bytes. */
static char *json_verdicts(const struct jb *j, char *p, const unsigned *v)
{
    bool first = true;

    *p++ = '{';
    for (int i = 0; i < SP_VERDICT_COUNT; i++) {
        if (v[i] == 0)
            continue;
        if (!first)
            *p++ = ',';
        *p++ = '"';
        p = put_name(p, &j->verdicts[i]);
        PUT_LIT(p, "\":");
        p = put_u(p, v[i]);
        first = false;
    }
    *p++ = '}';
    return p;
}

/* Live runs stream each record as it is reached; offline, records are
 * buffered and flushed at the summary (one write per record was half the
 * time of a large --json run). */
static void finish_line(struct sp_output *o)
{
    /* JSON records gather in jb, handed to stdio half a buffer at a time
     * (a record is never split: it starts with room for all of it) */
    if (!o->o.flush_each && o->jb.n > 0 && o->jb.n < JB_SIZE / 2)
        return;
    jb_flush(&o->jb);
    if ((o->o.flush_each && fflush(o->o.out) != 0) || ferror_unlocked(o->o.out))
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
    struct jb *j = &o->jb;
    long long frac = a->first_seen_ns % 1000000000LL;
    char *p = jb_room(j, REC_MAX);

    p = json_result(j, p, &j->head_attempt, &a->r);
    PUT_LIT(p, ",\"client\":");
    p = put_addr(j, p, &a->client);
    PUT_LIT(p, ",\"client_port\":");
    p = put_u(p, a->client_port);
    PUT_LIT(p, ",\"first_seen\":");
    p = put_u(p, (unsigned long long)(a->first_seen_ns / 1000000000LL));
    for (int i = 9; i >= 1; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p[0] = '.';
    p += 10;
    PUT_LIT(p, ",\"syn_count\":");
    p = put_u(p, a->syn_count);
    PUT_LIT(p, "}\n");
    j->n = (size_t)(p - j->b);
    finish_line(o);
}

/* A hop's answer for one probe kind: quoted, or null if none was sent. */
static char *put_answer(char *p, const char *s)
{
    size_t n;

    if (s == NULL)
        return PUT_LIT(p, "null");
    n = strlen(s);
    *p++ = '"';
    memcpy(p, s, n);
    p += n;
    *p++ = '"';
    return p;
}

static void json_target(void *st, const struct sp_target_rec *t)
{
    struct sp_output *o = st;
    struct jb *j = &o->jb;
    char *p = jb_room(j, REC_MAX);

    p = json_result(j, p, &j->head_target, &t->r);
    PUT_LIT(p, ",\"verdicts\":");
    p = json_verdicts(j, p, t->verdicts);
    if (t->hops != NULL) {
        PUT_LIT(p, ",\"hops\":[");
        for (size_t i = 0; i < t->nhops; i++) {
            const struct sp_hop *h = &t->hops[i];
            const char *s = hop_answer_name(h->syn, h->syn_reason);
            const char *e = hop_answer_name(h->echo, h->echo_reason);
            const char *u = hop_answer_name(h->udp, h->udp_reason);
            const char *n = note_name(h->note);
            /* a row is at most about 250 bytes */
            j->n = (size_t)(p - j->b);
            p = jb_room(j, REC_MAX);
            if (i > 0)
                *p++ = ',';
            PUT_LIT(p, "{\"ttl\":");
            p = put_u(p, h->ttl);
            PUT_LIT(p, ",\"addr\":");
            p = put_addr_or_null(j, p, &h->addr);
            PUT_LIT(p, ",\"rtt_ms\":");
            p = put_ms_or_null(p, h->rtt_ns);
            /* null: no probe of that kind was sent with this TTL */
            PUT_LIT(p, ",\"syn\":");
            p = put_answer(p, s);
            PUT_LIT(p, ",\"echo\":");
            p = put_answer(p, e);
            if (u != NULL) {
                PUT_LIT(p, ",\"udp\":");
                p = put_answer(p, u);
            }
            if (n != NULL) {
                PUT_LIT(p, ",\"note\":");
                p = put_answer(p, n);
            }
            *p++ = '}';
        }
        *p++ = ']';
    }
    PUT_LIT(p, "}\n");
    j->n = (size_t)(p - j->b);
    finish_line(o);
}

static void json_summary(void *st, const struct sp_summary *s)
{
    struct sp_output *o = st;
    struct jb *j = &o->jb;
    char *p = jb_room(j, REC_MAX);

    PUT_LIT(p, "{\"type\":\"summary\",\"verdicts\":");
    p = json_verdicts(j, p, s->verdicts);
    PUT_LIT(p, ",\"attempts\":");
    p = put_u(p, s->attempts);
    PUT_LIT(p, ",\"packets\":");
    p = put_u(p, s->packets);
    PUT_LIT(p, ",\"unrelated\":");
    p = put_u(p, s->unrelated);
    PUT_LIT(p, ",\"truncated\":");
    p = put_u(p, s->truncated);
    PUT_LIT(p, ",\"invalid\":");
    p = put_u(p, s->invalid);
    PUT_LIT(p, ",\"capture_drops\":");
    p = put_u(p, s->capture_drops);
    PUT_LIT(p, ",\"incomplete\":");
    if (s->incomplete)
        PUT_LIT(p, "true}\n");
    else
        PUT_LIT(p, "false}\n");
    j->n = (size_t)(p - j->b);
    jb_flush(j);
    flush_now(o);
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

/* ---- text ------------------------------------------------------------------
 */

static void fmt_ms(int64_t ns, char *buf, size_t len)
{
    if (ns < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
}

/*
 * A line of the table, built by hand: a run prints one per target (and per
 * attempt with -v), and four snprintf and an fprintf per row were most of
 * the time synprobe -r spent after the capture's end. Each call below does
 * what the printf conversion in its comment does.
 */
struct tline {
    char b[512];
    size_t n;
};

/* %-Ns, or %Ns when right */
static void tl_str(struct tline *l, const char *s, size_t len, size_t width,
                   bool right)
{
    size_t pad = len < width ? width - len : 0;

    if (len > sizeof(l->b) - l->n - pad - 1)
        len = sizeof(l->b) - l->n - pad - 1; /* never: fields are short */
    if (right) {
        memset(l->b + l->n, ' ', pad);
        l->n += pad;
    }
    memcpy(l->b + l->n, s, len);
    l->n += len;
    if (!right) {
        memset(l->b + l->n, ' ', pad);
        l->n += pad;
    }
}

static void tl_cstr(struct tline *l, const char *s, size_t width, bool right)
{
    tl_str(l, s, strlen(s), width, right);
}

/* %Nu for v >= 0, else "-" as %Ns */
static void tl_int(struct tline *l, long long v, size_t width)
{
    char d[24];

    if (v < 0)
        tl_str(l, "-", 1, width, true);
    else
        tl_str(l, d, fmt_u(d, (unsigned long long)v), width, true);
}

/* sp_addr_str's text ("-" for none) as %-Ns */
static void tl_addr(struct tline *l, const struct jb *j,
                    const struct sp_addr *a, size_t width)
{
    char t[SP_ADDR_STRLEN + 16];
    size_t len = a->family == 4   ? fmt_ip4(j->dec, t, a->b)
                 : a->family == 6 ? fmt_ip6(j->dec, t, a->b)
                                  : 0;

    if (len == 0)
        tl_str(l, "-", 1, width, false);
    else
        tl_str(l, t, len, width, false);
}

/* The columns "%-22s %5u  %-11s %-22s %3s  %-22s %3s  %s" of a result. */
static void text_result_cols(struct tline *l, const struct jb *j,
                             const struct sp_result *r)
{
    char rtt[24];

    tl_addr(l, j, &r->target, 22);
    l->b[l->n++] = ' ';
    tl_int(l, r->port, 5);
    tl_str(l, "  ", 2, 0, false);
    tl_cstr(l, sp_verdict_name(r->verdict), 11, false);
    l->b[l->n++] = ' ';
    tl_cstr(l, sp_reason_name(r->reason), 22, false);
    l->b[l->n++] = ' ';
    tl_int(l, r->hop, 3);
    tl_str(l, "  ", 2, 0, false);
    tl_addr(l, j, &r->responder, 22);
    l->b[l->n++] = ' ';
    tl_int(l, r->reply_ttl, 3);
    tl_str(l, "  ", 2, 0, false);
    fmt_ms(r->rtt_ns, rtt, sizeof(rtt));
    tl_cstr(l, rtt, 0, false);
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
    {
        struct tline l = {.n = 0};
        text_result_cols(&l, &o->jb, &a->r);
        fwrite_unlocked(l.b, 1, l.n, f);
    }
    fprintf(f, "  %s:%u  %u\n", sp_addr_str(&a->client, cb, sizeof(cb)),
            a->client_port, a->syn_count);
    finish_line(o);
}

static void text_hops(FILE *f, const struct jb *j,
                      const struct sp_target_rec *t)
{
    fprintf(f, " hop  %-24s %-10s %-24s %-24s %s\n", "address", "rtt",
            "tcp SYN", "icmp echo", "note");
    for (size_t i = 0; i < t->nhops; i++) {
        const struct sp_hop *h = &t->hops[i];
        struct tline l = {.n = 0};
        char rtt[24];
        const char *s = hop_answer_name(h->syn, h->syn_reason);
        const char *e = hop_answer_name(h->echo, h->echo_reason);
        const char *n = note_name(h->note);
        const char *u = hop_answer_name(h->udp, h->udp_reason);
        char other[64];
        if (e == NULL && u != NULL) {
            /* a UDP traceroute in the capture: shown in the probe column */
            snprintf(other, sizeof(other), "udp: %s", u);
            e = other;
        }
        /* "%4u  %-24s %-10s %-24s %-24s %s\n" */
        tl_int(&l, h->ttl, 4);
        tl_str(&l, "  ", 2, 0, false);
        if (h->addr.family != 0)
            tl_addr(&l, j, &h->addr, 24);
        else
            tl_str(&l, "*", 1, 24, false);
        l.b[l.n++] = ' ';
        fmt_ms(h->rtt_ns, rtt, sizeof(rtt));
        tl_cstr(&l, rtt, 10, false);
        l.b[l.n++] = ' ';
        tl_cstr(&l, s ? s : "-", 24, false);
        l.b[l.n++] = ' ';
        tl_cstr(&l, e ? e : "-", 24, false);
        l.b[l.n++] = ' ';
        tl_cstr(&l, n ? n : "", 0, false);
        l.b[l.n++] = '\n';
        fwrite_unlocked(l.b, 1, l.n, f);
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
        text_hops(f, &o->jb, t);
        o->header_done = false;
    }
    if (!o->header_done) {
        if (o->att_header_done || t->hops != NULL)
            fputc('\n', f);
        fprintf(f, "%-22s %5s  %-11s %-22s %3s  %-22s %3s  %s\n", "TARGET",
                "PORT", "VERDICT", "REASON", "HOP", "RESPONDER", "TTL", "RTT");
        o->header_done = true;
    }
    {
        struct tline l = {.n = 0};
        text_result_cols(&l, &o->jb, &t->r);
        fwrite_unlocked(l.b, 1, l.n, f);
    }
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

static struct name name_of(const char *s)
{
    struct name n = {.s = s, .len = strlen(s)};
    return n;
}

static void jb_init(struct jb *j, FILE *f)
{
    static const char *const errno_json[] = {
        "null",          "\"ECONNREFUSED\"", "\"EHOSTUNREACH\"",
        "\"EACCES\"",    "\"ENOPROTOOPT\"",  "\"ENETUNREACH\"",
        "\"ETIMEDOUT\"",
    };

    j->f = f;
    for (int v = 0; v < 256; v++)
        j->dec[v].len = (uint8_t)fmt_u(j->dec[v].s, (unsigned)v);
    for (int v = 0; v < SP_VERDICT_COUNT; v++)
        j->verdicts[v] = name_of(sp_verdict_name((enum sp_verdict)v));
    for (int r = 0; r < SP_REASON_COUNT; r++) {
        j->reasons[r] = name_of(sp_reason_name((enum sp_reason)r));
        for (int six = 0; six < 2; six++) {
            const char *en = sp_reason_errno((enum sp_reason)r, six ? 6 : 4);
            j->errnos[six][r] = name_of(errno_json[0]);
            for (size_t k = 1;
                 en != NULL && k < sizeof(errno_json) / sizeof(errno_json[0]);
                 k++)
                if (strlen(errno_json[k]) == strlen(en) + 2 &&
                    strncmp(errno_json[k] + 1, en, strlen(en)) == 0)
                    j->errnos[six][r] = name_of(errno_json[k]);
        }
    }
    j->head_attempt = name_of("{\"type\":\"attempt\",\"target\":");
    j->head_target = name_of("{\"type\":\"target\",\"target\":");
}

struct sp_output *sp_output_create(const struct sp_output_opts *opts)
{
    struct sp_output *o = calloc(1, sizeof(*o));

    if (o != NULL) {
        o->o = *opts;
        o->jb.f = opts->out;
        jb_init(&o->jb, opts->out);
    }
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

void sp_output_flush(struct sp_output *o)
{
    if (o == NULL)
        return;
    jb_flush(&o->jb);
    if (fflush(o->o.out) != 0 || ferror(o->o.out))
        o->failed = true;
}

void sp_output_destroy(struct sp_output *o)
{
    if (o == NULL)
        return;
    jb_flush(&o->jb); /* records of a run that ended without a summary */
    free(o);
}
