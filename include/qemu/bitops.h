/*
 * Single-bit operations on arrays of unsigned long, bit searches, rotates
 * and bit-field extract/deposit.
 *
 * A bit array is a plain unsigned long[]; bit @nr lives in word
 * BIT_WORD(nr) at position nr % BITS_PER_LONG (bit 0 is the least
 * significant bit of word 0).  The plain operations are not atomic: the
 * caller serialises access to a word.  The *_atomic operations may race
 * with each other and with plain reads from other threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_BITOPS_H
#define QEMU_BITOPS_H

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/host-utils.h"

#define BITS_PER_BYTE           CHAR_BIT
#define BITS_PER_LONG           HOST_LONG_BITS

#define BIT(nr)                 (1UL << (nr))
#define BIT_ULL(nr)             (1ULL << (nr))
/* The mask of bit @nr inside its word, and the index of that word. */
#define BIT_MASK(nr)            (1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)            ((nr) / BITS_PER_LONG)
/* How many unsigned longs hold @nr bits. */
#define BITS_TO_LONGS(nr)       DIV_ROUND_UP(nr, BITS_PER_LONG)

/* @length (1..64) consecutive ones starting at bit @shift. */
#define MAKE_64BIT_MASK(shift, length) \
    (((~0ULL) >> (64 - (length))) << (shift))

/* Set, clear or flip bit @nr of @addr.  Not atomic. */
static inline void set_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline void change_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] ^= BIT_MASK(nr);
}

/* Set or clear bit @nr of @addr atomically; safe against concurrent use. */
static inline void set_bit_atomic(long nr, unsigned long *addr)
{
    qatomic_or(&addr[BIT_WORD(nr)], BIT_MASK(nr));
}

static inline void clear_bit_atomic(long nr, unsigned long *addr)
{
    qatomic_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr));
}

/* Return 1 if bit @nr of @addr is set, else 0. */
static inline int test_bit(long nr, const unsigned long *addr)
{
    return (addr[BIT_WORD(nr)] >> (nr % BITS_PER_LONG)) & 1;
}

/*
 * Set, clear or flip bit @nr and return its previous value (0 or 1).
 * Not atomic.
 */
static inline int test_and_set_bit(long nr, unsigned long *addr)
{
    int old = test_bit(nr, addr);

    set_bit(nr, addr);
    return old;
}

static inline int test_and_clear_bit(long nr, unsigned long *addr)
{
    int old = test_bit(nr, addr);

    clear_bit(nr, addr);
    return old;
}

static inline int test_and_change_bit(long nr, unsigned long *addr)
{
    int old = test_bit(nr, addr);

    change_bit(nr, addr);
    return old;
}

/*
 * Searches over the first @size bits of @addr.  Each returns the index of
 * the bit it finds, or @size when there is none.  Bits at or past @size are
 * never looked at beyond the word holding bit @size - 1, and never reported.
 */

/* The highest set bit. */
unsigned long find_last_bit(const unsigned long *addr, unsigned long size);

/* The lowest set bit at index >= @offset. */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset);

/* The lowest clear bit at index >= @offset. */
unsigned long find_next_zero_bit(const unsigned long *addr,
                                 unsigned long size, unsigned long offset);

/* The lowest set bit. */
static inline unsigned long find_first_bit(const unsigned long *addr,
                                           unsigned long size)
{
    return find_next_bit(addr, size, 0);
}

/* The lowest clear bit. */
static inline unsigned long find_first_zero_bit(const unsigned long *addr,
                                                unsigned long size)
{
    return find_next_zero_bit(addr, size, 0);
}

/*
 * Rotate @word left (rolN) or right (rorN) by @shift bits; @shift is taken
 * modulo N, so any value is accepted.
 */
static inline uint8_t rol8(uint8_t word, unsigned int shift)
{
    shift &= 7;
    return (uint8_t)((word << shift) | (word >> ((8 - shift) & 7)));
}

static inline uint8_t ror8(uint8_t word, unsigned int shift)
{
    shift &= 7;
    return (uint8_t)((word >> shift) | (word << ((8 - shift) & 7)));
}

static inline uint16_t rol16(uint16_t word, unsigned int shift)
{
    shift &= 15;
    return (uint16_t)((word << shift) | (word >> ((16 - shift) & 15)));
}

static inline uint16_t ror16(uint16_t word, unsigned int shift)
{
    shift &= 15;
    return (uint16_t)((word >> shift) | (word << ((16 - shift) & 15)));
}

static inline uint32_t rol32(uint32_t word, unsigned int shift)
{
    shift &= 31;
    return (word << shift) | (word >> ((32 - shift) & 31));
}

static inline uint32_t ror32(uint32_t word, unsigned int shift)
{
    shift &= 31;
    return (word >> shift) | (word << ((32 - shift) & 31));
}

static inline uint64_t rol64(uint64_t word, unsigned int shift)
{
    shift &= 63;
    return (word << shift) | (word >> ((64 - shift) & 63));
}

static inline uint64_t ror64(uint64_t word, unsigned int shift)
{
    shift &= 63;
    return (word >> shift) | (word << ((64 - shift) & 63));
}

/*
 * extractN: the @length-bit field of @value that starts at bit @start,
 * moved down to bit 0.  0 <= @start, 0 < @length, @start + @length <= N.
 */
static inline uint32_t extract32(uint32_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 32 - start);
    return (value >> start) & (~0U >> (32 - length));
}

static inline uint64_t extract64(uint64_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 64 - start);
    return (value >> start) & (~0ULL >> (64 - length));
}

static inline uint8_t extract8(uint8_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 8 - start);
    return (uint8_t)extract32(value, start, length);
}

static inline uint16_t extract16(uint16_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 16 - start);
    return (uint16_t)extract32(value, start, length);
}

/* As extractN, sign-extending the field from its top bit. */
static inline int32_t sextract32(uint32_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 32 - start);
    /* Move the field to the top, then let the arithmetic shift extend. */
    return ((int32_t)(value << (32 - length - start))) >> (32 - length);
}

static inline int64_t sextract64(uint64_t value, int start, int length)
{
    assert(start >= 0 && length > 0 && length <= 64 - start);
    return ((int64_t)(value << (64 - length - start))) >> (64 - length);
}

/*
 * depositN: @value with its @length-bit field at @start replaced by the low
 * @length bits of @fieldval; other bits are unchanged.  Same limits as
 * extractN.
 */
static inline uint32_t deposit32(uint32_t value, int start, int length,
                                 uint32_t fieldval)
{
    uint32_t mask;

    assert(start >= 0 && length > 0 && length <= 32 - start);
    mask = (~0U >> (32 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

static inline uint64_t deposit64(uint64_t value, int start, int length,
                                 uint64_t fieldval)
{
    uint64_t mask;

    assert(start >= 0 && length > 0 && length <= 64 - start);
    mask = (~0ULL >> (64 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

#endif /* QEMU_BITOPS_H */
