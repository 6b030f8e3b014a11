/*
 * Tests for I/O limits and throttle groups (block/throttle-groups.c).
 *
 * Nodes here are bare BlockDriverStates: no driver, just the fields the
 * throttle uses.  Each request is a coroutine that calls
 * bdrv_io_limits_intercept and notes the virtual time it was admitted.
 * The test owns QEMU_CLOCK_VIRTUAL (manual mode) and moves it from one
 * timer deadline to the next, so admission times are exact and nothing
 * depends on wall time.
 *
 * Tolerance: expected times come from the leaky-bucket arithmetic in
 * doubles, and the engine rounds each wait down to whole nanoseconds, so
 * times are compared to within TOL = 1 us.  Where a test speaks of "the
 * data is done at N seconds", the engine's idle allowance of a tenth of a
 * second's worth of data (one slice, BLOCK_IO_SLICE_TIME) makes the end
 * land up to one slice earlier: N s minus one slice, never later than N s.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "block/block_int.h"

#define V       QEMU_CLOCK_VIRTUAL
#define SEC     1000000000LL
#define MS      1000000LL
#define TOL     1000LL                  /* 1 us, see the top of the file */
#define SLICE   ((int64_t)BLOCK_IO_SLICE_TIME)
#define KiB     1024LL
#define MiB     (1024 * KiB)
#define CHUNK   (64 * KiB)

#define R BLOCK_IO_LIMIT_READ
#define W BLOCK_IO_LIMIT_WRITE
#define T BLOCK_IO_LIMIT_TOTAL

/* ---- fixture: one context, manual clock, bare nodes ---- */

static AioContext *ctx;
static GArray *admissions;      /* node tags in admission order */

typedef struct Req {
    BlockDriverState *bs;
    int64_t bytes;
    bool is_write;
    int tag;
    int64_t admitted;           /* virtual ns, -1 while waiting */
} Req;

static void env_init(void)
{
    qemu_clock_set_manual(V, 0);
    ctx = aio_context_new();
    qemu_set_current_aio_context(ctx);
    admissions = g_array_new(false, false, sizeof(int));
}

static void env_destroy(void)
{
    while (aio_poll(ctx, false)) {
        /* finish what is left */
    }
    g_array_free(admissions, true);
    qemu_set_current_aio_context(NULL);
    aio_context_unref(ctx);
}

static BlockDriverState *node_new(const char *name)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    qemu_co_queue_init(&bs->throttled_reqs[0]);
    qemu_co_queue_init(&bs->throttled_reqs[1]);
    bs->aio_context = ctx;
    g_strlcpy(bs->device_name, name, sizeof(bs->device_name));
    bdrv_io_limits_set_clock(bs, V);
    return bs;
}

static void node_free(BlockDriverState *bs)
{
    bdrv_io_limits_disable(bs);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_REALTIME);
    g_assert_null(bs->throttle);
    g_free(bs);
}

static void apply(BlockDriverState *bs, BlockIOLimit *limits)
{
    g_assert_true(bdrv_io_limits_apply(bs, limits, &error_abort));
}

/* ---- requests and the clock ---- */

static void coroutine_fn req_entry(void *opaque)
{
    Req *r = opaque;

    bdrv_io_limits_intercept(r->bs, r->bytes, r->is_write);
    r->admitted = qemu_clock_get_ns(V);
    g_array_append_val(admissions, r->tag);
}

static void submit(Req *r, BlockDriverState *bs, int64_t bytes,
                   bool is_write, int tag)
{
    *r = (Req) { .bs = bs, .bytes = bytes, .is_write = is_write,
                 .tag = tag, .admitted = -1 };
    aio_co_enter(ctx, qemu_coroutine_create(req_entry, r));
}

/* @n requests of @bytes on @bs, all issued now. */
static Req *submit_many(BlockDriverState *bs, int n, int64_t bytes,
                        bool is_write, int tag)
{
    Req *reqs = g_new(Req, n);

    for (int i = 0; i < n; i++) {
        submit(&reqs[i], bs, bytes, is_write, tag);
    }
    return reqs;
}

static void poll_all(void)
{
    while (aio_poll(ctx, false)) {
        /* run everything that is ready */
    }
}

/*
 * Run the context and move the clock forward, stopping at each timer
 * deadline on the way, until it reads @end.
 */
static void run_until(int64_t end)
{
    for (int steps = 0; ; steps++) {
        int64_t now = qemu_clock_get_ns(V);
        int64_t next;

        g_assert_cmpint(steps, <, 1000000);
        poll_all();
        next = timerlist_deadline_ns(ctx->tlg.tl[V]);
        if (next < 0 || now + next > end) {
            qemu_clock_advance_manual(V, end - now);
            poll_all();
            return;
        }
        qemu_clock_advance_manual(V, next);
    }
}

static void run_for(int64_t delta)
{
    run_until(qemu_clock_get_ns(V) + delta);
}

/* Time (ns) at which @units leave a bucket of rate @rate with allowance
 * @allowance, i.e. when the request behind them may start. */
static int64_t after(double units, double allowance, double rate)
{
    double t = (units - allowance) / rate;

    return t > 0 ? (int64_t)(t * SEC) : 0;
}

static void assert_time(int64_t got, int64_t want)
{
    if (llabs(got - want) > TOL) {
        g_error("admitted at %" PRId64 " ns, expected %" PRId64, got, want);
    }
}

/* Requests [0, n) of @reqs were admitted at the times of a single
 * stream of @bytes requests under @rate (allowance a tenth of it). */
static void assert_stream(Req *reqs, int n, int64_t bytes, double rate)
{
    for (int i = 0; i < n; i++) {
        assert_time(reqs[i].admitted, after((double)i * bytes, rate / 10,
                                            rate));
    }
}

/* ---- rates ---- */

static void test_bps_read(void)
{
    BlockIOLimit limits = { .bps[R] = MiB };
    BlockDriverState *bs;
    Req *reqs, probe, wr;

    env_init();
    bs = node_new("bps");
    apply(bs, &limits);
    g_assert_true(bs->io_limits_enabled);
    g_assert_cmpint(bs->io_limits.bps[R], ==, MiB);

    /* A 4 MiB read in 64 KiB pieces, then a 1-byte read behind it. */
    reqs = submit_many(bs, 64, CHUNK, false, 0);
    submit(&probe, bs, 1, false, 0);
    /* Writes are not limited. */
    submit(&wr, bs, MiB, true, 0);
    g_assert_cmpint(wr.admitted, ==, 0);

    /* 4 MiB at 1 MiB/s: the budget is spent 4 s minus one slice in. */
    run_until(4 * SEC - SLICE - TOL);
    g_assert_cmpint(probe.admitted, ==, -1);
    run_until(4 * SEC);
    assert_stream(reqs, 64, CHUNK, MiB);
    assert_time(probe.admitted, 4 * SEC - SLICE);
    /* The last piece itself went one piece (62.5 ms) before that. */
    assert_time(reqs[63].admitted, 4 * SEC - SLICE - 62500 * 1000);

    node_free(bs);
    g_free(reqs);
    env_destroy();
}

static void test_iops(void)
{
    BlockIOLimit limits = { .iops[W] = 10 };
    BlockDriverState *bs;
    Req *small, *large;

    env_init();
    bs = node_new("iops");
    apply(bs, &limits);
    /* 10 ops/s whatever the size: 20 small then 10 large writes. */
    small = submit_many(bs, 20, 512, true, 0);
    large = submit_many(bs, 10, MiB, true, 0);
    run_until(3 * SEC);
    for (int i = 0; i < 20; i++) {
        assert_time(small[i].admitted, after(i, 1, 10));
    }
    for (int i = 0; i < 10; i++) {
        assert_time(large[i].admitted, after(20 + i, 1, 10));
    }
    node_free(bs);
    g_free(small);
    g_free(large);
    env_destroy();
}

/* 32 reads and 32 writes of 64 KiB under @limits; returns the time the
 * last of each direction was admitted. */
static void mixed_stream(BlockIOLimit *limits, int64_t *last_read,
                         int64_t *last_write)
{
    BlockDriverState *bs = node_new("mixed");
    Req *reads, *writes;

    apply(bs, limits);
    reads = submit_many(bs, 32, CHUNK, false, 0);
    writes = submit_many(bs, 32, CHUNK, true, 1);
    run_until(5 * SEC);
    *last_read = reads[31].admitted;
    *last_write = writes[31].admitted;
    node_free(bs);
    g_free(reads);
    g_free(writes);
}

static void test_total_vs_directions(void)
{
    BlockIOLimit total = { .bps[T] = MiB };
    BlockIOLimit split = { .bps[R] = MiB, .bps[W] = MiB };
    int64_t last_read, last_write;
    int64_t two_mib = after(31.0 * CHUNK, MiB / 10.0, MiB);

    env_init();
    /* Separate limits: each direction moves 2 MiB at its own 1 MiB/s. */
    mixed_stream(&split, &last_read, &last_write);
    assert_time(last_read, two_mib);
    assert_time(last_write, two_mib);
    env_destroy();

    env_init();
    /* A total limit: the 4 MiB share 1 MiB/s, so the whole takes twice
     * as long; the last piece is the 64th of one stream. */
    mixed_stream(&total, &last_read, &last_write);
    assert_time(MAX(last_read, last_write),
                after(63.0 * CHUNK, MiB / 10.0, MiB));
    env_destroy();
}

static void test_iops_size(void)
{
    BlockIOLimit limits = { .iops[R] = 10, .iops_size = 4 * KiB };
    BlockDriverState *bs;
    Req *big, small;

    env_init();
    bs = node_new("iops-size");
    apply(bs, &limits);
    /* 40 KiB = 10 operations of 4 KiB: one request a second. */
    big = submit_many(bs, 4, 40 * KiB, false, 0);
    /* A request smaller than iops_size still counts as one. */
    submit(&small, bs, 512, false, 0);
    run_until(5 * SEC);
    for (int i = 0; i < 4; i++) {
        assert_time(big[i].admitted, after(10.0 * i, 1, 10));
    }
    assert_time(small.admitted, after(40, 1, 10));
    node_free(bs);
    g_free(big);
    env_destroy();
}

/*
 * avg 1 MiB/s, max 4 MiB/s for 2 s: the n-th piece waits for the burst
 * level (leaks at max, allowance max / 10) and the level (leaks at avg,
 * allowance max * burst_length), whichever is later.
 */
static int64_t burst_time(int n)
{
    double bytes = (double)n * CHUNK;

    return MAX(after(bytes, 0.4 * MiB, 4.0 * MiB),
               after(bytes, 8.0 * MiB, MiB));
}

static void test_burst(void)
{
    BlockIOLimit limits = { .bps[R] = MiB, .bps_max[R] = 4 * MiB,
                            .bps_max_length[R] = 2 };
    BlockDriverState *bs;
    Req *reqs;
    int n = 14 * 16;            /* 14 MiB of 64 KiB pieces */
    int64_t done_at_2s = 0;

    env_init();
    bs = node_new("burst");
    apply(bs, &limits);
    reqs = submit_many(bs, n, CHUNK, false, 0);
    run_until(10 * SEC);
    for (int i = 0; i < n; i++) {
        assert_time(reqs[i].admitted, burst_time(i));
        if (reqs[i].admitted <= 2 * SEC) {
            done_at_2s += CHUNK;
        }
    }
    /* The burst ran at max (4 MiB/s) for at least the burst length... */
    g_assert_cmpint(done_at_2s, >=, 8 * MiB);
    /* ...and the tail runs at avg: 16 pieces (1 MiB) a second. */
    assert_time(reqs[n - 1].admitted - reqs[n - 17].admitted, SEC);
    node_free(bs);
    g_free(reqs);
    env_destroy();
}

/* ---- changing limits ---- */

static void test_change_limits(void)
{
    BlockIOLimit slow = { .bps[R] = MiB };
    BlockIOLimit fast = { .bps[R] = 2 * MiB };
    BlockDriverState *bs;
    Req *reqs;

    env_init();
    bs = node_new("change");
    apply(bs, &slow);
    reqs = submit_many(bs, 40, CHUNK, false, 0);
    run_until(SEC);
    /* Piece 18 would go at 1.025 s under 1 MiB/s; switch before. */
    g_assert_cmpint(reqs[17].admitted, >=, 0);
    g_assert_cmpint(reqs[18].admitted, ==, -1);
    apply(bs, &fast);
    g_assert_cmpint(bs->io_limits.bps[R], ==, 2 * MiB);
    run_until(3 * SEC);
    /* New buckets start empty: pieces 18.. form a fresh 2 MiB/s stream. */
    for (int i = 18; i < 40; i++) {
        assert_time(reqs[i].admitted,
                    SEC + after((double)(i - 18) * CHUNK, 0.2 * MiB,
                                2.0 * MiB));
    }
    node_free(bs);
    g_free(reqs);
    env_destroy();
}

static void test_disable_releases(void)
{
    BlockIOLimit limits = { .bps[W] = MiB };
    BlockDriverState *bs;
    Req *reqs, after_disable;

    env_init();
    bs = node_new("disable");
    apply(bs, &limits);
    reqs = submit_many(bs, 32, CHUNK, true, 0);
    run_until(SEC / 2);
    g_assert_cmpint(reqs[31].admitted, ==, -1);

    bdrv_io_limits_disable(bs);
    poll_all();
    g_assert_false(bs->io_limits_enabled);
    g_assert_cmpint(bs->io_limits.bps[W], ==, 0);
    for (int i = 0; i < 32; i++) {
        g_assert_cmpint(reqs[i].admitted, >=, 0);
        g_assert_cmpint(reqs[i].admitted, <=, SEC / 2);
    }
    submit(&after_disable, bs, 100 * MiB, true, 0);
    g_assert_cmpint(after_disable.admitted, ==, SEC / 2);
    node_free(bs);
    g_free(reqs);
    env_destroy();
}

static void test_all_zero_disables(void)
{
    BlockIOLimit limits = { .iops[T] = 5 };
    BlockIOLimit zero = { 0 };
    BlockDriverState *bs;

    env_init();
    bs = node_new("zero");
    apply(bs, &limits);
    g_assert_true(bs->io_limits_enabled);
    bdrv_set_io_limits(bs, &zero);
    g_assert_false(bs->io_limits_enabled);
    g_assert_cmpint(bs->io_limits.iops[T], ==, 0);
    node_free(bs);
    env_destroy();
}

/* ---- validation ---- */

static void expect_invalid(BlockIOLimit *limits, const char *msg)
{
    BlockIOLimit good = { .bps[R] = 1000 };
    BlockDriverState *bs = node_new("invalid");
    Error *err = NULL;

    apply(bs, &good);
    g_assert_false(bdrv_io_limits_apply(bs, limits, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    /* The old limits stay in force. */
    g_assert_true(bs->io_limits_enabled);
    g_assert_cmpint(bs->io_limits.bps[R], ==, 1000);
    node_free(bs);
}

static void test_invalid(void)
{
    BlockIOLimit total_and_read = { .bps[T] = 100, .bps[R] = 10 };
    BlockIOLimit negative = { .iops[W] = -1 };
    BlockIOLimit max_below = { .bps[W] = 200, .bps_max[W] = 100 };
    BlockIOLimit bad_length = { .iops[R] = 10, .iops_max[R] = 20,
                                .iops_max_length[R] = -3 };
    BlockIOLimit length_alone = { .iops[R] = 10, .iops_max_length[R] = 3 };
    BlockIOLimit size_alone = { .bps[R] = 10, .iops_size = 512 };

    env_init();
    expect_invalid(&total_and_read, "a total bps/iops limit cannot be "
                   "combined with a read or write one");
    expect_invalid(&negative, "bps/iops limits must not be negative");
    expect_invalid(&max_below, "a burst rate (max) must not be below the "
                   "average rate");
    expect_invalid(&bad_length, "the burst length must not be negative");
    expect_invalid(&length_alone, "a burst length needs a burst rate (max) "
                   "too");
    expect_invalid(&size_alone, "an iops size needs an iops limit");
    env_destroy();
}

/* The seed's void call reports invalid limits as a warning. */
static void test_invalid_warns(void)
{
    if (g_test_subprocess()) {
        BlockIOLimit good = { .bps[R] = 1000 };
        BlockIOLimit bad = { .bps[T] = 100, .bps[W] = 10 };
        BlockDriverState *bs;

        env_init();
        bs = node_new("disk0");
        bdrv_set_io_limits(bs, &good);
        bdrv_set_io_limits(bs, &bad);
        g_assert_true(bs->io_limits_enabled);
        g_assert_cmpint(bs->io_limits.bps[R], ==, 1000);
        g_assert_cmpint(bs->io_limits.bps[T], ==, 0);
        node_free(bs);
        env_destroy();
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*warning: I/O limits of 'disk0' not changed: "
                              "a total bps/iops limit cannot be combined "
                              "with a read or write one*");
}

/* ---- groups ---- */

/* Count of each tag in admissions[from, to). */
static void count_tags(int from, int to, int *counts, int ntags)
{
    memset(counts, 0, ntags * sizeof(int));
    for (int i = from; i < to; i++) {
        counts[g_array_index(admissions, int, i)]++;
    }
}

static void test_group_round_robin(void)
{
    BlockIOLimit limits = { .bps[R] = MiB, .group = "shared" };
    BlockDriverState *bs[3];
    Req *reqs[3];
    int counts[3];
    int total = 0;

    env_init();
    for (int i = 0; i < 3; i++) {
        bs[i] = node_new("member");
        apply(bs[i], &limits);
        g_assert_cmpstr(bs[i]->io_limits.group, ==, "shared");
    }
    /* Node 0 is first in line, so it starts; the others queue at once. */
    for (int i = 0; i < 3; i++) {
        reqs[i] = submit_many(bs[i], 32, CHUNK, false, i);
    }
    run_until(3 * SEC);

    /* Together they get 1 MiB/s: the group is one stream. */
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 32; j++) {
            total += reqs[i][j].admitted >= 0;
        }
    }
    g_assert_cmpint(total, ==, (int)admissions->len);
    /* Piece n of one 1 MiB/s stream goes at n / 16 - 0.1 s: 0..49. */
    g_assert_cmpint(total, ==, 50);

    /* After the two pieces node 0 got from the idle budget, turns
     * rotate: every three admissions serve each member once. */
    g_assert_cmpint(g_array_index(admissions, int, 0), ==, 0);
    g_assert_cmpint(g_array_index(admissions, int, 1), ==, 0);
    for (int i = 2; i + 3 <= (int)admissions->len; i += 3) {
        count_tags(i, i + 3, counts, 3);
        g_assert_cmpint(counts[0], ==, 1);
        g_assert_cmpint(counts[1], ==, 1);
        g_assert_cmpint(counts[2], ==, 1);
    }
    run_until(10 * SEC);
    for (int i = 0; i < 3; i++) {
        node_free(bs[i]);
        g_free(reqs[i]);
    }
    env_destroy();
}

/* Two nodes in one group, each with @n reads of 64 KiB queued. */
typedef struct Pair {
    BlockDriverState *a, *b;
    Req *ra, *rb;
} Pair;

static void pair_init(Pair *p, BlockIOLimit *limits, int n)
{
    p->a = node_new("a");
    p->b = node_new("b");
    apply(p->a, limits);
    apply(p->b, limits);
    p->ra = submit_many(p->a, n, CHUNK, false, 0);
    p->rb = submit_many(p->b, n, CHUNK, false, 1);
}

static void pair_destroy(Pair *p)
{
    node_free(p->a);
    node_free(p->b);
    g_free(p->ra);
    g_free(p->rb);
}

/* Index of the first of @reqs admitted after @t. */
static int first_after(Req *reqs, int n, int64_t t)
{
    for (int i = 0; i < n; i++) {
        if (reqs[i].admitted > t) {
            return i;
        }
    }
    g_assert_not_reached();
}

static void test_group_member_leaves(void)
{
    BlockIOLimit limits = { .bps[R] = MiB, .group = "pair" };
    int64_t t_leave, first;
    int counts[2], next_a;
    Pair p;

    env_init();
    pair_init(&p, &limits, 48);
    run_until(SEC);

    /* Two members: each gets half of 1 MiB/s (2 + 16 pieces in 1 s). */
    count_tags(0, admissions->len, counts, 2);
    g_assert_cmpint(counts[0] + counts[1], ==, 18);
    g_assert_cmpint(abs(counts[0] - counts[1]), <=, 2);

    /* b leaves: its queued reads go at once, a has the group alone. */
    t_leave = qemu_clock_get_ns(V);
    bdrv_io_limits_disable(p.b);
    poll_all();
    for (int i = 0; i < 48; i++) {
        g_assert_cmpint(p.rb[i].admitted, >=, 0);
        g_assert_cmpint(p.rb[i].admitted, <=, t_leave);
    }
    g_assert_null(p.b->io_limits.group);

    /* From then on a's pieces are 62.5 ms apart, the full rate. */
    run_for(SEC);
    next_a = first_after(p.ra, 48, t_leave);
    first = p.ra[next_a].admitted;
    for (int i = next_a; i < next_a + 10; i++) {
        assert_time(p.ra[i].admitted, first + (i - next_a) * 62500 * 1000);
    }
    g_assert_cmpstr(p.a->io_limits.group, ==, "pair");
    run_until(10 * SEC);
    pair_destroy(&p);
    env_destroy();
}

static void test_group_leave_keeps_turns(void)
{
    BlockIOLimit limits = { .bps[R] = MiB, .group = "trio" };
    BlockDriverState *bs[3];
    Req *reqs[3];
    int seen;

    env_init();
    for (int i = 0; i < 3; i++) {
        bs[i] = node_new("member");
        apply(bs[i], &limits);
    }
    for (int i = 0; i < 3; i++) {
        reqs[i] = submit_many(bs[i], 32, CHUNK, false, i);
    }
    /* Admissions 0, 0, then 0 1 2 0 1 2...: the 16th (node 1) goes at
     * 0.8375 s, so node 1 was served last when it leaves. */
    run_until(850 * MS);
    g_assert_cmpint(admissions->len, ==, 16);
    g_assert_cmpint(g_array_index(admissions, int, 15), ==, 1);
    bdrv_io_limits_disable(bs[1]);
    poll_all();
    seen = admissions->len;

    /* The turn passes to node 2, as if node 1 had taken its turn. */
    run_for(SEC);
    g_assert_cmpint(admissions->len, >, seen + 4);
    for (int i = seen; i < (int)admissions->len; i++) {
        g_assert_cmpint(g_array_index(admissions, int, i), ==,
                        (i - seen) % 2 ? 0 : 2);
    }
    run_until(10 * SEC);
    for (int i = 0; i < 3; i++) {
        node_free(bs[i]);
        g_free(reqs[i]);
    }
    env_destroy();
}

static void test_group_move(void)
{
    BlockIOLimit in_g = { .bps[R] = MiB, .group = "g" };
    BlockIOLimit in_h = { .bps[R] = MiB, .group = "h" };
    Req *rb2;
    Pair p;

    env_init();
    pair_init(&p, &in_g, 16);
    run_until(SEC / 2);

    /* b moves to a group h of its own: its queue is released, and from
     * now on it has a full, fresh budget. */
    apply(p.b, &in_h);
    g_assert_cmpstr(p.b->io_limits.group, ==, "h");
    poll_all();
    for (int i = 0; i < 16; i++) {
        g_assert_cmpint(p.rb[i].admitted, >=, 0);
    }
    rb2 = submit_many(p.b, 16, CHUNK, false, 1);
    run_until(SEC / 2 + 2 * SEC);
    for (int i = 0; i < 16; i++) {
        assert_time(rb2[i].admitted,
                    SEC / 2 + after((double)i * CHUNK, MiB / 10.0, MiB));
    }
    pair_destroy(&p);
    g_free(rb2);
    env_destroy();
}

/* ---- AioContext moves ---- */

static void test_aio_context_move(void)
{
    BlockIOLimit limits = { .bps[R] = MiB };
    AioContext *other;
    BlockDriverState *bs;
    Req *reqs;

    env_init();
    other = aio_context_new();
    bs = node_new("moving");
    apply(bs, &limits);
    reqs = submit_many(bs, 24, CHUNK, false, 0);
    run_until(SEC / 2);
    g_assert_cmpint(reqs[9].admitted, >=, 0);
    g_assert_cmpint(reqs[10].admitted, ==, -1);

    /* Move the node to @other; its throttled reads continue there. */
    bdrv_io_limits_detach_aio_context(bs);
    bs->aio_context = other;
    bdrv_io_limits_attach_aio_context(bs, other);
    for (int steps = 0; reqs[23].admitted < 0; steps++) {
        int64_t next;

        g_assert_cmpint(steps, <, 1000);
        while (aio_poll(other, false)) {
            /* drain */
        }
        next = timerlist_deadline_ns(other->tlg.tl[V]);
        if (next > 0) {
            qemu_clock_advance_manual(V, next);
        }
    }
    /* The timing is the single stream's, unchanged by the move. */
    assert_stream(reqs, 24, CHUNK, MiB);

    node_free(bs);
    while (aio_poll(other, false)) {
        /* drain */
    }
    aio_context_unref(other);
    g_free(reqs);
    env_destroy();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/throttle-groups/rate/bps-read", test_bps_read);
    g_test_add_func("/throttle-groups/rate/iops", test_iops);
    g_test_add_func("/throttle-groups/rate/total-vs-directions",
                    test_total_vs_directions);
    g_test_add_func("/throttle-groups/rate/iops-size", test_iops_size);
    g_test_add_func("/throttle-groups/rate/burst", test_burst);
    g_test_add_func("/throttle-groups/limits/change", test_change_limits);
    g_test_add_func("/throttle-groups/limits/disable-releases",
                    test_disable_releases);
    g_test_add_func("/throttle-groups/limits/all-zero-disables",
                    test_all_zero_disables);
    g_test_add_func("/throttle-groups/limits/invalid", test_invalid);
    g_test_add_func("/throttle-groups/limits/invalid-warns",
                    test_invalid_warns);
    g_test_add_func("/throttle-groups/group/round-robin",
                    test_group_round_robin);
    g_test_add_func("/throttle-groups/group/member-leaves",
                    test_group_member_leaves);
    g_test_add_func("/throttle-groups/group/leave-keeps-turns",
                    test_group_leave_keeps_turns);
    g_test_add_func("/throttle-groups/group/move", test_group_move);
    g_test_add_func("/throttle-groups/aio-context/move",
                    test_aio_context_move);
    return g_test_run();
}
