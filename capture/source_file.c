/*
 * source_file.c - the capture-file source: pcap and pcapng through libpcap,
 * nanosecond timestamps, and the selection filter of `synprobe -r FILE
 * EXPR`, evaluated in userland on every frame (frames are marked, never
 * skipped: the answers to a selected SYN count even when EXPR does not
 * match them).
 *
 * A classic pcap file (version 2.4, a link type we decode) is read by
 * synprobe itself: read(2) in 256 KiB pieces into one buffer, and records
 * handed over where they lie, as pcap_next_ex would hand them (the same
 * checks, in the same order, and the same messages). libpcap copied every
 * record twice on the way (stdio, then its own buffer), which made reading
 * the larger part of a whole run's work on the capture thread. Anything
 * else - pcapng, older versions, other link types, stdin - goes to libpcap,
 * which also opens every file (its handle, which reads no record of a file
 * ours reads, gives the link type and compiles the filter).
 */
#include "capture/source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/source_int.h"
#include "engine/err.h"
#include "engine/event.h"

/* libpcap reads a file record by record through stdio: with the default
 * buffer that was one read(2) per 4 KiB. Freed with the source, after
 * pcap_close has closed the stream. */
enum { FILE_IOBUF = 1 << 20 };

/* The fast reader: what libpcap 1.10 takes as the largest sane record for
 * the link types it serves (MAXIMUM_SNAPLEN), and its read size (small
 * enough that a piece is still in the cache when it is decoded; measured
 * on the benchmark file: 256 KiB 0.10 s, 1 MiB 0.12 s, 4 MiB 0.26 s). A
 * record is at most 16 + FAST_MAX_CAPLEN bytes, so the rest of one piece
 * plus the next always fit in iobuf. */
enum { FAST_MAX_CAPLEN = 262144, FAST_READ = 256 << 10 };

struct file_source {
    struct sp_source base; /* first: the common part */
    bool have_filter;
    struct bpf_program filter;
    /* the fast reader (fd >= 0) */
    int fd;
    bool swapped, nsec, eof;
    uint32_t snaplen;
    size_t have, off; /* bytes in iobuf, and the next record's offset */
    struct pcap_pkthdr hdr;
    char iobuf[FILE_IOBUF]; /* stdio's buffer, or the fast reader's */
};

static uint32_t rd32(const uint8_t *b, bool be)
{
    return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                    (uint32_t)b[2] << 8 | b[3]
              : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 |
                    (uint32_t)b[1] << 8 | b[0];
}

/* Makes at least `need` bytes from off available, unless the file ends
 * first. -1 with errno on a read error. */
static int fast_fill(struct file_source *fs, size_t need)
{
    if (fs->have - fs->off >= need)
        return 0;
    memmove(fs->iobuf, fs->iobuf + fs->off, fs->have - fs->off);
    fs->have -= fs->off;
    fs->off = 0;
    while (fs->have < need && !fs->eof) {
        size_t room = sizeof(fs->iobuf) - fs->have;
        ssize_t n = read(fs->fd, fs->iobuf + fs->have,
                         room < FAST_READ ? room : FAST_READ);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            fs->eof = true;
        fs->have += (size_t)n;
    }
    return 0;
}

static int fast_next(struct sp_source *s, struct pcap_pkthdr **h,
                     const u_char **data)
{
    struct file_source *fs = (struct file_source *)s;
    const uint8_t *r;
    uint32_t caplen, keep;
    size_t avail;

    if (fast_fill(fs, 16) != 0)
        goto read_error;
    avail = fs->have - fs->off;
    if (avail == 0)
        return PCAP_ERROR_BREAK;
    if (avail < 16) {
        snprintf(s->rd_err, sizeof(s->rd_err),
                 "truncated dump file; tried to read 16 header bytes, only "
                 "got %zu",
                 avail);
        return PCAP_ERROR;
    }
    r = (const uint8_t *)fs->iobuf + fs->off;
    caplen = rd32(r + 8, fs->swapped);
    if (caplen > FAST_MAX_CAPLEN) {
        if (caplen > fs->snaplen)
            snprintf(s->rd_err, sizeof(s->rd_err),
                     "invalid packet capture length %u, bigger than snaplen "
                     "of %u",
                     caplen, fs->snaplen);
        else
            snprintf(s->rd_err, sizeof(s->rd_err),
                     "invalid packet capture length %u, bigger than maximum "
                     "of %u",
                     caplen, (unsigned)FAST_MAX_CAPLEN);
        return PCAP_ERROR;
    }
    keep = caplen < fs->snaplen ? caplen : fs->snaplen;
    if (fast_fill(fs, 16 + (size_t)caplen) != 0)
        goto read_error;
    avail = fs->have - fs->off;
    /* libpcap reads the snapshot length first, then skips the rest */
    if (avail < 16 + (size_t)caplen) {
        snprintf(s->rd_err, sizeof(s->rd_err),
                 "truncated dump file; tried to read %u captured bytes, only "
                 "got %zu",
                 avail < 16 + (size_t)keep ? keep : caplen, avail - 16);
        return PCAP_ERROR;
    }
    r = (const uint8_t *)fs->iobuf + fs->off;
    /* libpcap reads both time fields as signed 32-bit numbers, and with
     * nanosecond precision asked for scales microseconds by 1000 */
    fs->hdr.ts.tv_sec = (int32_t)rd32(r, fs->swapped);
    fs->hdr.ts.tv_usec = (int32_t)rd32(r + 4, fs->swapped);
    if (!fs->nsec)
        fs->hdr.ts.tv_usec *= 1000;
    /* a record longer than the file's snapshot length is cut to it */
    fs->hdr.caplen = keep;
    fs->hdr.len = rd32(r + 12, fs->swapped);
    *h = &fs->hdr;
    *data = r + 16;
    fs->off += 16 + (size_t)caplen;
    return 1;
read_error:
    snprintf(s->rd_err, sizeof(s->rd_err), "error reading dump file: %s",
             strerror(errno));
    return PCAP_ERROR;
}

/*
 * Reads a classic pcap file header. True if the fast reader takes the
 * file: version 2.4 in either byte order, micro- or nanosecond, and a link
 * type the decoder knows.
 */
static bool fast_header(struct file_source *fs, const uint8_t h[24])
{
    uint32_t magic = rd32(h, false), snap, lt;
    bool be;

    switch (magic) {
    case 0xa1b2c3d4:
    case 0xa1b23c4d:
        be = false;
        break;
    case 0xd4c3b2a1:
    case 0x4d3cb2a1:
        be = true;
        break;
    default:
        return false;
    }
    fs->swapped = be;
    fs->nsec = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
    {
        /* major and minor version, each 16 bits in the file's order */
        unsigned major =
            be ? (unsigned)h[4] << 8 | h[5] : (unsigned)h[5] << 8 | h[4];
        unsigned minor =
            be ? (unsigned)h[6] << 8 | h[7] : (unsigned)h[7] << 8 | h[6];
        if (major != 2 || minor != 4)
            return false;
    }
    snap = rd32(h + 16, be);
    lt = rd32(h + 20, be);
    switch (lt) {
    case 0:   /* NULL */
    case 1:   /* EN10MB */
    case 101: /* RAW */
    case 113: /* LINUX_SLL */
    case 228: /* IPV4 */
    case 229: /* IPV6 */
    case 276: /* LINUX_SLL2 */
        break;
    default:
        return false;
    }
    /* as libpcap adjusts it (pcap_adjust_snapshot): 0, or more than an int
     * holds, means the largest */
    fs->snaplen = snap == 0 || snap > INT_MAX ? FAST_MAX_CAPLEN : snap;
    return true;
}

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
    if (fs->fd >= 0)
        close(fs->fd);
}

/*
 * What every open does once the pcap_t exists: our link type, and the
 * selection filter, compiled by libpcap for its savefile handle. 0 with
 * *out set; else fs is closed and freed.
 */
static int open_rest(struct file_source *fs, const char *name,
                     const char *filter, struct sp_source **out,
                     struct sp_err *err)
{
    struct sp_source *s = &fs->base;
    int rc = 0;

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
        sp_source_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/*
 * Opens a regular file for the fast reader. 0 with *out set; 1 if the file
 * is not one for it (the caller goes to libpcap); a negative SP_E* code.
 */
static int open_fast(struct sp_source **out, const char *path,
                     const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    uint8_t h[24];
    struct file_source *fs;
    int fd;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1; /* libpcap's open says why */
    n = read(fd, h, sizeof(h));
    fs = n == (ssize_t)sizeof(h) ? calloc(1, sizeof(*fs)) : NULL;
    if (fs == NULL || !fast_header(fs, h)) {
        free(fs);
        close(fd);
        return 1;
    }
    /* libpcap opens the file too, and reads nothing but its header: its
     * handle gives the link type and compiles the filter as for any
     * savefile (which refuses "inbound" and the like) */
    fs->base.p = pcap_open_offline_with_tstamp_precision(
        path, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (fs->base.p == NULL) {
        close(fd);
        free(fs);
        return 1; /* libpcap's open says why */
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    fs->fd = fd;
    fs->base.ops = &sp_source_file_ops;
    return open_rest(fs, path, filter, out, err);
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
        if (S_ISREG(sb.st_mode)) {
            int rc = open_fast(out, path, filter, err);
            if (rc <= 0)
                return rc;
        }
    }
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    fs->fd = -1;
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
    return open_rest(fs, path, filter, out, err);
}

int sp_source_open_fp(struct sp_source **out, FILE *f, const char *name,
                      const char *filter, struct sp_err *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    struct file_source *fs;
    struct sp_source *s;

    *out = NULL;
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL) {
        fclose(f);
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    }
    fs->fd = -1;
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
    return open_rest(fs, name, filter, out, err);
}

/* The fast reader's records, or libpcap's. */
static int file_next(struct sp_source *s, struct pcap_pkthdr **h,
                     const u_char **data)
{
    int rc;

    if (((struct file_source *)s)->fd >= 0)
        return fast_next(s, h, data);
    rc = pcap_next_ex(s->p, h, data);
    if (rc == PCAP_ERROR)
        snprintf(s->rd_err, sizeof(s->rd_err), "%s", pcap_geterr(s->p));
    return rc;
}

const struct sp_source_ops sp_source_file_ops = {
    .kind = "file",
    .next = file_next,
    .on_frame = file_on_frame,
    .timeout_result = 0,
    .stats = file_nothing,
    .mark_end = file_mark_end,
    .flush = file_nothing,
    .close = file_close,
};
