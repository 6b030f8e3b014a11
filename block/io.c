/*
 * The request path.  Every read, write, zero write, discard and flush of
 * every I/O style arrives here, and passes the same stages in the same
 * order (run_request):
 *
 *   gate        wait while the node is in a drained section
 *   limits      wait until the node's I/O limits admit the request; as in
 *               QEMU they meter reads and writes (a zero write as a write
 *               of its size), while flushes and discards pass freely
 *   tracking    list the request; wait for overlapping serialising ones
 *               (flushes cover no range and are not tracked)
 *   alignment   pad to the node's request alignment (read-modify-write
 *               for writes, which makes the request serialising)
 *   copy-on-read  data not allocated in the node is read from below and
 *               written into it (serialising over whole clusters)
 *   driver      io-driver.c calls the driver in its own style
 *   accounting  bytes, operations, failures, latency
 *   dirty       writes, zero writes and discards that reached the driver
 *               mark the node's dirty bitmaps, failed ones too (as QEMU:
 *               a failed write may have changed part of its range)
 *   policy      a failure is reported, ignored, or stops the request
 *               until the user resumes it (error-policy.c); reads follow
 *               on_read_error, everything else on_write_error, as the
 *               werror= of QEMU's devices covers writes, flushes and
 *               discards
 *
 * A flush that a request issues on its own node (FUA emulation in
 * io-driver.c) is part of that request: it skips the gate, the limits
 * and the policy, which the request already passed or will apply.
 *
 * Everything here runs in a coroutine in the node's AioContext.  The fast
 * path (aligned, no limits, no bitmaps, no copy-on-read) allocates
 * nothing and takes no lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "util/trace.h"

/* Granularity of copy-on-read when the format has no cluster size. */
#define COR_DEFAULT_CLUSTER  (64 * 1024)

/* Request timing for the statistics, only on nodes that keep latency. */
static inline int64_t acct_start(BlockDriverState *bs)
{
    return bs->account_latency ? bdrv_acct_clock_ns() : 0;
}

static inline void acct_done(BlockDriverState *bs, enum BlockAcctType type,
                             int64_t bytes, int64_t start_ns, int ret)
{
    int64_t latency = bs->account_latency ? bdrv_acct_clock_ns() - start_ns
                                          : BDRV_ACCT_NO_LATENCY;

    bdrv_acct_record(bs, type, bytes, latency, ret);
}

int bdrv_check_byte_request(BlockDriverState *bs, int64_t offset,
                            int64_t bytes)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (offset < 0 || bytes < 0 || bytes > BDRV_REQUEST_MAX_BYTES ||
        offset > INT64_MAX - bytes) {
        return -EIO;
    }
    if (!bs->growable &&
        offset + bytes > (int64_t)(bs->total_sectors << BDRV_SECTOR_BITS)) {
        return -EIO;
    }
    return 0;
}

/* ---- reads ----------------------------------------------------------- */

static int64_t cor_cluster_size(BlockDriverState *bs)
{
    BlockDriverInfo bdi;

    if (bdrv_get_info(bs, &bdi) == 0 && bdi.cluster_size > 0) {
        return MAX(bdi.cluster_size, bs->request_alignment);
    }
    return MAX(COR_DEFAULT_CLUSTER, bs->request_alignment);
}

/* Is all of [offset, offset + bytes) allocated in @bs itself? */
static int coroutine_fn range_allocated(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    int64_t sector = offset >> BDRV_SECTOR_BITS;
    int64_t end = DIV_ROUND_UP(offset + bytes, BDRV_SECTOR_SIZE);

    while (sector < end) {
        int pnum;
        int ret = bdrv_co_is_allocated(bs, sector,
                                       MIN(end - sector, INT_MAX), &pnum);
        if (ret <= 0) {
            return ret;
        }
        sector += pnum;
    }
    return 1;
}

/*
 * Copy-on-read of an aligned range: read whole clusters through the
 * node, write them into it, hand the caller its part.  The request is
 * serialising over the clusters, so no write can slip in between.
 */
static int coroutine_fn copy_on_readv(BlockDriverState *bs,
                                      BdrvTrackedRequest *req,
                                      int64_t offset, int64_t bytes,
                                      QEMUIOVector *qiov)
{
    int64_t cluster = cor_cluster_size(bs);
    int64_t start = QEMU_ALIGN_DOWN(offset, cluster);
    int64_t end = MIN(QEMU_ALIGN_UP(offset + bytes, cluster),
                      (int64_t)(bs->total_sectors << BDRV_SECTOR_BITS));
    QEMUIOVector bounce_qiov;
    void *bounce;
    int ret;

    tracked_request_serialise(req, cluster);
    ret = range_allocated(bs, offset, bytes);
    if (ret != 0) {
        return ret < 0 ? ret : bdrv_driver_preadv(bs, offset, bytes, qiov);
    }
    bs->copy_on_read_in_flight++;
    bounce = qemu_blockalign(bs, end - start);
    qemu_iovec_init_buf(&bounce_qiov, bounce, end - start);
    ret = bdrv_driver_preadv(bs, start, end - start, &bounce_qiov);
    if (ret >= 0) {
        if (buffer_is_zero(bounce, end - start)) {
            ret = bdrv_driver_pwrite_zeroes(bs, start, end - start, 0);
        } else {
            ret = bdrv_driver_pwritev(bs, start, end - start, &bounce_qiov,
                                      0);
        }
    }
    if (ret >= 0) {
        qemu_iovec_from_buf(qiov, 0, (uint8_t *)bounce + (offset - start),
                            bytes);
    }
    qemu_vfree(bounce);
    bs->copy_on_read_in_flight--;
    return ret;
}

static int coroutine_fn aligned_preadv(BlockDriverState *bs,
                                       BdrvTrackedRequest *req,
                                       int64_t offset, int64_t bytes,
                                       QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    if ((flags & BDRV_REQ_COPY_ON_READ) && bs->backing_hd) {
        return copy_on_readv(bs, req, offset, bytes, qiov);
    }
    return bdrv_driver_preadv(bs, offset, bytes, qiov);
}

/* A read not aligned to @align: read the padded range, sharing the
 * caller's buffer for the middle. */
static int coroutine_fn padded_preadv(BlockDriverState *bs,
                                      BdrvTrackedRequest *req,
                                      int64_t offset, int64_t bytes,
                                      QEMUIOVector *qiov,
                                      BdrvRequestFlags flags, int64_t align)
{
    int64_t start = QEMU_ALIGN_DOWN(offset, align);
    int64_t end = QEMU_ALIGN_UP(offset + bytes, align);
    size_t head = offset - start;
    size_t tail = end - (offset + bytes);
    uint8_t *pad = qemu_blockalign(bs, 2 * align);
    QEMUIOVector padded;
    int ret;

    ret = qemu_iovec_init_extended(&padded, pad, head, qiov, 0, bytes,
                                   pad + align, tail);
    if (ret == 0) {
        ret = aligned_preadv(bs, req, start, end - start, &padded, flags);
        qemu_iovec_destroy(&padded);
    }
    qemu_vfree(pad);
    return ret;
}

static int coroutine_fn do_preadv(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  BdrvRequestFlags flags)
{
    int64_t align = bs->request_alignment;
    BdrvTrackedRequest req;
    int64_t start_ns = acct_start(bs);
    int ret;

    tracked_request_begin(&req, bs, offset, bytes);
    tracked_request_wait_serialising(&req);
    if (QEMU_IS_ALIGNED(offset | bytes, align)) {
        ret = aligned_preadv(bs, &req, offset, bytes, qiov, flags);
    } else {
        ret = padded_preadv(bs, &req, offset, bytes, qiov, flags, align);
    }
    tracked_request_end(&req);
    acct_done(bs, BDRV_ACCT_READ, bytes, start_ns, ret);
    return ret;
}

typedef enum {
    REQ_READ,
    REQ_WRITE,          /* zero writes too */
    REQ_DISCARD,
    REQ_FLUSH,
} RequestKind;

static const char *const request_kind_names[] = {
    [REQ_READ] = "read",
    [REQ_WRITE] = "write",
    [REQ_DISCARD] = "discard",
    [REQ_FLUSH] = "flush",
};

typedef int coroutine_fn RequestBody(BlockDriverState *bs, int64_t offset,
                                     int64_t bytes, QEMUIOVector *qiov,
                                     BdrvRequestFlags flags);

/* The outer stages every kind shares: count the request in, wait at the
 * gate and (reads and writes only) the limits, run @body under the
 * node's error policy, count it out. */
static int coroutine_fn run_request(BlockDriverState *bs, RequestKind kind,
                                    int64_t offset, int64_t bytes,
                                    QEMUIOVector *qiov,
                                    BdrvRequestFlags flags,
                                    RequestBody *body)
{
    bool is_read = kind == REQ_READ;
    int ret;

    trace_bdrv_request_submit(bs, request_kind_names[kind], offset, bytes);
    bdrv_inc_in_flight(bs);
    if (bs->quiesce_counter > 0) {
        bdrv_drain_gate(bs);
    }
    if (bs->io_limits_enabled && (kind == REQ_READ || kind == REQ_WRITE)) {
        bdrv_io_limits_intercept(bs, bytes, !is_read);
    }
    do {
        ret = body(bs, offset, bytes, qiov, flags);
        if (ret < 0) {
            ret = bdrv_error_policy(bs, is_read, ret);
        }
    } while (ret == BDRV_ERROR_RETRY);
    bdrv_dec_in_flight(bs);
    trace_bdrv_request_complete(bs, request_kind_names[kind], ret);
    return ret;
}

int coroutine_fn bdrv_co_preadv(BlockDriverState *bs, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    int ret = bdrv_check_byte_request(bs, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    if (bs->copy_on_read) {
        flags |= BDRV_REQ_COPY_ON_READ;
    }
    return run_request(bs, REQ_READ, offset, bytes, qiov, flags, do_preadv);
}

/* ---- writes ---------------------------------------------------------- */

void bdrv_write_completed(BlockDriverState *bs, int64_t offset,
                          int64_t bytes, int ret)
{
    int64_t end_sector = DIV_ROUND_UP(offset + bytes, BDRV_SECTOR_SIZE);

    if ((uint64_t)end_sector > bs->wr_highest_sector) {
        bs->wr_highest_sector = end_sector;
    }
    if (ret >= 0 && bs->growable && end_sector > bs->total_sectors) {
        bs->total_sectors = end_sector;
    }
    if (!QLIST_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, offset, bytes);
    }
}

static int coroutine_fn aligned_pwritev(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    if (bs->open_flags & BDRV_O_DIRECTSYNC) {
        flags |= BDRV_REQ_FUA;
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        BLKDBG_EVENT(bs, BLKDBG_WRITE_ZEROES);
        return bdrv_driver_pwrite_zeroes(bs, offset, bytes, flags);
    }
    return bdrv_driver_pwritev(bs, offset, bytes, qiov, flags);
}

/*
 * Read the aligned blocks around an unaligned write and write the merged
 * range.  The request is serialising over them first, so no other write
 * can change the padding between our read and our write.  *@wrote tells
 * whether the write reached the driver (a failed read stops it before).
 */
static int coroutine_fn rmw_pwritev(BlockDriverState *bs,
                                    BdrvTrackedRequest *req, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    BdrvRequestFlags flags, int64_t align,
                                    bool *wrote)
{
    int64_t start = QEMU_ALIGN_DOWN(offset, align);
    int64_t end = QEMU_ALIGN_UP(offset + bytes, align);
    size_t head = offset - start;
    size_t tail = end - (offset + bytes);
    uint8_t *pad = qemu_blockalign(bs, 2 * align);
    uint8_t *zeroes = NULL;
    QEMUIOVector padded, block, zero_qiov;
    int ret = 0;

    tracked_request_serialise(req, align);
    if (head) {
        qemu_iovec_init_buf(&block, pad, align);
        ret = bdrv_driver_preadv(bs, start, align, &block);
    }
    if (ret >= 0 && tail) {
        qemu_iovec_init_buf(&block, pad + align, align);
        ret = bdrv_driver_preadv(bs, end - align, align, &block);
    }
    if (ret >= 0 && (flags & BDRV_REQ_ZERO_WRITE)) {
        zeroes = g_malloc0(bytes);
        qemu_iovec_init_buf(&zero_qiov, zeroes, bytes);
        qiov = &zero_qiov;
        flags &= ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_MAY_UNMAP);
    }
    if (ret >= 0) {
        ret = qemu_iovec_init_extended(&padded, pad, head, qiov, 0, bytes,
                                       pad + align + (align - tail), tail);
    }
    if (ret >= 0) {
        ret = aligned_pwritev(bs, start, end - start, &padded, flags);
        qemu_iovec_destroy(&padded);
        *wrote = true;
    }
    g_free(zeroes);
    qemu_vfree(pad);
    return ret;
}

static int coroutine_fn do_pwritev(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   BdrvRequestFlags flags)
{
    int64_t align = bs->request_alignment;
    BdrvTrackedRequest req;
    int64_t start_ns = acct_start(bs);
    bool wrote = false;
    int ret;

    tracked_request_begin(&req, bs, offset, bytes);
    if (QEMU_IS_ALIGNED(offset | bytes, align)) {
        tracked_request_wait_serialising(&req);
        ret = aligned_pwritev(bs, offset, bytes, qiov, flags);
        wrote = true;
    } else {
        ret = rmw_pwritev(bs, &req, offset, bytes, qiov, flags, align,
                          &wrote);
    }
    if (wrote) {
        bdrv_write_completed(bs, offset, bytes, ret);
    }
    tracked_request_end(&req);
    acct_done(bs, BDRV_ACCT_WRITE, bytes, start_ns, ret);
    return ret;
}

int coroutine_fn bdrv_co_pwritev(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    int ret = bdrv_check_byte_request(bs, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    if (bs->read_only) {
        return -EACCES;
    }
    return run_request(bs, REQ_WRITE, offset, bytes, qiov, flags,
                       do_pwritev);
}

int coroutine_fn bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags)
{
    return bdrv_co_pwritev(bs, offset, bytes, NULL,
                           flags | BDRV_REQ_ZERO_WRITE);
}

/* ---- discard --------------------------------------------------------- */

static int coroutine_fn do_pdiscard(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    BdrvRequestFlags flags)
{
    BdrvTrackedRequest req;
    int64_t start_ns = acct_start(bs);
    int ret;

    tracked_request_begin(&req, bs, offset, bytes);
    tracked_request_wait_serialising(&req);
    BLKDBG_EVENT(bs, BLKDBG_DISCARD);
    ret = bdrv_driver_pdiscard(bs, offset, bytes);
    /* Even a failed discard may have dropped part of the range. */
    if (!QLIST_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, offset, bytes);
    }
    tracked_request_end(&req);
    acct_done(bs, BDRV_ACCT_DISCARD, bytes, start_ns, ret);
    return ret;
}

int coroutine_fn bdrv_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes)
{
    int64_t align = bs->request_alignment;
    int64_t start = QEMU_ALIGN_UP(offset, align);
    int64_t end = QEMU_ALIGN_DOWN(offset + bytes, align);
    int ret = bdrv_check_byte_request(bs, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    if (bs->read_only) {
        return -EACCES;
    }
    /* Discard is advisory: the unaligned edges are simply kept. */
    if (end <= start) {
        return 0;
    }
    return run_request(bs, REQ_DISCARD, start, end - start, NULL, 0,
                       do_pdiscard);
}

/* ---- flush ----------------------------------------------------------- */

/* This node's layers, then the nodes below it (through their own path). */
static int coroutine_fn do_flush(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    int64_t start_ns = acct_start(bs);
    int ret;

    BLKDBG_EVENT(bs, BLKDBG_FLUSH);
    ret = bdrv_driver_flush(bs);
    if (ret >= 0 && bs->file) {
        ret = bdrv_co_flush(bs->file);
    }
    acct_done(bs, BDRV_ACCT_FLUSH, 0, start_ns, ret);
    return ret;
}

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    if (!bs || !bs->drv) {
        return 0;
    }
    return run_request(bs, REQ_FLUSH, 0, 0, NULL, 0, do_flush);
}

int coroutine_fn bdrv_co_flush_within(BlockDriverState *bs)
{
    return do_flush(bs, 0, 0, NULL, 0);
}

/* ---- driver helpers -------------------------------------------------- */

int coroutine_fn bdrv_co_pread(BlockDriverState *bs, int64_t offset,
                               int64_t bytes, void *buf)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv(bs, offset, bytes, &qiov, 0);
}

int coroutine_fn bdrv_co_pwrite(BlockDriverState *bs, int64_t offset,
                                int64_t bytes, const void *buf)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return bdrv_co_pwritev(bs, offset, bytes, &qiov, 0);
}
