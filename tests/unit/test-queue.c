/*
 * Tests for qemu/queue.h: every macro of QLIST, QSLIST, QSIMPLEQ and
 * QTAILQ, including the lock-free QSLIST push/take pair under contention.
 *
 * A list's contents are checked by rendering its values as a string
 * ("1 2 3"); the _SAFE loops free what they remove, so ASan catches any
 * access to a removed element.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/thread.h"

typedef struct Node {
    int value;
    QLIST_ENTRY(Node) l;
    QSLIST_ENTRY(Node) sl;
    QSIMPLEQ_ENTRY(Node) sq;
    QTAILQ_ENTRY(Node) tq;
} Node;

typedef QLIST_HEAD(NodeList, Node) NodeList;
typedef QSLIST_HEAD(NodeSList, Node) NodeSList;
typedef QSIMPLEQ_HEAD(NodeSimpleq, Node) NodeSimpleq;
typedef QTAILQ_HEAD(NodeTailq, Node) NodeTailq;

static Node *node_new(int value)
{
    Node *n = g_new0(Node, 1);

    n->value = value;
    return n;
}

/* Nodes 0..count-1 in a zeroed array, value == index. */
static Node *nodes_new(int count)
{
    Node *n = g_new0(Node, count);
    int i;

    for (i = 0; i < count; i++) {
        n[i].value = i;
    }
    return n;
}

static void append_value(GString *s, Node *n)
{
    g_string_append_printf(s, s->len ? " %d" : "%d", n->value);
}

static char *qlist_str(NodeList *h)
{
    GString *s = g_string_new("");
    Node *n;

    QLIST_FOREACH(n, h, l) {
        append_value(s, n);
    }
    return g_string_free(s, false);
}

static char *qslist_str(NodeSList *h)
{
    GString *s = g_string_new("");
    Node *n;

    QSLIST_FOREACH(n, h, sl) {
        append_value(s, n);
    }
    return g_string_free(s, false);
}

static char *qsimpleq_str(NodeSimpleq *h)
{
    GString *s = g_string_new("");
    Node *n;

    QSIMPLEQ_FOREACH(n, h, sq) {
        append_value(s, n);
    }
    return g_string_free(s, false);
}

static char *qtailq_str(NodeTailq *h)
{
    GString *s = g_string_new("");
    Node *n;

    QTAILQ_FOREACH(n, h, tq) {
        append_value(s, n);
    }
    return g_string_free(s, false);
}

static char *qtailq_rev_str(NodeTailq *h)
{
    GString *s = g_string_new("");
    Node *n;

    QTAILQ_FOREACH_REVERSE(n, h, tq) {
        append_value(s, n);
    }
    return g_string_free(s, false);
}

/* Compare a rendered list with @expect, freeing the rendering. */
#define assert_list(str_expr, expect) do {      \
    char *s_ = (str_expr);                      \
    g_assert_cmpstr(s_, ==, (expect));          \
    g_free(s_);                                 \
} while (0)

/* ---- QLIST -------------------------------------------------------------- */

static void test_qlist_insert(void)
{
    NodeList h = QLIST_HEAD_INITIALIZER(h);
    Node *n = nodes_new(6);

    g_assert_true(QLIST_EMPTY(&h));
    g_assert_false(QLIST_IS_INSERTED(&n[1], l));
    QLIST_INSERT_HEAD(&h, &n[3], l);
    QLIST_INSERT_HEAD(&h, &n[1], l);
    QLIST_INSERT_AFTER(&n[1], &n[2], l);
    QLIST_INSERT_AFTER(&n[3], &n[5], l);        /* after the last */
    QLIST_INSERT_BEFORE(&n[5], &n[4], l);
    QLIST_INSERT_BEFORE(&n[1], &n[0], l);       /* before the first */
    assert_list(qlist_str(&h), "0 1 2 3 4 5");
    g_assert_false(QLIST_EMPTY(&h));
    g_assert_true(QLIST_FIRST(&h) == &n[0]);
    g_assert_true(QLIST_NEXT(&n[4], l) == &n[5]);
    g_assert_null(QLIST_NEXT(&n[5], l));
    g_assert_true(QLIST_IS_INSERTED(&n[1], l));
    g_free(n);
}

static void test_qlist_remove(void)
{
    NodeList h;
    Node *n = nodes_new(4);
    int i;

    QLIST_INIT(&h);
    for (i = 3; i >= 0; i--) {
        QLIST_INSERT_HEAD(&h, &n[i], l);
    }
    QLIST_REMOVE(&n[0], l);                     /* first */
    QLIST_REMOVE(&n[2], l);                     /* middle */
    assert_list(qlist_str(&h), "1 3");
    g_assert_false(QLIST_IS_INSERTED(&n[2], l));
    QLIST_REMOVE(&n[3], l);                     /* last */
    assert_list(qlist_str(&h), "1");
    /* SAFE_REMOVE ignores an element that is on no list. */
    QLIST_SAFE_REMOVE(&n[2], l);
    QLIST_SAFE_REMOVE(&n[1], l);
    g_assert_true(QLIST_EMPTY(&h));
    g_assert_false(QLIST_IS_INSERTED(&n[1], l));
    g_free(n);
}

static void test_qlist_foreach_safe(void)
{
    NodeList h = QLIST_HEAD_INITIALIZER(h);
    Node *n, *next;
    int i;

    for (i = 9; i >= 0; i--) {
        n = node_new(i);   /* macros reuse their args */
        QLIST_INSERT_HEAD(&h, n, l);
    }
    QLIST_FOREACH_SAFE(n, &h, l, next) {
        if (n->value % 2 == 0) {
            QLIST_REMOVE(n, l);
            g_free(n);
        }
    }
    assert_list(qlist_str(&h), "1 3 5 7 9");
    QLIST_FOREACH_SAFE(n, &h, l, next) {
        QLIST_REMOVE(n, l);
        g_free(n);
    }
    g_assert_true(QLIST_EMPTY(&h));
}

#define RCU_NODES 2000

typedef struct RcuState {
    NodeList head;
    bool stop;          /* atomic */
} RcuState;

/*
 * Walk the list while it grows at the head.  Nodes are never removed, so
 * every walk must see a well-formed list whose values descend to 0.
 */
static void *rcu_reader_fn(void *opaque)
{
    RcuState *s = opaque;
    long bad = 0;

    while (!qatomic_load_acquire(&s->stop)) {
        Node *n;
        int expect = -1;

        QLIST_FOREACH_RCU(n, &s->head, l) {
            if (expect >= 0 && n->value != expect) {
                bad++;
            }
            expect = n->value - 1;
        }
        if (expect != -1) {
            bad++;      /* the walk ended before node 0 */
        }
    }
    return (void *)bad;
}

static void test_qlist_rcu(void)
{
    RcuState s = { .stop = false };
    Node *n = nodes_new(RCU_NODES);
    QemuThread reader;
    int i;

    QLIST_INIT(&s.head);
    QLIST_INSERT_HEAD_RCU(&s.head, &n[0], l);
    qemu_thread_create(&reader, "rcu-reader", rcu_reader_fn, &s,
                       QEMU_THREAD_JOINABLE);
    for (i = 1; i < RCU_NODES; i++) {
        QLIST_INSERT_HEAD_RCU(&s.head, &n[i], l);
    }
    qatomic_store_release(&s.stop, true);
    g_assert_cmpint((long)qemu_thread_join(&reader), ==, 0);
    /* Back-links are valid too: removal from the middle works. */
    QLIST_REMOVE(&n[5], l);
    g_assert_true(QLIST_NEXT(&n[6], l) == &n[4]);
    g_free(n);
}

/* ---- QSLIST ------------------------------------------------------------- */

static void test_qslist_basic(void)
{
    NodeSList h = QSLIST_HEAD_INITIALIZER(h);
    Node *n = nodes_new(5);

    g_assert_true(QSLIST_EMPTY(&h));
    QSLIST_INSERT_HEAD(&h, &n[3], sl);
    QSLIST_INSERT_HEAD(&h, &n[0], sl);
    QSLIST_INSERT_AFTER(&n[0], &n[1], sl);
    QSLIST_INSERT_AFTER(&n[3], &n[4], sl);      /* after the last */
    QSLIST_INSERT_AFTER(&n[1], &n[2], sl);
    assert_list(qslist_str(&h), "0 1 2 3 4");
    g_assert_true(QSLIST_FIRST(&h) == &n[0]);
    g_assert_true(QSLIST_NEXT(&n[2], sl) == &n[3]);

    QSLIST_REMOVE_HEAD(&h, sl);
    g_assert_null(QSLIST_NEXT(&n[0], sl));      /* unlinked */
    QSLIST_REMOVE_AFTER(&n[1], sl);             /* drops 2 */
    g_assert_null(QSLIST_NEXT(&n[2], sl));
    assert_list(qslist_str(&h), "1 3 4");
    QSLIST_REMOVE(&h, &n[4], Node, sl);         /* last */
    QSLIST_REMOVE(&h, &n[1], Node, sl);         /* head */
    assert_list(qslist_str(&h), "3");
    QSLIST_REMOVE(&h, &n[3], Node, sl);
    g_assert_true(QSLIST_EMPTY(&h));
    QSLIST_INIT(&h);
    g_assert_true(QSLIST_EMPTY(&h));
    g_free(n);
}

static void test_qslist_foreach_safe(void)
{
    NodeSList h;
    Node *n, *next;
    int i;

    QSLIST_INIT(&h);
    for (i = 9; i >= 0; i--) {
        n = node_new(i);   /* macros reuse their args */
        QSLIST_INSERT_HEAD(&h, n, sl);
    }
    QSLIST_FOREACH_SAFE(n, &h, sl, next) {
        if (n->value % 3 == 0) {
            QSLIST_REMOVE(&h, n, Node, sl);
            g_free(n);
        }
    }
    assert_list(qslist_str(&h), "1 2 4 5 7 8");
    QSLIST_FOREACH_SAFE(n, &h, sl, next) {
        g_free(n);
    }
}

#define PUSHERS 4
#define PUSHES 5000

typedef struct PushState {
    NodeSList shared;
    Node *nodes;        /* PUSHERS * PUSHES, value == index */
} PushState;

typedef struct Pusher {
    PushState *s;
    int first;
} Pusher;

static void *pusher_fn(void *opaque)
{
    Pusher *p = opaque;
    int i;

    for (i = 0; i < PUSHES; i++) {
        QSLIST_INSERT_HEAD_ATOMIC(&p->s->shared, &p->s->nodes[p->first + i],
                                  sl);
    }
    return NULL;
}

/* Take everything pushed so far; mark each node seen; return the count. */
static int take_all(PushState *s, guint8 *seen)
{
    NodeSList mine;
    Node *n;
    int count = 0;

    QSLIST_MOVE_ATOMIC(&mine, &s->shared);
    QSLIST_FOREACH(n, &mine, sl) {
        g_assert_cmpint(seen[n->value], ==, 0);
        seen[n->value] = 1;
        count++;
    }
    return count;
}

static void test_qslist_atomic_push_and_move(void)
{
    PushState s = { .nodes = nodes_new(PUSHERS * PUSHES) };
    Pusher p[PUSHERS];
    QemuThread t[PUSHERS];
    g_autofree guint8 *seen = g_malloc0(PUSHERS * PUSHES);
    int i, taken = 0;

    QSLIST_INIT(&s.shared);
    for (i = 0; i < PUSHERS; i++) {
        p[i] = (Pusher) { .s = &s, .first = i * PUSHES };
        qemu_thread_create(&t[i], "pusher", pusher_fn, &p[i],
                           QEMU_THREAD_JOINABLE);
    }
    /* Drain concurrently with the pushers, then once more at the end. */
    while (taken < PUSHERS * PUSHES / 2) {
        taken += take_all(&s, seen);
    }
    for (i = 0; i < PUSHERS; i++) {
        qemu_thread_join(&t[i]);
    }
    taken += take_all(&s, seen);
    g_assert_cmpint(taken, ==, PUSHERS * PUSHES);
    g_assert_true(QSLIST_EMPTY(&s.shared));
    g_free(s.nodes);
}

static void test_qslist_atomic_order(void)
{
    NodeSList src = QSLIST_HEAD_INITIALIZER(src);
    NodeSList dst;
    Node *n = nodes_new(3);

    /* Single-threaded, the atomic push is a push at the head. */
    QSLIST_INSERT_HEAD_ATOMIC(&src, &n[0], sl);
    QSLIST_INSERT_HEAD_ATOMIC(&src, &n[1], sl);
    QSLIST_INSERT_HEAD_ATOMIC(&src, &n[2], sl);
    QSLIST_MOVE_ATOMIC(&dst, &src);
    g_assert_true(QSLIST_EMPTY(&src));
    assert_list(qslist_str(&dst), "2 1 0");
    g_free(n);
}

/* ---- QSIMPLEQ ----------------------------------------------------------- */

static void test_qsimpleq_insert(void)
{
    NodeSimpleq h = QSIMPLEQ_HEAD_INITIALIZER(h);
    Node *n = nodes_new(6);

    g_assert_true(QSIMPLEQ_EMPTY(&h));
    g_assert_true(QSIMPLEQ_EMPTY_ATOMIC(&h));
    QSIMPLEQ_INSERT_TAIL(&h, &n[2], sq);
    QSIMPLEQ_INSERT_HEAD(&h, &n[0], sq);
    QSIMPLEQ_INSERT_AFTER(&h, &n[0], &n[1], sq);
    QSIMPLEQ_INSERT_AFTER(&h, &n[2], &n[3], sq);   /* after the last */
    QSIMPLEQ_INSERT_TAIL(&h, &n[4], sq);           /* must follow 3 */
    assert_list(qsimpleq_str(&h), "0 1 2 3 4");
    g_assert_true(QSIMPLEQ_FIRST(&h) == &n[0]);
    g_assert_true(QSIMPLEQ_NEXT(&n[3], sq) == &n[4]);
    g_assert_false(QSIMPLEQ_EMPTY_ATOMIC(&h));
    g_free(n);
}

static void test_qsimpleq_remove(void)
{
    NodeSimpleq h;
    Node *n = nodes_new(5);
    int i;

    QSIMPLEQ_INIT(&h);
    for (i = 0; i < 5; i++) {
        QSIMPLEQ_INSERT_TAIL(&h, &n[i], sq);
    }
    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    g_assert_null(QSIMPLEQ_NEXT(&n[0], sq));
    QSIMPLEQ_REMOVE(&h, &n[2], Node, sq);          /* middle */
    QSIMPLEQ_REMOVE(&h, &n[4], Node, sq);          /* last */
    QSIMPLEQ_INSERT_TAIL(&h, &n[0], sq);           /* tail pointer moved */
    assert_list(qsimpleq_str(&h), "1 3 0");
    QSIMPLEQ_REMOVE(&h, &n[1], Node, sq);          /* first */
    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    g_assert_true(QSIMPLEQ_EMPTY(&h));
    /* Emptied by REMOVE_HEAD, the queue takes tail inserts again. */
    QSIMPLEQ_INSERT_TAIL(&h, &n[4], sq);
    assert_list(qsimpleq_str(&h), "4");
    g_free(n);
}

static void test_qsimpleq_concat_move(void)
{
    NodeSimpleq a = QSIMPLEQ_HEAD_INITIALIZER(a);
    NodeSimpleq b = QSIMPLEQ_HEAD_INITIALIZER(b);
    NodeSimpleq c;
    Node *n = nodes_new(6);

    QSIMPLEQ_INSERT_TAIL(&a, &n[0], sq);
    QSIMPLEQ_INSERT_TAIL(&a, &n[1], sq);
    QSIMPLEQ_INSERT_TAIL(&b, &n[2], sq);
    QSIMPLEQ_INSERT_TAIL(&b, &n[3], sq);
    QSIMPLEQ_CONCAT(&a, &b);
    assert_list(qsimpleq_str(&a), "0 1 2 3");
    g_assert_true(QSIMPLEQ_EMPTY(&b));
    QSIMPLEQ_INSERT_TAIL(&a, &n[4], sq);           /* tail came along */
    QSIMPLEQ_CONCAT(&a, &b);                       /* empty: no change */
    assert_list(qsimpleq_str(&a), "0 1 2 3 4");
    QSIMPLEQ_CONCAT(&b, &a);                       /* into an empty one */
    assert_list(qsimpleq_str(&b), "0 1 2 3 4");
    g_assert_true(QSIMPLEQ_EMPTY(&a));

    QSIMPLEQ_MOVE(&c, &b);
    g_assert_true(QSIMPLEQ_EMPTY(&b));
    QSIMPLEQ_INSERT_TAIL(&c, &n[5], sq);
    assert_list(qsimpleq_str(&c), "0 1 2 3 4 5");
    QSIMPLEQ_INSERT_TAIL(&b, &n[0], sq);           /* b reusable */
    g_free(n);
}

static void test_qsimpleq_foreach_safe(void)
{
    NodeSimpleq h = QSIMPLEQ_HEAD_INITIALIZER(h);
    Node *n, *next;
    int i;

    for (i = 0; i < 10; i++) {
        n = node_new(i);   /* macros reuse their args */
        QSIMPLEQ_INSERT_TAIL(&h, n, sq);
    }
    QSIMPLEQ_FOREACH_SAFE(n, &h, sq, next) {
        if (n->value < 3 || n->value == 9) {
            QSIMPLEQ_REMOVE(&h, n, Node, sq);
            g_free(n);
        }
    }
    n = node_new(10);
    QSIMPLEQ_INSERT_TAIL(&h, n, sq);    /* tail still valid */
    assert_list(qsimpleq_str(&h), "3 4 5 6 7 8 10");
    while (!QSIMPLEQ_EMPTY(&h)) {
        n = QSIMPLEQ_FIRST(&h);
        QSIMPLEQ_REMOVE_HEAD(&h, sq);
        g_free(n);
    }
}

/* ---- QTAILQ ------------------------------------------------------------- */

static void test_qtailq_insert(void)
{
    NodeTailq h = QTAILQ_HEAD_INITIALIZER(h);
    Node *n = nodes_new(7);

    g_assert_true(QTAILQ_EMPTY(&h));
    g_assert_null(QTAILQ_LAST(&h));
    QTAILQ_INSERT_TAIL(&h, &n[3], tq);
    QTAILQ_INSERT_HEAD(&h, &n[1], tq);
    QTAILQ_INSERT_AFTER(&h, &n[1], &n[2], tq);
    QTAILQ_INSERT_AFTER(&h, &n[3], &n[5], tq);     /* after the last */
    QTAILQ_INSERT_BEFORE(&n[5], &n[4], tq);
    QTAILQ_INSERT_BEFORE(&n[1], &n[0], tq);        /* before the first */
    QTAILQ_INSERT_TAIL(&h, &n[6], tq);             /* must follow 5 */
    assert_list(qtailq_str(&h), "0 1 2 3 4 5 6");
    assert_list(qtailq_rev_str(&h), "6 5 4 3 2 1 0");
    g_assert_true(QTAILQ_FIRST(&h) == &n[0]);
    g_assert_true(QTAILQ_LAST(&h) == &n[6]);
    g_assert_true(QTAILQ_NEXT(&n[2], tq) == &n[3]);
    g_assert_true(QTAILQ_PREV(&n[2], tq) == &n[1]);
    g_assert_null(QTAILQ_PREV(&n[0], tq));
    g_assert_null(QTAILQ_NEXT(&n[6], tq));
    g_assert_true(QTAILQ_IN_USE(&n[4], tq));
    g_free(n);
}

static void test_qtailq_remove(void)
{
    NodeTailq h;
    Node *n = nodes_new(5);
    int i;

    QTAILQ_INIT(&h);
    for (i = 0; i < 5; i++) {
        QTAILQ_INSERT_TAIL(&h, &n[i], tq);
    }
    QTAILQ_REMOVE(&h, &n[4], tq);                  /* last */
    g_assert_true(QTAILQ_LAST(&h) == &n[3]);
    QTAILQ_REMOVE(&h, &n[0], tq);                  /* first */
    g_assert_null(QTAILQ_PREV(&n[1], tq));
    QTAILQ_REMOVE(&h, &n[2], tq);                  /* middle */
    g_assert_false(QTAILQ_IN_USE(&n[2], tq));
    assert_list(qtailq_str(&h), "1 3");
    assert_list(qtailq_rev_str(&h), "3 1");
    QTAILQ_INSERT_TAIL(&h, &n[4], tq);
    assert_list(qtailq_rev_str(&h), "4 3 1");
    QTAILQ_REMOVE(&h, &n[1], tq);
    QTAILQ_REMOVE(&h, &n[3], tq);
    QTAILQ_REMOVE(&h, &n[4], tq);
    g_assert_true(QTAILQ_EMPTY(&h));
    g_assert_null(QTAILQ_LAST(&h));
    assert_list(qtailq_rev_str(&h), "");
    /* An emptied head takes inserts at either end again. */
    QTAILQ_INSERT_HEAD(&h, &n[2], tq);
    g_assert_true(QTAILQ_LAST(&h) == &n[2]);
    g_free(n);
}

static void test_qtailq_foreach_safe(void)
{
    NodeTailq h = QTAILQ_HEAD_INITIALIZER(h);
    Node *n, *next;
    int i;

    for (i = 0; i < 10; i++) {
        n = node_new(i);   /* macros reuse their args */
        QTAILQ_INSERT_TAIL(&h, n, tq);
    }
    QTAILQ_FOREACH_SAFE(n, &h, tq, next) {
        if (n->value % 2 || n->value == 0) {
            QTAILQ_REMOVE(&h, n, tq);
            g_free(n);
        }
    }
    assert_list(qtailq_str(&h), "2 4 6 8");
    assert_list(qtailq_rev_str(&h), "8 6 4 2");
    QTAILQ_FOREACH_SAFE(n, &h, tq, next) {
        QTAILQ_REMOVE(&h, n, tq);
        g_free(n);
    }
    g_assert_true(QTAILQ_EMPTY(&h));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/queue/qlist/insert", test_qlist_insert);
    g_test_add_func("/queue/qlist/remove", test_qlist_remove);
    g_test_add_func("/queue/qlist/foreach-safe", test_qlist_foreach_safe);
    g_test_add_func("/queue/qlist/rcu", test_qlist_rcu);
    g_test_add_func("/queue/qslist/basic", test_qslist_basic);
    g_test_add_func("/queue/qslist/foreach-safe", test_qslist_foreach_safe);
    g_test_add_func("/queue/qslist/atomic-order", test_qslist_atomic_order);
    g_test_add_func("/queue/qslist/atomic-push-move",
                    test_qslist_atomic_push_and_move);
    g_test_add_func("/queue/qsimpleq/insert", test_qsimpleq_insert);
    g_test_add_func("/queue/qsimpleq/remove", test_qsimpleq_remove);
    g_test_add_func("/queue/qsimpleq/concat-move",
                    test_qsimpleq_concat_move);
    g_test_add_func("/queue/qsimpleq/foreach-safe",
                    test_qsimpleq_foreach_safe);
    g_test_add_func("/queue/qtailq/insert", test_qtailq_insert);
    g_test_add_func("/queue/qtailq/remove", test_qtailq_remove);
    g_test_add_func("/queue/qtailq/foreach-safe", test_qtailq_foreach_safe);
    return g_test_run();
}
