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
 * What it deliberately does not: move guest data (qcow2-io.c does that,
 * outside the lock), extended L2 entries or external data files (later:
 * the structs carry l2_entry_size and subclusters_per_cluster for them),
 * decompress (qcow2-compress.c).
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
    QCow2ClusterType type = qcow2_get_cluster_type(entry);

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

/* How many entries from @idx (at most @n) continue entry @first's run. */
static int count_run(BDRVQcow2State *s, uint64_t *slice, int idx, int n,
                     uint64_t first, bool for_write)
{
    QCow2ClusterType type = qcow2_get_cluster_type(first);
    uint64_t host = first & L2E_OFFSET_MASK;
    int i;

    if (type == QCOW2_CLUSTER_COMPRESSED) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        uint64_t e = l2_entry_get(s, slice, idx + i);
        if (qcow2_get_cluster_type(e) != type) {
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
    if (ret == 0) {
        n = count_run(s, slice, idx, size_to_clusters(s, in_cluster + avail),
                      entry, false);
        *bytes = MIN(avail, ((uint64_t)n << s->cluster_bits) - in_cluster);
        *type = qcow2_get_cluster_type(entry);
        if (*type == QCOW2_CLUSTER_COMPRESSED) {
            *host_offset = entry;
        } else if (entry & L2E_OFFSET_MASK) {
            *host_offset = (entry & L2E_OFFSET_MASK) + in_cluster;
        }
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

int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, uint64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = offset_into_cluster(s, offset);
    uint64_t *slice, entry;
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
    if (qcow2_get_cluster_type(entry) == QCOW2_CLUSTER_NORMAL &&
        (entry & QCOW_OFLAG_COPIED)) {
        n = count_run(s, slice, idx, n, entry, true);
        *bytes = MIN(*bytes, ((uint64_t)n << s->cluster_bits) - in_cluster);
        *host_offset = (entry & L2E_OFFSET_MASK) + in_cluster;
        ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, *host_offset,
                                            *bytes);
        goto out;
    }

    /* A run of clusters that all need new host clusters. */
    for (int i = 1; i < n; i++) {
        uint64_t e = l2_entry_get(s, slice, idx + i);
        if (qcow2_get_cluster_type(e) == QCOW2_CLUSTER_NORMAL &&
            (e & QCOW_OFLAG_COPIED)) {
            n = i;
            break;
        }
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    alloc = qcow2_alloc_clusters(bs, (uint64_t)n << s->cluster_bits);
    if (alloc < 0) {
        return alloc;
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, alloc,
                                        (uint64_t)n << s->cluster_bits);
    if (ret < 0) {
        return ret;         /* corrupt: leave the clusters allocated */
    }
    *bytes = MIN(*bytes, ((uint64_t)n << s->cluster_bits) - in_cluster);
    meta = g_new0(QCowL2Meta, 1);
    meta->guest_offset = start_of_cluster(s, offset);
    meta->alloc_offset = alloc;
    meta->host_is_zero =
        alloc >= (int64_t)(bs->file->total_sectors << BDRV_SECTOR_BITS);
    meta->nb_clusters = n;
    meta->cow_start.offset = 0;
    meta->cow_start.nb_bytes = in_cluster;
    meta->cow_end.offset = in_cluster + *bytes;
    meta->cow_end.nb_bytes = ((uint64_t)n << s->cluster_bits) -
                             meta->cow_end.offset;
    qemu_co_queue_init(&meta->dependent_requests);
    QLIST_INSERT_HEAD(&s->cluster_allocs, meta, next_in_flight);
    *host_offset = alloc + in_cluster;
    *m = meta;
    return 0;

out:
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return ret;
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

        l2_entry_set(s, slice, idx + i,
                     (m->alloc_offset + ((uint64_t)i << s->cluster_bits)) |
                     QCOW_OFLAG_COPIED);
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
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
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    qcow2_free_any_cluster(bs, old, false);
    return 0;
}

void coroutine_fn qcow2_alloc_cluster_abort(BlockDriverState *bs,
                                            QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_free_clusters(bs, m->alloc_offset,
                        (uint64_t)m->nb_clusters << s->cluster_bits, false);
}

void qcow2_alloc_meta_done(BlockDriverState *bs, QCowL2Meta *m)
{
    QLIST_REMOVE(m, next_in_flight);
    qemu_co_queue_restart_all(&m->dependent_requests);
    g_free(m);
}

/* ---- discard and zero clusters ----------------------------------------- */

/* Set whole clusters [offset, +bytes) of one slice to @new_entry. */
static int coroutine_fn set_entries_in_slice(BlockDriverState *bs,
                                             uint64_t offset, int n,
                                             uint64_t new_entry,
                                             bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;
    int l1_index = offset_to_l1_index(s, offset);
    int idx = offset_to_l2_slice_index(s, offset);
    uint64_t *slice;
    int ret;

    if ((uint64_t)l1_index >= s->l1_size ||
        !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
        if (new_entry == 0) {
            return 0;        /* no L2 table: already unallocated */
        }
    }
    ret = get_slice_for_write(bs, offset, &slice);
    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < n; i++) {
        uint64_t old = l2_entry_get(s, slice, idx + i);

        if (old == new_entry) {
            continue;
        }
        l2_entry_set(s, slice, idx + i, new_entry);
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
        qcow2_free_any_cluster(bs, old, pass_discard);
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&slice);
    return 0;
}

static int coroutine_fn set_entries(BlockDriverState *bs, uint64_t offset,
                                    uint64_t bytes, uint64_t new_entry,
                                    bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;

    assert(!offset_into_cluster(s, offset) &&
           !offset_into_cluster(s, bytes));
    while (bytes > 0) {
        uint64_t n = clip_to_slice(s, offset, bytes);
        int ret;

        /* Let allocations in flight over these clusters land first. */
        while (wait_for_overlap(bs, offset, &n)) {
            n = clip_to_slice(s, offset, bytes);
        }
        ret = set_entries_in_slice(bs, offset, n >> s->cluster_bits,
                                       new_entry, pass_discard);
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

    return set_entries(bs, offset, bytes, zero ? QCOW_OFLAG_ZERO : 0, true);
}

int coroutine_fn qcow2_cluster_zeroize(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;

    assert(s->qcow_version >= 3);
    return set_entries(bs, offset, bytes, QCOW_OFLAG_ZERO, false);
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
            ret = qcow2_alloc_cluster_link_l2(bs, m);
            if (ret < 0) {
                qcow2_alloc_cluster_abort(bs, m);
            }
            qcow2_alloc_meta_done(bs, m);
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
