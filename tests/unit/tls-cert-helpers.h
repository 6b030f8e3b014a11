/*
 * Throw-away PKI and credential directories for the TLS unit tests
 * (test-crypto-tls-creds, test-io-channel-tls), made with certtool.
 *
 * tls_test_init() makes a scratch directory and, in its "pki" folder:
 *
 *     ca, rogue               self-signed CAs (rogue is trusted by no one)
 *     server, client          signed by ca (server: CN and DNS localhost,
 *                             IP 127.0.0.1; client: CN spindle-client)
 *     expired                 a server certificate signed by ca, expired
 *     rogue-server            a server certificate signed by rogue
 *     dh-params.pem           Diffie-Hellman parameters
 *     ca-crl.pem              ca's CRL, revoking the client certificate
 *
 * each as NAME-cert.pem and NAME-key.pem.  Without certtool the PKI is
 * missing and the X.509 tests skip (tls_test_skip_without_pki).
 *
 * Single-threaded: call everything from the test's main thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TESTS_UNIT_TLS_CERT_HELPERS_H
#define TESTS_UNIT_TLS_CERT_HELPERS_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Make a scratch directory from @tmpl (as g_dir_make_tmp) and the PKI
 * in it.  Returns whether the PKI could be made.
 */
bool tls_test_init(const char *tmpl);

/* Remove the scratch directory and everything in it. */
void tls_test_cleanup(void);

/* The scratch directory (valid between init and cleanup). */
const char *tls_test_workdir(void);

/* If the PKI is missing, mark the test skipped and return true. */
bool tls_test_skip_without_pki(void);

/* The path of @name in the PKI folder (g_free). */
char *tls_test_pki_file(const char *name);

/*
 * A fresh credentials directory @name in the scratch directory, holding
 * copies of PKI files given as "destination=source" strings (source
 * names are in the PKI folder), NULL-terminated.  Returns its path
 * (g_free).
 */
char *tls_test_make_dir(const char *name, ...) G_GNUC_NULL_TERMINATED;

/* Credentials directories for the server and for the client (g_free). */
char *tls_test_server_dir(void);
char *tls_test_client_dir(void);

/*
 * A fresh directory @name holding a PSK file (keys.psk) with @contents.
 * Returns its path (g_free).
 */
char *tls_test_psk_dir(const char *name, const char *contents);

/* Assert that @err is set and its message contains @needle; free it. */
void tls_test_assert_error(Error *err, const char *needle);

#endif /* TESTS_UNIT_TLS_CERT_HELPERS_H */
