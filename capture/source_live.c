/*
 * source_live.c - the live source: an interface (or "any") in immediate
 * mode with nanosecond timestamps, a large buffer and a kernel filter; the
 * -w dump of every frame it delivers; kernel drop counters; and the marker
 * frame that tells a later -r run when the live wait ended.
 */
#include "capture/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/source_int.h"
#include "engine/err.h"
#include "engine/event.h"

struct live_source {
    struct sp_source base; /* first: the common part */
    pcap_dumper_t *dump;   /* -w FILE, or NULL */
    int64_t last_flush_ns;
};

static void live_on_frame(struct sp_source *s, const struct pcap_pkthdr *h,
                          const u_char *data, struct sp_event *ev)
{
    struct live_source *ls = (struct live_source *)s;

    (void)ev;
    if (ls->dump == NULL)
        return;
    pcap_dump((u_char *)ls->dump, h, data);
    /* a second's worth at most is lost if the process dies hard */
    if (ev->pkt.ts_ns - ls->last_flush_ns > 1000000000LL) {
        pcap_dump_flush(ls->dump);
        ls->last_flush_ns = ev->pkt.ts_ns;
    }
}

static void live_stats(struct sp_source *s)
{
    struct pcap_stat ps;

    if (pcap_stats(s->p, &ps) == 0) {
        s->st.recv = ps.ps_recv;
        s->st.drops = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
    }
}

static void live_flush(struct sp_source *s)
{
    struct live_source *ls = (struct live_source *)s;

    if (ls->dump != NULL)
        pcap_dump_flush(ls->dump);
}

static void live_close(struct sp_source *s)
{
    struct live_source *ls = (struct live_source *)s;

    if (ls->dump != NULL)
        pcap_dump_close(ls->dump); /* flushed and complete */
}

int sp_source_open_live(struct sp_source **out, const struct sp_live_opts *o,
                        struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    const char *dev = o->iface != NULL ? o->iface : "any";
    struct live_source *ls;
    struct sp_source *s;
    int rc;

    *out = NULL;
    ls = calloc(1, sizeof(*ls));
    if (ls == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    s = &ls->base;
    s->ops = &sp_source_live_ops;
    s->p = pcap_create(dev, eb);
    if (s->p == NULL) {
        free(ls);
        return sp_err_set(err, SP_EIO, "capture on %s: %s", dev, eb);
    }
    pcap_set_snaplen(s->p, o->snaplen > 0 ? o->snaplen : 256);
    pcap_set_promisc(s->p, 0);
    pcap_set_immediate_mode(s->p, o->blocks ? 0 : 1);
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
    /* PACKET_IGNORE_OUTGOING underneath: cheaper than a filter's
     * "inbound", which each sent frame still had to be copied to; the
     * only place sent frames are left out, so it must work */
    if (o->inbound && pcap_setdirection(s->p, PCAP_D_IN) != 0) {
        sp_err_set(err, SP_EIO, "capture direction: %s", pcap_geterr(s->p));
        goto fail;
    }
    if (sp_source_link(s->p, &s->link, err) != 0)
        goto fail;
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
        ls->dump = pcap_dump_fopen(s->p, f);
        if (ls->dump == NULL) {
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
    free(ls);
    return rc;
}

static void live_mark_end(struct sp_source *s, int64_t ts_ns)
{
    struct live_source *ls = (struct live_source *)s;
    /* IEEE 802 "local experimental" ethertype: never a real protocol */
    static const uint8_t tag[] = "synprobe: end of wait";
    uint8_t f[64];
    size_t n = 0;
    struct pcap_pkthdr h;

    if (ls->dump == NULL)
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
    pcap_dump((u_char *)ls->dump, &h, f);
}

const struct sp_source_ops sp_source_live_ops = {
    .kind = "live",
    .on_frame = live_on_frame,
    .timeout_result = 2,
    .stats = live_stats,
    .mark_end = live_mark_end,
    .flush = live_flush,
    .close = live_close,
};
