/*
 * Coroutine context switch for AArch64 (AAPCS64), in assembly.
 *
 * The same scheme as coroutine-asm-x86_64.c: co_swap stores the
 * callee-saved state (x19-x28, the frame pointer x29, the link register
 * x30 and the low halves d8-d15 of v8-v15) in a 160-byte block on the
 * running stack, saves sp, loads the other stack's sp and restores its
 * block.  sp stays 16-byte aligned throughout, as the architecture
 * requires.  A new stack gets a block whose x30 is co_start, which calls
 * co_trampoline(co) (x19 = co, x20 = the function); the trampoline runs
 * the entry in a loop so a recycled coroutine reuses its stack.
 *
 * FPCR (rounding mode, flush-to-zero) is not switched, for the reason the
 * x86-64 file gives for MXCSR: a coroutine that changes it must restore it
 * before yielding.  x18 (the platform register) is never touched.
 * Pointer authentication and BTI are compatible: co_swap is only reached
 * by direct branches, co_start only by ret, and C functions sign and check
 * their own return addresses on the same stack they run on.
 *
 * Only compile-checked with a cross compiler and reviewed; it has not run
 * on AArch64 hardware yet.
 *
 * Key invariant: thread-local state (the current coroutine) is written only
 * before a switch, never read after one in the same function activation,
 * because a coroutine may resume on a different thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "coroutine-sanitizer.h"

typedef struct CoroutineAsm {
    Coroutine base;
    void *sp;               /* saved stack pointer while not running */
    void *stack;            /* lowest usable byte; NULL for a leader */
    size_t stack_size;
    CoFiber fiber;
} CoroutineAsm;

__thread Coroutine *qemu_co_current
    __attribute__((tls_model("initial-exec")));
/* Stands for the thread's own stack. */
static __thread CoroutineAsm leader
    __attribute__((tls_model("initial-exec")));

/*
 * co_swap(save_sp, load_sp, action): save the running context and its sp
 * in *save_sp, resume the context saved at load_sp, and make the co_swap
 * call that saved it return @action.
 *
 * co_start: first code on a new stack (reached by co_swap's ret).
 */
CoroutineAction co_swap(void **save_sp, void *load_sp, CoroutineAction action)
    __asm__("spindle_co_swap") __attribute__((visibility("hidden")));
void co_start(void)
    __asm__("spindle_co_start") __attribute__((visibility("hidden")));

/* Layout of the saved block, in bytes from the saved sp. */
#define CO_FRAME_X19    0
#define CO_FRAME_X20    8
#define CO_FRAME_X29    80
#define CO_FRAME_X30    88
#define CO_FRAME_SIZE   160

__asm__(
    ".pushsection .text\n"
    ".globl spindle_co_swap\n"
    ".hidden spindle_co_swap\n"
    ".type spindle_co_swap, %function\n"
    ".p2align 4\n"
    "spindle_co_swap:\n"
    "    sub sp, sp, #160\n"
    "    stp x19, x20, [sp, #0]\n"
    "    stp x21, x22, [sp, #16]\n"
    "    stp x23, x24, [sp, #32]\n"
    "    stp x25, x26, [sp, #48]\n"
    "    stp x27, x28, [sp, #64]\n"
    "    stp x29, x30, [sp, #80]\n"
    "    stp d8, d9, [sp, #96]\n"
    "    stp d10, d11, [sp, #112]\n"
    "    stp d12, d13, [sp, #128]\n"
    "    stp d14, d15, [sp, #144]\n"
    "    mov x3, sp\n"
    "    str x3, [x0]\n"
    "    mov sp, x1\n"
    "    ldp x19, x20, [sp, #0]\n"
    "    ldp x21, x22, [sp, #16]\n"
    "    ldp x23, x24, [sp, #32]\n"
    "    ldp x25, x26, [sp, #48]\n"
    "    ldp x27, x28, [sp, #64]\n"
    "    ldp x29, x30, [sp, #80]\n"
    "    ldp d8, d9, [sp, #96]\n"
    "    ldp d10, d11, [sp, #112]\n"
    "    ldp d12, d13, [sp, #128]\n"
    "    ldp d14, d15, [sp, #144]\n"
    "    add sp, sp, #160\n"
    "    mov w0, w2\n"
    "    ret\n"
    ".size spindle_co_swap, .-spindle_co_swap\n"
    "\n"
    ".globl spindle_co_start\n"
    ".hidden spindle_co_start\n"
    ".type spindle_co_start, %function\n"
    ".p2align 4\n"
    "spindle_co_start:\n"
    "    .cfi_startproc\n"
    "    .cfi_undefined x30\n"      /* backtraces stop here */
    "    mov x0, x19\n"
    "    blr x20\n"
    "    brk #0\n"
    "    .cfi_endproc\n"
    ".size spindle_co_start, .-spindle_co_start\n"
    ".popsection\n");

static void QEMU_NORETURN co_trampoline(CoroutineAsm *self)
{
    Coroutine *co = &self->base;

    co_fiber_finish_switch(NULL);
    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

/* The block co_swap restores on the first switch to @co. */
static void *initial_frame(CoroutineAsm *co)
{
    uintptr_t top = (uintptr_t)co->stack + co->stack_size;
    char *sp = (char *)(QEMU_ALIGN_DOWN(top, 16) - CO_FRAME_SIZE);

    memset(sp, 0, CO_FRAME_SIZE);
    *(uintptr_t *)(sp + CO_FRAME_X19) = (uintptr_t)co;
    *(uintptr_t *)(sp + CO_FRAME_X20) = (uintptr_t)co_trampoline;
    *(uintptr_t *)(sp + CO_FRAME_X29) = 0;      /* end of frame chain */
    *(uintptr_t *)(sp + CO_FRAME_X30) = (uintptr_t)co_start;
    return sp;
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineAsm *co = g_new0(CoroutineAsm, 1);

    co->stack = qemu_coroutine_stack_alloc(&co->stack_size);
    co->sp = initial_frame(co);
    co_fiber_init(&co->fiber, co->stack, co->stack_size);
    QSIMPLEQ_INIT(&co->base.co_queue_wakeup);
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineAsm *co = container_of(co_, CoroutineAsm, base);

    co_fiber_destroy(&co->fiber);
    qemu_coroutine_stack_free(co->stack, co->stack_size);
    g_free(co);
}

/* noinline: keeps the TLS store inside one activation per switch. */
QEMU_NOINLINE
CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineAsm *from = container_of(from_, CoroutineAsm, base);
    CoroutineAsm *to = container_of(to_, CoroutineAsm, base);
    void *fake_stack = NULL;
    CoroutineAction ret;

    qemu_co_current = to_;
    co_fiber_start_switch(&fake_stack, &to->fiber);
    ret = co_swap(&from->sp, to->sp, action);
    co_fiber_finish_switch(fake_stack);
    return ret;
}

Coroutine *qemu_coroutine_leader_init(void)
{
    CoroutineAsm *self = &leader;

    QSIMPLEQ_INIT(&self->base.co_queue_wakeup);
    co_fiber_init_leader(&self->fiber);
    qemu_co_current = &self->base;
    return &self->base;
}
