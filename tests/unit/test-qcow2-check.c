/*
 * Unit tests for qcow2 check and repair (block/qcow2-check*.c): images
 * damaged by hand in the file, then checked, repaired and checked again.
 * The same damage is compared with qemu-img in
 * tests/interop/qcow2-check-qemu.sh.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define CLUSTER 4096
#define KiB 1024

static char *test_dir;

/* ---- the image file, by hand ------------------------------------------ */

static uint64_t file_be64(const char *path, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    uint64_t v = 0;

    g_assert_cmpint(pread(fd, &v, 8, off), ==, 8);
    close(fd);
    return GUINT64_FROM_BE(v);
}

static void file_put(const char *path, uint64_t off, const void *buf,
                     size_t len)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(pwrite(fd, buf, len, off), ==, (ssize_t)len);
    close(fd);
}

static void file_put_be64(const char *path, uint64_t off, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    file_put(path, off, &v, 8);
}

/* File offset of the L2 entry of guest @guest (its L2 table exists). */
static uint64_t l2_entry_pos(const char *path, uint64_t guest)
{
    uint64_t per_l2 = CLUSTER / 8, gc = guest / CLUSTER;
    uint64_t l1 = file_be64(path, 40);
    uint64_t l2 = file_be64(path, l1 + 8 * (gc / per_l2)) &
                  0x00fffffffffffe00ULL;

    return l2 + 8 * (gc % per_l2);
}

/* Host cluster index of guest @guest. */
static uint64_t data_cluster(const char *path, uint64_t guest)
{
    return (file_be64(path, l2_entry_pos(path, guest)) &
            0x00fffffffffffe00ULL) / CLUSTER;
}

/* Set the 16-bit refcount of host cluster @c (its block exists). */
static void set_refcount(const char *path, uint64_t c, uint16_t rc)
{
    uint64_t per_block = CLUSTER / 2;
    uint64_t rt = file_be64(path, 48);
    uint64_t block = file_be64(path, rt + 8 * (c / per_block)) & ~511ULL;
    uint16_t be = GUINT16_TO_BE(rc);

    file_put(path, block + 2 * (c % per_block), &be, 2);
}

/* ---- through the library ---------------------------------------------- */

static BlockDriverState *open_image(const char *path, int flags)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, path, flags | BDRV_O_CACHE_WB, NULL,
                              &error_abort), ==, 0);
    return bs;
}

/* An 8 MiB image with 16 clusters of data at 0 and 2 at 1 MiB. */
static char *make_image(const char *name, const char *extra)
{
    char *path = g_build_filename(test_dir, name, NULL);
    g_autofree char *opts = g_strdup_printf("cluster_size=4k%s",
                                            extra ? extra : "");
    BlockDriver *drv = bdrv_find_format("qcow2");
    QEMUOptionParameter *list;
    BlockDriverState *bs;
    uint8_t buf[64 * KiB];

    unlink(path);
    list = parse_option_parameters(opts, drv->create_options, NULL, NULL,
                                   &error_abort);
    set_option_parameter_int(list, BLOCK_OPT_SIZE, 8 << 20, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
    bs = open_image(path, BDRV_O_RDWR);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, sizeof(buf)), ==, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 1 << 20, buf, 8 * KiB), ==, 8 * KiB);
    bdrv_unref(bs);
    return path;
}

static BdrvCheckResult check(const char *path, BdrvCheckMode fix)
{
    BlockDriverState *bs = open_image(path, fix ? BDRV_O_RDWR : 0);
    BdrvCheckResult res;

    g_assert_cmpint(bdrv_check(bs, &res, fix), ==, 0);
    bdrv_unref(bs);
    return res;
}

static void assert_clean(const char *path)
{
    BdrvCheckResult res = check(path, 0);

    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.leaks, ==, 0);
    g_assert_cmpint(res.check_errors, ==, 0);
}

static void assert_data(const char *path)
{
    BlockDriverState *bs = open_image(path, 0);
    uint8_t buf[64 * KiB];

    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpint(buf[i], ==, 0x5a);
    }
    bdrv_unref(bs);
}

/* ---- tests ------------------------------------------------------------- */

static void test_clean(void)
{
    g_autofree char *path = make_image("clean.qcow2", NULL);
    BdrvCheckResult res = check(path, 0);

    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.leaks, ==, 0);
    g_assert_cmpint(res.check_errors, ==, 0);
    g_assert_cmpint(res.total_clusters, ==, (8 << 20) / CLUSTER);
    g_assert_cmpint(res.allocated_clusters, ==, 18);
    g_assert_cmpint(res.image_end_offset, >, 18 * CLUSTER);
}

static void test_leak(void)
{
    g_autofree char *path = make_image("leak.qcow2", NULL);
    BdrvCheckResult res;

    file_put_be64(path, l2_entry_pos(path, 1 << 20), 0);
    res = check(path, 0);
    g_assert_cmpint(res.leaks, ==, 1);
    g_assert_cmpint(res.corruptions, ==, 0);

    res = check(path, BDRV_FIX_LEAKS);
    g_assert_cmpint(res.leaks, ==, 0);
    g_assert_cmpint(res.leaks_fixed, ==, 1);
    assert_clean(path);
    assert_data(path);
}

/* The image end covers the last cluster with a refcount, leaked or not
 * (as qemu-img check), but no cluster whose refcount cannot be read. */
static void test_image_end(void)
{
    g_autofree char *path = make_image("end.qcow2", NULL);
    uint64_t rt = file_be64(path, 48);
    int64_t len;
    BdrvCheckResult res;
    int fd;

    fd = open(path, O_RDONLY);
    len = lseek(fd, 0, SEEK_END);
    close(fd);
    g_assert_cmpint(check(path, 0).image_end_offset, ==, len);

    /* the last cluster of the file (guest 1 MiB + 4 KiB) leaks */
    g_assert_cmpuint(data_cluster(path, (1 << 20) + CLUSTER), ==,
                     len / CLUSTER - 1);
    file_put_be64(path, l2_entry_pos(path, (1 << 20) + CLUSTER), 0);
    res = check(path, 0);
    g_assert_cmpint(res.leaks, ==, 1);
    g_assert_cmpint(res.image_end_offset, ==, len);

    /* no refcount can be read: the end is one cluster, as QEMU says */
    file_put_be64(path, rt, file_be64(path, rt) + 512);
    res = check(path, 0);
    g_assert_cmpint(res.check_errors, >, 0);
    g_assert_cmpint(res.image_end_offset, ==, CLUSTER);
}

static void test_refcount_zero(void)
{
    g_autofree char *path = make_image("zero.qcow2", NULL);
    BdrvCheckResult res;

    set_refcount(path, data_cluster(path, 0), 0);
    res = check(path, 0);
    /* the refcount, and the COPIED flag of its L2 entry */
    g_assert_cmpint(res.corruptions, ==, 2);

    res = check(path, BDRV_FIX_LEAKS);
    g_assert_cmpint(res.corruptions, ==, 2);
    g_assert_cmpint(res.corruptions_fixed, ==, 0);

    res = check(path, BDRV_FIX_ERRORS);
    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.corruptions_fixed, ==, 1);
    assert_clean(path);
    assert_data(path);
}

static void test_outside(void)
{
    g_autofree char *path = make_image("outside.qcow2", NULL);
    BdrvCheckResult res;

    file_put_be64(path, l2_entry_pos(path, 1 << 20),
                  (1ULL << 63) | (1ULL << 30));
    res = check(path, 0);
    /* the reference past the end, its COPIED flag; the old cluster
     * leaks */
    g_assert_cmpint(res.corruptions, ==, 2);
    g_assert_cmpint(res.leaks, ==, 1);

    res = check(path, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    g_assert_cmpint(res.leaks_fixed, ==, 1);
    g_assert_cmpint(res.corruptions_fixed, ==, 1);
    g_assert_cmpint(res.corruptions, ==, 1);      /* cannot be fixed */
}

static void test_rebuild(void)
{
    g_autofree char *path = make_image("rebuild.qcow2", NULL);
    uint64_t rt = file_be64(path, 48);
    BdrvCheckResult res;

    /* refcount block 0 misaligned: the structure cannot be trusted */
    file_put_be64(path, rt, file_be64(path, rt) + 512);
    res = check(path, 0);
    g_assert_cmpint(res.corruptions, >, 0);

    res = check(path, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.corruptions_fixed, >, 0);
    g_assert_cmpuint(file_be64(path, 48), !=, rt);
    assert_clean(path);
    assert_data(path);
}

static void test_dirty_repair(void)
{
    g_autofree char *path = make_image("dirty.qcow2", ",lazy_refcounts=on");
    BlockDriverState *bs;

    /* as if the refcount never reached the disk before a crash */
    set_refcount(path, data_cluster(path, 1 << 20), 0);
    file_put_be64(path, 72, file_be64(path, 72) | 1);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_false(bdrv_is_read_only(bs));
    g_assert_cmpuint(file_be64(path, 72) & 1, ==, 0);
    bdrv_unref(bs);
    assert_clean(path);
    assert_data(path);
}

static void test_corrupt_bit(void)
{
    g_autofree char *path = make_image("corrupt.qcow2", NULL);
    BlockDriverState *bs;
    BdrvCheckResult res;
    uint8_t buf[512] = { 0 };

    file_put_be64(path, 72, file_be64(path, 72) | 2);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_cmpint(bdrv_check(bs, &res, BDRV_FIX_ERRORS), ==, 0);
    g_assert_cmpuint(file_be64(path, 72) & 2, ==, 0);
    g_assert_false(bdrv_is_read_only(bs));
    g_assert_cmpint(bdrv_pwrite(bs, 1 << 20, buf, sizeof(buf)), ==,
                    sizeof(buf));
    bdrv_unref(bs);

    /* a read-only open cannot repair */
    file_put_be64(path, 72, file_be64(path, 72) | 2);
    bs = open_image(path, 0);
    g_assert_cmpint(bdrv_check(bs, &res, BDRV_FIX_ERRORS), ==, -EACCES);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-q2check-XXXXXX", NULL);
    g_autofree char *cmd = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    g_test_add_func("/qcow2-check/clean", test_clean);
    g_test_add_func("/qcow2-check/leak", test_leak);
    g_test_add_func("/qcow2-check/image-end", test_image_end);
    g_test_add_func("/qcow2-check/refcount-zero", test_refcount_zero);
    g_test_add_func("/qcow2-check/outside-file", test_outside);
    g_test_add_func("/qcow2-check/rebuild", test_rebuild);
    g_test_add_func("/qcow2-check/dirty-repair", test_dirty_repair);
    g_test_add_func("/qcow2-check/corrupt-bit", test_corrupt_bit);
    ret = g_test_run();
    cmd = g_strdup_printf("rm -rf '%s'", test_dir);
    if (system(cmd) != 0) {
        ret = ret ? ret : 1;
    }
    return ret;
}
