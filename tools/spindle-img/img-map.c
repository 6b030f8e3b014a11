/*
 * map: "map [-f fmt] [--output=human|json] [-U] [--image-opts] file".
 *
 * Walks the image asking each node of the backing chain, top down,
 * whether it holds each range (bdrv_is_allocated), and prints runs of
 * equal status in qemu-img 7.2's shapes: the JSON array of
 * { start, length, depth, present, zero, data, offset } objects, or the
 * human table of data extents.  A range no node holds reads as zeroes:
 * "present" when the chain has one node (raw over a sparse file: a hole),
 * absent below a backing file.  "offset" (where the bytes are in the
 * file) is given for raw, whose mapping is the identity.
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
    BlockDriverState *node;   /* the node holding the data */
} MapEntry;

/* Status of the range at @sector (at most @nb sectors) into @e. */
static int range_status(BlockDriverState *top, int64_t sector, int nb,
                        MapEntry *e)
{
    BlockDriverState *bs, *last = top;
    int depth = 0, n = nb;

    for (bs = top; bs; bs = bdrv_backing(bs), depth++) {
        int pnum;
        int ret = bdrv_is_allocated(bs, sector, n, &pnum);

        if (ret < 0) {
            return ret;
        }
        if (pnum > 0 && pnum < n) {
            n = pnum;
        }
        last = bs;
        if (ret) {
            *e = (MapEntry) { .depth = depth, .present = true, .data = true,
                              .node = bs };
            goto done;
        }
    }
    *e = (MapEntry) { .depth = depth - 1, .present = depth == 1,
                      .zero = true, .node = last };
done:
    e->start = sector * BDRV_SECTOR_SIZE;
    e->length = (int64_t)n * BDRV_SECTOR_SIZE;
    e->has_offset = e->present &&
                    !strcmp(bdrv_get_format_name(e->node), "raw");
    e->offset = e->start;
    return 0;
}

/* Can @next extend @cur? */
static bool mergeable(const MapEntry *cur, const MapEntry *next)
{
    return cur->depth == next->depth && cur->present == next->present &&
           cur->zero == next->zero && cur->data == next->data &&
           cur->has_offset == next->has_offset &&
           (!cur->has_offset ||
            cur->offset + cur->length == next->offset);
}

static void print_entry(const MapEntry *e, bool json, bool first)
{
    if (json) {
        printf("%s{ \"start\": %" PRId64 ", \"length\": %" PRId64
               ", \"depth\": %d, \"present\": %s, \"zero\": %s, "
               "\"data\": %s", first ? "[" : ",\n", e->start, e->length,
               e->depth, e->present ? "true" : "false",
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf("}");
    } else if (e->data && e->has_offset) {
        BlockDriverState *file = e->node->file ? e->node->file : e->node;
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
               (uint64_t)e->start, (uint64_t)e->length,
               (uint64_t)e->offset, file->filename);
    }
}

static int dump_map(BlockDriverState *bs, bool json)
{
    int64_t len = bdrv_getlength(bs);
    int64_t sectors, sector = 0;
    MapEntry cur = { 0 }, next;
    bool first = true;

    if (len < 0) {
        img_error("Could not get the image length: %s", strerror(-len));
        return EXIT_FAILURE;
    }
    sectors = DIV_ROUND_UP(len, BDRV_SECTOR_SIZE);
    if (!json) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    }
    while (sector < sectors) {
        int ret = range_status(bs, sector, MIN(sectors - sector,
                                               BDRV_REQUEST_MAX_SECTORS),
                               &next);
        if (ret < 0) {
            img_error("Could not read the image map: %s", strerror(-ret));
            return EXIT_FAILURE;
        }
        sector += next.length / BDRV_SECTOR_SIZE;
        if (cur.length && mergeable(&cur, &next)) {
            cur.length += next.length;
            continue;
        }
        if (cur.length) {
            print_entry(&cur, json, first);
            first = false;
        }
        cur = next;
    }
    if (cur.length) {
        print_entry(&cur, json, first);
        first = false;
    }
    if (json) {
        printf(first ? "[]\n" : "]\n");
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

    file = img_parse_query_args(argc, argv, map_usage, &spec, &json,
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
