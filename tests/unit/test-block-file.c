/*
 * Tests for the file and host_device protocol drivers, driven through
 * the whole block layer ("raw" over "file"): create and preallocation,
 * reads and writes (aligned, unaligned, past the end of the file), both
 * aio modes, cache=none with O_DIRECT, discard, write-zeroes, allocation
 * status, truncation, image locks and the host_device basics.
 *
 * Image files live under /var/tmp (or $SPINDLE_TEST_DIRECT_DIR): tmpfs
 * refuses O_DIRECT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "block/block.h"
#include "block/block_int.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "image-test-helpers.h"

#define MiB (1024 * 1024)


/* The aio modes every I/O test runs in. */
static const struct {
    const char *name;
    int flags;
} aio_modes[] = {
    { "threads", 0 },
    { "io_uring", BDRV_O_NATIVE_AIO },
};

/* ---- helpers ---------------------------------------------------------- */

static int create_image(const char *path, int64_t size, const char *prealloc,
                        Error **errp)
{
    QEMUOptionParameter opts[] = {
        { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE, .value.n = size,
          .assigned = true },
        { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
          .value.s = (char *)prealloc, .assigned = prealloc != NULL },
        { .name = NULL },
    };

    return bdrv_create(bdrv_find_format("raw"), path, opts, errp);
}

/* Open @path as raw over file, with "key=value" @options (NULL-ended). */
static BlockDriverState *open_image_opts(const char *path, int flags,
                                         const char *const *options,
                                         Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");

    for (; options && *options; options++) {
        g_auto(GStrv) kv = g_strsplit(*options, "=", 2);
        g_hash_table_insert(opts, g_strdup(kv[0]), g_strdup(kv[1]));
    }
    if (bdrv_open_options(bs, path, opts, flags, bdrv_find_format("raw"),
                          errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static BlockDriverState *open_image(const char *path, int flags)
{
    return open_image_opts(path, flags, NULL, &error_abort);
}

static struct stat stat_of(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
}

static void assert_zero(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
}

/* Pass an error through, asserting it is one clear line. */
static void assert_one_line(Error *err, const char *contains)
{
    const char *msg;

    g_assert_nonnull(err);
    msg = error_get_pretty(err);
    g_assert_null(strchr(msg, '\n'));
    g_assert_nonnull(strstr(msg, contains));
}

/* ---- create and preallocation ---------------------------------------- */

static void test_create_open(void)
{
    g_autofree char *path = image_path("create.img");
    BlockDriverState *bs;

    g_assert_cmpint(create_image(path, 3 * MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_getlength(bs), ==, 3 * MiB);
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    g_assert_cmpstr(bdrv_get_format_name(bs->file), ==, "file");
    g_assert_cmpint(bdrv_has_zero_init(bs), ==, 1);
    bdrv_unref(bs);

    /* Creating again truncates and recreates. */
    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    g_assert_cmpint(stat_of(path).st_size, ==, MiB);
    unlink(path);
}

static void test_file_prefix(void)
{
    g_autofree char *path = image_path("prefix.img");
    g_autofree char *url = NULL;
    BlockDriverState *bs = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    url = g_strconcat("file:", path, NULL);
    g_assert_cmpint(bdrv_file_open(&bs, url, 0, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, MiB);
    bdrv_unref(bs);
    unlink(path);
}

static void test_prealloc(const void *opaque)
{
    const char *mode = opaque;
    g_autofree char *path = image_path("prealloc.img");
    struct stat st;

    g_assert_cmpint(create_image(path, 4 * MiB, mode, &error_abort), ==, 0);
    st = stat_of(path);
    g_assert_cmpint(st.st_size, ==, 4 * MiB);
    if (!strcmp(mode, "off")) {
        g_assert_cmpint((int64_t)st.st_blocks * 512, <, MiB);
    } else {
        g_assert_cmpint((int64_t)st.st_blocks * 512, >=, 4 * MiB);
    }
    unlink(path);
}

static void test_prealloc_bad(void)
{
    g_autofree char *path = image_path("prealloc-bad.img");
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, "metadata", &err), <, 0);
    assert_one_line(err, "preallocation mode 'metadata'");
    error_free(err);
}

/* ---- reads and writes ------------------------------------------------- */

static void check_rw(BlockDriverState *bs)
{
    g_autofree uint8_t *wbuf = g_malloc(256 * 1024 + 1);
    g_autofree uint8_t *rbuf = g_malloc(256 * 1024 + 1);

    /* aligned, from buffers that are not (O_DIRECT bounces them) */
    fill(wbuf + 1, 256 * 1024, 1);
    g_assert_cmpint(bdrv_pwrite(bs, 64 * 1024, wbuf + 1, 256 * 1024), ==,
                    256 * 1024);
    g_assert_cmpint(bdrv_pread(bs, 64 * 1024, rbuf + 1, 256 * 1024), ==,
                    256 * 1024);
    g_assert_cmpmem(wbuf + 1, 256 * 1024, rbuf + 1, 256 * 1024);

    /* unaligned: read-modify-write through the generic layer */
    fill(wbuf, 1000, 9);
    g_assert_cmpint(bdrv_pwrite(bs, 64 * 1024 + 100, wbuf, 1000), ==, 1000);
    g_assert_cmpint(bdrv_pread(bs, 64 * 1024, rbuf, 2048), ==, 2048);
    g_assert_cmpmem(rbuf + 100, 1000, wbuf, 1000);
    fill(wbuf, 100, 1);
    g_assert_cmpmem(rbuf, 100, wbuf, 100);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
}

static void test_rw(const void *opaque)
{
    int aio_flags = GPOINTER_TO_INT(opaque);
    g_autofree char *path = image_path("rw.img");
    BlockDriverState *bs;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR | BDRV_O_CACHE_WB | aio_flags);
    check_rw(bs);
    bdrv_unref(bs);
    unlink(path);
}

static void test_rw_direct(const void *opaque)
{
    int aio_flags = GPOINTER_TO_INT(opaque);
    g_autofree char *path = image_path("direct.img");
    g_autofree char *probe = image_path("direct.probe");
    BlockDriverState *bs;
    /* Does the directory's file system take O_DIRECT at all? */
    int fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);
    if (fd < 0) {
        g_test_skip("the test directory's file system refuses O_DIRECT");
        return;
    }
    close(fd);
    unlink(probe);

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image_opts(path, BDRV_O_RDWR | aio_flags,
                         (const char *const[]){ "cache=none", NULL },
                         &error_abort);
    g_assert_true(bs->open_flags & BDRV_O_NOCACHE);
    g_assert_cmpint(bs->request_alignment, >=, 512);
    g_assert_cmpint(bs->file->buffer_alignment, >=, 512);
    check_rw(bs);
    bdrv_unref(bs);
    unlink(path);
}

static void test_directsync(void)
{
    g_autofree char *path = image_path("directsync.img");
    BlockDriverState *bs;
    uint8_t buf[4096];

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image_opts(path, BDRV_O_RDWR,
                         (const char *const[]){ "cache=writethrough", NULL },
                         &error_abort);
    fill(buf, sizeof(buf), 3);
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, sizeof(buf)), ==, sizeof(buf));
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    bdrv_unref(bs);
    unlink(path);
}

/* A file whose size is no multiple of 512 reads zeroes after its end. */
static void test_read_past_eof(const void *opaque)
{
    int aio_flags = GPOINTER_TO_INT(opaque);
    g_autofree char *path = image_path("short.img");
    BlockDriverState *bs = NULL;
    uint8_t data[1000], buf[1024];
    int fd = open(path, O_WRONLY | O_CREAT, 0644);

    fill(data, sizeof(data), 5);
    g_assert_cmpint(write(fd, data, sizeof(data)), ==, sizeof(data));
    close(fd);
    g_assert_cmpint(bdrv_file_open(&bs, path, aio_flags, &error_abort), ==,
                    0);
    memset(buf, 0xff, sizeof(buf));
    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, sizeof(buf));
    g_assert_cmpmem(buf, sizeof(data), data, sizeof(data));
    assert_zero(buf + sizeof(data), sizeof(buf) - sizeof(data));
    bdrv_unref(bs);
    unlink(path);
}

static void test_io_uring_fallback(void)
{
    g_autofree char *path = image_path("fallback.img");
    BlockDriverState *bs;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    g_setenv("SPINDLE_FILE_IO_URING_FAIL", "1", true);
    bs = open_image(path, BDRV_O_RDWR | BDRV_O_NATIVE_AIO);
    g_unsetenv("SPINDLE_FILE_IO_URING_FAIL");
    check_rw(bs);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- discard, zeroes, allocation status, truncate -------------------- */

/* A 4 MiB image with data written over [1 MiB, 3 MiB). */
static BlockDriverState *open_with_data(const char *path, int aio_flags)
{
    g_autofree uint8_t *buf = g_malloc(2 * MiB);
    BlockDriverState *bs;

    g_assert_cmpint(create_image(path, 4 * MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR | aio_flags);
    fill(buf, 2 * MiB, 7);
    g_assert_cmpint(bdrv_pwrite(bs, MiB, buf, 2 * MiB), ==, 2 * MiB);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    return bs;
}

static void test_discard(const void *opaque)
{
    g_autofree char *path = image_path("discard.img");
    BlockDriverState *bs = open_with_data(path, GPOINTER_TO_INT(opaque));
    g_autofree uint8_t *buf = g_malloc(MiB);
    blkcnt_t before = stat_of(path).st_blocks;

    g_assert_cmpint((int64_t)before * 512, >=, 2 * MiB);
    g_assert_cmpint(bdrv_discard(bs, MiB / 512, MiB / 512), ==, 0);
    g_assert_cmpint((int64_t)stat_of(path).st_blocks * 512, <=,
                    (int64_t)before * 512 - MiB);
    g_assert_cmpint(bdrv_pread(bs, MiB, buf, MiB), ==, MiB);
    assert_zero(buf, MiB);
    bdrv_unref(bs);
    unlink(path);
}

static void test_write_zeroes(const void *opaque)
{
    g_autofree char *path = image_path("zeroes.img");
    BlockDriverState *bs = open_with_data(path, GPOINTER_TO_INT(opaque));
    g_autofree uint8_t *buf = g_malloc(2 * MiB);
    g_autofree uint8_t *want = g_malloc(2 * MiB);

    g_assert_cmpint(bdrv_write_zeroes(bs, (MiB + 4096) / 512, 8), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, MiB, buf, 2 * MiB), ==, 2 * MiB);
    fill(want, 2 * MiB, 7);
    memset(want + 4096, 0, 4096);
    g_assert_cmpmem(buf, 2 * MiB, want, 2 * MiB);
    bdrv_unref(bs);
    unlink(path);
}

static void test_is_allocated(void)
{
    g_autofree char *path = image_path("alloc.img");
    BlockDriverState *bs = open_with_data(path, 0);
    int pnum;

    g_assert_cmpint(bdrv_is_allocated(bs, 0, 8192, &pnum), ==, 0);
    g_assert_cmpint(pnum, ==, MiB / 512);
    g_assert_cmpint(bdrv_is_allocated(bs, MiB / 512, 8192, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 2 * MiB / 512);
    g_assert_cmpint(bdrv_is_allocated(bs, 3 * MiB / 512, 8192, &pnum), ==, 0);
    g_assert_cmpint(pnum, ==, MiB / 512);
    /* past the end of the image */
    g_assert_cmpint(bdrv_is_allocated(bs, 8 * MiB / 512, 8, &pnum), ==, 0);
    bdrv_unref(bs);
    unlink(path);
}

static void test_truncate(void)
{
    g_autofree char *path = image_path("truncate.img");
    BlockDriverState *bs;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_truncate(bs, 5 * MiB), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 5 * MiB);
    g_assert_cmpint(stat_of(path).st_size, ==, 5 * MiB);
    g_assert_cmpint(bdrv_truncate(bs, 2 * MiB), ==, 0);
    g_assert_cmpint(stat_of(path).st_size, ==, 2 * MiB);
    g_assert_cmpint(bdrv_get_allocated_file_size(bs), ==,
                    (int64_t)stat_of(path).st_blocks * 512);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- locking ---------------------------------------------------------- */

static void test_lock_two_writers(void)
{
    g_autofree char *path = image_path("lock.img");
    BlockDriverState *a, *b;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    a = open_image(path, BDRV_O_RDWR);
    b = open_image_opts(path, BDRV_O_RDWR, NULL, &err);
    g_assert_null(b);
    assert_one_line(err, "\"write\" lock");
    error_free(err);
    bdrv_unref(a);

    /* Released on close. */
    b = open_image(path, BDRV_O_RDWR);
    bdrv_unref(b);
    unlink(path);
}

static void test_lock_readers(void)
{
    g_autofree char *path = image_path("lock-ro.img");
    BlockDriverState *w, *r, *r2;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    w = open_image(path, BDRV_O_RDWR);

    /* A reader that does not force-share conflicts with the writer. */
    r = open_image_opts(path, 0, NULL, &err);
    g_assert_null(r);
    assert_one_line(err, "lock");
    error_free(err);
    err = NULL;

    /* force-share: read-only opens ignore the locks. */
    r = open_image(path, BDRV_O_FORCE_SHARE);
    r2 = open_image_opts(path, 0,
                         (const char *const[]){ "force-share=on", NULL },
                         &error_abort);
    bdrv_unref(r2);
    bdrv_unref(r);

    /* ... but not with write access. */
    r = open_image_opts(path, BDRV_O_RDWR | BDRV_O_FORCE_SHARE, NULL, &err);
    g_assert_null(r);
    assert_one_line(err, "read-only");
    error_free(err);
    bdrv_unref(w);

    /* Two readers share. */
    r = open_image(path, 0);
    r2 = open_image(path, 0);
    bdrv_unref(r2);
    bdrv_unref(r);
    unlink(path);
}

static void test_lock_off(void)
{
    g_autofree char *path = image_path("lock-off.img");
    BlockDriverState *a, *b;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    a = open_image_opts(path, BDRV_O_RDWR,
                        (const char *const[]){ "file.locking=off", NULL },
                        &error_abort);
    b = open_image_opts(path, BDRV_O_RDWR,
                        (const char *const[]){ "file.locking=off", NULL },
                        &error_abort);
    bdrv_unref(b);
    bdrv_unref(a);

    a = open_image_opts(path, BDRV_O_RDWR,
                        (const char *const[]){ "file.locking=maybe", NULL },
                        &err);
    g_assert_null(a);
    assert_one_line(err, "locking must be on, off or auto");
    error_free(err);
    unlink(path);
}

static void test_lock_create(void)
{
    g_autofree char *path = image_path("lock-create.img");
    BlockDriverState *bs;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    g_assert_cmpint(create_image(path, 2 * MiB, NULL, &err), <, 0);
    assert_one_line(err, "lock");
    error_free(err);
    g_assert_cmpint(stat_of(path).st_size, ==, MiB);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- host_device ------------------------------------------------------ */

static void test_hdev_not_a_device(void)
{
    g_autofree char *path = image_path("not-a-device.img");
    g_autofree char *url = NULL;
    BlockDriverState *bs = NULL;
    Error *err = NULL;

    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    url = g_strconcat("host_device:", path, NULL);
    g_assert_cmpint(bdrv_file_open(&bs, url, 0, &err), <, 0);
    assert_one_line(err, "is not a block device");
    error_free(err);
    unlink(path);
}

/* The first block device this process may open read-only, or NULL. */
static BlockDriverState *open_some_device(void)
{
    g_autoptr(GDir) dir = g_dir_open("/sys/block", 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strconcat("/dev/", name, NULL);
        BlockDriverState *bs = NULL;

        if (bdrv_file_open(&bs, path, BDRV_O_FORCE_SHARE, NULL) == 0) {
            return bs;
        }
    }
    return NULL;
}

static void ioctl_done(void *opaque, int ret)
{
    int *result = opaque;

    *result = ret;
    aio_wait_kick();
}

static void test_hdev_open(void)
{
    BlockDriverState *bs = open_some_device();
    uint64_t size = 0, size2 = 0;
    int result = 1;

    if (!bs) {
        g_test_skip("no block device may be opened here");
        return;
    }
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "host_device");
    g_assert_cmpint(bdrv_ioctl(bs, BLKGETSIZE64, &size), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, size);
    bdrv_aio_ioctl(bs, BLKGETSIZE64, &size2, ioctl_done, &result);
    AIO_WAIT_WHILE(bdrv_get_aio_context(bs), result == 1);
    g_assert_cmpint(result, ==, 0);
    g_assert_cmpuint(size2, ==, size);
    g_assert_true(bdrv_is_inserted(bs));
    bdrv_unref(bs);
}

/* ---- main ------------------------------------------------------------- */

static void add_per_aio_mode(const char *path, GTestDataFunc fn)
{
    for (size_t i = 0; i < G_N_ELEMENTS(aio_modes); i++) {
        g_autofree char *name = g_strdup_printf("%s/%s", path,
                                                aio_modes[i].name);
        g_test_add_data_func(name, GINT_TO_POINTER(aio_modes[i].flags), fn);
    }
}

int main(int argc, char **argv)
{
    const char *base = g_getenv("SPINDLE_TEST_DIRECT_DIR");
    g_autofree char *templ = g_build_filename(base ? base : "/var/tmp",
                                              "spindle-file-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    g_test_add_func("/block/file/create-open", test_create_open);
    g_test_add_func("/block/file/prefix", test_file_prefix);
    g_test_add_data_func("/block/file/prealloc/off", "off", test_prealloc);
    g_test_add_data_func("/block/file/prealloc/falloc", "falloc",
                         test_prealloc);
    g_test_add_data_func("/block/file/prealloc/full", "full", test_prealloc);
    g_test_add_func("/block/file/prealloc/bad", test_prealloc_bad);
    add_per_aio_mode("/block/file/rw", test_rw);
    add_per_aio_mode("/block/file/rw-direct", test_rw_direct);
    add_per_aio_mode("/block/file/read-past-eof", test_read_past_eof);
    add_per_aio_mode("/block/file/discard", test_discard);
    add_per_aio_mode("/block/file/write-zeroes", test_write_zeroes);
    g_test_add_func("/block/file/directsync", test_directsync);
    g_test_add_func("/block/file/io_uring-fallback", test_io_uring_fallback);
    g_test_add_func("/block/file/is-allocated", test_is_allocated);
    g_test_add_func("/block/file/truncate", test_truncate);
    g_test_add_func("/block/file/lock/two-writers", test_lock_two_writers);
    g_test_add_func("/block/file/lock/readers", test_lock_readers);
    g_test_add_func("/block/file/lock/off", test_lock_off);
    g_test_add_func("/block/file/lock/create", test_lock_create);
    g_test_add_func("/block/host_device/not-a-device",
                    test_hdev_not_a_device);
    g_test_add_func("/block/host_device/open", test_hdev_open);

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
