/*
 * Clocks, timers, timer lists and timer list groups.
 *
 * A QEMUTimer fires its callback once its clock reaches the timer's
 * deadline.  Timers live on a QEMUTimerList: one list per (clock, event
 * loop).  A QEMUTimerListGroup holds one list per clock; every AioContext
 * embeds one (ctx->tlg) and so does the main loop (main_loop_tlg).  The
 * event loop that owns a group runs its expired timers with
 * timerlistgroup_run_timers() and bounds its sleep with
 * timerlistgroup_deadline_ns().
 *
 * Threads: a timer may be armed (timer_mod*) or deleted (timer_del) from
 * any thread; each list has its own mutex.  When the list's earliest
 * deadline moves earlier, the list's notify callback is called (in the
 * thread that armed the timer, after the list's lock is released) so that
 * a sleeping loop wakes and recomputes its timeout.  Callbacks always run
 * in the thread that calls timerlist_run_timers(), without any timer lock
 * held, so they may arm, re-arm or delete any timer, including their own.
 * Only one thread at a time may run a given list (the thread running its
 * event loop).
 *
 * Cost: each list publishes its earliest deadline in an atomic word, so
 * the questions an event loop asks every iteration take no lock.  An
 * empty list costs one atomic load in timerlist_has_timers, the deadline
 * functions and the run functions, and no clock read; a non-empty list
 * adds one clock read.  A group pass (timerlistgroup_run_timers,
 * timerlistgroup_deadline_ns) reads each clock at most once, and
 * VIRTUAL/VIRTUAL_RT share REALTIME's reading while not manual.  A lock is
 * taken only to arm, delete, or pop a due timer.
 *
 * Lock-free readers see a consistent but possibly stale deadline.  It is
 * never staler than the last notification: a writer that moves a
 * deadline earlier publishes it before calling the notify callback, so a
 * loop that consumes the notification with an atomic read-modify-write or
 * a full barrier (as aio_poll does) and only then reads the deadline sees
 * the new timer, or else the callback sees the loop's "may sleep" mark and
 * wakes it (see QEMUTimerListNotifyCB).  A deadline that moved later
 * (timer_del, re-arming to later) is not notified; a stale reader then
 * wakes early or runs the list for nothing, which is harmless.
 *
 * main_loop_tlg: a plain global group owned by this module.  It is set up
 * on first use (every function here that touches it calls init_clocks()),
 * and its lists have no notify callback until the main-loop code installs
 * one with qemu_timer_set_main_loop_notify().  The main loop runs
 * timerlistgroup_run_timers(&main_loop_tlg) each iteration and includes
 * timerlistgroup_deadline_ns(&main_loop_tlg) in its sleep bound.
 * timer_new(), timer_new_ns/us/ms() put their timers there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_TIMER_H
#define QEMU_TIMER_H

#include "qemu/osdep.h"

/*
 * The clocks.  REALTIME is monotonic and never stops.  HOST is the wall
 * clock (may jump when the system time is set).  VIRTUAL and VIRTUAL_RT
 * follow REALTIME until put in manual mode with qemu_clock_set_manual();
 * from then on only qemu_clock_advance_manual() moves them.  All values are
 * in nanoseconds.
 */
typedef enum {
    QEMU_CLOCK_REALTIME = 0,
    QEMU_CLOCK_VIRTUAL = 1,
    QEMU_CLOCK_HOST = 2,
    QEMU_CLOCK_VIRTUAL_RT = 3,
    QEMU_CLOCK_MAX
} QEMUClockType;

/* Called when a timer expires, with the opaque given when it was set up. */
typedef void QEMUTimerCB(void *opaque);

/*
 * Called when the earliest deadline of a list on clock @type may have moved
 * earlier (or a manual clock advanced): the owner should wake up and
 * recompute its timeout.  May run in any thread; must not block and must
 * not create or free timer lists.  Called with no timer lock held, after
 * the new deadline was published and behind a release fence, so a thread
 * that acquires anything the callback stores also sees the new deadline.
 * To wake a sleeper the callback must order its wake-up after the
 * caller's earlier stores (a full barrier or an atomic read-modify-write
 * before it tests whether the owner sleeps, as aio_notify and
 * qemu_event_set do), so that the lock-free readers above cannot miss the
 * change.
 */
typedef void QEMUTimerListNotifyCB(void *opaque, QEMUClockType type);

/*
 * A timer.  Public so that callers can embed it (timer_init,
 * aio_timer_init); treat every field as read-only and use the functions
 * below.  expire_time is in nanoseconds, -1 while the timer is not pending.
 * cb, opaque, scale and timer_list are fixed by timer_init*; the other
 * fields are protected by timer_list's mutex.
 */
struct QEMUTimer {
    int64_t expire_time;
    QEMUTimerList *timer_list;
    QEMUTimerCB *cb;
    void *opaque;
    int scale;
    /* private: position in the list's heap (or parking area), or -1 */
    int heap_index;
    /* private: true while parked during a run (see timerlist_run_timers) */
    bool parked;
    /* private: arming sequence number, breaks deadline ties FIFO */
    uint64_t arm_seq;
};

/* One timer list per clock; tl[type] is never NULL after init. */
struct QEMUTimerListGroup {
    QEMUTimerList *tl[QEMU_CLOCK_MAX];
};

/* The main loop's timers; see the top of this file. */
extern QEMUTimerListGroup main_loop_tlg;

/*
 * Set up clocks and main_loop_tlg if not done yet.  Idempotent and thread
 * safe; called implicitly by every function that needs it, so callers only
 * need it before reading main_loop_tlg.tl[] directly.
 */
void init_clocks(void);

/*
 * Install the callback told about deadline changes on main_loop_tlg (it
 * should wake the main loop).  Called once by the main-loop code; may be
 * called from any thread; @cb may be NULL to remove it.
 */
void qemu_timer_set_main_loop_notify(QEMUTimerListNotifyCB *cb, void *opaque);

/* ---- clocks ---- */

/* Current value of clock @type in ns / us / ms.  Any thread. */
int64_t qemu_clock_get_ns(QEMUClockType type);

static inline int64_t qemu_clock_get_us(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_US;
}

static inline int64_t qemu_clock_get_ms(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_MS;
}

/*
 * Put clock @type in manual mode at value @start_ns (may be called again
 * to restart it elsewhere).  Only VIRTUAL and VIRTUAL_RT can be manual;
 * asking for REALTIME or HOST aborts.  Every list on the clock is notified.
 * Meant for tests.  Any thread.
 */
void qemu_clock_set_manual(QEMUClockType type, int64_t start_ns);

/*
 * Move manual clock @type forward by @delta_ns (>= 0) and notify every
 * timer list on that clock so their loops run the timers now due.
 * Returns the new clock value.  Aborts if the clock is not manual.
 */
int64_t qemu_clock_advance_manual(QEMUClockType type, int64_t delta_ns);

/* True when the main loop's list for clock @type has a pending timer. */
bool qemu_clock_has_timers(QEMUClockType type);

/* True when the main loop's list for clock @type has an expired timer. */
bool qemu_clock_expired(QEMUClockType type);

/*
 * Nanoseconds until the earliest deadline over every timer list of clock
 * @type (all event loops): -1 if none is pending, 0 if one has expired.
 */
int64_t qemu_clock_deadline_ns_all(QEMUClockType type);

/* main_loop_tlg's list for clock @type. */
QEMUTimerList *qemu_clock_get_main_loop_timerlist(QEMUClockType type);

/* Call the notify callback of every timer list on clock @type. */
void qemu_clock_notify(QEMUClockType type);

/*
 * Run the expired timers of main_loop_tlg's list for @type / for every
 * clock.  Only from the thread running the main loop.  Returns true if a
 * callback ran.
 */
bool qemu_clock_run_timers(QEMUClockType type);
bool qemu_clock_run_all_timers(void);

/* ---- timer lists ---- */

/*
 * Create an empty list on clock @type.  @cb (may be NULL) is called with
 * @opaque when the list's deadline moves earlier.  Never fails.
 */
QEMUTimerList *timerlist_new(QEMUClockType type,
                             QEMUTimerListNotifyCB *cb, void *opaque);

/*
 * Free a list.  No timer may be pending on it (aborts otherwise) and no
 * timer initialised on it may be used afterwards.
 */
void timerlist_free(QEMUTimerList *timer_list);

/*
 * True when a timer is pending on the list.  Any thread; lock-free: one
 * atomic load, no clock read.
 */
bool timerlist_has_timers(QEMUTimerList *timer_list);

/*
 * True when a pending timer's deadline has been reached.  Any thread;
 * lock-free, reads the clock only if a timer is pending.
 */
bool timerlist_expired(QEMUTimerList *timer_list);

/*
 * Nanoseconds until the list's earliest deadline: -1 if no timer is
 * pending, 0 if one has already expired.  O(1).  Any thread; lock-free,
 * reads the clock only if a timer is pending.
 */
int64_t timerlist_deadline_ns(QEMUTimerList *timer_list);

/* The clock the list runs on. */
QEMUClockType timerlist_get_clock(QEMUTimerList *timer_list);

/*
 * Run every timer that had expired when the call started, each at most
 * once, in deadline order (equal deadlines in the order they were armed).
 * "Expired" is judged against one clock reading taken at the start, so a
 * callback that moves a manual clock does not make more timers due in the
 * same call.  Timers deleted or re-armed by an earlier callback of the
 * same run are skipped; a timer armed during the run (even to a past
 * deadline) waits for the next call, which keeps each call finite.
 * Callbacks run in the calling thread without the list lock.  Only from
 * the thread that owns the list.  An empty list returns at once (no lock,
 * no clock read); a list with nothing due returns after one clock read.
 * Returns true if at least one callback ran.
 */
bool timerlist_run_timers(QEMUTimerList *timer_list);

/* Call the list's notify callback (if any).  Any thread. */
void timerlist_notify(QEMUTimerList *timer_list);

/* ---- timer list groups ---- */

/* Create one list per clock in @tlg, all notifying @cb(@opaque, type). */
void timerlistgroup_init(QEMUTimerListGroup *tlg,
                         QEMUTimerListNotifyCB *cb, void *opaque);

/* Free @tlg's lists (none may have a pending timer) and NULL them. */
void timerlistgroup_deinit(QEMUTimerListGroup *tlg);

/*
 * timerlist_run_timers on each clock's list in clock order (REALTIME,
 * VIRTUAL, HOST, VIRTUAL_RT), except that the pass reads each clock at
 * most once, when it first meets a non-empty list of that clock (VIRTUAL
 * and VIRTUAL_RT reuse REALTIME's reading while not manual): a list's
 * timers that became due while earlier lists ran wait for the next pass.
 * Only from the thread that owns the group.  True if any callback ran.
 */
bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg);

/*
 * Soonest deadline over @tlg's lists: -1 if none, 0 if one expired.  Any
 * thread; lock-free, with at most one reading per clock (none when every
 * list is empty).  An event loop can call it right after
 * timerlistgroup_run_timers at no locking cost.
 */
int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg);

/*
 * True when a timer is pending on any of @tlg's lists.  Any thread;
 * lock-free, no clock read: one atomic load per list.
 */
bool timerlistgroup_has_timers(QEMUTimerListGroup *tlg);

/* ---- timers ---- */

/*
 * Initialise caller-owned @ts on @timer_list.  @scale (SCALE_NS, SCALE_US,
 * SCALE_MS) is the unit of timer_mod() and timer_expired().  The timer
 * starts not pending.  timer_init and timer_init_tl are the same.
 */
void timer_init_tl(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                   QEMUTimerCB *cb, void *opaque);
void timer_init(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                QEMUTimerCB *cb, void *opaque);

/* Allocate and initialise a timer on @timer_list; free with timer_free. */
QEMUTimer *timer_new_tl(QEMUTimerList *timer_list, int scale,
                        QEMUTimerCB *cb, void *opaque);

/* Allocate a timer on main_loop_tlg's list for clock @type. */
QEMUTimer *timer_new(QEMUClockType type, int scale,
                     QEMUTimerCB *cb, void *opaque);

static inline QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_NS, cb, opaque);
}

static inline QEMUTimer *timer_new_us(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_US, cb, opaque);
}

static inline QEMUTimer *timer_new_ms(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_MS, cb, opaque);
}

/*
 * Undo timer_init: delete the timer if pending and detach it from its
 * list.  The memory stays the caller's.
 */
void timer_deinit(QEMUTimer *ts);

/* Delete (if pending) and free a timer from timer_new*.  NULL is a no-op. */
void timer_free(QEMUTimer *ts);

/*
 * Stop the timer if pending; its callback will not run.  A no-op on a
 * deinitialised timer.  Any thread.
 */
void timer_del(QEMUTimer *ts);

/*
 * Arm (or re-arm) the timer to fire when its clock reaches @expire_time
 * ns; a negative value counts as 0.  Notifies the list's owner if this is
 * now the earliest deadline.  O(log n).  Any thread.
 */
void timer_mod_ns(QEMUTimer *ts, int64_t expire_time);

/* As timer_mod_ns, with @expire_time in the timer's scale. */
void timer_mod(QEMUTimer *ts, int64_t expire_time);

/*
 * As timer_mod_ns / timer_mod, but only ever moves a pending timer's
 * deadline earlier; arms a timer that is not pending.
 */
void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time);
void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time);

/* True when the timer is armed and has not fired or been deleted. */
bool timer_pending(QEMUTimer *ts);

/*
 * True when the timer is pending and its deadline is at or before
 * @current_time (in the timer's scale).
 */
bool timer_expired(QEMUTimer *ts, int64_t current_time);

/* The pending timer's deadline in ns, or -1 if it is not pending. */
int64_t timer_expire_time_ns(QEMUTimer *ts);

/* ---- timeout helpers ---- */

/*
 * Convert a timeout in ns to ms for poll(): rounds up so a sleep never
 * ends before the deadline; -1 (infinite) stays -1; clamps at INT_MAX.
 */
int qemu_timeout_ns_to_ms(int64_t ns);

/* The sooner of two timeouts, where any negative value means "never". */
static inline int64_t qemu_soonest_timeout(int64_t timeout1, int64_t timeout2)
{
    if (timeout1 < 0) {
        return timeout2;
    }
    if (timeout2 < 0) {
        return timeout1;
    }
    return MIN(timeout1, timeout2);
}

#endif /* QEMU_TIMER_H */
