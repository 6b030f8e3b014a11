/*
 * qcow2 cluster mapping: the L1 table, L2 tables (cached in slices), and
 * the allocation of host clusters for guest writes.
 *
 * What it does: maps a guest offset to a run of clusters of one kind
 * (unallocated, zero, data contiguous in the file, compressed) in one
 * lookup, so a large request costs one cache access per L2 slice; gives
 * writes either the host offset of clusters writable in place or new
 * clusters, tracked in s->cluster_allocs until their L2 entries are
 * written; creates and copies L2 tables; grows the L1 table; turns whole
 * clusters into holes or zero clusters.
 *
 * With extended L2 entries, lookups return runs of subclusters, and a
 * write into a cluster that has its host cluster (refcount one) stays in
 * place, only marking the subclusters it fills as allocated; the
 * subcluster arithmetic is in qcow2-subcluster.c.  With an external data
 * file, guest cluster N gets host offset N in that file, unrefcounted.
 *
 * What it deliberately does not: move guest data (qcow2-io.c does that,
 * outside the lock), decompress (qcow2-compress.c).
 *
 * Key invariant: two allocations never cover the same guest cluster at
 * once: a write whose clusters overlap an allocation in flight waits for
 * it (or stops short of it), then looks the mapping up again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* ---- L2 slices --------------------------------------------------------- */

/* Validate the L2 table offset @l2_offset of L1 entry @l1_index. */
static int check_l2_offset(BlockDriverState *bs, int l1_index,
                           uint64_t l2_offset)
{
    BDRVQcow2State *s = bs->opaque;

    if (offset_into_cluster(s, l2_offset) || l2_offset < s->cluster_size) {
        qcow2_signal_corruption(bs, true, l2_offset, s->cluster_size,
                                "L2 table offset 0x%" PRIx64 " of L1 entry "
                                "%d is invalid", l2_offset, l1_index);
        return -EIO;
    }
    if ((int64_t)(l2_offset + s->cluster_size) > s->file_length_hint) {
        s->file_length_hint = bdrv_getlength(bs->file);
        if ((int64_t)(l2_offset + s->cluster_size) > s->file_length_hint) {
            qcow2_signal_corruption(bs, true, l2_offset, s->cluster_size,
                                    "L2 table at 0x%" PRIx64 " (L1 entry "
                                    "%d) lies outside the image file",
                                    l2_offset, l1_index);
            return -EIO;
        }
    }
    return 0;
}

/* Pin the slice of the L2 table at @l2_offset holding guest @offset. */
static int coroutine_fn get_slice(BlockDriverState *bs, uint64_t l2_offset,
                                  uint64_t offset, uint64_t **slice)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = offset_to_l2_index(s, offset) & ~(s->l2_slice_size - 1);

    return qcow2_cache_get(bs, s->l2_table_cache,
                           l2_offset + start * s->l2_entry_size,
                           (void **)slice);
}

/* Write the 512-byte chunk of the active L1 table holding @l1_index. */
static int coroutine_fn write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    int per_sector = 512 / sizeof(uint64_t);
    int first = l1_index & ~(per_sector - 1);
    int n = MIN(per_sector, (int)s->l1_size - first);
    uint64_t buf[512 / sizeof(uint64_t)] = { 0 };
    int ret;

    for (int i = 0; i < n; i++) {
        buf[i] = GUINT64_TO_BE(s->l1_table[first + i]);
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_ACTIVE_L1,
                                        s->l1_table_offset + first * 8,
                                        n * 8);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
    return bdrv_co_pwrite(bs->file, s->l1_table_offset + first * 8, n * 8,
                          buf);
}

/*
 * Give L1 entry @l1_index a new L2 table (zeroed, or a copy of the shared
 * one it had) with refcount 1, and write the L1 entry.
 */
static int coroutine_fn new_l2_table(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    g_autofree uint8_t *buf = NULL;
    int64_t l2;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC);
    l2 = qcow2_alloc_clusters(bs, s->cluster_size);
    if (l2 < 0) {
        return l2;
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, l2,
                                        s->cluster_size);
    if (ret < 0) {
        goto fail;
    }
    if (old) {
        /* Shared with a snapshot: copy it (after writing back its slices). */
        buf = g_try_malloc(s->cluster_size);
        ret = buf ? qcow2_cache_write(bs, s->l2_table_cache) : -ENOMEM;
        if (ret == 0) {
            ret = bdrv_co_pread(bs->file, old, s->cluster_size, buf);
        }
        if (ret == 0) {
            ret = bdrv_co_pwrite(bs->file, l2, s->cluster_size, buf);
        }
    } else {
        ret = bdrv_co_pwrite_zeroes(bs->file, l2, s->cluster_size, 0);
    }
    if (ret < 0) {
        goto fail;
    }
    /* Table and its refcount on disk before the L1 entry points to it. */
    if (s->use_lazy_refcounts) {
        ret = bdrv_co_flush(bs->file);
    } else {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    if (ret < 0) {
        goto fail;
    }
    s->l1_table[l1_index] = l2 | QCOW_OFLAG_COPIED;
    ret = write_l1_entry(bs, l1_index);
    if (ret < 0) {
        s->l1_table[l1_index] = old;
        goto fail;
    }
    if (old) {
        qcow2_free_clusters(bs, old, s->cluster_size, false);
    }
    return 0;

fail:
    qcow2_free_clusters(bs, l2, s->cluster_size, false);
    return ret;
}

/* Pin the slice for guest @offset in an L2 table writable in place. */
static int coroutine_fn get_slice_for_write(BlockDriverState *bs,
                                            uint64_t offset,
                                            uint64_t **slice)
{
    BDRVQcow2State *s = bs->opaque;
    int l1_index = offset_to_l1_index(s, offset);
    uint64_t l1e;
    int ret;

    if ((uint64_t)l1_index >= s->l1_size) {
        ret = qcow2_grow_l1_table(bs, l1_index + 1);
        if (ret < 0) {
            return ret;
        }
    }
    l1e = s->l1_table[l1_index];
    if (!(l1e & L1E_OFFSET_MASK) || !(l1e & QCOW_OFLAG_COPIED)) {
        ret = new_l2_table(bs, l1_index);
        if (ret < 0) {
            return ret;
        }
        l1e = s->l1_table[l1_index];
    }
    ret = check_l2_offset(bs, l1_index, l1e & L1E_OFFSET_MASK);
    if (ret < 0) {
        return ret;
    }
    return get_slice(bs, l1e & L1E_OFFSET_MASK, offset, slice);
}

/* Bytes from @offset to the end of its L2 slice, at most @bytes. */
static uint64_t clip_to_slice(BDRVQcow2State *s, uint64_t offset,
                              uint64_t bytes)
{
    uint64_t slice_bytes = (uint64_t)s->l2_slice_size << s->cluster_bits;
    uint64_t end = (offset & ~(slice_bytes - 1)) + slice_bytes;

    return MIN(bytes, end - offset);
}

/* ---- lookup ------------------------------------------------------------ */

static int check_l2_entry(BlockDriverState *bs, uint64_t offset,
                          uint64_t entry)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type = qcow2_entry_type(bs, entry);

    if (type == QCOW2_CLUSTER_COMPRESSED && has_data_file(bs)) {
        qcow2_signal_corruption(bs, true, -1, -1, "compressed cluster at "
                                "guest offset 0x%" PRIx64 " in an image "
                                "with an external data file", offset);
        return -EIO;
    }
    if (type == QCOW2_CLUSTER_COMPRESSED) {
        return 0;
    }
    if ((type == QCOW2_CLUSTER_ZERO_PLAIN ||
         type == QCOW2_CLUSTER_ZERO_ALLOC) && s->qcow_version < 3) {
        qcow2_signal_corruption(bs, true, -1, -1, "zero cluster at guest "
                                "offset 0x%" PRIx64 " in a version 2 image",
                                offset);
        return -EIO;
    }
    if (offset_into_cluster(s, entry & L2E_OFFSET_MASK)) {
        qcow2_signal_corruption(bs, true, -1, -1, "cluster offset 0x%"
                                PRIx64 " for guest offset 0x%" PRIx64
                                " is not cluster aligned",
                                (uint64_t)(entry & L2E_OFFSET_MASK), offset);
        return -EIO;
    }
    return 0;
}

/* How many entries from @idx (at most @n) continue entry @first's run
 * (standard L2 entries; subclusters have qcow2_sc_count_run). */
static int count_run(BlockDriverState *bs, uint64_t *slice, int idx, int n,
                     uint64_t first, bool for_write)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type = qcow2_entry_type(bs, first);
    uint64_t host = first & L2E_OFFSET_MASK;
    int i;

    if (type == QCOW2_CLUSTER_COMPRESSED) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        uint64_t e = l2_entry_get(s, slice, idx + i);
        if (qcow2_entry_type(bs, e) != type) {
            break;
        }
        if (type == QCOW2_CLUSTER_NORMAL &&
            ((e & L2E_OFFSET_MASK) != host + ((uint64_t)i << s->cluster_bits)
             || (for_write && !(e & QCOW_OFLAG_COPIED)))) {
            break;
        }
    }
    return i;
}

/*
 * qcow2_get_host_offset for extended L2 entries: the run is one of
 * subclusters, from the one holding @offset, within the @avail bytes.
 */
static int lookup_subclusters(BlockDriverState *bs, uint64_t *slice,
                              int idx, uint64_t offset, uint64_t avail,
                              uint64_t *bytes, QCow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    int sc = offset_to_sc_index(s, in_cluster);
    int64_t max = DIV_ROUND_UP(in_cluster + avail, s->subcluster_size) - sc;
    int64_t n;
    int ret;

    ret = qcow2_get_subcluster_type(bs, offset, l2_entry_get(s, slice, idx),
                                    l2_bitmap_get(s, slice, idx), sc, type);
    if (ret < 0) {
        return ret;
    }
    n = qcow2_sc_count_run(bs, slice, idx, sc, max, false, *type);
    *bytes = MIN(avail, ((uint64_t)(sc + n) << s->subcluster_bits) -
                        in_cluster);
    return 0;
}

int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       uint64_t *bytes, uint64_t *host_offset,
                                       QCow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t avail = clip_to_slice(s, offset, *bytes);
    uint64_t in_cluster = offset_into_cluster(s, offset);
    int l1_index = offset_to_l1_index(s, offset);
    uint64_t l2_offset, entry, *slice;
    int idx, n, ret;

    *host_offset = 0;
    *type = QCOW2_CLUSTER_UNALLOCATED;
    *bytes = avail;
    if ((uint64_t)l1_index >= s->l1_size) {
        return 0;
    }
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (!l2_offset) {
        return 0;
    }
    ret = check_l2_offset(bs, l1_index, l2_offset);
    if (ret == 0) {
        ret = get_slice(bs, l2_offset, offset, &slice);
    }
    if (ret < 0) {
        return ret;
    }
    idx = offset_to_l2_slice_index(s, offset);
    entry = l2_entry_get(s, slice, idx);
    ret = check_l2_entry(bs, offset, entry);
    if (ret == 0 && has_subclusters(s)) {
        ret = lookup_subclusters(bs, slice, idx, offset, avail, bytes,
                                 type);
    } else if (ret == 0) {
        n = count_run(bs, slice, idx, size_to_clusters(s, in_cluster + avail),
                      entry, false);
        *bytes = MIN(avail, ((uint64_t)n << s->cluster_bits) - in_cluster);
        *type = qcow2_entry_type(bs, entry);
    }
    if (ret == 0 && *type == QCOW2_CLUSTER_COMPRESSED) {
        *host_offset = entry;
    } else if (ret == 0 && (*type == QCOW2_CLUSTER_NORMAL ||
                            *type == QCOW2_CLUSTER_ZERO_ALLOC)) {
        *host_offset = (entry & L2E_OFFSET_MASK) + in_cluster;
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return ret;
}

/* ---- allocation -------------------------------------------------------- */

/*
 * Wait for (returns true) or stop short of (clipping *@bytes) the first
 * in-flight allocation that overlaps the clusters of the request.
 */
static bool coroutine_fn wait_for_overlap(BlockDriverState *bs,
                                          uint64_t offset, uint64_t *bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = start_of_cluster(s, offset);
    uint64_t end = start_of_cluster(s, offset + *bytes - 1) + s->cluster_size;
    QCowL2Meta *m;

    QLIST_FOREACH(m, &s->cluster_allocs, next_in_flight) {
        uint64_t m_start = m->guest_offset;
        uint64_t m_end = m_start +
                         ((uint64_t)m->nb_clusters << s->cluster_bits);

        if (end <= m_start || m_end <= start) {
            continue;
        }
        if (m_start <= start) {
            qemu_co_queue_wait(&m->dependent_requests, &s->lock);
            return true;
        }
        *bytes = m_start - offset;
        end = m_start;
    }
    return false;
}

/* The overlap check for guest data at host [@offset, +@bytes): none is
 * needed in an external data file, which holds no metadata. */
static int check_data_overlap(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes)
{
    if (has_data_file(bs)) {
        return 0;
    }
    return qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, offset, bytes);
}

/* Register an allocation of @n clusters from guest @offset at @alloc. */
static QCowL2Meta *new_meta(BlockDriverState *bs, uint64_t offset,
                            uint64_t alloc, int n)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *meta = g_new0(QCowL2Meta, 1);

    meta->guest_offset = start_of_cluster(s, offset);
    meta->alloc_offset = alloc;
    /*
     * Never written if it lies past the image file's end (which the
     * generic write path keeps current for the growable file) and past
     * every failed write: reads as zeroes.  Not said of external data
     * files, where a guest offset maps to the same host offset every
     * time it is allocated.
     */
    meta->host_is_zero = !has_data_file(bs) &&
        alloc >= MAX((uint64_t)(bs->file->total_sectors << BDRV_SECTOR_BITS),
                     s->failed_write_end);
    meta->nb_clusters = n;
    qemu_co_queue_init(&meta->dependent_requests);
    QLIST_INSERT_HEAD(&s->cluster_allocs, meta, next_in_flight);
    return meta;
}

/*
 * Extended L2, a cluster that has its host cluster with refcount one:
 * allocated subclusters are written in place (no meta); a run starting
 * at an unallocated or zero subcluster gets an in-place meta, limited to
 * this cluster, that completes its partial first and last subclusters
 * and marks them allocated when linked.
 */
static int coroutine_fn alloc_in_place(BlockDriverState *bs,
                                       uint64_t *slice, int idx,
                                       uint64_t offset, uint64_t *bytes,
                                       uint64_t *host_offset,
                                       QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    uint64_t entry = l2_entry_get(s, slice, idx);
    uint64_t bitmap = l2_bitmap_get(s, slice, idx);
    int sc = offset_to_sc_index(s, in_cluster);
    QCow2ClusterType type;
    QCowL2Meta *meta;
    int ret;

    ret = qcow2_get_subcluster_type(bs, offset, entry, bitmap, sc, &type);
    if (ret < 0) {
        return ret;
    }
    *host_offset = (entry & L2E_OFFSET_MASK) + in_cluster;
    if (type == QCOW2_CLUSTER_NORMAL) {
        int64_t max = DIV_ROUND_UP(in_cluster + *bytes, s->subcluster_size)
                      - sc;
        int64_t k = qcow2_sc_count_run(bs, slice, idx, sc, max, true, type);

        *bytes = MIN(*bytes, ((uint64_t)(sc + k) << s->subcluster_bits) -
                             in_cluster);
        return check_data_overlap(bs, *host_offset, *bytes);
    }
    *bytes = MIN(*bytes, s->cluster_size - in_cluster);
    ret = check_data_overlap(bs, entry & L2E_OFFSET_MASK, s->cluster_size);
    if (ret < 0) {
        return ret;
    }
    meta = new_meta(bs, offset, entry & L2E_OFFSET_MASK, 1);
    meta->in_place = true;
    qcow2_sc_set_cow(s, meta, entry, bitmap, entry, bitmap, in_cluster,
                     in_cluster + *bytes);
    *m = meta;
    return 0;
}

/* Host space for @n new clusters from guest @offset: free clusters of
 * the image file, or the guest offset itself in an external data file. */
static int64_t coroutine_fn alloc_data_clusters(BlockDriverState *bs,
                                                uint64_t offset, int n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)n << s->cluster_bits;
    int64_t alloc;
    int ret;

    if (has_data_file(bs)) {
        return start_of_cluster(s, offset);
    }
    alloc = qcow2_alloc_clusters(bs, bytes);
    if (alloc < 0) {
        return alloc;
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, alloc, bytes);
    return ret < 0 ? ret : alloc;  /* corrupt: leave the clusters allocated */
}

static bool writable_in_place(BlockDriverState *bs, uint64_t entry)
{
    return qcow2_entry_type(bs, entry) == QCOW2_CLUSTER_NORMAL &&
           (entry & QCOW_OFLAG_COPIED);
}

int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, uint64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    uint64_t *slice, entry, first_bitmap, last_entry, last_bitmap;
    int idx, n, ret;
    int64_t alloc;
    QCowL2Meta *meta;

    *m = NULL;
    do {
        *bytes = clip_to_slice(s, offset, *bytes);
    } while (wait_for_overlap(bs, offset, bytes));

    ret = get_slice_for_write(bs, offset, &slice);
    if (ret < 0) {
        return ret;
    }
    idx = offset_to_l2_slice_index(s, offset);
    n = size_to_clusters(s, in_cluster + *bytes);
    entry = l2_entry_get(s, slice, idx);
    ret = check_l2_entry(bs, offset, entry);
    if (ret < 0) {
        goto out;
    }
    if (writable_in_place(bs, entry) && has_subclusters(s)) {
        ret = alloc_in_place(bs, slice, idx, offset, bytes, host_offset, m);
        goto out;
    }
    if (writable_in_place(bs, entry)) {
        n = count_run(bs, slice, idx, n, entry, true);
        *bytes = MIN(*bytes, ((uint64_t)n << s->cluster_bits) - in_cluster);
        *host_offset = (entry & L2E_OFFSET_MASK) + in_cluster;
        ret = check_data_overlap(bs, *host_offset, *bytes);
        goto out;
    }

    /* A run of clusters that all need new host clusters. */
    for (int i = 1; i < n; i++) {
        if (writable_in_place(bs, l2_entry_get(s, slice, idx + i))) {
            n = i;
            break;
        }
    }
    first_bitmap = l2_bitmap_get(s, slice, idx);
    last_entry = l2_entry_get(s, slice, idx + n - 1);
    last_bitmap = l2_bitmap_get(s, slice, idx + n - 1);
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    alloc = alloc_data_clusters(bs, offset, n);
    if (alloc < 0) {
        return alloc;
    }
    *bytes = MIN(*bytes, ((uint64_t)n << s->cluster_bits) - in_cluster);
    meta = new_meta(bs, offset, alloc, n);
    if (has_subclusters(s)) {
        qcow2_sc_set_cow(s, meta, entry, first_bitmap, last_entry,
                         last_bitmap, in_cluster, in_cluster + *bytes);
    } else {
        meta->cow_start.offset = 0;
        meta->cow_start.nb_bytes = in_cluster;
        meta->cow_end.offset = in_cluster + *bytes;
        meta->cow_end.nb_bytes = ((uint64_t)n << s->cluster_bits) -
                                 meta->cow_end.offset;
    }
    *host_offset = alloc + in_cluster;
    *m = meta;
    return 0;

out:
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return ret;
}

/*
 * Extended L2: the subclusters of cluster @i of @m that the write filled
 * (data and copy-on-write) become allocated; the others keep their
 * state (zero, or unallocated).  Preallocation fills none.
 */
static void link_subclusters(BDRVQcow2State *s, QCowL2Meta *m,
                             uint64_t *slice, int idx, int i)
{
    uint64_t start = (uint64_t)i << s->cluster_bits;
    uint64_t from = MAX(m->cow_start.offset, start);
    uint64_t to = MIN(m->cow_end.offset + m->cow_end.nb_bytes,
                      start + s->cluster_size);
    uint64_t bitmap = l2_bitmap_get(s, slice, idx + i);

    if (m->prealloc || from >= to) {
        return;
    }
    l2_bitmap_set(s, slice, idx + i,
                  qcow2_sc_bitmap_after_write(s, bitmap, from - start,
                                              to - start));
}

int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    int idx = offset_to_l2_slice_index(s, m->guest_offset);
    uint64_t *slice;
    int ret;

    ret = get_slice_for_write(bs, m->guest_offset, &slice);
    if (ret < 0) {
        return ret;
    }
    if (!s->use_lazy_refcounts) {
        ret = qcow2_cache_set_dependency(bs, s->l2_table_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            qcow2_cache_put(s->l2_table_cache, (void **)&slice);
            return ret;
        }
    }
    for (int i = 0; i < m->nb_clusters; i++) {
        uint64_t old = l2_entry_get(s, slice, idx + i);

        if (has_subclusters(s)) {
            link_subclusters(s, m, slice, idx, i);
        }
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
        if (m->in_place) {
            continue;            /* same host cluster, new bitmap only */
        }
        l2_entry_set(s, slice, idx + i,
                     (m->alloc_offset + ((uint64_t)i << s->cluster_bits)) |
                     QCOW_OFLAG_COPIED);
        qcow2_free_any_cluster(bs, old, false);
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return 0;
}

int coroutine_fn qcow2_set_l2_entry(BlockDriverState *bs, uint64_t offset,
                                    uint64_t entry)
{
    BDRVQcow2State *s = bs->opaque;
    int idx = offset_to_l2_slice_index(s, offset);
    uint64_t *slice, old;
    int ret;

    ret = get_slice_for_write(bs, offset, &slice);
    if (ret == 0 && !s->use_lazy_refcounts) {
        ret = qcow2_cache_set_dependency(bs, s->l2_table_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            qcow2_cache_put(s->l2_table_cache, (void **)&slice);
        }
    }
    if (ret < 0) {
        return ret;
    }
    old = l2_entry_get(s, slice, idx);
    l2_entry_set(s, slice, idx, entry);
    if (has_subclusters(s)) {
        /* A compressed cluster has no subclusters: its bitmap is 0. */
        l2_bitmap_set(s, slice, idx, 0);
    }
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    qcow2_free_any_cluster(bs, old, false);
    return 0;
}

void coroutine_fn qcow2_alloc_cluster_abort(BlockDriverState *bs,
                                            QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;

    if (has_data_file(bs)) {
        return;                  /* nothing was allocated */
    }
    s->failed_write_end = MAX(s->failed_write_end, m->alloc_offset +
                              ((uint64_t)m->nb_clusters << s->cluster_bits));
    if (m->in_place) {
        return;                  /* the cluster was the entry's already */
    }
    qcow2_free_clusters(bs, m->alloc_offset,
                        (uint64_t)m->nb_clusters << s->cluster_bits, false);
}

void qcow2_alloc_meta_done(BlockDriverState *bs, QCowL2Meta *m)
{
    QLIST_REMOVE(m, next_in_flight);
    qemu_co_queue_restart_all(&m->dependent_requests);
    g_free(m);
}

int coroutine_fn qcow2_alloc_cluster_finish(BlockDriverState *bs,
                                            QCowL2Meta *m, int ret)
{
    if (ret == 0) {
        ret = qcow2_alloc_cluster_link_l2(bs, m);
    }
    if (ret < 0) {
        qcow2_alloc_cluster_abort(bs, m);
    }
    qcow2_alloc_meta_done(bs, m);
    return ret;
}

/* ---- discard and zero clusters ----------------------------------------- */

/*
 * Extended L2: make bytes [@from, @to) (subcluster aligned) of the
 * cluster of entry @idx read as zeroes, keeping its host cluster.
 * Compressed clusters have no subclusters: -ENOTSUP (the caller writes
 * zeroes instead).
 */
static int zero_subclusters(BlockDriverState *bs, uint64_t *slice, int idx,
                            uint64_t from, uint64_t to)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t entry = l2_entry_get(s, slice, idx);
    uint64_t bitmap = l2_bitmap_get(s, slice, idx);
    uint64_t new_bitmap;

    assert(has_subclusters(s));
    if (entry & QCOW_OFLAG_COMPRESSED) {
        return -ENOTSUP;
    }
    new_bitmap = qcow2_sc_bitmap_after_zero(s, bitmap, from, to);
    if (new_bitmap != bitmap) {
        l2_bitmap_set(s, slice, idx, new_bitmap);
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
    }
    return 0;
}

/*
 * Set the clusters of one slice that [offset, +bytes) covers wholly to
 * (@new_entry, @new_bitmap), freeing what they pointed to.  With extended
 * L2 entries the range is only subcluster aligned: in a cluster it covers
 * partly, the covered subclusters become zero and the host cluster stays.
 */
static int coroutine_fn set_entries_in_slice(BlockDriverState *bs,
                                             uint64_t offset, uint64_t bytes,
                                             uint64_t new_entry,
                                             uint64_t new_bitmap,
                                             bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;
    int l1_index = offset_to_l1_index(s, offset);
    int idx = offset_to_l2_slice_index(s, offset);
    uint64_t end = offset + bytes, *slice;
    int ret;

    if ((uint64_t)l1_index >= s->l1_size ||
        !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
        if (new_entry == 0 && new_bitmap == 0) {
            return 0;        /* no L2 table: already unallocated */
        }
    }
    ret = get_slice_for_write(bs, offset, &slice);
    if (ret < 0) {
        return ret;
    }
    for (uint64_t pos = offset; pos < end; idx++) {
        uint64_t start = start_of_cluster(s, pos);
        uint64_t stop = MIN(end, start + s->cluster_size);
        uint64_t old = l2_entry_get(s, slice, idx);
        uint64_t old_bitmap = l2_bitmap_get(s, slice, idx);

        if (pos > start || stop - start < (uint64_t)s->cluster_size) {
            /* only part of this cluster: its subclusters */
            ret = zero_subclusters(bs, slice, idx, pos - start, stop - start);
            if (ret < 0) {
                break;
            }
        } else if (old != new_entry || old_bitmap != new_bitmap) {
            l2_entry_set(s, slice, idx, new_entry);
            if (has_subclusters(s)) {
                l2_bitmap_set(s, slice, idx, new_bitmap);
            }
            qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
            qcow2_free_any_cluster(bs, old, pass_discard);
        }
        pos = stop;
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return ret;
}

static int coroutine_fn set_entries(BlockDriverState *bs, uint64_t offset,
                                    uint64_t bytes, uint64_t new_entry,
                                    uint64_t new_bitmap, bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;
    G_GNUC_UNUSED uint64_t unit = has_subclusters(s) ? s->subcluster_size
                                                     : s->cluster_size;

    assert(QEMU_IS_ALIGNED(offset, unit) && QEMU_IS_ALIGNED(bytes, unit));
    while (bytes > 0) {
        uint64_t n = clip_to_slice(s, offset, bytes);
        int ret;

        /* Let allocations in flight over these clusters land first. */
        while (wait_for_overlap(bs, offset, &n)) {
            n = clip_to_slice(s, offset, bytes);
        }
        ret = set_entries_in_slice(bs, offset, n, new_entry, new_bitmap,
                                   pass_discard);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
    }
    return 0;
}

int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, bool full)
{
    BDRVQcow2State *s = bs->opaque;
    bool zero = !full && bs->backing_hd && s->qcow_version >= 3;

    if (has_subclusters(s)) {
        return set_entries(bs, offset, bytes, 0,
                           zero ? QCOW_L2_BITMAP_ALL_ZEROES : 0, true);
    }
    return set_entries(bs, offset, bytes, zero ? QCOW_OFLAG_ZERO : 0, 0,
                       true);
}

int coroutine_fn qcow2_cluster_zeroize(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;

    assert(s->qcow_version >= 3);
    if (has_subclusters(s)) {
        return set_entries(bs, offset, bytes, 0, QCOW_L2_BITMAP_ALL_ZEROES,
                           false);
    }
    return set_entries(bs, offset, bytes, QCOW_OFLAG_ZERO, 0, false);
}

/* ---- L1 table ---------------------------------------------------------- */

int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_offset = s->l1_table_offset;
    uint64_t old_size = s->l1_size;
    uint64_t bytes;
    g_autofree uint64_t *table = NULL;
    g_autofree uint64_t *be = NULL;
    uint8_t hdr[12];
    int64_t new_offset;
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (min_size > QCOW_MAX_L1_BYTES / sizeof(uint64_t)) {
        error_setg(bdrv_driver_errp(), "the L1 table would exceed %d MiB",
                   QCOW_MAX_L1_BYTES >> 20);
        return -EFBIG;
    }
    bytes = ROUND_UP(min_size * sizeof(uint64_t), 512);
    table = g_try_malloc0(bytes);
    be = g_try_malloc0(bytes);
    if (!table || !be) {
        return -ENOMEM;
    }
    memcpy(table, s->l1_table, old_size * sizeof(uint64_t));
    for (uint64_t i = 0; i < min_size; i++) {
        be[i] = GUINT64_TO_BE(table[i]);
    }
    new_offset = qcow2_alloc_clusters(bs, bytes);
    if (new_offset < 0) {
        return new_offset;
    }
    ret = s->use_lazy_refcounts ? 0
          : qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, new_offset,
                                            bytes);
    }
    if (ret == 0) {
        BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
        ret = bdrv_co_pwrite(bs->file, new_offset, bytes, be);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret == 0) {
        /* l1_size and l1_table_offset are adjacent in the header. */
        be32_store(hdr, min_size);
        be64_store(hdr + 4, new_offset);
        ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader, l1_size),
                             sizeof(hdr), hdr);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, new_offset, bytes, false);
        return ret;
    }
    g_free(s->l1_table);
    s->l1_table = g_steal_pointer(&table);
    s->l1_table_offset = new_offset;
    s->l1_size = min_size;
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, old_size * sizeof(uint64_t),
                            false);
    }
    return 0;
}

int coroutine_fn qcow2_any_allocated_after(BlockDriverState *bs,
                                           uint64_t offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t pos = ROUND_UP(offset, (uint64_t)s->cluster_size);
    uint64_t end = (uint64_t)s->l1_size << (s->cluster_bits + s->l2_bits);

    while (pos < end) {
        uint64_t bytes = clip_to_slice(s, pos, end - pos);
        uint64_t host;
        QCow2ClusterType type;
        int ret = qcow2_get_host_offset(bs, pos, &bytes, &host, &type);

        if (ret < 0) {
            return ret;
        }
        if (type != QCOW2_CLUSTER_UNALLOCATED) {
            return 1;
        }
        pos += bytes;
    }
    return 0;
}

int coroutine_fn qcow2_preallocate_range(BlockDriverState *bs,
                                         uint64_t offset, uint64_t bytes,
                                         uint64_t *host_end)
{
    while (bytes > 0) {
        uint64_t n = bytes, host;
        QCowL2Meta *m;
        int ret = qcow2_alloc_host_offset(bs, offset, &n, &host, &m);

        if (ret < 0) {
            return ret;
        }
        if (m) {
            m->prealloc = true;
            ret = qcow2_alloc_cluster_finish(bs, m, 0);
            if (ret < 0) {
                return ret;
            }
        }
        *host_end = MAX(*host_end, host + n);
        offset += n;
        bytes -= n;
    }
    return 0;
}
