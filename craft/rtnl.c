/*
 * rtnl.c - routes, neighbours and interface addresses over rtnetlink and
 * ioctl (see rtnl.h).
 *
 * Decisions a reader needs:
 * - Route lookups go out SP_RTNL_BATCH at a time: one sendmsg carries every
 *   RTM_GETROUTE request, and the replies are matched by sequence number,
 *   so a /16 of targets costs a few hundred system calls, not 65,536 pairs.
 * - Only plain unicast routes count (RTN_UNICAST without a multipath or
 *   encapsulation attribute); anything else is left to the IP stack.
 * - The neighbour table is read, never written: an unknown next hop means
 *   the caller keeps sending through the IP stack, which resolves it.
 */
#include "craft/rtnl.h"

#include <errno.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { REQ_SIZE = 128, RECV_SIZE = 65536, RECV_TIMEOUT_S = 5 };

/* One per thread: the answers are read into its own buffer. */
struct sp_rtnl {
    int fd;
    uint32_t seq;
    char buf[RECV_SIZE];
};

struct sp_rtnl *sp_rtnl_open(void)
{
    struct sp_rtnl *lk = calloc(1, sizeof(*lk));
    struct sockaddr_nl sa;
    struct timeval tv = {RECV_TIMEOUT_S, 0};

    if (lk == NULL)
        return NULL;
    lk->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    /* an answer that never comes fails the lookup instead of the run */
    if (lk->fd < 0 || bind(lk->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(lk->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        sp_rtnl_close(lk);
        return NULL;
    }
    return lk;
}

void sp_rtnl_close(struct sp_rtnl *lk)
{
    if (lk == NULL)
        return;
    if (lk->fd >= 0)
        close(lk->fd);
    free(lk);
}

/* Appends one attribute to the message at m (room is the caller's). */
static void put_attr(struct nlmsghdr *m, unsigned short type, const void *v,
                     size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(m->nlmsg_len));

    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), v, len);
    m->nlmsg_len = NLMSG_ALIGN(m->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int family_of(const struct sp_addr *a)
{
    return a->family == 4 ? AF_INET : AF_INET6;
}

/* Reads one route reply into h. */
/* One datagram of the kernel's answers into lk->buf (a signal does not cut
 * it short); its length, or <= 0. */
static ssize_t recv_answers(struct sp_rtnl *lk)
{
    ssize_t len;

    do
        len = recv(lk->fd, lk->buf, sizeof(lk->buf), 0);
    while (len < 0 && errno == EINTR);
    return len;
}

static void parse_route(struct nlmsghdr *m, const struct sp_addr *dst,
                        struct sp_nexthop *h)
{
    struct rtmsg *r = NLMSG_DATA(m);
    int len = (int)RTM_PAYLOAD(m);
    bool have_oif = false;

    memset(h, 0, sizeof(*h));
    if (r->rtm_type != RTN_UNICAST)
        return;
    h->via = *dst;
    for (struct rtattr *a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case RTA_OIF:
            if (RTA_PAYLOAD(a) >= sizeof(int)) {
                memcpy(&h->ifindex, RTA_DATA(a), sizeof(int));
                have_oif = true;
            }
            break;
        case RTA_GATEWAY:
            if (RTA_PAYLOAD(a) == 4 && dst->family == 4)
                sp_addr_set4(&h->via, RTA_DATA(a));
            else if (RTA_PAYLOAD(a) == 16 && dst->family == 6)
                sp_addr_set6(&h->via, RTA_DATA(a));
            else
                return;
            break;
        case RTA_PREFSRC:
            if (RTA_PAYLOAD(a) == 4 && dst->family == 4)
                sp_addr_set4(&h->src, RTA_DATA(a));
            else if (RTA_PAYLOAD(a) == 16 && dst->family == 6)
                sp_addr_set6(&h->src, RTA_DATA(a));
            break;
        case RTA_MULTIPATH:
        case RTA_VIA:
        case RTA_ENCAP:
            return; /* not one plain next hop */
        default:
            break;
        }
    }
    h->ok = have_oif;
}

int sp_rtnl_routes(struct sp_rtnl *lk, const struct sp_addr *const *dst,
                   size_t n, int oif, struct sp_nexthop *hops)
{
    char *buf = lk->buf;
    char req[SP_RTNL_BATCH][REQ_SIZE];
    struct iovec iov[SP_RTNL_BATCH];
    struct msghdr mh;
    struct sockaddr_nl kernel;
    uint32_t first = lk->seq + 1;
    size_t got = 0;

    if (n > SP_RTNL_BATCH)
        return -1;
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    for (size_t i = 0; i < n; i++) {
        struct nlmsghdr *m = (struct nlmsghdr *)req[i];
        struct rtmsg *r;
        memset(req[i], 0, REQ_SIZE);
        m->nlmsg_len = NLMSG_LENGTH(sizeof(*r));
        m->nlmsg_type = RTM_GETROUTE;
        m->nlmsg_flags = NLM_F_REQUEST;
        m->nlmsg_seq = ++lk->seq;
        r = NLMSG_DATA(m);
        r->rtm_family = (unsigned char)family_of(dst[i]);
        r->rtm_dst_len = dst[i]->family == 4 ? 32 : 128;
        put_attr(m, RTA_DST, dst[i]->b, dst[i]->family == 4 ? 4 : 16);
        if (oif > 0)
            put_attr(m, RTA_OIF, &oif, sizeof(oif));
        iov[i].iov_base = m;
        iov[i].iov_len = m->nlmsg_len;
        memset(&hops[i], 0, sizeof(hops[i]));
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &kernel;
    mh.msg_namelen = sizeof(kernel);
    mh.msg_iov = iov;
    mh.msg_iovlen = n;
    if (sendmsg(lk->fd, &mh, 0) < 0)
        return -1;
    while (got < n) {
        ssize_t len = recv_answers(lk);
        if (len <= 0)
            return -1;
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf;
             NLMSG_OK(m, (size_t)len); m = NLMSG_NEXT(m, len)) {
            uint32_t k = m->nlmsg_seq - first;
            if (k >= n)
                continue; /* not one of this batch's answers */
            if (m->nlmsg_type == RTM_NEWROUTE)
                parse_route(m, dst[k], &hops[k]);
            got++;
        }
    }
    return 0;
}

int sp_rtnl_neighbour(struct sp_rtnl *lk, int ifindex,
                      const struct sp_addr *addr, uint8_t mac[6])
{
    char *buf = lk->buf;
    struct {
        struct nlmsghdr m;
        struct ndmsg nd;
    } req;
    size_t alen = addr->family == 4 ? 4 : 16;
    int found = -1;
    bool done = false;

    /* a dump of the family's table, filtered here: "ip neigh get" needs a
     * newer kernel than a dump does */
    memset(&req, 0, sizeof(req));
    req.m.nlmsg_len = NLMSG_LENGTH(sizeof(req.nd));
    req.m.nlmsg_type = RTM_GETNEIGH;
    req.m.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.m.nlmsg_seq = ++lk->seq;
    req.nd.ndm_family = (unsigned char)family_of(addr);
    if (send(lk->fd, &req, req.m.nlmsg_len, 0) < 0)
        return -1;
    while (!done) {
        ssize_t len = recv_answers(lk);
        if (len <= 0)
            return -1;
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf;
             NLMSG_OK(m, (size_t)len); m = NLMSG_NEXT(m, len)) {
            struct ndmsg *nd = NLMSG_DATA(m);
            int alen_left = (int)(m->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
            const void *dst = NULL, *ll = NULL;
            size_t lllen = 0;
            if (m->nlmsg_seq != lk->seq)
                continue;
            if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
                done = true;
                break;
            }
            if (m->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != ifindex ||
                !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY |
                                   NUD_PROBE | NUD_PERMANENT)))
                continue;
            for (struct rtattr *a =
                     (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
                 RTA_OK(a, alen_left); a = RTA_NEXT(a, alen_left)) {
                if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen)
                    dst = RTA_DATA(a);
                else if (a->rta_type == NDA_LLADDR) {
                    ll = RTA_DATA(a);
                    lllen = RTA_PAYLOAD(a);
                }
            }
            if (dst != NULL && ll != NULL && lllen == 6 &&
                memcmp(dst, addr->b, alen) == 0) {
                memcpy(mac, ll, 6);
                found = 0;
            }
        }
    }
    return found;
}

int sp_rtnl_ether_addr(int ifindex, uint8_t mac[6])
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = -1;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    if (if_indextoname((unsigned)ifindex, ifr.ifr_name) != NULL &&
        ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 &&
        ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
        rc = 0;
    }
    close(fd);
    return rc;
}
