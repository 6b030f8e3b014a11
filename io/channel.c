/*
 * QIOChannel base class: argument checks, the looping "_all" helpers,
 * watches, and coroutine waiting on AioContext fd handlers.
 *
 * What it does: every public entry point checks what the class cannot
 * (fd passing without the feature, missing optional callbacks) and then
 * calls the class.  The "_all" loops continue after partial transfers on
 * a cursor over the caller's iovec array, which is copied (on the stack
 * for short arrays) only once an element is left half done, so a transfer
 * completed in one call neither copies nor allocates; they wait when the
 * channel would block: qio_channel_yield() inside a coroutine,
 * qio_channel_wait() outside.
 *
 * What it does not: buffer data, or synchronise threads.  A channel is
 * driven by one thread at a time; only qio_channel_shutdown() is meant to
 * be called concurrently, and that is the class's job to make safe.
 *
 * Key invariant: fd handlers for waiting coroutines are installed in at
 * most one AioContext, recorded in ioc->handler_ctx, and exactly when
 * read_coroutine or write_coroutine is set (except between detach and
 * attach, when none are installed).  update_handlers() restores this
 * after every change of those fields or of ioc->ctx.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "util/trace.h"
#include "io/channel.h"
#include "qapi/error.h"

/* ---- features and naming ------------------------------------------------ */

bool qio_channel_has_feature(QIOChannel *ioc,
                             QIOChannelFeature feature)
{
    return ioc->features & (1u << feature);
}

void qio_channel_set_feature(QIOChannel *ioc,
                             QIOChannelFeature feature)
{
    ioc->features |= (1u << feature);
}

void qio_channel_set_name(QIOChannel *ioc,
                          const char *name)
{
    g_free(ioc->name);
    ioc->name = g_strdup(name);
}

/* ---- single-shot I/O ---------------------------------------------------- */

static bool check_fd_pass(QIOChannel *ioc, Error **errp)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS)) {
        error_setg(errp, "channel does not support file descriptor passing");
        return false;
    }
    return true;
}

ssize_t qio_channel_readv_full(QIOChannel *ioc,
                               const struct iovec *iov,
                               size_t niov,
                               int **fds,
                               size_t *nfds,
                               Error **errp)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if ((fds || nfds) && !check_fd_pass(ioc, errp)) {
        return -1;
    }
    return klass->io_readv(ioc, iov, niov, fds, nfds, errp);
}

ssize_t qio_channel_writev_full(QIOChannel *ioc,
                                const struct iovec *iov,
                                size_t niov,
                                int *fds,
                                size_t nfds,
                                Error **errp)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if ((fds || nfds) && !check_fd_pass(ioc, errp)) {
        return -1;
    }
    return klass->io_writev(ioc, iov, niov, fds, nfds, errp);
}

ssize_t qio_channel_readv(QIOChannel *ioc,
                          const struct iovec *iov,
                          size_t niov,
                          Error **errp)
{
    return qio_channel_readv_full(ioc, iov, niov, NULL, NULL, errp);
}

ssize_t qio_channel_writev(QIOChannel *ioc,
                           const struct iovec *iov,
                           size_t niov,
                           Error **errp)
{
    return qio_channel_writev_full(ioc, iov, niov, NULL, 0, errp);
}

ssize_t qio_channel_read(QIOChannel *ioc,
                         char *buf,
                         size_t buflen,
                         Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_full(ioc, &iov, 1, NULL, NULL, errp);
}

ssize_t qio_channel_write(QIOChannel *ioc,
                          const char *buf,
                          size_t buflen,
                          Error **errp)
{
    struct iovec iov = { .iov_base = (char *)buf, .iov_len = buflen };

    return qio_channel_writev_full(ioc, &iov, 1, NULL, 0, errp);
}

/* ---- looping I/O -------------------------------------------------------- */

#define IOV_CURSOR_STACK 16

/*
 * The part of a caller's iovec array that is still to be transferred.
 * It reads the caller's array in place for as long as only whole
 * elements have been consumed, which is the common case of a transfer
 * that completes in one call; the first partial element makes it copy
 * what is left (on the stack when short) so that it can trim it.
 */
typedef struct IovCursor {
    const struct iovec *iov;    /* first element not yet done */
    unsigned int niov;          /* elements left, 0 when done */
    bool owned;                 /* iov points into stack or heap */
    struct iovec *heap;         /* allocation behind iov, or NULL */
    struct iovec stack[IOV_CURSOR_STACK];
} IovCursor;

/* Step over elements that @bytes covers whole, empty ones included. */
static size_t cursor_skip(IovCursor *c, size_t bytes)
{
    while (c->niov > 0 && bytes >= c->iov->iov_len) {
        bytes -= c->iov->iov_len;
        c->iov++;
        c->niov--;
    }
    return bytes;
}

static void cursor_init(IovCursor *c, const struct iovec *iov, size_t niov)
{
    c->iov = iov;
    c->niov = niov;
    c->owned = false;
    c->heap = NULL;
    /* No empty element first: a read of 0 bytes would look like EOF. */
    cursor_skip(c, 0);
}

static void cursor_advance(IovCursor *c, size_t bytes)
{
    struct iovec *own;

    bytes = cursor_skip(c, bytes);
    if (!bytes || !c->niov) {
        return;
    }
    if (!c->owned) {
        own = c->stack;
        if (c->niov > IOV_CURSOR_STACK) {
            own = c->heap = g_new(struct iovec, c->niov);
        }
        memcpy(own, c->iov, c->niov * sizeof(*own));
        c->iov = own;
        c->owned = true;
    }
    own = (struct iovec *)c->iov;   /* ours, so it may be trimmed */
    own->iov_base = (char *)own->iov_base + bytes;
    own->iov_len -= bytes;
}

static void cursor_destroy(IovCursor *c)
{
    g_free(c->heap);
}

/* Wait until @ioc may be ready for @condition, whatever the caller is. */
static void wait_ready(QIOChannel *ioc, GIOCondition condition)
{
    if (qemu_in_coroutine()) {
        qio_channel_yield(ioc, condition);
    } else {
        qio_channel_wait(ioc, condition);
    }
}

static void close_received_fds(int **fds, size_t *nfds)
{
    if (!fds || !*fds) {
        return;
    }
    for (size_t i = 0; i < *nfds; i++) {
        close((*fds)[i]);
    }
    g_free(*fds);
    *fds = NULL;
    *nfds = 0;
}

/*
 * One step of the read loop: returns 1 to go on, 0 on EOF before any
 * data, -1 on error.  *@partial says whether anything (data or fds) came.
 */
static int read_step(QIOChannel *ioc, IovCursor *c, int ***fds,
                     size_t **nfds, bool *partial, Error **errp)
{
    ssize_t len = qio_channel_readv_full(ioc, c->iov, c->niov,
                                         *fds, *nfds, errp);
    bool got_fds;

    if (len == QIO_CHANNEL_ERR_BLOCK) {
        wait_ready(ioc, G_IO_IN);
        return 1;
    }
    if (len < 0) {
        return -1;
    }
    got_fds = *nfds && **nfds;
    *fds = NULL;        /* descriptors come with the first chunk only */
    *nfds = NULL;
    if (got_fds) {
        *partial = true;
        if (len == 0) {
            return 1;   /* descriptors without data: the data follows */
        }
    }
    if (len == 0) {
        if (*partial) {
            error_setg(errp, "unexpected end-of-file before all data "
                       "were read");
            return -1;
        }
        return 0;
    }
    *partial = true;
    cursor_advance(c, len);
    return 1;
}

int qio_channel_readv_full_all_eof(QIOChannel *ioc,
                                   const struct iovec *iov,
                                   size_t niov,
                                   int **fds, size_t *nfds,
                                   Error **errp)
{
    int **local_fds = fds;
    size_t *local_nfds = nfds;
    bool partial = false;
    IovCursor c;
    int ret = 1;

    if (fds) {
        *fds = NULL;
    }
    if (nfds) {
        *nfds = 0;
    }
    cursor_init(&c, iov, niov);
    while (ret == 1 && (c.niov > 0 || local_fds)) {
        ret = read_step(ioc, &c, &local_fds, &local_nfds, &partial, errp);
    }
    cursor_destroy(&c);
    if (ret != 1) {
        close_received_fds(fds, nfds);
    }
    return ret;
}

int qio_channel_readv_full_all(QIOChannel *ioc,
                               const struct iovec *iov,
                               size_t niov,
                               int **fds, size_t *nfds,
                               Error **errp)
{
    int ret = qio_channel_readv_full_all_eof(ioc, iov, niov, fds, nfds,
                                             errp);

    if (ret == 0) {
        error_setg(errp, "unexpected end-of-file before all data were read");
        return -1;
    }
    return ret == 1 ? 0 : -1;
}

int qio_channel_readv_all_eof(QIOChannel *ioc,
                              const struct iovec *iov,
                              size_t niov,
                              Error **errp)
{
    return qio_channel_readv_full_all_eof(ioc, iov, niov, NULL, NULL, errp);
}

int qio_channel_readv_all(QIOChannel *ioc,
                          const struct iovec *iov,
                          size_t niov,
                          Error **errp)
{
    return qio_channel_readv_full_all(ioc, iov, niov, NULL, NULL, errp);
}

int qio_channel_writev_full_all(QIOChannel *ioc,
                                const struct iovec *iov,
                                size_t niov,
                                int *fds, size_t nfds,
                                Error **errp)
{
    IovCursor c;
    int ret = 0;

    cursor_init(&c, iov, niov);
    while (c.niov > 0) {
        ssize_t len = qio_channel_writev_full(ioc, c.iov, c.niov,
                                              fds, nfds, errp);

        if (len == QIO_CHANNEL_ERR_BLOCK) {
            wait_ready(ioc, G_IO_OUT);
            continue;
        }
        if (len < 0) {
            ret = -1;
            break;
        }
        fds = NULL;     /* sent along with the first chunk */
        nfds = 0;
        cursor_advance(&c, len);
    }
    cursor_destroy(&c);
    return ret;
}

int qio_channel_writev_all(QIOChannel *ioc,
                           const struct iovec *iov,
                           size_t niov,
                           Error **errp)
{
    return qio_channel_writev_full_all(ioc, iov, niov, NULL, 0, errp);
}

int qio_channel_read_all_eof(QIOChannel *ioc,
                             char *buf,
                             size_t buflen,
                             Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_all_eof(ioc, &iov, 1, errp);
}

int qio_channel_read_all(QIOChannel *ioc,
                         char *buf,
                         size_t buflen,
                         Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_all(ioc, &iov, 1, errp);
}

int qio_channel_write_all(QIOChannel *ioc,
                          const char *buf,
                          size_t buflen,
                          Error **errp)
{
    struct iovec iov = { .iov_base = (char *)buf, .iov_len = buflen };

    return qio_channel_writev_all(ioc, &iov, 1, errp);
}

/* ---- modes and control -------------------------------------------------- */

int qio_channel_set_blocking(QIOChannel *ioc,
                             bool enabled,
                             Error **errp)
{
    return QIO_CHANNEL_GET_CLASS(ioc)->io_set_blocking(ioc, enabled, errp);
}

int qio_channel_close(QIOChannel *ioc,
                      Error **errp)
{
    trace_qio_channel_close(ioc, ioc->name ? ioc->name : "");
    return QIO_CHANNEL_GET_CLASS(ioc)->io_close(ioc, errp);
}

int qio_channel_shutdown(QIOChannel *ioc,
                         QIOChannelShutdown how,
                         Error **errp)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    trace_qio_channel_shutdown(ioc, how);
    if (!klass->io_shutdown) {
        error_setg(errp, "channel of type '%s' does not support shutdown",
                   object_get_typename(OBJECT(ioc)));
        return -1;
    }
    return klass->io_shutdown(ioc, how, errp);
}

void qio_channel_set_delay(QIOChannel *ioc,
                           bool enabled)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if (klass->io_set_delay) {
        klass->io_set_delay(ioc, enabled);
    }
}

void qio_channel_set_cork(QIOChannel *ioc,
                          bool enabled)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if (klass->io_set_cork) {
        klass->io_set_cork(ioc, enabled);
    }
}

off_t qio_channel_io_seek(QIOChannel *ioc,
                          off_t offset,
                          int whence,
                          Error **errp)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if (!klass->io_seek) {
        error_setg(errp, "channel of type '%s' does not support seeking",
                   object_get_typename(OBJECT(ioc)));
        return (off_t)-1;
    }
    return klass->io_seek(ioc, offset, whence, errp);
}

/* ---- GLib watches ------------------------------------------------------- */

GSource *qio_channel_create_watch(QIOChannel *ioc,
                                  GIOCondition condition)
{
    GSource *source = QIO_CHANNEL_GET_CLASS(ioc)->io_create_watch(ioc,
                                                                  condition);

    if (ioc->name) {
        g_source_set_name(source, ioc->name);
    }
    return source;
}

GSource *qio_channel_add_watch_source(QIOChannel *ioc,
                                      GIOCondition condition,
                                      QIOChannelFunc func,
                                      gpointer user_data,
                                      GDestroyNotify notify,
                                      GMainContext *context)
{
    GSource *source = qio_channel_create_watch(ioc, condition);

    g_source_set_callback(source, (GSourceFunc)(void (*)(void))func,
                          user_data, notify);
    g_source_attach(source, context);
    return source;
}

guint qio_channel_add_watch_full(QIOChannel *ioc,
                                 GIOCondition condition,
                                 QIOChannelFunc func,
                                 gpointer user_data,
                                 GDestroyNotify notify,
                                 GMainContext *context)
{
    GSource *source = qio_channel_add_watch_source(ioc, condition, func,
                                                   user_data, notify,
                                                   context);
    guint id = g_source_get_id(source);

    g_source_unref(source);
    return id;
}

guint qio_channel_add_watch(QIOChannel *ioc,
                            GIOCondition condition,
                            QIOChannelFunc func,
                            gpointer user_data,
                            GDestroyNotify notify)
{
    return qio_channel_add_watch_full(ioc, condition, func, user_data,
                                      notify, NULL);
}

/* ---- waiting outside coroutines ----------------------------------------- */

/* Each thread's private context for qio_channel_wait, freed at exit. */
static GPrivate wait_context_key =
    G_PRIVATE_INIT((GDestroyNotify)g_main_context_unref);

static GMainContext *wait_context(void)
{
    GMainContext *ctx = g_private_get(&wait_context_key);

    if (!ctx) {
        ctx = g_main_context_new();
        g_private_set(&wait_context_key, ctx);
    }
    return ctx;
}

static gboolean wait_done(QIOChannel *ioc, GIOCondition condition,
                          gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

void qio_channel_wait(QIOChannel *ioc,
                      GIOCondition condition)
{
    GMainContext *ctx = wait_context();
    bool done = false;
    GSource *source;

    /*
     * Also wake on hang-up and error: the caller's next read or write
     * then reports end-of-file or the error instead of waiting forever
     * for a condition that can no longer come.
     */
    source = qio_channel_add_watch_source(ioc,
                                          condition | G_IO_HUP | G_IO_ERR,
                                          wait_done, &done, NULL, ctx);
    while (!done) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(source);
    g_source_unref(source);
}

/* ---- AioContext and coroutines ------------------------------------------ */

static void update_handlers(QIOChannel *ioc);

static void restart_read(void *opaque)
{
    QIOChannel *ioc = opaque;
    Coroutine *co = ioc->read_coroutine;

    if (!co) {
        return;
    }
    ioc->read_coroutine = NULL;
    update_handlers(ioc);
    aio_co_wake(co);
}

static void restart_write(void *opaque)
{
    QIOChannel *ioc = opaque;
    Coroutine *co = ioc->write_coroutine;

    if (!co) {
        return;
    }
    ioc->write_coroutine = NULL;
    update_handlers(ioc);
    aio_co_wake(co);
}

static void remove_handlers(QIOChannel *ioc)
{
    if (ioc->handler_ctx) {
        qio_channel_set_aio_fd_handler(ioc, ioc->handler_ctx,
                                       NULL, NULL, NULL);
        ioc->handler_ctx = NULL;
    }
}

/* Make the installed fd handlers match the waiting coroutines. */
static void update_handlers(QIOChannel *ioc)
{
    IOHandler *rd = ioc->read_coroutine ? restart_read : NULL;
    IOHandler *wr = ioc->write_coroutine ? restart_write : NULL;
    AioContext *ctx = ioc->ctx ? ioc->ctx : qemu_get_current_aio_context();

    if (ioc->handler_ctx != ctx || (!rd && !wr)) {
        remove_handlers(ioc);
    }
    if (rd || wr) {
        qio_channel_set_aio_fd_handler(ioc, ctx, rd, wr, ioc);
        ioc->handler_ctx = ctx;
    }
}

/*
 * A coroutine already waiting is not handed a handler in the new context:
 * it would fire with the coroutine still belonging to the old one, racing
 * with the aio_co_schedule() that the caller is about to do.  Instead the
 * rescheduled coroutine wakes, finds its slot still set, and waits again
 * from its new home.
 */
void qio_channel_attach_aio_context(QIOChannel *ioc,
                                    AioContext *ctx)
{
    if (ioc->handler_ctx && ioc->handler_ctx != ctx) {
        remove_handlers(ioc);
    }
    ioc->ctx = ctx;
}

void qio_channel_detach_aio_context(QIOChannel *ioc)
{
    remove_handlers(ioc);
    ioc->ctx = NULL;
}

/* Yield once through the event loop, for channels that are always ready. */
static void coroutine_fn yield_once(void)
{
    aio_co_schedule(qemu_get_current_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

void coroutine_fn qio_channel_yield(QIOChannel *ioc,
                                    GIOCondition condition)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine **slot;

    assert(qemu_in_coroutine());
    assert(condition == G_IO_IN || condition == G_IO_OUT);
    if (!QIO_CHANNEL_GET_CLASS(ioc)->io_set_aio_fd_handler) {
        yield_once();
        return;
    }
    slot = condition == G_IO_IN ? &ioc->read_coroutine
                                : &ioc->write_coroutine;
    assert(*slot == NULL);
    *slot = self;
    update_handlers(ioc);
    qemu_coroutine_yield();

    /* Entered by someone else: the handler did not clear the slot. */
    if (*slot == self) {
        *slot = NULL;
        update_handlers(ioc);
    }
}

void qio_channel_set_aio_fd_handler(QIOChannel *ioc,
                                    AioContext *ctx,
                                    IOHandler *io_read,
                                    IOHandler *io_write,
                                    void *opaque)
{
    QIOChannelClass *klass = QIO_CHANNEL_GET_CLASS(ioc);

    if (klass->io_set_aio_fd_handler) {
        klass->io_set_aio_fd_handler(ioc, ctx, io_read, io_write, opaque);
    }
}

/* ---- type --------------------------------------------------------------- */

static void qio_channel_finalize(Object *obj)
{
    QIOChannel *ioc = QIO_CHANNEL(obj);

    /* A coroutine still waiting on a dying channel is a caller bug. */
    assert(!ioc->read_coroutine && !ioc->write_coroutine);
    g_free(ioc->name);
}

static const TypeInfo qio_channel_info = {
    .name = TYPE_QIO_CHANNEL,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(QIOChannel),
    .instance_finalize = qio_channel_finalize,
    .abstract = true,
    .class_size = sizeof(QIOChannelClass),
};

static void qio_channel_register_types(void)
{
    type_register_static(&qio_channel_info);
}

type_init(qio_channel_register_types);
