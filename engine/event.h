/*
 * event.h - what the capture thread hands to the engine thread.
 *
 * Events travel by value through the queue (engine/queue.h): libpcap reuses
 * its buffer on the next read, so nothing in an event points into it.
 */
#ifndef SP_ENGINE_EVENT_H
#define SP_ENGINE_EVENT_H

#include <stdbool.h>

#include "analyzers/analysis.h"
#include "capture/decode.h"

enum sp_event_type {
    SP_EV_PACKET, /* a captured frame, decoded */
    SP_EV_END,    /* the source ended: end of file, error, or stopped */
};

struct sp_event {
    enum sp_event_type type;
    enum sp_decode_result result; /* SP_EV_PACKET */
    bool selected; /* the offline filter expression matched this frame */
    int status;    /* SP_EV_END: 0 at a clean end, else a negative SP_E* */
    /* offline: the latest time among the frames the capture thread left
     * out just before this event (capture.h), 0 if none */
    int64_t tick_ns;
    /* offline: the analysis keys, computed on the capture thread */
    bool keyed;
    struct sp_analysis_hint keys;
    struct sp_packet pkt;
};

#endif
