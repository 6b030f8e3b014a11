/*
 * Copy offloading for the file driver: copy_file_range(2) between two
 * file nodes, on the thread pool.
 *
 * What it does: as the source (copy_range_from) it passes the range on to
 * the destination's graph unchanged; as the destination (copy_range_to)
 * it copies when the source is a file node too, in a loop that continues
 * after short copies and retries EINTR.  Under O_DIRECT the generic layer
 * has already checked the alignment; the kernel decides the rest.
 *
 * What it deliberately does not: emulate.  When the kernel cannot copy
 * between the two files (EXDEV, ENOSYS, EOPNOTSUPP, EINVAL) or the source
 * ends early, the answer is -ENOTSUP and the caller reads and writes,
 * overwriting whatever part the kernel did copy.
 *
 * Key invariant: the pool job touches only the two fds (immutable while
 * the nodes are open) and its own request on the waiting coroutine's
 * stack.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/internal.h"
#include "file-posix.h"

typedef struct CopyJob {
    int src_fd, dst_fd;
    int64_t src_offset, dst_offset, bytes;
} CopyJob;

static bool copy_unsupported(int err)
{
    return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP ||
           err == ENOTSUP || err == EINVAL;
}

static int copy_job(void *opaque)
{
    CopyJob *j = opaque;
    loff_t in = j->src_offset, out = j->dst_offset;
    int64_t left = j->bytes;

    while (left > 0) {
        ssize_t n = copy_file_range(j->src_fd, &in, j->dst_fd, &out,
                                    MIN(left, (int64_t)1 << 30), 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return copy_unsupported(errno) ? -ENOTSUP : -errno;
        }
        if (n == 0) {
            return -ENOTSUP;    /* the source ended: reads as zeroes */
        }
        left -= n;
    }
    return 0;
}

int coroutine_fn file_posix_co_copy_range_from(BlockDriverState *src,
                                               int64_t src_offset,
                                               BlockDriverState *dst,
                                               int64_t dst_offset,
                                               int64_t bytes,
                                               BdrvRequestFlags read_flags,
                                               BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_to(src, src_offset, dst, dst_offset, bytes,
                                 read_flags, write_flags);
}

int coroutine_fn file_posix_co_copy_range_to(BlockDriverState *src,
                                             int64_t src_offset,
                                             BlockDriverState *dst,
                                             int64_t dst_offset,
                                             int64_t bytes,
                                             BdrvRequestFlags read_flags,
                                             BdrvRequestFlags write_flags)
{
    BDRVRawState *d = dst->opaque;
    CopyJob j;
    int ret;

    if (src->drv != &bdrv_file || dst->drv != &bdrv_file) {
        return -ENOTSUP;
    }
    j = (CopyJob) {
        .src_fd = ((BDRVRawState *)src->opaque)->fd, .dst_fd = d->fd,
        .src_offset = src_offset, .dst_offset = dst_offset, .bytes = bytes,
    };
    ret = file_posix_run_blocking(dst, copy_job, &j);
    if (ret == 0) {
        file_posix_changed(d);
    }
    return ret;
}
