/*
 * Tracked requests: every request between the gate and its completion is
 * listed on its node, so that requests that must not overlap can wait for
 * each other.
 *
 * Only serialising requests (the read-modify-write of an unaligned write,
 * copy-on-read) make anyone wait: a serialising request waits for every
 * request in flight over its widened range, and every request that starts
 * over a serialising one waits for it.  Requests that touch disjoint
 * ranges never wait, and when no serialising request is in flight on the
 * node (the common case) the check costs one load.
 *
 * Invariant: a request only waits for requests that began before it, so
 * waiting cannot form a cycle.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

void tracked_request_begin(BdrvTrackedRequest *req, BlockDriverState *bs,
                           int64_t offset, int64_t bytes)
{
    *req = (BdrvTrackedRequest) {
        .bs = bs,
        .offset = offset,
        .bytes = bytes,
        .overlap_offset = offset,
        .overlap_bytes = bytes,
    };
    qemu_co_queue_init(&req->wait_queue);
    QLIST_INSERT_HEAD(&bs->tracked_requests, req, list);
}

void tracked_request_end(BdrvTrackedRequest *req)
{
    if (req->serialising) {
        req->bs->serialising_in_flight--;
    }
    QLIST_REMOVE(req, list);
    qemu_co_queue_restart_all(&req->wait_queue);
}

static bool overlaps(const BdrvTrackedRequest *a, const BdrvTrackedRequest *b)
{
    return a->overlap_offset < b->overlap_offset + b->overlap_bytes &&
           b->overlap_offset < a->overlap_offset + a->overlap_bytes;
}

/*
 * The first request @req must wait for: one that overlaps it, began
 * before it, and is serialising (or @req is).  NULL if none.
 */
static BdrvTrackedRequest *find_conflict(BdrvTrackedRequest *req)
{
    BdrvTrackedRequest *other;
    bool after_req = false;

    /* Newest first: everything after @req in the list began before it. */
    QLIST_FOREACH(other, &req->bs->tracked_requests, list) {
        if (other == req) {
            after_req = true;
            continue;
        }
        if (!after_req || !(req->serialising || other->serialising)) {
            continue;
        }
        if (overlaps(req, other)) {
            return other;
        }
    }
    return NULL;
}

static void coroutine_fn wait_for_conflicts(BdrvTrackedRequest *req)
{
    BdrvTrackedRequest *other;

    while ((other = find_conflict(req)) != NULL) {
        qemu_co_queue_wait(&other->wait_queue, NULL);
    }
}

void coroutine_fn tracked_request_wait_serialising(BdrvTrackedRequest *req)
{
    if (req->bs->serialising_in_flight == 0) {
        return;
    }
    wait_for_conflicts(req);
}

void coroutine_fn tracked_request_serialise(BdrvTrackedRequest *req,
                                            int64_t align)
{
    int64_t start = QEMU_ALIGN_DOWN(req->offset, align);
    int64_t end = QEMU_ALIGN_UP(req->offset + req->bytes, align);
    int64_t old_end = req->overlap_offset + req->overlap_bytes;

    if (!req->serialising) {
        req->serialising = true;
        req->bs->serialising_in_flight++;
    }
    req->overlap_offset = MIN(req->overlap_offset, start);
    req->overlap_bytes = MAX(old_end, end) - req->overlap_offset;
    wait_for_conflicts(req);
}
