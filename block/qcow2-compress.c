/*
 * qcow2 compressed clusters.
 *
 * What it does: reads compressed clusters (parses the descriptor for the
 * image's cluster size, reads the compressed bytes, inflates them with
 * the image's codec, keeps the last inflated cluster for the next read of
 * it, since guests read a cluster in several pieces), and writes them
 * for bdrv_write_compressed: one whole cluster is compressed, and when it
 * shrinks, the result is packed byte-granular after the previous
 * compressed cluster, so that several share a host cluster.  Every host
 * cluster a compressed cluster touches counts it once in its refcount.
 *
 * With extended L2 entries a compressed cluster's bitmap half is 0 (it
 * has no subclusters), as QEMU writes it.  Images with an external data
 * file cannot hold compressed clusters: writes are refused (-ENOTSUP, as
 * QEMU), and an entry found in one is reported as corruption.
 *
 * What it deliberately does not: rewrite compressed clusters in place.  A
 * write over part of one goes through the normal write path, which sees
 * a cluster that is not writable in place, allocates a new one, reads the
 * old contents through here for the copy-on-write parts and frees the
 * compressed bytes when it switches the L2 entry.
 *
 * Key invariant: s->free_byte_offset, when not 0, lies inside a host
 * cluster whose refcount counts the compressed data already packed into
 * it; the refcount code clears it when that cluster becomes free, so
 * packing never writes into a cluster that was reused for something else.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"
#include "qcow2-codec.h"

#define SECTOR 512ULL

/*
 * The last cluster inflated.  Only touched in the node's home context
 * and never across a yield, so it needs no lock; a read that yielded
 * installs its result only if no compressed write allocated space in the
 * meantime (generation unchanged).
 */
typedef struct Qcow2DecompressCache {
    uint64_t l2_entry;           /* the cluster held when buf is set */
    uint64_t coffset;            /* its compressed bytes in the file */
    uint64_t cbytes;
    uint8_t *buf;                /* cluster_size bytes, or NULL */
    uint64_t generation;
} Qcow2DecompressCache;

/* ---- descriptors -------------------------------------------------------- */

/* Host offset and length (to the end of its last sector) of @entry. */
static void parse_descriptor(BDRVQcow2State *s, uint64_t entry,
                             uint64_t *coffset, uint64_t *cbytes)
{
    uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;

    *coffset = entry & s->cluster_offset_mask;
    *cbytes = sectors * SECTOR - (*coffset & (SECTOR - 1));
}

/* The L2 entry for @len compressed bytes at host @coffset. */
static uint64_t make_descriptor(BDRVQcow2State *s, uint64_t coffset,
                                uint64_t len)
{
    uint64_t extra = ((coffset + len - 1) / SECTOR) - coffset / SECTOR;

    assert(extra <= s->csize_mask);
    return QCOW_OFLAG_COMPRESSED | coffset | (extra << s->csize_shift);
}

/*
 * Check the compressed bytes of L2 entry @entry lie in the file, after
 * the header; clip *@cbytes to the end of the file (the last sector of the
 * last compressed cluster may not have been written in full).
 */
static int check_descriptor(BlockDriverState *bs, uint64_t entry,
                            uint64_t coffset, uint64_t *cbytes)
{
    BDRVQcow2State *s = bs->opaque;

    if (coffset < (uint64_t)s->cluster_size) {
        qcow2_signal_corruption(bs, true, coffset, *cbytes, "compressed "
                                "cluster at host offset 0x%" PRIx64
                                " (L2 entry 0x%" PRIx64 ") overlaps the "
                                "image header", coffset, entry);
        return -EIO;
    }
    if ((int64_t)(coffset + *cbytes) > s->file_length_hint) {
        s->file_length_hint = bdrv_getlength(bs->file);
    }
    if ((int64_t)coffset >= s->file_length_hint) {
        qcow2_signal_corruption(bs, true, coffset, *cbytes, "compressed "
                                "cluster at host offset 0x%" PRIx64
                                " (L2 entry 0x%" PRIx64 ") lies outside "
                                "the image file", coffset, entry);
        return -EIO;
    }
    *cbytes = MIN(*cbytes, (uint64_t)s->file_length_hint - coffset);
    return 0;
}

/* ---- reads -------------------------------------------------------------- */

static Qcow2DecompressCache *get_cache(BDRVQcow2State *s)
{
    if (!s->decompress_cache) {
        s->decompress_cache = g_new0(Qcow2DecompressCache, 1);
    }
    return s->decompress_cache;
}

/* Read and inflate the cluster of @entry into *@out (cluster_size). */
static int coroutine_fn load_cluster(BlockDriverState *bs, uint64_t entry,
                                     uint8_t **out)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *in = NULL;
    uint64_t coffset, cbytes;
    int ret;

    parse_descriptor(s, entry, &coffset, &cbytes);
    ret = check_descriptor(bs, entry, coffset, &cbytes);
    if (ret < 0) {
        return ret;
    }
    in = g_try_malloc(cbytes);
    *out = g_try_malloc(s->cluster_size);
    if (!in || !*out) {
        g_free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
    ret = bdrv_co_pread(bs->file, coffset, cbytes, in);
    if (ret == 0) {
        ret = qcow2_co_decompress(bs, *out, s->cluster_size, in, cbytes);
        if (ret < 0) {
            qcow2_signal_corruption(bs, false, coffset, cbytes,
                                    "compressed cluster at host offset 0x%"
                                    PRIx64 " (L2 entry 0x%" PRIx64 ") does "
                                    "not inflate as %s data", coffset, entry,
                                    qcow2_codec(s->compression_type)->name);
            ret = -EIO;
        }
    }
    if (ret < 0) {
        g_free(*out);
        *out = NULL;
    }
    return ret;
}

int coroutine_fn qcow2_co_preadv_compressed(BlockDriverState *bs,
                                            uint64_t l2_entry,
                                            uint64_t offset_in_cluster,
                                            uint64_t bytes,
                                            QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2DecompressCache *c = get_cache(s);
    uint64_t generation = c->generation;
    uint8_t *out;
    int ret;

    assert(offset_in_cluster + bytes <= (uint64_t)s->cluster_size);
    if (c->buf && c->l2_entry == l2_entry) {
        qemu_iovec_from_buf(qiov, 0, c->buf + offset_in_cluster, bytes);
        return 0;
    }
    ret = load_cluster(bs, l2_entry, &out);
    if (ret < 0) {
        return ret;
    }
    qemu_iovec_from_buf(qiov, 0, out + offset_in_cluster, bytes);
    if (c->generation != generation) {
        g_free(out);
        return 0;
    }
    g_free(c->buf);
    c->buf = out;
    c->l2_entry = l2_entry;
    parse_descriptor(s, l2_entry, &c->coffset, &c->cbytes);
    return 0;
}

/* Compressed space at [off, +len) is being reused. */
static void invalidate_cache(BDRVQcow2State *s, uint64_t off, uint64_t len)
{
    Qcow2DecompressCache *c = get_cache(s);

    c->generation++;
    if (c->buf && off < c->coffset + c->cbytes && c->coffset < off + len) {
        g_free(c->buf);
        c->buf = NULL;
    }
}

void qcow2_compress_close(BDRVQcow2State *s)
{
    if (s->decompress_cache) {
        g_free(s->decompress_cache->buf);
        g_free(s->decompress_cache);
        s->decompress_cache = NULL;
    }
}

/* ---- space for compressed data ----------------------------------------- */

/* May @size more bytes go at s->free_byte_offset, in its cluster? */
static int coroutine_fn can_pack(BlockDriverState *bs, uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = s->free_byte_offset, rc;
    int ret;

    if (!off) {
        return 0;
    }
    ret = qcow2_get_refcount(bs, off >> s->cluster_bits, &rc);
    if (ret < 0) {
        return ret;
    }
    if (rc == 0 || rc >= s->refcount_max) {
        s->free_byte_offset = 0;
        return 0;
    }
    return size <= s->cluster_size - offset_into_cluster(s, off) ? 1 : 2;
}

/*
 * Allocate @size (< cluster size) bytes for compressed data: after the
 * previous compressed cluster when it fits there, or runs on into the
 * next host cluster if that one is the new cluster allocated; else at
 * the start of a new cluster.  Returns the host offset or -errno.  Lock.
 */
static int64_t coroutine_fn alloc_bytes(BlockDriverState *bs, uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t off = s->free_byte_offset, next;
    int ret = can_pack(bs, size);

    if (ret < 0) {
        return ret;
    }
    if (ret == 1) {
        ret = qcow2_ref_clusters(bs, off, size);
    } else {
        next = qcow2_alloc_clusters(bs, s->cluster_size);
        if (next < 0) {
            return next;
        }
        if (ret == 2 && next == (int64_t)ROUND_UP(off, s->cluster_size)) {
            /* The tail of the current cluster, then the new one. */
            ret = qcow2_ref_clusters(bs, off, next - off);
            if (ret < 0) {
                qcow2_free_clusters(bs, next, s->cluster_size, false);
            }
        } else {
            off = next;
            ret = 0;
        }
    }
    if (ret < 0) {
        return ret;
    }
    if ((uint64_t)off + size > s->cluster_offset_mask) {
        qcow2_free_clusters(bs, off, size, false);
        return -EFBIG;
    }
    s->free_byte_offset = offset_into_cluster(s, off + size) ? off + size
                                                             : 0;
    invalidate_cache(s, off, size);
    return off;
}

/* ---- writes ------------------------------------------------------------- */

/* Wait until no allocation in flight covers guest cluster @offset. */
static void coroutine_fn wait_for_cluster(BlockDriverState *bs,
                                          uint64_t offset)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *m;

restart:
    QLIST_FOREACH(m, &s->cluster_allocs, next_in_flight) {
        uint64_t end = m->guest_offset +
                       ((uint64_t)m->nb_clusters << s->cluster_bits);

        if (offset >= m->guest_offset && offset < end) {
            qemu_co_queue_wait(&m->dependent_requests, &s->lock);
            goto restart;
        }
    }
}

/* Keep other writers off guest cluster @offset until _meta_done. */
static QCowL2Meta *track(BlockDriverState *bs, uint64_t offset,
                         uint64_t coffset)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *m = g_new0(QCowL2Meta, 1);

    m->guest_offset = offset;
    m->alloc_offset = coffset;
    m->nb_clusters = 1;
    qemu_co_queue_init(&m->dependent_requests);
    QLIST_INSERT_HEAD(&s->cluster_allocs, m, next_in_flight);
    return m;
}

/* Store @len compressed bytes of @data as guest cluster @offset. */
static int coroutine_fn store_compressed(BlockDriverState *bs,
                                         uint64_t offset,
                                         const uint8_t *data, uint64_t len)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *m;
    int64_t coffset;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    wait_for_cluster(bs, offset);
    coffset = alloc_bytes(bs, len);
    ret = coffset < 0 ? coffset
          : qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, coffset, len);
    if (ret < 0) {
        qemu_co_mutex_unlock(&s->lock);
        return ret;              /* on overlap: corrupt, space kept */
    }
    m = track(bs, offset, coffset);
    qemu_co_mutex_unlock(&s->lock);

    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    ret = bdrv_co_pwrite(bs->file, coffset, len, data);

    qemu_co_mutex_lock(&s->lock);
    if (ret == 0) {
        ret = qcow2_set_l2_entry(bs, offset,
                                 make_descriptor(s, coffset, len));
    }
    if (ret < 0) {
        /* Part of the bytes may be in the file (see new_meta). */
        s->failed_write_end = MAX(s->failed_write_end, coffset + len);
        qcow2_free_clusters(bs, coffset, len, false);
    }
    qcow2_alloc_meta_done(bs, m);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

typedef struct WriteCompressed {
    BlockDriverState *bs;
    int64_t sector_num;
    const uint8_t *buf;
    int nb_sectors;
} WriteCompressed;

/* Data that does not shrink: an ordinary write. */
static int coroutine_fn write_plain(WriteCompressed *w)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, (void *)w->buf,
                        (size_t)w->nb_sectors << BDRV_SECTOR_BITS);
    return qcow2_co_writev(w->bs, w->sector_num, w->nb_sectors, &qiov);
}

/* Whole clusters only; the last one may be cut by the end of the disk. */
static bool valid_request(BDRVQcow2State *s, uint64_t offset, uint64_t bytes)
{
    uint64_t disk_end = ROUND_UP(s->size, SECTOR);

    if (offset_into_cluster(s, offset) || bytes > (uint64_t)s->cluster_size) {
        return false;
    }
    return bytes == (uint64_t)s->cluster_size || offset + bytes == disk_end;
}

static int coroutine_fn write_compressed_co(void *opaque)
{
    WriteCompressed *w = opaque;
    BlockDriverState *bs = w->bs;
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = (uint64_t)w->sector_num << BDRV_SECTOR_BITS;
    uint64_t bytes = (uint64_t)w->nb_sectors << BDRV_SECTOR_BITS;
    g_autofree uint8_t *padded = NULL;
    g_autofree uint8_t *out = NULL;
    const uint8_t *src = w->buf;
    int ret;

    if (has_data_file(bs)) {
        return -ENOTSUP;         /* the format has no place for them */
    }
    if (bytes == 0) {
        return 0;
    }
    if (!valid_request(s, offset, bytes)) {
        return -EINVAL;
    }
    ret = qcow2_co_write_prologue(bs);
    if (ret < 0) {
        return ret;
    }
    if (bytes < (uint64_t)s->cluster_size) {
        padded = g_malloc0(s->cluster_size);
        memcpy(padded, w->buf, bytes);
        src = padded;
    }
    out = g_try_malloc(s->cluster_size);
    if (!out) {
        return -ENOMEM;
    }
    ret = qcow2_co_compress(bs, out, s->cluster_size - 1, src,
                            s->cluster_size);
    if (ret == -ENOSPC) {
        return write_plain(w);
    }
    if (ret < 0) {
        return ret;
    }
    return store_compressed(bs, offset, out, ret);
}

int qcow2_write_compressed(BlockDriverState *bs, int64_t sector_num,
                           const uint8_t *buf, int nb_sectors)
{
    WriteCompressed w = {
        .bs = bs, .sector_num = sector_num, .buf = buf,
        .nb_sectors = nb_sectors,
    };

    return qcow2_run_co(bs, write_compressed_co, &w);
}
