/*
 * Option parameter lists (`-o key=value,...` for image creation).
 *
 * Design: a list is a plain array ending in a NULL-named entry, so a
 * driver can declare its options as a static initialiser.  Every list the
 * caller fills is a private copy (append_option_parameters), and a copy
 * owns the strings its OPT_STRING entries point to; free frees them.
 * Parsing works on that copy one `key[=value]` item at a time, through
 * the same set_option_parameter a caller would use, so there is one place
 * that turns text into a typed value.
 *
 * Sizes are parsed exactly, without floating point: "1.5G" is the
 * integer part times 2^30 plus the fraction times 2^30 done by long
 * division, rounded down to a whole byte.  They are capped at INT64_MAX
 * because the block layer holds sizes in int64_t.
 *
 * Invariant: a copy's OPT_STRING values are NULL or owned g_malloc
 * strings; nothing else in a list is owned.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/option.h"
#include "qapi/error.h"

/* Most fraction digits a size may have: 10^18 still fits a uint64_t. */
#define SIZE_MAX_FRACTION_DIGITS 18

/* ---- lookup ---------------------------------------------------------- */

int count_option_parameters(const QEMUOptionParameter *list)
{
    int n = 0;

    while (list && list[n].name) {
        n++;
    }
    return n;
}

QEMUOptionParameter *get_option_parameter(QEMUOptionParameter *list,
                                          const char *name)
{
    for (; list && list->name; list++) {
        if (!strcmp(list->name, name)) {
            return list;
        }
    }
    return NULL;
}

static QEMUOptionParameter *find_or_fail(QEMUOptionParameter *list,
                                         const char *name, Error **errp)
{
    QEMUOptionParameter *opt = get_option_parameter(list, name);

    if (!opt) {
        error_setg(errp, "unknown option '%s'", name);
    }
    return opt;
}

/* ---- scalar parsers -------------------------------------------------- */

int parse_option_bool(const char *what, const char *str, bool *value,
                      Error **errp)
{
    static const char *const yes[] = { "", "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };
    size_t i;

    str = str ? str : "";
    for (i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcmp(str, yes[i])) {
            *value = true;
            return 0;
        }
    }
    for (i = 0; i < ARRAY_SIZE(no); i++) {
        if (!strcmp(str, no[i])) {
            *value = false;
            return 0;
        }
    }
    error_setg(errp, "option '%s' expects on or off, not '%s'", what, str);
    return -1;
}

/*
 * Read the decimal digits at *@p into *@n, advancing *@p past all of
 * them.  Returns the number of digits, or -1 if they overflow a uint64_t.
 */
static int read_decimal(const char **p, uint64_t *n)
{
    int digits = 0;
    bool overflow = false;

    *n = 0;
    for (; g_ascii_isdigit(**p); (*p)++, digits++) {
        unsigned d = **p - '0';

        overflow |= *n > (UINT64_MAX - d) / 10;
        *n = *n * 10 + d;
    }
    return overflow ? -1 : digits;
}

/* log2 of the multiplier of size suffix @c, or -1 if @c is not one. */
static int suffix_shift(char c)
{
    static const char units[] = "bkmgtpe";
    const char *u = strchr(units, g_ascii_tolower(c));

    return c && u ? (int)(u - units) * 10 : -1;
}

/*
 * floor(@frac / 10^@digits * 2^@shift): long division by 10^@digits, one
 * bit of the multiplier at a time, so nothing overflows.
 */
static uint64_t scale_fraction(uint64_t frac, int digits, int shift)
{
    uint64_t den = 1;
    uint64_t q = 0;
    int i;

    for (i = 0; i < digits; i++) {
        den *= 10;
    }
    for (i = 0; i < shift; i++) {
        frac *= 2;                       /* < 2 * 10^18, fits */
        q = q * 2 + frac / den;
        frac %= den;
    }
    return q;
}

/* The parsed pieces of a size: whole[.fraction][suffix]. */
typedef struct SizeParts {
    uint64_t whole;
    uint64_t frac;
    int frac_digits;
    int shift;
} SizeParts;

/* Split @str into parts; false if it is not of the size syntax at all. */
static bool split_size(const char *str, SizeParts *sp, bool *overflow)
{
    const char *p = str;
    int whole_digits = read_decimal(&p, &sp->whole);

    *overflow = whole_digits < 0;
    sp->frac = 0;
    sp->frac_digits = 0;
    if (*p == '.') {
        p++;
        sp->frac_digits = read_decimal(&p, &sp->frac);
        if (sp->frac_digits <= 0 ||
            sp->frac_digits > SIZE_MAX_FRACTION_DIGITS) {
            return false;
        }
    }
    if (whole_digits == 0) {
        return false;
    }
    sp->shift = *p ? suffix_shift(*p++) : 0;
    /* A fraction needs a unit to be a fraction of: no "1.5" bytes. */
    return sp->shift >= 0 && *p == '\0' &&
           (sp->shift > 0 || !sp->frac_digits);
}

int parse_option_size(const char *what, const char *str, uint64_t *value,
                      Error **errp)
{
    SizeParts sp;
    bool overflow;
    uint64_t total;

    str = str ? str : "";
    if (str[0] == '-') {
        error_setg(errp, "option '%s': size '%s' is negative", what, str);
        return -1;
    }
    if (!split_size(str, &sp, &overflow)) {
        error_setg(errp, "option '%s': '%s' is not a size (use a number "
                   "with an optional k, M, G, T, P, E or b suffix)",
                   what, str);
        return -1;
    }
    if (overflow || sp.whole > ((uint64_t)INT64_MAX >> sp.shift)) {
        goto too_large;
    }
    total = (sp.whole << sp.shift) +
            scale_fraction(sp.frac, sp.frac_digits, sp.shift);
    if (total > INT64_MAX) {
        goto too_large;
    }
    *value = total;
    return 0;

too_large:
    error_setg(errp, "option '%s': size '%s' is too large (at most %"
               PRId64 " bytes)", what, str, INT64_MAX);
    return -1;
}

static int parse_number(const char *what, const char *str, uint64_t *value,
                        Error **errp)
{
    const char *p = str;
    int digits = read_decimal(&p, value);

    if (digits < 0) {
        error_setg(errp, "option '%s': number '%s' is too large", what, str);
        return -1;
    }
    if (digits == 0 || *p != '\0') {
        error_setg(errp, "option '%s' expects a non-negative integer, "
                   "not '%s'", what, str);
        return -1;
    }
    return 0;
}

/* ---- setting values -------------------------------------------------- */

/* Parse @value by @opt's type into @opt; NULL @value means "key" alone. */
static int set_parsed(QEMUOptionParameter *opt, const char *value,
                      Error **errp)
{
    bool flag;

    if (!value && opt->type != OPT_FLAG) {
        error_setg(errp, "option '%s' needs a value", opt->name);
        return -1;
    }
    switch (opt->type) {
    case OPT_FLAG:
        if (parse_option_bool(opt->name, value, &flag, errp) < 0) {
            return -1;
        }
        opt->value.n = flag;
        break;
    case OPT_NUMBER:
        if (parse_number(opt->name, value, &opt->value.n, errp) < 0) {
            return -1;
        }
        break;
    case OPT_SIZE:
        if (parse_option_size(opt->name, value, &opt->value.n, errp) < 0) {
            return -1;
        }
        break;
    case OPT_STRING:
        g_free(opt->value.s);
        opt->value.s = g_strdup(value);
        break;
    default:
        g_assert_not_reached();
    }
    opt->assigned = true;
    return 0;
}

int set_option_parameter(QEMUOptionParameter *list, const char *name,
                         const char *value, Error **errp)
{
    QEMUOptionParameter *opt = find_or_fail(list, name, errp);

    return opt ? set_parsed(opt, value, errp) : -1;
}

int set_option_parameter_int(QEMUOptionParameter *list, const char *name,
                             uint64_t value, Error **errp)
{
    QEMUOptionParameter *opt = find_or_fail(list, name, errp);

    if (!opt) {
        return -1;
    }
    if (opt->type == OPT_STRING) {
        error_setg(errp, "option '%s' takes a string, not a number", name);
        return -1;
    }
    if (opt->type == OPT_FLAG && value > 1) {
        error_setg(errp, "option '%s' is a flag: %" PRIu64
                   " is neither 0 nor 1", name, value);
        return -1;
    }
    opt->value.n = value;
    opt->assigned = true;
    return 0;
}

/* ---- copying and freeing --------------------------------------------- */

QEMUOptionParameter *append_option_parameters(QEMUOptionParameter *dest,
                                              QEMUOptionParameter *list)
{
    int n_dest = count_option_parameters(dest);
    int n_list = count_option_parameters(list);
    QEMUOptionParameter *res = g_new0(QEMUOptionParameter,
                                      n_dest + n_list + 1);
    int n = n_dest;
    int i;

    /* Entries of @dest move over with their strings; @dest's array goes. */
    if (n_dest) {
        memcpy(res, dest, n_dest * sizeof(*res));
    }
    g_free(dest);
    for (i = 0; i < n_list; i++) {
        if (get_option_parameter(res, list[i].name)) {
            continue;
        }
        res[n] = list[i];
        if (res[n].type == OPT_STRING) {
            res[n].value.s = g_strdup(list[i].value.s);
        }
        n++;
    }
    return res;
}

void free_option_parameters(QEMUOptionParameter *list)
{
    QEMUOptionParameter *opt;

    for (opt = list; opt && opt->name; opt++) {
        if (opt->type == OPT_STRING) {
            g_free(opt->value.s);
        }
    }
    g_free(list);
}

/* ---- parsing the user's string --------------------------------------- */

/*
 * Split the next item off *@p: the key (up to '=' or ',') into *@key and,
 * if there is an '=', the value with ",," unescaped into *@value (else
 * NULL).  Advances *@p past the item and its separating comma.
 */
static void next_item(const char **p, char **key, char **value)
{
    const char *s = *p;
    size_t klen = strcspn(s, "=,");
    GString *v;

    *key = g_strndup(s, klen);
    s += klen;
    *value = NULL;
    if (*s == '=') {
        v = g_string_new(NULL);
        for (s++; *s; s++) {
            if (*s == ',' && s[1] != ',') {
                break;
            }
            s += *s == ',';          /* ",," stands for one comma */
            g_string_append_c(v, *s);
        }
        *value = g_string_free(v, FALSE);
    }
    *p = *s == ',' ? s + 1 : s;
}

static bool is_help_key(const char *key)
{
    return !strcmp(key, "help") || !strcmp(key, "?");
}

/*
 * Apply every item of @param to @dest.  Returns 0, 1 when help was asked
 * for (parsing stops there), or -1 with @errp set.
 */
static int apply_items(QEMUOptionParameter *dest, const char *param,
                       Error **errp)
{
    const char *p = param;

    while (*p) {
        g_autofree char *key = NULL;
        g_autofree char *value = NULL;

        next_item(&p, &key, &value);
        if (is_help_key(key)) {
            return 1;
        }
        if (!*key) {
            error_setg(errp, "empty option name in '%s'", param);
            return -1;
        }
        if (set_option_parameter(dest, key, value, errp) < 0) {
            return -1;
        }
    }
    return 0;
}

QEMUOptionParameter *parse_option_parameters(const char *param,
                                             QEMUOptionParameter *list,
                                             QEMUOptionParameter *dest,
                                             bool *help_requested,
                                             Error **errp)
{
    int ret;

    if (help_requested) {
        *help_requested = false;
    }
    if (!dest) {
        dest = append_option_parameters(NULL, list);
    }
    ret = apply_items(dest, param ? param : "", errp);
    if (ret == 0) {
        return dest;
    }
    if (ret > 0 && help_requested) {
        *help_requested = true;
    }
    free_option_parameters(dest);
    return NULL;
}

/* ---- printing -------------------------------------------------------- */

static void print_value(FILE *out, const QEMUOptionParameter *opt)
{
    switch (opt->type) {
    case OPT_FLAG:
        fprintf(out, "%s=%s", opt->name, opt->value.n ? "on" : "off");
        break;
    case OPT_NUMBER:
    case OPT_SIZE:
        fprintf(out, "%s=%" PRIu64, opt->name, opt->value.n);
        break;
    case OPT_STRING:
        /* unquoted, as qemu-img's "Formatting ..." line shows them */
        fprintf(out, "%s=%s", opt->name, opt->value.s ? opt->value.s : "");
        break;
    default:
        g_assert_not_reached();
    }
}

void print_option_parameters(FILE *out, QEMUOptionParameter *list)
{
    const char *sep = "";

    for (; list && list->name; list++) {
        if (!list->assigned) {
            continue;
        }
        fputs(sep, out);
        print_value(out, list);
        sep = " ";
    }
}

static const char *type_label(enum QEMUOptionParType type)
{
    switch (type) {
    case OPT_FLAG:
        return "bool";
    case OPT_NUMBER:
        return "num";
    case OPT_SIZE:
        return "size";
    case OPT_STRING:
        return "str";
    }
    return "?";
}

void print_option_help(FILE *out, QEMUOptionParameter *list)
{
    for (; list && list->name; list++) {
        g_autofree char *head = g_strdup_printf("%s=<%s>", list->name,
                                                type_label(list->type));

        if (list->help) {
            fprintf(out, "  %-24s - %s\n", head, list->help);
        } else {
            fprintf(out, "  %s\n", head);
        }
    }
}
