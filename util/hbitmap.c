/*
 * HBitmap: hierarchical dirty bitmap.
 *
 * Layout.  levels[0] has one bit per granule.  Bit j of levels[k + 1] is
 * set exactly when word j of levels[k] is nonzero; the top level,
 * levels[nlevels - 1], is a single word.  How many levels there are
 * depends on the size (one for up to 64 granules, seven at the maximum).
 *
 * Invariants, true between any two public calls (deserialization aside,
 * until it finishes):
 *   - the summary rule above, at every level;
 *   - bits for granules >= size are zero, at every level;
 *   - count is the number of set bits in levels[0].
 *
 * How the operations keep them cheap:
 *   - set ORs masks into granule words, then sets the summary bits of the
 *     touched words, climbing only while some word went from zero to
 *     nonzero;
 *   - reset walks down from the top, entering only words whose summary bit
 *     is set, and clears a summary bit on the way back up when the word
 *     below became zero.  Its cost follows the dirty words, not the range;
 *   - searches (find_set) climb from the starting word until some level
 *     has a set bit further on, then descend along lowest set bits.  The
 *     iterator is just a position fed to find_set, so it always sees the
 *     live bitmap.
 *
 * What it does not do: no locking (callers serialise), and finding clean
 * granules (hbitmap_next_zero) scans granule words linearly, since the
 * summary levels record only "nonzero", not "full".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"
#include "qemu/bitops.h"
#include "qemu/host-utils.h"

#define LEVEL_MASK  (BITS_PER_LONG - 1)
#define NOT_FOUND   UINT64_MAX

struct HBitmap {
    /* Geometry: changed only by hbitmap_truncate. */
    uint64_t orig_size;         /* size in items */
    uint64_t size;              /* size in granules: valid bits of level 0 */
    int granularity;            /* log2 of the items per granule */
    int nlevels;                /* levels in use, >= 1 */
    uint64_t nwords[HBITMAP_LEVELS];        /* words in each level */
    unsigned long *levels[HBITMAP_LEVELS];  /* [0]: one bit per granule */

    /* State. */
    uint64_t count;             /* set bits in levels[0] */
    HBitmap *meta;              /* records changed regions, or NULL */
};

/*
 * A run of changed granules [start, end) waiting to be marked in the meta
 * bitmap; consecutive changes grow the run, so a large set or reset costs
 * one meta update, not one per word.
 */
typedef struct MetaRun {
    uint64_t start;
    uint64_t end;
} MetaRun;

/* Small helpers on geometry and masks. */

static uint64_t granules_for(uint64_t items, int granularity)
{
    return items ? ((items - 1) >> granularity) + 1 : 0;
}

static uint64_t words_for(uint64_t bits)
{
    return MAX(DIV_ROUND_UP(bits, BITS_PER_LONG), 1);
}

/* Bits @lo..@hi (inclusive) of a word. */
static inline unsigned long bits_mask(unsigned lo, unsigned hi)
{
    return (~0UL << lo) & (~0UL >> (LEVEL_MASK - hi));
}

/* The bits of word @i that lie in the bit range [@first, @last]. */
static inline unsigned long range_mask(uint64_t i, uint64_t first,
                                       uint64_t last)
{
    unsigned lo = (i == first >> BITS_PER_LEVEL) ? first & LEVEL_MASK : 0;
    unsigned hi = (i == last >> BITS_PER_LEVEL) ? last & LEVEL_MASK
                                                : LEVEL_MASK;

    return bits_mask(lo, hi);
}

static inline bool granule_get(const HBitmap *hb, uint64_t pos)
{
    return (hb->levels[0][pos >> BITS_PER_LEVEL] >> (pos & LEVEL_MASK)) & 1;
}

/*
 * Turn items [@start, @start + @count) (@count > 0) into the granule range
 * [*@first, *@last], asserting that it lies inside @hb.
 */
static void granule_range(const HBitmap *hb, uint64_t start, uint64_t count,
                          uint64_t *first, uint64_t *last)
{
    assert(count - 1 <= UINT64_MAX - start);
    *first = start >> hb->granularity;
    *last = (start + count - 1) >> hb->granularity;
    assert(*last < hb->size);
}

/* Meta bitmap bookkeeping. */

static void meta_flush(HBitmap *hb, MetaRun *run)
{
    uint64_t first, end;

    if (run->end == run->start) {
        return;
    }
    first = run->start << hb->granularity;
    end = MIN(run->end << hb->granularity, hb->orig_size);
    hbitmap_set(hb->meta, first, end - first);
    run->start = run->end = 0;
}

/* Record that bits @changed of granule word @wi flipped. */
static void meta_note(HBitmap *hb, MetaRun *run, uint64_t wi,
                      unsigned long changed)
{
    while (changed) {
        unsigned lo = ctzl(changed);
        unsigned len = ctol(changed >> lo);
        uint64_t s = (wi << BITS_PER_LEVEL) + lo;

        if (run->end != s) {
            meta_flush(hb, run);
            run->start = s;
        }
        run->end = s + len;
        changed = lo + len < BITS_PER_LONG ? changed & (~0UL << (lo + len))
                                           : 0;
    }
}

/* A MetaRun to pass down when @hb has a meta bitmap, else NULL. */
#define META_RUN(hb, run) ((hb)->meta ? (run) : NULL)

static void meta_finish(HBitmap *hb, MetaRun *run)
{
    if (run) {
        meta_flush(hb, run);
    }
}

/* Searching. */

/*
 * The lowest set bit of level @lvl at index >= @pos, or NOT_FOUND.  Climbs
 * while the current word has nothing at or after the position, then
 * descends along the lowest set bits, which the summary rule guarantees.
 */
static uint64_t find_set(const HBitmap *hb, int lvl, uint64_t pos)
{
    int l = lvl;
    unsigned long w;

    for (;;) {
        uint64_t wi = pos >> BITS_PER_LEVEL;

        if (wi >= hb->nwords[l]) {
            return NOT_FOUND;
        }
        w = hb->levels[l][wi] & (~0UL << (pos & LEVEL_MASK));
        if (w) {
            pos = (wi << BITS_PER_LEVEL) + ctzl(w);
            break;
        }
        if (l == hb->nlevels - 1) {
            return NOT_FOUND;
        }
        pos = wi + 1;
        l++;
    }
    while (l > lvl) {
        l--;
        w = hb->levels[l][pos];
        assert(w);
        pos = (pos << BITS_PER_LEVEL) + ctzl(w);
    }
    return pos;
}

/* The first nonzero granule word at index >= @from, or NOT_FOUND. */
static uint64_t next_nonzero_word(const HBitmap *hb, uint64_t from)
{
    if (hb->nlevels == 1) {
        return from == 0 && hb->levels[0][0] ? 0 : NOT_FOUND;
    }
    return find_set(hb, 1, from);
}

/* The lowest clear granule in [@first, @last], or NOT_FOUND. */
static uint64_t find_clear(const HBitmap *hb, uint64_t first, uint64_t last)
{
    const unsigned long *leaf = hb->levels[0];
    uint64_t i;

    for (i = first >> BITS_PER_LEVEL; i <= last >> BITS_PER_LEVEL; i++) {
        unsigned long w = ~leaf[i] & range_mask(i, first, last);

        if (w) {
            return (i << BITS_PER_LEVEL) + ctzl(w);
        }
    }
    return NOT_FOUND;
}

/* Setting. */

/* Set bits [@first, @last] of @words; true if a word was zero before. */
static bool level_set(unsigned long *words, uint64_t first, uint64_t last)
{
    bool woke = false;
    uint64_t i;

    for (i = first >> BITS_PER_LEVEL; i <= last >> BITS_PER_LEVEL; i++) {
        woke |= words[i] == 0;
        words[i] |= range_mask(i, first, last);
    }
    return woke;
}

/* Granule words [@first, @last] are nonzero now: set their summary bits. */
static void summarize_set(HBitmap *hb, uint64_t first, uint64_t last)
{
    int lvl;

    for (lvl = 1; lvl < hb->nlevels; lvl++) {
        if (!level_set(hb->levels[lvl], first, last)) {
            return;
        }
        first >>= BITS_PER_LEVEL;
        last >>= BITS_PER_LEVEL;
    }
}

static void set_granules(HBitmap *hb, uint64_t first, uint64_t last,
                         MetaRun *run)
{
    unsigned long *leaf = hb->levels[0];
    bool woke = false;
    uint64_t i;

    for (i = first >> BITS_PER_LEVEL; i <= last >> BITS_PER_LEVEL; i++) {
        unsigned long old = leaf[i];
        unsigned long added = range_mask(i, first, last) & ~old;

        if (!added) {
            continue;
        }
        woke |= old == 0;
        leaf[i] = old | added;
        hb->count += ctpopl(added);
        if (run) {
            meta_note(hb, run, i, added);
        }
    }
    if (woke) {
        summarize_set(hb, first >> BITS_PER_LEVEL, last >> BITS_PER_LEVEL);
    }
}

/* OR @bits into granule word @wi. */
static void or_word(HBitmap *hb, uint64_t wi, unsigned long bits,
                    MetaRun *run)
{
    unsigned long old = hb->levels[0][wi];
    unsigned long added = bits & ~old;

    if (!added) {
        return;
    }
    hb->levels[0][wi] = old | added;
    hb->count += ctpopl(added);
    if (run) {
        meta_note(hb, run, wi, added);
    }
    if (!old) {
        summarize_set(hb, wi, wi);
    }
}

/* Resetting. */

/*
 * Clear granules [@first, @last] below word @wi of level @lvl, entering
 * only words whose summary bit is set.  Returns whether the word is zero
 * afterwards, so the caller can clear its summary bit.
 */
static bool reset_word(HBitmap *hb, int lvl, uint64_t wi,
                       uint64_t first, uint64_t last, MetaRun *run)
{
    unsigned shift = lvl * BITS_PER_LEVEL;
    unsigned long *w = &hb->levels[lvl][wi];
    unsigned long hit = *w & range_mask(wi, first >> shift, last >> shift);

    if (lvl == 0) {
        *w &= ~hit;
        hb->count -= ctpopl(hit);
        if (run && hit) {
            meta_note(hb, run, wi, hit);
        }
        return *w == 0;
    }
    while (hit) {
        unsigned b = ctzl(hit);

        hit &= hit - 1;
        if (reset_word(hb, lvl - 1, (wi << BITS_PER_LEVEL) + b,
                       first, last, run)) {
            *w &= ~(1UL << b);
        }
    }
    return *w == 0;
}

static void reset_granules(HBitmap *hb, uint64_t first, uint64_t last,
                           MetaRun *run)
{
    reset_word(hb, hb->nlevels - 1, 0, first, last, run);
}

/* Building the levels. */

/* Allocate zeroed summary levels for hb->size; levels[0] must exist. */
static void layout_levels(HBitmap *hb)
{
    int lvl = 0;

    hb->nwords[0] = words_for(hb->size);
    while (hb->nwords[lvl] > 1) {
        lvl++;
        assert(lvl < HBITMAP_LEVELS);
        hb->nwords[lvl] = DIV_ROUND_UP(hb->nwords[lvl - 1], BITS_PER_LONG);
        hb->levels[lvl] = g_new0(unsigned long, hb->nwords[lvl]);
    }
    hb->nlevels = lvl + 1;
}

static void free_summary_levels(HBitmap *hb)
{
    int lvl;

    for (lvl = 1; lvl < hb->nlevels; lvl++) {
        g_free(hb->levels[lvl]);
        hb->levels[lvl] = NULL;
    }
    hb->nlevels = 1;
}

/* Recompute the count and every summary level from levels[0]. */
static void rebuild_summary(HBitmap *hb)
{
    uint64_t i;
    int lvl;

    hb->count = 0;
    for (i = 0; i < hb->nwords[0]; i++) {
        hb->count += ctpopl(hb->levels[0][i]);
    }
    for (lvl = 1; lvl < hb->nlevels; lvl++) {
        const unsigned long *down = hb->levels[lvl - 1];
        unsigned long *up = hb->levels[lvl];

        memset(up, 0, hb->nwords[lvl] * sizeof(unsigned long));
        for (i = 0; i < hb->nwords[lvl - 1]; i++) {
            if (down[i]) {
                up[i >> BITS_PER_LEVEL] |= 1UL << (i & LEVEL_MASK);
            }
        }
    }
}

/* Lifetime and geometry. */

HBitmap *hbitmap_alloc(uint64_t size, int granularity)
{
    HBitmap *hb;

    assert(granularity >= 0 && granularity < 64);
    assert(size <= INT64_MAX);
    hb = g_new0(HBitmap, 1);
    hb->orig_size = size;
    hb->granularity = granularity;
    hb->size = granules_for(size, granularity);
    assert(hb->size <= (UINT64_C(1) << HBITMAP_LOG_MAX_SIZE));
    hb->levels[0] = g_new0(unsigned long, words_for(hb->size));
    layout_levels(hb);
    return hb;
}

void hbitmap_free(HBitmap *hb)
{
    assert(!hb->meta);
    free_summary_levels(hb);
    g_free(hb->levels[0]);
    g_free(hb);
}

void hbitmap_truncate(HBitmap *hb, uint64_t size)
{
    uint64_t granules, old_words, new_words;

    assert(size <= INT64_MAX);
    granules = granules_for(size, hb->granularity);
    assert(granules <= (UINT64_C(1) << HBITMAP_LOG_MAX_SIZE));
    if (granules < hb->size) {
        /* Drop the doomed bits first, so count and invariants stay exact. */
        reset_granules(hb, granules, hb->size - 1, NULL);
    }
    hb->orig_size = size;
    if (granules != hb->size) {
        old_words = hb->nwords[0];
        new_words = words_for(granules);
        free_summary_levels(hb);
        hb->levels[0] = g_renew(unsigned long, hb->levels[0], new_words);
        if (new_words > old_words) {
            memset(&hb->levels[0][old_words], 0,
                   (new_words - old_words) * sizeof(unsigned long));
        }
        hb->size = granules;
        layout_levels(hb);
        rebuild_summary(hb);
    }
    if (hb->meta) {
        hbitmap_truncate(hb->meta, size);
    }
}

bool hbitmap_empty(const HBitmap *hb)
{
    return hb->count == 0;
}

int hbitmap_granularity(const HBitmap *hb)
{
    return hb->granularity;
}

uint64_t hbitmap_count(const HBitmap *hb)
{
    uint64_t last = hb->size - 1;

    if (!hb->count) {
        return 0;
    }
    if (!granule_get(hb, last)) {
        return hb->count << hb->granularity;
    }
    /* The last granule may stick out past the end: count only its inside. */
    return ((hb->count - 1) << hb->granularity) +
           (hb->orig_size - (last << hb->granularity));
}

/* Set, reset, get. */

void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count)
{
    uint64_t first, last;
    MetaRun run = { 0, 0 };

    if (!count) {
        return;
    }
    granule_range(hb, start, count, &first, &last);
    set_granules(hb, first, last, META_RUN(hb, &run));
    meta_finish(hb, META_RUN(hb, &run));
}

void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count)
{
    uint64_t gran G_GNUC_UNUSED = UINT64_C(1) << hb->granularity;
    uint64_t first, last;
    MetaRun run = { 0, 0 };

    if (!count) {
        return;
    }
    assert(QEMU_IS_ALIGNED(start, gran));
    assert(QEMU_IS_ALIGNED(count, gran) || start + count == hb->orig_size);
    granule_range(hb, start, count, &first, &last);
    reset_granules(hb, first, last, META_RUN(hb, &run));
    meta_finish(hb, META_RUN(hb, &run));
}

void hbitmap_reset_all(HBitmap *hb)
{
    MetaRun run = { 0, 0 };

    if (hb->size) {
        reset_granules(hb, 0, hb->size - 1, META_RUN(hb, &run));
        meta_finish(hb, META_RUN(hb, &run));
    }
}

bool hbitmap_get(const HBitmap *hb, uint64_t item)
{
    uint64_t pos = item >> hb->granularity;

    assert(pos < hb->size);
    return granule_get(hb, pos);
}

/* Merging. */

bool hbitmap_can_merge(const HBitmap *a, const HBitmap *b)
{
    return a->orig_size == b->orig_size;
}

/* OR @src into @dst word by word; same size and granularity. */
static void merge_words(HBitmap *dst, const HBitmap *src)
{
    MetaRun run = { 0, 0 };
    uint64_t wi;

    for (wi = next_nonzero_word(src, 0); wi != NOT_FOUND;
         wi = next_nonzero_word(src, wi + 1)) {
        or_word(dst, wi, src->levels[0][wi], META_RUN(dst, &run));
    }
    meta_finish(dst, META_RUN(dst, &run));
}

/* OR @src into @dst area by area, for differing granularities. */
static void merge_areas(HBitmap *dst, const HBitmap *src)
{
    int64_t pos = 0, start, count;

    while (hbitmap_next_dirty_area(src, pos, src->orig_size, INT64_MAX,
                                   &start, &count)) {
        hbitmap_set(dst, start, count);
        pos = start + count;
    }
}

static void merge_into(HBitmap *dst, const HBitmap *src)
{
    if (src->granularity == dst->granularity) {
        merge_words(dst, src);
    } else {
        merge_areas(dst, src);
    }
}

bool hbitmap_merge(const HBitmap *a, const HBitmap *b, HBitmap *result)
{
    if (!hbitmap_can_merge(a, b) || !hbitmap_can_merge(a, result)) {
        return false;
    }
    if (result != a && result != b) {
        hbitmap_reset_all(result);
    }
    if (a != result) {
        merge_into(result, a);
    }
    if (b != result && b != a) {
        merge_into(result, b);
    }
    return true;
}

/* Serialization. */

bool hbitmap_is_serializable(const HBitmap *hb)
{
    /* 64 granules must fit in a uint64_t count of items. */
    return hb->granularity < 58;
}

uint64_t hbitmap_serialization_align(const HBitmap *hb)
{
    assert(hbitmap_is_serializable(hb));
    return UINT64_C(64) << hb->granularity;
}

/*
 * The 64-bit serialization words [*@first, *@first + *@n) that hold items
 * [@start, @start + @count) (@count > 0), after checking the chunk rules.
 */
static void serial_words(const HBitmap *hb, uint64_t start, uint64_t count,
                         uint64_t *first, uint64_t *n)
{
    uint64_t align G_GNUC_UNUSED = hbitmap_serialization_align(hb);
    uint64_t gfirst, glast;

    assert(QEMU_IS_ALIGNED(start, align));
    granule_range(hb, start, count, &gfirst, &glast);
    if (glast != hb->size - 1) {
        assert(QEMU_IS_ALIGNED(count, align));
    }
    *first = gfirst / 64;
    *n = glast / 64 - *first + 1;
}

/* Granules [64 * @k, 64 * @k + 63] as a host-order 64-bit value. */
static uint64_t leaf_get64(const HBitmap *hb, uint64_t k)
{
#if BITS_PER_LONG == 64
    return hb->levels[0][k];
#else
    uint64_t hi = 2 * k + 1 < hb->nwords[0] ? hb->levels[0][2 * k + 1] : 0;

    return hb->levels[0][2 * k] | (hi << 32);
#endif
}

/* Store @v as granules [64 * @k, ...], dropping bits past the end. */
static void leaf_put64(HBitmap *hb, uint64_t k, uint64_t v)
{
    uint64_t valid = hb->size - 64 * k;

    if (valid < 64) {
        v &= (UINT64_C(1) << valid) - 1;
    }
#if BITS_PER_LONG == 64
    hb->levels[0][k] = v;
#else
    hb->levels[0][2 * k] = (unsigned long)v;
    if (2 * k + 1 < hb->nwords[0]) {
        hb->levels[0][2 * k + 1] = (unsigned long)(v >> 32);
    }
#endif
}

uint64_t hbitmap_serialization_size(const HBitmap *hb,
                                    uint64_t start, uint64_t count)
{
    uint64_t first, n;

    if (!count) {
        return 0;
    }
    serial_words(hb, start, count, &first, &n);
    return n * sizeof(uint64_t);
}

void hbitmap_serialize_part(const HBitmap *hb, uint8_t *buf,
                            uint64_t start, uint64_t count)
{
    uint64_t first, n, i;

    if (!count) {
        return;
    }
    serial_words(hb, start, count, &first, &n);
    for (i = 0; i < n; i++) {
        uint64_t le = GUINT64_TO_LE(leaf_get64(hb, first + i));

        memcpy(buf + i * sizeof(le), &le, sizeof(le));
    }
}

/* Load words for items [@start, @start + @count) from @buf, or @fill. */
static void load_words(HBitmap *hb, const uint8_t *buf, uint64_t fill,
                       uint64_t start, uint64_t count)
{
    uint64_t first, n, i, v;

    if (!count) {
        return;
    }
    serial_words(hb, start, count, &first, &n);
    for (i = 0; i < n; i++) {
        if (buf) {
            memcpy(&v, buf + i * sizeof(v), sizeof(v));
            v = GUINT64_FROM_LE(v);
        } else {
            v = fill;
        }
        leaf_put64(hb, first + i, v);
    }
}

void hbitmap_deserialize_part(HBitmap *hb, uint8_t *buf,
                              uint64_t start, uint64_t count,
                              bool finish)
{
    load_words(hb, buf, 0, start, count);
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_zeroes(HBitmap *hb, uint64_t start, uint64_t count,
                                bool finish)
{
    load_words(hb, NULL, 0, start, count);
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_ones(HBitmap *hb, uint64_t start, uint64_t count,
                              bool finish)
{
    load_words(hb, NULL, UINT64_MAX, start, count);
    if (finish) {
        hbitmap_deserialize_finish(hb);
    }
}

void hbitmap_deserialize_finish(HBitmap *hb)
{
    rebuild_summary(hb);
}

char *hbitmap_sha256(const HBitmap *bitmap, Error **errp)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    uint64_t i, n = MAX(DIV_ROUND_UP(bitmap->size, 64), 1);
    char *hex;

    for (i = 0; i < n; i++) {
        uint64_t le = GUINT64_TO_LE(leaf_get64(bitmap, i));

        g_checksum_update(sum, (const guchar *)&le, sizeof(le));
    }
    hex = g_strdup(g_checksum_get_string(sum));
    g_checksum_free(sum);
    return hex;
}

/* Iteration and queries. */

void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first)
{
    hbi->hb = hb;
    hbi->granularity = hb->granularity;
    hbi->pos = first >> hb->granularity;
    assert(hbi->pos < hb->size);
}

int64_t hbitmap_iter_next(HBitmapIter *hbi)
{
    uint64_t pos = find_set(hbi->hb, 0, hbi->pos);

    if (pos == NOT_FOUND) {
        hbi->pos = hbi->hb->size;
        return -1;
    }
    hbi->pos = pos + 1;
    return pos << hbi->granularity;
}

/* The end (exclusive) of the search window [@start, @start + @count). */
static uint64_t window_end(const HBitmap *hb, int64_t start, int64_t count)
{
    return (uint64_t)count > hb->orig_size - start ? hb->orig_size
                                                   : start + count;
}

int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end, pos;

    assert(start >= 0 && count >= 0);
    if ((uint64_t)start >= hb->orig_size || count == 0) {
        return -1;
    }
    end = window_end(hb, start, count);
    pos = find_set(hb, 0, start >> hb->granularity);
    if (pos == NOT_FOUND || (pos << hb->granularity) >= end) {
        return -1;
    }
    return MAX((uint64_t)start, pos << hb->granularity);
}

int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end, pos;

    assert(start >= 0 && count >= 0);
    if ((uint64_t)start >= hb->orig_size || count == 0) {
        return -1;
    }
    end = window_end(hb, start, count);
    pos = find_clear(hb, start >> hb->granularity,
                     (end - 1) >> hb->granularity);
    if (pos == NOT_FOUND) {
        return -1;
    }
    return MAX((uint64_t)start, pos << hb->granularity);
}

bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count)
{
    int64_t first, area_end, zero;

    assert(start >= 0 && end >= 0 && max_dirty_count > 0);
    end = MIN((uint64_t)end, hb->orig_size);
    if (start >= end) {
        return false;
    }
    first = hbitmap_next_dirty(hb, start, end - start);
    if (first < 0) {
        return false;
    }
    area_end = first + MIN(end - first, max_dirty_count);
    zero = hbitmap_next_zero(hb, first, area_end - first);
    if (zero >= 0) {
        area_end = zero;
    }
    *dirty_start = first;
    *dirty_count = area_end - first;
    return true;
}

bool hbitmap_status(const HBitmap *hb, int64_t start, int64_t count,
                    int64_t *pnum)
{
    int64_t dirty, zero;

    assert(start >= 0 && count > 0);
    assert((uint64_t)start <= hb->orig_size);
    assert((uint64_t)count <= hb->orig_size - start);
    dirty = hbitmap_next_dirty(hb, start, count);
    if (dirty != start) {
        *pnum = dirty < 0 ? count : dirty - start;
        return false;
    }
    zero = hbitmap_next_zero(hb, start, count);
    *pnum = zero < 0 ? count : zero - start;
    return true;
}

/* Meta bitmap. */

HBitmap *hbitmap_create_meta(HBitmap *hb, int chunk_size)
{
    assert(chunk_size > 0 && is_power_of_2(chunk_size));
    assert(!hb->meta);
    hb->meta = hbitmap_alloc(hb->orig_size,
                             hb->granularity + ctz32(chunk_size));
    return hb->meta;
}

void hbitmap_free_meta(HBitmap *hb)
{
    assert(hb->meta);
    hbitmap_free(hb->meta);
    hb->meta = NULL;
}
