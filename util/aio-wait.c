/*
 * AIO_WAIT_WHILE support: waking the main thread when another thread
 * changes the condition it waits on.
 *
 * Ordering: a waiter increments num_waiters (a sequentially consistent
 * RMW) before each look at its condition; aio_wait_kick runs after the
 * caller's write to the condition's state and issues smp_mb() before
 * reading num_waiters.  So either the kicker sees the waiter and wakes the
 * main context (a one-shot BH there, which also makes the waiter's
 * aio_poll return), or the waiter's next look at the condition sees the
 * new state.  Nothing is allocated when nobody waits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"

AioWait global_aio_wait;

static void wake_bh(void *opaque)
{
    /* Running at all is the point: the waiter's aio_poll returns. */
}

void aio_wait_kick(void)
{
    smp_mb();
    if (qatomic_read(&global_aio_wait.num_waiters)) {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), wake_bh, NULL);
    }
}

typedef struct {
    QEMUBHFunc *cb;
    void *opaque;
    bool done;
} WaitBHData;

static void wait_bh(void *opaque)
{
    WaitBHData *data = opaque;

    data->cb(data->opaque);
    qatomic_store_release(&data->done, true);
    aio_wait_kick();
}

void aio_wait_bh_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    WaitBHData data = { .cb = cb, .opaque = opaque };

    aio_bh_schedule_oneshot(ctx, wait_bh, &data);
    AIO_WAIT_WHILE_UNLOCKED(ctx, !qatomic_load_acquire(&data.done));
}
