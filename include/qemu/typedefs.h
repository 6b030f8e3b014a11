/*
 * Forward declarations of the types that cross module boundaries, so that
 * headers can name them without including each other.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_TYPEDEFS_H
#define QEMU_TYPEDEFS_H

typedef struct AioContext AioContext;
typedef struct BlockDriverState BlockDriverState;
typedef struct Coroutine Coroutine;
typedef struct Error Error;
typedef struct EventNotifier EventNotifier;
typedef struct IOThread IOThread;
typedef struct Object Object;
typedef struct ObjectClass ObjectClass;
typedef struct QEMUBH QEMUBH;
typedef struct QEMUIOVector QEMUIOVector;
typedef struct QEMUTimer QEMUTimer;
typedef struct QEMUTimerList QEMUTimerList;
typedef struct QEMUTimerListGroup QEMUTimerListGroup;
typedef struct ThreadPool ThreadPool;
typedef struct HBitmap HBitmap;
typedef struct HBitmapIter HBitmapIter;

#endif /* QEMU_TYPEDEFS_H */
