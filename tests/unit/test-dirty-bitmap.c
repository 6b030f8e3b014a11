/*
 * Tests for block/dirty-bitmap.c: naming, errors, set/reset/count with
 * chunk rounding, enable/disable, merge, iteration, resize, release, and
 * a model-based random test against a plain array of chunks.
 *
 * Most tests work on a bare zeroed BlockDriverState and mark bits with
 * bdrv_set_dirty the way the request path does.  The /path/ tests send
 * real requests through an opened node (raw over blkdebug over null-co)
 * and check which of them mark: writes, zero writes and discards, failed
 * or not once they reached the driver (QEMU's rule), but neither reads nor
 * a write whose read-modify-write failed before anything was written.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "block/blkdebug.h"

#define KiB 1024
#define MiB (1024 * KiB)

static BlockDriverState *bare_node(int64_t sectors)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->total_sectors = sectors;
    QLIST_INIT(&bs->dirty_bitmaps);
    return bs;
}

static void free_node(BlockDriverState *bs)
{
    bdrv_release_all_dirty_bitmaps(bs);
    g_assert_true(QLIST_EMPTY(&bs->dirty_bitmaps));
    g_free(bs);
}

static BdrvDirtyBitmap *create(BlockDriverState *bs, uint32_t gran,
                               const char *name)
{
    return bdrv_create_dirty_bitmap(bs, gran, name, &error_abort);
}

static void assert_error(Error **err, const char *needle)
{
    g_assert_nonnull(*err);
    g_test_message("error: %s", error_get_pretty(*err));
    g_assert_nonnull(strstr(error_get_pretty(*err), needle));
    error_free_or_abort(err);
}

static int count_bitmaps(BlockDriverState *bs)
{
    int n = 0;

    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        n++;
    }
    return n;
}

/* ---- life cycle and naming ---- */

static void test_create(void)
{
    BlockDriverState *bs = bare_node(2048);        /* 1 MiB */
    BdrvDirtyBitmap *a = create(bs, 512, "a");
    BdrvDirtyBitmap *b = create(bs, 64 * KiB, "b");

    g_assert_true(bdrv_find_dirty_bitmap(bs, "a") == a);
    g_assert_true(bdrv_find_dirty_bitmap(bs, "b") == b);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "c"));
    g_assert_null(bdrv_find_dirty_bitmap(bs, NULL));
    g_assert_cmpstr(bdrv_dirty_bitmap_name(a), ==, "a");
    g_assert_cmpuint(bdrv_dirty_bitmap_granularity(b), ==, 64 * KiB);
    g_assert_cmpint(bdrv_dirty_bitmap_size(a), ==, MiB);
    g_assert_true(bdrv_dirty_bitmap_enabled(a));
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 0);
    /* Creation order. */
    g_assert_true(bdrv_dirty_bitmap_next(bs, NULL) == a);
    g_assert_true(bdrv_dirty_bitmap_next(bs, a) == b);
    g_assert_null(bdrv_dirty_bitmap_next(bs, b));
    /* One HBitmap bit per chunk of bytes. */
    g_assert_cmpint(hbitmap_granularity(bdrv_dirty_bitmap_hbitmap(b)), ==,
                    16);
    free_node(bs);
}

static void test_anonymous(void)
{
    BlockDriverState *bs = bare_node(64);
    BdrvDirtyBitmap *x = create(bs, 512, NULL);
    BdrvDirtyBitmap *y = create(bs, 4096, NULL);

    g_assert_true(x != y);
    g_assert_null(bdrv_dirty_bitmap_name(x));
    g_assert_null(bdrv_find_dirty_bitmap(bs, NULL));
    g_assert_null(bdrv_find_dirty_bitmap(bs, ""));
    g_assert_cmpint(count_bitmaps(bs), ==, 2);
    /* Anonymous bitmaps do not take any name. */
    create(bs, 512, "named");
    g_assert_cmpint(count_bitmaps(bs), ==, 3);
    free_node(bs);
}

static void test_create_errors(void)
{
    BlockDriverState *bs = bare_node(2048);
    Error *err = NULL;

    strcpy(bs->device_name, "drive0");
    create(bs, 512, "a");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 512, "a", &err));
    assert_error(&err, "node 'drive0' already has a dirty bitmap named 'a'");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 1000, "b", &err));
    assert_error(&err, "granularity 1000 is not a power of two");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 3 * 512, "b", &err));
    assert_error(&err, "granularity 1536 is not a power of two");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 256, "b", &err));
    assert_error(&err, "granularity 256 is below the minimum of 512");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 0, "b", &err));
    assert_error(&err, "granularity 0 is below the minimum");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 4096, "", &err));
    assert_error(&err, "name must not be empty");
    g_assert_null(bdrv_create_dirty_bitmap(bs, 512, "a", NULL));
    g_assert_cmpint(count_bitmaps(bs), ==, 1);

    /* Without a device name the message still names the bitmap. */
    bs->device_name[0] = '\0';
    g_assert_null(bdrv_create_dirty_bitmap(bs, 512, "a", &err));
    assert_error(&err, "dirty bitmap named 'a'");
    free_node(bs);
}

static void test_too_large(void)
{
    /* 2^51 bytes at 512 B: 2^42 chunks, over HBitmap's 2^41. */
    BlockDriverState *bs = bare_node(INT64_C(1) << 42);
    Error *err = NULL;

    g_assert_null(bdrv_create_dirty_bitmap(bs, 512, "big", &err));
    assert_error(&err, "too large for a dirty bitmap of granularity 512");
    g_assert_cmpint(count_bitmaps(bs), ==, 0);
    free_node(bs);
}

static void test_release(void)
{
    BlockDriverState *bs = bare_node(64);
    BdrvDirtyBitmap *a = create(bs, 512, "a");
    BdrvDirtyBitmap *b = create(bs, 512, "b");
    BdrvDirtyBitmap *c = create(bs, 512, "c");

    bdrv_release_dirty_bitmap(b);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "b"));
    g_assert_true(bdrv_dirty_bitmap_next(bs, a) == c);
    /* The name is free again. */
    b = create(bs, 1024, "b");
    g_assert_true(bdrv_dirty_bitmap_next(bs, c) == b);
    bdrv_release_dirty_bitmap(a);
    g_assert_true(bdrv_dirty_bitmap_next(bs, NULL) == c);
    free_node(bs);
}

/* ---- bits ---- */

static void test_set_get(void)
{
    BlockDriverState *bs = bare_node(128);         /* 64 KiB */
    BdrvDirtyBitmap *bm = create(bs, 4096, "bm");

    /* One byte dirties its whole chunk, and only that. */
    bdrv_set_dirty_bitmap(bm, 5000, 1);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 4095));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 4096));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 8191));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 8192));
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4096);
    /* A range straddling two boundaries dirties three chunks. */
    bdrv_set_dirty_bitmap(bm, 16384 - 1, 4096 + 2);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4 * 4096);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 12288));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 20480));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 24576));
    /* Zero length does nothing; setting again changes nothing. */
    bdrv_set_dirty_bitmap(bm, 40000, 0);
    bdrv_set_dirty_bitmap(bm, 4096, 4096);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4 * 4096);
    /* The last byte. */
    bdrv_set_dirty_bitmap(bm, 64 * KiB - 1, 1);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 64 * KiB - 4096));
    free_node(bs);
}

static void test_reset_partial(void)
{
    BlockDriverState *bs = bare_node(128);         /* 16 chunks of 4 KiB */
    BdrvDirtyBitmap *bm = create(bs, 4096, NULL);

    bdrv_set_dirty_bitmap(bm, 0, 64 * KiB);
    /* [1000, 13000) covers chunks 1 and 2 wholly; 0 and 3 only partly. */
    bdrv_reset_dirty_bitmap(bm, 1000, 12000);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 4096));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 8192));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 12288));
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 14 * 4096);
    /* A range inside one chunk cleans nothing. */
    bdrv_reset_dirty_bitmap(bm, 20481, 4000);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 14 * 4096);
    /* Exact chunks. */
    bdrv_reset_dirty_bitmap(bm, 0, 4096);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 0));
    bdrv_reset_dirty_bitmap(bm, 0, 64 * KiB);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 0);
    free_node(bs);
}

static void test_short_last_chunk(void)
{
    /* 9 sectors with 2 KiB chunks: 2048 + 2048 + 512. */
    BlockDriverState *bs = bare_node(9);
    BdrvDirtyBitmap *bm = create(bs, 2048, "bm");

    g_assert_cmpint(bdrv_dirty_bitmap_size(bm), ==, 4608);
    bdrv_set_dirty_bitmap(bm, 4600, 8);
    /* The short chunk counts only its bytes inside the node. */
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 512);
    bdrv_set_dirty_bitmap(bm, 0, 4608);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4608);
    /* A range reaching the end cleans the short chunk as a whole... */
    bdrv_reset_dirty_bitmap(bm, 4096, 512);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 4607));
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4096);
    /* ...and one from inside the last full chunk cleans only that. */
    bdrv_set_dirty_bitmap(bm, 4096, 1);
    bdrv_reset_dirty_bitmap(bm, 3000, 1608);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 2048));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 4096));
    free_node(bs);
}

static void test_clear(void)
{
    BlockDriverState *bs = bare_node(2048);
    BdrvDirtyBitmap *bm = create(bs, 512, "bm");

    bdrv_set_dirty_bitmap(bm, 0, 1000);
    bdrv_set_dirty_bitmap(bm, 500 * KiB, 3);
    bdrv_clear_dirty_bitmap(bm);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 0);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_true(hbitmap_empty(bdrv_dirty_bitmap_hbitmap(bm)));
    free_node(bs);
}

/* ---- tracking writes ---- */

static void test_enable_disable(void)
{
    BlockDriverState *bs = bare_node(2048);
    BdrvDirtyBitmap *on = create(bs, 512, "on");
    BdrvDirtyBitmap *off = create(bs, 512, "off");

    bdrv_disable_dirty_bitmap(off);
    g_assert_false(bdrv_dirty_bitmap_enabled(off));
    bdrv_set_dirty(bs, 4096, 4096);
    g_assert_cmpint(bdrv_get_dirty_count(on), ==, 4096);
    g_assert_cmpint(bdrv_get_dirty_count(off), ==, 0);
    /* Explicit marking works on a disabled bitmap. */
    bdrv_set_dirty_bitmap(off, 0, 1);
    g_assert_cmpint(bdrv_get_dirty_count(off), ==, 512);
    /* Enabled again: later writes count, earlier ones do not come back. */
    bdrv_enable_dirty_bitmap(off);
    g_assert_true(bdrv_dirty_bitmap_enabled(off));
    bdrv_set_dirty(bs, 65536, 1024);
    g_assert_cmpint(bdrv_get_dirty_count(off), ==, 512 + 1024);
    g_assert_false(bdrv_dirty_bitmap_get(off, 4096));
    free_node(bs);
}

static void test_set_dirty_clips(void)
{
    BlockDriverState *bs = bare_node(16);          /* 8 KiB */
    BdrvDirtyBitmap *bm = create(bs, 1024, "bm");

    /* A write running past the end (a growing node) marks what fits. */
    bdrv_set_dirty(bs, 7 * KiB, 4 * KiB);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, KiB);
    bdrv_set_dirty(bs, 8 * KiB, 512);
    bdrv_set_dirty(bs, 100 * KiB, 512);
    bdrv_set_dirty(bs, 0, 0);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, KiB);
    /* No bitmaps at all is fine too. */
    free_node(bs);
    bs = bare_node(16);
    bdrv_set_dirty(bs, 0, 512);
    free_node(bs);
}

/* ---- merge ---- */

static void test_merge(void)
{
    BlockDriverState *bs = bare_node(2048);
    BdrvDirtyBitmap *a = create(bs, 4096, "a");
    BdrvDirtyBitmap *b = create(bs, 4096, "b");

    bdrv_set_dirty_bitmap(a, 0, 4096);
    bdrv_set_dirty_bitmap(b, 4096, 4096);
    bdrv_set_dirty_bitmap(b, 0, 1);
    g_assert_true(bdrv_merge_dirty_bitmap(a, b, &error_abort));
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 8192);
    g_assert_true(bdrv_dirty_bitmap_get(a, 4096));
    /* The source is unchanged. */
    g_assert_cmpint(bdrv_get_dirty_count(b), ==, 8192);
    bdrv_reset_dirty_bitmap(b, 0, 8192);
    g_assert_true(bdrv_merge_dirty_bitmap(a, b, &error_abort));
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 8192);
    /* Merging into itself changes nothing. */
    g_assert_true(bdrv_merge_dirty_bitmap(a, a, &error_abort));
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 8192);
    free_node(bs);
}

static void test_merge_errors(void)
{
    BlockDriverState *bs = bare_node(2048);
    BlockDriverState *bs2 = bare_node(4096);
    BdrvDirtyBitmap *a = create(bs, 4096, "a");
    BdrvDirtyBitmap *fine = create(bs, 512, "fine");
    BdrvDirtyBitmap *anon = create(bs, 512, NULL);
    BdrvDirtyBitmap *big = create(bs2, 4096, "big");
    Error *err = NULL;

    bdrv_set_dirty_bitmap(fine, 0, 512);
    bdrv_set_dirty_bitmap(big, 0, 512);
    g_assert_false(bdrv_merge_dirty_bitmap(a, fine, &err));
    assert_error(&err, "cannot merge dirty bitmap 'fine' into 'a': "
                 "granularity 512 differs from 4096");
    g_assert_false(bdrv_merge_dirty_bitmap(a, big, &err));
    assert_error(&err, "cannot merge dirty bitmap 'big' into 'a': "
                 "size 2097152 differs from 1048576");
    g_assert_false(bdrv_merge_dirty_bitmap(a, anon, &err));
    assert_error(&err, "'(anonymous)' into 'a'");
    g_assert_false(bdrv_merge_dirty_bitmap(a, big, NULL));
    /* A failed merge leaves the destination alone. */
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 0);
    free_node(bs);
    free_node(bs2);
}

/* ---- iteration ---- */

/* All offsets an iterator from @from returns, as a GArray of int64_t. */
static GArray *iterate(BdrvDirtyBitmap *bm, int64_t from)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(int64_t));
    BdrvDirtyBitmapIter *it = bdrv_dirty_iter_new(bm, from);
    int64_t off;

    while ((off = bdrv_dirty_iter_next(it)) >= 0) {
        g_array_append_val(out, off);
    }
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, -1);   /* stays done */
    bdrv_dirty_iter_free(it);
    return out;
}

static void test_iter(void)
{
    BlockDriverState *bs = bare_node(2048);        /* 1 MiB */
    BdrvDirtyBitmap *bm = create(bs, 64 * KiB, "bm");
    g_autoptr(GArray) all = NULL;
    g_autoptr(GArray) mid = NULL;
    g_autoptr(GArray) none = NULL;
    g_autoptr(GArray) past = NULL;

    bdrv_set_dirty_bitmap(bm, 0, 1);
    bdrv_set_dirty_bitmap(bm, 200 * KiB, 100 * KiB);  /* chunks 3, 4 */
    bdrv_set_dirty_bitmap(bm, MiB - 1, 1);            /* chunk 15 */
    all = iterate(bm, 0);
    g_assert_cmpuint(all->len, ==, 4);
    g_assert_cmpint(g_array_index(all, int64_t, 0), ==, 0);
    g_assert_cmpint(g_array_index(all, int64_t, 1), ==, 192 * KiB);
    g_assert_cmpint(g_array_index(all, int64_t, 2), ==, 256 * KiB);
    g_assert_cmpint(g_array_index(all, int64_t, 3), ==, 960 * KiB);
    /* Starting inside a dirty chunk returns that chunk's start. */
    mid = iterate(bm, 260 * KiB);
    g_assert_cmpuint(mid->len, ==, 2);
    g_assert_cmpint(g_array_index(mid, int64_t, 0), ==, 256 * KiB);
    g_assert_cmpint(g_array_index(mid, int64_t, 1), ==, 960 * KiB);
    past = iterate(bm, MiB);
    g_assert_cmpuint(past->len, ==, 0);
    bdrv_clear_dirty_bitmap(bm);
    none = iterate(bm, 0);
    g_assert_cmpuint(none->len, ==, 0);
    bdrv_dirty_iter_free(NULL);
    free_node(bs);
}

static void test_iter_live(void)
{
    BlockDriverState *bs = bare_node(64);          /* 32 KiB, 8 chunks */
    BdrvDirtyBitmap *bm = create(bs, 4096, "bm");
    BdrvDirtyBitmapIter *it;

    bdrv_set_dirty_bitmap(bm, 0, 4096);
    bdrv_set_dirty_bitmap(bm, 16384, 4096);
    it = bdrv_dirty_iter_new(bm, 0);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 0);
    /* Cleaned ahead: skipped; dirtied ahead: seen. */
    bdrv_reset_dirty_bitmap(bm, 16384, 4096);
    bdrv_set_dirty_bitmap(bm, 28672, 1);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 28672);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, -1);
    bdrv_dirty_iter_free(it);
    free_node(bs);
}

/* ---- resize ---- */

static void test_truncate(void)
{
    BlockDriverState *bs = bare_node(2048);
    BdrvDirtyBitmap *a = create(bs, 4096, "a");
    BdrvDirtyBitmap *b = create(bs, 512, "b");

    bdrv_set_dirty_bitmap(a, 0, MiB);
    bdrv_set_dirty_bitmap(b, MiB - 512, 512);
    bdrv_dirty_bitmaps_truncate(bs, 6000);
    g_assert_cmpint(bdrv_dirty_bitmap_size(a), ==, 6000);
    g_assert_cmpint(bdrv_dirty_bitmap_size(b), ==, 6000);
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 6000);
    g_assert_cmpint(bdrv_get_dirty_count(b), ==, 0);
    /* Growing adds clean space that can be marked. */
    bdrv_dirty_bitmaps_truncate(bs, 2 * MiB);
    g_assert_cmpint(bdrv_dirty_bitmap_size(a), ==, 2 * MiB);
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 8192);
    g_assert_false(bdrv_dirty_bitmap_get(a, MiB));
    bdrv_set_dirty(bs, 2 * MiB - 1, 1);
    g_assert_true(bdrv_dirty_bitmap_get(b, 2 * MiB - 1));
    g_assert_cmpint(bdrv_get_dirty_count(b), ==, 512);
    free_node(bs);
}

/* ---- model-based random test ---- */

#define MODEL_GRAN   4096
#define MODEL_BYTES  (1001 * 512)                 /* 123 chunks, last short */
#define MODEL_CHUNKS DIV_ROUND_UP(MODEL_BYTES, MODEL_GRAN)

typedef struct Model {
    bool dirty[MODEL_CHUNKS];
    bool enabled;
} Model;

static void model_set(Model *m, int64_t off, int64_t len)
{
    for (int64_t c = off / MODEL_GRAN; len && c * MODEL_GRAN < off + len;
         c++) {
        m->dirty[c] = true;
    }
}

static void model_reset(Model *m, int64_t off, int64_t len)
{
    for (int c = 0; c < MODEL_CHUNKS; c++) {
        int64_t lo = (int64_t)c * MODEL_GRAN;
        int64_t hi = MIN(lo + MODEL_GRAN, MODEL_BYTES);

        if (lo >= off && hi <= off + len) {
            m->dirty[c] = false;
        }
    }
}

static void model_check(const Model *m, BdrvDirtyBitmap *bm)
{
    g_autoptr(GArray) offs = iterate(bm, 0);
    int64_t count = 0;
    guint k = 0;

    for (int c = 0; c < MODEL_CHUNKS; c++) {
        int64_t lo = (int64_t)c * MODEL_GRAN;

        g_assert_cmpint(bdrv_dirty_bitmap_get(bm, lo), ==, m->dirty[c]);
        if (m->dirty[c]) {
            count += MIN(MODEL_GRAN, MODEL_BYTES - lo);
            g_assert_cmpuint(k, <, offs->len);
            g_assert_cmpint(g_array_index(offs, int64_t, k), ==, lo);
            k++;
        }
    }
    g_assert_cmpuint(k, ==, offs->len);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, count);
    g_assert_cmpint(bdrv_dirty_bitmap_enabled(bm), ==, m->enabled);
}

/* A random range inside the node, often of a few bytes. */
static void random_range(GRand *r, int64_t *off, int64_t *len)
{
    *off = g_rand_int_range(r, 0, MODEL_BYTES);
    *len = g_rand_boolean(r) ? g_rand_int_range(r, 0, 3 * MODEL_GRAN)
                             : g_rand_int_range(r, 0, MODEL_BYTES);
    *len = MIN(*len, MODEL_BYTES - *off);
}

static void model_step(GRand *r, Model *m, BlockDriverState *bs,
                       BdrvDirtyBitmap *bm)
{
    int64_t off, len;

    random_range(r, &off, &len);
    switch (g_rand_int_range(r, 0, 10)) {
    case 0:
    case 1:
    case 2:
        bdrv_set_dirty(bs, off, len);          /* a write */
        if (m->enabled) {
            model_set(m, off, len);
        }
        break;
    case 3:
        bdrv_set_dirty_bitmap(bm, off, len);
        model_set(m, off, len);
        break;
    case 4:
    case 5:
    case 6:
        bdrv_reset_dirty_bitmap(bm, off, len);
        model_reset(m, off, len);
        break;
    case 7:
        bdrv_disable_dirty_bitmap(bm);
        m->enabled = false;
        break;
    case 8:
        bdrv_enable_dirty_bitmap(bm);
        m->enabled = true;
        break;
    default:
        if (g_rand_int_range(r, 0, 8) == 0) {
            bdrv_clear_dirty_bitmap(bm);
            memset(m->dirty, 0, sizeof(m->dirty));
        }
        break;
    }
}

static void test_model(void)
{
    BlockDriverState *bs = bare_node(MODEL_BYTES / 512);
    BdrvDirtyBitmap *bm = create(bs, MODEL_GRAN, "model");
    GRand *r = g_rand_new_with_seed(20240611);
    Model m = { .enabled = true };

    g_assert_cmpint(bdrv_dirty_bitmap_size(bm), ==, MODEL_BYTES);
    for (int i = 0; i < 3000; i++) {
        model_step(r, &m, bs, bm);
        model_check(&m, bm);
    }
    g_rand_free(r);
    free_node(bs);
}

/* ---- through the request path ---- */

/* raw over blkdebug over (raw over null-co), 1 MiB, one 4 KiB bitmap */
static BlockDriverState *open_path_node(BdrvDirtyBitmap **bm)
{
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    BlockDriverState *bs = bdrv_new("");

    g_hash_table_insert(opts, "file.image.file.size", "1M");
    g_assert_cmpint(bdrv_open_options(bs, "blkdebug::null-co://", opts,
                                      BDRV_O_RDWR, NULL, &error_abort),
                    ==, 0);
    *bm = create(bs, 4096, "path");
    return bs;
}

/* Exactly [offset, +bytes) (whole chunks) is dirty; then clear. */
static void assert_only_dirty(BdrvDirtyBitmap *bm, int64_t offset,
                              int64_t bytes)
{
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, bytes);
    for (int64_t o = offset; o < offset + bytes; o += 4096) {
        g_assert_true(bdrv_dirty_bitmap_get(bm, o));
    }
    bdrv_clear_dirty_bitmap(bm);
}

static void add_rule(BlockDriverState *bs, const char *event)
{
    g_autofree char *rules =
        g_strdup_printf("[inject-error]\nevent = %s\nonce = on\n", event);

    g_assert_true(blkdebug_add_rules(bs, rules, "test", &error_abort));
}

static void test_path_marks(void)
{
    BdrvDirtyBitmap *bm;
    BlockDriverState *bs = open_path_node(&bm);
    uint8_t buf[4096] = { 0 };

    g_assert_cmpint(bdrv_pwrite(bs, 4096, buf, 4096), ==, 4096);
    assert_only_dirty(bm, 4096, 4096);
    g_assert_cmpint(bdrv_write_zeroes(bs, 16, 16), ==, 0);
    assert_only_dirty(bm, 8192, 8192);
    /* QEMU marks discarded ranges too: what a backup copied is gone */
    g_assert_cmpint(bdrv_discard(bs, 64, 8), ==, 0);
    assert_only_dirty(bm, 32768, 4096);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 4096), ==, 4096);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    assert_only_dirty(bm, 0, 0);
    bdrv_unref(bs);
}

/*
 * A request that reached the driver and failed may still have changed
 * part of its range (a device can fail half way): QEMU marks it all the
 * same, and so do we.  A failed read changes nothing and marks nothing.
 */
static void test_path_failed_marks(void)
{
    BdrvDirtyBitmap *bm;
    BlockDriverState *bs = open_path_node(&bm);
    uint8_t buf[4096] = { 0 };

    add_rule(bs, "write_aio");
    g_assert_cmpint(bdrv_pwrite(bs, 4096, buf, 4096), ==, -EIO);
    assert_only_dirty(bm, 4096, 4096);
    add_rule(bs, "write_zeroes");
    g_assert_cmpint(bdrv_write_zeroes(bs, 16, 8), ==, -EIO);
    assert_only_dirty(bm, 8192, 4096);
    add_rule(bs, "discard");
    g_assert_cmpint(bdrv_discard(bs, 64, 8), ==, -EIO);
    assert_only_dirty(bm, 32768, 4096);
    add_rule(bs, "read_aio");
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 4096), ==, -EIO);
    assert_only_dirty(bm, 0, 0);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 4);
    bdrv_unref(bs);
}

/* The read half of an unaligned write fails: nothing was written, so
 * nothing is marked. */
static void test_path_rmw_read_fails(void)
{
    BdrvDirtyBitmap *bm;
    BlockDriverState *bs = open_path_node(&bm);
    uint8_t buf[100] = { 0 };

    add_rule(bs, "read_aio");
    g_assert_cmpint(bdrv_pwrite(bs, 5000, buf, sizeof(buf)), ==, -EIO);
    assert_only_dirty(bm, 0, 0);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    /* the same write once the read works */
    g_assert_cmpint(bdrv_pwrite(bs, 5000, buf, sizeof(buf)), ==,
                    sizeof(buf));
    assert_only_dirty(bm, 4096, 4096);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    g_test_add_func("/block/dirty-bitmap/create", test_create);
    g_test_add_func("/block/dirty-bitmap/anonymous", test_anonymous);
    g_test_add_func("/block/dirty-bitmap/create-errors", test_create_errors);
    g_test_add_func("/block/dirty-bitmap/too-large", test_too_large);
    g_test_add_func("/block/dirty-bitmap/release", test_release);
    g_test_add_func("/block/dirty-bitmap/set-get", test_set_get);
    g_test_add_func("/block/dirty-bitmap/reset-partial", test_reset_partial);
    g_test_add_func("/block/dirty-bitmap/short-last-chunk",
                    test_short_last_chunk);
    g_test_add_func("/block/dirty-bitmap/clear", test_clear);
    g_test_add_func("/block/dirty-bitmap/enable-disable",
                    test_enable_disable);
    g_test_add_func("/block/dirty-bitmap/set-dirty-clips",
                    test_set_dirty_clips);
    g_test_add_func("/block/dirty-bitmap/merge", test_merge);
    g_test_add_func("/block/dirty-bitmap/merge-errors", test_merge_errors);
    g_test_add_func("/block/dirty-bitmap/iter", test_iter);
    g_test_add_func("/block/dirty-bitmap/iter-live", test_iter_live);
    g_test_add_func("/block/dirty-bitmap/truncate", test_truncate);
    g_test_add_func("/block/dirty-bitmap/model", test_model);
    g_test_add_func("/block/dirty-bitmap/path/marks", test_path_marks);
    g_test_add_func("/block/dirty-bitmap/path/failed-marks",
                    test_path_failed_marks);
    g_test_add_func("/block/dirty-bitmap/path/rmw-read-fails",
                    test_path_rmw_read_fails);
    return g_test_run();
}
