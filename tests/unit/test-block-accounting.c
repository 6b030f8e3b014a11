/*
 * Tests for block/accounting.c: counters, failed requests, the latency
 * histogram, snapshots and reset.
 *
 * Most tests pin the arithmetic down on a bare zeroed BlockDriverState,
 * calling bdrv_acct_record with chosen latencies.  The /path/ tests send
 * real reads, writes, zero writes, flushes and discards through the
 * request path of an opened node (raw over blkdebug over null-co), with
 * blkdebug failing them on demand, and check what the node counted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "block/blkdebug.h"

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

/* ---- through the request path ----------------------------------------- */

#define LATENCY_NS 1000000      /* null-co sleeps this long per request */

/* raw over blkdebug over (raw over null-co, 1 MiB, LATENCY_NS a request) */
static BlockDriverState *open_path_node(void)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");

    g_hash_table_insert(opts, g_strdup("file.image.file.size"),
                        g_strdup("1M"));
    g_hash_table_insert(opts, g_strdup("file.image.file.latency-ns"),
                        g_strdup_printf("%d", LATENCY_NS));
    g_assert_cmpint(bdrv_open_options(bs, "blkdebug::null-co://", opts,
                                      BDRV_O_RDWR, NULL, &error_abort),
                    ==, 0);
    return bs;
}

static void test_path_counts(void)
{
    BlockDriverState *bs = open_path_node();
    uint8_t buf[4096] = { 0 };
    BlockAcctStats st;

    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 4096), ==, 4096);
    g_assert_cmpint(bdrv_write_zeroes(bs, 16, 8), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 512, buf, 1024), ==, 1024);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpint(bdrv_discard(bs, 8, 16), ==, 0);
    g_assert_cmpint(bdrv_discard(bs, 64, 8), ==, 0);
    bdrv_get_stats(bs, &st);

    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_WRITE], ==, 8192);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_READ], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_READ], ==, 1024);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_FLUSH], ==, 0);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_DISCARD], ==, 2);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_DISCARD], ==, 12288);
    for (int t = 0; t < BDRV_MAX_IOTYPE; t++) {
        g_assert_cmpuint(st.failed_ops[t], ==, 0);
        /* every request was timed: one bucket each */
        g_assert_cmpuint(hist_sum(&st, t), ==, st.nr_ops[t]);
    }
    /* the requests that reach null-co sleep there, and it shows */
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_READ], >=, LATENCY_NS);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_WRITE], >=, 2 * LATENCY_NS);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_FLUSH], >=, LATENCY_NS);
    /* null-co has no discard member: quick, but still timed */
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_DISCARD], >, 0);
    bdrv_unref(bs);
}

/* Each kind fails once through blkdebug: counted as failed, nothing else;
 * the same request then succeeds and counts as done. */
static void test_path_failed(void)
{
    static const struct {
        const char *event;
        enum BlockAcctType type;
    } kinds[] = {
        { "read_aio", BDRV_ACCT_READ },
        { "write_aio", BDRV_ACCT_WRITE },
        { "write_zeroes", BDRV_ACCT_WRITE },
        { "flush", BDRV_ACCT_FLUSH },
        { "discard", BDRV_ACCT_DISCARD },
    };
    BlockDriverState *bs = open_path_node();
    uint8_t buf[4096] = { 0 };
    uint64_t failed[BDRV_MAX_IOTYPE] = { 0 };

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *rules = g_strdup_printf(
            "[inject-error]\nevent = %s\nerrno = 28\nonce = on\n",
            kinds[i].event);
        enum BlockAcctType t = kinds[i].type;
        int attempt;

        g_assert_true(blkdebug_add_rules(bs, rules, "test", &error_abort));
        for (attempt = 0; attempt < 2; attempt++) {
            int ret;

            switch (i) {
            case 0:
                ret = bdrv_read(bs, 0, buf, 8);
                break;
            case 1:
                ret = bdrv_write(bs, 0, buf, 8);
                break;
            case 2:
                ret = bdrv_write_zeroes(bs, 0, 8);
                break;
            case 3:
                ret = bdrv_flush(bs);
                break;
            default:
                ret = bdrv_discard(bs, 0, 8);
                break;
            }
            g_assert_cmpint(ret, ==, attempt ? 0 : -ENOSPC);
            if (!attempt) {
                failed[t]++;
            }
            for (int k = 0; k < BDRV_MAX_IOTYPE; k++) {
                g_assert_cmpuint(bs->failed_ops[k], ==, failed[k]);
            }
        }
    }
    /* the failures added no operation, bytes, time or bucket */
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_READ], ==, 1);
    g_assert_cmpuint(bs->nr_bytes[BDRV_ACCT_READ], ==, 4096);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(bs->nr_bytes[BDRV_ACCT_WRITE], ==, 8192);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_DISCARD], ==, 1);
    g_assert_cmpuint(bs->nr_bytes[BDRV_ACCT_DISCARD], ==, 4096);
    for (int t = 0; t < BDRV_MAX_IOTYPE; t++) {
        BlockAcctStats st;

        bdrv_get_stats(bs, &st);
        g_assert_cmpuint(hist_sum(&st, t), ==, st.nr_ops[t]);
    }
    bdrv_unref(bs);
}

/* With the ignore policy the caller sees success, the statistics the
 * failure. */
static void test_path_failed_ignored(void)
{
    BlockDriverState *bs = open_path_node();

    g_assert_true(blkdebug_add_rules(bs, "[inject-error]\nevent = flush\n",
                                     "test", &error_abort));
    bdrv_set_on_error(bs, BLOCK_ERR_IGNORE, BLOCK_ERR_IGNORE);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpuint(bs->failed_ops[BDRV_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_FLUSH], ==, 0);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
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
    g_test_add_func("/block/accounting/path/counts", test_path_counts);
    g_test_add_func("/block/accounting/path/failed", test_path_failed);
    g_test_add_func("/block/accounting/path/failed-ignored",
                    test_path_failed_ignored);
    return g_test_run();
}
