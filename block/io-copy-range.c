/*
 * Copy offloading: bdrv_co_copy_range moves a range from one node to
 * another without the data passing through the caller's memory (the file
 * driver hands it to copy_file_range(2)).
 *
 * What it does: the request travels down the source's graph first
 * (bdrv_co_copy_range_from at each node, which maps the range: raw shifts
 * it, qcow2 finds the host clusters), then, from the bottom of the source
 * side, down the destination's graph (bdrv_co_copy_range_to at each node:
 * qcow2 allocates clusters and links them once the data is there), until
 * a protocol driver that has both ends moves the bytes.  At every node the
 * request passes the stages of the request path that matter for it: the
 * drain gate and in-flight count, I/O limits, a tracked request (a
 * serialising one on the destination, so that overlapping writes wait for
 * the copy and the copy for them), the read-only check, accounting and,
 * after a successful copy, the destination's dirty bitmaps.
 *
 * What it deliberately does not: fall back.  Any node on the way that
 * cannot offload (no driver member, unaligned range, compressed or
 * encrypted data, different AioContexts) makes the whole call return
 * -ENOTSUP, and the caller reads and writes instead.  -ENOTSUP is not
 * counted as a failed request and does not reach the error policy.
 *
 * Key invariant: a destination node's data and metadata change only
 * inside its copy_range_to stage, under its tracked request.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "util/trace.h"

/* Anything that stops this node's part of an offloaded copy: -errno. */
static int check_copy(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      bool has_member)
{
    int ret = bdrv_check_byte_request(bs, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    if (!has_member || !QEMU_IS_ALIGNED(offset | bytes,
                                        bs->request_alignment)) {
        return -ENOTSUP;
    }
    return 0;
}

static void coroutine_fn copy_admit(BlockDriverState *bs, int64_t bytes,
                                    bool is_write)
{
    bdrv_inc_in_flight(bs);
    if (bs->quiesce_counter > 0) {
        bdrv_drain_gate(bs);
    }
    if (bs->io_limits_enabled) {
        bdrv_io_limits_intercept(bs, bytes, is_write);
    }
}

static void copy_done(BlockDriverState *bs, enum BlockAcctType type,
                      int64_t bytes, int64_t start_ns, int ret)
{
    if (ret != -ENOTSUP) {
        int64_t latency = bs->account_latency
                          ? bdrv_acct_clock_ns() - start_ns
                          : BDRV_ACCT_NO_LATENCY;

        bdrv_acct_record(bs, type, bytes, latency, ret);
    }
    bdrv_dec_in_flight(bs);
}

int coroutine_fn bdrv_co_copy_range_from(BlockDriverState *src,
                                         int64_t src_offset,
                                         BlockDriverState *dst,
                                         int64_t dst_offset, int64_t bytes,
                                         BdrvRequestFlags read_flags,
                                         BdrvRequestFlags write_flags)
{
    BdrvTrackedRequest req;
    int64_t start_ns;
    int ret = check_copy(src, src_offset, bytes,
                         src->drv && src->drv->bdrv_co_copy_range_from);

    if (ret < 0) {
        return ret;
    }
    if (bdrv_get_aio_context(src) != bdrv_get_aio_context(dst)) {
        return -ENOTSUP;
    }
    trace_bdrv_request_submit(src, "copy-from", src_offset, bytes);
    copy_admit(src, bytes, false);
    start_ns = src->account_latency ? bdrv_acct_clock_ns() : 0;
    tracked_request_begin(&req, src, src_offset, bytes);
    tracked_request_wait_serialising(&req);
    ret = src->drv->bdrv_co_copy_range_from(src, src_offset, dst, dst_offset,
                                            bytes, read_flags, write_flags);
    tracked_request_end(&req);
    copy_done(src, BDRV_ACCT_READ, bytes, start_ns, ret);
    trace_bdrv_request_complete(src, "copy-from", ret);
    return ret;
}

int coroutine_fn bdrv_co_copy_range_to(BlockDriverState *src,
                                       int64_t src_offset,
                                       BlockDriverState *dst,
                                       int64_t dst_offset, int64_t bytes,
                                       BdrvRequestFlags read_flags,
                                       BdrvRequestFlags write_flags)
{
    BdrvTrackedRequest req;
    int64_t start_ns;
    int ret = check_copy(dst, dst_offset, bytes,
                         dst->drv && dst->drv->bdrv_co_copy_range_to);

    if (ret < 0) {
        return ret;
    }
    if (dst->read_only) {
        return -EACCES;
    }
    trace_bdrv_request_submit(dst, "copy-to", dst_offset, bytes);
    copy_admit(dst, bytes, true);
    start_ns = dst->account_latency ? bdrv_acct_clock_ns() : 0;
    tracked_request_begin(&req, dst, dst_offset, bytes);
    /* The copy writes where we cannot see the data: nobody may write
     * over it meanwhile, and it waits for writes already in flight. */
    tracked_request_serialise(&req, dst->request_alignment);
    ret = dst->drv->bdrv_co_copy_range_to(src, src_offset, dst, dst_offset,
                                          bytes, read_flags, write_flags);
    if (ret != -ENOTSUP) {      /* -ENOTSUP: nothing was written */
        bdrv_write_completed(dst, dst_offset, bytes, ret);
    }
    tracked_request_end(&req);
    copy_done(dst, BDRV_ACCT_WRITE, bytes, start_ns, ret);
    trace_bdrv_request_complete(dst, "copy-to", ret);
    return ret;
}

int coroutine_fn bdrv_co_copy_range(BlockDriverState *src, int64_t src_offset,
                                    BlockDriverState *dst, int64_t dst_offset,
                                    int64_t bytes,
                                    BdrvRequestFlags read_flags,
                                    BdrvRequestFlags write_flags)
{
    if (!bytes) {
        return 0;
    }
    return bdrv_co_copy_range_from(src, src_offset, dst, dst_offset, bytes,
                                   read_flags, write_flags);
}

/* ---- synchronous face -------------------------------------------------- */

typedef struct CopyRangeCo {
    BlockDriverState *src, *dst;
    int64_t src_offset, dst_offset, bytes;
    int ret;
} CopyRangeCo;

static void coroutine_fn copy_range_entry(void *opaque)
{
    CopyRangeCo *c = opaque;

    c->ret = bdrv_co_copy_range(c->src, c->src_offset, c->dst, c->dst_offset,
                                c->bytes, 0, 0);
}

int bdrv_copy_range(BlockDriverState *src, int64_t src_offset,
                    BlockDriverState *dst, int64_t dst_offset, int64_t bytes)
{
    CopyRangeCo c = {
        .src = src, .dst = dst, .src_offset = src_offset,
        .dst_offset = dst_offset, .bytes = bytes,
    };

    bdrv_run_co(dst, copy_range_entry, &c);
    return c.ret;
}
