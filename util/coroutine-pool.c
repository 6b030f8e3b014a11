/*
 * Coroutine stacks and the pool of terminated coroutines.
 *
 * Stacks are anonymous private mappings of COROUTINE_STACK_SIZE (1 MiB)
 * with MAP_NORESERVE, so a coroutine costs only the pages it touches, and a
 * PROT_NONE guard page at the low end turns an overflow into a SIGSEGV
 * instead of silent corruption.
 *
 * Terminated coroutines keep their stack and go to a pool so the next
 * qemu_coroutine_create() costs a list pop:
 *   - each thread has a private free list of at most POOL_BATCH coroutines,
 *     touched without locks or atomics (the hot path);
 *   - when a thread's list is full, the whole list moves as one batch to a
 *     global list of batches under a mutex; a thread whose list is empty
 *     takes a batch back.  This serves the common pattern where coroutines
 *     are created in one thread and terminate in another.  The global list
 *     holds at most global_max coroutines (adjustable with
 *     qemu_coroutine_inc/dec_pool_size); beyond that, coroutines are freed.
 *   - a thread's private list is freed when the thread exits (pthread key
 *     destructor).  The main thread's list lives until the process exits.
 *
 * Not done: trimming idle pools over time; NUMA placement.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/coroutine_int.h"
#include "qemu/thread.h"

#include "config-host.h"
#ifdef CONFIG_ASAN
#include <sanitizer/asan_interface.h>
#endif

enum {
    POOL_BATCH = 64,                /* per-thread capacity and batch size */
    GLOBAL_POOL_DEFAULT = 16 * POOL_BATCH,
};

/* ---- Stacks ------------------------------------------------------------- */

void *qemu_coroutine_stack_alloc(size_t *size)
{
    size_t page = qemu_real_host_page_size();
    size_t usable = QEMU_ALIGN_UP((size_t)COROUTINE_STACK_SIZE, page);
    char *map;

    map = mmap(NULL, usable + page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        fprintf(stderr, "coroutine: cannot map a %zu-byte stack: %s\n",
                usable + page, strerror(errno));
        abort();
    }
    if (mprotect(map, page, PROT_NONE) < 0) {
        fprintf(stderr, "coroutine: cannot protect stack guard page: %s\n",
                strerror(errno));
        abort();
    }
    *size = usable;
    return map + page;
}

void qemu_coroutine_stack_free(void *stack, size_t size)
{
    size_t page = qemu_real_host_page_size();

#ifdef CONFIG_ASAN
    {
        /*
         * The frames still suspended on a terminated coroutine's stack
         * (the backend's trampoline and switch, at the very top) never
         * returned, so their redzones are still poisoned; clear them
         * before the range can be mapped again.  Every deeper frame
         * returned and cleaned up after itself, and unpoisoning the whole
         * megabyte would dirty 128 KiB of shadow per stack.
         */
        size_t top = MIN(size, (size_t)64 * 1024);

        ASAN_UNPOISON_MEMORY_REGION((char *)stack + size - top, top);
    }
#endif
    if (munmap((char *)stack - page, size + page) < 0) {
        fprintf(stderr, "coroutine: cannot unmap stack: %s\n",
                strerror(errno));
        abort();
    }
}

/* ---- Per-thread pool ---------------------------------------------------- */

typedef QSLIST_HEAD(CoPoolList, Coroutine) CoPoolList;

static __thread CoPoolList local_pool;
static __thread unsigned local_pool_size;
static __thread bool local_pool_registered;

/* ---- Global pool: batches of POOL_BATCH, chained by co_scheduled_next --- */

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_key_t pool_key;
static QemuMutex global_lock;
/* Heads of batches; written under global_lock, peeked at atomically. */
static CoPoolList global_batches;
static unsigned global_size;        /* coroutines held; under global_lock */
static unsigned global_max = GLOBAL_POOL_DEFAULT;   /* under global_lock */

static void delete_list(Coroutine *co)
{
    while (co) {
        Coroutine *next = QSLIST_NEXT(co, pool_next);
        qemu_coroutine_delete(co);
        co = next;
    }
}

static void local_pool_release(void *unused)
{
    delete_list(QSLIST_FIRST(&local_pool));
    QSLIST_INIT(&local_pool);
    local_pool_size = 0;
    /* A later destructor may still recycle coroutines: register again. */
    local_pool_registered = false;
}

static void pool_init_once(void)
{
    qemu_mutex_init(&global_lock);
    if (pthread_key_create(&pool_key, local_pool_release) != 0) {
        fprintf(stderr, "coroutine: pthread_key_create failed\n");
        abort();
    }
}

/* First put on a thread: arrange for its pool to be freed at exit. */
static void local_pool_register(void)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_setspecific(pool_key, &local_pool);
    local_pool_registered = true;
}

/* The local list is full: hand it to the global pool, or free it. */
static void local_pool_spill(void)
{
    Coroutine *batch = QSLIST_FIRST(&local_pool);
    bool kept = false;

    qemu_mutex_lock(&global_lock);
    if (global_size + POOL_BATCH <= global_max) {
        QSLIST_NEXT(batch, co_scheduled_next) = QSLIST_FIRST(&global_batches);
        qatomic_set(&QSLIST_FIRST(&global_batches), batch);
        global_size += POOL_BATCH;
        kept = true;
    }
    qemu_mutex_unlock(&global_lock);

    if (!kept) {
        delete_list(batch);
    }
    QSLIST_INIT(&local_pool);
    local_pool_size = 0;
}

/* The local list is empty: try to take a batch from the global pool. */
static bool local_pool_refill(void)
{
    Coroutine *batch;

    if (!qatomic_read(&QSLIST_FIRST(&global_batches))) {
        return false;       /* racy peek; a miss only costs an allocation */
    }
    pthread_once(&pool_once, pool_init_once);
    qemu_mutex_lock(&global_lock);
    batch = QSLIST_FIRST(&global_batches);
    if (batch) {
        qatomic_set(&QSLIST_FIRST(&global_batches),
                    QSLIST_NEXT(batch, co_scheduled_next));
        QSLIST_NEXT(batch, co_scheduled_next) = NULL;
        global_size -= POOL_BATCH;
    }
    qemu_mutex_unlock(&global_lock);

    if (!batch) {
        return false;
    }
    QSLIST_FIRST(&local_pool) = batch;
    local_pool_size = POOL_BATCH;
    if (!local_pool_registered) {
        local_pool_register();
    }
    return true;
}

Coroutine *qemu_coroutine_pool_get(void)
{
    Coroutine *co = QSLIST_FIRST(&local_pool);

    if (unlikely(!co)) {
        if (!local_pool_refill()) {
            return NULL;
        }
        co = QSLIST_FIRST(&local_pool);
    }
    QSLIST_FIRST(&local_pool) = QSLIST_NEXT(co, pool_next);
    QSLIST_NEXT(co, pool_next) = NULL;
    local_pool_size--;
    return co;
}

void qemu_coroutine_pool_put(Coroutine *co)
{
    if (unlikely(local_pool_size == POOL_BATCH)) {
        local_pool_spill();
    }
    if (unlikely(!local_pool_registered)) {
        local_pool_register();
    }
    QSLIST_INSERT_HEAD(&local_pool, co, pool_next);
    local_pool_size++;
}

static void set_global_max(long delta)
{
    Coroutine *excess = NULL;

    pthread_once(&pool_once, pool_init_once);
    qemu_mutex_lock(&global_lock);
    global_max = MAX(0, (long)global_max + delta);
    if (global_size > global_max) {
        /* Drop batches until we fit; free them outside the lock. */
        while (global_size > global_max) {
            Coroutine *batch = QSLIST_FIRST(&global_batches);
            qatomic_set(&QSLIST_FIRST(&global_batches),
                        QSLIST_NEXT(batch, co_scheduled_next));
            QSLIST_NEXT(batch, co_scheduled_next) = excess;
            excess = batch;
            global_size -= POOL_BATCH;
        }
    }
    qemu_mutex_unlock(&global_lock);

    while (excess) {
        Coroutine *next = QSLIST_NEXT(excess, co_scheduled_next);
        QSLIST_NEXT(excess, co_scheduled_next) = NULL;
        delete_list(excess);
        excess = next;
    }
}

void qemu_coroutine_inc_pool_size(unsigned int additional_pool_size)
{
    set_global_max(additional_pool_size);
}

void qemu_coroutine_dec_pool_size(unsigned int removing_pool_size)
{
    set_global_max(-(long)removing_pool_size);
}
