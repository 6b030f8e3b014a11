/*
 * Private interface shared by the POSIX file drivers (file, host_device)
 * and their pieces: the per-node state, the I/O backends behind a small
 * ops table (thread pool, io_uring), and the OFD image locks.
 *
 * Not installed; only block/file-posix*.c and block/host-device.c
 * include it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_FILE_POSIX_H
#define BLOCK_FILE_POSIX_H

#include "block/block_int.h"
#include "block/thread-pool.h"

typedef struct BDRVRawState BDRVRawState;

/*
 * An I/O backend: moves whole requests between a node's fd and memory.
 * All members run in the node's home thread; the co_ members in a
 * coroutine, which yields until the transfer is complete.
 */
typedef struct FileAioOps {
    const char *name;
    /* Start serving @s in @ctx.  false with @errp when the backend cannot
     * be used (the caller then falls back to another). */
    bool (*attach)(BDRVRawState *s, AioContext *ctx, Error **errp);
    /* Stop serving @s (no request in flight). */
    void (*detach)(BDRVRawState *s);
    /* Read all of @qiov from @offset (bytes past the end of the file
     * read as zeroes), or with @is_write write it there.  0 or -errno. */
    int coroutine_fn (*co_rw)(BDRVRawState *s, int64_t offset,
                              QEMUIOVector *qiov, bool is_write);
    /* fdatasync.  0 or -errno. */
    int coroutine_fn (*co_fdatasync)(BDRVRawState *s);
} FileAioOps;

/* block/file-posix-threads.c: blocking syscalls on the context's pool. */
extern const FileAioOps file_aio_threads;
/* block/file-posix-io_uring.c (or its stub, whose attach always fails). */
extern const FileAioOps file_aio_io_uring;

struct BDRVRawState {
    /* ---- immutable between open and close ---- */
    int fd;
    int open_flags;              /* O_* the fd was opened with */
    bool is_bdev;                /* a block device, not a regular file */
    bool is_cdrom;               /* answers the CDROM_* ioctls */
    bool locking;                /* OFD image locks are held */
    int buf_align;               /* bs->buffer_alignment, under O_DIRECT */

    /* ---- home thread (the node's AioContext) ---- */
    const FileAioOps *aio;       /* backend serving the node */
    AioContext *ctx;             /* context the backend is attached to */
    void *aio_state;             /* backend's per-node state */
    /* Writes (and other changes) completed, and how many of them the
     * last successful fdatasync covered: a flush with nothing new since
     * is skipped, which keeps directsync at one fdatasync per write. */
    uint64_t write_gen;
    uint64_t flushed_gen;
};

/* ---- file-posix.c: pieces host_device reuses ------------------------- */

/*
 * Open @filename for @bs: the fd (O_RDONLY or O_RDWR, O_DIRECT for
 * BDRV_O_NOCACHE with the alignments probed), the I/O backend for the
 * aio mode and, unless disabled, the image locks.  Takes the `locking`
 * option.  @extra_oflags are added to open(2)'s flags.  0 or -errno with
 * a message in bdrv_driver_errp().
 */
int file_posix_open(BlockDriverState *bs, const char *filename, int flags,
                    int extra_oflags);
void file_posix_close(BlockDriverState *bs);
int coroutine_fn file_posix_co_readv(BlockDriverState *bs,
                                     int64_t sector_num, int nb_sectors,
                                     QEMUIOVector *qiov);
int coroutine_fn file_posix_co_writev(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      QEMUIOVector *qiov);
int coroutine_fn file_posix_co_flush(BlockDriverState *bs);
/* Size in bytes: st_size, or BLKGETSIZE64 for block devices. */
int64_t file_posix_getlength(BlockDriverState *bs);
void file_posix_detach_aio_context(BlockDriverState *bs);
void file_posix_attach_aio_context(BlockDriverState *bs, AioContext *ctx);
/* Run @func(@arg) on the node's thread pool; its result.  Coroutine. */
int coroutine_fn file_posix_run_blocking(BlockDriverState *bs,
                                         ThreadPoolFunc *func, void *arg);
/* Count a completed change, for the flush generation (see above). */
void file_posix_changed(BDRVRawState *s);

/* ---- file-posix-copy.c: copy offloading ------------------------------ */

/* The file driver's bdrv_co_copy_range_from / _to (see block_int.h):
 * copy_file_range(2) when both nodes are file nodes, else -ENOTSUP. */
int coroutine_fn file_posix_co_copy_range_from(BlockDriverState *src,
                                               int64_t src_offset,
                                               BlockDriverState *dst,
                                               int64_t dst_offset,
                                               int64_t bytes,
                                               BdrvRequestFlags read_flags,
                                               BdrvRequestFlags write_flags);
int coroutine_fn file_posix_co_copy_range_to(BlockDriverState *src,
                                             int64_t src_offset,
                                             BlockDriverState *dst,
                                             int64_t dst_offset,
                                             int64_t bytes,
                                             BdrvRequestFlags read_flags,
                                             BdrvRequestFlags write_flags);

/* ---- file-posix-lock.c: OFD image locks ------------------------------ */

/*
 * Permissions a user of an image takes and shares, numbered as QEMU
 * numbers them: the byte offsets of the locks are derived from these
 * bits, which is what lets our locks and QEMU's see each other.
 */
enum {
    FILE_PERM_CONSISTENT_READ = 1 << 0,
    FILE_PERM_WRITE = 1 << 1,
    FILE_PERM_WRITE_UNCHANGED = 1 << 2,
    FILE_PERM_RESIZE = 1 << 3,
    FILE_PERM_ALL = (1 << 4) - 1,
};

/* Permissions a reader and a writer of an image take and share. */
#define FILE_PERM_READER       FILE_PERM_CONSISTENT_READ
#define FILE_PERM_WRITER       (FILE_PERM_CONSISTENT_READ | FILE_PERM_WRITE | \
                                FILE_PERM_RESIZE)
#define FILE_PERM_SHARED       (FILE_PERM_CONSISTENT_READ | \
                                FILE_PERM_WRITE_UNCHANGED)

/* 1 if @fd supports OFD locks, 0 if not, -errno on other failures. */
int file_lock_supported(int fd);

/*
 * Hold the lock bytes saying we use @perm and do not share what is not
 * in @shared, then check that no other open file description conflicts.
 * On a conflict the message names the permission ("Failed to get
 * \"write\" lock") and the image.  0 or -errno (-EAGAIN on a conflict)
 * with @errp set; on failure our bytes are released again.
 */
int file_lock_acquire(int fd, const char *filename, unsigned perm,
                      unsigned shared, Error **errp);

/* Release every lock byte we hold on @fd. */
void file_lock_release(int fd);

#endif /* BLOCK_FILE_POSIX_H */
