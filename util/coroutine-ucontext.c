/*
 * Coroutine context switch with ucontext and sigsetjmp/siglongjmp: the
 * portable fallback for hosts without an assembly backend.
 *
 * makecontext/swapcontext are used exactly once per coroutine, to start
 * the trampoline on the new stack; swapcontext saves and restores the
 * signal mask with a system call, which is too slow for every switch.  The
 * trampoline records its position with sigsetjmp and jumps straight back
 * to qemu_coroutine_new.  From then on every switch is a sigsetjmp in the
 * coroutine being left and a siglongjmp into the other one, both with
 * savemask == 0 (no system call).
 *
 * As in the assembly backends, the trampoline runs the entry function in
 * a loop so a coroutine recycled by the pool reuses its stack and context.
 *
 * Key invariant: thread-local state (the current coroutine) is written only
 * before a switch, never read after one in the same function activation,
 * because a coroutine may resume on a different thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <setjmp.h>
#include <ucontext.h>
#include "qemu/coroutine_int.h"
#include "coroutine-sanitizer.h"

typedef struct CoroutineUContext {
    Coroutine base;
    sigjmp_buf env;         /* where to resume while not running */
    void *stack;            /* lowest usable byte; NULL for a leader */
    size_t stack_size;
    void *fake_stack;       /* ASan's handle while suspended in a switch */
    sigjmp_buf *start_env;  /* qemu_coroutine_new's, during the start */
    CoFiber *start_fiber;   /* the creator's fiber, during the start */
    CoFiber fiber;
} CoroutineUContext;

__thread Coroutine *qemu_co_current
    __attribute__((tls_model("initial-exec")));
/* Stands for the thread's own stack. */
static __thread CoroutineUContext leader
    __attribute__((tls_model("initial-exec")));

/* makecontext passes int arguments only; a pointer travels in two. */
typedef union {
    void *p;
    int i[2];
} PtrArg;

static CoroutineUContext *self_ucontext(void)
{
    return container_of(qemu_coroutine_self(), CoroutineUContext, base);
}

/* First code on the new stack: park here, return to qemu_coroutine_new. */
static void co_trampoline(int i0, int i1)
{
    PtrArg arg = { .i = { i0, i1 } };
    CoroutineUContext *self = arg.p;
    Coroutine *co = &self->base;

    co_fiber_finish_switch(NULL);
    if (!sigsetjmp(self->env, 0)) {
        co_fiber_start_switch(&self->fake_stack, self->start_fiber);
        siglongjmp(*self->start_env, 1);
    }
    /* Entered for real by qemu_coroutine_switch. */
    co_fiber_finish_switch(self->fake_stack);
    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

/* Run @co's trampoline up to its first sigsetjmp and come back. */
static void start_context(CoroutineUContext *co)
{
    CoroutineUContext *creator = self_ucontext();
    ucontext_t old_uc, uc;
    sigjmp_buf start_env;
    PtrArg arg = { .p = co };

    if (getcontext(&uc) < 0) {
        fprintf(stderr, "coroutine: getcontext failed: %s\n",
                strerror(errno));
        abort();
    }
    uc.uc_link = &old_uc;
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))co_trampoline, 2, arg.i[0], arg.i[1]);

    co->start_env = &start_env;
    co->start_fiber = &creator->fiber;
    if (!sigsetjmp(start_env, 0)) {
        co_fiber_start_switch(&creator->fake_stack, &co->fiber);
        swapcontext(&old_uc, &uc);
    }
    co_fiber_finish_switch(creator->fake_stack);
    co->start_env = NULL;
    co->start_fiber = NULL;
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineUContext *co = g_new0(CoroutineUContext, 1);

    co->stack = qemu_coroutine_stack_alloc(&co->stack_size);
    co_fiber_init(&co->fiber, co->stack, co->stack_size);
    QSIMPLEQ_INIT(&co->base.co_queue_wakeup);
    start_context(co);
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineUContext *co = container_of(co_, CoroutineUContext, base);

    co_fiber_destroy(&co->fiber);
    qemu_coroutine_stack_free(co->stack, co->stack_size);
    g_free(co);
}

/* noinline: keeps the TLS store inside one activation per switch. */
QEMU_NOINLINE
CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineUContext *from = container_of(from_, CoroutineUContext, base);
    CoroutineUContext *to = container_of(to_, CoroutineUContext, base);
    int ret;

    qemu_co_current = to_;
    ret = sigsetjmp(from->env, 0);
    if (ret == 0) {
        co_fiber_start_switch(&from->fake_stack, &to->fiber);
        siglongjmp(to->env, action);
    }
    co_fiber_finish_switch(from->fake_stack);
    return ret;
}

Coroutine *qemu_coroutine_leader_init(void)
{
    CoroutineUContext *self = &leader;

    QSIMPLEQ_INIT(&self->base.co_queue_wakeup);
    co_fiber_init_leader(&self->fiber);
    qemu_co_current = &self->base;
    return &self->base;
}
