/*
 * aio=io_uring: the file drivers' I/O through one io_uring per AioContext.
 *
 * What it does: a request takes an SQE (readv, writev or fdatasync),
 * marks the ring as having queued work and yields.  Queued SQEs are
 * submitted together once per loop iteration, from a bottom half, so the
 * requests a loop iteration starts cost one io_uring_enter.  The ring's
 * fd is an fd handler of the context: when it is readable the handler
 * reaps every CQE, continues short transfers and EINTR/EAGAIN results
 * with a new SQE, and wakes each finished request's coroutine.  A read
 * that meets the end of the file fills the rest with zeroes.  All nodes
 * of one context share its ring (refcounted, found in a registry).
 *
 * What it deliberately does not: registered buffers or files, SQPOLL, or
 * polling the ring busily; nor discard/write-zeroes/truncate, which stay
 * on the thread pool (file-posix.c).
 *
 * Key invariant: a ring never has more requests in flight (queued or
 * submitted) than it has SQ entries; coroutines beyond that wait for a
 * slot.  So an SQE is always free for a new or continued request, and the
 * CQ (twice as large) can never overflow.
 *
 * Test hooks: SPINDLE_FILE_IO_URING_FAIL=1 makes ring setup fail, so the
 * fallback to aio=threads can be tested; SPINDLE_FILE_IO_URING_ENTRIES=N
 * makes new rings N entries deep (at most RING_ENTRIES), so a full ring
 * is easy to reach.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <liburing.h>
#include "qapi/error.h"
#include "util/trace.h"
#include "file-posix.h"

#define RING_ENTRIES 128

typedef struct Luring {
    /* ---- immutable after creation ---- */
    AioContext *ctx;
    struct io_uring ring;
    unsigned entries;            /* requests in flight at most */
    QEMUBH *submit_bh;

    /* ---- registry_lock ---- */
    unsigned refcnt;

    /* ---- home thread of ctx ---- */
    unsigned in_flight;          /* requests holding a slot */
    unsigned queued;             /* SQEs not yet submitted */
    CoQueue slot_waiters;        /* requests waiting for a slot */
} Luring;

typedef enum {
    LURING_READ,
    LURING_WRITE,
    LURING_FDATASYNC,
} LuringOp;

typedef struct LuringReq {
    Luring *lr;
    Coroutine *co;
    LuringOp op;
    int fd;
    bool direct;
    int64_t offset;
    QEMUIOVector *qiov;
    QEMUIOVector rest;           /* the part left after a short transfer */
    bool has_rest;
    size_t done;                 /* bytes moved so far */
    int ret;
    bool complete;
} LuringReq;

static GMutex registry_lock;
static GHashTable *registry;     /* AioContext * -> Luring * */

/* ---- submission ---------------------------------------------------- */

static void submit_queued(Luring *lr)
{
    int ret;

    if (lr->queued == 0) {
        return;
    }
    do {
        ret = io_uring_submit(&lr->ring);
    } while (ret == -EINTR);
    trace_luring_submit(lr, lr->queued, ret);
    if (ret >= 0) {
        lr->queued = 0;
    } else {
        /* -EAGAIN/-EBUSY: the kernel is short of resources; the SQEs stay
         * in the ring, so try again in the next iteration. */
        qemu_bh_schedule(lr->submit_bh);
    }
}

static void submit_bh_cb(void *opaque)
{
    submit_queued(opaque);
}

/* Prepare an SQE for what is left of @req (a slot is held). */
static void queue_sqe(LuringReq *req)
{
    Luring *lr = req->lr;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&lr->ring);
    QEMUIOVector *v = req->has_rest ? &req->rest : req->qiov;
    int64_t pos = req->offset + req->done;

    assert(sqe);   /* the slot invariant at the top of the file */
    switch (req->op) {
    case LURING_READ:
        io_uring_prep_readv(sqe, req->fd, v->iov, v->niov, pos);
        break;
    case LURING_WRITE:
        io_uring_prep_writev(sqe, req->fd, v->iov, v->niov, pos);
        break;
    case LURING_FDATASYNC:
        io_uring_prep_fsync(sqe, req->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, req);
    if (lr->queued++ == 0) {
        qemu_bh_schedule(lr->submit_bh);
    }
}

/* ---- completion ---------------------------------------------------- */

static void set_rest(LuringReq *req)
{
    if (req->has_rest) {
        qemu_iovec_destroy(&req->rest);
    }
    qemu_iovec_init_slice(&req->rest, req->qiov, req->done,
                          req->qiov->size - req->done);
    req->has_rest = true;
}

/* Account @res to @req: true when the request is finished. */
static bool advance(LuringReq *req, int res)
{
    size_t size = req->op == LURING_FDATASYNC ? 0 : req->qiov->size;

    if (res == -EINTR || res == -EAGAIN) {
        return false;
    }
    if (res < 0 || req->op == LURING_FDATASYNC) {
        req->ret = res < 0 ? res : 0;
        return true;
    }
    if (res == 0 && req->op == LURING_WRITE) {
        req->ret = -ENOSPC;
        return true;
    }
    req->done += res;
    if (req->op == LURING_READ && req->done < size &&
        (res == 0 || req->direct)) {
        qemu_iovec_memset(req->qiov, req->done, 0, size - req->done);
        req->done = size;
    }
    if (req->done == size) {
        req->ret = 0;
        return true;
    }
    set_rest(req);
    return false;
}

static void finish(LuringReq *req)
{
    Luring *lr = req->lr;

    if (req->has_rest) {
        qemu_iovec_destroy(&req->rest);
        req->has_rest = false;
    }
    lr->in_flight--;
    req->complete = true;
    qemu_co_queue_next(&lr->slot_waiters);
    aio_co_wake(req->co);
}

static void luring_ref(Luring *lr);
static void luring_unref(Luring *lr);

static void completion_cb(void *opaque)
{
    Luring *lr = opaque;
    struct io_uring_cqe *cqe;

    luring_ref(lr);   /* a woken request may drop the last other one */
    while (io_uring_peek_cqe(&lr->ring, &cqe) == 0) {
        LuringReq *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(&lr->ring, cqe);
        if (advance(req, res)) {
            finish(req);
        } else {
            queue_sqe(req);
        }
    }
    submit_queued(lr);
    luring_unref(lr);
}

/* Busy-poll check: completions waiting, no system call needed. */
static bool completion_poll(void *opaque)
{
    Luring *lr = opaque;

    return io_uring_cq_ready(&lr->ring) > 0;
}

/* ---- the ring of a context ----------------------------------------- */

/* RING_ENTRIES, or fewer as the test hook asks. */
static unsigned ring_entries(void)
{
    const char *v = g_getenv("SPINDLE_FILE_IO_URING_ENTRIES");
    guint64 n;

    if (v && g_ascii_string_to_unsigned(v, 10, 1, RING_ENTRIES, &n, NULL)) {
        return n;
    }
    return RING_ENTRIES;
}

static Luring *luring_new(AioContext *ctx, Error **errp)
{
    Luring *lr = g_new0(Luring, 1);
    int ret = -ENOSYS;

    if (!g_getenv("SPINDLE_FILE_IO_URING_FAIL")) {
        lr->entries = ring_entries();
        ret = io_uring_queue_init(lr->entries, &lr->ring, 0);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "io_uring setup failed");
        g_free(lr);
        return NULL;
    }
    lr->ctx = ctx;
    lr->refcnt = 1;
    qemu_co_queue_init(&lr->slot_waiters);
    lr->submit_bh = aio_bh_new(ctx, submit_bh_cb, lr);
    aio_set_fd_handler_poll(ctx, lr->ring.ring_fd, completion_cb, NULL,
                            completion_poll, completion_cb, lr);
    return lr;
}

static void luring_free(Luring *lr)
{
    assert(lr->in_flight == 0);
    aio_set_fd_handler(lr->ctx, lr->ring.ring_fd, NULL, NULL, NULL);
    qemu_bh_delete(lr->submit_bh);
    io_uring_queue_exit(&lr->ring);
    g_free(lr);
}

/* The ring of @ctx, made on first use, with a new reference. */
static Luring *luring_get(AioContext *ctx, Error **errp)
{
    Luring *lr;

    g_mutex_lock(&registry_lock);
    if (!registry) {
        registry = g_hash_table_new(NULL, NULL);
    }
    lr = g_hash_table_lookup(registry, ctx);
    if (lr) {
        lr->refcnt++;
    } else {
        lr = luring_new(ctx, errp);
        if (lr) {
            g_hash_table_insert(registry, ctx, lr);
        }
    }
    g_mutex_unlock(&registry_lock);
    return lr;
}

static void luring_ref(Luring *lr)
{
    g_mutex_lock(&registry_lock);
    lr->refcnt++;
    g_mutex_unlock(&registry_lock);
}

static void luring_unref(Luring *lr)
{
    bool last;

    g_mutex_lock(&registry_lock);
    last = --lr->refcnt == 0;
    if (last) {
        g_hash_table_remove(registry, lr->ctx);
    }
    g_mutex_unlock(&registry_lock);
    if (last) {
        luring_free(lr);
    }
}

/* ---- the backend ops ----------------------------------------------- */

static int coroutine_fn luring_co_submit(BDRVRawState *s, LuringOp op,
                                         int64_t offset, QEMUIOVector *qiov)
{
    Luring *lr = s->aio_state;
    LuringReq req = {
        .lr = lr, .co = qemu_coroutine_self(), .op = op, .fd = s->fd,
        .direct = (s->open_flags & O_DIRECT) != 0, .offset = offset,
        .qiov = qiov,
    };

    while (lr->in_flight >= lr->entries) {
        qemu_co_queue_wait(&lr->slot_waiters, NULL);
    }
    lr->in_flight++;
    queue_sqe(&req);
    while (!req.complete) {
        qemu_coroutine_yield();
    }
    return req.ret;
}

static int coroutine_fn luring_co_rw(BDRVRawState *s, int64_t offset,
                                     QEMUIOVector *qiov, bool is_write)
{
    return luring_co_submit(s, is_write ? LURING_WRITE : LURING_READ,
                            offset, qiov);
}

static int coroutine_fn luring_co_fdatasync(BDRVRawState *s)
{
    return luring_co_submit(s, LURING_FDATASYNC, 0, NULL);
}

static bool luring_attach(BDRVRawState *s, AioContext *ctx, Error **errp)
{
    Luring *lr = luring_get(ctx, errp);

    if (!lr) {
        return false;
    }
    s->ctx = ctx;
    s->aio_state = lr;
    return true;
}

static void luring_detach(BDRVRawState *s)
{
    luring_unref(s->aio_state);
    s->aio_state = NULL;
    s->ctx = NULL;
}

const FileAioOps file_aio_io_uring = {
    .name = "io_uring",
    .attach = luring_attach,
    .detach = luring_detach,
    .co_rw = luring_co_rw,
    .co_fdatasync = luring_co_fdatasync,
};
