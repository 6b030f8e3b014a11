/*
 * EventNotifier: a file descriptor that one side sets and the other polls.
 *
 * It is the wake-up primitive of the event loop: any thread (or a signal
 * handler) calls event_notifier_set(), and the thread that watches the
 * read descriptor with poll/epoll/io_uring sees it become readable and
 * calls event_notifier_test_and_clear().  Any number of sets before a
 * clear count as one.
 *
 * Backed by an eventfd (one descriptor, rfd == wfd) where the kernel has
 * it, otherwise by a pipe (rfd is the read end, wfd the write end).  Both
 * descriptors are non-blocking and close-on-exec.  Setting the
 * environment variable SPINDLE_EVENT_NOTIFIER=pipe before
 * event_notifier_init() forces the pipe, so tests can cover both.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_EVENT_NOTIFIER_H
#define QEMU_EVENT_NOTIFIER_H

#include "qemu/osdep.h"

struct EventNotifier {
    int rfd;            /* watched for readability; -1 when not set up */
    int wfd;            /* written to set; equals rfd for an eventfd */
    bool initialized;
};

/* Callback type for code that reacts to a notifier becoming readable. */
typedef void EventNotifierHandler(EventNotifier *);

/*
 * Create the descriptors of @e; if @active is non-zero, @e starts set.
 * Returns 0, or -errno (e.g. -EMFILE) with @e left uninitialised.
 */
int event_notifier_init(EventNotifier *e, int active);

/*
 * Close @e's descriptors.  Safe on a notifier that is not initialised (or
 * already cleaned up).  No other thread may use @e concurrently.
 */
void event_notifier_cleanup(EventNotifier *e);

/*
 * Mark @e set, making its read descriptor readable.  Any thread; also
 * async-signal-safe.  Setting an already set notifier is a no-op that
 * succeeds (a full pipe counts as set).  Returns 0, or -errno (-EBADF on a
 * notifier that is not initialised).
 */
int event_notifier_set(EventNotifier *e);

/*
 * Clear @e and report whether it was set (non-zero) or not (0).  Drains
 * every pending set at once, so the read descriptor is no longer readable
 * afterwards (until the next set).  Meant for the one thread that consumes
 * the notifier; never blocks.
 */
int event_notifier_test_and_clear(EventNotifier *e);

/* The descriptor to watch for readability (POLLIN). */
int event_notifier_get_fd(const EventNotifier *e);

/* The descriptor that event_notifier_set() writes to. */
int event_notifier_get_wfd(const EventNotifier *e);

#endif /* QEMU_EVENT_NOTIFIER_H */
