/*
 * Secrets by name: passwords and keys that image options refer to by id
 * (encrypt.key-secret=ID), so they never appear in option strings.
 *
 * A process-wide table maps an id to the secret's bytes.  Tools fill it
 * from their command line (QEMU's `--object secret,id=ID,data=...` or
 * `file=PATH` syntax, parsed here by spindle_secret_add_object); library
 * users call spindle_secret_add directly.  Drivers look secrets up while
 * opening or creating an image.
 *
 * Thread-safe: every function may be called from any thread.  Stored
 * bytes are wiped when a secret is removed or replaced.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QCRYPTO_SECRET_H
#define QCRYPTO_SECRET_H

#include "qemu/osdep.h"

/*
 * Register @len bytes of @data under @id (an id already present is an
 * error).  Returns true, or false with @errp set.
 */
bool spindle_secret_add_bytes(const char *id, const void *data, size_t len,
                              Error **errp);

/* As spindle_secret_add_bytes with the NUL-terminated string @data. */
bool spindle_secret_add(const char *id, const char *data, Error **errp);

/*
 * Parse and register a QEMU-style object description:
 *   "secret,id=ID,data=STRING[,format=raw|base64]"
 *   "secret,id=ID,file=PATH[,format=raw|base64]"
 * (the leading "secret," may be given as "qom-type=secret,").  A file's
 * trailing newline is not dropped, as in QEMU.  Returns true, or false
 * with @errp set naming what is wrong.
 */
bool spindle_secret_add_object(const char *spec, Error **errp);

/* Forget @id; true if it existed. */
bool spindle_secret_remove(const char *id);

/*
 * A copy of the secret @id as a NUL-terminated string (the bytes must
 * hold no NUL) for the caller to wipe and free with spindle_secret_free.
 * NULL with @errp set ("No secret with id 'x'") when there is none.
 */
char *spindle_secret_lookup_string(const char *id, Error **errp);

/* Wipe and free a string returned by spindle_secret_lookup_string. */
void spindle_secret_free(char *secret);

#endif /* QCRYPTO_SECRET_H */
