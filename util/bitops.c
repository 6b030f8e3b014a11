/*
 * Bit searches over unsigned long arrays.
 *
 * Each search works a word at a time: the first and last words are masked
 * so that bits outside [offset, size) never count, and whole words in
 * between are tested with one compare.  The searches never read past the
 * word that holds bit size - 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"

/* Ones in bit positions >= @bit of a word (@bit < BITS_PER_LONG). */
static inline unsigned long mask_from(unsigned long bit)
{
    return ~0UL << bit;
}

/* Ones in bit positions < @bits of a word; all ones when @bits is 0. */
static inline unsigned long mask_below_or_all(unsigned long bits)
{
    return ~0UL >> ((BITS_PER_LONG - bits) % BITS_PER_LONG);
}

/*
 * The lowest index >= @offset and < @size whose bit, after XOR with
 * @invert, is set; @size when there is none.
 */
static unsigned long find_next(const unsigned long *addr, unsigned long size,
                               unsigned long offset, unsigned long invert)
{
    unsigned long idx, last_idx, word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    last_idx = BIT_WORD(size - 1);
    word = (addr[idx] ^ invert) & mask_from(offset % BITS_PER_LONG);
    while (!word) {
        if (++idx > last_idx) {
            return size;
        }
        word = addr[idx] ^ invert;
    }
    offset = idx * BITS_PER_LONG + ctzl(word);
    return MIN(offset, size);
}

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset)
{
    return find_next(addr, size, offset, 0);
}

unsigned long find_next_zero_bit(const unsigned long *addr,
                                 unsigned long size, unsigned long offset)
{
    return find_next(addr, size, offset, ~0UL);
}

unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
    unsigned long idx, word;

    if (!size) {
        return 0;
    }
    idx = BIT_WORD(size - 1);
    word = addr[idx] & mask_below_or_all(size % BITS_PER_LONG);
    for (;;) {
        if (word) {
            return idx * BITS_PER_LONG + BITS_PER_LONG - 1 - clzl(word);
        }
        if (idx-- == 0) {
            return size;
        }
        word = addr[idx];
    }
}
