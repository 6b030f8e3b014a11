/*
 * Flat bitmaps: arrays of unsigned long of a given length in bits.
 *
 * Bit i is bit i % BITS_PER_LONG of word i / BITS_PER_LONG, as in
 * qemu/bitops.h.  Lengths (@nbits) are counts of bits; the words that hold
 * them are BITS_TO_LONGS(nbits).  Unless a function says otherwise, bits of
 * the last word past @nbits are ignored by queries and may be overwritten
 * by whole-word operations (zero, copy, and, or, xor, andnot, complement).
 *
 * Nothing here locks.  The *_atomic functions may run concurrently with
 * each other and with plain reads; everything else needs the caller to
 * serialise access to the bitmap.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_BITMAP_H
#define QEMU_BITMAP_H

#include "qemu/osdep.h"
#include "qemu/bitops.h"

/* Ones in the bits of a word at and above bit (@start % BITS_PER_LONG). */
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
/*
 * Ones in the bits of the last word of an @nbits-long bitmap that belong to
 * it (all ones when @nbits is a multiple of BITS_PER_LONG).
 */
#define BITMAP_LAST_WORD_MASK(nbits) \
    (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

/* Declare an array @name large enough for @bits bits. */
#define DECLARE_BITMAP(name, bits) \
    unsigned long name[BITS_TO_LONGS(bits)]

/* True when an @nbits-long bitmap fits in one word. */
#define small_nbits(nbits) ((nbits) <= BITS_PER_LONG)

/* Allocate a zeroed bitmap of @nbits bits; free it with g_free. */
static inline unsigned long *bitmap_new(long nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

/* As bitmap_new, but return NULL instead of aborting when out of memory. */
static inline unsigned long *bitmap_try_new(long nbits)
{
    return g_try_new0(unsigned long, BITS_TO_LONGS(nbits));
}

/* Clear every word of the bitmap. */
static inline void bitmap_zero(unsigned long *dst, long nbits)
{
    memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* Set bits [0, @nbits); the rest of the last word is cleared. */
void bitmap_fill(unsigned long *dst, long nbits);

/* Copy every word that holds the first @nbits bits of @src to @dst. */
static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
                               long nbits)
{
    memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/*
 * Word-wise logic: @dst = @src1 OP @src2 (@dst may alias either source).
 * bitmap_and and bitmap_andnot return nonzero when the result has a bit set
 * in [0, @nbits).
 */
int bitmap_and(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits);
void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits);
void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits);
/* @dst = @src1 & ~@src2. */
int bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                  const unsigned long *src2, long nbits);
/* @dst = ~@src. */
void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits);

/* Queries over bits [0, @nbits); each returns 1 for yes, 0 for no. */
int bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                 long nbits);
int bitmap_empty(const unsigned long *src, long nbits);
int bitmap_full(const unsigned long *src, long nbits);
/* Whether some bit is set in both bitmaps. */
int bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                      long nbits);

/* Number of set bits in [0, @nbits). */
long bitmap_count_one(const unsigned long *bitmap, long nbits);
/* Number of set bits in [@offset, @offset + @nbits). */
long bitmap_count_one_with_offset(const unsigned long *bitmap, long offset,
                                  long nbits);

/*
 * Set or clear bits [@start, @start + @nr).  Only those bits change.
 * bitmap_set_atomic and bitmap_test_and_clear_atomic update each word with
 * one atomic operation, so they may race with other atomic updates;
 * bitmap_test_and_clear_atomic returns true if any of the bits was set.
 * bitmap_test_and_clear is its non-atomic twin.
 */
void bitmap_set(unsigned long *map, long start, long nr);
void bitmap_set_atomic(unsigned long *map, long start, long nr);
void bitmap_clear(unsigned long *map, long start, long nr);
bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr);
bool bitmap_test_and_clear(unsigned long *map, long start, long nr);

/*
 * Copy the first @nr bits of @src to @dst and clear them in @src; each
 * word of @src is read and cleared with one atomic exchange, so no bit set
 * concurrently is lost.  @dst receives whole words.
 */
void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr);

/*
 * Find the lowest index >= @start, aligned to (@align_mask + 1) (a power of
 * two, @align_mask = 0 for none), such that bits [index, index + @nr) all
 * lie below @size and are clear.  Returns that index; when there is no such
 * area the returned value satisfies index + @nr > @size.
 */
unsigned long bitmap_find_next_zero_area(unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask);

/*
 * Grow (or shrink) a g_malloc'ed bitmap from @old_nbits to @new_nbits bits;
 * bits added past @old_nbits are clear.  Returns the new pointer.
 */
unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits);

/*
 * Convert the words holding @nbits bits between host order and
 * little-endian unsigned longs (the order bitmaps are stored in on disk
 * and on the wire).  @dst and @src may be the same array.
 */
void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits);
void bitmap_from_le(unsigned long *dst, const unsigned long *src,
                    long nbits);

/*
 * Copy @nbits bits: bits [@offset, @offset + @nbits) of @src to bits
 * [0, @nbits) of @dst (src_offset), or bits [0, @nbits) of @src to bits
 * [@shift, @shift + @nbits) of @dst (dst_offset).  Bits of @dst outside the
 * destination range keep their values.  @dst and @src must not overlap.
 */
void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long offset, unsigned long nbits);
void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits);

#endif /* QEMU_BITMAP_H */
