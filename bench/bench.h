/*
 * The benchmark harness shared by every bench/ binary.
 *
 * A benchmark compares one Spindle implementation of an operation with
 * one or more peer implementations (GLib, libuv, glibc) in the same
 * process.  Each contender is a function that performs a requested number
 * of operations.  The harness sizes a batch per contender so that one
 * batch takes at least BENCH_MS milliseconds, then runs BENCH_ROUNDS
 * rounds; within a round every contender runs one batch, and the order of
 * contenders rotates from round to round so that none always runs first
 * (or last) on a shared machine.  The figure reported for a contender is
 * the median of its per-round ns/op.
 *
 * What it does not do: pin threads, change CPU frequency settings, or
 * subtract loop overhead.  The loop overhead is part of each contender's
 * figure, and is the same shape for all of them.
 *
 * Environment: BENCH_ROUNDS (default 11), BENCH_MS (default 30).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SPINDLE_BENCH_H
#define SPINDLE_BENCH_H

#include "qemu/osdep.h"
#include <time.h>

/*
 * Performs about @n operations of the benchmarked kind and returns how
 * many it actually performed (>= 1): a contender that works in fixed-size
 * batches may round @n up.  The harness times the whole call.
 */
typedef uint64_t BenchFn(void *opaque, uint64_t n);

/*
 * One contender.  Fill in label, fn and opaque; bench_compare() fills in
 * ns_op.  A NULL fn means "not available in this build": the row shows
 * "n/a" for it.
 */
typedef struct BenchImpl {
    const char *label;
    BenchFn *fn;
    void *opaque;
    double ns_op;
} BenchImpl;

/* Keeps a value alive without letting the compiler reason about it. */
#define bench_sink(x) __asm__ volatile("" : : "r"(x) : "memory")

/* A full compiler barrier: no memory access moves across it. */
#define bench_barrier() __asm__ volatile("" : : : "memory")

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Print the heading line of a benchmark binary (its name, the machine's
 * online CPU count and the harness settings).
 */
void bench_header(const char *binary);

/*
 * Measure impls[0] (ours) and impls[1..n-1] (peers), then print one row:
 *   NAME  LABEL0 X ns/op | LABEL1 Y ns/op (Y/X x) | ...
 * The ratio is peer / ours, so a ratio above 1 means Spindle is faster.
 * Fills in every impls[i].ns_op (0 when fn is NULL).
 */
void bench_compare(const char *name, BenchImpl *impls, int n);

/*
 * Abort the benchmark with a message naming @what unless @got == @want:
 * contenders call it after a batch to show the work really happened
 * (every callback ran), outside the timed loop's hot part.
 */
void bench_expect(const char *what, uint64_t got, uint64_t want);

#endif /* SPINDLE_BENCH_H */
