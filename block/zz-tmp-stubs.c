#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
void bdrv_io_limits_disable(BlockDriverState *bs) {}
void coroutine_fn bdrv_io_limits_intercept(BlockDriverState *bs, int64_t bytes, bool is_write) {}
void bdrv_io_limits_detach_aio_context(BlockDriverState *bs) {}
void bdrv_io_limits_attach_aio_context(BlockDriverState *bs, AioContext *ctx) {}
