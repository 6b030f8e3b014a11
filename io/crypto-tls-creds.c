/*
 * TLS credentials on GnuTLS: X.509, PSK and anonymous.
 *
 * What: each constructor reads its files from the credentials directory,
 * checks them, and builds the GnuTLS credentials object plus a parsed
 * priority cache, so that starting a session later only attaches them.
 * Errors are found here, once, with a message naming the file, instead
 * of surfacing as an obscure handshake failure on the first connection.
 *
 * What not: no QOM properties and no reloading; a caller that wants new
 * files creates new credentials (sessions keep the old ones alive).  Key
 * usage and key purpose extensions are left to GnuTLS's own verification
 * at handshake time.
 *
 * Invariant: a QCryptoTLSCreds never changes after its constructor
 * returns, so it may be shared by sessions in any number of threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscreds.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* Key exchanges that the PSK and anon kinds add to the priority string. */
#define PSK_PRIORITY_EXTRA "+ECDHE-PSK:+DHE-PSK:+PSK"
#define ANON_PRIORITY_EXTRA "+ANON-ECDH:+ANON-DH"

struct QCryptoTLSCreds {
    Object parent;

    /* All immutable once the constructor has returned. */
    QCryptoTLSCredsEndpoint endpoint;
    char *dir;
    char *priority;                 /* as given, or the default */
    bool verify_peer;               /* X.509 only */
    char *username;                 /* PSK client only */
    gnutls_priority_t prio_cache;   /* effective priority, parsed */
    gnutls_credentials_type_t kind; /* which GnuTLS credentials @cred is */
    void *cred;                     /* gnutls_*_credentials_t of @kind */
    gnutls_dh_params_t dh_params;   /* server, from dh-params.pem */
};

/* ---- object life cycle -------------------------------------------------- */

static void free_gnutls_cred(QCryptoTLSCreds *creds)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;

    if (!creds->cred) {
        return;
    }
    switch (creds->kind) {
    case GNUTLS_CRD_CERTIFICATE:
        gnutls_certificate_free_credentials(creds->cred);
        break;
    case GNUTLS_CRD_PSK:
        if (server) {
            gnutls_psk_free_server_credentials(creds->cred);
        } else {
            gnutls_psk_free_client_credentials(creds->cred);
        }
        break;
    case GNUTLS_CRD_ANON:
        if (server) {
            gnutls_anon_free_server_credentials(creds->cred);
        } else {
            gnutls_anon_free_client_credentials(creds->cred);
        }
        break;
    default:
        g_assert_not_reached();
    }
}

static void creds_finalize(Object *obj)
{
    QCryptoTLSCreds *creds = QCRYPTO_TLS_CREDS(obj);

    free_gnutls_cred(creds);
    if (creds->dh_params) {
        gnutls_dh_params_deinit(creds->dh_params);
    }
    if (creds->prio_cache) {
        gnutls_priority_deinit(creds->prio_cache);
    }
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->username);
}

static QCryptoTLSCreds *creds_alloc(const char *typename,
                                    QCryptoTLSCredsEndpoint endpoint,
                                    const char *dir, const char *priority)
{
    QCryptoTLSCreds *creds = QCRYPTO_TLS_CREDS(object_new(typename));

    creds->endpoint = endpoint;
    creds->dir = g_strdup(dir);
    creds->priority = g_strdup(priority ? priority
                               : QCRYPTO_TLS_CREDS_DEFAULT_PRIORITY);
    return creds;
}

QCryptoTLSCreds *qcrypto_tls_creds_ref(QCryptoTLSCreds *creds)
{
    object_ref(creds);
    return creds;
}

void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds)
{
    object_unref(creds);
}

/* ---- files -------------------------------------------------------------- */

static bool require_dir(const char *dir, Error **errp)
{
    if (!dir || !*dir) {
        error_setg(errp, "TLS credentials need a directory");
        return false;
    }
    return true;
}

/* @dir/@name in *@path when it is readable; else an Error naming it. */
static bool require_file(const char *dir, const char *name, char **path,
                         Error **errp)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);

    if (access(p, R_OK) < 0) {
        error_setg_errno(errp, errno, "cannot read TLS credentials file '%s'",
                         p);
        return false;
    }
    *path = g_steal_pointer(&p);
    return true;
}

/*
 * As require_file for a file that may be absent: returns 1 with *@path
 * set, 0 when it does not exist, -1 with an Error when it exists but
 * cannot be read.
 */
static int optional_file(const char *dir, const char *name, char **path,
                         Error **errp)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);

    if (access(p, F_OK) < 0 && errno == ENOENT) {
        return 0;
    }
    if (access(p, R_OK) < 0) {
        error_setg_errno(errp, errno, "cannot read TLS credentials file '%s'",
                         p);
        return -1;
    }
    *path = g_steal_pointer(&p);
    return 1;
}

/* ---- priority and DH parameters ----------------------------------------- */

static bool init_priority(QCryptoTLSCreds *creds, const char *extra,
                          Error **errp)
{
    g_autofree char *prio = extra
        ? g_strdup_printf("%s:%s", creds->priority, extra)
        : g_strdup(creds->priority);
    const char *bad = NULL;
    int ret = gnutls_priority_init(&creds->prio_cache, prio, &bad);

    if (ret < 0) {
        creds->prio_cache = NULL;
        error_setg(errp, "invalid TLS priority string '%s' at '%s': %s",
                   creds->priority, bad ? bad : "", gnutls_strerror(ret));
        return false;
    }
    return true;
}

/*
 * Load @dir/dh-params.pem into creds->dh_params if the file exists.
 * Returns false with an Error for an unreadable or malformed file.
 */
static bool load_dh_params(QCryptoTLSCreds *creds, Error **errp)
{
    g_autofree char *path = NULL;
    gnutls_datum_t data = { NULL, 0 };
    int ret;

    if (!creds->dir) {
        return true;
    }
    ret = optional_file(creds->dir, QCRYPTO_TLS_CREDS_DH_PARAMS, &path, errp);
    if (ret <= 0) {
        return ret == 0;
    }
    ret = gnutls_load_file(path, &data);
    if (ret >= 0) {
        gnutls_dh_params_init(&creds->dh_params);
        ret = gnutls_dh_params_import_pkcs3(creds->dh_params, &data,
                                            GNUTLS_X509_FMT_PEM);
        gnutls_free(data.data);
    }
    if (ret < 0) {
        error_setg(errp, "cannot load DH parameters '%s': %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

/* ---- X.509 -------------------------------------------------------------- */

typedef struct CertList {
    gnutls_x509_crt_t *certs;
    unsigned int n;
} CertList;

static void cert_list_clear(CertList *list)
{
    for (unsigned int i = 0; i < list->n; i++) {
        gnutls_x509_crt_deinit(list->certs[i]);
    }
    gnutls_free(list->certs);
    list->certs = NULL;
    list->n = 0;
}

static bool load_cert_list(const char *path, CertList *list, Error **errp)
{
    gnutls_datum_t data = { NULL, 0 };
    int ret = gnutls_load_file(path, &data);

    if (ret >= 0) {
        ret = gnutls_x509_crt_list_import2(&list->certs, &list->n, &data,
                                           GNUTLS_X509_FMT_PEM, 0);
        gnutls_free(data.data);
    }
    if (ret < 0) {
        list->n = 0;
        list->certs = NULL;
        error_setg(errp, "cannot load certificate '%s': %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    if (list->n == 0) {
        error_setg(errp, "no certificate found in '%s'", path);
        return false;
    }
    return true;
}

static bool check_cert_times(gnutls_x509_crt_t cert, const char *path,
                             Error **errp)
{
    time_t now = time(NULL);
    time_t expires = gnutls_x509_crt_get_expiration_time(cert);
    time_t starts = gnutls_x509_crt_get_activation_time(cert);

    if (expires == (time_t)-1 || starts == (time_t)-1) {
        error_setg(errp, "cannot read the validity period of certificate "
                   "'%s'", path);
        return false;
    }
    if (expires < now) {
        error_setg(errp, "certificate '%s' has expired", path);
        return false;
    }
    if (starts > now) {
        error_setg(errp, "certificate '%s' is not yet active", path);
        return false;
    }
    return true;
}

static bool check_list_times(const CertList *list, const char *path,
                             Error **errp)
{
    for (unsigned int i = 0; i < list->n; i++) {
        if (!check_cert_times(list->certs[i], path, errp)) {
            return false;
        }
    }
    return true;
}

/* Our own certificate must chain to the CA we ask peers to trust. */
static bool check_cert_signed(const CertList *own, const char *path,
                              const CertList *cas, const char *ca_path,
                              Error **errp)
{
    unsigned int status = 0;
    int ret = gnutls_x509_crt_list_verify(own->certs, own->n,
                                          cas->certs, cas->n, NULL, 0,
                                          GNUTLS_VERIFY_DISABLE_TIME_CHECKS,
                                          &status);

    if (ret < 0 || status != 0) {
        error_setg(errp, "certificate '%s' is not signed by the CA in '%s'",
                   path, ca_path);
        return false;
    }
    return true;
}

static bool load_ca(QCryptoTLSCreds *creds, CertList *cas, char **ca_path,
                    Error **errp)
{
    int ret;

    if (!require_file(creds->dir, QCRYPTO_TLS_CREDS_X509_CA_CERT, ca_path,
                      errp) ||
        !load_cert_list(*ca_path, cas, errp) ||
        !check_list_times(cas, *ca_path, errp)) {
        return false;
    }
    ret = gnutls_certificate_set_x509_trust_file(creds->cred, *ca_path,
                                                 GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "cannot load CA certificate '%s': %s", *ca_path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool load_crl(QCryptoTLSCreds *creds, Error **errp)
{
    g_autofree char *path = NULL;
    int ret = optional_file(creds->dir, QCRYPTO_TLS_CREDS_X509_CA_CRL, &path,
                            errp);

    if (ret <= 0) {
        return ret == 0;
    }
    ret = gnutls_certificate_set_x509_crl_file(creds->cred, path,
                                               GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "cannot load revocation list '%s': %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

/*
 * Find our certificate and key.  Returns 1 with both paths set, 0 when
 * a client has neither (it may still connect to servers that do not ask
 * for one), -1 with an Error.
 */
static int find_own_cert(QCryptoTLSCreds *creds, char **cert_path,
                         char **key_path, Error **errp)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *cert = server ? QCRYPTO_TLS_CREDS_X509_SERVER_CERT
                              : QCRYPTO_TLS_CREDS_X509_CLIENT_CERT;
    const char *key = server ? QCRYPTO_TLS_CREDS_X509_SERVER_KEY
                             : QCRYPTO_TLS_CREDS_X509_CLIENT_KEY;
    int have_cert, have_key;

    if (server) {
        return require_file(creds->dir, cert, cert_path, errp) &&
               require_file(creds->dir, key, key_path, errp) ? 1 : -1;
    }
    have_cert = optional_file(creds->dir, cert, cert_path, errp);
    if (have_cert < 0) {
        return -1;
    }
    have_key = optional_file(creds->dir, key, key_path, errp);
    if (have_key < 0) {
        return -1;
    }
    if (have_cert != have_key) {
        /* One without the other is a mistake worth reporting. */
        return require_file(creds->dir, have_cert ? key : cert,
                            have_cert ? key_path : cert_path, errp) ? 1 : -1;
    }
    return have_cert;
}

static bool load_own_cert(QCryptoTLSCreds *creds, const CertList *cas,
                          const char *ca_path, Error **errp)
{
    g_autofree char *cert_path = NULL;
    g_autofree char *key_path = NULL;
    CertList own = { NULL, 0 };
    bool ok;
    int ret = find_own_cert(creds, &cert_path, &key_path, errp);

    if (ret <= 0) {
        return ret == 0;
    }
    ok = load_cert_list(cert_path, &own, errp) &&
         check_list_times(&own, cert_path, errp) &&
         check_cert_signed(&own, cert_path, cas, ca_path, errp);
    cert_list_clear(&own);
    if (!ok) {
        return false;
    }
    ret = gnutls_certificate_set_x509_key_file(creds->cred, cert_path,
                                               key_path, GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "cannot load certificate '%s' with key '%s': %s",
                   cert_path, key_path, gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool x509_load(QCryptoTLSCreds *creds, Error **errp)
{
    gnutls_certificate_credentials_t cert_cred;
    g_autofree char *ca_path = NULL;
    CertList cas = { NULL, 0 };
    bool ok;
    int ret = gnutls_certificate_allocate_credentials(&cert_cred);

    if (ret < 0) {
        error_setg(errp, "cannot allocate X.509 credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    creds->kind = GNUTLS_CRD_CERTIFICATE;
    creds->cred = cert_cred;
    ok = load_ca(creds, &cas, &ca_path, errp) &&
         load_crl(creds, errp) &&
         load_own_cert(creds, &cas, ca_path, errp);
    cert_list_clear(&cas);
    if (!ok || creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        return ok;
    }
    if (!load_dh_params(creds, errp)) {
        return false;
    }
    if (creds->dh_params) {
        gnutls_certificate_set_dh_params(cert_cred, creds->dh_params);
    } else {
        gnutls_certificate_set_known_dh_params(cert_cred,
                                               GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}

QCryptoTLSCreds *qcrypto_tls_creds_x509_new(QCryptoTLSCredsEndpoint endpoint,
                                            const char *dir,
                                            bool verify_peer,
                                            const char *priority,
                                            Error **errp)
{
    QCryptoTLSCreds *creds;

    if (!require_dir(dir, errp)) {
        return NULL;
    }
    creds = creds_alloc(TYPE_QCRYPTO_TLS_CREDS_X509, endpoint, dir,
                        priority);
    creds->verify_peer = verify_peer;
    if (!init_priority(creds, NULL, errp) || !x509_load(creds, errp)) {
        object_unref(creds);
        return NULL;
    }
    return creds;
}

/* ---- PSK ---------------------------------------------------------------- */

static bool is_hex_key(const char *key)
{
    size_t len = strlen(key);

    if (len == 0 || len % 2) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isxdigit(key[i])) {
            return false;
        }
    }
    return true;
}

/*
 * Check one line of keys.psk (without its newline).  Returns the key
 * when the line names @username, "" for another valid line or a blank
 * one, NULL with an Error for a malformed line.
 */
static const char *psk_parse_line(char *line, const char *path,
                                  unsigned int lineno, const char *username,
                                  Error **errp)
{
    size_t len = strlen(line);
    char *colon;

    if (len && line[len - 1] == '\r') {
        line[len - 1] = '\0';
    }
    if (!*line) {
        return "";
    }
    colon = strchr(line, ':');
    if (!colon || colon == line) {
        error_setg(errp, "'%s' line %u: expected 'username:hexkey'", path,
                   lineno);
        return NULL;
    }
    *colon = '\0';
    if (!is_hex_key(colon + 1)) {
        error_setg(errp, "'%s' line %u: the key of user '%s' is not an even "
                   "number of hex digits", path, lineno, line);
        return NULL;
    }
    if (username && strcmp(line, username) == 0) {
        return colon + 1;
    }
    return "";
}

/*
 * Validate the whole of @path.  When @username is non-NULL, also return
 * (newly allocated) the first key listed for it in *@key.
 */
static bool psk_read_file(const char *path, const char *username,
                          char **key, Error **errp)
{
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) gerr = NULL;
    unsigned int entries = 0;
    gsize len;

    if (!g_file_get_contents(path, &contents, &len, &gerr)) {
        error_setg(errp, "cannot read '%s': %s", path, gerr->message);
        return false;
    }
    if (strlen(contents) != len) {
        error_setg(errp, "'%s' contains a NUL byte", path);
        return false;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (unsigned int i = 0; lines[i]; i++) {
        const char *k = psk_parse_line(lines[i], path, i + 1, username,
                                       errp);
        if (!k) {
            return false;
        }
        entries += lines[i][0] != '\0';
        if (*k && key && !*key) {
            *key = g_strdup(k);
        }
    }
    if (entries == 0) {
        error_setg(errp, "'%s' holds no keys", path);
        return false;
    }
    if (username && !*key) {
        error_setg(errp, "'%s' has no key for user '%s'", path, username);
        return false;
    }
    return true;
}

static bool psk_load_server(QCryptoTLSCreds *creds, const char *path,
                            Error **errp)
{
    gnutls_psk_server_credentials_t cred;
    int ret;

    if (!psk_read_file(path, NULL, NULL, errp) ||
        !load_dh_params(creds, errp)) {
        return false;
    }
    ret = gnutls_psk_allocate_server_credentials(&cred);
    if (ret < 0) {
        error_setg(errp, "cannot allocate PSK credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    creds->kind = GNUTLS_CRD_PSK;
    creds->cred = cred;
    ret = gnutls_psk_set_server_credentials_file(cred, path);
    if (ret < 0) {
        error_setg(errp, "cannot use PSK file '%s': %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    if (creds->dh_params) {
        gnutls_psk_set_server_dh_params(cred, creds->dh_params);
    } else {
        gnutls_psk_set_server_known_dh_params(cred, GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}

static bool psk_load_client(QCryptoTLSCreds *creds, const char *path,
                            Error **errp)
{
    gnutls_psk_client_credentials_t cred;
    g_autofree char *key = NULL;
    gnutls_datum_t datum;
    int ret;

    if (!psk_read_file(path, creds->username, &key, errp)) {
        return false;
    }
    ret = gnutls_psk_allocate_client_credentials(&cred);
    if (ret < 0) {
        error_setg(errp, "cannot allocate PSK credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    creds->kind = GNUTLS_CRD_PSK;
    creds->cred = cred;
    datum.data = (unsigned char *)key;
    datum.size = strlen(key);
    ret = gnutls_psk_set_client_credentials(cred, creds->username, &datum,
                                            GNUTLS_PSK_KEY_HEX);
    if (ret < 0) {
        error_setg(errp, "cannot use the key of user '%s' in '%s': %s",
                   creds->username, path, gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool psk_load(QCryptoTLSCreds *creds, Error **errp)
{
    g_autofree char *path = NULL;

    if (!require_file(creds->dir, QCRYPTO_TLS_CREDS_PSKFILE, &path, errp)) {
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        return psk_load_server(creds, path, errp);
    }
    return psk_load_client(creds, path, errp);
}

QCryptoTLSCreds *qcrypto_tls_creds_psk_new(QCryptoTLSCredsEndpoint endpoint,
                                           const char *dir,
                                           const char *username,
                                           const char *priority,
                                           Error **errp)
{
    QCryptoTLSCreds *creds;

    if (!require_dir(dir, errp)) {
        return NULL;
    }
    creds = creds_alloc(TYPE_QCRYPTO_TLS_CREDS_PSK, endpoint, dir, priority);
    if (endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        creds->username = g_strdup(username ? username
                                   : QCRYPTO_TLS_CREDS_DEFAULT_PSK_USERNAME);
    }
    if (!init_priority(creds, PSK_PRIORITY_EXTRA, errp) ||
        !psk_load(creds, errp)) {
        object_unref(creds);
        return NULL;
    }
    return creds;
}

/* ---- anonymous ---------------------------------------------------------- */

static bool anon_load(QCryptoTLSCreds *creds, Error **errp)
{
    gnutls_anon_server_credentials_t server;
    gnutls_anon_client_credentials_t client;
    int ret;

    creds->kind = GNUTLS_CRD_ANON;
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        ret = gnutls_anon_allocate_client_credentials(&client);
        creds->cred = ret < 0 ? NULL : client;
    } else {
        ret = gnutls_anon_allocate_server_credentials(&server);
        creds->cred = ret < 0 ? NULL : server;
    }
    if (ret < 0) {
        error_setg(errp, "cannot allocate anonymous credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        return true;
    }
    if (!load_dh_params(creds, errp)) {
        return false;
    }
    if (creds->dh_params) {
        gnutls_anon_set_server_dh_params(server, creds->dh_params);
    } else {
        gnutls_anon_set_server_known_dh_params(server,
                                               GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}

QCryptoTLSCreds *qcrypto_tls_creds_anon_new(QCryptoTLSCredsEndpoint endpoint,
                                            const char *dir,
                                            const char *priority,
                                            Error **errp)
{
    QCryptoTLSCreds *creds = creds_alloc(TYPE_QCRYPTO_TLS_CREDS_ANON,
                                         endpoint, dir, priority);

    if (!init_priority(creds, ANON_PRIORITY_EXTRA, errp) ||
        !anon_load(creds, errp)) {
        object_unref(creds);
        return NULL;
    }
    return creds;
}

/* ---- accessors ---------------------------------------------------------- */

bool qcrypto_tls_creds_check_endpoint(QCryptoTLSCreds *creds,
                                      QCryptoTLSCredsEndpoint endpoint,
                                      Error **errp)
{
    if (creds->endpoint != endpoint) {
        error_setg(errp, "TLS credentials are for the %s side, not the %s",
                   creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
                   ? "server" : "client",
                   endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
                   ? "server" : "client");
        return false;
    }
    return true;
}

QCryptoTLSCredsEndpoint qcrypto_tls_creds_get_endpoint(QCryptoTLSCreds *creds)
{
    return creds->endpoint;
}

const char *qcrypto_tls_creds_get_dir(QCryptoTLSCreds *creds)
{
    return creds->dir;
}

const char *qcrypto_tls_creds_get_priority(QCryptoTLSCreds *creds)
{
    return creds->priority;
}

bool qcrypto_tls_creds_get_verify_peer(QCryptoTLSCreds *creds)
{
    return creds->verify_peer;
}

const char *qcrypto_tls_creds_get_username(QCryptoTLSCreds *creds)
{
    return creds->username;
}

bool qcrypto_tls_creds_setup_session(QCryptoTLSCreds *creds,
                                     struct gnutls_session_int *session,
                                     Error **errp)
{
    int ret = gnutls_priority_set(session, creds->prio_cache);

    if (ret >= 0) {
        ret = gnutls_credentials_set(session, creds->kind, creds->cred);
    }
    if (ret < 0) {
        error_setg(errp, "cannot set up TLS credentials on the session: %s",
                   gnutls_strerror(ret));
        return false;
    }
    if (creds->kind == GNUTLS_CRD_CERTIFICATE && creds->verify_peer &&
        creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    }
    return true;
}

/* ---- types -------------------------------------------------------------- */

static const TypeInfo creds_types[] = {
    {
        .name = TYPE_QCRYPTO_TLS_CREDS,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(QCryptoTLSCreds),
        .instance_finalize = creds_finalize,
        .abstract = true,
    },
    { .name = TYPE_QCRYPTO_TLS_CREDS_X509, .parent = TYPE_QCRYPTO_TLS_CREDS },
    { .name = TYPE_QCRYPTO_TLS_CREDS_PSK, .parent = TYPE_QCRYPTO_TLS_CREDS },
    { .name = TYPE_QCRYPTO_TLS_CREDS_ANON, .parent = TYPE_QCRYPTO_TLS_CREDS },
};

static void register_creds_types(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(creds_types); i++) {
        type_register_static(&creds_types[i]);
    }
}

type_init(register_creds_types)
