/*
 * source_int.h - what the two capture sources share (capture/ only).
 *
 * struct sp_source is the common part; each implementation embeds it first
 * in a struct of its own and points ops at its own table, as libpcap does
 * with its savefile and live handles. source.c holds the code both use:
 * the read-and-decode step, the link-type map and the calls of source.h,
 * which dispatch through ops where the two differ.
 */
#ifndef SP_CAPTURE_SOURCE_INT_H
#define SP_CAPTURE_SOURCE_INT_H

#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/decode.h"
#include "capture/source.h"

struct sp_event;
struct sp_err;

struct sp_source_ops {
    const char *kind; /* "file" or "live", for messages */
    /* Reads the next record as pcap_next_ex does (1, PCAP_ERROR_BREAK at
     * the end, PCAP_ERROR with the message in s->rd_err); NULL: libpcap's
     * pcap_next_ex. */
    int (*next)(struct sp_source *s, struct pcap_pkthdr **h,
                const u_char **data);
    /* After a frame was read and decoded: per-source work on it (the
     * selection filter of a file, the -w dump of a live capture). */
    void (*on_frame)(struct sp_source *s, const struct pcap_pkthdr *h,
                     const u_char *data, struct sp_event *ev);
    /* A read returned 0: a live read timeout (2), or for a file, nothing
     * (files never return 0). */
    int timeout_result;
    /* Refreshes s->st from the kernel where there is one. */
    void (*stats)(struct sp_source *s);
    void (*mark_end)(struct sp_source *s, int64_t ts_ns);
    void (*flush)(struct sp_source *s);
    void (*close)(struct sp_source *s); /* frees what the kind added */
};

struct sp_source {
    const struct sp_source_ops *ops;
    pcap_t *p;
    enum sp_link link;
    atomic_bool stop;
    struct sp_capture_stats st;
    uint64_t records;              /* for "record N" in error messages */
    char rd_err[PCAP_ERRBUF_SIZE]; /* ops->next's message */
};

/* Maps the pcap_t's link type to ours; SP_ENOTSUP with a clear message. */
int sp_source_link(pcap_t *p, enum sp_link *out, struct sp_err *err);

/* The file source (source_file.c) and the live source (source_live.c). */
extern const struct sp_source_ops sp_source_file_ops;
extern const struct sp_source_ops sp_source_live_ops;

#endif
