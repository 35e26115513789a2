/*
 * analysis.c - correlation of packets into attempts and targets (see
 * analysis.h for the rules).
 *
 * State, all keyed by what comes back in a reply:
 *   attempts  (client, client port, target, port) -> chain of ISNs
 *   echoes    (src, dst, id, seq) of echo requests
 *   hosts     destination address -> distances seen, echo state, echo path
 *   targets   (destination, port) -> verdict counts, deciding answer, path
 * Attempts and echoes sit on expiry queues ordered by their deadline (the
 * time their wait ends), so finalising is a walk from the head. Hosts and
 * targets live until the end: they are the report. Offline captures are
 * far larger than the cache: attempts come from a pool, and the entries a
 * packet or a deadline will read are prefetched ahead (sp_analysis_prefetch,
 * prefetch_due).
 */
#include "analyzers/analysis.h"

#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "engine/grow.h"

/* ---- a small chained hash table of intrusive nodes ---------------------- */

/* pprev points at whatever points at the node (its bucket or the node
 * before it): removal writes two pointers and reads no chain. */
struct hnode {
    struct hnode *next, **pprev;
    uint64_t hash;
};

struct htab {
    struct hnode **b;
    size_t mask; /* buckets - 1 */
    size_t n;
    bool sparse; /* at most one entry per two buckets, else one per bucket */
};

static bool ht_init(struct htab *t)
{
    t->b = calloc(1024, sizeof(*t->b));
    t->mask = 1023;
    t->n = 0;
    return t->b != NULL;
}

static void ht_grow(struct htab *t)
{
    size_t nb = (t->mask + 1) * 2;
    struct hnode **b = calloc(nb, sizeof(*b));

    if (b == NULL)
        return; /* keep working with longer chains */
    for (size_t i = 0; i <= t->mask; i++) {
        struct hnode *e = t->b[i];
        while (e != NULL) {
            struct hnode *next = e->next;
            struct hnode **head = &b[e->hash & (nb - 1)];
            e->next = *head;
            if (e->next != NULL)
                e->next->pprev = &e->next;
            e->pprev = head;
            *head = e;
            e = next;
        }
    }
    free(t->b);
    t->b = b;
    t->mask = nb - 1;
}

static void ht_insert(struct htab *t, struct hnode *e, uint64_t h)
{
    struct hnode **head;

    if (t->n > (t->sparse ? t->mask / 2 : t->mask))
        ht_grow(t);
    head = &t->b[h & t->mask];
    e->hash = h;
    e->next = *head;
    if (e->next != NULL)
        e->next->pprev = &e->next;
    e->pprev = head;
    *head = e;
    t->n++;
}

/* e must be in t. */
static void ht_remove(struct htab *t, struct hnode *e)
{
    *e->pprev = e->next;
    if (e->next != NULL)
        e->next->pprev = e->pprev;
    e->next = NULL;
    e->pprev = NULL;
    t->n--;
}

static struct hnode *ht_bucket(const struct htab *t, uint64_t h)
{
    return t->b[h & t->mask];
}

/*
 * Hashing, fixed-seed so runs are deterministic. An address is folded into
 * one word from its two 64-bit halves (an IPv4 address has zeros past its
 * fourth byte, addr.h) by independent multiplications, and a key's words
 * are combined and mixed once: byte-wise FNV was a chain of 17 dependent
 * multiplications per address, and its low bits (the bucket index) mixed
 * poorly.
 */
static uint64_t addr_word(const struct sp_addr *a)
{
    uint64_t lo, hi;

    memcpy(&lo, a->b, sizeof(lo));
    memcpy(&hi, a->b + 8, sizeof(hi));
    return lo * 0x9e3779b97f4a7c15ULL ^
           (hi ^ a->family) * 0xc2b2ae3d27d4eb4fULL;
}

static uint64_t rotl29(uint64_t v)
{
    return v << 29 | v >> 35;
}

/* The final mix: every input bit reaches the low (bucket) bits. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 31;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static const uint64_t hash_seed = 14695981039346656037ULL;

static uint64_t addr_hash(const struct sp_addr *a)
{
    return mix64(addr_word(a) ^ hash_seed);
}

/* Two addresses and two 16-bit numbers (ports, or echo id and seq). */
static uint64_t pair_hash(const struct sp_addr *s, const struct sp_addr *d,
                          uint16_t u, uint16_t v)
{
    return mix64(addr_word(s) ^ rotl29(addr_word(d)) ^
                 ((uint64_t)u << 16 | v) * 0x100000001b3ULL);
}

static bool addr_eq(const struct sp_addr *a, const struct sp_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

/* ---- records kept per host, target, attempt, echo ----------------------- */

struct path {
    struct sp_hop *h; /* indexed by TTL, [0] unused */
    int16_t n;        /* entries allocated (at most 256) */
    int16_t top;      /* the highest TTL with an address, 0 if none */
    /* the last path_find: the same host's answers are placed over and
     * over, and the rows are rarely in the cache (path_note clears it) */
    int16_t memo_k;
    bool memo;
    struct sp_addr memo_addr;
};

enum { NDIST = 4 };

struct dists {
    uint8_t d[NDIST];
    uint32_t n[NDIST];
};

struct host {
    struct hnode node;
    struct sp_addr addr;
    struct dists strong;  /* SYN-ACKs and echo replies */
    struct dists rst;     /* RSTs */
    int echo_state;       /* -1 never probed, 0 silent so far, 1 replied */
    int echo_reply_ttl;   /* smallest probe TTL that drew an echo reply */
    uint32_t icmp_errors; /* matching ICMP errors this address sent us */
    /* a router said the host itself cannot be reached (net/host
     * unreachable) for one of our probes, whatever its port */
    bool route_fail;
    struct sp_addr rf_from;
    uint8_t rf_ttl, rf_type, rf_code;
    int64_t rf_rtt;
    int64_t rf_ns;    /* when the router said so */
    int64_t echo_ns;  /* the last echo reply */
    struct path path; /* echo and UDP trace */
};

/*
 * The deciding result of a target, without what the target holds itself
 * (address, port, name) or what follows from the rest (the verdict, from
 * the reason): 40 bytes instead of a struct sp_result's 88, which keeps a
 * target to three cache lines.
 */
struct best {
    int64_t rtt_ns;
    int16_t hop, reply_ttl, icmp_type, icmp_code;
    struct sp_addr responder;
    uint8_t reason;
};

/*
 * A target: three cache lines (192 bytes), the first holding what a lookup
 * and an answer read and write. 55,682 of them on the benchmark file were
 * 17.6 MB at five lines each, beyond what the cache keeps.
 */
struct tgt {
    struct hnode node;
    /* the key, in the first cache line with the node: a lookup (of the
     * target, or of an attempt through its target) reads nothing else */
    struct sp_addr addr; /* host->addr */
    uint16_t port;
    bool answered; /* here too: an answer writes the first line only */
    bool have_trace;
    bool host_answer_after_forged;
    uint8_t best_rank; /* 0 none, 1 unknown, 2 filtered, 3 active, 4 no route */
    struct host *host;
    int64_t best_ns; /* first_seen of the attempt behind best */
    const char *name;
    unsigned counts[SP_VERDICT_COUNT];
    struct best best;      /* the deciding result so far */
    struct path path;      /* SYN trace */
    unsigned trace_silent; /* silent trace probes that waited out */
    /* the first ICMP error that answered one of its SYNs, when it came
     * (the live engine paces retries by that router before the attempt
     * ends) */
    struct sp_addr icmp_from;
    uint8_t icmp_ttl;
};

_Static_assert(sizeof(struct tgt) <= 192, "a target is three cache lines");

static void best_set(struct best *b, const struct sp_result *r)
{
    b->rtt_ns = r->rtt_ns;
    b->hop = (int16_t)r->hop;
    b->reply_ttl = (int16_t)r->reply_ttl;
    b->icmp_type = (int16_t)r->icmp_type;
    b->icmp_code = (int16_t)r->icmp_code;
    b->responder = r->responder;
    b->reason = (uint8_t)r->reason;
}

/* The result best_set kept, whole again. */
static void best_get(const struct tgt *t, struct sp_result *r)
{
    memset(r, 0, sizeof(*r));
    r->target = t->addr;
    r->port = t->port;
    r->name = t->name;
    r->reason = (enum sp_reason)t->best.reason;
    r->verdict = sp_reason_verdict(r->reason);
    r->hop = t->best.hop;
    r->responder = t->best.responder;
    r->reply_ttl = t->best.reply_ttl;
    r->rtt_ns = t->best.rtt_ns;
    r->icmp_type = t->best.icmp_type;
    r->icmp_code = t->best.icmp_code;
}

enum ans_kind { ANS_NONE = 0, ANS_SYNACK, ANS_RST, ANS_ICMP };

enum { EARLY_MAX = 32 };
static const int64_t early_window_ns = 100000000; /* 100 ms */

struct att {
    struct hnode node;
    struct tgt *tgt;
    struct sp_addr client;
    uint16_t cport;
    uint16_t tport; /* tgt->port, kept here for lookups */
    uint8_t nq;     /* its entries in the expiry queues (0 to 2) */
    uint32_t isn;
    int64_t first_ns, last_syn_ns, deadline_ns;
    uint16_t syn_count;
    uint8_t syn_ttl;
    uint8_t ans;
    uint8_t ans_ttl;
    uint8_t icmp_type, icmp_code;
    bool te;           /* drew time-exceeded: a trace probe */
    bool drops;        /* capture dropped packets while it waited */
    bool later_synack; /* a SYN-ACK after a RST */
    uint8_t later_synack_ttl;
    struct sp_addr ans_src;
    int64_t ans_rtt;
};

struct echo {
    struct hnode node;
    struct echo *prev, *next;
    struct sp_addr src, dst;
    uint16_t id, seq;
    uint8_t ttl;
    int64_t sent_ns, deadline_ns;
};

struct list {
    void *head, *tail;
};

/* An expiry heap entry: the deadline is copied in, so sifting never reads
 * the attempts themselves. */
struct heap_ent {
    int64_t key;
    struct att *x;
};

/* A heap entry also keeps what finalising its attempt reads, so the top
 * few can be fetched without reading the attempts first. */
struct hslot {
    struct heap_ent e;
    const struct tgt *tgt;
    const struct host *host;
};

/*
 * Targets, hosts and attempt slabs live until the analysis ends, and come
 * from an arena of 2 MiB chunks: no allocator call or header per record,
 * and every record starts on a cache line, so prefetching one fetches
 * exactly its lines.
 */
enum { ARENA_CHUNK = 2 << 20, LINE = 64 };

struct arena {
    char *chunk; /* the current one; each begins with a link to the last */
    size_t used;
};

static void *arena_alloc(struct arena *ar, size_t size)
{
    char *p;

    size = (size + LINE - 1) & ~(size_t)(LINE - 1);
    if (size > ARENA_CHUNK - LINE)
        return NULL;
    if (ar->chunk == NULL || ar->used + size > ARENA_CHUNK) {
        char *c = aligned_alloc(LINE, ARENA_CHUNK);
        if (c == NULL)
            return NULL;
        memcpy(c, &ar->chunk, sizeof(ar->chunk));
        ar->chunk = c;
        ar->used = LINE;
    }
    p = ar->chunk + ar->used;
    ar->used += size;
    memset(p, 0, size);
    return p;
}

static void arena_free(struct arena *ar)
{
    while (ar->chunk != NULL) {
        char *c = ar->chunk;
        memcpy(&ar->chunk, c, sizeof(ar->chunk));
        free(c);
    }
}

/*
 * Attempts come from slabs of ATT_SLAB in the arena and go back to a free
 * list: one malloc per SYN was a measurable part of a large capture, and
 * its header part of the memory per open attempt.
 */
enum { ATT_SLAB = 512 };

struct att_slab {
    struct att a[ATT_SLAB];
};

struct att_pool {
    struct att *free; /* linked through node.next */
};

static struct att *att_alloc(struct att_pool *p, struct arena *ar)
{
    struct att *x = p->free;

    if (x == NULL) {
        struct att_slab *s = arena_alloc(ar, sizeof(*s));
        if (s == NULL)
            return NULL;
        for (size_t i = ATT_SLAB; i-- > 1;) {
            s->a[i].node.next = (struct hnode *)p->free;
            p->free = &s->a[i];
        }
        x = &s->a[0];
    } else {
        p->free = (struct att *)x->node.next;
    }
    {
        /* copied, not memset: GCC makes that a slow "rep stos" */
        static const struct att zero;
        *x = zero;
    }
    return x;
}

static void att_free(struct att_pool *p, struct att *x)
{
    x->node.next = (struct hnode *)p->free;
    p->free = x;
}

struct sp_analysis {
    struct sp_analysis_cfg cfg;
    struct sp_sink sink;
    struct htab atts, echoes, hosts, tgts;
    struct hslot *heap; /* expiry: a binary min-heap on deadlines */
    size_t nheap, capheap;
    struct heap_ent *fifo; /* expiry: a ring of deadlines in order */
    size_t fhead, nfifo, capfifo;
    size_t pf_fhead; /* the heads when prefetch_due last ran */
    const struct att *pf_top;
    struct att_pool pool;
    struct arena arena;  /* targets, hosts, attempt slabs */
    struct sp_hop *hops; /* emit_target's rows */
    struct echo *ehead, *etail;
    struct tgt **order; /* targets in the order they were first seen */
    size_t norder, caporder;
    int64_t now_ns, drop_ns;
    bool have_drop;
    uint64_t packets, unrelated, truncated, invalid, attempts;
    unsigned emitted[SP_VERDICT_COUNT];
    size_t side_hosts; /* hosts known only from echo, UDP or ICMP senders */
    /* answers that matched nothing, kept briefly: a capture point may see a
     * SYN-ACK a fraction of a millisecond before its SYN */
    struct sp_packet early[EARLY_MAX];
    size_t nearly;
    int64_t early_last_ns; /* the latest time among them */
};

int sp_ttl_distance(uint8_t ttl)
{
    int init = ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
    return init - ttl + 1;
}

static void dists_add(struct dists *d, int dist)
{
    int i;

    for (i = 0; i < NDIST; i++) {
        if (d->n[i] != 0 && d->d[i] == dist) {
            d->n[i]++;
            return;
        }
    }
    for (i = 0; i < NDIST; i++) {
        if (d->n[i] == 0) {
            d->d[i] = (uint8_t)dist;
            d->n[i] = 1;
            return;
        }
    }
}

static bool dists_known(const struct dists *d)
{
    return d->n[0] != 0;
}

static bool dists_has(const struct dists *d, int dist)
{
    for (int i = 0; i < NDIST; i++)
        if (d->n[i] != 0 && d->d[i] == dist)
            return true;
    return false;
}

/* The most often seen distance, or -1. */
static int dists_mode(const struct dists *d)
{
    int best = -1;
    uint32_t bn = 0;

    for (int i = 0; i < NDIST; i++)
        if (d->n[i] > bn) {
            bn = d->n[i];
            best = d->d[i];
        }
    return best;
}

static struct sp_hop *path_at(struct path *p, int ttl)
{
    if (ttl <= 0 || ttl > 255)
        return NULL;
    if (ttl >= p->n) {
        int n = p->n == 0 ? 8 : p->n;
        struct sp_hop *h;
        while (n <= ttl)
            n *= 2;
        if (n > 256)
            n = 256;
        h = realloc(p->h, (size_t)n * sizeof(*h));
        if (h == NULL)
            return NULL;
        memset(h + p->n, 0, (size_t)(n - p->n) * sizeof(*h));
        for (int i = p->n; i < n; i++) {
            h[i].ttl = (uint8_t)i;
            h[i].rtt_ns = -1;
        }
        p->h = h;
        p->n = (int16_t)n;
    }
    return &p->h[ttl];
}

/* Records who answered at a TTL; the first answer keeps the address. */
static void path_note(struct path *p, int ttl, const struct sp_addr *from,
                      int64_t rtt)
{
    struct sp_hop *h = path_at(p, ttl);

    if (h == NULL || from == NULL || h->addr.family != 0)
        return;
    h->addr = *from;
    h->rtt_ns = rtt;
    if (ttl > p->top)
        p->top = (int16_t)ttl;
    p->memo = false;
}

/* The lowest TTL at which addr answered in the path, or -1. */
static int path_find(struct path *p, const struct sp_addr *addr)
{
    int k = -1;

    if (p->memo && addr_eq(&p->memo_addr, addr))
        return p->memo_k;
    for (int i = 1; i <= p->top; i++)
        if (p->h[i].addr.family != 0 && addr_eq(&p->h[i].addr, addr)) {
            k = i;
            break;
        }
    p->memo = true;
    p->memo_k = (int16_t)k;
    p->memo_addr = *addr;
    return k;
}

/* ---- lookups ------------------------------------------------------------- */

static struct host *host_get(struct sp_analysis *a, const struct sp_addr *ad,
                             bool create)
{
    uint64_t h = addr_hash(ad);
    struct host *x;

    for (struct hnode *e = ht_bucket(&a->hosts, h); e; e = e->next) {
        x = (struct host *)e;
        if (e->hash == h && addr_eq(&x->addr, ad))
            return x;
    }
    if (!create)
        return NULL;
    x = arena_alloc(&a->arena, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->addr = *ad;
    x->echo_state = -1;
    x->echo_reply_ttl = -1;
    ht_insert(&a->hosts, &x->node, h);
    return x;
}

/*
 * A host known only from echo, a UDP traceroute or as an ICMP sender: hosts
 * live until the report, so those that no TCP attempt needs are capped, and
 * a capture of endless pings or UDP probes cannot grow memory without end.
 */
enum { SIDE_HOSTS_MAX = 65536 };

static struct host *side_host(struct sp_analysis *a, const struct sp_addr *ad)
{
    struct host *h = host_get(a, ad, false);

    if (h != NULL || a->side_hosts >= SIDE_HOSTS_MAX)
        return h;
    a->side_hosts++;
    return host_get(a, ad, true);
}

static uint64_t tgt_hash(const struct sp_addr *ad, uint16_t port)
{
    return mix64(addr_word(ad) ^ hash_seed ^ (uint64_t)port * 0x100000001b3ULL);
}

/* Finds (or makes) the target ad:port, whose tgt_hash is h. */
static struct tgt *tgt_get_h(struct sp_analysis *a, uint64_t h,
                             const struct sp_addr *ad, uint16_t port,
                             bool create)
{
    struct tgt *t, **order;

    for (struct hnode *e = ht_bucket(&a->tgts, h); e; e = e->next) {
        t = (struct tgt *)e;
        if (e->hash == h && t->port == port && addr_eq(&t->addr, ad))
            return t;
    }
    if (!create)
        return NULL;
    /* room in the report's order first: a target is in it, or not made */
    order = sp_grow(a->order, a->norder, &a->caporder, sizeof(*order), 1024);
    if (order == NULL)
        return NULL;
    a->order = order;
    t = arena_alloc(&a->arena, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->host = host_get(a, ad, true);
    if (t->host == NULL)
        return NULL; /* t stays in the arena, unused */
    t->addr = *ad;
    t->port = port;
    t->best.hop = -1;
    ht_insert(&a->tgts, &t->node, h);
    a->order[a->norder++] = t;
    return t;
}

static struct tgt *tgt_get(struct sp_analysis *a, const struct sp_addr *ad,
                           uint16_t port, bool create)
{
    return tgt_get_h(a, tgt_hash(ad, port), ad, port, create);
}

static uint64_t att_hash(const struct sp_addr *client, uint16_t cport,
                         const struct sp_addr *target, uint16_t tport)
{
    return pair_hash(client, target, cport, tport);
}

/* Finds the attempt with this 4-tuple (whose att_hash is h) and an ISN of
 * isn_lo or isn_hi. */
static struct att *att_find(struct sp_analysis *a, uint64_t h,
                            const struct sp_addr *cl, uint16_t cport,
                            const struct sp_addr *tg, uint16_t tport,
                            uint32_t isn_lo, uint32_t isn_hi)
{
    for (struct hnode *e = ht_bucket(&a->atts, h); e; e = e->next) {
        struct att *x = (struct att *)e;
        if (e->hash != h || x->cport != cport || x->tport != tport)
            continue;
        if (x->isn != isn_lo && x->isn != isn_hi)
            continue;
        if (addr_eq(&x->client, cl) && addr_eq(&x->tgt->addr, tg))
            return x;
    }
    return NULL;
}

/* ---- expiry lists ----------------------------------------------------------
 */

/*
 * Attempts wait for their deadline in one of two queues of (deadline,
 * attempt) entries. Most deadlines are "now + wait + grace", which only
 * grows: those go to the end of a FIFO ring, in order, at O(1). Others (a
 * retransmitting attempt is kept longer; a capture's clock may step back)
 * go to a binary min-heap, which stays small. Deadlines only move forward,
 * and lazily: a later deadline is written into the attempt only, and when
 * its entry, keyed by the earlier one, comes due it is queued again. An
 * answer is the exception: its deadline ("answer + wait + grace") is in
 * order, so it gets a second entry at the ring's end at once (re-queued at
 * the first entry's time it went to the heap, and every answered attempt
 * passed through it). An attempt counts its entries; the last to come due
 * decides (it has the largest key), the others are dropped, so no entry
 * outlives its attempt. Entries hold their key, so finding what is due
 * never reads the attempts themselves.
 */
static void heap_up(struct sp_analysis *a, size_t i)
{
    struct hslot e = a->heap[i];

    while (i > 0 && a->heap[(i - 1) / 2].e.key > e.e.key) {
        a->heap[i] = a->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    a->heap[i] = e;
}

static void heap_down(struct sp_analysis *a, size_t i)
{
    struct hslot e = a->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= a->nheap)
            break;
        if (c + 1 < a->nheap && a->heap[c + 1].e.key < a->heap[c].e.key)
            c++;
        if (a->heap[c].e.key >= e.e.key)
            break;
        a->heap[i] = a->heap[c];
        i = c;
    }
    a->heap[i] = e;
}

static bool heap_push(struct sp_analysis *a, struct heap_ent e)
{
    struct hslot *h = sp_grow(a->heap, a->nheap, &a->capheap, sizeof(*h), 64);

    if (h == NULL)
        return false;
    a->heap = h;
    a->heap[a->nheap].e = e;
    a->heap[a->nheap].tgt = e.x->tgt;
    a->heap[a->nheap].host = e.x->tgt->host;
    heap_up(a, a->nheap++);
    return true;
}

/* Appends e to the ring if that keeps it in order. */
static bool fifo_push(struct sp_analysis *a, struct heap_ent e)
{
    if (a->nfifo > 0 &&
        e.key < a->fifo[(a->fhead + a->nfifo - 1) & (a->capfifo - 1)].key)
        return false;
    if (a->nfifo == a->capfifo) {
        size_t nc = a->capfifo ? a->capfifo * 2 : 1024;
        struct heap_ent *f = malloc(nc * sizeof(*f));
        if (f == NULL)
            return false;
        for (size_t i = 0; i < a->nfifo; i++)
            f[i] = a->fifo[(a->fhead + i) & (a->capfifo - 1)];
        free(a->fifo);
        a->fifo = f;
        a->fhead = 0;
        a->capfifo = nc;
    }
    a->fifo[(a->fhead + a->nfifo++) & (a->capfifo - 1)] = e;
    return true;
}

/* Queues an entry for x, keyed by its deadline. */
static void att_queue(struct sp_analysis *a, struct att *x)
{
    struct heap_ent e = {.key = x->deadline_ns, .x = x};

    /* a key beyond "now + wait + grace" in the ring would send every later
     * ordinary deadline to the heap */
    if ((e.key <= a->now_ns + a->cfg.wait_ns + a->cfg.grace_ns &&
         fifo_push(a, e)) ||
        heap_push(a, e))
        x->nq++;
    /* if neither could grow, x stays out: it is never finalised, and is
     * freed with the analysis */
}

static void att_schedule(struct sp_analysis *a, struct att *x, int64_t when)
{
    if (x->nq > 0) {
        if (when > x->deadline_ns)
            x->deadline_ns = when;
        return;
    }
    x->deadline_ns = when;
    att_queue(a, x);
}

/* An answered attempt's deadline: a second entry at the ring's end if it
 * goes there in order, else the lazy way. */
static void att_schedule_answer(struct sp_analysis *a, struct att *x,
                                int64_t when)
{
    if (x->nq == 1 && when > x->deadline_ns &&
        fifo_push(a, (struct heap_ent){.key = when, .x = x})) {
        x->deadline_ns = when;
        x->nq++;
        return;
    }
    att_schedule(a, x, when);
}

/*
 * Takes the entry due first out of its queue, if there is one and its key
 * is at most `until`. The ring wins ties, so the order is deterministic.
 */
static bool pop_due(struct sp_analysis *a, int64_t until, struct heap_ent *out)
{
    bool heap = a->nheap > 0 &&
                (a->nfifo == 0 || a->heap[0].e.key < a->fifo[a->fhead].key);

    if (heap) {
        if (a->heap[0].e.key > until)
            return false;
        *out = a->heap[0].e;
        if (--a->nheap > 0) {
            a->heap[0] = a->heap[a->nheap];
            heap_down(a, 0);
        }
    } else {
        if (a->nfifo == 0 || a->fifo[a->fhead].key > until)
            return false;
        *out = a->fifo[a->fhead];
        a->fhead = (a->fhead + 1) & (a->capfifo - 1);
        a->nfifo--;
    }
    out->x->nq--;
    return true;
}

static void echo_unlink(struct sp_analysis *a, struct echo *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        a->ehead = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        a->etail = x->prev;
    x->prev = x->next = NULL;
}

/* ---- results ---------------------------------------------------------------
 */

/* Where on the path an answer came from: its place in a trace, else its
 * distance by TTL. */
static int locate(struct tgt *t, const struct sp_addr *from, int ttl)
{
    int k;

    if (t->path.n == 0 && t->host->path.n == 0)
        return ttl >= 0 ? sp_ttl_distance((uint8_t)ttl) : -1;
    /* the lowest TTL it answered at, in either path: a router refuses the
     * probes that pass its own hop, so its later rows are not its place */
    k = path_find(&t->path, from);
    {
        int kh = path_find(&t->host->path, from);
        if (kh > 0 && (k < 0 || kh < k))
            k = kh;
    }
    if (k < 0 && addr_eq(from, &t->host->addr) && t->host->echo_reply_ttl > 0)
        k = t->host->echo_reply_ttl;
    if (k < 0 && ttl >= 0)
        k = sp_ttl_distance((uint8_t)ttl);
    return k;
}

/* The host's own distance, from its SYN-ACKs and echo replies. */
static int host_distance(const struct host *h)
{
    if (h->echo_reply_ttl > 0)
        return h->echo_reply_ttl;
    return dists_mode(&h->strong);
}

static int last_te(const struct path *p, bool syn);

/* The largest distance the host's own answers show (echo replies, SYN-ACKs,
 * RSTs), or -1. A box answering in its name sits closer. */
static int host_far(const struct host *h)
{
    int d = h->echo_reply_ttl;

    for (int i = 0; i < NDIST; i++) {
        if (h->strong.n[i] != 0 && h->strong.d[i] > d)
            d = h->strong.d[i];
        if (h->rst.n[i] != 0 && h->rst.d[i] > d)
            d = h->rst.d[i];
    }
    return d;
}

/*
 * A SYN-ACK from a SYN proxy or load balancer: it answers a TTL too small
 * to reach the host, or comes from at least two hops closer than the host's
 * other answers (one hop of difference is left to ECMP path jitter).
 */
static bool synack_forged(const struct att *x)
{
    const struct host *h = x->tgt->host;
    int d = sp_ttl_distance(x->ans_ttl);
    int far = host_far(h);

    if (host_distance(h) > 0 && x->syn_ttl < host_distance(h))
        return true;
    return far > 0 && d + 1 < far;
}

static bool rst_forged(const struct att *x)
{
    const struct host *h = x->tgt->host;
    int d = sp_ttl_distance(x->ans_ttl);

    if (x->later_synack && sp_ttl_distance(x->later_synack_ttl) != d)
        return true;
    if (dists_known(&h->strong) && !dists_has(&h->strong, d))
        return true;
    /* a host that only sends RSTs: its usual distance is its RSTs' most
     * common one (a hop of difference is left to ECMP path jitter) */
    if (!dists_known(&h->strong) && dists_mode(&h->rst) > 0 &&
        abs(dists_mode(&h->rst) - d) >= 2)
        return true;
    /* answers a TTL too small to reach the host */
    if (host_distance(h) > 0 && x->syn_ttl < host_distance(h))
        return true;
    return false;
}

/*
 * Evidence about the host itself (it answered echo; a router said it cannot
 * be reached) speaks for a silent attempt only if it is recent: a host can
 * come and go during a long capture.
 */
static const int64_t EVIDENCE_NEAR_NS = 60 * 1000000000LL;

static bool host_evidence_near(const struct sp_analysis *a,
                               const struct host *h, int64_t t)
{
    /* a router's net/host unreachable tells the run's other silences no
     * more ICMP is due only while its neighbour resolution is the same */
    return (h->echo_state == 1 && llabs(h->echo_ns - t) <= EVIDENCE_NEAR_NS) ||
           (h->route_fail &&
            llabs(h->rf_ns - t) <= a->cfg.wait_ns + a->cfg.grace_ns);
}

static void classify(struct sp_analysis *a, struct att *x, struct sp_result *r,
                     enum sp_reason pending)
{
    struct tgt *t = x->tgt;
    int fam = t->host->addr.family;

    memset(r, 0, sizeof(*r));
    r->target = t->host->addr;
    r->port = t->port;
    r->name = t->name;
    r->hop = -1;
    r->reply_ttl = -1;
    r->rtt_ns = -1;
    r->icmp_type = r->icmp_code = -1;

    switch (x->ans) {
    case ANS_SYNACK:
        r->reason =
            synack_forged(x) ? SP_REASON_MIDDLEBOX_SYN_ACK : SP_REASON_SYN_ACK;
        break;
    case ANS_RST:
        r->reason = rst_forged(x) ? SP_REASON_MIDDLEBOX_RST : SP_REASON_RST;
        if (r->reason == SP_REASON_MIDDLEBOX_RST && x->later_synack)
            t->host_answer_after_forged = true;
        break;
    case ANS_ICMP:
        r->reason = sp_reason_from_unreach(fam, x->icmp_code);
        r->icmp_type = x->icmp_type;
        r->icmp_code = x->icmp_code;
        break;
    default:
        if (x->drops)
            r->reason = SP_REASON_CAPTURE_DROPS;
        else if (a->now_ns - x->last_syn_ns >= a->cfg.wait_ns ||
                 (host_evidence_near(a, t->host, x->last_syn_ns) &&
                  a->cfg.conclusive_ns > 0 &&
                  a->now_ns - x->last_syn_ns >= a->cfg.conclusive_ns))
            /* the wait passed, or the host answered echo so no late
             * neighbour failure can come (the same rule live) */
            r->reason = SP_REASON_NO_RESPONSE;
        else
            r->reason = pending;
        if (r->reason == SP_REASON_NO_RESPONSE && t->have_trace)
            r->hop = last_te(&t->path, true);
        break;
    }
    r->verdict = sp_reason_verdict(r->reason);
    if (x->ans != ANS_NONE) {
        r->responder = x->ans_src;
        r->reply_ttl = x->ans_ttl;
        r->rtt_ns = x->ans_rtt;
        r->hop = r->reason == SP_REASON_MIDDLEBOX_RST ||
                         r->reason == SP_REASON_MIDDLEBOX_SYN_ACK
                     ? sp_ttl_distance(x->ans_ttl)
                     : locate(t, &x->ans_src, x->ans_ttl);
    }
}

static int rank_of(const struct sp_result *r)
{
    if (sp_reason_is_active(r->reason))
        return 3;
    return r->verdict == SP_VERDICT_FILTERED ? 2 : 1;
}

/* Finalises an attempt: emits it, folds it into its target, frees it. */
static void att_final(struct sp_analysis *a, struct att *x,
                      enum sp_reason pending)
{
    struct tgt *t = x->tgt;
    struct sp_result r;

    ht_remove(&a->atts, &x->node);

    /* A TTL-limited SYN that drew time-exceeded, or silence where a trace
     * runs, is a trace probe; one that drew an answer from further on is
     * an attempt like any other (DESIGN.md "Attempts"). */
    if (x->te ||
        (x->ans == ANS_NONE && (t->have_trace || a->cfg.ttl_limited_trace) &&
         x->syn_ttl <= a->cfg.trace_ttl_max)) {
        /* a trace probe: it adds to the path, it is not an attempt */
        struct sp_hop *h = path_at(&t->path, x->syn_ttl);
        if (h != NULL && h->syn == SP_HOP_NOT_SENT)
            h->syn = SP_HOP_NONE;
        if (!x->te && a->now_ns - x->last_syn_ns >= a->cfg.wait_ns)
            t->trace_silent++;
        if (x->te || x->ans == ANS_NONE) {
            att_free(&a->pool, x);
            return;
        }
    }
    classify(a, x, &r, pending);
    a->attempts++;
    t->counts[r.verdict]++;
    {
        /* the latest attempt with the strongest kind of answer; of two
         * that began at the same instant, the one finalised last, which
         * for answered ones is the one answered later in the capture */
        int rank = rank_of(&r);
        if (rank > t->best_rank ||
            (rank == t->best_rank && x->first_ns >= t->best_ns)) {
            best_set(&t->best, &r);
            t->best_rank = (uint8_t)rank;
            t->best_ns = x->first_ns;
        }
    }
    if (a->cfg.emit_attempts && a->sink.attempt != NULL) {
        struct sp_attempt_rec rec = {
            .r = r,
            .client = x->client,
            .client_port = x->cport,
            .first_seen_ns = x->first_ns,
            .syn_count = x->syn_count,
        };
        a->sink.attempt(a->sink.state, &rec);
    }
    att_free(&a->pool, x);
}

/* Prefetches every cache line of an object that starts on one (targets,
 * hosts and attempts all do: they come from the arena; a target is three
 * lines). */
#define PREFETCH_ALL(p, rw)                                                    \
    do {                                                                       \
        const char *pf_ = (const char *)(p);                                   \
        for (size_t o_ = 0; o_ < sizeof(*(p)); o_ += LINE)                     \
            __builtin_prefetch(pf_ + o_, (rw));                                \
    } while (0)

/*
 * What the next finalisations will read, fetched some packets ahead: in a
 * capture larger than the cache they are long gone from it. Attempts leave
 * the ring in order, so the pipeline runs along it: an attempt 12 places
 * from the head, then at 7 what it points to (read from the cache now),
 * and at 3 what that points to. It runs once per packet and once per
 * attempt taken, so a burst of deadlines does not outrun it. Inlined by
 * force: a function whose only effects are prefetches counts as having
 * none, and GCC dropped its calls.
 */
__attribute__((always_inline)) static inline void
prefetch_due(struct sp_analysis *a)
{
    size_t m = a->capfifo - 1;

    if (a->nfifo > 12)
        PREFETCH_ALL(a->fifo[(a->fhead + 12) & m].x, 1);
    if (a->nfifo > 7) {
        const struct att *x = a->fifo[(a->fhead + 7) & m].x;
        PREFETCH_ALL(x->tgt, 1);
        __builtin_prefetch(x->node.pprev, 1);
        __builtin_prefetch(x->node.next, 1);
    }
    if (a->nfifo > 3) {
        const struct att *x = a->fifo[(a->fhead + 3) & m].x;
        const struct tgt *t = x->tgt;
        PREFETCH_ALL(t->host, 1);
        /* a trace probe marks its row of the target's path */
        if (x->syn_ttl < t->path.n)
            __builtin_prefetch(&t->path.h[x->syn_ttl], 1);
    }
    /* the heap holds answered attempts for their last moments: its top
     * and the two that may follow, once per top (the ring's pops leave it
     * alone, and 33 prefetches per pop of lines already fetched showed) */
    if (a->nheap > 0 && a->heap[0].e.x != a->pf_top) {
        a->pf_top = a->heap[0].e.x;
        for (size_t i = 0; i < 3 && i < a->nheap; i++) {
            PREFETCH_ALL(a->heap[i].e.x, 1);
            PREFETCH_ALL(a->heap[i].tgt, 1);
            PREFETCH_ALL(a->heap[i].host, 1);
        }
    }
}

/* Finalises, in deadline order, the attempts whose deadline is at most
 * `until`; an entry keyed by an earlier deadline is queued again. */
static void finalise_due(struct sp_analysis *a, int64_t until,
                         enum sp_reason pending)
{
    struct heap_ent e;

    while (pop_due(a, until, &e)) {
        prefetch_due(a);
        if (e.x->nq > 0)
            continue; /* a later entry decides */
        if (e.x->deadline_ns > e.key)
            att_queue(a, e.x);
        else
            att_final(a, e.x, pending);
    }
}

static void expire(struct sp_analysis *a)
{
    finalise_due(a, a->now_ns, SP_REASON_NO_RESPONSE);
    /* most packets finalise nothing: prefetch again only once a queue's
     * head has moved */
    if (a->fhead != a->pf_fhead ||
        (a->nheap > 0 && a->heap[0].e.x != a->pf_top)) {
        a->pf_fhead = a->fhead;
        prefetch_due(a);
    }
    while (a->ehead != NULL && a->ehead->deadline_ns <= a->now_ns) {
        struct echo *e = a->ehead;
        echo_unlink(a, e);
        ht_remove(&a->echoes, &e->node);
        free(e);
    }
}

/* ---- packet handlers -------------------------------------------------------
 */

static void match_early(struct sp_analysis *a, struct att *x,
                        const struct sp_packet *syn);

static void on_syn(struct sp_analysis *a, const struct sp_packet *p,
                   bool selected, const struct sp_analysis_hint *k)
{
    struct att *x = att_find(a, k->att, &p->src, p->sport, &p->dst, p->dport,
                             p->seq, p->seq);
    struct tgt *t;

    if (x != NULL) { /* a retransmission */
        int64_t gap = p->ts_ns - x->last_syn_ns, keep = a->cfg.wait_ns;
        /* a capture's clock may jump by years either way: bound the gap
         * before gap * 5 can overflow (same result for 0 .. 60 s) */
        if (gap < 0 || gap > 60 * 1000000000LL)
            gap = gap < 0 ? 0 : 60 * 1000000000LL;
        if (a->cfg.own_syn == NULL)
            x->syn_count++;
        x->last_syn_ns = p->ts_ns;
        /* TCP stacks double their gap between retransmissions (Linux: 1,
         * 2, 4, 8, ... s): keep a retransmitting attempt open past the next
         * one, so it is not split in two (bounded at a minute) */
        if (gap * 5 / 2 > keep && keep < 60 * 1000000000LL)
            keep = gap * 5 / 2 < 60 * 1000000000LL ? gap * 5 / 2
                                                   : 60 * 1000000000LL;
        if (x->ans == ANS_NONE)
            att_schedule(a, x, p->ts_ns + keep + a->cfg.grace_ns);
        return;
    }
    if (!selected)
        return;
    if (a->cfg.own_syn != NULL && !a->cfg.own_syn(a->cfg.ctx, p))
        return;
    t = tgt_get_h(a, k->tgt, &p->dst, p->dport, true);
    x = t != NULL ? att_alloc(&a->pool, &a->arena) : NULL;
    if (x == NULL)
        return;
    x->tgt = t;
    x->client = p->src;
    x->cport = p->sport;
    x->tport = p->dport;
    x->isn = p->seq;
    x->first_ns = x->last_syn_ns = p->ts_ns;
    x->syn_count = 1;
    x->syn_ttl = p->ttl;
    if (a->have_drop && a->drop_ns >= p->ts_ns)
        x->drops = true;
    ht_insert(&a->atts, &x->node, k->att);
    att_schedule(a, x, p->ts_ns + a->cfg.wait_ns + a->cfg.grace_ns);
    /* most SYNs come long after the last unmatched answer: no scan */
    if (a->nearly > 0 && p->ts_ns - a->early_last_ns <= early_window_ns)
        match_early(a, x, p);
}

/* Keeps the first net/host unreachable that names the host itself. */
static void note_route_fail(struct host *h, const struct sp_packet *p,
                            int64_t rtt)
{
    enum sp_reason r = sp_reason_from_unreach(p->src.family, p->icmp_code);

    if (h->route_fail || (r != SP_REASON_ICMP_NET_UNREACHABLE &&
                          r != SP_REASON_ICMP_HOST_UNREACHABLE))
        return;
    h->route_fail = true;
    h->rf_from = p->src;
    h->rf_ttl = p->ttl;
    h->rf_type = p->icmp_type;
    h->rf_code = p->icmp_code;
    h->rf_rtt = rtt;
    h->rf_ns = p->ts_ns;
}

static void answer(struct sp_analysis *a, struct att *x,
                   const struct sp_packet *p, enum ans_kind kind)
{
    if (x->ans == ANS_NONE) {
        x->ans = (uint8_t)kind;
        x->ans_ttl = p->ttl;
        x->ans_src = p->src;
        x->ans_rtt = p->ts_ns - x->last_syn_ns;
        if (kind == ANS_ICMP) {
            x->icmp_type = p->icmp_type;
            x->icmp_code = p->icmp_code;
            note_route_fail(x->tgt->host, p, x->ans_rtt);
            if (x->tgt->icmp_from.family == 0) {
                x->tgt->icmp_from = p->src;
                x->tgt->icmp_ttl = p->ttl;
            }
        }
        x->tgt->answered = true;
        if (x->syn_ttl <= a->cfg.trace_ttl_max) {
            /* a trace SYN answered by the destination (or a box answering
             * for it): the path knows at once, not when the attempt ends */
            struct sp_hop *h = path_at(&x->tgt->path, x->syn_ttl);
            if (h != NULL &&
                (h->syn == SP_HOP_NOT_SENT || h->syn == SP_HOP_NONE)) {
                h->syn = kind == ANS_SYNACK ? SP_HOP_SYN_ACK
                         : kind == ANS_RST  ? SP_HOP_RST
                                            : SP_HOP_UNREACH;
                if (kind == ANS_ICMP)
                    h->syn_reason = (uint8_t)sp_reason_from_unreach(
                        x->tgt->host->addr.family, p->icmp_code);
                path_note(&x->tgt->path, x->syn_ttl, &p->src,
                          p->ts_ns - x->last_syn_ns);
            }
        }
        /* keep it a wait longer: a host's answer may follow a forged one */
        att_schedule_answer(a, x, p->ts_ns + a->cfg.wait_ns + a->cfg.grace_ns);
    } else if (kind == ANS_SYNACK && x->ans == ANS_RST && !x->later_synack) {
        x->later_synack = true;
        x->later_synack_ttl = p->ttl;
    }
}

static void tcp_answer(struct sp_analysis *a, struct att *x,
                       const struct sp_packet *p, bool synack);

static void on_tcp_reply(struct sp_analysis *a, const struct sp_packet *p,
                         const struct sp_analysis_hint *k)
{
    bool synack =
        (p->tcp_flags & (SP_TCP_SYN | SP_TCP_ACK)) == (SP_TCP_SYN | SP_TCP_ACK);
    struct att *x;

    if (synack)
        x = att_find(a, k->att, &p->dst, p->dport, &p->src, p->sport,
                     p->ack - 1, p->ack - 1);
    else
        x = att_find(a, k->att, &p->dst, p->dport, &p->src, p->sport, p->ack,
                     p->ack - 1);
    if (x == NULL) {
        a->unrelated++;
        a->early[a->nearly++ % EARLY_MAX] = *p;
        if (a->nearly == 1 || p->ts_ns > a->early_last_ns)
            a->early_last_ns = p->ts_ns;
        return;
    }
    tcp_answer(a, x, p, synack);
}

/* A SYN just seen may have been answered a moment before it (reordering at
 * the capture point): take that answer back from the unrelated ones. */
static void match_early(struct sp_analysis *a, struct att *x,
                        const struct sp_packet *syn)
{
    size_t n = a->nearly < EARLY_MAX ? a->nearly : EARLY_MAX;

    for (size_t i = 0; i < n; i++) {
        struct sp_packet *e = &a->early[i];
        bool synack = (e->tcp_flags & SP_TCP_SYN) != 0;
        if (e->ts_ns == 0 || syn->ts_ns - e->ts_ns > early_window_ns ||
            e->sport != syn->dport || e->dport != syn->sport ||
            !addr_eq(&e->src, &syn->dst) || !addr_eq(&e->dst, &syn->src))
            continue;
        if (synack ? e->ack != syn->seq + 1
                   : (e->ack != syn->seq && e->ack != syn->seq + 1))
            continue;
        a->unrelated--;
        x->last_syn_ns = e->ts_ns; /* the rtt is unknown: report 0 */
        tcp_answer(a, x, e, synack);
        e->ts_ns = 0;
        return;
    }
}

static void tcp_answer(struct sp_analysis *a, struct att *x,
                       const struct sp_packet *p, bool synack)
{
    if (synack)
        dists_add(&x->tgt->host->strong, sp_ttl_distance(p->ttl));
    else
        dists_add(&x->tgt->host->rst, sp_ttl_distance(p->ttl));
    answer(a, x, p, synack ? ANS_SYNACK : ANS_RST);
}

static struct echo *echo_find(struct sp_analysis *a, const struct sp_addr *s,
                              const struct sp_addr *d, uint16_t id,
                              uint16_t seq)
{
    uint64_t h = pair_hash(s, d, id, seq) ^ hash_seed;

    for (struct hnode *e = ht_bucket(&a->echoes, h); e; e = e->next) {
        struct echo *x = (struct echo *)e;
        if (e->hash == h && x->id == id && x->seq == seq &&
            addr_eq(&x->src, s) && addr_eq(&x->dst, d))
            return x;
    }
    return NULL;
}

static void on_echo_request(struct sp_analysis *a, const struct sp_packet *p)
{
    struct echo *x;
    uint64_t h;

    if (a->cfg.own_echo != NULL && !a->cfg.own_echo(a->cfg.ctx, p))
        return;
    x = echo_find(a, &p->src, &p->dst, p->icmp_id, p->icmp_seq);
    if (x != NULL) {
        x->sent_ns = p->ts_ns;
        return;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return;
    x->src = p->src;
    x->dst = p->dst;
    x->id = p->icmp_id;
    x->seq = p->icmp_seq;
    x->ttl = p->ttl;
    x->sent_ns = p->ts_ns;
    h = pair_hash(&p->src, &p->dst, p->icmp_id, p->icmp_seq) ^ hash_seed;
    ht_insert(&a->echoes, &x->node, h);
    x->deadline_ns = p->ts_ns + a->cfg.wait_ns + a->cfg.grace_ns;
    /* echo deadlines are always "now + wait": appending keeps order */
    x->prev = a->etail;
    if (a->etail)
        a->etail->next = x;
    else
        a->ehead = x;
    a->etail = x;
    {
        struct host *hs = side_host(a, &p->dst);
        struct sp_hop *hop;
        if (hs != NULL && hs->echo_state < 0)
            hs->echo_state = 0;
        /* a TTL-limited echo: its hop reads "none" until answered */
        hop = hs != NULL && p->ttl <= a->cfg.trace_ttl_max
                  ? path_at(&hs->path, p->ttl)
                  : NULL;
        if (hop != NULL && hop->echo == SP_HOP_NOT_SENT)
            hop->echo = SP_HOP_NONE;
    }
}

static void on_echo_reply(struct sp_analysis *a, const struct sp_packet *p)
{
    struct echo *x = echo_find(a, &p->dst, &p->src, p->icmp_id, p->icmp_seq);
    struct host *h;
    struct sp_hop *hop;

    if (x == NULL) {
        a->unrelated++;
        return;
    }
    h = host_get(a, &p->src, true);
    if (h == NULL)
        return;
    h->echo_state = 1;
    h->echo_ns = p->ts_ns;
    dists_add(&h->strong, sp_ttl_distance(p->ttl));
    if (x->ttl <= a->cfg.trace_ttl_max) {
        hop = path_at(&h->path, x->ttl);
        if (hop != NULL) {
            hop->echo = SP_HOP_ECHO_REPLY;
            path_note(&h->path, x->ttl, &p->src, p->ts_ns - x->sent_ns);
        }
        if (h->echo_reply_ttl < 0 || x->ttl < h->echo_reply_ttl)
            h->echo_reply_ttl = x->ttl;
    }
}

/* Counts a matching ICMP error per sender: a router past its burst is
 * rate-limiting. Unmatched (possibly forged) errors never count. */
static void count_icmp(struct sp_analysis *a, const struct sp_packet *p)
{
    struct host *from = side_host(a, &p->src);

    if (from != NULL)
        from->icmp_errors++;
}

static void on_icmp_error(struct sp_analysis *a, const struct sp_packet *p,
                          enum sp_icmp_kind kind,
                          const struct sp_analysis_hint *k)
{
    const struct sp_inner *in = &p->inner;
    bool te = kind == SP_ICMP_TIME_EXCEEDED;

    if (!(p->have & SP_HAVE_INNER_L4)) {
        a->unrelated++;
        return;
    }
    if (kind != SP_ICMP_TIME_EXCEEDED && kind != SP_ICMP_UNREACH) {
        a->unrelated++;
        return;
    }
    if (in->proto == SP_PROTO_TCP) {
        struct att *x = att_find(a, k->att, &in->src, in->sport, &in->dst,
                                 in->dport, in->seq, in->seq);
        if (x == NULL) {
            a->unrelated++;
            return;
        }
        count_icmp(a, p);
        if (te) {
            struct sp_hop *h = path_at(&x->tgt->path, x->syn_ttl);
            x->te = true;
            x->tgt->have_trace = true;
            if (h != NULL) {
                h->syn = SP_HOP_TIME_EXCEEDED;
                path_note(&x->tgt->path, x->syn_ttl, &p->src,
                          p->ts_ns - x->last_syn_ns);
            }
            /* the host's path learns the router too, for its other ports */
            path_note(&x->tgt->host->path, x->syn_ttl, &p->src,
                      p->ts_ns - x->last_syn_ns);
            return;
        }
        answer(a, x, p, ANS_ICMP);
        return;
    }
    if (in->proto == SP_PROTO_ICMP || in->proto == SP_PROTO_ICMP6) {
        struct echo *x =
            echo_find(a, &in->src, &in->dst, in->icmp_id, in->icmp_seq);
        struct host *h;
        struct sp_hop *hop;
        if (x == NULL) {
            a->unrelated++;
            return;
        }
        count_icmp(a, p);
        h = host_get(a, &x->dst, true);
        if (h != NULL && !te)
            note_route_fail(h, p, p->ts_ns - x->sent_ns);
        hop = h != NULL && x->ttl <= a->cfg.trace_ttl_max
                  ? path_at(&h->path, x->ttl)
                  : NULL;
        if (hop != NULL) {
            hop->echo = te ? SP_HOP_TIME_EXCEEDED : SP_HOP_UNREACH;
            if (!te)
                hop->echo_reason = (uint8_t)sp_reason_from_unreach(
                    p->src.family, p->icmp_code);
            path_note(&h->path, x->ttl, &p->src, p->ts_ns - x->sent_ns);
        }
        return;
    }
    if (in->proto == SP_PROTO_UDP) {
        /* a UDP traceroute: placed by the error's own distance */
        struct host *h = side_host(a, &in->dst);
        int dist = sp_ttl_distance(p->ttl);
        struct sp_hop *hop = h != NULL ? path_at(&h->path, dist) : NULL;
        if (hop != NULL) {
            hop->udp = te ? SP_HOP_TIME_EXCEEDED : SP_HOP_UNREACH;
            if (!te)
                hop->udp_reason = (uint8_t)sp_reason_from_unreach(p->src.family,
                                                                  p->icmp_code);
            path_note(&h->path, dist, &p->src, -1);
        }
        return;
    }
    a->unrelated++;
}

/* ---- public API
 * -------------------------------------------------------------- */

struct sp_analysis *sp_analysis_create(const struct sp_analysis_cfg *cfg,
                                       const struct sp_sink *sink)
{
    struct sp_analysis *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->cfg = *cfg;
    a->sink = *sink;
    if (!ht_init(&a->atts) || !ht_init(&a->echoes) || !ht_init(&a->hosts) ||
        !ht_init(&a->tgts)) {
        sp_analysis_destroy(a);
        return NULL;
    }
    /* Looked up on every SYN and never freed: a chain entry beyond the
     * first is one more miss, so these get twice the buckets (attempt
     * buckets count in the memory per open attempt, and stay dense). */
    a->tgts.sparse = a->hosts.sparse = true;
    return a;
}

/* What a packet is to the analysis: the one dispatch rule, found once per
 * packet by sp_analysis_keys and followed by sp_analysis_packet_keyed. */
enum pkt_role {
    ROLE_NONE,      /* only its time counts */
    ROLE_SYN,       /* opens or retransmits an attempt */
    ROLE_TCP_REPLY, /* SYN-ACK or RST-ACK */
    ROLE_BARE_RST,  /* a RST without ACK: counted as unrelated */
    ROLE_ECHO_REQUEST,
    ROLE_ECHO_REPLY,
    ROLE_ICMP_UNREACH,
    ROLE_ICMP_TIME_EXCEEDED,
};

static enum pkt_role pkt_role(const struct sp_packet *p)
{
    unsigned f = p->tcp_flags;

    if (!(p->have & SP_HAVE_IP) || p->frag_later)
        return ROLE_NONE;
    if (p->proto == SP_PROTO_TCP) {
        if (!(p->have & SP_HAVE_TCP))
            return ROLE_NONE;
        if ((f & (SP_TCP_SYN | SP_TCP_ACK | SP_TCP_RST)) == SP_TCP_SYN)
            return ROLE_SYN;
        if ((f & (SP_TCP_SYN | SP_TCP_ACK)) == (SP_TCP_SYN | SP_TCP_ACK) ||
            (f & (SP_TCP_RST | SP_TCP_ACK)) == (SP_TCP_RST | SP_TCP_ACK))
            return ROLE_TCP_REPLY;
        return f & SP_TCP_RST ? ROLE_BARE_RST : ROLE_NONE;
    }
    if ((p->proto != SP_PROTO_ICMP && p->proto != SP_PROTO_ICMP6) ||
        !(p->have & SP_HAVE_ICMP))
        return ROLE_NONE;
    switch (sp_icmp_kind(p)) {
    case SP_ICMP_ECHO_REQUEST:
        return ROLE_ECHO_REQUEST;
    case SP_ICMP_ECHO_REPLY:
        return ROLE_ECHO_REPLY;
    case SP_ICMP_UNREACH:
        return ROLE_ICMP_UNREACH;
    case SP_ICMP_TIME_EXCEEDED:
        return ROLE_ICMP_TIME_EXCEEDED;
    default:
        return ROLE_NONE;
    }
}

/* The hashes of what a packet will look up (a SYN its attempt and target,
 * a SYN-ACK or RST-ACK the attempt it answers, an ICMP error the attempt
 * whose SYN it quotes), and its role. */
bool sp_analysis_keys(const struct sp_packet *p, struct sp_analysis_hint *k)
{
    enum pkt_role r = pkt_role(p);
    const struct sp_inner *in = &p->inner;

    k->role = (uint8_t)r;
    k->ok = k->syn = false;
    k->att = k->tgt = 0;
    switch (r) {
    case ROLE_SYN:
        k->ok = k->syn = true;
        k->att = att_hash(&p->src, p->sport, &p->dst, p->dport);
        k->tgt = tgt_hash(&p->dst, p->dport);
        break;
    case ROLE_TCP_REPLY:
        k->ok = true;
        k->att = att_hash(&p->dst, p->dport, &p->src, p->sport);
        break;
    case ROLE_ICMP_UNREACH:
    case ROLE_ICMP_TIME_EXCEEDED:
        /* an error quoting a SYN (on_icmp_error) */
        if (!(p->have & SP_HAVE_INNER_L4) || in->proto != SP_PROTO_TCP)
            break;
        k->ok = true;
        k->att = att_hash(&in->src, in->sport, &in->dst, in->dport);
        break;
    default:
        break;
    }
    return r != ROLE_NONE;
}

/* The steps of sp_analysis_prefetch, each for another packet. Only the
 * lines that will be read: a miss queue holds a few dozen lines. A chain is
 * walked on the first line of each entry (node and key). */
__attribute__((always_inline)) static inline void
pf_buckets(const struct sp_analysis *a, const struct sp_analysis_hint *k)
{
    __builtin_prefetch(&a->atts.b[k->att & a->atts.mask]);
    if (k->syn)
        __builtin_prefetch(&a->tgts.b[k->tgt & a->tgts.mask]);
}

/* the first entries of the chains */
__attribute__((always_inline)) static inline void
pf_chains(const struct sp_analysis *a, const struct sp_analysis_hint *k)
{
    const struct hnode *e = ht_bucket(&a->atts, k->att);

    if (e != NULL)
        PREFETCH_ALL((const struct att *)e, 1);
    if (k->syn && (e = ht_bucket(&a->tgts, k->tgt)) != NULL)
        __builtin_prefetch(e, 1);
}

void sp_analysis_prefetch(struct sp_analysis *a,
                          const struct sp_analysis_hint *const k[2])
{
    if (k[0] != NULL && k[0]->ok)
        pf_buckets(a, k[0]);
    if (k[1] != NULL && k[1]->ok)
        pf_chains(a, k[1]);
}

void sp_analysis_packet(struct sp_analysis *a, const struct sp_packet *p,
                        bool selected)
{
    struct sp_analysis_hint k;

    sp_analysis_keys(p, &k);
    sp_analysis_packet_keyed(a, p, selected, &k);
}

void sp_analysis_packet_keyed(struct sp_analysis *a, const struct sp_packet *p,
                              bool selected, const struct sp_analysis_hint *k)
{
    a->packets++;
    if (p->ts_ns > a->now_ns)
        a->now_ns = p->ts_ns;
    expire(a);
    switch ((enum pkt_role)k->role) {
    case ROLE_SYN:
        on_syn(a, p, selected, k);
        break;
    case ROLE_TCP_REPLY:
        on_tcp_reply(a, p, k);
        break;
    case ROLE_BARE_RST:
        a->unrelated++;
        break;
    case ROLE_ECHO_REQUEST:
        on_echo_request(a, p);
        break;
    case ROLE_ECHO_REPLY:
        on_echo_reply(a, p);
        break;
    case ROLE_ICMP_UNREACH:
        on_icmp_error(a, p, SP_ICMP_UNREACH, k);
        break;
    case ROLE_ICMP_TIME_EXCEEDED:
        on_icmp_error(a, p, SP_ICMP_TIME_EXCEEDED, k);
        break;
    case ROLE_NONE:
        break;
    }
}

void sp_analysis_tick(struct sp_analysis *a, int64_t now_ns)
{
    if (now_ns > a->now_ns)
        a->now_ns = now_ns;
    expire(a);
}

void sp_analysis_drops(struct sp_analysis *a, int64_t now_ns)
{
    a->have_drop = true;
    a->drop_ns = now_ns;
    for (size_t i = 0; i < a->nheap; i++)
        if (a->heap[i].e.x->ans == ANS_NONE)
            a->heap[i].e.x->drops = true;
    for (size_t i = 0; i < a->nfifo; i++) {
        struct att *x = a->fifo[(a->fhead + i) & (a->capfifo - 1)].x;
        if (x->ans == ANS_NONE)
            x->drops = true;
    }
}

void sp_analysis_no_route(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port, const char *name)
{
    struct tgt *t = tgt_get(a, dst, port, true);

    if (t == NULL)
        return;
    t->name = name;
    t->counts[SP_VERDICT_UNREACHABLE]++;
    t->best_rank = 4; /* nothing can outrank the local routing table */
    memset(&t->best, 0, sizeof(t->best));
    t->best.reason = SP_REASON_NO_ROUTE;
    t->best.hop = 0;
    t->best.reply_ttl = -1;
    t->best.rtt_ns = -1;
    t->best.icmp_type = t->best.icmp_code = -1;
    t->answered = true;
}

void sp_analysis_name(struct sp_analysis *a, const struct sp_addr *dst,
                      uint16_t port, const char *name)
{
    struct tgt *t = tgt_get(a, dst, port, true);

    if (t != NULL)
        t->name = name;
}

bool sp_analysis_answered(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port)
{
    struct tgt *t = tgt_get(a, dst, port, false);
    return t != NULL && t->answered;
}

int sp_analysis_host_distance(struct sp_analysis *a, const struct sp_addr *dst)
{
    struct host *h = host_get(a, dst, false);
    int d;

    if (h == NULL)
        return -1;
    d = host_distance(h);
    return d > 0 ? d : dists_mode(&h->rst);
}

enum sp_hop_answer sp_analysis_hop(struct sp_analysis *a,
                                   const struct sp_addr *dst, uint16_t port,
                                   int ttl, bool syn)
{
    struct tgt *t = tgt_get(a, dst, port, false);
    const struct path *p;

    if (t == NULL)
        return SP_HOP_NOT_SENT;
    p = syn ? &t->path : &t->host->path;
    if (ttl <= 0 || ttl >= p->n)
        return SP_HOP_NOT_SENT;
    return (enum sp_hop_answer)(syn ? p->h[ttl].syn : p->h[ttl].echo);
}

int sp_analysis_hop_icmp_errors(struct sp_analysis *a,
                                const struct sp_addr *dst, uint16_t port,
                                int ttl)
{
    struct tgt *t = tgt_get(a, dst, port, false);
    const struct sp_addr *who = NULL;
    struct host *h;

    if (t == NULL || ttl <= 0)
        return -1;
    if (ttl < t->path.n && t->path.h[ttl].addr.family != 0)
        who = &t->path.h[ttl].addr;
    else if (ttl < t->host->path.n && t->host->path.h[ttl].addr.family != 0)
        who = &t->host->path.h[ttl].addr;
    h = who != NULL ? host_get(a, who, false) : NULL;
    return h != NULL ? (int)h->icmp_errors : -1;
}

bool sp_analysis_icmp_answer(struct sp_analysis *a, const struct sp_addr *dst,
                             uint16_t port, int *hop, int *errors)
{
    struct tgt *t = tgt_get(a, dst, port, false);
    struct host *h;

    if (t == NULL || t->icmp_from.family == 0)
        return false;
    *hop = sp_ttl_distance(t->icmp_ttl);
    h = host_get(a, &t->icmp_from, false);
    *errors = h != NULL ? (int)h->icmp_errors : 0;
    return true;
}

void sp_analysis_hop_note(struct sp_analysis *a, const struct sp_addr *dst,
                          uint16_t port, int ttl, enum sp_hop_note note)
{
    struct tgt *t = tgt_get(a, dst, port, false);
    struct sp_hop *h = t != NULL ? path_at(&t->path, ttl) : NULL;

    if (h != NULL)
        h->note = (uint8_t)note;
}

bool sp_analysis_echo_alive(struct sp_analysis *a, const struct sp_addr *dst)
{
    struct host *h = host_get(a, dst, false);
    return h != NULL && h->echo_state == 1;
}

bool sp_analysis_host_unreachable(struct sp_analysis *a,
                                  const struct sp_addr *dst)
{
    struct host *h = host_get(a, dst, false);
    return h != NULL && h->route_fail;
}

/* The last TTL that drew time-exceeded in a path for a probe kind. A row
 * is marked so only with the router's address noted (path_note), so none
 * lies above `top`: the walk starts there (rows are allocated 32 or more
 * at a time, and most paths are a few hops long). */
static int last_te(const struct path *p, bool syn)
{
    for (int i = p->top; i >= 1; i--)
        if ((syn ? p->h[i].syn : p->h[i].echo) == SP_HOP_TIME_EXCEEDED)
            return i;
    return 0;
}

/* Merges the SYN path and the host's echo/UDP path into one hop list. */
static size_t merge_hops(struct sp_analysis *a, const struct tgt *t,
                         struct sp_hop *out, size_t cap)
{
    int n = t->path.n > t->host->path.n ? t->path.n : t->host->path.n;
    int last = 0, dest_echo = -1, dest_syn = -1;
    size_t m = 0;

    for (int i = 1; i < n; i++) {
        const struct sp_hop *s = i < t->path.n ? &t->path.h[i] : NULL;
        const struct sp_hop *e =
            i < t->host->path.n ? &t->host->path.h[i] : NULL;
        if ((s && (s->syn || s->addr.family)) ||
            (e && (e->echo || e->udp || e->addr.family)))
            last = i;
        /* the path ends where the destination answered both kinds */
        /* ... or where each kind got its last word: a reply, or an
         * unreachable (nothing further can answer a probe a router
         * refused) */
        if (e != NULL && dest_echo < 0 &&
            (e->echo == SP_HOP_ECHO_REPLY || e->echo == SP_HOP_UNREACH))
            dest_echo = i;
        if (s != NULL && dest_syn < 0 &&
            (s->syn == SP_HOP_SYN_ACK || s->syn == SP_HOP_RST ||
             s->syn == SP_HOP_UNREACH))
            dest_syn = i;
    }
    if (dest_echo > 0 || dest_syn > 0) {
        int end = dest_echo > dest_syn ? dest_echo : dest_syn;
        if (end < last)
            last = end;
    }
    for (int i = 1; i <= last && m < cap; i++) {
        const struct sp_hop *s = i < t->path.n ? &t->path.h[i] : NULL;
        const struct sp_hop *e =
            i < t->host->path.n ? &t->host->path.h[i] : NULL;
        struct sp_hop h;
        memset(&h, 0, sizeof(h));
        h.ttl = (uint8_t)i;
        h.rtt_ns = -1;
        if (s != NULL) {
            h.syn = s->syn;
            h.syn_reason = s->syn_reason;
            h.addr = s->addr;
            h.rtt_ns = s->rtt_ns;
            h.note = s->note;
        }
        if (e != NULL) {
            h.echo = e->echo;
            h.echo_reason = e->echo_reason;
            h.udp = e->udp;
            h.udp_reason = e->udp_reason;
            /* the row names the router at this hop: whoever said
             * time-exceeded here, else the host's echo reply, else the
             * SYN's answer (a rejecting router sits at an earlier hop) */
            if (h.addr.family == 0 || (s->syn != SP_HOP_TIME_EXCEEDED &&
                                       (e->echo == SP_HOP_TIME_EXCEEDED ||
                                        e->echo == SP_HOP_ECHO_REPLY ||
                                        e->udp == SP_HOP_TIME_EXCEEDED) &&
                                       e->addr.family != 0)) {
                h.addr = e->addr;
                h.rtt_ns = e->rtt_ns;
            }
        }
        out[m++] = h;
    }
    /* a SYN or echo that stayed silent at a router that answered our other
     * probes beyond its burst: rate limiting, not (necessarily) a drop */
    for (size_t i = 0; i < m; i++) {
        const struct host *r;
        if ((out[i].syn != SP_HOP_NONE && out[i].echo != SP_HOP_NONE) ||
            out[i].addr.family == 0 || out[i].note != SP_NOTE_NONE)
            continue;
        r = host_get(a, &out[i].addr, false);
        if (r != NULL && r->icmp_errors >= 6)
            out[i].note = SP_NOTE_RATE_LIMITED;
    }
    /* a hop nobody answered while a later hop did: a quiet router */
    for (size_t i = 0; i < m; i++) {
        if (out[i].addr.family != 0 || out[i].note != SP_NOTE_NONE)
            continue;
        for (size_t j = i + 1; j < m; j++)
            if (out[j].addr.family != 0 &&
                (out[j].syn == SP_HOP_TIME_EXCEEDED ||
                 out[j].echo == SP_HOP_TIME_EXCEEDED ||
                 out[j].udp == SP_HOP_TIME_EXCEEDED)) {
                out[i].note = SP_NOTE_QUIET;
                break;
            }
    }
    return m;
}

static bool host_traced(const struct host *h)
{
    for (int i = 1; i < h->path.n; i++)
        if (h->path.h[i].echo != SP_HOP_NOT_SENT ||
            h->path.h[i].udp != SP_HOP_NOT_SENT)
            return true;
    return false;
}

static void emit_target(struct sp_analysis *a, struct tgt *t)
{
    struct sp_target_rec rec;
    static const size_t cap = 256;

    memset(&rec, 0, sizeof(rec));
    best_get(t, &rec.r);
    if (t->best_rank == 0) {
        /* only trace probes: silence after the last answering hop */
        rec.r.target = t->host->addr;
        rec.r.port = t->port;
        rec.r.reason = t->trace_silent > 0 ? SP_REASON_NO_RESPONSE
                                           : SP_REASON_CAPTURE_ENDED;
        rec.r.verdict = sp_reason_verdict(rec.r.reason);
        rec.r.reply_ttl = -1;
        rec.r.rtt_ns = -1;
        rec.r.icmp_type = rec.r.icmp_code = -1;
        rec.r.hop = -1;
    }
    if (rec.r.reason == SP_REASON_MIDDLEBOX_RST ||
        rec.r.reason == SP_REASON_MIDDLEBOX_SYN_ACK)
        /* the claimed address is the host's: only the TTL places it */
        rec.r.hop = sp_ttl_distance((uint8_t)rec.r.reply_ttl);
    else if (rec.r.responder.family != 0 && rec.r.reason != SP_REASON_NO_ROUTE)
        rec.r.hop = locate(t, &rec.r.responder, rec.r.reply_ttl);
    memcpy(rec.verdicts, t->counts, sizeof(rec.verdicts));
    rec.have_trace = t->have_trace;
    rec.syn_last_hop = last_te(&t->path, true);
    rec.echo_last_hop = last_te(&t->host->path, false);
    rec.echo_state = t->host->echo_state;
    rec.echo_hop =
        t->host->echo_reply_ttl > 0
            ? t->host->echo_reply_ttl
            : (t->host->echo_state == 1 ? dists_mode(&t->host->strong) : -1);
    rec.middlebox_host_answer = t->host_answer_after_forged;
    if (rec.r.reason == SP_REASON_NO_RESPONSE && t->host->route_fail &&
        llabs(t->host->rf_ns - t->best_ns) <= EVIDENCE_NEAR_NS) {
        /* A router said the host cannot be reached for another of its
         * probes: this port's silence is that router's ICMP rate limit (a
         * neighbour failure answers one queued packet per token), not a
         * filter. */
        rec.r.reason =
            sp_reason_from_unreach(t->host->addr.family, t->host->rf_code);
        rec.r.verdict = sp_reason_verdict(rec.r.reason);
        rec.r.responder = t->host->rf_from;
        rec.r.reply_ttl = t->host->rf_ttl;
        rec.r.rtt_ns = t->host->rf_rtt;
        rec.r.icmp_type = t->host->rf_type;
        rec.r.icmp_code = t->host->rf_code;
        rec.r.hop = locate(t, &rec.r.responder, rec.r.reply_ttl);
    }
    if (rec.r.verdict == SP_VERDICT_FILTERED)
        rec.r.hop = t->have_trace ? rec.syn_last_hop : -1;
    /* hops where a trace exists: this port's, or the host's echo or UDP
     * trace (routers learnt from other ports' traces alone do not count) */
    if (t->have_trace || host_traced(t->host)) {
        /* one buffer for every target: merge_hops fills each row */
        if (a->hops == NULL)
            a->hops = malloc(cap * sizeof(*a->hops));
        if (a->hops != NULL) {
            rec.nhops = merge_hops(a, t, a->hops, cap);
            rec.hops = rec.nhops > 0 ? a->hops : NULL;
        }
    }
    a->emitted[rec.r.verdict]++;
    if (a->sink.target != NULL)
        a->sink.target(a->sink.state, &rec);
}

void sp_analysis_finish(struct sp_analysis *a, int64_t end_ns,
                        enum sp_reason pending_reason)
{
    if (end_ns > a->now_ns)
        a->now_ns = end_ns;
    expire(a);
    finalise_due(a, INT64_MAX, pending_reason);
    for (size_t i = 0; i < a->norder; i++)
        emit_target(a, a->order[i]);
}

void sp_analysis_counts(const struct sp_analysis *a, struct sp_summary *s)
{
    /* the verdicts of the target records as emitted */
    memcpy(s->verdicts, a->emitted, sizeof(s->verdicts));
    s->packets = a->packets;
    s->unrelated = a->unrelated;
    s->attempts = a->attempts;
}

/* Frees a table and what its nodes own; the nodes themselves are freed
 * too unless they live in the arena (hosts, targets). */
static void free_chain_all(struct htab *t, bool is_host, bool is_tgt)
{
    if (t->b == NULL)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        struct hnode *e = t->b[i];
        while (e != NULL) {
            struct hnode *next = e->next;
            if (is_host)
                free(((struct host *)e)->path.h);
            else if (is_tgt)
                free(((struct tgt *)e)->path.h);
            else
                free(e);
            e = next;
        }
    }
    free(t->b);
}

void sp_analysis_destroy(struct sp_analysis *a)
{
    if (a == NULL)
        return;
    free(a->atts.b); /* the attempts themselves are in the arena */
    free(a->heap);
    free(a->fifo);
    free(a->hops);
    free_chain_all(&a->echoes, false, false);
    free_chain_all(&a->tgts, false, true);
    free_chain_all(&a->hosts, true, false);
    arena_free(&a->arena);
    free(a->order);
    free(a);
}
