/*
 * Timed sleeps for coroutines.
 *
 * The sleeper arms a timer (on its stack) in the current AioContext and
 * yields; the timer callback, or qemu_co_sleep_wake() if it comes first,
 * clears the QemuCoSleep and resumes the coroutine with aio_co_wake().
 * While asleep the coroutine's `scheduled` field names us, so any other
 * attempt to enter it aborts instead of cutting the sleep short silently.
 *
 * Key invariant: w->to_wake is non-NULL exactly while a coroutine sleeps
 * on @w; only the thread running the sleeper's context touches it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/timer.h"
#include "block/aio.h"

static const char sleep_name[] = "qemu_co_sleep_ns";

void qemu_co_sleep_wake(QemuCoSleep *w)
{
    Coroutine *co = w->to_wake;
    const char *was G_GNUC_UNUSED;

    if (!co) {
        return;
    }
    w->to_wake = NULL;
    was = qatomic_xchg(&co->scheduled, NULL);
    assert(was == sleep_name);
    aio_co_wake(co);
}

static void co_sleep_timer_cb(void *opaque)
{
    qemu_co_sleep_wake(opaque);
}

static void coroutine_fn mark_asleep(Coroutine *self)
{
    const char *was = qatomic_cmpxchg(&self->scheduled, NULL, sleep_name);

    if (was) {
        fprintf(stderr, "%s: coroutine %p already scheduled by %s\n",
                sleep_name, (void *)self, was);
        abort();
    }
}

void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w,
                                            QEMUClockType type, int64_t ns)
{
    Coroutine *self = qemu_coroutine_self();
    AioContext *ctx = qemu_get_current_aio_context();
    QEMUTimer ts;

    assert(qemu_in_coroutine());
    assert(w->to_wake == NULL);
    aio_timer_init(ctx, &ts, type, SCALE_NS, co_sleep_timer_cb, w);
    mark_asleep(self);
    w->to_wake = self;
    timer_mod(&ts, qemu_clock_get_ns(type) + ns);

    qemu_coroutine_yield();

    /* Woken by the timer or by qemu_co_sleep_wake(); both cleared @w. */
    assert(w->to_wake == NULL);
    timer_deinit(&ts);
}

void coroutine_fn qemu_co_sleep_ns(QEMUClockType type, int64_t ns)
{
    QemuCoSleep w = { 0 };

    qemu_co_sleep_ns_wakeable(&w, type, ns);
}
