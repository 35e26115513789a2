/*
 * output.h - output sinks: the human table and JSON Lines.
 *
 * Both implement struct sp_sink (engine/records.h). Untrusted strings (host
 * names) are escaped: JSON through a string encoder, text by replacing
 * non-printable bytes.
 */
#ifndef SP_ENGINE_OUTPUT_H
#define SP_ENGINE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/records.h"

struct sp_output_opts {
    FILE *out;
    bool json;
    bool verbose;    /* text: show attempts */
    bool explain;    /* text: what the verdict means, causes, next step */
    bool offline;    /* attempts exist only offline */
    bool flush_each; /* flush every record (live, or a terminal) */
};

struct sp_output;

struct sp_output *sp_output_create(const struct sp_output_opts *o);

/* Fills sink with this output's callbacks. */
void sp_output_sink(struct sp_output *o, struct sp_sink *sink);

/* True if writing failed (EPIPE, disk full): the caller stops early. */
bool sp_output_failed(const struct sp_output *o);

/* Hands every record written so far to the output and flushes it (a scan
 * calls it every 100 ms when records are not flushed one by one). */
void sp_output_flush(struct sp_output *o);

void sp_output_destroy(struct sp_output *o);

/*
 * Writes the one-sentence reading of a target's verdict (used by the text
 * sink; exposed for tests). Returns the number of bytes written as snprintf.
 */
int sp_output_sentence(const struct sp_target_rec *t, char *buf, size_t len);

#endif
