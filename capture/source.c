/*
 * source.c - the code both capture sources share (see source_int.h): the
 * link-type map, reading and decoding a frame, and the calls of source.h,
 * which dispatch to source_file.c or source_live.c where the two differ.
 * Frames are decoded here, on the capture thread, so the engine only ever
 * sees struct sp_packet.
 */
#include "capture/source.h"

#include <stdlib.h>

#include "capture/source_int.h"
#include "engine/err.h"
#include "engine/event.h"

/* Maps a DLT value, as pcap_datalink() reports it, to our framing. */
static bool link_from_dlt(int dlt, enum sp_link *out)
{
    switch (dlt) {
    case DLT_EN10MB:
        *out = SP_LINK_ETHER;
        return true;
    case DLT_LINUX_SLL:
        *out = SP_LINK_SLL;
        return true;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        *out = SP_LINK_SLL2;
        return true;
#endif
    case DLT_RAW:
#if defined(DLT_RAW) && DLT_RAW != 12
    case 12:
#endif
#if DLT_RAW != 14
    case 14: /* raw IP on some BSDs */
#endif
    case 101: /* LINKTYPE_RAW, if ever passed through unmapped */
        *out = SP_LINK_RAW;
        return true;
    case DLT_IPV4:
        *out = SP_LINK_IPV4;
        return true;
    case DLT_IPV6:
        *out = SP_LINK_IPV6;
        return true;
    case DLT_NULL:
        *out = SP_LINK_NULL;
        return true;
    case DLT_LOOP:
        *out = SP_LINK_LOOP;
        return true;
    default:
        return false;
    }
}

int sp_source_link(pcap_t *p, enum sp_link *out, struct sp_err *err)
{
    int dlt = pcap_datalink(p);
    const char *name;

    if (link_from_dlt(dlt, out))
        return 0;
    name = pcap_datalink_val_to_name(dlt);
    return sp_err_set(err, SP_ENOTSUP, "unsupported link type %d (%s)", dlt,
                      name != NULL ? name : "unknown");
}

/*
 * A record's time in ns since the epoch. pcapng stores 64-bit tick counts,
 * so libpcap may hand back any tv_sec, and classic pcap any tv_usec: both
 * are clamped to what a classic header can mean (0 .. 2^32-1 s, fraction
 * < 1 s), which keeps the product in range and leaves the analysis room to
 * add its waits to it.
 */
static int64_t ts_ns_of(const struct timeval *tv)
{
    int64_t sec = tv->tv_sec < 0            ? 0
                  : tv->tv_sec > UINT32_MAX ? (int64_t)UINT32_MAX
                                            : (int64_t)tv->tv_sec;
    int64_t frac = tv->tv_usec < 0           ? 0
                   : tv->tv_usec > 999999999 ? 999999999
                                             : (int64_t)tv->tv_usec;

    return sec * 1000000000LL + frac;
}

int sp_source_next(struct sp_source *s, struct sp_event *ev, struct sp_err *err)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    for (;;) {
        if (atomic_load(&s->stop))
            return 0;
        rc = s->ops->next != NULL ? s->ops->next(s, &h, &data)
                                  : pcap_next_ex(s->p, &h, &data);
        if (rc == 1)
            break;
        if (rc == PCAP_ERROR_BREAK)
            return 0;
        if (rc == 0) /* live: the read timeout passed */
            return s->ops->timeout_result;
        return sp_err_set(err, SP_EFORMAT, "record %llu: %s",
                          (unsigned long long)s->records + 1,
                          s->ops->next != NULL ? s->rd_err : pcap_geterr(s->p));
    }
    s->records++;
    s->st.packets++;
    ev->type = SP_EV_PACKET;
    ev->status = 0;
    ev->tick_ns = 0;
    ev->keyed = false;
    ev->result = sp_decode(s->link, data, h->caplen, &ev->pkt);
    ev->pkt.ts_ns = ts_ns_of(&h->ts);
    ev->pkt.wirelen = h->len;
    ev->selected = true;
    s->ops->on_frame(s, h, data, ev);
    switch (ev->result) {
    case SP_DECODE_TRUNCATED:
        s->st.truncated++;
        break;
    case SP_DECODE_INVALID:
        s->st.invalid++;
        break;
    case SP_DECODE_OTHER:
        s->st.other++;
        break;
    default:
        break;
    }
    return 1;
}

void sp_source_stop(struct sp_source *s)
{
    atomic_store(&s->stop, true);
    pcap_breakloop(s->p);
}

void sp_source_stats(struct sp_source *s, struct sp_capture_stats *st)
{
    s->ops->stats(s);
    *st = s->st;
}

void sp_source_flush(struct sp_source *s)
{
    s->ops->flush(s);
}

void sp_source_mark_end(struct sp_source *s, int64_t ts_ns)
{
    s->ops->mark_end(s, ts_ns);
}

void sp_source_close(struct sp_source *s)
{
    if (s == NULL)
        return;
    s->ops->close(s);
    pcap_close(s->p);
    free(s);
}

const char *sp_source_link_name(const struct sp_source *s)
{
    return sp_link_name(s->link);
}
