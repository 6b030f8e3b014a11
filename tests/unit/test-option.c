/*
 * Tests for qemu/option.h: option parameter lists, the `-o` string
 * parser, sizes, booleans and the printers, with every error path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/option.h"
#include "qapi/error.h"

#define KiB 1024ULL
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define TiB (GiB * 1024)
#define PiB (TiB * 1024)
#define EiB (PiB * 1024)

/* A driver's static list, as in BlockDriver.create_options. */
static QEMUOptionParameter template[] = {
    { .name = "size", .type = OPT_SIZE, .help = "Virtual disk size" },
    { .name = "backing_file", .type = OPT_STRING, .help = "Backing image" },
    { .name = "encryption", .type = OPT_FLAG },
    { .name = "table_size", .type = OPT_NUMBER, .help = "Table entries" },
    { NULL }
};

static QEMUOptionParameter *copy_template(void)
{
    return append_option_parameters(NULL, template);
}

/* Assert @err is set and its message contains @needle; free it. */
static void assert_error(Error **err, const char *needle)
{
    g_assert_nonnull(*err);
    g_assert_nonnull(strstr(error_get_pretty(*err), needle));
    g_assert_null(strchr(error_get_pretty(*err), '\n'));
    error_free_or_abort(err);
}

/* Whatever @fn writes to a FILE, as a string (g_free it). */
static char *capture(void (*fn)(FILE *, QEMUOptionParameter *),
                     QEMUOptionParameter *list)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    fn(f, list);
    fclose(f);
    return buf;
}

/* ---- lookup ---- */

static void test_count(void)
{
    QEMUOptionParameter empty[] = { { NULL } };

    g_assert_cmpint(count_option_parameters(NULL), ==, 0);
    g_assert_cmpint(count_option_parameters(empty), ==, 0);
    g_assert_cmpint(count_option_parameters(template), ==, 4);
}

static void test_get(void)
{
    g_assert_true(get_option_parameter(template, "size") == &template[0]);
    g_assert_true(get_option_parameter(template, "table_size") ==
                  &template[3]);
    g_assert_null(get_option_parameter(template, "sizes"));
    g_assert_null(get_option_parameter(NULL, "size"));
}

/* ---- set ---- */

static void test_set_each_type(void)
{
    QEMUOptionParameter *l = copy_template();

    g_assert_cmpint(set_option_parameter(l, "size", "2M", &error_abort),
                    ==, 0);
    g_assert_cmpuint(l[0].value.n, ==, 2 * MiB);
    g_assert_true(l[0].assigned);
    g_assert_cmpint(set_option_parameter(l, "backing_file", "base.img",
                                         &error_abort), ==, 0);
    g_assert_cmpstr(l[1].value.s, ==, "base.img");
    /* Replacing a string frees the old one (ASan would notice a leak). */
    set_option_parameter(l, "backing_file", "other.img", &error_abort);
    g_assert_cmpstr(l[1].value.s, ==, "other.img");
    set_option_parameter(l, "encryption", "on", &error_abort);
    g_assert_cmpuint(l[2].value.n, ==, 1);
    set_option_parameter(l, "encryption", "off", &error_abort);
    g_assert_cmpuint(l[2].value.n, ==, 0);
    set_option_parameter(l, "encryption", NULL, &error_abort);
    g_assert_cmpuint(l[2].value.n, ==, 1);
    set_option_parameter(l, "table_size", "18446744073709551615",
                         &error_abort);
    g_assert_cmpuint(l[3].value.n, ==, UINT64_MAX);
    free_option_parameters(l);
}

static void test_set_errors(void)
{
    QEMUOptionParameter *l = copy_template();
    Error *err = NULL;

    g_assert_cmpint(set_option_parameter(l, "nope", "1", &err), ==, -1);
    assert_error(&err, "unknown option 'nope'");
    g_assert_cmpint(set_option_parameter(l, "size", NULL, &err), ==, -1);
    assert_error(&err, "option 'size' needs a value");
    g_assert_cmpint(set_option_parameter(l, "size", "x", &err), ==, -1);
    assert_error(&err, "option 'size'");
    g_assert_cmpint(set_option_parameter(l, "encryption", "maybe", &err),
                    ==, -1);
    assert_error(&err, "option 'encryption' expects on or off");
    g_assert_cmpint(set_option_parameter(l, "table_size", "12a", &err),
                    ==, -1);
    assert_error(&err, "option 'table_size' expects a non-negative integer");
    g_assert_cmpint(set_option_parameter(l, "table_size", "-1", &err),
                    ==, -1);
    assert_error(&err, "non-negative");
    g_assert_cmpint(set_option_parameter(l, "table_size", "", &err), ==, -1);
    assert_error(&err, "non-negative");
    g_assert_cmpint(set_option_parameter(l, "table_size",
                                         "18446744073709551616", &err),
                    ==, -1);
    assert_error(&err, "option 'table_size': number '18446744073709551616' "
                 "is too large");
    g_assert_cmpint(set_option_parameter(l, "backing_file", NULL, &err),
                    ==, -1);
    assert_error(&err, "needs a value");
    /* Nothing was assigned by the failed calls; errp NULL is allowed. */
    g_assert_cmpint(set_option_parameter(l, "size", "bad", NULL), ==, -1);
    for (int i = 0; i < 4; i++) {
        g_assert_false(l[i].assigned);
    }
    free_option_parameters(l);
}

static void test_set_int(void)
{
    QEMUOptionParameter *l = copy_template();
    Error *err = NULL;

    g_assert_cmpint(set_option_parameter_int(l, "size", 5 * GiB,
                                             &error_abort), ==, 0);
    g_assert_cmpuint(l[0].value.n, ==, 5 * GiB);
    g_assert_true(l[0].assigned);
    g_assert_cmpint(set_option_parameter_int(l, "encryption", 1,
                                             &error_abort), ==, 0);
    g_assert_cmpuint(l[2].value.n, ==, 1);
    g_assert_cmpint(set_option_parameter_int(l, "table_size", 7,
                                             &error_abort), ==, 0);
    g_assert_cmpuint(l[3].value.n, ==, 7);

    g_assert_cmpint(set_option_parameter_int(l, "encryption", 2, &err),
                    ==, -1);
    assert_error(&err, "option 'encryption' is a flag");
    g_assert_cmpint(set_option_parameter_int(l, "backing_file", 1, &err),
                    ==, -1);
    assert_error(&err, "option 'backing_file' takes a string");
    g_assert_false(l[1].assigned);
    g_assert_cmpint(set_option_parameter_int(l, "nope", 1, &err), ==, -1);
    assert_error(&err, "unknown option 'nope'");
    free_option_parameters(l);
}

/* ---- append / free ---- */

static void test_append(void)
{
    QEMUOptionParameter extra[] = {
        { .name = "size", .type = OPT_NUMBER },      /* shadowed */
        { .name = "preallocation", .type = OPT_STRING,
          .value.s = (char *)"full" },
        { NULL }
    };
    QEMUOptionParameter *l = copy_template();

    set_option_parameter(l, "backing_file", "b.img", &error_abort);
    l = append_option_parameters(l, extra);
    g_assert_cmpint(count_option_parameters(l), ==, 5);
    g_assert_cmpint(l[0].type, ==, OPT_SIZE);      /* first one kept */
    g_assert_cmpstr(l[1].value.s, ==, "b.img");    /* moved over */
    g_assert_cmpstr(l[4].name, ==, "preallocation");
    g_assert_true(l[4].value.s != extra[1].value.s);  /* copied */
    g_assert_cmpstr(l[4].value.s, ==, "full");
    g_assert_null(l[5].name);
    /* The template itself is never changed. */
    g_assert_null(template[1].value.s);
    g_assert_false(template[1].assigned);
    free_option_parameters(l);
}

static void test_append_empty(void)
{
    QEMUOptionParameter *l = append_option_parameters(NULL, NULL);

    g_assert_nonnull(l);
    g_assert_cmpint(count_option_parameters(l), ==, 0);
    free_option_parameters(l);
    free_option_parameters(NULL);
}

/* ---- parse ---- */

static void test_parse_basic(void)
{
    bool help = true;
    QEMUOptionParameter *l = parse_option_parameters(
        "size=1.5G,backing_file=a.img,encryption,table_size=12",
        template, NULL, &help, &error_abort);

    g_assert_nonnull(l);
    g_assert_false(help);
    g_assert_cmpuint(get_option_parameter(l, "size")->value.n, ==,
                     GiB + GiB / 2);
    g_assert_cmpstr(get_option_parameter(l, "backing_file")->value.s, ==,
                    "a.img");
    g_assert_cmpuint(get_option_parameter(l, "encryption")->value.n, ==, 1);
    g_assert_cmpuint(get_option_parameter(l, "table_size")->value.n, ==, 12);
    free_option_parameters(l);
}

static void test_parse_escaped_comma(void)
{
    QEMUOptionParameter *l = parse_option_parameters(
        "backing_file=a,,b,,,,c.img,size=1k", template, NULL, NULL,
        &error_abort);

    g_assert_cmpstr(get_option_parameter(l, "backing_file")->value.s, ==,
                    "a,b,,c.img");
    g_assert_cmpuint(get_option_parameter(l, "size")->value.n, ==, KiB);
    free_option_parameters(l);

    l = parse_option_parameters("backing_file=x,,", template, NULL, NULL,
                                &error_abort);
    g_assert_cmpstr(get_option_parameter(l, "backing_file")->value.s, ==,
                    "x,");
    free_option_parameters(l);
}

static void test_parse_edge_cases(void)
{
    QEMUOptionParameter *l;

    /* Empty string: a plain copy; empty value is an empty string. */
    l = parse_option_parameters("", template, NULL, NULL, &error_abort);
    g_assert_cmpint(count_option_parameters(l), ==, 4);
    g_assert_false(l[0].assigned);
    free_option_parameters(l);
    l = parse_option_parameters("backing_file=,size=0,", template, NULL,
                                NULL, &error_abort);
    g_assert_cmpstr(l[1].value.s, ==, "");
    g_assert_true(l[0].assigned);
    g_assert_cmpuint(l[0].value.n, ==, 0);
    free_option_parameters(l);
    /* Later keys win; a value may contain '='. */
    l = parse_option_parameters("size=1,size=2,backing_file=a=b", template,
                                NULL, NULL, &error_abort);
    g_assert_cmpuint(l[0].value.n, ==, 2);
    g_assert_cmpstr(l[1].value.s, ==, "a=b");
    free_option_parameters(l);
}

static void test_parse_into_dest(void)
{
    QEMUOptionParameter *dest = copy_template();
    QEMUOptionParameter *l;

    set_option_parameter(dest, "table_size", "3", &error_abort);
    l = parse_option_parameters("size=4k", NULL, dest, NULL, &error_abort);
    g_assert_true(l == dest);
    g_assert_cmpuint(l[0].value.n, ==, 4 * KiB);
    g_assert_cmpuint(l[3].value.n, ==, 3);
    free_option_parameters(l);

    /* On failure the given dest is consumed too (ASan checks no leak). */
    dest = copy_template();
    set_option_parameter(dest, "backing_file", "x", &error_abort);
    l = parse_option_parameters("bogus=1", NULL, dest, NULL, NULL);
    g_assert_null(l);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *param;
        const char *msg;
    } cases[] = {
        { "bogus=1", "unknown option 'bogus'" },
        { "size=1M,bogus", "unknown option 'bogus'" },
        { "size", "option 'size' needs a value" },
        { "size=12x", "option 'size'" },
        { "encryption=2", "option 'encryption' expects on or off" },
        { "table_size=0x10", "option 'table_size'" },
        { ",size=1", "empty option name" },
        { "=5", "empty option name" },
        { "size=1,,size=2", "option 'size'" },
    };
    bool help;
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        QEMUOptionParameter *l = parse_option_parameters(
            cases[i].param, template, NULL, &help, &err);

        g_test_message("param: %s", cases[i].param);
        g_assert_null(l);
        g_assert_false(help);
        assert_error(&err, cases[i].msg);
    }
}

static void test_parse_help(void)
{
    static const char *const params[] = {
        "help", "?", "size=1M,help", "help,bogus=1",
    };
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        bool help = false;
        QEMUOptionParameter *l = parse_option_parameters(
            params[i], template, NULL, &help, &err);

        g_assert_null(l);
        g_assert_true(help);
        g_assert_null(err);
    }
    /* Without a flag to set, help is still not an error. */
    g_assert_null(parse_option_parameters("help", template, NULL, NULL,
                                          &err));
    g_assert_null(err);
}

/* ---- sizes ---- */

static void test_size_valid(void)
{
    static const struct {
        const char *str;
        uint64_t value;
    } cases[] = {
        { "0", 0 },
        { "512", 512 },
        { "512b", 512 },
        { "512B", 512 },
        { "1k", KiB },
        { "1K", KiB },
        { "64M", 64 * MiB },
        { "64m", 64 * MiB },
        { "2G", 2 * GiB },
        { "3T", 3 * TiB },
        { "4P", 4 * PiB },
        { "7E", 7 * EiB },
        { "1.5G", GiB + GiB / 2 },
        { "0.5k", 512 },
        { "1.1k", 1126 },                       /* 1126.4, rounded down */
        { "0.000000000000000001E", 1 },         /* 2^60 / 10^18 = 1.15 */
        { "7.99999999999999999E", 9223372036854775796ULL },
        { "9223372036854775807", INT64_MAX },
        { "007", 7 },
    };
    uint64_t v;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_test_message("size: %s", cases[i].str);
        g_assert_cmpint(parse_option_size("size", cases[i].str, &v,
                                          &error_abort), ==, 0);
        g_assert_cmpuint(v, ==, cases[i].value);
    }
}

static void test_size_errors(void)
{
    static const struct {
        const char *str;
        const char *msg;
    } cases[] = {
        { "-1", "option 'cluster_size': size '-1' is negative" },
        { "-1k", "is negative" },
        { "", "'' is not a size" },
        { "k", "'k' is not a size" },
        { "12x", "'12x' is not a size" },
        { "12kb", "'12kb' is not a size" },
        { "1.5", "'1.5' is not a size" },       /* fraction of a byte */
        { "1.5b", "is not a size" },
        { "1.", "is not a size" },
        { ".5k", "is not a size" },
        { "1.2.3k", "is not a size" },
        { " 1k", "is not a size" },
        { "1k ", "is not a size" },
        { "+1", "is not a size" },
        { "0x10", "is not a size" },
        { "1.0000000000000000000k", "is not a size" },  /* 19 decimals */
        { "8E", "'8E' is too large" },
        { "9223372036854775808", "is too large" },
        { "18446744073709551616", "is too large" },
        { "99999999999999999999999k", "is too large" },
        { "8388608T", "is too large" },
    };
    uint64_t v = 42;
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_test_message("size: '%s'", cases[i].str);
        g_assert_cmpint(parse_option_size("cluster_size", cases[i].str, &v,
                                          &err), ==, -1);
        assert_error(&err, cases[i].msg);
        g_assert_cmpuint(v, ==, 42);            /* untouched */
    }
    g_assert_cmpint(parse_option_size("s", "bad", &v, NULL), ==, -1);
}

/* ---- booleans ---- */

static void test_bool(void)
{
    static const char *const on[] = { "", "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };
    static const char *const bad[] = { "1", "0", "ON", "y", "onn", " on" };
    bool v;
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
        v = false;
        g_assert_cmpint(parse_option_bool("f", on[i], &v, &error_abort),
                        ==, 0);
        g_assert_true(v);
    }
    v = false;
    g_assert_cmpint(parse_option_bool("f", NULL, &v, &error_abort), ==, 0);
    g_assert_true(v);
    for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
        v = true;
        g_assert_cmpint(parse_option_bool("f", off[i], &v, &error_abort),
                        ==, 0);
        g_assert_false(v);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        v = true;
        g_assert_cmpint(parse_option_bool("lazy", bad[i], &v, &err), ==, -1);
        assert_error(&err, "option 'lazy' expects on or off");
        g_assert_true(v);
    }
}

/* ---- printing ---- */

static void test_print(void)
{
    QEMUOptionParameter *l = parse_option_parameters(
        "table_size=9,backing_file=b.img,size=1M,encryption=off",
        template, NULL, NULL, &error_abort);
    g_autofree char *all = capture(print_option_parameters, l);
    g_autofree char *none = NULL;

    /* In list order, only assigned entries, no trailing separator. */
    g_assert_cmpstr(all, ==, "size=1048576 backing_file=b.img "
                    "encryption=off table_size=9");
    free_option_parameters(l);

    l = copy_template();
    set_option_parameter(l, "encryption", "on", &error_abort);
    g_free(all);
    all = capture(print_option_parameters, l);
    g_assert_cmpstr(all, ==, "encryption=on");
    free_option_parameters(l);

    none = capture(print_option_parameters, NULL);
    g_assert_cmpstr(none, ==, "");
}

static void test_print_help(void)
{
    g_autofree char *out = capture(print_option_help, template);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    g_assert_cmpint(g_strv_length(lines), ==, 5);   /* 4 + empty tail */
    g_assert_true(g_str_has_prefix(g_strstrip(lines[0]), "size=<size>"));
    g_assert_true(g_str_has_suffix(lines[0], "- Virtual disk size"));
    g_assert_true(g_str_has_prefix(g_strstrip(lines[1]),
                                   "backing_file=<str>"));
    g_assert_cmpstr(g_strstrip(lines[2]), ==, "encryption=<bool>");
    g_assert_true(g_str_has_prefix(g_strstrip(lines[3]),
                                   "table_size=<num>"));
    g_assert_true(g_str_has_suffix(lines[3], "- Table entries"));
    g_assert_cmpstr(lines[4], ==, "");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/list/count", test_count);
    g_test_add_func("/option/list/get", test_get);
    g_test_add_func("/option/set/each-type", test_set_each_type);
    g_test_add_func("/option/set/errors", test_set_errors);
    g_test_add_func("/option/set/int", test_set_int);
    g_test_add_func("/option/append/merge", test_append);
    g_test_add_func("/option/append/empty", test_append_empty);
    g_test_add_func("/option/parse/basic", test_parse_basic);
    g_test_add_func("/option/parse/escaped-comma", test_parse_escaped_comma);
    g_test_add_func("/option/parse/edge-cases", test_parse_edge_cases);
    g_test_add_func("/option/parse/into-dest", test_parse_into_dest);
    g_test_add_func("/option/parse/errors", test_parse_errors);
    g_test_add_func("/option/parse/help", test_parse_help);
    g_test_add_func("/option/size/valid", test_size_valid);
    g_test_add_func("/option/size/errors", test_size_errors);
    g_test_add_func("/option/bool", test_bool);
    g_test_add_func("/option/print/values", test_print);
    g_test_add_func("/option/print/help", test_print_help);
    return g_test_run();
}
