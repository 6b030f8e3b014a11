/*
 * The foundation's trace_*() functions, generated from trace-events.h.
 * Private to util/; other layers keep their own event lists.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef UTIL_TRACE_H
#define UTIL_TRACE_H

#include "qemu/trace.h"

#define TRACE_EVENT(name, proto, fmt, ...)                              \
    extern bool trace_state_##name;                                     \
    static inline void trace_##name proto                               \
    {                                                                   \
        if (unlikely(qatomic_read(&trace_state_##name))) {              \
            trace_emit(#name, fmt, __VA_ARGS__);                        \
        }                                                               \
    }
#include "trace-events.h"
#undef TRACE_EVENT

#endif /* UTIL_TRACE_H */
