/*
 * qcow2 extended L2 entries: subclusters.
 *
 * What it does: an image with the extended-L2 incompatible bit has
 * 128-bit L2 entries; the second half is a bitmap that splits the
 * cluster into 32 subclusters, each allocated (data at the host
 * cluster), reading as zeroes, or unallocated (backing file, else
 * zeroes).  This file holds the arithmetic the mapping code needs on top
 * of plain entries: the type of one subcluster (validating the bitmap
 * against the entry), the length of a run of subclusters that map alike,
 * which parts of an allocating write must be copied from the old
 * contents, and how a write or a zero write changes the bitmap.
 *
 * Why it matters: a small write into an unallocated cluster then copies
 * at most the rest of two subclusters (cluster_size / 32 each) instead of
 * the rest of the cluster, and writes into a cluster that already has its
 * host cluster only flip bitmap bits.
 *
 * What it deliberately does not: any I/O or locking (qcow2-cluster.c
 * pins the slices and holds s->lock; qcow2-io.c moves the data), or
 * subclusters for compressed clusters (the format has none).
 *
 * Key invariant: a subcluster is never both allocated and zero, and only
 * a cluster with a host cluster has allocated subclusters; entries that
 * break this are reported as corruption, never trusted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "qcow2.h"

/* Type of subcluster @sc, or -1 when @bitmap contradicts @entry. */
static int sc_type(BlockDriverState *bs, uint64_t entry, uint64_t bitmap,
                   int sc)
{
    uint32_t alloc = bitmap & QCOW_L2_BITMAP_ALL_ALLOC;
    uint32_t zero = bitmap >> 32;
    bool has_host = qcow2_entry_type(bs, entry) == QCOW2_CLUSTER_NORMAL;

    if (entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if ((alloc & zero) || (alloc && !has_host)) {
        return -1;
    }
    if (alloc & (1u << sc)) {
        return QCOW2_CLUSTER_NORMAL;
    }
    if (zero & (1u << sc)) {
        return has_host ? QCOW2_CLUSTER_ZERO_ALLOC : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return QCOW2_CLUSTER_UNALLOCATED;
}

int qcow2_get_subcluster_type(BlockDriverState *bs, uint64_t offset,
                              uint64_t entry, uint64_t bitmap, int sc,
                              QCow2ClusterType *type)
{
    int t = sc_type(bs, entry, bitmap, sc);

    if (t < 0) {
        qcow2_signal_corruption(bs, true, -1, -1, "invalid subcluster "
                                "bitmap 0x%016" PRIx64 " (L2 entry 0x%"
                                PRIx64 ") for guest offset 0x%" PRIx64,
                                bitmap, entry, offset);
        return -EIO;
    }
    *type = t;
    return 0;
}

int64_t qcow2_sc_count_run(BlockDriverState *bs, uint64_t *slice, int idx,
                           int sc, int64_t max, bool for_write,
                           QCow2ClusterType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t entry = l2_entry_get(s, slice, idx);
    uint64_t bitmap = l2_bitmap_get(s, slice, idx);
    uint64_t host = (entry & L2E_OFFSET_MASK) +
                    ((uint64_t)sc << s->subcluster_bits);
    int64_t k;

    if (type == QCOW2_CLUSTER_COMPRESSED) {
        return MIN(max, QCOW_MAX_SUBCLUSTERS - sc);
    }
    for (k = 1; k < max; k++) {
        int i = idx + (sc + k) / QCOW_MAX_SUBCLUSTERS;
        int j = (sc + k) % QCOW_MAX_SUBCLUSTERS;

        if (j == 0) {
            entry = l2_entry_get(s, slice, i);
            bitmap = l2_bitmap_get(s, slice, i);
            if (for_write && !(entry & QCOW_OFLAG_COPIED)) {
                break;
            }
        }
        if (sc_type(bs, entry, bitmap, j) != (int)type) {
            break;
        }
        if (type == QCOW2_CLUSTER_NORMAL &&
            (entry & L2E_OFFSET_MASK) + ((uint64_t)j << s->subcluster_bits)
            != host + ((uint64_t)k << s->subcluster_bits)) {
            break;
        }
    }
    return k;
}

/* Index of the lowest / highest allocated subcluster, -1 if none. */
static int first_alloc(uint64_t bitmap)
{
    uint32_t alloc = bitmap & QCOW_L2_BITMAP_ALL_ALLOC;

    return alloc ? ctz32(alloc) : -1;
}

static int last_alloc(uint64_t bitmap)
{
    uint32_t alloc = bitmap & QCOW_L2_BITMAP_ALL_ALLOC;

    return alloc ? 31 - clz32(alloc) : -1;
}

/*
 * Where the copy before the data starts, for a write beginning at byte
 * @start of the cluster (@entry, @bitmap).  A new cluster must receive
 * every allocated subcluster the old one had (they are copied, so the
 * copy starts no later than the first of them); in place, allocated
 * subclusters already hold their data and must not be rewritten (a
 * concurrent in-place write could be lost), so only an unallocated first
 * subcluster is completed.
 */
static uint64_t cow_from(BDRVQcow2State *s, bool in_place, uint64_t entry,
                         uint64_t bitmap, uint64_t start)
{
    int sc = offset_to_sc_index(s, start);
    int first = first_alloc(bitmap);

    if (entry & QCOW_OFLAG_COMPRESSED) {
        return 0;                    /* no subclusters: copy it all */
    }
    if (in_place) {
        return (bitmap & (1ULL << sc)) ? start
               : (uint64_t)sc << s->subcluster_bits;
    }
    if (first >= 0 && first < sc) {
        sc = first;
    }
    return (uint64_t)sc << s->subcluster_bits;
}

/* Mirror image of cow_from for a write ending at byte @end (> 0). */
static uint64_t cow_to(BDRVQcow2State *s, bool in_place, uint64_t entry,
                       uint64_t bitmap, uint64_t end)
{
    int sc = offset_to_sc_index(s, end - 1);
    int last = last_alloc(bitmap);

    if (entry & QCOW_OFLAG_COMPRESSED) {
        return s->cluster_size;
    }
    if (in_place) {
        return (bitmap & (1ULL << sc)) ? end
               : (uint64_t)(sc + 1) << s->subcluster_bits;
    }
    if (last > sc) {
        sc = last;
    }
    return (uint64_t)(sc + 1) << s->subcluster_bits;
}

void qcow2_sc_set_cow(BDRVQcow2State *s, QCowL2Meta *m,
                      uint64_t first_entry, uint64_t first_bitmap,
                      uint64_t last_entry, uint64_t last_bitmap,
                      uint64_t data_start, uint64_t data_end)
{
    uint64_t last_start = (uint64_t)(m->nb_clusters - 1) << s->cluster_bits;
    uint64_t from = cow_from(s, m->in_place, first_entry, first_bitmap,
                             data_start);
    uint64_t to = last_start + cow_to(s, m->in_place, last_entry,
                                      last_bitmap, data_end - last_start);

    m->cow_start.offset = from;
    m->cow_start.nb_bytes = data_start - from;
    m->cow_end.offset = data_end;
    m->cow_end.nb_bytes = to - data_end;
}

uint64_t qcow2_sc_bitmap_after_write(BDRVQcow2State *s, uint64_t bitmap,
                                     uint64_t from, uint64_t to)
{
    int first = offset_to_sc_index(s, from);
    int end = offset_to_sc_index(s, to - 1) + 1;

    bitmap |= QCOW_OFLAG_SUB_ALLOC_RANGE(first, end);
    return bitmap & ~QCOW_OFLAG_SUB_ZERO_RANGE(first, end);
}

uint64_t qcow2_sc_bitmap_after_zero(BDRVQcow2State *s, uint64_t bitmap,
                                    uint64_t from, uint64_t to)
{
    int first = offset_to_sc_index(s, from);
    int end = offset_to_sc_index(s, to - 1) + 1;

    bitmap &= ~QCOW_OFLAG_SUB_ALLOC_RANGE(first, end);
    return bitmap | QCOW_OFLAG_SUB_ZERO_RANGE(first, end);
}
