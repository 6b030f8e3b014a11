/*
 * A slice-based rate limiter for background work (block jobs).
 *
 * Time is cut into slices of slice_ns; each slice may carry slice_quota
 * units (speed * slice_ns / 1 s, at least 1).  A caller does a chunk of
 * work, reports its size with ratelimit_calculate_delay(), and sleeps for
 * the delay returned before doing more.  When a slice is over-used, its
 * end is pushed out in proportion to the excess, so the average rate over
 * time matches the speed even for chunks larger than the quota.  A slice
 * that has ended simply starts afresh: unused quota is not carried over.
 *
 * Clock: QEMU_CLOCK_REALTIME, as in QEMU.  Spindle extension: the clock
 * is a field (clock_type) that ratelimit_set_clock() may change, so tests
 * can drive a limiter with a manual QEMU_CLOCK_VIRTUAL.
 *
 * Header only.  Every function is thread safe (limit->lock) except
 * ratelimit_init/ratelimit_destroy, which must not race with other calls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_RATELIMIT_H
#define QEMU_RATELIMIT_H

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/timer.h"

typedef struct {
    /* Protected by lock. */
    int64_t slice_start_time;   /* ns on clock_type */
    int64_t slice_end_time;     /* ns; may grow past start + slice_ns */
    uint64_t slice_quota;       /* units per slice; 0 = unlimited */
    uint64_t slice_ns;
    uint64_t dispatched;        /* units reported in the current slice */
    QEMUClockType clock_type;   /* REALTIME unless ratelimit_set_clock */
    QemuMutex lock;
} RateLimit;

/*
 * Initialise @limit: unlimited, on QEMU_CLOCK_REALTIME.  Call before any
 * other function.
 */
static inline void ratelimit_init(RateLimit *limit)
{
    memset(limit, 0, sizeof(*limit));
    limit->clock_type = QEMU_CLOCK_REALTIME;
    qemu_mutex_init(&limit->lock);
}

/* Release what ratelimit_init set up.  No other call may be in flight. */
static inline void ratelimit_destroy(RateLimit *limit)
{
    qemu_mutex_destroy(&limit->lock);
}

/*
 * Spindle extension: measure slices on clock @type instead of REALTIME.
 * The current slice is dropped.
 */
static inline void ratelimit_set_clock(RateLimit *limit, QEMUClockType type)
{
    qemu_mutex_lock(&limit->lock);
    limit->clock_type = type;
    limit->slice_start_time = 0;
    limit->slice_end_time = 0;
    limit->dispatched = 0;
    qemu_mutex_unlock(&limit->lock);
}

/*
 * Allow @speed units per second, measured in slices of @slice_ns (> 0).
 * @speed 0 removes the limit.  The quota is rounded down but never below
 * one unit.  The current slice keeps running.
 */
static inline void ratelimit_set_speed(RateLimit *limit, uint64_t speed,
                                       uint64_t slice_ns)
{
    double quota = (double)speed * slice_ns / NANOSECONDS_PER_SECOND;

    assert(slice_ns > 0);
    qemu_mutex_lock(&limit->lock);
    limit->slice_ns = slice_ns;
    limit->slice_quota = speed ? MAX((uint64_t)quota, 1) : 0;
    qemu_mutex_unlock(&limit->lock);
}

/* True when a speed limit is set. */
static inline bool ratelimit_enabled(RateLimit *limit)
{
    bool enabled;

    qemu_mutex_lock(&limit->lock);
    enabled = limit->slice_quota != 0;
    qemu_mutex_unlock(&limit->lock);
    return enabled;
}

/*
 * Account @n units of work just done (or about to be done) and return how
 * many ns the caller should wait before the next chunk: 0 while the
 * current slice still has quota (or when unlimited), otherwise the time
 * left until the (possibly extended) slice ends.
 */
static inline int64_t ratelimit_calculate_delay(RateLimit *limit, uint64_t n)
{
    int64_t delay_ns = 0;
    int64_t now;

    qemu_mutex_lock(&limit->lock);
    now = qemu_clock_get_ns(limit->clock_type);
    if (limit->slice_quota == 0) {
        qemu_mutex_unlock(&limit->lock);
        return 0;
    }
    if (now >= limit->slice_end_time) {
        limit->slice_start_time = now;
        limit->slice_end_time = now + limit->slice_ns;
        limit->dispatched = 0;
    }
    limit->dispatched += n;
    if (limit->dispatched >= limit->slice_quota) {
        double slices = (double)limit->dispatched / limit->slice_quota;

        limit->slice_end_time = limit->slice_start_time +
                                (int64_t)(slices * limit->slice_ns);
        delay_ns = limit->slice_end_time - now;
    }
    qemu_mutex_unlock(&limit->lock);
    return delay_ns;
}

#endif /* QEMU_RATELIMIT_H */
