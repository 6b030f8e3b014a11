/*
 * Tests for qcow2 amend (bdrv_amend_options) through the block layer:
 * version upgrade and downgrade (zero clusters made readable by version
 * 2), lazy refcounts on and off, refcount widths, and the refusals with
 * qemu-img's messages.  Each change is followed by a check of the image
 * and a read of its data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define MiB (1024 * 1024)
#define DISK (8 * MiB)
#define SECTORS(bytes) ((bytes) / BDRV_SECTOR_SIZE)

static char *test_dir;

/* ---- helpers ---------------------------------------------------------- */

static char *make_image(const char *name, const char *opts)
{
    char *path = g_build_filename(test_dir, name, NULL);
    BlockDriver *drv = bdrv_find_format("qcow2");
    QEMUOptionParameter *list = parse_option_parameters(
        opts, drv->create_options, NULL, NULL, &error_abort);

    unlink(path);
    set_option_parameter_int(list, BLOCK_OPT_SIZE, DISK, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
    return path;
}

static BlockDriverState *open_rw(const char *path)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, path, BDRV_O_RDWR,
                              bdrv_find_format("qcow2"), &error_abort), ==, 0);
    return bs;
}

/* Amend @bs with @opts; the return value, message in *@errp. */
static int amend(BlockDriverState *bs, const char *opts, Error **errp)
{
    QEMUOptionParameter *list = parse_option_parameters(
        opts, bs->drv->create_options, NULL, NULL, &error_abort);
    int ret = bdrv_amend_options(bs, list, errp);

    free_option_parameters(list);
    return ret;
}

static void fill(BlockDriverState *bs, int64_t offset, int len, int byte)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, byte, len);
    g_assert_cmpint(bdrv_pwrite(bs, offset, buf, len), ==, len);
}

static void assert_bytes(BlockDriverState *bs, int64_t offset, int len,
                         int byte)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, offset, buf, len), ==, len);
    for (int i = 0; i < len; i++) {
        g_assert_cmpint(buf[i], ==, byte);
    }
}

static void assert_clean(BlockDriverState *bs)
{
    BdrvCheckResult res = { 0 };

    g_assert_cmpint(bdrv_check(bs, &res, 0), ==, 0);
    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.leaks, ==, 0);
    g_assert_cmpint(res.check_errors, ==, 0);
}

/* A big-endian header field of @path, @size bytes at @offset. */
static uint64_t header_field(const char *path, int offset, int size)
{
    g_autofree char *data = NULL;
    uint64_t v = 0;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >=, offset + size);
    for (int i = 0; i < size; i++) {
        v = v << 8 | (uint8_t)data[offset + i];
    }
    return v;
}

#define VERSION(p)          header_field((p), 4, 4)
#define COMPAT_FEATURES(p)  header_field((p), 80, 8)
#define REFCOUNT_ORDER(p)   header_field((p), 96, 4)

/* Reopen @path and check its data: 0x11 at 0, 0x22 at 3 MiB. */
static void assert_data_after_reopen(const char *path)
{
    BlockDriverState *bs = open_rw(path);

    assert_clean(bs);
    assert_bytes(bs, 0, 128 * 1024, 0x11);
    assert_bytes(bs, 3 * MiB, 64 * 1024, 0x22);
    bdrv_unref(bs);
}

static BlockDriverState *open_with_data(const char *path)
{
    BlockDriverState *bs = open_rw(path);

    fill(bs, 0, 128 * 1024, 0x11);
    fill(bs, 3 * MiB, 64 * 1024, 0x22);
    return bs;
}

/* ---- tests -------------------------------------------------------------- */

static void test_upgrade(void)
{
    g_autofree char *path = make_image("up.qcow2", "compat=0.10");
    BlockDriverState *bs = open_with_data(path);

    g_assert_cmpint(amend(bs, "compat=1.1", &error_abort), ==, 0);
    assert_clean(bs);
    bdrv_unref(bs);
    g_assert_cmpuint(VERSION(path), ==, 3);
    g_assert_cmpuint(REFCOUNT_ORDER(path), ==, 4);
    assert_data_after_reopen(path);
}

static void test_downgrade_zeroes(void)
{
    g_autofree char *path = make_image("down.qcow2", "");
    BlockDriverState *bs = open_with_data(path);

    fill(bs, 5 * MiB, 64 * 1024, 0x33);
    g_assert_cmpint(bdrv_write_zeroes(bs, SECTORS(5 * MiB),
                                      SECTORS(64 * 1024)), ==, 0);
    g_assert_cmpint(bdrv_write_zeroes(bs, SECTORS(6 * MiB),
                                      SECTORS(64 * 1024)), ==, 0);
    g_assert_cmpint(amend(bs, "compat=0.10", &error_abort), ==, 0);
    assert_clean(bs);
    bdrv_unref(bs);
    g_assert_cmpuint(VERSION(path), ==, 2);
    assert_data_after_reopen(path);
    bs = open_rw(path);
    assert_bytes(bs, 5 * MiB, 2 * MiB, 0);
    bdrv_unref(bs);
}

static void test_lazy_refcounts(void)
{
    g_autofree char *path = make_image("lazy.qcow2", "");
    BlockDriverState *bs = open_rw(path);

    g_assert_cmpint(amend(bs, "lazy_refcounts=on", &error_abort), ==, 0);
    g_assert_cmpuint(COMPAT_FEATURES(path), ==, 1);
    fill(bs, 0, 128 * 1024, 0x11);
    fill(bs, 3 * MiB, 64 * 1024, 0x22);
    g_assert_cmpint(amend(bs, "lazy_refcounts=off", &error_abort), ==, 0);
    g_assert_cmpuint(COMPAT_FEATURES(path), ==, 0);
    g_assert_cmpuint(header_field(path, 72, 8) & 1, ==, 0);  /* not dirty */
    bdrv_unref(bs);
    assert_data_after_reopen(path);
}

static void test_refcount_bits(gconstpointer data)
{
    int bits = GPOINTER_TO_INT(data);
    g_autofree char *path = make_image("width.qcow2", "");
    g_autofree char *opts = g_strdup_printf("refcount_bits=%d", bits);
    BlockDriverState *bs = open_with_data(path);

    g_assert_cmpint(amend(bs, opts, &error_abort), ==, 0);
    assert_clean(bs);
    fill(bs, 7 * MiB, 64 * 1024, 0x44);        /* allocates with it */
    assert_clean(bs);
    bdrv_unref(bs);
    g_assert_cmpuint(1u << REFCOUNT_ORDER(path), ==, bits);
    assert_data_after_reopen(path);
}

static void test_refcount_too_narrow(void)
{
    g_autofree char *path = make_image("narrow.qcow2", "");
    BlockDriverState *bs = open_with_data(path);
    QEMUSnapshotInfo sn = { .name = "s", .icount = UINT64_MAX };
    Error *err = NULL;

    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
    g_assert_cmpint(amend(bs, "refcount_bits=1", &err), ==, -EINVAL);
    g_assert_true(g_str_has_prefix(error_get_pretty(err), "Cannot decrease "
                                   "refcount entry width to 1 bits"));
    error_free(err);
    assert_clean(bs);
    bdrv_unref(bs);
    g_assert_cmpuint(REFCOUNT_ORDER(path), ==, 4);
}

typedef struct Refusal {
    const char *create_opts;
    const char *amend_opts;
    const char *message;
} Refusal;

static const Refusal refusals[] = {
    { "", "cluster_size=4k", "Invalid parameter 'cluster_size'" },
    { "", "compat=0.9", "Unknown compatibility level 0.9" },
    { "", "refcount_bits=3", "Refcount width must be a power of two and "
      "may not exceed 64 bits" },
    { "", "compat=0.10,lazy_refcounts=on", "Lazy refcounts only supported "
      "with compatibility level 1.1 and above (use compat=1.1 or greater)" },
    { "refcount_bits=8", "compat=0.10",
      "compat=0.10 requires refcount_bits=16" },
    { "extended_l2=on", "compat=0.10",
      "Cannot downgrade an image with incompatible features 0x10 set" },
    { "", "backing_file=foo", "Cannot amend the backing file" },
    { "", "data_file_raw=on", "data-file-raw cannot be set on existing "
      "images" },
};

static void test_refused(gconstpointer data)
{
    const Refusal *r = data;
    g_autofree char *path = make_image("refused.qcow2", r->create_opts);
    BlockDriverState *bs = open_rw(path);
    Error *err = NULL;

    g_assert_cmpint(amend(bs, r->amend_opts, &err), <, 0);
    g_assert_cmpstr(error_get_pretty(err), ==, r->message);
    error_free(err);
    assert_clean(bs);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-qcow2-amend-XXXXXX",
                                              NULL);
    static const int widths[] = { 1, 2, 8, 32, 64 };
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    g_test_add_func("/qcow2-amend/compat/upgrade", test_upgrade);
    g_test_add_func("/qcow2-amend/compat/downgrade-zeroes",
                    test_downgrade_zeroes);
    g_test_add_func("/qcow2-amend/lazy-refcounts", test_lazy_refcounts);
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
        g_autofree char *name = g_strdup_printf(
            "/qcow2-amend/refcount-bits/%d", widths[i]);
        g_test_add_data_func(name, GINT_TO_POINTER(widths[i]),
                             test_refcount_bits);
    }
    g_test_add_func("/qcow2-amend/refcount-bits/too-narrow",
                    test_refcount_too_narrow);
    for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *name = g_strdup_printf("/qcow2-amend/refused/%zu",
                                                i);
        g_test_add_data_func(name, &refusals[i], test_refused);
    }

    ret = g_test_run();
    for (const char *const *n = (const char *const[]) {
             "up.qcow2", "down.qcow2", "lazy.qcow2", "width.qcow2",
             "narrow.qcow2", "refused.qcow2", NULL }; *n; n++) {
        g_autofree char *p = g_build_filename(test_dir, *n, NULL);
        unlink(p);
    }
    rmdir(test_dir);
    return ret;
}
