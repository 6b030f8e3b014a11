/*
 * Small arithmetic helpers on host integers: leading/trailing zero and one
 * counts, population counts, bit reversal, powers of two, overflow-checked
 * arithmetic and 128-bit intermediate multiplication.
 *
 * Everything here is a pure function of its arguments, safe to call from
 * any thread or coroutine.  Counting helpers are defined for a zero input
 * (they return the width of the type), unlike the bare compiler builtins.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_HOST_UTILS_H
#define QEMU_HOST_UTILS_H

#include "qemu/osdep.h"

/* The 128-bit helpers below rely on the compiler's 128-bit integers. */
#ifndef __SIZEOF_INT128__
#error "host-utils.h needs a compiler with __int128 (64-bit hosts)"
#endif

/* Number of bits in an unsigned long, usable in #if. */
#define HOST_LONG_BITS (__SIZEOF_LONG__ * 8)

/*
 * clzN: number of leading (most significant) zero bits of @val;
 * N when @val is zero.
 */
static inline int clz32(uint32_t val)
{
    return val ? __builtin_clz(val) : 32;
}

static inline int clz64(uint64_t val)
{
    return val ? __builtin_clzll(val) : 64;
}

static inline int clz8(uint8_t val)
{
    return clz32(val) - 24;
}

static inline int clz16(uint16_t val)
{
    return clz32(val) - 16;
}

/* cloN: number of leading one bits of @val; N when all bits are set. */
static inline int clo8(uint8_t val)
{
    return clz8((uint8_t)~val);
}

static inline int clo16(uint16_t val)
{
    return clz16((uint16_t)~val);
}

static inline int clo32(uint32_t val)
{
    return clz32(~val);
}

static inline int clo64(uint64_t val)
{
    return clz64(~val);
}

/*
 * ctzN: number of trailing (least significant) zero bits of @val, i.e. the
 * index of the lowest set bit; N when @val is zero.
 */
static inline int ctz32(uint32_t val)
{
    return val ? __builtin_ctz(val) : 32;
}

static inline int ctz64(uint64_t val)
{
    return val ? __builtin_ctzll(val) : 64;
}

static inline int ctz8(uint8_t val)
{
    return val ? __builtin_ctz(val) : 8;
}

static inline int ctz16(uint16_t val)
{
    return val ? __builtin_ctz(val) : 16;
}

/* ctoN: number of trailing one bits of @val; N when all bits are set. */
static inline int cto8(uint8_t val)
{
    return ctz8((uint8_t)~val);
}

static inline int cto16(uint16_t val)
{
    return ctz16((uint16_t)~val);
}

static inline int cto32(uint32_t val)
{
    return ctz32(~val);
}

static inline int cto64(uint64_t val)
{
    return ctz64(~val);
}

/*
 * clrsbN: number of bits after the sign bit that equal it (the redundant
 * sign bits of a two's complement value); N - 1 for 0 and -1.
 */
static inline int clrsb32(uint32_t val)
{
    return __builtin_clrsb((int32_t)val);
}

static inline int clrsb64(uint64_t val)
{
    return __builtin_clrsbll((int64_t)val);
}

/* ctpopN: number of set bits in @val. */
static inline int ctpop8(uint8_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop16(uint16_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop32(uint32_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop64(uint64_t val)
{
    return __builtin_popcountll(val);
}

/* revbitN: @x with its bit order reversed (bit 0 becomes bit N-1). */
static inline uint64_t revbit64(uint64_t x)
{
    const uint64_t m1 = 0x5555555555555555ULL;  /* odd/even bits */
    const uint64_t m2 = 0x3333333333333333ULL;  /* bit pairs */
    const uint64_t m4 = 0x0f0f0f0f0f0f0f0fULL;  /* nibbles */

    /* Reverse the bits inside each byte, then the bytes. */
    x = ((x & m1) << 1) | ((x >> 1) & m1);
    x = ((x & m2) << 2) | ((x >> 2) & m2);
    x = ((x & m4) << 4) | ((x >> 4) & m4);
    return __builtin_bswap64(x);
}

static inline uint32_t revbit32(uint32_t x)
{
    return (uint32_t)(revbit64(x) >> 32);
}

static inline uint16_t revbit16(uint16_t x)
{
    return (uint16_t)(revbit64(x) >> 48);
}

static inline uint8_t revbit8(uint8_t x)
{
    return (uint8_t)(revbit64(x) >> 56);
}

/* The unsigned long flavours of the helpers above. */
#if HOST_LONG_BITS == 32
#define clzl    clz32
#define ctzl    ctz32
#define clol    clo32
#define ctol    cto32
#define ctpopl  ctpop32
#define revbitl revbit32
#else
#define clzl    clz64
#define ctzl    ctz64
#define clol    clo64
#define ctol    cto64
#define ctpopl  ctpop64
#define revbitl revbit64
#endif

/* True when @value is a power of two; zero is not. */
static inline bool is_power_of_2(uint64_t value)
{
    return value && !(value & (value - 1));
}

/* The largest power of two <= @value; 0 for 0. */
static inline uint64_t pow2floor(uint64_t value)
{
    return value ? UINT64_C(1) << (63 - clz64(value)) : 0;
}

/*
 * The smallest power of two >= @value; 1 for 0, and 0 when the answer does
 * not fit in 64 bits (@value > 2^63).
 */
static inline uint64_t pow2ceil(uint64_t value)
{
    if (value <= 1) {
        return 1;
    }
    if (value > (UINT64_C(1) << 63)) {
        return 0;
    }
    return UINT64_C(1) << (64 - clz64(value - 1));
}

/*
 * The smallest power of two strictly greater than @x (so 8 for 4, 1 for 0);
 * 0 when that does not fit in 32 bits (@x >= 2^31).
 */
static inline uint32_t pow2roundup32(uint32_t x)
{
    if (x >= (UINT32_C(1) << 31)) {
        return 0;
    }
    return UINT32_C(1) << (32 - clz32(x));
}

/* Full 128-bit products: the low and high halves go to @plow and @phigh. */
static inline void mulu64(uint64_t *plow, uint64_t *phigh,
                          uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;

    *plow = (uint64_t)r;
    *phigh = (uint64_t)(r >> 64);
}

static inline void muls64(uint64_t *plow, uint64_t *phigh,
                          int64_t a, int64_t b)
{
    __int128 r = (__int128)a * b;

    *plow = (uint64_t)r;
    *phigh = (uint64_t)(r >> 64);
}

/*
 * (@a * @b) / @c computed with a 128-bit intermediate, so the product never
 * overflows; the quotient is truncated.  @c must not be zero; a quotient
 * above UINT64_MAX is truncated to its low 64 bits.
 */
static inline uint64_t muldiv64(uint64_t a, uint32_t b, uint32_t c)
{
    return (uint64_t)(((unsigned __int128)a * b) / c);
}

/* As muldiv64, rounding the quotient up instead of down. */
static inline uint64_t muldiv64_round_up(uint64_t a, uint32_t b, uint32_t c)
{
    unsigned __int128 p = (unsigned __int128)a * b;

    return (uint64_t)((p + c - 1) / c);
}

/*
 * Overflow-checked arithmetic: store the (wrapped) result in *@ret and
 * return true when it did not fit.
 */
static inline bool uadd32_overflow(uint32_t x, uint32_t y, uint32_t *ret)
{
    return __builtin_add_overflow(x, y, ret);
}

static inline bool uadd64_overflow(uint64_t x, uint64_t y, uint64_t *ret)
{
    return __builtin_add_overflow(x, y, ret);
}

static inline bool usub64_overflow(uint64_t x, uint64_t y, uint64_t *ret)
{
    return __builtin_sub_overflow(x, y, ret);
}

static inline bool umul64_overflow(uint64_t x, uint64_t y, uint64_t *ret)
{
    return __builtin_mul_overflow(x, y, ret);
}

static inline bool sadd64_overflow(int64_t x, int64_t y, int64_t *ret)
{
    return __builtin_add_overflow(x, y, ret);
}

static inline bool ssub64_overflow(int64_t x, int64_t y, int64_t *ret)
{
    return __builtin_sub_overflow(x, y, ret);
}

static inline bool smul64_overflow(int64_t x, int64_t y, int64_t *ret)
{
    return __builtin_mul_overflow(x, y, ret);
}

#endif /* QEMU_HOST_UTILS_H */
