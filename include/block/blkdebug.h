/*
 * blkdebug: a protocol driver that injects I/O errors, for tests.
 *
 * A blkdebug node sits between a format and its image
 * ("blkdebug:RULES_FILE:IMAGE") and forwards everything to the image,
 * except that requests fail when its rules say so.  Rules come from the
 * rules file, from the driver options (config=, image=) or from the calls
 * below; the rules file format is described at the top of
 * block/blkdebug.c.
 *
 * Every function here takes any node and acts on the first blkdebug node
 * found at or below it along bs->file (so a test may pass the raw node it
 * holds).  They must be called from the node's home thread, outside the
 * node's requests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_BLKDEBUG_H
#define BLOCK_BLKDEBUG_H

#include "block/block.h"
#include "qapi/error.h"

/* One [inject-error] rule, field by field as the rules file spells it. */
typedef struct BlkdebugInjectError {
    BlkDebugEvent event;   /* the event that arms the rule */
    int state;             /* armed only in this state; 0: any state */
    int error;             /* positive errno the request fails with */
    int64_t sector;        /* fail only requests covering it; -1: any */
    bool once;             /* remove the rule after its first failure */
    bool immediately;      /* fail without yielding to the event loop */
    int64_t delay_ns;      /* fail after sleeping this long (0: no sleep) */
} BlkdebugInjectError;

/* Defaults of a rule, as a section that only names its event gets. */
#define BLKDEBUG_INJECT_ERROR_INIT(ev) \
    ((BlkdebugInjectError){ .event = (ev), .error = EIO, .sector = -1 })

/* The first blkdebug node at or below @bs along bs->file, or NULL. */
BlockDriverState *blkdebug_find(BlockDriverState *bs);

/*
 * Parse @text in the rules file format and append its rules.  @name
 * stands for the text in messages ("name:line: ...").  On error no rule is
 * added; returns false with @errp set (also when @bs has no blkdebug node).
 */
bool blkdebug_add_rules(BlockDriverState *bs, const char *text,
                        const char *name, Error **errp);

/* Append one [inject-error] rule.  false with @errp if @rule is invalid. */
bool blkdebug_inject_error(BlockDriverState *bs,
                           const BlkdebugInjectError *rule, Error **errp);

/*
 * Remove every rule (both kinds) of @event, or every rule at all when
 * @event is BLKDBG_EVENT_MAX.  Requests already failing finish failing.
 * Returns how many rules were removed.
 */
int blkdebug_remove_rules(BlockDriverState *bs, BlkDebugEvent event);

/* The state the [set-state] rules have moved to (1 at open). */
int blkdebug_get_state(BlockDriverState *bs);

/* How many requests the node has failed so far. */
uint64_t blkdebug_injected_count(BlockDriverState *bs);

#endif /* BLOCK_BLKDEBUG_H */
