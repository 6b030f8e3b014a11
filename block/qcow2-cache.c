/*
 * qcow2 metadata caches: L2 slices and refcount blocks, written back
 * lazily.
 *
 * What it does: keeps a fixed number of equally sized tables read from
 * the image file, found by their file offset through a hash table (so a
 * hit costs one lookup and allocates nothing), evicts the least recently
 * used unpinned table on a miss, and writes dirty tables back on
 * eviction, on flush and on close.  A cache may depend on another: the
 * L2 cache depends on the refcount cache after an allocation, so
 * refcount blocks reach the disk (and are flushed) before any L2 table
 * that points to the clusters they count.  A crash in between leaves at
 * worst clusters counted but unused (leaks), never used but free.
 *
 * What it deliberately does not: lock anything itself (every caller
 * holds s->lock), or read ahead.
 *
 * Key invariant: a pinned table (ref > 0) is never evicted or moved, and
 * a dirty table is never dropped without being written, except by
 * qcow2_cache_discard for tables whose cluster was freed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

typedef struct Qcow2CachedTable {
    uint64_t offset;             /* 0: slot empty */
    uint64_t lru_counter;
    int ref;
    bool dirty;
} Qcow2CachedTable;

struct Qcow2Cache {
    Qcow2CachedTable *entries;
    uint8_t *tables;             /* size * table_size bytes */
    GHashTable *index;           /* offset -> slot + 1 */
    int size;
    int table_size;
    Qcow2MetadataOverlap ol;
    Qcow2Cache *depends;         /* flush it before writing our tables */
    bool depends_on_flush;       /* flush the file before writing */
    uint64_t lru_counter;
    uint64_t clean_lru_counter;  /* lru_counter at the previous clean */
};

static inline void *slot_table(Qcow2Cache *c, int i)
{
    return c->tables + (size_t)i * c->table_size;
}

static int table_slot(Qcow2Cache *c, void *table)
{
    ptrdiff_t diff = (uint8_t *)table - c->tables;
    int i = diff / c->table_size;

    assert(diff >= 0 && i < c->size && diff % c->table_size == 0);
    return i;
}

Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               int table_size, Qcow2MetadataOverlap ol)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);

    assert(num_tables > 0 && table_size >= 512);
    c->size = num_tables;
    c->table_size = table_size;
    c->ol = ol;
    c->entries = g_new0(Qcow2CachedTable, num_tables);
    c->tables = qemu_blockalign(bs->file, (size_t)num_tables * table_size);
    c->index = g_hash_table_new(g_int64_hash, g_int64_equal);
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    g_hash_table_destroy(c->index);
    qemu_vfree(c->tables);
    g_free(c->entries);
    g_free(c);
}

int qcow2_cache_table_size(Qcow2Cache *c)
{
    return c->table_size;
}

static int lookup(Qcow2Cache *c, uint64_t offset)
{
    gpointer v = g_hash_table_lookup(c->index, &offset);

    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static void slot_forget(Qcow2Cache *c, int i)
{
    if (c->entries[i].offset) {
        g_hash_table_remove(c->index, &c->entries[i].offset);
    }
    c->entries[i].offset = 0;
    c->entries[i].dirty = false;
    c->entries[i].lru_counter = 0;
}

static void slot_bind(Qcow2Cache *c, int i, uint64_t offset)
{
    c->entries[i].offset = offset;
    /* The key points into the entry itself: stable while bound. */
    g_hash_table_insert(c->index, &c->entries[i].offset,
                        GINT_TO_POINTER(i + 1));
}

static int coroutine_fn flush_dependency(BlockDriverState *bs,
                                         Qcow2Cache *c)
{
    int ret = qcow2_cache_flush(bs, c->depends);

    if (ret < 0) {
        return ret;
    }
    c->depends = NULL;
    c->depends_on_flush = false;
    return 0;
}

static int coroutine_fn slot_write(BlockDriverState *bs, Qcow2Cache *c,
                                   int i)
{
    Qcow2CachedTable *e = &c->entries[i];
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!e->dirty || !e->offset) {
        return 0;
    }
    if (c->depends) {
        ret = flush_dependency(bs, c);
    } else if (c->depends_on_flush) {
        ret = bdrv_co_flush(bs->file);
        c->depends_on_flush = ret < 0;
    } else {
        ret = 0;
    }
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_pre_write_overlap_check(bs, c->ol, e->offset, c->table_size);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, c == s->l2_table_cache ? BLKDBG_L2_UPDATE
                                                  : BLKDBG_REFBLOCK_UPDATE);
    ret = bdrv_co_pwrite(bs->file, e->offset, c->table_size,
                         slot_table(c, i));
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = 0;

    for (int i = 0; i < c->size; i++) {
        int ret = slot_write(bs, c, i);
        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = qcow2_cache_write(bs, c);

    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    return ret;
}

int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency)
{
    int ret;

    /* Keep chains one link long: resolve what the dependency waits for. */
    if (dependency->depends) {
        ret = flush_dependency(bs, dependency);
        if (ret < 0) {
            return ret;
        }
    }
    if (c->depends && c->depends != dependency) {
        ret = flush_dependency(bs, c);
        if (ret < 0) {
            return ret;
        }
    }
    c->depends = dependency;
    return 0;
}

/* The least recently used unpinned slot (empty ones first), or -1. */
static int pick_victim(Qcow2Cache *c)
{
    uint64_t best_lru = UINT64_MAX;
    int best = -1;

    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].ref) {
            continue;
        }
        if (!c->entries[i].offset) {
            return i;
        }
        if (c->entries[i].lru_counter < best_lru) {
            best_lru = c->entries[i].lru_counter;
            best = i;
        }
    }
    return best;
}

static int coroutine_fn do_get(BlockDriverState *bs, Qcow2Cache *c,
                               uint64_t offset, void **table, bool read)
{
    BDRVQcow2State *s = bs->opaque;
    int i = lookup(c, offset);
    int ret;

    assert(offset != 0);
    if (i < 0) {
        i = pick_victim(c);
        if (i < 0) {
            return -ENOSPC;   /* every table pinned: cache far too small */
        }
        ret = slot_write(bs, c, i);
        if (ret < 0) {
            return ret;
        }
        slot_forget(c, i);
        if (read) {
            BLKDBG_EVENT(bs->file, c == s->l2_table_cache
                                   ? BLKDBG_L2_LOAD : BLKDBG_REFBLOCK_LOAD);
            ret = bdrv_co_pread(bs->file, offset, c->table_size,
                                slot_table(c, i));
            if (ret < 0) {
                return ret;
            }
        }
        slot_bind(c, i, offset);
    }
    c->entries[i].ref++;
    c->entries[i].lru_counter = ++c->lru_counter;
    *table = slot_table(c, i);
    return 0;
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table)
{
    return do_get(bs, c, offset, table, true);
}

int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table)
{
    return do_get(bs, c, offset, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = table_slot(c, *table);

    assert(c->entries[i].ref > 0);
    c->entries[i].ref--;
    *table = NULL;
}

void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table)
{
    int i = table_slot(c, table);

    assert(c->entries[i].offset != 0);
    c->entries[i].dirty = true;
}

void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    int i = lookup(c, offset);

    /* A pinned table can only be "freed" in a corrupt image: keep it. */
    if (i >= 0 && c->entries[i].ref == 0) {
        slot_forget(c, i);
    }
}

int coroutine_fn qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = qcow2_cache_flush(bs, c);

    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < c->size; i++) {
        assert(c->entries[i].ref == 0);
        slot_forget(c, i);
    }
    return 0;
}

void qcow2_cache_clean_unused(Qcow2Cache *c)
{
    long page = sysconf(_SC_PAGESIZE);

    for (int i = 0; i < c->size; i++) {
        Qcow2CachedTable *e = &c->entries[i];

        if (!e->offset || e->ref || e->dirty ||
            e->lru_counter > c->clean_lru_counter) {
            continue;
        }
        slot_forget(c, i);
        if (page > 0 && c->table_size % page == 0 &&
            (uintptr_t)slot_table(c, i) % page == 0) {
            madvise(slot_table(c, i), c->table_size, MADV_DONTNEED);
        }
    }
    c->clean_lru_counter = c->lru_counter;
}
