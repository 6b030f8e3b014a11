/*
 * Tracepoints of the library, as an X-macro list:
 *   TRACE_EVENT(name, (prototype), "format", arguments...)
 * One list for the whole library: util/ and io/ include util/trace.h
 * (declarations); util/trace.c holds the state.
 * No include guard on purpose.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* event loop (async.c, aio-posix.c) */
TRACE_EVENT(aio_context_new, (void *ctx, const char *fdmon),
            "ctx %p fdmon %s", ctx, fdmon)
TRACE_EVENT(aio_bh_schedule, (void *ctx, void *bh), "ctx %p bh %p", ctx, bh)
TRACE_EVENT(aio_bh_run, (void *ctx, void *bh), "ctx %p bh %p", ctx, bh)
TRACE_EVENT(aio_co_schedule, (void *ctx, void *co), "ctx %p co %p", ctx, co)
TRACE_EVENT(aio_poll_begin, (void *ctx, int blocking),
            "ctx %p blocking %d", ctx, blocking)
TRACE_EVENT(aio_poll_end, (void *ctx, int progress),
            "ctx %p progress %d", ctx, progress)

/* coroutines (qemu-coroutine.c) */
TRACE_EVENT(qemu_co_enter, (void *from, void *to), "from %p to %p", from, to)
TRACE_EVENT(qemu_co_yield, (void *self, void *to), "self %p to %p", self, to)
TRACE_EVENT(qemu_co_terminate, (void *co), "co %p", co)

/* thread pool (thread-pool.c) */
TRACE_EVENT(thread_pool_submit, (void *pool, void *req, void *func),
            "pool %p req %p func %p", pool, req, func)
TRACE_EVENT(thread_pool_complete, (void *pool, void *req, int ret),
            "pool %p req %p ret %d", pool, req, ret)
TRACE_EVENT(thread_pool_cancel, (void *pool, void *req),
            "pool %p req %p", pool, req)

/* timers (qemu-timer.c) */
TRACE_EVENT(timer_mod, (void *ts, int64_t expire_ns),
            "timer %p expire_ns %" PRId64, ts, expire_ns)
TRACE_EVENT(timer_fire, (void *ts), "timer %p", ts)

/* IOThread (iothread.c) */
TRACE_EVENT(iothread_start, (const char *name), "name %s", name)
TRACE_EVENT(iothread_stop, (const char *name), "name %s", name)

/* I/O channels (io/) */
TRACE_EVENT(qio_channel_close, (void *ioc, const char *name),
            "ioc %p name %s", ioc, name)
TRACE_EVENT(qio_channel_shutdown, (void *ioc, int how),
            "ioc %p how %d", ioc, how)
TRACE_EVENT(qio_channel_socket_connect, (void *ioc, int ret),
            "ioc %p ret %d", ioc, ret)
TRACE_EVENT(qio_channel_socket_listen, (void *ioc, int ret),
            "ioc %p ret %d", ioc, ret)
TRACE_EVENT(qio_channel_socket_accept, (void *ioc, void *client),
            "ioc %p client %p", ioc, client)
TRACE_EVENT(qio_channel_tls_handshake_done, (void *ioc, int ok),
            "ioc %p ok %d", ioc, ok)
TRACE_EVENT(qio_channel_websock_handshake_done, (void *ioc, int ok),
            "ioc %p ok %d", ioc, ok)

/* block layer (block/) */
TRACE_EVENT(bdrv_open, (void *bs, const char *filename, const char *drv),
            "bs %p filename %s drv %s", bs, filename, drv)
TRACE_EVENT(bdrv_close, (void *bs), "bs %p", bs)
TRACE_EVENT(bdrv_request_submit,
            (void *bs, const char *kind, int64_t offset, int64_t bytes),
            "bs %p %s offset %" PRId64 " bytes %" PRId64,
            bs, kind, offset, bytes)
TRACE_EVENT(bdrv_request_complete, (void *bs, const char *kind, int ret),
            "bs %p %s ret %d", bs, kind, ret)
TRACE_EVENT(bdrv_drained_begin, (void *bs), "bs %p", bs)
TRACE_EVENT(bdrv_drained_end, (void *bs), "bs %p", bs)
TRACE_EVENT(bdrv_error_stop, (void *bs, int is_read, int ret),
            "bs %p is_read %d ret %d", bs, is_read, ret)
TRACE_EVENT(bdrv_error_resume, (void *bs), "bs %p", bs)

/* file and host_device drivers (block/file-posix*.c) */
TRACE_EVENT(file_fdatasync, (int fd, int ret), "fd %d ret %d", fd, ret)
TRACE_EVENT(file_fallocate,
            (int fd, int mode, int64_t offset, int64_t len, int ret),
            "fd %d mode 0x%x offset %" PRId64 " len %" PRId64 " ret %d",
            fd, mode, offset, len, ret)
TRACE_EVENT(luring_submit, (void *ring, unsigned sqes, int ret),
            "ring %p sqes %u ret %d", ring, sqes, ret)
