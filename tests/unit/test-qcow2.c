/*
 * Tests for the qcow2 driver, through the whole block layer (qcow2 over
 * file): creation across cluster sizes, compat levels and refcount
 * widths; reads and writes (unaligned, crossing clusters, reopened);
 * backing chains and copy-on-write; zero clusters and discard;
 * allocation status; truncation; preallocation; cache options; lazy
 * refcounts; concurrent allocating writes; and hand-damaged images,
 * which must fail with a clear message and never crash.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "image-test-helpers.h"

#define KiB 1024
#define MiB (1024 * 1024)


/* ---- helpers ---------------------------------------------------------- */

static BlockDriverState *open_opts(const char *path, int flags,
                                   const char *const *options, Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");

    for (; options && *options; options++) {
        g_auto(GStrv) kv = g_strsplit(*options, "=", 2);
        g_hash_table_insert(opts, g_strdup(kv[0]), g_strdup(kv[1]));
    }
    if (bdrv_open_options(bs, path, opts, flags, NULL, errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static BlockDriverState *open_image(const char *path, int flags)
{
    BlockDriverState *bs = open_opts(path, flags, NULL, &error_abort);

    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "qcow2");
    return bs;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
    }
}

static void assert_filled(const uint8_t *buf, size_t len, uint8_t value)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != value) {
            g_error("byte %zu is 0x%02x, expected 0x%02x", i, buf[i], value);
        }
    }
}

static void write_pattern(BlockDriverState *bs, int64_t off, size_t len,
                          uint8_t value)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, value, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), ==, len);
}

static void check_pattern(BlockDriverState *bs, int64_t off, size_t len,
                          uint8_t value)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, len);
    assert_filled(buf, len, value);
}

static int allocated(BlockDriverState *bs, int64_t off, int *pnum)
{
    return bdrv_is_allocated(bs, off >> 9, 65536, pnum);
}

/* Patch @len bytes at @off of the raw file. */
static void patch_file(const char *path, off_t off, const void *data,
                       size_t len)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, data, len, off), ==, len);
    close(fd);
}

static void patch_be32(const char *path, off_t off, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    patch_file(path, off, &v, 4);
}

static void patch_be64(const char *path, off_t off, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    patch_file(path, off, &v, 8);
}

static uint64_t read_be64(const char *path, off_t off)
{
    uint64_t v = 0;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(pread(fd, &v, 8, off), ==, 8);
    close(fd);
    return GUINT64_FROM_BE(v);
}

/* Opening @path must fail with one line containing @contains. */
static void assert_open_fails(const char *path, int flags,
                              const char *contains)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_new("");

    /* The qcow2 driver, not probing: a bad header would probe as raw. */
    if (bdrv_open(bs, path, flags, bdrv_find_format("qcow2"), &err) == 0) {
        g_error("opening succeeded; expected '%s'", contains);
    }
    bdrv_unref(bs);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), contains)) {
        g_error("message '%s' lacks '%s'", error_get_pretty(err), contains);
    }
    g_assert_null(strchr(error_get_pretty(err), '\n'));
    error_free(err);
}

/* ---- create, read, write, reopen --------------------------------------- */

typedef struct Geometry {
    const char *name;
    const char *opts;
    int64_t size;
} Geometry;

static const Geometry geometries[] = {
    { "512-v3", "cluster_size=512", 8 * MiB },
    { "512-v2", "cluster_size=512,compat=0.10", 8 * MiB },
    { "4k-rc1", "cluster_size=4k,refcount_bits=1", 16 * MiB },
    { "4k-rc64", "cluster_size=4k,refcount_bits=64", 16 * MiB },
    { "64k-v3", "cluster_size=64k", 64 * MiB },
    { "64k-v2", "cluster_size=64k,compat=0.10", 64 * MiB },
    { "64k-rc8-lazy", "refcount_bits=8,lazy_refcounts=on", 64 * MiB },
    { "2m-v3", "cluster_size=2M", 64 * MiB },
    { "2m-v2", "cluster_size=2M,compat=0.10", 64 * MiB },
    { "512-rc64-grow", "cluster_size=512,refcount_bits=64", 32 * MiB },
};

static void test_rw(const void *opaque)
{
    const Geometry *g = opaque;
    g_autofree char *path = image_path("rw.qcow2");
    g_autofree uint8_t *wbuf = g_malloc(3 * MiB);
    g_autofree uint8_t *rbuf = g_malloc(3 * MiB);
    BlockDriverState *bs;
    BlockDriverInfo bdi;
    int pnum;

    g_assert_cmpint(create_qcow2(path, g->size, g->opts, &error_abort), ==,
                    0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_getlength(bs), ==, g->size);
    g_assert_cmpint(bdrv_get_info(bs, &bdi), ==, 0);
    g_assert_false(bdi.is_dirty);

    /* fresh image reads as zeroes and is unallocated */
    check_pattern(bs, 0, 64 * KiB, 0);
    g_assert_cmpint(allocated(bs, 0, &pnum), ==, 0);

    /* unaligned, cluster-crossing, large writes */
    fill(wbuf, 3 * MiB, 1);
    g_assert_cmpint(bdrv_pwrite(bs, 1000, wbuf, 3000), ==, 3000);
    g_assert_cmpint(bdrv_pwrite(bs, 65536 - 700, wbuf + 5000, 1400), ==,
                    1400);
    g_assert_cmpint(bdrv_pwrite(bs, 3 * MiB + 512, wbuf, 3 * MiB), ==,
                    3 * MiB);
    g_assert_cmpint(bdrv_pwrite(bs, g->size - 512, wbuf, 512), ==, 512);
    /* overwrite in place */
    g_assert_cmpint(bdrv_pwrite(bs, 3 * MiB + 512 + 4096, wbuf + 77, 8192),
                    ==, 8192);

    for (int pass = 0; pass < 2; pass++) {
        g_assert_cmpint(bdrv_pread(bs, 0, rbuf, 5000), ==, 5000);
        assert_filled(rbuf, 1000, 0);
        g_assert_cmpmem(rbuf + 1000, 3000, wbuf, 3000);
        assert_filled(rbuf + 4000, 1000, 0);
        g_assert_cmpint(bdrv_pread(bs, 65536 - 700, rbuf, 1400), ==, 1400);
        g_assert_cmpmem(rbuf, 1400, wbuf + 5000, 1400);
        g_assert_cmpint(bdrv_pread(bs, 3 * MiB + 512, rbuf, 3 * MiB), ==,
                        3 * MiB);
        g_assert_cmpmem(rbuf, 4096, wbuf, 4096);
        g_assert_cmpmem(rbuf + 4096, 8192, wbuf + 77, 8192);
        g_assert_cmpmem(rbuf + 12288, 3 * MiB - 12288, wbuf + 12288,
                        3 * MiB - 12288);
        g_assert_cmpint(bdrv_pread(bs, g->size - 512, rbuf, 512), ==, 512);
        g_assert_cmpmem(rbuf, 512, wbuf, 512);
        g_assert_cmpint(allocated(bs, 3 * MiB + 512, &pnum), ==, 1);
        g_assert_cmpint(allocated(bs, g->size - 512, &pnum), ==, 1);

        bdrv_unref(bs);
        bs = open_image(path, pass == 0 ? BDRV_O_RDWR : 0);
    }
    bdrv_unref(bs);
    unlink(path);
}

/* ---- backing chains ------------------------------------------------------- */

static void test_backing_cow(const void *opaque)
{
    const char *base_fmt = opaque;
    g_autofree char *base = image_path("base.img");
    g_autofree char *top = image_path("top.qcow2");
    g_autofree char *opts = g_strdup_printf("backing_file=%s,backing_fmt=%s",
                                            base, base_fmt);
    g_autofree uint8_t *buf = g_malloc(256 * KiB);
    BlockDriverState *bs;
    int pnum;

    if (!strcmp(base_fmt, "qcow2")) {
        g_assert_cmpint(create_qcow2(base, 4 * MiB, "cluster_size=4k",
                                     &error_abort), ==, 0);
    } else {
        QEMUOptionParameter o[] = {
            { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE,
              .value.n = 4 * MiB, .assigned = true },
            { .name = NULL },
        };
        g_assert_cmpint(bdrv_create(bdrv_find_format("raw"), base, o,
                                    &error_abort), ==, 0);
    }
    bs = open_opts(base, BDRV_O_RDWR, NULL, &error_abort);
    write_pattern(bs, 0, 4 * MiB, 0xaa);
    bdrv_unref(bs);

    /* top is larger than base: past its end, zeroes */
    g_assert_cmpint(create_qcow2(top, 8 * MiB, opts, &error_abort), ==, 0);
    bs = open_image(top, BDRV_O_RDWR);
    g_assert_nonnull(bs->backing_hd);
    g_assert_cmpstr(bs->backing_format, ==, base_fmt);
    check_pattern(bs, 0, 64 * KiB, 0xaa);
    check_pattern(bs, 4 * MiB, 64 * KiB, 0);
    g_assert_cmpint(allocated(bs, 0, &pnum), ==, 0);

    /* partial cluster write: the rest of the cluster comes from base */
    write_pattern(bs, 65536 + 1024, 512, 0x55);
    g_assert_cmpint(bdrv_pread(bs, 65536, buf, 65536), ==, 65536);
    assert_filled(buf, 1024, 0xaa);
    assert_filled(buf + 1024, 512, 0x55);
    assert_filled(buf + 1536, 65536 - 1536, 0xaa);
    g_assert_cmpint(allocated(bs, 65536, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 128);
    g_assert_cmpint(bdrv_is_allocated_above(bs, NULL, 0, 128, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated_above(bs, bs->backing_hd, 0, 128,
                                            &pnum), ==, 0);

    /* write straddling the end of the base */
    write_pattern(bs, 4 * MiB - 512, 1024, 0x66);
    check_pattern(bs, 4 * MiB - 512, 1024, 0x66);
    check_pattern(bs, 4 * MiB - 64 * KiB, 64 * KiB - 512, 0xaa);
    check_pattern(bs, 4 * MiB + 512, 60 * KiB, 0);

    /* discard in the top hides the base (zero cluster in v3) */
    g_assert_cmpint(bdrv_discard(bs, 256 * KiB / 512, 128), ==, 0);
    check_pattern(bs, 256 * KiB, 64 * KiB, 0);
    bdrv_unref(bs);

    /* reopen read-only, data persists */
    bs = open_image(top, 0);
    check_pattern(bs, 65536 + 1024, 512, 0x55);
    check_pattern(bs, 65536, 1024, 0xaa);
    check_pattern(bs, 256 * KiB, 64 * KiB, 0);
    check_pattern(bs, 512 * KiB, 64 * KiB, 0xaa);
    bdrv_unref(bs);
    unlink(top);
    unlink(base);
}

static void test_change_backing(void)
{
    g_autofree char *path = image_path("cb.qcow2");
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_change_backing_file(bs, "other.img", "raw"), ==, 0);
    bdrv_unref(bs);
    bs = open_image(path, BDRV_O_RDWR | BDRV_O_NO_BACKING);
    g_assert_cmpstr(bs->backing_file, ==, "other.img");
    g_assert_cmpstr(bs->backing_format, ==, "raw");
    g_assert_cmpint(bdrv_change_backing_file(bs, NULL, NULL), ==, 0);
    bdrv_unref(bs);
    bs = open_image(path, 0);
    g_assert_cmpstr(bs->backing_file, ==, "");
    bdrv_unref(bs);
    unlink(path);
}

/* ---- zeroes, discard, truncate, preallocation ----------------------------- */

static void test_zero_discard(const void *opaque)
{
    const char *compat = opaque;
    g_autofree char *path = image_path("zero.qcow2");
    g_autofree char *opts = g_strdup_printf("cluster_size=4k,compat=%s",
                                            compat);
    BlockDriverState *bs;
    int pnum;
    int64_t before, after;

    g_assert_cmpint(create_qcow2(path, 4 * MiB, opts, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    write_pattern(bs, 0, MiB, 0x11);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);

    /* unaligned zero write: partial clusters written, whole ones zeroed */
    g_assert_cmpint(bdrv_write_zeroes(bs, 3, 40), ==, 0);
    check_pattern(bs, 0, 3 * 512, 0x11);
    check_pattern(bs, 3 * 512, 40 * 512, 0);
    check_pattern(bs, 43 * 512, 4096, 0x11);
    g_assert_cmpint(allocated(bs, 8192, &pnum), ==, 1);

    before = bdrv_get_allocated_file_size(bs);
    g_assert_cmpint(bdrv_discard(bs, 256, 1024), ==, 0);
    check_pattern(bs, 128 * KiB, 512 * KiB, 0);
    g_assert_cmpint(allocated(bs, 128 * KiB, &pnum), ==, 0);
    g_assert_cmpint(pnum, >=, 8);
    check_pattern(bs, 640 * KiB, 384 * KiB, 0x11);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    after = bdrv_get_allocated_file_size(bs);
    g_assert_cmpint(after, <, before);

    /* freed clusters are reused */
    write_pattern(bs, 2 * MiB, 256 * KiB, 0x22);
    check_pattern(bs, 2 * MiB, 256 * KiB, 0x22);
    bdrv_unref(bs);
    bs = open_image(path, 0);
    check_pattern(bs, 0, 3 * 512, 0x11);
    check_pattern(bs, 3 * 512, 40 * 512, 0);
    check_pattern(bs, 128 * KiB, 512 * KiB, 0);
    check_pattern(bs, 2 * MiB, 256 * KiB, 0x22);
    bdrv_unref(bs);
    unlink(path);
}

static void test_truncate(void)
{
    g_autofree char *path = image_path("trunc.qcow2");
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, MiB, "cluster_size=512",
                                 &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    write_pattern(bs, 0, 4096, 0x33);
    /* grow well past the L1 table's reach */
    g_assert_cmpint(bdrv_truncate(bs, 64 * MiB), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 64 * MiB);
    check_pattern(bs, 60 * MiB, 4096, 0);
    write_pattern(bs, 64 * MiB - 4096, 4096, 0x44);
    /* shrink only over unused space */
    g_assert_cmpint(bdrv_truncate(bs, 32 * MiB), <, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 64 * MiB);
    g_assert_cmpint(bdrv_discard(bs, (64 * MiB - 4096) / 512, 8), ==, 0);
    g_assert_cmpint(bdrv_truncate(bs, 32 * MiB), ==, 0);
    g_assert_cmpint(bdrv_truncate(bs, 1000), <, 0);
    bdrv_unref(bs);
    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 32 * MiB);
    check_pattern(bs, 0, 4096, 0x33);
    bdrv_unref(bs);
    unlink(path);
}

static void test_prealloc(const void *opaque)
{
    const char *mode = opaque;
    g_autofree char *path = image_path("prealloc.qcow2");
    g_autofree char *opts = g_strdup_printf("preallocation=%s", mode);
    BlockDriverState *bs;
    struct stat st;
    int pnum;

    g_assert_cmpint(create_qcow2(path, 8 * MiB, opts, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(allocated(bs, 0, &pnum), ==, 1);
    g_assert_cmpint(allocated(bs, 8 * MiB - 512, &pnum), ==, 1);
    check_pattern(bs, 0, MiB, 0);
    write_pattern(bs, 4 * MiB, 4096, 0x77);
    check_pattern(bs, 4 * MiB, 4096, 0x77);
    bdrv_unref(bs);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, >=, 8 * MiB);
    if (strcmp(mode, "metadata")) {
        g_assert_cmpint((int64_t)st.st_blocks * 512, >=, 8 * MiB);
    }
    unlink(path);
}

/* ---- options, lazy refcounts --------------------------------------------- */

static void test_create_bad(void)
{
    g_autofree char *path = image_path("bad.qcow2");
    static const struct {
        const char *opts;
        const char *msg;
    } cases[] = {
        { "cluster_size=1000", "power of two" },
        { "cluster_size=4M", "power of two" },
        { "refcount_bits=3", "refcount_bits" },
        { "compat=0.10,refcount_bits=8", "refcount_bits=16" },
        { "compat=0.10,lazy_refcounts=on", "compat=1.1" },
        { "compat=0.9", "compat level" },
        { "preallocation=some", "preallocation" },
        { "extended_l2=on,cluster_size=4k", "at least 16 KiB" },
        { "compression_type=lz4", "compression type" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Error *err = NULL;

        g_assert_cmpint(create_qcow2(path, MiB, cases[i].opts, &err), <, 0);
        g_assert_nonnull(err);
        if (!strstr(error_get_pretty(err), cases[i].msg)) {
            g_error("%s: '%s' lacks '%s'", cases[i].opts,
                    error_get_pretty(err), cases[i].msg);
        }
        error_free(err);
    }
    g_assert_cmpint(create_qcow2(path, MiB, "compression_type=zstd",
                                 &error_abort), ==, 0);
    unlink(path);
}

static void test_cache_options(void)
{
    g_autofree char *path = image_path("cache.qcow2");
    static const char *const small[] = {
        "l2-cache-size=1024", "l2-cache-entry-size=512",
        "refcount-cache-size=2048", "cache-clean-interval=1", NULL,
    };
    static const char *const bad[][2] = {
        { "l2-cache-entry-size=1000", NULL },
        { "l2-cache-entry-size=128k", NULL },
        { "l2-cache-size=lots", NULL },
    };
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 256 * MiB, "cluster_size=4k",
                                 &error_abort), ==, 0);
    bs = open_opts(path, BDRV_O_RDWR, small, &error_abort);
    /* touch many L2 slices and refcount blocks: constant eviction */
    for (int i = 0; i < 256; i++) {
        write_pattern(bs, (int64_t)i * MiB + i * 512, 512, i);
    }
    for (int i = 255; i >= 0; i--) {
        check_pattern(bs, (int64_t)i * MiB + i * 512, 512, i);
    }
    bdrv_unref(bs);
    bs = open_image(path, 0);
    for (int i = 0; i < 256; i += 17) {
        check_pattern(bs, (int64_t)i * MiB + i * 512, 512, i);
    }
    bdrv_unref(bs);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;
        g_assert_null(open_opts(path, 0, bad[i], &err));
        g_assert_nonnull(err);
        error_free(err);
    }
    unlink(path);
}

static void test_lazy_refcounts(void)
{
    g_autofree char *path = image_path("lazy.qcow2");
    BlockDriverState *bs;
    BlockDriverInfo bdi;

    g_assert_cmpint(create_qcow2(path, 4 * MiB, "lazy_refcounts=on",
                                 &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    write_pattern(bs, 0, 128 * KiB, 0x5a);
    g_assert_cmpint(bdrv_get_info(bs, &bdi), ==, 0);
    g_assert_true(bdi.is_dirty);
    g_assert_cmpuint(read_be64(path, 72) & 1, ==, 1);
    bdrv_unref(bs);
    g_assert_cmpuint(read_be64(path, 72) & 1, ==, 0);

    /* a dirty image (as after a crash) is repaired by a writable open */
    bs = open_image(path, BDRV_O_RDWR);
    write_pattern(bs, 256 * KiB, 4096, 0x5b);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpuint(read_be64(path, 72) & 1, ==, 1);
    {
        g_autofree char *copy = image_path("lazy-copy.qcow2");
        g_autofree char *cmd = g_strdup_printf("cp %s %s", path, copy);
        BlockDriverState *bs2;

        g_assert_cmpint(system(cmd), ==, 0);
        bs2 = open_opts(copy, BDRV_O_RDWR, NULL, &error_abort);
        g_assert_false(bdrv_is_read_only(bs2));
        g_assert_cmpuint(read_be64(copy, 72) & 1, ==, 0);
        check_pattern(bs2, 0, 128 * KiB, 0x5a);
        check_pattern(bs2, 256 * KiB, 4096, 0x5b);
        bdrv_unref(bs2);
        unlink(copy);
    }
    bdrv_unref(bs);
    unlink(path);
}

/* ---- concurrency ---------------------------------------------------------- */

typedef struct ConcReq {
    BlockDriverState *bs;
    int64_t offset;
    size_t len;
    uint8_t value;
    int *done;
    int ret;
} ConcReq;

static void coroutine_fn conc_write_co(void *opaque)
{
    ConcReq *r = opaque;
    g_autofree uint8_t *buf = g_malloc(r->len);
    QEMUIOVector qiov;

    memset(buf, r->value, r->len);
    qemu_iovec_init_buf(&qiov, buf, r->len);
    r->ret = bdrv_co_pwritev(r->bs, r->offset, r->len, &qiov, 0);
    (*r->done)++;
}

static void run_concurrent(BlockDriverState *bs, ConcReq *reqs, int n)
{
    int done = 0;

    for (int i = 0; i < n; i++) {
        reqs[i].bs = bs;
        reqs[i].done = &done;
        qemu_coroutine_enter(qemu_coroutine_create(conc_write_co, &reqs[i]));
    }
    while (done < n) {
        aio_poll(qemu_get_aio_context(), true);
    }
    for (int i = 0; i < n; i++) {
        g_assert_cmpint(reqs[i].ret, ==, 0);
    }
}

static void test_concurrent(void)
{
    g_autofree char *base = image_path("conc-base.qcow2");
    g_autofree char *path = image_path("conc.qcow2");
    g_autofree char *opts = g_strdup_printf("backing_file=%s,"
                                            "backing_fmt=qcow2,"
                                            "cluster_size=64k", base);
    enum { N = 32 };
    ConcReq reqs[N];
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(base, 8 * MiB, NULL, &error_abort), ==, 0);
    bs = open_image(base, BDRV_O_RDWR);
    write_pattern(bs, 0, 8 * MiB, 0xee);
    bdrv_unref(bs);
    g_assert_cmpint(create_qcow2(path, 8 * MiB, opts, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);

    /* distinct clusters, in parallel */
    for (int i = 0; i < N; i++) {
        reqs[i] = (ConcReq) { .offset = (int64_t)i * 65536 * 2 + 4096,
                              .len = 8192, .value = i + 1 };
    }
    run_concurrent(bs, reqs, N);
    /* every sector of one cluster, all at once: allocations serialise */
    for (int i = 0; i < N; i++) {
        reqs[i] = (ConcReq) { .offset = 4 * MiB + i * 2048, .len = 2048,
                              .value = 0x80 + i };
    }
    run_concurrent(bs, reqs, N);
    /* overlapping writes across a cluster boundary */
    for (int i = 0; i < 4; i++) {
        reqs[i] = (ConcReq) { .offset = 6 * MiB - 65536 + i * 16384,
                              .len = 65536, .value = 0x40 };
    }
    run_concurrent(bs, reqs, 4);

    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            int64_t c = (int64_t)i * 65536 * 2;
            check_pattern(bs, c, 4096, 0xee);
            check_pattern(bs, c + 4096, 8192, i + 1);
            check_pattern(bs, c + 12288, 65536 - 12288, 0xee);
            check_pattern(bs, 4 * MiB + i * 2048, 2048, 0x80 + i);
        }
        check_pattern(bs, 6 * MiB - 65536, 65536 + 3 * 16384, 0x40);
        check_pattern(bs, 6 * MiB + 3 * 16384, 16384, 0xee);
        bdrv_unref(bs);
        bs = open_image(path, 0);
    }
    bdrv_unref(bs);
    unlink(path);
    unlink(base);
}

/* ---- damaged images ------------------------------------------------------- */

/* A fresh 64 KiB-cluster v3 image with 0x11 at 0..64k; returns its path. */
static char *make_victim(const char *name)
{
    char *path = image_path(name);
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(path, 16 * MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    write_pattern(bs, 0, 65536, 0x11);
    bdrv_unref(bs);
    return path;
}

static void test_bad_headers(void)
{
    static const struct {
        off_t off;
        int width;
        uint64_t value;
        const char *msg;
    } cases[] = {
        { 20, 4, 30, "cluster size" },
        { 20, 4, 8, "cluster size" },
        { 4, 4, 7, "version 7" },
        { 36, 4, 0x40000000, "L1 table is too large" },
        { 24, 8, 1ULL << 40, "L1 table is too small" },
        { 40, 8, 0x10000000000ULL, "outside the image file" },
        { 40, 8, 65536 + 8, "not cluster aligned" },
        { 48, 8, 0x10000000000ULL, "outside the image file" },
        { 56, 4, 0x7fffffff, "refcount table is too large" },
        { 56, 4, 0, "no refcount table" },
        { 16, 4, 5000, "backing file name too long" },
        { 96, 4, 7, "refcount order" },
        { 100, 4, 12, "header length" },
        { 24, 8, 0xfffffffffffffe00ULL, "virtual size" },
        { 60, 4, 100000, "too many snapshots" },
        { 72, 8, 1ULL << 20, "unknown incompatible feature bit 20" },
        { 72, 8, 1ULL << 2, "names none" },
        { 32, 4, 2, "encrypted" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = make_victim("hdr.qcow2");

        if (cases[i].off == 16) {
            patch_be64(path, 8, 512);   /* backing_file_offset */
        }
        if (cases[i].width == 4) {
            patch_be32(path, cases[i].off, cases[i].value);
        } else {
            patch_be64(path, cases[i].off, cases[i].value);
        }
        assert_open_fails(path, 0, cases[i].msg);
        unlink(path);
    }

    /* a version we do not know still probes as qcow2, as in QEMU, and
     * fails to open instead of passing for a raw image */
    {
        g_autofree char *path = make_victim("hdr.qcow2");
        BlockDriverState *bs = bdrv_new("");
        Error *err = NULL;

        patch_be32(path, 4, 7);
        g_assert_cmpint(bdrv_open(bs, path, 0, NULL, &err), <, 0);
        g_assert_nonnull(strstr(error_get_pretty(err), "version 7"));
        error_free(err);
        bdrv_unref(bs);
        unlink(path);
    }
}

static void test_bad_extensions(void)
{
    g_autofree char *path = make_victim("ext.qcow2");
    uint8_t ext[8 + 48] = { 0 };

    /* an extension claiming more bytes than the cluster holds */
    patch_be32(path, 112, 0x12345678);
    patch_be32(path, 116, 0x7ffffff0);
    assert_open_fails(path, 0, "header extension 0x12345678");

    /* a feature table naming an unknown incompatible bit */
    {
        uint32_t t = GUINT32_TO_BE(0x6803f857), l = GUINT32_TO_BE(48);
        memcpy(ext, &t, 4);
        memcpy(ext + 4, &l, 4);
        ext[8] = 0;
        ext[9] = 33;
        strcpy((char *)ext + 10, "frobnication");
        patch_file(path, 112, ext, sizeof(ext));
        patch_file(path, 112 + sizeof(ext), (uint8_t[8]){ 0 }, 8);
        patch_be64(path, 72, 1ULL << 33);
        assert_open_fails(path, 0, "frobnication");
    }
    unlink(path);
}

static void test_unknown_ext_preserved(void)
{
    g_autofree char *path = make_victim("keep.qcow2");
    uint8_t ext[16] = { 0x0a, 0xbc, 0xde, 0xf0, 0, 0, 0, 5,
                        'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
    g_autofree uint8_t *hdr = g_malloc(65536);
    BlockDriverState *bs;
    int fd;

    patch_file(path, 112, ext, sizeof(ext));
    patch_file(path, 128, (uint8_t[8]){ 0 }, 8);
    patch_be64(path, 88, 1);          /* autoclear bitmaps bit */
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_change_backing_file(bs, "x.img", NULL), ==, 0);
    bdrv_unref(bs);
    g_assert_cmpuint(read_be64(path, 88), ==, 0);
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, hdr, 65536, 0), ==, 65536);
    close(fd);
    g_assert_nonnull(memmem(hdr, 65536, ext, 13));
    unlink(path);
}

static void test_bad_l2(void)
{
    g_autofree char *path = make_victim("l2.qcow2");
    BlockDriverState *bs;
    uint64_t l1_off = read_be64(path, 40);
    uint64_t l2_off = read_be64(path, l1_off) & 0x00fffffffffffe00ULL;
    uint8_t buf[512];

    /* an L2 entry pointing to an unaligned host offset */
    patch_be64(path, l2_off, (1ULL << 63) | 0x1234200);
    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 512), ==, -EIO);
    bdrv_unref(bs);

    /* an L1 entry pointing outside the file */
    patch_be64(path, l1_off, (1ULL << 63) | 0x100000000ULL);
    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 512), ==, -EIO);
    bdrv_unref(bs);
    unlink(path);
}

static void test_overlap_marks_corrupt(void)
{
    g_autofree char *path = make_victim("overlap.qcow2");
    uint64_t l1_off = read_be64(path, 40);
    uint64_t l2_off = read_be64(path, l1_off) & 0x00fffffffffffe00ULL;
    uint64_t rt_off = read_be64(path, 48);
    BlockDriverState *bs;

    /* guest cluster 1 "allocated" on top of the refcount table */
    patch_be64(path, l2_off + 8, (1ULL << 63) | rt_off);
    bs = open_image(path, BDRV_O_RDWR);
    {
        uint8_t buf[512] = { 0x99 };
        g_assert_cmpint(bdrv_pwrite(bs, 65536, buf, 512), ==, -EIO);
    }
    bdrv_unref(bs);
    g_assert_cmpuint(read_be64(path, 72) & 2, ==, 2);

    /* a corrupt image opens read-only, with a warning */
    bs = open_opts(path, BDRV_O_RDWR, NULL, &error_abort);
    g_assert_true(bdrv_is_read_only(bs));
    check_pattern(bs, 0, 65536, 0x11);
    bdrv_unref(bs);
    unlink(path);
}

/*
 * Tables laid over each other or over the header: open fails with a
 * message naming both, before anything is read through them.  @path
 * gets a snapshot first, so that it has a snapshot table.
 */
static void test_bad_table_overlap(void)
{
    enum { L1 = 40, RT = 48, NB_SN = 60, SN = 64 };
    static const struct {
        int field;               /* header offset field to move */
        int onto;                /* ... onto this one's table; -1: 0 */
        const char *msg[2];
    } cases[] = {
        { L1, -1, { "L1 table", "image header" } },
        { RT, -1, { "refcount table", "image header" } },
        { L1, RT, { "L1 table", "refcount table" } },
        { RT, L1, { "L1 table", "refcount table" } },
        { SN, L1, { "snapshot table", "L1 table" } },
        { L1, SN, { "snapshot table", "L1 table" } },
        { SN, RT, { "snapshot table", "refcount table" } },
        { SN, -1, { "snapshot table", "image header" } },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = make_victim("tables.qcow2");
        QEMUSnapshotInfo sn = { .name = "s0" };
        BlockDriverState *bs = open_image(path, BDRV_O_RDWR);
        Error *err = NULL;

        g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
        bdrv_unref(bs);
        g_assert_cmpuint(read_be64(path, NB_SN - 4) & 0xffffffff, ==, 1);
        patch_be64(path, cases[i].field, cases[i].onto < 0 ? 0 :
                   read_be64(path, cases[i].onto));

        bs = bdrv_new("");
        if (bdrv_open(bs, path, BDRV_O_RDWR, bdrv_find_format("qcow2"),
                      &err) == 0) {
            g_error("case %zu: opening succeeded", i);
        }
        bdrv_unref(bs);
        for (int k = 0; k < 2; k++) {
            if (!strstr(error_get_pretty(err), cases[i].msg[k])) {
                g_error("case %zu: message '%s' lacks '%s'", i,
                        error_get_pretty(err), cases[i].msg[k]);
            }
        }
        g_assert_null(strchr(error_get_pretty(err), '\n'));
        error_free(err);
        unlink(path);
    }
}

/* Point @path's backing file at @backing (qcow2), without opening it. */
static void set_backing(const char *path, const char *backing)
{
    BlockDriverState *bs = open_image(path, BDRV_O_RDWR | BDRV_O_NO_BACKING);

    g_assert_cmpint(bdrv_change_backing_file(bs, backing, "qcow2"), ==, 0);
    bdrv_unref(bs);
}

/* Backing chains of real qcow2 files that loop: a -> b -> a, c -> c and
 * d -> e -> f -> e.  Opening any of them is refused with one line naming
 * the loop (never recursing until the stack or file descriptors run
 * out); without the backing file they still open. */
static void test_backing_loop(void)
{
    static const char *const names[] = { "a", "b", "c", "d", "e", "f" };
    static const char *const backing[] = { "b", "a", "c", "e", "f", "e" };
    char *paths[G_N_ELEMENTS(names)];

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *name = g_strdup_printf("loop-%s.qcow2", names[i]);

        paths[i] = image_path(name);
        g_assert_cmpint(create_qcow2(paths[i], MiB, NULL, &error_abort), ==,
                        0);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *name = g_strdup_printf("loop-%s.qcow2",
                                                backing[i]);
        set_backing(paths[i], name);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        BlockDriverState *bs;

        assert_open_fails(paths[i], 0, "loops back");
        assert_open_fails(paths[i], BDRV_O_RDWR, "loops back");
        bs = open_image(paths[i], BDRV_O_NO_BACKING);
        check_pattern(bs, 0, 4096, 0);
        bdrv_unref(bs);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        unlink(paths[i]);
        g_free(paths[i]);
    }
}

/* ---- truncated images ---------------------------------------------------- */

#define TRUNC_CLUSTER 512     /* many L2 tables and refcount blocks */
#define TRUNC_SIZE    (8 * MiB)

/* Guest ranges written into the image that gets truncated, and their
 * bytes: data in several L2 tables, the last one written last. */
static const struct {
    int64_t off;
    size_t len;
    uint8_t value;
} trunc_data[] = {
    { 0, 64 * KiB, 0x11 },
    { 2 * MiB + 4 * KiB, 64 * KiB, 0x22 },
    { 6 * MiB, 16 * KiB, 0x33 },
};

/* Host offset of the L2 table of guest @guest. */
static uint64_t l2_of(const char *path, int64_t guest)
{
    int64_t per_l2 = (int64_t)TRUNC_CLUSTER / 8 * TRUNC_CLUSTER;

    return read_be64(path, read_be64(path, 40) + 8 * (guest / per_l2)) &
           0x00fffffffffffe00ULL;
}

/* Host offset of guest @guest (its L2 table exists). */
static uint64_t host_of(const char *path, int64_t guest)
{
    int64_t per_l2 = (int64_t)TRUNC_CLUSTER / 8 * TRUNC_CLUSTER;

    return read_be64(path, l2_of(path, guest) +
                     8 * (guest % per_l2 / TRUNC_CLUSTER)) &
           0x00fffffffffffe00ULL;
}

/* Host offset of the last refcount block. */
static uint64_t last_refblock(const char *path)
{
    uint64_t rt = read_be64(path, 48), rb = 0;

    for (int i = 0; i < TRUNC_CLUSTER / 8; i++) {
        uint64_t e = read_be64(path, rt + 8 * i) & ~511ULL;

        rb = e ? e : rb;
    }
    return rb;
}

/*
 * Open @path (cut to @len bytes) read-only: a one-line error, or an
 * image whose reads fail or return the data or zeroes (the part past the
 * cut), and whose check reports the damage, unless the cut only trims
 * the last cluster (QEMU's check does not count that either).
 */
static void check_truncated(const char *path, int64_t len, int64_t full,
                            const char *where)
{
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    BlockDriverState *bs = bdrv_new("");
    BdrvCheckResult res = { 0 };
    Error *err = NULL;
    int ret;

    if (bdrv_open(bs, path, 0, bdrv_find_format("qcow2"), &err) < 0) {
        g_assert_nonnull(err);
        g_assert_null(strchr(error_get_pretty(err), '\n'));
        g_test_message("cut %s (%" PRId64 " bytes): %s", where, len,
                       error_get_pretty(err));
        error_free(err);
        bdrv_unref(bs);
        return;
    }
    for (int64_t off = 0; off < TRUNC_SIZE; off += 64 * KiB) {
        ret = bdrv_pread(bs, off, buf, 64 * KiB);
        if (ret < 0) {
            g_assert_cmpint(ret, ==, -EIO);
            continue;
        }
        g_assert_cmpint(ret, ==, 64 * KiB);
        for (size_t i = 0; i < 64 * KiB; i++) {
            uint8_t want = 0;

            for (size_t d = 0; d < G_N_ELEMENTS(trunc_data); d++) {
                if (off + (int64_t)i >= trunc_data[d].off &&
                    off + (int64_t)i < trunc_data[d].off +
                                       (int64_t)trunc_data[d].len) {
                    want = trunc_data[d].value;
                }
            }
            if (buf[i] != want && buf[i] != 0) {
                g_error("cut %s: guest byte %" PRId64 " is 0x%02x",
                        where, off + (int64_t)i, buf[i]);
            }
        }
    }
    ret = bdrv_check(bs, &res, 0);
    g_test_message("cut %s (%" PRId64 " bytes): check %d, %d corruptions, "
                   "%d check errors", where, len, ret, res.corruptions,
                   res.check_errors);
    if (ret == 0 && len <= full - TRUNC_CLUSTER &&
        !res.corruptions && !res.check_errors) {
        g_error("cut %s (%" PRId64 " of %" PRId64 " bytes): the check "
                "finds nothing", where, len, full);
    }
    bdrv_unref(bs);

    /* a repair and a write: they may fail, but cleanly */
    bs = bdrv_new("");
    if (bdrv_open(bs, path, BDRV_O_RDWR, bdrv_find_format("qcow2"),
                  &err) < 0) {
        error_free(err);
        bdrv_unref(bs);
        return;
    }
    ret = bdrv_check(bs, &res, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    g_test_message("  repair %d: %d corruptions left, %d fixed", ret,
                   res.corruptions, res.corruptions_fixed);
    memset(buf, 0x44, 64 * KiB);
    ret = bdrv_pwrite(bs, 4 * MiB, buf, 64 * KiB);
    g_assert_true(ret == 64 * KiB || ret == -EIO || ret == -EACCES);
    ret = bdrv_pread(bs, 4 * MiB, buf, 64 * KiB);
    g_assert_true(ret == 64 * KiB || ret == -EIO);
    bdrv_unref(bs);
}

/*
 * A valid image with data cut short at a series of places: in the
 * header, right after it, in the refcount and L1 tables, a refcount
 * block, L2 tables and data clusters.  Open fails with one line, or
 * reads what is there and the check reports the loss; never a crash.
 */
static void test_truncated(void)
{
    g_autofree char *orig = image_path("trunc-orig.qcow2");
    g_autofree char *path = image_path("trunc.qcow2");
    g_autofree char *opts = g_strdup_printf("cluster_size=%d",
                                            TRUNC_CLUSTER);
    BlockDriverState *bs;
    struct {
        const char *where;
        int64_t at;
    } cuts[16];
    size_t n = 0;
    int64_t full;
    gchar *contents;
    gsize size;

    g_assert_cmpint(create_qcow2(orig, TRUNC_SIZE, opts, &error_abort), ==,
                    0);
    bs = open_image(orig, BDRV_O_RDWR);
    for (size_t d = 0; d < G_N_ELEMENTS(trunc_data); d++) {
        write_pattern(bs, trunc_data[d].off, trunc_data[d].len,
                      trunc_data[d].value);
    }
    bdrv_unref(bs);
    g_assert_true(g_file_get_contents(orig, &contents, &size, NULL));
    full = size;

#define CUT(w, a) (cuts[n].where = (w), cuts[n++].at = (a))
    CUT("in the header", 48);
    CUT("after the header fields", 104);
    CUT("right after the header cluster", TRUNC_CLUSTER);
    CUT("in the refcount table", read_be64(orig, 48) + 8);
    CUT("in the L1 table", read_be64(orig, 40) + 12);
    CUT("in the first refcount block",
        (read_be64(orig, read_be64(orig, 48)) & ~511ULL) +
        TRUNC_CLUSTER / 2);
    CUT("in the first L2 table", l2_of(orig, 0) + TRUNC_CLUSTER / 2);
    CUT("in a data cluster", host_of(orig, 8 * KiB) + 100);
    CUT("in the last refcount block",
        last_refblock(orig) + TRUNC_CLUSTER / 2);
    CUT("in an L2 table", l2_of(orig, 2 * MiB + 4 * KiB) + 8);
    CUT("in the last L2 table", l2_of(orig, 6 * MiB) + TRUNC_CLUSTER - 8);
    CUT("in the last data cluster", full - TRUNC_CLUSTER / 2);
    CUT("one byte short", full - 1);
#undef CUT

    for (size_t i = 0; i < n; i++) {
        g_assert_cmpint(cuts[i].at, >, 0);
        g_assert_cmpint(cuts[i].at, <, full);
        g_assert_true(g_file_set_contents(path, contents, cuts[i].at,
                                          NULL));
        check_truncated(path, cuts[i].at, full, cuts[i].where);
    }
    g_free(contents);
    unlink(path);
    unlink(orig);
}

static void test_not_qcow2(void)
{
    g_autofree char *path = image_path("short.qcow2");
    int fd = open(path, O_WRONLY | O_CREAT, 0644);

    g_assert_cmpint(write(fd, "QFI\xfb\0\0\0\3", 8), ==, 8);
    close(fd);
    {
        Error *err = NULL;
        BlockDriverState *bs = bdrv_new("");
        g_assert_cmpint(bdrv_open(bs, path, 0, bdrv_find_format("qcow2"),
                                  &err), <, 0);
        g_assert_nonnull(strstr(error_get_pretty(err), "too short"));
        error_free(err);
        bdrv_unref(bs);
    }
    unlink(path);
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-qcow2-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    for (size_t i = 0; i < G_N_ELEMENTS(geometries); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2/rw/%s",
                                                geometries[i].name);
        g_test_add_data_func(name, &geometries[i], test_rw);
    }
    g_test_add_data_func("/qcow2/backing/raw", "raw", test_backing_cow);
    g_test_add_data_func("/qcow2/backing/qcow2", "qcow2", test_backing_cow);
    g_test_add_func("/qcow2/backing/change", test_change_backing);
    g_test_add_data_func("/qcow2/zero-discard/v3", "1.1", test_zero_discard);
    g_test_add_data_func("/qcow2/zero-discard/v2", "0.10",
                         test_zero_discard);
    g_test_add_func("/qcow2/truncate", test_truncate);
    g_test_add_data_func("/qcow2/prealloc/metadata", "metadata",
                         test_prealloc);
    g_test_add_data_func("/qcow2/prealloc/falloc", "falloc", test_prealloc);
    g_test_add_data_func("/qcow2/prealloc/full", "full", test_prealloc);
    g_test_add_func("/qcow2/create/bad", test_create_bad);
    g_test_add_func("/qcow2/cache-options", test_cache_options);
    g_test_add_func("/qcow2/lazy-refcounts", test_lazy_refcounts);
    g_test_add_func("/qcow2/concurrent", test_concurrent);
    g_test_add_func("/qcow2/bad/headers", test_bad_headers);
    g_test_add_func("/qcow2/bad/extensions", test_bad_extensions);
    g_test_add_func("/qcow2/bad/l2", test_bad_l2);
    g_test_add_func("/qcow2/bad/overlap", test_overlap_marks_corrupt);
    g_test_add_func("/qcow2/bad/short", test_not_qcow2);
    g_test_add_func("/qcow2/bad/table-overlap", test_bad_table_overlap);
    g_test_add_func("/qcow2/bad/backing-loop", test_backing_loop);
    g_test_add_func("/qcow2/bad/truncated", test_truncated);
    g_test_add_func("/qcow2/unknown-ext-preserved",
                    test_unknown_ext_preserved);

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
