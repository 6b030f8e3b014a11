/*
 * qcow2 check/repair: state shared by qcow2-check.c (counting, comparing,
 * COPIED flags) and qcow2-check-rebuild.c (a new refcount structure).
 * Everything here runs in a coroutine with s->lock held.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_QCOW2_CHECK_H
#define BLOCK_QCOW2_CHECK_H

#include "qcow2.h"

/* One run of the check; lives on the caller's stack for that run. */
typedef struct Qcow2CheckState {
    BlockDriverState *bs;
    BDRVQcow2State *s;
    BdrvCheckResult *res;
    BdrvCheckMode fix;
    int64_t file_len;            /* image file length when counting */

    /* Expected refcount of every host cluster, by cluster index. */
    uint64_t *refs;
    uint64_t nb_refs;
    /* The same before the refcount structure itself was counted. */
    uint64_t *meta_refs;
    uint64_t nb_meta_refs;
    /* Refcount table entries whose block cannot be read (by index). */
    bool *bad_refblock;
    uint64_t nb_bad_refblock;
    bool rebuild;                /* the refcount structure is untrustworthy */

    uint64_t next_contiguous;    /* fragmentation: where the next
                                    contiguous data cluster would be */
    int64_t highest_cluster;     /* highest cluster referenced or with a
                                    refcount (0 if none) */
} Qcow2CheckState;

/* Count one reference to every cluster of [@offset, +@size); a range a
 * cluster or more past the end of the file is reported instead. */
void qcow2_check_inc_refs(Qcow2CheckState *cs, uint64_t offset,
                          uint64_t size);

/* The on-disk refcount of @cluster, or -EIO if its block is unusable. */
int coroutine_fn qcow2_check_get_refcount(Qcow2CheckState *cs,
                                          uint64_t cluster,
                                          uint64_t *refcount);

/* Compare cs->refs with the refcounts on disk; report, and repair as
 * @fix says.  Sets cs->highest_cluster. */
void coroutine_fn qcow2_check_compare(Qcow2CheckState *cs,
                                      BdrvCheckMode fix);

/* Check (and when @repair, correct) the COPIED flags of the active L1
 * table and its L2 tables against the on-disk refcounts. */
void coroutine_fn qcow2_check_copied(Qcow2CheckState *cs, bool repair);

/*
 * Write a new refcount table and blocks past the end of the file from
 * cs->meta_refs (they describe themselves too), switch the header to
 * them and drop the old ones from memory.  0 or -errno (the old
 * structure then stays in use).
 */
int coroutine_fn qcow2_check_rebuild_refcounts(Qcow2CheckState *cs);

#endif /* BLOCK_QCOW2_CHECK_H */
