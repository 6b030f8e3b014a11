/*
 * info: "info [-f fmt] [--output=human|json] [-U] [--image-opts] file".
 *
 * The fields and their order are qemu-img 7.2's: image, file format,
 * virtual size, disk size (human); virtual-size, filename, format,
 * actual-size and dirty-flag (JSON).  actual-size is left out when the
 * protocol cannot tell it.  qemu-img gives dirty-flag when the driver
 * chain answers bdrv_get_info, which a raw image over a file does there
 * but not (yet) here: so a protocol that knows its disk usage, i.e. a
 * real file, also counts, and null-co gets no dirty-flag in both.  Backing chains and format-specific fields come with
 * the formats that have them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"

static const char info_usage[] =
"Usage: spindle-img info [-f fmt] [--output=human|json] [-U] [--image-opts]"
" filename\n"
"Show the format, virtual size and disk usage of an image.\n";

typedef struct ImgInfo {
    const char *filename;
    const char *format;
    int64_t virtual_size;
    int64_t actual_size;     /* < 0: unknown */
    bool has_info;
    bool dirty;
} ImgInfo;

static void collect(BlockDriverState *bs, const char *name, ImgInfo *info)
{
    BlockDriverInfo bdi;

    info->filename = name;
    info->format = bdrv_get_format_name(bs);
    info->virtual_size = bdrv_getlength(bs);
    info->actual_size = bdrv_get_allocated_file_size(bs);
    info->has_info = bdrv_get_info(bs, &bdi) == 0 ||
                     info->actual_size >= 0;
    info->dirty = info->has_info && bdi.is_dirty;
}

static void print_human(const ImgInfo *info)
{
    g_autofree char *vsize = size_to_str(info->virtual_size);

    printf("image: %s\n", info->filename);
    printf("file format: %s\n", info->format);
    printf("virtual size: %s (%" PRId64 " bytes)\n", vsize,
           info->virtual_size);
    if (info->actual_size >= 0) {
        g_autofree char *dsize = size_to_str(info->actual_size);
        printf("disk size: %s\n", dsize);
    } else {
        printf("disk size: unavailable\n");
    }
}

static void print_json(const ImgInfo *info)
{
    printf("{\n    \"virtual-size\": %" PRId64 ",\n    \"filename\": ",
           info->virtual_size);
    img_json_string(info->filename);
    printf(",\n    \"format\": ");
    img_json_string(info->format);
    if (info->actual_size >= 0) {
        printf(",\n    \"actual-size\": %" PRId64, info->actual_size);
    }
    if (info->has_info) {
        printf(",\n    \"dirty-flag\": %s", info->dirty ? "true" : "false");
    }
    printf("\n}\n");
}

int img_info(int argc, char **argv)
{
    ToolOpenSpec spec = { 0 };
    BlockDriverState *bs;
    const char *file;
    ImgInfo info;
    bool json;
    int status;

    file = img_parse_query_args(argc, argv, info_usage, &spec, &json,
                                &status);
    if (!file) {
        return status;
    }
    bs = img_open(file, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    collect(bs, file, &info);
    if (json) {
        print_json(&info);
    } else {
        print_human(&info);
    }
    bdrv_unref(bs);
    return EXIT_SUCCESS;
}
