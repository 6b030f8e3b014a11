/*
 * The main loop: the process-wide main AioContext, the per-thread
 * "current context", and main_loop_wait.
 *
 * The main context is an ordinary AioContext that additionally runs the
 * global main_loop_tlg timers and is attached, as a GSource, to GLib's
 * default GMainContext; main_loop_wait iterates that GMainContext, so
 * other GSources there (channel watches, say) run in the main loop too.
 * It is created once (qemu_init_main_loop or lazily) and never freed.
 *
 * Invariant: a thread's current context is the one it set with
 * qemu_set_current_aio_context, else the main context; a context set
 * current in some thread has that thread as its home_thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "aio-posix.h"

static AioContext *main_ctx;            /* set once, then read-only */
static GMutex main_ctx_lock;            /* serialises creation */
static __thread AioContext *my_ctx;     /* the calling thread's context */

/* Create the main context if needed.  Returns it, or NULL with @errp. */
static AioContext *main_ctx_create(Error **errp)
{
    AioContext *ctx;

    g_mutex_lock(&main_ctx_lock);
    ctx = main_ctx;
    if (!ctx) {
        ctx = aio_context_try_new(errp);
        if (ctx) {
            GSource *src = aio_get_g_source(ctx);

            ctx->run_main_loop_timers = true;
            init_clocks();
            qemu_timer_set_main_loop_notify(aio_timerlist_notify, ctx);
            g_source_attach(src, NULL);
            g_source_unref(src);
            qatomic_store_release(&main_ctx, ctx);
        }
    }
    g_mutex_unlock(&main_ctx_lock);
    return ctx;
}

AioContext *qemu_get_aio_context(void)
{
    AioContext *ctx = qatomic_load_acquire(&main_ctx);

    if (likely(ctx)) {
        return ctx;
    }
    return main_ctx_create(&error_abort);
}

bool qemu_init_main_loop(Error **errp)
{
    AioContext *ctx = main_ctx_create(errp);

    if (!ctx) {
        return false;
    }
    if (my_ctx != ctx) {
        qemu_set_current_aio_context(ctx);
    }
    return true;
}

AioContext *qemu_get_current_aio_context(void)
{
    AioContext *ctx = my_ctx;

    return ctx ? ctx : qemu_get_aio_context();
}

void qemu_set_current_aio_context(AioContext *ctx)
{
    const void *self = aio_thread_self();

    if (!ctx) {
        if (my_ctx && qatomic_read(&my_ctx->home_thread) == self) {
            qatomic_set(&my_ctx->home_thread, NULL);
        }
        my_ctx = NULL;
        return;
    }
    if (my_ctx && my_ctx != ctx) {
        fprintf(stderr, "qemu_set_current_aio_context: thread already "
                "runs AioContext %p\n", (void *)my_ctx);
        abort();
    }
    my_ctx = ctx;
    qatomic_set(&ctx->home_thread, self);
}

bool in_aio_context_home_thread(AioContext *ctx)
{
    return ctx == qemu_get_current_aio_context() ||
           qatomic_read(&ctx->poller) == aio_thread_self();
}

bool qemu_in_main_thread(void)
{
    return qemu_get_current_aio_context() == qemu_get_aio_context();
}

void main_loop_wait(bool nonblocking)
{
    qemu_get_aio_context();
    g_main_context_iteration(NULL, !nonblocking);
}

void qemu_notify_event(void)
{
    aio_notify(qemu_get_aio_context());
}

QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque)
{
    return aio_bh_new(qemu_get_aio_context(), cb, opaque);
}
