/*
 * Leaky-bucket I/O throttling.
 *
 * Design: the state is six buckets and the time they last leaked.  Each
 * decision first leaks every bucket for the time elapsed, then asks each
 * bucket relevant to the direction how long until it is back within its
 * allowance; the longest answer wins.  Waiting is done by the caller's
 * per-direction timer, armed for exactly that moment, so a throttled
 * request costs no polling.
 *
 * Not here: request queues, fairness between several users of one limit
 * (throttle groups do that) and any locking.
 *
 * Invariant: levels never go negative; only throttle_account raises them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/throttle.h"
#include "qapi/error.h"
#include "block/aio.h"

/* The buckets a request of each direction touches: bytes, then ops. */
static const BucketType bytes_buckets[2][2] = {
    { THROTTLE_BPS_TOTAL, THROTTLE_BPS_READ },
    { THROTTLE_BPS_TOTAL, THROTTLE_BPS_WRITE },
};
static const BucketType ops_buckets[2][2] = {
    { THROTTLE_OPS_TOTAL, THROTTLE_OPS_READ },
    { THROTTLE_OPS_TOTAL, THROTTLE_OPS_WRITE },
};

/* ---- single buckets ---- */

static double leaked_units(double rate, int64_t delta_ns)
{
    return rate * (double)delta_ns / NANOSECONDS_PER_SECOND;
}

void throttle_leak_bucket(LeakyBucket *bkt, int64_t delta_ns)
{
    bkt->level = MAX(bkt->level - leaked_units(bkt->avg, delta_ns), 0);
    if (bkt->burst_length > 1) {
        bkt->burst_level = MAX(bkt->burst_level -
                               leaked_units(bkt->max, delta_ns), 0);
    }
}

/* Nanoseconds for @extra units to leak at @rate per second. */
static int64_t wait_for(double extra, double rate)
{
    return (int64_t)(extra * NANOSECONDS_PER_SECOND / rate);
}

int64_t throttle_compute_wait(LeakyBucket *bkt)
{
    double allowance;
    double extra;

    if (!bkt->avg) {
        return 0;
    }
    allowance = bkt->max ? bkt->max * bkt->burst_length : bkt->avg / 10;
    extra = bkt->level - allowance;
    if (extra > 0) {
        return wait_for(extra, bkt->avg);
    }
    if (bkt->burst_length > 1) {
        extra = bkt->burst_level - bkt->max / 10;
        if (extra > 0) {
            return wait_for(extra, bkt->max);
        }
    }
    return 0;
}

/* ---- state ---- */

void throttle_init(ThrottleState *ts)
{
    memset(ts, 0, sizeof(*ts));
}

static void leak_all(ThrottleState *ts, int64_t now)
{
    int64_t delta_ns = now - ts->previous_leak;

    ts->previous_leak = now;
    if (delta_ns <= 0) {
        return;
    }
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        throttle_leak_bucket(&ts->cfg.buckets[i], delta_ns);
    }
}

/* The longest wait among the buckets a request of @is_write touches. */
static int64_t wait_for_direction(ThrottleState *ts, bool is_write)
{
    int64_t wait = 0;

    for (int i = 0; i < 2; i++) {
        BucketType b = bytes_buckets[is_write][i];
        BucketType o = ops_buckets[is_write][i];

        wait = MAX(wait, throttle_compute_wait(&ts->cfg.buckets[b]));
        wait = MAX(wait, throttle_compute_wait(&ts->cfg.buckets[o]));
    }
    return wait;
}

static void pour(LeakyBucket *bkt, double units)
{
    bkt->level += units;
    if (bkt->burst_length > 1) {
        bkt->burst_level += units;
    }
}

void throttle_account(ThrottleState *ts, bool is_write, uint64_t size)
{
    double ops = 1.0;

    if (ts->cfg.op_size && size > ts->cfg.op_size) {
        ops = (double)size / ts->cfg.op_size;
    }
    for (int i = 0; i < 2; i++) {
        pour(&ts->cfg.buckets[bytes_buckets[is_write][i]], size);
        pour(&ts->cfg.buckets[ops_buckets[is_write][i]], ops);
    }
}

bool throttle_schedule_timer(ThrottleState *ts, ThrottleTimers *tt,
                             bool is_write)
{
    int64_t now = qemu_clock_get_ns(tt->clock_type);
    int64_t wait;

    leak_all(ts, now);
    wait = wait_for_direction(ts, is_write);
    if (wait == 0) {
        return false;
    }
    if (!timer_pending(tt->timers[is_write])) {
        timer_mod(tt->timers[is_write], now + wait);
    }
    return true;
}

/* ---- configuration ---- */

void throttle_config_init(ThrottleConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        cfg->buckets[i].burst_length = 1;
    }
}

bool throttle_enabled(ThrottleConfig *cfg)
{
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        if (cfg->buckets[i].avg > 0) {
            return true;
        }
    }
    return false;
}

/* True when the total bucket @total and a per-direction one are both set. */
static bool total_conflicts(ThrottleConfig *cfg, BucketType total)
{
    LeakyBucket *b = cfg->buckets;

    return (b[total].avg && (b[total + 1].avg || b[total + 2].avg)) ||
           (b[total].max && (b[total + 1].max || b[total + 2].max));
}

static bool bucket_is_valid(LeakyBucket *bkt, Error **errp)
{
    if (bkt->avg < 0 || bkt->max < 0) {
        error_setg(errp, "bps/iops limits must not be negative");
    } else if (bkt->avg > THROTTLE_VALUE_MAX ||
               bkt->max > THROTTLE_VALUE_MAX) {
        error_setg(errp, "bps/iops limits must be at most %lld",
                   THROTTLE_VALUE_MAX);
    } else if (bkt->burst_length == 0) {
        error_setg(errp, "the burst length must be at least 1 second");
    } else if (bkt->burst_length > 1 && !bkt->max) {
        error_setg(errp, "a burst length needs a burst rate (max) too");
    } else if (bkt->max &&
               bkt->burst_length > THROTTLE_VALUE_MAX / bkt->max) {
        error_setg(errp, "the burst length is too long for this burst "
                   "rate");
    } else if (bkt->max && !bkt->avg) {
        error_setg(errp, "a burst rate (max) needs an average rate too");
    } else if (bkt->max && bkt->max < bkt->avg) {
        error_setg(errp, "a burst rate (max) must not be below the "
                   "average rate");
    } else {
        return true;
    }
    return false;
}

bool throttle_is_valid(ThrottleConfig *cfg, Error **errp)
{
    LeakyBucket *b = cfg->buckets;

    if (total_conflicts(cfg, THROTTLE_BPS_TOTAL) ||
        total_conflicts(cfg, THROTTLE_OPS_TOTAL)) {
        error_setg(errp, "a total bps/iops limit cannot be combined with "
                   "a read or write one");
        return false;
    }
    if (cfg->op_size && !b[THROTTLE_OPS_TOTAL].avg &&
        !b[THROTTLE_OPS_READ].avg && !b[THROTTLE_OPS_WRITE].avg) {
        error_setg(errp, "an iops size needs an iops limit");
        return false;
    }
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        if (!bucket_is_valid(&b[i], errp)) {
            return false;
        }
    }
    return true;
}

void throttle_config(ThrottleState *ts, QEMUClockType clock_type,
                     ThrottleConfig *cfg)
{
    ts->cfg = *cfg;
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        ts->cfg.buckets[i].level = 0;
        ts->cfg.buckets[i].burst_level = 0;
    }
    ts->previous_leak = qemu_clock_get_ns(clock_type);
}

void throttle_get_config(ThrottleState *ts, ThrottleConfig *cfg)
{
    *cfg = ts->cfg;
}

/* ---- timers ---- */

void throttle_timers_attach_aio_context(ThrottleTimers *tt,
                                        AioContext *new_context)
{
    g_assert(!tt->timers[0] && !tt->timers[1]);
    tt->aio_context = new_context;
    tt->timers[0] = aio_timer_new(new_context, tt->clock_type, SCALE_NS,
                                  tt->read_timer_cb, tt->timer_opaque);
    tt->timers[1] = aio_timer_new(new_context, tt->clock_type, SCALE_NS,
                                  tt->write_timer_cb, tt->timer_opaque);
}

void throttle_timers_detach_aio_context(ThrottleTimers *tt)
{
    for (int i = 0; i < 2; i++) {
        timer_free(tt->timers[i]);
        tt->timers[i] = NULL;
    }
    tt->aio_context = NULL;
}

void throttle_timers_init(ThrottleTimers *tt, AioContext *aio_context,
                          QEMUClockType clock_type,
                          QEMUTimerCB *read_timer_cb,
                          QEMUTimerCB *write_timer_cb,
                          void *timer_opaque)
{
    memset(tt, 0, sizeof(*tt));
    tt->clock_type = clock_type;
    tt->read_timer_cb = read_timer_cb;
    tt->write_timer_cb = write_timer_cb;
    tt->timer_opaque = timer_opaque;
    throttle_timers_attach_aio_context(tt, aio_context);
}

void throttle_timers_destroy(ThrottleTimers *tt)
{
    throttle_timers_detach_aio_context(tt);
}

bool throttle_timers_are_initialized(ThrottleTimers *tt)
{
    return tt->timers[0] != NULL;
}
