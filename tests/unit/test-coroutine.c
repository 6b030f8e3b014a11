/*
 * Tests for qemu/coroutine.h: the coroutine core, the switch backend and
 * the pool.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/thread.h"
#include "block/aio.h"

/* ---- create / enter / yield --------------------------------------------- */

static void coroutine_fn set_flag(void *opaque)
{
    *(bool *)opaque = true;
}

static void test_create_enter(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(set_flag, &done);

    g_assert_nonnull(co);
    g_assert_false(done);           /* creation runs nothing */
    qemu_coroutine_enter(co);
    g_assert_true(done);
}

static void coroutine_fn count_and_yield(void *opaque)
{
    int *count = opaque;

    while (*count < 5) {
        (*count)++;
        qemu_coroutine_yield();
    }
}

static void test_yield(void)
{
    int count = 0;
    Coroutine *co = qemu_coroutine_create(count_and_yield, &count);

    for (int i = 1; i <= 5; i++) {
        qemu_coroutine_enter(co);
        g_assert_cmpint(count, ==, i);   /* one step per entry */
    }
    qemu_coroutine_enter(co);           /* the loop ends: terminates */
    g_assert_cmpint(count, ==, 5);
}

/* ---- self / in_coroutine / entered -------------------------------------- */

typedef struct SelfInfo {
    Coroutine *self;
    bool in_coroutine;
    bool entered;
} SelfInfo;

static void coroutine_fn record_self(void *opaque)
{
    SelfInfo *info = opaque;

    info->self = qemu_coroutine_self();
    info->in_coroutine = qemu_in_coroutine();
    info->entered = qemu_coroutine_entered(info->self);
    qemu_coroutine_yield();
}

static void test_self(void)
{
    SelfInfo info = { 0 };
    Coroutine *co = qemu_coroutine_create(record_self, &info);
    Coroutine *leader = qemu_coroutine_self();

    g_assert_false(qemu_in_coroutine());
    g_assert_nonnull(leader);
    g_assert_true(qemu_coroutine_self() == leader);     /* stable */

    qemu_coroutine_enter(co);
    g_assert_true(info.self == co);
    g_assert_true(info.in_coroutine);
    g_assert_true(info.entered);
    g_assert_true(qemu_coroutine_self() == leader);     /* back outside */
    g_assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(co);
}

static void test_entered(void)
{
    SelfInfo info = { 0 };
    Coroutine *co = qemu_coroutine_create(record_self, &info);

    g_assert_false(qemu_coroutine_entered(co));     /* never entered */
    qemu_coroutine_enter(co);
    g_assert_true(info.entered);                    /* while running */
    g_assert_false(qemu_coroutine_entered(co));     /* suspended */
    qemu_coroutine_enter(co);
}

static void test_get_aio_context(void)
{
    SelfInfo info = { 0 };
    Coroutine *co = qemu_coroutine_create(record_self, &info);
    AioContext *ctx = qemu_get_current_aio_context();

    g_assert_null(qemu_coroutine_get_aio_context(co));
    qemu_aio_coroutine_enter(ctx, co);
    g_assert_true(qemu_coroutine_get_aio_context(co) == ctx);
    qemu_coroutine_enter(co);
}

/* ---- nesting ------------------------------------------------------------ */

typedef struct Nest {
    int depth;              /* coroutines still to create below this one */
    Coroutine *parent;
    GString *log;
} Nest;

static void coroutine_fn nest_entry(void *opaque)
{
    Nest *n = opaque;
    Coroutine *self = qemu_coroutine_self();

    g_assert_true(self->caller == n->parent);
    g_string_append_printf(n->log, "in%d ", n->depth);
    if (n->depth > 0) {
        Nest child = { n->depth - 1, self, n->log };
        Coroutine *co = qemu_coroutine_create(nest_entry, &child);

        qemu_coroutine_enter(co);       /* child yields back here */
        g_assert_true(qemu_coroutine_entered(self));
        g_assert_true(qemu_coroutine_self() == self);
        g_string_append_printf(n->log, "back%d ", n->depth);
        qemu_coroutine_enter(co);       /* child terminates */
        g_assert_true(qemu_coroutine_self() == self);
    }
    qemu_coroutine_yield();
    g_string_append_printf(n->log, "end%d ", n->depth);
}

static void test_nesting(void)
{
    g_autoptr(GString) log = g_string_new("");
    Nest top = { 3, qemu_coroutine_self(), log };
    Coroutine *co = qemu_coroutine_create(nest_entry, &top);

    qemu_coroutine_enter(co);
    g_assert_cmpstr(log->str, ==,
                    "in3 in2 in1 in0 back1 end0 back2 end1 back3 end2 ");
    qemu_coroutine_enter(co);
    g_assert_cmpstr(log->str, ==,
                    "in3 in2 in1 in0 back1 end0 back2 end1 back3 end2 end3 ");
}

/* ---- wake-up list ------------------------------------------------------- */

typedef struct WakeRec {
    GString *log;
    Coroutine *leader;
    Coroutine *b, *c;
} WakeRec;

static void coroutine_fn wake_b(void *opaque)
{
    WakeRec *r = opaque;

    /* Entered by the leader's enter loop, not nested inside A. */
    g_assert_true(qemu_coroutine_self()->caller == r->leader);
    g_string_append(r->log, "B ");
}

static void coroutine_fn wake_c(void *opaque)
{
    WakeRec *r = opaque;

    g_assert_true(qemu_coroutine_self()->caller == r->leader);
    g_string_append(r->log, "C ");
}

static void coroutine_fn wake_a(void *opaque)
{
    WakeRec *r = opaque;
    Coroutine *self = qemu_coroutine_self();

    QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, r->b, co_queue_next);
    QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, r->c, co_queue_next);
    g_string_append(r->log, "A ");
}

static void test_wakeup_list(void)
{
    g_autoptr(GString) log = g_string_new("");
    WakeRec r = { log, qemu_coroutine_self(), NULL, NULL };
    Coroutine *a = qemu_coroutine_create(wake_a, &r);

    r.b = qemu_coroutine_create(wake_b, &r);
    r.c = qemu_coroutine_create(wake_c, &r);
    qemu_coroutine_enter(a);
    g_assert_cmpstr(log->str, ==, "A B C ");
}

static void test_run_restart(void)
{
    g_autoptr(GString) log = g_string_new("");
    WakeRec r = { log, qemu_coroutine_self(), NULL, NULL };
    Coroutine *holder = qemu_coroutine_create(set_flag, NULL);

    r.b = qemu_coroutine_create(wake_b, &r);
    r.c = qemu_coroutine_create(wake_c, &r);
    QSIMPLEQ_INSERT_TAIL(&holder->co_queue_wakeup, r.b, co_queue_next);
    QSIMPLEQ_INSERT_TAIL(&holder->co_queue_wakeup, r.c, co_queue_next);
    qemu_co_queue_run_restart(holder);
    g_assert_cmpstr(log->str, ==, "B C ");
    g_assert_true(QSIMPLEQ_EMPTY(&holder->co_queue_wakeup));

    /* holder was never entered; run it once so it returns to the pool. */
    {
        bool done = false;
        holder->entry_arg = &done;
        qemu_coroutine_enter(holder);
        g_assert_true(done);
    }
}

/* ---- enter_if_inactive -------------------------------------------------- */

static void coroutine_fn inactive_entry(void *opaque)
{
    int *count = opaque;

    (*count)++;
    /* We are active: this must not re-enter us. */
    qemu_coroutine_enter_if_inactive(qemu_coroutine_self());
    qemu_coroutine_yield();
    (*count)++;
}

static void test_enter_if_inactive(void)
{
    int count = 0;
    Coroutine *co = qemu_coroutine_create(inactive_entry, &count);

    qemu_coroutine_enter_if_inactive(co);
    g_assert_cmpint(count, ==, 1);
    qemu_coroutine_enter_if_inactive(co);
    g_assert_cmpint(count, ==, 2);
}

/* ---- many, pool, stack -------------------------------------------------- */

/*
 * ThreadSanitizer gives every coroutine a fiber with megabytes of private
 * state, so a TSan build checks the same thing at a tenth of the scale.
 */
#ifdef QEMU_SANITIZE_THREAD
enum { MANY = 1000 };
#else
enum { MANY = 10000 };
#endif

static void coroutine_fn yield_once(void *opaque)
{
    int *alive = opaque;

    (*alive)++;
    qemu_coroutine_yield();
    (*alive)--;
}

static void test_many(void)
{
    g_autofree Coroutine **cos = g_new(Coroutine *, MANY);
    int alive = 0;

    for (int i = 0; i < MANY; i++) {
        cos[i] = qemu_coroutine_create(yield_once, &alive);
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpint(alive, ==, MANY);
    for (int i = 0; i < MANY; i++) {
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpint(alive, ==, 0);
}

static void test_pool_reuse(void)
{
    bool done = false;
    Coroutine *first = qemu_coroutine_create(set_flag, &done);
    Coroutine *second;

    qemu_coroutine_enter(first);
    second = qemu_coroutine_create(set_flag, &done);
    g_assert_true(second == first);     /* recycled, stack and all */
    done = false;
    qemu_coroutine_enter(second);       /* runs the new entry */
    g_assert_true(done);
}

static void test_pool_size(void)
{
    bool done = false;
    Coroutine *co;

    qemu_coroutine_inc_pool_size(256);
    qemu_coroutine_dec_pool_size(256);
    qemu_coroutine_dec_pool_size(1 << 20);  /* clamps at zero */
    qemu_coroutine_inc_pool_size(1 << 20);
    co = qemu_coroutine_create(set_flag, &done);
    qemu_coroutine_enter(co);
    g_assert_true(done);
}

enum { DEEP = 512 * 1024 };

/* Recurse until @want bytes of stack below @top are in use. */
static QEMU_NOINLINE size_t recurse(uintptr_t top, size_t want)
{
    volatile char pad[512];
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);

    pad[0] = 1;
    if (top - here >= want) {
        return pad[0];
    }
    return recurse(top, want) + pad[0];
}

static void coroutine_fn deep_entry(void *opaque)
{
    size_t *frames = opaque;

    *frames = recurse((uintptr_t)__builtin_frame_address(0), DEEP);
}

static void test_deep_recursion(void)
{
    size_t frames = 0;
    Coroutine *co = qemu_coroutine_create(deep_entry, &frames);

    qemu_coroutine_enter(co);
    g_assert_cmpuint(frames, >=, DEEP / 4096);
}

/* ---- misuse aborts ------------------------------------------------------ */

static void coroutine_fn enter_self(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self());
}

static void test_reenter_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_coroutine_enter(qemu_coroutine_create(enter_self, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot enter*already running*");
}

static void coroutine_fn enter_parent(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

static void coroutine_fn enter_child(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_parent,
                                               qemu_coroutine_self()));
}

static void test_reenter_caller_aborts(void)
{
    /* A suspended-in-nested-enter coroutine is still active. */
    if (g_test_subprocess()) {
        qemu_coroutine_enter(qemu_coroutine_create(enter_child, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot enter*already running*");
}

static void test_enter_terminated_aborts(void)
{
    if (g_test_subprocess()) {
        bool done = false;
        Coroutine *co = qemu_coroutine_create(set_flag, &done);

        qemu_coroutine_enter(co);
        qemu_coroutine_enter(co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot enter*terminated*");
}

static void test_enter_scheduled_aborts(void)
{
    if (g_test_subprocess()) {
        bool done = false;
        Coroutine *co = qemu_coroutine_create(set_flag, &done);

        co->scheduled = "test_scheduler";
        qemu_coroutine_enter(co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cannot enter*scheduled*test_scheduler*");
}

static void test_yield_outside_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_coroutine_yield();
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*outside a coroutine*");
}

/* ---- threads ------------------------------------------------------------ */

typedef struct Hop {
    Coroutine *co;
    int tids[3];
    QemuSemaphore go;
} Hop;

static void coroutine_fn hop_entry(void *opaque)
{
    Hop *h = opaque;

    for (int i = 0; i < 3; i++) {
        g_assert_true(qemu_coroutine_self() == h->co);
        h->tids[i] = qemu_get_thread_id();
        if (i < 2) {
            qemu_coroutine_yield();
        }
    }
}

static void *hop_thread(void *opaque)
{
    Hop *h = opaque;

    qemu_coroutine_enter(h->co);
    g_assert_false(qemu_in_coroutine());
    return NULL;
}

static void test_mt_enter_elsewhere(void)
{
    Hop h = { 0 };
    QemuThread t1, t2;

    h.co = qemu_coroutine_create(hop_entry, &h);    /* created here */
    qemu_thread_create(&t1, "co-hop1", hop_thread, &h, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t1);
    qemu_thread_create(&t2, "co-hop2", hop_thread, &h, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t2);
    qemu_coroutine_enter(h.co);                    /* finishes here */

    g_assert_cmpint(h.tids[0], !=, qemu_get_thread_id());
    g_assert_cmpint(h.tids[1], !=, h.tids[0]);
    g_assert_cmpint(h.tids[2], ==, qemu_get_thread_id());
}

enum { PINGS = 2000 };

typedef struct PingPong {
    Coroutine *co;
    QemuSemaphore turn[2];
    int counter;
    int wrong_self;
} PingPong;

static void coroutine_fn ping_entry(void *opaque)
{
    PingPong *p = opaque;

    for (;;) {
        /* The TLS view must follow the coroutine from thread to thread. */
        if (qemu_coroutine_self() != p->co || !qemu_in_coroutine()) {
            p->wrong_self++;
        }
        if (++p->counter == 2 * PINGS) {
            return;
        }
        qemu_coroutine_yield();
    }
}

static void ping_side(PingPong *p, int me)
{
    for (int i = 0; i < PINGS; i++) {
        qemu_sem_wait(&p->turn[me]);
        qemu_coroutine_enter(p->co);
        qemu_sem_post(&p->turn[!me]);
    }
}

static void *pong_thread(void *opaque)
{
    ping_side(opaque, 1);
    return NULL;
}

static void test_mt_ping_pong(void)
{
    PingPong p = { 0 };
    QemuThread t;

    qemu_sem_init(&p.turn[0], 1);
    qemu_sem_init(&p.turn[1], 0);
    p.co = qemu_coroutine_create(ping_entry, &p);
    qemu_thread_create(&t, "co-pong", pong_thread, &p, QEMU_THREAD_JOINABLE);
    ping_side(&p, 0);
    qemu_thread_join(&t);
    g_assert_cmpint(p.counter, ==, 2 * PINGS);
    g_assert_cmpint(p.wrong_self, ==, 0);
    qemu_sem_destroy(&p.turn[0]);
    qemu_sem_destroy(&p.turn[1]);
}

/*
 * A thread terminating 2 * 64 coroutines fills its own pool and spills one
 * batch to the global pool, where a thread with an empty pool finds it.
 */
enum { SPILL = 128 };

typedef struct Spill {
    Coroutine *cos[SPILL];
    bool done[SPILL];
    Coroutine *got;
} Spill;

static void *spill_thread(void *opaque)
{
    Spill *s = opaque;

    for (int i = 0; i < SPILL; i++) {
        s->cos[i] = qemu_coroutine_create(set_flag, &s->done[i]);
    }
    for (int i = 0; i < SPILL; i++) {
        qemu_coroutine_enter(s->cos[i]);
    }
    return NULL;
}

static void *take_thread(void *opaque)
{
    Spill *s = opaque;
    bool done = false;

    s->got = qemu_coroutine_create(set_flag, &done);    /* empty local pool */
    qemu_coroutine_enter(s->got);
    g_assert_true(done);
    return NULL;
}

static void test_mt_global_pool(void)
{
    Spill s = { 0 };
    QemuThread t;
    bool found = false;

    qemu_thread_create(&t, "co-spill", spill_thread, &s, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t);       /* its local pool was freed at exit */
    qemu_thread_create(&t, "co-take", take_thread, &s, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t);

    for (int i = 0; i < SPILL; i++) {
        found |= s.cos[i] == s.got;
        g_assert_true(s.done[i]);
    }
    g_assert_true(found);       /* the spilled batch was reused */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/coroutine/basic/create-enter", test_create_enter);
    g_test_add_func("/coroutine/basic/yield", test_yield);
    g_test_add_func("/coroutine/basic/self", test_self);
    g_test_add_func("/coroutine/basic/entered", test_entered);
    g_test_add_func("/coroutine/basic/get-aio-context", test_get_aio_context);
    g_test_add_func("/coroutine/basic/nesting", test_nesting);
    g_test_add_func("/coroutine/basic/enter-if-inactive",
                    test_enter_if_inactive);
    g_test_add_func("/coroutine/wakeup/list", test_wakeup_list);
    g_test_add_func("/coroutine/wakeup/run-restart", test_run_restart);
    g_test_add_func("/coroutine/scale/many", test_many);
    g_test_add_func("/coroutine/scale/deep-recursion", test_deep_recursion);
    g_test_add_func("/coroutine/pool/reuse", test_pool_reuse);
    g_test_add_func("/coroutine/pool/size", test_pool_size);
    g_test_add_func("/coroutine/misuse/reenter", test_reenter_aborts);
    g_test_add_func("/coroutine/misuse/reenter-caller",
                    test_reenter_caller_aborts);
    g_test_add_func("/coroutine/misuse/enter-terminated",
                    test_enter_terminated_aborts);
    g_test_add_func("/coroutine/misuse/enter-scheduled",
                    test_enter_scheduled_aborts);
    g_test_add_func("/coroutine/misuse/yield-outside",
                    test_yield_outside_aborts);
    g_test_add_func("/coroutine/mt/enter-elsewhere", test_mt_enter_elsewhere);
    g_test_add_func("/coroutine/mt/ping-pong", test_mt_ping_pong);
    g_test_add_func("/coroutine/mt/global-pool", test_mt_global_pool);
    return g_test_run();
}
