/*
 * The JSON value tree (see img-json.h).  Values are few and small (one
 * image's info), so members are a plain GPtrArray in insertion order.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"
#include "img-json.h"

typedef enum { J_OBJECT, J_ARRAY, J_STRING, J_INT, J_BOOL } JsonType;

struct ImgJson {
    JsonType type;
    char *key;                   /* member name inside an object */
    char *str;
    int64_t num;                 /* J_INT; J_BOOL: 0 or 1 */
    GPtrArray *items;            /* J_OBJECT, J_ARRAY */
};

static ImgJson *new_value(JsonType type)
{
    ImgJson *v = g_new0(ImgJson, 1);

    v->type = type;
    if (type == J_OBJECT || type == J_ARRAY) {
        v->items = g_ptr_array_new_with_free_func(
            (GDestroyNotify)img_json_free);
    }
    return v;
}

ImgJson *img_json_object(void)
{
    return new_value(J_OBJECT);
}

ImgJson *img_json_array(void)
{
    return new_value(J_ARRAY);
}

void img_json_free(ImgJson *v)
{
    if (v->items) {
        g_ptr_array_free(v->items, true);
    }
    g_free(v->key);
    g_free(v->str);
    g_free(v);
}

ImgJson *img_json_add(ImgJson *o, const char *key, ImgJson *child)
{
    assert((o->type == J_OBJECT) == (key != NULL));
    child->key = g_strdup(key);
    g_ptr_array_add(o->items, child);
    return child;
}

void img_json_add_str(ImgJson *o, const char *key, const char *value)
{
    ImgJson *v = new_value(J_STRING);

    v->str = g_strdup(value);
    img_json_add(o, key, v);
}

void img_json_add_int(ImgJson *o, const char *key, int64_t value)
{
    ImgJson *v = new_value(J_INT);

    v->num = value;
    img_json_add(o, key, v);
}

void img_json_add_bool(ImgJson *o, const char *key, bool value)
{
    ImgJson *v = new_value(J_BOOL);

    v->num = value;
    img_json_add(o, key, v);
}

static void print_scalar(const ImgJson *v)
{
    switch (v->type) {
    case J_STRING:
        img_json_string(v->str);
        break;
    case J_INT:
        printf("%" PRId64, v->num);
        break;
    default:
        printf("%s", v->num ? "true" : "false");
        break;
    }
}

static void print_pretty(const ImgJson *v, int level)
{
    bool object = v->type == J_OBJECT;

    if (!v->items) {
        print_scalar(v);
        return;
    }
    putchar(object ? '{' : '[');
    for (guint i = 0; i < v->items->len; i++) {
        const ImgJson *item = g_ptr_array_index(v->items, i);

        printf("%s\n%*s", i ? "," : "", (level + 1) * 4, "");
        if (object) {
            img_json_string(item->key);
            printf(": ");
        }
        print_pretty(item, level + 1);
    }
    printf("\n%*s%c", level * 4, "", object ? '}' : ']');
}

void img_json_print(const ImgJson *v)
{
    print_pretty(v, 0);
    putchar('\n');
}

void img_json_print_human(const ImgJson *v, int indent)
{
    for (guint i = 0; i < v->items->len; i++) {
        const ImgJson *item = g_ptr_array_index(v->items, i);
        bool composite = item->items != NULL;

        if (v->type == J_OBJECT) {
            g_autofree char *key = g_strdup(item->key);

            g_strdelimit(key, "-", ' ');
            printf("%*s%s:%c", indent * 4, "", key, composite ? '\n' : ' ');
        } else {
            printf("%*s[%u]:%c", indent * 4, "", i, composite ? '\n' : ' ');
        }
        if (composite) {
            img_json_print_human(item, indent + 1);
        } else if (item->type == J_STRING) {
            printf("%s\n", item->str);
        } else {
            print_scalar(item);
            putchar('\n');
        }
    }
}
