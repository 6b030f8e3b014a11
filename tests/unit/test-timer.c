/*
 * Tests for qemu/timer.h: clocks, timers, timer lists and groups.
 *
 * Most tests drive a manual QEMU_CLOCK_VIRTUAL so that they check exact
 * deadlines without depending on wall time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/thread.h"
#include "qemu/atomic.h"

#define V QEMU_CLOCK_VIRTUAL

/* ---- helpers ---- */

typedef struct Notes {
    int count;                  /* atomic: notify callbacks seen */
    int last_type;
    int thread_id;
} Notes;

static void note_notify(void *opaque, QEMUClockType type)
{
    Notes *n = opaque;

    qatomic_set(&n->last_type, type);
    qatomic_set(&n->thread_id, qemu_get_thread_id());
    qatomic_inc(&n->count);
}

/* A timer that appends its index to a shared log when it fires. */
typedef struct Fired {
    QEMUTimer timer;
    int index;
    GArray *log;
} Fired;

static void log_fire(void *opaque)
{
    Fired *f = opaque;

    g_array_append_val(f->log, f->index);
}

static void count_fire(void *opaque)
{
    (*(int *)opaque)++;
}

/* A fresh list on a manual virtual clock that starts at @start. */
static QEMUTimerList *manual_list(int64_t start, Notes *notes)
{
    qemu_clock_set_manual(V, start);
    return timerlist_new(V, notes ? note_notify : NULL, notes);
}

/* ---- ordering ---- */

static void test_order_random(void)
{
    enum { N = 2000 };
    QEMUTimerList *tl = manual_list(0, NULL);
    GArray *log = g_array_new(false, false, sizeof(int));
    Fired *f = g_new0(Fired, N);
    int64_t *when = g_new(int64_t, N);
    GRand *rand = g_rand_new_with_seed(42);

    for (int i = 0; i < N; i++) {
        f[i].index = i;
        f[i].log = log;
        when[i] = g_rand_int_range(rand, 1, 1000000);
        timer_init_tl(&f[i].timer, tl, SCALE_NS, log_fire, &f[i]);
        timer_mod_ns(&f[i].timer, when[i]);
    }
    qemu_clock_advance_manual(V, 1000000);
    g_assert_true(timerlist_run_timers(tl));

    /* Every timer fired once, in non-decreasing deadline order. */
    g_assert_cmpint(log->len, ==, N);
    for (int i = 1; i < N; i++) {
        g_assert_cmpint(when[g_array_index(log, int, i - 1)], <=,
                        when[g_array_index(log, int, i)]);
    }
    g_assert_false(timerlist_has_timers(tl));
    g_rand_free(rand);
    g_free(when);
    g_free(f);
    g_array_free(log, true);
    timerlist_free(tl);
}

static void test_order_ties(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    GArray *log = g_array_new(false, false, sizeof(int));
    Fired f[5];

    for (int i = 0; i < 5; i++) {
        f[i] = (Fired) { .index = i, .log = log };
        timer_init(&f[i].timer, tl, SCALE_NS, log_fire, &f[i]);
    }
    /* Equal deadlines fire in arming order, whatever the index. */
    for (int i = 4; i >= 0; i--) {
        timer_mod_ns(&f[i].timer, 100);
    }
    qemu_clock_advance_manual(V, 100);
    timerlist_run_timers(tl);

    g_assert_cmpint(log->len, ==, 5);
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(g_array_index(log, int, i), ==, 4 - i);
    }
    g_array_free(log, true);
    timerlist_free(tl);
}

/* ---- callbacks that touch timers ---- */

typedef struct Rearm {
    QEMUTimer timer;
    int runs;
    int64_t next;               /* ns to re-arm to; -1 = do not */
    QEMUTimer *victim;          /* deleted or moved by the callback */
    int64_t victim_to;          /* -1 = delete, else re-arm there */
} Rearm;

static void rearm_cb(void *opaque)
{
    Rearm *r = opaque;

    r->runs++;
    if (r->next >= 0) {
        timer_mod_ns(&r->timer, r->next);
    }
    if (r->victim) {
        if (r->victim_to < 0) {
            timer_del(r->victim);
        } else {
            timer_mod_ns(r->victim, r->victim_to);
        }
    }
}

static void test_cb_rearm_future(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    Rearm r = { .next = 200 };

    timer_init_tl(&r.timer, tl, SCALE_NS, rearm_cb, &r);
    timer_mod_ns(&r.timer, 100);
    qemu_clock_advance_manual(V, 100);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(r.runs, ==, 1);
    g_assert_cmpint(timer_expire_time_ns(&r.timer), ==, 200);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 100);

    r.next = -1;
    qemu_clock_advance_manual(V, 100);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(r.runs, ==, 2);
    g_assert_false(timer_pending(&r.timer));
    timerlist_free(tl);
}

static void test_cb_rearm_past_is_bounded(void)
{
    QEMUTimerList *tl = manual_list(1000, NULL);
    Rearm r = { .next = 0 };
    int other = 0;
    QEMUTimer later;

    /* r re-arms itself in the past forever; later must still run. */
    timer_init_tl(&r.timer, tl, SCALE_NS, rearm_cb, &r);
    timer_init_tl(&later, tl, SCALE_NS, count_fire, &other);
    timer_mod_ns(&r.timer, 10);
    timer_mod_ns(&later, 20);

    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(r.runs, ==, 1);
    g_assert_cmpint(other, ==, 1);
    g_assert_true(timer_pending(&r.timer));
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 0);
    g_assert_true(timerlist_expired(tl));

    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(r.runs, ==, 2);
    timer_del(&r.timer);
    g_assert_false(timerlist_run_timers(tl));
    timerlist_free(tl);
}

static void test_cb_del_other(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    Rearm a = { .next = -1, .victim_to = -1 };
    int b_runs = 0;
    QEMUTimer b;

    timer_init_tl(&a.timer, tl, SCALE_NS, rearm_cb, &a);
    timer_init_tl(&b, tl, SCALE_NS, count_fire, &b_runs);
    a.victim = &b;
    timer_mod_ns(&a.timer, 10);
    timer_mod_ns(&b, 20);
    qemu_clock_advance_manual(V, 50);
    timerlist_run_timers(tl);

    g_assert_cmpint(a.runs, ==, 1);
    g_assert_cmpint(b_runs, ==, 0);
    g_assert_false(timer_pending(&b));
    g_assert_false(timerlist_has_timers(tl));
    timerlist_free(tl);
}

static void test_cb_mod_other(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    Rearm a = { .next = -1, .victim_to = 500 };
    int b_runs = 0;
    QEMUTimer b;

    timer_init_tl(&a.timer, tl, SCALE_NS, rearm_cb, &a);
    timer_init_tl(&b, tl, SCALE_NS, count_fire, &b_runs);
    a.victim = &b;
    timer_mod_ns(&a.timer, 10);
    timer_mod_ns(&b, 20);
    qemu_clock_advance_manual(V, 50);
    timerlist_run_timers(tl);
    g_assert_cmpint(b_runs, ==, 0);
    g_assert_cmpint(timer_expire_time_ns(&b), ==, 500);

    qemu_clock_advance_manual(V, 449);
    g_assert_false(timerlist_run_timers(tl));
    qemu_clock_advance_manual(V, 1);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(b_runs, ==, 1);
    timerlist_free(tl);
}

static void test_cb_arm_new_in_past(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    Rearm a = { .next = -1, .victim_to = 1 };
    int c_runs = 0;
    QEMUTimer c;

    /* A timer armed during a run waits for the next run. */
    timer_init_tl(&a.timer, tl, SCALE_NS, rearm_cb, &a);
    timer_init_tl(&c, tl, SCALE_NS, count_fire, &c_runs);
    a.victim = &c;
    timer_mod_ns(&a.timer, 10);
    qemu_clock_advance_manual(V, 10);
    timerlist_run_timers(tl);
    g_assert_cmpint(c_runs, ==, 0);
    g_assert_true(timer_pending(&c));
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 0);

    timerlist_run_timers(tl);
    g_assert_cmpint(c_runs, ==, 1);
    timerlist_free(tl);
}

static void del_self_cb(void *opaque)
{
    QEMUTimer *ts = opaque;

    g_assert_false(timer_pending(ts));
    timer_del(ts);
}

static void test_cb_del_self(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    QEMUTimer ts;

    timer_init_tl(&ts, tl, SCALE_NS, del_self_cb, &ts);
    timer_mod_ns(&ts, 5);
    qemu_clock_advance_manual(V, 5);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_false(timer_pending(&ts));
    timerlist_free(tl);
}

/* Advances the manual clock by *opaque ns, then counts itself. */
typedef struct Advance {
    int64_t by;
    int runs;
} Advance;

static void advance_cb(void *opaque)
{
    Advance *a = opaque;

    qemu_clock_advance_manual(V, a->by);
    a->runs++;
}

static void test_cb_advance_clock(void)
{
    QEMUTimerList *tl = manual_list(100, NULL);
    Advance a = { .by = 50 };
    QEMUTimer first, second;
    int second_runs = 0;

    /* "Due" is judged on the clock as read when the run started. */
    timer_init_tl(&first, tl, SCALE_NS, advance_cb, &a);
    timer_init_tl(&second, tl, SCALE_NS, count_fire, &second_runs);
    timer_mod_ns(&first, 100);
    timer_mod_ns(&second, 120);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(a.runs, ==, 1);
    g_assert_cmpint(second_runs, ==, 0);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 0);

    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(second_runs, ==, 1);
    g_assert_false(timerlist_has_timers(tl));
    timerlist_free(tl);
}

/* ---- arming ---- */

static void test_anticipate(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    int runs = 0;
    QEMUTimer ts;

    timer_init_tl(&ts, tl, SCALE_US, count_fire, &runs);
    timer_mod_anticipate(&ts, 50);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 50 * SCALE_US);
    timer_mod_anticipate(&ts, 80);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 50 * SCALE_US);
    timer_mod_anticipate(&ts, 30);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 30 * SCALE_US);
    timer_mod_anticipate_ns(&ts, 40000);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 30000);
    timer_mod_anticipate_ns(&ts, 20000);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 20000);
    timer_mod(&ts, 70);
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, 70 * SCALE_US);
    timer_del(&ts);
    timerlist_free(tl);
}

static void test_scale(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    QEMUTimer ms, us, ns;
    int runs = 0;

    timer_init_tl(&ms, tl, SCALE_MS, count_fire, &runs);
    timer_init_tl(&us, tl, SCALE_US, count_fire, &runs);
    timer_init_tl(&ns, tl, SCALE_NS, count_fire, &runs);
    timer_mod(&ms, 3);
    timer_mod(&us, 3);
    timer_mod(&ns, 3);
    g_assert_cmpint(timer_expire_time_ns(&ms), ==, 3000000);
    g_assert_cmpint(timer_expire_time_ns(&us), ==, 3000);
    g_assert_cmpint(timer_expire_time_ns(&ns), ==, 3);

    /* A deadline too large for ns saturates instead of wrapping. */
    timer_mod(&ms, INT64_MAX / 2);
    g_assert_cmpint(timer_expire_time_ns(&ms), ==, INT64_MAX);
    /* A negative deadline counts as 0. */
    timer_mod_ns(&ns, -5);
    g_assert_cmpint(timer_expire_time_ns(&ns), ==, 0);

    timer_del(&ms);
    timer_del(&us);
    timer_del(&ns);
    timerlist_free(tl);
}

static void test_expired(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    QEMUTimer ts;
    int runs = 0;

    timer_init_tl(&ts, tl, SCALE_MS, count_fire, &runs);
    g_assert_false(timer_expired(&ts, 100));
    timer_mod(&ts, 10);
    g_assert_false(timer_expired(&ts, 9));
    g_assert_true(timer_expired(&ts, 10));
    g_assert_true(timer_expired(&ts, 11));
    g_assert_true(timer_pending(&ts));
    timer_del(&ts);
    g_assert_false(timer_pending(&ts));
    g_assert_false(timer_expired(&ts, 11));
    g_assert_cmpint(timer_expire_time_ns(&ts), ==, -1);
    timerlist_free(tl);
}

/* ---- deadlines and the manual clock ---- */

static void test_deadline(void)
{
    QEMUTimerList *tl = manual_list(1000, NULL);
    QEMUTimer a, b;
    int runs = 0;

    g_assert_cmpint(timerlist_get_clock(tl), ==, V);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, -1);
    g_assert_false(timerlist_has_timers(tl));
    g_assert_false(timerlist_expired(tl));

    timer_init_tl(&a, tl, SCALE_NS, count_fire, &runs);
    timer_init_tl(&b, tl, SCALE_NS, count_fire, &runs);
    timer_mod_ns(&a, 1500);
    timer_mod_ns(&b, 1200);
    g_assert_true(timerlist_has_timers(tl));
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 200);
    timer_del(&b);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 500);

    qemu_clock_advance_manual(V, 600);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 0);
    g_assert_true(timerlist_expired(tl));
    timer_del(&a);
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, -1);
    timerlist_free(tl);
}

static void test_manual_advance(void)
{
    QEMUTimerList *tl = manual_list(5000, NULL);
    QEMUTimer ts;
    int runs = 0;

    g_assert_cmpint(qemu_clock_get_ns(V), ==, 5000);
    timer_init_tl(&ts, tl, SCALE_NS, count_fire, &runs);
    timer_mod_ns(&ts, 6000);

    g_assert_cmpint(qemu_clock_advance_manual(V, 999), ==, 5999);
    g_assert_false(timerlist_run_timers(tl));
    g_assert_cmpint(runs, ==, 0);
    g_assert_cmpint(qemu_clock_advance_manual(V, 1), ==, 6000);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(runs, ==, 1);
    g_assert_false(timerlist_run_timers(tl));
    g_assert_cmpint(runs, ==, 1);

    g_assert_cmpint(qemu_clock_advance_manual(V, 0), ==, 6000);
    g_assert_cmpint(qemu_clock_get_us(V), ==, 6);
    qemu_clock_set_manual(V, 7 * SCALE_MS);
    g_assert_cmpint(qemu_clock_get_ms(V), ==, 7);
    timerlist_free(tl);
}

static void test_manual_realtime_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_clock_set_manual(QEMU_CLOCK_REALTIME, 0);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot be manual*");
}

static void test_manual_host_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_clock_advance_manual(QEMU_CLOCK_HOST, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot be manual*");
}

static void test_advance_not_manual_aborts(void)
{
    if (g_test_subprocess()) {
        /* A fresh process: VIRTUAL_RT still follows REALTIME. */
        qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL_RT, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*not in manual mode*");
}

static void test_real_clocks(void)
{
    int64_t r1 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t r2 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t host_us = qemu_clock_get_us(QEMU_CLOCK_HOST);
    int64_t glib_us = g_get_real_time();

    g_assert_cmpint(r2, >=, r1);
    g_assert_cmpint(r1, >, 0);
    /* HOST is the wall clock: the same second as GLib's idea of it. */
    g_assert_cmpint(llabs(host_us - glib_us), <, 60 * G_USEC_PER_SEC);
    g_assert_cmpint(qemu_clock_get_ms(QEMU_CLOCK_REALTIME), >=,
                    r1 / SCALE_MS);
}

/* ---- notification ---- */

static void test_notify_earliest(void)
{
    Notes notes = { 0 };
    QEMUTimerList *tl = manual_list(0, &notes);
    QEMUTimer a, b;
    int runs = 0;

    notes.count = 0;
    timer_init_tl(&a, tl, SCALE_NS, count_fire, &runs);
    timer_init_tl(&b, tl, SCALE_NS, count_fire, &runs);
    timer_mod_ns(&a, 100);
    g_assert_cmpint(notes.count, ==, 1);
    g_assert_cmpint(notes.last_type, ==, V);
    timer_mod_ns(&b, 200);
    g_assert_cmpint(notes.count, ==, 1);
    timer_mod_ns(&b, 50);
    g_assert_cmpint(notes.count, ==, 2);
    timer_mod_anticipate_ns(&a, 60);
    g_assert_cmpint(notes.count, ==, 2);

    timerlist_notify(tl);
    g_assert_cmpint(notes.count, ==, 3);
    timer_del(&a);
    timer_del(&b);
    timerlist_free(tl);
}

static void test_notify_advance(void)
{
    Notes nv1 = { 0 }, nv2 = { 0 }, nrt = { 0 };
    QEMUTimerList *v1 = manual_list(0, &nv1);
    QEMUTimerList *v2 = timerlist_new(V, note_notify, &nv2);
    QEMUTimerList *rt = timerlist_new(QEMU_CLOCK_REALTIME, note_notify,
                                      &nrt);

    qemu_clock_advance_manual(V, 10);
    g_assert_cmpint(nv1.count, ==, 1);
    g_assert_cmpint(nv2.count, ==, 1);
    g_assert_cmpint(nrt.count, ==, 0);
    qemu_clock_set_manual(V, 0);
    g_assert_cmpint(nv1.count, ==, 2);
    qemu_clock_notify(V);
    g_assert_cmpint(nv2.count, ==, 3);
    g_assert_cmpint(nrt.count, ==, 0);

    timerlist_free(v1);
    timerlist_free(v2);
    timerlist_free(rt);
}

typedef struct ThreadArm {
    QEMUTimer *timer;
    int64_t when;
} ThreadArm;

static void *arm_in_thread(void *opaque)
{
    ThreadArm *arm = opaque;

    timer_mod_ns(arm->timer, arm->when);
    return NULL;
}

static void test_notify_other_thread(void)
{
    Notes notes = { 0 };
    QEMUTimerList *tl = manual_list(0, &notes);
    ThreadArm arm;
    QemuThread thread;
    QEMUTimer ts;
    int runs = 0;

    timer_init_tl(&ts, tl, SCALE_NS, count_fire, &runs);
    arm = (ThreadArm) { .timer = &ts, .when = 300 };
    qemu_thread_create(&thread, "arm", arm_in_thread, &arm,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_join(&thread);

    g_assert_cmpint(qatomic_read(&notes.count), ==, 1);
    g_assert_cmpint(qatomic_read(&notes.thread_id), !=,
                    qemu_get_thread_id());
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, 300);
    qemu_clock_advance_manual(V, 300);
    g_assert_true(timerlist_run_timers(tl));
    g_assert_cmpint(runs, ==, 1);
    timerlist_free(tl);
}

/* ---- groups and the main loop group ---- */

static void test_group(void)
{
    Notes notes = { 0 };
    QEMUTimerListGroup tlg;
    QEMUTimer v, rt;
    int runs = 0;

    qemu_clock_set_manual(V, 0);
    timerlistgroup_init(&tlg, note_notify, &notes);
    for (int i = 0; i < QEMU_CLOCK_MAX; i++) {
        g_assert_nonnull(tlg.tl[i]);
        g_assert_cmpint(timerlist_get_clock(tlg.tl[i]), ==, i);
    }
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, -1);

    timer_init_tl(&rt, tlg.tl[QEMU_CLOCK_REALTIME], SCALE_MS, count_fire,
                  &runs);
    timer_init_tl(&v, tlg.tl[V], SCALE_NS, count_fire, &runs);
    timer_mod(&rt, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 3600 * 1000);
    timer_mod_ns(&v, 400);
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, 400);
    g_assert_cmpint(notes.count, ==, 2);

    qemu_clock_advance_manual(V, 400);
    g_assert_true(timerlistgroup_run_timers(&tlg));
    g_assert_cmpint(runs, ==, 1);
    g_assert_false(timerlistgroup_run_timers(&tlg));
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), >, 0);

    timer_deinit(&rt);
    g_assert_null(rt.timer_list);
    timer_del(&rt);                 /* harmless once deinitialised */
    timerlistgroup_deinit(&tlg);
    g_assert_null(tlg.tl[0]);
}

static void test_group_has_timers(void)
{
    QEMUTimerListGroup tlg;
    QEMUTimer v, host;
    int runs = 0;

    qemu_clock_set_manual(V, 0);
    timerlistgroup_init(&tlg, NULL, NULL);
    g_assert_false(timerlistgroup_has_timers(&tlg));

    timer_init_tl(&host, tlg.tl[QEMU_CLOCK_HOST], SCALE_NS, count_fire,
                  &runs);
    timer_init_tl(&v, tlg.tl[V], SCALE_NS, count_fire, &runs);
    timer_mod_ns(&host, INT64_MAX);     /* pending even at the far end */
    g_assert_true(timerlistgroup_has_timers(&tlg));
    timer_mod_ns(&v, 10);
    timer_del(&host);
    g_assert_true(timerlistgroup_has_timers(&tlg));
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, 10);

    /* Firing the last timer empties the group. */
    qemu_clock_advance_manual(V, 10);
    g_assert_true(timerlistgroup_run_timers(&tlg));
    g_assert_cmpint(runs, ==, 1);
    g_assert_false(timerlistgroup_has_timers(&tlg));
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, -1);
    g_assert_false(timerlistgroup_run_timers(&tlg));
    timerlistgroup_deinit(&tlg);
}

static void test_group_run_all_clocks(void)
{
    QEMUTimerListGroup tlg;
    QEMUTimer ts[QEMU_CLOCK_MAX];
    int runs = 0;

    /* Every clock's due timer runs in one pass, including the real ones. */
    qemu_clock_set_manual(V, 1000);
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL_RT, 1000);
    timerlistgroup_init(&tlg, NULL, NULL);
    for (int i = 0; i < QEMU_CLOCK_MAX; i++) {
        timer_init_tl(&ts[i], tlg.tl[i], SCALE_NS, count_fire, &runs);
        timer_mod_ns(&ts[i], 5);
    }
    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, 0);
    g_assert_true(timerlistgroup_run_timers(&tlg));
    g_assert_cmpint(runs, ==, QEMU_CLOCK_MAX);
    g_assert_false(timerlistgroup_has_timers(&tlg));
    timerlistgroup_deinit(&tlg);
}

static void test_main_loop_group(void)
{
    Notes notes = { 0 };
    QEMUTimer *ms, *us, *ns;
    int runs = 0;

    qemu_clock_set_manual(V, 0);
    qemu_timer_set_main_loop_notify(note_notify, &notes);
    g_assert_true(qemu_clock_get_main_loop_timerlist(V) ==
                  main_loop_tlg.tl[V]);
    g_assert_false(qemu_clock_has_timers(V));

    ms = timer_new_ms(V, count_fire, &runs);
    us = timer_new_us(V, count_fire, &runs);
    ns = timer_new_ns(V, count_fire, &runs);
    g_assert_true(ms->timer_list == main_loop_tlg.tl[V]);
    g_assert_cmpint(ms->scale, ==, SCALE_MS);
    g_assert_cmpint(us->scale, ==, SCALE_US);
    g_assert_cmpint(ns->scale, ==, SCALE_NS);

    timer_mod(ms, 1);
    g_assert_cmpint(notes.count, ==, 1);
    timer_mod(us, 1);
    g_assert_cmpint(notes.count, ==, 2);
    timer_mod(ns, 1);
    g_assert_true(qemu_clock_has_timers(V));
    g_assert_false(qemu_clock_expired(V));

    qemu_clock_advance_manual(V, 1000);
    g_assert_true(qemu_clock_expired(V));
    g_assert_true(qemu_clock_run_timers(V));
    g_assert_cmpint(runs, ==, 2);
    g_assert_cmpint(qemu_clock_deadline_ns_all(V), ==, 999000);

    qemu_clock_advance_manual(V, 999000);
    g_assert_true(qemu_clock_run_all_timers());
    g_assert_cmpint(runs, ==, 3);
    g_assert_false(qemu_clock_run_all_timers());

    timer_mod(ms, 5);
    timer_free(ms);            /* deletes the pending timer first */
    g_assert_false(qemu_clock_has_timers(V));
    timer_free(us);
    timer_free(ns);
    timer_free(NULL);
    qemu_timer_set_main_loop_notify(NULL, NULL);
}

static void test_deadline_all(void)
{
    QEMUTimerList *a = manual_list(0, NULL);
    QEMUTimerList *b = timerlist_new(V, NULL, NULL);
    QEMUTimer ta, tb;
    int runs = 0;

    g_assert_cmpint(qemu_clock_deadline_ns_all(V), ==, -1);
    timer_init_tl(&ta, a, SCALE_NS, count_fire, &runs);
    timer_init_tl(&tb, b, SCALE_NS, count_fire, &runs);
    timer_mod_ns(&ta, 700);
    timer_mod_ns(&tb, 300);
    g_assert_cmpint(qemu_clock_deadline_ns_all(V), ==, 300);
    timer_del(&tb);
    g_assert_cmpint(qemu_clock_deadline_ns_all(V), ==, 700);
    timer_del(&ta);
    timerlist_free(a);
    timerlist_free(b);
}

static void test_timer_new_tl(void)
{
    QEMUTimerList *tl = manual_list(0, NULL);
    int runs = 0;
    QEMUTimer *ts = timer_new_tl(tl, SCALE_US, count_fire, &runs);

    g_assert_true(ts->timer_list == tl);
    g_assert_false(timer_pending(ts));
    timer_mod(ts, 2);
    qemu_clock_advance_manual(V, 2000);
    timerlist_run_timers(tl);
    g_assert_cmpint(runs, ==, 1);
    timer_mod(ts, 10);
    timer_deinit(ts);
    g_assert_false(timerlist_has_timers(tl));
    g_free(ts);
    timerlist_free(tl);
}

static void test_free_with_pending_aborts(void)
{
    if (g_test_subprocess()) {
        QEMUTimerList *tl = timerlist_new(QEMU_CLOCK_REALTIME, NULL, NULL);
        QEMUTimer ts;

        timer_init_tl(&ts, tl, SCALE_NS, NULL, NULL);
        timer_mod_ns(&ts, INT64_MAX);
        timerlist_free(tl);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*still pending*");
}

/* ---- lock-free readers against other threads ---- */

typedef struct Toggle {
    QEMUTimer *timer;
    int rounds;
    bool done;                  /* atomic */
} Toggle;

/* Moves the timer between 50 (earliest) and 200, and deletes it. */
static void *toggle_thread(void *opaque)
{
    Toggle *t = opaque;

    for (int i = 0; i < t->rounds; i++) {
        timer_mod_ns(t->timer, 50);
        timer_mod_ns(t->timer, 200);
        timer_mod_anticipate_ns(t->timer, 50);
        timer_del(t->timer);
    }
    qatomic_set(&t->done, true);
    return NULL;
}

static void test_mt_deadline_vs_mod(void)
{
    QEMUTimerListGroup tlg;
    QEMUTimer fixed, moving;
    QemuThread thread;
    Toggle toggle = { .timer = &moving, .rounds = 20000 };
    int runs = 0;
    long reads = 0;

    /*
     * fixed stays at 100 throughout, so a reader must only ever see the
     * earliest deadline at 50 or 100: never "none", never 200, never a
     * half-updated value.
     */
    qemu_clock_set_manual(V, 0);
    timerlistgroup_init(&tlg, NULL, NULL);
    timer_init_tl(&fixed, tlg.tl[V], SCALE_NS, count_fire, &runs);
    timer_init_tl(&moving, tlg.tl[V], SCALE_NS, count_fire, &runs);
    timer_mod_ns(&fixed, 100);
    qemu_thread_create(&thread, "toggle", toggle_thread, &toggle,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&toggle.done) || reads == 0) {
        int64_t d = timerlist_deadline_ns(tlg.tl[V]);
        int64_t gd = timerlistgroup_deadline_ns(&tlg);

        g_assert_true(d == 50 || d == 100);
        g_assert_true(gd == 50 || gd == 100);
        g_assert_true(timerlistgroup_has_timers(&tlg));
        g_assert_false(timerlist_expired(tlg.tl[V]));
        reads++;
    }
    qemu_thread_join(&thread);

    g_assert_cmpint(timerlistgroup_deadline_ns(&tlg), ==, 100);
    g_assert_false(timerlistgroup_run_timers(&tlg));
    g_assert_cmpint(runs, ==, 0);
    timer_del(&fixed);
    timerlistgroup_deinit(&tlg);
}

/*
 * A minimal event loop in its own thread: it sleeps on a QemuEvent while
 * its group has nothing due, and the group's notify callback sets the
 * event.  Another thread arms an already-due timer, over and over.  A
 * deadline published after (instead of before) the notification, or a
 * notification missed, leaves the loop asleep with a due timer.
 */
typedef struct MiniLoop {
    QEMUTimerListGroup tlg;
    QEMUTimer timer;
    QemuEvent wake;
    QemuSemaphore fired;
    bool stop;                  /* atomic */
} MiniLoop;

static void mini_loop_notify(void *opaque, QEMUClockType type)
{
    MiniLoop *m = opaque;

    qemu_event_set(&m->wake);
}

static void mini_loop_fire(void *opaque)
{
    MiniLoop *m = opaque;

    qemu_sem_post(&m->fired);
}

static void *mini_loop_thread(void *opaque)
{
    MiniLoop *m = opaque;

    while (!qatomic_read(&m->stop)) {
        qemu_event_reset(&m->wake);
        timerlistgroup_run_timers(&m->tlg);
        if (timerlistgroup_deadline_ns(&m->tlg) != 0) {
            qemu_event_wait(&m->wake);
        }
    }
    return NULL;
}

static void test_mt_notify_wakes_loop(void)
{
    enum { N = 3000 };
    MiniLoop m = { 0 };
    QemuThread thread;
    int fired = 0;

    qemu_clock_set_manual(V, 1000);
    qemu_event_init(&m.wake, false);
    qemu_sem_init(&m.fired, 0);
    timerlistgroup_init(&m.tlg, mini_loop_notify, &m);
    timer_init_tl(&m.timer, m.tlg.tl[V], SCALE_NS, mini_loop_fire, &m);
    qemu_thread_create(&thread, "mini-loop", mini_loop_thread, &m,
                       QEMU_THREAD_JOINABLE);

    /* The watchdog only turns a lost wake-up (a hang) into a failure. */
    for (int i = 0; i < N; i++) {
        timer_mod_ns(&m.timer, 500);
        if (qemu_sem_timedwait(&m.fired, 5000) < 0) {
            break;
        }
        fired++;
    }
    qatomic_set(&m.stop, true);
    qemu_event_set(&m.wake);
    qemu_thread_join(&thread);

    g_assert_cmpint(fired, ==, N);
    g_assert_false(timerlistgroup_has_timers(&m.tlg));
    timerlistgroup_deinit(&m.tlg);
    qemu_sem_destroy(&m.fired);
    qemu_event_destroy(&m.wake);
}

/* ---- heap stress ---- */

typedef struct Stress {
    int64_t last;
    int fired;
    QEMUTimer *timers;
    int64_t *want;              /* armed deadline, -1 if deleted */
} Stress;

static Stress *stress_ctx;

static void stress_fire(void *opaque)
{
    int i = GPOINTER_TO_INT(opaque);
    Stress *s = stress_ctx;

    g_assert_cmpint(s->want[i], >=, s->last);
    g_assert_cmpint(s->want[i], <=, qemu_clock_get_ns(V));
    s->last = s->want[i];
    s->want[i] = -1;
    s->fired++;
}

static int64_t min_wanted(Stress *s, int n)
{
    int64_t m = -1;

    for (int i = 0; i < n; i++) {
        if (s->want[i] >= 0 && (m < 0 || s->want[i] < m)) {
            m = s->want[i];
        }
    }
    return m;
}

static void test_heap_stress(void)
{
    enum { N = 100000 };
    QEMUTimerList *tl = manual_list(0, NULL);
    GRand *rand = g_rand_new_with_seed(7);
    Stress s = { .timers = g_new(QEMUTimer, N), .want = g_new(int64_t, N) };
    int pending = 0;

    stress_ctx = &s;
    for (int i = 0; i < N; i++) {
        timer_init_tl(&s.timers[i], tl, SCALE_NS, stress_fire,
                      GINT_TO_POINTER(i));
        s.want[i] = -1;
    }
    for (int round = 0; round < 3 * N; round++) {
        int i = g_rand_int_range(rand, 0, N);
        if (g_rand_int_range(rand, 0, 4) == 0) {
            timer_del(&s.timers[i]);
            s.want[i] = -1;
        } else {
            s.want[i] = g_rand_int_range(rand, 1, 1 << 30);
            timer_mod_ns(&s.timers[i], s.want[i]);
        }
    }
    g_assert_cmpint(timerlist_deadline_ns(tl), ==, min_wanted(&s, N));
    for (int i = 0; i < N; i++) {
        pending += s.want[i] >= 0;
        g_assert_cmpint(timer_expire_time_ns(&s.timers[i]), ==, s.want[i]);
    }

    /* Fire in a few steps, checking order and the next deadline. */
    for (int step = 1; step <= 4; step++) {
        qemu_clock_set_manual(V, (int64_t)step << 28);
        timerlist_run_timers(tl);
        g_assert_cmpint(timerlist_deadline_ns(tl), ==,
                        step == 4 ? -1 :
                        min_wanted(&s, N) - ((int64_t)step << 28));
    }
    g_assert_cmpint(s.fired, ==, pending);
    g_assert_false(timerlist_has_timers(tl));
    g_assert_false(timerlist_run_timers(tl));

    g_rand_free(rand);
    g_free(s.timers);
    g_free(s.want);
    timerlist_free(tl);
}

/* ---- timeout helpers ---- */

static void test_timeout_ns_to_ms(void)
{
    g_assert_cmpint(qemu_timeout_ns_to_ms(-1), ==, -1);
    g_assert_cmpint(qemu_timeout_ns_to_ms(0), ==, 0);
    g_assert_cmpint(qemu_timeout_ns_to_ms(1), ==, 1);
    g_assert_cmpint(qemu_timeout_ns_to_ms(SCALE_MS), ==, 1);
    g_assert_cmpint(qemu_timeout_ns_to_ms(SCALE_MS + 1), ==, 2);
    g_assert_cmpint(qemu_timeout_ns_to_ms(2500 * (int64_t)SCALE_MS), ==,
                    2500);
    g_assert_cmpint(qemu_timeout_ns_to_ms(INT64_MAX), ==, INT_MAX);
}

static void test_soonest_timeout(void)
{
    g_assert_cmpint(qemu_soonest_timeout(-1, -1), ==, -1);
    g_assert_cmpint(qemu_soonest_timeout(-1, 5), ==, 5);
    g_assert_cmpint(qemu_soonest_timeout(5, -1), ==, 5);
    g_assert_cmpint(qemu_soonest_timeout(7, 5), ==, 5);
    g_assert_cmpint(qemu_soonest_timeout(0, 5), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/timer/order/random", test_order_random);
    g_test_add_func("/timer/order/ties", test_order_ties);
    g_test_add_func("/timer/cb/rearm-future", test_cb_rearm_future);
    g_test_add_func("/timer/cb/rearm-past-bounded",
                    test_cb_rearm_past_is_bounded);
    g_test_add_func("/timer/cb/del-other", test_cb_del_other);
    g_test_add_func("/timer/cb/mod-other", test_cb_mod_other);
    g_test_add_func("/timer/cb/arm-new-in-past", test_cb_arm_new_in_past);
    g_test_add_func("/timer/cb/del-self", test_cb_del_self);
    g_test_add_func("/timer/cb/advance-clock", test_cb_advance_clock);
    g_test_add_func("/timer/mod/anticipate", test_anticipate);
    g_test_add_func("/timer/mod/scale", test_scale);
    g_test_add_func("/timer/mod/expired", test_expired);
    g_test_add_func("/timer/list/deadline", test_deadline);
    g_test_add_func("/timer/list/free-pending-aborts",
                    test_free_with_pending_aborts);
    g_test_add_func("/timer/list/timer-new-tl", test_timer_new_tl);
    g_test_add_func("/timer/clock/manual-advance", test_manual_advance);
    g_test_add_func("/timer/clock/manual-realtime-aborts",
                    test_manual_realtime_aborts);
    g_test_add_func("/timer/clock/manual-host-aborts",
                    test_manual_host_aborts);
    g_test_add_func("/timer/clock/advance-not-manual-aborts",
                    test_advance_not_manual_aborts);
    g_test_add_func("/timer/clock/real", test_real_clocks);
    g_test_add_func("/timer/clock/deadline-all", test_deadline_all);
    g_test_add_func("/timer/notify/earliest", test_notify_earliest);
    g_test_add_func("/timer/notify/advance", test_notify_advance);
    g_test_add_func("/timer/notify/other-thread", test_notify_other_thread);
    g_test_add_func("/timer/group/basic", test_group);
    g_test_add_func("/timer/group/has-timers", test_group_has_timers);
    g_test_add_func("/timer/group/run-all-clocks", test_group_run_all_clocks);
    g_test_add_func("/timer/group/main-loop", test_main_loop_group);
    g_test_add_func("/timer/mt/deadline-vs-mod", test_mt_deadline_vs_mod);
    g_test_add_func("/timer/mt/notify-wakes-loop",
                    test_mt_notify_wakes_loop);
    g_test_add_func("/timer/heap/stress", test_heap_stress);
    g_test_add_func("/timer/timeout/ns-to-ms", test_timeout_ns_to_ms);
    g_test_add_func("/timer/timeout/soonest", test_soonest_timeout);
    return g_test_run();
}
