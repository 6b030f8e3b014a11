/*
 * qcow2: what tools ask about an image rather than its guest data.
 *
 * Block status turns the cluster types of qcow2_get_host_offset into the
 * generic BDRV_BLOCK_* answer, with the host offset of data and
 * preallocated zero clusters (QEMU 7.2's qcow2_co_block_status: the
 * offset is withheld for encrypted images, where the bytes at it are
 * not the guest's; data in images that look metadata-preallocated is
 * checked against holes in the file, as there).  The format-specific
 * information is the header's feature set and the encryption as
 * qemu-img info prints them.
 *
 * Nothing here changes the image; both calls only read the state (the
 * block status under s->lock, the information from the main thread).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qcow2.h"

/* ---- block status ------------------------------------------------------ */

/*
 * Extended L2: unallocated subclusters may sit in a cluster that has a
 * host cluster (QEMU's UNALLOCATED_ALLOC), whose offset QEMU reports.
 * Find it from any other subcluster of the cluster that has one: its
 * host offset into *@cluster_host, true; false if the cluster has none.
 * Lock held.
 */
static bool coroutine_fn cluster_host(BlockDriverState *bs, uint64_t offset,
                                      uint64_t *host_cluster)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t pos = start_of_cluster(s, offset);
    uint64_t end = MIN(pos + s->cluster_size, s->size);

    while (pos < end) {
        uint64_t n = end - pos, host;
        QCow2ClusterType type;

        if (qcow2_get_host_offset(bs, pos, &n, &host, &type) < 0) {
            return false;
        }
        if (type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_ZERO_ALLOC) {
            *host_cluster = host - offset_into_cluster(s, pos);
            return true;
        }
        pos += n;
    }
    return false;
}

/*
 * QEMU's qcow2_detect_metadata_preallocation: clusters with a refcount
 * clearly outnumber the clusters the file really allocates.  Such an
 * image's data clusters may be holes in the file, so QEMU asks the file
 * (RECURSE) and reports them as zero; so do we.  Lock held.
 */
static bool coroutine_fn metadata_preallocated(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    int64_t real = bdrv_get_allocated_file_size(bs->file);
    int64_t real_clusters, threshold, end, count = 0;

    if (file_len < 0 || real < 0) {
        return false;
    }
    real_clusters = real / s->cluster_size;
    threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);
    end = size_to_clusters(s, file_len);
    for (int64_t i = 0; i < end && count < threshold; i++) {
        uint64_t refcount;

        if (qcow2_get_refcount(bs, i, &refcount) < 0) {
            return false;
        }
        count += !!refcount;
    }
    return count >= threshold;
}

int coroutine_fn qcow2_co_block_status(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, int64_t *pnum,
                                       int64_t *map, BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = bytes, host = 0, hc;
    bool host_valid = !s->crypt_method_header;
    QCow2ClusterType type;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    if (!s->metadata_prealloc_checked) {
        s->metadata_prealloc = metadata_preallocated(bs);
        s->metadata_prealloc_checked = true;
    }
    ret = qcow2_get_host_offset(bs, offset, &n, &host, &type);
    if (ret == 0 && type == QCOW2_CLUSTER_UNALLOCATED && has_subclusters(s)) {
        /* One cluster at a time: its host cluster decides the offset. */
        n = MIN(n, s->cluster_size - offset_into_cluster(s, offset));
        if (cluster_host(bs, offset, &hc)) {
            host = hc + offset_into_cluster(s, offset);
        } else {
            host_valid = false;
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = n;
    switch (type) {
    case QCOW2_CLUSTER_NORMAL:
        ret = BDRV_BLOCK_DATA;
        break;
    case QCOW2_CLUSTER_ZERO_ALLOC:
        ret = BDRV_BLOCK_ZERO;
        break;
    case QCOW2_CLUSTER_ZERO_PLAIN:
        return BDRV_BLOCK_ZERO;
    case QCOW2_CLUSTER_COMPRESSED:
        return BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED;
    case QCOW2_CLUSTER_UNALLOCATED:
    default:
        ret = 0;
        host_valid = host_valid && has_subclusters(s);
        break;
    }
    if (host_valid) {
        *map = host;
        *file = s->data_file;
        ret |= BDRV_BLOCK_OFFSET_VALID;
        if (s->metadata_prealloc && type == QCOW2_CLUSTER_NORMAL) {
            ret |= BDRV_BLOCK_RECURSE;
        }
    }
    return ret;
}

/* ---- format-specific information --------------------------------------- */

BdrvSpecificInfo *qcow2_get_specific_info(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvSpecificInfo *info = g_new0(BdrvSpecificInfo, 1);
    BdrvSpecificInfoQcow2 *q = &info->u.qcow2;

    info->type = "qcow2";
    q->compat = s->qcow_version == 2 ? "0.10" : "1.1";
    q->compression_type = s->compression_type == QCOW2_COMPRESSION_ZSTD
                          ? "zstd" : "zlib";
    q->refcount_bits = s->refcount_bits;
    qcow2_crypto_get_info(bs, q);
    if (s->qcow_version < 3) {
        return info;
    }
    q->lazy_refcounts = s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS;
    q->corrupt = s->incompatible_features & QCOW2_INCOMPAT_CORRUPT;
    q->extended_l2 = has_subclusters(s);
    q->data_file = g_strdup(s->data_file_name);
    q->data_file_raw = data_file_is_raw(bs);
    q->nb_bitmaps = qcow2_get_bitmap_info(bs, &q->bitmaps);
    return info;
}
