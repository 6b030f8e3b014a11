/*
 * The main loop: the process-wide main AioContext and the thread that
 * runs it.
 *
 * The main context is created by qemu_init_main_loop() or, if nobody
 * called it, lazily by the first qemu_get_aio_context().  Besides its own
 * timers it runs the global main_loop_tlg timers (qemu/timer.h), and it
 * wakes when one of them is armed earlier.  A thread that has not made
 * another context current (an IOThread does) counts as a main-loop thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include "qemu/osdep.h"
#include "block/aio.h"

/*
 * Create the main context and make the calling thread its home.  Idempotent
 * (a second call only checks).  Returns false and sets @errp if the
 * context cannot be created.  Call from the main thread at start-up.
 */
bool qemu_init_main_loop(Error **errp);

/*
 * The main AioContext (creating it on first use; creation failure
 * aborts).  Any thread; the context is never freed.
 */
AioContext *qemu_get_aio_context(void);

/*
 * True if the calling thread runs the main context, i.e. it has not made
 * another context current with qemu_set_current_aio_context.
 */
bool qemu_in_main_thread(void);

/*
 * Run one iteration of the main context: BHs, fd handlers, its timers and
 * main_loop_tlg's timers.  Unless @nonblocking, first sleep until one of
 * them has work (or qemu_notify_event is called).  Main thread only.
 */
void main_loop_wait(bool nonblocking);

/* Wake the main loop (aio_notify on the main context).  Any thread. */
void qemu_notify_event(void);

/* A BH in the main context: aio_bh_new(qemu_get_aio_context(), ...). */
QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque);

#endif /* QEMU_MAIN_LOOP_H */
