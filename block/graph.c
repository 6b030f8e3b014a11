/*
 * The node graph: the lists of nodes, lookup by name, putting a new top
 * on a chain (bdrv_append) and moving nodes between AioContexts.
 *
 * Two lists: every node (all_list), used by flush_all and drain_all, and
 * the named ones (list), which users look up.  Both are only touched by
 * the main thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

static QTAILQ_HEAD(, BlockDriverState) all_nodes =
    QTAILQ_HEAD_INITIALIZER(all_nodes);
static QTAILQ_HEAD(, BlockDriverState) named_nodes =
    QTAILQ_HEAD_INITIALIZER(named_nodes);

void bdrv_all_add(BlockDriverState *bs)
{
    QTAILQ_INSERT_TAIL(&all_nodes, bs, all_list);
    if (bs->device_name[0]) {
        QTAILQ_INSERT_TAIL(&named_nodes, bs, list);
    }
}

void bdrv_all_remove(BlockDriverState *bs)
{
    QTAILQ_REMOVE(&all_nodes, bs, all_list);
    if (bs->device_name[0]) {
        QTAILQ_REMOVE(&named_nodes, bs, list);
    }
}

BlockDriverState *bdrv_all_next(BlockDriverState *bs)
{
    return bs ? QTAILQ_NEXT(bs, all_list) : QTAILQ_FIRST(&all_nodes);
}

BlockDriverState *bdrv_next(BlockDriverState *bs)
{
    return bs ? QTAILQ_NEXT(bs, list) : QTAILQ_FIRST(&named_nodes);
}

BlockDriverState *bdrv_find(const char *name)
{
    BlockDriverState *bs;

    QTAILQ_FOREACH(bs, &named_nodes, list) {
        if (!strcmp(name, bs->device_name)) {
            return bs;
        }
    }
    return NULL;
}

void bdrv_iterate(void (*it)(void *opaque, BlockDriverState *bs),
                  void *opaque)
{
    BlockDriverState *bs, *next;

    QTAILQ_FOREACH_SAFE(bs, &named_nodes, list, next) {
        it(opaque, bs);
    }
}

const char *bdrv_get_device_name(BlockDriverState *bs)
{
    return bs->device_name;
}

const char *bdrv_get_format_name(BlockDriverState *bs)
{
    return bs->drv ? bs->drv->format_name : NULL;
}

BlockDriverState *bdrv_backing(BlockDriverState *bs)
{
    return bs->backing_hd;
}

AioContext *bdrv_get_aio_context(BlockDriverState *bs)
{
    return bs->aio_context;
}

static void detach_aio_context(BlockDriverState *bs)
{
    if (bs->drv && bs->drv->bdrv_detach_aio_context) {
        bs->drv->bdrv_detach_aio_context(bs);
    }
    bdrv_io_limits_detach_aio_context(bs);
    if (bs->file) {
        detach_aio_context(bs->file);
    }
    if (bs->backing_hd) {
        detach_aio_context(bs->backing_hd);
    }
}

static void attach_aio_context(BlockDriverState *bs, AioContext *ctx)
{
    if (bs->file) {
        attach_aio_context(bs->file, ctx);
    }
    if (bs->backing_hd) {
        attach_aio_context(bs->backing_hd, ctx);
    }
    bs->aio_context = ctx;
    bdrv_io_limits_attach_aio_context(bs, ctx);
    if (bs->drv && bs->drv->bdrv_attach_aio_context) {
        bs->drv->bdrv_attach_aio_context(bs, ctx);
    }
}

void bdrv_set_aio_context(BlockDriverState *bs, AioContext *ctx)
{
    if (bs->aio_context == ctx) {
        return;
    }
    bdrv_drain(bs);
    detach_aio_context(bs);
    attach_aio_context(bs, ctx);
}

#define SWAP_FIELD(a, b, field)                                         \
    do {                                                                \
        typeof((a)->field) tmp_;                                        \
        memcpy(&tmp_, &(a)->field, sizeof(tmp_));                       \
        memcpy(&(a)->field, &(b)->field, sizeof(tmp_));                 \
        memcpy(&(b)->field, &tmp_, sizeof(tmp_));                       \
    } while (0)

/*
 * After the whole-struct swap of bdrv_append, give back the fields that
 * belong to the node users hold rather than to the medium.
 */
static void swap_back_identity(BlockDriverState *a, BlockDriverState *b)
{
    SWAP_FIELD(a, b, device_name);
    SWAP_FIELD(a, b, list);
    SWAP_FIELD(a, b, all_list);
    SWAP_FIELD(a, b, dev);
    SWAP_FIELD(a, b, dev_ops);
    SWAP_FIELD(a, b, dev_opaque);
    SWAP_FIELD(a, b, job);
    SWAP_FIELD(a, b, in_use);
    SWAP_FIELD(a, b, refcnt);
    SWAP_FIELD(a, b, aio_context);
    SWAP_FIELD(a, b, io_limits);
    SWAP_FIELD(a, b, io_limits_enabled);
    SWAP_FIELD(a, b, throttle);
    SWAP_FIELD(a, b, nr_bytes);
    SWAP_FIELD(a, b, nr_ops);
    SWAP_FIELD(a, b, total_time_ns);
    SWAP_FIELD(a, b, failed_ops);
    SWAP_FIELD(a, b, latency_hist);
    SWAP_FIELD(a, b, wr_highest_sector);
    SWAP_FIELD(a, b, on_read_error);
    SWAP_FIELD(a, b, on_write_error);
    SWAP_FIELD(a, b, iostatus_enabled);
    SWAP_FIELD(a, b, iostatus);
    SWAP_FIELD(a, b, dirty_bitmaps);
    SWAP_FIELD(a, b, copy_on_read);
    SWAP_FIELD(a, b, enable_write_cache);
    SWAP_FIELD(a, b, quiesce_counter);
    SWAP_FIELD(a, b, cyls);
    SWAP_FIELD(a, b, heads);
    SWAP_FIELD(a, b, secs);
    SWAP_FIELD(a, b, translation);
}

/* Empty queues point at themselves: re-make them after a move. */
void bdrv_init_request_queues(BlockDriverState *bs)
{
    QLIST_INIT(&bs->tracked_requests);
    qemu_co_queue_init(&bs->drain_gate);
    qemu_co_queue_init(&bs->throttled_reqs[0]);
    qemu_co_queue_init(&bs->throttled_reqs[1]);
    qemu_co_queue_init(&bs->stopped_reqs);
}

void bdrv_append(BlockDriverState *bs_new, BlockDriverState *bs_top)
{
    BlockDriverState tmp;

    assert(!bs_new->backing_hd);
    bdrv_drain(bs_top);
    bdrv_drain(bs_new);
    assert(bs_top->stopped_count == 0 && bs_new->stopped_count == 0);

    tmp = *bs_new;
    *bs_new = *bs_top;
    *bs_top = tmp;
    swap_back_identity(bs_top, bs_new);
    assert(QLIST_EMPTY(&bs_top->tracked_requests) &&
           QLIST_EMPTY(&bs_new->tracked_requests));
    bdrv_init_request_queues(bs_top);
    bdrv_init_request_queues(bs_new);

    /* List heads swapped back land where they were, so the elements'
     * back pointers are still right; only the (empty) queues above had to
     * be re-made. */
    bs_top->backing_hd = bs_new;
    g_strlcpy(bs_top->backing_file, bs_new->filename,
              sizeof(bs_top->backing_file));
    g_strlcpy(bs_top->backing_format,
              bs_new->drv ? bs_new->drv->format_name : "",
              sizeof(bs_top->backing_format));
}
