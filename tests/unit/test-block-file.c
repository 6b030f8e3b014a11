/*
 * Tests for the file and host_device protocol drivers, driven through
 * the whole block layer ("raw" over "file"): create and preallocation,
 * reads and writes (aligned, unaligned, past the end of the file), both
 * aio modes, the cache modes (O_DIRECT, the fdatasyncs each one costs),
 * the O_DIRECT alignment against the device's limits, discard,
 * write-zeroes and each step of its fallback, allocation status,
 * truncation, image locks, io_uring batching and a full ring, and
 * host_device on a loop device when this process may make one.
 *
 * Image files live under /var/tmp (or $SPINDLE_TEST_DIRECT_DIR): tmpfs
 * refuses O_DIRECT.  What the drivers do underneath (fdatasync,
 * fallocate, io_uring submissions) is counted through their trace events.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "config-host.h"
#include "block/block.h"
#include "block/block_int.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"
#include "qemu/trace.h"
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

/* Does the test directory's file system take O_DIRECT at all? */
static bool direct_io_works(void)
{
    g_autofree char *probe = image_path("direct.probe");
    int fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);

    if (fd < 0) {
        return false;
    }
    close(fd);
    unlink(probe);
    return true;
}

/* The open(2) flags of this process's fd on @path, or -1 if none. */
static int fd_flags_of(const char *path)
{
    g_autofree char *want = realpath(path, NULL);
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;

    g_assert_nonnull(want);
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *link = g_strconcat("/proc/self/fd/", name, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);
        g_autofree char *info = NULL;
        g_autofree char *info_path = NULL;
        const char *flags;

        if (!target || strcmp(target, want)) {
            continue;
        }
        info_path = g_strconcat("/proc/self/fdinfo/", name, NULL);
        g_assert_true(g_file_get_contents(info_path, &info, NULL, NULL));
        flags = strstr(info, "flags:");
        g_assert_nonnull(flags);
        return (int)strtol(flags + strlen("flags:"), NULL, 8);
    }
    return -1;
}

/* ---- trace capture ---------------------------------------------------- */

static FILE *trace_file;
static char *trace_buf;
static size_t trace_len;

/* Capture the lines of the trace events @patterns from now on. */
static void trace_start(const char *patterns)
{
    trace_file = open_memstream(&trace_buf, &trace_len);
    g_assert_nonnull(trace_file);
    trace_set_output(trace_file);
    g_assert_true(trace_enable_events(patterns, &error_abort));
}

/* The lines captured so far (owned by the capture). */
static const char *trace_text(void)
{
    fflush(trace_file);
    return trace_buf ? trace_buf : "";
}

/* How many lines of @event were captured so far. */
static int traced(const char *event)
{
    g_autofree char *needle = g_strdup_printf(" %s ", event);
    int n = 0;

    for (const char *p = trace_text(); (p = strstr(p, needle)); p++) {
        n++;
    }
    return n;
}

static void trace_stop(void)
{
    g_assert_true(trace_enable_events("-file_*,-luring_*", &error_abort));
    trace_set_output(NULL);
    fclose(trace_file);
    free(trace_buf);
    trace_file = NULL;
    trace_buf = NULL;
}

/* The arguments of the @n-th traced line of @event, after its name. */
static const char *traced_args(const char *event, int n)
{
    g_autofree char *needle = g_strdup_printf(" %s ", event);
    const char *p = trace_text();

    for (int i = 0; (p = strstr(p, needle)); i++, p++) {
        if (i == n) {
            return p + strlen(needle);
        }
    }
    return NULL;
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
    BlockDriverState *bs;

    if (!direct_io_works()) {
        g_test_skip("the test directory's file system refuses O_DIRECT");
        return;
    }

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

/*
 * Each cache mode, by what reaches the file: O_DIRECT or not, and the
 * fdatasyncs after three writes, after a flush, and after one more write
 * and the close.  directsync and writethrough sync after every write (and
 * a flush with nothing new costs none); unsafe never syncs, not even on
 * close.
 */
typedef struct CacheCase {
    const char *mode;
    bool direct;
    int syncs[3];
} CacheCase;

static const CacheCase cache_cases[] = {
    { "writeback", false, { 0, 1, 2 } },
    { "none", true, { 0, 1, 2 } },
    { "writethrough", false, { 3, 3, 4 } },
    { "directsync", true, { 3, 3, 4 } },
    { "unsafe", false, { 0, 0, 0 } },
};

typedef struct CacheTest {
    const CacheCase *c;
    int aio_flags;
} CacheTest;

static void test_cache_mode(const void *opaque)
{
    const CacheTest *t = opaque;
    const CacheCase *c = t->c;
    g_autofree char *path = image_path("cache.img");
    g_autofree char *opt = g_strdup_printf("cache=%s", c->mode);
    g_autofree uint8_t *data = NULL;
    g_autofree uint8_t *back = g_malloc(4 * 4096);
    BlockDriverState *bs;
    int flags;
    int fd;

    if (c->direct && !direct_io_works()) {
        g_test_skip("the test directory's file system refuses O_DIRECT");
        return;
    }
    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image_opts(path, BDRV_O_RDWR | t->aio_flags,
                         (const char *const[]){ opt, NULL }, &error_abort);
    flags = fd_flags_of(path);
    g_assert_cmpint(flags, >=, 0);
    g_assert_cmpint(!!(flags & O_DIRECT), ==, c->direct);
    g_assert_cmpint(!!(bs->open_flags & BDRV_O_NOCACHE), ==, c->direct);

    data = g_malloc(4 * 4096);
    fill(data, 4 * 4096, 3);
    trace_start("file_fdatasync");
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(bdrv_pwrite(bs, i * 4096, data + i * 4096, 4096), ==,
                        4096);
    }
    g_assert_cmpint(traced("file_fdatasync"), ==, c->syncs[0]);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpint(traced("file_fdatasync"), ==, c->syncs[1]);
    g_assert_cmpint(bdrv_pwrite(bs, 3 * 4096, data + 3 * 4096, 4096), ==,
                    4096);
    bdrv_unref(bs);
    g_assert_cmpint(traced("file_fdatasync"), ==, c->syncs[2]);
    g_assert_null(strstr(trace_text(), "ret -"));
    trace_stop();

    /* whatever the mode, the data is in the file */
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, back, 4 * 4096, 0), ==, 4 * 4096);
    close(fd);
    g_assert_cmpmem(back, 4 * 4096, data, 4 * 4096);
    unlink(path);
}

/*
 * The O_DIRECT limits of the block device under @st_dev, from sysfs:
 * logical block size (offsets and lengths) and DMA alignment + 1 (memory).
 * false when @st_dev is no block device (tmpfs, btrfs, overlay...).
 */
static bool device_dio_limits(dev_t st_dev, int *lbs, int *mem)
{
    static const char *const dirs[] = { "queue", "../queue" };  /* partition */

    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *base = g_strdup_printf("/sys/dev/block/%u:%u/%s",
                                                major(st_dev), minor(st_dev),
                                                dirs[i]);
        g_autofree char *lbs_path = g_strconcat(base, "/logical_block_size",
                                                NULL);
        g_autofree char *dma_path = g_strconcat(base, "/dma_alignment", NULL);
        g_autofree char *a = NULL, *b = NULL;

        if (g_file_get_contents(lbs_path, &a, NULL, NULL) &&
            g_file_get_contents(dma_path, &b, NULL, NULL)) {
            *lbs = atoi(a);
            *mem = atoi(b) + 1;
            return *lbs > 0;
        }
    }
    return false;
}

/*
 * cache=none: the alignments the file driver finds are the ones the
 * device under the file system needs -- exactly for offsets, and for
 * memory at least the DMA alignment (never less than 512).  "statx" takes
 * the kernel's word where it gives one; "probe" makes the driver find
 * them by trying reads.
 */
static void test_dio_alignment(const void *opaque)
{
    bool probe = GPOINTER_TO_INT(opaque);
    g_autofree char *path = image_path("align.img");
    g_autofree uint8_t *buf = g_malloc(64 * 1024);
    BlockDriverState *bs;
    int lbs, mem;

    if (!direct_io_works()) {
        g_test_skip("the test directory's file system refuses O_DIRECT");
        return;
    }
    if (!device_dio_limits(stat_of(test_dir).st_dev, &lbs, &mem)) {
        g_test_skip("the test directory is on no block device with "
                    "queue limits in sysfs");
        return;
    }
    /* data to read: probing reads at the end of a file always succeed */
    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    bs = open_image(path, BDRV_O_RDWR);
    fill(buf, 64 * 1024, 1);
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 64 * 1024), ==, 64 * 1024);
    bdrv_unref(bs);

    if (probe) {
        g_setenv("SPINDLE_FILE_DIOALIGN_PROBE", "1", true);
    }
    bs = open_image_opts(path, BDRV_O_RDWR,
                         (const char *const[]){ "cache=none", NULL },
                         &error_abort);
    g_unsetenv("SPINDLE_FILE_DIOALIGN_PROBE");
    g_assert_cmpint(bs->file->request_alignment, ==, lbs);
    g_assert_cmpint(bs->file->buffer_alignment, ==, MAX(mem, 512));
    g_assert_cmpint(bs->request_alignment, >=, lbs);
    check_rw(bs);
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

/* ---- io_uring: batching and a full ring ------------------------------- */

/* Can this process set up an io_uring at all (seccomp, old kernels)? */
static bool io_uring_usable(void)
{
#if defined(CONFIG_IO_URING) && defined(__NR_io_uring_setup)
    struct io_uring_params p = { 0 };
    int fd = syscall(__NR_io_uring_setup, 4, &p);

    if (fd >= 0) {
        close(fd);
        return true;
    }
#endif
    return false;
}

typedef struct BatchReq {
    uint8_t *buf;
    QEMUIOVector qiov;
    int ret;
    bool done;
} BatchReq;

static void batch_cb(void *opaque, int ret)
{
    BatchReq *r = opaque;

    r->ret = ret;
    r->done = true;
}

/*
 * Submit @n callback requests of 4 KiB at 0, 4 KiB, ... (reading or
 * writing @data, n * 4 KiB) all at once, without running the event loop
 * in between, and wait for them.
 */
static void run_batch(BlockDriverState *bs, int n, bool is_write,
                      uint8_t *data)
{
    g_autofree BatchReq *reqs = g_new0(BatchReq, n);

    for (int i = 0; i < n; i++) {
        BlockDriverAIOCB *acb;

        qemu_iovec_init_buf(&reqs[i].qiov, data + i * 4096, 4096);
        acb = is_write
              ? bdrv_aio_writev(bs, i * 8, &reqs[i].qiov, 8, batch_cb, &reqs[i])
              : bdrv_aio_readv(bs, i * 8, &reqs[i].qiov, 8, batch_cb, &reqs[i]);
        g_assert_nonnull(acb);
    }
    for (int i = 0; i < n; i++) {
        while (!reqs[i].done) {
            aio_poll(qemu_get_aio_context(), true);
        }
        g_assert_cmpint(reqs[i].ret, ==, 0);
    }
}

/* The largest number of SQEs one traced io_uring_submit carried. */
static unsigned max_sqes_per_submit(void)
{
    unsigned max = 0, sqes;
    const char *args;

    for (int i = 0; (args = traced_args("luring_submit", i)); i++) {
        g_assert_cmpint(sscanf(args, "ring %*p sqes %u", &sqes), ==, 1);
        max = MAX(max, sqes);
    }
    return max;
}

/*
 * @opaque: NULL, or a ring depth for SPINDLE_FILE_IO_URING_ENTRIES.
 * Default depth: the requests one loop iteration starts cost one
 * io_uring_submit.  A small depth: more requests than the ring holds
 * wait for slots, submitted a ring-full at a time, and none fails.
 */
static void test_io_uring_queue(const void *opaque)
{
    enum { N = 16 };
    const char *depth = opaque;
    unsigned most = depth ? atoi(depth) : N;
    g_autofree char *path = image_path("uring.img");
    g_autofree uint8_t *data = g_malloc(N * 4096);
    g_autofree uint8_t *back = g_malloc0(N * 4096);
    BlockDriverState *bs;
    int write_submits;

    if (!io_uring_usable()) {
        g_test_skip("io_uring cannot be set up here");
        return;
    }
    g_assert_cmpint(create_image(path, MiB, NULL, &error_abort), ==, 0);
    if (depth) {
        g_setenv("SPINDLE_FILE_IO_URING_ENTRIES", depth, true);
    }
    bs = open_image(path, BDRV_O_RDWR | BDRV_O_NATIVE_AIO);
    g_unsetenv("SPINDLE_FILE_IO_URING_ENTRIES");
    fill(data, N * 4096, 11);
    trace_start("luring_submit");
    run_batch(bs, N, true, data);
    write_submits = traced("luring_submit");
    run_batch(bs, N, false, back);
    g_assert_cmpuint(max_sqes_per_submit(), ==, most);
    if (depth) {
        g_assert_cmpint(write_submits, >=, N / most);
        g_assert_cmpint(traced("luring_submit"), >=, 2 * N / most);
    } else {
        g_assert_cmpint(write_submits, ==, 1);
        g_assert_cmpint(traced("luring_submit"), ==, 2);
    }
    g_assert_null(strstr(trace_text(), "ret -"));
    trace_stop();
    g_assert_cmpmem(back, N * 4096, data, N * 4096);
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

/*
 * The write-zeroes chain of the file driver: FALLOC_FL_ZERO_RANGE, else a
 * hole (FALLOC_FL_PUNCH_HOLE), else the generic layer's writes of zeroes.
 * The test hook fails the first steps as a file system without them
 * would; each path must leave zeroes, and only there.
 */
typedef struct ZeroPath {
    const char *fail;        /* SPINDLE_FILE_FALLOC_FAIL, or NULL */
    int attempts;            /* fallocate calls expected */
} ZeroPath;

static const ZeroPath zero_paths[] = {
    { NULL, 1 },                              /* zero-range */
    { "zero-range", 2 },                      /* punch-hole */
    { "zero-range,punch-hole", 2 },           /* writes */
};

static void test_write_zeroes_path(const void *opaque)
{
    const ZeroPath *zp = opaque;
    const int64_t off = MiB + 4096, len = 64 * 1024;
    g_autofree char *path = image_path("zero-path.img");
    g_autofree uint8_t *buf = g_malloc(2 * MiB);
    g_autofree uint8_t *want = g_malloc(2 * MiB);
    BlockDriverState *bs = open_with_data(path, 0);
    int64_t blocks = stat_of(path).st_blocks;
    int modes[2], rets[2];
    int fd;

    trace_start("file_fallocate");
    if (zp->fail) {
        g_setenv("SPINDLE_FILE_FALLOC_FAIL", zp->fail, true);
    }
    g_assert_cmpint(bdrv_write_zeroes(bs, off / 512, len / 512), ==, 0);
    g_unsetenv("SPINDLE_FILE_FALLOC_FAIL");
    g_assert_cmpint(traced("file_fallocate"), ==, zp->attempts);
    for (int i = 0; i < zp->attempts; i++) {
        g_assert_cmpint(sscanf(traced_args("file_fallocate", i),
                               "fd %*d mode %x offset %*d len %*d ret %d",
                               &modes[i], &rets[i]), ==, 2);
    }
    trace_stop();
    g_assert_cmpint(modes[0], ==, FALLOC_FL_ZERO_RANGE);
    if (!zp->fail && rets[0] < 0) {
        bdrv_unref(bs);
        unlink(path);
        g_test_skip("the file system lacks FALLOC_FL_ZERO_RANGE");
        return;
    }
    g_assert_cmpint(rets[0], ==, zp->fail ? -EOPNOTSUPP : 0);
    if (zp->attempts > 1) {
        g_assert_cmpint(modes[1], ==,
                        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        g_assert_cmpint(rets[1], ==, strstr(zp->fail, "punch-hole")
                                     ? -EOPNOTSUPP : 0);
    }

    /* zeroes there and only there, through the node and in the file */
    fill(want, 2 * MiB, 7);
    memset(want + (off - MiB), 0, len);
    g_assert_cmpint(bdrv_pread(bs, MiB, buf, 2 * MiB), ==, 2 * MiB);
    g_assert_cmpmem(buf, 2 * MiB, want, 2 * MiB);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, buf, 2 * MiB, MiB), ==, 2 * MiB);
    g_assert_cmpmem(buf, 2 * MiB, want, 2 * MiB);
    /* a punched hole frees the blocks; written zeroes keep them */
    if (zp->attempts == 2 && rets[1] == 0) {
        g_assert_cmpint(stat_of(path).st_blocks * 512, <=,
                        blocks * 512 - len);
        g_assert_cmpint(lseek(fd, off, SEEK_DATA), >=, off + len);
    } else if (zp->attempts == 2) {
        g_assert_cmpint(stat_of(path).st_blocks, >=, blocks);
        g_assert_cmpint(lseek(fd, off, SEEK_DATA), ==, off);
    }
    close(fd);
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

/* ---- host_device on a loop device -------------------------------------- */

typedef struct LoopDev {
    char *backing;           /* the file under the device */
    char path[32];           /* /dev/loopN */
    int fd;                  /* held open until loop_detach */
} LoopDev;

/* Configure a free loop device over @backing_fd; its fd, or -errno. */
static int loop_configure(int ctl, int backing_fd, int block_size,
                          char *path, size_t path_size)
{
    struct loop_config cfg = {
        .fd = backing_fd,
        .block_size = block_size,
        .info.lo_flags = LO_FLAGS_AUTOCLEAR,   /* gone when we close it */
    };
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    int fd, err;

    if (n < 0) {
        return -errno;
    }
    snprintf(path, path_size, "/dev/loop%d", n);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
        return fd;
    }
    err = errno;
    close(fd);
    return -err;
}

/*
 * A new loop device over a fresh file of @size bytes, @block_size bytes
 * per sector; NULL with the reason in *@why when this process may not
 * make one (not root, no loop driver, a container without the devices).
 */
static LoopDev *loop_attach(int64_t size, int block_size, char **why)
{
    g_autofree char *backing = image_path("loop.img");
    LoopDev *lo = g_new0(LoopDev, 1);
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    int bfd, fd = -EBUSY;

    if (ctl < 0) {
        *why = g_strdup_printf("cannot open /dev/loop-control (%s)",
                               g_strerror(errno));
        g_free(lo);
        return NULL;
    }
    bfd = open(backing, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    g_assert_cmpint(bfd, >=, 0);
    g_assert_cmpint(ftruncate(bfd, size), ==, 0);
    /* another process may take the free device first: try again */
    for (int tries = 0; tries < 10 && fd == -EBUSY; tries++) {
        fd = loop_configure(ctl, bfd, block_size, lo->path,
                            sizeof(lo->path));
    }
    close(bfd);
    close(ctl);
    if (fd < 0) {
        *why = g_strdup_printf("cannot set up a loop device (%s)",
                               g_strerror(-fd));
        unlink(backing);
        g_free(lo);
        return NULL;
    }
    lo->fd = fd;
    lo->backing = g_steal_pointer(&backing);
    return lo;
}

static void loop_detach(LoopDev *lo)
{
    ioctl(lo->fd, LOOP_CLR_FD, 0);
    close(lo->fd);
    unlink(lo->backing);
    g_free(lo->backing);
    g_free(lo);
}

static LoopDev *loop_or_skip(int block_size)
{
    g_autofree char *why = NULL;
    LoopDev *lo = loop_attach(16 * MiB, block_size, &why);

    if (!lo) {
        g_autofree char *msg = g_strdup_printf("no loop device: %s", why);
        g_test_skip(msg);
    }
    return lo;
}

static BlockDriverState *open_loop(LoopDev *lo, int flags)
{
    BlockDriverState *bs = NULL;

    g_assert_cmpint(bdrv_file_open(&bs, lo->path, flags, &error_abort), ==,
                    0);
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "host_device");
    return bs;
}

/* Bytes [@off, +@len) of the file under the loop device. */
static void read_backing(LoopDev *lo, int64_t off, size_t len, uint8_t *buf)
{
    int fd = open(lo->backing, O_RDONLY);

    g_assert_cmpint(pread(fd, buf, len, off), ==, len);
    close(fd);
}

/*
 * A device that is no CD-ROM: always inserted, never changed, and eject
 * and lock change nothing (the device goes on working).
 */
static void test_hdev_loop_media(void)
{
    LoopDev *lo = loop_or_skip(512);
    BlockDriverState *bs;
    uint8_t w[4096], r[4096];
    int ssz = 0;

    if (!lo) {
        return;
    }
    bs = open_loop(lo, BDRV_O_RDWR);
    g_assert_cmpint(bdrv_getlength(bs), ==, 16 * MiB);
    g_assert_cmpint(bdrv_ioctl(bs, BLKSSZGET, &ssz), ==, 0);
    g_assert_cmpint(ssz, ==, 512);
    g_assert_true(bdrv_is_inserted(bs));
    g_assert_cmpint(bdrv_media_changed(bs), ==, 0);
    bdrv_lock_medium(bs, true);
    bdrv_eject(bs, true);
    g_assert_true(bdrv_is_inserted(bs));
    g_assert_cmpint(bdrv_media_changed(bs), ==, 0);
    fill(w, sizeof(w), 17);
    g_assert_cmpint(bdrv_pwrite(bs, 8192, w, sizeof(w)), ==, sizeof(w));
    g_assert_cmpint(bdrv_pread(bs, 8192, r, sizeof(r)), ==, sizeof(r));
    g_assert_cmpmem(r, sizeof(r), w, sizeof(w));
    bdrv_eject(bs, false);
    bdrv_lock_medium(bs, false);
    g_assert_true(bdrv_is_inserted(bs));
    bdrv_unref(bs);
    loop_detach(lo);
}

/*
 * Discard is BLKDISCARD, write-zeroes BLKZEROOUT: either leaves zeroes
 * exactly there, through the node and in the file under the loop device;
 * discard also frees that file's blocks.
 */
static void test_hdev_loop_zeroing(const void *opaque)
{
    bool discard = GPOINTER_TO_INT(opaque);
    const int64_t off = MiB + 4096, len = 512 * 1024;
    LoopDev *lo = loop_or_skip(512);
    g_autofree uint8_t *buf = g_malloc(2 * MiB);
    g_autofree uint8_t *want = g_malloc(2 * MiB);
    BlockDriverState *bs;
    int64_t before;

    if (!lo) {
        return;
    }
    bs = open_loop(lo, BDRV_O_RDWR);
    fill(want, 2 * MiB, 19);
    g_assert_cmpint(bdrv_pwrite(bs, MiB, want, 2 * MiB), ==, 2 * MiB);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    before = stat_of(lo->backing).st_blocks * 512;
    g_assert_cmpint(before, >=, 2 * MiB);

    g_assert_cmpint(discard ? bdrv_discard(bs, off / 512, len / 512)
                            : bdrv_write_zeroes(bs, off / 512, len / 512),
                    ==, 0);
    memset(want + (off - MiB), 0, len);
    g_assert_cmpint(bdrv_pread(bs, MiB, buf, 2 * MiB), ==, 2 * MiB);
    g_assert_cmpmem(buf, 2 * MiB, want, 2 * MiB);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    read_backing(lo, MiB, 2 * MiB, buf);
    g_assert_cmpmem(buf, 2 * MiB, want, 2 * MiB);
    if (discard) {
        g_assert_cmpint(stat_of(lo->backing).st_blocks * 512, <=,
                        before - len);
    }
    bdrv_unref(bs);
    loop_detach(lo);
}

/*
 * cache=none on a device of 4 KiB sectors: the alignment found is the
 * device's sector size (BLKSSZGET), through statx or the probe, and
 * unaligned requests still work (read-modify-write).
 */
static void test_hdev_loop_dio_align(const void *opaque)
{
    bool probe = GPOINTER_TO_INT(opaque);
    LoopDev *lo = loop_or_skip(4096);
    g_autofree char *dma_path = NULL;
    g_autofree char *dma = NULL;
    BlockDriverState *bs;
    uint8_t w[1000], r[1000];
    int ssz = 0;

    if (!lo) {
        return;
    }
    g_assert_cmpint(ioctl(lo->fd, BLKSSZGET, &ssz), ==, 0);
    g_assert_cmpint(ssz, ==, 4096);
    dma_path = g_strdup_printf("/sys/block/%s/queue/dma_alignment",
                               lo->path + strlen("/dev/"));
    g_assert_true(g_file_get_contents(dma_path, &dma, NULL, NULL));

    if (probe) {
        g_setenv("SPINDLE_FILE_DIOALIGN_PROBE", "1", true);
    }
    bs = open_loop(lo, BDRV_O_RDWR | BDRV_O_NOCACHE);
    g_unsetenv("SPINDLE_FILE_DIOALIGN_PROBE");
    g_assert_cmpint(bs->request_alignment, ==, ssz);
    g_assert_cmpint(bs->buffer_alignment, ==, MAX(atoi(dma) + 1, 512));

    fill(w, sizeof(w), 29);
    g_assert_cmpint(bdrv_pwrite(bs, 5000, w, sizeof(w)), ==, sizeof(w));
    g_assert_cmpint(bdrv_pread(bs, 5000, r, sizeof(r)), ==, sizeof(r));
    g_assert_cmpmem(r, sizeof(r), w, sizeof(w));
    bdrv_unref(bs);
    loop_detach(lo);
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
    static CacheTest cache_tests[G_N_ELEMENTS(cache_cases) *
                                 G_N_ELEMENTS(aio_modes)];
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
    g_test_add_data_func("/block/file/dio-align/statx", GINT_TO_POINTER(0),
                         test_dio_alignment);
    g_test_add_data_func("/block/file/dio-align/probe", GINT_TO_POINTER(1),
                         test_dio_alignment);
    add_per_aio_mode("/block/file/discard", test_discard);
    add_per_aio_mode("/block/file/write-zeroes", test_write_zeroes);
    g_test_add_data_func("/block/file/write-zeroes/path/zero-range",
                         &zero_paths[0], test_write_zeroes_path);
    g_test_add_data_func("/block/file/write-zeroes/path/punch-hole",
                         &zero_paths[1], test_write_zeroes_path);
    g_test_add_data_func("/block/file/write-zeroes/path/writes",
                         &zero_paths[2], test_write_zeroes_path);
    for (size_t i = 0; i < G_N_ELEMENTS(cache_cases); i++) {
        for (size_t m = 0; m < G_N_ELEMENTS(aio_modes); m++) {
            g_autofree char *name = g_strdup_printf(
                "/block/file/cache/%s/%s", cache_cases[i].mode,
                aio_modes[m].name);
            CacheTest *t = &cache_tests[i * G_N_ELEMENTS(aio_modes) + m];

            *t = (CacheTest) { &cache_cases[i], aio_modes[m].flags };
            g_test_add_data_func(name, t, test_cache_mode);
        }
    }
    g_test_add_func("/block/file/io_uring-fallback", test_io_uring_fallback);
    g_test_add_data_func("/block/file/io_uring/batch", NULL,
                         test_io_uring_queue);
    g_test_add_data_func("/block/file/io_uring/full-ring", "4",
                         test_io_uring_queue);
    g_test_add_func("/block/file/is-allocated", test_is_allocated);
    g_test_add_func("/block/file/truncate", test_truncate);
    g_test_add_func("/block/file/lock/two-writers", test_lock_two_writers);
    g_test_add_func("/block/file/lock/readers", test_lock_readers);
    g_test_add_func("/block/file/lock/off", test_lock_off);
    g_test_add_func("/block/file/lock/create", test_lock_create);
    g_test_add_func("/block/host_device/not-a-device",
                    test_hdev_not_a_device);
    g_test_add_func("/block/host_device/open", test_hdev_open);
    g_test_add_func("/block/host_device/loop/media", test_hdev_loop_media);
    g_test_add_data_func("/block/host_device/loop/discard",
                         GINT_TO_POINTER(1), test_hdev_loop_zeroing);
    g_test_add_data_func("/block/host_device/loop/write-zeroes",
                         GINT_TO_POINTER(0), test_hdev_loop_zeroing);
    g_test_add_data_func("/block/host_device/loop/dio-align/statx",
                         GINT_TO_POINTER(0), test_hdev_loop_dio_align);
    g_test_add_data_func("/block/host_device/loop/dio-align/probe",
                         GINT_TO_POINTER(1), test_hdev_loop_dio_align);

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
