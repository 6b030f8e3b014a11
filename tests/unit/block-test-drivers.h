/*
 * Test drivers for the generic block layer's unit tests.
 *
 *   mem-co:NAME, mem-aio:NAME, mem-sync:NAME
 *       memory-backed protocol drivers, one per I/O style (coroutine,
 *       callback, synchronous).  NAME selects a shared buffer, so two
 *       opens of one name see the same data.  Options: size (bytes,
 *       default 1 MiB, only used when the buffer is first made), hold=on
 *       (mem-co only: every read and write waits in mem_hold_queue until
 *       the test releases it), align (mem-co only: request alignment).
 *       mem-co also flushes (doing nothing) and logs its reads, writes and
 *       flushes in mem_op_log().  mem-aio has the callback members for
 *       flush, discard (the range then reads as zeroes) and ioctl (stores
 *       the request number in the int its buffer points to), counted in
 *       mem_aio.
 *   cowtest
 *       a format over any protocol node: a header sector naming a backing
 *       file, then data at 4 KiB clusters, allocated clusters recorded in
 *       the header's bitmap (one byte per cluster).  Reads of unallocated
 *       clusters come from the backing node (or zeroes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TESTS_BLOCK_TEST_DRIVERS_H
#define TESTS_BLOCK_TEST_DRIVERS_H

#include "block/block_int.h"

#define COWTEST_CLUSTER   4096
#define COWTEST_DATA_OFF  65536
#define COWTEST_MAX_CLUSTERS 4096

extern BlockDriver test_mem_co, test_mem_aio, test_mem_sync, test_cowtest;

/* Register the drivers above (idempotent). */
void test_drivers_register(void);

/* Forget every shared buffer. */
void mem_reset(void);

/* Bytes of the shared buffer @name (NULL if none). */
uint8_t *mem_buffer(const char *name, size_t *size);

/* Requests now waiting under hold=on; release them all, or the oldest. */
int mem_held_count(void);
void mem_release_held(void);
void mem_release_one(void);

/* The next write to buffer @name (by any mem driver) fails with -@err,
 * changing nothing. */
void mem_fail_next_write(const char *name, int err);

/* What mem-co nodes did since mem_reset(), in order: 'r' read, 'w' write,
 * 'f' flush. */
const char *mem_op_log(void);

/* Requests the mem drivers have served, per style (0 co, 1 aio, 2 sync). */
extern int mem_calls[3];

/* mem-aio's flush, discard and ioctl members: calls and bytes discarded,
 * and the result they complete with (0 unless a test sets an -errno). */
typedef struct MemAioMembers {
    int flushes;
    int discards;
    int ioctls;
    int64_t discarded;
    int result;
} MemAioMembers;
extern MemAioMembers mem_aio;

/*
 * Write a cowtest header into protocol image @proto (e.g. "mem-co:top")
 * of @size bytes of virtual disk, naming @backing (may be NULL).
 */
void cowtest_format(const char *proto, int64_t size, const char *backing,
                    const char *backing_fmt);

/*
 * Helpers the request-path tests share.  test_open_opts: open @filename
 * in a new anonymous node with format @fmt (NULL: probe) and the
 * NULL-terminated "key=value" options that follow; abort on failure.
 * test_fill: a pattern that differs with @seed.
 */
BlockDriverState *test_open_opts(const char *filename, int flags,
                                 const char *fmt, ...)
    G_GNUC_NULL_TERMINATED;
void test_fill(uint8_t *buf, size_t len, uint8_t seed);

#endif
