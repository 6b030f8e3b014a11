/*
 * The throw-away PKI shared by the TLS unit tests: certtool makes the
 * keys, certificates, DH parameters and CRL once per test program, and
 * each test copies what it needs into a credentials directory.
 *
 * Not here: anything that loads the files (the tests exercise that).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "tls-cert-helpers.h"

static char *workdir;
static bool have_pki;

static const char ca_template[] =
    "cn = \"Spindle Test CA\"\nca\ncert_signing_key\ncrl_signing_key\n"
    "expiration_days = 365\n";
static const char server_template[] =
    "cn = \"localhost\"\norganization = \"Spindle\"\n"
    "dns_name = \"localhost\"\n"
    "ip_address = \"127.0.0.1\"\ntls_www_server\nsigning_key\n"
    "encryption_key\nexpiration_days = 365\n";
static const char client_template[] =
    "cn = \"spindle-client\"\norganization = \"Spindle\"\ntls_www_client\n"
    "signing_key\nencryption_key\nexpiration_days = 365\n";
static const char expired_template[] =
    "cn = \"localhost\"\ndns_name = \"localhost\"\ntls_www_server\n"
    "signing_key\nencryption_key\n"
    "activation_date = \"2001-01-01 00:00:00\"\n"
    "expiration_date = \"2002-01-01 00:00:00\"\n";
static const char crl_template[] = "crl_next_update = 365\ncrl_number = 1\n";

char *tls_test_pki_file(const char *name)
{
    return g_build_filename(workdir, "pki", name, NULL);
}

static void write_file(const char *path, const char *contents)
{
    g_assert_true(g_file_set_contents(path, contents, -1, NULL));
}

static bool certtool(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int status = -1;

    g_ptr_array_add(argv, (gpointer)"certtool");
    for (; *args; args++) {
        g_ptr_array_add(argv, (gpointer)*args);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, NULL)) {
        return false;
    }
    return g_spawn_check_wait_status(status, NULL);
}

/* @name-key.pem and @name-cert.pem, signed by @ca (NULL: self-signed). */
static bool make_cert(const char *name, const char *ca, const char *tmpl)
{
    g_autofree char *k = g_strdup_printf("%s-key.pem", name);
    g_autofree char *c = g_strdup_printf("%s-cert.pem", name);
    g_autofree char *t = g_strdup_printf("%s.tmpl", name);
    g_autofree char *ck = g_strdup_printf("%s-key.pem", ca ? ca : name);
    g_autofree char *cc = g_strdup_printf("%s-cert.pem", ca ? ca : name);
    g_autofree char *key = tls_test_pki_file(k);
    g_autofree char *cert = tls_test_pki_file(c);
    g_autofree char *tpl = tls_test_pki_file(t);
    g_autofree char *cakey = tls_test_pki_file(ck);
    g_autofree char *cacert = tls_test_pki_file(cc);
    const char *genkey[] = { "--generate-privkey", "--key-type=ecdsa",
                             "--outfile", key, NULL };
    const char *self[] = { "--generate-self-signed", "--load-privkey", key,
                           "--template", tpl, "--outfile", cert, NULL };
    const char *sign[] = { "--generate-certificate", "--load-privkey", key,
                           "--load-ca-certificate", cacert,
                           "--load-ca-privkey", cakey, "--template", tpl,
                           "--outfile", cert, NULL };

    write_file(tpl, tmpl);
    return certtool(genkey) && certtool(ca ? sign : self);
}

/* ca-crl.pem: the CA revokes the client certificate. */
static bool make_crl(void)
{
    g_autofree char *tpl = tls_test_pki_file("crl.tmpl");
    g_autofree char *crl = tls_test_pki_file("ca-crl.pem");
    g_autofree char *cakey = tls_test_pki_file("ca-key.pem");
    g_autofree char *cacert = tls_test_pki_file("ca-cert.pem");
    g_autofree char *revoked = tls_test_pki_file("client-cert.pem");
    const char *args[] = { "--generate-crl", "--load-ca-privkey", cakey,
                           "--load-ca-certificate", cacert,
                           "--load-certificate", revoked, "--template", tpl,
                           "--outfile", crl, NULL };

    write_file(tpl, crl_template);
    return certtool(args);
}

static bool make_dh_params(void)
{
    g_autofree char *dh = tls_test_pki_file("dh-params.pem");
    const char *args[] = { "--get-dh-params", "--outfile", dh, NULL };

    return certtool(args);
}

static bool make_pki(void)
{
    g_autofree char *dir = tls_test_pki_file("");

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    return make_cert("ca", NULL, ca_template) &&
           make_cert("rogue", NULL, ca_template) &&
           make_cert("server", "ca", server_template) &&
           make_cert("client", "ca", client_template) &&
           make_cert("expired", "ca", expired_template) &&
           make_cert("rogue-server", "rogue", server_template) &&
           make_dh_params() && make_crl();
}

bool tls_test_init(const char *tmpl)
{
    workdir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(workdir);
    have_pki = make_pki();
    return have_pki;
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;

    if (dir) {
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_dir_close(dir);
    }
    remove(path);
}

void tls_test_cleanup(void)
{
    remove_tree(workdir);
    g_free(workdir);
    workdir = NULL;
}

const char *tls_test_workdir(void)
{
    return workdir;
}

bool tls_test_skip_without_pki(void)
{
    if (!have_pki) {
        g_test_skip("certtool is not available");
        return true;
    }
    return false;
}

char *tls_test_make_dir(const char *name, ...)
{
    char *dir = g_build_filename(workdir, name, NULL);
    const char *pair;
    va_list ap;

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    va_start(ap, name);
    while ((pair = va_arg(ap, const char *))) {
        g_auto(GStrv) parts = g_strsplit(pair, "=", 2);
        g_autofree char *src = tls_test_pki_file(parts[1]);
        g_autofree char *dst = g_build_filename(dir, parts[0], NULL);
        g_autofree char *data = NULL;

        g_assert_true(g_file_get_contents(src, &data, NULL, NULL));
        write_file(dst, data);
    }
    va_end(ap);
    return dir;
}

char *tls_test_server_dir(void)
{
    return tls_test_make_dir("server", "ca-cert.pem=ca-cert.pem",
                             "server-cert.pem=server-cert.pem",
                             "server-key.pem=server-key.pem", NULL);
}

char *tls_test_client_dir(void)
{
    return tls_test_make_dir("client", "ca-cert.pem=ca-cert.pem",
                             "client-cert.pem=client-cert.pem",
                             "client-key.pem=client-key.pem", NULL);
}

char *tls_test_psk_dir(const char *name, const char *contents)
{
    char *dir = g_build_filename(workdir, name, NULL);
    g_autofree char *file = g_build_filename(dir, "keys.psk", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    write_file(file, contents);
    return dir;
}

void tls_test_assert_error(Error *err, const char *needle)
{
    g_assert_nonnull(err);
    g_test_message("error: %s", error_get_pretty(err));
    if (!strstr(error_get_pretty(err), needle)) {
        g_test_message("error '%s' lacks '%s'", error_get_pretty(err),
                       needle);
        g_assert_not_reached();
    }
    error_free(err);
}
