/*
 * rtnl.h - what a scan needs to send below IP: the route of each target
 * (interface and next hop, from the kernel's routing table over rtnetlink),
 * the next hop's link-layer address (from the neighbour table) and the
 * interface's own. Nothing here sends a packet; no privilege is needed.
 */
#ifndef SP_CRAFT_RTNL_H
#define SP_CRAFT_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/addr.h"

/* Where the kernel would send a packet to one destination. */
struct sp_nexthop {
    bool ok;            /* false: no route, or not a plain unicast one */
    int ifindex;        /* the interface */
    struct sp_addr via; /* the gateway, or the destination itself */
    struct sp_addr src; /* the source address the kernel would choose
                           (family 0 if the reply named none) */
};

struct sp_rtnl;

/* Opens an rtnetlink socket; NULL if the kernel refuses one. A handle
 * belongs to one thread at a time (it holds the buffer answers are read
 * into); threads that look up at once open one each. */
struct sp_rtnl *sp_rtnl_open(void);
void sp_rtnl_close(struct sp_rtnl *lk);

/*
 * Looks up the routes of dst[0..n) (n at most SP_RTNL_BATCH) in one round
 * trip, as `ip route get` does, restricted to interface oif if it is not 0;
 * like `ip route get`, the answer names the source address too.
 * Returns 0 (hops filled, ok false where there is none) or -1.
 */
enum { SP_RTNL_BATCH = 64 };
int sp_rtnl_routes(struct sp_rtnl *lk, const struct sp_addr *const *dst,
                   size_t n, int oif, struct sp_nexthop *hops);

/*
 * The link-layer address the neighbour table holds for addr on ifindex, if
 * it is usable (reachable, stale, delayed, probed or permanent). Returns 0
 * with mac filled, or -1.
 */
int sp_rtnl_neighbour(struct sp_rtnl *lk, int ifindex,
                      const struct sp_addr *addr, uint8_t mac[6]);

/* The interface's Ethernet address; -1 if it is not an Ethernet link. */
int sp_rtnl_ether_addr(int ifindex, uint8_t mac[6]);

#endif
