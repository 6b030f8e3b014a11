/*
 * IOThread: a named thread that runs its own AioContext.
 *
 * Work reaches an IOThread the way it reaches any AioContext: a bottom half
 * (aio_bh_new/qemu_bh_schedule, aio_bh_schedule_oneshot) or a coroutine
 * moved there with aio_co_schedule().  Inside the thread,
 * qemu_get_current_aio_context() returns the IOThread's context.
 *
 * IOThread names are unique among the live IOThreads of the process.
 *
 * The IOThread holds its context (aio_context_acquire) while it polls.  A
 * thread that acquires the context interrupts the IOThread's wait, and
 * while it holds the context no callback of that context runs in the
 * IOThread; this is how code outside the IOThread touches state that the
 * context's callbacks use.
 *
 * Busy polling: like QEMU's IOThreads, a new IOThread spins for a while
 * before it blocks (adaptive busy polling, see
 * aio_context_set_poll_params in block/aio.h): poll-max-ns
 * IOTHREAD_POLL_MAX_NS_DEFAULT (32768), poll-grow and poll-shrink 0 (the
 * default policy: double the spin when an event came just too late, stop
 * spinning when events come slower than poll-max-ns).  Spinning only
 * happens while every fd handler of the context has an io_poll callback,
 * and it trades CPU time for latency; iothread_set_poll_params tunes it,
 * and max_ns 0 turns it off.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SYSEMU_IOTHREAD_H
#define SYSEMU_IOTHREAD_H

#include "qemu/osdep.h"

/* Busy-poll budget (ns) of a new IOThread's context; QEMU's default. */
#define IOTHREAD_POLL_MAX_NS_DEFAULT 32768

/*
 * Start a new IOThread called @name: create its AioContext and its thread
 * (named "IO <name>" for debuggers), and return once the thread is
 * running its event loop.  The context busy-polls with the defaults
 * described at the top of this file.  Fails (sets @errp, returns NULL)
 * when @name is NULL or empty, when a live IOThread already has that
 * name, or when the AioContext cannot be created.  Any thread may call
 * it.
 */
IOThread *iothread_create(const char *name, Error **errp);

/*
 * Stop @iothread's event loop, wait for its thread to exit, drop its
 * reference to the AioContext and free it (NULL is allowed).  Work still
 * scheduled in the context when the loop stops is not run.  If that was
 * the context's last reference, the context's thread pool is freed too,
 * in the calling thread (see thread_pool_free: callbacks still owed run
 * there).  Must not be called from @iothread's own thread, nor while the
 * caller holds the context; afterwards the name may be reused.
 */
void iothread_destroy(IOThread *iothread);

/*
 * Set the busy-polling parameters of @iothread's context, as
 * aio_context_set_poll_params(iothread_get_aio_context(@iothread), ...):
 * spin up to @max_ns (0: never) before blocking, growing the spin by
 * @grow (0: default 2) and shrinking it by @shrink (0: to nothing).
 * Returns false and sets @errp if a value is negative (nothing changes
 * then).  Takes effect from the thread's next wait.  Any thread.
 */
bool iothread_set_poll_params(IOThread *iothread, int64_t max_ns,
                              int64_t grow, int64_t shrink, Error **errp);

/* The IOThread's AioContext; valid until iothread_destroy().  Any thread. */
AioContext *iothread_get_aio_context(IOThread *iothread);

/* The name given to iothread_create(); owned by @iothread.  Any thread. */
const char *iothread_get_name(IOThread *iothread);

/* The kernel thread id of the IOThread's thread (as qemu_get_thread_id()). */
int iothread_get_thread_id(IOThread *iothread);

/*
 * A GMainContext that @iothread also runs, for code built on GSource
 * rather than AioContext.  Created on the first call (the thread then
 * switches to a GLib main loop that dispatches both the GMainContext and
 * the AioContext); later calls return the same one, owned by @iothread.
 * Any thread may call it.  GLib orders a g_source_attach() from another
 * thread with locks ThreadSanitizer cannot see; attaching with the
 * AioContext acquired gives it an ordering it does see.
 */
GMainContext *iothread_get_g_main_context(IOThread *iothread);

#endif /* SYSEMU_IOTHREAD_H */
