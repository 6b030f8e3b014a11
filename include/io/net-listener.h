/*
 * QIONetListener: a network service's listening end.  It owns one or more
 * listening QIOChannelSockets (a host name may resolve to several
 * addresses, e.g. an IPv4 and an IPv6 one), accepts clients on all of
 * them and hands each new client channel to one callback.
 *
 * The callback runs from an event loop of the caller's choice: a
 * GMainContext (qio_net_listener_set_client_func_full; for an IOThread
 * pass iothread_get_g_main_context()) or an AioContext
 * (qio_net_listener_set_client_aio_func, fd handlers in that context).
 * Without a callback, qio_net_listener_wait_client() accepts one client
 * synchronously.
 *
 * Life cycle: while a callback is set, the watches hold a reference to
 * the listener, so dropping the caller's reference alone does not stop
 * it: call qio_net_listener_disconnect() (or set a NULL callback) first.
 *
 * Threads: the fields below are guarded by an internal recursive lock.
 * The callback runs with that lock held, so from inside it the callback
 * may change the callback or disconnect; another thread doing so waits
 * until the running callback returns, and once it has returned the old
 * callback is never called again (its notify has run).  The callback
 * must therefore not wait for another thread that uses the listener.
 * For an IOThread's GMainContext, set the callback and disconnect with
 * the IOThread's AioContext acquired: GLib is thread-safe without it, but
 * only then can ThreadSanitizer see the ordering (see iothread.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_NET_LISTENER_H
#define QIO_NET_LISTENER_H

#include "io/channel-socket.h"
#include "qemu/thread.h"

#define TYPE_QIO_NET_LISTENER "qio-net-listener"
OBJECT_DECLARE_SIMPLE_TYPE(QIONetListener, QIO_NET_LISTENER)

/*
 * Called once per accepted client with the new channel (blocking mode).
 * @sioc is borrowed: take a reference (object_ref) to keep it past the
 * return.  Runs in the chosen event loop, with the listener's lock held.
 */
typedef void (*QIONetListenerClientFunc)(QIONetListener *listener,
                                         QIOChannelSocket *sioc,
                                         gpointer data);

/*
 * QIONetListener: the public fields follow QEMU's layout and may be read
 * by the owner (e.g. @nsioc, the number of listening channels, and
 * @sioc[i] to learn their addresses); change them only through the
 * functions below.
 */
struct QIONetListener {
    Object parent;

    char *name;                 /* debugging name, or NULL */
    QIOChannelSocket **sioc;    /* the listening channels (referenced) */
    GSource **io_source;        /* their GSource watches, when in use */
    size_t nsioc;
    bool connected;             /* listening; false after disconnect */

    QIONetListenerClientFunc io_func;
    gpointer io_data;
    GDestroyNotify io_notify;

    /* private: */
    QemuRecMutex lock;          /* guards every field of this struct */
    GMainContext *context;      /* where GSource watches go (referenced) */
    AioContext *aio_context;    /* if set, fd handlers go here instead */
    struct NetListenerAioWatch **aio_watch;  /* per channel, in use */
};

/*
 * qio_net_listener_new: a listener with no channels and no callback.
 * Returns one reference.  Any thread.
 */
QIONetListener *qio_net_listener_new(void);

/*
 * qio_net_listener_set_name: set the debugging name (copied).  Channels
 * added afterwards are named "<name>-listen".
 */
void qio_net_listener_set_name(QIONetListener *listener,
                               const char *name);

/*
 * qio_net_listener_open_sync: listen on @addr with a backlog of @num and
 * add the resulting channels.  A TCP host name is resolved and every
 * address it yields gets its own socket (socket_address_resolve_listen:
 * IPv6 ones v6-only when IPv4 addresses came too, so a name with both
 * kinds of address is served dual-stack); an empty host makes one
 * dual-stack socket.  With port 0 or a to= range, the first socket that
 * opens picks the port and the others use that same port.  Succeeds
 * when at least one socket could be opened.  Blocks in DNS and bind.
 * Returns 0, or -1 with @errp set (the first failure).
 */
int qio_net_listener_open_sync(QIONetListener *listener,
                               SocketAddress *addr,
                               int num,
                               Error **errp);

/*
 * qio_net_listener_add: add the listening channel @sioc (the listener
 * takes its own reference and puts it in non-blocking mode).  If a
 * callback is set, @sioc is watched at once.  Marks the listener
 * connected.
 */
void qio_net_listener_add(QIONetListener *listener,
                          QIOChannelSocket *sioc);

/*
 * qio_net_listener_set_client_func_full: call @func(listener, client,
 * @data) for each accepted client, from GSource watches attached to
 * @context (NULL = the default GMainContext).  Replaces the previous
 * callback (whose notify, if any, is called with its data); @func NULL
 * just removes it.  @notify (may be NULL) frees @data when the callback
 * is replaced or the listener is finalized.
 */
void qio_net_listener_set_client_func_full(QIONetListener *listener,
                                           QIONetListenerClientFunc func,
                                           gpointer data,
                                           GDestroyNotify notify,
                                           GMainContext *context);

/* As _full with the default GMainContext. */
void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data,
                                      GDestroyNotify notify);

/*
 * qio_net_listener_set_client_aio_func: as _full, with the listening
 * sockets watched by fd handlers in @ctx (NULL = the main AioContext),
 * so the callback runs from aio_poll() in @ctx's thread.  When the
 * handlers are removed from another thread, the reference they hold on
 * the listener is dropped from a bottom half in @ctx, so @ctx must keep
 * running until then.
 */
void qio_net_listener_set_client_aio_func(QIONetListener *listener,
                                          QIONetListenerClientFunc func,
                                          gpointer data,
                                          GDestroyNotify notify,
                                          AioContext *ctx);

/*
 * qio_net_listener_wait_client: block until a client connects to any of
 * the channels, accept it and return it (one reference for the caller),
 * without calling the callback.  The callback's watches are suspended
 * meanwhile and restored afterwards.  Returns NULL at once when the
 * listener has no open channel.  Runs a private GMainContext; not in a
 * coroutine.  The owning thread, not concurrently with set_client_func.
 */
QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener);

/*
 * qio_net_listener_disconnect: stop watching and close every listening
 * channel (a UNIX socket file is removed).  The callback stays set but is
 * never called again; the channels stay in @sioc, closed.  Idempotent.
 */
void qio_net_listener_disconnect(QIONetListener *listener);

/* qio_net_listener_is_connected: whether the listener is listening. */
bool qio_net_listener_is_connected(QIONetListener *listener);

#endif /* QIO_NET_LISTENER_H */
