/*
 * The process-wide table of named secrets (include/crypto/secret.h).
 *
 * What it does: keeps copies of secret bytes under their ids, hands out
 * copies, wipes what it drops.  What it deliberately does not: QEMU's
 * encrypted secrets (keyid=, iv=) or keyrings; no object model, since a
 * secret has no behaviour.  Invariant: every value in the table is a
 * GBytes the table alone references.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/secret.h"

static GMutex secrets_lock;
static GHashTable *secrets;          /* id -> GBytes (secrets_lock) */

static void wipe_bytes(gpointer data)
{
    GBytes *b = data;
    gsize len;
    gconstpointer p = g_bytes_get_data(b, &len);

    /* The table holds the only reference: the memory dies with it. */
    if (len) {
        explicit_bzero((void *)p, len);
    }
    g_bytes_unref(b);
}

static GHashTable *table_locked(void)
{
    if (!secrets) {
        secrets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        wipe_bytes);
    }
    return secrets;
}

bool spindle_secret_add_bytes(const char *id, const void *data, size_t len,
                              Error **errp)
{
    if (!id || !*id) {
        error_setg(errp, "a secret needs a non-empty id");
        return false;
    }
    g_mutex_lock(&secrets_lock);
    if (g_hash_table_contains(table_locked(), id)) {
        g_mutex_unlock(&secrets_lock);
        error_setg(errp, "a secret with id '%s' already exists", id);
        return false;
    }
    g_hash_table_insert(secrets, g_strdup(id), g_bytes_new(data, len));
    g_mutex_unlock(&secrets_lock);
    return true;
}

bool spindle_secret_add(const char *id, const char *data, Error **errp)
{
    return spindle_secret_add_bytes(id, data, strlen(data), errp);
}

bool spindle_secret_remove(const char *id)
{
    bool found;

    g_mutex_lock(&secrets_lock);
    found = secrets && g_hash_table_remove(secrets, id);
    g_mutex_unlock(&secrets_lock);
    return found;
}

char *spindle_secret_lookup_string(const char *id, Error **errp)
{
    GBytes *b;
    char *copy = NULL;
    gsize len;
    gconstpointer p;

    g_mutex_lock(&secrets_lock);
    b = secrets ? g_hash_table_lookup(secrets, id) : NULL;
    if (b) {
        p = g_bytes_get_data(b, &len);
        if (!memchr(p, '\0', len)) {
            copy = g_malloc(len + 1);
            memcpy(copy, p, len);
            copy[len] = '\0';
        }
    }
    g_mutex_unlock(&secrets_lock);
    if (!b) {
        error_setg(errp, "No secret with id '%s'", id);
    } else if (!copy) {
        error_setg(errp, "secret '%s' holds a NUL byte, so it cannot be "
                   "used as a password", id);
    }
    return copy;
}

void spindle_secret_free(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        g_free(secret);
    }
}

/* ---- --object secret,... ---------------------------------------------- */

typedef struct SecretSpec {
    char *id;
    char *data;
    char *file;
    char *format;
} SecretSpec;

static void spec_clear(SecretSpec *s)
{
    g_free(s->id);
    if (s->data) {
        explicit_bzero(s->data, strlen(s->data));
        g_free(s->data);
    }
    g_free(s->file);
    g_free(s->format);
}

/* Split "k=v,k=v" with ",," as a literal comma; the first bare word is
 * the object type. */
static bool parse_spec(const char *str, SecretSpec *s, Error **errp)
{
    g_autoptr(GString) cur = g_string_new("");
    g_autofree char *type = NULL;
    const char *p = str;

    for (;;) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p += 2;
            continue;
        }
        if (*p && *p != ',') {
            g_string_append_c(cur, *p++);
            continue;
        }
        {
            char *eq = strchr(cur->str, '=');
            char **slot = NULL;

            if (!eq && !type) {
                type = g_strdup(cur->str);
            } else if (!eq) {
                error_setg(errp, "object option '%s' has no value", cur->str);
                return false;
            } else {
                *eq = '\0';
                if (!strcmp(cur->str, "qom-type") && !type) {
                    type = g_strdup(eq + 1);
                } else if (!strcmp(cur->str, "id")) {
                    slot = &s->id;
                } else if (!strcmp(cur->str, "data")) {
                    slot = &s->data;
                } else if (!strcmp(cur->str, "file")) {
                    slot = &s->file;
                } else if (!strcmp(cur->str, "format")) {
                    slot = &s->format;
                } else {
                    error_setg(errp, "unknown secret option '%s'", cur->str);
                    return false;
                }
                if (slot) {
                    g_free(*slot);
                    *slot = g_strdup(eq + 1);
                }
            }
            explicit_bzero(cur->str, cur->len);
            g_string_truncate(cur, 0);
        }
        if (!*p) {
            break;
        }
        p++;
    }
    if (g_strcmp0(type, "secret")) {
        error_setg(errp, "object type '%s' is not supported (only 'secret')",
                   type ? type : "");
        return false;
    }
    return true;
}

/* The secret's raw bytes, from data= or file=, decoded per format=. */
static GBytes *spec_value(SecretSpec *s, Error **errp)
{
    g_autoptr(GError) gerr = NULL;
    char *raw;
    gsize len;

    if (!s->id) {
        error_setg(errp, "a secret object needs id=");
        return NULL;
    }
    if (!!s->data == !!s->file) {
        error_setg(errp, "secret '%s' needs exactly one of data= and file=",
                   s->id);
        return NULL;
    }
    if (s->file) {
        if (!g_file_get_contents(s->file, &raw, &len, &gerr)) {
            error_setg(errp, "cannot read secret '%s': %s", s->id,
                       gerr->message);
            return NULL;
        }
    } else {
        raw = g_strdup(s->data);
        len = strlen(raw);
    }
    if (s->format && !strcmp(s->format, "base64")) {
        guchar *dec = g_base64_decode(raw, &len);

        explicit_bzero(raw, strlen(raw));
        g_free(raw);
        return g_bytes_new_take(dec, len);
    }
    if (s->format && strcmp(s->format, "raw")) {
        g_free(raw);
        error_setg(errp, "secret format '%s' is not supported (raw or "
                   "base64)", s->format);
        return NULL;
    }
    return g_bytes_new_take(raw, len);
}

bool spindle_secret_add_object(const char *spec, Error **errp)
{
    SecretSpec s = { 0 };
    GBytes *value = NULL;
    bool ok = false;

    if (parse_spec(spec, &s, errp)) {
        value = spec_value(&s, errp);
    }
    if (value) {
        gsize len;
        gconstpointer p = g_bytes_get_data(value, &len);

        ok = spindle_secret_add_bytes(s.id, p, len, errp);
        wipe_bytes(value);
    }
    spec_clear(&s);
    return ok;
}
