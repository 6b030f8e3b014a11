/*
 * Tests for copy offloading (bdrv_co_copy_range): file to file through
 * copy_file_range(2), raw windows on both sides, qcow2 as source and as
 * destination (data clusters, zero clusters, cluster allocation checked
 * by bdrv_check), the -ENOTSUP answers that send callers to read and
 * write (compressed and encrypted clusters, partial destination clusters,
 * unaligned ranges, drivers without support), the destination's tracked
 * request (an overlapping write waits for the copy), dirty bitmaps,
 * accounting and the read-only check.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "crypto/secret.h"
#include "image-test-helpers.h"

#define KiB 1024
#define MiB (1024 * 1024)
#define IMG_SIZE (4 * MiB)


/* ---- helpers ---------------------------------------------------------- */

/* A file of @size bytes, every byte @fill. */
static char *make_file(const char *name, int64_t size, int fill)
{
    char *path = image_path(name);
    g_autofree uint8_t *buf = g_malloc(size);

    memset(buf, fill, size);
    g_assert_true(g_file_set_contents(path, (char *)buf, size, NULL));
    return path;
}

static char *make_qcow2(const char *name, const char *opts)
{
    char *path = image_path(name);
    BlockDriver *drv = bdrv_find_format("qcow2");
    QEMUOptionParameter *list;

    list = parse_option_parameters(opts ? opts : "", drv->create_options,
                                   NULL, NULL, &error_abort);
    set_option_parameter_int(list, BLOCK_OPT_SIZE, IMG_SIZE, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
    return path;
}

/* Open @path with format @fmt ("file": the protocol node alone) and
 * driver options given as "k1", "v1", ..., NULL. */
static BlockDriverState *open_node(const char *path, const char *fmt,
                                   int flags, ...)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs;
    const char *key;
    va_list ap;

    if (!strcmp(fmt, "file")) {
        g_assert_cmpint(bdrv_file_open(&bs, path, flags, &error_abort), ==,
                        0);
        return bs;
    }
    va_start(ap, flags);
    while ((key = va_arg(ap, const char *)) != NULL) {
        g_hash_table_insert(opts, g_strdup(key),
                            g_strdup(va_arg(ap, const char *)));
    }
    va_end(ap);
    bs = bdrv_new("");
    g_assert_cmpint(bdrv_open_options(bs, path, opts, flags,
                                      bdrv_find_format(fmt), &error_abort),
                    ==, 0);
    return bs;
}

static void fill_pattern(uint8_t *buf, size_t len, int seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 7 + seed + (i >> 12));
    }
}

/* Write a pattern to [offset, +len) of @bs; the pattern into @out. */
static void write_pattern(BlockDriverState *bs, int64_t offset, int len,
                          int seed, uint8_t *out)
{
    fill_pattern(out, len, seed);
    g_assert_cmpint(bdrv_pwrite(bs, offset, out, len), ==, len);
}

static void assert_reads(BlockDriverState *bs, int64_t offset, int len,
                         const uint8_t *expect)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, offset, buf, len), ==, len);
    g_assert_true(memcmp(buf, expect, len) == 0);
}

static void assert_reads_byte(BlockDriverState *bs, int64_t offset, int len,
                              int byte)
{
    g_autofree uint8_t *expect = g_malloc(len);

    memset(expect, byte, len);
    assert_reads(bs, offset, len, expect);
}

static void assert_consistent(BlockDriverState *bs)
{
    BdrvCheckResult res = { 0 };

    g_assert_cmpint(bdrv_check(bs, &res, 0), ==, 0);
    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.leaks, ==, 0);
    g_assert_cmpint(res.check_errors, ==, 0);
}

/* ---- file and raw ------------------------------------------------------ */

static void test_file_to_file(void)
{
    g_autofree char *sp = make_file("f-src", IMG_SIZE, 0);
    g_autofree char *dp = make_file("f-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "file", BDRV_O_RDWR);
    BlockDriverState *dst = open_node(dp, "file", BDRV_O_RDWR);
    g_autofree uint8_t *data = g_malloc(1 * MiB);

    write_pattern(src, 64 * KiB, 1 * MiB, 1, data);
    g_assert_cmpint(bdrv_copy_range(src, 64 * KiB, dst, 512 * KiB, 1 * MiB),
                    ==, 0);
    assert_reads(dst, 512 * KiB, 1 * MiB, data);
    assert_reads_byte(dst, 0, 512 * KiB, 0xff);
    assert_reads_byte(dst, 1536 * KiB, 512 * KiB, 0xff);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 0), ==, 0);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_raw_windows(void)
{
    g_autofree char *sp = make_file("r-src", IMG_SIZE, 0);
    g_autofree char *dp = make_file("r-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR,
                                      "offset", "1M", "size", "1M", NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR,
                                      "offset", "2M", NULL);
    BlockDriverState *dfile;
    g_autofree uint8_t *data = g_malloc(256 * KiB);

    write_pattern(src, 128 * KiB, 256 * KiB, 2, data);
    g_assert_cmpint(bdrv_copy_range(src, 128 * KiB, dst, 0, 256 * KiB), ==,
                    0);
    assert_reads(dst, 0, 256 * KiB, data);
    /* Past the end of the source's window. */
    g_assert_cmpint(bdrv_copy_range(src, 1 * MiB - 64 * KiB, dst, 0,
                                    128 * KiB), ==, -EIO);
    bdrv_unref(src);
    bdrv_unref(dst);

    dfile = open_node(dp, "file", BDRV_O_RDWR);
    assert_reads(dfile, 2 * MiB, 256 * KiB, data);
    assert_reads_byte(dfile, 0, 2 * MiB, 0xff);
    bdrv_unref(dfile);
}

static void test_unaligned_and_unsupported(void)
{
    g_autofree char *sp = make_file("u-src", IMG_SIZE, 0x11);
    g_autofree char *dp = make_file("u-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *null = bdrv_new("");

    g_assert_cmpint(bdrv_open(null, "null-co://", BDRV_O_RDWR, NULL,
                              &error_abort), ==, 0);
    g_assert_cmpint(bdrv_copy_range(src, 100, dst, 0, 4096), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 1000), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_copy_range(null, 0, dst, 0, 4096), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_copy_range(src, 0, null, 0, 4096), ==, -ENOTSUP);
    assert_reads_byte(dst, 0, 64 * KiB, 0xff);
    bdrv_unref(null);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_read_only_dst(void)
{
    g_autofree char *sp = make_file("ro-src", IMG_SIZE, 0x11);
    g_autofree char *dp = make_file("ro-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "raw", 0, NULL);
    BlockDriverState *dst = open_node(dp, "raw", 0, NULL);

    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 4096), ==, -EACCES);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_dirty_and_accounting(void)
{
    g_autofree char *sp = make_file("d-src", IMG_SIZE, 0x22);
    g_autofree char *dp = make_file("d-dst", IMG_SIZE, 0);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    BdrvDirtyBitmap *bm = bdrv_create_dirty_bitmap(dst, 64 * KiB, "b",
                                                   &error_abort);
    uint64_t wr_bytes = dst->nr_bytes[BDRV_ACCT_WRITE];
    uint64_t rd_bytes = src->nr_bytes[BDRV_ACCT_READ];

    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 1 * MiB, 128 * KiB), ==, 0);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 128 * KiB);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 1 * MiB));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 1 * MiB + 64 * KiB));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_cmpuint(dst->nr_bytes[BDRV_ACCT_WRITE], ==,
                     wr_bytes + 128 * KiB);
    g_assert_cmpuint(src->nr_bytes[BDRV_ACCT_READ], ==,
                     rd_bytes + 128 * KiB);
    /* -ENOTSUP is neither dirty nor counted. */
    bdrv_clear_dirty_bitmap(bm);
    g_assert_cmpint(bdrv_copy_range(src, 1, dst, 0, 4096), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 0);
    g_assert_cmpuint(dst->nr_bytes[BDRV_ACCT_WRITE], ==,
                     wr_bytes + 128 * KiB);
    bdrv_release_dirty_bitmap(bm);
    bdrv_unref(src);
    bdrv_unref(dst);
}

/* ---- serialisation ----------------------------------------------------- */

typedef struct SerialiseCo {
    BlockDriverState *src, *dst;
    const uint8_t *data;
    int *order;                 /* shared: next completion slot */
    int *log;                   /* who completed, in order */
    int id, ret;
    bool done;
} SerialiseCo;

static void coroutine_fn copy_co(void *opaque)
{
    SerialiseCo *c = opaque;

    c->ret = bdrv_co_copy_range(c->src, 0, c->dst, 0, 1 * MiB, 0, 0);
    c->log[(*c->order)++] = c->id;
    c->done = true;
}

static void coroutine_fn write_co(void *opaque)
{
    SerialiseCo *c = opaque;

    c->ret = bdrv_co_pwrite(c->dst, 512 * KiB, 64 * KiB, c->data);
    c->log[(*c->order)++] = c->id;
    c->done = true;
}

/* A write overlapping a copy in flight waits for it, so it lands last. */
static void test_serialise(void)
{
    g_autofree char *sp = make_file("s-src", IMG_SIZE, 0x33);
    g_autofree char *dp = make_file("s-dst", IMG_SIZE, 0);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    uint8_t data[64 * KiB];
    int order = 0, log[2] = { -1, -1 };
    SerialiseCo cp = { src, dst, NULL, &order, log, 1 };
    SerialiseCo wr = { src, dst, data, &order, log, 2 };
    g_autofree uint8_t *expect = g_malloc(1 * MiB);

    memset(data, 0x44, sizeof(data));
    qemu_coroutine_enter(qemu_coroutine_create(copy_co, &cp));
    g_assert_false(cp.done);        /* on the thread pool */
    g_assert_cmpuint(dst->file->serialising_in_flight, ==, 1);
    qemu_coroutine_enter(qemu_coroutine_create(write_co, &wr));
    while (!cp.done || !wr.done) {
        aio_poll(qemu_get_aio_context(), true);
    }
    g_assert_cmpint(cp.ret, ==, 0);
    g_assert_cmpint(wr.ret, ==, 0);
    g_assert_cmpint(log[0], ==, 1);
    g_assert_cmpint(log[1], ==, 2);
    g_assert_cmpuint(dst->file->serialising_in_flight, ==, 0);
    memset(expect, 0x33, 1 * MiB);
    memset(expect + 512 * KiB, 0x44, 64 * KiB);
    assert_reads(dst, 0, 1 * MiB, expect);
    bdrv_unref(src);
    bdrv_unref(dst);
}

/* ---- qcow2 ------------------------------------------------------------- */

static void test_qcow2_to_raw(void)
{
    g_autofree char *sp = make_qcow2("q2r-src.qcow2", NULL);
    g_autofree char *dp = make_file("q2r-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "qcow2", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    g_autofree uint8_t *data = g_malloc(256 * KiB);
    g_autofree uint8_t *expect = g_malloc0(512 * KiB);

    /* data, a zero cluster, data, unallocated */
    write_pattern(src, 0, 64 * KiB, 3, data);
    write_pattern(src, 128 * KiB, 192 * KiB, 4, data + 64 * KiB);
    g_assert_cmpint(bdrv_write_zeroes(src, 64 * KiB >> 9, 128), ==, 0);
    fill_pattern(expect, 64 * KiB, 3);
    fill_pattern(expect + 128 * KiB, 192 * KiB, 4);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 512 * KiB), ==, 0);
    assert_reads(dst, 0, 512 * KiB, expect);
    assert_reads_byte(dst, 512 * KiB, 64 * KiB, 0xff);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_raw_to_qcow2(void)
{
    g_autofree char *sp = make_file("r2q-src", IMG_SIZE, 0);
    g_autofree char *dp = make_qcow2("r2q-dst.qcow2", NULL);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "qcow2", BDRV_O_RDWR, NULL);
    g_autofree uint8_t *data = g_malloc(1 * MiB);
    int pnum;

    write_pattern(src, 0, 1 * MiB, 5, data);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 1 * MiB, 1 * MiB), ==, 0);
    /* Over clusters that are allocated now: in place. */
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 1 * MiB, 64 * KiB), ==, 0);
    assert_reads(dst, 1 * MiB, 1 * MiB, data);
    assert_reads_byte(dst, 0, 1 * MiB, 0);
    g_assert_cmpint(bdrv_is_allocated(dst, 1 * MiB >> 9, 2048, &pnum), ==,
                    1);
    g_assert_cmpint(pnum, ==, 2048);
    g_assert_cmpint(bdrv_is_allocated(dst, 0, 2048, &pnum), ==, 0);
    assert_consistent(dst);
    bdrv_unref(dst);
    dst = open_node(dp, "qcow2", 0, NULL);
    assert_reads(dst, 1 * MiB, 1 * MiB, data);
    assert_consistent(dst);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_qcow2_to_qcow2(void)
{
    g_autofree char *sp = make_qcow2("q2q-src.qcow2", NULL);
    g_autofree char *dp = make_qcow2("q2q-dst.qcow2", "cluster_size=4096");
    BlockDriverState *src = open_node(sp, "qcow2", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "qcow2", BDRV_O_RDWR, NULL);
    g_autofree uint8_t *data = g_malloc(256 * KiB);

    write_pattern(src, 64 * KiB, 256 * KiB, 6, data);
    g_assert_cmpint(bdrv_copy_range(src, 64 * KiB, dst, 8 * KiB, 256 * KiB),
                    ==, 0);
    assert_reads(dst, 8 * KiB, 256 * KiB, data);
    assert_reads_byte(dst, 0, 8 * KiB, 0);
    assert_consistent(dst);
    bdrv_unref(src);
    bdrv_unref(dst);
}

/* Partial destination clusters need copy-on-write: -ENOTSUP, and the
 * image is left as it was (the allocation given back). */
static void test_qcow2_partial_cluster(void)
{
    g_autofree char *sp = make_file("pc-src", IMG_SIZE, 0x55);
    g_autofree char *dp = make_qcow2("pc-dst.qcow2", NULL);
    BlockDriverState *src = open_node(sp, "raw", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "qcow2", BDRV_O_RDWR, NULL);
    int pnum;

    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 4 * KiB, 64 * KiB), ==,
                    -ENOTSUP);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 32 * KiB), ==,
                    -ENOTSUP);
    g_assert_cmpint(bdrv_is_allocated(dst, 0, 256, &pnum), ==, 0);
    assert_consistent(dst);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_qcow2_compressed_src(void)
{
    g_autofree char *sp = make_qcow2("c-src.qcow2", NULL);
    g_autofree char *dp = make_file("c-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "qcow2", BDRV_O_RDWR, NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    g_autofree uint8_t *buf = g_malloc0(64 * KiB);

    g_assert_cmpint(bdrv_write_compressed(src, 0, buf, 128), ==, 0);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 64 * KiB), ==,
                    -ENOTSUP);
    bdrv_unref(src);
    bdrv_unref(dst);
}

static void test_qcow2_encrypted(void)
{
    g_autofree char *sp = (spindle_secret_add("sec0", "pw", &error_abort),
                           make_qcow2("e-src.qcow2",
                                     "encrypt.format=luks,"
                                     "encrypt.key-secret=sec0,"
                                     "encrypt.iter-time=10"));
    g_autofree char *dp = make_file("e-dst", IMG_SIZE, 0xff);
    BlockDriverState *src = open_node(sp, "qcow2", BDRV_O_RDWR,
                                      "encrypt.key-secret", "sec0", NULL);
    BlockDriverState *dst = open_node(dp, "raw", BDRV_O_RDWR, NULL);
    g_autofree uint8_t *data = g_malloc(64 * KiB);

    write_pattern(src, 0, 64 * KiB, 7, data);
    g_assert_cmpint(bdrv_copy_range(src, 0, dst, 0, 64 * KiB), ==,
                    -ENOTSUP);
    g_assert_cmpint(bdrv_copy_range(dst, 0, src, 64 * KiB, 64 * KiB), ==,
                    -ENOTSUP);
    assert_reads(src, 0, 64 * KiB, data);
    bdrv_unref(src);
    bdrv_unref(dst);
}

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-copyrange-XXXXXX",
                                              NULL);
    g_autofree char *cmd = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    g_test_add_func("/copy-range/file-to-file", test_file_to_file);
    g_test_add_func("/copy-range/raw-windows", test_raw_windows);
    g_test_add_func("/copy-range/unsupported/unaligned",
                    test_unaligned_and_unsupported);
    g_test_add_func("/copy-range/read-only", test_read_only_dst);
    g_test_add_func("/copy-range/dirty-and-accounting",
                    test_dirty_and_accounting);
    g_test_add_func("/copy-range/serialise", test_serialise);
    g_test_add_func("/copy-range/qcow2/to-raw", test_qcow2_to_raw);
    g_test_add_func("/copy-range/qcow2/from-raw", test_raw_to_qcow2);
    g_test_add_func("/copy-range/qcow2/to-qcow2", test_qcow2_to_qcow2);
    g_test_add_func("/copy-range/unsupported/partial-cluster",
                    test_qcow2_partial_cluster);
    g_test_add_func("/copy-range/unsupported/compressed",
                    test_qcow2_compressed_src);
    g_test_add_func("/copy-range/unsupported/encrypted",
                    test_qcow2_encrypted);
    ret = g_test_run();
    cmd = g_strdup_printf("rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? ret : 1;
}
