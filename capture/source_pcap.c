/*
 * source_pcap.c - capture sources on libpcap: files and live interfaces.
 *
 * One implementation serves both, since libpcap already hides the
 * difference; what differs is set up at open time (immediate mode, buffer,
 * kernel filter and dump file for live; the selection filter, evaluated in
 * userland on every frame, for files). Frames are decoded here, on the
 * capture thread, so the engine only ever sees struct sp_packet.
 */
#include "capture/source.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/decode.h"
#include "engine/err.h"
#include "engine/event.h"

struct sp_source {
    pcap_t *p;
    pcap_dumper_t *dump;
    enum sp_link link;
    bool live;
    bool have_filter;
    struct bpf_program filter;
    atomic_bool stop;
    struct sp_capture_stats st;
    uint64_t records; /* for "record N" in error messages */
};

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

static int unsupported_link(pcap_t *p, struct sp_err *err)
{
    int dlt = pcap_datalink(p);
    const char *name = pcap_datalink_val_to_name(dlt);

    return sp_err_set(err, SP_ENOTSUP, "unsupported link type %d (%s)", dlt,
                      name != NULL ? name : "unknown");
}

int sp_source_open_file(struct sp_source **out, const char *path,
                        const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct sp_source *s;
    struct stat sb;

    *out = NULL;
    if (strcmp(path, "-") != 0) {
        if (stat(path, &sb) != 0)
            return sp_err_set(err, errno == ENOENT ? SP_ENOENT : SP_EIO,
                              "%s: %s", path, strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return sp_err_set(err, SP_EIO, "%s: is a directory", path);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    s->p = pcap_open_offline_with_tstamp_precision(
        path, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (s->p == NULL) {
        free(s);
        return sp_err_set(err, SP_EFORMAT, "%s: %s", path, eb);
    }
    if (!link_from_dlt(pcap_datalink(s->p), &s->link)) {
        int rc = unsupported_link(s->p, err);
        char msg[sizeof(err->msg)];
        if (err != NULL) {
            memcpy(msg, err->msg, sizeof(msg));
            sp_err_set(err, rc, "%s: %s", path, msg);
        }
        pcap_close(s->p);
        free(s);
        return rc;
    }
    if (filter != NULL && filter[0] != '\0') {
        if (pcap_compile(s->p, &s->filter, filter, 1, PCAP_NETMASK_UNKNOWN) !=
            0) {
            sp_err_set(err, SP_EINVAL, "bad filter expression: %s",
                       pcap_geterr(s->p));
            pcap_close(s->p);
            free(s);
            return SP_EINVAL;
        }
        s->have_filter = true;
    }
    *out = s;
    return 0;
}

int sp_source_open_fp(struct sp_source **out, FILE *f, const char *name,
                      const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct sp_source *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fclose(f);
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    }
    /* a failed pcap_fopen leaves f open; from here on pcap_close closes it */
    s->p = pcap_fopen_offline_with_tstamp_precision(
        f, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (s->p == NULL) {
        fclose(f);
        free(s);
        return sp_err_set(err, SP_EFORMAT, "%s: %s", name, eb);
    }
    rc = 0;
    if (!link_from_dlt(pcap_datalink(s->p), &s->link)) {
        int dlt = pcap_datalink(s->p);
        const char *dn = pcap_datalink_val_to_name(dlt);
        rc = sp_err_set(err, SP_ENOTSUP, "%s: unsupported link type %d (%s)",
                        name, dlt, dn != NULL ? dn : "unknown");
    } else if (filter != NULL && filter[0] != '\0') {
        if (pcap_compile(s->p, &s->filter, filter, 1, PCAP_NETMASK_UNKNOWN) ==
            0)
            s->have_filter = true;
        else
            rc = sp_err_set(err, SP_EINVAL, "bad filter expression: %s",
                            pcap_geterr(s->p));
    }
    if (rc != 0) {
        pcap_close(s->p);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int sp_source_open_live(struct sp_source **out, const struct sp_live_opts *o,
                        struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    const char *dev = o->iface != NULL ? o->iface : "any";
    struct sp_source *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    s->live = true;
    s->p = pcap_create(dev, eb);
    if (s->p == NULL) {
        free(s);
        return sp_err_set(err, SP_EIO, "capture on %s: %s", dev, eb);
    }
    pcap_set_snaplen(s->p, o->snaplen > 0 ? o->snaplen : 256);
    pcap_set_promisc(s->p, 0);
    pcap_set_immediate_mode(s->p, 1);
    pcap_set_buffer_size(s->p,
                         o->buffer_kib > 0 ? o->buffer_kib << 10 : 32 << 20);
    pcap_set_timeout(s->p, 100);
    pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO);
    rc = pcap_activate(s->p);
    if (rc < 0) {
        int code = rc == PCAP_ERROR_PERM_DENIED      ? SP_EPERM
                   : rc == PCAP_ERROR_NO_SUCH_DEVICE ? SP_ENOENT
                                                     : SP_EIO;
        if (code == SP_EPERM)
            sp_err_set(err, code, "needs root or CAP_NET_RAW to capture");
        else
            sp_err_set(err, code, "capture on %s: %s", dev, pcap_geterr(s->p));
        goto fail;
    }
    if (strcmp(dev, "any") == 0) {
#ifdef DLT_LINUX_SLL2
        /* SLL2 carries the interface index; harmless if refused. */
        (void)pcap_set_datalink(s->p, DLT_LINUX_SLL2);
#endif
    }
    if (!link_from_dlt(pcap_datalink(s->p), &s->link)) {
        unsupported_link(s->p, err);
        goto fail;
    }
    if (o->bpf != NULL && o->bpf[0] != '\0') {
        struct bpf_program prog;
        if (pcap_compile(s->p, &prog, o->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(s->p, &prog) != 0) {
            sp_err_set(err, SP_EINVAL, "capture filter: %s", pcap_geterr(s->p));
            goto fail;
        }
        pcap_freecode(&prog);
    }
    if (o->dump_path != NULL) {
        /* opened as root, before the drop: never follow a symlink planted
         * where the file should be, and keep the user's umask */
        int fd =
            open(o->dump_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0666);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (f == NULL) {
            sp_err_set(err, SP_EIO, "%s: %s", o->dump_path, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        s->dump = pcap_dump_fopen(s->p, f);
        if (s->dump == NULL) {
            fclose(f);
            sp_err_set(err, SP_EIO, "%s: %s", o->dump_path, pcap_geterr(s->p));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    rc = err != NULL ? err->code : SP_EIO;
    pcap_close(s->p);
    free(s);
    return rc;
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
        rc = pcap_next_ex(s->p, &h, &data);
        if (rc == 1)
            break;
        if (rc == PCAP_ERROR_BREAK)
            return 0;
        if (rc == 0) /* live: the read timeout passed */
            return 2;
        return sp_err_set(err, SP_EFORMAT, "record %llu: %s",
                          (unsigned long long)s->records + 1,
                          pcap_geterr(s->p));
    }
    s->records++;
    s->st.packets++;
    if (s->dump != NULL)
        pcap_dump((u_char *)s->dump, h, data);
    ev->type = SP_EV_PACKET;
    ev->status = 0;
    ev->result = sp_decode(s->link, data, h->caplen, &ev->pkt);
    ev->pkt.ts_ns = ts_ns_of(&h->ts);
    ev->pkt.wirelen = h->len;
    ev->selected =
        !s->have_filter || pcap_offline_filter(&s->filter, h, data) != 0;
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
    struct pcap_stat ps;

    if (s->live && pcap_stats(s->p, &ps) == 0) {
        s->st.recv = ps.ps_recv;
        s->st.drops = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
    }
    *st = s->st;
}

void sp_source_flush(struct sp_source *s)
{
    if (s->dump != NULL)
        pcap_dump_flush(s->dump);
}

void sp_source_close(struct sp_source *s)
{
    if (s == NULL)
        return;
    if (s->dump != NULL)
        pcap_dump_close(s->dump);
    if (s->have_filter)
        pcap_freecode(&s->filter);
    pcap_close(s->p);
    free(s);
}

const char *sp_source_link_name(const struct sp_source *s)
{
    return sp_link_name(s->link);
}

void sp_source_mark_end(struct sp_source *s, int64_t ts_ns)
{
    /* IEEE 802 "local experimental" ethertype: never a real protocol */
    static const uint8_t tag[] = "synprobe: end of wait";
    uint8_t f[64];
    size_t n = 0;
    struct pcap_pkthdr h;

    if (s->dump == NULL)
        return;
    memset(f, 0, sizeof(f));
    switch (s->link) {
    case SP_LINK_ETHER: /* dst, src zero; type */
        f[12] = 0x88;
        f[13] = 0xb5;
        n = 14;
        break;
    case SP_LINK_SLL: /* packet type 4 = sent by us; protocol at 14 */
        f[1] = 4;
        f[14] = 0x88;
        f[15] = 0xb5;
        n = 16;
        break;
    case SP_LINK_SLL2: /* protocol at 0; packet type at 10 */
        f[0] = 0x88;
        f[1] = 0xb5;
        f[10] = 4;
        n = 20;
        break;
    default:
        return; /* raw IP links cannot carry a non-IP frame */
    }
    memcpy(f + n, tag, sizeof(tag) - 1);
    n += sizeof(tag) - 1;
    memset(&h, 0, sizeof(h));
    h.ts.tv_sec = (time_t)(ts_ns / 1000000000LL);
    h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000LL); /* ns precision */
    h.caplen = h.len = (bpf_u_int32)n;
    pcap_dump((u_char *)s->dump, &h, f);
}
