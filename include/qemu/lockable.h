/*
 * Scope-bound locking.  QEMU_LOCK_GUARD(&m) takes the lock now and releases
 * it when the enclosing scope ends, whatever path leaves it;
 * WITH_QEMU_LOCK_GUARD(&m) { ... } holds it for one block.  Works for
 * QemuMutex, QemuRecMutex and (in coroutines) CoMutex.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_LOCKABLE_H
#define QEMU_LOCKABLE_H

#include "qemu/thread.h"
#include "qemu/coroutine.h"

typedef void QemuLockUnlockFunc(void *);

typedef struct QemuLockable {
    void *object;
    QemuLockUnlockFunc *lock;
    QemuLockUnlockFunc *unlock;
} QemuLockable;

static inline QemuLockable qemu_make_lockable(void *x, QemuLockUnlockFunc *l,
                                              QemuLockUnlockFunc *u)
{
    return (QemuLockable) { .object = x, .lock = l, .unlock = u };
}

#define QEMU_MAKE_LOCKABLE(x)                                              \
    _Generic((x),                                                          \
        QemuMutex *: qemu_make_lockable((x),                               \
                        (QemuLockUnlockFunc *)qemu_mutex_lock,             \
                        (QemuLockUnlockFunc *)qemu_mutex_unlock),          \
        QemuRecMutex *: qemu_make_lockable((x),                            \
                        (QemuLockUnlockFunc *)qemu_rec_mutex_lock,         \
                        (QemuLockUnlockFunc *)qemu_rec_mutex_unlock),      \
        CoMutex *: qemu_make_lockable((x),                                 \
                        (QemuLockUnlockFunc *)qemu_co_mutex_lock,          \
                        (QemuLockUnlockFunc *)qemu_co_mutex_unlock))

static inline void qemu_lockable_lock(QemuLockable *l)
{
    l->lock(l->object);
}

static inline void qemu_lockable_unlock(QemuLockable *l)
{
    l->unlock(l->object);
}

/* Cleanup handler: releases a guard that still holds its lock. */
static inline void qemu_lockable_auto_unlock(QemuLockable **pl)
{
    if (*pl) {
        qemu_lockable_unlock(*pl);
    }
}

static inline QemuLockable *qemu_lockable_auto_lock(QemuLockable *l)
{
    qemu_lockable_lock(l);
    return l;
}

#define QEMU_LOCK_GUARD_(var, x)                                           \
    QemuLockable glue(var, _l) = QEMU_MAKE_LOCKABLE(x);                          \
    __attribute__((cleanup(qemu_lockable_auto_unlock), unused))            \
    QemuLockable *var = qemu_lockable_auto_lock(&glue(var, _l))

#define QEMU_LOCK_GUARD(x) QEMU_LOCK_GUARD_(QEMU_UNIQUE_NAME(qemu_lockable_auto), x)

#define WITH_QEMU_LOCK_GUARD_(var, x)                                      \
    for (QemuLockable glue(var, _l) = QEMU_MAKE_LOCKABLE(x),                     \
         *var __attribute__((cleanup(qemu_lockable_auto_unlock))) =        \
             qemu_lockable_auto_lock(&glue(var, _l));                            \
         var;                                                              \
         qemu_lockable_auto_unlock(&var), var = NULL)

#define WITH_QEMU_LOCK_GUARD(x)                                            \
    WITH_QEMU_LOCK_GUARD_(QEMU_UNIQUE_NAME(qemu_lockable_auto), x)

#endif /* QEMU_LOCKABLE_H */
