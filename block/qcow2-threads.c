/*
 * qcow2 compression off the event loop: picks the codec of an image and
 * runs it on the AioContext's thread pool when the work is large enough
 * to be worth a round trip through a worker.
 *
 * What it does: compresses and decompresses whole clusters with the
 * image's codec, on the pool (thread_pool_submit_co) when the cluster is
 * large enough for the work to outweigh a pool round trip (some tens of
 * microseconds).  Measured on one core of the build machine, text-like
 * data: deflate 32-45 MiB/s, inflate 350-540 MiB/s, zstd compress
 * 280-450 MiB/s, zstd decompress 0.8-1.4 GiB/s.  So compressing 16 KiB
 * (0.05-0.5 ms) is worth offloading, while decompressing is only from
 * 64 KiB on (zlib about 0.12 ms per 64 KiB); below that the round trip
 * would cost more than it frees the event loop.
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

#define OFFLOAD_COMPRESS_MIN (16 * 1024)
#define OFFLOAD_DECOMPRESS_MIN (64 * 1024)

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

/* Run @j, on the pool when @work bytes reach @min. */
static int coroutine_fn submit(BlockDriverState *bs, CodecJob *j,
                               size_t work, size_t min)
{
    ThreadPool *pool;

    if (work < min || !qemu_in_coroutine()) {
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
    return submit(bs, &j, src_size, OFFLOAD_COMPRESS_MIN);
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
    return submit(bs, &j, dest_size, OFFLOAD_DECOMPRESS_MIN);
}
