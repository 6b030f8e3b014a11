/*
 * Coroutines: the cost of a switch and of a short-lived coroutine.
 *
 * Rows:
 *   coroutine enter+yield        enter a suspended coroutine, which
 *                                yields straight back (two switches)
 *   coroutine create+enter+term  create a coroutine whose body returns
 *                                at once, enter it, let it terminate;
 *                                the pool is warm (the calibration
 *                                batches fill it), so nothing is
 *                                allocated
 *
 * Peers: GLib and libuv have no coroutines, so the peer is glibc's
 * ucontext, the baseline every C program has: swapcontext there and back
 * for enter+yield; for create+term, makecontext on a preallocated stack
 * (the pooled case) from a context captured once, swapcontext into it,
 * and the return through uc_link.  glibc's swapcontext and setcontext
 * save and restore the signal mask with a system call on every switch,
 * which is most of their cost.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <ucontext.h>
#include "bench.h"
#include "qemu/coroutine.h"

static volatile uint64_t calls;

/* ---- Spindle ---------------------------------------------------------- */

static volatile bool yielder_stop;

static void coroutine_fn yielder(void *opaque)
{
    while (!yielder_stop) {
        calls++;
        qemu_coroutine_yield();
    }
}

static uint64_t spindle_enter_yield(void *opaque, uint64_t n)
{
    Coroutine *co = opaque;
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        qemu_coroutine_enter(co);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void coroutine_fn returner(void *opaque)
{
    calls++;
}

static uint64_t spindle_create(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        Coroutine *co = qemu_coroutine_create(returner, NULL);

        qemu_coroutine_enter(co);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static Coroutine *spindle_setup(void)
{
    Coroutine *co = qemu_coroutine_create(yielder, NULL);

    qemu_coroutine_enter(co);      /* runs to its first yield */
    calls = 0;
    return co;
}

static void spindle_cleanup(Coroutine *co)
{
    yielder_stop = true;
    qemu_coroutine_enter(co);      /* leaves the loop and terminates */
}

/* ---- glibc ucontext --------------------------------------------------- */

#define UC_STACK_SIZE (64 * 1024)

static ucontext_t main_uc, yield_uc, tmpl_uc, run_uc;
static void *yield_stack, *run_stack;

static void uc_yielder(void)
{
    for (;;) {
        calls++;
        swapcontext(&yield_uc, &main_uc);
    }
}

static uint64_t uc_enter_yield(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        swapcontext(&main_uc, &yield_uc);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void uc_returner(void)
{
    calls++;
}

static uint64_t uc_create(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        memcpy(&run_uc, &tmpl_uc, sizeof(run_uc));
        run_uc.uc_stack.ss_sp = run_stack;
        run_uc.uc_stack.ss_size = UC_STACK_SIZE;
        run_uc.uc_link = &main_uc;
        makecontext(&run_uc, uc_returner, 0);
        swapcontext(&main_uc, &run_uc);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void uc_setup(void)
{
    yield_stack = g_malloc(UC_STACK_SIZE);
    run_stack = g_malloc(UC_STACK_SIZE);
    getcontext(&yield_uc);
    yield_uc.uc_stack.ss_sp = yield_stack;
    yield_uc.uc_stack.ss_size = UC_STACK_SIZE;
    yield_uc.uc_link = NULL;
    makecontext(&yield_uc, uc_yielder, 0);
    swapcontext(&main_uc, &yield_uc);  /* runs to its first switch back */
    getcontext(&tmpl_uc);
}

/* ---- rows ------------------------------------------------------------- */

int main(void)
{
    Coroutine *co;

    bench_header("bench-coroutine");
    printf("# peer: glibc ucontext (GLib and libuv have no coroutines)\n");
    co = spindle_setup();
    uc_setup();

    bench_compare("coroutine enter+yield", (BenchImpl[]) {
        { "spindle", spindle_enter_yield, co, 0 },
        { "ucontext swapcontext x2", uc_enter_yield, NULL, 0 },
    }, 2);
    bench_compare("coroutine create+enter+term", (BenchImpl[]) {
        { "spindle pooled", spindle_create, NULL, 0 },
        { "ucontext makecontext+swap", uc_create, NULL, 0 },
    }, 2);

    spindle_cleanup(co);
    g_free(yield_stack);
    g_free(run_stack);
    return 0;
}
