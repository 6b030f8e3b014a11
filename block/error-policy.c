/*
 * What a failed request does: the node's on_read_error/on_write_error
 * policy and its I/O status.
 *
 *   report   the error reaches the caller (the default)
 *   ignore   the request completes as if it had succeeded
 *   enospc   stop on -ENOSPC, report anything else
 *   stop     stop on any error
 *
 * Reads use on_read_error; writes, zero writes, flushes and discards use
 * on_write_error, as QEMU's devices apply werror= to all three.
 *
 * A stopped request records the failure in the I/O status (when enabled),
 * leaves the node's in-flight count, so that drains and the user's
 * recovery are not blocked by it, and waits in bs->stopped_reqs.  When
 * the user resets the status (bdrv_iostatus_reset) or resumes
 * (bdrv_resume_stopped), every stopped request is retried from the top
 * of the tracked part of the request path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "util/trace.h"

void bdrv_set_on_error(BlockDriverState *bs, BlockErrorAction on_read_error,
                       BlockErrorAction on_write_error)
{
    bs->on_read_error = on_read_error;
    bs->on_write_error = on_write_error;
}

BlockErrorAction bdrv_get_on_error(BlockDriverState *bs, bool is_read)
{
    return is_read ? bs->on_read_error : bs->on_write_error;
}

int bdrv_parse_error_action(const char *name, bool is_read)
{
    if (!strcmp(name, "report")) {
        return BLOCK_ERR_REPORT;
    } else if (!strcmp(name, "ignore")) {
        return BLOCK_ERR_IGNORE;
    } else if (!strcmp(name, "enospc")) {
        return BLOCK_ERR_STOP_ENOSPC;
    } else if (!strcmp(name, "stop")) {
        return BLOCK_ERR_STOP_ANY;
    }
    return -1;
}

void bdrv_iostatus_enable(BlockDriverState *bs)
{
    bs->iostatus_enabled = true;
    bs->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
}

bool bdrv_iostatus_is_enabled(const BlockDriverState *bs)
{
    return bs->iostatus_enabled;
}

BlockDeviceIoStatus bdrv_iostatus(const BlockDriverState *bs)
{
    return bs->iostatus;
}

void bdrv_resume_stopped(BlockDriverState *bs)
{
    trace_bdrv_error_resume(bs);
    qemu_co_queue_restart_all(&bs->stopped_reqs);
}

void bdrv_iostatus_reset(BlockDriverState *bs)
{
    bs->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    bdrv_resume_stopped(bs);
}

int bdrv_stopped_requests(BlockDriverState *bs)
{
    return bs->stopped_count;
}

static void set_iostatus(BlockDriverState *bs, int ret)
{
    /* The first failure since the last reset is the one users see. */
    if (bs->iostatus_enabled && bs->iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
        bs->iostatus = ret == -ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                      : BLOCK_DEVICE_IO_STATUS_FAILED;
    }
}

static void coroutine_fn stop_request(BlockDriverState *bs)
{
    bs->stopped_count++;
    bdrv_dec_in_flight(bs);
    qemu_co_queue_wait(&bs->stopped_reqs, NULL);
    bdrv_inc_in_flight(bs);
    bs->stopped_count--;
}

int coroutine_fn bdrv_error_policy(BlockDriverState *bs, bool is_read,
                                   int ret)
{
    BlockErrorAction action = bdrv_get_on_error(bs, is_read);

    switch (action) {
    case BLOCK_ERR_IGNORE:
        return 0;
    case BLOCK_ERR_STOP_ENOSPC:
        if (ret != -ENOSPC) {
            return ret;
        }
        /* fall through */
    case BLOCK_ERR_STOP_ANY:
        set_iostatus(bs, ret);
        trace_bdrv_error_stop(bs, is_read, ret);
        stop_request(bs);
        return BDRV_ERROR_RETRY;
    case BLOCK_ERR_REPORT:
    default:
        return ret;
    }
}
