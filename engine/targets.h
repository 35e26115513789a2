/*
 * targets.h - turning the user's words into addresses to probe.
 *
 * Numeric addresses, CIDR prefixes (network and broadcast skipped), and
 * host names (the first address of the chosen family). Names are resolved
 * here, before any packet is sent and before privileges are dropped.
 */
#ifndef SP_ENGINE_TARGETS_H
#define SP_ENGINE_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"

struct sp_err;

struct sp_target {
    struct sp_addr addr;
    const char *name; /* the host name as given, or NULL (owned by list) */
};

struct sp_target_list {
    struct sp_target *v;
    size_t n, cap;
    char **names; /* owned copies of host names */
    size_t nnames;
};

enum { SP_MAX_TARGETS = 1 << 20 };

/*
 * Adds the targets one word names. family: 0, 4 or 6. force: accept
 * network, broadcast, multicast and unspecified addresses. Returns 0;
 * SP_ENOENT for an unknown host; SP_EINVAL for a refused or malformed word
 * (err says why); SP_ENOMEM.
 */
int sp_targets_add(struct sp_target_list *l, const char *word, int family,
                   bool force, struct sp_err *err);

/* Adds every word of a file (one per line, '#' comments). */
int sp_targets_add_file(struct sp_target_list *l, const char *path, int family,
                        bool force, struct sp_err *err);

/* Removes targets inside the prefixes listed in the file. */
int sp_targets_exclude_file(struct sp_target_list *l, const char *path,
                            struct sp_err *err);

/* True if a lies in prefix p/len. */
bool sp_addr_in_prefix(const struct sp_addr *a, const struct sp_addr *p,
                       int len);

/*
 * The shard (0..shards-1) a pair belongs to: a fixed hash of address and
 * port, the same on every machine, so N runs with --shard 0..N-1 cover the
 * space exactly once.
 */
unsigned sp_target_shard(const struct sp_addr *a, uint16_t port,
                         unsigned shards);

void sp_targets_free(struct sp_target_list *l);

#endif
