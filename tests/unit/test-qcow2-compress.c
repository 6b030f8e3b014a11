/*
 * Tests for compressed qcow2 clusters, through the whole block layer
 * (qcow2 over file): compressed writes read back (zlib and zstd, 4K to
 * 2M clusters, reopened), incompressible data stored plainly, partial
 * overwrites (copy-on-write to a normal cluster, compressed space
 * freed), packing of several compressed clusters into one host cluster
 * with its refcount, discard and zero writes over compressed clusters,
 * the header of zstd images, and damaged descriptors and streams (-EIO,
 * never a crash).
 *
 * The on-disk checks read the file directly: L2 entries and 16-bit
 * refcounts of images with one L2 table and one refcount block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "config-host.h"
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "image-test-helpers.h"

#define KiB 1024
#define MiB (1024 * 1024)
#define OFLAG_COMPRESSED (1ULL << 62)


/* ---- helpers ---------------------------------------------------------- */

static BlockDriverState *open_image(const char *path, int flags)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, path, flags, bdrv_find_format("qcow2"),
                              &error_abort), ==, 0);
    return bs;
}

/* Text-like data deflate shrinks a lot; @seed varies it. */
static void fill_text(uint8_t *buf, size_t len, int seed)
{
    size_t pos = 0;

    for (int line = 0; pos < len; line++) {
        char tmp[64];
        int n = snprintf(tmp, sizeof(tmp), "cluster %d line %d of seed %d\n",
                         seed, line % 97, seed);
        memcpy(buf + pos, tmp, MIN((size_t)n, len - pos));
        pos += n;
    }
}

static void fill_random(uint8_t *buf, size_t len, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);

    for (size_t i = 0; i < len; i++) {
        buf[i] = g_rand_int(r);
    }
    g_rand_free(r);
}

static void write_compressed(BlockDriverState *bs, int64_t off,
                             const uint8_t *buf, size_t len)
{
    g_assert_cmpint(bdrv_write_compressed(bs, off >> 9, buf,
                                          DIV_ROUND_UP(len, 512)), ==, 0);
}

static void check_data(BlockDriverState *bs, int64_t off,
                       const uint8_t *want, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, len);
    g_assert_cmpmem(buf, len, want, len);
}

static uint64_t read_be(const char *path, off_t off, int width)
{
    uint8_t b[8] = { 0 };
    uint64_t v = 0;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(pread(fd, b, width, off), ==, width);
    close(fd);
    for (int i = 0; i < width; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

static void patch_file(const char *path, off_t off, const void *data,
                       size_t len)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(pwrite(fd, data, len, off), ==, len);
    close(fd);
}

/* File offset of the L2 entry of guest cluster @index (first L2 table). */
static off_t l2_entry_pos(const char *path, int index)
{
    uint64_t l1 = read_be(path, 40, 8);
    uint64_t l2 = read_be(path, l1, 8) & 0x00fffffffffffe00ULL;

    g_assert_cmpuint(l2, !=, 0);
    return l2 + 8 * index;
}

static uint64_t l2_entry(const char *path, int index)
{
    return read_be(path, l2_entry_pos(path, index), 8);
}

/* Host offset of a compressed entry of an image with @cluster_bits. */
static uint64_t compressed_offset(uint64_t entry, int cluster_bits)
{
    int shift = 62 - (cluster_bits - 8);

    return entry & ((1ULL << shift) - 1);
}

/* 16-bit refcount of the host cluster holding @host (first block). */
static uint64_t refcount(const char *path, uint64_t host, int cluster_bits)
{
    uint64_t rt = read_be(path, 48, 8);
    uint64_t rb = read_be(path, rt, 8);

    return read_be(path, rb + 2 * (host >> cluster_bits), 2);
}

/* ---- reading back ----------------------------------------------------- */

typedef struct Geometry {
    const char *name;
    const char *opts;
    int cluster_bits;
} Geometry;

static const Geometry geometries[] = {
    { "zlib/512", "cluster_size=512", 9 },
    { "zlib/4k", "cluster_size=4k", 12 },
    { "zlib/64k", "cluster_size=64k", 16 },
    { "zlib/2m", "cluster_size=2M", 21 },
    { "zlib/64k-v2", "compat=0.10", 16 },
#ifdef CONFIG_ZSTD
    { "zstd/4k", "cluster_size=4k,compression_type=zstd", 12 },
    { "zstd/64k", "compression_type=zstd", 16 },
    { "zstd/2m", "cluster_size=2M,compression_type=zstd", 21 },
#endif
};

static void test_rw(const void *opaque)
{
    const Geometry *g = opaque;
    size_t cs = 1u << g->cluster_bits;
    int64_t size = 16 * cs + 512;      /* the last cluster is partial */
    g_autofree char *path = image_path("rw.qcow2");
    g_autofree uint8_t *data = g_malloc(size);
    BlockDriverState *bs;
    int pnum;

    g_assert_cmpint(create_qcow2(path, size, g->opts, &error_abort), ==, 0);
    fill_text(data, size, 1);
    fill_random(data + 4 * cs, cs, 4);          /* incompressible */
    bs = open_image(path, BDRV_O_RDWR);
    for (int64_t off = 0; off < size; off += cs) {
        write_compressed(bs, off, data + off, MIN((int64_t)cs, size - off));
    }
    for (int pass = 0; pass < 2; pass++) {
        check_data(bs, 0, data, size);
        /* in pieces, as guests read (the cache serves the rest) */
        check_data(bs, cs + 512, data + cs + 512, 1024);
        check_data(bs, 2 * cs - 512, data + 2 * cs - 512, 1024);
        for (int64_t s = 0; s < size >> 9; s += pnum) {
            g_assert_cmpint(bdrv_is_allocated(bs, s, (size >> 9) - s,
                                              &pnum), ==, 1);
            g_assert_cmpint(pnum, >, 0);
        }
        bdrv_unref(bs);
        bs = open_image(path, 0);
    }
    bdrv_unref(bs);

    g_assert_true(l2_entry(path, 0) & OFLAG_COMPRESSED);
    g_assert_true(l2_entry(path, 16) & OFLAG_COMPRESSED);
    g_assert_false(l2_entry(path, 4) & OFLAG_COMPRESSED);
    g_assert_cmpuint(l2_entry(path, 4) & (1ULL << 63), !=, 0);
    unlink(path);
}

/* ---- overwrites ------------------------------------------------------- */

static void test_overwrite(const void *opaque)
{
    const char *type = opaque;
    g_autofree char *path = image_path("ow.qcow2");
    g_autofree char *opts = g_strdup_printf("compression_type=%s", type);
    g_autofree uint8_t *data = g_malloc(3 * 64 * KiB);
    uint8_t patch[3000];
    uint64_t host;
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 1 * MiB, opts, &error_abort), ==, 0);
    fill_text(data, 3 * 64 * KiB, 7);
    bs = open_image(path, BDRV_O_RDWR);
    for (int i = 0; i < 3; i++) {
        write_compressed(bs, i * 64 * KiB, data + i * 64 * KiB, 64 * KiB);
    }
    bdrv_flush(bs);
    host = compressed_offset(l2_entry(path, 0), 16);
    g_assert_cmpuint(refcount(path, host, 16), ==, 3);

    /* a write inside cluster 1 merges with its old contents */
    memset(patch, 0xab, sizeof(patch));
    g_assert_cmpint(bdrv_pwrite(bs, 64 * KiB + 1000, patch, sizeof(patch)),
                    ==, sizeof(patch));
    memcpy(data + 64 * KiB + 1000, patch, sizeof(patch));
    check_data(bs, 0, data, 3 * 64 * KiB);
    bdrv_flush(bs);
    g_assert_false(l2_entry(path, 1) & OFLAG_COMPRESSED);
    g_assert_cmpuint(refcount(path, host, 16), ==, 2);

    /* writing zeroes and discarding free the rest */
    g_assert_cmpint(bdrv_write_zeroes(bs, 0, 128), ==, 0);
    g_assert_cmpint(bdrv_discard(bs, 256, 128), ==, 0);
    bdrv_flush(bs);
    g_assert_cmpuint(refcount(path, host, 16), ==, 0);
    memset(data, 0, 64 * KiB);
    memset(data + 2 * 64 * KiB, 0, 64 * KiB);
    check_data(bs, 0, data, 3 * 64 * KiB);

    /* a compressed write over a normal cluster replaces it */
    fill_text(data + 64 * KiB, 64 * KiB, 8);
    write_compressed(bs, 64 * KiB, data + 64 * KiB, 64 * KiB);
    check_data(bs, 0, data, 3 * 64 * KiB);
    bdrv_unref(bs);
    g_assert_true(l2_entry(path, 1) & OFLAG_COMPRESSED);
    bs = open_image(path, 0);
    check_data(bs, 0, data, 3 * 64 * KiB);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- packing ---------------------------------------------------------- */

static void test_packing(void)
{
    g_autofree char *path = image_path("pack.qcow2");
    g_autofree uint8_t *data = g_malloc(40 * 4 * KiB);
    uint64_t users[64] = { 0 };
    uint64_t first, max_cluster = 0;
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 1 * MiB, "cluster_size=4k",
                                 &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    for (int i = 0; i < 40; i++) {
        fill_text(data + i * 4 * KiB, 4 * KiB, i);
        write_compressed(bs, i * 4 * KiB, data + i * 4 * KiB, 4 * KiB);
    }
    check_data(bs, 0, data, 40 * 4 * KiB);
    bdrv_unref(bs);

    /* Count the compressed clusters touching each host cluster. */
    first = compressed_offset(l2_entry(path, 0), 12) >> 12;
    for (int i = 0; i < 40; i++) {
        uint64_t e = l2_entry(path, i);
        uint64_t host = compressed_offset(e, 12);
        uint64_t extra = (e >> (62 - 4)) & 15;
        uint64_t last = ((host & ~511ULL) + extra * 512) >> 12;

        g_assert_true(e & OFLAG_COMPRESSED);
        g_assert_cmpuint(last, <, G_N_ELEMENTS(users));
        for (uint64_t c = host >> 12; c <= last; c++) {
            users[c]++;
        }
        max_cluster = MAX(max_cluster, last);
    }
    /* Several share a host cluster, and each is counted in its refcount. */
    g_assert_cmpuint(users[first], >, 2);
    g_assert_cmpuint(max_cluster - first, <, 20);
    for (uint64_t c = first; c <= max_cluster; c++) {
        if (users[c]) {
            g_assert_cmpuint(refcount(path, c << 12, 12), ==, users[c]);
        }
    }

    /* reads still right after reopening */
    bs = open_image(path, 0);
    check_data(bs, 0, data, 40 * 4 * KiB);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- requests and headers ---------------------------------------------- */

static void test_bad_requests(void)
{
    g_autofree char *path = image_path("req.qcow2");
    g_autofree uint8_t *buf = g_malloc0(128 * KiB);
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 1 * MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_write_compressed(bs, 1, buf, 128), ==, -EINVAL);
    g_assert_cmpint(bdrv_write_compressed(bs, 0, buf, 64), ==, -EINVAL);
    g_assert_cmpint(bdrv_write_compressed(bs, 0, buf, 256), ==, -EINVAL);
    g_assert_cmpint(bdrv_write_compressed(bs, 0, buf, 0), ==, 0);
    bdrv_unref(bs);

    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_write_compressed(bs, 0, buf, 128), ==, -EACCES);
    bdrv_unref(bs);
    unlink(path);
}

static void test_zstd_header(void)
{
    g_autofree char *path = image_path("zstd.qcow2");
    Error *err = NULL;

#ifdef CONFIG_ZSTD
    g_assert_cmpint(create_qcow2(path, 1 * MiB, "compression_type=zstd",
                                 &error_abort), ==, 0);
    g_assert_cmpuint(read_be(path, 72, 8) & (1 << 3), !=, 0);
    g_assert_cmpuint(read_be(path, 104, 1), ==, 1);
    g_assert_cmpint(create_qcow2(path, 1 * MiB,
                                 "compression_type=zstd,compat=0.10", &err),
                    <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "compat=1.1"));
#else
    g_assert_cmpint(create_qcow2(path, 1 * MiB, "compression_type=zstd",
                                 &err), ==, -ENOTSUP);
    g_assert_nonnull(strstr(error_get_pretty(err), "libzstd"));
#endif
    error_free(err);
    g_assert_cmpint(create_qcow2(path, 1 * MiB, "compression_type=zlib",
                                 &error_abort), ==, 0);
    g_assert_cmpuint(read_be(path, 72, 8) & (1 << 3), ==, 0);
    unlink(path);
}

/* ---- damaged images ----------------------------------------------------- */

/* An image whose guest cluster 0 is compressed; returns the entry. */
static uint64_t make_compressed(const char *path, const char *opts)
{
    g_autofree uint8_t *data = g_malloc(64 * KiB);
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 1 * MiB, opts, &error_abort), ==, 0);
    fill_text(data, 64 * KiB, 3);
    bs = open_image(path, BDRV_O_RDWR);
    write_compressed(bs, 0, data, 64 * KiB);
    write_compressed(bs, 64 * KiB, data, 64 * KiB);
    bdrv_unref(bs);
    return l2_entry(path, 0);
}

static void expect_eio(const char *path)
{
    uint8_t buf[4096];
    BlockDriverState *bs = open_image(path, 0);

    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, -EIO);
    bdrv_unref(bs);
}

static void patch_entry(const char *path, uint64_t entry)
{
    uint64_t be = GUINT64_TO_BE(entry);

    patch_file(path, l2_entry_pos(path, 0), &be, 8);
}

static void test_bad_descriptor(void)
{
    g_autofree char *path = image_path("baddesc.qcow2");
    uint64_t e = make_compressed(path, NULL);
    uint64_t host = compressed_offset(e, 16);
    uint64_t sizebits = e & ~((1ULL << 54) - 1) & ~OFLAG_COMPRESSED;
    uint8_t buf[4096];
    BlockDriverState *bs;

    /* far outside the file, the largest size the field holds */
    patch_entry(path, OFLAG_COMPRESSED | (255ULL << 46) | (1ULL << 40));
    expect_eio(path);
    /* inside the header */
    patch_entry(path, OFLAG_COMPRESSED | sizebits | 100);
    expect_eio(path);
    /* off by some bytes: the stream starts in the middle */
    patch_entry(path, OFLAG_COMPRESSED | sizebits | (host + 37));
    expect_eio(path);
    /* cut short: one sector of a longer stream */
    patch_entry(path, OFLAG_COMPRESSED | host);
    expect_eio(path);

    /* the other compressed cluster is unharmed */
    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_pread(bs, 64 * KiB, buf, sizeof(buf)), ==,
                    sizeof(buf));
    bdrv_unref(bs);
    unlink(path);
}

static void test_bad_stream(const void *opaque)
{
    const char *opts = opaque;
    g_autofree char *path = image_path("badstream.qcow2");
    uint64_t e = make_compressed(path, opts);
    uint64_t host = compressed_offset(e, 16);
    uint8_t junk[256];

    fill_random(junk, sizeof(junk), 99);
    patch_file(path, host, junk, sizeof(junk));
    expect_eio(path);
    unlink(path);
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-qcow2c-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    for (size_t i = 0; i < G_N_ELEMENTS(geometries); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2-compress/rw/%s",
                                                geometries[i].name);
        g_test_add_data_func(name, &geometries[i], test_rw);
    }
    g_test_add_data_func("/qcow2-compress/overwrite/zlib", "zlib",
                         test_overwrite);
#ifdef CONFIG_ZSTD
    g_test_add_data_func("/qcow2-compress/overwrite/zstd", "zstd",
                         test_overwrite);
#endif
    g_test_add_func("/qcow2-compress/packing", test_packing);
    g_test_add_func("/qcow2-compress/bad-requests", test_bad_requests);
    g_test_add_func("/qcow2-compress/zstd-header", test_zstd_header);
    g_test_add_func("/qcow2-compress/bad/descriptor", test_bad_descriptor);
    g_test_add_data_func("/qcow2-compress/bad/stream/zlib", "",
                         test_bad_stream);
#ifdef CONFIG_ZSTD
    g_test_add_data_func("/qcow2-compress/bad/stream/zstd",
                         "compression_type=zstd", test_bad_stream);
#endif

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
