/*
 * aio=io_uring stub, built when liburing is not available.
 *
 * What it does: lets file-posix.c name the io_uring backend without an
 * #ifdef; attach always fails, so the open falls back to aio=threads
 * with a warning.  What it does not: any I/O.  Invariant: attach never
 * succeeds, so no other member is ever called.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "file-posix.h"

static bool stub_attach(BDRVRawState *s, AioContext *ctx, Error **errp)
{
    error_setg(errp, "this build has no io_uring support");
    return false;
}

const FileAioOps file_aio_io_uring = {
    .name = "io_uring",
    .attach = stub_attach,
};
