/*
 * QIOChannel: the abstract byte-stream channel every Spindle transport
 * derives from (sockets, files, pipes, child processes, memory buffers,
 * TLS, WebSocket).
 *
 * What a channel offers, compared with a raw fd:
 *   - a class hierarchy (qom/object.h): a subclass fills the callbacks of
 *     QIOChannelClass and inherits everything else;
 *   - scatter/gather I/O on struct iovec, with "_all" helpers that loop
 *     over partial transfers;
 *   - the same code path for blocking and non-blocking use: a
 *     non-blocking channel that cannot make progress returns
 *     QIO_CHANNEL_ERR_BLOCK, and the "_all" helpers then wait by yielding
 *     the calling coroutine (qio_channel_yield) or, outside coroutines, by
 *     running a private nested GLib loop (qio_channel_wait);
 *   - Error objects instead of errno for every failure;
 *   - file-descriptor passing where the transport supports it;
 *   - GSource watches for GLib main loops, and fd handlers for AioContext
 *     event loops (used by qio_channel_yield).
 *
 * Threads: a channel object is used by one thread at a time, except for
 * qio_channel_shutdown(), which any thread may call at any moment, and
 * reference counting.  A coroutine that waits in qio_channel_yield()
 * is resumed in the AioContext the channel is attached to.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_H
#define QIO_CHANNEL_H

#include "qemu/osdep.h"
#include "qom/object.h"
#include "qemu/coroutine.h"
#include "block/aio.h"

#define TYPE_QIO_CHANNEL "qio-channel"
OBJECT_DECLARE_TYPE(QIOChannel, QIOChannelClass,
                    QIO_CHANNEL)

/*
 * Returned (as ssize_t) by the read and write functions of a non-blocking
 * channel that can transfer nothing right now.  No Error is set with it.
 */
#define QIO_CHANNEL_ERR_BLOCK -2

typedef enum QIOChannelFeature QIOChannelFeature;

/* Optional abilities of a channel; bit numbers in QIOChannel.features. */
enum QIOChannelFeature {
    QIO_CHANNEL_FEATURE_FD_PASS,    /* can send/receive file descriptors */
    QIO_CHANNEL_FEATURE_SHUTDOWN,   /* implements qio_channel_shutdown() */
    QIO_CHANNEL_FEATURE_LISTEN,     /* a listening socket: accept, no I/O */
};

typedef enum QIOChannelShutdown QIOChannelShutdown;

/* Which direction(s) qio_channel_shutdown() stops. */
enum QIOChannelShutdown {
    QIO_CHANNEL_SHUTDOWN_READ = 1,
    QIO_CHANNEL_SHUTDOWN_WRITE = 2,
    QIO_CHANNEL_SHUTDOWN_BOTH = 3,
};

/*
 * Callback of a channel watch: @condition holds the watched conditions
 * that are ready.  Return FALSE (G_SOURCE_REMOVE) to remove the watch,
 * TRUE to keep it.
 */
typedef gboolean (*QIOChannelFunc)(QIOChannel *ioc,
                                   GIOCondition condition,
                                   gpointer data);

/*
 * QIOChannel: the instance header of every channel.
 *
 * The public fields follow QEMU's layout:
 * @features: bitmask of (1 << QIOChannelFeature); set by the subclass
 *   while constructing the object, read-only afterwards.
 * @name: debugging name (qio_channel_set_name), also given to watches.
 * @ctx: the AioContext set with qio_channel_attach_aio_context(), or NULL
 *   (qio_channel_yield then uses the caller's current AioContext).
 * @read_coroutine, @write_coroutine: the coroutine waiting in
 *   qio_channel_yield() for G_IO_IN / G_IO_OUT, or NULL.
 * The coroutine fields and @ctx are touched only by the thread that runs
 * the channel's AioContext (or by a thread holding that context).
 */
struct QIOChannel {
    Object parent;
    unsigned int features; /* bitmask of QIOChannelFeatures */
    char *name;
    AioContext *ctx;
    Coroutine *read_coroutine;
    Coroutine *write_coroutine;

    /* private: */
    /* Where the fd handlers for the waiting coroutines are installed. */
    AioContext *handler_ctx;
};

/*
 * QIOChannelClass: what a subclass implements.
 *
 * The first five callbacks are mandatory; each has the meaning of the
 * public function of the same name below (io_readv/io_writev are the
 * _full variants; fds are only ever passed when the channel has
 * QIO_CHANNEL_FEATURE_FD_PASS, the base class checks that).
 * The others are optional; the base class supplies the fallback described
 * at each public function.  io_shutdown must be thread-safe, return
 * quickly and never block: it may run while another thread is blocked in
 * io_readv or io_writev on the same channel, and must wake it.
 */
struct QIOChannelClass {
    ObjectClass parent;

    /* Mandatory callbacks */
    ssize_t (*io_writev)(QIOChannel *ioc,
                         const struct iovec *iov,
                         size_t niov,
                         int *fds,
                         size_t nfds,
                         Error **errp);
    ssize_t (*io_readv)(QIOChannel *ioc,
                        const struct iovec *iov,
                        size_t niov,
                        int **fds,
                        size_t *nfds,
                        Error **errp);
    int (*io_close)(QIOChannel *ioc,
                    Error **errp);
    GSource * (*io_create_watch)(QIOChannel *ioc,
                                 GIOCondition condition);
    int (*io_set_blocking)(QIOChannel *ioc,
                           bool enabled,
                           Error **errp);

    /* Optional callbacks */
    int (*io_shutdown)(QIOChannel *ioc,
                       QIOChannelShutdown how,
                       Error **errp);
    void (*io_set_cork)(QIOChannel *ioc,
                        bool enabled);
    void (*io_set_delay)(QIOChannel *ioc,
                         bool enabled);
    off_t (*io_seek)(QIOChannel *ioc,
                     off_t offset,
                     int whence,
                     Error **errp);
    void (*io_set_aio_fd_handler)(QIOChannel *ioc,
                                  AioContext *ctx,
                                  IOHandler *io_read,
                                  IOHandler *io_write,
                                  void *opaque);
};

/* ---- features and naming ------------------------------------------------ */

/*
 * qio_channel_has_feature: whether @ioc supports @feature.  Any thread.
 */
bool qio_channel_has_feature(QIOChannel *ioc,
                             QIOChannelFeature feature);

/*
 * qio_channel_set_feature: mark @feature as supported by @ioc.  Meant for
 * subclass constructors, before the channel is shared with other threads.
 */
void qio_channel_set_feature(QIOChannel *ioc,
                             QIOChannelFeature feature);

/*
 * qio_channel_set_name: replace the debugging name of @ioc with a copy of
 * @name (NULL clears it).  Watches created afterwards carry the name
 * (g_source_get_name).  Thread that owns the channel.
 */
void qio_channel_set_name(QIOChannel *ioc,
                          const char *name);

/* ---- single-shot I/O ---------------------------------------------------- */

/*
 * qio_channel_readv_full: read into the @niov buffers of @iov, filling
 * each one before the next.  A blocking channel waits until at least one
 * byte arrives (or end-of-file); fewer bytes than requested is normal.
 * A non-blocking channel with nothing to read returns
 * QIO_CHANNEL_ERR_BLOCK without setting @errp.
 *
 * @fds/@nfds: when non-NULL, receive file descriptors sent along with the
 * data: *@fds becomes a g_malloc'ed array of *@nfds descriptors (NULL and
 * 0 when none came); the caller closes each and g_free()s the array.
 * Asking for descriptors on a channel without QIO_CHANNEL_FEATURE_FD_PASS
 * fails with "channel does not support file descriptor passing".
 *
 * Returns the number of bytes read (0 = end-of-file), -1 with @errp set on
 * failure (also after qio_channel_close), or QIO_CHANNEL_ERR_BLOCK.
 * Any thread that owns the channel; coroutine or not (it never yields).
 */
ssize_t qio_channel_readv_full(QIOChannel *ioc,
                               const struct iovec *iov,
                               size_t niov,
                               int **fds,
                               size_t *nfds,
                               Error **errp);

/*
 * qio_channel_writev_full: write from the @niov buffers of @iov, each one
 * completely before the next.  A blocking channel waits until at least
 * one byte can be written; writing fewer bytes than offered is normal.  A
 * non-blocking channel that can take nothing returns
 * QIO_CHANNEL_ERR_BLOCK without setting @errp.
 *
 * @fds/@nfds: descriptors to send with the data (they stay owned by the
 * caller); all of them go out if at least one byte is written.  Sending
 * descriptors (@nfds > 0 or @fds non-NULL) on a channel without
 * QIO_CHANNEL_FEATURE_FD_PASS fails with "channel does not support file
 * descriptor passing".
 *
 * Returns the number of bytes written, -1 with @errp set on failure, or
 * QIO_CHANNEL_ERR_BLOCK.  Never yields.
 */
ssize_t qio_channel_writev_full(QIOChannel *ioc,
                                const struct iovec *iov,
                                size_t niov,
                                int *fds,
                                size_t nfds,
                                Error **errp);

/* ---- looping I/O -------------------------------------------------------- */

/*
 * qio_channel_readv_all_eof: read until every byte of @iov is filled.
 * Partial reads are continued; when the channel would block the caller
 * waits: inside a coroutine by qio_channel_yield(G_IO_IN), outside by
 * qio_channel_wait(G_IO_IN) (a nested private GLib loop: the calling
 * thread sleeps, nothing else it owns runs meanwhile).
 *
 * Returns 1 when @iov was filled; 0 when end-of-file came before the
 * first byte (no error: a clean end of stream); -1 with @errp set on a
 * failure or when end-of-file came part-way ("unexpected end-of-file
 * before all data were read").  On -1 the buffers hold whatever arrived.
 */
int qio_channel_readv_all_eof(QIOChannel *ioc,
                              const struct iovec *iov,
                              size_t niov,
                              Error **errp);

/*
 * qio_channel_readv_all: as qio_channel_readv_all_eof, but end-of-file
 * before the first byte is an error too.  Returns 0 when @iov was filled,
 * -1 with @errp set otherwise.
 */
int qio_channel_readv_all(QIOChannel *ioc,
                          const struct iovec *iov,
                          size_t niov,
                          Error **errp);

/*
 * qio_channel_readv_full_all_eof: as qio_channel_readv_all_eof, also
 * receiving file descriptors (see qio_channel_readv_full for @fds/@nfds).
 * On any return other than 1, no descriptors are handed back (*@fds is
 * NULL, *@nfds 0; any that arrived are closed).  Not in the seed; QEMU's
 * own tree has it with this signature.
 */
int qio_channel_readv_full_all_eof(QIOChannel *ioc,
                                   const struct iovec *iov,
                                   size_t niov,
                                   int **fds, size_t *nfds,
                                   Error **errp);

/*
 * qio_channel_readv_full_all: as qio_channel_readv_full_all_eof, with
 * end-of-file before the first byte an error.  Returns 0 or -1.
 */
int qio_channel_readv_full_all(QIOChannel *ioc,
                               const struct iovec *iov,
                               size_t niov,
                               int **fds, size_t *nfds,
                               Error **errp);

/*
 * qio_channel_writev_all: write every byte of @iov, continuing after
 * partial writes and waiting when the channel would block (yield inside a
 * coroutine, nested private loop outside, as for readv_all_eof).
 * Returns 0 when everything was written, -1 with @errp set otherwise
 * (some bytes may have gone out).
 */
int qio_channel_writev_all(QIOChannel *ioc,
                           const struct iovec *iov,
                           size_t niov,
                           Error **errp);

/*
 * qio_channel_writev_full_all: as qio_channel_writev_all, also sending
 * @nfds descriptors from @fds; they go out exactly once, with the first
 * chunk of data that is written.  Not in the seed; QEMU's own tree has it
 * with this signature.
 */
int qio_channel_writev_full_all(QIOChannel *ioc,
                                const struct iovec *iov,
                                size_t niov,
                                int *fds, size_t nfds,
                                Error **errp);

/* ---- convenience wrappers ----------------------------------------------- */

/* qio_channel_readv: qio_channel_readv_full without descriptors. */
ssize_t qio_channel_readv(QIOChannel *ioc,
                          const struct iovec *iov,
                          size_t niov,
                          Error **errp);

/* qio_channel_writev: qio_channel_writev_full without descriptors. */
ssize_t qio_channel_writev(QIOChannel *ioc,
                           const struct iovec *iov,
                           size_t niov,
                           Error **errp);

/* qio_channel_read: qio_channel_readv with the single buffer @buf. */
ssize_t qio_channel_read(QIOChannel *ioc,
                         char *buf,
                         size_t buflen,
                         Error **errp);

/* qio_channel_write: qio_channel_writev with the single buffer @buf. */
ssize_t qio_channel_write(QIOChannel *ioc,
                          const char *buf,
                          size_t buflen,
                          Error **errp);

/*
 * qio_channel_read_all_eof: qio_channel_readv_all_eof on one buffer.
 * Returns 1 (filled), 0 (end-of-file before any byte) or -1 (error).
 */
int qio_channel_read_all_eof(QIOChannel *ioc,
                             char *buf,
                             size_t buflen,
                             Error **errp);

/*
 * qio_channel_read_all: qio_channel_readv_all on one buffer.
 * Returns 0 (filled) or -1 (error, including any end-of-file).
 */
int qio_channel_read_all(QIOChannel *ioc,
                         char *buf,
                         size_t buflen,
                         Error **errp);

/*
 * qio_channel_write_all: qio_channel_writev_all on one buffer.
 * Returns 0 (all written) or -1 (error).
 */
int qio_channel_write_all(QIOChannel *ioc,
                          const char *buf,
                          size_t buflen,
                          Error **errp);

/* ---- modes and control -------------------------------------------------- */

/*
 * qio_channel_set_blocking: put @ioc in blocking (@enabled) or
 * non-blocking mode.  In non-blocking mode reads and writes that would
 * wait return QIO_CHANNEL_ERR_BLOCK instead.  Returns 0, or -1 with
 * @errp set.  Channels start in blocking mode unless their constructor
 * says otherwise.
 */
int qio_channel_set_blocking(QIOChannel *ioc,
                             bool enabled,
                             Error **errp);

/*
 * qio_channel_close: flush what the class buffers and release the
 * transport (fd, child process, ...).  Afterwards every read or write
 * fails with an Error.  Returns 0, or -1 with @errp set (e.g. a command
 * channel whose child failed); the channel counts as closed either way.
 * Watches and fd handlers must be removed by the caller first.
 */
int qio_channel_close(QIOChannel *ioc,
                      Error **errp);

/*
 * qio_channel_shutdown: stop reading and/or writing (@how) without
 * releasing the transport: a reader blocked in another thread wakes up
 * and sees end-of-file, a writer gets an error.  Any thread, at any
 * time; returns quickly and never blocks.  Channels without
 * QIO_CHANNEL_FEATURE_SHUTDOWN fail with an Error.  Returns 0 or -1.
 */
int qio_channel_shutdown(QIOChannel *ioc,
                         QIOChannelShutdown how,
                         Error **errp);

/*
 * qio_channel_set_delay: hint whether the transport may hold back small
 * writes to merge them (@enabled, the default) or must send each at once
 * (for sockets: the opposite of TCP_NODELAY).  Classes may ignore it.
 */
void qio_channel_set_delay(QIOChannel *ioc,
                           bool enabled);

/*
 * qio_channel_set_cork: hint that written data should be held back
 * (@enabled) until the cork is removed, typically used with delay
 * disabled to build one packet from several writes (for sockets:
 * TCP_CORK).  Classes may ignore it.
 */
void qio_channel_set_cork(QIOChannel *ioc,
                          bool enabled);

/*
 * qio_channel_io_seek: move the I/O position to @offset relative to
 * @whence: SEEK_SET (start), SEEK_CUR (current position) or SEEK_END
 * (end of data).  Returns the new position from the start, or (off_t)-1
 * with @errp set when the class or the underlying object cannot seek.
 */
off_t qio_channel_io_seek(QIOChannel *ioc,
                          off_t offset,
                          int whence,
                          Error **errp);

/* ---- GLib watches ------------------------------------------------------- */

/*
 * qio_channel_create_watch: a new, unattached GSource that becomes ready
 * when any of @condition (G_IO_IN, G_IO_OUT, G_IO_HUP, G_IO_ERR, ...)
 * holds on @ioc.  Its callback has the QIOChannelFunc type and receives
 * only the requested conditions that are ready.  The source takes a
 * reference on @ioc and carries the channel's name.  Caller owns the
 * returned reference.
 */
GSource *qio_channel_create_watch(QIOChannel *ioc,
                                  GIOCondition condition);

/*
 * qio_channel_add_watch: create a watch for @condition, set @func with
 * @user_data as its callback (@notify frees @user_data when the watch is
 * destroyed; may be NULL) and attach it to the default GMainContext.
 * Returns the source ID for g_source_remove(); @func returning FALSE also
 * removes it.
 */
guint qio_channel_add_watch(QIOChannel *ioc,
                            GIOCondition condition,
                            QIOChannelFunc func,
                            gpointer user_data,
                            GDestroyNotify notify);

/*
 * qio_channel_add_watch_full: as qio_channel_add_watch, attached to
 * @context (NULL = the default context).  Remove it with
 * g_source_destroy(g_main_context_find_source_by_id(context, id)) when
 * @context is not the default one.
 */
guint qio_channel_add_watch_full(QIOChannel *ioc,
                                 GIOCondition condition,
                                 QIOChannelFunc func,
                                 gpointer user_data,
                                 GDestroyNotify notify,
                                 GMainContext *context);

/*
 * qio_channel_add_watch_source: as qio_channel_add_watch_full, returning
 * the attached GSource itself; the caller owns one reference to it and
 * must g_source_unref() it (and g_source_destroy() it to stop watching).
 */
GSource *qio_channel_add_watch_source(QIOChannel *ioc,
                                      GIOCondition condition,
                                      QIOChannelFunc func,
                                      gpointer user_data,
                                      GDestroyNotify notify,
                                      GMainContext *context);

/* ---- AioContext and coroutines ------------------------------------------ */

/*
 * qio_channel_attach_aio_context: make qio_channel_yield() install its fd
 * handlers in @ctx (NULL: in the AioContext current in the yielding
 * thread, see qio_channel_yield).
 *
 * Moving a waiting coroutine to another context: with the old context
 * held (aio_context_acquire), call qio_channel_detach_aio_context(); then
 * qio_channel_attach_aio_context(new_ctx), release, and
 * aio_co_schedule(new_ctx, co).  The coroutine resumes in its new home,
 * returns from qio_channel_yield early and (inside the "_all" loops)
 * retries and waits again there.  Attach never installs a handler for a
 * coroutine that is already waiting (if one is installed in another
 * context, it is removed): the reschedule above is what moves it, so
 * readiness in the new context cannot race with it.  Attaching the
 * context a coroutine already waits in changes nothing.  The channel
 * does not synchronise yield with attach/detach; the caller makes sure
 * the coroutine is not entered concurrently.
 */
void qio_channel_attach_aio_context(QIOChannel *ioc,
                                    AioContext *ctx);

/*
 * qio_channel_detach_aio_context: remove the fd handlers installed for
 * coroutines waiting in qio_channel_yield() and forget @ioc->ctx.  The
 * waiting coroutines stay recorded and are not resumed until someone
 * enters them (see attach).  Caller holds the old context.
 */
void qio_channel_detach_aio_context(QIOChannel *ioc);

/*
 * qio_channel_yield: suspend the calling coroutine until @ioc is ready for
 * @condition, which is exactly one of G_IO_IN and G_IO_OUT.  At most one
 * coroutine may wait per channel and direction.  The fd handler goes into
 * @ioc->ctx, or when that is NULL into qemu_get_current_aio_context() of
 * the calling thread (QEMU's seed says "the main loop"; for the main
 * thread the two are the same).  The coroutine is resumed from that
 * context with aio_co_wake().
 *
 * Anyone may also enter the coroutine early (aio_co_wake, aio_co_schedule,
 * qemu_coroutine_enter): the function then returns even though
 * @condition may not hold, having removed its handler.  Callers loop.
 *
 * A class without io_set_aio_fd_handler is taken to be always ready: the
 * coroutine is rescheduled in the current context and returns after one
 * trip through the event loop.  Coroutine context only.
 */
void coroutine_fn qio_channel_yield(QIOChannel *ioc,
                                    GIOCondition condition);

/*
 * qio_channel_wait: block the calling thread until @ioc is ready for
 * @condition, or hung up or in error (so that the caller's next read or
 * write reports end-of-file or the error rather than waiting forever).
 * Runs a private nested GLib main loop (one GMainContext
 * per thread, reused) on a channel watch: nothing else is dispatched
 * meanwhile, so a thread's own event loop is paused.  Not for use in a
 * coroutine (use qio_channel_yield there).
 */
void qio_channel_wait(QIOChannel *ioc,
                      GIOCondition condition);

/*
 * qio_channel_set_aio_fd_handler: install @io_read/@io_write (either may
 * be NULL; both NULL removes them) for @ioc's underlying fd(s) in @ctx,
 * called with @opaque.  Used by qio_channel_yield(); classes layered on
 * another channel (TLS, WebSocket) forward it to the inner channel.
 * A class without the callback ignores the call.  Thread that runs @ctx,
 * or with @ctx held.
 */
void qio_channel_set_aio_fd_handler(QIOChannel *ioc,
                                    AioContext *ctx,
                                    IOHandler *io_read,
                                    IOHandler *io_write,
                                    void *opaque);

#endif /* QIO_CHANNEL_H */
