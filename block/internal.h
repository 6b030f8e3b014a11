/*
 * Declarations shared by the generic block layer's own files and not
 * installed: the built-in driver table, probing, the node lists.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_INTERNAL_H
#define BLOCK_INTERNAL_H

#include "block/block_int.h"

/* Built-in drivers, NULL-terminated (driver-list.c). */
extern BlockDriver *const bdrv_builtin_drivers[];

extern BlockDriver bdrv_null_co;
extern BlockDriver bdrv_null_aio;
extern BlockDriver bdrv_raw;
extern BlockDriver bdrv_qcow2;
extern BlockDriver bdrv_file;
extern BlockDriver bdrv_host_device;
extern BlockDriver bdrv_blkdebug;

/* The format whose bdrv_probe scores @buf highest, or NULL. */
BlockDriver *bdrv_probe_format(const uint8_t *buf, int buf_size,
                               const char *filename);

/* Empty request lists and queues (empty queues point at themselves, so
 * a node's copy must be re-made after a move) (graph.c). */
void bdrv_init_request_queues(BlockDriverState *bs);

/* Every node, named or not (graph.c). */
void bdrv_all_add(BlockDriverState *bs);
void bdrv_all_remove(BlockDriverState *bs);
/* Next node of all after @bs (NULL: first). */
BlockDriverState *bdrv_all_next(BlockDriverState *bs);

/* Take the driver's message, if any, into @errp, else use @fallback. */
void bdrv_take_driver_error(Error **errp, int ret, const char *fmt, ...)
    QEMU_PRINTF(3, 4);

/* Remove the options whose keys start with @prefix from @options (may be
 * NULL) and return them in a new table, keys without the prefix (open.c).
 * Drivers that open children of their own use it on bs->options. */
GHashTable *bdrv_options_take_prefixed(GHashTable *options,
                                       const char *prefix);

/* Drop a driver message nobody will take (calls without an Error). */
void bdrv_discard_driver_error(void);

/* Free the node's memory (refcount reached zero; already closed). */
void bdrv_free(BlockDriverState *bs);

/* Tracked requests (io-tracked.c). */
void tracked_request_begin(BdrvTrackedRequest *req, BlockDriverState *bs,
                           int64_t offset, int64_t bytes);
void tracked_request_end(BdrvTrackedRequest *req);
/* Widen @req to @align-aligned bounds and make it serialising; then wait
 * for overlapping requests in flight. */
void coroutine_fn tracked_request_serialise(BdrvTrackedRequest *req,
                                            int64_t align);
/* Wait while a serialising request overlaps @req. */
void coroutine_fn tracked_request_wait_serialising(BdrvTrackedRequest *req);

/* The request path's checks and completion, shared with io-copy-range.c
 * (io.c).  bdrv_check_byte_request: -ENOMEDIUM without a medium, -EIO
 * for a range out of bounds, else 0.  bdrv_write_completed: after the
 * driver was asked to write [offset, +bytes), whatever its result @ret:
 * the highest sector written and the dirty bitmaps (a failed write may
 * have changed part of the range), and on success the size of a growable
 * node. */
int bdrv_check_byte_request(BlockDriverState *bs, int64_t offset,
                            int64_t bytes);
void bdrv_write_completed(BlockDriverState *bs, int64_t offset,
                          int64_t bytes, int ret);

/* Flush @bs from inside a request on @bs itself (FUA emulation): the
 * flush stages of the request path without the gate, the limits and the
 * error policy, which belong to the enclosing request (io.c). */
int coroutine_fn bdrv_co_flush_within(BlockDriverState *bs);

/* Flush the driver's own layer (not the nodes below) (io-driver.c). */
int coroutine_fn bdrv_driver_flush(BlockDriverState *bs);

/* Sectors to bytes without undefined behaviour for the negative or huge
 * values callers may pass; the request path then rejects them. */
static inline int64_t sectors_to_offset(int64_t sectors)
{
    return (int64_t)((uint64_t)sectors << BDRV_SECTOR_BITS);
}

#endif /* BLOCK_INTERNAL_H */
