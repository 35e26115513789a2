/*
 * source_file.c - the capture-file source: pcap and pcapng through libpcap,
 * nanosecond timestamps, and the selection filter of `synprobe -r FILE
 * EXPR`, evaluated in userland on every frame (frames are marked, never
 * skipped: the answers to a selected SYN count even when EXPR does not
 * match them).
 */
#include "capture/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/source_int.h"
#include "engine/err.h"
#include "engine/event.h"

/* libpcap reads a file record by record through stdio: with the default
 * buffer that was one read(2) per 4 KiB. Freed with the source, after
 * pcap_close has closed the stream. */
enum { FILE_IOBUF = 1 << 20 };

struct file_source {
    struct sp_source base; /* first: the common part */
    bool have_filter;
    struct bpf_program filter;
    char iobuf[FILE_IOBUF];
};

static void file_on_frame(struct sp_source *s, const struct pcap_pkthdr *h,
                          const u_char *data, struct sp_event *ev)
{
    struct file_source *fs = (struct file_source *)s;

    ev->selected =
        !fs->have_filter || pcap_offline_filter(&fs->filter, h, data) != 0;
}

static void file_nothing(struct sp_source *s)
{
    (void)s; /* a file has no kernel counters and no dump */
}

static void file_mark_end(struct sp_source *s, int64_t ts_ns)
{
    (void)s;
    (void)ts_ns;
}

static void file_close(struct sp_source *s)
{
    struct file_source *fs = (struct file_source *)s;

    if (fs->have_filter)
        pcap_freecode(&fs->filter);
}

int sp_source_open_file(struct sp_source **out, const char *path,
                        const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct file_source *fs;
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
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    s = &fs->base;
    s->ops = &sp_source_file_ops;
    if (strcmp(path, "-") == 0) {
        s->p = pcap_open_offline_with_tstamp_precision(
            path, PCAP_TSTAMP_PRECISION_NANO, eb);
    } else {
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            int e = errno;
            free(fs);
            return sp_err_set(err, e == ENOENT ? SP_ENOENT : SP_EIO, "%s: %s",
                              path, strerror(e));
        }
        setvbuf(f, fs->iobuf, _IOFBF, sizeof(fs->iobuf));
        /* a failed pcap_fopen leaves f open; else pcap_close closes it */
        s->p = pcap_fopen_offline_with_tstamp_precision(
            f, PCAP_TSTAMP_PRECISION_NANO, eb);
        if (s->p == NULL)
            fclose(f);
    }
    if (s->p == NULL) {
        free(fs);
        return sp_err_set(err, SP_EFORMAT, "%s: %s", path, eb);
    }
    if (sp_source_link(s->p, &s->link, err) != 0) {
        int rc = SP_ENOTSUP;
        char msg[sizeof(err->msg)];
        if (err != NULL) {
            memcpy(msg, err->msg, sizeof(msg));
            sp_err_set(err, rc, "%s: %s", path, msg);
        }
        pcap_close(s->p);
        free(fs);
        return rc;
    }
    if (filter != NULL && filter[0] != '\0') {
        if (pcap_compile(s->p, &fs->filter, filter, 1, PCAP_NETMASK_UNKNOWN) !=
            0) {
            sp_err_set(err, SP_EINVAL, "bad filter expression: %s",
                       pcap_geterr(s->p));
            pcap_close(s->p);
            free(fs);
            return SP_EINVAL;
        }
        fs->have_filter = true;
    }
    *out = s;
    return 0;
}

int sp_source_open_fp(struct sp_source **out, FILE *f, const char *name,
                      const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct file_source *fs;
    struct sp_source *s;
    int rc;

    *out = NULL;
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL) {
        fclose(f);
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    }
    s = &fs->base;
    s->ops = &sp_source_file_ops;
    /* a failed pcap_fopen leaves f open; from here on pcap_close closes it */
    s->p = pcap_fopen_offline_with_tstamp_precision(
        f, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (s->p == NULL) {
        fclose(f);
        free(fs);
        return sp_err_set(err, SP_EFORMAT, "%s: %s", name, eb);
    }
    rc = 0;
    if (sp_source_link(s->p, &s->link, err) != 0) {
        char msg[sizeof(err->msg)];
        rc = SP_ENOTSUP;
        if (err != NULL) {
            memcpy(msg, err->msg, sizeof(msg));
            sp_err_set(err, rc, "%s: %s", name, msg);
        }
    } else if (filter != NULL && filter[0] != '\0') {
        if (pcap_compile(s->p, &fs->filter, filter, 1, PCAP_NETMASK_UNKNOWN) ==
            0)
            fs->have_filter = true;
        else
            rc = sp_err_set(err, SP_EINVAL, "bad filter expression: %s",
                            pcap_geterr(s->p));
    }
    if (rc != 0) {
        pcap_close(s->p);
        free(fs);
        return rc;
    }
    *out = s;
    return 0;
}

const struct sp_source_ops sp_source_file_ops = {
    .kind = "file",
    .on_frame = file_on_frame,
    .timeout_result = 0,
    .stats = file_nothing,
    .mark_end = file_mark_end,
    .flush = file_nothing,
    .close = file_close,
};
