/*
 * map: "map [-f fmt] [--output=human|json] [-U] [--image-opts] file".
 *
 * qemu-img 7.2's algorithm: for each range, ask the nodes of the backing
 * chain top down (bdrv_block_status) until one holds it (DATA or ZERO);
 * its depth, the flags and the host offset make the entry, and runs of
 * equal entries (contiguous offsets, same file) are merged.  JSON prints
 * every entry ({ start, length, depth, present, zero, data[, offset] });
 * the human table only the data extents, and fails like qemu-img on
 * data without an offset (compressed clusters) after printing those
 * before it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include "img.h"

static const char map_usage[] =
"Usage: spindle-img map [-f fmt] [--output=human|json] [-U] [--image-opts]"
" filename\n"
"Print where the data of an image is: one run of equal allocation status "
"per line.\n";

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int depth;
    bool present;
    bool zero;
    bool data;
    bool has_offset;
    int64_t offset;
    const char *filename;        /* the file holding the data, or NULL */
} MapEntry;

/* Status of [@offset, +@bytes) of the chain from @bs into @e. */
static int chain_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                        MapEntry *e)
{
    BlockDriverState *file = NULL;
    int64_t map = 0;
    int depth = 0;
    int ret;

    for (;;) {
        ret = bdrv_block_status(bs, offset, bytes, &bytes, &map, &file);
        if (ret < 0) {
            return ret;
        }
        if (ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) {
            break;
        }
        bs = bdrv_backing(bs);
        if (!bs) {
            ret = 0;
            break;
        }
        depth++;
    }
    *e = (MapEntry) {
        .start = offset, .length = bytes, .depth = depth,
        .present = ret & BDRV_BLOCK_ALLOCATED,
        .zero = ret & BDRV_BLOCK_ZERO, .data = ret & BDRV_BLOCK_DATA,
        .has_offset = ret & BDRV_BLOCK_OFFSET_VALID, .offset = map,
    };
    if (e->has_offset && file) {
        e->filename = file->filename;
    }
    return 0;
}

/* Can @next extend @cur? (qemu-img's entry_mergeable) */
static bool mergeable(const MapEntry *cur, const MapEntry *next)
{
    if (!cur->length || cur->zero != next->zero ||
        cur->data != next->data || cur->depth != next->depth ||
        cur->present != next->present ||
        !cur->filename != !next->filename ||
        cur->has_offset != next->has_offset) {
        return false;
    }
    if (cur->filename && strcmp(cur->filename, next->filename)) {
        return false;
    }
    return !cur->has_offset || cur->offset + cur->length == next->offset;
}

/* Print @e; @next (NULL for the last) may be changed to merge better. */
static int print_entry(const MapEntry *e, MapEntry *next, bool json)
{
    if (json) {
        printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64
               ", \"depth\": %d, \"present\": %s, \"zero\": %s, "
               "\"data\": %s", e->start, e->length, e->depth,
               e->present ? "true" : "false", e->zero ? "true" : "false",
               e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf(next ? "},\n" : "}");
        return 0;
    }
    if (e->data && !e->has_offset) {
        img_error("File contains external, encrypted or compressed "
                  "clusters.");
        return -1;
    }
    if (e->data && !e->zero) {
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
               (uint64_t)e->start, (uint64_t)e->length,
               (uint64_t)e->offset, e->filename ? e->filename : "");
    }
    /* The table does not tell zero from unallocated: merge them. */
    if (next && (!next->data || next->zero)) {
        next->data = false;
        next->zero = true;
    }
    return 0;
}

static int dump_map(BlockDriverState *bs, bool json)
{
    int64_t len = bdrv_getlength(bs);
    MapEntry cur = { 0 }, next;

    if (len < 0) {
        img_error("Could not get the image length: %s", strerror(-len));
        return EXIT_FAILURE;
    }
    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    }
    while (cur.start + cur.length < len) {
        int64_t offset = cur.start + cur.length;
        int ret = chain_status(bs, offset, MIN(len - offset, 1LL << 30),
                               &next);

        if (ret < 0) {
            img_error("Could not read the image map: %s", strerror(-ret));
            return EXIT_FAILURE;
        }
        if (mergeable(&cur, &next)) {
            cur.length += next.length;
            continue;
        }
        if (cur.length && print_entry(&cur, &next, json) < 0) {
            return EXIT_FAILURE;
        }
        cur = next;
    }
    if (cur.length && print_entry(&cur, NULL, json) < 0) {
        return EXIT_FAILURE;
    }
    if (json) {
        printf("]\n");
    }
    return EXIT_SUCCESS;
}

int img_map(int argc, char **argv)
{
    ToolOpenSpec spec = { 0 };
    BlockDriverState *bs;
    const char *file;
    bool json;
    int status;

    file = img_parse_query_args(argc, argv, map_usage, &spec, &json, NULL,
                                &status);
    if (!file) {
        return status;
    }
    bs = img_open(file, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    status = dump_map(bs, json);
    bdrv_unref(bs);
    return status;
}
