/*
 * qcow2 data path: reads, writes, zero writes, discard, allocation status
 * and flushing the metadata caches.
 *
 * What it does: splits each request into runs that map alike (one lookup
 * per run under s->lock), then moves the data with the lock released:
 * allocated clusters straight to and from the file, unallocated ones from
 * the backing node (zeroes past its end or without one), zero clusters as
 * zeroes.  A write to clusters that are not writable in place gets new
 * clusters; the parts of the first and last cluster it does not cover are
 * read from the old contents (backing data, zeroes, or a shared cluster)
 * and written together with the data in one vectored write; only then are
 * the L2 entries switched to the new clusters.
 *
 * With extended L2 entries the same holds per subcluster: only the parts
 * of the first and last subcluster a write does not cover are copied,
 * and zero writes work down to whole subclusters.  Guest data goes to
 * s->data_file (the image file, or the external data file).
 *
 * What it deliberately does not: hold s->lock across guest data I/O,
 * allocate anything for reads and writes of allocated clusters whose
 * caller vector is one buffer (unless encrypted: data of NORMAL clusters
 * then goes through qcow2-crypto.c's bounce buffers), or decompress
 * (qcow2-compress.c does; a write over a compressed cluster is
 * copy-on-write like any other).
 *
 * Key invariant: an L2 entry points to a new cluster only after the
 * cluster's data (including copy-on-write parts) was written.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* ---- reads ------------------------------------------------------------- */

static int coroutine_fn read_backing(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes, QEMUIOVector *qiov)
{
    int64_t blen = bdrv_getlength(bs->backing_hd);
    uint64_t n;
    int ret;

    if (blen < 0) {
        return blen;
    }
    n = offset < (uint64_t)blen ? MIN(bytes, (uint64_t)blen - offset) : 0;
    if (n > 0) {
        QEMUIOVector part;

        BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
        qemu_iovec_init_slice(&part, qiov, 0, n);
        ret = bdrv_co_preadv(bs->backing_hd, offset, n, &part, 0);
        qemu_iovec_destroy(&part);
        if (ret < 0) {
            return ret;
        }
    }
    if (n < bytes) {
        qemu_iovec_memset(qiov, n, 0, bytes - n);
    }
    return 0;
}

static int coroutine_fn read_run(BlockDriverState *bs, uint64_t offset,
                                 uint64_t bytes, uint64_t host,
                                 QCow2ClusterType type, QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;

    switch (type) {
    case QCOW2_CLUSTER_UNALLOCATED:
        if (bs->backing_hd) {
            return read_backing(bs, offset, bytes, qiov);
        }
        /* fall through */
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        qemu_iovec_memset(qiov, 0, 0, bytes);
        return 0;
    case QCOW2_CLUSTER_NORMAL:
        BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
        if (s->crypto) {
            return qcow2_crypto_co_preadv(bs, offset, host, bytes, qiov);
        }
        return bdrv_co_preadv(s->data_file, host, bytes, qiov, 0);
    case QCOW2_CLUSTER_COMPRESSED:
        return qcow2_co_preadv_compressed(bs, host, offset_into_cluster(
                                              bs->opaque, offset),
                                          bytes, qiov);
    }
    g_assert_not_reached();
}

/* qcow2_get_host_offset under the lock. */
static int coroutine_fn lookup(BlockDriverState *bs, uint64_t offset,
                               uint64_t *bytes, uint64_t *host,
                               QCow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_get_host_offset(bs, offset, bytes, host, type);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* Read guest [offset, +bytes) into @qiov from byte @qiov_offset on. */
static int coroutine_fn do_preadv(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes, QEMUIOVector *qiov,
                                  size_t qiov_offset)
{
    while (bytes > 0) {
        uint64_t n = bytes, host;
        QCow2ClusterType type;
        QEMUIOVector part;
        int ret;

        ret = lookup(bs, offset, &n, &host, &type);
        if (ret < 0) {
            return ret;
        }
        if (qiov_offset == 0 && n == qiov->size) {
            ret = read_run(bs, offset, n, host, type, qiov);
        } else {
            qemu_iovec_init_slice(&part, qiov, qiov_offset, n);
            ret = read_run(bs, offset, n, host, type, &part);
            qemu_iovec_destroy(&part);
        }
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
        qiov_offset += n;
    }
    return 0;
}

int coroutine_fn qcow2_co_readv(BlockDriverState *bs, int64_t sector_num,
                                int nb_sectors, QEMUIOVector *qiov)
{
    int ret = qcow2_crypto_check_key(bs);

    if (ret < 0) {
        return ret;
    }
    return do_preadv(bs, (uint64_t)sector_num << BDRV_SECTOR_BITS,
                     (uint64_t)nb_sectors << BDRV_SECTOR_BITS, qiov, 0);
}

/* ---- writes ------------------------------------------------------------ */

/* Read the current contents of guest [offset, +bytes) into a new buffer. */
static int coroutine_fn read_old(BlockDriverState *bs, uint64_t offset,
                                 uint64_t bytes, uint8_t **buf)
{
    QEMUIOVector qiov;
    int ret;

    *buf = NULL;
    if (!bytes) {
        return 0;
    }
    *buf = qemu_blockalign(bs, bytes);
    qemu_iovec_init_buf(&qiov, *buf, bytes);
    BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
    ret = do_preadv(bs, offset, bytes, &qiov, 0);
    if (ret < 0) {
        qemu_vfree(*buf);
        *buf = NULL;
    }
    return ret;
}

/*
 * Zero the head or tail of new clusters without writing buffers: nothing
 * to do for clusters past the file's end except where the range must
 * extend the file (a tail); elsewhere a zero write, which the file driver
 * turns into an fallocate.
 */
static int coroutine_fn zero_cow_region(BlockDriverState *bs, QCowL2Meta *m,
                                        uint64_t start, uint64_t bytes,
                                        bool is_tail)
{
    BDRVQcow2State *s = bs->opaque;

    if (!bytes || (m->host_is_zero && !is_tail)) {
        return 0;
    }
    return bdrv_co_pwrite_zeroes(s->data_file, m->alloc_offset + start,
                                 bytes, 0);
}

/*
 * Only the guest data of new clusters whose head and tail are zero goes
 * out as a buffer: a write of zeroes for a 4 KiB write into a fresh 64 KiB
 * cluster would cost sixteen times the data.
 */
static int coroutine_fn write_data_zero_cow(BlockDriverState *bs,
                                            QCowL2Meta *m,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset,
                                            uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUIOVector part;
    int ret;

    ret = zero_cow_region(bs, m, m->cow_start.offset, m->cow_start.nb_bytes,
                          false);
    if (ret == 0) {
        ret = zero_cow_region(bs, m, m->cow_end.offset, m->cow_end.nb_bytes,
                              true);
    }
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    qemu_iovec_init_slice(&part, qiov, qiov_offset, bytes);
    ret = bdrv_co_pwritev(s->data_file, m->alloc_offset +
                          m->cow_start.offset + m->cow_start.nb_bytes,
                          bytes, &part, 0);
    qemu_iovec_destroy(&part);
    return ret;
}

static int coroutine_fn reads_as_zero(BlockDriverState *bs, uint64_t offset,
                                      uint64_t bytes);

/*
 * Write @bytes of @qiov (from @qiov_offset) into the new clusters of @m,
 * with the copy-on-write head and tail around it, in one request.  The
 * head starts at cow_start.offset: the start of the first cluster, or
 * with extended L2 entries of its first subcluster to fill.
 */
static int coroutine_fn write_new_clusters(BlockDriverState *bs,
                                           QCowL2Meta *m, QEMUIOVector *qiov,
                                           size_t qiov_offset,
                                           uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t head = m->cow_start.nb_bytes, tail = m->cow_end.nb_bytes;
    uint64_t from = m->cow_start.offset;
    uint64_t to = m->cow_end.offset + tail;
    uint8_t *head_buf = NULL, *tail_buf = NULL;
    QEMUIOVector all;
    int ret;

    assert(to - from == head + bytes + tail &&
           to <= (uint64_t)m->nb_clusters << s->cluster_bits);
    /* Head and tail that read as zeroes by the mapping alone (no backing
     * data behind them) need no buffers read and scanned. */
    if ((head || tail) && !s->crypto &&
        (!head || reads_as_zero(bs, m->guest_offset + from, head) == 1) &&
        (!tail || reads_as_zero(bs, m->guest_offset + m->cow_end.offset,
                                tail) == 1)) {
        return write_data_zero_cow(bs, m, qiov, qiov_offset, bytes);
    }
    ret = read_old(bs, m->guest_offset + from, head, &head_buf);
    if (ret == 0) {
        ret = read_old(bs, m->guest_offset + m->cow_end.offset, tail,
                       &tail_buf);
    }
    if (ret == 0 && (head || tail) && !s->crypto &&
        (!head || buffer_is_zero(head_buf, head)) &&
        (!tail || buffer_is_zero(tail_buf, tail))) {
        ret = write_data_zero_cow(bs, m, qiov, qiov_offset, bytes);
        qemu_vfree(head_buf);
        qemu_vfree(tail_buf);
        return ret;
    }
    if (ret == 0) {
        ret = qemu_iovec_init_extended(&all, head_buf, head, qiov,
                                       qiov_offset, bytes, tail_buf, tail);
    }
    if (ret == 0) {
        BLKDBG_EVENT(bs->file, head || tail ? BLKDBG_COW_WRITE
                                            : BLKDBG_WRITE_AIO);
        /* Encrypted: head, data and tail together, at their own offsets. */
        ret = s->crypto
              ? qcow2_crypto_co_pwritev(bs, m->guest_offset + from,
                                        m->alloc_offset + from, to - from,
                                        &all, 0)
              : bdrv_co_pwritev(s->data_file, m->alloc_offset + from,
                                to - from, &all, 0);
        qemu_iovec_destroy(&all);
    }
    qemu_vfree(head_buf);
    qemu_vfree(tail_buf);
    return ret;
}

static int coroutine_fn write_run(BlockDriverState *bs, uint64_t offset,
                                  uint64_t *bytes, QEMUIOVector *qiov,
                                  size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUIOVector part;
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
        BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
        if (s->crypto) {
            return qcow2_crypto_co_pwritev(bs, offset, host, *bytes, qiov,
                                           qiov_offset);
        }
        if (qiov_offset == 0 && *bytes == qiov->size) {
            return bdrv_co_pwritev(s->data_file, host, *bytes, qiov, 0);
        }
        qemu_iovec_init_slice(&part, qiov, qiov_offset, *bytes);
        ret = bdrv_co_pwritev(s->data_file, host, *bytes, &part, 0);
        qemu_iovec_destroy(&part);
        return ret;
    }

    ret = write_new_clusters(bs, m, qiov, qiov_offset, *bytes);
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_alloc_cluster_finish(bs, m, ret);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* Refuse writes to corrupt images; set the dirty bit for lazy refcounts. */
int coroutine_fn qcow2_co_write_prologue(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        return -EIO;
    }
    if (s->use_lazy_refcounts &&
        !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_mark_dirty(bs);
        qemu_co_mutex_unlock(&s->lock);
    }
    return ret;
}

static int coroutine_fn do_pwritev(BlockDriverState *bs, uint64_t offset,
                                   uint64_t bytes, QEMUIOVector *qiov)
{
    size_t qiov_offset = 0;
    int ret = qcow2_crypto_check_key(bs);

    if (ret == 0) {
        ret = qcow2_co_write_prologue(bs);
    }

    while (ret == 0 && bytes > 0) {
        uint64_t n = bytes;

        ret = write_run(bs, offset, &n, qiov, qiov_offset);
        offset += n;
        bytes -= n;
        qiov_offset += n;
    }
    return ret;
}

int coroutine_fn qcow2_co_writev(BlockDriverState *bs, int64_t sector_num,
                                 int nb_sectors, QEMUIOVector *qiov)
{
    return do_pwritev(bs, (uint64_t)sector_num << BDRV_SECTOR_BITS,
                      (uint64_t)nb_sectors << BDRV_SECTOR_BITS, qiov);
}

/* ---- zeroes and discard ------------------------------------------------ */

/* Does guest [offset, +bytes) already read as zeroes (one lookup)? */
static int coroutine_fn reads_as_zero(BlockDriverState *bs, uint64_t offset,
                                      uint64_t bytes)
{
    uint64_t n = bytes, host;
    QCow2ClusterType type;
    int ret = lookup(bs, offset, &n, &host, &type);

    if (ret < 0) {
        return ret;
    }
    return n == bytes && (type == QCOW2_CLUSTER_ZERO_PLAIN ||
                          type == QCOW2_CLUSTER_ZERO_ALLOC ||
                          (type == QCOW2_CLUSTER_UNALLOCATED &&
                           !bs->backing_hd));
}

/* Zero part of one cluster by writing zeroes, unless it reads as zero. */
static int coroutine_fn zero_partial(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes)
{
    QEMUIOVector qiov;
    uint8_t *buf;
    int ret = reads_as_zero(bs, offset, bytes);

    if (ret != 0) {
        return ret < 0 ? ret : 0;
    }
    buf = qemu_blockalign(bs, bytes);
    memset(buf, 0, bytes);
    qemu_iovec_init_buf(&qiov, buf, bytes);
    ret = do_pwritev(bs, offset, bytes, &qiov);
    qemu_vfree(buf);
    return ret;
}

/* Bounds of the whole @unit blocks (clusters or subclusters) inside
 * [offset, offset + bytes); the block straddling the end of the disk
 * counts as whole. */
static void cluster_bounds(BDRVQcow2State *s, uint64_t unit, uint64_t offset,
                           uint64_t bytes, uint64_t *start, uint64_t *end)
{
    *start = ROUND_UP(offset, unit);
    *end = offset + bytes >= s->size
           ? ROUND_UP(offset + bytes, unit)
           : QEMU_ALIGN_DOWN(offset + bytes, unit);
    if (*end < *start) {
        *end = *start;
    }
}

int coroutine_fn qcow2_co_write_zeroes(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = (uint64_t)sector_num << BDRV_SECTOR_BITS;
    uint64_t bytes = (uint64_t)nb_sectors << BDRV_SECTOR_BITS;
    uint64_t start, end;
    int ret = qcow2_crypto_check_key(bs);

    if (ret < 0) {
        return ret;
    }
    if (s->qcow_version < 3) {
        ret = reads_as_zero(bs, offset, bytes);
        return ret < 0 ? ret : ret ? 0 : -ENOTSUP;
    }
    cluster_bounds(s, has_subclusters(s) ? s->subcluster_size
                                         : s->cluster_size,
                   offset, bytes, &start, &end);
    if (start >= end) {
        return zero_partial(bs, offset, bytes);
    }
    ret = qcow2_co_write_prologue(bs);
    if (ret == 0 && offset < start) {
        ret = zero_partial(bs, offset, start - offset);
    }
    if (ret == 0 && end < offset + bytes) {
        ret = zero_partial(bs, end, offset + bytes - end);
    }
    if (ret == 0 && data_file_is_raw(bs)) {
        /* The data file must read as the disk on its own. */
        ret = bdrv_co_pwrite_zeroes(s->data_file, start, end - start, 0);
    }
    if (ret == 0) {
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_cluster_zeroize(bs, start, end - start);
        qemu_co_mutex_unlock(&s->lock);
    }
    return ret;
}

int coroutine_fn qcow2_co_discard(BlockDriverState *bs, int64_t sector_num,
                                  int nb_sectors)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start, end;
    int ret = qcow2_crypto_check_key(bs);

    if (ret < 0) {
        return ret;
    }
    cluster_bounds(s, s->cluster_size,
                   (uint64_t)sector_num << BDRV_SECTOR_BITS,
                   (uint64_t)nb_sectors << BDRV_SECTOR_BITS, &start, &end);
    if (start >= end || data_file_is_raw(bs)) {
        return 0;            /* advisory: partial clusters stay, and a raw
                              * data file keeps every guest byte */
    }
    ret = qcow2_co_write_prologue(bs);
    if (ret == 0) {
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_cluster_discard(bs, start, end - start, false);
        qemu_co_mutex_unlock(&s->lock);
    }
    return ret;
}

/* ---- status and flush -------------------------------------------------- */

int coroutine_fn qcow2_co_is_allocated(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors,
                                       int *pnum)
{
    uint64_t n = (uint64_t)nb_sectors << BDRV_SECTOR_BITS, host;
    QCow2ClusterType type;
    int ret = lookup(bs, (uint64_t)sector_num << BDRV_SECTOR_BITS, &n, &host,
                     &type);

    if (ret < 0) {
        return ret;
    }
    *pnum = n >> BDRV_SECTOR_BITS;
    /* Zero clusters hide the backing file: they are allocated here. */
    return type != QCOW2_CLUSTER_UNALLOCATED;
}

int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cache_write(bs, s->l2_table_cache);
    if (ret == 0) {
        ret = qcow2_cache_write(bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}
