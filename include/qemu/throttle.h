/*
 * I/O throttling with leaky buckets.
 *
 * Six buckets measure traffic: bytes and operations, each as a total and
 * per direction (read, write).  Every request pours its size (bytes) and
 * its operation count into the buckets for its direction and the totals;
 * each bucket leaks at its average rate `avg` (units per second).  A
 * request may start while each bucket's level is at most its allowance:
 *
 *   - no max set: avg / 10 units, i.e. a tenth of a second at full rate,
 *     so small bursts do not serialise every request;
 *   - max set: max * burst_length units; the bucket then also tracks a
 *     burst level that leaks at `max` and allows max / 10 units, which
 *     caps the rate at `max` while a burst lasts.  So a client idle long
 *     enough may run at `max` for about burst_length seconds, then is
 *     held back to `avg`.
 *
 * When op_size is set, a request larger than op_size counts as
 * size / op_size operations (a fraction is kept).
 *
 * Thread safety: a ThrottleState has no lock; its owner (for instance a
 * throttle group) serialises calls.  ThrottleTimers run their callbacks in
 * the AioContext they are attached to.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_THROTTLE_H
#define QEMU_THROTTLE_H

#include "qemu/osdep.h"
#include "qemu/timer.h"

/* Largest avg or max (and max * burst_length) a bucket accepts. */
#define THROTTLE_VALUE_MAX 1000000000000000LL

typedef enum {
    THROTTLE_BPS_TOTAL,
    THROTTLE_BPS_READ,
    THROTTLE_BPS_WRITE,
    THROTTLE_OPS_TOTAL,
    THROTTLE_OPS_READ,
    THROTTLE_OPS_WRITE,
    BUCKETS_COUNT,
} BucketType;

typedef struct LeakyBucket {
    double avg;              /* leak rate, units per second; 0 = off */
    double max;              /* burst rate, units per second; 0 = none */
    double level;            /* units poured in and not yet leaked */
    double burst_level;      /* as level, leaking at max (burst_length>1) */
    uint64_t burst_length;   /* seconds a burst at max may last (>= 1) */
} LeakyBucket;

typedef struct ThrottleConfig {
    LeakyBucket buckets[BUCKETS_COUNT];
    uint64_t op_size;        /* bytes per operation; 0 = every request 1 */
} ThrottleConfig;

typedef struct ThrottleState {
    ThrottleConfig cfg;
    int64_t previous_leak;   /* clock ns at which buckets last leaked */
} ThrottleState;

/*
 * The two timers (index 0 read, 1 write) that wake throttled requests.
 * All fields are owned by the throttle_timers_* functions.
 */
typedef struct ThrottleTimers {
    QEMUTimer *timers[2];
    QEMUClockType clock_type;
    QEMUTimerCB *read_timer_cb;
    QEMUTimerCB *write_timer_cb;
    void *timer_opaque;
    AioContext *aio_context; /* NULL while detached */
} ThrottleTimers;

/* ---- single buckets --------------------------------------------------- */

/*
 * Let @delta_ns nanoseconds of leaking happen to @bkt: level drops by
 * avg * delta, burst_level (when burst_length > 1) by max * delta; neither
 * goes below zero.
 */
void throttle_leak_bucket(LeakyBucket *bkt, int64_t delta_ns);

/*
 * Nanoseconds until @bkt is back within its allowance (see the top of
 * this file); 0 when a request may start now or the bucket is off.
 */
int64_t throttle_compute_wait(LeakyBucket *bkt);

/* ---- set-up ----------------------------------------------------------- */

/* Zero @ts: every bucket off.  Configure it with throttle_config. */
void throttle_init(ThrottleState *ts);

/*
 * Set up @tt and create its timers (scale ns, clock @clock_type) in
 * @aio_context: @read_timer_cb / @write_timer_cb run with @timer_opaque in
 * that context when a throttled read / write may go.
 */
void throttle_timers_init(ThrottleTimers *tt, AioContext *aio_context,
                          QEMUClockType clock_type,
                          QEMUTimerCB *read_timer_cb,
                          QEMUTimerCB *write_timer_cb,
                          void *timer_opaque);

/* Delete and free @tt's timers; @tt is then uninitialised. */
void throttle_timers_destroy(ThrottleTimers *tt);

/*
 * Free the timers (a pending wake-up is lost; the caller restarts queued
 * requests after attaching) before the owner moves to another context.
 */
void throttle_timers_detach_aio_context(ThrottleTimers *tt);

/* Create the timers in @new_context.  @tt must be detached. */
void throttle_timers_attach_aio_context(ThrottleTimers *tt,
                                        AioContext *new_context);

/* True between throttle_timers_init and throttle_timers_destroy (or
 * while attached). */
bool throttle_timers_are_initialized(ThrottleTimers *tt);

/* ---- configuration ------------------------------------------------------ */

/* All buckets off, burst_length 1, op_size 0. */
void throttle_config_init(ThrottleConfig *cfg);

/* True when at least one bucket has a rate (avg > 0). */
bool throttle_enabled(ThrottleConfig *cfg);

/*
 * Check @cfg.  Returns true if usable; otherwise sets @errp to a message
 * naming the problem: a negative or too large value, a total limit
 * combined with a read or write one, max below avg, max without avg, a
 * burst length of 0 or set without max or too long for max, op_size
 * without any iops limit.
 */
bool throttle_is_valid(ThrottleConfig *cfg, Error **errp);

/*
 * Install @cfg (which should be valid) in @ts: bucket levels start empty
 * and leaking starts now on @clock_type.
 */
void throttle_config(ThrottleState *ts, QEMUClockType clock_type,
                     ThrottleConfig *cfg);

/* Copy @ts's configuration, including current levels, to @cfg. */
void throttle_get_config(ThrottleState *ts, ThrottleConfig *cfg);

/* ---- use ---------------------------------------------------------------- */

/*
 * Leak the buckets up to now (on @tt's clock) and decide whether a read
 * (@is_write false) or write may start.  Returns false if it may.  If it
 * must wait, returns true after arming @tt's timer for that direction to
 * fire when it may go (a pending timer is left alone).  Runs in the
 * context @tt is attached to.
 */
bool throttle_schedule_timer(ThrottleState *ts, ThrottleTimers *tt,
                             bool is_write);

/* Pour a request of @size bytes into the buckets for its direction. */
void throttle_account(ThrottleState *ts, bool is_write, uint64_t size);

#endif /* QEMU_THROTTLE_H */
