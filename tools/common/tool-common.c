/*
 * Helpers shared by the command-line tools (see tool-common.h).
 *
 * The number formats are the peers': users' scripts parse qemu-io's
 * "4 KiB, 1 ops" lines and qemu-img's "virtual size: 1 GiB (N bytes)",
 * so the rounding and suffixes follow theirs exactly.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/secret.h"
#include "qemu/main-loop.h"
#include "block/block.h"
#include "tool-common.h"
#include <math.h>

/* Power of 1024 of a size suffix letter, or -1. */
static int suffix_shift(char c)
{
    static const char letters[] = "bkmgtpe";
    const char *p = strchr(letters, g_ascii_tolower(c));

    return c && p ? (int)(p - letters) * 10 : -1;
}

int64_t cvtnum(const char *s)
{
    char *end;
    uint64_t v;
    int shift = 0;

    if (!s || !g_ascii_isdigit(*s)) {
        return -EINVAL;
    }
    errno = 0;
    v = g_ascii_strtoull(s, &end, 0);
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (*end) {
        shift = suffix_shift(*end);
        if (shift < 0 || end[1]) {
            return -EINVAL;
        }
    }
    if (v > (uint64_t)INT64_MAX >> shift) {
        return -ERANGE;
    }
    return (int64_t)(v << shift);
}

void cvtstr(double value, char *buf, size_t size)
{
    static const char *const units[] = {
        " bytes", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB",
    };
    int i = 0;
    char *trim;

    while (i < 6 && value >= 1024.0) {
        value /= 1024.0;
        i++;
    }
    snprintf(buf, size, "%.3f", value);
    trim = strstr(buf, ".000");
    if (trim) {
        *trim = '\0';
    }
    g_strlcat(buf, units[i], size);
}

char *size_to_str(uint64_t value)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi",
                                         "Ei" };
    int i = 0;

    /* Switch to the next unit from 1000 of the current one up, so that
     * 1000 bytes read "0.977 KiB" rather than "1e+03 B". */
    while (i < 6 && (double)value >= 1000.0 * pow(1024.0, i)) {
        i++;
    }
    return g_strdup_printf("%0.3g %sB", (double)value / pow(1024.0, i),
                           units[i]);
}

/* Store the "key=value" in @cur into @t and empty @cur. */
static bool keyval_add(GHashTable *t, GString *cur, Error **errp)
{
    char *eq;

    if (cur->len == 0) {
        return true;
    }
    eq = strchr(cur->str, '=');
    if (!eq || eq == cur->str) {
        error_setg(errp, "Invalid parameter '%s': expected key=value",
                   cur->str);
        return false;
    }
    *eq = '\0';
    g_hash_table_replace(t, g_strdup(cur->str), g_strdup(eq + 1));
    g_string_truncate(cur, 0);
    return true;
}

GHashTable *tool_parse_keyval(const char *str, Error **errp)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal,
                                          g_free, g_free);
    g_autoptr(GString) cur = g_string_new("");

    for (const char *p = str; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            if (!keyval_add(t, cur, errp)) {
                g_hash_table_unref(t);
                return NULL;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
    if (!keyval_add(t, cur, errp)) {
        g_hash_table_unref(t);
        return NULL;
    }
    return t;
}

/* Remove @key from @t and return its value (g_free it), or NULL. */
static char *take(GHashTable *t, const char *key)
{
    gpointer k, v;

    if (!g_hash_table_steal_extended(t, key, &k, &v)) {
        return NULL;
    }
    g_free(k);
    return v;
}

/*
 * Turn --image-opts into a filename, a driver and the options left for
 * bdrv_open_options: "driver=raw,file.filename=x" or
 * "driver=null-co,size=1M".  A protocol without a filename is named
 * "<protocol>://".
 */
static char *image_opts_filename(GHashTable *opts, BlockDriver **pdrv,
                                 Error **errp)
{
    g_autofree char *driver = take(opts, "driver");
    g_autofree char *file_driver = take(opts, "file.driver");
    char *filename = take(opts, "filename");

    if (!filename) {
        filename = take(opts, "file.filename");
    }
    if (!filename) {
        filename = take(opts, "file");
    }
    *pdrv = NULL;
    if (driver) {
        *pdrv = bdrv_find_format(driver);
        if (!*pdrv) {
            error_setg(errp, "Unknown driver '%s'", driver);
            g_free(filename);
            return NULL;
        }
    }
    if (!filename && (file_driver || driver)) {
        filename = g_strdup_printf("%s://", file_driver ? file_driver
                                                        : driver);
    }
    if (!filename) {
        error_setg(errp, "--image-opts needs driver= or filename=");
    }
    return filename;
}

BlockDriverState *tool_open_image(const char *name, const ToolOpenSpec *spec,
                                  Error **errp)
{
    g_autoptr(GHashTable) opts = NULL;
    g_autofree char *filename = NULL;
    BlockDriver *drv = NULL;
    BlockDriverState *bs;
    Error *local_err = NULL;
    int flags = spec->flags;

    if (spec->cache && bdrv_parse_cache_flags(spec->cache, &flags) < 0) {
        error_setg(errp, "Invalid cache option: %s", spec->cache);
        return NULL;
    }
    if (spec->aio && bdrv_parse_aio_flags(spec->aio, &flags) < 0) {
        error_setg(errp, "Invalid aio option: %s", spec->aio);
        return NULL;
    }
    if (spec->image_opts) {
        opts = tool_parse_keyval(name, errp);
        if (!opts) {
            return NULL;
        }
        filename = image_opts_filename(opts, &drv, errp);
        if (!filename) {
            return NULL;
        }
    } else {
        filename = g_strdup(name);
    }
    if (spec->options) {
        GHashTableIter it;
        gpointer k, v;

        if (!opts) {
            opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         g_free);
        }
        g_hash_table_iter_init(&it, spec->options);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            g_hash_table_insert(opts, g_strdup(k), g_strdup(v));
        }
    }
    if (spec->format) {
        drv = bdrv_find_format(spec->format);
        if (!drv) {
            error_setg(errp, "Unknown file format '%s'", spec->format);
            return NULL;
        }
    }
    bs = bdrv_new("");
    if (bdrv_open_options(bs, filename, opts, flags, drv, &local_err) < 0) {
        error_setg(errp, "Could not open '%s': %s", filename,
                   error_get_pretty(local_err));
        error_free(local_err);
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

void tool_run_co(CoroutineEntry *entry, void *opaque, bool *done)
{
    Coroutine *co = qemu_coroutine_create(entry, opaque);

    qemu_coroutine_enter(co);
    while (!*done) {
        aio_poll(qemu_get_aio_context(), true);
    }
}

bool tool_take_objects(int *argc, char **argv)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        const char *spec = NULL;
        Error *err = NULL;

        if (!strcmp(argv[i], "--object") && i + 1 < *argc) {
            spec = argv[++i];
        } else if (g_str_has_prefix(argv[i], "--object=")) {
            spec = argv[i] + strlen("--object=");
        } else if (!strcmp(argv[i], "--")) {
            while (i < *argc) {
                argv[out++] = argv[i++];
            }
            break;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (!spindle_secret_add_object(spec, &err)) {
            fprintf(stderr, "%s: --object %s: %s\n", g_get_prgname(), spec,
                    error_get_pretty(err));
            error_free(err);
            return false;
        }
    }
    argv[out] = NULL;
    *argc = out;
    return true;
}

void tool_init(const char *progname)
{
    Error *err = NULL;

    g_set_prgname(progname);
    if (!qemu_init_main_loop(&err)) {
        fprintf(stderr, "%s: %s\n", progname, error_get_pretty(err));
        error_free(err);
        exit(EXIT_FAILURE);
    }
}
