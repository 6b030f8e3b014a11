/*
 * Per-node I/O statistics: operation and byte counters, time spent and a
 * log2 latency histogram for each kind of request.
 *
 * Design: the request path measures each request with bdrv_acct_clock_ns
 * and reports it once, when it finishes, through bdrv_acct_record; this
 * file only adds numbers up.  Counters live in the node itself (no
 * allocation, nothing to set up) and are touched only in the node's home
 * thread, so they need no lock and no atomics.
 *
 * A failed request counts in failed_ops only.  Its bytes were not moved
 * and its latency (often an early -EINVAL or a timeout) would distort the
 * figures of the requests that did work.
 *
 * Invariant: for every kind t of a node that times its requests
 * (account_latency), the buckets of latency_hist[t] add up to nr_ops[t],
 * and total_time_ns[t] is the sum of those same latencies; a node that
 * does not time them keeps both at zero.
 *
 * Not here: wr_highest_sector, which the request path keeps itself.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "qemu/timer.h"
#include "block/block_int.h"

static const char *const acct_type_names[BDRV_MAX_IOTYPE] = {
    [BDRV_ACCT_READ] = "read",
    [BDRV_ACCT_WRITE] = "write",
    [BDRV_ACCT_FLUSH] = "flush",
    [BDRV_ACCT_DISCARD] = "discard",
};

const char *bdrv_acct_type_name(enum BlockAcctType type)
{
    if ((unsigned)type >= BDRV_MAX_IOTYPE) {
        return NULL;
    }
    return acct_type_names[type];
}

int64_t bdrv_acct_clock_ns(void)
{
    /* never a manual clock; CLOCK_MONOTONIC from the vDSO */
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

/* Bucket i holds [2^i, 2^(i+1)) ns; 0 and 1 ns fall in bucket 0. */
static int latency_bucket(uint64_t ns)
{
    int log2;

    if (ns < 2) {
        return 0;
    }
    log2 = 63 - clz64(ns);
    return MIN(log2, BDRV_LATENCY_BUCKETS - 1);
}

void bdrv_acct_record(BlockDriverState *bs, enum BlockAcctType type,
                      uint64_t bytes, int64_t latency_ns, int ret)
{
    /* A clock that stepped back must not wrap the total around. */
    uint64_t ns = latency_ns > 0 ? latency_ns : 0;

    assert((unsigned)type < BDRV_MAX_IOTYPE);
    if (ret < 0) {
        bs->failed_ops[type]++;
        return;
    }
    bs->nr_ops[type]++;
    bs->nr_bytes[type] += bytes;
    if (latency_ns == BDRV_ACCT_NO_LATENCY) {
        return;
    }
    bs->total_time_ns[type] += ns;
    bs->latency_hist[type][latency_bucket(ns)]++;
}

void bdrv_get_stats(BlockDriverState *bs, BlockAcctStats *stats)
{
    memcpy(stats->nr_bytes, bs->nr_bytes, sizeof(stats->nr_bytes));
    memcpy(stats->nr_ops, bs->nr_ops, sizeof(stats->nr_ops));
    memcpy(stats->failed_ops, bs->failed_ops, sizeof(stats->failed_ops));
    memcpy(stats->total_time_ns, bs->total_time_ns,
           sizeof(stats->total_time_ns));
    memcpy(stats->latency_hist, bs->latency_hist,
           sizeof(stats->latency_hist));
    stats->wr_highest_offset = bs->wr_highest_sector * BDRV_SECTOR_SIZE;
}

void bdrv_set_account_latency(BlockDriverState *bs, bool on)
{
    bs->account_latency = on;
}

void bdrv_reset_stats(BlockDriverState *bs)
{
    memset(bs->nr_bytes, 0, sizeof(bs->nr_bytes));
    memset(bs->nr_ops, 0, sizeof(bs->nr_ops));
    memset(bs->failed_ops, 0, sizeof(bs->failed_ops));
    memset(bs->total_time_ns, 0, sizeof(bs->total_time_ns));
    memset(bs->latency_hist, 0, sizeof(bs->latency_hist));
}
