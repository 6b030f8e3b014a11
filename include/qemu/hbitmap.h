/*
 * HBitmap: a hierarchical bitmap for tracking dirty regions of large disks.
 *
 * An HBitmap covers @size items (usually bytes or sectors).  Items are
 * grouped into granules of 2^granularity items, and one bit records each
 * granule: setting any item of a granule dirties the whole granule, and a
 * granule is clean only when reset as a whole.
 *
 * Above the granule bits sit summary levels: a bit at one level is set
 * exactly when the word it stands for at the level below is nonzero.  So
 * searches and iteration skip clean regions in O(log size) steps, and the
 * cost of set/reset/merge grows with the number of words touched, not of
 * bits.  A bitmap of 2^40 bytes at 64 KiB granularity takes about 2 MiB.
 *
 * Thread safety: none.  All calls on one HBitmap (and its iterators and
 * meta bitmap) must be serialised by the caller, e.g. by the block
 * layer's dirty bitmap lock.  Any thread or coroutine may call them.
 *
 * Argument checking: ranges outside the bitmap are programming errors and
 * fail an assertion, as do invalid granularities.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_HBITMAP_H
#define QEMU_HBITMAP_H

#include "qemu/osdep.h"
#include "qemu/bitops.h"
#include "qapi/error.h"

/* log2 of the number of bits in a word: each level shrinks by this much. */
#define BITS_PER_LEVEL         (BITS_PER_LONG == 32 ? 5 : 6)

/* An HBitmap holds at most 2^HBITMAP_LOG_MAX_SIZE granules. */
#define HBITMAP_LOG_MAX_SIZE   (BITS_PER_LONG == 32 ? 34 : 41)

/* The most levels (granule level included) any HBitmap has. */
#define HBITMAP_LEVELS         ((HBITMAP_LOG_MAX_SIZE / BITS_PER_LEVEL) + 1)

/*
 * An iterator over the dirty granules of an HBitmap.  It lives wherever the
 * caller puts it (usually the stack) and holds no resources; the fields are
 * private.  It reads the bitmap live on each step: granules reset after
 * hbitmap_iter_init are not returned if not yet reached, granules set ahead
 * of the iterator are returned, granules set behind it are not.
 */
struct HBitmapIter {
    const HBitmap *hb;  /* the bitmap walked */
    int granularity;    /* its granularity, to turn granules into items */
    uint64_t pos;       /* the next granule to look at */
};

/*
 * Create an empty bitmap of @size items with granules of 2^@granularity
 * items (0 <= @granularity < 64, @size <= INT64_MAX and at most
 * 2^HBITMAP_LOG_MAX_SIZE granules).  Never fails; free with hbitmap_free.
 */
HBitmap *hbitmap_alloc(uint64_t size, int granularity);

/*
 * Free @hb.  Its meta bitmap, if any, must have been freed first with
 * hbitmap_free_meta.  No iterator on @hb may be used afterwards.
 */
void hbitmap_free(HBitmap *hb);

/*
 * Change the size of @hb to @size items, keeping the granularity.  When
 * shrinking, every granule that lies wholly at or past the new end is
 * cleared (the granule holding the last item survives, even if it now
 * extends past the end); when growing, the new granules are clean.  The meta
 * bitmap, if any, is resized the same way.  Iterators on @hb must be
 * re-initialised afterwards.
 */
void hbitmap_truncate(HBitmap *hb, uint64_t size);

/*
 * Whether @a and @b may be merged: they must cover the same number of
 * items.  Their granularities may differ.
 */
bool hbitmap_can_merge(const HBitmap *a, const HBitmap *b);

/*
 * Store @a OR @b in @result.  @result may be @a or @b (or a third bitmap,
 * whose old contents are discarded); the other inputs are not changed.
 * With equal granularities the merge goes word by word; otherwise every
 * dirty area of a source is set in @result at @result's granularity, which
 * may round it outwards.  Returns false, changing nothing, when the three
 * do not all have the same size (see hbitmap_can_merge); true otherwise.
 * @result's meta bitmap records the granules that changed.
 */
bool hbitmap_merge(const HBitmap *a, const HBitmap *b, HBitmap *result);

/* Whether no granule of @hb is dirty. */
bool hbitmap_empty(const HBitmap *hb);

/* The log2 of the number of items per granule of @hb. */
int hbitmap_granularity(const HBitmap *hb);

/*
 * The number of dirty items: each dirty granule counts as its size in
 * items, except the last granule, which counts only its items inside the
 * bitmap.
 */
uint64_t hbitmap_count(const HBitmap *hb);

/*
 * Mark items [@start, @start + @count) dirty; every granule they touch
 * becomes dirty as a whole.  The range must lie inside the bitmap's
 * granules.  A zero @count does nothing.
 */
void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count);

/*
 * Mark items [@start, @start + @count) clean.  The range must consist of
 * whole granules: @start aligned to the granule size, and @count too unless
 * the range ends at the end of the bitmap.  A zero @count does nothing.
 * Costs time in proportion to the dirty words in the range, not its length.
 */
void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count);

/* Mark every item clean (the meta bitmap records what changed). */
void hbitmap_reset_all(HBitmap *hb);

/* Whether the granule holding @item is dirty; @item must be inside @hb. */
bool hbitmap_get(const HBitmap *hb, uint64_t item);

/*
 * Serialization: the granule bits as a stream of little-endian 64-bit
 * words, granule 0 in bit 0 of the first word.  The format does not depend
 * on the host, so it may be stored on disk.  A bitmap can be saved and
 * loaded in chunks of items; each chunk must start at a multiple of
 * hbitmap_serialization_align and be a multiple of it long, except the
 * chunk that ends at the end of the bitmap.
 */

/* Whether @hb can be serialized (its granularity is below 58). */
bool hbitmap_is_serializable(const HBitmap *hb);

/* The alignment, in items, of serialization chunks: 64 granules. */
uint64_t hbitmap_serialization_align(const HBitmap *hb);

/* Bytes needed to serialize items [@start, @start + @count); 0 for 0. */
uint64_t hbitmap_serialization_size(const HBitmap *hb,
                                    uint64_t start, uint64_t count);

/*
 * Write the bits of items [@start, @start + @count) to @buf, which holds
 * hbitmap_serialization_size bytes (no alignment needed).
 */
void hbitmap_serialize_part(const HBitmap *hb, uint8_t *buf,
                            uint64_t start, uint64_t count);

/*
 * Load items [@start, @start + @count) from @buf (as written by
 * hbitmap_serialize_part), replacing their old state; bits for granules
 * past the end of @hb are ignored.  Loading works on the granule bits only:
 * until @finish is true (or hbitmap_deserialize_finish is called) the
 * summary levels and count are stale, and only further deserialize calls
 * may be made.  The meta bitmap is not updated.
 */
void hbitmap_deserialize_part(HBitmap *hb, uint8_t *buf,
                              uint64_t start, uint64_t count,
                              bool finish);

/* As hbitmap_deserialize_part, loading all-clean / all-dirty granules. */
void hbitmap_deserialize_zeroes(HBitmap *hb, uint64_t start, uint64_t count,
                                bool finish);
void hbitmap_deserialize_ones(HBitmap *hb, uint64_t start, uint64_t count,
                              bool finish);

/* Rebuild the summary levels and the count after deserialization. */
void hbitmap_deserialize_finish(HBitmap *hb);

/*
 * The SHA-256 of @bitmap's whole serialized form, as 64 lower-case hex
 * digits (free with g_free).  Equal bitmaps of equal size hash equal on
 * every host.  Never fails; @errp is there for API compatibility.
 */
char *hbitmap_sha256(const HBitmap *bitmap, Error **errp);

/*
 * Start iterating @hb's dirty granules from the one holding item @first,
 * which must be inside @hb.
 */
void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first);

/*
 * The first item of the next dirty granule, or -1 when no dirty granule is
 * left.  The first call may return an item below the @first given to
 * hbitmap_iter_init when @first is inside a dirty granule.
 */
int64_t hbitmap_iter_next(HBitmapIter *hbi);

/*
 * The first dirty item in [@start, @start + @count), or -1 if none (also
 * when @start is past the end or @count is 0).  A @count reaching past the
 * end (such as INT64_MAX) searches to the end.  The answer is @start when
 * @start's granule is dirty, otherwise the start of a dirty granule.
 */
int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count);

/* As hbitmap_next_dirty, for the first clean item. */
int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count);

/*
 * Find the first run of dirty items inside [@start, @end) (@end is clipped
 * to the bitmap size).  On success return true and store its first item in
 * *@dirty_start and its length, at most @max_dirty_count (> 0) and not past
 * @end, in *@dirty_count.  Otherwise return false and leave both alone.
 */
bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count);

/*
 * Report the state of item @start, and in *@pnum how many items from
 * @start on (at most @count, > 0) share that state.  [@start, @start +
 * @count) must lie inside the bitmap.  Returns true for dirty.
 */
bool hbitmap_status(const HBitmap *hb, int64_t start, int64_t count,
                    int64_t *pnum);

/*
 * Attach to @hb a meta bitmap, which from now on records which regions of
 * @hb changed: every hbitmap_set, hbitmap_reset, hbitmap_reset_all and
 * hbitmap_merge that flips a granule of @hb dirties the meta granule
 * holding it; calls that change nothing leave the meta bitmap alone.  The
 * meta bitmap has @hb's size in items, and each of its granules covers
 * @chunk_size (a power of two) granules of @hb.  The caller may read and
 * reset it (e.g. after sending the changed parts); it belongs to @hb and is
 * freed by hbitmap_free_meta.  @hb must not already have one.
 */
HBitmap *hbitmap_create_meta(HBitmap *hb, int chunk_size);

/* Detach and free @hb's meta bitmap, which must exist. */
void hbitmap_free_meta(HBitmap *hb);

#endif /* QEMU_HBITMAP_H */
