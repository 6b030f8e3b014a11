/*
 * Option parameter lists: the `-o key=value,...` options of image
 * creation.
 *
 * A driver describes what it accepts as a static array of
 * QEMUOptionParameter terminated by an entry whose name is NULL.  A
 * caller copies the array (append_option_parameters), fills values from
 * the user's string (parse_option_parameters) or one by one
 * (set_option_parameter*), passes the filled copy to bdrv_create and
 * frees it (free_option_parameters).  Values of a copied list belong to
 * the copy.
 *
 * Syntax of the user's string: comma separated `key=value` pairs; a
 * literal comma inside a value is written `,,`; a flag may be given as
 * `key` alone (meaning on), or `key=on|off|yes|no|true|false`; sizes take
 * an optional suffix k, M, G, T, P, E (powers of 1024) or b for bytes.
 * The key `help` (or `?`) asks for the list; parse_option_parameters
 * reports that through its return value without setting an error.
 *
 * Not thread-safe: a list is owned by one caller at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_OPTION_H
#define QEMU_OPTION_H

#include "qemu/osdep.h"

enum QEMUOptionParType {
    OPT_FLAG,       /* value.n is 0 or 1 */
    OPT_NUMBER,     /* value.n, a plain non-negative integer */
    OPT_SIZE,       /* value.n, bytes, with the size suffixes above */
    OPT_STRING,     /* value.s, a string (NULL when unset) */
};

typedef struct QEMUOptionParameter {
    const char *name;
    enum QEMUOptionParType type;
    union {
        uint64_t n;
        char *s;
    } value;
    const char *help;
    bool assigned;  /* a value was set (not just the default) */
} QEMUOptionParameter;

/* Number of entries before the NULL-named terminator (0 for NULL). */
int count_option_parameters(const QEMUOptionParameter *list);

/* The entry called @name, or NULL.  @list may be NULL. */
QEMUOptionParameter *get_option_parameter(QEMUOptionParameter *list,
                                          const char *name);

/*
 * Parse @value according to the type of entry @name and store it.
 * Returns 0, or -1 with @errp set (unknown name, malformed or
 * out-of-range value; the message names the option).
 */
int set_option_parameter(QEMUOptionParameter *list, const char *name,
                         const char *value, Error **errp);

/* Store a number (flag, number or size entries). 0, or -1 with @errp. */
int set_option_parameter_int(QEMUOptionParameter *list, const char *name,
                             uint64_t value, Error **errp);

/*
 * Return a new list holding the entries of @dest followed by those of
 * @list whose names @dest does not already have; @dest is freed (it may
 * be NULL, which makes a plain copy of @list).  String values are copied.
 */
QEMUOptionParameter *append_option_parameters(QEMUOptionParameter *dest,
                                              QEMUOptionParameter *list);

/*
 * Parse the user's string @param into a copy of @list (or into @dest when
 * it is not NULL, which is then consumed).  Returns the filled list;
 * NULL with @errp set on any bad key or value (nothing is leaked).
 * When @param asks for help, returns NULL, sets *@help_requested (if
 * given) and leaves @errp untouched.
 */
QEMUOptionParameter *parse_option_parameters(const char *param,
                                             QEMUOptionParameter *list,
                                             QEMUOptionParameter *dest,
                                             bool *help_requested,
                                             Error **errp);

/* Free a list made by append/parse, with its string values. */
void free_option_parameters(QEMUOptionParameter *list);

/* Print the assigned values as `name=value` separated by spaces. */
void print_option_parameters(FILE *out, QEMUOptionParameter *list);

/* Print one line per entry: name, type and help text. */
void print_option_help(FILE *out, QEMUOptionParameter *list);

/*
 * Parse a size with an optional suffix (see above) into *@value.
 * Returns 0, or -1 with @errp set naming @what.
 */
int parse_option_size(const char *what, const char *str, uint64_t *value,
                      Error **errp);

/* Parse on/off/yes/no/true/false (or "" meaning on) into *@value. */
int parse_option_bool(const char *what, const char *str, bool *value,
                      Error **errp);

#endif /* QEMU_OPTION_H */
