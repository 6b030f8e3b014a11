/*
 * bdrv_aio_multiwrite: a batch of writes, merged where they touch.
 *
 * The batch is sorted by sector; a request that starts at or before the
 * end of the previous merged write, and ends at or after it, joins it
 * (where they overlap, the later request's data wins, as it would had the
 * two been written in order).  Each merged write is one bdrv_aio_writev;
 * when it completes, the callback of every request in it runs with its
 * result.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

typedef struct MergedWrite {
    QEMUIOVector qiov;
    int64_t sector;
    int nb_sectors;
    GArray *members;    /* BlockRequest copies: cb, opaque */
} MergedWrite;

static int compare_sector(const void *a, const void *b)
{
    const BlockRequest *ra = a, *rb = b;

    return ra->sector < rb->sector ? -1 : ra->sector > rb->sector;
}

static MergedWrite *merged_new(const BlockRequest *req)
{
    MergedWrite *m = g_new0(MergedWrite, 1);

    qemu_iovec_init(&m->qiov, req->qiov->niov);
    qemu_iovec_concat(&m->qiov, req->qiov, 0, req->qiov->size);
    m->sector = req->sector;
    m->nb_sectors = req->nb_sectors;
    m->members = g_array_new(false, false, sizeof(BlockRequest));
    g_array_append_val(m->members, *req);
    return m;
}

/* Add @req to @m if they touch and @req reaches at least as far. */
static bool merged_try_add(MergedWrite *m, const BlockRequest *req)
{
    int64_t m_end = m->sector + m->nb_sectors;
    int64_t r_end = req->sector + req->nb_sectors;
    size_t keep;

    if (req->sector > m_end || r_end < m_end ||
        r_end - m->sector > BDRV_REQUEST_MAX_SECTORS ||
        m->qiov.niov + req->qiov->niov > IOV_MAX) {
        return false;
    }
    keep = (req->sector - m->sector) << BDRV_SECTOR_BITS;
    qemu_iovec_discard_back(&m->qiov, m->qiov.size - keep);
    qemu_iovec_concat(&m->qiov, req->qiov, 0, req->qiov->size);
    m->nb_sectors = r_end - m->sector;
    g_array_append_val(m->members, *req);
    return true;
}

static void merged_complete(void *opaque, int ret)
{
    MergedWrite *m = opaque;

    for (guint i = 0; i < m->members->len; i++) {
        BlockRequest *r = &g_array_index(m->members, BlockRequest, i);
        r->cb(r->opaque, ret);
    }
    g_array_free(m->members, true);
    qemu_iovec_destroy(&m->qiov);
    g_free(m);
}

static bool request_valid(const BlockRequest *r)
{
    return r->qiov && r->nb_sectors >= 0 && r->sector >= 0 &&
           r->qiov->size == (size_t)r->nb_sectors << BDRV_SECTOR_BITS;
}

int bdrv_aio_multiwrite(BlockDriverState *bs, BlockRequest *reqs,
                        int num_reqs)
{
    g_autofree BlockRequest *sorted = g_new(BlockRequest, num_reqs);
    MergedWrite *m = NULL;
    int bad = 0;

    for (int i = 0; i < num_reqs; i++) {
        reqs[i].error = 0;
        if (!bs->drv || !request_valid(&reqs[i])) {
            reqs[i].error = bs->drv ? -EINVAL : -ENOMEDIUM;
            bad++;
        }
    }
    if (bad) {
        return -1;
    }
    memcpy(sorted, reqs, num_reqs * sizeof(*reqs));
    qsort(sorted, num_reqs, sizeof(*sorted), compare_sector);
    for (int i = 0; i < num_reqs; i++) {
        if (m && merged_try_add(m, &sorted[i])) {
            continue;
        }
        if (m) {
            bdrv_aio_writev(bs, m->sector, &m->qiov, m->nb_sectors,
                            merged_complete, m);
        }
        m = merged_new(&sorted[i]);
    }
    if (m) {
        bdrv_aio_writev(bs, m->sector, &m->qiov, m->nb_sectors,
                        merged_complete, m);
    }
    return 0;
}
