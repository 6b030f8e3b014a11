/*
 * Telling the sanitizers about coroutine stack switches (private to the
 * coroutine switch backends).
 *
 * AddressSanitizer must know which stack is live, or it reports false
 * stack overflows and use-after-return; ThreadSanitizer keeps a shadow call
 * stack and a vector clock per "fiber" and must be told when the fiber
 * changes.  Both hooks compile to nothing in ordinary builds.
 *
 * Usage in a backend, around every switch:
 *     void *fake = NULL;
 *     co_fiber_start_switch(&fake, &to->fiber);
 *     ... swap stacks ...
 *     co_fiber_finish_switch(fake);
 * and co_fiber_finish_switch(NULL) as the first thing a new stack runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef UTIL_COROUTINE_SANITIZER_H
#define UTIL_COROUTINE_SANITIZER_H

#include "qemu/osdep.h"
#include "config-host.h"

#ifdef CONFIG_ASAN
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CONFIG_TSAN
#include <sanitizer/tsan_interface.h>
#endif

typedef struct CoFiber {
#ifdef CONFIG_ASAN
    const void *stack_bottom;   /* lowest address of the stack */
    size_t stack_size;
#endif
#ifdef CONFIG_TSAN
    void *tsan_fiber;
#endif
    char unused;                /* keep the struct non-empty */
} CoFiber;

/* A coroutine's fiber, for the stack [@stack, @stack + @size). */
static inline void co_fiber_init(CoFiber *f, void *stack, size_t size)
{
#ifdef CONFIG_ASAN
    f->stack_bottom = stack;
    f->stack_size = size;
#endif
#ifdef CONFIG_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
}

/* The fiber of the calling thread's own stack. */
static inline void co_fiber_init_leader(CoFiber *f)
{
#ifdef CONFIG_ASAN
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;

    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
    }
    f->stack_bottom = addr;
    f->stack_size = size;
#endif
#ifdef CONFIG_TSAN
    f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* Forget a coroutine's fiber (not a leader's). */
static inline void co_fiber_destroy(CoFiber *f)
{
#ifdef CONFIG_TSAN
    __tsan_destroy_fiber(f->tsan_fiber);
#endif
}

/*
 * About to leave the running stack for @to's.  *@fake_stack receives
 * ASan's fake-stack handle of the stack being left, to give back to
 * co_fiber_finish_switch() when it runs again; it must live on that stack.
 */
static inline void co_fiber_start_switch(void **fake_stack, CoFiber *to)
{
#ifdef CONFIG_ASAN
    __sanitizer_start_switch_fiber(fake_stack, to->stack_bottom,
                                   to->stack_size);
#endif
#ifdef CONFIG_TSAN
    /* 0: the switch orders everything before it with what follows. */
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
}

/* Back on a stack: @fake_stack is what co_fiber_start_switch saved. */
static inline void co_fiber_finish_switch(void *fake_stack)
{
#ifdef CONFIG_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, NULL, NULL);
#endif
}

#endif /* UTIL_COROUTINE_SANITIZER_H */
