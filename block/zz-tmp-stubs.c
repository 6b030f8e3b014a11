#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include <time.h>
void bdrv_acct_record(BlockDriverState *bs, enum BlockAcctType type, uint64_t bytes, int64_t latency_ns, int ret) { bs->nr_ops[type]++; bs->nr_bytes[type] += bytes; }
int64_t bdrv_acct_clock_ns(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes) {}
void bdrv_dirty_bitmaps_truncate(BlockDriverState *bs, int64_t bytes) {}
void bdrv_release_all_dirty_bitmaps(BlockDriverState *bs) {}
void bdrv_io_limits_disable(BlockDriverState *bs) {}
void coroutine_fn bdrv_io_limits_intercept(BlockDriverState *bs, int64_t bytes, bool is_write) {}
void bdrv_io_limits_detach_aio_context(BlockDriverState *bs) {}
void bdrv_io_limits_attach_aio_context(BlockDriverState *bs, AioContext *ctx) {}
int parse_option_size(const char *what, const char *str, uint64_t *value, Error **errp) { *value = strtoull(str, NULL, 0); return 0; }
int parse_option_bool(const char *what, const char *str, bool *value, Error **errp) { *value = !strcmp(str, "on"); return 0; }
