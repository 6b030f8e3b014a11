/*
 * The block layer's public API: nodes (BlockDriverState), opening and
 * creating images, I/O in three styles, flushing, draining, snapshots,
 * dirty bitmaps, statistics and error policy.
 *
 * A node is one layer of an image graph: a format driver (raw, qcow2...)
 * on top of a protocol driver (file, host_device, null-co...), optionally
 * with a backing node underneath.  Every node belongs to one AioContext
 * (bdrv_get_aio_context); its requests run in coroutines of that context.
 *
 * Three I/O styles reach the same request path:
 *   - synchronous  bdrv_read/bdrv_write/bdrv_pread/...: callable from any
 *     code in the node's home thread; outside a coroutine they run the
 *     request in a coroutine and poll the node's context until it ends.
 *   - callback     bdrv_aio_*: return an AIOCB at once; the completion
 *     callback runs later in the node's context, never before the call
 *     returned.
 *   - coroutine    bdrv_co_*: coroutine_fn; the caller yields until done.
 * Data-path calls return 0 (or a byte count where stated) or -errno.
 *
 * Sectors are 512 bytes (BDRV_SECTOR_SIZE).  Byte-granular calls
 * (bdrv_pread/bdrv_pwrite, bdrv_co_preadv/pwritev) accept any offset;
 * the generic layer aligns them to the node's request alignment, with
 * read-modify-write for writes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "qemu/osdep.h"
#include "qemu/iov.h"
#include "qemu/coroutine.h"
#include "qemu/option.h"
#include "block/aio.h"

typedef struct BlockDriver BlockDriver;
typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;
typedef struct BdrvDirtyBitmapIter BdrvDirtyBitmapIter;

#define BDRV_SECTOR_BITS   9
#define BDRV_SECTOR_SIZE   (1ULL << BDRV_SECTOR_BITS)
#define BDRV_SECTOR_MASK   (~(BDRV_SECTOR_SIZE - 1))

/* Largest request, in bytes, the generic layer passes down at once. */
#define BDRV_REQUEST_MAX_BYTES  (1LL << 30)
#define BDRV_REQUEST_MAX_SECTORS (BDRV_REQUEST_MAX_BYTES >> BDRV_SECTOR_BITS)

/* ---- open flags ------------------------------------------------------- */

#define BDRV_O_RDWR          0x0002
#define BDRV_O_SNAPSHOT      0x0008 /* temporary overlay, dropped on close */
#define BDRV_O_NOCACHE       0x0020 /* bypass the host page cache */
#define BDRV_O_CACHE_WB      0x0040 /* the guest sees a writeback cache */
#define BDRV_O_NATIVE_AIO    0x0080 /* kernel AIO: io_uring in Spindle */
#define BDRV_O_NO_BACKING    0x0100 /* do not open the backing file */
#define BDRV_O_NO_FLUSH      0x0200 /* flushes are no-ops (cache=unsafe) */
#define BDRV_O_COPY_ON_READ  0x0400 /* copy backing data read into the top */
#define BDRV_O_INCOMING      0x0800
#define BDRV_O_PROTOCOL      0x1000 /* open @filename with a protocol only */
#define BDRV_O_FORCE_SHARE   0x2000 /* read-only open ignoring other locks */
#define BDRV_O_DIRECTSYNC    0x4000 /* every write is followed by a flush */
#define BDRV_O_AIO_AUTO      0x8000 /* with NATIVE_AIO: where io_uring is
                                     * missing, use threads without a
                                     * warning (aio=auto) */

#define BDRV_O_CACHE_MASK (BDRV_O_NOCACHE | BDRV_O_CACHE_WB | \
                           BDRV_O_NO_FLUSH | BDRV_O_DIRECTSYNC)

/*
 * Turn a cache mode name into open flags (replacing the cache bits of
 * *@flags): writeback, none (O_DIRECT), directsync, writethrough, unsafe.
 * Returns 0, or -1 for an unknown name.
 */
int bdrv_parse_cache_flags(const char *mode, int *flags);

/*
 * Same for aio modes: threads, native or io_uring, or auto (io_uring
 * where the kernel has it, threads otherwise, silently).  0 or -1.
 */
int bdrv_parse_aio_flags(const char *mode, int *flags);

/* ---- request flags (byte-granular API) ------------------------------- */

typedef enum {
    BDRV_REQ_COPY_ON_READ = 0x1,  /* copy unallocated data into the top */
    BDRV_REQ_ZERO_WRITE   = 0x2,  /* write zeroes; qiov is NULL */
    BDRV_REQ_MAY_UNMAP    = 0x4,  /* zeroes may be written as holes */
    BDRV_REQ_FUA          = 0x8,  /* flush this write before completing */
    BDRV_REQ_NO_SERIALISING = 0x10, /* internal: skip overlap waits */
} BdrvRequestFlags;

/* ---- types shared with drivers and users ----------------------------- */

typedef struct BlockDriverInfo {
    int cluster_size;            /* bytes; 0 when the format has none */
    int64_t vm_state_offset;     /* where save_vmstate data starts */
    bool is_dirty;               /* the image was not closed cleanly */
    bool unallocated_blocks_are_zero;
    bool can_write_zeroes_with_unmap;
} BlockDriverInfo;

typedef struct QEMUSnapshotInfo {
    char id_str[128];            /* unique id, set by the driver */
    char name[256];              /* user's name */
    uint64_t vm_state_size;      /* bytes of saved VM state */
    uint32_t date_sec;           /* wall clock when taken */
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;      /* guest clock when taken */
    uint64_t icount;             /* instruction count, or -1 */
} QEMUSnapshotInfo;

typedef struct BdrvCheckResult {
    int corruptions;             /* metadata that contradicts itself */
    int leaks;                   /* clusters allocated but unused */
    int check_errors;            /* checks that could not be done */
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    int64_t allocated_clusters;
    int64_t total_clusters;
    int64_t fragmented_clusters;
    int64_t compressed_clusters;
} BdrvCheckResult;

typedef enum {
    BDRV_FIX_LEAKS  = 1,
    BDRV_FIX_ERRORS = 2,
} BdrvCheckMode;

typedef enum {
    BLOCK_ERR_REPORT,
    BLOCK_ERR_IGNORE,
    BLOCK_ERR_STOP_ENOSPC,
    BLOCK_ERR_STOP_ANY,
} BlockErrorAction;

typedef enum {
    BLOCK_DEVICE_IO_STATUS_OK,
    BLOCK_DEVICE_IO_STATUS_FAILED,
    BLOCK_DEVICE_IO_STATUS_NOSPACE,
} BlockDeviceIoStatus;

/*
 * Events drivers announce with BLKDBG_EVENT for blkdebug to act on.
 * BLKDBG_READ and BLKDBG_WRITE are never announced: in QEMU "read" came
 * from qcow2's old synchronous read path, which is gone there too, and
 * "write" never existed.  They keep their names so that a rule on them
 * can be refused with a message (use read_aio, write_aio).
 */
typedef enum {
    BLKDBG_READ,
    BLKDBG_READ_AIO,
    BLKDBG_WRITE,
    BLKDBG_WRITE_AIO,
    BLKDBG_FLUSH,
    BLKDBG_FLUSH_TO_OS,
    BLKDBG_FLUSH_TO_DISK,
    BLKDBG_DISCARD,
    BLKDBG_WRITE_ZEROES,
    BLKDBG_L1_UPDATE,
    BLKDBG_L2_LOAD,
    BLKDBG_L2_UPDATE,
    BLKDBG_L2_ALLOC,
    BLKDBG_REFTABLE_LOAD,
    BLKDBG_REFBLOCK_LOAD,
    BLKDBG_REFBLOCK_UPDATE,
    BLKDBG_CLUSTER_ALLOC,
    BLKDBG_COW_READ,
    BLKDBG_COW_WRITE,
    BLKDBG_EVENT_MAX,
} BlkDebugEvent;

/* Name of @event as blkdebug rules spell it ("read_aio"); NULL if bad. */
const char *bdrv_debug_event_name(BlkDebugEvent event);

/* Parse a blkdebug event name; -1 if unknown. */
int bdrv_debug_event_from_name(const char *name);

/* Hooks of an attached device model (removable media notifications). */
typedef struct BlockDevOps {
    void (*change_media_cb)(void *opaque, bool load);
    void (*eject_request_cb)(void *opaque, bool force);
    bool (*is_tray_open)(void *opaque);
    bool (*is_medium_locked)(void *opaque);
    void (*resize_cb)(void *opaque);
} BlockDevOps;

/* ---- statistics ------------------------------------------------------ */

enum BlockAcctType {
    BDRV_ACCT_READ,
    BDRV_ACCT_WRITE,
    BDRV_ACCT_FLUSH,
    BDRV_ACCT_DISCARD,
    BDRV_MAX_IOTYPE,
};

/* Latency histogram buckets: bucket i counts latencies in [2^i, 2^(i+1))
 * ns (bucket 0 also 0 ns), the last bucket everything longer.  A failed
 * request counts in failed_ops only; the buckets add up to nr_ops. */
#define BDRV_LATENCY_BUCKETS 40

typedef struct BlockAcctStats {
    uint64_t nr_bytes[BDRV_MAX_IOTYPE];
    uint64_t nr_ops[BDRV_MAX_IOTYPE];
    uint64_t failed_ops[BDRV_MAX_IOTYPE];
    uint64_t total_time_ns[BDRV_MAX_IOTYPE];
    uint64_t latency_hist[BDRV_MAX_IOTYPE][BDRV_LATENCY_BUCKETS];
    uint64_t wr_highest_offset;  /* end of the furthest write, bytes */
} BlockAcctStats;

/* Copy the node's counters into *@stats.  Home thread of the node. */
void bdrv_get_stats(BlockDriverState *bs, BlockAcctStats *stats);

/*
 * Time requests on @bs for its latency figures.  On by default for nodes
 * users make with bdrv_new; off for the protocol and backing nodes the
 * layer opens underneath them (they still count operations, bytes and
 * failures), which saves two clock reads per request on the fast path.
 */
void bdrv_set_account_latency(BlockDriverState *bs, bool on);

/* Zero the node's counters (not wr_highest_offset). */
void bdrv_reset_stats(BlockDriverState *bs);

/* Name of an accounting kind ("read", "write", "flush", "discard"), or
 * NULL for an unknown kind. */
const char *bdrv_acct_type_name(enum BlockAcctType type);

/* ---- drivers ---------------------------------------------------------- */

/* Called by each driver's module constructor. */
void bdrv_register(BlockDriver *bdrv);

/* Driver by format (or protocol driver) name, or NULL. */
BlockDriver *bdrv_find_format(const char *format_name);

/* Driver whose protocol_name prefixes @filename ("null-co://"), or the
 * file driver for plain paths (host_device for block devices). */
BlockDriver *bdrv_find_protocol(const char *filename, Error **errp);

/* Call @it for every registered driver's format name. */
void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque);

/* ---- nodes: life cycle and graph ------------------------------------ */

/*
 * Make an empty node (no medium) named @device_name ("" for anonymous),
 * holding one reference, in the main AioContext.  Named nodes are found
 * by bdrv_find and listed by bdrv_iterate.
 */
BlockDriverState *bdrv_new(const char *device_name);

/*
 * Open @filename into the empty node @bs.  With @drv NULL the format is
 * probed (every driver's bdrv_probe scores the first bytes; the highest
 * wins; raw scores lowest), unless BDRV_O_PROTOCOL.  A protocol prefix
 * ("file:", "null-co://", "blkdebug:...") chooses the protocol driver.
 * The backing file named by the image is opened too (read-only), with
 * loops refused, unless BDRV_O_NO_BACKING.  Returns 0 or -errno with
 * @errp set to a message naming the file.
 */
int bdrv_open(BlockDriverState *bs, const char *filename, int flags,
              BlockDriver *drv, Error **errp);

/*
 * As bdrv_open, with driver options as string pairs (consumed: an option
 * no driver takes is an error naming it).  Keys prefixed "file." go to
 * the protocol node, "backing." to the backing node.  @options may be
 * NULL; the call does not take ownership.
 */
int bdrv_open_options(BlockDriverState *bs, const char *filename,
                      GHashTable *options, int flags, BlockDriver *drv,
                      Error **errp);

/* Open @filename with a protocol driver only (no format). */
int bdrv_file_open(BlockDriverState **pbs, const char *filename, int flags,
                   Error **errp);

/* Open (or close and reopen) the backing chain of @bs. */
int bdrv_open_backing_file(BlockDriverState *bs, Error **errp);

/*
 * Create an image of format @drv at @filename from @options (size is
 * required by most formats).  Returns 0 or -errno with @errp set.
 */
int bdrv_create(BlockDriver *drv, const char *filename,
                QEMUOptionParameter *options, Error **errp);

/* Create a protocol-level file (the file driver's create). */
int bdrv_create_file(const char *filename, QEMUOptionParameter *options,
                     Error **errp);

/*
 * Close the medium: drain, flush, close the driver, release the backing
 * and protocol nodes.  The node stays, empty.  Home thread.
 */
void bdrv_close(BlockDriverState *bs);

/* Close every node (at exit). */
void bdrv_close_all(void);

/* Take and drop references; the last unref closes and frees the node. */
void bdrv_ref(BlockDriverState *bs);
void bdrv_unref(BlockDriverState *bs);

/* Drop the caller's (first) reference: the seed's name for bdrv_unref. */
void bdrv_delete(BlockDriverState *bs);

/* Named node, or NULL. */
BlockDriverState *bdrv_find(const char *name);

/* Call @it for every named node. */
void bdrv_iterate(void (*it)(void *opaque, BlockDriverState *bs),
                  void *opaque);

/* Next named node after @bs (NULL: the first); NULL at the end. */
BlockDriverState *bdrv_next(BlockDriverState *bs);

const char *bdrv_get_device_name(BlockDriverState *bs);
const char *bdrv_get_format_name(BlockDriverState *bs);

/*
 * Put @bs_new on top of @bs_top: afterwards the node the users of
 * @bs_top hold shows the new top, with the old top as its backing node.
 * (Node contents are swapped, as the seed's bdrv_append does, so pointers
 * users hold stay valid.)  @bs_new must be open and have no backing node.
 */
void bdrv_append(BlockDriverState *bs_new, BlockDriverState *bs_top);

/* Fill @filename with the path of a new, unique temporary file. */
void get_tmp_filename(char *filename, int size);

/* The AioContext the node's requests run in. */
AioContext *bdrv_get_aio_context(BlockDriverState *bs);

/*
 * Move the node, its protocol and backing nodes to @ctx: drains them,
 * then re-homes timers and fd handlers.  Called from the main thread with
 * both contexts idle or acquired.
 */
void bdrv_set_aio_context(BlockDriverState *bs, AioContext *ctx);

/* Backing node of @bs, or NULL. */
BlockDriverState *bdrv_backing(BlockDriverState *bs);

/* ---- synchronous I/O ------------------------------------------------- */

int bdrv_read(BlockDriverState *bs, int64_t sector_num, uint8_t *buf,
              int nb_sectors);
int bdrv_write(BlockDriverState *bs, int64_t sector_num, const uint8_t *buf,
               int nb_sectors);
/* Return @count on success (the seed's contract), -errno on failure. */
int bdrv_pread(BlockDriverState *bs, int64_t offset, void *buf, int count);
int bdrv_pwrite(BlockDriverState *bs, int64_t offset, const void *buf,
                int count);
/* bdrv_pwrite followed by a flush of the node.  0 or -errno. */
int bdrv_pwrite_sync(BlockDriverState *bs, int64_t offset, const void *buf,
                     int count);
int bdrv_write_zeroes(BlockDriverState *bs, int64_t sector_num,
                      int nb_sectors);
int bdrv_discard(BlockDriverState *bs, int64_t sector_num, int nb_sectors);
int bdrv_flush(BlockDriverState *bs);
/* Flush every node; the first error is returned, all are flushed. */
int bdrv_flush_all(void);
int bdrv_write_compressed(BlockDriverState *bs, int64_t sector_num,
                          const uint8_t *buf, int nb_sectors);
/* 1 if allocated in @bs itself, 0 if not, -errno; *@pnum sectors alike. */
int bdrv_is_allocated(BlockDriverState *bs, int64_t sector_num,
                      int nb_sectors, int *pnum);
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            int64_t sector_num, int nb_sectors, int *pnum);

/*
 * Block status: what reading [offset, +bytes) of one node returns and
 * where the bytes are, as a mask of BDRV_BLOCK_* (QEMU's values):
 *   DATA          the node's own stored data (maybe compressed);
 *   ZERO          reads as zeroes (with DATA: stored bytes known zero);
 *   OFFSET_VALID  *map is the byte offset of @offset in the node *file
 *                 (the protocol node that holds the bytes);
 *   ALLOCATED     this node decides the content (DATA or ZERO came from
 *                 it); without it reads fall through to the backing node,
 *                 or read as zeroes when there is none (ZERO is then set);
 *   COMPRESSED    the data is stored compressed (no OFFSET_VALID);
 *   RECURSE       (from drivers only) ask *file too: a hole there adds
 *                 ZERO to DATA, as QEMU does for images it guesses were
 *                 preallocated.
 * Only the node itself is asked, never its backing chain.
 */
#define BDRV_BLOCK_DATA          0x01
#define BDRV_BLOCK_ZERO          0x02
#define BDRV_BLOCK_OFFSET_VALID  0x04
#define BDRV_BLOCK_ALLOCATED     0x10
#define BDRV_BLOCK_RECURSE       0x40
#define BDRV_BLOCK_COMPRESSED    0x80

/*
 * Status of the node @bs at byte @offset: the mask above for the first
 * *@pnum bytes (1 <= *@pnum <= @bytes; 0 only past the end of the node
 * or for @bytes 0), or -errno.  @map and @file (either may be
 * NULL) receive the host offset and protocol node when OFFSET_VALID.
 * Home thread; bdrv_block_status runs the coroutine variant to
 * completion from outside a coroutine.
 */
int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file);
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map, BlockDriverState **file);

/* ---- callback-style I/O ---------------------------------------------- */

BlockDriverAIOCB *bdrv_aio_readv(BlockDriverState *bs, int64_t sector_num,
                                 QEMUIOVector *qiov, int nb_sectors,
                                 BlockDriverCompletionFunc *cb, void *opaque);
BlockDriverAIOCB *bdrv_aio_writev(BlockDriverState *bs, int64_t sector_num,
                                  QEMUIOVector *qiov, int nb_sectors,
                                  BlockDriverCompletionFunc *cb,
                                  void *opaque);
BlockDriverAIOCB *bdrv_aio_flush(BlockDriverState *bs,
                                 BlockDriverCompletionFunc *cb, void *opaque);
BlockDriverAIOCB *bdrv_aio_discard(BlockDriverState *bs, int64_t sector_num,
                                   int nb_sectors,
                                   BlockDriverCompletionFunc *cb,
                                   void *opaque);
BlockDriverAIOCB *bdrv_aio_ioctl(BlockDriverState *bs, unsigned long req,
                                 void *buf, BlockDriverCompletionFunc *cb,
                                 void *opaque);

/*
 * Cancel @acb: wait until the request has stopped (it may have completed
 * or failed in the meantime); its completion callback is not called
 * afterwards.  Home thread of the node, outside coroutines.
 */
void bdrv_aio_cancel(BlockDriverAIOCB *acb);

/* One write of a bdrv_aio_multiwrite batch; error is set on failure. */
typedef struct BlockRequest {
    int64_t sector;
    int nb_sectors;
    QEMUIOVector *qiov;
    BlockDriverCompletionFunc *cb;
    void *opaque;
    int error;
} BlockRequest;

/*
 * Submit @num_reqs writes, merging requests that touch or overlap (after
 * sorting by sector) into fewer driver requests.  Each request's callback
 * runs once with its result.  Returns 0 if all were submitted, else -1
 * with the failed requests' error fields set (their callbacks not run).
 */
int bdrv_aio_multiwrite(BlockDriverState *bs, BlockRequest *reqs,
                        int num_reqs);

/* ---- coroutine I/O --------------------------------------------------- */

int coroutine_fn bdrv_co_readv(BlockDriverState *bs, int64_t sector_num,
                               int nb_sectors, QEMUIOVector *qiov);
/* As bdrv_co_readv, copying read backing data into @bs. */
int coroutine_fn bdrv_co_copy_on_readv(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors,
                                       QEMUIOVector *qiov);
int coroutine_fn bdrv_co_writev(BlockDriverState *bs, int64_t sector_num,
                                int nb_sectors, QEMUIOVector *qiov);
int coroutine_fn bdrv_co_write_zeroes(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors);
int coroutine_fn bdrv_co_discard(BlockDriverState *bs, int64_t sector_num,
                                 int nb_sectors);
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);
/* 1/0/-errno as bdrv_is_allocated. */
int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      int *pnum);
/*
 * Is the range allocated in any node from @top down to, but excluding,
 * @base (NULL: the whole chain)?  *@pnum: how many sectors from
 * @sector_num share the answer.
 */
int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            int64_t sector_num,
                                            int nb_sectors, int *pnum);

/* Byte-granular request entry points (QEMU tree names).  Any alignment. */
int coroutine_fn bdrv_co_preadv(BlockDriverState *bs, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwritev(BlockDriverState *bs, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags);

/*
 * Copy offloading (QEMU tree names).  Copy [@src_offset, +@bytes) of @src
 * to @dst at @dst_offset without moving the data through memory: the
 * request goes down @src's graph (bdrv_co_copy_range_from at each node),
 * then down @dst's (bdrv_co_copy_range_to), and a protocol driver with
 * both ends copies (the file driver: copy_file_range(2)).  Each node
 * passes its drain gate, I/O limits and tracking; the copy serialises
 * against overlapping requests on the destination, marks its dirty
 * bitmaps and is accounted as a read of @src and a write of @dst.
 *
 * Returns 0, -ENOTSUP when some node on the way cannot offload this range
 * (no support, unaligned, compressed or encrypted data, zero or backing
 * ranges a driver leaves to the caller, nodes in different AioContexts):
 * nothing was written, or what was must be overwritten by the caller's
 * read + write fallback.  -EACCES for a read-only @dst, other -errno on
 * I/O errors.  Both nodes in one AioContext; coroutine in it.  @read_flags
 * and @write_flags are BDRV_REQ_* for the two sides (none is needed).
 */
int coroutine_fn bdrv_co_copy_range(BlockDriverState *src, int64_t src_offset,
                                    BlockDriverState *dst, int64_t dst_offset,
                                    int64_t bytes,
                                    BdrvRequestFlags read_flags,
                                    BdrvRequestFlags write_flags);
/* The two halves, for drivers forwarding a copy to a child: the source
 * side's stages at @src, then its driver; the destination side's stages
 * at @dst, then its driver.  Same returns. */
int coroutine_fn bdrv_co_copy_range_from(BlockDriverState *src,
                                         int64_t src_offset,
                                         BlockDriverState *dst,
                                         int64_t dst_offset, int64_t bytes,
                                         BdrvRequestFlags read_flags,
                                         BdrvRequestFlags write_flags);
int coroutine_fn bdrv_co_copy_range_to(BlockDriverState *src,
                                       int64_t src_offset,
                                       BlockDriverState *dst,
                                       int64_t dst_offset, int64_t bytes,
                                       BdrvRequestFlags read_flags,
                                       BdrvRequestFlags write_flags);
/* bdrv_co_copy_range from the home thread outside a coroutine (polls). */
int bdrv_copy_range(BlockDriverState *src, int64_t src_offset,
                    BlockDriverState *dst, int64_t dst_offset, int64_t bytes);
int coroutine_fn bdrv_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes);

/* ---- drain ----------------------------------------------------------- */

/*
 * Begin a drained section: new requests from users of @bs wait at the
 * gate, and the call returns when no request is in flight on @bs or the
 * nodes below it.  Sections nest.  Home thread, in or out of coroutines.
 */
void bdrv_drained_begin(BlockDriverState *bs);
/* End a drained section; waiting requests continue. */
void bdrv_drained_end(BlockDriverState *bs);
/* Wait for all in-flight requests of @bs (and below) to finish. */
void bdrv_drain(BlockDriverState *bs);
/* bdrv_drain on every node. */
void bdrv_drain_all(void);

/* ---- size, information, media --------------------------------------- */

int bdrv_truncate(BlockDriverState *bs, int64_t offset);
int64_t bdrv_getlength(BlockDriverState *bs);
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);
void bdrv_get_geometry(BlockDriverState *bs, uint64_t *nb_sectors_ptr);
int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);

/*
 * Hints for a device model that shows the node as a disk with a CHS
 * geometry and a BIOS translation (BIOS_ATA_TRANSLATION_*).  The block
 * layer only stores them: they change no request.  0 means not set, the
 * state of a new node.  They stay with the node users hold across
 * bdrv_append.
 */
#define BIOS_ATA_TRANSLATION_AUTO   0
#define BIOS_ATA_TRANSLATION_NONE   1
#define BIOS_ATA_TRANSLATION_LBA    2
#define BIOS_ATA_TRANSLATION_LARGE  3
#define BIOS_ATA_TRANSLATION_RECHS  4

void bdrv_set_geometry_hint(BlockDriverState *bs,
                            int cyls, int heads, int secs);
void bdrv_get_geometry_hint(BlockDriverState *bs,
                            int *pcyls, int *pheads, int *psecs);
void bdrv_set_translation_hint(BlockDriverState *bs, int translation);
int bdrv_get_translation_hint(BlockDriverState *bs);

/*
 * Format-specific facts about an image, for "qemu-img info": today the
 * qcow2 header's features and encryption.  Strings and pointed-to data
 * are owned by the struct (static names apart); free it with
 * bdrv_specific_info_free (g_autoptr works).
 */
typedef struct BdrvBitmapInfo {
    char *name;
    uint64_t granularity;        /* bytes per bit */
    bool in_use;                 /* not stored cleanly: contents lost */
    bool autoload;               /* "auto": enabled, tracks writes */
} BdrvBitmapInfo;

typedef struct BdrvSpecificInfoQcow2 {
    const char *compat;          /* "0.10" (version 2) or "1.1" */
    const char *compression_type;        /* "zlib" or "zstd" */
    int refcount_bits;
    /* version 3 only (compat "1.1"): */
    bool lazy_refcounts;
    bool corrupt;
    bool extended_l2;
    char *data_file;             /* external data file name, or NULL */
    bool data_file_raw;
    int nb_bitmaps;              /* persistent bitmaps (0: none) */
    BdrvBitmapInfo *bitmaps;
    /* encrypted images (either version): */
    const char *encrypt_format;  /* "aes" or "luks"; NULL: not encrypted */
    /* "luks": the header's parameters (crypto/luks.h); NULL if the
     * header cannot be read or decoded */
    struct QCryptoLUKSInfo *luks;
} BdrvSpecificInfoQcow2;

typedef struct BdrvSpecificInfo {
    const char *type;            /* the format name: "qcow2" */
    union {
        BdrvSpecificInfoQcow2 qcow2;
    } u;
} BdrvSpecificInfo;

/*
 * The format-specific information of @bs, or NULL when its format has
 * none (raw) or there is no medium.  Main thread, outside coroutines.
 */
BdrvSpecificInfo *bdrv_get_specific_info(BlockDriverState *bs);
void bdrv_specific_info_free(BdrvSpecificInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BdrvSpecificInfo, bdrv_specific_info_free)
int bdrv_has_zero_init(BlockDriverState *bs);
int bdrv_is_read_only(BlockDriverState *bs);
int bdrv_is_sg(BlockDriverState *bs);
int bdrv_enable_write_cache(BlockDriverState *bs);
int bdrv_is_encrypted(BlockDriverState *bs);
int bdrv_key_required(BlockDriverState *bs);
/* Give the encryption key; 0, -EINVAL if wrong, -ENOMEDIUM. */
int bdrv_set_key(BlockDriverState *bs, const char *key);
int bdrv_make_empty(BlockDriverState *bs);
int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt);
void bdrv_get_backing_filename(BlockDriverState *bs, char *filename,
                               int filename_size);
/*
 * The path the backing file is opened from: its name taken relative to
 * the directory of @bs's image ("dir/img" with "base": "dir/base"), as
 * QEMU's full-backing-filename.  g_free it; NULL without a backing file.
 */
char *bdrv_get_full_backing_filename(BlockDriverState *bs);
/*
 * @name as seen from the image file @image: a relative name is taken
 * relative to @image's directory; an absolute one, a protocol name
 * ("nbd:...") or any name when @image has no directory part is kept.
 * g_free it.
 */
char *bdrv_path_combine(const char *image, const char *name);
/* Check and optionally repair; 0 or -errno (-ENOTSUP: format can't). */
int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, BdrvCheckMode fix);
/*
 * Change format options of the open image @bs in place: @opts is a copy
 * of the driver's create_options with the options to change assigned.
 * Main thread, outside coroutines; @bs open read-write.  Returns 0, or
 * -errno with @errp set; -ENOTSUP when the format cannot amend at all
 * ("Format driver 'raw' does not support option amendment").
 */
int bdrv_amend_options(BlockDriverState *bs, QEMUOptionParameter *opts,
                       Error **errp);
void bdrv_invalidate_cache(BlockDriverState *bs);
void bdrv_invalidate_cache_all(void);
int bdrv_ioctl(BlockDriverState *bs, unsigned long req, void *buf);

bool bdrv_is_inserted(BlockDriverState *bs);
int bdrv_media_changed(BlockDriverState *bs);
void bdrv_eject(BlockDriverState *bs, bool eject_flag);
void bdrv_lock_medium(BlockDriverState *bs, bool locked);
bool bdrv_is_removable(BlockDriverState *bs);
/* Attach a device model; -EBUSY if one is attached. */
int bdrv_attach_dev(BlockDriverState *bs, void *dev);
void bdrv_detach_dev(BlockDriverState *bs, void *dev);
void *bdrv_get_attached_dev(BlockDriverState *bs);
void bdrv_set_dev_ops(BlockDriverState *bs, const BlockDevOps *ops,
                      void *opaque);

/* Set a copy-on-read user; the count is a reference count. */
void bdrv_enable_copy_on_read(BlockDriverState *bs);
void bdrv_disable_copy_on_read(BlockDriverState *bs);

void bdrv_set_in_use(BlockDriverState *bs, int in_use);
int bdrv_in_use(BlockDriverState *bs);

/* ---- snapshots and VM state (forwarded to the format driver) -------- */

int bdrv_can_snapshot(BlockDriverState *bs);
int bdrv_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info);
/* Revert to a snapshot; -EBUSY while @bs has dirty bitmaps (as QEMU). */
int bdrv_snapshot_goto(BlockDriverState *bs, const char *snapshot_id);
int bdrv_snapshot_delete(BlockDriverState *bs, const char *snapshot_id);
/* Number of snapshots, *@psn_info a g_malloc'd array; or -errno. */
int bdrv_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info);
int bdrv_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_name);
int bdrv_save_vmstate(BlockDriverState *bs, const uint8_t *buf,
                      int64_t pos, int size);
int bdrv_load_vmstate(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                      int size);

/* ---- error policy ---------------------------------------------------- */

/*
 * What a failed request does on this node: report (return the error),
 * ignore (complete as if it succeeded), stop on ENOSPC only, or stop on
 * any error.  Reads follow @on_read_error; writes, zero writes, flushes
 * and discards @on_write_error.  A stopped request sets the I/O status and
 * waits until bdrv_iostatus_reset() (or bdrv_resume_stopped()) retries it.
 */
void bdrv_set_on_error(BlockDriverState *bs, BlockErrorAction on_read_error,
                       BlockErrorAction on_write_error);
BlockErrorAction bdrv_get_on_error(BlockDriverState *bs, bool is_read);
/* Parse "report", "ignore", "enospc", "stop"; -1 if unknown. */
int bdrv_parse_error_action(const char *name, bool is_read);
void bdrv_iostatus_enable(BlockDriverState *bs);
bool bdrv_iostatus_is_enabled(const BlockDriverState *bs);
BlockDeviceIoStatus bdrv_iostatus(const BlockDriverState *bs);
/* Back to OK; stopped requests are retried. */
void bdrv_iostatus_reset(BlockDriverState *bs);
/* Retry stopped requests without touching the status. */
void bdrv_resume_stopped(BlockDriverState *bs);
/* Number of requests currently stopped on @bs. */
int bdrv_stopped_requests(BlockDriverState *bs);

/* ---- dirty bitmaps --------------------------------------------------- */

/*
 * A named record of which parts of the node were written.  Granularity is
 * in bytes (a power of two, >= 512).  Bitmaps start enabled and empty;
 * every write, zero write and discard that reached the driver, failed or
 * not, marks the bytes it touched in every enabled bitmap.  Home thread
 * of the node.
 */
BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp);
void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap);
BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name);
/* Bitmaps of @bs in creation order: @prev NULL gives the first. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *prev);
const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap);
uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap);
int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bitmap);
void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap);
void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap);
/* OR @src into @dest (same granularity and size); false with @errp. */
bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest,
                             const BdrvDirtyBitmap *src, Error **errp);
/* Is the byte at @offset dirty? */
bool bdrv_dirty_bitmap_get(BdrvDirtyBitmap *bitmap, int64_t offset);
void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                           int64_t bytes);
/* Clean the chunks lying wholly inside the range (the short last chunk
 * counts as whole when the range reaches the end of the bitmap). */
void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                             int64_t bytes);
/* Dirty bytes (granularity units times granularity; a short last chunk
 * counts only its bytes inside the node). */
int64_t bdrv_get_dirty_count(BdrvDirtyBitmap *bitmap);
/* Iterate dirty chunks from @offset: each next returns a byte offset of
 * a dirty chunk, in increasing order, or -1 at the end.  The bitmap must
 * not be released or resized while an iterator on it exists. */
BdrvDirtyBitmapIter *bdrv_dirty_iter_new(BdrvDirtyBitmap *bitmap,
                                         int64_t offset);
int64_t bdrv_dirty_iter_next(BdrvDirtyBitmapIter *iter);
void bdrv_dirty_iter_free(BdrvDirtyBitmapIter *iter);
/* The HBitmap under @bitmap (one bit per granularity chunk). */
HBitmap *bdrv_dirty_bitmap_hbitmap(BdrvDirtyBitmap *bitmap);

#endif /* BLOCK_BLOCK_H */
