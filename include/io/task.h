/*
 * QIOTask: a small object that carries one asynchronous operation from
 * start to its completion callback, for code that runs on GLib main
 * loops (connect, listen, TLS handshake, ...).
 *
 * Life cycle: qio_task_new() records the source object (referenced), the
 * completion callback and its data.  The operation then either completes
 * from event-loop callbacks that end with qio_task_complete(), or runs a
 * blocking worker in a background thread with qio_task_run_in_thread(),
 * after which the completion is delivered from an idle source in the
 * GMainContext the caller chose.  The completion callback learns the
 * outcome with qio_task_propagate_error() and
 * qio_task_get_result_pointer(); the task is freed when it returns.
 *
 * Threads: a task is used by one thread at a time.  During
 * qio_task_run_in_thread the worker thread owns it until the worker
 * returns; then ownership moves back to the thread running @context.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_TASK_H
#define QIO_TASK_H

#include "qemu/osdep.h"
#include "qom/object.h"

typedef struct QIOTask QIOTask;

/*
 * Completion callback: called once, in the thread that completes the
 * task; the task is freed right after it returns.
 */
typedef void (*QIOTaskFunc)(QIOTask *task,
                            gpointer opaque);

/*
 * Worker of qio_task_run_in_thread: runs in a background thread and may
 * block; records its outcome with qio_task_set_error() and/or
 * qio_task_set_result_pointer().
 */
typedef void (*QIOTaskWorker)(QIOTask *task,
                              gpointer opaque);

/*
 * qio_task_new: a task whose completion will call @func(task, @opaque).
 * @source (may be NULL) is the object performing the operation; the task
 * holds a reference to it until freed.  @destroy (may be NULL) frees
 * @opaque when the task is freed.  Any thread.
 */
QIOTask *qio_task_new(Object *source,
                      QIOTaskFunc func,
                      gpointer opaque,
                      GDestroyNotify destroy);

/*
 * qio_task_run_in_thread: run @worker(task, @opaque) in a new detached
 * thread, then complete the task (call its QIOTaskFunc and free it) from
 * an idle source attached to @context (NULL = the default GMainContext);
 * someone must run that context.  @destroy (may be NULL) frees @opaque
 * once the worker has returned.  The caller must not touch @task after
 * this call, except through qio_task_wait_thread.
 */
void qio_task_run_in_thread(QIOTask *task,
                            QIOTaskWorker worker,
                            gpointer opaque,
                            GDestroyNotify destroy,
                            GMainContext *context);

/*
 * qio_task_wait_thread: for a task given to qio_task_run_in_thread, wait
 * until the worker has returned and complete the task at once in the
 * calling thread (the idle source is then cancelled), instead of waiting
 * for @context to run it.  Must be called from the thread that would run
 * @context, before the completion has been delivered.
 */
void qio_task_wait_thread(QIOTask *task);

/*
 * qio_task_complete: call the completion callback and free the task
 * (dropping the source reference and any result pointer).  For tasks
 * completed from event-loop callbacks; the owning thread.
 */
void qio_task_complete(QIOTask *task);

/*
 * qio_task_set_error: record @err (ownership passes to the task) as the
 * outcome.  When an error is already recorded, the first one is kept and
 * @err is freed.  @err may be NULL (no effect).
 */
void qio_task_set_error(QIOTask *task,
                        Error *err);

/*
 * qio_task_propagate_error: move the recorded error, if any, to @errp.
 * Returns true when there was one (the task then holds none), false
 * otherwise.  Normally called from the completion callback.
 */
bool qio_task_propagate_error(QIOTask *task,
                              Error **errp);

/*
 * qio_task_set_result_pointer: record @result as the outcome; @notify (may
 * be NULL) frees it when the task is freed or another result replaces it.
 */
void qio_task_set_result_pointer(QIOTask *task,
                                 gpointer result,
                                 GDestroyNotify notify);

/*
 * qio_task_get_result_pointer: the recorded result, or NULL; still owned
 * by the task.
 */
gpointer qio_task_get_result_pointer(QIOTask *task);

/*
 * qio_task_get_source: the object given to qio_task_new, without a new
 * reference (take one with object_ref to keep it beyond the task).
 */
Object *qio_task_get_source(QIOTask *task);

#endif /* QIO_TASK_H */
