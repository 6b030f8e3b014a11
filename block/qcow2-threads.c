/*
 * qcow2 compression off the event loop: picks the codec of an image and
 * runs it on the AioContext's thread pool when the work is large enough
 * to be worth a round trip through a worker.
 *
 * What it does: compresses and decompresses whole clusters with the
 * image's codec.  Jobs of at least OFFLOAD_MIN_BYTES of uncompressed
 * data go to the pool (thread_pool_submit_co): deflating 64 KiB takes
 * about a millisecond, which would stall every other request of the
 * context, while a pool round trip costs some tens of microseconds.
 * Smaller jobs run inline, where the round trip would cost more than the
 * work.
 *
 * What it deliberately does not: batch clusters or keep a pool of its
 * own; concurrency comes from concurrent requests.
 *
 * Key invariant: the buffers of a job stay owned by the waiting coroutine
 * until the job has finished (thread_pool_submit_co does not return
 * earlier).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/thread-pool.h"
#include "qcow2.h"
#include "qcow2-codec.h"

#define OFFLOAD_MIN_BYTES (16 * 1024)

typedef struct CodecJob {
    const Qcow2Codec *codec;
    bool compress;
    void *dest;
    size_t dest_size;
    const void *src;
    size_t src_size;
} CodecJob;

static int run_job(void *opaque)
{
    CodecJob *j = opaque;

    if (j->compress) {
        return j->codec->compress(j->dest, j->dest_size, j->src,
                                  j->src_size);
    }
    return j->codec->decompress(j->dest, j->dest_size, j->src, j->src_size);
}

static int coroutine_fn submit(BlockDriverState *bs, CodecJob *j,
                               size_t work)
{
    ThreadPool *pool;

    if (work < OFFLOAD_MIN_BYTES || !qemu_in_coroutine()) {
        return run_job(j);
    }
    pool = aio_get_thread_pool(bdrv_get_aio_context(bs));
    return thread_pool_submit_co(pool, run_job, j);
}

const Qcow2Codec *qcow2_codec(uint8_t compression_type)
{
    switch (compression_type) {
    case QCOW2_COMPRESSION_ZLIB:
        return &qcow2_zlib_codec;
    case QCOW2_COMPRESSION_ZSTD:
        return qcow2_zstd_codec;
    default:
        return NULL;
    }
}

int qcow2_compression_type_usable(uint8_t compression_type, Error **errp)
{
    if (qcow2_codec(compression_type)) {
        return 0;
    }
    if (compression_type == QCOW2_COMPRESSION_ZSTD) {
        error_setg(errp, "compression_type=zstd is not supported: this "
                   "build of Spindle has no libzstd");
    } else {
        error_setg(errp, "unknown compression type %u", compression_type);
    }
    return -ENOTSUP;
}

int coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                   size_t dest_size, const void *src,
                                   size_t src_size)
{
    BDRVQcow2State *s = bs->opaque;
    CodecJob j = {
        .codec = qcow2_codec(s->compression_type), .compress = true,
        .dest = dest, .dest_size = dest_size,
        .src = src, .src_size = src_size,
    };

    assert(j.codec);
    return submit(bs, &j, src_size);
}

int coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                     size_t dest_size, const void *src,
                                     size_t src_size)
{
    BDRVQcow2State *s = bs->opaque;
    CodecJob j = {
        .codec = qcow2_codec(s->compression_type),
        .dest = dest, .dest_size = dest_size,
        .src = src, .src_size = src_size,
    };

    assert(j.codec);
    return submit(bs, &j, dest_size);
}
