/*
 * Flat bitmap operations.
 *
 * Everything works a word at a time.  Range operations walk the words that
 * hold [start, end) and build one mask per word (word_mask), so only the
 * named bits change.  The offset copies move at most one word of bits per
 * step through get_bits/put_bits, which never touch a word outside the
 * source or destination range: no read past the end of either array.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/atomic.h"

/* The bits of word @i that fall inside [@start, @end); @end > @start. */
static inline unsigned long word_mask(unsigned long i, unsigned long start,
                                      unsigned long end)
{
    unsigned long m = ~0UL;

    if (i == BIT_WORD(start)) {
        m &= BITMAP_FIRST_WORD_MASK(start);
    }
    if (i == BIT_WORD(end - 1)) {
        m &= BITMAP_LAST_WORD_MASK(end);
    }
    return m;
}

/* The low @n bits of a word, 1 <= @n <= BITS_PER_LONG. */
static inline unsigned long low_mask(unsigned n)
{
    return ~0UL >> (BITS_PER_LONG - n);
}

void bitmap_fill(unsigned long *dst, long nbits)
{
    long n = BITS_TO_LONGS(nbits);

    if (n == 0) {
        return;
    }
    memset(dst, 0xff, (n - 1) * sizeof(unsigned long));
    dst[n - 1] = BITMAP_LAST_WORD_MASK(nbits);
}

int bitmap_and(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & src2[i];
    }
    return !bitmap_empty(dst, nbits);
}

void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] | src2[i];
    }
}

void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] ^ src2[i];
    }
}

int bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                  const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & ~src2[i];
    }
    return !bitmap_empty(dst, nbits);
}

void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = ~src[i];
    }
}

int bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                 long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        if ((src1[i] ^ src2[i]) & word_mask(i, 0, nbits)) {
            return 0;
        }
    }
    return 1;
}

int bitmap_empty(const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        if (src[i] & word_mask(i, 0, nbits)) {
            return 0;
        }
    }
    return 1;
}

int bitmap_full(const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        if (~src[i] & word_mask(i, 0, nbits)) {
            return 0;
        }
    }
    return 1;
}

int bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                      long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        if (src1[i] & src2[i] & word_mask(i, 0, nbits)) {
            return 1;
        }
    }
    return 0;
}

long bitmap_count_one_with_offset(const unsigned long *bitmap, long offset,
                                  long nbits)
{
    unsigned long i, end = offset + nbits;
    long count = 0;

    if (nbits <= 0) {
        return 0;
    }
    for (i = BIT_WORD(offset); i <= BIT_WORD(end - 1); i++) {
        count += ctpopl(bitmap[i] & word_mask(i, offset, end));
    }
    return count;
}

long bitmap_count_one(const unsigned long *bitmap, long nbits)
{
    return bitmap_count_one_with_offset(bitmap, 0, nbits);
}

void bitmap_set(unsigned long *map, long start, long nr)
{
    unsigned long i, end = start + nr;

    if (nr <= 0) {
        return;
    }
    for (i = BIT_WORD(start); i <= BIT_WORD(end - 1); i++) {
        map[i] |= word_mask(i, start, end);
    }
}

void bitmap_set_atomic(unsigned long *map, long start, long nr)
{
    unsigned long i, end = start + nr;

    if (nr <= 0) {
        return;
    }
    for (i = BIT_WORD(start); i <= BIT_WORD(end - 1); i++) {
        qatomic_or(&map[i], word_mask(i, start, end));
    }
}

void bitmap_clear(unsigned long *map, long start, long nr)
{
    unsigned long i, end = start + nr;

    if (nr <= 0) {
        return;
    }
    for (i = BIT_WORD(start); i <= BIT_WORD(end - 1); i++) {
        map[i] &= ~word_mask(i, start, end);
    }
}

bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr)
{
    unsigned long i, m, old, end = start + nr;
    bool dirty = false;

    if (nr <= 0) {
        return false;
    }
    for (i = BIT_WORD(start); i <= BIT_WORD(end - 1); i++) {
        m = word_mask(i, start, end);
        old = qatomic_fetch_and(&map[i], ~m);
        dirty |= (old & m) != 0;
    }
    return dirty;
}

bool bitmap_test_and_clear(unsigned long *map, long start, long nr)
{
    unsigned long i, m, end = start + nr;
    bool dirty = false;

    if (nr <= 0) {
        return false;
    }
    for (i = BIT_WORD(start); i <= BIT_WORD(end - 1); i++) {
        m = word_mask(i, start, end);
        dirty |= (map[i] & m) != 0;
        map[i] &= ~m;
    }
    return dirty;
}

void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr)
{
    long i, n = BITS_TO_LONGS(nr);

    for (i = 0; i < n; i++) {
        dst[i] = qatomic_xchg(&src[i], 0);
    }
}

unsigned long bitmap_find_next_zero_area(unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask)
{
    unsigned long index, end, busy;

    for (;;) {
        index = find_next_zero_bit(map, size, start);
        index = (index + align_mask) & ~align_mask;
        end = index + nr;
        if (end > size) {
            return end;
        }
        busy = find_next_bit(map, end, index);
        if (busy >= end) {
            return index;
        }
        start = busy + 1;
    }
}

unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits)
{
    unsigned long *map = g_renew(unsigned long, old,
                                 BITS_TO_LONGS(new_nbits));

    bitmap_clear(map, old_nbits, new_nbits - old_nbits);
    return map;
}

void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = GULONG_TO_LE(src[i]);
    }
}

void bitmap_from_le(unsigned long *dst, const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = GULONG_FROM_LE(src[i]);
    }
}

/* Bits [@pos, @pos + @n) of @src as the low bits of a word; 1 <= @n <= 64. */
static unsigned long get_bits(const unsigned long *src, unsigned long pos,
                              unsigned n)
{
    unsigned long w = BIT_WORD(pos);
    unsigned s = pos % BITS_PER_LONG;
    unsigned long val = src[w] >> s;

    if (s && s + n > BITS_PER_LONG) {
        val |= src[w + 1] << (BITS_PER_LONG - s);
    }
    return val & low_mask(n);
}

/* Store the low @n bits of @val at bits [@pos, @pos + @n) of @dst. */
static void put_bits(unsigned long *dst, unsigned long pos,
                     unsigned long val, unsigned n)
{
    unsigned long w = BIT_WORD(pos);
    unsigned s = pos % BITS_PER_LONG;
    unsigned long m = low_mask(n);

    val &= m;
    dst[w] = (dst[w] & ~(m << s)) | (val << s);
    if (s && s + n > BITS_PER_LONG) {
        m = low_mask(s + n - BITS_PER_LONG);
        dst[w + 1] = (dst[w + 1] & ~m) | (val >> (BITS_PER_LONG - s));
    }
}

/* Copy @nbits bits from @src at @spos to @dst at @dpos. */
static void copy_bits(unsigned long *dst, unsigned long dpos,
                      const unsigned long *src, unsigned long spos,
                      unsigned long nbits)
{
    while (nbits) {
        unsigned n = MIN(nbits, (unsigned long)BITS_PER_LONG);

        put_bits(dst, dpos, get_bits(src, spos, n), n);
        dpos += n;
        spos += n;
        nbits -= n;
    }
}

void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long offset, unsigned long nbits)
{
    copy_bits(dst, 0, src, offset, nbits);
}

void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits)
{
    copy_bits(dst, shift, src, 0, nbits);
}
