/*
 * The copy engine of spindle-img convert: copies the concatenation of
 * one or more source nodes into a target node with several coroutines.
 *
 * The image is cut into chunks (at most buf_size bytes of data, never
 * crossing a source boundary or a buf_size-aligned boundary); whole
 * unallocated or backing-file extents are single chunks that need no
 * read.  Each worker coroutine takes the next chunk, reads it, looks for
 * zero blocks of min_sparse bytes, and writes data, zeroes or nothing.
 * With wr_in_order the writes are issued strictly in offset order (reads
 * run ahead), so a format target allocates its clusters in guest order,
 * as qemu-img does without -W; unlike qemu-img, a chunk's writes need
 * not be finished before the next chunk's are issued.
 *
 * Main thread only; every node in the main AioContext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SPINDLE_IMG_CONVERT_H
#define SPINDLE_IMG_CONVERT_H

#include "qemu/osdep.h"
#include "block/block.h"

#define CONVERT_MAX_COROUTINES 16
#define CONVERT_DEFAULT_COROUTINES 8
#define CONVERT_BUF_SIZE (2 * 1024 * 1024)   /* qemu-img's IO_BUF_SIZE */
#define CONVERT_MAX_SPARSE (16 * 1024 * 1024) /* largest -S */

typedef struct ConvertSource {
    BlockDriverState *bs;
    int64_t len;              /* bytes */
} ConvertSource;

typedef struct ConvertParams {
    ConvertSource *src;       /* concatenated in order */
    int nsrc;
    BlockDriverState *target;
    int num_coroutines;       /* 1..CONVERT_MAX_COROUTINES */
    bool wr_in_order;         /* false after -W */
    int64_t min_sparse;       /* bytes (multiple of 512); 0: write all */
    int64_t buf_size;         /* chunk size: 2 MiB or the cluster size */
    bool compressed;          /* write whole chunks with
                               * bdrv_write_compressed; buf_size is the
                               * target's cluster size */
    bool has_zero_init;       /* the target reads as zeroes: skip them */
    bool target_has_backing;  /* copy only what the sources' top layers
                               * hold; the rest shows through */
    bool offload;             /* -C: data chunks go through
                               * bdrv_co_copy_range, unread (no zero
                               * detection inside them, as qemu-img -C);
                               * one that cannot fails the copy with
                               * -ENOTSUP */
} ConvertParams;

/* Total bytes of the sources. */
int64_t convert_total_size(const ConvertParams *p);

/*
 * Copy the sources into the target as @p says, reporting every chunk
 * done to progress_add().  Does not flush the target.  Returns 0 or the
 * first error (-errno); after an error no new chunk is started and the
 * call returns once the running ones end.  Outside coroutines.
 */
int convert_copy(const ConvertParams *p);

#endif /* SPINDLE_IMG_CONVERT_H */
