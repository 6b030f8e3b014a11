/*
 * Tracepoints: named events at every state change, cheap when off.
 *
 * A module lists its events once, in an X-macro file (util/trace-events.h
 * for the foundation):
 *
 *     TRACE_EVENT(aio_bh_run, (void *ctx, void *bh), "ctx %p bh %p", ctx, bh)
 *
 * which yields `trace_aio_bh_run(ctx, bh)`.  A disabled event costs one
 * relaxed load and a predicted branch; an enabled one formats a line
 *
 *     <seconds since start> <thread id> <event> <arguments>
 *
 * and writes it to the trace output (stderr unless changed).
 *
 * Events are switched on by the SPINDLE_TRACE environment variable, read
 * once at program start, or by trace_enable_events(); both take a comma
 * separated list of glob patterns ("aio_*,qemu_co_enter"), where a leading
 * '-' turns matching events off again.  "help" lists every event.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_TRACE_H
#define QEMU_TRACE_H

#include "qemu/osdep.h"
#include "qemu/atomic.h"

typedef struct TraceEvent {
    const char *name;
    bool *state;
} TraceEvent;

/*
 * Apply @patterns (see above) to every known event.  Returns false and
 * sets @errp when a pattern matches no event, naming it; events matched
 * by the other patterns are still applied.  Any thread.
 */
bool trace_enable_events(const char *patterns, Error **errp);

/* True when the event named exactly @name exists and is enabled. */
bool trace_event_get_state(const char *name);

/* Every event known to the library, terminated by an entry with NULL name. */
const TraceEvent *trace_events(void);

/*
 * Send trace lines to @out (NULL restores stderr).  The caller keeps
 * @out open while tracing.  Lines are written whole, one fprintf each.
 */
void trace_set_output(FILE *out);

/* Format and write one trace line.  Called by the generated trace_*(). */
void trace_emit(const char *event, const char *fmt, ...) QEMU_PRINTF(2, 3);

#endif /* QEMU_TRACE_H */
