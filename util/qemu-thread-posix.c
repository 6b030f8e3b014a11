/*
 * POSIX implementation of qemu/thread.h.
 *
 * Everything sits on pthread primitives so that ThreadSanitizer, which
 * intercepts pthread, sees every happens-before edge.  QemuEvent keeps a
 * lock-free fast path for the common "already set" case.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/atomic.h"
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

static G_NORETURN void thread_error_exit(int err, const char *call)
{
    fprintf(stderr, "spindle: %s failed: %s\n", call, strerror(err));
    abort();
}

#define CHECK_PTHREAD(call) do {                \
    int err_ = (call);                          \
    if (err_) {                                 \
        thread_error_exit(err_, #call);         \
    }                                           \
} while (0)

/* ---- mutexes ------------------------------------------------------------ */

void qemu_mutex_init(QemuMutex *mutex)
{
    CHECK_PTHREAD(pthread_mutex_init(&mutex->lock, NULL));
    mutex->initialized = true;
}

void qemu_mutex_destroy(QemuMutex *mutex)
{
    assert(mutex->initialized);
    mutex->initialized = false;
    CHECK_PTHREAD(pthread_mutex_destroy(&mutex->lock));
}

void qemu_mutex_lock(QemuMutex *mutex)
{
    assert(mutex->initialized);
    CHECK_PTHREAD(pthread_mutex_lock(&mutex->lock));
}

int qemu_mutex_trylock(QemuMutex *mutex)
{
    int err;

    assert(mutex->initialized);
    err = pthread_mutex_trylock(&mutex->lock);
    if (err == 0) {
        return 0;
    }
    if (err != EBUSY) {
        thread_error_exit(err, "pthread_mutex_trylock");
    }
    return -EBUSY;
}

void qemu_mutex_unlock(QemuMutex *mutex)
{
    assert(mutex->initialized);
    CHECK_PTHREAD(pthread_mutex_unlock(&mutex->lock));
}

void qemu_rec_mutex_init(QemuRecMutex *mutex)
{
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    CHECK_PTHREAD(pthread_mutex_init(&mutex->lock, &attr));
    pthread_mutexattr_destroy(&attr);
    mutex->initialized = true;
}

void qemu_rec_mutex_destroy(QemuRecMutex *mutex)
{
    qemu_mutex_destroy((QemuMutex *)mutex);
}

void qemu_rec_mutex_lock(QemuRecMutex *mutex)
{
    qemu_mutex_lock((QemuMutex *)mutex);
}

int qemu_rec_mutex_trylock(QemuRecMutex *mutex)
{
    return qemu_mutex_trylock((QemuMutex *)mutex);
}

void qemu_rec_mutex_unlock(QemuRecMutex *mutex)
{
    qemu_mutex_unlock((QemuMutex *)mutex);
}

QEMU_BUILD_BUG_ON(offsetof(QemuRecMutex, lock) != offsetof(QemuMutex, lock));
QEMU_BUILD_BUG_ON(sizeof(QemuRecMutex) != sizeof(QemuMutex));

/* ---- condition variables ----------------------------------------------- */

/* Condition variables wait on CLOCK_MONOTONIC so wall-clock jumps don't. */
void qemu_cond_init(QemuCond *cond)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    CHECK_PTHREAD(pthread_cond_init(&cond->cond, &attr));
    pthread_condattr_destroy(&attr);
    cond->initialized = true;
}

void qemu_cond_destroy(QemuCond *cond)
{
    assert(cond->initialized);
    cond->initialized = false;
    CHECK_PTHREAD(pthread_cond_destroy(&cond->cond));
}

void qemu_cond_signal(QemuCond *cond)
{
    CHECK_PTHREAD(pthread_cond_signal(&cond->cond));
}

void qemu_cond_broadcast(QemuCond *cond)
{
    CHECK_PTHREAD(pthread_cond_broadcast(&cond->cond));
}

void qemu_cond_wait(QemuCond *cond, QemuMutex *mutex)
{
    CHECK_PTHREAD(pthread_cond_wait(&cond->cond, &mutex->lock));
}

static struct timespec deadline_in_ms(int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool cond_timedwait_until(pthread_cond_t *cond, pthread_mutex_t *m,
                                 const struct timespec *ts)
{
    int err = pthread_cond_timedwait(cond, m, ts);

    if (err && err != ETIMEDOUT) {
        thread_error_exit(err, "pthread_cond_timedwait");
    }
    return err != ETIMEDOUT;
}

bool qemu_cond_timedwait_until_ns(QemuCond *cond, QemuMutex *mutex,
                                  int64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = deadline_ns / 1000000000LL,
        .tv_nsec = deadline_ns % 1000000000LL,
    };

    return cond_timedwait_until(&cond->cond, &mutex->lock, &ts);
}

bool qemu_cond_timedwait(QemuCond *cond, QemuMutex *mutex, int ms)
{
    struct timespec ts = deadline_in_ms(ms);

    return cond_timedwait_until(&cond->cond, &mutex->lock, &ts);
}

/* ---- semaphores --------------------------------------------------------- */

static void monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    CHECK_PTHREAD(pthread_cond_init(cond, &attr));
    pthread_condattr_destroy(&attr);
}

void qemu_sem_init(QemuSemaphore *sem, int init)
{
    assert(init >= 0);
    CHECK_PTHREAD(pthread_mutex_init(&sem->mutex, NULL));
    monotonic_cond_init(&sem->cond);
    sem->count = init;
    sem->initialized = true;
}

void qemu_sem_destroy(QemuSemaphore *sem)
{
    assert(sem->initialized);
    sem->initialized = false;
    CHECK_PTHREAD(pthread_cond_destroy(&sem->cond));
    CHECK_PTHREAD(pthread_mutex_destroy(&sem->mutex));
}

void qemu_sem_post(QemuSemaphore *sem)
{
    pthread_mutex_lock(&sem->mutex);
    assert(sem->count < UINT_MAX);
    sem->count++;
    pthread_cond_signal(&sem->cond);
    pthread_mutex_unlock(&sem->mutex);
}

void qemu_sem_wait(QemuSemaphore *sem)
{
    pthread_mutex_lock(&sem->mutex);
    while (sem->count == 0) {
        pthread_cond_wait(&sem->cond, &sem->mutex);
    }
    sem->count--;
    pthread_mutex_unlock(&sem->mutex);
}

int qemu_sem_timedwait(QemuSemaphore *sem, int ms)
{
    struct timespec ts = deadline_in_ms(ms);
    int rc = 0;

    pthread_mutex_lock(&sem->mutex);
    while (sem->count == 0) {
        if (!cond_timedwait_until(&sem->cond, &sem->mutex, &ts)) {
            break;
        }
    }
    if (sem->count > 0) {
        sem->count--;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&sem->mutex);
    return rc;
}

/* ---- events ------------------------------------------------------------- */

enum { EV_FREE, EV_SET };

void qemu_event_init(QemuEvent *ev, bool init)
{
    CHECK_PTHREAD(pthread_mutex_init(&ev->mutex, NULL));
    CHECK_PTHREAD(pthread_cond_init(&ev->cond, NULL));
    ev->value = init ? EV_SET : EV_FREE;
    ev->initialized = true;
}

void qemu_event_destroy(QemuEvent *ev)
{
    assert(ev->initialized);
    ev->initialized = false;
    CHECK_PTHREAD(pthread_cond_destroy(&ev->cond));
    CHECK_PTHREAD(pthread_mutex_destroy(&ev->mutex));
}

/*
 * The usual pattern is "reset; check the condition; wait" against "make
 * the condition true; set".  Each side stores one variable and then loads
 * the other's, so a plain load in set could still see the value from
 * before a concurrent reset and return early while the waiter read a stale
 * condition: a lost wakeup.  Hence set and reset both read-modify-write
 * the value (seq_cst): if set's RMW comes first, reset's RMW reads from it
 * and so sees the condition stored before it; otherwise set reads FREE and
 * takes the locked path.  Unlike a bare fence, ThreadSanitizer models this.
 */
void qemu_event_set(QemuEvent *ev)
{
    if (qatomic_fetch_or(&ev->value, 0) == EV_SET) {
        return;
    }
    pthread_mutex_lock(&ev->mutex);
    qatomic_store_release(&ev->value, EV_SET);
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->mutex);
}

void qemu_event_reset(QemuEvent *ev)
{
    pthread_mutex_lock(&ev->mutex);
    qatomic_xchg(&ev->value, EV_FREE);  /* an RMW: see qemu_event_set */
    pthread_mutex_unlock(&ev->mutex);
}

void qemu_event_wait(QemuEvent *ev)
{
    if (qatomic_load_acquire(&ev->value) == EV_SET) {
        return;
    }
    pthread_mutex_lock(&ev->mutex);
    while (qatomic_read(&ev->value) != EV_SET) {
        pthread_cond_wait(&ev->cond, &ev->mutex);
    }
    pthread_mutex_unlock(&ev->mutex);
}

/* ---- threads ------------------------------------------------------------ */

typedef struct ThreadStart {
    void *(*start_routine)(void *);
    void *arg;
    char *name;
} ThreadStart;

static void *thread_trampoline(void *opaque)
{
    ThreadStart *start = opaque;
    void *(*start_routine)(void *) = start->start_routine;
    void *arg = start->arg;

    if (start->name) {
        char short_name[16];

        g_strlcpy(short_name, start->name, sizeof(short_name));
        pthread_setname_np(pthread_self(), short_name);
    }
    g_free(start->name);
    g_free(start);
    return start_routine(arg);
}

void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *),
                        void *arg, int mode)
{
    sigset_t all, old;
    pthread_attr_t attr;
    ThreadStart *start = g_new0(ThreadStart, 1);

    start->start_routine = start_routine;
    start->arg = arg;
    start->name = g_strdup(name);

    CHECK_PTHREAD(pthread_attr_init(&attr));
    if (mode == QEMU_THREAD_DETACHED) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    }
    /* Signals go to the main thread; workers inherit a full mask. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    CHECK_PTHREAD(pthread_create(&thread->thread, &attr,
                                 thread_trampoline, start));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

void *qemu_thread_join(QemuThread *thread)
{
    void *ret = NULL;

    CHECK_PTHREAD(pthread_join(thread->thread, &ret));
    return ret;
}

void qemu_thread_get_self(QemuThread *thread)
{
    thread->thread = pthread_self();
}

bool qemu_thread_is_self(QemuThread *thread)
{
    return pthread_equal(pthread_self(), thread->thread);
}

void qemu_thread_exit(void *retval)
{
    pthread_exit(retval);
}

int qemu_get_thread_id(void)
{
    return (int)syscall(SYS_gettid);
}
