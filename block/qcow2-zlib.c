/*
 * qcow2 zlib codec (compression_type 0): raw deflate streams with a
 * 2^12-byte window and no zlib header, the layout QEMU reads and writes.
 *
 * What it does: compresses at zlib's default level (what qemu-img uses,
 * so output sizes compare), decompresses into a whole cluster.  Each
 * thread keeps one deflate and one inflate stream and resets them per
 * cluster: setting a stream up costs more than deflating 4 KiB.
 *
 * What it deliberately does not: accept zlib or gzip headers.
 *
 * Key invariant: a stream is only used by the thread that made it; it is
 * freed when that thread exits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include "qcow2-codec.h"

#define WINDOW_BITS (-12)       /* raw deflate, 4 KiB window */
#define MEM_LEVEL 9

static void free_deflate(gpointer p)
{
    deflateEnd(p);
    g_free(p);
}

static void free_inflate(gpointer p)
{
    inflateEnd(p);
    g_free(p);
}

static GPrivate deflate_key = G_PRIVATE_INIT(free_deflate);
static GPrivate inflate_key = G_PRIVATE_INIT(free_inflate);

static z_stream *get_deflate(void)
{
    z_stream *z = g_private_get(&deflate_key);

    if (z) {
        return deflateReset(z) == Z_OK ? z : NULL;
    }
    z = g_new0(z_stream, 1);
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, WINDOW_BITS,
                     MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
        g_free(z);
        return NULL;
    }
    g_private_set(&deflate_key, z);
    return z;
}

static z_stream *get_inflate(void)
{
    z_stream *z = g_private_get(&inflate_key);

    if (z) {
        return inflateReset(z) == Z_OK ? z : NULL;
    }
    z = g_new0(z_stream, 1);
    if (inflateInit2(z, WINDOW_BITS) != Z_OK) {
        g_free(z);
        return NULL;
    }
    g_private_set(&inflate_key, z);
    return z;
}

static void set_buffers(z_stream *z, void *dest, size_t dest_size,
                        const void *src, size_t src_size)
{
    z->next_in = (Bytef *)src;
    z->avail_in = src_size;
    z->next_out = dest;
    z->avail_out = dest_size;
}

static ssize_t zlib_compress(void *dest, size_t dest_size,
                             const void *src, size_t src_size)
{
    z_stream *z = get_deflate();
    int ret;

    if (!z) {
        return -EIO;
    }
    set_buffers(z, dest, dest_size, src, src_size);
    ret = deflate(z, Z_FINISH);
    if (ret == Z_STREAM_END) {
        return dest_size - z->avail_out;
    }
    /* Z_OK or Z_BUF_ERROR: the output is full before the end. */
    return ret == Z_OK || ret == Z_BUF_ERROR ? -ENOSPC : -EIO;
}

static int zlib_decompress(void *dest, size_t dest_size,
                           const void *src, size_t src_size)
{
    z_stream *z = get_inflate();
    int ret;

    if (!z) {
        return -EIO;
    }
    set_buffers(z, dest, dest_size, src, src_size);
    ret = inflate(z, Z_FINISH);
    /*
     * A full cluster may stop before the end-of-stream marker was
     * consumed (Z_BUF_ERROR with no room left): that is still complete.
     */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR || ret == Z_OK) &&
        z->avail_out == 0) {
        return 0;
    }
    return -EIO;
}

const Qcow2Codec qcow2_zlib_codec = {
    .name = "zlib",
    .compress = zlib_compress,
    .decompress = zlib_decompress,
};
