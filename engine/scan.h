/*
 * scan.h - many targets, fast: the stateless scan engine.
 *
 * Used by live probing when the (address, port) space is large and no
 * --trace is asked for. A sender thread walks the space in a keyed
 * pseudo-random order (so no host or router sees a burst), builds each SYN
 * with libnet and sends batches with sendmmsg at the --rate, held by a token
 * bucket per batch. The engine thread validates every reply by its keyed
 * cookie alone (ports and sequence numbers are a PRF of the destination,
 * port and try), keeps one state byte and one send time per pair, streams a
 * JSON line as soon as a pair is decided, and one for each pair still silent
 * once its last try has waited --wait (plus a short margin; the run ends
 * --wait after the last probe, and reports what is left then). Retries go
 * only to pairs still silent.
 */
#ifndef SP_ENGINE_SCAN_H
#define SP_ENGINE_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/records.h"

struct sp_config;
struct sp_target_list;
struct sp_craft;
struct sp_source;
struct sp_capture;
struct sp_queue;
struct sp_cookie_key;
struct sp_err;

/* What a scan needs, all opened and owned by the caller (engine/live.c). */
struct sp_scan_io {
    const struct sp_config *cfg;
    const struct sp_target_list *tl;
    const struct sp_addr *src; /* per target: source address */
    const bool *noroute;       /* per target: no local route */
    const bool *link_ok;       /* NULL, or per target: send it below IP
                                  (sp_craft_queue_link) */
    const struct sp_cookie_key *key;
    struct sp_craft *craft; /* handed to the sender thread */
    struct sp_capture *cap; /* running, feeding q */
    struct sp_queue *q;
    struct sp_sink *sink;
    void (*flush)(void); /* NULL, or pushes the sink's records out: called
                            every 100 ms while the scan runs */
};

/* True if a live run of this size is a scan rather than a triage. */
bool sp_scan_wanted(const struct sp_config *cfg, size_t pairs);

/*
 * Runs the scan; fills sum (verdicts, packets seen, unrelated). Returns 0,
 * or a negative SP_E* code if the sender failed (err says why).
 */
int sp_scan_run(const struct sp_scan_io *io, struct sp_summary *sum,
                struct sp_err *err);

/* The keyed permutation of [0, n) used for the probing order (exposed for
 * tests): a Feistel network over the next power of two, cycle-walked. */
struct sp_perm {
    uint64_t n, half_mask;
    unsigned half_bits;
    uint64_t k0, k1;
};
void sp_perm_init(struct sp_perm *p, uint64_t n, uint64_t k0, uint64_t k1);
uint64_t sp_perm_at(const struct sp_perm *p, uint64_t i);

#endif
