/*
 * io_uring fd monitor stub, built when liburing is not available.
 *
 * What it does: lets fdmon.c call the io_uring entry points without an
 * #ifdef; setup always fails, so the fallback chain moves on to epoll.
 * What it does not: anything else.  Invariant: no context ever uses
 * io_uring in such a build, so destroy has nothing to undo and the
 * test-only accessors always report 0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "aio-posix.h"

bool fdmon_io_uring_setup(AioContext *ctx)
{
    return false;
}

void fdmon_io_uring_destroy(AioContext *ctx)
{
}

unsigned fdmon_io_uring_queued_changes(AioContext *ctx)
{
    return 0;
}

unsigned fdmon_io_uring_held_handlers(AioContext *ctx)
{
    return 0;
}
