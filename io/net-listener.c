/*
 * QIONetListener: several listening sockets, one client callback.
 *
 * Each listening channel is watched for G_IO_IN either by a GSource in a
 * GMainContext or by an fd handler in an AioContext; when it fires, one
 * client is accepted (the listening sockets are non-blocking, so a client
 * that vanished before accept costs nothing) and handed to the callback.
 *
 * Not here: per-client state, limits on clients or TLS; callers do that
 * in their callback (and may drop the callback while at a limit).
 *
 * Key invariant: every watch or handler holds a reference to the
 * listener, and the callback is read and called only with the listener's
 * recursive lock held.  So once set_client_func (or disconnect) returns,
 * the old callback is not running and will not run again, and a watch
 * that fires late finds either the new callback or none.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/aio.h"

/* An fd handler in an AioContext for one listening channel. */
typedef struct NetListenerAioWatch {
    QIONetListener *listener;   /* referenced */
    QIOChannelSocket *sioc;     /* referenced */
    AioContext *ctx;
    int fd;
} NetListenerAioWatch;

QIONetListener *qio_net_listener_new(void)
{
    return QIO_NET_LISTENER(object_new(TYPE_QIO_NET_LISTENER));
}

void qio_net_listener_set_name(QIONetListener *listener, const char *name)
{
    qemu_rec_mutex_lock(&listener->lock);
    g_free(listener->name);
    listener->name = g_strdup(name);
    qemu_rec_mutex_unlock(&listener->lock);
}

/* ---- accepting ---------------------------------------------------------- */

/* Accept one client on @lsioc and give it to the callback, if any. */
static void accept_client(QIONetListener *listener, QIOChannelSocket *lsioc)
{
    QIOChannelSocket *sioc;

    qemu_rec_mutex_lock(&listener->lock);
    if (listener->io_func && listener->connected && lsioc->fd >= 0) {
        sioc = qio_channel_socket_accept(lsioc, NULL);
        if (sioc) {
            listener->io_func(listener, sioc, listener->io_data);
            object_unref(sioc);
        }
    }
    qemu_rec_mutex_unlock(&listener->lock);
}

static gboolean channel_ready(QIOChannel *ioc, GIOCondition condition,
                              gpointer opaque)
{
    accept_client(QIO_NET_LISTENER(opaque), QIO_CHANNEL_SOCKET(ioc));
    return G_SOURCE_CONTINUE;
}

static void aio_ready(void *opaque)
{
    NetListenerAioWatch *w = opaque;

    accept_client(w->listener, w->sioc);
}

/* ---- watches (all called with the lock held) ---------------------------- */

static NetListenerAioWatch *aio_watch_add(QIONetListener *listener,
                                          QIOChannelSocket *sioc)
{
    NetListenerAioWatch *w = g_new0(NetListenerAioWatch, 1);

    w->listener = QIO_NET_LISTENER(object_ref(listener));
    w->sioc = QIO_CHANNEL_SOCKET(object_ref(sioc));
    w->ctx = listener->aio_context;
    w->fd = sioc->fd;
    aio_set_fd_handler(w->ctx, w->fd, aio_ready, NULL, w);
    return w;
}

static void aio_watch_free_bh(void *opaque)
{
    NetListenerAioWatch *w = opaque;

    object_unref(w->sioc);
    object_unref(w->listener);
    g_free(w);
}

/*
 * The handler may be running right now in the context's thread (even in
 * this very call stack), so its memory and references are released from
 * a bottom half there, after any dispatch in progress has finished.
 */
static void aio_watch_remove(NetListenerAioWatch *w)
{
    aio_set_fd_handler(w->ctx, w->fd, NULL, NULL, NULL);
    aio_bh_schedule_oneshot(w->ctx, aio_watch_free_bh, w);
}

static void watch_one(QIONetListener *listener, size_t i)
{
    QIOChannelSocket *sioc = listener->sioc[i];

    if (!listener->io_func || !listener->connected || sioc->fd < 0) {
        return;
    }
    if (listener->aio_context) {
        listener->aio_watch[i] = aio_watch_add(listener, sioc);
        return;
    }
    listener->io_source[i] = qio_channel_add_watch_source(
        QIO_CHANNEL(sioc), G_IO_IN, channel_ready, object_ref(listener),
        object_unref, listener->context);
}

static void unwatch_one(QIONetListener *listener, size_t i)
{
    if (listener->io_source[i]) {
        g_source_destroy(listener->io_source[i]);
        g_source_unref(listener->io_source[i]);
        listener->io_source[i] = NULL;
    }
    if (listener->aio_watch[i]) {
        aio_watch_remove(listener->aio_watch[i]);
        listener->aio_watch[i] = NULL;
    }
}

static void watch_all(QIONetListener *listener)
{
    for (size_t i = 0; i < listener->nsioc; i++) {
        watch_one(listener, i);
    }
}

static void unwatch_all(QIONetListener *listener)
{
    for (size_t i = 0; i < listener->nsioc; i++) {
        unwatch_one(listener, i);
    }
}

/* ---- channels ----------------------------------------------------------- */

void qio_net_listener_add(QIONetListener *listener, QIOChannelSocket *sioc)
{
    size_t n;

    qemu_rec_mutex_lock(&listener->lock);
    if (listener->name) {
        g_autofree char *name = g_strdup_printf("%s-listen", listener->name);

        qio_channel_set_name(QIO_CHANNEL(sioc), name);
    }
    qio_channel_set_blocking(QIO_CHANNEL(sioc), false, NULL);
    n = listener->nsioc++;
    listener->sioc = g_renew(QIOChannelSocket *, listener->sioc, n + 1);
    listener->io_source = g_renew(GSource *, listener->io_source, n + 1);
    listener->aio_watch = g_renew(NetListenerAioWatch *,
                                  listener->aio_watch, n + 1);
    listener->sioc[n] = QIO_CHANNEL_SOCKET(object_ref(sioc));
    listener->io_source[n] = NULL;
    listener->aio_watch[n] = NULL;
    listener->connected = true;
    watch_one(listener, n);
    qemu_rec_mutex_unlock(&listener->lock);
}

/*
 * After the first socket of several opened: the port it got when the
 * kernel (port 0) or a to= range chose it, for the others to use too, so
 * that every address of a host name is served on one port.  NULL when
 * the port was given outright.
 */
static char *chosen_port(SocketAddress *addr, QIOChannelSocket *sioc)
{
    g_autoptr(SocketAddress) local = NULL;

    if (addr->type != SOCKET_ADDRESS_TYPE_INET ||
        (strcmp(addr->u.inet.port, "0") && !addr->u.inet.has_to)) {
        return NULL;
    }
    local = qio_channel_socket_get_local_address(sioc, NULL);
    return local ? g_strdup(local->u.inet.port) : NULL;
}

/* Make @addr (INET) name exactly @port. */
static void use_port(SocketAddress *addr, const char *port)
{
    g_free(addr->u.inet.port);
    addr->u.inet.port = g_strdup(port);
    addr->u.inet.has_to = false;
}

int qio_net_listener_open_sync(QIONetListener *listener,
                               SocketAddress *addr,
                               int num,
                               Error **errp)
{
    g_autoptr(GPtrArray) addrs = socket_address_resolve_listen(addr, errp);
    g_autofree char *port = NULL;
    Error *err = NULL;
    bool ok = false;

    if (!addrs) {
        return -1;
    }
    for (guint i = 0; i < addrs->len; i++) {
        SocketAddress *a = addrs->pdata[i];
        g_autoptr(QIOChannelSocket) sioc = qio_channel_socket_new();

        if (port) {
            use_port(a, port);
        }
        if (qio_channel_socket_listen_sync(sioc, a, num,
                                           err ? NULL : &err) == 0) {
            ok = true;
            qio_net_listener_add(listener, sioc);
            port = port ? port : chosen_port(a, sioc);
        }
    }
    if (ok) {
        error_free(err);
        return 0;
    }
    error_propagate(errp, err);
    return -1;
}

/* ---- callbacks ---------------------------------------------------------- */

/* Replace the callback; the caller then sets where watches go. */
static void set_func_locked(QIONetListener *listener,
                            QIONetListenerClientFunc func, gpointer data,
                            GDestroyNotify notify)
{
    unwatch_all(listener);
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    listener->io_func = func;
    listener->io_data = data;
    listener->io_notify = notify;
    if (listener->context) {
        g_main_context_unref(listener->context);
        listener->context = NULL;
    }
    listener->aio_context = NULL;
}

void qio_net_listener_set_client_func_full(QIONetListener *listener,
                                           QIONetListenerClientFunc func,
                                           gpointer data,
                                           GDestroyNotify notify,
                                           GMainContext *context)
{
    qemu_rec_mutex_lock(&listener->lock);
    set_func_locked(listener, func, data, notify);
    listener->context = context ? g_main_context_ref(context) : NULL;
    watch_all(listener);
    qemu_rec_mutex_unlock(&listener->lock);
}

void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data,
                                      GDestroyNotify notify)
{
    qio_net_listener_set_client_func_full(listener, func, data, notify,
                                          NULL);
}

void qio_net_listener_set_client_aio_func(QIONetListener *listener,
                                          QIONetListenerClientFunc func,
                                          gpointer data,
                                          GDestroyNotify notify,
                                          AioContext *ctx)
{
    qemu_rec_mutex_lock(&listener->lock);
    set_func_locked(listener, func, data, notify);
    listener->aio_context = ctx ? ctx : qemu_get_aio_context();
    watch_all(listener);
    qemu_rec_mutex_unlock(&listener->lock);
}

/* ---- synchronous wait --------------------------------------------------- */

typedef struct WaitData {
    QIOChannelSocket *sioc;
    GMainLoop *loop;
} WaitData;

static gboolean wait_ready(QIOChannel *ioc, GIOCondition condition,
                           gpointer opaque)
{
    WaitData *data = opaque;

    /* Two channels may be ready in one iteration: keep the first client. */
    if (!data->sioc) {
        data->sioc = qio_channel_socket_accept(QIO_CHANNEL_SOCKET(ioc),
                                               NULL);
        if (data->sioc) {
            g_main_loop_quit(data->loop);
        }
    }
    return G_SOURCE_CONTINUE;
}

/* Run a private loop on the open channels in @chans until one accepts. */
static QIOChannelSocket *wait_on(GPtrArray *chans)
{
    GMainContext *ctx = g_main_context_new();
    WaitData data = { .loop = g_main_loop_new(ctx, false) };
    g_autoptr(GPtrArray) sources =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_source_unref);

    for (guint i = 0; i < chans->len; i++) {
        g_ptr_array_add(sources, qio_channel_add_watch_source(
                            chans->pdata[i], G_IO_IN, wait_ready, &data,
                            NULL, ctx));
    }
    g_main_loop_run(data.loop);
    for (guint i = 0; i < sources->len; i++) {
        g_source_destroy(sources->pdata[i]);
    }
    g_main_loop_unref(data.loop);
    g_main_context_unref(ctx);
    return data.sioc;
}

QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener)
{
    g_autoptr(GPtrArray) chans = g_ptr_array_new_with_free_func(object_unref);
    QIOChannelSocket *sioc = NULL;

    qemu_rec_mutex_lock(&listener->lock);
    unwatch_all(listener);
    for (size_t i = 0; i < listener->nsioc; i++) {
        if (listener->connected && listener->sioc[i]->fd >= 0) {
            g_ptr_array_add(chans, object_ref(listener->sioc[i]));
        }
    }
    qemu_rec_mutex_unlock(&listener->lock);

    if (chans->len) {
        sioc = wait_on(chans);
    }

    qemu_rec_mutex_lock(&listener->lock);
    watch_all(listener);
    qemu_rec_mutex_unlock(&listener->lock);
    return sioc;
}

/* ---- shutdown ----------------------------------------------------------- */

void qio_net_listener_disconnect(QIONetListener *listener)
{
    qemu_rec_mutex_lock(&listener->lock);
    if (listener->connected) {
        unwatch_all(listener);
        for (size_t i = 0; i < listener->nsioc; i++) {
            qio_channel_close(QIO_CHANNEL(listener->sioc[i]), NULL);
        }
        listener->connected = false;
    }
    qemu_rec_mutex_unlock(&listener->lock);
}

bool qio_net_listener_is_connected(QIONetListener *listener)
{
    bool connected;

    qemu_rec_mutex_lock(&listener->lock);
    connected = listener->connected;
    qemu_rec_mutex_unlock(&listener->lock);
    return connected;
}

/* ---- type --------------------------------------------------------------- */

static void net_listener_init(Object *obj)
{
    qemu_rec_mutex_init(&QIO_NET_LISTENER(obj)->lock);
}

static void net_listener_finalize(Object *obj)
{
    QIONetListener *listener = QIO_NET_LISTENER(obj);

    /* No watch is left: each held a reference, and this is the last. */
    qio_net_listener_disconnect(listener);
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    for (size_t i = 0; i < listener->nsioc; i++) {
        object_unref(listener->sioc[i]);
    }
    g_free(listener->sioc);
    g_free(listener->io_source);
    g_free(listener->aio_watch);
    if (listener->context) {
        g_main_context_unref(listener->context);
    }
    g_free(listener->name);
    qemu_rec_mutex_destroy(&listener->lock);
}

static const TypeInfo net_listener_info = {
    .name = TYPE_QIO_NET_LISTENER,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(QIONetListener),
    .instance_init = net_listener_init,
    .instance_finalize = net_listener_finalize,
};

static void net_listener_register_types(void)
{
    type_register_static(&net_listener_info);
}

type_init(net_listener_register_types);
