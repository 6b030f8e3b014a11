/*
 * I/O limits and throttle groups.
 *
 * A node with limits is a member (BdrvThrottleMember, bs->throttle) of
 * exactly one throttle group.  The group owns the budget: one ThrottleState
 * (the leaky buckets of util/throttle.c) and one pair of ThrottleTimers.
 * Named groups live in a global table and are shared by every node that
 * names them; a node without a group name gets an anonymous group of its
 * own, so a single code path serves both cases.
 *
 * Admission.  A request passes bdrv_io_limits_intercept at once when its
 * member has nothing queued in that direction and the group's budget
 * allows it.  Otherwise it waits in bs->throttled_reqs[is_write].  Waiting
 * requests leave one at a time: whenever a request is admitted, the group
 * picks the next member with queued requests, round robin starting after
 * the member served last (the direction's token), and either wakes its
 * oldest request now or arms the direction's timer for the moment the
 * budget allows it.  The timer callback runs outside any coroutine, so it
 * hands the wake-up to a short coroutine in the member's own AioContext.
 * A woken request always goes: it is accounted without asking again.
 *
 * Invariant (per direction, under the group lock): while any member has
 * queued requests, either the timer is pending or exactly one woken
 * request is on its way (tg->woken[dir]); and while either holds, newcomers
 * queue too, so nobody overtakes the rotation.
 *
 * Membership changes.  Leaving a group (new limits naming another group,
 * or disabling limits) marks the member as gone and releases its queued
 * requests unthrottled, as QEMU does after draining.  A member is
 * reference counted: each waiting request holds a reference, so the
 * member and its group outlive requests woken after the node left.
 *
 * Limits belong to the group: applying limits to one member sets the
 * whole group's budget (its buckets restart empty), as the last writer
 * wins; bs->io_limits of the other members is not rewritten.
 *
 * Not done here: calling bdrv_io_limits_intercept (the request path does);
 * fairness between reads and writes under a total limit (each direction
 * has its own queue and timer; equal deadlines fire in arming order);
 * quiescing nodes, which callers must do before the last member leaves a
 * group whose timers run in another thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "block/block_int.h"

typedef struct ThrottleGroup ThrottleGroup;

struct BdrvThrottleMember {
    /* ---- immutable after creation ---- */
    BlockDriverState *bs;

    /* ---- the node's home thread ---- */
    QEMUClockType clock_type;   /* used when it configures its group */

    /* ---- atomic ---- */
    int refcnt;                 /* the node's, plus one per waiter */

    /* ---- set in the node's home thread before joining a group ---- */
    ThrottleGroup *group;       /* NULL until the member joins one */

    /* ---- protected by group->lock (once in a group) ---- */
    AioContext *ctx;            /* where its requests run; NULL detached */
    unsigned queued[2];         /* requests waiting, per direction */
    bool left;                  /* the node has left the group */
    QTAILQ_ENTRY(BdrvThrottleMember) next;
};

struct ThrottleGroup {
    /* ---- immutable after creation ---- */
    char *name;                 /* NULL: anonymous, not in the table */

    /* ---- protected by groups_lock ---- */
    unsigned refcnt;            /* one per member */

    QemuMutex lock;
    /* ---- protected by lock ---- */
    ThrottleState ts;
    ThrottleTimers tt;          /* uninitialised until the first member */
    QTAILQ_HEAD(, BdrvThrottleMember) members;
    BdrvThrottleMember *tokens[2];  /* member served last, per direction */
    BdrvThrottleMember *woken[2];   /* member whose woken request runs next */
};

/* Named groups by name (ThrottleGroup *), under groups_lock. */
static QemuMutex groups_lock = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .initialized = true,
};
static GHashTable *groups;

static void read_timer_cb(void *opaque);
static void write_timer_cb(void *opaque);

/* ---- groups ---- */

static ThrottleGroup *group_new(const char *name)
{
    ThrottleGroup *tg = g_new0(ThrottleGroup, 1);

    tg->name = g_strdup(name);
    tg->refcnt = 1;
    qemu_mutex_init(&tg->lock);
    throttle_init(&tg->ts);
    QTAILQ_INIT(&tg->members);
    return tg;
}

static void group_free(ThrottleGroup *tg)
{
    if (throttle_timers_are_initialized(&tg->tt)) {
        throttle_timers_destroy(&tg->tt);
    }
    qemu_mutex_destroy(&tg->lock);
    g_free(tg->name);
    g_free(tg);
}

/* A new reference to group @name (created if missing), or a new
 * anonymous group when @name is NULL. */
static ThrottleGroup *group_get(const char *name)
{
    ThrottleGroup *tg;

    if (!name) {
        return group_new(NULL);
    }
    QEMU_LOCK_GUARD(&groups_lock);
    if (!groups) {
        groups = g_hash_table_new(g_str_hash, g_str_equal);
    }
    tg = g_hash_table_lookup(groups, name);
    if (tg) {
        tg->refcnt++;
    } else {
        tg = group_new(name);
        g_hash_table_insert(groups, tg->name, tg);
    }
    return tg;
}

static void group_unref(ThrottleGroup *tg)
{
    bool last;

    WITH_QEMU_LOCK_GUARD(&groups_lock) {
        last = --tg->refcnt == 0;
        if (last && tg->name) {
            g_hash_table_remove(groups, tg->name);
        }
    }
    if (last) {
        group_free(tg);
    }
}

/* Whether @tg is the group the limits' @name asks for (NULL: the
 * node's own anonymous group). */
static bool group_matches(ThrottleGroup *tg, const char *name)
{
    if (!tg->name || !name) {
        return !tg->name && !name;
    }
    return strcmp(tg->name, name) == 0;
}

/* Run the group's timers in @ctx on @clock_type (lock held). */
static void group_attach_timers_locked(ThrottleGroup *tg, AioContext *ctx,
                                       QEMUClockType clock_type)
{
    if (throttle_timers_are_initialized(&tg->tt)) {
        if (tg->tt.aio_context == ctx && tg->tt.clock_type == clock_type) {
            return;
        }
        throttle_timers_destroy(&tg->tt);
    }
    throttle_timers_init(&tg->tt, ctx, clock_type, read_timer_cb,
                         write_timer_cb, tg);
}

/* ---- members ---- */

static BdrvThrottleMember *member_new(BlockDriverState *bs,
                                      QEMUClockType clock_type)
{
    BdrvThrottleMember *m = g_new0(BdrvThrottleMember, 1);

    m->bs = bs;
    m->clock_type = clock_type;
    m->refcnt = 1;
    m->ctx = bs->aio_context ? bs->aio_context : qemu_get_aio_context();
    return m;
}

static void member_ref(BdrvThrottleMember *m)
{
    qatomic_inc(&m->refcnt);
}

static void member_unref(BdrvThrottleMember *m)
{
    ThrottleGroup *tg = m->group;

    if (qatomic_fetch_dec(&m->refcnt) == 1) {
        g_free(m);
        if (tg) {
            group_unref(tg);
        }
    }
}

/* The member of @bs, created (without a group) if it has none. */
static BdrvThrottleMember *member_of(BlockDriverState *bs)
{
    if (!bs->throttle) {
        bs->throttle = member_new(bs, QEMU_CLOCK_REALTIME);
    }
    return bs->throttle;
}

/* ---- the rotation (group lock held) ---- */

/* The member after @m in @tg's list, wrapping around. */
static BdrvThrottleMember *member_after(ThrottleGroup *tg,
                                        BdrvThrottleMember *m)
{
    BdrvThrottleMember *n = m ? QTAILQ_NEXT(m, next) : NULL;

    return n ? n : QTAILQ_FIRST(&tg->members);
}

/* Whose queued request of @is_write goes next: the first attached member
 * with one, starting after the token.  NULL when nobody waits. */
static BdrvThrottleMember *next_in_turn(ThrottleGroup *tg, bool is_write)
{
    BdrvThrottleMember *start = member_after(tg, tg->tokens[is_write]);
    BdrvThrottleMember *m = start;

    while (m) {
        if (m->queued[is_write] && m->ctx) {
            return m;
        }
        m = member_after(tg, m);
        if (m == start) {
            break;
        }
    }
    return NULL;
}

/* True when a new request of @is_write must queue behind the rotation or
 * the budget; arms the timer when the budget is the reason. */
static bool group_must_wait(ThrottleGroup *tg, bool is_write)
{
    if (tg->woken[is_write]) {
        return true;
    }
    if (!throttle_timers_are_initialized(&tg->tt)) {
        /* Detached: whoever attaches the timers releases the queue. */
        return true;
    }
    if (timer_pending(tg->tt.timers[is_write])) {
        return true;
    }
    return throttle_schedule_timer(&tg->ts, &tg->tt, is_write);
}

/*
 * Choose the member whose request of @is_write goes now, if one waits and
 * the budget allows it (else the timer is armed).  The chosen member gets
 * the token and is marked woken; the caller must wake it.
 */
static BdrvThrottleMember *pick_next(ThrottleGroup *tg, bool is_write)
{
    BdrvThrottleMember *m;

    if (tg->woken[is_write] || !throttle_timers_are_initialized(&tg->tt)) {
        return NULL;
    }
    m = next_in_turn(tg, is_write);
    if (!m || throttle_schedule_timer(&tg->ts, &tg->tt, is_write)) {
        return NULL;
    }
    tg->tokens[is_write] = m;
    tg->woken[is_write] = m;
    return m;
}

/* ---- waking ---- */

/* A wake-up to deliver in a member's context, once the lock is dropped. */
typedef struct Restart {
    BdrvThrottleMember *member;     /* referenced */
    AioContext *ctx;                /* the member's, read under the lock */
    bool is_write;
} Restart;

/* In the member's context: wake its oldest queued request.  Being a
 * coroutine, the wake-up is deferred until this ends, so the woken
 * request never runs inside our critical section. */
static void coroutine_fn restart_entry(void *opaque)
{
    Restart *r = opaque;
    BdrvThrottleMember *m = r->member;
    ThrottleGroup *tg = m->group;

    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        if (!m->left) {
            qemu_co_queue_next(&m->bs->throttled_reqs[r->is_write]);
        }
    }
    member_unref(m);
    g_free(r);
}

/* Outside the group lock: deliver @r (NULL: nothing to do). */
static void restart_member(Restart *r)
{
    if (r) {
        aio_co_enter(r->ctx, qemu_coroutine_create(restart_entry, r));
    }
}

/* Group lock held, not in a coroutine: start the next queued request of
 * @is_write if one may go.  Returns the wake-up for restart_member() to
 * deliver once the lock is dropped, or NULL. */
static Restart *kick_locked(ThrottleGroup *tg, bool is_write)
{
    BdrvThrottleMember *m = pick_next(tg, is_write);
    Restart *r;

    if (!m) {
        return NULL;
    }
    member_ref(m);
    r = g_new(Restart, 1);
    r->member = m;
    r->ctx = m->ctx;
    r->is_write = is_write;
    return r;
}

/* Kick both directions of @tg (lock not held, not in a coroutine). */
static void group_kick(ThrottleGroup *tg)
{
    Restart *r[2];

    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        for (int dir = 0; dir < 2; dir++) {
            r[dir] = kick_locked(tg, dir);
        }
    }
    for (int dir = 0; dir < 2; dir++) {
        restart_member(r[dir]);
    }
}

static void timer_cb(ThrottleGroup *tg, bool is_write)
{
    Restart *r;

    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        r = kick_locked(tg, is_write);
    }
    restart_member(r);
}

static void read_timer_cb(void *opaque)
{
    timer_cb(opaque, false);
}

static void write_timer_cb(void *opaque)
{
    timer_cb(opaque, true);
}

/* ---- joining and leaving ---- */

/* @m (a fresh member of bs) joins @tg, which it holds a reference to. */
static void member_join(BdrvThrottleMember *m, ThrottleGroup *tg)
{
    m->group = tg;
    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        QTAILQ_INSERT_TAIL(&tg->members, m, next);
        if (!throttle_timers_are_initialized(&tg->tt) && m->ctx) {
            group_attach_timers_locked(tg, m->ctx, m->clock_type);
        }
    }
}

/* Unlink @m from its group: it gives up its turn and any wake-up on its
 * way (which then goes to the next member). */
static void member_unlink(BdrvThrottleMember *m)
{
    ThrottleGroup *tg = m->group;
    bool handed_over[2] = { false, false };
    Restart *next[2] = { NULL, NULL };

    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        m->left = true;
        for (int dir = 0; dir < 2; dir++) {
            if (tg->tokens[dir] == m) {
                /* So that m's successor still comes next. */
                tg->tokens[dir] = QTAILQ_PREV(m, next);
            }
            handed_over[dir] = tg->woken[dir] == m;
            if (handed_over[dir]) {
                tg->woken[dir] = NULL;
            }
        }
        QTAILQ_REMOVE(&tg->members, m, next);
        for (int dir = 0; dir < 2; dir++) {
            if (handed_over[dir]) {
                next[dir] = kick_locked(tg, dir);
            }
        }
    }
    for (int dir = 0; dir < 2; dir++) {
        restart_member(next[dir]);
    }
}

/*
 * Detach the member from @bs and its group.  Its queued requests are
 * released unthrottled.  A test clock survives in a fresh member without
 * a group.
 */
static void member_leave(BlockDriverState *bs)
{
    BdrvThrottleMember *m = bs->throttle;

    bs->throttle = NULL;
    if (m->clock_type != QEMU_CLOCK_REALTIME) {
        bs->throttle = member_new(bs, m->clock_type);
        bs->throttle->ctx = m->ctx;
    }
    if (m->group) {
        member_unlink(m);
        /* Only this thread touches the queues of a member that left. */
        qemu_co_queue_restart_all(&bs->throttled_reqs[0]);
        qemu_co_queue_restart_all(&bs->throttled_reqs[1]);
    }
    member_unref(m);
}

/* ---- limits ---- */

/* Indexes of BlockIOLimit's arrays in ThrottleConfig's buckets. */
static const BucketType bps_bucket[3] = {
    [BLOCK_IO_LIMIT_READ] = THROTTLE_BPS_READ,
    [BLOCK_IO_LIMIT_WRITE] = THROTTLE_BPS_WRITE,
    [BLOCK_IO_LIMIT_TOTAL] = THROTTLE_BPS_TOTAL,
};
static const BucketType ops_bucket[3] = {
    [BLOCK_IO_LIMIT_READ] = THROTTLE_OPS_READ,
    [BLOCK_IO_LIMIT_WRITE] = THROTTLE_OPS_WRITE,
    [BLOCK_IO_LIMIT_TOTAL] = THROTTLE_OPS_TOTAL,
};

static bool fill_bucket(LeakyBucket *bkt, int64_t avg, int64_t max,
                        int64_t length, Error **errp)
{
    if (length < 0) {
        error_setg(errp, "the burst length must not be negative");
        return false;
    }
    bkt->avg = avg;
    bkt->max = max;
    bkt->burst_length = length ? length : 1;
    return true;
}

/* Translate @limits into a checked @cfg. */
static bool limits_to_config(const BlockIOLimit *limits, ThrottleConfig *cfg,
                             Error **errp)
{
    throttle_config_init(cfg);
    for (int i = 0; i < 3; i++) {
        if (!fill_bucket(&cfg->buckets[bps_bucket[i]], limits->bps[i],
                         limits->bps_max[i], limits->bps_max_length[i],
                         errp) ||
            !fill_bucket(&cfg->buckets[ops_bucket[i]], limits->iops[i],
                         limits->iops_max[i], limits->iops_max_length[i],
                         errp)) {
            return false;
        }
    }
    if (limits->iops_size < 0) {
        error_setg(errp, "the iops size must not be negative");
        return false;
    }
    cfg->op_size = limits->iops_size;
    return throttle_is_valid(cfg, errp);
}

/* Make @bs a member of the group @name asks for (leaving another). */
static BdrvThrottleMember *join_group_named(BlockDriverState *bs,
                                            const char *name)
{
    BdrvThrottleMember *m = member_of(bs);

    if (m->group && group_matches(m->group, name)) {
        return m;
    }
    if (m->group) {
        member_leave(bs);
        m = member_of(bs);
    }
    member_join(m, group_get(name));
    return m;
}

/* Install @cfg as @m's group budget and restart what it now admits. */
static void group_configure(BdrvThrottleMember *m, ThrottleConfig *cfg)
{
    ThrottleGroup *tg = m->group;

    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        if (m->ctx) {
            group_attach_timers_locked(tg, m->ctx, m->clock_type);
        }
        throttle_config(&tg->ts, m->clock_type, cfg);
        if (throttle_timers_are_initialized(&tg->tt)) {
            /* The old deadlines were computed for the old limits. */
            timer_del(tg->tt.timers[0]);
            timer_del(tg->tt.timers[1]);
        }
    }
    group_kick(tg);
}

bool bdrv_io_limits_apply(BlockDriverState *bs, const BlockIOLimit *limits,
                          Error **errp)
{
    ThrottleConfig cfg;
    BdrvThrottleMember *m;

    if (!limits_to_config(limits, &cfg, errp)) {
        return false;
    }
    if (!throttle_enabled(&cfg)) {
        bdrv_io_limits_disable(bs);
        return true;
    }
    m = join_group_named(bs, limits->group);
    group_configure(m, &cfg);
    bs->io_limits = *limits;
    bs->io_limits.group = m->group->name;
    bs->io_limits_enabled = true;
    return true;
}

void bdrv_set_io_limits(BlockDriverState *bs, BlockIOLimit *io_limits)
{
    Error *err = NULL;

    if (!bdrv_io_limits_apply(bs, io_limits, &err)) {
        warn_report("I/O limits of '%s' not changed: %s",
                    bs->device_name[0] ? bs->device_name : "(unnamed)",
                    error_get_pretty(err));
        error_free(err);
    }
}

void bdrv_io_limits_disable(BlockDriverState *bs)
{
    bs->io_limits_enabled = false;
    memset(&bs->io_limits, 0, sizeof(bs->io_limits));
    if (bs->throttle && bs->throttle->group) {
        member_leave(bs);
    }
}

void bdrv_io_limits_set_clock(BlockDriverState *bs, QEMUClockType type)
{
    BdrvThrottleMember *m = bs->throttle;
    ThrottleGroup *tg;

    if (!m || !m->group) {
        /* Nothing to keep but the choice itself. */
        if (m) {
            bs->throttle = NULL;
            member_unref(m);
        }
        if (type != QEMU_CLOCK_REALTIME) {
            bs->throttle = member_new(bs, type);
        }
        return;
    }
    /* Already limited: the group switches clocks, its buckets restart. */
    m->clock_type = type;
    tg = m->group;
    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        ThrottleConfig cfg;

        throttle_get_config(&tg->ts, &cfg);
        if (m->ctx) {
            group_attach_timers_locked(tg, m->ctx, type);
        }
        throttle_config(&tg->ts, type, &cfg);
    }
    group_kick(tg);
}

/* ---- the request path ---- */

/* Queue the calling request behind the rotation (group lock held; it is
 * held again on return).  True if the member left meanwhile. */
static bool coroutine_fn wait_turn(BdrvThrottleMember *m, bool is_write)
{
    ThrottleGroup *tg = m->group;

    m->queued[is_write]++;
    qemu_co_queue_wait(&m->bs->throttled_reqs[is_write], &tg->lock);
    m->queued[is_write]--;
    if (m->left) {
        return true;
    }
    assert(tg->woken[is_write] == m);
    tg->woken[is_write] = NULL;
    return false;
}

/* After admitting a request: wake the next in turn if the budget allows.
 * We are in a coroutine, so the woken one runs after we yield. */
static void coroutine_fn release_next(ThrottleGroup *tg, bool is_write)
{
    BdrvThrottleMember *next = pick_next(tg, is_write);

    if (next) {
        qemu_co_queue_next(&next->bs->throttled_reqs[is_write]);
    }
}

void coroutine_fn bdrv_io_limits_intercept(BlockDriverState *bs,
                                           int64_t bytes, bool is_write)
{
    BdrvThrottleMember *m = bs->throttle;
    ThrottleGroup *tg;
    bool left = false;

    if (!bs->io_limits_enabled || !m || !m->group) {
        return;
    }
    tg = m->group;
    member_ref(m);
    qemu_mutex_lock(&tg->lock);
    if (m->queued[is_write] || group_must_wait(tg, is_write)) {
        left = wait_turn(m, is_write);
    }
    if (!left) {
        throttle_account(&tg->ts, is_write, bytes);
        release_next(tg, is_write);
    }
    qemu_mutex_unlock(&tg->lock);
    member_unref(m);
}

/* ---- AioContext moves ---- */

/* Group lock held: move @tg's timers away from @old, to the context of a
 * member that stays.  True if they now run somewhere. */
static bool move_timers_locked(ThrottleGroup *tg, AioContext *old)
{
    BdrvThrottleMember *host;

    if (!throttle_timers_are_initialized(&tg->tt)) {
        return false;
    }
    if (tg->tt.aio_context != old) {
        return true;
    }
    throttle_timers_detach_aio_context(&tg->tt);
    QTAILQ_FOREACH(host, &tg->members, next) {
        if (host->ctx) {
            throttle_timers_attach_aio_context(&tg->tt, host->ctx);
            return true;
        }
    }
    return false;
}

void bdrv_io_limits_detach_aio_context(BlockDriverState *bs)
{
    BdrvThrottleMember *m = bs->throttle;
    ThrottleGroup *tg = m ? m->group : NULL;
    bool running;

    if (!tg) {
        if (m) {
            m->ctx = NULL;
        }
        return;
    }
    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        AioContext *old = m->ctx;

        m->ctx = NULL;
        running = move_timers_locked(tg, old);
    }
    if (running) {
        /* A wake-up pending on the old timers was lost: re-arm. */
        group_kick(tg);
    }
}

void bdrv_io_limits_attach_aio_context(BlockDriverState *bs,
                                       AioContext *ctx)
{
    BdrvThrottleMember *m = bs->throttle;
    ThrottleGroup *tg = m ? m->group : NULL;

    if (!tg) {
        if (m) {
            m->ctx = ctx;
        }
        return;
    }
    WITH_QEMU_LOCK_GUARD(&tg->lock) {
        m->ctx = ctx;
        if (!throttle_timers_are_initialized(&tg->tt)) {
            group_attach_timers_locked(tg, ctx, m->clock_type);
        }
    }
    group_kick(tg);
}
