/*
 * Threads and blocking synchronisation for code outside coroutines.
 *
 * All primitives are thin wrappers over POSIX threads (so ThreadSanitizer
 * understands them).  Failure of the underlying call is a programming error
 * and aborts with a message naming the call.  None of them may be used to
 * wait inside a coroutine: use CoMutex/CoQueue there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include <pthread.h>
#include <semaphore.h>
#include "qemu/osdep.h"

typedef struct QemuMutex {
    pthread_mutex_t lock;
    bool initialized;
} QemuMutex;

/* A mutex the owning thread may take again; it must release as many times. */
typedef struct QemuRecMutex {
    pthread_mutex_t lock;
    bool initialized;
} QemuRecMutex;

typedef struct QemuCond {
    pthread_cond_t cond;
    bool initialized;
} QemuCond;

typedef struct QemuSemaphore {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned int count;
    bool initialized;
} QemuSemaphore;

/*
 * A manual-reset event: qemu_event_set wakes every waiter and stays set until
 * qemu_event_reset.  qemu_event_set on a set event costs one atomic
 * read-modify-write.  Waiters use "reset; if (!condition) wait;" against
 * the setter's "condition = true; set;", and no wakeup is lost: set and
 * reset order themselves against the caller's accesses around them.
 */
typedef struct QemuEvent {
    unsigned value;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool initialized;
} QemuEvent;

typedef struct QemuThread {
    pthread_t thread;
} QemuThread;

#define QEMU_THREAD_JOINABLE 0
#define QEMU_THREAD_DETACHED 1

void qemu_mutex_init(QemuMutex *mutex);
void qemu_mutex_destroy(QemuMutex *mutex);
void qemu_mutex_lock(QemuMutex *mutex);
/* Returns 0 when the lock was taken, -EBUSY when another thread holds it. */
int qemu_mutex_trylock(QemuMutex *mutex);
void qemu_mutex_unlock(QemuMutex *mutex);

void qemu_rec_mutex_init(QemuRecMutex *mutex);
void qemu_rec_mutex_destroy(QemuRecMutex *mutex);
void qemu_rec_mutex_lock(QemuRecMutex *mutex);
int qemu_rec_mutex_trylock(QemuRecMutex *mutex);
void qemu_rec_mutex_unlock(QemuRecMutex *mutex);

void qemu_cond_init(QemuCond *cond);
void qemu_cond_destroy(QemuCond *cond);
/* Wake one waiter / every waiter.  Callers usually hold the mutex. */
void qemu_cond_signal(QemuCond *cond);
void qemu_cond_broadcast(QemuCond *cond);
/* Atomically release @mutex and wait; @mutex is held again on return. */
void qemu_cond_wait(QemuCond *cond, QemuMutex *mutex);
/* As qemu_cond_wait, for at most @ms milliseconds. Returns false on timeout. */
bool qemu_cond_timedwait(QemuCond *cond, QemuMutex *mutex, int ms);
/*
 * As qemu_cond_wait, until the absolute CLOCK_MONOTONIC time @deadline_ns
 * (QEMU_CLOCK_REALTIME's time base).  Returns false on timeout; like every
 * condition wait it may also return true spuriously.
 */
bool qemu_cond_timedwait_until_ns(QemuCond *cond, QemuMutex *mutex,
                                  int64_t deadline_ns);

void qemu_sem_init(QemuSemaphore *sem, int init);
void qemu_sem_destroy(QemuSemaphore *sem);
void qemu_sem_post(QemuSemaphore *sem);
void qemu_sem_wait(QemuSemaphore *sem);
/* Wait at most @ms milliseconds.  Returns 0 when decremented, -1 on timeout. */
int qemu_sem_timedwait(QemuSemaphore *sem, int ms);

void qemu_event_init(QemuEvent *ev, bool init);
void qemu_event_destroy(QemuEvent *ev);
void qemu_event_set(QemuEvent *ev);
void qemu_event_reset(QemuEvent *ev);
void qemu_event_wait(QemuEvent *ev);

/*
 * Start a thread running @start_routine(@arg).  @name (at most 15 bytes are
 * kept) is shown by debuggers and top.  @mode is QEMU_THREAD_JOINABLE or
 * QEMU_THREAD_DETACHED.  All signals are blocked in the new thread.
 */
void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *),
                        void *arg, int mode);
void *qemu_thread_join(QemuThread *thread);
void qemu_thread_get_self(QemuThread *thread);
bool qemu_thread_is_self(QemuThread *thread);
G_NORETURN void qemu_thread_exit(void *retval);
/* A small integer naming the calling thread (its kernel tid). */
int qemu_get_thread_id(void);

#endif /* QEMU_THREAD_H */
