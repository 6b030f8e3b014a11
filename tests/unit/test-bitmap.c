/*
 * Tests for qemu/host-utils.h, qemu/bitops.h and qemu/bitmap.h.
 *
 * Range operations are checked against a model (one bool per bit) for
 * every start/length pair near word boundaries, with guard words around
 * the bitmap so that a write outside the range shows up.  Random contents
 * come from a fixed seed, so every run is the same.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "qemu/bitops.h"
#include "qemu/bitmap.h"

#define NBITS 300               /* bits in the test bitmaps */
#define NWORDS BITS_TO_LONGS(NBITS)
#define GUARD 0x5aUL            /* pattern stored past the bitmap */
#define RANDOM_SEED 0xb17b17u

static GRand *rng;

static void fill_random(unsigned long *map, long nwords)
{
    long i;

    for (i = 0; i < nwords; i++) {
        /* Two shifts, so that a 32-bit long is not shifted by its width. */
        map[i] = ((unsigned long)g_rand_int(rng) << 16 << 16) ^
                 (unsigned long)g_rand_int(rng);
    }
}

/* Compare every bit of @map in [0, @nbits) with @model. */
static void assert_matches(const unsigned long *map, const bool *model,
                           long nbits)
{
    long i;

    for (i = 0; i < nbits; i++) {
        if (test_bit(i, map) != model[i]) {
            g_error("bit %ld is %d, model says %d", i, test_bit(i, map),
                    model[i]);
        }
    }
}

static void to_model(const unsigned long *map, bool *model, long nbits)
{
    long i;

    for (i = 0; i < nbits; i++) {
        model[i] = test_bit(i, map);
    }
}

/* host-utils.h */

static void test_clz_ctz(void)
{
    g_assert_cmpint(clz32(0), ==, 32);
    g_assert_cmpint(clz32(1), ==, 31);
    g_assert_cmpint(clz32(0x80000000u), ==, 0);
    g_assert_cmpint(clz64(0), ==, 64);
    g_assert_cmpint(clz64(1), ==, 63);
    g_assert_cmpint(clz64(1ULL << 40), ==, 23);
    g_assert_cmpint(clz8(0), ==, 8);
    g_assert_cmpint(clz8(0x10), ==, 3);
    g_assert_cmpint(clz16(0), ==, 16);
    g_assert_cmpint(clz16(0x0100), ==, 7);

    g_assert_cmpint(ctz32(0), ==, 32);
    g_assert_cmpint(ctz32(0x80000000u), ==, 31);
    g_assert_cmpint(ctz64(0), ==, 64);
    g_assert_cmpint(ctz64(1ULL << 50), ==, 50);
    g_assert_cmpint(ctz8(0), ==, 8);
    g_assert_cmpint(ctz8(0x40), ==, 6);
    g_assert_cmpint(ctz16(0), ==, 16);
    g_assert_cmpint(ctz16(0x8000), ==, 15);

    g_assert_cmpint(clo8(0xe0), ==, 3);
    g_assert_cmpint(clo16(0xffff), ==, 16);
    g_assert_cmpint(clo32(0xf0000000u), ==, 4);
    g_assert_cmpint(clo64(~0ULL), ==, 64);
    g_assert_cmpint(cto8(0x07), ==, 3);
    g_assert_cmpint(cto16(0), ==, 0);
    g_assert_cmpint(cto32(0xffffffffu), ==, 32);
    g_assert_cmpint(cto64(0xffULL), ==, 8);

    g_assert_cmpint(clrsb32(0), ==, 31);
    g_assert_cmpint(clrsb32(0xffffffffu), ==, 31);
    g_assert_cmpint(clrsb32(1), ==, 30);
    g_assert_cmpint(clrsb64(0x8000000000000000ULL), ==, 0);
    g_assert_cmpint(clrsb64(0), ==, 63);

    g_assert_cmpint(clzl(1UL), ==, BITS_PER_LONG - 1);
    g_assert_cmpint(ctzl(0UL), ==, BITS_PER_LONG);
    g_assert_cmpint(clol(~0UL), ==, BITS_PER_LONG);
    g_assert_cmpint(ctol(3UL), ==, 2);
}

static void test_ctpop_revbit(void)
{
    g_assert_cmpint(ctpop8(0xff), ==, 8);
    g_assert_cmpint(ctpop16(0x8001), ==, 2);
    g_assert_cmpint(ctpop32(0), ==, 0);
    g_assert_cmpint(ctpop32(0xf0f0f0f0u), ==, 16);
    g_assert_cmpint(ctpop64(~0ULL), ==, 64);
    g_assert_cmpint(ctpop64(0x8000000000000001ULL), ==, 2);
    g_assert_cmpint(ctpopl(~0UL), ==, BITS_PER_LONG);

    g_assert_cmphex(revbit8(0x01), ==, 0x80);
    g_assert_cmphex(revbit8(0x0e), ==, 0x70);
    g_assert_cmphex(revbit16(0x0001), ==, 0x8000);
    g_assert_cmphex(revbit32(0x00000003u), ==, 0xc0000000u);
    g_assert_cmphex(revbit64(0x1ULL), ==, 0x8000000000000000ULL);
    g_assert_cmphex(revbit64(0x0123456789abcdefULL), ==,
                    0xf7b3d591e6a2c480ULL);
    g_assert_cmphex(revbitl(1UL), ==, 1UL << (BITS_PER_LONG - 1));
}

static void test_pow2(void)
{
    g_assert_false(is_power_of_2(0));
    g_assert_true(is_power_of_2(1));
    g_assert_true(is_power_of_2(1ULL << 63));
    g_assert_false(is_power_of_2(6));

    g_assert_cmpuint(pow2floor(0), ==, 0);
    g_assert_cmpuint(pow2floor(1), ==, 1);
    g_assert_cmpuint(pow2floor(7), ==, 4);
    g_assert_cmpuint(pow2floor(~0ULL), ==, 1ULL << 63);

    g_assert_cmpuint(pow2ceil(0), ==, 1);
    g_assert_cmpuint(pow2ceil(1), ==, 1);
    g_assert_cmpuint(pow2ceil(2), ==, 2);
    g_assert_cmpuint(pow2ceil(3), ==, 4);
    g_assert_cmpuint(pow2ceil(1ULL << 63), ==, 1ULL << 63);
    g_assert_cmpuint(pow2ceil((1ULL << 63) + 1), ==, 0);

    /* Strictly greater than the argument, wrapping to 0 at 2^32. */
    g_assert_cmpuint(pow2roundup32(0), ==, 1);
    g_assert_cmpuint(pow2roundup32(4), ==, 8);
    g_assert_cmpuint(pow2roundup32(5), ==, 8);
    g_assert_cmpuint(pow2roundup32(0x7fffffffu), ==, 0x80000000u);
    g_assert_cmpuint(pow2roundup32(0x80000000u), ==, 0);
}

static void test_mul_div(void)
{
    uint64_t lo, hi;

    mulu64(&lo, &hi, ~0ULL, ~0ULL);
    g_assert_cmphex(lo, ==, 1);
    g_assert_cmphex(hi, ==, ~0ULL - 1);
    muls64(&lo, &hi, -2, 3);
    g_assert_cmphex(lo, ==, (uint64_t)-6);
    g_assert_cmphex(hi, ==, ~0ULL);

    /* The product overflows 64 bits; the quotient does not. */
    g_assert_cmpuint(muldiv64(1ULL << 62, 1000000000u, 1000000000u), ==,
                     1ULL << 62);
    g_assert_cmpuint(muldiv64(10, 3, 4), ==, 7);
    g_assert_cmpuint(muldiv64_round_up(10, 3, 4), ==, 8);
    g_assert_cmpuint(muldiv64_round_up(8, 3, 4), ==, 6);
}

static void test_overflow(void)
{
    uint32_t r32;
    uint64_t r64;
    int64_t s64;

    g_assert_false(uadd32_overflow(1, 2, &r32));
    g_assert_cmpuint(r32, ==, 3);
    g_assert_true(uadd32_overflow(UINT32_MAX, 1, &r32));
    g_assert_cmpuint(r32, ==, 0);
    g_assert_true(uadd64_overflow(UINT64_MAX, 2, &r64));
    g_assert_cmpuint(r64, ==, 1);
    g_assert_true(usub64_overflow(1, 2, &r64));
    g_assert_false(usub64_overflow(2, 1, &r64));
    g_assert_true(umul64_overflow(1ULL << 32, 1ULL << 32, &r64));
    g_assert_false(umul64_overflow(1ULL << 31, 1ULL << 32, &r64));
    g_assert_true(sadd64_overflow(INT64_MAX, 1, &s64));
    g_assert_true(ssub64_overflow(INT64_MIN, 1, &s64));
    g_assert_false(ssub64_overflow(0, INT64_MAX, &s64));
    g_assert_cmpint(s64, ==, -INT64_MAX);
    g_assert_true(smul64_overflow(INT64_MIN, -1, &s64));
}

/* bitops.h */

static void test_macros(void)
{
    g_assert_cmpint(BITS_PER_LONG, ==, sizeof(unsigned long) * 8);
    g_assert_cmphex(BIT(3), ==, 8);
    g_assert_cmphex(BIT_ULL(40), ==, 1ULL << 40);
    g_assert_cmphex(BIT_MASK(BITS_PER_LONG + 2), ==, 4);
    g_assert_cmpint(BIT_WORD(2 * BITS_PER_LONG + 1), ==, 2);
    g_assert_cmpint(BITS_TO_LONGS(0), ==, 0);
    g_assert_cmpint(BITS_TO_LONGS(1), ==, 1);
    g_assert_cmpint(BITS_TO_LONGS(BITS_PER_LONG + 1), ==, 2);
    g_assert_cmphex(MAKE_64BIT_MASK(4, 8), ==, 0xff0);
    g_assert_cmphex(MAKE_64BIT_MASK(0, 64), ==, ~0ULL);
}

static void test_single_bits(void)
{
    DECLARE_BITMAP(map, 2 * BITS_PER_LONG) = { 0 };
    long last = 2 * BITS_PER_LONG - 1;

    set_bit(0, map);
    set_bit(BITS_PER_LONG, map);
    set_bit(last, map);
    g_assert_cmphex(map[0], ==, 1);
    g_assert_cmphex(map[1], ==, 1 | (1UL << (BITS_PER_LONG - 1)));
    g_assert_cmpint(test_bit(last, map), ==, 1);
    g_assert_cmpint(test_bit(1, map), ==, 0);

    clear_bit(BITS_PER_LONG, map);
    g_assert_cmpint(test_bit(BITS_PER_LONG, map), ==, 0);
    change_bit(5, map);
    g_assert_cmpint(test_bit(5, map), ==, 1);
    change_bit(5, map);
    g_assert_cmpint(test_bit(5, map), ==, 0);

    set_bit_atomic(70, map);
    g_assert_cmpint(test_bit(70, map), ==, 1);
    clear_bit_atomic(70, map);
    g_assert_cmpint(test_bit(70, map), ==, 0);
    g_assert_cmphex(map[0], ==, 1);
}

static void test_test_and(void)
{
    unsigned long map[2] = { 0, 0 };

    g_assert_cmpint(test_and_set_bit(65, map), ==, 0);
    g_assert_cmpint(test_and_set_bit(65, map), ==, 1);
    g_assert_cmpint(test_and_clear_bit(65, map), ==, 1);
    g_assert_cmpint(test_and_clear_bit(65, map), ==, 0);
    g_assert_cmpint(test_and_change_bit(3, map), ==, 0);
    g_assert_cmpint(test_and_change_bit(3, map), ==, 1);
    g_assert_cmphex(map[0] | map[1], ==, 0);
}

static long naive_next(const unsigned long *map, long size, long off, int v)
{
    for (; off < size; off++) {
        if (test_bit(off, map) == v) {
            return off;
        }
    }
    return size;
}

static long naive_last(const unsigned long *map, long size)
{
    long i;

    for (i = size - 1; i >= 0; i--) {
        if (test_bit(i, map)) {
            return i;
        }
    }
    return size;
}

static void test_find_model(void)
{
    unsigned long map[NWORDS];
    int round;
    long size, off;

    for (round = 0; round < 40; round++) {
        fill_random(map, NWORDS);
        /* Sparse or dense maps, so that both searches must skip words. */
        if (round % 4 == 1) {
            bitmap_zero(map, NBITS);
            set_bit(g_rand_int_range(rng, 0, NBITS), map);
        } else if (round % 4 == 2) {
            bitmap_fill(map, NBITS);
            clear_bit(g_rand_int_range(rng, 0, NBITS), map);
        }
        size = g_rand_int_range(rng, 0, NBITS + 1);
        for (off = 0; off <= size + 1; off++) {
            g_assert_cmpuint(find_next_bit(map, size, off), ==,
                             naive_next(map, size, off, 1));
            g_assert_cmpuint(find_next_zero_bit(map, size, off), ==,
                             naive_next(map, size, off, 0));
        }
        g_assert_cmpuint(find_first_bit(map, size), ==,
                         naive_next(map, size, 0, 1));
        g_assert_cmpuint(find_first_zero_bit(map, size), ==,
                         naive_next(map, size, 0, 0));
        g_assert_cmpuint(find_last_bit(map, size), ==, naive_last(map, size));
    }
}

static void test_find_edges(void)
{
    unsigned long map[2] = { 0, ~0UL };

    /* Set bits past @size are never reported. */
    g_assert_cmpuint(find_next_bit(map, BITS_PER_LONG, 0), ==,
                     BITS_PER_LONG);
    g_assert_cmpuint(find_last_bit(map, BITS_PER_LONG), ==, BITS_PER_LONG);
    g_assert_cmpuint(find_next_bit(map, BITS_PER_LONG + 1, 0), ==,
                     BITS_PER_LONG);
    g_assert_cmpuint(find_first_zero_bit(map, 2 * BITS_PER_LONG), ==, 0);
    g_assert_cmpuint(find_next_zero_bit(map, 2 * BITS_PER_LONG,
                                        BITS_PER_LONG), ==,
                     2 * BITS_PER_LONG);
    g_assert_cmpuint(find_last_bit(map, 2 * BITS_PER_LONG), ==,
                     2 * BITS_PER_LONG - 1);
    /* Empty ranges and offsets past the end report @size. */
    g_assert_cmpuint(find_first_bit(map, 0), ==, 0);
    g_assert_cmpuint(find_last_bit(map, 0), ==, 0);
    g_assert_cmpuint(find_next_bit(map, 10, 20), ==, 10);
}

static void test_extract_deposit(void)
{
    g_assert_cmphex(extract8(0xb4, 2, 3), ==, 0x5);
    g_assert_cmphex(extract16(0xabcd, 4, 8), ==, 0xbc);
    g_assert_cmphex(extract32(0x12345678u, 8, 16), ==, 0x3456);
    g_assert_cmphex(extract32(0x12345678u, 0, 32), ==, 0x12345678u);
    g_assert_cmphex(extract64(0x123456789abcdef0ULL, 60, 4), ==, 0x1);
    g_assert_cmphex(extract64(~0ULL, 0, 64), ==, ~0ULL);

    g_assert_cmpint(sextract32(0x00000f00u, 8, 4), ==, -1);
    g_assert_cmpint(sextract32(0x00000700u, 8, 4), ==, 7);
    g_assert_cmpint(sextract64(0x8000000000000000ULL, 63, 1), ==, -1);
    g_assert_cmpint(sextract64(0x0000000000000030ULL, 4, 3), ==, 3);

    g_assert_cmphex(deposit32(0xffffffffu, 4, 8, 0), ==, 0xfffff00fu);
    /* Field bits beyond @length are ignored. */
    g_assert_cmphex(deposit32(0, 28, 4, 0xff), ==, 0xf0000000u);
    g_assert_cmphex(deposit32(0x1, 0, 32, 0x2), ==, 0x2);
    g_assert_cmphex(deposit64(0, 32, 16, 0xabcd), ==, 0x0000abcd00000000ULL);
    g_assert_cmphex(deposit64(~0ULL, 63, 1, 0), ==, 0x7fffffffffffffffULL);
}

static void test_rotate(void)
{
    g_assert_cmphex(rol8(0x81, 1), ==, 0x03);
    g_assert_cmphex(ror8(0x81, 1), ==, 0xc0);
    g_assert_cmphex(rol8(0x81, 8), ==, 0x81);
    g_assert_cmphex(rol16(0x8001, 4), ==, 0x0018);
    g_assert_cmphex(ror16(0x8001, 4), ==, 0x1800);
    g_assert_cmphex(rol32(0x80000001u, 1), ==, 0x00000003u);
    g_assert_cmphex(ror32(0x80000001u, 1), ==, 0xc0000000u);
    g_assert_cmphex(rol32(0x12345678u, 0), ==, 0x12345678u);
    g_assert_cmphex(rol64(0x8000000000000001ULL, 4), ==, 0x18ULL);
    g_assert_cmphex(ror64(0x1ULL, 1), ==, 0x8000000000000000ULL);
    g_assert_cmphex(ror64(0x1234ULL, 64), ==, 0x1234ULL);
}

/* bitmap.h */

static void test_new_zero_fill_copy(void)
{
    g_autofree unsigned long *map = bitmap_new(NBITS);
    g_autofree unsigned long *copy = bitmap_try_new(NBITS);
    DECLARE_BITMAP(small, 5);

    g_assert_true(bitmap_empty(map, NBITS));
    bitmap_fill(map, NBITS);
    g_assert_true(bitmap_full(map, NBITS));
    g_assert_cmpint(bitmap_count_one(map, NBITS), ==, NBITS);
    /* Bits of the last word past NBITS stay clear. */
    g_assert_cmpint(bitmap_count_one(map, NWORDS * BITS_PER_LONG), ==, NBITS);

    g_assert_nonnull(copy);
    bitmap_copy(copy, map, NBITS);
    g_assert_true(bitmap_equal(copy, map, NBITS));
    bitmap_zero(map, NBITS);
    g_assert_true(bitmap_empty(map, NBITS));

    g_assert_cmpint(sizeof(small), ==, sizeof(unsigned long));
    bitmap_fill(small, 5);
    g_assert_cmphex(small[0], ==, 0x1f);
}

static void test_logic(void)
{
    unsigned long a[NWORDS], b[NWORDS], d[NWORDS];
    long i;

    fill_random(a, NWORDS);
    fill_random(b, NWORDS);
    g_assert_true(bitmap_and(d, a, b, NBITS));
    for (i = 0; i < NBITS; i++) {
        g_assert_cmpint(test_bit(i, d), ==, test_bit(i, a) & test_bit(i, b));
    }
    bitmap_or(d, a, b, NBITS);
    for (i = 0; i < NBITS; i++) {
        g_assert_cmpint(test_bit(i, d), ==, test_bit(i, a) | test_bit(i, b));
    }
    bitmap_xor(d, a, b, NBITS);
    for (i = 0; i < NBITS; i++) {
        g_assert_cmpint(test_bit(i, d), ==, test_bit(i, a) ^ test_bit(i, b));
    }
    g_assert_true(bitmap_andnot(d, a, b, NBITS));
    for (i = 0; i < NBITS; i++) {
        g_assert_cmpint(test_bit(i, d), ==, test_bit(i, a) & !test_bit(i, b));
    }
    bitmap_complement(d, a, NBITS);
    for (i = 0; i < NBITS; i++) {
        g_assert_cmpint(test_bit(i, d), ==, !test_bit(i, a));
    }

    /* The return value ignores bits past nbits. */
    bitmap_zero(a, NBITS);
    bitmap_zero(b, NBITS);
    set_bit(NBITS + 1, a);
    set_bit(NBITS + 1, b);
    g_assert_false(bitmap_and(d, a, b, NBITS));
    g_assert_false(bitmap_andnot(d, a, b, NBITS));
    set_bit(7, a);
    g_assert_true(bitmap_andnot(d, a, b, NBITS));
}

static void test_queries(void)
{
    unsigned long a[NWORDS], b[NWORDS];

    bitmap_zero(a, NBITS);
    bitmap_zero(b, NBITS);
    /* Garbage past nbits does not count. */
    set_bit(NBITS, a);
    g_assert_true(bitmap_empty(a, NBITS));
    g_assert_true(bitmap_equal(a, b, NBITS));
    g_assert_false(bitmap_empty(a, NBITS + 1));
    g_assert_false(bitmap_equal(a, b, NBITS + 1));

    set_bit(NBITS - 1, a);
    g_assert_false(bitmap_empty(a, NBITS));
    g_assert_false(bitmap_equal(a, b, NBITS));
    g_assert_false(bitmap_intersects(a, b, NBITS));
    set_bit(NBITS - 1, b);
    g_assert_true(bitmap_intersects(a, b, NBITS));
    g_assert_false(bitmap_intersects(a, b, NBITS - 1));

    bitmap_fill(a, NBITS);
    g_assert_true(bitmap_full(a, NBITS));
    clear_bit(BITS_PER_LONG, a);
    g_assert_false(bitmap_full(a, NBITS));
    g_assert_true(bitmap_full(a, BITS_PER_LONG));
    g_assert_true(bitmap_empty(a, 0));
    g_assert_true(bitmap_full(a, 0));
}

static void test_count(void)
{
    unsigned long map[NWORDS];
    bool model[NWORDS * BITS_PER_LONG];
    long off, n, i, want;

    fill_random(map, NWORDS);
    to_model(map, model, NWORDS * BITS_PER_LONG);
    for (off = 0; off < NBITS; off += 7) {
        for (n = 0; off + n <= NBITS; n += 13) {
            want = 0;
            for (i = off; i < off + n; i++) {
                want += model[i];
            }
            g_assert_cmpint(bitmap_count_one_with_offset(map, off, n), ==,
                            want);
            if (off == 0) {
                g_assert_cmpint(bitmap_count_one(map, n), ==, want);
            }
        }
    }
}

typedef void RangeFn(unsigned long *map, long start, long nr);

static void clear_fn(unsigned long *map, long start, long nr)
{
    bitmap_clear(map, start, nr);
}

static void test_and_clear_fn(unsigned long *map, long start, long nr)
{
    bitmap_test_and_clear(map, start, nr);
}

static void test_and_clear_atomic_fn(unsigned long *map, long start, long nr)
{
    bitmap_test_and_clear_atomic(map, start, nr);
}

/*
 * Apply @fn to every (start, nr) pair near word boundaries of a random map
 * and check that exactly bits [start, start + nr) became @value, and that
 * the guard word past the bitmap is untouched.
 */
static void check_range_fn(RangeFn *fn, bool value)
{
    unsigned long map[NWORDS + 1];
    bool model[NBITS];
    long start, nr, i;

    for (start = 0; start < NBITS; start += (start % 64 < 2 ? 1 : 29)) {
        for (nr = 0; start + nr <= NBITS; nr += (nr < 3 ? 1 : 31)) {
            fill_random(map, NWORDS);
            map[NWORDS] = GUARD;
            to_model(map, model, NBITS);
            for (i = start; i < start + nr; i++) {
                model[i] = value;
            }
            fn(map, start, nr);
            assert_matches(map, model, NBITS);
            g_assert_cmphex(map[NWORDS], ==, GUARD);
        }
    }
}

static void test_set_clear(void)
{
    check_range_fn(bitmap_set, true);
    check_range_fn(bitmap_set_atomic, true);
    check_range_fn(clear_fn, false);
    check_range_fn(test_and_clear_fn, false);
    check_range_fn(test_and_clear_atomic_fn, false);
}

static void test_test_and_clear_result(void)
{
    unsigned long map[NWORDS];

    bitmap_zero(map, NBITS);
    set_bit(130, map);
    g_assert_false(bitmap_test_and_clear(map, 0, 130));
    g_assert_false(bitmap_test_and_clear_atomic(map, 131, 100));
    g_assert_true(bitmap_test_and_clear_atomic(map, 100, 40));
    g_assert_true(bitmap_empty(map, NBITS));
    set_bit(3, map);
    g_assert_true(bitmap_test_and_clear(map, 3, 1));
    g_assert_false(bitmap_test_and_clear(map, 3, 1));
    g_assert_false(bitmap_test_and_clear(map, 3, 0));
}

static void test_copy_and_clear_atomic(void)
{
    unsigned long src[NWORDS], dst[NWORDS], orig[NWORDS];

    fill_random(src, NWORDS);
    bitmap_copy(orig, src, NBITS);
    bitmap_copy_and_clear_atomic(dst, src, NBITS);
    g_assert_true(bitmap_equal(dst, orig, NBITS));
    g_assert_true(bitmap_empty(src, NBITS));
}

static void test_find_next_zero_area(void)
{
    unsigned long map[NWORDS];

    bitmap_zero(map, NBITS);
    bitmap_set(map, 0, 10);
    bitmap_set(map, 14, 2);
    /* 10..13 is too small for 5; the first fit starts at 16. */
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 5, 0), ==, 16);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 4, 0), ==, 10);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 11, 3, 0), ==,
                     11);
    /* A fit right after a busy bit is found: 13 is busy, 11..12 too small. */
    set_bit(13, map);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 11, 3, 0), ==,
                     16);
    clear_bit(13, map);
    set_bit(11, map);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 10, 2, 0), ==,
                     12);
    clear_bit(11, map);
    /* Aligned to 8: 10 rounds up to 16, and with 17 busy, on to 24. */
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 4, 7), ==, 16);
    set_bit(17, map);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 4, 7), ==, 24);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 4, 0), ==, 10);
    /* No room: the answer plus nr exceeds size. */
    g_assert_cmpuint(bitmap_find_next_zero_area(map, 20, 0, 5, 0) + 5, >,
                     20);
    bitmap_fill(map, NBITS);
    g_assert_cmpuint(bitmap_find_next_zero_area(map, NBITS, 0, 1, 0) + 1, >,
                     NBITS);
}

static void test_zero_extend(void)
{
    unsigned long *map = bitmap_new(10);

    bitmap_fill(map, 10);
    map[0] |= (1UL << 10) | (1UL << 20);   /* garbage past the old end */
    map = bitmap_zero_extend(map, 10, 3 * BITS_PER_LONG);
    g_assert_cmpint(bitmap_count_one(map, 3 * BITS_PER_LONG), ==, 10);
    g_assert_true(bitmap_full(map, 10));
    g_free(map);
}

static void test_le(void)
{
    unsigned long map[2], le[2], back[2];
    const uint8_t *bytes = (const uint8_t *)le;

    bitmap_zero(map, 2 * BITS_PER_LONG);
    set_bit(0, map);
    set_bit(9, map);
    set_bit(BITS_PER_LONG + 7, map);
    bitmap_to_le(le, map, 2 * BITS_PER_LONG);
    /* Bit n lands in byte n / 8 at bit n % 8, whatever the host order. */
    g_assert_cmphex(bytes[0], ==, 0x01);
    g_assert_cmphex(bytes[1], ==, 0x02);
    g_assert_cmphex(bytes[sizeof(long)], ==, 0x80);
    g_assert_cmphex(bytes[sizeof(long) + 1], ==, 0);
    bitmap_from_le(back, le, 2 * BITS_PER_LONG);
    g_assert_true(bitmap_equal(back, map, 2 * BITS_PER_LONG));
    /* In place works too. */
    bitmap_to_le(map, map, 2 * BITS_PER_LONG);
    g_assert_cmpmem(map, sizeof(map), le, sizeof(le));
}

/*
 * Copy with offsets for many (offset, nbits) pairs; destination bits
 * outside the copied range must keep their random values.
 */
static void test_copy_with_offset(void)
{
    unsigned long src[NWORDS + 1], dst[NWORDS + 1];
    bool model[NBITS];
    long off, n, i;

    for (off = 0; off < 140; off++) {
        for (n = 0; off + n <= NBITS; n += (n < 70 ? 1 : 37)) {
            fill_random(src, NWORDS);
            fill_random(dst, NWORDS);
            dst[NWORDS] = GUARD;
            to_model(dst, model, NBITS);
            for (i = 0; i < n; i++) {
                model[i] = test_bit(off + i, src);
            }
            bitmap_copy_with_src_offset(dst, src, off, n);
            assert_matches(dst, model, NBITS);
            g_assert_cmphex(dst[NWORDS], ==, GUARD);

            to_model(dst, model, NBITS);
            for (i = 0; i < n; i++) {
                model[off + i] = test_bit(i, src);
            }
            bitmap_copy_with_dst_offset(dst, src, off, n);
            assert_matches(dst, model, NBITS);
            g_assert_cmphex(dst[NWORDS], ==, GUARD);
        }
    }
}

/* Several threads set interleaved bits of the same words. */
#define ATOMIC_THREADS 4
#define ATOMIC_BITS (64 * BITS_PER_LONG)

static unsigned long atomic_map[BITS_TO_LONGS(ATOMIC_BITS)];

static gpointer set_atomic_thread(gpointer opaque)
{
    long t = GPOINTER_TO_INT(opaque), i;

    for (i = t; i < ATOMIC_BITS; i += ATOMIC_THREADS) {
        set_bit_atomic(i, atomic_map);
    }
    for (i = t; i < ATOMIC_BITS; i += 2 * ATOMIC_THREADS) {
        bitmap_set_atomic(atomic_map, i + ATOMIC_THREADS, 1);
    }
    return NULL;
}

static void test_atomic_threads(void)
{
    GThread *threads[ATOMIC_THREADS];
    int t;

    bitmap_zero(atomic_map, ATOMIC_BITS);
    for (t = 0; t < ATOMIC_THREADS; t++) {
        threads[t] = g_thread_new("setter", set_atomic_thread,
                                  GINT_TO_POINTER(t));
    }
    for (t = 0; t < ATOMIC_THREADS; t++) {
        g_thread_join(threads[t]);
    }
    g_assert_true(bitmap_full(atomic_map, ATOMIC_BITS));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    rng = g_rand_new_with_seed(RANDOM_SEED);
    g_test_add_func("/host-utils/clz-ctz", test_clz_ctz);
    g_test_add_func("/host-utils/ctpop-revbit", test_ctpop_revbit);
    g_test_add_func("/host-utils/pow2", test_pow2);
    g_test_add_func("/host-utils/mul-div", test_mul_div);
    g_test_add_func("/host-utils/overflow", test_overflow);
    g_test_add_func("/bitops/macros", test_macros);
    g_test_add_func("/bitops/single-bits", test_single_bits);
    g_test_add_func("/bitops/test-and", test_test_and);
    g_test_add_func("/bitops/find/model", test_find_model);
    g_test_add_func("/bitops/find/edges", test_find_edges);
    g_test_add_func("/bitops/extract-deposit", test_extract_deposit);
    g_test_add_func("/bitops/rotate", test_rotate);
    g_test_add_func("/bitmap/new-zero-fill-copy", test_new_zero_fill_copy);
    g_test_add_func("/bitmap/logic", test_logic);
    g_test_add_func("/bitmap/queries", test_queries);
    g_test_add_func("/bitmap/count", test_count);
    g_test_add_func("/bitmap/set-clear", test_set_clear);
    g_test_add_func("/bitmap/test-and-clear", test_test_and_clear_result);
    g_test_add_func("/bitmap/copy-and-clear-atomic",
                    test_copy_and_clear_atomic);
    g_test_add_func("/bitmap/find-next-zero-area", test_find_next_zero_area);
    g_test_add_func("/bitmap/zero-extend", test_zero_extend);
    g_test_add_func("/bitmap/le", test_le);
    g_test_add_func("/bitmap/copy-with-offset", test_copy_with_offset);
    g_test_add_func("/bitmap/atomic-threads", test_atomic_threads);
    ret = g_test_run();
    g_rand_free(rng);
    return ret;
}
