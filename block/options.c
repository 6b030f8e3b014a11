/*
 * Options while a node opens, and the flag vocabularies users type.
 *
 * The seed's driver callbacks (bdrv_open, bdrv_file_open, bdrv_create)
 * carry no options and no Error.  Spindle keeps those signatures: the
 * options of the open in progress hang off bs->options, from which a
 * driver takes what it understands; whatever is left when the driver
 * returns is an error naming the option.  A driver's message travels in
 * a thread-local Error slot (bdrv_driver_errp) that the generic layer
 * empties after every call it makes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

static __thread Error *driver_error;

Error **bdrv_driver_errp(void)
{
    /* A message nobody took is stale by now: the newest one counts. */
    bdrv_discard_driver_error();
    return &driver_error;
}

void bdrv_discard_driver_error(void)
{
    error_free(driver_error);
    driver_error = NULL;
}

void bdrv_take_driver_error(Error **errp, int ret, const char *fmt, ...)
{
    Error *err = driver_error;
    g_autofree char *what = NULL;
    va_list ap;

    driver_error = NULL;
    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (err) {
        error_propagate_prepend(errp, err, "%s: ", what);
    } else {
        error_setg_errno(errp, ret < 0 ? -ret : EIO, "%s", what);
    }
}

char *bdrv_opt_take(BlockDriverState *bs, const char *key)
{
    gpointer orig_key, value;

    if (!bs->options ||
        !g_hash_table_lookup_extended(bs->options, key, &orig_key, &value)) {
        return NULL;
    }
    g_hash_table_steal(bs->options, key);
    g_free(orig_key);
    return value;
}

bool bdrv_opt_take_bool(BlockDriverState *bs, const char *key, bool def,
                        bool *value)
{
    g_autofree char *str = bdrv_opt_take(bs, key);

    *value = def;
    if (!str) {
        return true;
    }
    return parse_option_bool(key, str, value, bdrv_driver_errp()) == 0;
}

bool bdrv_opt_take_size(BlockDriverState *bs, const char *key, uint64_t def,
                        uint64_t *value)
{
    g_autofree char *str = bdrv_opt_take(bs, key);

    *value = def;
    if (!str) {
        return true;
    }
    return parse_option_size(key, str, value, bdrv_driver_errp()) == 0;
}

typedef struct FlagMode {
    const char *name;
    int bits;
} FlagMode;

/* Replace the @mask bits of *@flags with those of the mode named @name. */
static int set_mode_bits(const FlagMode *modes, size_t n, int mask,
                         const char *name, int *flags)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(name, modes[i].name)) {
            *flags = (*flags & ~mask) | modes[i].bits;
            return 0;
        }
    }
    return -1;
}

int bdrv_parse_cache_flags(const char *mode, int *flags)
{
    static const FlagMode modes[] = {
        { "writeback", BDRV_O_CACHE_WB },
        { "none", BDRV_O_NOCACHE | BDRV_O_CACHE_WB },
        { "off", BDRV_O_NOCACHE | BDRV_O_CACHE_WB },
        { "directsync", BDRV_O_NOCACHE | BDRV_O_DIRECTSYNC },
        { "writethrough", BDRV_O_DIRECTSYNC },
        { "unsafe", BDRV_O_CACHE_WB | BDRV_O_NO_FLUSH },
    };

    return set_mode_bits(modes, G_N_ELEMENTS(modes), BDRV_O_CACHE_MASK,
                         mode, flags);
}

int bdrv_parse_aio_flags(const char *mode, int *flags)
{
    static const FlagMode modes[] = {
        { "threads", 0 },
        { "native", BDRV_O_NATIVE_AIO },
        { "io_uring", BDRV_O_NATIVE_AIO },
        { "auto", BDRV_O_NATIVE_AIO | BDRV_O_AIO_AUTO },
    };

    return set_mode_bits(modes, G_N_ELEMENTS(modes),
                         BDRV_O_NATIVE_AIO | BDRV_O_AIO_AUTO, mode, flags);
}
