/*
 * aio=threads: the file drivers' I/O as blocking syscalls on the thread
 * pool of the node's AioContext.
 *
 * What it does: one pool job per request, which loops over preadv or
 * pwritev until the whole vector moved: EINTR is retried, a short
 * transfer continues where it stopped, and a read that meets the end of
 * the file fills the rest with zeroes (under O_DIRECT a short read is
 * taken as the end at once: the next, unaligned read would be refused).
 *
 * What it deliberately does not: split or bounce vectors (the caller
 * hands it vectors the fd accepts), or cancel a job once it runs.
 *
 * Key invariant: the job touches only the request (on the submitting
 * coroutine's stack, which waits for it) and the state's immutable
 * fields, so workers never race with the home thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/thread-pool.h"
#include "file-posix.h"

typedef struct ThreadsReq {
    int fd;
    bool is_write;
    bool direct;
    int64_t offset;
    QEMUIOVector *qiov;
} ThreadsReq;

/* One preadv/pwritev of @qiov from byte @skip on.  Bytes or -errno. */
static ssize_t transfer_from(ThreadsReq *r, size_t skip)
{
    QEMUIOVector rest, *v = r->qiov;
    ssize_t n;

    if (skip != 0) {
        qemu_iovec_init_slice(&rest, r->qiov, skip, r->qiov->size - skip);
        v = &rest;
    }
    do {
        n = r->is_write ? pwritev(r->fd, v->iov, v->niov, r->offset + skip)
                        : preadv(r->fd, v->iov, v->niov, r->offset + skip);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        n = -errno;
    }
    if (v == &rest) {
        qemu_iovec_destroy(&rest);
    }
    return n;
}

static int threads_rw_job(void *opaque)
{
    ThreadsReq *r = opaque;
    size_t done = 0;

    while (done < r->qiov->size) {
        ssize_t n = transfer_from(r, done);

        if (n < 0) {
            return n;
        }
        if (n == 0 && r->is_write) {
            return -ENOSPC;
        }
        done += n;
        if (!r->is_write && (n == 0 || (r->direct && done < r->qiov->size))) {
            qemu_iovec_memset(r->qiov, done, 0, r->qiov->size - done);
            break;
        }
    }
    return 0;
}

static int threads_fdatasync_job(void *opaque)
{
    ThreadsReq *r = opaque;
    int ret;

    do {
        ret = fdatasync(r->fd);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : 0;
}

static int coroutine_fn threads_run(BDRVRawState *s, ThreadPoolFunc *func,
                                    ThreadsReq *r)
{
    return thread_pool_submit_co(aio_get_thread_pool(s->ctx), func, r);
}

static int coroutine_fn threads_co_rw(BDRVRawState *s, int64_t offset,
                                      QEMUIOVector *qiov, bool is_write)
{
    ThreadsReq r = {
        .fd = s->fd, .is_write = is_write, .offset = offset, .qiov = qiov,
        .direct = (s->open_flags & O_DIRECT) != 0,
    };

    return threads_run(s, threads_rw_job, &r);
}

static int coroutine_fn threads_co_fdatasync(BDRVRawState *s)
{
    ThreadsReq r = { .fd = s->fd };

    return threads_run(s, threads_fdatasync_job, &r);
}

static bool threads_attach(BDRVRawState *s, AioContext *ctx, Error **errp)
{
    s->ctx = ctx;
    return true;
}

static void threads_detach(BDRVRawState *s)
{
    s->ctx = NULL;
}

const FileAioOps file_aio_threads = {
    .name = "threads",
    .attach = threads_attach,
    .detach = threads_detach,
    .co_rw = threads_co_rw,
    .co_fdatasync = threads_co_fdatasync,
};
