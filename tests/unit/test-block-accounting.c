/*
 * Tests for block/accounting.c: counters, failed requests, the latency
 * histogram, snapshots and reset.
 *
 * The node is a bare zeroed BlockDriverState: bdrv_new and the request
 * path are not written yet, so these tests call bdrv_acct_record the way
 * the request path will.  Tests that drive real requests through a node
 * and check its statistics belong with the request-path tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block_int.h"

static BlockDriverState *bare_node(void)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->total_sectors = 2048;
    QLIST_INIT(&bs->dirty_bitmaps);
    return bs;
}

static uint64_t hist_sum(const BlockAcctStats *st, int type)
{
    uint64_t sum = 0;

    for (int i = 0; i < BDRV_LATENCY_BUCKETS; i++) {
        sum += st->latency_hist[type][i];
    }
    return sum;
}

static void test_type_names(void)
{
    g_assert_cmpstr(bdrv_acct_type_name(BDRV_ACCT_READ), ==, "read");
    g_assert_cmpstr(bdrv_acct_type_name(BDRV_ACCT_WRITE), ==, "write");
    g_assert_cmpstr(bdrv_acct_type_name(BDRV_ACCT_FLUSH), ==, "flush");
    g_assert_cmpstr(bdrv_acct_type_name(BDRV_ACCT_DISCARD), ==, "discard");
    g_assert_null(bdrv_acct_type_name(BDRV_MAX_IOTYPE));
    g_assert_null(bdrv_acct_type_name((enum BlockAcctType)-1));
}

static void test_clock(void)
{
    int64_t a = bdrv_acct_clock_ns();
    int64_t b;

    g_usleep(1000);
    b = bdrv_acct_clock_ns();
    g_assert_cmpint(a, >, 0);
    g_assert_cmpint(b, >=, a + 1000 * 1000);   /* slept at least 1 ms */
}

static void test_counters(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    BlockAcctStats st;

    bdrv_acct_record(bs, BDRV_ACCT_READ, 4096, 100, 0);
    bdrv_acct_record(bs, BDRV_ACCT_READ, 512, 300, 0);
    bdrv_acct_record(bs, BDRV_ACCT_WRITE, 65536, 1000, 0);
    bdrv_acct_record(bs, BDRV_ACCT_FLUSH, 0, 5000, 0);
    bdrv_acct_record(bs, BDRV_ACCT_DISCARD, 1 << 20, 7, 0);
    bdrv_get_stats(bs, &st);

    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_READ], ==, 2);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_READ], ==, 4608);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_READ], ==, 400);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_WRITE], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_WRITE], ==, 65536);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_WRITE], ==, 1000);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_FLUSH], ==, 0);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_DISCARD], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_DISCARD], ==, 1 << 20);
    for (int t = 0; t < BDRV_MAX_IOTYPE; t++) {
        g_assert_cmpuint(st.failed_ops[t], ==, 0);
        g_assert_cmpuint(hist_sum(&st, t), ==, st.nr_ops[t]);
    }
}

static void test_failed(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    BlockAcctStats st;

    bdrv_acct_record(bs, BDRV_ACCT_WRITE, 4096, 100, -EIO);
    bdrv_acct_record(bs, BDRV_ACCT_WRITE, 4096, 100, -ENOSPC);
    bdrv_acct_record(bs, BDRV_ACCT_WRITE, 4096, 100, 0);
    bdrv_acct_record(bs, BDRV_ACCT_READ, 512, 10, -EINVAL);
    bdrv_get_stats(bs, &st);

    /* Failures count only as failures: no bytes, no time, no bucket. */
    g_assert_cmpuint(st.failed_ops[BDRV_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_WRITE], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_WRITE], ==, 4096);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_WRITE], ==, 100);
    g_assert_cmpuint(hist_sum(&st, BDRV_ACCT_WRITE), ==, 1);
    g_assert_cmpuint(st.failed_ops[BDRV_ACCT_READ], ==, 1);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_READ], ==, 0);
    g_assert_cmpuint(hist_sum(&st, BDRV_ACCT_READ), ==, 0);
    /* A positive return (a byte count) is success. */
    bdrv_acct_record(bs, BDRV_ACCT_READ, 512, 10, 512);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_READ], ==, 1);
}

/* Record one read of @ns and return the bucket it landed in. */
static int bucket_of(BlockDriverState *bs, int64_t ns)
{
    int found = -1;

    bdrv_reset_stats(bs);
    bdrv_acct_record(bs, BDRV_ACCT_READ, 1, ns, 0);
    for (int i = 0; i < BDRV_LATENCY_BUCKETS; i++) {
        if (bs->latency_hist[BDRV_ACCT_READ][i]) {
            g_assert_cmpint(found, ==, -1);
            g_assert_cmpuint(bs->latency_hist[BDRV_ACCT_READ][i], ==, 1);
            found = i;
        }
    }
    return found;
}

static void test_histogram_boundaries(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    const int last = BDRV_LATENCY_BUCKETS - 1;

    g_assert_cmpint(bucket_of(bs, 0), ==, 0);
    g_assert_cmpint(bucket_of(bs, 1), ==, 0);
    g_assert_cmpint(bucket_of(bs, 2), ==, 1);
    g_assert_cmpint(bucket_of(bs, 3), ==, 1);
    g_assert_cmpint(bucket_of(bs, 4), ==, 2);
    for (int i = 1; i < last; i++) {
        g_assert_cmpint(bucket_of(bs, INT64_C(1) << i), ==, i);
        g_assert_cmpint(bucket_of(bs, (INT64_C(1) << (i + 1)) - 1), ==, i);
    }
    g_assert_cmpint(bucket_of(bs, INT64_C(1) << last), ==, last);
    g_assert_cmpint(bucket_of(bs, INT64_C(1) << 50), ==, last);
    g_assert_cmpint(bucket_of(bs, INT64_MAX), ==, last);
    /* A clock that went backwards counts as 0 ns, not as 2^64 - x. */
    g_assert_cmpint(bucket_of(bs, -5), ==, 0);
    g_assert_cmpuint(bs->total_time_ns[BDRV_ACCT_READ], ==, 0);
}

/* Random latencies against a simple model of the buckets. */
static void test_histogram_model(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    uint64_t model[BDRV_LATENCY_BUCKETS] = { 0 };
    uint64_t total = 0;
    GRand *rand = g_rand_new_with_seed(0x5eed);

    for (int n = 0; n < 10000; n++) {
        /* Up to 45 significant bits, to reach past the last bucket. */
        int bits = g_rand_int_range(rand, 0, 46);
        uint64_t r = (uint64_t)g_rand_int(rand) << 32 | g_rand_int(rand);
        int64_t ns = bits ? (int64_t)(r >> (64 - bits)) : 0;
        int b = 0;

        while (b < BDRV_LATENCY_BUCKETS - 1 && (ns >> (b + 1)) != 0) {
            b++;
        }
        model[b]++;
        total += ns;
        bdrv_acct_record(bs, BDRV_ACCT_WRITE, 1, ns, 0);
    }
    for (int i = 0; i < BDRV_LATENCY_BUCKETS; i++) {
        g_assert_cmpuint(bs->latency_hist[BDRV_ACCT_WRITE][i], ==,
                         model[i]);
    }
    g_assert_cmpuint(bs->total_time_ns[BDRV_ACCT_WRITE], ==, total);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_WRITE], ==, 10000);
    g_rand_free(rand);
}

static void test_highest_offset(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    BlockAcctStats st;

    bs->wr_highest_sector = 77;
    bdrv_get_stats(bs, &st);
    g_assert_cmpuint(st.wr_highest_offset, ==, 77 * 512);
}

static void test_reset(void)
{
    g_autofree BlockDriverState *bs = bare_node();
    BlockAcctStats st, zero;

    memset(&zero, 0, sizeof(zero));
    for (int t = 0; t < BDRV_MAX_IOTYPE; t++) {
        bdrv_acct_record(bs, t, 100, 1 << t, 0);
        bdrv_acct_record(bs, t, 100, 1 << t, -EIO);
    }
    bs->wr_highest_sector = 8;
    bdrv_reset_stats(bs);
    bdrv_get_stats(bs, &st);
    /* Everything is zero except the write high-water mark. */
    g_assert_cmpuint(st.wr_highest_offset, ==, 8 * 512);
    st.wr_highest_offset = 0;
    g_assert_cmpint(memcmp(&st, &zero, sizeof(st)), ==, 0);
    g_assert_cmpuint(bs->wr_highest_sector, ==, 8);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/accounting/type-names", test_type_names);
    g_test_add_func("/block/accounting/clock", test_clock);
    g_test_add_func("/block/accounting/counters", test_counters);
    g_test_add_func("/block/accounting/failed", test_failed);
    g_test_add_func("/block/accounting/histogram/boundaries",
                    test_histogram_boundaries);
    g_test_add_func("/block/accounting/histogram/model",
                    test_histogram_model);
    g_test_add_func("/block/accounting/highest-offset", test_highest_offset);
    g_test_add_func("/block/accounting/reset", test_reset);
    return g_test_run();
}
