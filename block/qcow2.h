/*
 * qcow2: private declarations shared by the driver's files.
 *
 *   qcow2.c           probe, open/close, header and header extensions,
 *                     feature bits, corruption handling, info, truncate
 *   qcow2-create.c    image creation and preallocation
 *   qcow2-io.c        the data path: read, write (with copy-on-write of
 *                     partial clusters), zero writes, discard, status
 *   qcow2-copy-range.c  copy offloading from and into data clusters
 *   qcow2-cluster.c   guest-to-host mapping: L1/L2 lookup, allocation of
 *                     data clusters, in-flight allocation tracking
 *   qcow2-refcount.c  refcount table and blocks, allocation from free
 *                     space, freeing, the metadata overlap check
 *   qcow2-cache.c     the write-back caches of L2 slices and refcount
 *                     blocks, with flush ordering between them
 *   qcow2-snapshot.c  internal snapshots: the snapshot table, create,
 *                     goto, delete, list, load_tmp
 *   qcow2-vmstate.c   VM state stored past the end of the guest disk
 *   qcow2-compress.c  compressed clusters: descriptors, reads (with a
 *                     one-cluster cache), compressed writes, packing
 *   qcow2-threads.c   codec choice and running codecs on the thread pool
 *                     (codecs: qcow2-codec.h)
 *   qcow2-subcluster.c extended L2 entries: subcluster types, runs and
 *                     the allocation/zero bitmap arithmetic
 *   qcow2-bitmap.c    persistent dirty bitmaps: loaded on open, stored
 *                     on close
 *   qcow2-info.c      what tools query: block status with host offsets,
 *                     format-specific information
 *
 * Extensions planned on top (snapshots, compression, check/repair,
 * encryption, persistent bitmaps) get files of their own; the hooks they
 * need are marked "later:" below.  Byte order: everything on disk is
 * big-endian; every table held in memory here (L1, refcount table) is in
 * host order, while cached L2 slices and refcount blocks stay big-endian
 * (they are written back as they are).
 *
 * Locking: all requests of a node run as coroutines in its AioContext.
 * s->lock (a CoMutex) protects every field marked "lock" and the caches;
 * it is never held across guest data I/O, only across metadata I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include "block/block_int.h"
#include "qemu/coroutine.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include "qemu/host-utils.h"

/* ---- on-disk constants ------------------------------------------------ */

#define QCOW_MAGIC              0x514649fbU   /* "QFI\xfb" */

#define QCOW_MIN_CLUSTER_BITS   9
#define QCOW_MAX_CLUSTER_BITS   21           /* 2 MiB, as QEMU */
#define QCOW_DEFAULT_CLUSTER_SIZE 65536

/* Implementation limits (same as QEMU's, so images move both ways). */
#define QCOW_MAX_L1_BYTES       (32 * 1024 * 1024)
#define QCOW_MAX_REFTABLE_BYTES (8 * 1024 * 1024)
#define QCOW_MAX_BACKING_NAME   1023
#define QCOW_MAX_SNAPSHOTS      65536
#define QCOW_MAX_HOST_OFFSET    (1ULL << 56)

#define QCOW_OFLAG_COPIED       (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED   (1ULL << 62)
#define QCOW_OFLAG_ZERO         (1ULL << 0)

/* Extended L2 entries: the second 64 bits of an entry (host order). */
#define QCOW_MAX_SUBCLUSTERS    32
#define QCOW_MIN_EXTL2_CLUSTER_BITS 14      /* 16 KiB, as QEMU */
#define QCOW_L2_BITMAP_ALL_ALLOC    0x00000000ffffffffULL
#define QCOW_L2_BITMAP_ALL_ZEROES   0xffffffff00000000ULL
/* Bits of subclusters [first, end) in the allocation / zero halves. */
#define QCOW_OFLAG_SUB_ALLOC_RANGE(first, end) \
    ((((end) >= 32 ? 0ULL : 1ULL << (end)) - (1ULL << (first))) & \
     QCOW_L2_BITMAP_ALL_ALLOC)
#define QCOW_OFLAG_SUB_ZERO_RANGE(first, end) \
    (QCOW_OFLAG_SUB_ALLOC_RANGE(first, end) << 32)

#define L1E_OFFSET_MASK         0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK       0x7f000000000001ffULL
#define L2E_OFFSET_MASK         0x00fffffffffffe00ULL
#define L2E_STD_RESERVED_MASK   0x3f000000000001feULL
#define REFT_OFFSET_MASK        0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK      0x1ffULL

/* incompatible_features */
#define QCOW2_INCOMPAT_DIRTY        (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ULL << 4)
#define QCOW2_INCOMPAT_SUPPORTED    (QCOW2_INCOMPAT_DIRTY | \
                                     QCOW2_INCOMPAT_CORRUPT | \
                                     QCOW2_INCOMPAT_DATA_FILE | \
                                     QCOW2_INCOMPAT_COMPRESSION | \
                                     QCOW2_INCOMPAT_EXTL2)
/* compatible_features */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
/* autoclear_features */
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ULL << 1)
#define QCOW2_AUTOCLEAR_SUPPORTED   (QCOW2_AUTOCLEAR_BITMAPS | \
                                     QCOW2_AUTOCLEAR_DATA_RAW)

/* header extension types */
#define QCOW2_EXT_END               0x00000000U
#define QCOW2_EXT_BACKING_FORMAT    0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE     0x6803f857U
#define QCOW2_EXT_BITMAPS           0x23852875U
#define QCOW2_EXT_CRYPTO_HEADER     0x0537be77U
#define QCOW2_EXT_DATA_FILE         0x44415441U

#define QCOW2_COMPRESSION_ZLIB      0
#define QCOW2_COMPRESSION_ZSTD      1

#define QCOW2_CRYPT_NONE            0
#define QCOW2_CRYPT_AES             1
#define QCOW2_CRYPT_LUKS            2

/*
 * The fixed header, in file order (big-endian on disk).  Version 2 images
 * end after snapshots_offset (72 bytes); version 3 ones carry at least up
 * to header_length (104) and we write 112, with compression_type.  Every
 * field is naturally aligned, so no packing attribute is needed.
 */
typedef struct QCowHeader {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    /* version 3 */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    uint8_t padding[7];
} QCowHeader;

#define QCOW2_V2_HEADER_SIZE        72
#define QCOW2_V3_MIN_HEADER_SIZE    104
#define QCOW2_V3_HEADER_SIZE        ((int)sizeof(QCowHeader))

/* One entry of the feature name table extension. */
typedef struct Qcow2Feature {
    uint8_t type;               /* 0 incompatible, 1 compatible, 2 autoclear */
    uint8_t bit;
    char name[46];
} Qcow2Feature;

enum {
    QCOW2_FEAT_TYPE_INCOMPATIBLE = 0,
    QCOW2_FEAT_TYPE_COMPATIBLE = 1,
    QCOW2_FEAT_TYPE_AUTOCLEAR = 2,
};

/* A header extension we do not understand, kept to be written back. */
typedef struct Qcow2UnknownExt {
    uint32_t magic;
    uint32_t len;
    QLIST_ENTRY(Qcow2UnknownExt) next;
    uint8_t data[];
} Qcow2UnknownExt;

/* ---- mapping ---------------------------------------------------------- */

typedef enum QCow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,   /* read from backing, else zeroes */
    QCOW2_CLUSTER_ZERO_PLAIN,    /* reads as zeroes, no host cluster */
    QCOW2_CLUSTER_ZERO_ALLOC,    /* reads as zeroes, host cluster kept */
    QCOW2_CLUSTER_NORMAL,        /* data at a host cluster */
    QCOW2_CLUSTER_COMPRESSED,    /* see qcow2-compress.c */
} QCow2ClusterType;

/* A region to copy from the old contents into a new cluster. */
typedef struct Qcow2COWRegion {
    uint64_t offset;             /* from the start of the first cluster */
    uint64_t nb_bytes;
} Qcow2COWRegion;

/*
 * An allocation in flight: clusters [guest_offset, +nb_clusters) get new
 * host clusters at alloc_offset (or, @in_place, keep the one they have
 * and only gain allocated subclusters: extended L2 entries).  Between qcow2_alloc_host_offset and
 * qcow2_alloc_cluster_link_l2 (or _abort) it sits in s->cluster_allocs,
 * and any other write touching those guest clusters waits on
 * dependent_requests: data for one guest cluster is never written to
 * two new host clusters at once.
 */
typedef struct QCowL2Meta {
    uint64_t guest_offset;       /* cluster aligned */
    uint64_t alloc_offset;       /* host offset of the first new cluster */
    int nb_clusters;
    Qcow2COWRegion cow_start;    /* head to preserve, before the data */
    Qcow2COWRegion cow_end;      /* tail to preserve, after the data */
    bool host_is_zero;           /* the new clusters lie past the file's
                                  * end: they read as zeroes unwritten */
    /*
     * Extended L2 only: the bytes written are [cow_start.offset,
     * cow_end.offset + cow_end.nb_bytes), whole subclusters, not
     * necessarily whole clusters.
     */
    bool in_place;               /* alloc_offset is the cluster's own */
    bool prealloc;               /* no data written: leave the bitmap */
    CoQueue dependent_requests;
    QLIST_ENTRY(QCowL2Meta) next_in_flight;
} QCowL2Meta;

/* ---- caches ----------------------------------------------------------- */

typedef struct Qcow2Cache Qcow2Cache;

/* Which metadata a write is, so the overlap check skips its own kind. */
typedef enum {
    QCOW2_OL_MAIN_HEADER   = 1 << 0,
    QCOW2_OL_ACTIVE_L1     = 1 << 1,
    QCOW2_OL_ACTIVE_L2     = 1 << 2,
    QCOW2_OL_REFCOUNT_TABLE = 1 << 3,
    QCOW2_OL_REFCOUNT_BLOCK = 1 << 4,
    QCOW2_OL_SNAPSHOT_TABLE = 1 << 5,
    QCOW2_OL_INACTIVE_L1   = 1 << 6,     /* L1 tables of snapshots */
    QCOW2_OL_BITMAP_DIRECTORY = 1 << 7,
    QCOW2_OL_BITMAP_TABLE  = 1 << 8,     /* persistent bitmaps' tables */
    QCOW2_OL_ALL           = 0x1ff,
    QCOW2_OL_NONE          = 0,      /* a data write: check everything */
} Qcow2MetadataOverlap;

/* ---- the driver state ------------------------------------------------- */

typedef struct BDRVQcow2State {
    /* Immutable after open (changed only by create/open/close). */
    int qcow_version;            /* 2 or 3 */
    int cluster_bits;
    int cluster_size;
    int l2_bits;                 /* log2 of entries per L2 table */
    int l2_size;                 /* entries per L2 table */
    int l2_slice_size;           /* entries per cached L2 slice */
    int l2_entry_size;           /* 8; 16 with extended L2 */
    int subclusters_per_cluster; /* 1; 32 with extended L2 */
    int subcluster_bits;         /* log2 of bytes per subcluster */
    int subcluster_size;
    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    int refcount_block_bits;     /* log2 of entries per refcount block */
    int refcount_block_size;
    int csize_shift;             /* compressed descriptor layout */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;
    uint8_t compression_type;
    int crypt_method_header;
    bool use_lazy_refcounts;     /* compat bit set and opened writable */
    bool writable;
    /*
     * Where guest data lives: bs->file, or the external data file (the
     * second child, opened and closed with the node).  With an external
     * file guest cluster N sits at host offset N and is not refcounted.
     */
    BlockDriverState *data_file;
    char *data_file_name;        /* NULL: no external data file */

    CoMutex lock;                /* protects everything below */

    uint64_t size;               /* virtual size (lock) */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t header_length;      /* as read (>= 104 in v3) */
    uint8_t *unknown_header_fields;     /* bytes past our v3 header */
    uint32_t unknown_header_fields_size;
    QLIST_HEAD(, Qcow2UnknownExt) unknown_exts;
    bool corrupt_signalled;      /* message logged once */
    int64_t file_length_hint;    /* image file length last seen */

    /* active L1 table, host order */
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t *l1_table;
    int l1_vm_state_index;       /* first L1 index past the guest disk */

    /* refcount table, host order */
    uint64_t refcount_table_offset;
    uint32_t refcount_table_size;        /* entries */
    uint32_t refcount_table_used;        /* entries past it are all zero;
                                          * see qcow2_refcount_table_note() */
    uint64_t *refcount_table;
    uint64_t free_cluster_index;         /* no free cluster below it */

    Qcow2Cache *l2_table_cache;
    Qcow2Cache *refcount_block_cache;
    QEMUTimer *cache_clean_timer;
    uint64_t cache_clean_interval;       /* seconds, 0 = off */

    QLIST_HEAD(, QCowL2Meta) cluster_allocs;
    /*
     * End of the highest failed write of guest data to new clusters: a
     * failed write may have put bytes past what bs->file's length says,
     * so clusters below it are not known to read as zeroes
     * (QCowL2Meta.host_is_zero).
     */
    uint64_t failed_write_end;

    /* compressed clusters (qcow2-compress.c) */
    uint64_t free_byte_offset;   /* lock: where the next compressed cluster
                                  * may be packed; 0: in a new cluster */
    struct Qcow2DecompressCache *decompress_cache; /* home context only */

    /* persistent dirty bitmaps (qcow2-bitmap.c): the bitmaps extension
     * and the directory entries read at open (Qcow2Bitmap, private) */
    uint32_t nb_bitmaps;
    uint64_t bitmap_directory_size;
    uint64_t bitmap_directory_offset;
    GPtrArray *bitmaps;

    /* block status (qcow2-info.c), lock: QEMU's guess whether the image
     * was made with preallocation=metadata, made once */
    bool metadata_prealloc_checked;
    bool metadata_prealloc;

    /* snapshots (qcow2-snapshot.c): the table as on disk, in memory */
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;     /* bytes of the table on disk */
    struct QCowSnapshot *snapshots;      /* nb_snapshots entries */

    /* encryption (qcow2-crypto.c); NULL when crypt_method_header is 0 */
    struct Qcow2Crypto *crypto;
} BDRVQcow2State;

/* ---- small helpers ---------------------------------------------------- */

/* Unaligned big-endian loads and stores. */
static inline uint64_t be64_load(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

static inline uint32_t be32_load(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static inline void be64_store(void *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void be32_store(void *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint64_t offset_into_cluster(BDRVQcow2State *s, uint64_t off)
{
    return off & (s->cluster_size - 1);
}

static inline uint64_t start_of_cluster(BDRVQcow2State *s, uint64_t off)
{
    return off & ~((uint64_t)s->cluster_size - 1);
}

static inline int64_t size_to_clusters(BDRVQcow2State *s, uint64_t size)
{
    return (size + (s->cluster_size - 1)) >> s->cluster_bits;
}

static inline int offset_to_l1_index(BDRVQcow2State *s, uint64_t off)
{
    return off >> (s->l2_bits + s->cluster_bits);
}

static inline int offset_to_l2_index(BDRVQcow2State *s, uint64_t off)
{
    return (off >> s->cluster_bits) & (s->l2_size - 1);
}

static inline int offset_to_l2_slice_index(BDRVQcow2State *s, uint64_t off)
{
    return (off >> s->cluster_bits) & (s->l2_slice_size - 1);
}

/* Number of L1 entries a disk of @size bytes needs. */
static inline uint64_t size_to_l1(BDRVQcow2State *s, uint64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;

    return (size + (1ULL << shift) - 1) >> shift;
}

/* Entry @idx of a (big-endian) cached L2 slice, in host order. */
static inline uint64_t l2_entry_get(BDRVQcow2State *s, uint64_t *slice,
                                    int idx)
{
    return GUINT64_FROM_BE(slice[idx * (s->l2_entry_size / 8)]);
}

static inline void l2_entry_set(BDRVQcow2State *s, uint64_t *slice, int idx,
                                uint64_t entry)
{
    slice[idx * (s->l2_entry_size / 8)] = GUINT64_TO_BE(entry);
}

/* What an L2 entry describes.  Reserved bits are checked by the caller. */
static inline QCow2ClusterType qcow2_get_cluster_type(uint64_t l2_entry)
{
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if (l2_entry & QCOW_OFLAG_ZERO) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
                                            : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL
                                        : QCOW2_CLUSTER_UNALLOCATED;
}

static inline bool has_data_file(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->data_file_name != NULL;
}

static inline bool data_file_is_raw(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return has_data_file(bs) &&
           (s->autoclear_features & QCOW2_AUTOCLEAR_DATA_RAW);
}

static inline bool has_subclusters(BDRVQcow2State *s)
{
    return s->subclusters_per_cluster > 1;
}

/* Subcluster bitmap of entry @idx (0 without extended L2). */
static inline uint64_t l2_bitmap_get(BDRVQcow2State *s, uint64_t *slice,
                                     int idx)
{
    return has_subclusters(s) ? GUINT64_FROM_BE(slice[idx * 2 + 1]) : 0;
}

static inline void l2_bitmap_set(BDRVQcow2State *s, uint64_t *slice, int idx,
                                 uint64_t bitmap)
{
    assert(has_subclusters(s));
    slice[idx * 2 + 1] = GUINT64_TO_BE(bitmap);
}

/* Index of the subcluster holding byte @in_cluster of its cluster. */
static inline int offset_to_sc_index(BDRVQcow2State *s, uint64_t in_cluster)
{
    return in_cluster >> s->subcluster_bits;
}

/*
 * As qcow2_get_cluster_type, for an entry of the node @bs: with extended
 * L2 entries the zero flag is unused (the bitmap says which subclusters
 * read as zeroes, see qcow2_get_subcluster_type), so this only tells
 * whether the cluster has a host cluster (NORMAL) or not; with an
 * external data file an entry with the COPIED flag and offset 0 maps
 * guest cluster 0 to host offset 0.
 */
static inline QCow2ClusterType qcow2_entry_type(BlockDriverState *bs,
                                                uint64_t l2_entry)
{
    BDRVQcow2State *s = bs->opaque;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if (has_data_file(bs) && (l2_entry & QCOW_OFLAG_COPIED)) {
        return has_subclusters(s) || !(l2_entry & QCOW_OFLAG_ZERO)
               ? QCOW2_CLUSTER_NORMAL : QCOW2_CLUSTER_ZERO_ALLOC;
    }
    if (has_subclusters(s)) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL
                                            : QCOW2_CLUSTER_UNALLOCATED;
    }
    return qcow2_get_cluster_type(l2_entry);
}

/* ---- qcow2.c ---------------------------------------------------------- */

/*
 * Rewrite the whole first cluster (header, extensions, backing file name)
 * from the state.  Lock held or no request in flight.  0 or -errno.
 */
int qcow2_update_header(BlockDriverState *bs);

/* Set (before the first allocating write with lazy refcounts) or clear
 * (after flushing everything) the dirty bit.  0 or -errno. */
int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs);
int qcow2_mark_clean(BlockDriverState *bs);

/*
 * The image contradicts itself at [@offset, +@size) (-1: unknown): log
 * @fmt once, and when @fatal and writable, set the corrupt bit so that no
 * one writes to it again.  Callers then fail the request with -EIO.
 */
void qcow2_signal_corruption(BlockDriverState *bs, bool fatal,
                             int64_t offset, int64_t size,
                             const char *fmt, ...) QEMU_PRINTF(5, 6);

/* Run @entry(@opaque) in a coroutine (directly if already in one). */
int qcow2_run_co(BlockDriverState *bs, int coroutine_fn (*fn)(void *),
                 void *opaque);

/* ---- qcow2-cache.c ---------------------------------------------------- */

/*
 * A cache of @num_tables tables of @table_size bytes read from the file.
 * @ol says what metadata kind the tables are (for the overlap check).
 */
Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               int table_size, Qcow2MetadataOverlap ol);
/* Free the cache; dirty entries are lost (flush first). */
void qcow2_cache_destroy(Qcow2Cache *c);

/* Pin the table at @offset (loading it if needed) into *@table. */
int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table);
/* As qcow2_cache_get for a table being created: nothing is read. */
int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table);
/* Unpin; *@table becomes NULL. */
void qcow2_cache_put(Qcow2Cache *c, void **table);
/* The pinned @table changed and must be written back. */
void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table);
/* Forget the table at @offset (its cluster was freed), dirty or not. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);

/*
 * Dirty tables of @c must not reach the file before those of
 * @dependency: the next write-back of @c flushes @dependency first.
 */
int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency);
/* Write back every dirty table (honouring dependencies), no file flush. */
int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
/* qcow2_cache_write, then flush the file. */
int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
/* Write back and drop every table (reopen, make_empty). */
int coroutine_fn qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c);
/* Drop clean, unpinned tables not used since the previous call. */
void qcow2_cache_clean_unused(Qcow2Cache *c);
/* Sizes in bytes of the tables the cache holds. */
int qcow2_cache_table_size(Qcow2Cache *c);

/* ---- qcow2-refcount.c ------------------------------------------------- */

/* Load the refcount table (open; outside or inside a coroutine). */
int qcow2_refcount_init(BlockDriverState *bs);
void qcow2_refcount_close(BlockDriverState *bs);

/* Refcount of the cluster with index @cluster_index. Lock held. */
int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount);

/*
 * Allocate @size bytes of contiguous clusters (refcount 1).  Returns the
 * host offset or -errno.  Lock held.
 */
int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size);

/*
 * Decrease the refcount of the clusters in [@offset, +@size); clusters
 * that become free are discarded in the file when @pass_discard.  Errors
 * are logged: at worst clusters leak.  Lock held.
 */
void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                      uint64_t size, bool pass_discard);
/* Free whatever host clusters the L2 entry @l2_entry owns. */
void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         bool pass_discard);
/* Add one user to the clusters in [@offset, +@size): a snapshot, or a
 * compressed cluster packed into them.  Lock held.  0 or -errno. */
int coroutine_fn qcow2_ref_clusters(BlockDriverState *bs, uint64_t offset,
                                    uint64_t size);

/* Recompute refcount_table_used after changing the refcount table (the
 * overlap check only looks at entries below it). */
void qcow2_refcount_table_note(BDRVQcow2State *s);

/* Do [@a, +@alen) and [@b, +@blen) share a byte? */
static inline bool qcow2_ranges_overlap(int64_t a, int64_t alen, int64_t b,
                                        int64_t blen)
{
    return a < b + blen && b < a + alen;
}

/*
 * The metadata, of the kinds not in @ign, that [@offset, +@size) shares
 * a byte with, named for a message ("the image header", "the refcount
 * table"...), or NULL.  Looks at the tables as loaded so far: while
 * opening, leave out (in @ign) the kinds not yet read.
 */
const char *qcow2_metadata_overlap(BDRVQcow2State *s,
                                   Qcow2MetadataOverlap ign,
                                   int64_t offset, int64_t size);

/*
 * Check that writing [@offset, +@size) does not hit metadata other than
 * the kinds in @ign.  On a hit, the image is marked corrupt and -EIO
 * returned.  Lock held (reads the L1 and refcount tables).
 */
int qcow2_pre_write_overlap_check(BlockDriverState *bs,
                                  Qcow2MetadataOverlap ign,
                                  int64_t offset, int64_t size);

/* For check/repair: store @value as entry @idx of refcount block @block
 * (a buffer of one cluster, any refcount width). */
void qcow2_refblock_set(BDRVQcow2State *s, void *block, uint64_t idx,
                        uint64_t value);
/* For check/repair: add @addend to (@decrease: subtract it from) the
 * refcount of cluster @cluster_index, creating its refcount block if
 * needed.  Lock held.  0 or -errno. */
int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               uint64_t cluster_index,
                                               uint64_t addend,
                                               bool decrease);

/* ---- qcow2-cluster.c -------------------------------------------------- */

/*
 * Look up guest @offset.  On return *@bytes (at most its input, at least
 * 1) is the length of the run of clusters from @offset of the same type
 * and, for NORMAL, contiguous in the file; *@host_offset is the host
 * offset of @offset (0 unless NORMAL or ZERO_ALLOC; for COMPRESSED the
 * raw L2 entry).  Lock held.  0 or -errno.
 */
int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       uint64_t *bytes, uint64_t *host_offset,
                                       QCow2ClusterType *type);

/*
 * Find or allocate host space for writing [@offset, +*@bytes).  Either
 * the clusters are already writable in place (*@m NULL), or new clusters
 * were allocated and *@m describes them (it must then be finished with
 * qcow2_alloc_cluster_link_l2 or _abort).  *@bytes may shrink.  May wait
 * (dropping the lock) for overlapping allocations.  Lock held.
 */
int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, uint64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m);
/* Point the L2 entries at the new clusters, free the old ones. Lock. */
int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m);
/*
 * Set the L2 entry of guest cluster @offset to @entry (a compressed
 * descriptor whose space is already referenced; with extended L2 entries
 * its bitmap becomes 0) and free what the entry held.  The L2 slice reaches the disk after the refcount blocks.  The
 * caller keeps other writers off the cluster.  Lock held.
 */
int coroutine_fn qcow2_set_l2_entry(BlockDriverState *bs, uint64_t offset,
                                    uint64_t entry);
/* Give the new clusters back after a failed write; they may hold part
 * of its data now (s->failed_write_end). Lock held. */
void coroutine_fn qcow2_alloc_cluster_abort(BlockDriverState *bs,
                                            QCowL2Meta *m);
/* Leave s->cluster_allocs, wake waiters and free @m. Lock held. */
void qcow2_alloc_meta_done(BlockDriverState *bs, QCowL2Meta *m);
/*
 * End an allocation whose data write returned @ret: link the L2 entries
 * when it succeeded, give the clusters back when it (or the link)
 * failed, then qcow2_alloc_meta_done.  Returns the request's result.
 * Lock held.
 */
int coroutine_fn qcow2_alloc_cluster_finish(BlockDriverState *bs,
                                            QCowL2Meta *m, int ret);

/*
 * Make whole clusters in [@offset, +@bytes) unallocated (@full) or, when
 * a backing file would show through, zero clusters (v3).  With an
 * external data file its clusters are not discarded.  Lock held.
 */
int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, bool full);
/* Make whole clusters read as zeroes (v3 only); with extended L2 entries
 * the range may be whole subclusters (their clusters keep their host
 * cluster), and compressed clusters cut partly give -ENOTSUP. Lock held. */
int coroutine_fn qcow2_cluster_zeroize(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes);
/* Grow the L1 table to at least @min_size entries. Lock held. */
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs,
                                     uint64_t min_size);
/* Is any cluster at or after guest @offset allocated (truncate)? */
int coroutine_fn qcow2_any_allocated_after(BlockDriverState *bs,
                                           uint64_t offset);
/* Preallocate metadata (and host clusters) for [@offset, +@bytes). */
int coroutine_fn qcow2_preallocate_range(BlockDriverState *bs,
                                         uint64_t offset, uint64_t bytes,
                                         uint64_t *host_end);

/* ---- qcow2-subcluster.c (extended L2 entries only) -------------------- */

/*
 * Type of subcluster @sc of the cluster (@entry, @bitmap), both in host
 * order; @offset (guest) is for the message.  0, or -EIO after signalling
 * corruption when the bitmap contradicts the entry.
 */
int qcow2_get_subcluster_type(BlockDriverState *bs, uint64_t offset,
                              uint64_t entry, uint64_t bitmap, int sc,
                              QCow2ClusterType *type);
/*
 * Length (>= 1, <= @max) of the run of subclusters from subcluster @sc of
 * entry @idx of @slice that have @type (the first one's) and, for NORMAL,
 * are contiguous in the file (and, @for_write, in clusters with refcount
 * one).  The caller keeps @max inside the slice.  Lock held.
 */
int64_t qcow2_sc_count_run(BlockDriverState *bs, uint64_t *slice, int idx,
                           int sc, int64_t max, bool for_write,
                           QCow2ClusterType type);
/*
 * Set the copy-on-write regions of @m (nb_clusters and in_place set) for
 * data at [@data_start, @data_end), bytes from the start of its first
 * cluster, whose first and last clusters are described by the given
 * entries and bitmaps: only whole subclusters are completed.
 */
void qcow2_sc_set_cow(BDRVQcow2State *s, QCowL2Meta *m,
                      uint64_t first_entry, uint64_t first_bitmap,
                      uint64_t last_entry, uint64_t last_bitmap,
                      uint64_t data_start, uint64_t data_end);
/* @bitmap after bytes [@from, @to) of its cluster were written / zeroed
 * (for zeroing, subcluster aligned). */
uint64_t qcow2_sc_bitmap_after_write(BDRVQcow2State *s, uint64_t bitmap,
                                     uint64_t from, uint64_t to);
uint64_t qcow2_sc_bitmap_after_zero(BDRVQcow2State *s, uint64_t bitmap,
                                    uint64_t from, uint64_t to);

/* ---- qcow2-bitmap.c --------------------------------------------------- */

/* Take the 24 bytes of the bitmaps extension (open). 0 or -EINVAL. */
int qcow2_read_bitmaps_ext(BlockDriverState *bs, const uint8_t *data,
                           uint32_t len);
/* The 24 bytes of the extension, from the state (header writes). */
void qcow2_bitmaps_ext_data(BDRVQcow2State *s, uint8_t *data);
/*
 * Open, after the refcounts and the node size are known: make a named
 * node dirty bitmap of every usable bitmap of the image and, writable,
 * mark them in use in the image.  Outside coroutines.  0 or -errno (with
 * a message in bdrv_driver_errp()).
 */
int qcow2_load_bitmaps(BlockDriverState *bs);
/* Release the node bitmaps qcow2_load_bitmaps made (failed open). */
void qcow2_release_loaded_bitmaps(BlockDriverState *bs);
/*
 * Close of a writable v3 image: store every named node bitmap (enabled
 * ones with the "auto" flag), drop image bitmaps the node no longer
 * has, keep those we could not load.  No request in flight; outside
 * coroutines.  0 or -errno (logged).
 */
int qcow2_store_bitmaps(BlockDriverState *bs);
/* Free the directory entries of the state. */
void qcow2_free_bitmaps(BDRVQcow2State *s);
/*
 * The overlap check's part: "the bitmap directory" or "a bitmap table"
 * when [@offset, +@size) hits the one the header extension names (and
 * the kind is not in @ign), else NULL.  Lock held.
 */
const char *qcow2_bitmaps_overlap(BDRVQcow2State *s,
                                  Qcow2MetadataOverlap ign,
                                  int64_t offset, int64_t size);
/*
 * For check: call @fn for every host range the image's bitmaps use, as
 * the header extension names them: the directory, each bitmap table and
 * each data cluster.  Table entries with reserved bits set are not
 * followed; their number is added to *@bad.  Lock held.  0 or -errno (a
 * table that could not be read).
 */
int coroutine_fn qcow2_bitmaps_walk(BlockDriverState *bs,
                                    void (*fn)(void *opaque, uint64_t off,
                                               uint64_t size),
                                    void *opaque, int *bad);

/*
 * The image's bitmap directory as qemu-img info shows it: a new array of
 * every bitmap (flags as on disk when read-only) into *@list.  Returns
 * the count.  Main thread.
 */
int qcow2_get_bitmap_info(BlockDriverState *bs, BdrvBitmapInfo **list);

/* ---- qcow2-info.c ----------------------------------------------------- */

/* bdrv_co_block_status: cluster types as DATA/ZERO/COMPRESSED, host
 * offsets in the data file (not for encrypted images). */
int coroutine_fn qcow2_co_block_status(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, int64_t *pnum,
                                       int64_t *map, BlockDriverState **file);
/* bdrv_get_specific_info: the header's features for qemu-img info. */
BdrvSpecificInfo *qcow2_get_specific_info(BlockDriverState *bs);

/* ---- qcow2-io.c ------------------------------------------------------- */

int coroutine_fn qcow2_co_readv(BlockDriverState *bs, int64_t sector_num,
                                int nb_sectors, QEMUIOVector *qiov);
int coroutine_fn qcow2_co_writev(BlockDriverState *bs, int64_t sector_num,
                                 int nb_sectors, QEMUIOVector *qiov);
int coroutine_fn qcow2_co_write_zeroes(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors);
int coroutine_fn qcow2_co_discard(BlockDriverState *bs, int64_t sector_num,
                                  int nb_sectors);
int coroutine_fn qcow2_co_is_allocated(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors,
                                       int *pnum);
int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs);
/* Before a write: -EIO on corrupt images; sets the dirty bit for lazy
 * refcounts.  Lock not held. */
int coroutine_fn qcow2_co_write_prologue(BlockDriverState *bs);

/* ---- qcow2-copy-range.c ------------------------------------------------ */

/* The driver's bdrv_co_copy_range_from / _to (see block_int.h): data
 * clusters are offloaded from or into the data file; zero ranges of the
 * source become zero writes on the destination; compressed, encrypted,
 * backing and partial-cluster destination ranges are -ENOTSUP.  Lock not
 * held. */
int coroutine_fn qcow2_co_copy_range_from(BlockDriverState *bs,
                                          int64_t src_offset,
                                          BlockDriverState *dst,
                                          int64_t dst_offset, int64_t bytes,
                                          BdrvRequestFlags read_flags,
                                          BdrvRequestFlags write_flags);
int coroutine_fn qcow2_co_copy_range_to(BlockDriverState *src,
                                        int64_t src_offset,
                                        BlockDriverState *bs,
                                        int64_t dst_offset, int64_t bytes,
                                        BdrvRequestFlags read_flags,
                                        BdrvRequestFlags write_flags);

/* ---- qcow2-compress.c, qcow2-threads.c ---------------------------------- */

/*
 * Read [@offset_in_cluster, +@bytes) of the compressed cluster whose L2
 * entry is @l2_entry into @qiov.  A damaged descriptor or stream fails
 * with -EIO and a logged message.  Coroutine, lock not held.
 */
int coroutine_fn qcow2_co_preadv_compressed(BlockDriverState *bs,
                                            uint64_t l2_entry,
                                            uint64_t offset_in_cluster,
                                            uint64_t bytes,
                                            QEMUIOVector *qiov);
/*
 * bdrv_write_compressed: one whole cluster (or the last, partial one) at
 * a cluster-aligned @sector_num.  Data that does not shrink is written
 * as a normal cluster.  Images with an external data file cannot hold
 * compressed clusters: -ENOTSUP, as QEMU.  0 or -errno.  Outside or
 * inside a coroutine.
 */
int qcow2_write_compressed(BlockDriverState *bs, int64_t sector_num,
                           const uint8_t *buf, int nb_sectors);
/* Drop the decompression cache (close). */
void qcow2_compress_close(BDRVQcow2State *s);

/* The codec of @compression_type, or NULL if this build has none. */
const struct Qcow2Codec *qcow2_codec(uint8_t compression_type);
/* 0 if images with @compression_type can be used, else -ENOTSUP. */
int qcow2_compression_type_usable(uint8_t compression_type, Error **errp);
/*
 * Run the image's codec, on the thread pool when the job is large (in a
 * coroutine only).  qcow2_co_compress returns the compressed length or
 * -ENOSPC if it would not fit in @dest_size; qcow2_co_decompress fills
 * exactly @dest_size bytes and returns 0, or -EIO.
 */
int coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                   size_t dest_size, const void *src,
                                   size_t src_size);
int coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                     size_t dest_size, const void *src,
                                     size_t src_size);

/* ---- qcow2-check.c ---------------------------------------------------- */

/*
 * Check the image's metadata (bdrv_check_fix): refcounts against every
 * reference, COPIED flags; repair as @fix says.  Outside a coroutine, no
 * request in flight.  0 when the check ran (findings in @res), -EACCES
 * for a repair of an image that cannot be written, other -errno.
 */
int qcow2_check_fix(BlockDriverState *bs, BdrvCheckResult *res,
                    BdrvCheckMode fix);
/* Repair an image opened writable with the dirty bit set (lazy
 * refcounts); called by open.  Leaves it read-only if corruptions
 * remain.  0 or -errno (error set through bdrv_driver_errp). */
int qcow2_repair_dirty(BlockDriverState *bs);
/* ---- qcow2-snapshot.c ------------------------------------------------- */

/* One snapshot table entry, in host order. */
typedef struct QCowSnapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;            /* entries */
    char *id_str;                /* unique id */
    char *name;
    uint64_t disk_size;          /* virtual size when taken */
    uint64_t vm_state_size;      /* bytes of VM state, 0 for disk-only */
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;             /* UINT64_MAX when not recorded */
    uint32_t unknown_extra_size; /* extra data past what we know, kept */
    uint8_t *unknown_extra;
} QCowSnapshot;

/*
 * Read and validate the snapshot table named by the header (open, not in
 * a coroutine).  0, or -errno with a message in bdrv_driver_errp().
 */
int qcow2_read_snapshots(BlockDriverState *bs);
/* Free the in-memory table (close). */
void qcow2_free_snapshots(BDRVQcow2State *s);

/* The BlockDriver snapshot and VM state calls; none in a coroutine. */
int qcow2_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info);
int qcow2_snapshot_goto(BlockDriverState *bs, const char *snapshot_id);
int qcow2_snapshot_delete(BlockDriverState *bs, const char *snapshot_id);
int qcow2_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info);
int qcow2_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id);
int qcow2_save_vmstate(BlockDriverState *bs, const uint8_t *buf,
                       int64_t pos, int size);
int qcow2_load_vmstate(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                       int size);

/* ---- qcow2-crypto.c --------------------------------------------------- */

typedef struct Qcow2Crypto Qcow2Crypto;

/*
 * After the header is read, before the node's writability is decided:
 * take the encrypt.format and encrypt.key-secret options and set up
 * s->crypto for an encrypted image (unlocking it when a secret is given;
 * legacy AES images become read-only).  0 or -errno with the driver
 * error set.
 */
int qcow2_crypto_open(BlockDriverState *bs);
/* Free s->crypto (NULL is fine). */
void qcow2_crypto_close(BDRVQcow2State *s);
/* The LUKS header area the encryption extension names (as stored, not
 * validated): false when the image has none.  Check counts it. */
bool qcow2_crypto_area(BDRVQcow2State *s, uint64_t *offset,
                       uint64_t *length);
/*
 * Fill the encryption part of @q (encrypt_format, luks) for an encrypted
 * image; nothing for a plain one.  Needs no key.  Main thread, outside
 * coroutines (reads the LUKS header area).
 */
void qcow2_crypto_get_info(BlockDriverState *bs, BdrvSpecificInfoQcow2 *q);
/* The driver's bdrv_set_key: 0, or -EINVAL for a wrong password. */
int qcow2_set_key(BlockDriverState *bs, const char *key);

/* -ENOKEY while an encrypted node has no key, else 0. */
int qcow2_crypto_check_key(BlockDriverState *bs);

/*
 * Data of NORMAL clusters of an encrypted image: guest [@guest, +@bytes)
 * at host @host, both 512-byte aligned.  Read decrypts into @qiov (from
 * its start); write encrypts @bytes of @qiov from @qiov_offset.  Called
 * with s->lock not held.  0 or -errno.
 */
int coroutine_fn qcow2_crypto_co_preadv(BlockDriverState *bs,
                                        uint64_t guest, uint64_t host,
                                        uint64_t bytes, QEMUIOVector *qiov);
int coroutine_fn qcow2_crypto_co_pwritev(BlockDriverState *bs,
                                         uint64_t guest, uint64_t host,
                                         uint64_t bytes, QEMUIOVector *qiov,
                                         size_t qiov_offset);

/*
 * Creation: check the encrypt.* options (and BLOCK_OPT_ENCRYPT, the
 * legacy AES request, which is refused); *@encrypt says whether
 * qcow2_crypto_create must run.  Then, on the freshly created image
 * opened read-write, format the LUKS volume and record it.  0 or -errno
 * with the driver error set.
 */
int qcow2_crypto_check_create(QEMUOptionParameter *options, bool prealloc,
                              bool *encrypt);
int qcow2_crypto_create(BlockDriverState *bs, QEMUOptionParameter *options);

/* ---- qcow2-amend.c, qcow2-amend-clusters.c, qcow2-amend-refcount.c ---- */

/* The driver's bdrv_amend_options (see block_int.h); qemu-img 7.2's
 * rules and messages.  Outside coroutines, no request in flight. */
int qcow2_amend_options(BlockDriverState *bs, QEMUOptionParameter *opts,
                        Error **errp);
/* For a downgrade: 1 if any L1 table maps a compressed cluster, 0 if
 * none does, -errno.  Outside coroutines. */
int qcow2_amend_has_compressed(BlockDriverState *bs);
/* For a downgrade: leave no zero cluster in any L1 table (version 2 has
 * no zero flag).  Outside coroutines.  0 or -errno. */
int qcow2_amend_expand_zero_clusters(BlockDriverState *bs);
/* Replace the refcount structure by one of 2^@order-bit entries and
 * switch the header to it.  Outside coroutines.  0 or -errno, @errp set. */
int qcow2_amend_refcount_order(BlockDriverState *bs, int order,
                               Error **errp);

/* ---- qcow2-create.c --------------------------------------------------- */

int qcow2_create(const char *filename, QEMUOptionParameter *options);
extern QEMUOptionParameter qcow2_create_options[];

#endif /* BLOCK_QCOW2_H */
