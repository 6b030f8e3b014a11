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
 * Not here: clock enable/disable, icount, timer attributes, the main loop
 * itself (main_loop_tlg is only owned here; main-loop code runs it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
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
};

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

int64_t qemu_clock_get_ns(QEMUClockType type)
{
    switch (type) {
    case QEMU_CLOCK_REALTIME:
        return posix_clock_ns(CLOCK_MONOTONIC);
    case QEMU_CLOCK_HOST:
        return posix_clock_ns(CLOCK_REALTIME);
    case QEMU_CLOCK_VIRTUAL:
    case QEMU_CLOCK_VIRTUAL_RT:
        if (qatomic_load_acquire(&clocks[type].manual)) {
            return qatomic_read(&clocks[type].manual_ns);
        }
        return posix_clock_ns(CLOCK_MONOTONIC);
    default:
        g_error("qemu_clock_get_ns: invalid clock type %d", type);
    }
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

int64_t qemu_clock_deadline_ns_all(QEMUClockType type)
{
    QEMUTimerList *tl;
    int64_t deadline = -1;

    clocks_init();
    qemu_mutex_lock(&clock_lock);
    QLIST_FOREACH(tl, &clocks[type].lists, clock_link) {
        deadline = qemu_soonest_timeout(deadline, timerlist_deadline_ns(tl));
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
    bool ret;

    qemu_mutex_lock(&timer_list->lock);
    ret = timer_list->heap_len > 0 || timer_list->parked_len > 0;
    qemu_mutex_unlock(&timer_list->lock);
    return ret;
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

int64_t timerlist_deadline_ns(QEMUTimerList *timer_list)
{
    int64_t now = qemu_clock_get_ns(timer_list->type);
    int64_t deadline = -1;

    qemu_mutex_lock(&timer_list->lock);
    if (timer_list->parked_len > 0) {
        deadline = 0;
    } else if (timer_list->heap_len > 0) {
        deadline = ns_until(timer_list->heap[0]->expire_time, now);
    }
    qemu_mutex_unlock(&timer_list->lock);
    return deadline;
}

QEMUClockType timerlist_get_clock(QEMUTimerList *timer_list)
{
    return timer_list->type;
}

void timerlist_notify(QEMUTimerList *timer_list)
{
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

bool timerlist_run_timers(QEMUTimerList *timer_list)
{
    int64_t now = qemu_clock_get_ns(timer_list->type);
    bool progress = false;
    uint64_t seq0;

    qemu_mutex_lock(&timer_list->lock);
    seq0 = timer_list->next_seq;
    for (;;) {
        QEMUTimer *ts = pop_due_locked(timer_list, now, seq0);
        QEMUTimerCB *cb;
        void *opaque;

        if (!ts) {
            break;
        }
        cb = ts->cb;
        opaque = ts->opaque;
        qemu_mutex_unlock(&timer_list->lock);
        cb(opaque);
        progress = true;
        qemu_mutex_lock(&timer_list->lock);
    }
    unpark_all_locked(timer_list);
    qemu_mutex_unlock(&timer_list->lock);
    return progress;
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
    bool progress = false;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        progress |= timerlist_run_timers(tlg->tl[type]);
    }
    return progress;
}

int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg)
{
    int64_t deadline = -1;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        deadline = qemu_soonest_timeout(deadline,
                                        timerlist_deadline_ns(tlg->tl[type]));
    }
    return deadline;
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
    qemu_mutex_unlock(&tl->lock);
}

void timer_mod_ns(QEMUTimer *ts, int64_t expire_time)
{
    QEMUTimerList *tl = ts->timer_list;
    bool earliest;

    g_assert(tl);
    qemu_mutex_lock(&tl->lock);
    earliest = timer_mod_ns_locked(tl, ts, expire_time);
    qemu_mutex_unlock(&tl->lock);
    if (earliest) {
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
    bool earliest = false;

    g_assert(tl);
    expire_time = MAX(expire_time, 0);
    qemu_mutex_lock(&tl->lock);
    if (ts->heap_index < 0 || expire_time < ts->expire_time) {
        earliest = timer_mod_ns_locked(tl, ts, expire_time);
    }
    qemu_mutex_unlock(&tl->lock);
    if (earliest) {
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
