/*
 * The minimal program of README.md, verbatim below this comment (the
 * install test checks that the two stay the same).  It is built against
 * an installed libspindle with nothing but `pkg-config spindle`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "block/aio.h"

static void hello(void *opaque)
{
    printf("hello from a bottom half\n");
}

int main(void)
{
    AioContext *ctx = aio_context_new();

    aio_bh_schedule_oneshot(ctx, hello, NULL);
    aio_poll(ctx, true);
    aio_context_unref(ctx);
    return 0;
}
