/*
 * Compiler helpers shared by every Spindle source file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#include <stddef.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define QEMU_NORETURN       __attribute__((noreturn))
#define QEMU_PACKED         __attribute__((packed))
#define QEMU_ALIGNED(n)     __attribute__((aligned(n)))
#define QEMU_WARN_UNUSED    __attribute__((warn_unused_result))
#define QEMU_ALWAYS_INLINE  __attribute__((always_inline))
#define QEMU_NOINLINE       __attribute__((noinline))
#define QEMU_PRINTF(f, a)   __attribute__((format(gnu_printf, f, a)))
#define QEMU_SENTINEL       __attribute__((sentinel))
#define QEMU_FALLTHROUGH    __attribute__((fallthrough))

#define QEMU_BUILD_BUG_ON(x) _Static_assert(!(x), "build bug: " #x)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define glue_(a, b) a##b
#define glue(a, b) glue_(a, b)
#define stringify_(s) #s
#define stringify(s) stringify_(s)

/* A name unique per source line, for variables hidden inside macros. */
#define QEMU_UNIQUE_NAME(pfx) glue(pfx, __COUNTER__)

/*
 * Marks a function that may only be called from coroutine context.  It has no
 * effect on code generation; it is documentation the reader can grep for.
 */
#define coroutine_fn
/* May be called from coroutine context or from outside one. */
#define coroutine_mixed_fn

#if defined(__SANITIZE_ADDRESS__)
#define QEMU_SANITIZE_ADDRESS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QEMU_SANITIZE_ADDRESS 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define QEMU_SANITIZE_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QEMU_SANITIZE_THREAD 1
#endif
#endif

#endif /* QEMU_COMPILER_H */
