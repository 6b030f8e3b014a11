/*
 * Drain: wait until no request is in flight on a node and the nodes
 * below it, and (in a drained section) keep new requests from starting.
 *
 * Every request counts itself in bs->in_flight from the moment it enters
 * the request path (or, for callback-style requests, from submission
 * until its callback has run).  The gate sits at the top of the request
 * path: a request that meets a drained node stops counting itself, waits
 * in bs->drain_gate, and counts itself again when the section ends.
 * Requests that a driver sends to the nodes below pass the gates of those
 * nodes freely unless the nodes themselves are drained, so draining a
 * format node never deadlocks on its own protocol requests.
 *
 * in_flight is atomic because the main thread may drain a node whose
 * requests run in an IOThread; the decrement kicks AIO_WAIT_WHILE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio-wait.h"
#include "block/internal.h"
#include "util/trace.h"

/*
 * Only the node's home thread changes in_flight (every request and
 * completion runs there), so a plain load and an atomic store suffice;
 * waiters in other threads read it atomically.  Only the last request
 * leaving can end a wait, so only that one kicks.
 */
void bdrv_inc_in_flight(BlockDriverState *bs)
{
    qatomic_set(&bs->in_flight, bs->in_flight + 1);
}

void bdrv_dec_in_flight(BlockDriverState *bs)
{
    unsigned left = bs->in_flight - 1;

    qatomic_set(&bs->in_flight, left);
    if (left == 0) {
        aio_wait_kick();
    }
}

void coroutine_fn bdrv_drain_gate(BlockDriverState *bs)
{
    while (qatomic_read(&bs->quiesce_counter) > 0) {
        bdrv_dec_in_flight(bs);
        qemu_co_queue_wait(&bs->drain_gate, NULL);
        bdrv_inc_in_flight(bs);
    }
}

static bool busy(BlockDriverState *bs)
{
    return bs && (qatomic_read(&bs->in_flight) > 0 || busy(bs->file) ||
                  busy(bs->backing_hd));
}

static void poll_until_idle(BlockDriverState *bs)
{
    AIO_WAIT_WHILE_UNLOCKED(bdrv_get_aio_context(bs), busy(bs));
}

/* A coroutine cannot poll: it hands the wait to a bottom half and sleeps
 * until the bottom half has seen the node idle. */
typedef struct DrainFromCo {
    BlockDriverState *bs;
    Coroutine *co;
    bool begin;
} DrainFromCo;

static void drain_bh(void *opaque)
{
    DrainFromCo *d = opaque;

    if (d->begin) {
        bdrv_drained_begin(d->bs);
    } else {
        bdrv_drain(d->bs);
    }
    aio_co_wake(d->co);
}

static void coroutine_fn drain_in_bh(BlockDriverState *bs, bool begin)
{
    DrainFromCo d = { .bs = bs, .co = qemu_coroutine_self(), .begin = begin };

    aio_bh_schedule_oneshot(qemu_get_current_aio_context(), drain_bh, &d);
    qemu_coroutine_yield();
}

void bdrv_drained_begin(BlockDriverState *bs)
{
    if (qemu_in_coroutine()) {
        drain_in_bh(bs, true);
        return;
    }
    trace_bdrv_drained_begin(bs);
    qatomic_inc(&bs->quiesce_counter);
    poll_until_idle(bs);
}

void bdrv_drained_end(BlockDriverState *bs)
{
    assert(bs->quiesce_counter > 0);
    trace_bdrv_drained_end(bs);
    if (qatomic_fetch_dec(&bs->quiesce_counter) == 1) {
        qemu_co_queue_restart_all(&bs->drain_gate);
    }
}

void bdrv_drain(BlockDriverState *bs)
{
    if (qemu_in_coroutine()) {
        drain_in_bh(bs, false);
        return;
    }
    poll_until_idle(bs);
}

void bdrv_drain_all(void)
{
    for (BlockDriverState *bs = bdrv_all_next(NULL); bs;
         bs = bdrv_all_next(bs)) {
        bdrv_drain(bs);
    }
}
