/*
 * file: the protocol driver for POSIX files ("file:/path" or a plain path).
 *
 * What it does: opens the file read-only or read-write, with O_DIRECT
 * for cache=none (probing the offset and memory alignment O_DIRECT
 * wants), takes OFD image locks (file-posix-lock.c) unless locking=off
 * or force-share, and moves data through the backend the aio mode picks:
 * the thread pool (file-posix-threads.c) or io_uring
 * (file-posix-io_uring.c, falling back to threads with a warning, or
 * silently for aio=auto).
 * Flush is fdatasync, skipped when nothing changed since the last one.
 * Discard punches holes, write-zeroes uses FALLOC_FL_ZERO_RANGE (else a
 * hole, else -ENOTSUP so the generic layer writes zeroes), allocation
 * status comes from SEEK_DATA/SEEK_HOLE.  Create truncates an existing
 * file (under a write lock) and preallocates off, falloc or full.
 *
 * What it deliberately does not: O_DSYNC for directsync (the generic
 * layer already flushes after every write then; O_DSYNC would sync
 * twice), Windows, or the driver options QEMU has for tuning (only
 * `locking` is taken; `aio` and `cache` arrive as open flags).
 *
 * Key invariant: a vector reaches the backend only in a shape the fd
 * accepts: at most IOV_MAX pieces and, under O_DIRECT, every piece
 * aligned to buffer_alignment; anything else goes through a bounce
 * buffer.  Offsets and lengths are aligned by the generic layer, which
 * reads request_alignment from the node.
 *
 * Test hooks (environment): SPINDLE_FILE_FALLOC_FAIL=zero-range,punch-hole
 * makes those fallocate modes fail with EOPNOTSUPP, as on a file system
 * without them, so each step of the write-zeroes fallback can be tested;
 * SPINDLE_FILE_DIOALIGN_PROBE=1 ignores the kernel's statx answer, so the
 * O_DIRECT alignment probe itself runs on new kernels too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "qapi/error.h"
#include "block/thread-pool.h"
#include "block/internal.h"
#include "util/trace.h"
#include "file-posix.h"

#define MAX_PROBE_ALIGN   4096
#define PREALLOC_CHUNK    (1 << 20)

typedef enum {
    LOCKING_AUTO,
    LOCKING_ON,
    LOCKING_OFF,
} LockingMode;

static const char *strip_prefix(const char *filename, const char *prefix)
{
    size_t len = strlen(prefix);

    if (!strncmp(filename, prefix, len) && filename[len] == ':') {
        return filename + len + 1;
    }
    return filename;
}

void file_posix_changed(BDRVRawState *s)
{
    s->write_gen++;
}

/* ---- alignment for O_DIRECT ------------------------------------------ */

static bool direct_read_ok(int fd, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = pread(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    return n >= 0 || errno != EINVAL;
}

/* What the kernel says O_DIRECT needs (Linux 6.1+); 0s if it won't say. */
static void statx_alignment(int fd, int *req, int *mem)
{
#ifdef STATX_DIOALIGN
    struct statx stx;

    if (!g_getenv("SPINDLE_FILE_DIOALIGN_PROBE") &&
        statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
        *req = stx.stx_dio_offset_align;
        *mem = stx.stx_dio_mem_align;
    }
#endif
}

/*
 * The smallest request and buffer alignment O_DIRECT reads accept.
 * Probing cannot tell for an empty file (reads at the end succeed
 * whatever their alignment), which is why the kernel's answer is asked
 * for first.  When nothing is accepted, the largest candidate is used.
 */
static void probe_alignment(BlockDriverState *bs, BDRVRawState *s)
{
    uint8_t *buf = NULL;
    int req = 0, mem = 0;

    statx_alignment(s->fd, &req, &mem);
    if (posix_memalign((void **)&buf, MAX_PROBE_ALIGN,
                       2 * MAX_PROBE_ALIGN) != 0) {
        abort();
    }
    for (int a = BDRV_SECTOR_SIZE; !req && a <= MAX_PROBE_ALIGN; a <<= 1) {
        if (direct_read_ok(s->fd, buf, a)) {
            req = a;
        }
    }
    req = req ? req : MAX_PROBE_ALIGN;
    for (int a = BDRV_SECTOR_SIZE; !mem && a <= MAX_PROBE_ALIGN; a <<= 1) {
        if (direct_read_ok(s->fd, buf + a, MAX(req, MAX_PROBE_ALIGN))) {
            mem = a;
        }
    }
    free(buf);
    bs->request_alignment = MAX(req, (int)BDRV_SECTOR_SIZE);
    bs->buffer_alignment = MAX(mem ? mem : MAX_PROBE_ALIGN,
                               (int)BDRV_SECTOR_SIZE);
}

/* ---- open and close --------------------------------------------------- */

static bool take_locking_option(BlockDriverState *bs, LockingMode *mode)
{
    g_autofree char *v = bdrv_opt_take(bs, "locking");

    if (!v || !strcmp(v, "auto")) {
        *mode = LOCKING_AUTO;
    } else if (!strcmp(v, "on")) {
        *mode = LOCKING_ON;
    } else if (!strcmp(v, "off")) {
        *mode = LOCKING_OFF;
    } else {
        error_setg(bdrv_driver_errp(), "locking must be on, off or auto, "
                   "not '%s'", v);
        return false;
    }
    return true;
}

static int open_fd(const char *path, int oflags)
{
    int fd;

    do {
        fd = open(path, oflags);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EINVAL && (oflags & O_DIRECT)) {
        error_setg(bdrv_driver_errp(), "the file system does not support "
                   "O_DIRECT (cache=none)");
        return -EINVAL;
    }
    return fd < 0 ? -errno : fd;
}

static int check_file_type(BDRVRawState *s)
{
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    if (S_ISDIR(st.st_mode)) {
        error_setg(bdrv_driver_errp(), "is a directory");
        return -EISDIR;
    }
    s->is_bdev = S_ISBLK(st.st_mode);
    return 0;
}

static int take_locks(BlockDriverState *bs, BDRVRawState *s,
                      const char *path, LockingMode mode, int flags)
{
    int ret;

    if (mode == LOCKING_OFF || (flags & BDRV_O_FORCE_SHARE)) {
        return 0;
    }
    ret = file_lock_supported(s->fd);
    if (ret < 0) {
        return ret;
    }
    if (ret == 0) {
        if (mode == LOCKING_ON) {
            error_setg(bdrv_driver_errp(), "locking=on needs OFD locks, "
                       "which this host or file system lacks");
            return -ENOTSUP;
        }
        return 0;
    }
    ret = file_lock_acquire(s->fd, path,
                            (flags & BDRV_O_RDWR) ? FILE_PERM_WRITER
                                                  : FILE_PERM_READER,
                            FILE_PERM_SHARED, bdrv_driver_errp());
    s->locking = ret == 0;
    return ret;
}

/* Attach the backend the flags ask for, or the thread pool instead. */
static void attach_backend(BlockDriverState *bs, AioContext *ctx)
{
    BDRVRawState *s = bs->opaque;
    Error *err = NULL;

    s->aio = (bs->open_flags & BDRV_O_NATIVE_AIO) ? &file_aio_io_uring
                                                  : &file_aio_threads;
    if (!s->aio->attach(s, ctx, &err)) {
        if (!(bs->open_flags & BDRV_O_AIO_AUTO)) {
            warn_report("%s: aio=%s is not available (%s); using "
                        "aio=threads", bs->filename, s->aio->name,
                        error_get_pretty(err));
        }
        error_free(err);
        s->aio = &file_aio_threads;
        s->aio->attach(s, ctx, &error_abort);
    }
}

int file_posix_open(BlockDriverState *bs, const char *filename, int flags,
                    int extra_oflags)
{
    BDRVRawState *s = bs->opaque;
    LockingMode mode;
    int ret;

    s->fd = -1;
    if (!take_locking_option(bs, &mode)) {
        return -EINVAL;
    }
    if ((flags & BDRV_O_FORCE_SHARE) && (flags & BDRV_O_RDWR)) {
        error_setg(bdrv_driver_errp(), "force-share=on can only be used "
                   "with read-only images");
        return -EINVAL;
    }
    s->open_flags = O_CLOEXEC | extra_oflags |
                    ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY) |
                    ((flags & BDRV_O_NOCACHE) ? O_DIRECT : 0);
    ret = open_fd(filename, s->open_flags);
    if (ret < 0) {
        return ret;
    }
    s->fd = ret;
    ret = check_file_type(s);
    if (ret == 0 && (s->open_flags & O_DIRECT)) {
        probe_alignment(bs, s);
    }
    if (ret == 0) {
        ret = take_locks(bs, s, filename, mode, flags);
    }
    if (ret < 0) {
        close(s->fd);
        s->fd = -1;
        return ret;
    }
    s->buf_align = bs->buffer_alignment;
    attach_backend(bs, bdrv_get_aio_context(bs));
    return 0;
}

static int file_open(BlockDriverState *bs, const char *filename, int flags)
{
    return file_posix_open(bs, strip_prefix(filename, "file"), flags, 0);
}

void file_posix_close(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->fd < 0) {
        return;
    }
    s->aio->detach(s);
    if (s->locking) {
        file_lock_release(s->fd);
    }
    close(s->fd);
    s->fd = -1;
}

void file_posix_detach_aio_context(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    s->aio->detach(s);
}

void file_posix_attach_aio_context(BlockDriverState *bs, AioContext *ctx)
{
    attach_backend(bs, ctx);
}

/* ---- reads, writes, flush --------------------------------------------- */

static bool needs_bounce(BDRVRawState *s, QEMUIOVector *qiov)
{
    if (qiov->niov > IOV_MAX) {
        return true;
    }
    if (!(s->open_flags & O_DIRECT)) {
        return false;
    }
    for (int i = 0; i < qiov->niov; i++) {
        uintptr_t bits = (uintptr_t)qiov->iov[i].iov_base |
                         qiov->iov[i].iov_len;

        if (!QEMU_IS_ALIGNED(bits, s->buf_align)) {
            return true;
        }
    }
    return false;
}

static int coroutine_fn bounced_rw(BlockDriverState *bs, int64_t offset,
                                   QEMUIOVector *qiov, bool is_write)
{
    BDRVRawState *s = bs->opaque;
    void *buf = qemu_blockalign(bs, qiov->size);
    QEMUIOVector flat;
    int ret;

    qemu_iovec_init_buf(&flat, buf, qiov->size);
    if (is_write) {
        qemu_iovec_to_buf(qiov, 0, buf, qiov->size);
    }
    ret = s->aio->co_rw(s, offset, &flat, is_write);
    if (ret == 0 && !is_write) {
        qemu_iovec_from_buf(qiov, 0, buf, qiov->size);
    }
    qemu_vfree(buf);
    return ret;
}

static int coroutine_fn co_rw(BlockDriverState *bs, int64_t sector_num,
                              QEMUIOVector *qiov, bool is_write)
{
    BDRVRawState *s = bs->opaque;
    int64_t offset = sector_num << BDRV_SECTOR_BITS;
    int ret;

    if (needs_bounce(s, qiov)) {
        ret = bounced_rw(bs, offset, qiov, is_write);
    } else {
        ret = s->aio->co_rw(s, offset, qiov, is_write);
    }
    if (ret == 0 && is_write) {
        file_posix_changed(s);
    }
    return ret;
}

int coroutine_fn file_posix_co_readv(BlockDriverState *bs,
                                     int64_t sector_num, int nb_sectors,
                                     QEMUIOVector *qiov)
{
    assert(qiov->size == (size_t)nb_sectors << BDRV_SECTOR_BITS);
    return co_rw(bs, sector_num, qiov, false);
}

int coroutine_fn file_posix_co_writev(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      QEMUIOVector *qiov)
{
    assert(qiov->size == (size_t)nb_sectors << BDRV_SECTOR_BITS);
    return co_rw(bs, sector_num, qiov, true);
}

int coroutine_fn file_posix_co_flush(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    uint64_t gen = s->write_gen;
    int ret;

    if (gen == s->flushed_gen) {
        return 0;
    }
    ret = s->aio->co_fdatasync(s);
    trace_file_fdatasync(s->fd, ret);
    if (ret == 0 && gen > s->flushed_gen) {
        s->flushed_gen = gen;
    }
    return ret;
}

int coroutine_fn file_posix_run_blocking(BlockDriverState *bs,
                                         ThreadPoolFunc *func, void *arg)
{
    ThreadPool *pool = aio_get_thread_pool(bdrv_get_aio_context(bs));

    return thread_pool_submit_co(pool, func, arg);
}

/* ---- discard, zeroes, allocation status ------------------------------ */

typedef struct FallocJob {
    int fd;
    int mode;
    int64_t offset;
    int64_t len;
} FallocJob;

static int falloc_job(void *opaque)
{
    FallocJob *j = opaque;
    int ret;

    do {
        ret = fallocate(j->fd, j->mode, j->offset, j->len);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : 0;
}

/* The test hook at the top of the file. */
static bool falloc_mode_disabled(int mode)
{
    const char *v = g_getenv("SPINDLE_FILE_FALLOC_FAIL");

    if (!v) {
        return false;
    }
    return (mode & FALLOC_FL_ZERO_RANGE) ? strstr(v, "zero-range") != NULL
         : (mode & FALLOC_FL_PUNCH_HOLE) ? strstr(v, "punch-hole") != NULL
         : false;
}

static int coroutine_fn co_falloc(BlockDriverState *bs, int mode,
                                  int64_t sector_num, int nb_sectors)
{
    BDRVRawState *s = bs->opaque;
    FallocJob j = {
        .fd = s->fd, .mode = mode,
        .offset = sector_num << BDRV_SECTOR_BITS,
        .len = (int64_t)nb_sectors << BDRV_SECTOR_BITS,
    };
    int ret = falloc_mode_disabled(mode)
              ? -EOPNOTSUPP : file_posix_run_blocking(bs, falloc_job, &j);

    trace_file_fallocate(s->fd, mode, j.offset, j.len, ret);
    if (ret == 0) {
        file_posix_changed(s);
    }
    return ret;
}

static bool is_unsupported(int ret)
{
    return ret == -EOPNOTSUPP || ret == -ENOTSUP || ret == -ENOSYS ||
           ret == -EINVAL;
}

static int coroutine_fn file_co_discard(BlockDriverState *bs,
                                        int64_t sector_num, int nb_sectors)
{
    int ret = co_falloc(bs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        sector_num, nb_sectors);

    /* Discard is advisory: a file system without holes just keeps data. */
    return is_unsupported(ret) ? 0 : ret;
}

static int coroutine_fn file_co_write_zeroes(BlockDriverState *bs,
                                             int64_t sector_num,
                                             int nb_sectors)
{
    int64_t end = (sector_num + nb_sectors) << BDRV_SECTOR_BITS;
    int ret = co_falloc(bs, FALLOC_FL_ZERO_RANGE, sector_num, nb_sectors);

    /* A hole reads as zeroes in a regular file, but punching one never
     * extends the file: past the end the generic layer writes zeroes. */
    if (is_unsupported(ret) && end <= file_posix_getlength(bs)) {
        ret = co_falloc(bs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        sector_num, nb_sectors);
    }
    return is_unsupported(ret) ? -ENOTSUP : ret;
}

static int64_t seek_or_errno(int fd, int64_t offset, int whence)
{
    off_t r = lseek(fd, offset, whence);

    return r < 0 ? -errno : r;
}

/*
 * Data at @start: allocated up to the next hole.  A hole at @start:
 * unallocated up to the next data (or the end).  File systems without
 * SEEK_DATA report everything allocated.
 */
static int coroutine_fn file_co_is_allocated(BlockDriverState *bs,
                                             int64_t sector_num,
                                             int nb_sectors, int *pnum)
{
    BDRVRawState *s = bs->opaque;
    int64_t start = sector_num << BDRV_SECTOR_BITS;
    int64_t data = seek_or_errno(s->fd, start, SEEK_DATA);
    int64_t hole;

    if (data == -ENXIO) {              /* a hole to the end, or past it */
        *pnum = nb_sectors;
        return 0;
    }
    if (data < 0) {
        *pnum = nb_sectors;
        return 1;
    }
    if (data >= start + (int64_t)BDRV_SECTOR_SIZE) {
        *pnum = MIN(nb_sectors, (data - start) >> BDRV_SECTOR_BITS);
        return 0;
    }
    hole = seek_or_errno(s->fd, start, SEEK_HOLE);
    if (hole < 0) {
        *pnum = nb_sectors;
        return 1;
    }
    *pnum = MIN(nb_sectors,
                MAX(1, DIV_ROUND_UP(hole - start, BDRV_SECTOR_SIZE)));
    return 1;
}

/* ---- size ------------------------------------------------------------- */

int64_t file_posix_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (s->is_bdev) {
        uint64_t size;

        if (ioctl(s->fd, BLKGETSIZE64, &size) < 0) {
            return -errno;
        }
        return size;
    }
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return st.st_size;
}

static int64_t file_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

static int file_truncate(BlockDriverState *bs, int64_t offset)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;

    if (!s->is_bdev) {
        if (ftruncate(s->fd, offset) < 0) {
            return -errno;
        }
        file_posix_changed(s);
        return 0;
    }
    len = file_posix_getlength(bs);
    if (len < 0) {
        return len;
    }
    if (offset > len) {
        error_setg(bdrv_driver_errp(), "cannot grow a block device");
        return -ENOTSUP;
    }
    return 0;
}

static int file_has_zero_init(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    return !s->is_bdev;
}

/* A file has no clusters nor VM state: an answer of zeroes, which QEMU's
 * file driver gives too (qemu-io's info, qemu-img's dirty-flag). */
static int file_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

/* ---- create ----------------------------------------------------------- */

typedef enum {
    PREALLOC_OFF,
    PREALLOC_FALLOC,
    PREALLOC_FULL,
} PreallocMode;

static bool parse_prealloc(QEMUOptionParameter *options, PreallocMode *mode)
{
    static const char *const names[] = { "off", "falloc", "full" };
    QEMUOptionParameter *p = get_option_parameter(options, BLOCK_OPT_PREALLOC);
    const char *v = p && p->value.s ? p->value.s : "off";

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(v, names[i])) {
            *mode = i;
            return true;
        }
    }
    error_setg(bdrv_driver_errp(), "unsupported preallocation mode '%s' "
               "(off, falloc, full)", v);
    return false;
}

static int write_zeroes_to(int fd, int64_t size)
{
    g_autofree uint8_t *zeroes = g_malloc0(PREALLOC_CHUNK);

    for (int64_t off = 0; off < size;) {
        ssize_t n = pwrite(fd, zeroes, MIN(PREALLOC_CHUNK, size - off), off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -ENOSPC;
        }
        off += n;
    }
    return fdatasync(fd) < 0 ? -errno : 0;
}

/* Make the (empty) file @size bytes long, allocated as @mode says. */
static int preallocate(int fd, int64_t size, PreallocMode mode)
{
    int ret = 0;

    if (mode == PREALLOC_FALLOC && size > 0 &&
        fallocate(fd, 0, 0, size) < 0) {
        ret = -errno;
        error_setg_errno(bdrv_driver_errp(), errno,
                         "could not preallocate the file");
    } else if (mode == PREALLOC_FULL) {
        ret = write_zeroes_to(fd, size);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret,
                             "could not write zeroes to preallocate");
        }
    }
    if (ret == 0 && ftruncate(fd, size) < 0) {
        ret = -errno;
    }
    return ret;
}

/*
 * Create (or empty) the file, under a write lock so an image another
 * process uses is never truncated.
 */
static int file_create(const char *filename, QEMUOptionParameter *options)
{
    const char *path = strip_prefix(filename, "file");
    QEMUOptionParameter *size_opt = get_option_parameter(options, BLOCK_OPT_SIZE);
    int64_t size = size_opt ? size_opt->value.n : 0;
    PreallocMode mode;
    int fd, ret = 0;

    if (!parse_prealloc(options, &mode)) {
        return -EINVAL;
    }
    if (size < 0) {
        error_setg(bdrv_driver_errp(), "size out of range");
        return -EINVAL;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    if (file_lock_supported(fd) > 0) {
        ret = file_lock_acquire(fd, path, FILE_PERM_WRITE | FILE_PERM_RESIZE,
                                FILE_PERM_SHARED, bdrv_driver_errp());
    }
    if (ret == 0 && ftruncate(fd, 0) < 0) {
        ret = -errno;
    }
    if (ret == 0) {
        ret = preallocate(fd, size, mode);
    }
    close(fd);
    return ret;
}

static QEMUOptionParameter file_create_options[] = {
    { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE,
      .help = "Virtual disk size" },
    { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
      .help = "Preallocation mode (off, falloc, full)" },
    { .name = NULL }
};

BlockDriver bdrv_file = {
    .format_name = "file",
    .protocol_name = "file",
    .instance_size = sizeof(BDRVRawState),
    .bdrv_file_open = file_open,
    .bdrv_close = file_posix_close,
    .bdrv_create = file_create,
    .bdrv_co_readv = file_posix_co_readv,
    .bdrv_co_writev = file_posix_co_writev,
    .bdrv_co_flush_to_disk = file_posix_co_flush,
    .bdrv_co_discard = file_co_discard,
    .bdrv_co_write_zeroes = file_co_write_zeroes,
    .bdrv_co_is_allocated = file_co_is_allocated,
    .bdrv_co_copy_range_from = file_posix_co_copy_range_from,
    .bdrv_co_copy_range_to = file_posix_co_copy_range_to,
    .bdrv_truncate = file_truncate,
    .bdrv_getlength = file_posix_getlength,
    .bdrv_get_allocated_file_size = file_get_allocated_file_size,
    .bdrv_has_zero_init = file_has_zero_init,
    .bdrv_get_info = file_get_info,
    .bdrv_detach_aio_context = file_posix_detach_aio_context,
    .bdrv_attach_aio_context = file_posix_attach_aio_context,
    .create_options = file_create_options,
};
