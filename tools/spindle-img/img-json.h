/*
 * A small JSON value tree for the query commands (info), printed the two
 * ways qemu-img prints its QObjects: as pretty JSON (4-space indent,
 * "key": value, empty lists as "[" newline "]") and as the human dump of
 * "Format specific information" (keys with spaces for dashes, lists as
 * "[i]:" items).  Keys keep their insertion order: callers add them in
 * the order qemu-img prints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SPINDLE_IMG_JSON_H
#define SPINDLE_IMG_JSON_H

#include "qemu/osdep.h"

typedef struct ImgJson ImgJson;

/* New empty object or array; free the root with img_json_free. */
ImgJson *img_json_object(void);
ImgJson *img_json_array(void);
void img_json_free(ImgJson *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImgJson, img_json_free)

/*
 * Add a member to object @o under @key, or an element to array @o
 * (@key NULL).  img_json_add takes ownership of @child and returns it.
 */
ImgJson *img_json_add(ImgJson *o, const char *key, ImgJson *child);
void img_json_add_str(ImgJson *o, const char *key, const char *value);
void img_json_add_int(ImgJson *o, const char *key, int64_t value);
void img_json_add_bool(ImgJson *o, const char *key, bool value);

/* Pretty JSON on stdout, as qobject_to_json_pretty, and a newline. */
void img_json_print(const ImgJson *v);

/* qemu-img's human dump of an object's members at @indent levels. */
void img_json_print_human(const ImgJson *v, int indent);

#endif /* SPINDLE_IMG_JSON_H */
