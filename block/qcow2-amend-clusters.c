/*
 * qcow2 amend, the cluster walks a downgrade to version 2 needs: is any
 * cluster compressed (zstd images may only go back to zlib when none
 * is), and turning zero clusters into something version 2 can read.
 *
 * What it does: visits every L2 table of the active L1 table and of each
 * snapshot's, reading and writing them directly in the file (the L2
 * cache is written back and emptied first).  A zero cluster without a
 * host cluster becomes unallocated when nothing shows through it (no
 * backing file); otherwise it gets a host cluster, filled with zeroes,
 * as does a zero cluster that keeps its host cluster.  A host cluster
 * also reached by other L2 tables is not overwritten: the entry gets a
 * new one.
 *
 * What it deliberately does not: handle extended L2 entries or external
 * data files (a downgrade refuses them before getting here).
 *
 * Key invariant: an L2 table is rewritten only after the zeroes and the
 * refcounts of its new clusters are on disk, and a host cluster the
 * table stops using is released only after the table is written.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "qcow2.h"

/* Called for each L2 table (@l2: its cluster, big-endian, as read). */
typedef int coroutine_fn L2Visit(BlockDriverState *bs, uint64_t l2_offset,
                                 uint64_t *l2, void *opaque);

/* Visit the L2 tables named by the @l1_size entries of @l1 (host order). */
static int coroutine_fn visit_l1(BlockDriverState *bs, const uint64_t *l1,
                                 uint32_t l1_size, L2Visit *fn, void *opaque)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);

    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK;
        int ret;

        if (!l2_offset) {
            continue;
        }
        ret = bdrv_co_pread(bs->file, l2_offset, s->cluster_size, l2);
        if (ret == 0) {
            ret = fn(bs, l2_offset, l2, opaque);
        }
        if (ret != 0) {
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn visit_snapshot(BlockDriverState *bs,
                                       const QCowSnapshot *sn, L2Visit *fn,
                                       void *opaque)
{
    g_autofree uint64_t *l1 = g_new(uint64_t, MAX(sn->l1_size, 1));
    int ret = bdrv_co_pread(bs->file, sn->l1_table_offset,
                            (int64_t)sn->l1_size * 8, l1);

    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < sn->l1_size; i++) {
        l1[i] = GUINT64_FROM_BE(l1[i]);
    }
    return visit_l1(bs, l1, sn->l1_size, fn, opaque);
}

/* Lock held.  The first non-zero return of @fn, or 0. */
static int coroutine_fn visit_all_l2(BlockDriverState *bs, L2Visit *fn,
                                     void *opaque)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_cache_empty(bs, s->l2_table_cache);

    if (ret == 0) {
        ret = visit_l1(bs, s->l1_table, s->l1_size, fn, opaque);
    }
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        ret = visit_snapshot(bs, &s->snapshots[i], fn, opaque);
    }
    return ret;
}

typedef struct WalkCo {
    BlockDriverState *bs;
    L2Visit *fn;
} WalkCo;

static int coroutine_fn walk_co(void *opaque)
{
    WalkCo *w = opaque;
    BDRVQcow2State *s = w->bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = visit_all_l2(w->bs, w->fn, NULL);
    if (ret >= 0) {
        int flushed = qcow2_cache_flush(w->bs, s->refcount_block_cache);

        ret = flushed < 0 ? flushed : ret;
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int walk(BlockDriverState *bs, L2Visit *fn)
{
    WalkCo w = { .bs = bs, .fn = fn };

    return qcow2_run_co(bs, walk_co, &w);
}

/* ---- compressed clusters -------------------------------------------------- */

static int coroutine_fn find_compressed(BlockDriverState *bs,
                                        uint64_t l2_offset, uint64_t *l2,
                                        void *opaque)
{
    BDRVQcow2State *s = bs->opaque;

    for (int j = 0; j < s->l2_size; j++) {
        if (l2_entry_get(s, l2, j) & QCOW_OFLAG_COMPRESSED) {
            return 1;
        }
    }
    return 0;
}

int qcow2_amend_has_compressed(BlockDriverState *bs)
{
    return walk(bs, find_compressed);
}

/* ---- zero clusters ------------------------------------------------------ */

/*
 * A host cluster of zeroes for the zero cluster @entry of an L2 table
 * with refcount @l2_rc: its own when only this table uses it, else a new
 * one (the old one's offset goes to *@release).  The new L2 entry.
 */
static int coroutine_fn zero_data(BlockDriverState *bs, uint64_t entry,
                                  uint64_t l2_rc, uint64_t *new_entry,
                                  uint64_t *release)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = entry & L2E_OFFSET_MASK, rc = 0;
    int64_t fresh;
    int ret;

    *release = 0;
    if (off) {
        ret = qcow2_get_refcount(bs, off >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
    }
    if (!off || rc != l2_rc) {
        fresh = qcow2_alloc_clusters(bs, s->cluster_size);
        if (fresh < 0) {
            return fresh;
        }
        if (l2_rc > 1) {
            ret = qcow2_update_cluster_refcount(bs, fresh >> s->cluster_bits,
                                                l2_rc - 1, false);
            if (ret < 0) {
                return ret;
            }
        }
        *release = off;
        off = fresh;
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, off,
                                        s->cluster_size);
    if (ret == 0) {
        ret = bdrv_co_pwrite_zeroes(bs->file, off, s->cluster_size, 0);
    }
    *new_entry = off | (l2_rc == 1 ? QCOW_OFLAG_COPIED : 0);
    return ret;
}

/* Make the zero clusters of one L2 table readable by version 2. */
static int coroutine_fn expand_l2(BlockDriverState *bs, uint64_t l2_offset,
                                  uint64_t *l2, void *opaque)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GArray) release = g_array_new(false, false, sizeof(uint64_t));
    bool backing = bs->backing_file[0] != '\0', dirty = false;
    uint64_t l2_rc;
    int ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &l2_rc);

    for (int j = 0; ret == 0 && j < s->l2_size; j++) {
        uint64_t entry = l2_entry_get(s, l2, j), old = 0;
        QCow2ClusterType type = qcow2_get_cluster_type(entry);

        if (type == QCOW2_CLUSTER_ZERO_PLAIN && !backing) {
            entry = 0;
        } else if (type == QCOW2_CLUSTER_ZERO_PLAIN ||
                   type == QCOW2_CLUSTER_ZERO_ALLOC) {
            ret = zero_data(bs, entry, MAX(l2_rc, 1), &entry, &old);
        } else {
            continue;
        }
        l2_entry_set(s, l2, j, entry);
        dirty = true;
        if (old) {
            g_array_append_val(release, old);
        }
    }
    if (ret < 0 || !dirty) {
        return ret;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_ACTIVE_L2,
                                            l2_offset, s->cluster_size);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, l2_offset, s->cluster_size, l2);
    }
    for (guint i = 0; ret == 0 && i < release->len; i++) {
        ret = qcow2_update_cluster_refcount(
            bs, g_array_index(release, uint64_t, i) >> s->cluster_bits,
            MAX(l2_rc, 1), true);
    }
    return ret;
}

int qcow2_amend_expand_zero_clusters(BlockDriverState *bs)
{
    int ret = walk(bs, expand_l2);

    return ret < 0 ? ret : bdrv_flush(bs->file);
}
