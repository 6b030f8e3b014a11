/*
 * Tests of the blkdebug driver: injected errors reach every I/O style
 * and request kind, rule matching (once, sector, state machine, delays,
 * immediately), the error policies of a node stacked on blkdebug (for
 * reads, writes, flushes and discards), and the messages for malformed
 * rules files.
 *
 * The stack under test is what bdrv_open("blkdebug::null-co://") gives:
 * raw over blkdebug over (raw over null-co).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "block/blkdebug.h"

#define NB 8                     /* sectors per request */

typedef enum { K_READ, K_WRITE, K_ZEROES, K_DISCARD, K_FLUSH, K_MAX } Kind;
typedef enum { S_SYNC, S_AIO, S_CO, S_MAX } Style;

static const char *const kind_names[K_MAX] = {
    "read", "write", "write_zeroes", "discard", "flush",
};
/* The event that announces each kind on the blkdebug node. */
static const char *const kind_events[K_MAX] = {
    "read_aio", "write_aio", "write_zeroes", "discard", "flush",
};
static const char *const style_names[S_MAX] = { "sync", "aio", "co" };

/* One request in any style. */
typedef struct Req {
    BlockDriverState *bs;
    Kind kind;
    int64_t sector;
    uint8_t buf[NB * BDRV_SECTOR_SIZE];
    QEMUIOVector qiov;
    int ret;
    bool done;
} Req;

static AioContext *ctx;

/* ---- helpers ------------------------------------------------------- */

static BlockDriverState *open_stack_opts(GHashTable *opts, const char *rules)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open_options(bs, "blkdebug::null-co://", opts,
                                      BDRV_O_RDWR, NULL, &error_abort),
                    ==, 0);
    if (rules) {
        g_assert_true(blkdebug_add_rules(bs, rules, "test", &error_abort));
    }
    return bs;
}

static BlockDriverState *open_stack(const char *rules)
{
    return open_stack_opts(NULL, rules);
}

static void req_init(Req *r, BlockDriverState *bs, Kind kind, int64_t sector)
{
    memset(r, 0, sizeof(*r));
    r->bs = bs;
    r->kind = kind;
    r->sector = sector;
    qemu_iovec_init_buf(&r->qiov, r->buf, sizeof(r->buf));
}

static int run_sync(Req *r)
{
    switch (r->kind) {
    case K_READ:
        return bdrv_read(r->bs, r->sector, r->buf, NB);
    case K_WRITE:
        return bdrv_write(r->bs, r->sector, r->buf, NB);
    case K_ZEROES:
        return bdrv_write_zeroes(r->bs, r->sector, NB);
    case K_DISCARD:
        return bdrv_discard(r->bs, r->sector, NB);
    default:
        return bdrv_flush(r->bs);
    }
}

static void aio_cb(void *opaque, int ret)
{
    Req *r = opaque;

    g_assert_false(r->done);
    r->ret = ret;
    r->done = true;
}

/* Submit @r callback-style; false for kinds the AIO API lacks. */
static bool submit_aio(Req *r)
{
    BlockDriverAIOCB *acb;

    switch (r->kind) {
    case K_READ:
        acb = bdrv_aio_readv(r->bs, r->sector, &r->qiov, NB, aio_cb, r);
        break;
    case K_WRITE:
        acb = bdrv_aio_writev(r->bs, r->sector, &r->qiov, NB, aio_cb, r);
        break;
    case K_DISCARD:
        acb = bdrv_aio_discard(r->bs, r->sector, NB, aio_cb, r);
        break;
    case K_FLUSH:
        acb = bdrv_aio_flush(r->bs, aio_cb, r);
        break;
    default:
        return false;
    }
    g_assert_nonnull(acb);
    /* A callback never runs inside the call that submitted it. */
    g_assert_false(r->done);
    return true;
}

static void coroutine_fn co_entry(void *opaque)
{
    Req *r = opaque;

    switch (r->kind) {
    case K_READ:
        r->ret = bdrv_co_readv(r->bs, r->sector, NB, &r->qiov);
        break;
    case K_WRITE:
        r->ret = bdrv_co_writev(r->bs, r->sector, NB, &r->qiov);
        break;
    case K_ZEROES:
        r->ret = bdrv_co_write_zeroes(r->bs, r->sector, NB);
        break;
    case K_DISCARD:
        r->ret = bdrv_co_discard(r->bs, r->sector, NB);
        break;
    default:
        r->ret = bdrv_co_flush(r->bs);
        break;
    }
    r->done = true;
}

static void submit_co(Req *r)
{
    qemu_coroutine_enter(qemu_coroutine_create(co_entry, r));
}

static void wait_done(Req *r)
{
    while (!r->done) {
        aio_poll(ctx, true);
    }
}

static int run_style(Req *r, Style style)
{
    if (style == S_SYNC) {
        return run_sync(r);
    }
    if (style == S_AIO) {
        g_assert_true(submit_aio(r));
    } else {
        submit_co(r);
    }
    wait_done(r);
    return r->ret;
}

/* One synchronous request of @kind at @sector. */
static int do_req(BlockDriverState *bs, Kind kind, int64_t sector)
{
    Req r;

    req_init(&r, bs, kind, sector);
    return run_sync(&r);
}

/* ---- injection per kind and style ----------------------------------- */

typedef struct InjectCase {
    Kind kind;
    Style style;
} InjectCase;

static void test_inject(gconstpointer opaque)
{
    const InjectCase *c = opaque;
    /* A different errno per style shows the injected one is returned. */
    static const int errnos[S_MAX] = { EIO, EPERM, ETIMEDOUT };
    int err = errnos[c->style];
    g_autofree char *rules =
        g_strdup_printf("[inject-error]\nevent = %s\nerrno = %d\n",
                        kind_events[c->kind], err);
    BlockDriverState *bs = open_stack(rules);
    Req r;

    req_init(&r, bs, c->kind, 16);
    g_assert_cmpint(run_style(&r, c->style), ==, -err);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);

    /* The rule is not once: the next request fails too. */
    req_init(&r, bs, c->kind, 16);
    g_assert_cmpint(run_style(&r, c->style), ==, -err);

    g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_EVENT_MAX), ==, 1);
    req_init(&r, bs, c->kind, 16);
    g_assert_cmpint(run_style(&r, c->style), ==, 0);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 2);
    bdrv_unref(bs);
}

static void test_default_errno(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\nevent = read_aio\n");

    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -EIO);
    bdrv_unref(bs);
}

/* ---- rule matching --------------------------------------------------- */

static void test_once(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = write_aio\n"
                                      "once = on\n");

    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, -EIO);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_EVENT_MAX), ==, 0);
    bdrv_unref(bs);
}

static void test_always(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = write_aio\n"
                                      "once = off\n");

    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(do_req(bs, K_WRITE, i * NB), ==, -EIO);
    }
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 3);
    bdrv_unref(bs);
}

static void test_sector(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = read_aio\n"
                                      "sector = 10\n");

    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);     /* 0..7 */
    g_assert_cmpint(do_req(bs, K_READ, 3), ==, -EIO);  /* 3..10 */
    g_assert_cmpint(do_req(bs, K_READ, 10), ==, -EIO); /* 10..17 */
    g_assert_cmpint(do_req(bs, K_READ, 11), ==, 0);    /* 11..18 */
    bdrv_unref(bs);
}

/* A rule armed by a request it did not match fails nothing later. */
static void test_sector_no_linger(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = read_aio\n"
                                      "sector = 10\n");

    g_assert_cmpint(do_req(bs, K_READ, 100), ==, 0);
    g_assert_cmpint(do_req(bs, K_WRITE, 10), ==, 0);
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, 0);
    bdrv_unref(bs);
}

/* A flush covers no sector: only sector=-1 rules fail it. */
static void test_sector_flush(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = flush\n"
                                      "sector = 0\n");

    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, 0);
    bdrv_unref(bs);
}

static void test_state(void)
{
    BlockDriverState *bs = open_stack("# fail reads after the first write\n"
                                      "[set-state]\n"
                                      "event = write_aio\n"
                                      "state = 1\n"
                                      "new_state = 2\n"
                                      "\n"
                                      "[inject-error]\n"
                                      "event = read_aio\n"
                                      "state = 2\n"
                                      "\n"
                                      "; and stop at the next flush\n"
                                      "[set-state]\n"
                                      "event = flush\n"
                                      "state = 2\n"
                                      "new_state = 3\n");

    g_assert_cmpint(blkdebug_get_state(bs), ==, 1);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    g_assert_cmpint(blkdebug_get_state(bs), ==, 2);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -EIO);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -EIO);
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, 0);
    g_assert_cmpint(blkdebug_get_state(bs), ==, 3);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    bdrv_unref(bs);
}

/* All rules of an event see the state from before the event. */
static void test_state_same_event(void)
{
    BlockDriverState *bs = open_stack("[set-state]\n"
                                      "event = write_aio\n"
                                      "state = 1\n"
                                      "new_state = 2\n"
                                      "[inject-error]\n"
                                      "event = write_aio\n"
                                      "state = 1\n");

    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, -EIO);
    g_assert_cmpint(blkdebug_get_state(bs), ==, 2);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    bdrv_unref(bs);
}

/* ---- how the failure is delivered ------------------------------------ */

static void test_immediately_co(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = read_aio\n"
                                      "immediately = on\n");
    Req r;

    req_init(&r, bs, K_READ, 0);
    submit_co(&r);
    g_assert_true(r.done);              /* never yielded */
    g_assert_cmpint(r.ret, ==, -EIO);
    bdrv_unref(bs);
}

static void test_deferred_co(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = read_aio\n");
    Req r;

    req_init(&r, bs, K_READ, 0);
    submit_co(&r);
    g_assert_false(r.done);             /* failed via the event loop */
    wait_done(&r);
    g_assert_cmpint(r.ret, ==, -EIO);
    bdrv_unref(bs);
}

static void test_immediately_aio(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = write_aio\n"
                                      "immediately = on\n");
    Req r;

    req_init(&r, bs, K_WRITE, 0);
    g_assert_true(submit_aio(&r));
    wait_done(&r);
    g_assert_cmpint(r.ret, ==, -EIO);
    bdrv_unref(bs);
}

static GHashTable *opts_new(const char *key, const char *value)
{
    GHashTable *opts = g_hash_table_new_full(g_str_hash, g_str_equal,
                                             g_free, g_free);

    g_hash_table_insert(opts, g_strdup(key), g_strdup(value));
    return opts;
}

/* delay-ns on the manual virtual clock: nothing fails before it moves. */
static void test_delay_virtual(void)
{
    g_autoptr(GHashTable) opts = opts_new("file.clock", "virtual");
    BlockDriverState *bs;
    Req r;

    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    bs = open_stack_opts(opts, "[inject-error]\n"
                               "event = read_aio\n"
                               "errno = 28\n"
                               "delay-ns = 5000000\n");
    req_init(&r, bs, K_READ, 0);
    g_assert_true(submit_aio(&r));
    for (int i = 0; i < 10; i++) {
        aio_poll(ctx, false);
    }
    g_assert_false(r.done);
    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 4999999);
    for (int i = 0; i < 10; i++) {
        aio_poll(ctx, false);
    }
    g_assert_false(r.done);
    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 1);
    wait_done(&r);
    g_assert_cmpint(r.ret, ==, -ENOSPC);
    bdrv_unref(bs);
}

static void test_delay_realtime(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = flush\n"
                                      "delay-ns = 1000000\n");

    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, -EIO);
    bdrv_unref(bs);
}

/* ---- error policies of the node above blkdebug ----------------------- */

static BlockDriverState *open_policy(BlockErrorAction action,
                                     const char *rules)
{
    BlockDriverState *bs = open_stack(rules);

    bdrv_set_on_error(bs, action, action);
    bdrv_iostatus_enable(bs);
    return bs;
}

static void test_policy_report(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_REPORT,
                                       "[inject-error]\nevent = read_aio\n");

    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -EIO);
    g_assert_cmpint(bdrv_iostatus(bs), ==, BLOCK_DEVICE_IO_STATUS_OK);
    bdrv_unref(bs);
}

static void test_policy_ignore(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_IGNORE,
                                       "[inject-error]\nevent = read_aio\n"
                                       "[inject-error]\nevent = write_aio\n");

    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 2);
    bdrv_unref(bs);
}

/* enospc: other errors are reported and leave the status alone. */
static void test_policy_enospc_other(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_STOP_ENOSPC,
                                       "[inject-error]\nevent = write_aio\n");

    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, -EIO);
    g_assert_cmpint(bdrv_stopped_requests(bs), ==, 0);
    g_assert_cmpint(bdrv_iostatus(bs), ==, BLOCK_DEVICE_IO_STATUS_OK);
    bdrv_unref(bs);
}

/*
 * A request stopped by the policy: status set, counted as stopped, not
 * completed, drain returns; after the rule is gone, resetting the status
 * retries it and it succeeds.
 */
static void check_stopped_then_retry(BlockDriverState *bs, Req *r,
                                     BlockDeviceIoStatus status,
                                     bool remove_rule)
{
    while (bdrv_stopped_requests(bs) == 0) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(bdrv_stopped_requests(bs), ==, 1);
    g_assert_cmpint(bdrv_iostatus(bs), ==, status);
    g_assert_false(r->done);

    bdrv_drain(bs);
    g_assert_false(r->done);

    if (remove_rule) {
        g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_EVENT_MAX), ==, 1);
    }
    bdrv_iostatus_reset(bs);
    wait_done(r);
    g_assert_cmpint(r->ret, ==, 0);
    g_assert_cmpint(bdrv_stopped_requests(bs), ==, 0);
    g_assert_cmpint(bdrv_iostatus(bs), ==, BLOCK_DEVICE_IO_STATUS_OK);
}

static void test_policy_enospc_stops(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_STOP_ENOSPC,
                                       "[inject-error]\n"
                                       "event = write_aio\n"
                                       "errno = 28\n");
    Req r;

    req_init(&r, bs, K_WRITE, 0);
    g_assert_true(submit_aio(&r));
    check_stopped_then_retry(bs, &r, BLOCK_DEVICE_IO_STATUS_NOSPACE, true);
    bdrv_unref(bs);
}

static void test_policy_stop_aio(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_STOP_ANY,
                                       "[inject-error]\nevent = read_aio\n");
    Req r;

    req_init(&r, bs, K_READ, 0);
    g_assert_true(submit_aio(&r));
    check_stopped_then_retry(bs, &r, BLOCK_DEVICE_IO_STATUS_FAILED, true);
    bdrv_unref(bs);
}

static void test_policy_stop_co(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_STOP_ANY,
                                       "[inject-error]\nevent = write_aio\n"
                                       "errno = 5\n");
    Req r;

    req_init(&r, bs, K_WRITE, 0);
    submit_co(&r);
    check_stopped_then_retry(bs, &r, BLOCK_DEVICE_IO_STATUS_FAILED, true);
    bdrv_unref(bs);
}

/* A once rule is consumed by the failure: the retry succeeds by itself. */
static void test_policy_stop_once(void)
{
    BlockDriverState *bs = open_policy(BLOCK_ERR_STOP_ANY,
                                       "[inject-error]\nevent = read_aio\n"
                                       "once = on\n");
    Req r;

    req_init(&r, bs, K_READ, 0);
    g_assert_true(submit_aio(&r));
    check_stopped_then_retry(bs, &r, BLOCK_DEVICE_IO_STATUS_FAILED, false);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    bdrv_unref(bs);
}

/* ---- flush_to_os and flush_to_disk ------------------------------------ */

/*
 * Flushing the raw node announces flush_to_os and flush_to_disk on its
 * file, the blkdebug node, whose flush then fails.  raw has no caches of
 * its own: flush_to_os is announced all the same, as QEMU does.
 */
static void test_flush_events(void)
{
    BlockDriverState *bs = open_stack("[inject-error]\n"
                                      "event = flush_to_os\n"
                                      "errno = 28\n"
                                      "once = on\n"
                                      "[inject-error]\n"
                                      "event = flush_to_disk\n"
                                      "errno = 122\n");

    /* both armed; the first added wins, and only this flush fails */
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, -28);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, -122);
    g_assert_cmpint(do_req(bs, K_WRITE, 0), ==, 0);
    g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_FLUSH_TO_DISK), ==, 1);
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, 0);
    /* no other request announces them */
    g_assert_true(blkdebug_add_rules(bs, "[inject-error]\n"
                                     "event = flush_to_os\n"
                                     "[inject-error]\n"
                                     "event = flush_to_disk\n",
                                     "test", &error_abort));
    for (Kind k = K_READ; k < K_FLUSH; k++) {
        g_assert_cmpint(do_req(bs, k, 0), ==, 0);
    }
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, -EIO);
    bdrv_unref(bs);
}

/*
 * cache=unsafe: flush_to_disk is not announced and a rule on it fails
 * nothing; flush_to_os still is (caches reach the OS even then) and
 * fails the flush, not some later request.
 */
static void test_flush_events_unsafe(void)
{
    g_autoptr(GHashTable) opts = opts_new("cache", "unsafe");
    BlockDriverState *bs = open_stack_opts(opts, "[inject-error]\n"
                                           "event = flush_to_disk\n");

    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, 0);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    g_assert_true(blkdebug_add_rules(bs, "[inject-error]\n"
                                     "event = flush_to_os\n"
                                     "errno = 28\n",
                                     "test", &error_abort));
    g_assert_cmpint(do_req(bs, K_FLUSH, 0), ==, -28);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, 0);
    bdrv_unref(bs);
}

/* Rules on read and write, which nothing announces, are refused. */
static void test_never_announced(void)
{
    BlockDriverState *bs = open_stack(NULL);
    BlkdebugInjectError rule = BLKDEBUG_INJECT_ERROR_INIT(BLKDBG_READ);
    Error *err = NULL;

    g_assert_false(blkdebug_inject_error(bs, &rule, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "never announced"));
    error_free(err);
    err = NULL;
    rule.event = BLKDBG_WRITE;
    g_assert_false(blkdebug_inject_error(bs, &rule, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "write_aio"));
    error_free(err);
    err = NULL;
    g_assert_false(blkdebug_add_rules(bs, "[inject-error]\nevent = write\n",
                                      "text", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "text:2: event 'write'"));
    error_free(err);
    /* nothing was added: every request still succeeds */
    for (Kind k = K_READ; k < K_MAX; k++) {
        g_assert_cmpint(do_req(bs, k, 0), ==, 0);
    }
    bdrv_unref(bs);
}

/*
 * Flushes and discards follow on_write_error, as the werror= of QEMU's
 * devices covers writes, flushes and discards; on_read_error (set to the
 * opposite here) never decides for them.
 */
typedef struct WritePolicyCase {
    const char *name;
    Kind kind;
    BlockErrorAction action;
    int err;
    int expect;                 /* completion value when it does not stop */
    bool stops;
} WritePolicyCase;

static const WritePolicyCase write_policy_cases[] = {
    { "flush/report", K_FLUSH, BLOCK_ERR_REPORT, EIO, -EIO, false },
    { "flush/ignore", K_FLUSH, BLOCK_ERR_IGNORE, EIO, 0, false },
    { "flush/enospc/other", K_FLUSH, BLOCK_ERR_STOP_ENOSPC, EIO, -EIO,
      false },
    { "flush/enospc/stops", K_FLUSH, BLOCK_ERR_STOP_ENOSPC, ENOSPC, 0, true },
    { "flush/stop", K_FLUSH, BLOCK_ERR_STOP_ANY, EIO, 0, true },
    { "discard/report", K_DISCARD, BLOCK_ERR_REPORT, EIO, -EIO, false },
    { "discard/ignore", K_DISCARD, BLOCK_ERR_IGNORE, EIO, 0, false },
    { "discard/enospc/other", K_DISCARD, BLOCK_ERR_STOP_ENOSPC, EIO, -EIO,
      false },
    { "discard/enospc/stops", K_DISCARD, BLOCK_ERR_STOP_ENOSPC, ENOSPC, 0,
      true },
    { "discard/stop", K_DISCARD, BLOCK_ERR_STOP_ANY, EIO, 0, true },
};

static BlockErrorAction opposite_action(BlockErrorAction action)
{
    return action == BLOCK_ERR_REPORT ? BLOCK_ERR_STOP_ANY : BLOCK_ERR_REPORT;
}

static void test_policy_write_kinds(gconstpointer opaque)
{
    const WritePolicyCase *c = opaque;
    g_autofree char *rules =
        g_strdup_printf("[inject-error]\nevent = %s\nerrno = %d\n",
                        kind_events[c->kind], c->err);
    BlockDriverState *bs = open_stack(rules);
    Req r;

    bdrv_set_on_error(bs, opposite_action(c->action), c->action);
    bdrv_iostatus_enable(bs);
    req_init(&r, bs, c->kind, 16);
    g_assert_true(submit_aio(&r));
    bdrv_drain(bs);             /* until it completed or stopped */
    g_assert_cmpint(bdrv_stopped_requests(bs), ==, c->stops);
    g_assert_cmpint(r.done, ==, !c->stops);
    if (c->stops) {
        check_stopped_then_retry(bs, &r,
                                 c->err == ENOSPC
                                 ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                 : BLOCK_DEVICE_IO_STATUS_FAILED, true);
    } else {
        g_assert_cmpint(r.ret, ==, c->expect);
        g_assert_cmpint(bdrv_iostatus(bs), ==, BLOCK_DEVICE_IO_STATUS_OK);
    }
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    bdrv_unref(bs);
}

/* ---- the API, options and forwarding --------------------------------- */

static void test_api_inject(void)
{
    BlockDriverState *bs = open_stack(NULL);
    BlkdebugInjectError rule = BLKDEBUG_INJECT_ERROR_INIT(BLKDBG_DISCARD);
    Error *err = NULL;

    rule.error = EROFS;
    rule.once = true;
    g_assert_true(blkdebug_inject_error(bs, &rule, &error_abort));
    g_assert_cmpint(do_req(bs, K_DISCARD, 0), ==, -EROFS);
    g_assert_cmpint(do_req(bs, K_DISCARD, 0), ==, 0);

    rule.error = 0;
    g_assert_false(blkdebug_inject_error(bs, &rule, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "errno"));
    error_free(err);
    bdrv_unref(bs);
}

static void test_no_blkdebug_node(void)
{
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;

    g_assert_cmpint(bdrv_open(bs, "null-co://", BDRV_O_RDWR, NULL,
                              &error_abort), ==, 0);
    g_assert_null(blkdebug_find(bs));
    g_assert_false(blkdebug_add_rules(bs, "", "x", &err));
    g_assert_nonnull(err);
    error_free(err);
    bdrv_unref(bs);
}

static void test_forward(void)
{
    BlockDriverState *bs = open_stack(NULL);
    BlockDriverState *dbg = blkdebug_find(bs);
    int pnum = 0;

    g_assert_nonnull(dbg);
    g_assert_true(dbg == bs->file);
    g_assert_cmpstr(bdrv_get_format_name(dbg), ==, "blkdebug");
    g_assert_cmpint(bdrv_getlength(bs), ==, 1LL << 30);
    g_assert_cmpint(bdrv_getlength(dbg), ==, 1LL << 30);
    g_assert_cmpint(bdrv_is_allocated(dbg, 0, 16, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 16);
    g_assert_cmpint(bdrv_has_zero_init(dbg), ==,
                    bdrv_has_zero_init(dbg->file));
    bdrv_unref(bs);
}

static char *write_tmp(const char *text)
{
    GError *gerr = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("blkdebug-XXXXXX.conf", &path, &gerr);

    g_assert_no_error(gerr);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, &gerr));
    g_assert_no_error(gerr);
    return path;
}

/* Rules from a file named in the filename, and via the options. */
static void test_rules_file(void)
{
    g_autofree char *path = write_tmp("[inject-error]\n"
                                      "event = \"read_aio\"\n"
                                      "errno = 61\n");
    g_autofree char *name = g_strdup_printf("blkdebug:%s:null-co://", path);
    g_autoptr(GHashTable) opts = opts_new("file.config", path);
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, name, BDRV_O_RDWR, NULL, &error_abort),
                    ==, 0);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -61);
    bdrv_unref(bs);

    g_hash_table_insert(opts, g_strdup("file.image"), g_strdup("null-co://"));
    g_hash_table_insert(opts, g_strdup("file.image.file.size"),
                        g_strdup("1048576"));
    bs = bdrv_new("");
    g_assert_cmpint(bdrv_open_options(bs, "blkdebug:", opts, BDRV_O_RDWR,
                                      NULL, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 1048576);
    g_assert_cmpint(do_req(bs, K_READ, 0), ==, -61);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- malformed rules files and bad opens ------------------------------ */

typedef struct BadRules {
    const char *name;
    const char *text;
    int line;                /* expected in the message */
    const char *what;        /* expected in the message */
} BadRules;

static const BadRules bad_rules[] = {
    { "section", "[inject-error]\nevent = read_aio\n[oops]\n", 3,
      "unknown section [oops]" },
    { "header", "[inject-error\n", 1, "without a ']'" },
    { "outside", "# c\nevent = read_aio\n", 2, "outside of any section" },
    { "key", "[inject-error]\nevent = read_aio\ncolour = red\n", 3,
      "unknown key 'colour'" },
    { "state-key", "[set-state]\nevent = read_aio\nerrno = 5\n", 3,
      "unknown key 'errno' in [set-state]" },
    { "event", "[inject-error]\nevent = reed\n", 2, "unknown event 'reed'" },
    { "errno", "[inject-error]\nevent = read_aio\nerrno = five\n", 3,
      "errno: 'five'" },
    { "errno-range", "[inject-error]\nevent = read_aio\nerrno = 0\n", 3,
      "errno: '0'" },
    { "sector", "[inject-error]\nevent = read_aio\nsector = -2\n", 3,
      "sector: '-2'" },
    { "once", "[inject-error]\nevent = read_aio\nonce = maybe\n", 3,
      "once: 'maybe' is not on or off" },
    { "no-event", "\n[inject-error]\nerrno = 5\n[inject-error]\n", 2,
      "[inject-error] without an event" },
    { "no-new-state", "[set-state]\nevent = read_aio\nstate = 1\n", 1,
      "[set-state] without a new_state" },
    { "twice", "[inject-error]\nevent = read_aio\nevent = write_aio\n", 3,
      "'event' given twice" },
    { "no-equals", "[inject-error]\nevent read\n", 2,
      "expected 'key = value'" },
    { "no-key", "[inject-error]\n = read\n", 2, "a value without a key" },
    { "never-read", "[inject-error]\nevent = read\n", 2,
      "event 'read' is never announced" },
    { "never-write", "# x\n[set-state]\nevent = write\nnew_state = 2\n", 3,
      "(use write_aio)" },
};

static void test_bad_rules(gconstpointer opaque)
{
    const BadRules *b = opaque;
    g_autofree char *path = write_tmp(b->text);
    g_autofree char *name = g_strdup_printf("blkdebug:%s:null-co://", path);
    g_autofree char *where = g_strdup_printf("%s:%d: ", path, b->line);
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;
    const char *msg;

    g_assert_cmpint(bdrv_open(bs, name, BDRV_O_RDWR, NULL, &err), <, 0);
    msg = error_get_pretty(err);
    if (g_test_verbose()) {
        g_printerr("%s\n", msg);
    }
    g_assert_nonnull(strstr(msg, where));
    g_assert_nonnull(strstr(msg, b->what));
    g_assert_null(strchr(msg, '\n'));
    g_assert_null(bs->drv);
    error_free(err);
    bdrv_unref(bs);
    unlink(path);
}

typedef struct BadOpen {
    const char *name;
    const char *filename;
    const char *key;         /* one option, or NULL */
    const char *value;
    const char *what;
} BadOpen;

static const BadOpen bad_opens[] = {
    { "no-image", "blkdebug::", NULL, NULL, "no image given" },
    { "syntax", "blkdebug:x", NULL, NULL, "expected blkdebug:RULES_FILE" },
    { "missing-file", "blkdebug:/nonexistent/rules:null-co://", NULL, NULL,
      "could not read rules file '/nonexistent/rules'" },
    { "bad-image", "blkdebug::nosuchproto://", NULL, NULL,
      "unknown protocol 'nosuchproto'" },
    { "clock", "blkdebug::null-co://", "file.clock", "sundial",
      "clock: 'sundial'" },
    { "conflict", "blkdebug::null-co://", "file.image", "null-aio://",
      "image given both" },
    { "leftover", "blkdebug::null-co://", "file.colour", "red",
      "does not support the option 'colour'" },
};

static void test_bad_open(gconstpointer opaque)
{
    const BadOpen *b = opaque;
    g_autoptr(GHashTable) opts = b->key ? opts_new(b->key, b->value) : NULL;
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;

    g_assert_cmpint(bdrv_open_options(bs, b->filename, opts, BDRV_O_RDWR,
                                      NULL, &err), <, 0);
    if (g_test_verbose()) {
        g_printerr("%s\n", error_get_pretty(err));
    }
    g_assert_nonnull(strstr(error_get_pretty(err), b->what));
    error_free(err);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    static InjectCase cases[K_MAX * S_MAX];
    int n = 0;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();

    for (Kind k = 0; k < K_MAX; k++) {
        for (Style s = 0; s < S_MAX; s++) {
            g_autofree char *path = NULL;

            if (s == S_AIO && k == K_ZEROES) {
                continue;       /* there is no bdrv_aio_write_zeroes */
            }
            cases[n] = (InjectCase){ .kind = k, .style = s };
            path = g_strdup_printf("/blkdebug/inject/%s/%s", kind_names[k],
                                   style_names[s]);
            g_test_add_data_func(path, &cases[n++], test_inject);
        }
    }
    g_test_add_func("/blkdebug/inject/default-errno", test_default_errno);
    g_test_add_func("/blkdebug/match/once", test_once);
    g_test_add_func("/blkdebug/match/always", test_always);
    g_test_add_func("/blkdebug/match/sector", test_sector);
    g_test_add_func("/blkdebug/match/sector-no-linger",
                    test_sector_no_linger);
    g_test_add_func("/blkdebug/match/sector-flush", test_sector_flush);
    g_test_add_func("/blkdebug/state/machine", test_state);
    g_test_add_func("/blkdebug/state/same-event", test_state_same_event);
    g_test_add_func("/blkdebug/deliver/immediately/co", test_immediately_co);
    g_test_add_func("/blkdebug/deliver/immediately/aio",
                    test_immediately_aio);
    g_test_add_func("/blkdebug/deliver/deferred/co", test_deferred_co);
    g_test_add_func("/blkdebug/deliver/delay/virtual", test_delay_virtual);
    g_test_add_func("/blkdebug/deliver/delay/realtime", test_delay_realtime);
    g_test_add_func("/blkdebug/policy/report", test_policy_report);
    g_test_add_func("/blkdebug/policy/ignore", test_policy_ignore);
    g_test_add_func("/blkdebug/policy/enospc/other",
                    test_policy_enospc_other);
    g_test_add_func("/blkdebug/policy/enospc/stops",
                    test_policy_enospc_stops);
    g_test_add_func("/blkdebug/policy/stop/aio", test_policy_stop_aio);
    g_test_add_func("/blkdebug/policy/stop/co", test_policy_stop_co);
    g_test_add_func("/blkdebug/policy/stop/once", test_policy_stop_once);
    g_test_add_func("/blkdebug/events/flush", test_flush_events);
    g_test_add_func("/blkdebug/events/flush-unsafe",
                    test_flush_events_unsafe);
    g_test_add_func("/blkdebug/events/never-announced",
                    test_never_announced);
    for (size_t i = 0; i < G_N_ELEMENTS(write_policy_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/blkdebug/policy/%s", write_policy_cases[i].name);
        g_test_add_data_func(path, &write_policy_cases[i],
                             test_policy_write_kinds);
    }
    g_test_add_func("/blkdebug/api/inject", test_api_inject);
    g_test_add_func("/blkdebug/api/no-node", test_no_blkdebug_node);
    g_test_add_func("/blkdebug/forward", test_forward);
    g_test_add_func("/blkdebug/rules-file", test_rules_file);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rules); i++) {
        g_autofree char *path =
            g_strdup_printf("/blkdebug/bad-rules/%s", bad_rules[i].name);
        g_test_add_data_func(path, &bad_rules[i], test_bad_rules);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_opens); i++) {
        g_autofree char *path =
            g_strdup_printf("/blkdebug/bad-open/%s", bad_opens[i].name);
        g_test_add_data_func(path, &bad_opens[i], test_bad_open);
    }
    return g_test_run();
}
