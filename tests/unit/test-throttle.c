/*
 * Tests for qemu/throttle.h: leaky buckets, accounting, validation, and
 * the rates actually delivered, measured on a manual QEMU_CLOCK_VIRTUAL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/throttle.h"
#include "qapi/error.h"
#include "block/aio.h"

#define V QEMU_CLOCK_VIRTUAL
#define SEC NANOSECONDS_PER_SECOND
#define MS ((int64_t)SCALE_MS)
#define MiB (1024 * 1024)

/* ---- fixture: throttle state + timers on a private list ---- */

typedef struct Fixture {
    ThrottleState ts;
    ThrottleTimers tt;
    QEMUTimerList *tl;
    int wakes[2];               /* read / write timer callbacks run */
} Fixture;

static void read_woken(void *opaque)
{
    ((Fixture *)opaque)->wakes[0]++;
}

static void write_woken(void *opaque)
{
    ((Fixture *)opaque)->wakes[1]++;
}

/*
 * Build the timers by hand on our own list (no AioContext needed) and
 * install @cfg with the clock at 0.
 */
static void fixture_init(Fixture *f, ThrottleConfig *cfg)
{
    memset(f, 0, sizeof(*f));
    qemu_clock_set_manual(V, 0);
    f->tl = timerlist_new(V, NULL, NULL);
    f->tt.clock_type = V;
    f->tt.timers[0] = timer_new_tl(f->tl, SCALE_NS, read_woken, f);
    f->tt.timers[1] = timer_new_tl(f->tl, SCALE_NS, write_woken, f);
    throttle_init(&f->ts);
    g_assert_true(throttle_is_valid(cfg, &error_abort));
    throttle_config(&f->ts, V, cfg);
}

static void fixture_destroy(Fixture *f)
{
    throttle_timers_destroy(&f->tt);
    g_assert_false(throttle_timers_are_initialized(&f->tt));
    timerlist_free(f->tl);
}

/*
 * Issue one request as a throttled client would: while the throttle says
 * wait, sleep until its timer fires; then account it.  Returns the
 * virtual time at which the request started.
 */
static int64_t issue(Fixture *f, bool is_write, uint64_t size)
{
    while (throttle_schedule_timer(&f->ts, &f->tt, is_write)) {
        QEMUTimer *t = f->tt.timers[is_write];
        int64_t now = qemu_clock_get_ns(V);

        g_assert_true(timer_pending(t));
        qemu_clock_advance_manual(V, MAX(timer_expire_time_ns(t) - now, 0));
        g_assert_true(timerlist_run_timers(f->tl));
    }
    throttle_account(&f->ts, is_write, size);
    return qemu_clock_get_ns(V);
}

static ThrottleConfig config_with(BucketType type, double avg)
{
    ThrottleConfig cfg;

    throttle_config_init(&cfg);
    cfg.buckets[type].avg = avg;
    return cfg;
}

/* ---- single buckets ---- */

static void test_leak(void)
{
    LeakyBucket bkt = { .avg = 100, .level = 150, .burst_length = 1 };

    throttle_leak_bucket(&bkt, SEC);
    g_assert_cmpfloat(bkt.level, ==, 50);
    throttle_leak_bucket(&bkt, SEC / 10);
    g_assert_cmpfloat(bkt.level, ==, 40);
    throttle_leak_bucket(&bkt, 10 * SEC);
    g_assert_cmpfloat(bkt.level, ==, 0);
}

static void test_leak_burst_level(void)
{
    LeakyBucket bkt = { .avg = 100, .max = 400, .level = 500,
                        .burst_level = 500, .burst_length = 3 };

    throttle_leak_bucket(&bkt, SEC);
    g_assert_cmpfloat(bkt.level, ==, 400);
    g_assert_cmpfloat(bkt.burst_level, ==, 100);

    /* With burst_length 1 the burst level is not tracked. */
    bkt.burst_length = 1;
    throttle_leak_bucket(&bkt, SEC / 10);
    g_assert_cmpfloat(bkt.burst_level, ==, 100);
}

static void test_wait_off(void)
{
    LeakyBucket bkt = { .level = 1e9, .burst_length = 1 };

    g_assert_cmpint(throttle_compute_wait(&bkt), ==, 0);
}

static void test_wait_no_max(void)
{
    LeakyBucket bkt = { .avg = 100, .level = 10, .burst_length = 1 };

    /* Without max the allowance is a tenth of a second: 10 units. */
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, 0);
    bkt.level = 20;
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, SEC / 10);
}

static void test_wait_with_max(void)
{
    LeakyBucket bkt = { .avg = 100, .max = 200, .level = 200,
                        .burst_length = 1 };

    /* With max the allowance is max * burst_length. */
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, 0);
    bkt.level = 250;
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, SEC / 2);
}

static void test_wait_burst_level(void)
{
    LeakyBucket bkt = { .avg = 100, .max = 200, .level = 100,
                        .burst_level = 50, .burst_length = 2 };

    /* Main bucket fine; the burst bucket (allowance 20) is 30 over. */
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, 150 * MS);
    bkt.burst_level = 20;
    g_assert_cmpint(throttle_compute_wait(&bkt), ==, 0);
}

/* ---- configuration ---- */

static void test_config_init(void)
{
    ThrottleConfig cfg;

    throttle_config_init(&cfg);
    g_assert_cmpuint(cfg.op_size, ==, 0);
    for (int i = 0; i < BUCKETS_COUNT; i++) {
        g_assert_cmpfloat(cfg.buckets[i].avg, ==, 0);
        g_assert_cmpfloat(cfg.buckets[i].max, ==, 0);
        g_assert_cmpuint(cfg.buckets[i].burst_length, ==, 1);
    }
    g_assert_false(throttle_enabled(&cfg));
    g_assert_true(throttle_is_valid(&cfg, &error_abort));
    cfg.buckets[THROTTLE_OPS_WRITE].avg = 1;
    g_assert_true(throttle_enabled(&cfg));
}

static void test_config_get(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_READ, 1000);
    ThrottleConfig out;
    ThrottleState ts;

    cfg.buckets[THROTTLE_BPS_READ].level = 77;
    qemu_clock_set_manual(V, 12345);
    throttle_init(&ts);
    throttle_config(&ts, V, &cfg);
    g_assert_cmpint(ts.previous_leak, ==, 12345);

    throttle_get_config(&ts, &out);
    g_assert_cmpfloat(out.buckets[THROTTLE_BPS_READ].avg, ==, 1000);
    /* Installing a configuration empties the buckets. */
    g_assert_cmpfloat(out.buckets[THROTTLE_BPS_READ].level, ==, 0);
    throttle_account(&ts, false, 10);
    throttle_get_config(&ts, &out);
    g_assert_cmpfloat(out.buckets[THROTTLE_BPS_READ].level, ==, 10);
}

/* ---- validation ---- */

static void expect_invalid(ThrottleConfig *cfg, const char *msg)
{
    Error *err = NULL;

    g_assert_false(throttle_is_valid(cfg, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_valid_ok(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_READ, 1000);

    cfg.buckets[THROTTLE_BPS_WRITE].avg = 2000;
    cfg.buckets[THROTTLE_OPS_TOTAL].avg = 100;
    cfg.buckets[THROTTLE_OPS_TOTAL].max = 500;
    cfg.buckets[THROTTLE_OPS_TOTAL].burst_length = 60;
    cfg.op_size = 4096;
    g_assert_true(throttle_is_valid(&cfg, NULL));
}

static void test_valid_negative(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL, -1);

    expect_invalid(&cfg, "bps/iops limits must not be negative");
    cfg = config_with(THROTTLE_OPS_READ, 10);
    cfg.buckets[THROTTLE_OPS_READ].max = -5;
    expect_invalid(&cfg, "bps/iops limits must not be negative");
}

static void test_valid_too_large(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL,
                                     THROTTLE_VALUE_MAX + 1.0e3);

    expect_invalid(&cfg, "bps/iops limits must be at most "
                   "1000000000000000");
    cfg = config_with(THROTTLE_BPS_TOTAL, THROTTLE_VALUE_MAX);
    g_assert_true(throttle_is_valid(&cfg, NULL));
}

static void test_valid_total_conflict(void)
{
    const char *msg = "a total bps/iops limit cannot be combined with a "
                      "read or write one";
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL, 100);

    cfg.buckets[THROTTLE_BPS_READ].avg = 10;
    expect_invalid(&cfg, msg);
    cfg = config_with(THROTTLE_OPS_TOTAL, 100);
    cfg.buckets[THROTTLE_OPS_WRITE].avg = 10;
    expect_invalid(&cfg, msg);

    /* Total max with a per-direction max conflicts too. */
    cfg = config_with(THROTTLE_BPS_TOTAL, 100);
    cfg.buckets[THROTTLE_BPS_TOTAL].max = 200;
    cfg.buckets[THROTTLE_BPS_WRITE].max = 200;
    expect_invalid(&cfg, msg);
}

static void test_valid_op_size(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL, 100);

    cfg.op_size = 512;
    expect_invalid(&cfg, "an iops size needs an iops limit");
    cfg.buckets[THROTTLE_OPS_READ].avg = 10;
    g_assert_true(throttle_is_valid(&cfg, NULL));
}

static void test_valid_burst(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_OPS_TOTAL, 100);

    cfg.buckets[THROTTLE_OPS_TOTAL].burst_length = 0;
    expect_invalid(&cfg, "the burst length must be at least 1 second");

    cfg.buckets[THROTTLE_OPS_TOTAL].burst_length = 5;
    expect_invalid(&cfg, "a burst length needs a burst rate (max) too");

    cfg.buckets[THROTTLE_OPS_TOTAL].max = 1e9;
    cfg.buckets[THROTTLE_OPS_TOTAL].burst_length = 10000000;
    expect_invalid(&cfg, "the burst length is too long for this burst "
                   "rate");
}

static void test_valid_max(void)
{
    ThrottleConfig cfg;

    throttle_config_init(&cfg);
    cfg.buckets[THROTTLE_BPS_WRITE].max = 100;
    expect_invalid(&cfg, "a burst rate (max) needs an average rate too");

    cfg.buckets[THROTTLE_BPS_WRITE].avg = 200;
    expect_invalid(&cfg, "a burst rate (max) must not be below the "
                   "average rate");
}

/* ---- accounting ---- */

static double level(ThrottleState *ts, BucketType type)
{
    return ts->cfg.buckets[type].level;
}

static void test_account_directions(void)
{
    ThrottleConfig cfg;
    ThrottleState ts;

    throttle_config_init(&cfg);
    throttle_init(&ts);
    throttle_config(&ts, V, &cfg);

    throttle_account(&ts, false, 1000);
    throttle_account(&ts, true, 300);
    g_assert_cmpfloat(level(&ts, THROTTLE_BPS_TOTAL), ==, 1300);
    g_assert_cmpfloat(level(&ts, THROTTLE_BPS_READ), ==, 1000);
    g_assert_cmpfloat(level(&ts, THROTTLE_BPS_WRITE), ==, 300);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_TOTAL), ==, 2);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_READ), ==, 1);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_WRITE), ==, 1);
}

static void test_account_op_size(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_OPS_TOTAL, 10);
    ThrottleState ts;

    cfg.op_size = 4096;
    throttle_init(&ts);
    throttle_config(&ts, V, &cfg);

    throttle_account(&ts, false, 16384);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_TOTAL), ==, 4);
    /* Small requests still count as one operation... */
    throttle_account(&ts, false, 100);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_TOTAL), ==, 5);
    /* ...and fractions of op_size are kept. */
    throttle_account(&ts, true, 6144);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_TOTAL), ==, 6.5);
    g_assert_cmpfloat(level(&ts, THROTTLE_OPS_WRITE), ==, 1.5);
}

static void test_account_burst_level(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL, 10);
    ThrottleState ts;

    cfg.buckets[THROTTLE_BPS_TOTAL].max = 20;
    cfg.buckets[THROTTLE_BPS_TOTAL].burst_length = 2;
    throttle_init(&ts);
    throttle_config(&ts, V, &cfg);
    throttle_account(&ts, true, 7);
    g_assert_cmpfloat(ts.cfg.buckets[THROTTLE_BPS_TOTAL].burst_level, ==, 7);
    g_assert_cmpfloat(ts.cfg.buckets[THROTTLE_BPS_READ].burst_level, ==, 0);
}

/* ---- scheduling ---- */

static void test_schedule_not_throttled(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_READ, 1000);
    Fixture f;

    fixture_init(&f, &cfg);
    g_assert_false(throttle_schedule_timer(&f.ts, &f.tt, false));
    throttle_account(&f.ts, false, 100);
    /* Exactly at the allowance (avg / 10) still passes. */
    g_assert_false(throttle_schedule_timer(&f.ts, &f.tt, false));
    g_assert_false(timer_pending(f.tt.timers[0]));
    fixture_destroy(&f);
}

static void test_schedule_arms_timer(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_WRITE, 1000);
    Fixture f;

    fixture_init(&f, &cfg);
    throttle_account(&f.ts, true, 300);
    /* Reads are not limited; writes wait 200 ms for the excess. */
    g_assert_false(throttle_schedule_timer(&f.ts, &f.tt, false));
    g_assert_true(throttle_schedule_timer(&f.ts, &f.tt, true));
    g_assert_false(timer_pending(f.tt.timers[0]));
    g_assert_cmpint(timer_expire_time_ns(f.tt.timers[1]), ==, 200 * MS);

    /* A pending timer is left alone even when the wait grows. */
    qemu_clock_advance_manual(V, 50 * MS);
    throttle_account(&f.ts, true, 100);
    g_assert_true(throttle_schedule_timer(&f.ts, &f.tt, true));
    g_assert_cmpint(timer_expire_time_ns(f.tt.timers[1]), ==, 200 * MS);

    qemu_clock_advance_manual(V, 150 * MS);
    g_assert_true(timerlist_run_timers(f.tl));
    g_assert_cmpint(f.wakes[1], ==, 1);
    g_assert_cmpint(f.wakes[0], ==, 0);
    /* Woken early for the extra write: armed again for the rest. */
    g_assert_true(throttle_schedule_timer(&f.ts, &f.tt, true));
    g_assert_cmpint(timer_expire_time_ns(f.tt.timers[1]), ==, 300 * MS);
    qemu_clock_advance_manual(V, 100 * MS);
    g_assert_false(throttle_schedule_timer(&f.ts, &f.tt, true));
    timer_del(f.tt.timers[1]);
    fixture_destroy(&f);
}

static void test_schedule_total_applies_both(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_OPS_TOTAL, 10);
    Fixture f;

    fixture_init(&f, &cfg);
    throttle_account(&f.ts, true, 1);
    throttle_account(&f.ts, true, 1);
    /* Two writes put the total bucket over its one-op allowance. */
    g_assert_true(throttle_schedule_timer(&f.ts, &f.tt, false));
    g_assert_cmpint(timer_expire_time_ns(f.tt.timers[0]), ==, 100 * MS);
    fixture_destroy(&f);
}

/* ---- delivered rates ---- */

static void test_rate_bps_read(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_READ, MiB);
    int64_t t1 = 0, t5 = 0;
    Fixture f;

    fixture_init(&f, &cfg);
    /* 64 KiB reads at 1 MiB/s: from the 1 MiB mark to the 5 MiB mark. */
    for (int i = 0; i <= 80; i++) {
        int64_t t = issue(&f, false, 64 * 1024);
        if (i == 16) {
            t1 = t;
        } else if (i == 80) {
            t5 = t;
        }
    }
    g_assert_cmpint(llabs(t5 - t1 - 4 * SEC), <=, MS);
    g_assert_cmpint(f.wakes[0], >, 0);
    fixture_destroy(&f);
}

static void test_rate_bps_first_burst(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_TOTAL, MiB);
    Fixture f;

    fixture_init(&f, &cfg);
    /* 4 MiB from idle: the first tenth of a second's worth is free. */
    for (int i = 0; i < 64; i++) {
        issue(&f, i & 1, 64 * 1024);
    }
    g_assert_cmpint(llabs(issue(&f, false, 1) - (4 * SEC - SEC / 10)), <=,
                    MS);
    fixture_destroy(&f);
}

static void test_rate_iops(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_OPS_WRITE, 100);
    int64_t t100 = 0, t500 = 0;
    Fixture f;

    fixture_init(&f, &cfg);
    for (int i = 0; i <= 500; i++) {
        int64_t t = issue(&f, true, 512);
        if (i == 100) {
            t100 = t;
        } else if (i == 500) {
            t500 = t;
        }
    }
    /* 400 operations at 100 iops take 4 s, whatever their size. */
    g_assert_cmpint(llabs(t500 - t100 - 4 * SEC), <=, MS);
    fixture_destroy(&f);
}

static void test_rate_op_size(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_OPS_READ, 10);
    int64_t t10 = 0, t20 = 0;
    Fixture f;

    cfg.op_size = 4096;
    fixture_init(&f, &cfg);
    /* 40 KiB requests count as 10 operations: one request a second. */
    for (int i = 0; i <= 20; i++) {
        int64_t t = issue(&f, false, 40960);
        if (i == 10) {
            t10 = t;
        } else if (i == 20) {
            t20 = t;
        }
    }
    g_assert_cmpint(llabs(t20 - t10 - 10 * SEC), <=, MS);
    fixture_destroy(&f);
}

/* Operations started in [from, to) according to @times. */
static int ops_between(int64_t *times, int n, int64_t from, int64_t to)
{
    int count = 0;

    for (int i = 0; i < n; i++) {
        count += times[i] >= from && times[i] < to;
    }
    return count;
}

static void test_rate_burst(void)
{
    enum { N = 3000 };
    ThrottleConfig cfg = config_with(THROTTLE_OPS_TOTAL, 100);
    int64_t *times = g_new(int64_t, N);
    Fixture f;

    /* 100 iops on average, bursts of up to 1000 iops for 2 s. */
    cfg.buckets[THROTTLE_OPS_TOTAL].max = 1000;
    cfg.buckets[THROTTLE_OPS_TOTAL].burst_length = 2;
    fixture_init(&f, &cfg);
    for (int i = 0; i < N; i++) {
        times[i] = issue(&f, false, 512);
    }
    /* While bursting, the rate is max... */
    g_assert_cmpint(abs(ops_between(times, N, SEC / 2, 3 * SEC / 2) - 1000),
                    <=, 1);
    /* ...the main bucket fills ((1000 - 100) ops/s for ~2.2 s)... */
    g_assert_cmpint(times[2000], <, 3 * SEC);
    /* ...then the rate falls back to avg. */
    g_assert_cmpint(abs(ops_between(times, N, 5 * SEC, 6 * SEC) - 100),
                    <=, 1);
    g_assert_cmpint(llabs(times[N - 1] - times[N - 101] - SEC), <=, MS);
    g_free(times);
    fixture_destroy(&f);
}

/* ---- ThrottleTimers in an AioContext ---- */

static void test_timers_aio_context(void)
{
    ThrottleConfig cfg = config_with(THROTTLE_BPS_READ, 1000);
    AioContext *ctx = aio_context_new();
    ThrottleState ts;
    ThrottleTimers tt;
    Fixture f = { 0 };

    qemu_clock_set_manual(V, 0);
    throttle_timers_init(&tt, ctx, V, read_woken, write_woken, &f);
    g_assert_true(throttle_timers_are_initialized(&tt));
    g_assert_true(tt.aio_context == ctx);
    g_assert_true(tt.timers[0]->timer_list == ctx->tlg.tl[V]);
    g_assert_true(tt.timers[0]->cb == read_woken);
    g_assert_true(tt.timers[1]->cb == write_woken);

    throttle_init(&ts);
    throttle_config(&ts, V, &cfg);
    throttle_account(&ts, false, 200);
    g_assert_true(throttle_schedule_timer(&ts, &tt, false));
    g_assert_cmpint(timerlistgroup_deadline_ns(&ctx->tlg), ==, 100 * MS);

    /* The wake-up runs in the context's event loop. */
    qemu_clock_advance_manual(V, 100 * MS);
    while (aio_poll(ctx, false)) {
        /* run everything that is ready */
    }
    g_assert_cmpint(f.wakes[0], ==, 1);

    throttle_timers_detach_aio_context(&tt);
    g_assert_false(throttle_timers_are_initialized(&tt));
    g_assert_null(tt.aio_context);
    throttle_timers_attach_aio_context(&tt, ctx);
    g_assert_true(throttle_timers_are_initialized(&tt));
    g_assert_true(tt.timers[1]->timer_list == ctx->tlg.tl[V]);

    g_assert_true(throttle_schedule_timer(&ts, &tt, false) == false);
    throttle_account(&ts, false, 200);
    g_assert_true(throttle_schedule_timer(&ts, &tt, false));
    throttle_timers_destroy(&tt);          /* deletes the pending timer */
    g_assert_false(throttle_timers_are_initialized(&tt));
    g_assert_cmpint(timerlistgroup_deadline_ns(&ctx->tlg), ==, -1);
    aio_context_unref(ctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/throttle/bucket/leak", test_leak);
    g_test_add_func("/throttle/bucket/leak-burst-level",
                    test_leak_burst_level);
    g_test_add_func("/throttle/bucket/wait-off", test_wait_off);
    g_test_add_func("/throttle/bucket/wait-no-max", test_wait_no_max);
    g_test_add_func("/throttle/bucket/wait-with-max", test_wait_with_max);
    g_test_add_func("/throttle/bucket/wait-burst-level",
                    test_wait_burst_level);
    g_test_add_func("/throttle/config/init", test_config_init);
    g_test_add_func("/throttle/config/get", test_config_get);
    g_test_add_func("/throttle/valid/ok", test_valid_ok);
    g_test_add_func("/throttle/valid/negative", test_valid_negative);
    g_test_add_func("/throttle/valid/too-large", test_valid_too_large);
    g_test_add_func("/throttle/valid/total-conflict",
                    test_valid_total_conflict);
    g_test_add_func("/throttle/valid/op-size", test_valid_op_size);
    g_test_add_func("/throttle/valid/burst", test_valid_burst);
    g_test_add_func("/throttle/valid/max", test_valid_max);
    g_test_add_func("/throttle/account/directions",
                    test_account_directions);
    g_test_add_func("/throttle/account/op-size", test_account_op_size);
    g_test_add_func("/throttle/account/burst-level",
                    test_account_burst_level);
    g_test_add_func("/throttle/schedule/not-throttled",
                    test_schedule_not_throttled);
    g_test_add_func("/throttle/schedule/arms-timer",
                    test_schedule_arms_timer);
    g_test_add_func("/throttle/schedule/total-applies-both",
                    test_schedule_total_applies_both);
    g_test_add_func("/throttle/rate/bps-read", test_rate_bps_read);
    g_test_add_func("/throttle/rate/bps-first-burst",
                    test_rate_bps_first_burst);
    g_test_add_func("/throttle/rate/iops", test_rate_iops);
    g_test_add_func("/throttle/rate/op-size", test_rate_op_size);
    g_test_add_func("/throttle/rate/burst", test_rate_burst);
    g_test_add_func("/throttle/timers/aio-context",
                    test_timers_aio_context);
    return g_test_run();
}
