/*
 * qcow2 compression codecs: one backend per file behind this ops table.
 *
 *   qcow2-zlib.c        compression_type 0: raw deflate, 4 KiB window
 *   qcow2-zstd.c        compression_type 1: one zstd frame per cluster
 *   qcow2-zstd-stub.c   built instead without libzstd: no codec
 *
 * Codecs are pure functions of their buffers, safe on any thread (they
 * keep per-thread contexts so a stream is not set up for every cluster);
 * qcow2-threads.c decides where they run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_QCOW2_CODEC_H
#define BLOCK_QCOW2_CODEC_H

typedef struct Qcow2Codec {
    const char *name;

    /*
     * Compress @src_size bytes of @src into @dest.  Returns the length of
     * the compressed data, -ENOSPC when it would not fit in @dest_size
     * bytes, or -EIO.  Any thread.
     */
    ssize_t (*compress)(void *dest, size_t dest_size,
                        const void *src, size_t src_size);

    /*
     * Inflate @src into exactly @dest_size bytes of @dest; input past the
     * end of the compressed stream is ignored (it is sector padding).
     * Returns 0, or -EIO when the stream is corrupt, ends early or would
     * produce more than @dest_size bytes.  Any thread.
     */
    int (*decompress)(void *dest, size_t dest_size,
                      const void *src, size_t src_size);
} Qcow2Codec;

extern const Qcow2Codec qcow2_zlib_codec;
/* NULL when built without libzstd. */
extern const Qcow2Codec *const qcow2_zstd_codec;

#endif /* BLOCK_QCOW2_CODEC_H */
