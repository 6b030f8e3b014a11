/*
 * qcow2 features together: every combination of extended L2 entries,
 * internal snapshots, compressed clusters, a persistent dirty bitmap and
 * a backing file, driven through the whole block layer against a model
 * of the guest disk.  Each run writes (unaligned), discards, writes
 * zeroes and compressed clusters, takes, reverts to and deletes
 * snapshots, then checks the image (nothing may be found, live and after
 * a reopen), leaks a cluster by hand and repairs it with FIX_LEAKS (only
 * that cluster may be freed: bitmaps and snapshots must survive), and
 * compares every byte with the model (COMBO_TRACE=1 prints and checks
 * after every operation).  A goto is refused while a bitmap is loaded,
 * as QEMU does.  External data files get the
 * combinations they allow, and the refusals they need (snapshots and
 * compression: -ENOTSUP).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define KiB 1024
#define CLUSTER (64 * KiB)
#define DISK (4 * 1024 * KiB)
#define BITMAP_DIRTY (1 * 1024 * KiB + 5 * KiB)  /* marked before the ops */

enum {
    F_EXTL2 = 1 << 0,
    F_SNAPSHOT = 1 << 1,
    F_COMPRESS = 1 << 2,
    F_BITMAP = 1 << 3,
    F_BACKING = 1 << 4,
    F_DATA_FILE = 1 << 5,
    F_ALL = 0x1f,            /* the combinations without a data file */
};

static char *test_dir;

/* One run: the image, the node and the guest disk as it must read. */
typedef struct Combo {
    unsigned flags;
    char *img, *base, *data;
    BlockDriverState *bs;
    uint8_t *model;
    GRand *rand;
} Combo;

/* ---- set-up --------------------------------------------------------- */

static void create(const char *fmt, const char *path, const char *opts)
{
    BlockDriver *drv = bdrv_find_format(fmt);
    QEMUOptionParameter *list = parse_option_parameters(
        opts, drv->create_options, NULL, NULL, &error_abort);

    set_option_parameter_int(list, BLOCK_OPT_SIZE, DISK, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
}

static BlockDriverState *open_img(const char *path, int flags)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, path, flags | BDRV_O_CACHE_WB,
                              bdrv_find_format("qcow2"), &error_abort),
                    ==, 0);
    return bs;
}

/* A raw backing file whose every 4 KiB block has its own byte. */
static void make_base(Combo *c)
{
    int fd;

    create("raw", c->base, "");
    fd = open(c->base, O_WRONLY);
    for (int64_t off = 0; off < DISK; off += 4 * KiB) {
        uint8_t blk[4 * KiB];

        memset(blk, 0x20 + (off / (4 * KiB)) % 200, sizeof(blk));
        g_assert_cmpint(pwrite(fd, blk, sizeof(blk), off), ==, sizeof(blk));
        memcpy(c->model + off, blk, sizeof(blk));
    }
    close(fd);
}

static void combo_init(Combo *c, unsigned flags)
{
    g_autoptr(GString) opts = g_string_new("cluster_size=64k");

    memset(c, 0, sizeof(*c));
    c->flags = flags;
    c->img = g_build_filename(test_dir, "combo.qcow2", NULL);
    c->base = g_build_filename(test_dir, "base.raw", NULL);
    c->data = g_build_filename(test_dir, "combo.data", NULL);
    unlink(c->img);
    unlink(c->base);
    unlink(c->data);
    c->model = g_malloc0(DISK);
    c->rand = g_rand_new_with_seed(flags * 7919 + 1);
    if (flags & F_EXTL2) {
        g_string_append(opts, ",extended_l2=on");
    }
    if (flags & F_BACKING) {
        make_base(c);
        g_string_append_printf(opts, ",backing_file=%s,backing_fmt=raw",
                               c->base);
    }
    if (flags & F_DATA_FILE) {
        g_string_append_printf(opts, ",data_file=%s", c->data);
    }
    create("qcow2", c->img, opts->str);
    c->bs = open_img(c->img, BDRV_O_RDWR);
}

static void combo_free(Combo *c)
{
    if (c->bs) {
        bdrv_unref(c->bs);
    }
    unlink(c->img);
    unlink(c->base);
    unlink(c->data);
    g_free(c->img);
    g_free(c->base);
    g_free(c->data);
    g_free(c->model);
    g_rand_free(c->rand);
}

static void reopen(Combo *c, int flags)
{
    bdrv_unref(c->bs);
    c->bs = open_img(c->img, flags);
}

/* ---- operations, mirrored in the model ------------------------------ */

static void op_write(Combo *c, int64_t off, int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    uint8_t v = g_rand_int_range(c->rand, 1, 255);

    for (int64_t i = 0; i < len; i++) {
        buf[i] = v + (i >> 9);
    }
    g_assert_cmpint(bdrv_pwrite(c->bs, off, buf, len), ==, len);
    memcpy(c->model + off, buf, len);
}

static void op_zero(Combo *c, int64_t off, int64_t len)
{
    g_assert_cmpint(bdrv_write_zeroes(c->bs, off >> 9, len >> 9), ==, 0);
    memset(c->model + off, 0, len);
}

/* Whole clusters: they read as zeroes afterwards, backing or not. */
static void op_discard(Combo *c, int64_t off, int64_t len)
{
    g_assert_cmpint(bdrv_discard(c->bs, off >> 9, len >> 9), ==, 0);
    memset(c->model + off, 0, len);
}

/* One cluster that shrinks well under compression. */
static void op_compress(Combo *c, int64_t off)
{
    g_autofree uint8_t *buf = g_malloc(CLUSTER);
    uint8_t v = g_rand_int_range(c->rand, 1, 255);

    for (int i = 0; i < CLUSTER; i++) {
        buf[i] = (i % 1024) < 512 ? v : (uint8_t)(i >> 10);
    }
    g_assert_cmpint(bdrv_write_compressed(c->bs, off >> 9, buf,
                                          CLUSTER >> 9), ==, 0);
    memcpy(c->model + off, buf, CLUSTER);
}

static void verify(Combo *c);

/* A burst of random operations of the kinds the combination has. */
static void ops(Combo *c, int n)
{
    for (int i = 0; i < n; i++) {
        int kind = g_rand_int_range(c->rand, 0, 10);
        int64_t off = g_rand_int_range(c->rand, 0, DISK / 512 - 256) * 512LL;
        int64_t len = g_rand_int_range(c->rand, 1, 256) * 512LL;
        int64_t coff = g_rand_int_range(c->rand, 0, DISK / CLUSTER) *
                       (int64_t)CLUSTER;

        if (getenv("COMBO_TRACE")) {
            fprintf(stderr, "op %d kind %d off 0x%" PRIx64 " len 0x%" PRIx64
                    " coff 0x%" PRIx64 "\n", i, kind, off, len, coff);
        }
        if (kind < 5) {
            op_write(c, off, len);
        } else if (kind < 7) {
            op_zero(c, off, len);
        } else if (kind < 8) {
            op_discard(c, coff, CLUSTER);
        } else if (c->flags & F_COMPRESS) {
            op_compress(c, coff);
        } else {
            op_write(c, coff + 4 * KiB, 8 * KiB);
        }
        if (getenv("COMBO_TRACE")) {
            verify(c);
        }
    }
}

/* ---- checks --------------------------------------------------------- */

static void verify(Combo *c)
{
    g_autofree uint8_t *buf = g_malloc(DISK);

    g_assert_cmpint(bdrv_pread(c->bs, 0, buf, DISK), ==, DISK);
    for (int64_t i = 0; i < DISK; i++) {
        if (buf[i] != c->model[i]) {
            g_error("flags 0x%x: byte 0x%" PRIx64 " is 0x%02x, not 0x%02x",
                    c->flags, i, buf[i], c->model[i]);
        }
    }
}

static BdrvCheckResult check(Combo *c, BdrvCheckMode fix)
{
    BdrvCheckResult res;

    g_assert_cmpint(bdrv_check(c->bs, &res, fix), ==, 0);
    g_assert_cmpint(res.check_errors, ==, 0);
    g_assert_cmpint(res.corruptions, ==, 0);
    return res;
}

static void assert_clean(Combo *c)
{
    g_assert_cmpint(check(c, 0).leaks, ==, 0);
}

/* A 64-bit big-endian field of the image file. */
static uint64_t file_be64(const char *path, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    uint64_t v = 0;

    g_assert_cmpint(pread(fd, &v, 8, off), ==, 8);
    close(fd);
    return GUINT64_FROM_BE(v);
}

/* Raise the (16-bit) refcount of the header cluster to 2: one leak. */
static void leak_header_cluster(const char *path)
{
    uint64_t rt = file_be64(path, 48);
    uint64_t block = file_be64(path, rt) & ~511ULL;
    uint16_t two = GUINT16_TO_BE(2);
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(pwrite(fd, &two, 2, block), ==, 2);
    close(fd);
}

static void check_bitmap(Combo *c)
{
    BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(c->bs, "b0");

    if (!(c->flags & F_BITMAP)) {
        return;
    }
    g_assert_nonnull(bm);
    g_assert_true(bdrv_dirty_bitmap_get(bm, BITMAP_DIRTY));
}

/* ---- the run -------------------------------------------------------- */

static void snapshot_take(Combo *c, const char *name)
{
    QEMUSnapshotInfo sn = { .date_sec = 1700000000 };

    g_strlcpy(sn.name, name, sizeof(sn.name));
    g_strlcpy(sn.id_str, name, sizeof(sn.id_str));
    g_assert_cmpint(bdrv_snapshot_create(c->bs, &sn), ==, 0);
}

/* Snapshots: take one, change things, go back, take another, delete. */
static void snapshot_ops(Combo *c)
{
    g_autofree uint8_t *saved = g_memdup2(c->model, DISK);

    snapshot_take(c, "s1");
    ops(c, 20);
    assert_clean(c);
    if (c->flags & F_BITMAP) {
        /* As QEMU: not under dirty bitmaps, which would not see it. */
        g_assert_cmpint(bdrv_snapshot_goto(c->bs, "s1"), ==, -EBUSY);
    } else {
        g_assert_cmpint(bdrv_snapshot_goto(c->bs, "s1"), ==, 0);
        memcpy(c->model, saved, DISK);
    }
    verify(c);
    check_bitmap(c);
    ops(c, 20);
    snapshot_take(c, "s2");
    ops(c, 10);
    g_assert_cmpint(bdrv_snapshot_delete(c->bs, "s1"), ==, 0);
}

static void run_combo(const void *opaque)
{
    unsigned flags = GPOINTER_TO_UINT(opaque);
    Combo c;
    BdrvCheckResult res;

    combo_init(&c, flags);
    if (flags & F_BITMAP) {
        BdrvDirtyBitmap *bm = bdrv_create_dirty_bitmap(c.bs, 64 * KiB, "b0",
                                                       &error_abort);
        bdrv_set_dirty_bitmap(bm, BITMAP_DIRTY, 1);
        reopen(&c, BDRV_O_RDWR);    /* stored, then loaded "in use" */
        check_bitmap(&c);
    }
    ops(&c, 40);
    verify(&c);
    assert_clean(&c);               /* live: bitmaps in use, caches */
    if (flags & F_SNAPSHOT) {
        snapshot_ops(&c);
        verify(&c);
        assert_clean(&c);
    }
    reopen(&c, BDRV_O_RDWR);
    check_bitmap(&c);
    verify(&c);
    assert_clean(&c);
    bdrv_unref(c.bs);

    /* Exactly one leak, and repairing it frees nothing else. */
    leak_header_cluster(c.img);
    c.bs = open_img(c.img, BDRV_O_RDWR);
    res = check(&c, 0);
    g_assert_cmpint(res.leaks, ==, 1);
    res = check(&c, BDRV_FIX_LEAKS);
    g_assert_cmpint(res.leaks_fixed, ==, 1);
    g_assert_cmpint(res.leaks, ==, 0);
    assert_clean(&c);
    ops(&c, 20);                    /* reuse of freed space */
    verify(&c);
    reopen(&c, 0);
    check_bitmap(&c);
    verify(&c);
    assert_clean(&c);
    combo_free(&c);
}

/* ---- external data files -------------------------------------------- */

static void test_data_file_refusals(void)
{
    Combo c;
    QEMUSnapshotInfo sn = { .name = "s" };
    g_autofree uint8_t *buf = g_malloc0(CLUSTER);

    combo_init(&c, F_DATA_FILE);
    g_assert_cmpint(bdrv_snapshot_create(c.bs, &sn), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_write_compressed(c.bs, 0, buf, CLUSTER >> 9),
                    ==, -ENOTSUP);
    assert_clean(&c);
    combo_free(&c);
}

/* ---- main ----------------------------------------------------------- */

static char *combo_name(unsigned flags)
{
    return g_strdup_printf("/qcow2-combo/%s/%s-%s-%s-%s-%s",
                           flags & F_DATA_FILE ? "data-file" : "image",
                           flags & F_EXTL2 ? "extl2" : "l2",
                           flags & F_SNAPSHOT ? "snap" : "nosnap",
                           flags & F_COMPRESS ? "comp" : "nocomp",
                           flags & F_BITMAP ? "bitmap" : "nobitmap",
                           flags & F_BACKING ? "backing" : "nobacking");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_dir_make_tmp("spindle-qcow2-combo-XXXXXX", NULL);
    g_assert_nonnull(test_dir);

    for (unsigned f = 0; f <= F_ALL; f++) {
        g_autofree char *name = combo_name(f);
        g_test_add_data_func(name, GUINT_TO_POINTER(f), run_combo);
    }
    /* A data file allows extended L2, bitmaps and a backing file. */
    for (unsigned f = 0; f <= F_ALL; f++) {
        g_autofree char *name = NULL;

        if (f & (F_SNAPSHOT | F_COMPRESS)) {
            continue;
        }
        name = combo_name(f | F_DATA_FILE);
        g_test_add_data_func(name, GUINT_TO_POINTER(f | F_DATA_FILE),
                             run_combo);
    }
    g_test_add_func("/qcow2-combo/data-file/refusals",
                    test_data_file_refusals);
    ret = g_test_run();
    rmdir(test_dir);
    g_free(test_dir);
    return ret;
}
