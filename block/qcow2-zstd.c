/*
 * qcow2 zstd codec (compression_type 1): each compressed cluster is one
 * zstd frame, as QEMU writes it; the descriptor only gives a sector
 * count, so the frame is followed by up to 511 bytes of padding.
 *
 * What it does: compresses at zstd's default level (ZSTD_CLEVEL_DEFAULT,
 * the level QEMU gets by not setting one) into a single frame, and
 * decompresses with the streaming decoder, which stops at the end of the
 * frame whatever follows it.  Contexts are kept per thread.
 *
 * What it deliberately does not: accept windows larger than 4 MiB (a
 * cluster is at most 2 MiB), so a damaged frame header cannot make the
 * decoder allocate much; or accept several frames per cluster.
 *
 * Key invariant: a context is only used by the thread that made it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <zstd.h>
#include <zstd_errors.h>
#include "qcow2-codec.h"

#define MAX_WINDOW_LOG 22

static void free_cctx(gpointer p)
{
    ZSTD_freeCCtx(p);
}

static void free_dctx(gpointer p)
{
    ZSTD_freeDCtx(p);
}

static GPrivate cctx_key = G_PRIVATE_INIT(free_cctx);
static GPrivate dctx_key = G_PRIVATE_INIT(free_dctx);

static ZSTD_CCtx *get_cctx(void)
{
    ZSTD_CCtx *c = g_private_get(&cctx_key);

    if (!c) {
        c = ZSTD_createCCtx();
        if (!c) {
            return NULL;
        }
        g_private_set(&cctx_key, c);
    }
    ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
    return c;
}

static ZSTD_DCtx *get_dctx(void)
{
    ZSTD_DCtx *d = g_private_get(&dctx_key);

    if (!d) {
        d = ZSTD_createDCtx();
        if (!d) {
            return NULL;
        }
        if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
                                                MAX_WINDOW_LOG))) {
            ZSTD_freeDCtx(d);
            return NULL;
        }
        g_private_set(&dctx_key, d);
    }
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    return d;
}

static ssize_t zstd_compress(void *dest, size_t dest_size,
                             const void *src, size_t src_size)
{
    ZSTD_CCtx *c = get_cctx();
    size_t ret;

    if (!c) {
        return -EIO;
    }
    ret = ZSTD_compress2(c, dest, dest_size, src, src_size);
    if (ZSTD_isError(ret)) {
        return ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall
               ? -ENOSPC : -EIO;
    }
    return ret;
}

static int zstd_decompress(void *dest, size_t dest_size,
                           const void *src, size_t src_size)
{
    ZSTD_DCtx *d = get_dctx();
    ZSTD_outBuffer out = { .dst = dest, .size = dest_size };
    ZSTD_inBuffer in = { .src = src, .size = src_size };

    if (!d) {
        return -EIO;
    }
    for (;;) {
        size_t in_pos = in.pos, out_pos = out.pos;
        size_t ret = ZSTD_decompressStream(d, &out, &in);

        if (ZSTD_isError(ret)) {
            return -EIO;
        }
        if (ret == 0) {
            break;              /* the frame is complete */
        }
        if (in.pos == in_pos && out.pos == out_pos) {
            return -EIO;        /* truncated, or larger than a cluster */
        }
    }
    return out.pos == out.size ? 0 : -EIO;
}

static const Qcow2Codec zstd_codec = {
    .name = "zstd",
    .compress = zstd_compress,
    .decompress = zstd_decompress,
};

const Qcow2Codec *const qcow2_zstd_codec = &zstd_codec;
