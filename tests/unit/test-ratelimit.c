/*
 * Tests for qemu/ratelimit.h, driven by a manual QEMU_CLOCK_VIRTUAL so
 * slice boundaries are exact.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/ratelimit.h"

#define V QEMU_CLOCK_VIRTUAL
#define MS ((int64_t)SCALE_MS)

/* 1000 units/s in 100 ms slices: a quota of 100 units per slice. */
static void setup(RateLimit *limit)
{
    qemu_clock_set_manual(V, 0);
    ratelimit_init(limit);
    ratelimit_set_clock(limit, V);
    ratelimit_set_speed(limit, 1000, 100 * MS);
}

static void test_init_defaults(void)
{
    RateLimit limit;

    ratelimit_init(&limit);
    g_assert_cmpint(limit.clock_type, ==, QEMU_CLOCK_REALTIME);
    g_assert_false(ratelimit_enabled(&limit));
    /* Unlimited: even a huge chunk needs no wait. */
    g_assert_cmpint(ratelimit_calculate_delay(&limit, UINT32_MAX), ==, 0);
    ratelimit_destroy(&limit);
}

static void test_set_speed(void)
{
    RateLimit limit;

    setup(&limit);
    g_assert_true(ratelimit_enabled(&limit));
    g_assert_cmpuint(limit.slice_quota, ==, 100);
    g_assert_cmpuint(limit.slice_ns, ==, 100 * MS);

    /* A tiny speed still allows one unit per slice. */
    ratelimit_set_speed(&limit, 1, MS);
    g_assert_cmpuint(limit.slice_quota, ==, 1);

    ratelimit_set_speed(&limit, 0, MS);
    g_assert_false(ratelimit_enabled(&limit));
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 1000), ==, 0);
    ratelimit_destroy(&limit);
}

static void test_within_quota(void)
{
    RateLimit limit;

    setup(&limit);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 50), ==, 0);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 49), ==, 0);
    ratelimit_destroy(&limit);
}

static void test_quota_exhausted(void)
{
    RateLimit limit;

    setup(&limit);
    ratelimit_calculate_delay(&limit, 99);
    /* The 100th unit uses up the slice: wait for its end. */
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 1), ==, 100 * MS);

    /* More work inside the slice pushes its end out proportionally. */
    qemu_clock_advance_manual(V, 40 * MS);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 10), ==, 70 * MS);
    ratelimit_destroy(&limit);
}

static void test_slice_reset(void)
{
    RateLimit limit;

    setup(&limit);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 100), >, 0);
    qemu_clock_advance_manual(V, 99 * MS);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 1), >, 0);

    /* Once the (extended) slice is over, the quota is fresh. */
    qemu_clock_advance_manual(V, 2 * MS);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 99), ==, 0);
    ratelimit_destroy(&limit);
}

static void test_unused_quota_not_carried(void)
{
    RateLimit limit;

    setup(&limit);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 10), ==, 0);
    /* Idle for many slices: the next slice still holds only 100. */
    qemu_clock_advance_manual(V, 10000 * MS);
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 100), ==, 100 * MS);
    ratelimit_destroy(&limit);
}

static void test_large_chunk(void)
{
    RateLimit limit;

    setup(&limit);
    /* Ten slices' worth at once costs ten slices of waiting. */
    g_assert_cmpint(ratelimit_calculate_delay(&limit, 1000), ==,
                    1000 * MS);
    ratelimit_destroy(&limit);
}

static void test_average_rate(void)
{
    RateLimit limit;
    int64_t start;

    setup(&limit);
    start = qemu_clock_get_ns(V);
    /* 10240 units at 1000 units/s, in 64-unit chunks, sleeping as told. */
    for (int i = 0; i < 160; i++) {
        qemu_clock_advance_manual(V, ratelimit_calculate_delay(&limit, 64));
    }
    g_assert_cmpint(llabs(qemu_clock_get_ns(V) - start - 10240 * MS), <=,
                    MS);
    ratelimit_destroy(&limit);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ratelimit/init-defaults", test_init_defaults);
    g_test_add_func("/ratelimit/set-speed", test_set_speed);
    g_test_add_func("/ratelimit/within-quota", test_within_quota);
    g_test_add_func("/ratelimit/quota-exhausted", test_quota_exhausted);
    g_test_add_func("/ratelimit/slice-reset", test_slice_reset);
    g_test_add_func("/ratelimit/unused-quota-not-carried",
                    test_unused_quota_not_carried);
    g_test_add_func("/ratelimit/large-chunk", test_large_chunk);
    g_test_add_func("/ratelimit/average-rate", test_average_rate);
    return g_test_run();
}
