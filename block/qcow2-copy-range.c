/*
 * qcow2 copy offloading: the driver's bdrv_co_copy_range_from / _to.
 *
 * What it does: as the source, maps the guest range run by run (one
 * lookup under s->lock each) and passes data clusters on from the data
 * file at their host offset; runs that read as zeroes (zero clusters,
 * unallocated clusters without a backing node) become zero writes on the
 * destination.  As the destination, allocates clusters as a write would
 * (qcow2_alloc_host_offset), has the data copied into the data file, and
 * only then links the L2 entries (qcow2_alloc_cluster_link_l2).
 *
 * What it deliberately does not: offload what needs the data in memory.
 * Compressed and encrypted clusters, ranges the backing node shows
 * through, and destination ranges that are not whole clusters (their
 * copy-on-write head or tail would have to be read and merged) are
 * -ENOTSUP, and the caller reads and writes them instead.
 *
 * Key invariant: as in qcow2-io.c, s->lock is never held across the data
 * copy, and an L2 entry points at a new cluster only after the copy into
 * it succeeded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "qcow2.h"

/* ---- source ------------------------------------------------------------ */

static int coroutine_fn copy_from_run(BlockDriverState *bs, uint64_t offset,
                                      uint64_t *bytes, BlockDriverState *dst,
                                      int64_t dst_offset,
                                      BdrvRequestFlags read_flags,
                                      BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type;
    uint64_t host;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_get_host_offset(bs, offset, bytes, &host, &type);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    switch (type) {
    case QCOW2_CLUSTER_NORMAL:
        return bdrv_co_copy_range_from(s->data_file, host, dst, dst_offset,
                                       *bytes, read_flags, write_flags);
    case QCOW2_CLUSTER_UNALLOCATED:
        if (bs->backing_hd) {
            return -ENOTSUP;
        }
        /* fall through */
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return bdrv_co_pwrite_zeroes(dst, dst_offset, *bytes, write_flags);
    case QCOW2_CLUSTER_COMPRESSED:
        return -ENOTSUP;
    }
    g_assert_not_reached();
}

int coroutine_fn qcow2_co_copy_range_from(BlockDriverState *bs,
                                          int64_t src_offset,
                                          BlockDriverState *dst,
                                          int64_t dst_offset, int64_t bytes,
                                          BdrvRequestFlags read_flags,
                                          BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    if (s->crypto) {
        return -ENOTSUP;
    }
    while (ret == 0 && bytes > 0) {
        uint64_t n = bytes;

        ret = copy_from_run(bs, src_offset, &n, dst, dst_offset, read_flags,
                            write_flags);
        src_offset += n;
        dst_offset += n;
        bytes -= n;
    }
    return ret;
}

/* ---- destination ------------------------------------------------------- */

/* Whole clusters only (the last one may end at the end of the image). */
static bool whole_clusters(BlockDriverState *bs, uint64_t offset,
                           uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;

    return offset_into_cluster(s, offset) == 0 &&
           (offset_into_cluster(s, end) == 0 ||
            end == (uint64_t)bs->total_sectors << BDRV_SECTOR_BITS);
}

static int coroutine_fn copy_to_run(BlockDriverState *src, int64_t src_offset,
                                    BlockDriverState *bs, uint64_t offset,
                                    uint64_t *bytes,
                                    BdrvRequestFlags read_flags,
                                    BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *m;
    uint64_t host;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_alloc_host_offset(bs, offset, bytes, &host, &m);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    if (!m) {
        return bdrv_co_copy_range_to(src, src_offset, s->data_file, host,
                                     *bytes, read_flags, write_flags);
    }
    if (m->cow_start.nb_bytes || m->cow_end.nb_bytes) {
        ret = -ENOTSUP;         /* old contents to keep: not ours to copy */
    } else {
        ret = bdrv_co_copy_range_to(src, src_offset, s->data_file,
                                    m->alloc_offset + m->cow_start.offset,
                                    *bytes, read_flags, write_flags);
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_alloc_cluster_finish(bs, m, ret);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

int coroutine_fn qcow2_co_copy_range_to(BlockDriverState *src,
                                        int64_t src_offset,
                                        BlockDriverState *bs,
                                        int64_t dst_offset, int64_t bytes,
                                        BdrvRequestFlags read_flags,
                                        BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->crypto || !whole_clusters(bs, dst_offset, bytes)) {
        return -ENOTSUP;
    }
    ret = qcow2_co_write_prologue(bs);
    while (ret == 0 && bytes > 0) {
        uint64_t n = bytes;

        ret = copy_to_run(src, src_offset, bs, dst_offset, &n, read_flags,
                          write_flags);
        src_offset += n;
        dst_offset += n;
        bytes -= n;
    }
    return ret;
}
