/*
 * Tests for the qcow2 extensions on top of the driver core, through the
 * whole block layer: extended L2 entries (subcluster-granular allocation,
 * copy-on-write, zero writes, discard and status, a bad bitmap), external
 * data files (plain and raw, the data-file option, a missing file) and
 * persistent dirty bitmaps (stored on close, loaded on open, "in use"
 * while open writable, removed when released).
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

#define KiB 1024
#define MiB (1024 * 1024)
#define EXT_BITMAPS_MAGIC 0x23852875U

static char *test_dir;

/* ---- helpers ---------------------------------------------------------- */

static char *path_in_dir(const char *name)
{
    char *path = g_build_filename(test_dir, name, NULL);

    unlink(path);
    return path;
}

/* Remove every file a test left in the test folder. */
static void clean_dir(void)
{
    g_autoptr(GDir) dir = g_dir_open(test_dir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(test_dir, name, NULL);
        unlink(path);
    }
}

/* Make @path a @fmt image of @size with creation options @opts. */
static void make_image(const char *fmt, const char *path, int64_t size,
                       const char *opts)
{
    BlockDriver *drv = bdrv_find_format(fmt);
    QEMUOptionParameter *list = parse_option_parameters(
        opts, drv->create_options, NULL, NULL, &error_abort);

    set_option_parameter_int(list, BLOCK_OPT_SIZE, size, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
}

/* Open @path (qcow2 forced) with "k=v" driver options @kv (may be NULL). */
static BlockDriverState *open_node(const char *path, int flags,
                                   const char *kv, Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");

    if (kv) {
        const char *eq = strchr(kv, '=');
        g_hash_table_insert(opts, g_strndup(kv, eq - kv), g_strdup(eq + 1));
    }
    if (bdrv_open_options(bs, path, opts, flags, bdrv_find_format("qcow2"),
                          errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static BlockDriverState *open_rw(const char *path)
{
    return open_node(path, BDRV_O_RDWR, NULL, &error_abort);
}

static void put(BlockDriverState *bs, int64_t off, size_t len, uint8_t v)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, v, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), ==, len);
}

/* Every byte of [off, +len) of @bs reads as @v. */
static void expect(BlockDriverState *bs, int64_t off, size_t len, uint8_t v)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != v) {
            g_error("byte %" PRId64 " is 0x%02x, not 0x%02x", off + (int64_t)i,
                    buf[i], v);
        }
    }
}

/* Allocation status at @off: the answer, and the run length in bytes. */
static int status_at(BlockDriverState *bs, int64_t off, int64_t *bytes)
{
    int pnum = 0;
    int ret = bdrv_is_allocated(bs, off >> 9, 1 << 16, &pnum);

    g_assert_cmpint(ret, >=, 0);
    *bytes = (int64_t)pnum << 9;
    return ret;
}

static void expect_status(BlockDriverState *bs, int64_t off, bool alloc,
                          int64_t run)
{
    int64_t bytes;

    g_assert_cmpint(status_at(bs, off, &bytes), ==, alloc);
    g_assert_cmpint(bytes, ==, run);
}

static int64_t file_size(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_size;
}

/* A raw backing file of @size filled with 0x11, and a qcow2 overlay. */
static void make_chain(const char *base, const char *top, int64_t size,
                       const char *opts)
{
    g_autofree char *all = g_strdup_printf("%s,backing_file=%s,"
                                           "backing_fmt=raw", opts, base);
    BlockDriverState *bs = bdrv_new("");

    make_image("raw", base, size, "");
    g_assert_cmpint(bdrv_open(bs, base, BDRV_O_RDWR, NULL, &error_abort),
                    ==, 0);
    put(bs, 0, size, 0x11);
    bdrv_unref(bs);
    make_image("qcow2", top, size, all);
}

/* ---- extended L2 entries ----------------------------------------------- */

typedef struct ExtCase {
    const char *opts;
    int64_t cluster;
} ExtCase;

/* A small write allocates its cluster but fills only its subclusters. */
static void test_extl2_cow(const void *opaque)
{
    const ExtCase *c = opaque;
    int64_t sc = c->cluster / 32;
    g_autofree char *base = path_in_dir("base.raw");
    g_autofree char *top = path_in_dir("top.qcow2");
    int64_t off = 3 * c->cluster + 5 * sc + sc / 4, len = sc / 2;
    BlockDriverState *bs;

    make_chain(base, top, 8 * c->cluster, c->opts);
    bs = open_rw(top);
    put(bs, off, len, 0x22);
    /*
     * The new data cluster is the last of the file, and only its
     * subclusters up to the written one were written: the copy-on-write
     * covered the rest of subcluster 5, not the rest of the cluster.
     */
    g_assert_cmpint(file_size(top) % c->cluster, ==, 6 * sc);
    expect_status(bs, 3 * c->cluster, false, 5 * sc);
    expect_status(bs, 3 * c->cluster + 5 * sc, true, sc);
    expect_status(bs, 3 * c->cluster + 6 * sc, false, 26 * sc + 4 *
                  c->cluster);
    bdrv_unref(bs);

    bs = open_node(top, 0, NULL, &error_abort);
    expect(bs, 0, off, 0x11);
    expect(bs, off, len, 0x22);
    expect(bs, off + len, 8 * c->cluster - off - len, 0x11);
    bdrv_unref(bs);
    clean_dir();
}

/* Later writes into the cluster stay in place and flip bitmap bits. */
static void test_extl2_in_place(void)
{
    g_autofree char *base = path_in_dir("base.raw");
    g_autofree char *top = path_in_dir("top.qcow2");
    int64_t sc = 2 * KiB, before;
    BlockDriverState *bs;

    make_chain(base, top, 1 * MiB, "extended_l2=on");
    bs = open_rw(top);
    put(bs, 0, 512, 0x22);
    before = file_size(top);
    put(bs, 10 * sc, 3 * sc, 0x33);                /* whole subclusters */
    put(bs, 20 * sc + 700, 100, 0x44);             /* partial one */
    put(bs, 0, sc, 0x55);                          /* allocated: in place */
    /* All within the one data cluster (the file may grow inside it). */
    g_assert_cmpint(ROUND_UP(file_size(top), 64 * KiB), ==,
                    ROUND_UP(before, 64 * KiB));
    expect(bs, 0, sc, 0x55);
    expect(bs, sc, 9 * sc, 0x11);
    expect(bs, 10 * sc, 3 * sc, 0x33);
    expect(bs, 13 * sc, 7 * sc + 700, 0x11);
    expect(bs, 20 * sc + 700, 100, 0x44);
    expect(bs, 20 * sc + 800, 64 * KiB - 20 * sc - 800, 0x11);
    expect_status(bs, 0, true, sc);
    expect_status(bs, 10 * sc, true, 3 * sc);
    expect_status(bs, 20 * sc, true, sc);
    /* A write over several clusters, some fresh, some not. */
    put(bs, 60 * KiB, 200 * KiB, 0x66);
    expect(bs, 60 * KiB, 200 * KiB, 0x66);
    expect(bs, 260 * KiB, 4 * KiB, 0x11);
    bdrv_unref(bs);
    clean_dir();
}

/* Zero writes work on whole subclusters; discard on whole clusters. */
static void test_extl2_zero_discard(void)
{
    g_autofree char *base = path_in_dir("base.raw");
    g_autofree char *top = path_in_dir("top.qcow2");
    int64_t sc = 2 * KiB;
    BlockDriverState *bs;

    make_chain(base, top, 1 * MiB, "extended_l2=on");
    bs = open_rw(top);
    put(bs, 64 * KiB, 64 * KiB, 0x22);
    g_assert_cmpint(bdrv_write_zeroes(bs, (64 * KiB + 4 * sc) >> 9,
                                      (2 * sc + 1024) >> 9), ==, 0);
    expect(bs, 64 * KiB, 4 * sc, 0x22);
    expect(bs, 64 * KiB + 4 * sc, 2 * sc + 1024, 0);
    expect(bs, 64 * KiB + 6 * sc + 1024, 1024, 0x22);
    /* Zeroes hide the backing file: they count as allocated. */
    expect_status(bs, 64 * KiB + 4 * sc, true, 2 * sc);
    /* Zero a fresh cluster's subclusters without any host cluster. */
    g_assert_cmpint(bdrv_write_zeroes(bs, (300 * KiB) >> 9, (8 * KiB) >> 9),
                    ==, 0);
    expect(bs, 300 * KiB, 8 * KiB, 0);
    expect(bs, 292 * KiB, 8 * KiB, 0x11);
    /* Discard with a backing file leaves zeroes. */
    g_assert_cmpint(bdrv_discard(bs, (64 * KiB) >> 9, (64 * KiB) >> 9),
                    ==, 0);
    expect(bs, 64 * KiB, 64 * KiB, 0);
    bdrv_unref(bs);
    clean_dir();
}

/* A bitmap claiming a subcluster both allocated and zero is corrupt. */
static void test_extl2_bad_bitmap(void)
{
    g_autofree char *path = path_in_dir("bad.qcow2");
    g_autofree uint8_t *buf = g_malloc(4096);
    BlockDriverState *bs;
    uint64_t l1, l2, bitmap = GUINT64_TO_BE(0x0000000100000001ULL);
    int fd;

    make_image("qcow2", path, 1 * MiB, "extended_l2=on,cluster_size=16k");
    bs = open_rw(path);
    put(bs, 0, 512, 0x22);
    bdrv_unref(bs);

    fd = open(path, O_RDWR);
    g_assert_cmpint(pread(fd, &l1, 8, 40), ==, 8);
    g_assert_cmpint(pread(fd, &l2, 8, GUINT64_FROM_BE(l1)), ==, 8);
    l2 = GUINT64_FROM_BE(l2) & 0x00fffffffffffe00ULL;
    g_assert_cmpint(pwrite(fd, &bitmap, 8, l2 + 8), ==, 8);
    close(fd);

    bs = open_node(path, 0, NULL, &error_abort);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 4096), ==, -EIO);
    bdrv_unref(bs);
    clean_dir();
}

/* ---- external data files ----------------------------------------------- */

/* Guest data sits at the guest offset of the data file. */
static void test_data_file(const void *opaque)
{
    const char *opts = opaque;
    g_autofree char *img = path_in_dir("df.qcow2");
    g_autofree char *data = path_in_dir("df.data");
    g_autofree char *all = g_strdup_printf("data_file=df.data%s", opts);
    g_autofree uint8_t *raw = g_malloc(4096);
    BlockDriverState *bs;
    int fd;

    make_image("qcow2", img, 4 * MiB, all);
    bs = open_rw(img);
    put(bs, 1 * MiB + 512, 4096, 0x77);
    put(bs, 0, 512, 0x78);
    bdrv_unref(bs);

    fd = open(data, O_RDONLY);
    g_assert_cmpint(pread(fd, raw, 4096, 1 * MiB + 512), ==, 4096);
    close(fd);
    for (int i = 0; i < 4096; i++) {
        g_assert_cmpint(raw[i], ==, 0x77);
    }
    /* The image file itself holds only metadata. */
    g_assert_cmpint(file_size(img), <, 1 * MiB);

    bs = open_node(img, 0, NULL, &error_abort);
    expect(bs, 0, 512, 0x78);
    expect(bs, 512, 1 * MiB, 0);
    expect(bs, 1 * MiB + 512, 4096, 0x77);
    bdrv_unref(bs);
    clean_dir();
}

/* A raw data file reads as the disk by itself, zero writes included. */
static void test_data_file_raw(void)
{
    g_autofree char *img = path_in_dir("dfr.qcow2");
    g_autofree char *data = path_in_dir("dfr.data");
    BlockDriverState *bs, *rawbs = bdrv_new("");

    make_image("qcow2", img, 2 * MiB, "data_file=dfr.data,data_file_raw=on");
    g_assert_cmpint(file_size(data), ==, 2 * MiB);
    bs = open_rw(img);
    put(bs, 0, 256 * KiB, 0x31);
    g_assert_cmpint(bdrv_write_zeroes(bs, (64 * KiB) >> 9, (64 * KiB) >> 9),
                    ==, 0);
    g_assert_cmpint(bdrv_discard(bs, (128 * KiB) >> 9, (64 * KiB) >> 9),
                    ==, 0);
    bdrv_unref(bs);

    g_assert_cmpint(bdrv_open(rawbs, data, 0, bdrv_find_format("raw"),
                              &error_abort), ==, 0);
    expect(rawbs, 0, 64 * KiB, 0x31);
    expect(rawbs, 64 * KiB, 64 * KiB, 0);
    expect(rawbs, 128 * KiB, 128 * KiB, 0x31);
    bdrv_unref(rawbs);
    clean_dir();
}

/* The data-file option overrides the name; a missing file is an error. */
static void test_data_file_option(void)
{
    g_autofree char *img = path_in_dir("dfo.qcow2");
    g_autofree char *data = path_in_dir("dfo.data");
    g_autofree char *moved = path_in_dir("dfo-moved.data");
    g_autofree char *kv = g_strdup_printf("data-file=%s", moved);
    BlockDriverState *bs;
    Error *err = NULL;

    make_image("qcow2", img, 1 * MiB, "data_file=dfo.data");
    bs = open_rw(img);
    put(bs, 4096, 4096, 0x41);
    bdrv_unref(bs);
    g_assert_cmpint(rename(data, moved), ==, 0);

    g_assert_null(open_node(img, 0, NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "data file"));
    error_free(err);
    bs = open_node(img, 0, kv, &error_abort);
    expect(bs, 4096, 4096, 0x41);
    bdrv_unref(bs);
    clean_dir();
}

/* ---- persistent dirty bitmaps ------------------------------------------ */

/* The flags of the first bitmap of @path's directory, read raw. */
static uint32_t first_bitmap_flags(const char *path)
{
    g_autofree uint8_t *hdr = g_malloc0(64 * KiB);
    int fd = open(path, O_RDONLY);
    uint32_t flags = UINT32_MAX;

    g_assert_cmpint(pread(fd, hdr, 64 * KiB, 0), >, 112);
    for (size_t off = 112; off + 8 <= 64 * KiB; ) {
        uint32_t magic = GUINT32_FROM_BE(*(uint32_t *)(hdr + off));
        uint32_t len = GUINT32_FROM_BE(*(uint32_t *)(hdr + off + 4));

        if (magic == 0) {
            break;
        }
        if (magic == EXT_BITMAPS_MAGIC) {
            uint64_t dir = GUINT64_FROM_BE(*(uint64_t *)(hdr + off + 24));
            g_assert_cmpint(pread(fd, &flags, 4, dir + 12), ==, 4);
            flags = GUINT32_FROM_BE(flags);
            break;
        }
        off += 8 + ROUND_UP(len, 8);
    }
    close(fd);
    return flags;
}

static void test_bitmaps_round_trip(void)
{
    g_autofree char *img = path_in_dir("bm.qcow2");
    BlockDriverState *bs;
    BdrvDirtyBitmap *a, *b;

    make_image("qcow2", img, 64 * MiB, "");
    bs = open_rw(img);
    a = bdrv_create_dirty_bitmap(bs, 64 * KiB, "a", &error_abort);
    b = bdrv_create_dirty_bitmap(bs, 4 * KiB, "b", &error_abort);
    g_assert_nonnull(bdrv_create_dirty_bitmap(bs, 512, NULL, &error_abort));
    bdrv_set_dirty_bitmap(a, 10 * MiB, 1);
    bdrv_set_dirty_bitmap(b, 60 * MiB, 12 * KiB);
    bdrv_disable_dirty_bitmap(b);
    bdrv_unref(bs);
    g_assert_cmpuint(first_bitmap_flags(img), ==, 2);      /* auto */

    /* Writable open: loaded, marked in use, tracking writes. */
    bs = open_rw(img);
    g_assert_cmpuint(first_bitmap_flags(img), ==, 3);      /* in use */
    a = bdrv_find_dirty_bitmap(bs, "a");
    b = bdrv_find_dirty_bitmap(bs, "b");
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_true(bdrv_dirty_bitmap_enabled(a));
    g_assert_false(bdrv_dirty_bitmap_enabled(b));
    g_assert_cmpint(bdrv_dirty_bitmap_granularity(b), ==, 4 * KiB);
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 64 * KiB);
    g_assert_true(bdrv_dirty_bitmap_get(a, 10 * MiB + 65535));
    g_assert_cmpint(bdrv_get_dirty_count(b), ==, 12 * KiB);
    put(bs, 30 * MiB, 512, 0x5a);
    g_assert_true(bdrv_dirty_bitmap_get(a, 30 * MiB));
    g_assert_false(bdrv_dirty_bitmap_get(b, 30 * MiB));
    bdrv_release_dirty_bitmap(b);
    bdrv_unref(bs);
    g_assert_cmpuint(first_bitmap_flags(img), ==, 2);

    /* Read-only: loaded, the image untouched; "b" was removed. */
    bs = open_node(img, 0, NULL, &error_abort);
    a = bdrv_find_dirty_bitmap(bs, "a");
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 128 * KiB);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "b"));
    bdrv_unref(bs);
    g_assert_cmpuint(first_bitmap_flags(img), ==, 2);
    clean_dir();
}

/* A bitmap left "in use" (a crash) is not loaded, and kept as it is. */
static void test_bitmaps_in_use_skipped(void)
{
    g_autofree char *img = path_in_dir("bmu.qcow2");
    g_autofree char *copy = path_in_dir("bmu-copy.qcow2");
    g_autofree char *cmd = NULL;
    BlockDriverState *bs;

    make_image("qcow2", img, 8 * MiB, "");
    bs = open_rw(img);
    bdrv_set_dirty_bitmap(bdrv_create_dirty_bitmap(bs, 64 * KiB, "c",
                                                   &error_abort), 0, 1);
    bdrv_unref(bs);
    bs = open_rw(img);
    /* Snapshot the file while the bitmap is in use, like a crash would. */
    cmd = g_strdup_printf("cp '%s' '%s'", img, copy);
    g_assert_cmpint(system(cmd), ==, 0);
    bdrv_unref(bs);

    bs = open_rw(copy);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "c"));
    bdrv_unref(bs);
    g_assert_cmpuint(first_bitmap_flags(copy), ==, 3);
    clean_dir();
}

/* ---- main ------------------------------------------------------------- */

static const ExtCase ext_cases[] = {
    { "extended_l2=on,cluster_size=16k", 16 * KiB },
    { "extended_l2=on", 64 * KiB },
    { "extended_l2=on,cluster_size=2M", 2 * MiB },
};

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-qcow2-ext-XXXXXX",
                                              NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    for (size_t i = 0; i < G_N_ELEMENTS(ext_cases); i++) {
        g_autofree char *name = g_strdup_printf(
            "/qcow2-ext/extl2/cow/%" PRId64 "k", ext_cases[i].cluster / KiB);
        g_test_add_data_func(name, &ext_cases[i], test_extl2_cow);
    }
    g_test_add_func("/qcow2-ext/extl2/in-place", test_extl2_in_place);
    g_test_add_func("/qcow2-ext/extl2/zero-discard", test_extl2_zero_discard);
    g_test_add_func("/qcow2-ext/extl2/bad-bitmap", test_extl2_bad_bitmap);
    g_test_add_data_func("/qcow2-ext/data-file/plain", "", test_data_file);
    g_test_add_data_func("/qcow2-ext/data-file/extl2", ",extended_l2=on",
                         test_data_file);
    g_test_add_func("/qcow2-ext/data-file/raw", test_data_file_raw);
    g_test_add_func("/qcow2-ext/data-file/option", test_data_file_option);
    g_test_add_func("/qcow2-ext/bitmaps/round-trip",
                    test_bitmaps_round_trip);
    g_test_add_func("/qcow2-ext/bitmaps/in-use-skipped",
                    test_bitmaps_in_use_skipped);

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
