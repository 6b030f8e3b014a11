/*
 * Intrusive lists: the element embeds its link, so insertion and removal
 * never allocate.  Four shapes, each a set of macros over (head, elm, field):
 *
 *   QSLIST    singly linked, insert at head; O(1) head removal.  Has
 *             lock-free variants (QSLIST_INSERT_HEAD_ATOMIC, QSLIST_MOVE_ATOMIC)
 *             so producers on any thread can push while one consumer takes
 *             the whole list at once.
 *   QLIST     doubly linked, insert at head/before/after; O(1) removal of
 *             any element.  QLIST_INSERT_HEAD_RCU publishes a fully linked
 *             element so a concurrent reader walking the list never sees a
 *             half-initialised node.
 *   QSIMPLEQ  singly linked tail queue: O(1) insert at head or tail, FIFO.
 *   QTAILQ    doubly linked tail queue: O(1) insert anywhere, remove any,
 *             walk in both directions.
 *
 * Every _FOREACH_SAFE variant allows the current element to be removed
 * (and freed) inside the loop body.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_QUEUE_H
#define QEMU_QUEUE_H

#include <stddef.h>
#include "qemu/atomic.h"

/* ---- QLIST -------------------------------------------------------------- */

#define QLIST_HEAD(name, type)                                          \
    struct name {                                                       \
        struct type *lh_first;                                          \
    }

#define QLIST_HEAD_INITIALIZER(head) { NULL }

#define QLIST_ENTRY(type)                                               \
    struct {                                                            \
        struct type *le_next;   /* next element */                      \
        struct type **le_prev;  /* address of the pointer to us */      \
    }

#define QLIST_INIT(head) ((head)->lh_first = NULL)
#define QLIST_EMPTY(head) ((head)->lh_first == NULL)
#define QLIST_FIRST(head) ((head)->lh_first)
#define QLIST_NEXT(elm, field) ((elm)->field.le_next)
#define QLIST_IS_INSERTED(elm, field) ((elm)->field.le_prev != NULL)

#define QLIST_INSERT_HEAD(head, elm, field) do {                        \
    if (((elm)->field.le_next = (head)->lh_first) != NULL) {            \
        (head)->lh_first->field.le_prev = &(elm)->field.le_next;        \
    }                                                                   \
    (head)->lh_first = (elm);                                           \
    (elm)->field.le_prev = &(head)->lh_first;                           \
} while (0)

/* Link @elm fully before publishing it with a release store. */
#define QLIST_INSERT_HEAD_RCU(head, elm, field) do {                    \
    (elm)->field.le_prev = &(head)->lh_first;                           \
    (elm)->field.le_next = (head)->lh_first;                            \
    qatomic_rcu_set(&(head)->lh_first, (elm));                          \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                   \
} while (0)

#define QLIST_INSERT_AFTER(listelm, elm, field) do {                    \
    if (((elm)->field.le_next = (listelm)->field.le_next) != NULL) {    \
        (listelm)->field.le_next->field.le_prev = &(elm)->field.le_next;\
    }                                                                   \
    (listelm)->field.le_next = (elm);                                   \
    (elm)->field.le_prev = &(listelm)->field.le_next;                   \
} while (0)

#define QLIST_INSERT_BEFORE(listelm, elm, field) do {                   \
    (elm)->field.le_prev = (listelm)->field.le_prev;                    \
    (elm)->field.le_next = (listelm);                                   \
    *(listelm)->field.le_prev = (elm);                                  \
    (listelm)->field.le_prev = &(elm)->field.le_next;                   \
} while (0)

#define QLIST_REMOVE(elm, field) do {                                   \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;     \
    }                                                                   \
    *(elm)->field.le_prev = (elm)->field.le_next;                       \
    (elm)->field.le_next = NULL;                                        \
    (elm)->field.le_prev = NULL;                                        \
} while (0)

/* Remove @elm only if it is on a list. */
#define QLIST_SAFE_REMOVE(elm, field) do {                              \
    if ((elm)->field.le_prev != NULL) {                                 \
        QLIST_REMOVE(elm, field);                                       \
    }                                                                   \
} while (0)

#define QLIST_FOREACH(var, head, field)                                 \
    for ((var) = (head)->lh_first; (var); (var) = (var)->field.le_next)

#define QLIST_FOREACH_SAFE(var, head, field, next_var)                  \
    for ((var) = (head)->lh_first;                                      \
         (var) && ((next_var) = (var)->field.le_next, 1);               \
         (var) = (next_var))

#define QLIST_FOREACH_RCU(var, head, field)                             \
    for ((var) = qatomic_rcu_read(&(head)->lh_first); (var);            \
         (var) = qatomic_rcu_read(&(var)->field.le_next))

/* ---- QSLIST ------------------------------------------------------------- */

#define QSLIST_HEAD(name, type)                                         \
    struct name {                                                       \
        struct type *slh_first;                                         \
    }

#define QSLIST_HEAD_INITIALIZER(head) { NULL }

#define QSLIST_ENTRY(type)                                              \
    struct {                                                            \
        struct type *sle_next;                                          \
    }

#define QSLIST_INIT(head) ((head)->slh_first = NULL)
#define QSLIST_EMPTY(head) ((head)->slh_first == NULL)
#define QSLIST_FIRST(head) ((head)->slh_first)
#define QSLIST_NEXT(elm, field) ((elm)->field.sle_next)

#define QSLIST_INSERT_HEAD(head, elm, field) do {                       \
    (elm)->field.sle_next = (head)->slh_first;                          \
    (head)->slh_first = (elm);                                          \
} while (0)

/* Lock-free push; safe against other pushers and QSLIST_MOVE_ATOMIC. */
#define QSLIST_INSERT_HEAD_ATOMIC(head, elm, field) do {                \
    __typeof__(elm) save_sle_next_;                                     \
    do {                                                                \
        save_sle_next_ = (elm)->field.sle_next =                        \
            qatomic_read(&(head)->slh_first);                           \
    } while (qatomic_cmpxchg(&(head)->slh_first, save_sle_next_, (elm)) \
             != save_sle_next_);                                        \
} while (0)

/* Atomically take every element of @src into @dest (which is overwritten). */
#define QSLIST_MOVE_ATOMIC(dest, src) do {                              \
    (dest)->slh_first = qatomic_xchg(&(src)->slh_first, NULL);          \
} while (0)

#define QSLIST_INSERT_AFTER(slistelm, elm, field) do {                  \
    (elm)->field.sle_next = (slistelm)->field.sle_next;                 \
    (slistelm)->field.sle_next = (elm);                                 \
} while (0)

#define QSLIST_REMOVE_HEAD(head, field) do {                            \
    __typeof__((head)->slh_first) old_head_ = (head)->slh_first;        \
    (head)->slh_first = old_head_->field.sle_next;                      \
    old_head_->field.sle_next = NULL;                                   \
} while (0)

#define QSLIST_REMOVE_AFTER(slistelm, field) do {                       \
    __typeof__(slistelm) next_ = (slistelm)->field.sle_next;            \
    (slistelm)->field.sle_next = next_->field.sle_next;                 \
    next_->field.sle_next = NULL;                                       \
} while (0)

/* O(n) removal of an arbitrary element. */
#define QSLIST_REMOVE(head, elm, type, field) do {                      \
    if ((head)->slh_first == (elm)) {                                   \
        QSLIST_REMOVE_HEAD((head), field);                              \
    } else {                                                            \
        struct type *curelm_ = (head)->slh_first;                       \
        while (curelm_->field.sle_next != (elm)) {                      \
            curelm_ = curelm_->field.sle_next;                          \
        }                                                               \
        curelm_->field.sle_next = curelm_->field.sle_next->field.sle_next; \
        (elm)->field.sle_next = NULL;                                   \
    }                                                                   \
} while (0)

#define QSLIST_FOREACH(var, head, field)                                \
    for ((var) = (head)->slh_first; (var); (var) = (var)->field.sle_next)

#define QSLIST_FOREACH_SAFE(var, head, field, next_var)                 \
    for ((var) = (head)->slh_first;                                     \
         (var) && ((next_var) = (var)->field.sle_next, 1);              \
         (var) = (next_var))

/* ---- QSIMPLEQ ----------------------------------------------------------- */

#define QSIMPLEQ_HEAD(name, type)                                       \
    struct name {                                                       \
        struct type *sqh_first;                                         \
        struct type **sqh_last;  /* address of the last next pointer */ \
    }

#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }

#define QSIMPLEQ_ENTRY(type)                                            \
    struct {                                                            \
        struct type *sqe_next;                                          \
    }

#define QSIMPLEQ_INIT(head) do {                                        \
    (head)->sqh_first = NULL;                                           \
    (head)->sqh_last = &(head)->sqh_first;                              \
} while (0)

#define QSIMPLEQ_EMPTY(head) ((head)->sqh_first == NULL)
#define QSIMPLEQ_EMPTY_ATOMIC(head) (qatomic_read(&(head)->sqh_first) == NULL)
#define QSIMPLEQ_FIRST(head) ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field) ((elm)->field.sqe_next)

#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                     \
    if (((elm)->field.sqe_next = (head)->sqh_first) == NULL) {          \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    (head)->sqh_first = (elm);                                          \
} while (0)

#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                     \
    (elm)->field.sqe_next = NULL;                                       \
    *(head)->sqh_last = (elm);                                          \
    (head)->sqh_last = &(elm)->field.sqe_next;                          \
} while (0)

#define QSIMPLEQ_INSERT_AFTER(head, listelm, elm, field) do {           \
    if (((elm)->field.sqe_next = (listelm)->field.sqe_next) == NULL) {  \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    (listelm)->field.sqe_next = (elm);                                  \
} while (0)

#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                          \
    __typeof__((head)->sqh_first) elm_ = (head)->sqh_first;             \
    if (((head)->sqh_first = elm_->field.sqe_next) == NULL) {           \
        (head)->sqh_last = &(head)->sqh_first;                          \
    }                                                                   \
    elm_->field.sqe_next = NULL;                                        \
} while (0)

#define QSIMPLEQ_REMOVE(head, elm, type, field) do {                    \
    if ((head)->sqh_first == (elm)) {                                   \
        QSIMPLEQ_REMOVE_HEAD((head), field);                            \
    } else {                                                            \
        struct type *curelm_ = (head)->sqh_first;                       \
        while (curelm_->field.sqe_next != (elm)) {                      \
            curelm_ = curelm_->field.sqe_next;                          \
        }                                                               \
        if ((curelm_->field.sqe_next = (elm)->field.sqe_next) == NULL) {\
            (head)->sqh_last = &curelm_->field.sqe_next;                \
        }                                                               \
        (elm)->field.sqe_next = NULL;                                   \
    }                                                                   \
} while (0)

/* Append all of @head2 to @head1 and leave @head2 empty. */
#define QSIMPLEQ_CONCAT(head1, head2) do {                              \
    if (!QSIMPLEQ_EMPTY((head2))) {                                     \
        *(head1)->sqh_last = (head2)->sqh_first;                        \
        (head1)->sqh_last = (head2)->sqh_last;                          \
        QSIMPLEQ_INIT((head2));                                         \
    }                                                                   \
} while (0)

/* Move the whole of @src into @dest, which must be empty or uninitialised. */
#define QSIMPLEQ_MOVE(dest, src) do {                                   \
    QSIMPLEQ_INIT((dest));                                              \
    QSIMPLEQ_CONCAT((dest), (src));                                     \
} while (0)

#define QSIMPLEQ_FOREACH(var, head, field)                              \
    for ((var) = (head)->sqh_first; (var); (var) = (var)->field.sqe_next)

#define QSIMPLEQ_FOREACH_SAFE(var, head, field, next_var)               \
    for ((var) = (head)->sqh_first;                                     \
         (var) && ((next_var) = (var)->field.sqe_next, 1);              \
         (var) = (next_var))

/* ---- QTAILQ ------------------------------------------------------------- */

/*
 * Each link stores next and the address of the previous element's link, so
 * the head and the elements share one link type and the last element is
 * reachable from the head in O(1).
 */
typedef struct QTailQLink {
    void *tql_next;
    struct QTailQLink *tql_prev;
} QTailQLink;

#define QTAILQ_HEAD(name, type)                                         \
    union name {                                                        \
        struct type *tqh_first;                                         \
        QTailQLink tqh_circ;  /* tql_prev points at the last link */    \
    }

#define QTAILQ_HEAD_INITIALIZER(head) { .tqh_circ = { NULL, &(head).tqh_circ } }

#define QTAILQ_ENTRY(type)                                              \
    union {                                                             \
        struct type *tqe_next;                                          \
        QTailQLink tqe_circ;                                            \
    }

#define QTAILQ_INIT(head) do {                                          \
    (head)->tqh_first = NULL;                                           \
    (head)->tqh_circ.tql_prev = &(head)->tqh_circ;                      \
} while (0)

#define QTAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define QTAILQ_FIRST(head) ((head)->tqh_first)
#define QTAILQ_NEXT(elm, field) ((elm)->field.tqe_next)
#define QTAILQ_IN_USE(elm, field) ((elm)->field.tqe_circ.tql_prev != NULL)

#define QTAILQ_LINK_PREV(link)                                          \
    ((link).tql_prev->tql_prev->tql_next)
#define QTAILQ_LAST(head)                                               \
    ((__typeof__((head)->tqh_first))QTAILQ_LINK_PREV((head)->tqh_circ))
#define QTAILQ_PREV(elm, field)                                         \
    ((__typeof__(elm))QTAILQ_LINK_PREV((elm)->field.tqe_circ))

#define QTAILQ_INSERT_HEAD(head, elm, field) do {                       \
    if (((elm)->field.tqe_next = (head)->tqh_first) != NULL) {          \
        (head)->tqh_first->field.tqe_circ.tql_prev =                    \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    (head)->tqh_first = (elm);                                          \
    (elm)->field.tqe_circ.tql_prev = &(head)->tqh_circ;                 \
} while (0)

#define QTAILQ_INSERT_TAIL(head, elm, field) do {                       \
    (elm)->field.tqe_next = NULL;                                       \
    (elm)->field.tqe_circ.tql_prev = (head)->tqh_circ.tql_prev;         \
    (head)->tqh_circ.tql_prev->tql_next = (elm);                        \
    (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                 \
} while (0)

#define QTAILQ_INSERT_AFTER(head, listelm, elm, field) do {             \
    if (((elm)->field.tqe_next = (listelm)->field.tqe_next) != NULL) {  \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    (listelm)->field.tqe_next = (elm);                                  \
    (elm)->field.tqe_circ.tql_prev = &(listelm)->field.tqe_circ;        \
} while (0)

#define QTAILQ_INSERT_BEFORE(listelm, elm, field) do {                  \
    (elm)->field.tqe_circ.tql_prev = (listelm)->field.tqe_circ.tql_prev;\
    (elm)->field.tqe_next = (listelm);                                  \
    (listelm)->field.tqe_circ.tql_prev->tql_next = (elm);               \
    (listelm)->field.tqe_circ.tql_prev = &(elm)->field.tqe_circ;        \
} while (0)

#define QTAILQ_REMOVE(head, elm, field) do {                            \
    if (((elm)->field.tqe_next) != NULL) {                              \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            (elm)->field.tqe_circ.tql_prev;                             \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = (elm)->field.tqe_circ.tql_prev;     \
    }                                                                   \
    (elm)->field.tqe_circ.tql_prev->tql_next = (elm)->field.tqe_next;   \
    (elm)->field.tqe_circ.tql_prev = NULL;                              \
    (elm)->field.tqe_circ.tql_next = NULL;                              \
} while (0)

#define QTAILQ_FOREACH(var, head, field)                                \
    for ((var) = ((head)->tqh_first); (var); (var) = ((var)->field.tqe_next))

#define QTAILQ_FOREACH_SAFE(var, head, field, next_var)                 \
    for ((var) = ((head)->tqh_first);                                   \
         (var) && ((next_var) = ((var)->field.tqe_next), 1);            \
         (var) = (next_var))

#define QTAILQ_FOREACH_REVERSE(var, head, field)                        \
    for ((var) = QTAILQ_LAST(head); (var); (var) = QTAILQ_PREV(var, field))

#endif /* QEMU_QUEUE_H */
