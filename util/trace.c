/*
 * Tracepoint state and output.
 *
 * Each event is a bool read with a relaxed load on the fast path; turning
 * events on or off is rare and takes a mutex only to serialise writers.
 * Lines go out with one fprintf so lines from different threads never
 * interleave mid-line (stdio locks the stream per call).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include <fnmatch.h>
#include <time.h>

#define TRACE_EVENT(name, proto, fmt, ...) bool trace_state_##name;
#include "trace-events.h"
#undef TRACE_EVENT

static const TraceEvent all_events[] = {
#define TRACE_EVENT(name, proto, fmt, ...) { #name, &trace_state_##name },
#include "trace-events.h"
#undef TRACE_EVENT
    { NULL, NULL }
};

static FILE *trace_out;
static struct timespec trace_start;

const TraceEvent *trace_events(void)
{
    return all_events;
}

void trace_set_output(FILE *out)
{
    qatomic_set(&trace_out, out);
}

static double seconds_since_start(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - trace_start.tv_sec) +
           (now.tv_nsec - trace_start.tv_nsec) / 1e9;
}

void trace_emit(const char *event, const char *fmt, ...)
{
    FILE *out = qatomic_read(&trace_out);
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(out ? out : stderr, "%.6f %d %s %s\n", seconds_since_start(),
            qemu_get_thread_id(), event, args);
}

/* Apply one pattern; returns how many events it matched. */
static int apply_pattern(const char *pattern)
{
    bool enable = true;
    int matched = 0;

    if (pattern[0] == '-') {
        enable = false;
        pattern++;
    }
    for (const TraceEvent *ev = all_events; ev->name; ev++) {
        if (fnmatch(pattern, ev->name, 0) == 0) {
            qatomic_set(ev->state, enable);
            matched++;
        }
    }
    return matched;
}

static void list_events(void)
{
    FILE *out = qatomic_read(&trace_out);

    for (const TraceEvent *ev = all_events; ev->name; ev++) {
        fprintf(out ? out : stderr, "%s\n", ev->name);
    }
}

bool trace_enable_events(const char *patterns, Error **errp)
{
    static QemuMutex lock = { .lock = PTHREAD_MUTEX_INITIALIZER,
                              .initialized = true };
    g_auto(GStrv) list = g_strsplit(patterns, ",", -1);
    g_autoptr(GString) unmatched = g_string_new(NULL);

    qemu_mutex_lock(&lock);
    for (char **p = list; *p; p++) {
        g_strstrip(*p);
        if (!**p) {
            continue;
        }
        if (strcmp(*p, "help") == 0) {
            list_events();
        } else if (apply_pattern(*p) == 0) {
            g_string_append_printf(unmatched, "%s'%s'",
                                   unmatched->len ? ", " : "", *p);
        }
    }
    qemu_mutex_unlock(&lock);
    if (unmatched->len) {
        error_setg(errp, "no trace event matches %s", unmatched->str);
        error_append_hint(errp, "SPINDLE_TRACE=help lists the events\n");
        return false;
    }
    return true;
}

bool trace_event_get_state(const char *name)
{
    for (const TraceEvent *ev = all_events; ev->name; ev++) {
        if (strcmp(ev->name, name) == 0) {
            return qatomic_read(ev->state);
        }
    }
    return false;
}

static void __attribute__((constructor)) trace_init_from_env(void)
{
    const char *env = getenv("SPINDLE_TRACE");
    Error *err = NULL;

    clock_gettime(CLOCK_MONOTONIC, &trace_start);
    if (env && *env && !trace_enable_events(env, &err)) {
        warn_report("SPINDLE_TRACE: %s", error_get_pretty(err));
        error_free(err);
    }
}
