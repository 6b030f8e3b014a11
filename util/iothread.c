/*
 * IOThread: one thread, one AioContext, one loop.
 *
 * What it does: creates a context (busy-polling by default, as QEMU's
 * IOThreads do), starts a thread that makes it current and polls it until
 * told to stop, and keeps the set of live names unique.
 * The thread holds its context (aio_context_acquire) while it polls, so
 * another thread that acquires the context excludes the IOThread's
 * callbacks; the context's contention hook kicks the poller out of its
 * wait so that such a thread gets in promptly.
 *
 * What it does not: run a GLib main loop unless someone asks for
 * iothread_get_g_main_context(); from then on each iteration dispatches
 * that GMainContext, to which the AioContext's GSource is attached, so one
 * blocking wait serves both.
 *
 * Key invariant: `stopping` is written and read only by the IOThread
 * itself (the stop request arrives as a bottom half), so the loop needs no
 * atomics for it; iothread_destroy joins the thread before freeing
 * anything the thread uses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "trace.h"
#include "sysemu/iothread.h"
#include "block/aio.h"
#include "qemu/atomic.h"
#include "qemu/thread.h"
#include "qapi/error.h"

struct IOThread {
    /* Immutable after iothread_create(). */
    char *name;
    AioContext *ctx;
    QemuThread thread;
    int thread_id;              /* written before init_done_sem is posted */
    QemuSemaphore init_done_sem;

    /* Only touched by the IOThread itself. */
    bool stopping;

    /* Created once by iothread_get_g_main_context(); atomic pointer. */
    GMainContext *worker_context;
    QemuMutex gcontext_lock;    /* serialises that creation */
};

/* Names of the live IOThreads (char * set), under names_lock. */
static QemuMutex names_lock = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .initialized = true,
};
static GHashTable *names;

/* Claim @name for a new IOThread; false if a live one has it. */
static bool name_claim(const char *name)
{
    bool claimed;

    qemu_mutex_lock(&names_lock);
    if (!names) {
        names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    claimed = g_hash_table_add(names, g_strdup(name));
    qemu_mutex_unlock(&names_lock);
    return claimed;
}

static void name_release(const char *name)
{
    qemu_mutex_lock(&names_lock);
    g_hash_table_remove(names, name);
    qemu_mutex_unlock(&names_lock);
}

/* One iteration: wait for and dispatch whatever is ready. */
static void iothread_iterate(IOThread *iothread)
{
    GMainContext *gctx = qatomic_load_acquire(&iothread->worker_context);

    aio_context_acquire(iothread->ctx);
    if (gctx) {
        g_main_context_iteration(gctx, TRUE);
    } else {
        aio_poll(iothread->ctx, true);
    }
    aio_context_release(iothread->ctx);
}

static void *iothread_run(void *opaque)
{
    IOThread *iothread = opaque;

    qemu_set_current_aio_context(iothread->ctx);
    iothread->thread_id = qemu_get_thread_id();
    qemu_sem_post(&iothread->init_done_sem);
    trace_iothread_start(iothread->name);

    while (!iothread->stopping) {
        iothread_iterate(iothread);
    }
    trace_iothread_stop(iothread->name);
    qemu_set_current_aio_context(NULL);
    return NULL;
}

/* Runs in the IOThread: the loop ends after this iteration. */
static void iothread_stop_bh(void *opaque)
{
    IOThread *iothread = opaque;

    iothread->stopping = true;
}

static bool check_name(const char *name, Error **errp)
{
    if (!name || !*name) {
        error_setg(errp, "an IOThread needs a non-empty name");
        return false;
    }
    if (!name_claim(name)) {
        error_setg(errp, "an IOThread named '%s' already exists", name);
        return false;
    }
    return true;
}

IOThread *iothread_create(const char *name, Error **errp)
{
    IOThread *iothread;
    AioContext *ctx;
    g_autofree char *thread_name = NULL;

    if (!check_name(name, errp)) {
        return NULL;
    }
    ctx = aio_context_try_new(errp);
    if (!ctx) {
        name_release(name);
        return NULL;
    }

    /* Cannot fail: the values are not negative. */
    aio_context_set_poll_params(ctx, IOTHREAD_POLL_MAX_NS_DEFAULT, 0, 0,
                                &error_abort);

    iothread = g_new0(IOThread, 1);
    iothread->name = g_strdup(name);
    iothread->ctx = ctx;
    qemu_mutex_init(&iothread->gcontext_lock);
    qemu_sem_init(&iothread->init_done_sem, 0);

    thread_name = g_strdup_printf("IO %s", name);
    qemu_thread_create(&iothread->thread, thread_name, iothread_run,
                       iothread, QEMU_THREAD_JOINABLE);
    qemu_sem_wait(&iothread->init_done_sem);
    return iothread;
}

void iothread_destroy(IOThread *iothread)
{
    if (!iothread) {
        return;
    }
    assert(!qemu_thread_is_self(&iothread->thread));

    aio_bh_schedule_oneshot(iothread->ctx, iothread_stop_bh, iothread);
    qemu_thread_join(&iothread->thread);

    if (iothread->worker_context) {
        /* Detaches (destroys) the AioContext's GSource too. */
        g_main_context_unref(iothread->worker_context);
    }
    aio_context_unref(iothread->ctx);

    name_release(iothread->name);
    qemu_sem_destroy(&iothread->init_done_sem);
    qemu_mutex_destroy(&iothread->gcontext_lock);
    g_free(iothread->name);
    g_free(iothread);
}

bool iothread_set_poll_params(IOThread *iothread, int64_t max_ns,
                              int64_t grow, int64_t shrink, Error **errp)
{
    return aio_context_set_poll_params(iothread->ctx, max_ns, grow, shrink,
                                       errp);
}

AioContext *iothread_get_aio_context(IOThread *iothread)
{
    return iothread->ctx;
}

const char *iothread_get_name(IOThread *iothread)
{
    return iothread->name;
}

int iothread_get_thread_id(IOThread *iothread)
{
    return iothread->thread_id;
}

/*
 * The new GMainContext takes the AioContext's GSource, then is published;
 * aio_notify makes the thread leave its aio_poll and switch over.
 */
GMainContext *iothread_get_g_main_context(IOThread *iothread)
{
    GMainContext *gctx;
    GSource *source;

    qemu_mutex_lock(&iothread->gcontext_lock);
    gctx = qatomic_load_acquire(&iothread->worker_context);
    if (!gctx) {
        gctx = g_main_context_new();
        source = aio_get_g_source(iothread->ctx);
        g_source_attach(source, gctx);
        g_source_unref(source);
        qatomic_store_release(&iothread->worker_context, gctx);
        aio_notify(iothread->ctx);
    }
    qemu_mutex_unlock(&iothread->gcontext_lock);
    return gctx;
}
