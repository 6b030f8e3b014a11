/*
 * The block driver contract (BlockDriver) and the node (BlockDriverState),
 * for drivers and for the generic layer's own files.
 *
 * A driver fills a static BlockDriver and registers it from a module
 * constructor (block_init).  Every member but format_name and
 * instance_size is optional; the generic layer calls a member where the
 * driver provides one and otherwise applies the documented fallback:
 *
 *   I/O styles    A driver implements one of: synchronous (bdrv_read /
 *                 bdrv_write), callback (bdrv_aio_readv / _writev /
 *                 _flush / _discard) or coroutine (bdrv_co_*).  Requests
 *                 always travel the coroutine request path; the generic
 *                 layer then calls the coroutine member, or the callback
 *                 member and yields until its callback, or the synchronous
 *                 member directly (such drivers block their thread, which
 *                 is why only simple in-memory drivers use that style).
 *   write zeroes  without bdrv_co_write_zeroes: writev of a zero buffer.
 *   discard       without either discard member: success, nothing done.
 *   flush         bdrv_co_flush_to_os, then (unless BDRV_O_NO_FLUSH)
 *                 bdrv_co_flush_to_disk or bdrv_aio_flush, then the
 *                 protocol node; any may be absent.
 *   is_allocated  without bdrv_co_is_allocated: everything is allocated.
 *   getlength     without bdrv_getlength: total_sectors * 512.
 *   has_zero_init without bdrv_has_zero_init: 0 (not known to be zero).
 *
 * Drivers that need a message on failure of open, create or truncate set
 * it with error_setg(bdrv_driver_errp(), ...) before returning -errno;
 * the generic layer hands it to the caller's Error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_INT_H
#define BLOCK_INT_H

#include "block/block.h"
#include "qemu/option.h"
#include "qemu/queue.h"
#include "qemu/coroutine.h"
#include "qemu/timer.h"
#include "qemu/throttle.h"

#define BLOCK_FLAG_ENCRYPT          1
#define BLOCK_FLAG_COMPAT6          4

#define BLOCK_IO_LIMIT_READ         0
#define BLOCK_IO_LIMIT_WRITE        1
#define BLOCK_IO_LIMIT_TOTAL        2

#define BLOCK_IO_SLICE_TIME         100000000
#ifndef NANOSECONDS_PER_SECOND
#define NANOSECONDS_PER_SECOND      1000000000.0
#endif

#define BLOCK_OPT_SIZE              "size"
#define BLOCK_OPT_ENCRYPT           "encryption"
#define BLOCK_OPT_COMPAT6           "compat6"
#define BLOCK_OPT_BACKING_FILE      "backing_file"
#define BLOCK_OPT_BACKING_FMT       "backing_fmt"
#define BLOCK_OPT_CLUSTER_SIZE      "cluster_size"
#define BLOCK_OPT_TABLE_SIZE        "table_size"
#define BLOCK_OPT_PREALLOC          "preallocation"
#define BLOCK_OPT_SUBFMT            "subformat"

/* Register a driver at program start. */
#define block_init(fn) \
    static void __attribute__((constructor)) block_init_ ## fn(void) { fn(); }

typedef struct BdrvTrackedRequest BdrvTrackedRequest;
typedef struct BdrvThrottleMember BdrvThrottleMember;
typedef struct BlockJob BlockJob;

/*
 * I/O limits.  The first two arrays are the seed's (indexed by
 * BLOCK_IO_LIMIT_READ/WRITE/TOTAL; 0 means unlimited); the rest are
 * Spindle's additions, 0 when unused:
 *   *_max         burst rate allowed while the burst lasts
 *   *_max_length  seconds a burst at *_max may last (default 1)
 *   iops_size     a request of N * iops_size bytes counts as N operations
 *   group         name of a throttle group shared with other nodes
 *                 (NULL: a group of the node's own)
 */
typedef struct BlockIOLimit {
    int64_t bps[3];
    int64_t iops[3];
    int64_t bps_max[3];
    int64_t iops_max[3];
    int64_t bps_max_length[3];
    int64_t iops_max_length[3];
    int64_t iops_size;
    const char *group;
} BlockIOLimit;

struct BlockDriver {
    const char *format_name;
    int instance_size;                       /* bytes of bs->opaque */

    /* Score how likely @buf (the file's first bytes) is this format:
     * 0 no, 1 fallback (raw), 100 certain. */
    int (*bdrv_probe)(const uint8_t *buf, int buf_size, const char *filename);
    /* As bdrv_probe, for host devices by name. */
    int (*bdrv_probe_device)(const char *filename);
    /* Open a format on top of bs->file (already open). 0 or -errno. */
    int (*bdrv_open)(BlockDriverState *bs, int flags);
    /* Open a protocol driver directly on @filename. 0 or -errno. */
    int (*bdrv_file_open)(BlockDriverState *bs, const char *filename,
                          int flags);
    /* Synchronous I/O style. */
    int (*bdrv_read)(BlockDriverState *bs, int64_t sector_num,
                     uint8_t *buf, int nb_sectors);
    int (*bdrv_write)(BlockDriverState *bs, int64_t sector_num,
                      const uint8_t *buf, int nb_sectors);
    void (*bdrv_close)(BlockDriverState *bs);
    int (*bdrv_create)(const char *filename, QEMUOptionParameter *options);
    int (*bdrv_set_key)(BlockDriverState *bs, const char *key);
    int (*bdrv_make_empty)(BlockDriverState *bs);

    /* Callback I/O style: call @cb exactly once, never before returning
     * (or return NULL without calling it, which fails with -EIO). */
    BlockDriverAIOCB *(*bdrv_aio_readv)(BlockDriverState *bs,
        int64_t sector_num, QEMUIOVector *qiov, int nb_sectors,
        BlockDriverCompletionFunc *cb, void *opaque);
    BlockDriverAIOCB *(*bdrv_aio_writev)(BlockDriverState *bs,
        int64_t sector_num, QEMUIOVector *qiov, int nb_sectors,
        BlockDriverCompletionFunc *cb, void *opaque);
    BlockDriverAIOCB *(*bdrv_aio_flush)(BlockDriverState *bs,
        BlockDriverCompletionFunc *cb, void *opaque);
    BlockDriverAIOCB *(*bdrv_aio_discard)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors,
        BlockDriverCompletionFunc *cb, void *opaque);

    /* Coroutine I/O style. */
    int coroutine_fn (*bdrv_co_readv)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors, QEMUIOVector *qiov);
    int coroutine_fn (*bdrv_co_writev)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors, QEMUIOVector *qiov);
    /* Zero a range cheaply (metadata, hole punching).  Optional: without
     * it the generic layer writes a buffer of zeroes. */
    int coroutine_fn (*bdrv_co_write_zeroes)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors);
    int coroutine_fn (*bdrv_co_discard)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors);
    /* 1 if the first sector is allocated in this node, 0 if not (read
     * from the backing node or zero); *pnum sectors share the answer. */
    int coroutine_fn (*bdrv_co_is_allocated)(BlockDriverState *bs,
        int64_t sector_num, int nb_sectors, int *pnum);

    /* Drop cached metadata (after another process changed the image). */
    void (*bdrv_invalidate_cache)(BlockDriverState *bs);
    /* Data written to the OS reaches stable storage (fsync). */
    int coroutine_fn (*bdrv_co_flush_to_disk)(BlockDriverState *bs);
    /* The driver's own caches reach the OS (survive a crash of us). */
    int coroutine_fn (*bdrv_co_flush_to_os)(BlockDriverState *bs);

    /* Prefix of filenames this protocol driver handles ("null-co"). */
    const char *protocol_name;
    int (*bdrv_truncate)(BlockDriverState *bs, int64_t offset);
    int64_t (*bdrv_getlength)(BlockDriverState *bs);
    int64_t (*bdrv_get_allocated_file_size)(BlockDriverState *bs);
    int (*bdrv_write_compressed)(BlockDriverState *bs, int64_t sector_num,
                                 const uint8_t *buf, int nb_sectors);

    int (*bdrv_snapshot_create)(BlockDriverState *bs,
                                QEMUSnapshotInfo *sn_info);
    int (*bdrv_snapshot_goto)(BlockDriverState *bs, const char *snapshot_id);
    int (*bdrv_snapshot_delete)(BlockDriverState *bs,
                                const char *snapshot_id);
    int (*bdrv_snapshot_list)(BlockDriverState *bs,
                              QEMUSnapshotInfo **psn_info);
    int (*bdrv_snapshot_load_tmp)(BlockDriverState *bs,
                                  const char *snapshot_name);
    int (*bdrv_get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);
    int (*bdrv_save_vmstate)(BlockDriverState *bs, const uint8_t *buf,
                             int64_t pos, int size);
    int (*bdrv_load_vmstate)(BlockDriverState *bs, uint8_t *buf,
                             int64_t pos, int size);
    int (*bdrv_change_backing_file)(BlockDriverState *bs,
                                    const char *backing_file,
                                    const char *backing_fmt);

    /* Removable devices. */
    int (*bdrv_is_inserted)(BlockDriverState *bs);
    int (*bdrv_media_changed)(BlockDriverState *bs);
    void (*bdrv_eject)(BlockDriverState *bs, bool eject_flag);
    void (*bdrv_lock_medium)(BlockDriverState *bs, bool locked);

    /* Pass-through requests (SCSI generic and the like). */
    int (*bdrv_ioctl)(BlockDriverState *bs, unsigned long int req, void *buf);
    BlockDriverAIOCB *(*bdrv_aio_ioctl)(BlockDriverState *bs,
        unsigned long int req, void *buf,
        BlockDriverCompletionFunc *cb, void *opaque);

    /* Options bdrv_create accepts, terminated by name == NULL. */
    QEMUOptionParameter *create_options;

    /* 0 when the check ran (findings in @result), -errno if it could not. */
    int (*bdrv_check)(BlockDriverState *bs, BdrvCheckResult *result);
    void (*bdrv_debug_event)(BlockDriverState *bs, BlkDebugEvent event);
    /* 1 if a newly created image reads as zeroes everywhere. */
    int (*bdrv_has_zero_init)(BlockDriverState *bs);

    /* ---- Spindle additions, all optional ---- */
    /* bdrv_check with repair; preferred over bdrv_check when present. */
    int (*bdrv_check_fix)(BlockDriverState *bs, BdrvCheckResult *result,
                          BdrvCheckMode fix);
    /* Stop using, then start using, an AioContext (timers, fd handlers). */
    void (*bdrv_detach_aio_context)(BlockDriverState *bs);
    void (*bdrv_attach_aio_context)(BlockDriverState *bs,
                                    AioContext *new_context);
    /*
     * Change creation options of the open image @bs (qemu-img amend).
     * @opts is a copy of create_options in which the user's options are
     * marked assigned; the driver must refuse, with a message in @errp,
     * any it cannot change.  Main thread, outside coroutines, image open
     * read-write.  0 or -errno with @errp set.
     */
    int (*bdrv_amend_options)(BlockDriverState *bs,
                              QEMUOptionParameter *opts, Error **errp);
    /*
     * Status of [@offset, +@bytes) in this node (inside it): DATA, ZERO,
     * OFFSET_VALID (with *@map, *@file), COMPRESSED and RECURSE as for
     * bdrv_co_block_status, and *@pnum (>= 1) bytes alike.  The
     * generic layer adds ALLOCATED, and ZERO for unallocated ranges
     * without a backing node.  Without this member the answer comes from
     * bdrv_co_is_allocated (protocols: DATA or ZERO, identity map).
     */
    int coroutine_fn (*bdrv_co_block_status)(BlockDriverState *bs,
        int64_t offset, int64_t bytes, int64_t *pnum, int64_t *map,
        BlockDriverState **file);
    /* A new BdrvSpecificInfo (see block.h), NULL if none.  Main thread. */
    BdrvSpecificInfo *(*bdrv_get_specific_info)(BlockDriverState *bs);

    /*
     * Copy offloading (bdrv_co_copy_range; block/io-copy-range.c).  The
     * generic layer calls these after its stages on the node (aligned
     * range, gate, tracking; read-only checked on the destination).
     * copy_range_from: @src is this node; map the range and pass it on,
     * with bdrv_co_copy_range_from on a child holding the data, or with
     * bdrv_co_copy_range_to(@src, ..., @dst, ...) from a protocol node
     * (or write zeroes to @dst for ranges that read as zeroes).
     * copy_range_to: @dst is this node; map or allocate the range and pass
     * it to a child with bdrv_co_copy_range_to, or, in a protocol driver
     * that can reach @src's data, copy.  Either returns 0, -ENOTSUP when
     * this range cannot be offloaded (the caller falls back to read and
     * write), or -errno.  Coroutine in the nodes' AioContext; optional:
     * without them every copy is -ENOTSUP.
     */
    int coroutine_fn (*bdrv_co_copy_range_from)(BlockDriverState *src,
        int64_t src_offset, BlockDriverState *dst, int64_t dst_offset,
        int64_t bytes, BdrvRequestFlags read_flags,
        BdrvRequestFlags write_flags);
    int coroutine_fn (*bdrv_co_copy_range_to)(BlockDriverState *src,
        int64_t src_offset, BlockDriverState *dst, int64_t dst_offset,
        int64_t bytes, BdrvRequestFlags read_flags,
        BdrvRequestFlags write_flags);

    QLIST_ENTRY(BlockDriver) list;
};

/*
 * A node.  Fields are grouped by lifetime; unless said otherwise they are
 * used only in the node's home thread (its AioContext).
 *
 * Compared with the seed: the slice-based I/O-limit fields (slice_*,
 * io_base, block_timer) gave way to the leaky-bucket throttle state in
 * @throttle; the single dirty_bitmap/dirty_count became a list of named
 * bitmaps; the statistics gained failed_ops and a latency histogram.
 */
struct BlockDriverState {
    /* ---- the medium: set by open, cleared by close ---- */
    int64_t total_sectors;       /* size in sectors */
    int read_only;
    int keep_read_only;          /* opened read-only on purpose */
    int open_flags;              /* BDRV_O_*, kept for reopen */
    int encrypted;               /* data is encrypted */
    int valid_key;               /* the key has been given */
    int sg;                      /* SCSI generic device */
    int copy_on_read;            /* reference count of copy-on-read users */
    BlockDriver *drv;            /* NULL: no medium */
    void *opaque;                /* driver state, drv->instance_size bytes */

    void *dev;                   /* attached device model */
    const BlockDevOps *dev_ops;
    void *dev_opaque;

    char filename[1024];
    char backing_file[1024];     /* image names a backing file */
    char backing_format[16];
    int is_temporary;            /* delete the file on close */

    BlockDriverState *backing_hd;
    BlockDriverState *file;      /* protocol node under a format */

    /* ---- request path state ---- */
    unsigned int copy_on_read_in_flight;
    QLIST_HEAD(, BdrvTrackedRequest) tracked_requests;
    unsigned int serialising_in_flight;
    unsigned int in_flight;      /* requests between gate and completion;
                                  * written only in the home thread,
                                  * read anywhere (atomic loads) */
    int quiesce_counter;         /* >0: inside a drained section */
    CoQueue drain_gate;          /* requests waiting for drained_end */

    /* I/O limits (block/throttle-groups.c) */
    BlockIOLimit io_limits;
    bool io_limits_enabled;
    CoQueue throttled_reqs[2];   /* [0] reads, [1] writes */
    BdrvThrottleMember *throttle;

    /* statistics (block/accounting.c) */
    uint64_t nr_bytes[BDRV_MAX_IOTYPE];
    uint64_t nr_ops[BDRV_MAX_IOTYPE];
    uint64_t total_time_ns[BDRV_MAX_IOTYPE];
    uint64_t failed_ops[BDRV_MAX_IOTYPE];
    uint64_t latency_hist[BDRV_MAX_IOTYPE][BDRV_LATENCY_BUCKETS];
    uint64_t wr_highest_sector;
    bool account_latency;        /* read the clock around requests */

    int growable;                /* writes past the end extend the node */
    int buffer_alignment;        /* memory alignment of I/O buffers */
    int request_alignment;       /* offset/length alignment, >= 512 */
    int enable_write_cache;
    int cyls, heads, secs, translation;   /* geometry hints */

    /* error policy (block/error-policy.c) */
    BlockErrorAction on_read_error, on_write_error;
    bool iostatus_enabled;
    BlockDeviceIoStatus iostatus;
    CoQueue stopped_reqs;        /* requests stopped by the policy */
    int stopped_count;

    char device_name[32];
    QLIST_HEAD(, BdrvDirtyBitmap) dirty_bitmaps;
    int in_use;                  /* users other than the guest (jobs) */
    QTAILQ_ENTRY(BlockDriverState) list;   /* named nodes */
    QTAILQ_ENTRY(BlockDriverState) all_list;

    BlockJob *job;

    /* ---- Spindle additions ---- */
    AioContext *aio_context;     /* home of the node's requests */
    int refcnt;
    GHashTable *options;         /* during open: driver options left */
    GHashTable *backing_options; /* "backing.*" open options, prefix
                                  * removed: for the backing node */
};

/*
 * One request between the gate and its completion, in
 * bs->tracked_requests.  A serialising request (read-modify-write of an
 * unaligned write, copy-on-read) covers [overlap_offset, +overlap_bytes);
 * other requests that overlap it wait, and it waits for those already in
 * flight over its range.
 */
struct BdrvTrackedRequest {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    bool serialising;
    int64_t overlap_offset;
    int64_t overlap_bytes;
    CoQueue wait_queue;          /* requests waiting for this one */
    QLIST_ENTRY(BdrvTrackedRequest) list;
};

/* ---- helpers for drivers --------------------------------------------- */

/* Thread-local slot for a driver's message (see top of file). */
Error **bdrv_driver_errp(void);

/*
 * Driver options during open.  bdrv_opt_take removes the key and returns
 * its value (g_free it), or NULL.  The _bool/_size forms parse the value
 * (default when absent); they return false with a message in
 * bdrv_driver_errp() when malformed.
 */
char *bdrv_opt_take(BlockDriverState *bs, const char *key);
bool bdrv_opt_take_bool(BlockDriverState *bs, const char *key, bool def,
                        bool *value);
bool bdrv_opt_take_size(BlockDriverState *bs, const char *key, uint64_t def,
                        uint64_t *value);

/* Tell the driver of @bs (if it listens: blkdebug) that @evt happens. */
void bdrv_debug_event(BlockDriverState *bs, BlkDebugEvent evt);
#define BLKDBG_EVENT(bs, evt) bdrv_debug_event(bs, evt)

/* Update total_sectors from the driver's getlength. 0 or -errno. */
int bdrv_refresh_total_sectors(BlockDriverState *bs, int64_t hint);

/* Byte-granular child I/O for drivers (coroutine context). */
int coroutine_fn bdrv_co_pread(BlockDriverState *bs, int64_t offset,
                               int64_t bytes, void *buf);
int coroutine_fn bdrv_co_pwrite(BlockDriverState *bs, int64_t offset,
                                int64_t bytes, const void *buf);

/* Allocate an I/O buffer aligned for @bs (g_free-compatible: no; use
 * qemu_vfree). */
void *qemu_blockalign(BlockDriverState *bs, size_t size);
void qemu_vfree(void *ptr);

/* ---- internal interfaces between the generic layer's files ----------- */

/* block/io-driver.c: call the driver in whatever style it has. */
int coroutine_fn bdrv_driver_preadv(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov);
int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs, int64_t offset,
                                     int64_t bytes, QEMUIOVector *qiov,
                                     BdrvRequestFlags flags);
int coroutine_fn bdrv_driver_pwrite_zeroes(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           BdrvRequestFlags flags);
int coroutine_fn bdrv_driver_pdiscard(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes);

/* block/io-sync.c: run @entry(@opaque) in a coroutine of the node's
 * context and poll until it has returned (directly if in a coroutine). */
void bdrv_run_co(BlockDriverState *bs, CoroutineEntry *entry, void *opaque);

/* block/drain.c */
void coroutine_fn bdrv_drain_gate(BlockDriverState *bs);
void bdrv_inc_in_flight(BlockDriverState *bs);
void bdrv_dec_in_flight(BlockDriverState *bs);

/* block/accounting.c: record one finished request.  A latency of
 * BDRV_ACCT_NO_LATENCY (the node does not time requests) counts the
 * request without touching total_time_ns or the histogram. */
#define BDRV_ACCT_NO_LATENCY INT64_MIN
void bdrv_acct_record(BlockDriverState *bs, enum BlockAcctType type,
                      uint64_t bytes, int64_t latency_ns, int ret);
/* Monotonic clock for request latency, ns. */
int64_t bdrv_acct_clock_ns(void);

/* block/dirty-bitmap.c */
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes);
void bdrv_dirty_bitmaps_truncate(BlockDriverState *bs, int64_t bytes);
void bdrv_release_all_dirty_bitmaps(BlockDriverState *bs);

/* block/error-policy.c: apply the node's policy to a failed request.
 * Returns the value the request completes with, or BDRV_ERROR_RETRY
 * (after the request was stopped and resumed). */
#define BDRV_ERROR_RETRY 1
int coroutine_fn bdrv_error_policy(BlockDriverState *bs, bool is_read,
                                   int ret);

/* ---- I/O limits (block/throttle-groups.c) ---------------------------- */

/* The seed's call: apply @io_limits (all zero disables).  Invalid limits
 * are refused with a warning and the old ones kept. */
void bdrv_set_io_limits(BlockDriverState *bs, BlockIOLimit *io_limits);
/* As bdrv_set_io_limits, reporting invalid limits through @errp. */
bool bdrv_io_limits_apply(BlockDriverState *bs, const BlockIOLimit *limits,
                          Error **errp);
void bdrv_io_limits_disable(BlockDriverState *bs);
/* Clock the throttle uses (QEMU_CLOCK_REALTIME unless a test changes it
 * before applying limits). */
void bdrv_io_limits_set_clock(BlockDriverState *bs, QEMUClockType type);
/* Wait until the node's limits admit a request of @bytes, then account
 * it.  Requests are admitted in order, and members of one group in turn. */
void coroutine_fn bdrv_io_limits_intercept(BlockDriverState *bs,
                                           int64_t bytes, bool is_write);
void bdrv_io_limits_detach_aio_context(BlockDriverState *bs);
void bdrv_io_limits_attach_aio_context(BlockDriverState *bs,
                                       AioContext *ctx);

#endif /* BLOCK_INT_H */
