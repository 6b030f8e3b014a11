/*
 * snapshot: "snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot]
 * [-U] [--image-opts] filename".
 *
 * Lists, creates, applies (reverts to) and deletes a format's internal
 * snapshots.  The list is qemu-img's table, column for column; a format
 * without snapshots lists nothing, as there.  Create stamps the wall
 * clock time; the VM clock, state size and instruction count are zero
 * (no VM is running).  Like qemu-img 7.2 there is no -f: the format is
 * probed, or given with --image-opts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"
#include <getopt.h>

typedef enum {
    SN_NONE, SN_LIST, SN_APPLY, SN_CREATE, SN_DELETE,
} SnapshotAction;

static const char snapshot_usage[] =
"Usage: spindle-img snapshot [-q] [-l | -a snapshot | -c snapshot | "
"-d snapshot] [-U] [--image-opts] filename\n"
"  -l  list the image's snapshots\n"
"  -a  apply (revert the image to) a snapshot\n"
"  -c  create a snapshot\n"
"  -d  delete a snapshot\n";

/* One row of qemu-img's table: "ID TAG VM SIZE DATE VM CLOCK ICOUNT". */
static void print_row(const QEMUSnapshotInfo *sn)
{
    g_autoptr(GDateTime) date = g_date_time_new_from_unix_local(sn->date_sec);
    g_autofree char *date_str = g_date_time_format(date,
                                                   "%Y-%m-%d %H:%M:%S");
    g_autofree char *vm_size = size_to_str(sn->vm_state_size);
    uint64_t secs = sn->vm_clock_nsec / 1000000000;
    char clock[64], icount[32] = "";

    snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60),
             (int)(sn->vm_clock_nsec / 1000000 % 1000));
    if (sn->icount != UINT64_MAX) {
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    }
    printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id_str, sn->name, vm_size,
           date_str, clock, icount);
}

void img_print_snapshots(BlockDriverState *bs)
{
    QEMUSnapshotInfo *sns;
    int n = bdrv_snapshot_list(bs, &sns);

    if (n > 0) {
        printf("Snapshot list:\n");
        printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE",
               "DATE", "VM CLOCK", "ICOUNT");
        for (int i = 0; i < n; i++) {
            print_row(&sns[i]);
        }
    }
    g_free(sns);
}

static int create_snapshot(BlockDriverState *bs, const char *name)
{
    QEMUSnapshotInfo sn = { 0 };
    int64_t now = g_get_real_time();
    int ret;

    g_strlcpy(sn.name, name, sizeof(sn.name));
    sn.date_sec = now / G_USEC_PER_SEC;
    sn.date_nsec = now % G_USEC_PER_SEC * 1000;
    ret = bdrv_snapshot_create(bs, &sn);
    if (ret < 0) {
        img_error("Could not create snapshot '%s': %d (%s)", name, ret,
                  strerror(-ret));
    }
    return ret;
}

static int apply_snapshot(BlockDriverState *bs, const char *name)
{
    int ret = bdrv_snapshot_goto(bs, name);

    if (ret == -ENOTSUP) {
        img_error("Could not apply snapshot '%s': Block driver does not "
                  "support snapshots", name);
    } else if (ret < 0) {
        img_error("Could not apply snapshot '%s': Failed to load "
                  "snapshot: %s", name, strerror(-ret));
    }
    return ret;
}

/* qemu-img finds the snapshot by id first, then by name. */
static bool find_snapshot(BlockDriverState *bs, const char *name,
                          QEMUSnapshotInfo *found)
{
    QEMUSnapshotInfo *sns;
    int n = bdrv_snapshot_list(bs, &sns);
    bool ok = false;

    for (int pass = 0; pass < 2 && !ok; pass++) {
        for (int i = 0; i < n && !ok; i++) {
            if (!strcmp(pass == 0 ? sns[i].id_str : sns[i].name, name)) {
                *found = sns[i];
                ok = true;
            }
        }
    }
    g_free(sns);
    return ok;
}

static int delete_snapshot(BlockDriverState *bs, const char *name)
{
    QEMUSnapshotInfo sn;
    int ret;

    if (!find_snapshot(bs, name, &sn)) {
        img_error("Could not delete snapshot '%s': snapshot not found",
                  name);
        return -ENOENT;
    }
    ret = bdrv_snapshot_delete(bs, sn.id_str);
    if (ret < 0) {
        img_error("Could not delete snapshot '%s': Failed to delete "
                  "snapshot: %s", name, strerror(-ret));
    }
    return ret;
}

static int run_action(BlockDriverState *bs, SnapshotAction action,
                      const char *name)
{
    switch (action) {
    case SN_LIST:
        img_print_snapshots(bs);
        return 0;
    case SN_CREATE:
        return create_snapshot(bs, name);
    case SN_APPLY:
        return apply_snapshot(bs, name);
    case SN_DELETE:
        return delete_snapshot(bs, name);
    default:
        return 0;
    }
}

enum { OPT_IMAGE_OPTS = 256 };

static const struct option snapshot_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

/* Record one of -l/-a/-c/-d; false after an error message if a second. */
static bool set_action(SnapshotAction *action, SnapshotAction new,
                       const char **name, const char *arg)
{
    if (*action != SN_NONE) {
        img_error("Cannot mix '-l', '-a', '-c', '-d'");
        return false;
    }
    *action = new;
    *name = arg;
    return true;
}

int img_snapshot(int argc, char **argv)
{
    ToolOpenSpec spec = { .flags = BDRV_O_RDWR };
    SnapshotAction action = SN_NONE;
    const char *name = NULL;
    BlockDriverState *bs;
    bool quiet = false, ok = true;
    int c, ret;

    while (ok && (c = getopt_long(argc, argv, "hla:c:d:qU", snapshot_opts,
                                  NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(snapshot_usage);
        case 'l': ok = set_action(&action, SN_LIST, &name, NULL); break;
        case 'a': ok = set_action(&action, SN_APPLY, &name, optarg); break;
        case 'c': ok = set_action(&action, SN_CREATE, &name, optarg); break;
        case 'd': ok = set_action(&action, SN_DELETE, &name, optarg); break;
        case 'q': quiet = true; break;
        case 'U': spec.flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_IMAGE_OPTS: spec.image_opts = true; break;
        default:
            img_error("Invalid option; try 'spindle-img snapshot --help'");
            return EXIT_FAILURE;
        }
    }
    if (!ok) {
        return EXIT_FAILURE;
    }
    if (argc - optind != 1) {
        img_error("Expecting one image file name");
        return EXIT_FAILURE;
    }
    (void)quiet;    /* every action is silent but -l, which -q keeps */
    if (action == SN_LIST) {
        spec.flags &= ~BDRV_O_RDWR;
    } else {
        spec.flags &= ~BDRV_O_FORCE_SHARE;
    }
    bs = img_open(argv[optind], &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    ret = run_action(bs, action, name);
    bdrv_unref(bs);
    return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
