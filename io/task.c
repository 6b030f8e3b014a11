/*
 * QIOTask: one asynchronous operation and its completion callback.
 *
 * What it does: keeps the source object, the outcome (an Error or a
 * result pointer) and the completion callback together; runs blocking
 * workers in detached threads and hands completion back to a chosen
 * GMainContext through an idle source.
 *
 * What it does not: cancel work, or run several workers per task.
 *
 * Key invariant: after qio_task_run_in_thread() exactly one of two paths
 * completes the task: the idle source (in the context's thread), or
 * qio_task_wait_thread() (in the same thread, which first destroys the
 * idle source).  The worker thread touches the task only before it sets
 * `completed` under `lock`; afterwards only the completing thread does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/task.h"
#include "qapi/error.h"
#include "qemu/thread.h"

/* State shared with the worker thread of qio_task_run_in_thread. */
typedef struct QIOTaskThreadData {
    QIOTaskWorker worker;
    gpointer opaque;
    GDestroyNotify destroy;
    GMainContext *context;      /* referenced; NULL = default */
    GSource *completion;        /* idle source, set by the worker */
    QemuMutex lock;
    QemuCond cond;
    bool completed;             /* worker returned; under lock */
} QIOTaskThreadData;

struct QIOTask {
    Object *source;
    QIOTaskFunc func;
    gpointer opaque;
    GDestroyNotify destroy;
    Error *err;
    gpointer result;
    GDestroyNotify destroy_result;
    QIOTaskThreadData *thread;
};

QIOTask *qio_task_new(Object *source,
                      QIOTaskFunc func,
                      gpointer opaque,
                      GDestroyNotify destroy)
{
    QIOTask *task = g_new0(QIOTask, 1);

    task->source = object_ref(source);
    task->func = func;
    task->opaque = opaque;
    task->destroy = destroy;
    return task;
}

static void thread_data_free(QIOTaskThreadData *data)
{
    if (data->destroy) {
        data->destroy(data->opaque);
    }
    if (data->completion) {
        g_source_unref(data->completion);
    }
    if (data->context) {
        g_main_context_unref(data->context);
    }
    qemu_cond_destroy(&data->cond);
    qemu_mutex_destroy(&data->lock);
    g_free(data);
}

static void task_free(QIOTask *task)
{
    if (task->thread) {
        thread_data_free(task->thread);
    }
    if (task->destroy) {
        task->destroy(task->opaque);
    }
    if (task->destroy_result) {
        task->destroy_result(task->result);
    }
    error_free(task->err);
    object_unref(task->source);
    g_free(task);
}

void qio_task_complete(QIOTask *task)
{
    task->func(task, task->opaque);
    task_free(task);
}

/* Idle callback in the chosen context: the worker has finished. */
static gboolean thread_result(gpointer opaque)
{
    QIOTask *task = opaque;
    QIOTaskThreadData *data = task->thread;

    /* Pairs with the worker's unlock: its writes to the task are seen. */
    qemu_mutex_lock(&data->lock);
    assert(data->completed);
    qemu_mutex_unlock(&data->lock);
    qio_task_complete(task);
    return G_SOURCE_REMOVE;
}

static void *thread_worker(void *opaque)
{
    QIOTask *task = opaque;
    QIOTaskThreadData *data = task->thread;

    data->worker(task, data->opaque);

    qemu_mutex_lock(&data->lock);
    data->completion = g_idle_source_new();
    g_source_set_callback(data->completion, thread_result, task, NULL);
    g_source_attach(data->completion, data->context);
    data->completed = true;
    qemu_cond_broadcast(&data->cond);
    qemu_mutex_unlock(&data->lock);
    return NULL;
}

void qio_task_run_in_thread(QIOTask *task,
                            QIOTaskWorker worker,
                            gpointer opaque,
                            GDestroyNotify destroy,
                            GMainContext *context)
{
    QIOTaskThreadData *data = g_new0(QIOTaskThreadData, 1);
    QemuThread thread;

    data->worker = worker;
    data->opaque = opaque;
    data->destroy = destroy;
    data->context = context ? g_main_context_ref(context) : NULL;
    qemu_mutex_init(&data->lock);
    qemu_cond_init(&data->cond);
    task->thread = data;
    qemu_thread_create(&thread, "io-task-worker", thread_worker, task,
                       QEMU_THREAD_DETACHED);
}

void qio_task_wait_thread(QIOTask *task)
{
    QIOTaskThreadData *data = task->thread;

    assert(data);
    qemu_mutex_lock(&data->lock);
    while (!data->completed) {
        qemu_cond_wait(&data->cond, &data->lock);
    }
    qemu_mutex_unlock(&data->lock);

    g_source_destroy(data->completion);
    g_source_unref(data->completion);
    data->completion = NULL;
    qio_task_complete(task);
}

void qio_task_set_error(QIOTask *task,
                        Error *err)
{
    error_propagate(&task->err, err);
}

bool qio_task_propagate_error(QIOTask *task,
                              Error **errp)
{
    if (task->err) {
        error_propagate(errp, task->err);
        task->err = NULL;
        return true;
    }
    return false;
}

void qio_task_set_result_pointer(QIOTask *task,
                                 gpointer result,
                                 GDestroyNotify notify)
{
    if (task->destroy_result) {
        task->destroy_result(task->result);
    }
    task->result = result;
    task->destroy_result = notify;
}

gpointer qio_task_get_result_pointer(QIOTask *task)
{
    return task->result;
}

Object *qio_task_get_source(QIOTask *task)
{
    return task->source;
}
