/*
 * live.c - synprobe -p PORTS TARGET...: live probing.
 *
 * The engine thread (this one) resolves targets, finds each one's source
 * address by route lookup, opens the raw sockets (craft/) and the capture
 * (capture/), drops root, then runs a loop that sends probes at the set rate
 * and feeds captured packets to the same analysis the offline mode uses.
 * Our own outgoing probes are captured too: they give exact wire times, go
 * into the -w file, and open attempts in the analysis once the keyed cookie
 * proves they are ours.
 *
 * Schedule, per target and port: a SYN at full TTL, and per host an ICMP
 * echo (the control probe that tells "host alive, port filtered" from "host
 * silent"). Silence is retried with a new ISN after the retry gap, at most
 * --retries times. With --trace, SYNs and echoes with TTL 1..N go out in one
 * burst once the full-TTL answers tell the distance (or after a short
 * head start), and only silent TTLs up to the first terminal answer are
 * retried. The run ends when every probe is answered or has waited: --wait
 * seconds after its last try, or less when the evidence is conclusive (the
 * host answered echo, so no late neighbour failure can come).
 */
#include "engine/run.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "analyzers/analysis.h"
#include "engine/grow.h"
#include "capture/capture.h"
#include "capture/source.h"
#include "craft/cookie.h"
#include "craft/rtnl.h"
#include "craft/probe.h"
#include "engine/cli.h"
#include "engine/err.h"
#include "engine/event.h"
#include "engine/output.h"
#include "engine/queue.h"
#include "engine/scan.h"
#include "engine/targets.h"

enum {
    FULL_TTL = 64,
    MS = 1000000,
};

static const int icmp_burst = 6;                 /* Linux XRLIM_BURST_FACTOR */
static const int64_t retry_gap_ns = 400LL * MS;  /* between tries */
static const int64_t trace_head_ns = 150LL * MS; /* full probes go first */
/* tries sent to a router known to be rate-limiting (one a second) do not
 * count against --retries, up to this many */
static const int max_free_tries = 8;
/* a full-TTL SYN unanswered this long is silent, for refresh_rej */
static const int64_t silent_after_ns = 200LL * MS;
/* how long silence beside a router's refusals is read as rate limiting */
static const int64_t pace_budget_ns = 10000LL * MS;

struct job {
    uint32_t tgt;  /* index into targets */
    uint16_t port; /* 0 for echo */
    uint8_t ttl;
    uint8_t tries;
    bool echo;
    bool done;
    uint8_t answered_try; /* the try that drew the answer, 0 if none */
    uint8_t free_tries;   /* tries paced on a rate-limiting router */
    int64_t last_ns;
};

/* A router whose ICMP error decided one of a target's ports: it will
 * likely answer the target's other ports too, at the same hop. */
struct rej {
    int hop;      /* 0: none */
    int errors;   /* matching ICMP errors it has sent us */
    bool silent;  /* another port's full-TTL SYN got no answer */
    bool limited; /* it looks rate-limiting */
};

struct live {
    const struct sp_config *cfg;
    struct sp_target_list tl;
    struct sp_addr *src;     /* per target */
    bool *noroute;           /* per target */
    bool *link_ok;           /* per target: a scan sends it below IP */
    struct sp_nexthop *hops; /* per target, for a scan below IP: its route */
    struct rej *rej;         /* per target, refreshed every round */
    struct job *jobs;
    size_t njobs, capjobs;
    struct sp_cookie_key key;
    struct sp_craft *craft;
    struct sp_analysis *an;
    uint64_t *sent; /* open-addressing set of sent probe keys */
    size_t sent_mask, nsent;
    uint32_t nonce;
    int64_t ttl_last_ns[256]; /* last probe sent with each TTL */
    double tokens;
    int64_t tok_ns;
};

/*
 * The engine's clock: monotonic, so a step of the wall clock during a run
 * neither stalls nor shortens a wait, but expressed in the wall-clock time
 * of the run's start, because pcap stamps packets with the real-time clock.
 */
int64_t sp_now_ns(void)
{
    static int64_t offset; /* real-time minus monotonic, read once */
    struct timespec ts;

    if (offset == 0) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        offset = ((int64_t)rt.tv_sec - ts.tv_sec) * 1000000000LL +
                 (rt.tv_nsec - ts.tv_nsec);
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + offset;
}

/* ---- the set of probes we sent, for own_syn / own_echo ------------------- */

static uint64_t probe_key(const struct live *lv, const struct sp_addr *dst,
                          uint16_t a, uint16_t b, uint32_t c, bool echo)
{
    uint8_t m[28];

    memcpy(m, dst->b, 16);
    m[16] = dst->family;
    m[17] = echo;
    m[18] = (uint8_t)(a >> 8);
    m[19] = (uint8_t)a;
    m[20] = (uint8_t)(b >> 8);
    m[21] = (uint8_t)b;
    m[22] = (uint8_t)(c >> 24);
    m[23] = (uint8_t)(c >> 16);
    m[24] = (uint8_t)(c >> 8);
    m[25] = (uint8_t)c;
    m[26] = m[27] = 0;
    return sp_siphash(&lv->key, m, sizeof(m)) | 1; /* 0 marks empty */
}

static bool sent_add(struct live *lv, uint64_t k)
{
    if ((lv->nsent + 1) * 2 > lv->sent_mask + 1) {
        size_t nm = lv->sent_mask ? (lv->sent_mask + 1) * 2 - 1 : 4095;
        uint64_t *ns = calloc(nm + 1, sizeof(*ns));
        if (ns == NULL)
            return false;
        for (size_t i = 0; lv->sent != NULL && i <= lv->sent_mask; i++) {
            size_t j = lv->sent[i] & nm;
            if (lv->sent[i] == 0)
                continue;
            while (ns[j] != 0)
                j = (j + 1) & nm;
            ns[j] = lv->sent[i];
        }
        free(lv->sent);
        lv->sent = ns;
        lv->sent_mask = nm;
    }
    for (size_t j = k & lv->sent_mask;; j = (j + 1) & lv->sent_mask) {
        if (lv->sent[j] == k)
            return true;
        if (lv->sent[j] == 0) {
            lv->sent[j] = k;
            lv->nsent++;
            return true;
        }
    }
}

static bool sent_has(const struct live *lv, uint64_t k)
{
    if (lv->sent == NULL)
        return false;
    for (size_t j = k & lv->sent_mask;; j = (j + 1) & lv->sent_mask) {
        if (lv->sent[j] == k)
            return true;
        if (lv->sent[j] == 0)
            return false;
    }
}

static bool own_syn(void *ctx, const struct sp_packet *p)
{
    struct live *lv = ctx;
    return sent_has(lv,
                    probe_key(lv, &p->dst, p->sport, p->dport, p->seq, false));
}

static bool own_echo(void *ctx, const struct sp_packet *p)
{
    struct live *lv = ctx;
    return sent_has(lv,
                    probe_key(lv, &p->dst, p->icmp_id, p->icmp_seq, 0, true));
}

/* ---- set-up
 * ------------------------------------------------------------------ */

/* Source address by route lookup; false if there is no route. fds holds one
 * UDP socket per family (-1 until first used; the caller closes them): a
 * /16 of targets was a second of socket() and close() otherwise. */
static bool route_src(int fds[2], const struct sp_addr *dst, const char *iface,
                      struct sp_addr *src)
{
    struct sockaddr_storage ss;
    struct sockaddr unspec;
    socklen_t sl;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (dst->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(9);
        memcpy(&s4->sin_addr, dst->b, 4);
        sl = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(9);
        memcpy(&s6->sin6_addr, dst->b, 16);
        sl = sizeof(*s6);
    }
    fd = fds[dst->family == 4 ? 0 : 1];
    if (fd < 0) {
        fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        fds[dst->family == 4 ? 0 : 1] = fd;
        /* a broadcast target (only with --force) is a route like any other */
        (void)setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
        if (iface != NULL)
            (void)setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface,
                             (socklen_t)strlen(iface));
    }
    /* forget the last lookup: the socket's source address goes with it */
    memset(&unspec, 0, sizeof(unspec));
    unspec.sa_family = AF_UNSPEC;
    (void)connect(fd, &unspec, sizeof(unspec));
    /* connect() on UDP sends nothing: it only asks the routing table */
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0)
        return false;
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        sp_addr_set4(src,
                     (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr);
    else
        sp_addr_set6(src,
                     (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr);
    return true;
}

static void close_routers(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* The routes of targets [lo, hi), on a route socket of its own. */
struct route_job {
    const struct sp_target_list *tl;
    struct sp_nexthop *hops;
    size_t lo, hi;
    int oif;
    bool ok;
};

static void *route_job_run(void *arg)
{
    struct route_job *j = arg;
    struct sp_rtnl *lk = sp_rtnl_open();

    j->ok = lk != NULL;
    for (size_t i = j->lo; j->ok && i < j->hi; i += SP_RTNL_BATCH) {
        const struct sp_addr *dst[SP_RTNL_BATCH];
        size_t n = j->hi - i < SP_RTNL_BATCH ? j->hi - i : SP_RTNL_BATCH;
        for (size_t k = 0; k < n; k++)
            dst[k] = &j->tl->v[i + k].addr;
        j->ok = sp_rtnl_routes(lk, dst, n, j->oif, j->hops + i) == 0;
    }
    sp_rtnl_close(lk);
    return NULL;
}

/*
 * A scan that writes no -w file sends below IP where it can (craft/probe.h).
 * First every target's route, over rtnetlink, SP_RTNL_BATCH per round trip
 * (and half of a long list in a second thread: the kernel's answers are
 * most of a scan's start-up): the answer also names the source address, so
 * these targets need no lookup of their own (route_src). Leaves lv->hops
 * NULL if the kernel would not answer.
 */
static void scan_routes(struct live *lv)
{
    const struct sp_config *cfg = lv->cfg;
    struct route_job job[2];
    pthread_t helper;
    bool two;
    int oif = 0;

    if (cfg->src_addr != NULL || cfg->write_file != NULL)
        return; /* a chosen source may route otherwise; -w must see all */
    if (cfg->iface != NULL && (oif = (int)if_nametoindex(cfg->iface)) == 0)
        return;
    lv->hops = calloc(lv->tl.n, sizeof(*lv->hops));
    if (lv->hops == NULL)
        return;
    for (int k = 0; k < 2; k++) {
        job[k].tl = &lv->tl;
        job[k].hops = lv->hops;
        job[k].oif = oif;
        job[k].lo = k == 0 ? 0 : lv->tl.n / 2;
        job[k].hi = k == 0 ? lv->tl.n / 2 : lv->tl.n;
        job[k].ok = false;
    }
    two = lv->tl.n >= 4096 &&
          pthread_create(&helper, NULL, route_job_run, &job[1]) == 0;
    if (!two)
        job[0].hi = lv->tl.n;
    route_job_run(&job[0]);
    if (two)
        pthread_join(helper, NULL);
    if (!job[0].ok || (two && !job[1].ok)) {
        free(lv->hops);
        lv->hops = NULL;
    }
}

/*
 * Then a packet socket on the interface the first routable target goes out
 * on, for every target whose route has that same interface and next hop,
 * once the neighbour table knows the next hop's address. Every other
 * target, and all of them if any step fails, goes through the raw sockets
 * as ever.
 */
static void setup_link(struct live *lv)
{
    struct sp_rtnl *lk = NULL;
    struct sp_nexthop pick = {0};
    uint8_t smac[6], dmac[6];
    size_t used = 0;

    if (lv->hops == NULL)
        return;
    for (size_t i = 0; i < lv->tl.n && !pick.ok; i++)
        if (lv->hops[i].ok && !lv->noroute[i])
            pick = lv->hops[i];
    lv->link_ok = calloc(lv->tl.n, sizeof(*lv->link_ok));
    if (lv->link_ok == NULL || !pick.ok ||
        sp_rtnl_ether_addr(pick.ifindex, smac) != 0 ||
        (lk = sp_rtnl_open()) == NULL ||
        sp_rtnl_neighbour(lk, pick.ifindex, &pick.via, dmac) != 0 ||
        sp_craft_link_open(lv->craft, pick.ifindex, smac, dmac, NULL) != 0)
        goto out;
    for (size_t i = 0; i < lv->tl.n; i++) {
        lv->link_ok[i] = !lv->noroute[i] && lv->hops[i].ok &&
                         lv->hops[i].ifindex == pick.ifindex &&
                         sp_addr_eq(&lv->hops[i].via, &pick.via);
        used += lv->link_ok[i];
    }
    if (lv->cfg->verbose)
        fprintf(stderr, "synprobe: %zu of %zu targets sent below IP\n", used,
                lv->tl.n);
out:
    if (used == 0) {
        free(lv->link_ok);
        lv->link_ok = NULL;
    }
    sp_rtnl_close(lk);
}

/* Clears every capability left (a non-root run with CAP_NET_RAW keeps it
 * otherwise): the sockets and the capture are open already. */
static int drop_capabilities(struct sp_err *err)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];

    memset(d, 0, sizeof(d));
    if (syscall(SYS_capset, &h, d) != 0)
        return sp_err_set(err, SP_EPERM, "cannot drop capabilities: %s",
                          strerror(errno));
    return 0;
}

static int drop_privileges(const char *user, struct sp_err *err)
{
    struct passwd *pw;

    if (geteuid() != 0)
        return drop_capabilities(err); /* e.g. CAP_NET_RAW by setcap */
    pw = getpwnam(user);
    if (pw == NULL)
        return sp_err_set(err, SP_EINVAL, "--user %s: no such user", user);
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return sp_err_set(err, SP_EPERM, "cannot drop privileges to %s: %s",
                          user, strerror(errno));
    if (setuid(0) == 0)
        return sp_err_set(err, SP_EPERM, "privileges could not be dropped");
    return drop_capabilities(err);
}

static bool add_job(struct live *lv, uint32_t t, uint16_t port, uint8_t ttl,
                    bool echo)
{
    struct job *j = sp_grow(lv->jobs, lv->njobs, &lv->capjobs, sizeof(*j), 64);

    if (j == NULL)
        return false;
    lv->jobs = j;
    memset(&lv->jobs[lv->njobs], 0, sizeof(lv->jobs[0]));
    lv->jobs[lv->njobs].tgt = t;
    lv->jobs[lv->njobs].port = port;
    lv->jobs[lv->njobs].ttl = ttl;
    lv->jobs[lv->njobs].echo = echo;
    lv->njobs++;
    return true;
}

/* Builds the BPF filter: our probes and whatever may answer them. (A scan
 * that writes no -w file leaves its own probes out before the filter:
 * sp_live_opts.inbound.) */
static void build_filter(const struct live *lv, char *buf, size_t len)
{
    size_t off = 0;
    bool first = true;

    off += (size_t)snprintf(buf, len, "(tcp or icmp or icmp6) and (");
    for (size_t i = 0; i < lv->tl.n && off < len; i++) {
        char a[SP_ADDR_STRLEN];
        bool dup = false;
        if (lv->noroute[i])
            continue;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !lv->noroute[j] && sp_addr_eq(&lv->src[j], &lv->src[i]);
        if (dup)
            continue;
        off += (size_t)snprintf(buf + off, len - off, "%shost %s",
                                first ? "" : " or ",
                                sp_addr_str(&lv->src[i], a, sizeof(a)));
        first = false;
    }
    if (first && off < len)
        off += (size_t)snprintf(buf + off, len - off, "host 0.0.0.0");
    if (off < len)
        snprintf(buf + off, len - off, ")");
}

/* ---- sending
 * ------------------------------------------------------------------ */

/* Sends j's next try; `slot` is the hop whose router will answer it (for
 * per-router pacing, 0 if none). */
static int send_job(struct live *lv, struct job *j, int slot, int64_t now,
                    struct sp_err *err)
{
    const struct sp_target *t = &lv->tl.v[j->tgt];
    struct sp_probe_spec s;
    uint64_t c;
    int rc;

    memset(&s, 0, sizeof(s));
    s.src = lv->src[j->tgt];
    s.dst = t->addr;
    s.ttl = j->ttl;
    c = sp_cookie(&lv->key, &s.src, &s.dst, j->port,
                  j->echo ? SP_PROTO_ICMP : SP_PROTO_TCP, ++lv->nonce);
    s.ip_id = (uint16_t)(c >> 48);
    if (j->echo) {
        s.kind = SP_PROBE_ECHO;
        s.icmp_id = (uint16_t)(c >> 16);
        s.icmp_seq = (uint16_t)c;
        sent_add(lv, probe_key(lv, &s.dst, s.icmp_id, s.icmp_seq, 0, true));
    } else {
        s.kind = SP_PROBE_SYN;
        s.dport = j->port;
        s.sport = (uint16_t)(32768 + ((c >> 32) & 0x7fff));
        s.seq = (uint32_t)c;
        sent_add(lv, probe_key(lv, &s.dst, s.sport, s.dport, s.seq, false));
    }
    lv->ttl_last_ns[slot] = now;
    rc = sp_craft_send(lv->craft, &s, err);
    j->tries++;
    j->last_ns = now;
    return rc;
}

/*
 * Finds, for every target, the router whose ICMP errors refused some of its
 * ports (the one that sent the most), and whether it looks rate-limiting:
 * it sent its burst, or another port's full-TTL SYN stayed silent while it
 * answered its siblings (its budget may have gone to an earlier run). The
 * second reading holds for pace_budget_ns only, so a router that truly
 * drops some ports while it refuses others costs a bounded wait.
 */
static void refresh_rej(struct live *lv, int64_t now, int64_t start)
{
    for (size_t i = 0; i < lv->tl.n; i++) {
        lv->rej[i].hop = 0;
        lv->rej[i].errors = -1;
        lv->rej[i].limited = false;
        lv->rej[i].silent = false;
    }
    for (size_t k = 0; k < lv->njobs; k++) {
        const struct job *j = &lv->jobs[k];
        struct rej *r = &lv->rej[j->tgt];
        int hop, e;
        if (j->ttl != FULL_TTL || j->echo)
            continue;
        if (sp_analysis_icmp_answer(lv->an, &lv->tl.v[j->tgt].addr, j->port,
                                    &hop, &e)) {
            if (hop < FULL_TTL && e > r->errors) {
                r->hop = hop;
                r->errors = e;
            }
        } else if (j->tries > 0 && now - j->last_ns >= silent_after_ns) {
            r->silent = true;
        }
    }
    for (size_t i = 0; i < lv->tl.n; i++) {
        struct rej *r = &lv->rej[i];
        r->limited =
            r->hop != 0 && (r->errors >= icmp_burst - 1 ||
                            (r->silent && now - start < pace_budget_ns));
    }
}

/*
 * The hop whose router is expected to answer j (0: the host, or nobody
 * known), and whether that router is rate-limiting. A TTL-limited probe's
 * router is whoever answered at its TTL; a full-TTL SYN's is a router that
 * already refused another port of the same target with an ICMP error.
 */
static int job_router(struct live *lv, const struct job *j, bool *limited)
{
    const struct sp_addr *a = &lv->tl.v[j->tgt].addr;
    const struct rej *r = &lv->rej[j->tgt];

    *limited = false;
    if (j->ttl == FULL_TTL) {
        if (j->echo || r->hop == 0)
            return 0;
        *limited = r->limited;
        return r->hop;
    }
    *limited = sp_analysis_hop_icmp_errors(
                   lv->an, a, j->echo ? sp_cli_port_at(lv->cfg, 0) : j->port,
                   j->ttl) >= icmp_burst - 1 ||
               (r->hop == j->ttl && r->limited);
    return j->ttl;
}

/*
 * Per-router pacing: a router that is rate-limiting answers at most one
 * more ICMP error a second, so a probe to it sooner would be silenced
 * again. Probes are tried in job order (the full-TTL SYNs that decide
 * verdicts first), so they get the router's next answer before the rows of
 * the hop table do. Other routers are not paced, which keeps the common
 * case (one port) fast.
 */
static bool paced_ok(const struct live *lv, int hop, bool limited, int64_t now)
{
    return hop == 0 || !limited || now - lv->ttl_last_ns[hop] >= 1100LL * MS;
}

/* Token bucket: true if one more packet may go now. The burst lets a trace
 * go out at once while keeping the long-run rate. */
static bool take_token(struct live *lv, int64_t now)
{
    double burst = lv->cfg->rate < 64 ? 64 : lv->cfg->rate / 10;

    lv->tokens += (double)(now - lv->tok_ns) / 1e9 * lv->cfg->rate;
    lv->tok_ns = now;
    if (lv->tokens > burst)
        lv->tokens = burst;
    if (lv->tokens < 1)
        return false;
    lv->tokens -= 1;
    return true;
}

/* What came back at this TTL of a target's path: for the SYN to port, or
 * for echo (echo paths belong to the host: the first port whose row has an
 * answer). */
static enum sp_hop_answer row_answer(struct live *lv, const struct sp_addr *a,
                                     uint16_t port, int ttl, bool echo)
{
    enum sp_hop_answer h = SP_HOP_NOT_SENT;

    if (!echo)
        return sp_analysis_hop(lv->an, a, port, ttl, true);
    for (size_t p = 0; p < sp_cli_port_count(lv->cfg) &&
                       (h == SP_HOP_NOT_SENT || h == SP_HOP_NONE);
         p++)
        h = sp_analysis_hop(lv->an, a, sp_cli_port_at(lv->cfg, p), ttl, false);
    return h;
}

static bool job_answered(struct live *lv, const struct job *j)
{
    const struct sp_addr *a = &lv->tl.v[j->tgt].addr;

    if (j->ttl == FULL_TTL)
        return j->echo ? sp_analysis_echo_alive(lv->an, a) ||
                             sp_analysis_host_unreachable(lv->an, a)
                       : sp_analysis_answered(lv->an, a, j->port);
    {
        enum sp_hop_answer h = row_answer(lv, a, j->port, j->ttl, j->echo);
        return h != SP_HOP_NOT_SENT && h != SP_HOP_NONE;
    }
}

/*
 * A silent row of the hop table need not wait for the next answer of a
 * rate-limiting router when that router is already known at this TTL (from
 * another port's row or the echo path) and the verdict the row would
 * illustrate is decided: the row reads "none", noted rate-limited. Rows of
 * a port still silent keep their retries: they place its drop.
 */
static bool row_settled(struct live *lv, const struct job *j, bool limited)
{
    const struct sp_addr *a = &lv->tl.v[j->tgt].addr;

    if (j->ttl == FULL_TTL || !limited)
        return false;
    if (sp_analysis_hop_icmp_errors(
            lv->an, a, j->echo ? sp_cli_port_at(lv->cfg, 0) : j->port, j->ttl) <
        0)
        return false;
    return j->echo ? sp_analysis_echo_alive(lv->an, a)
                   : sp_analysis_answered(lv->an, a, j->port);
}

/* The TTL beyond which trace probes to (target, port) need no retry: the
 * lowest TTL that drew a terminal answer, else the host's distance. */
static int trace_limit(struct live *lv, uint32_t t, uint16_t port, bool echo)
{
    const struct sp_addr *a = &lv->tl.v[t].addr;
    int d = sp_analysis_host_distance(lv->an, a);
    int lim = d > 0 ? d : lv->cfg->max_hops;

    for (int k = 1; k <= lv->cfg->max_hops; k++) {
        enum sp_hop_answer h = row_answer(lv, a, port, k, echo);
        if (h != SP_HOP_NOT_SENT && h != SP_HOP_NONE &&
            h != SP_HOP_TIME_EXCEEDED)
            return k < lim ? k : lim;
    }
    if (!echo) {
        /* a router at hop r refused the port: the SYN's rows end there, one
         * row further showing the refusal, unless the router is spending
         * its ICMP budget (its rows before other ports' verdicts) */
        int r, errors;
        if (sp_analysis_icmp_answer(lv->an, a, port, &r, &errors) && r > 0) {
            int end = errors >= icmp_burst - 1 ? r : r + 1;
            if (end < lim)
                lim = end;
        }
    }
    return lim;
}

/*
 * A trace hop that answered only when retried was either rate-limiting its
 * ICMP (its other answers came at once) or on a lossy path (answers from
 * beyond it went missing at the first try too). Notes go on the SYN path.
 */
static void note_retried_hops(struct live *lv)
{
    for (size_t k = 0; k < lv->njobs; k++) {
        const struct job *j = &lv->jobs[k];
        const struct sp_addr *a = &lv->tl.v[j->tgt].addr;
        enum sp_hop_answer h;
        bool lost;
        int ttl = j->ttl;
        if (j->answered_try < 2)
            continue;
        if (ttl == FULL_TTL) {
            /* the full-TTL probe's answer is the host's own row, if the
             * host answered it (a router's unreachable may be rate-limited:
             * no note then) */
            ttl = sp_analysis_host_distance(lv->an, a);
            if (ttl <= 0 || ttl > lv->cfg->max_hops)
                continue;
        }
        /* hosts do not rate-limit SYN-ACKs, RSTs or echo replies: an answer
         * of theirs that needed a retry was lost on the way */
        h = row_answer(lv, a, j->port, ttl, j->echo);
        lost = h == SP_HOP_SYN_ACK || h == SP_HOP_RST || h == SP_HOP_ECHO_REPLY;
        if (j->ttl == FULL_TTL && !lost)
            continue;
        for (size_t p = 0; p < sp_cli_port_count(lv->cfg); p++) {
            uint16_t port = sp_cli_port_at(lv->cfg, p);
            bool limited;
            if (!j->echo && port != j->port)
                continue;
            /* a router that sent no more than its burst still had tokens:
             * its missing answer was lost, not rate-limited */
            limited = !lost && sp_analysis_hop_icmp_errors(lv->an, a, port,
                                                           ttl) >= icmp_burst;
            sp_analysis_hop_note(lv->an, a, port, ttl,
                                 limited ? SP_NOTE_RATE_LIMITED : SP_NOTE_LOSS);
        }
    }
}

/* The scan's output, for its flush callback (one run per process). */
static struct sp_output *scan_out;

static void flush_stdout(void)
{
    sp_output_flush(scan_out);
}

/* The scan engine (engine/scan.h) for large spaces; returns the exit
 * status. */
static int live_scan(struct live *lv, struct sp_source *srcp,
                     struct sp_queue *q, struct sp_sink *sink)
{
    struct sp_scan_io io;
    struct sp_capture *cap = NULL;
    struct sp_summary sum;
    struct sp_err err = {0};
    struct sp_capture_stats st;
    int rc, status;

    memset(&sum, 0, sizeof(sum));
    if (sp_capture_start(&cap, srcp, q, true, NULL, &err) != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        return SP_EXIT_INPUT;
    }
    memset(&io, 0, sizeof(io));
    io.cfg = lv->cfg;
    io.tl = &lv->tl;
    io.src = lv->src;
    io.noroute = lv->noroute;
    io.link_ok = lv->link_ok;
    io.key = &lv->key;
    io.craft = lv->craft;
    io.cap = cap;
    io.q = q;
    io.sink = sink;
    io.flush = flush_stdout;
    /* pairs without a local route are decided before anything is sent */
    for (size_t i = 0; i < lv->tl.n; i++) {
        if (!lv->noroute[i])
            continue;
        for (size_t p = 0; p < sp_cli_port_count(lv->cfg); p++) {
            struct sp_target_rec rec;
            uint16_t port = sp_cli_port_at(lv->cfg, p);
            if (lv->cfg->shards > 1 &&
                sp_target_shard(&lv->tl.v[i].addr, port, lv->cfg->shards) !=
                    lv->cfg->shard)
                continue;
            memset(&rec, 0, sizeof(rec));
            rec.r.target = lv->tl.v[i].addr;
            rec.r.name = lv->tl.v[i].name;
            rec.r.port = port;
            rec.r.reason = SP_REASON_NO_ROUTE;
            rec.r.verdict = SP_VERDICT_UNREACHABLE;
            rec.r.hop = 0;
            rec.r.reply_ttl = rec.r.icmp_type = rec.r.icmp_code = -1;
            rec.r.rtt_ns = -1;
            rec.verdicts[SP_VERDICT_UNREACHABLE] = 1;
            sum.verdicts[SP_VERDICT_UNREACHABLE]++;
            sink->target(sink->state, &rec);
        }
    }
    rc = lv->craft != NULL ? sp_scan_run(&io, &sum, &err) : 0;
    sp_capture_stop(cap);
    sp_capture_join(cap, NULL);
    sp_source_mark_end(srcp, sp_now_ns());
    sp_source_stats(srcp, &st);
    sum.capture_drops = st.drops + sp_queue_drops(q);
    sum.incomplete = sp_signal_seen != 0 || rc != 0;
    if (rc != 0)
        fprintf(stderr, "synprobe: %s\n", err.msg);
    sink->summary(sink->state, &sum);
    status = sp_run_exit_status(&sum, false);
    if (sp_signal_seen == SIGINT)
        status = SP_EXIT_SIGINT;
    else if (sp_signal_seen == SIGTERM)
        status = SP_EXIT_SIGTERM;
    else if (rc != 0)
        status = SP_EXIT_INPUT;
    return status;
}

/* ---- the run
 * ------------------------------------------------------------------- */

static int setup_targets(struct live *lv, struct sp_err *err)
{
    const struct sp_config *cfg = lv->cfg;
    int rc;

    for (int i = 0; i < cfg->nargs; i++) {
        rc =
            sp_targets_add(&lv->tl, cfg->args[i], cfg->family, cfg->force, err);
        if (rc != 0)
            return rc;
    }
    if (cfg->input_file != NULL) {
        rc = sp_targets_add_file(&lv->tl, cfg->input_file, cfg->family,
                                 cfg->force, err);
        if (rc != 0)
            return rc;
    }
    if (cfg->exclude_file != NULL) {
        rc = sp_targets_exclude_file(&lv->tl, cfg->exclude_file, err);
        if (rc != 0)
            return rc;
    }
    if (lv->tl.n == 0)
        return sp_err_set(err, SP_EINVAL, "no target left to probe");
    return 0;
}

static int status_for(int rc)
{
    switch (rc) {
    case SP_EPERM:
        return SP_EXIT_PERM;
    case SP_EINVAL:
        return SP_EXIT_USAGE;
    default:
        return SP_EXIT_INPUT;
    }
}

int sp_run_live(const struct sp_config *cfg)
{
    struct live lv;
    struct sp_err err = {0};
    struct sp_source *srcp = NULL;
    struct sp_queue *q = NULL;
    struct sp_capture *cap = NULL;
    struct sp_output *out = NULL;
    struct sp_output_opts oo = {
        .out = stdout,
        .json = cfg->json,
        .verbose = cfg->verbose,
        .explain = cfg->explain,
        .flush_each = true,
    };
    struct sp_sink sink;
    struct sp_summary sum, counts;
    char filter[8192];
    struct sp_live_opts lo;
    unsigned families = 0;
    size_t nports = sp_cli_port_count(cfg);
    int status = SP_EXIT_INPUT, rc;
    int64_t start, end_ns;
    uint64_t seen_drops = 0;
    struct sp_event evs[256];
    bool trace_started = false, scan, capture_failed = false;
    int rfd[2] = {-1, -1}; /* route lookups */

    memset(&lv, 0, sizeof(lv));
    memset(&sum, 0, sizeof(sum));
    memset(&counts, 0, sizeof(counts));
    lv.cfg = cfg;
    rc = setup_targets(&lv, &err);
    if (rc != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        status = rc == SP_ENOENT ? SP_EXIT_INPUT : status_for(rc);
        goto done;
    }
    lv.src = calloc(lv.tl.n, sizeof(*lv.src));
    lv.noroute = calloc(lv.tl.n, sizeof(*lv.noroute));
    lv.rej = calloc(lv.tl.n, sizeof(*lv.rej));
    if (lv.src == NULL || lv.noroute == NULL || lv.rej == NULL)
        goto nomem;
    if (sp_scan_wanted(cfg, lv.tl.n * nports))
        scan_routes(&lv);
    for (size_t i = 0; i < lv.tl.n; i++) {
        struct sp_addr s;
        if (cfg->src_addr != NULL) {
            if (!sp_addr_parse(cfg->src_addr, &s)) {
                fprintf(stderr, "synprobe: -S %s: not an address\n",
                        cfg->src_addr);
                status = SP_EXIT_USAGE;
                goto done;
            }
            if (s.family != lv.tl.v[i].addr.family) {
                lv.noroute[i] = true;
                continue;
            }
            lv.src[i] = s;
            if (!route_src(rfd, &lv.tl.v[i].addr, cfg->iface, &s))
                lv.noroute[i] = true;
        } else if (lv.hops != NULL && lv.hops[i].ok &&
                   lv.hops[i].src.family == lv.tl.v[i].addr.family) {
            lv.src[i] = lv.hops[i].src; /* found by scan_routes */
        } else if (!route_src(rfd, &lv.tl.v[i].addr, cfg->iface, &lv.src[i])) {
            lv.noroute[i] = true;
        }
        if (!lv.noroute[i])
            families |= lv.tl.v[i].addr.family == 4 ? 1u : 2u;
    }
    close_routers(rfd);
    if (sp_cookie_key_init(&lv.key) != 0) {
        fprintf(stderr, "synprobe: cannot get random bytes for the key\n");
        goto done;
    }
    /* privileged part: raw sockets and the capture */
    if (families != 0) {
        rc = sp_craft_open(&lv.craft, cfg->iface, families, &err);
        if (rc != 0) {
            if (rc == SP_EPERM)
                fprintf(stderr, "synprobe: live probing needs root or "
                                "CAP_NET_RAW (offline analysis with -r "
                                "does not)\n");
            else
                fprintf(stderr, "synprobe: %s\n", err.msg);
            status = status_for(rc);
            goto done;
        }
    }
    scan = sp_scan_wanted(cfg, lv.tl.n * nports);
    if (scan && lv.craft != NULL)
        setup_link(&lv);
    build_filter(&lv, filter, sizeof(filter));
    memset(&lo, 0, sizeof(lo));
    lo.iface = cfg->iface;
    lo.bpf = filter;
    lo.dump_path = cfg->write_file;
    lo.buffer_kib = (int)cfg->buffer_kib;
    lo.blocks = scan; /* a scan waits --wait anyway: no wake-up per reply */
    lo.inbound = scan && cfg->write_file == NULL; /* no copies of our SYNs */
    rc = sp_source_open_live(&srcp, &lo, &err);
    if (rc != 0) {
        if (rc == SP_EPERM)
            fprintf(stderr, "synprobe: live probing needs root or "
                            "CAP_NET_RAW (offline analysis with -r does "
                            "not)\n");
        else
            fprintf(stderr, "synprobe: %s\n", err.msg);
        status = status_for(rc);
        goto done;
    }
    rc = drop_privileges(cfg->user, &err);
    if (rc != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        status = status_for(rc);
        goto done;
    }

    /* a scan flushes its records every 100 ms instead (io.flush): one
     * write per record was a tenth of a fast scan's time */
    if (scan && !isatty(fileno(stdout)))
        oo.flush_each = false;
    if (scan && !isatty(fileno(stdout))) {
        /* and writes them in large pieces: stdio's 4 KiB blocks were
         * 40,000 write calls for a /17 on 20 ports */
        static char big[1 << 20];
        setvbuf(stdout, big, _IOFBF, sizeof(big));
    }
    out = sp_output_create(&oo);
    q = sp_queue_create(65536);
    if (out == NULL || q == NULL)
        goto nomem;
    sp_output_sink(out, &sink);
    if (scan) {
        scan_out = out;
        status = live_scan(&lv, srcp, q, &sink);
        goto done;
    }
    {
        struct sp_analysis_cfg acfg = {
            .wait_ns = (int64_t)(cfg->wait_s * 1e9),
            .grace_ns = SP_GRACE_MS * 1000000LL,
            .conclusive_ns = SP_CONCLUSIVE_MS * 1000000LL,
            .trace_ttl_max = cfg->max_hops,
            .ttl_limited_trace = cfg->trace,
            .emit_attempts = false,
            .own_syn = own_syn,
            .own_echo = own_echo,
            .ctx = &lv,
        };
        lv.an = sp_analysis_create(&acfg, &sink);
    }
    if (lv.an == NULL)
        goto nomem;

    /* jobs: full-TTL SYN per (target, port), echo per host, trace TTLs */
    for (size_t i = 0; i < lv.tl.n; i++) {
        for (size_t p = 0; p < nports; p++) {
            uint16_t port = sp_cli_port_at(cfg, p);
            /* --shards N --shard I: a fixed hash of (address, port) puts
             * every pair in exactly one of the N parts */
            if (cfg->shards > 1 && sp_target_shard(&lv.tl.v[i].addr, port,
                                                   cfg->shards) != cfg->shard)
                continue;
            if (lv.noroute[i]) {
                sp_analysis_no_route(lv.an, &lv.tl.v[i].addr, port,
                                     lv.tl.v[i].name);
                continue;
            }
            sp_analysis_name(lv.an, &lv.tl.v[i].addr, port, lv.tl.v[i].name);
            if (!add_job(&lv, (uint32_t)i, port, FULL_TTL, false))
                goto nomem;
        }
        if (!lv.noroute[i] && !add_job(&lv, (uint32_t)i, 0, FULL_TTL, true))
            goto nomem;
    }
    if (sp_capture_start(&cap, srcp, q, true, NULL, &err) != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        goto done;
    }
    start = sp_now_ns();
    lv.tok_ns = start;
    lv.tokens = 64;

    for (;;) {
        int64_t now = sp_now_ns();
        bool busy = false;
        size_t n;

        if (sp_signal_seen != 0)
            break;
        /* trace probes join once the full-TTL answers tell the distance */
        if (cfg->trace && !trace_started) {
            bool known = true;
            for (size_t i = 0; i < lv.tl.n && known; i++)
                if (!lv.noroute[i] &&
                    sp_analysis_host_distance(lv.an, &lv.tl.v[i].addr) < 0)
                    known = false;
            if (known || now - start >= trace_head_ns) {
                size_t base = lv.njobs;
                trace_started = true;
                for (int ttl = 1; ttl <= cfg->max_hops; ttl++) {
                    for (size_t k = 0; k < base; k++) {
                        struct job j = lv.jobs[k];
                        int d = sp_analysis_host_distance(lv.an,
                                                          &lv.tl.v[j.tgt].addr);
                        if (j.ttl != FULL_TTL || (d > 0 && ttl > d))
                            continue;
                        if (!add_job(&lv, j.tgt, j.port, (uint8_t)ttl, j.echo))
                            goto nomem;
                    }
                }
            }
        }
        refresh_rej(&lv, now, start);
        for (size_t k = 0; k < lv.njobs; k++) {
            struct job *j = &lv.jobs[k];
            const struct sp_addr *ta = &lv.tl.v[j->tgt].addr;
            int64_t wait;
            bool limited;
            int allowed, slot;
            if (j->done)
                continue;
            if (j->tries > 0 && job_answered(&lv, j)) {
                /* an earlier silent try is still an open attempt: let it
                 * age to the conclusive wait, so a -w file read back judges
                 * it as this run does */
                if (j->tries > 1 && now - j->last_ns < SP_CONCLUSIVE_MS * MS) {
                    busy = true;
                    continue;
                }
                if (j->answered_try == 0)
                    j->answered_try = j->tries;
                j->done = true;
                continue;
            }
            if (j->ttl != FULL_TTL &&
                j->ttl > trace_limit(&lv, j->tgt, j->port, j->echo)) {
                /* beyond where the path ends: not sent, or not again */
                j->done = true;
                continue;
            }
            /* a router known to be rate-limiting is asked once a second
             * (paced_ok), first tries too, and those tries are free: its
             * silence is its budget, not an answer */
            slot = job_router(&lv, j, &limited);
            if (row_settled(&lv, j, limited)) {
                /* a row not even sent says why: its router is busy */
                if (j->tries == 0)
                    for (size_t p = 0; p < nports; p++)
                        if (j->echo || sp_cli_port_at(cfg, p) == j->port)
                            sp_analysis_hop_note(lv.an, ta,
                                                 sp_cli_port_at(cfg, p), j->ttl,
                                                 SP_NOTE_RATE_LIMITED);
                j->done = true;
                continue;
            }
            allowed = cfg->retries + j->free_tries;
            if ((j->tries == 0 && paced_ok(&lv, slot, limited, now)) ||
                (j->tries > 0 && j->tries <= allowed &&
                 now - j->last_ns >=
                     (limited ? retry_gap_ns
                              : retry_gap_ns
                                    << (j->tries < 5 ? j->tries - 1 : 4)) &&
                 paced_ok(&lv, slot, limited, now))) {
                if (!take_token(&lv, now)) {
                    busy = true;
                    break;
                }
                if (limited && j->free_tries < max_free_tries)
                    j->free_tries++;
                if (send_job(&lv, j, slot, now, &err) == SP_ENOROUTE &&
                    j->ttl == FULL_TTL && !j->echo) {
                    sp_analysis_no_route(lv.an, ta, j->port,
                                         lv.tl.v[j->tgt].name);
                    j->done = true;
                }
                busy = true;
                continue;
            }
            if (j->tries <= allowed) {
                busy = true;
                continue;
            }
            /* all tries out: wait, shorter once the host answered echo */
            wait = sp_analysis_echo_alive(lv.an, ta)
                       ? SP_CONCLUSIVE_MS * MS
                       : (int64_t)(cfg->wait_s * 1e9);
            if (now - j->last_ns >= wait)
                j->done = true;
            else
                busy = true;
        }
        if (cfg->trace && !trace_started)
            busy = true;
        n = sp_queue_pop(q, evs, 256, busy ? 5 : 0);
        for (size_t i = 0; i < n; i++)
            sp_engine_handle_event(lv.an, &evs[i], &counts);
        /* drops are read before any attempt can end: one that waited
         * while the capture dropped must not be judged silent (the count
         * is an atomic the capture thread refreshes every 256 frames) */
        {
            uint64_t d = sp_capture_drops(cap) + sp_queue_drops(q);
            if (d > seen_drops) {
                seen_drops = d;
                sp_analysis_drops(lv.an, sp_now_ns());
            }
        }
        sp_analysis_tick(lv.an, sp_now_ns());
        if (!busy && n == 0)
            break;
    }
    note_retried_hops(&lv);
    /* let the capture deliver what is on its way, then stop it */
    {
        int64_t until = sp_now_ns() + 20LL * MS;
        while (sp_now_ns() < until) {
            size_t n = sp_queue_pop(q, evs, 256, 5);
            for (size_t i = 0; i < n; i++)
                sp_engine_handle_event(lv.an, &evs[i], &counts);
        }
    }
    sp_capture_stop(cap);
    for (;;) {
        size_t n = sp_queue_pop(q, evs, 256, 1000);
        bool end = n == 0;
        for (size_t i = 0; i < n; i++)
            if (!sp_engine_handle_event(lv.an, &evs[i], &counts))
                end = true;
        if (end)
            break;
    }
    if (sp_capture_join(cap, &err) < 0) {
        /* the interface went away, or the like: say so, and mark the
         * results as incomplete */
        fprintf(stderr, "synprobe: capture: %s\n", err.msg);
        capture_failed = true;
    }
    cap = NULL;
    end_ns = sp_now_ns();
    sp_source_mark_end(srcp, end_ns);
    {
        struct sp_capture_stats st;
        sp_source_stats(srcp, &st);
        sum.capture_drops = st.drops + sp_queue_drops(q);
        sum.packets = st.packets;
        sum.truncated = st.truncated;
        sum.invalid = st.invalid;
        /* drops first seen in the final count still touch every attempt
         * waiting now: their silence proves nothing */
        if (sum.capture_drops > seen_drops)
            sp_analysis_drops(lv.an, end_ns);
    }
    sp_analysis_finish(lv.an, end_ns,
                       sp_signal_seen != 0 ? SP_REASON_INTERRUPTED
                                           : SP_REASON_NO_RESPONSE);
    sp_analysis_counts(lv.an, &counts);
    memcpy(sum.verdicts, counts.verdicts, sizeof(sum.verdicts));
    sum.unrelated = counts.unrelated;
    sum.attempts = counts.attempts;
    sum.incomplete = sp_signal_seen != 0 || capture_failed;
    sink.summary(sink.state, &sum);
    status = sp_run_exit_status(&sum, false);
    if (sp_signal_seen == SIGINT)
        status = SP_EXIT_SIGINT;
    else if (sp_signal_seen == SIGTERM)
        status = SP_EXIT_SIGTERM;
    goto done;
nomem:
    fprintf(stderr, "synprobe: out of memory\n");
    status = SP_EXIT_INPUT;
done:
    close_routers(rfd);
    if (cap != NULL) {
        sp_capture_stop(cap);
        sp_capture_join(cap, NULL);
    }
    sp_analysis_destroy(lv.an);
    sp_queue_destroy(q);
    sp_output_destroy(out);
    sp_source_close(srcp);
    sp_craft_close(lv.craft);
    sp_targets_free(&lv.tl);
    free(lv.src);
    free(lv.noroute);
    free(lv.link_ok);
    free(lv.hops);
    free(lv.rej);
    free(lv.jobs);
    free(lv.sent);
    return status;
}
