/*
 * source.h - where packets come from: a capture file or a live interface.
 *
 * Both kinds sit behind one struct sp_source so that everything after the
 * queue is identical live and offline (as libpcap does internally with its
 * savefile and live ops). libpcap is used only inside capture/; no pcap type
 * appears in this header.
 *
 * Threads: a source is opened by the engine thread, then read only by the
 * capture thread (capture/capture.h). sp_source_stop() is the one call that
 * may come from any thread or a signal handler.
 */
#ifndef SP_CAPTURE_SOURCE_H
#define SP_CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sp_err;
struct sp_event;
struct sp_source;

struct sp_capture_stats {
    uint64_t packets;   /* frames delivered by libpcap */
    uint64_t recv;      /* live: ps_recv */
    uint64_t drops;     /* live: ps_drop (+ ps_ifdrop) */
    uint64_t truncated; /* decode results */
    uint64_t invalid;
    uint64_t other; /* not IP */
};

/*
 * Opens a capture file (pcap or pcapng, "-" for stdin) with nanosecond
 * timestamps. `filter` (may be NULL or "") is a tcpdump expression: frames it
 * matches are marked `selected` in their events, none are skipped. Returns 0;
 * SP_ENOENT / SP_EIO / SP_EFORMAT for a file libpcap cannot read; SP_ENOTSUP
 * for an unsupported link type; SP_EINVAL for a bad filter expression.
 */
int sp_source_open_file(struct sp_source **out, const char *path,
                        const char *filter, struct sp_err *err);

/*
 * As sp_source_open_file, on a stream already open for reading (the fuzz
 * harness passes a memory buffer through fmemopen). `name` is only used in
 * messages. The source takes f over: sp_source_close closes it, and a failed
 * open closes it too.
 */
int sp_source_open_fp(struct sp_source **out, FILE *f, const char *name,
                      const char *filter, struct sp_err *err);

/* Options for a live capture. */
struct sp_live_opts {
    const char *iface;     /* NULL or "any" for every interface */
    const char *bpf;       /* kernel filter; NULL for none */
    const char *dump_path; /* -w FILE, or NULL */
    int snaplen;           /* 0 for the default (256) */
    int buffer_kib;        /* 0 for the default (32 MiB) */
    bool blocks;           /* frames in blocks, no wake-up per frame; each
                              at most the 100 ms read timeout late (scans) */
    bool inbound;          /* received frames only: the kernel then skips
                              this capture for every frame sent */
};

/*
 * Opens a live capture in immediate mode (unless opts->blocks) with
 * nanosecond timestamps and a large buffer, and the -w dump file if asked
 * (opened here, before any privilege drop). Returns 0, SP_EPERM without
 * privilege, SP_ENOENT for an unknown interface, SP_EINVAL for a bad filter,
 * SP_EIO otherwise.
 */
int sp_source_open_live(struct sp_source **out, const struct sp_live_opts *opts,
                        struct sp_err *err);

/*
 * Reads the next frame and decodes it into ev (type SP_EV_PACKET). Returns 1
 * for a frame, 0 at the end of a file or after sp_source_stop(), or a
 * negative SP_E* code with err filled when the file ends in error (the
 * frames before it stay valid). Live, it returns 2 when nothing came within
 * the read timeout (100 ms), so the caller can look at its stop flag.
 */
int sp_source_next(struct sp_source *s, struct sp_event *ev,
                   struct sp_err *err);

/* Any thread, or a signal handler: makes sp_source_next return 0 soon. */
void sp_source_stop(struct sp_source *s);

/* Fills counters (live drop counts are read from the kernel). */
void sp_source_stats(struct sp_source *s, struct sp_capture_stats *st);

/*
 * Writes a marker frame (ethertype 0x88B5, IEEE local experimental, text
 * "synprobe: end of wait") at ts_ns into the dump file, if any: a capture
 * ends at its last packet, and this one tells a later -r run when the live
 * run's wait ended, so silences read back as they were judged live. Call
 * after the capture thread has been joined.
 */
void sp_source_mark_end(struct sp_source *s, int64_t ts_ns);

/* Flushes the dump file, if any. */
void sp_source_flush(struct sp_source *s);

/* Closes the capture and the dump file (flushed, complete). */
void sp_source_close(struct sp_source *s);

/* Link-layer name of the source, for messages. */
const char *sp_source_link_name(const struct sp_source *s);

#endif
