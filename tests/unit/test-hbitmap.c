/*
 * Tests for qemu/hbitmap.h.
 *
 * Besides targeted tests of each function, randomized tests drive an
 * HBitmap and a flat bitmap model (one bit per granule, from qemu/bitmap.h)
 * with the same operations and compare every answer.  A meta bitmap with
 * one bit per granule rides along and must record exactly the granules
 * each operation flipped.  The random sequence comes from a fixed seed
 * (RANDOM_SEED), so every run does the same operations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"
#include "qemu/bitmap.h"

#define RANDOM_SEED 0x5eed1e55u

static GRand *rng;

/* A random integer in [@begin, @end). */
static int32_t rand_range(int32_t begin, int32_t end)
{
    return g_rand_int_range(rng, begin, end);
}

/* Collect what an iterator returns from @first on. */
static GArray *iter_collect(const HBitmap *hb, uint64_t first)
{
    GArray *out = g_array_new(false, false, sizeof(int64_t));
    HBitmapIter hbi;
    int64_t item;

    hbitmap_iter_init(&hbi, hb, first);
    while ((item = hbitmap_iter_next(&hbi)) >= 0) {
        g_array_append_val(out, item);
    }
    return out;
}

static void assert_items(GArray *got, const int64_t *want, guint n)
{
    guint i;

    g_assert_cmpuint(got->len, ==, n);
    for (i = 0; i < n; i++) {
        g_assert_cmpint(g_array_index(got, int64_t, i), ==, want[i]);
    }
    g_array_free(got, true);
}

/* Basic state. */

static void test_alloc_empty(void)
{
    static const uint64_t sizes[] = { 1, 63, 64, 65, 4097, 1 << 20 };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        HBitmap *hb = hbitmap_alloc(sizes[i], 0);

        g_assert_true(hbitmap_empty(hb));
        g_assert_cmpuint(hbitmap_count(hb), ==, 0);
        g_assert_cmpint(hbitmap_granularity(hb), ==, 0);
        g_assert_false(hbitmap_get(hb, sizes[i] - 1));
        g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, -1);
        g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, 0);
        assert_items(iter_collect(hb, 0), NULL, 0);
        hbitmap_free(hb);
    }
}

static void test_alloc_zero_size(void)
{
    HBitmap *hb = hbitmap_alloc(0, 3);
    int64_t s = -7, c = -7;

    g_assert_true(hbitmap_empty(hb));
    g_assert_cmpuint(hbitmap_count(hb), ==, 0);
    g_assert_cmpint(hbitmap_granularity(hb), ==, 3);
    hbitmap_set(hb, 0, 0);
    hbitmap_reset_all(hb);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 1), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, 1), ==, -1);
    g_assert_false(hbitmap_next_dirty_area(hb, 0, 10, 1, &s, &c));
    g_assert_cmpint(s, ==, -7);
    hbitmap_free(hb);
}

static void test_set_get(void)
{
    static const int64_t bits[] = { 0, 63, 64, 4095, 4096, 262143, 262144,
                                    999999 };
    HBitmap *hb = hbitmap_alloc(1000000, 0);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bits); i++) {
        hbitmap_set(hb, bits[i], 1);
    }
    hbitmap_set(hb, 0, 1);      /* again: no change */
    g_assert_cmpuint(hbitmap_count(hb), ==, ARRAY_SIZE(bits));
    g_assert_false(hbitmap_empty(hb));
    for (i = 0; i < ARRAY_SIZE(bits); i++) {
        g_assert_true(hbitmap_get(hb, bits[i]));
    }
    /* Neighbours across word and summary boundaries stay clean. */
    g_assert_false(hbitmap_get(hb, 1));
    g_assert_false(hbitmap_get(hb, 62));
    g_assert_false(hbitmap_get(hb, 65));
    g_assert_false(hbitmap_get(hb, 4097));
    g_assert_false(hbitmap_get(hb, 262145));
    g_assert_false(hbitmap_get(hb, 999998));
    assert_items(iter_collect(hb, 0), bits, ARRAY_SIZE(bits));
    hbitmap_free(hb);
}

static void test_set_range(void)
{
    HBitmap *hb = hbitmap_alloc(1 << 20, 0);

    /* A range spanning many words and two summary words. */
    hbitmap_set(hb, 100, 300000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 300000);
    g_assert_false(hbitmap_get(hb, 99));
    g_assert_true(hbitmap_get(hb, 100));
    g_assert_true(hbitmap_get(hb, 300099));
    g_assert_false(hbitmap_get(hb, 300100));
    /* Overlapping set counts only the new bits. */
    hbitmap_set(hb, 300000, 1000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 300900);
    g_assert_cmpint(hbitmap_next_zero(hb, 100, INT64_MAX), ==, 301000);
    hbitmap_free(hb);
}

static void test_granularity(void)
{
    /* 100 items in granules of 16: the 7th granule holds only 4 items. */
    HBitmap *hb = hbitmap_alloc(100, 4);

    hbitmap_set(hb, 5, 1);
    g_assert_true(hbitmap_get(hb, 0));
    g_assert_true(hbitmap_get(hb, 15));
    g_assert_false(hbitmap_get(hb, 16));
    g_assert_cmpuint(hbitmap_count(hb), ==, 16);

    /* Two items straddling a boundary dirty two granules. */
    hbitmap_set(hb, 31, 2);
    g_assert_cmpuint(hbitmap_count(hb), ==, 48);
    g_assert_true(hbitmap_get(hb, 47));

    /* The last granule counts only its 4 items inside the bitmap. */
    hbitmap_set(hb, 99, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 52);
    g_assert_true(hbitmap_get(hb, 96));
    hbitmap_reset(hb, 96, 4);
    g_assert_cmpuint(hbitmap_count(hb), ==, 48);

    /* Iteration returns granule starts, even from inside one. */
    assert_items(iter_collect(hb, 7), (const int64_t[]){ 0, 16, 32 }, 3);
    hbitmap_free(hb);
}

static void test_granularity_extreme(void)
{
    /* One granule of 2^63 items; counts must not overflow. */
    HBitmap *hb = hbitmap_alloc(INT64_MAX, 63);

    hbitmap_set(hb, 12345, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, INT64_MAX);
    g_assert_cmpint(hbitmap_next_dirty(hb, 77, INT64_MAX), ==, 77);
    g_assert_false(hbitmap_is_serializable(hb));
    hbitmap_reset(hb, 0, INT64_MAX);
    g_assert_true(hbitmap_empty(hb));
    hbitmap_free(hb);
}

static void test_reset(void)
{
    HBitmap *hb = hbitmap_alloc(1 << 20, 0);

    hbitmap_set(hb, 0, 1 << 20);
    hbitmap_reset(hb, 64, 4096 * 3);
    g_assert_cmpuint(hbitmap_count(hb), ==, (1 << 20) - 4096 * 3);
    g_assert_true(hbitmap_get(hb, 63));
    g_assert_false(hbitmap_get(hb, 64));
    g_assert_false(hbitmap_get(hb, 64 + 4096 * 3 - 1));
    g_assert_true(hbitmap_get(hb, 64 + 4096 * 3));
    g_assert_cmpint(hbitmap_next_dirty(hb, 64, INT64_MAX), ==,
                    64 + 4096 * 3);
    /* Resetting clean bits changes nothing. */
    hbitmap_reset(hb, 100, 10);
    g_assert_cmpuint(hbitmap_count(hb), ==, (1 << 20) - 4096 * 3);
    hbitmap_reset(hb, 0, 0);
    g_assert_cmpuint(hbitmap_count(hb), ==, (1 << 20) - 4096 * 3);

    hbitmap_reset(hb, 0, 1 << 20);
    g_assert_true(hbitmap_empty(hb));
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, -1);
    hbitmap_free(hb);
}

static void test_reset_granularity(void)
{
    HBitmap *hb = hbitmap_alloc(100, 4);

    hbitmap_set(hb, 0, 100);
    g_assert_cmpuint(hbitmap_count(hb), ==, 100);
    hbitmap_reset(hb, 16, 32);
    g_assert_cmpuint(hbitmap_count(hb), ==, 68);
    /* A range that ends at the end of the bitmap may end mid-granule. */
    hbitmap_reset(hb, 64, 36);
    g_assert_cmpuint(hbitmap_count(hb), ==, 32);
    g_assert_false(hbitmap_get(hb, 99));
    hbitmap_free(hb);
}

static void test_reset_unaligned_aborts(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(100, 4);

        hbitmap_reset(hb, 8, 16);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*QEMU_IS_ALIGNED*");
}

static void test_set_out_of_range_aborts(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(128, 0);

        hbitmap_set(hb, 120, 9);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*last < hb->size*");
}

static void test_reset_all(void)
{
    HBitmap *hb = hbitmap_alloc(1 << 16, 2);

    hbitmap_set(hb, 0, 5);
    hbitmap_set(hb, 40000, 100);
    hbitmap_reset_all(hb);
    g_assert_true(hbitmap_empty(hb));
    g_assert_cmpuint(hbitmap_count(hb), ==, 0);
    g_assert_false(hbitmap_get(hb, 40000));
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, -1);
    /* Still usable afterwards. */
    hbitmap_set(hb, 65535, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, 65532);
    hbitmap_free(hb);
}

/* Iteration and searches. */

static void test_iter(void)
{
    static const int64_t all[] = { 3, 64, 70, 5000, 5001, 200000 };
    HBitmap *hb = hbitmap_alloc(300000, 0);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(all); i++) {
        hbitmap_set(hb, all[i], 1);
    }
    assert_items(iter_collect(hb, 0), all, ARRAY_SIZE(all));
    assert_items(iter_collect(hb, 70), all + 2, ARRAY_SIZE(all) - 2);
    assert_items(iter_collect(hb, 71), all + 3, ARRAY_SIZE(all) - 3);
    assert_items(iter_collect(hb, 299999), NULL, 0);
    hbitmap_free(hb);
}

static void test_iter_modify(void)
{
    HBitmap *hb = hbitmap_alloc(1 << 20, 0);
    HBitmapIter hbi;

    hbitmap_set(hb, 10, 1);
    hbitmap_set(hb, 1000, 1);
    hbitmap_set(hb, 5000, 1);
    hbitmap_set(hb, 600000, 1);
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 10);

    /* Reset ahead of the iterator: those bits are not returned. */
    hbitmap_reset(hb, 0, 4096);
    /* Set behind it: not returned; set ahead: returned. */
    hbitmap_set(hb, 5, 1);
    hbitmap_set(hb, 70000, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 5000);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 70000);
    /* Reset the whole rest while the iterator sits inside it. */
    hbitmap_reset(hb, 65536, (1 << 20) - 65536);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    hbitmap_free(hb);
}

static void test_next_dirty(void)
{
    HBitmap *hb = hbitmap_alloc(1000, 2);

    hbitmap_set(hb, 100, 8);            /* granules 25, 26: items 100..107 */
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, 100);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 100), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, 101), ==, 100);
    g_assert_cmpint(hbitmap_next_dirty(hb, 103, 1), ==, 103);
    g_assert_cmpint(hbitmap_next_dirty(hb, 108, INT64_MAX), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 100, 0), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 1000, 10), ==, -1);
    hbitmap_free(hb);
}

static void test_next_zero(void)
{
    HBitmap *hb = hbitmap_alloc(1000, 2);

    hbitmap_set(hb, 0, 1000);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
    hbitmap_reset(hb, 400, 8);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, 400);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, 400), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, 401), ==, 400);
    g_assert_cmpint(hbitmap_next_zero(hb, 402, 3), ==, 402);
    g_assert_cmpint(hbitmap_next_zero(hb, 408, INT64_MAX), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 999, 1), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 5, 0), ==, -1);
    hbitmap_free(hb);
}

static void test_next_dirty_area(void)
{
    HBitmap *hb = hbitmap_alloc(10000, 0);
    int64_t s = -1, c = -1;

    hbitmap_set(hb, 100, 50);
    hbitmap_set(hb, 9990, 10);

    g_assert_true(hbitmap_next_dirty_area(hb, 0, 10000, INT64_MAX, &s, &c));
    g_assert_cmpint(s, ==, 100);
    g_assert_cmpint(c, ==, 50);
    /* max_dirty_count caps the length. */
    g_assert_true(hbitmap_next_dirty_area(hb, 0, 10000, 16, &s, &c));
    g_assert_cmpint(s, ==, 100);
    g_assert_cmpint(c, ==, 16);
    /* @end cuts the area; starting inside an area starts there. */
    g_assert_true(hbitmap_next_dirty_area(hb, 120, 140, 1000, &s, &c));
    g_assert_cmpint(s, ==, 120);
    g_assert_cmpint(c, ==, 20);
    /* An area running to the end of the bitmap; @end past it is clipped. */
    g_assert_true(hbitmap_next_dirty_area(hb, 150, INT64_MAX, 1000, &s, &c));
    g_assert_cmpint(s, ==, 9990);
    g_assert_cmpint(c, ==, 10);
    /* Nothing found: outputs untouched. */
    s = c = -5;
    g_assert_false(hbitmap_next_dirty_area(hb, 150, 9990, 1000, &s, &c));
    g_assert_false(hbitmap_next_dirty_area(hb, 200, 200, 1000, &s, &c));
    g_assert_cmpint(s, ==, -5);
    g_assert_cmpint(c, ==, -5);
    hbitmap_free(hb);
}

static void test_status(void)
{
    HBitmap *hb = hbitmap_alloc(1000, 0);
    int64_t n;

    hbitmap_set(hb, 100, 50);
    g_assert_false(hbitmap_status(hb, 0, 1000, &n));
    g_assert_cmpint(n, ==, 100);
    g_assert_true(hbitmap_status(hb, 100, 900, &n));
    g_assert_cmpint(n, ==, 50);
    g_assert_true(hbitmap_status(hb, 110, 10, &n));
    g_assert_cmpint(n, ==, 10);
    g_assert_false(hbitmap_status(hb, 150, 850, &n));
    g_assert_cmpint(n, ==, 850);
    g_assert_false(hbitmap_status(hb, 0, 50, &n));
    g_assert_cmpint(n, ==, 50);
    hbitmap_free(hb);
}

/* Truncate. */

static void test_truncate_shrink(void)
{
    HBitmap *hb = hbitmap_alloc(1 << 20, 0);

    hbitmap_set(hb, 0, 1 << 20);
    hbitmap_truncate(hb, 1000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 1000);
    g_assert_true(hbitmap_get(hb, 999));
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
    /* Growing back shows that the dropped bits were really cleared. */
    hbitmap_truncate(hb, 1 << 20);
    g_assert_cmpuint(hbitmap_count(hb), ==, 1000);
    g_assert_false(hbitmap_get(hb, 1000));
    g_assert_cmpint(hbitmap_next_dirty(hb, 1000, INT64_MAX), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, 1000);
    hbitmap_free(hb);
}

static void test_truncate_grow(void)
{
    HBitmap *hb = hbitmap_alloc(70, 0);

    hbitmap_set(hb, 5, 1);
    hbitmap_set(hb, 69, 1);
    hbitmap_truncate(hb, 3000000);
    g_assert_cmpuint(hbitmap_count(hb), ==, 2);
    g_assert_false(hbitmap_get(hb, 2999999));
    hbitmap_set(hb, 2999999, 1);
    assert_items(iter_collect(hb, 0), (const int64_t[]){ 5, 69, 2999999 },
                 3);
    /* And back down through fewer levels. */
    hbitmap_truncate(hb, 64);
    assert_items(iter_collect(hb, 0), (const int64_t[]){ 5 }, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 1);
    /* Up again, and reset everything through the rebuilt levels. */
    hbitmap_truncate(hb, 100000);
    hbitmap_reset_all(hb);
    g_assert_true(hbitmap_empty(hb));
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, -1);
    hbitmap_free(hb);
}

static void test_truncate_granularity(void)
{
    HBitmap *hb = hbitmap_alloc(100, 2);

    hbitmap_set(hb, 0, 100);
    /* 50 items: granule 12 (items 48..51) survives, partly outside. */
    hbitmap_truncate(hb, 50);
    g_assert_cmpuint(hbitmap_count(hb), ==, 50);
    hbitmap_truncate(hb, 100);
    g_assert_cmpuint(hbitmap_count(hb), ==, 52);
    g_assert_true(hbitmap_get(hb, 51));
    g_assert_false(hbitmap_get(hb, 52));
    hbitmap_free(hb);
}

/* Merge. */

static void test_merge_same_granularity(void)
{
    HBitmap *a = hbitmap_alloc(1 << 20, 1);
    HBitmap *b = hbitmap_alloc(1 << 20, 1);
    HBitmap *r = hbitmap_alloc(1 << 20, 1);

    hbitmap_set(a, 0, 10);
    hbitmap_set(b, 5, 10);
    hbitmap_set(b, 700000, 2);
    hbitmap_set(r, 400000, 2);  /* discarded by the merge */
    g_assert_true(hbitmap_can_merge(a, b));
    g_assert_true(hbitmap_merge(a, b, r));
    assert_items(iter_collect(r, 0),
                 (const int64_t[]){ 0, 2, 4, 6, 8, 10, 12, 14, 700000 }, 9);
    g_assert_cmpuint(hbitmap_count(r), ==, 18);
    /* Inputs unchanged. */
    g_assert_cmpuint(hbitmap_count(a), ==, 10);
    g_assert_cmpuint(hbitmap_count(b), ==, 14);
    /* The summary levels of @r know every merged word: reset finds all. */
    hbitmap_reset(r, 0, 1 << 19);
    g_assert_cmpuint(hbitmap_count(r), ==, 2);
    g_assert_cmpint(hbitmap_next_dirty(r, 0, INT64_MAX), ==, 700000);

    /* Into one of the inputs. */
    g_assert_true(hbitmap_merge(a, b, a));
    g_assert_cmpuint(hbitmap_count(a), ==, 18);
    g_assert_true(hbitmap_get(a, 700001));
    hbitmap_free(a);
    hbitmap_free(b);
    hbitmap_free(r);
}

static void test_merge_small(void)
{
    /* Bitmaps of one word: no summary levels to walk. */
    HBitmap *a = hbitmap_alloc(64, 0);
    HBitmap *b = hbitmap_alloc(64, 0);

    hbitmap_set(a, 0, 1);
    hbitmap_set(b, 63, 1);
    g_assert_true(hbitmap_merge(a, b, a));
    assert_items(iter_collect(a, 0), (const int64_t[]){ 0, 63 }, 2);
    g_assert_cmpuint(hbitmap_count(a), ==, 2);
    hbitmap_free(a);
    hbitmap_free(b);
}

static void test_merge_different_granularity(void)
{
    HBitmap *fine = hbitmap_alloc(1000, 0);
    HBitmap *coarse = hbitmap_alloc(1000, 4);

    hbitmap_set(fine, 17, 1);
    hbitmap_set(fine, 999, 1);
    hbitmap_set(coarse, 500, 1);
    g_assert_true(hbitmap_merge(fine, coarse, coarse));
    assert_items(iter_collect(coarse, 0),
                 (const int64_t[]){ 16, 496, 992 }, 3);
    g_assert_true(hbitmap_merge(coarse, fine, fine));
    g_assert_cmpuint(hbitmap_count(fine), ==, 16 + 16 + 8);
    g_assert_true(hbitmap_get(fine, 511));
    hbitmap_free(fine);
    hbitmap_free(coarse);
}

static void test_merge_size_mismatch(void)
{
    HBitmap *a = hbitmap_alloc(1000, 0);
    HBitmap *b = hbitmap_alloc(1001, 0);
    HBitmap *r = hbitmap_alloc(1000, 0);

    hbitmap_set(b, 3, 1);
    hbitmap_set(r, 7, 1);
    g_assert_false(hbitmap_can_merge(a, b));
    g_assert_false(hbitmap_merge(a, b, r));
    g_assert_false(hbitmap_merge(b, a, a));
    g_assert_true(hbitmap_get(r, 7));
    g_assert_true(hbitmap_empty(a));
    hbitmap_free(a);
    hbitmap_free(b);
    hbitmap_free(r);
}

/* Serialization. */

static void test_serialize_geometry(void)
{
    HBitmap *hb = hbitmap_alloc(100000, 3);

    g_assert_true(hbitmap_is_serializable(hb));
    g_assert_cmpuint(hbitmap_serialization_align(hb), ==, 512);
    g_assert_cmpuint(hbitmap_serialization_size(hb, 0, 0), ==, 0);
    g_assert_cmpuint(hbitmap_serialization_size(hb, 0, 512), ==, 8);
    g_assert_cmpuint(hbitmap_serialization_size(hb, 1024, 2048), ==, 32);
    /* 12500 granules: 196 words; the last chunk may be short. */
    g_assert_cmpuint(hbitmap_serialization_size(hb, 0, 100000), ==, 196 * 8);
    g_assert_cmpuint(hbitmap_serialization_size(hb, 99840, 160), ==, 8);
    hbitmap_free(hb);

    hb = hbitmap_alloc(1000, 57);
    g_assert_true(hbitmap_is_serializable(hb));
    hbitmap_free(hb);
    hb = hbitmap_alloc(1000, 58);
    g_assert_false(hbitmap_is_serializable(hb));
    hbitmap_free(hb);
}

static void test_serialize_format(void)
{
    HBitmap *hb = hbitmap_alloc(200, 0);
    uint8_t buf[32];

    hbitmap_set(hb, 0, 1);
    hbitmap_set(hb, 9, 1);
    hbitmap_set(hb, 64 + 63, 1);
    hbitmap_set(hb, 199, 1);
    g_assert_cmpuint(hbitmap_serialization_size(hb, 0, 200), ==, 32);
    hbitmap_serialize_part(hb, buf, 0, 200);
    /* Little-endian 64-bit words: granule n is bit n % 8 of byte n / 8. */
    g_assert_cmphex(buf[0], ==, 0x01);
    g_assert_cmphex(buf[1], ==, 0x02);
    g_assert_cmphex(buf[15], ==, 0x80);
    g_assert_cmphex(buf[24], ==, 0x80);
    g_assert_cmphex(buf[25], ==, 0x00);
    hbitmap_free(hb);
}

/* Save @src in chunks of @chunk items and load them into @dst. */
static void copy_by_parts(const HBitmap *src, HBitmap *dst,
                          uint64_t size, uint64_t chunk)
{
    g_autofree uint8_t *buf = g_malloc(hbitmap_serialization_size(src, 0,
                                                                  size));
    uint64_t start, n, off = 0;

    for (start = 0; start < size; start += n) {
        n = MIN(chunk, size - start);
        hbitmap_serialize_part(src, buf + off, start, n);
        off += hbitmap_serialization_size(src, start, n);
    }
    off = 0;
    for (start = 0; start < size; start += n) {
        n = MIN(chunk, size - start);
        hbitmap_deserialize_part(dst, buf + off, start, n,
                                 start + n == size);
        off += hbitmap_serialization_size(dst, start, n);
    }
}

static void assert_same(const HBitmap *a, const HBitmap *b, uint64_t size)
{
    uint64_t i, step = 1ULL << hbitmap_granularity(a);

    g_assert_cmpuint(hbitmap_count(a), ==, hbitmap_count(b));
    for (i = 0; i < size; i += step) {
        g_assert_cmpint(hbitmap_get(a, i), ==, hbitmap_get(b, i));
    }
}

static void test_serialize_round_trip(void)
{
    const uint64_t size = 64 * 4 * 37 + 13;    /* granularity 2 */
    HBitmap *src = hbitmap_alloc(size, 2);
    HBitmap *dst = hbitmap_alloc(size, 2);
    uint64_t align = hbitmap_serialization_align(src);
    g_autofree char *src_hash = NULL;
    g_autofree char *dst_hash = NULL;
    int i;

    for (i = 0; i < 300; i++) {
        uint64_t s = rand_range(0, size);
        uint64_t n = rand_range(1, 40);

        hbitmap_set(src, s, MIN(size - s, n));
    }
    hbitmap_set(src, size - 1, 1);
    /* Loading replaces the old contents, so start from all-dirty. */
    hbitmap_set(dst, 0, size);
    copy_by_parts(src, dst, size, 3 * align);
    assert_same(src, dst, size);
    src_hash = hbitmap_sha256(src, &error_abort);
    dst_hash = hbitmap_sha256(dst, &error_abort);
    g_assert_cmpstr(src_hash, ==, dst_hash);

    /* Search structures were rebuilt: iteration agrees too. */
    hbitmap_reset_all(dst);
    copy_by_parts(src, dst, size, align);
    g_assert_cmpint(hbitmap_next_dirty(dst, 0, INT64_MAX), ==,
                    hbitmap_next_dirty(src, 0, INT64_MAX));
    assert_same(src, dst, size);
    /* Reset walks the rebuilt summary levels: it must reach every word. */
    hbitmap_reset_all(dst);
    g_assert_true(hbitmap_empty(dst));
    g_assert_cmpint(hbitmap_next_dirty(dst, 0, INT64_MAX), ==, -1);
    hbitmap_free(src);
    hbitmap_free(dst);
}

static void test_deserialize_zeroes_ones(void)
{
    HBitmap *hb = hbitmap_alloc(1000, 0);
    uint8_t ones[8];

    hbitmap_deserialize_ones(hb, 0, 128, false);
    hbitmap_deserialize_ones(hb, 896, 104, false);
    hbitmap_deserialize_zeroes(hb, 0, 64, true);
    /* The last word held bits past the end; they were dropped. */
    g_assert_cmpuint(hbitmap_count(hb), ==, 64 + 104);
    assert_items(iter_collect(hb, 998), (const int64_t[]){ 998, 999 }, 2);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, 64);

    /* The same for an explicit buffer, finished separately. */
    memset(ones, 0xff, sizeof(ones));
    hbitmap_deserialize_part(hb, ones, 960, 40, false);
    hbitmap_deserialize_finish(hb);
    g_assert_cmpuint(hbitmap_count(hb), ==, 64 + 104);
    hbitmap_free(hb);
}

static void test_deserialize_ones_sizes(void)
{
    uint64_t size;

    /* Whatever the size, loading all-ones never sets bits past the end. */
    for (size = 1; size <= 200; size++) {
        HBitmap *hb = hbitmap_alloc(size, 0);

        hbitmap_deserialize_ones(hb, 0, size, true);
        g_assert_cmpuint(hbitmap_count(hb), ==, size);
        g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
        hbitmap_reset_all(hb);
        g_assert_true(hbitmap_empty(hb));
        hbitmap_free(hb);
    }
}

static void test_serialize_unaligned_aborts(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(1000, 0);

        hbitmap_serialization_size(hb, 32, 64);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*QEMU_IS_ALIGNED*");
}

static void test_serialize_short_chunk_aborts(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(1000, 0);

        /* Only the chunk that ends the bitmap may be short. */
        hbitmap_serialization_size(hb, 0, 100);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*QEMU_IS_ALIGNED(count, align)*");
}

static void test_sha256(void)
{
    HBitmap *a = hbitmap_alloc(64, 0);
    HBitmap *b = hbitmap_alloc(64, 0);
    g_autofree char *empty = hbitmap_sha256(a, &error_abort);
    g_autofree char *changed = NULL;

    /* The hash of the serialized form: eight zero bytes. */
    g_assert_cmpstr(empty, ==, "af5570f5a1810b7af78caf4bc70a660f"
                               "0df51e42baf91d4de5b2328de0e83dfc");
    hbitmap_set(b, 0, 1);
    hbitmap_set(b, 9, 1);
    changed = hbitmap_sha256(b, NULL);
    g_assert_cmpstr(changed, ==, "494ea659823c4b2beb4bb7d05bfc7e50"
                                 "5afe4815bb7ab8e4d1810e9f3787ce68");
    hbitmap_free(a);
    hbitmap_free(b);
}

/* Meta bitmap. */

static void test_meta_marks_changes(void)
{
    HBitmap *hb = hbitmap_alloc(4096, 0);
    HBitmap *meta = hbitmap_create_meta(hb, 64);

    g_assert_cmpint(hbitmap_granularity(meta), ==, 6);
    g_assert_true(hbitmap_empty(meta));
    hbitmap_set(hb, 100, 50);   /* chunks 64..127 and 128..191 */
    assert_items(iter_collect(meta, 0), (const int64_t[]){ 64, 128 }, 2);

    /* No change, no mark. */
    hbitmap_reset_all(meta);
    hbitmap_set(hb, 110, 10);
    hbitmap_reset(hb, 1000, 24);
    g_assert_true(hbitmap_empty(meta));

    /* Only the chunks that actually flipped are marked. */
    hbitmap_set(hb, 120, 20);   /* 120..139 dirty already, 140..149 too */
    g_assert_true(hbitmap_empty(meta));
    hbitmap_set(hb, 140, 200);  /* new bits from 150 on */
    assert_items(iter_collect(meta, 0),
                 (const int64_t[]){ 128, 192, 256, 320 }, 4);

    hbitmap_reset_all(meta);
    hbitmap_reset(hb, 0, 128);  /* clears 100..127 */
    assert_items(iter_collect(meta, 0), (const int64_t[]){ 64 }, 1);

    hbitmap_reset_all(meta);
    hbitmap_reset_all(hb);
    assert_items(iter_collect(meta, 0),
                 (const int64_t[]){ 128, 192, 256, 320 }, 4);
    hbitmap_free_meta(hb);
    hbitmap_free(hb);
}

static void test_meta_merge_truncate(void)
{
    HBitmap *hb = hbitmap_alloc(4096, 0);
    HBitmap *other = hbitmap_alloc(4096, 0);
    HBitmap *meta = hbitmap_create_meta(hb, 1024);

    hbitmap_set(other, 3000, 1);
    hbitmap_set(hb, 10, 1);
    hbitmap_reset_all(meta);
    g_assert_true(hbitmap_merge(hb, other, hb));
    assert_items(iter_collect(meta, 0), (const int64_t[]){ 2048 }, 1);

    /* Truncating @hb resizes its meta bitmap with it. */
    hbitmap_truncate(hb, 1500);
    assert_items(iter_collect(meta, 0), NULL, 0);
    hbitmap_set(hb, 1499, 1);
    assert_items(iter_collect(meta, 0), (const int64_t[]){ 1024 }, 1);
    hbitmap_free_meta(hb);
    hbitmap_free(hb);
    hbitmap_free(other);
}

static void test_meta_free_required(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(100, 0);

        hbitmap_create_meta(hb, 8);
        hbitmap_free(hb);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*!hb->meta*");
}

/* Large, sparse bitmaps. */

#define BIG_SIZE (1ULL << 40)   /* 1 TiB of bytes ... */
#define BIG_GRAN 16             /* ... at 64 KiB: 2^24 granules */

static void test_big_sparse(void)
{
    HBitmap *hb = hbitmap_alloc(BIG_SIZE, BIG_GRAN);
    uint64_t g = 1ULL << BIG_GRAN;
    int64_t s, c;
    int i;

    hbitmap_set(hb, BIG_SIZE / 3, 1);
    hbitmap_set(hb, BIG_SIZE - 1, 1);
    g_assert_cmpuint(hbitmap_count(hb), ==, 2 * g);
    /*
     * Many searches across the empty terabyte.  Each costs a few word
     * reads through the summary levels; a scan of the 2 MiB granule level
     * each time would take minutes and trip the test timeout.
     */
    for (i = 0; i < 100000; i++) {
        g_assert_cmpint(hbitmap_next_dirty(hb, g, INT64_MAX), ==,
                        QEMU_ALIGN_DOWN(BIG_SIZE / 3, g));
        g_assert_true(hbitmap_next_dirty_area(hb, BIG_SIZE / 2, BIG_SIZE,
                                              INT64_MAX, &s, &c));
        g_assert_cmpint(s, ==, BIG_SIZE - g);
    }
    /* Reset of the whole range costs in proportion to the dirty words. */
    for (i = 0; i < 100000; i++) {
        hbitmap_set(hb, (uint64_t)i * 7919 * g % BIG_SIZE, 1);
        hbitmap_reset(hb, 0, BIG_SIZE);
    }
    g_assert_true(hbitmap_empty(hb));

    /* The whole terabyte at once, word by word. */
    hbitmap_set(hb, 0, BIG_SIZE);
    g_assert_cmpuint(hbitmap_count(hb), ==, BIG_SIZE);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
    hbitmap_reset(hb, BIG_SIZE / 2, BIG_SIZE / 4);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, BIG_SIZE / 2);
    g_assert_cmpint(hbitmap_next_dirty(hb, BIG_SIZE / 2, INT64_MAX), ==,
                    BIG_SIZE / 4 * 3);
    hbitmap_free(hb);
}

/* Randomized comparison with a flat model. */

typedef struct Model {
    HBitmap *hb;
    HBitmap *meta;              /* one bit per granule of hb */
    unsigned long *bits;        /* the model: one bit per granule */
    unsigned long *before;      /* the model before the last operation */
    unsigned long *diff;        /* granules the last operation flipped */
    uint64_t size;              /* items */
    uint64_t granules;
    int gran;
} Model;

static void model_init(Model *m, uint64_t size, int gran)
{
    m->size = size;
    m->gran = gran;
    m->granules = ((size - 1) >> gran) + 1;
    m->hb = hbitmap_alloc(size, gran);
    m->meta = hbitmap_create_meta(m->hb, 1);
    m->bits = bitmap_new(m->granules);
    m->before = bitmap_new(m->granules);
    m->diff = bitmap_new(m->granules);
}

static void model_destroy(Model *m)
{
    hbitmap_free_meta(m->hb);
    hbitmap_free(m->hb);
    g_free(m->bits);
    g_free(m->before);
    g_free(m->diff);
}

static uint64_t model_count(const Model *m)
{
    uint64_t n = bitmap_count_one(m->bits, m->granules) << m->gran;

    if (test_bit(m->granules - 1, m->bits)) {
        n -= (m->granules << m->gran) - m->size;
    }
    return n;
}

/*
 * The first item in [@start, @start + @count) whose granule is @dirty in
 * the model, or -1; found with the flat searches of qemu/bitops.h.
 */
static int64_t model_next(const Model *m, int64_t start, int64_t count,
                          bool dirty)
{
    uint64_t end = MIN((uint64_t)start + count, m->size);
    uint64_t first = start >> m->gran, last = (end - 1) >> m->gran, g;

    g = dirty ? find_next_bit(m->bits, last + 1, first)
              : find_next_zero_bit(m->bits, last + 1, first);
    if (g > last) {
        return -1;
    }
    return MAX((uint64_t)start, g << m->gran);
}

/* A random range [*start, *start + *count) inside the bitmap. */
static void random_range(const Model *m, uint64_t *start, uint64_t *count)
{
    uint64_t max_len = rand_range(0, 4) == 0 ? m->size : 200;

    *start = rand_range(0, m->size);
    *count = rand_range(1, MIN(max_len, m->size - *start) + 1);
}

static void model_mutate(Model *m)
{
    uint64_t start, count, unit = 1ULL << m->gran, first, last;

    bitmap_copy(m->before, m->bits, m->granules);
    random_range(m, &start, &count);
    if (rand_range(0, 2)) {
        hbitmap_set(m->hb, start, count);
        bitmap_set(m->bits, start >> m->gran,
                   ((start + count - 1) >> m->gran) - (start >> m->gran) + 1);
        return;
    }
    /* Resets take whole granules. */
    first = QEMU_ALIGN_DOWN(start, unit);
    last = MIN(QEMU_ALIGN_UP(start + count, unit), m->size);
    hbitmap_reset(m->hb, first, last - first);
    bitmap_clear(m->bits, first >> m->gran,
                 ((last - 1) >> m->gran) - (first >> m->gran) + 1);
}

/* Walk @hb and check that its dirty granules are exactly those of @bits. */
static void assert_iter_matches(const HBitmap *hb, const unsigned long *bits,
                                uint64_t granules, int gran)
{
    HBitmapIter hbi;
    uint64_t g = 0;
    int64_t item;

    hbitmap_iter_init(&hbi, hb, 0);
    while ((item = hbitmap_iter_next(&hbi)) >= 0) {
        g_assert_cmpuint(item, ==, find_next_bit(bits, granules, g) << gran);
        g = (item >> gran) + 1;
    }
    g_assert_cmpuint(find_next_bit(bits, granules, g), ==, granules);
}

/* The meta bitmap must hold exactly the granules that flipped. */
static void model_check_meta(Model *m)
{
    bitmap_xor(m->diff, m->bits, m->before, m->granules);
    assert_iter_matches(m->meta, m->diff, m->granules, m->gran);
    hbitmap_reset_all(m->meta);
}

static void model_check_queries(const Model *m)
{
    uint64_t start, count;
    int64_t s = -1, c = -1, pnum, want;
    bool dirty;

    random_range(m, &start, &count);
    g_assert_cmpint(hbitmap_next_dirty(m->hb, start, count), ==,
                    model_next(m, start, count, true));
    g_assert_cmpint(hbitmap_next_zero(m->hb, start, count), ==,
                    model_next(m, start, count, false));

    want = model_next(m, start, count, true);
    g_assert_cmpint(hbitmap_next_dirty_area(m->hb, start, start + count, 50,
                                            &s, &c), ==, want >= 0);
    if (want >= 0) {
        int64_t z = model_next(m, want, MIN(50, start + count - want), false);

        g_assert_cmpint(s, ==, want);
        g_assert_cmpint(c, ==, (z < 0 ? MIN(50, start + count - want)
                                      : z - want));
    }

    dirty = hbitmap_status(m->hb, start, count, &pnum);
    g_assert_cmpint(dirty, ==, test_bit(start >> m->gran, m->bits));
    want = model_next(m, start, count, !dirty);
    g_assert_cmpint(pnum, ==, want < 0 ? (int64_t)count : want - start);
}

/* Compare the whole bitmap with the model. */
static void model_check_all(const Model *m)
{
    uint64_t i;

    g_assert_cmpuint(hbitmap_count(m->hb), ==, model_count(m));
    g_assert_cmpint(hbitmap_empty(m->hb), ==,
                    bitmap_empty(m->bits, m->granules));
    assert_iter_matches(m->hb, m->bits, m->granules, m->gran);
    for (i = 0; i < m->granules; i += 1 + i / 64) {
        g_assert_cmpint(hbitmap_get(m->hb, i << m->gran), ==,
                        test_bit(i, m->bits));
    }
}

static void run_random(uint64_t size, int gran, int ops)
{
    Model m;
    int i;

    model_init(&m, size, gran);
    for (i = 0; i < ops; i++) {
        model_mutate(&m);
        model_check_meta(&m);
        model_check_queries(&m);
        g_assert_cmpuint(hbitmap_count(m.hb), ==, model_count(&m));
        if (i % 64 == 0) {
            model_check_all(&m);
        }
    }
    model_check_all(&m);
    model_destroy(&m);
}

static void test_random_g0(void)
{
    run_random(5000, 0, 10000);
}

static void test_random_g3(void)
{
    /* A partial last granule. */
    run_random(8 * 700 + 5, 3, 10000);
}

static void test_random_multilevel(void)
{
    /* Three summary levels above the granules. */
    run_random(300000, 0, 3000);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    rng = g_rand_new_with_seed(RANDOM_SEED);
    g_test_add_func("/hbitmap/alloc/empty", test_alloc_empty);
    g_test_add_func("/hbitmap/alloc/zero-size", test_alloc_zero_size);
    g_test_add_func("/hbitmap/set/get", test_set_get);
    g_test_add_func("/hbitmap/set/range", test_set_range);
    g_test_add_func("/hbitmap/set/out-of-range-aborts",
                    test_set_out_of_range_aborts);
    g_test_add_func("/hbitmap/granularity/rounding", test_granularity);
    g_test_add_func("/hbitmap/granularity/extreme", test_granularity_extreme);
    g_test_add_func("/hbitmap/reset/range", test_reset);
    g_test_add_func("/hbitmap/reset/granularity", test_reset_granularity);
    g_test_add_func("/hbitmap/reset/unaligned-aborts",
                    test_reset_unaligned_aborts);
    g_test_add_func("/hbitmap/reset/all", test_reset_all);
    g_test_add_func("/hbitmap/iter/basic", test_iter);
    g_test_add_func("/hbitmap/iter/modify", test_iter_modify);
    g_test_add_func("/hbitmap/next-dirty", test_next_dirty);
    g_test_add_func("/hbitmap/next-zero", test_next_zero);
    g_test_add_func("/hbitmap/next-dirty-area", test_next_dirty_area);
    g_test_add_func("/hbitmap/status", test_status);
    g_test_add_func("/hbitmap/truncate/shrink", test_truncate_shrink);
    g_test_add_func("/hbitmap/truncate/grow", test_truncate_grow);
    g_test_add_func("/hbitmap/truncate/granularity",
                    test_truncate_granularity);
    g_test_add_func("/hbitmap/merge/same-granularity",
                    test_merge_same_granularity);
    g_test_add_func("/hbitmap/merge/small", test_merge_small);
    g_test_add_func("/hbitmap/merge/different-granularity",
                    test_merge_different_granularity);
    g_test_add_func("/hbitmap/merge/size-mismatch", test_merge_size_mismatch);
    g_test_add_func("/hbitmap/serialize/geometry", test_serialize_geometry);
    g_test_add_func("/hbitmap/serialize/format", test_serialize_format);
    g_test_add_func("/hbitmap/serialize/round-trip",
                    test_serialize_round_trip);
    g_test_add_func("/hbitmap/serialize/zeroes-ones",
                    test_deserialize_zeroes_ones);
    g_test_add_func("/hbitmap/serialize/ones-sizes",
                    test_deserialize_ones_sizes);
    g_test_add_func("/hbitmap/serialize/unaligned-aborts",
                    test_serialize_unaligned_aborts);
    g_test_add_func("/hbitmap/serialize/short-chunk-aborts",
                    test_serialize_short_chunk_aborts);
    g_test_add_func("/hbitmap/sha256", test_sha256);
    g_test_add_func("/hbitmap/meta/marks-changes", test_meta_marks_changes);
    g_test_add_func("/hbitmap/meta/merge-truncate", test_meta_merge_truncate);
    g_test_add_func("/hbitmap/meta/free-required", test_meta_free_required);
    g_test_add_func("/hbitmap/big/sparse", test_big_sparse);
    g_test_add_func("/hbitmap/random/granularity-0", test_random_g0);
    g_test_add_func("/hbitmap/random/granularity-3", test_random_g3);
    g_test_add_func("/hbitmap/random/multilevel", test_random_multilevel);
    ret = g_test_run();
    g_rand_free(rng);
    return ret;
}
