/*
 * Clocks, timers, timer lists and timer list groups.
 *
 * Design: each QEMUTimerList keeps its pending timers in a binary min-heap
 * (an array ordered by expire_time, ties broken by arm_seq so equal
 * deadlines fire in arming order).  Each timer stores its heap index, so
 * the next deadline is the root (O(1)) and arming or deleting is a sift up
 * or down from a known slot (O(log n)); no list walk ever happens.
 *
 * A run (timerlist_run_timers) fires only timers that were armed before it
 * started and whose deadline had passed when it started.  A timer armed
 * during the run that is due anyway is popped off the heap into a small
 * "parking" array, still pending, and pushed back when the run ends; this
 * keeps a callback that re-arms itself in the past from looping forever
 * and lets the timers behind it run.
 *
 * Each list has its own mutex guarding its heap, parking area and the
 * mutable fields of its timers; callbacks run with no lock held.  A global
 * registry (one QLIST per clock, under clock_lock) lets manual clocks and
 * qemu_clock_deadline_ns_all reach every list of a clock.  Lock order:
 * clock_lock, then a list's lock.
 *
 * The earliest cache.  An event loop asks every list of its group, on
 * every iteration, "anything due?" and "how long may I sleep?", and most
 * lists are empty.  So each list publishes its earliest deadline in one
 * atomic word, tl->earliest: EXPIRE_NONE (-1) when nothing is pending,
 * EXPIRE_PARKED (INT64_MIN, "due now") while a run holds parked timers,
 * else the heap root's expire_time (always >= 0).  Invariant: whenever
 * tl->lock is free, tl->earliest equals that value computed from the heap
 * and parking area; every unlock goes through unlock_publish() to keep it
 * so.  Readers (has_timers, deadline, the run fast path) load it relaxed,
 * without the lock, and read the clock only for a non-empty list.
 *
 * Why a relaxed load is enough.  A stale value is either later than the
 * truth or earlier.  Earlier is harmless: the reader wakes or locks for
 * nothing.  Later only happens when a writer moved the deadline earlier,
 * and every such writer (timer_mod*, arming the new root) stores
 * tl->earliest, unlocks, and only then calls the list's notify callback.
 * The callback must make the wake-up visible with a full barrier or an
 * atomic RMW after the caller's stores (aio_notify has smp_mb(); QemuEvent
 * set is an RMW), and the loop consumes wake-ups with an RMW or barrier
 * before it reads deadlines (aio_poll raises notify_me with an RMW, then
 * reads them).  Either the loop's read comes after the writer's barrier
 * in that order and sees the new value, or the writer's callback sees the
 * loop's "about to sleep" mark and wakes it.  This is the usual store /
 * barrier / load pairing of the AioContext wake-up protocol; the cache
 * adds no new case to it.  timerlist_notify also puts a release fence
 * before the callback, so a flag the callback sets with a plain relaxed
 * store carries the new deadline to whoever acquires the flag.  The run
 * thread itself always sees its own writes (callbacks run in it).
 *
 * Clock reads.  A group pass (run or deadline) reads each clock source at
 * most once (ClockReading): VIRTUAL and VIRTUAL_RT share REALTIME's
 * reading unless manual, and empty lists read nothing.  A run that finds
 * nothing else due after a callback returns without taking the lock again.
 *
 * Not here: clock enable/disable, icount, timer attributes, the main loop
 * itself (main_loop_tlg is only owned here; main-loop code runs it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "trace.h"
#include <pthread.h>
#include <time.h>
#include "qemu/timer.h"
#include "qemu/atomic.h"
#include "qemu/queue.h"
#include "qemu/thread.h"

struct QEMUTimerList {
    /* Immutable after timerlist_new. */
    QEMUClockType type;
    QEMUTimerListNotifyCB *notify_cb;
    void *notify_opaque;

    /* Protected by clock_lock. */
    QLIST_ENTRY(QEMUTimerList) clock_link;

    /* Protected by lock. */
    QemuMutex lock;
    QEMUTimer **heap;
    int heap_len;
    int heap_cap;
    QEMUTimer **parked;
    int parked_len;
    int parked_cap;
    uint64_t next_seq;

    /*
     * Atomic.  Stored only with lock held, by unlock_publish(); loaded
     * anywhere without it.  See "The earliest cache" at the top.
     */
    int64_t earliest;
};

/* Values of tl->earliest besides a real expire_time (which is >= 0). */
#define EXPIRE_NONE   ((int64_t)-1)
#define EXPIRE_PARKED INT64_MIN

typedef struct QEMUClock {
    QLIST_HEAD(, QEMUTimerList) lists;  /* protected by clock_lock */
    bool manual;                        /* atomic */
    int64_t manual_ns;                  /* atomic */
} QEMUClock;

static QEMUClock clocks[QEMU_CLOCK_MAX];
static QemuMutex clock_lock;
static pthread_once_t clocks_once = PTHREAD_ONCE_INIT;
static pthread_once_t main_tlg_once = PTHREAD_ONCE_INIT;

QEMUTimerListGroup main_loop_tlg;

/* Set once by main-loop code; read by the trampoline in any thread. */
static QEMUTimerListNotifyCB *main_notify_cb;
static void *main_notify_opaque;

/* ---- set-up ---- */

static void clocks_init_once(void)
{
    qemu_mutex_init(&clock_lock);
    for (int i = 0; i < QEMU_CLOCK_MAX; i++) {
        QLIST_INIT(&clocks[i].lists);
    }
}

static void clocks_init(void)
{
    pthread_once(&clocks_once, clocks_init_once);
}

static void main_loop_notify(void *opaque, QEMUClockType type)
{
    QEMUTimerListNotifyCB *cb = qatomic_load_acquire(&main_notify_cb);

    if (cb) {
        cb(qatomic_read(&main_notify_opaque), type);
    }
}

static void main_tlg_init_once(void)
{
    timerlistgroup_init(&main_loop_tlg, main_loop_notify, NULL);
}

void init_clocks(void)
{
    clocks_init();
    pthread_once(&main_tlg_once, main_tlg_init_once);
}

/* Make main_loop_tlg.tl[] valid even for code that reads it directly. */
static void __attribute__((constructor)) timer_module_init(void)
{
    init_clocks();
}

void qemu_timer_set_main_loop_notify(QEMUTimerListNotifyCB *cb, void *opaque)
{
    init_clocks();
    qatomic_set(&main_notify_opaque, opaque);
    qatomic_store_release(&main_notify_cb, cb);
}

/* ---- clocks ---- */

static int64_t posix_clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

/*
 * The clock whose value @type shows right now: VIRTUAL and VIRTUAL_RT
 * follow REALTIME until they are put in manual mode (never undone).
 */
static QEMUClockType clock_source(QEMUClockType type)
{
    if ((type == QEMU_CLOCK_VIRTUAL || type == QEMU_CLOCK_VIRTUAL_RT) &&
        !qatomic_load_acquire(&clocks[type].manual)) {
        return QEMU_CLOCK_REALTIME;
    }
    return type;
}

static int64_t read_source(QEMUClockType src)
{
    switch (src) {
    case QEMU_CLOCK_REALTIME:
        return posix_clock_ns(CLOCK_MONOTONIC);
    case QEMU_CLOCK_HOST:
        return posix_clock_ns(CLOCK_REALTIME);
    default:
        return qatomic_read(&clocks[src].manual_ns);    /* manual */
    }
}

int64_t qemu_clock_get_ns(QEMUClockType type)
{
    if (type < 0 || type >= QEMU_CLOCK_MAX) {
        g_error("qemu_clock_get_ns: invalid clock type %d", type);
    }
    return read_source(clock_source(type));
}

/*
 * Clock values taken lazily during one pass over several lists, so that
 * the pass reads each clock source at most once.  Zero-initialise.
 */
typedef struct ClockReading {
    unsigned have;                  /* bit per source already read */
    int64_t ns[QEMU_CLOCK_MAX];
} ClockReading;

static int64_t reading_get(ClockReading *r, QEMUClockType type)
{
    QEMUClockType src = clock_source(type);

    if (!(r->have & (1u << src))) {
        r->ns[src] = read_source(src);
        r->have |= 1u << src;
    }
    return r->ns[src];
}

static void check_manual_capable(QEMUClockType type, const char *fn)
{
    if (type != QEMU_CLOCK_VIRTUAL && type != QEMU_CLOCK_VIRTUAL_RT) {
        g_error("%s: clock %d cannot be manual (only VIRTUAL and "
                "VIRTUAL_RT can)", fn, type);
    }
}

void qemu_clock_set_manual(QEMUClockType type, int64_t start_ns)
{
    check_manual_capable(type, __func__);
    clocks_init();
    qatomic_set(&clocks[type].manual_ns, start_ns);
    qatomic_store_release(&clocks[type].manual, true);
    qemu_clock_notify(type);
}

int64_t qemu_clock_advance_manual(QEMUClockType type, int64_t delta_ns)
{
    int64_t now;

    check_manual_capable(type, __func__);
    if (!qatomic_load_acquire(&clocks[type].manual)) {
        g_error("%s: clock %d is not in manual mode", __func__, type);
    }
    g_assert(delta_ns >= 0);
    now = qatomic_add_fetch(&clocks[type].manual_ns, delta_ns);
    qemu_clock_notify(type);
    return now;
}

void qemu_clock_notify(QEMUClockType type)
{
    QEMUTimerList *tl;

    clocks_init();
    qemu_mutex_lock(&clock_lock);
    QLIST_FOREACH(tl, &clocks[type].lists, clock_link) {
        timerlist_notify(tl);
    }
    qemu_mutex_unlock(&clock_lock);
}

QEMUTimerList *qemu_clock_get_main_loop_timerlist(QEMUClockType type)
{
    init_clocks();
    return main_loop_tlg.tl[type];
}

bool qemu_clock_has_timers(QEMUClockType type)
{
    return timerlist_has_timers(qemu_clock_get_main_loop_timerlist(type));
}

bool qemu_clock_expired(QEMUClockType type)
{
    return timerlist_expired(qemu_clock_get_main_loop_timerlist(type));
}

static int64_t deadline_with(QEMUTimerList *tl, ClockReading *r);

int64_t qemu_clock_deadline_ns_all(QEMUClockType type)
{
    ClockReading reading = { 0 };
    QEMUTimerList *tl;
    int64_t deadline = -1;

    clocks_init();
    qemu_mutex_lock(&clock_lock);
    QLIST_FOREACH(tl, &clocks[type].lists, clock_link) {
        deadline = qemu_soonest_timeout(deadline,
                                        deadline_with(tl, &reading));
    }
    qemu_mutex_unlock(&clock_lock);
    return deadline;
}

bool qemu_clock_run_timers(QEMUClockType type)
{
    return timerlist_run_timers(qemu_clock_get_main_loop_timerlist(type));
}

bool qemu_clock_run_all_timers(void)
{
    init_clocks();
    return timerlistgroup_run_timers(&main_loop_tlg);
}

/* ---- the heap (all helpers need tl->lock) ---- */

static bool timer_before(const QEMUTimer *a, const QEMUTimer *b)
{
    if (a->expire_time != b->expire_time) {
        return a->expire_time < b->expire_time;
    }
    return a->arm_seq < b->arm_seq;
}

static void heap_place(QEMUTimerList *tl, QEMUTimer *ts, int i)
{
    tl->heap[i] = ts;
    ts->heap_index = i;
}

static void sift_up(QEMUTimerList *tl, int i)
{
    QEMUTimer *ts = tl->heap[i];

    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!timer_before(ts, tl->heap[parent])) {
            break;
        }
        heap_place(tl, tl->heap[parent], i);
        i = parent;
    }
    heap_place(tl, ts, i);
}

static void sift_down(QEMUTimerList *tl, int i)
{
    QEMUTimer *ts = tl->heap[i];

    for (;;) {
        int child = 2 * i + 1;
        if (child >= tl->heap_len) {
            break;
        }
        if (child + 1 < tl->heap_len &&
            timer_before(tl->heap[child + 1], tl->heap[child])) {
            child++;
        }
        if (!timer_before(tl->heap[child], ts)) {
            break;
        }
        heap_place(tl, tl->heap[child], i);
        i = child;
    }
    heap_place(tl, ts, i);
}

static void grow(QEMUTimer ***array, int *cap, int len)
{
    if (len == *cap) {
        *cap = MAX(16, *cap * 2);
        *array = g_renew(QEMUTimer *, *array, *cap);
    }
}

static void heap_insert(QEMUTimerList *tl, QEMUTimer *ts)
{
    grow(&tl->heap, &tl->heap_cap, tl->heap_len);
    ts->parked = false;
    heap_place(tl, ts, tl->heap_len++);
    sift_up(tl, ts->heap_index);
}

static void heap_remove(QEMUTimerList *tl, QEMUTimer *ts)
{
    int i = ts->heap_index;
    QEMUTimer *last = tl->heap[--tl->heap_len];

    ts->heap_index = -1;
    if (last == ts) {
        return;
    }
    heap_place(tl, last, i);
    if (i > 0 && timer_before(last, tl->heap[(i - 1) / 2])) {
        sift_up(tl, i);
    } else {
        sift_down(tl, i);
    }
}

static void park(QEMUTimerList *tl, QEMUTimer *ts)
{
    grow(&tl->parked, &tl->parked_cap, tl->parked_len);
    ts->parked = true;
    ts->heap_index = tl->parked_len;
    tl->parked[tl->parked_len++] = ts;
}

static void unpark(QEMUTimerList *tl, QEMUTimer *ts)
{
    QEMUTimer *last = tl->parked[--tl->parked_len];

    tl->parked[ts->heap_index] = last;
    last->heap_index = ts->heap_index;
    ts->heap_index = -1;
    ts->parked = false;
}

/* Take @ts off whichever structure holds it; it becomes not pending. */
static void timer_del_locked(QEMUTimerList *tl, QEMUTimer *ts)
{
    if (ts->heap_index < 0) {
        return;
    }
    if (ts->parked) {
        unpark(tl, ts);
    } else {
        heap_remove(tl, ts);
    }
    qatomic_set(&ts->expire_time, -1);
}

/* Returns true when @ts became the earliest deadline of the list. */
static bool timer_mod_ns_locked(QEMUTimerList *tl, QEMUTimer *ts,
                                int64_t expire_time)
{
    timer_del_locked(tl, ts);
    qatomic_set(&ts->expire_time, MAX(expire_time, 0));
    ts->arm_seq = tl->next_seq++;
    heap_insert(tl, ts);
    return ts->heap_index == 0;
}

/* What tl->earliest must hold for the current heap and parking area. */
static int64_t earliest_locked(QEMUTimerList *tl)
{
    if (tl->parked_len > 0) {
        return EXPIRE_PARKED;
    }
    if (tl->heap_len > 0) {
        return tl->heap[0]->expire_time;
    }
    return EXPIRE_NONE;
}

/* The only way to drop tl->lock: publishes tl->earliest first. */
static void unlock_publish(QEMUTimerList *tl)
{
    qatomic_set(&tl->earliest, earliest_locked(tl));
    qemu_mutex_unlock(&tl->lock);
}

/* ---- timer lists ---- */

QEMUTimerList *timerlist_new(QEMUClockType type,
                             QEMUTimerListNotifyCB *cb, void *opaque)
{
    QEMUTimerList *tl = g_new0(QEMUTimerList, 1);

    g_assert(type >= 0 && type < QEMU_CLOCK_MAX);
    clocks_init();
    tl->type = type;
    tl->notify_cb = cb;
    tl->notify_opaque = opaque;
    tl->earliest = EXPIRE_NONE;
    qemu_mutex_init(&tl->lock);

    qemu_mutex_lock(&clock_lock);
    QLIST_INSERT_HEAD(&clocks[type].lists, tl, clock_link);
    qemu_mutex_unlock(&clock_lock);
    return tl;
}

void timerlist_free(QEMUTimerList *timer_list)
{
    if (!timer_list) {
        return;
    }
    if (timerlist_has_timers(timer_list)) {
        g_error("timerlist_free: a timer is still pending on the list");
    }
    qemu_mutex_lock(&clock_lock);
    QLIST_REMOVE(timer_list, clock_link);
    qemu_mutex_unlock(&clock_lock);

    qemu_mutex_destroy(&timer_list->lock);
    g_free(timer_list->heap);
    g_free(timer_list->parked);
    g_free(timer_list);
}

bool timerlist_has_timers(QEMUTimerList *timer_list)
{
    return qatomic_read(&timer_list->earliest) != EXPIRE_NONE;
}

bool timerlist_expired(QEMUTimerList *timer_list)
{
    return timerlist_deadline_ns(timer_list) == 0;
}

/* Nanoseconds from @now to @expire, 0 if passed; saturates on overflow. */
static int64_t ns_until(int64_t expire, int64_t now)
{
    int64_t delta;

    if (expire <= now) {
        return 0;
    }
    if (__builtin_sub_overflow(expire, now, &delta)) {
        return INT64_MAX;
    }
    return delta;
}

/* Lock-free; reads @tl's clock (through @r) only if a timer is pending. */
static int64_t deadline_with(QEMUTimerList *tl, ClockReading *r)
{
    int64_t earliest = qatomic_read(&tl->earliest);

    if (earliest == EXPIRE_NONE) {
        return -1;
    }
    return ns_until(earliest, reading_get(r, tl->type));
}

int64_t timerlist_deadline_ns(QEMUTimerList *timer_list)
{
    ClockReading reading = { 0 };

    return deadline_with(timer_list, &reading);
}

QEMUClockType timerlist_get_clock(QEMUTimerList *timer_list)
{
    return timer_list->type;
}

void timerlist_notify(QEMUTimerList *timer_list)
{
    /*
     * Order our earlier publication of tl->earliest (unlock is a release,
     * but a later relaxed store may still pass it) before any store the
     * callback makes, so that a loop which acquires such a store (say a
     * "timers armed" flag it clears with an RMW) also sees the deadline.
     * Free on x86.
     */
    smp_wmb();
    if (timer_list->notify_cb) {
        timer_list->notify_cb(timer_list->notify_opaque, timer_list->type);
    }
}

/*
 * Pop the next timer this run may fire: due by @now and armed before the
 * run (arm_seq < @seq0).  Due timers armed during the run are parked.
 * Returns NULL when nothing more is due.  Needs tl->lock.
 */
static QEMUTimer *pop_due_locked(QEMUTimerList *tl, int64_t now,
                                 uint64_t seq0)
{
    while (tl->heap_len > 0) {
        QEMUTimer *ts = tl->heap[0];

        if (ts->expire_time > now) {
            return NULL;
        }
        heap_remove(tl, ts);
        if (ts->arm_seq < seq0) {
            qatomic_set(&ts->expire_time, -1);
            return ts;
        }
        park(tl, ts);
    }
    return NULL;
}

static void unpark_all_locked(QEMUTimerList *tl)
{
    while (tl->parked_len > 0) {
        QEMUTimer *ts = tl->parked[tl->parked_len - 1];

        unpark(tl, ts);
        heap_insert(tl, ts);
    }
}

/* True when a list whose tl->earliest is @earliest has nothing due. */
static bool nothing_due(int64_t earliest, int64_t now)
{
    return earliest == EXPIRE_NONE || earliest > now;
}

/*
 * The locked part of a run against clock value @now.  After a callback,
 * a lock-free look at tl->earliest tells whether anything is due or
 * parked (parked reads as due); if not, there is nothing to pop or
 * unpark and the lock is not taken again.
 */
static bool run_due(QEMUTimerList *tl, int64_t now)
{
    bool progress = false;
    QEMUTimer *ts;
    uint64_t seq0;

    qemu_mutex_lock(&tl->lock);
    seq0 = tl->next_seq;
    while ((ts = pop_due_locked(tl, now, seq0))) {
        QEMUTimerCB *cb = ts->cb;
        void *opaque = ts->opaque;

        unlock_publish(tl);
        trace_timer_fire(ts);
        cb(opaque);
        progress = true;
        if (nothing_due(qatomic_read(&tl->earliest), now)) {
            return true;
        }
        qemu_mutex_lock(&tl->lock);
    }
    unpark_all_locked(tl);
    unlock_publish(tl);
    return progress;
}

/* An empty list costs one load; a list with nothing due adds a clock read. */
static bool run_with(QEMUTimerList *tl, ClockReading *r)
{
    int64_t earliest = qatomic_read(&tl->earliest);
    int64_t now;

    if (earliest == EXPIRE_NONE) {
        return false;
    }
    now = reading_get(r, tl->type);
    if (nothing_due(earliest, now)) {
        return false;
    }
    return run_due(tl, now);
}

bool timerlist_run_timers(QEMUTimerList *timer_list)
{
    ClockReading reading = { 0 };

    return run_with(timer_list, &reading);
}

/* ---- timer list groups ---- */

void timerlistgroup_init(QEMUTimerListGroup *tlg,
                         QEMUTimerListNotifyCB *cb, void *opaque)
{
    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        tlg->tl[type] = timerlist_new(type, cb, opaque);
    }
}

void timerlistgroup_deinit(QEMUTimerListGroup *tlg)
{
    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        timerlist_free(tlg->tl[type]);
        tlg->tl[type] = NULL;
    }
}

bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg)
{
    ClockReading reading = { 0 };
    bool progress = false;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        progress |= run_with(tlg->tl[type], &reading);
    }
    return progress;
}

int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg)
{
    ClockReading reading = { 0 };
    int64_t deadline = -1;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        deadline = qemu_soonest_timeout(deadline,
                                        deadline_with(tlg->tl[type],
                                                      &reading));
    }
    return deadline;
}

bool timerlistgroup_has_timers(QEMUTimerListGroup *tlg)
{
    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        if (timerlist_has_timers(tlg->tl[type])) {
            return true;
        }
    }
    return false;
}

/* ---- timers ---- */

void timer_init_tl(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                   QEMUTimerCB *cb, void *opaque)
{
    g_assert(timer_list && scale > 0);
    ts->expire_time = -1;
    ts->timer_list = timer_list;
    ts->cb = cb;
    ts->opaque = opaque;
    ts->scale = scale;
    ts->heap_index = -1;
    ts->parked = false;
    ts->arm_seq = 0;
}

void timer_init(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                QEMUTimerCB *cb, void *opaque)
{
    timer_init_tl(ts, timer_list, scale, cb, opaque);
}

QEMUTimer *timer_new_tl(QEMUTimerList *timer_list, int scale,
                        QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *ts = g_new0(QEMUTimer, 1);

    timer_init_tl(ts, timer_list, scale, cb, opaque);
    return ts;
}

QEMUTimer *timer_new(QEMUClockType type, int scale,
                     QEMUTimerCB *cb, void *opaque)
{
    return timer_new_tl(qemu_clock_get_main_loop_timerlist(type),
                        scale, cb, opaque);
}

void timer_deinit(QEMUTimer *ts)
{
    if (ts->timer_list) {
        timer_del(ts);
        ts->timer_list = NULL;
    }
}

void timer_free(QEMUTimer *ts)
{
    if (ts) {
        timer_deinit(ts);
        g_free(ts);
    }
}

void timer_del(QEMUTimer *ts)
{
    QEMUTimerList *tl = ts->timer_list;

    if (!tl) {
        return;                 /* deinitialised: nothing can be pending */
    }
    qemu_mutex_lock(&tl->lock);
    timer_del_locked(tl, ts);
    unlock_publish(tl);
}

void timer_mod_ns(QEMUTimer *ts, int64_t expire_time)
{
    QEMUTimerList *tl = ts->timer_list;
    bool first;

    g_assert(tl);
    trace_timer_mod(ts, expire_time);
    qemu_mutex_lock(&tl->lock);
    first = timer_mod_ns_locked(tl, ts, expire_time);
    unlock_publish(tl);
    if (first) {
        timerlist_notify(tl);
    }
}

/* @expire_time * @scale, saturating instead of overflowing. */
static int64_t scale_to_ns(int64_t expire_time, int scale)
{
    if (expire_time > INT64_MAX / scale) {
        return INT64_MAX;
    }
    if (expire_time < INT64_MIN / scale) {
        return INT64_MIN;
    }
    return expire_time * scale;
}

void timer_mod(QEMUTimer *ts, int64_t expire_time)
{
    timer_mod_ns(ts, scale_to_ns(expire_time, ts->scale));
}

void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time)
{
    QEMUTimerList *tl = ts->timer_list;
    bool first = false;

    g_assert(tl);
    expire_time = MAX(expire_time, 0);
    qemu_mutex_lock(&tl->lock);
    if (ts->heap_index < 0 || expire_time < ts->expire_time) {
        first = timer_mod_ns_locked(tl, ts, expire_time);
    }
    unlock_publish(tl);
    if (first) {
        timerlist_notify(tl);
    }
}

void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time)
{
    timer_mod_anticipate_ns(ts, scale_to_ns(expire_time, ts->scale));
}

bool timer_pending(QEMUTimer *ts)
{
    return qatomic_read(&ts->expire_time) >= 0;
}

bool timer_expired(QEMUTimer *ts, int64_t current_time)
{
    int64_t expire = qatomic_read(&ts->expire_time);

    return expire >= 0 && expire <= scale_to_ns(current_time, ts->scale);
}

int64_t timer_expire_time_ns(QEMUTimer *ts)
{
    return qatomic_read(&ts->expire_time);
}

/* ---- timeout helpers ---- */

int qemu_timeout_ns_to_ms(int64_t ns)
{
    int64_t ms;

    if (ns < 0) {
        return -1;
    }
    ms = ns / SCALE_MS + (ns % SCALE_MS != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}
