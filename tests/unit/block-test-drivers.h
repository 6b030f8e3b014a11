/*
 * Test drivers for the generic block layer's unit tests.
 *
 *   mem-co:NAME, mem-aio:NAME, mem-sync:NAME
 *       memory-backed protocol drivers, one per I/O style (coroutine,
 *       callback, synchronous).  NAME selects a shared buffer, so two
 *       opens of one name see the same data.  Options: size (bytes,
 *       default 1 MiB, only used when the buffer is first made), hold=on
 *       (mem-co only: every request waits in mem_hold_queue until the test
 *       calls mem_release_held()), align (mem-co only: request alignment).
 *       mem-aio also has the callback members for flush, discard (the
 *       range then reads as zeroes) and ioctl (stores the request number
 *       in the int its buffer points to), counted in mem_aio.
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

/* Requests now waiting under hold=on; release them all. */
int mem_held_count(void);
void mem_release_held(void);

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

#endif
