/* SPDX-License-Identifier: Apache-2.0 */
/* --check of a connection's TLS files, offline: each parses as PEM, the
 * client key opens with the key password given and matches the client
 * certificate, and no certificate is expired: a garbage CA, a wrong key
 * password or another certificate's key would otherwise show only once the
 * exporter connects. */
#include "config_tls.h"
#include "config-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The file's text (caller frees), or NULL after an error.  Read like every
 * other file: non-blocking, regular, capped. */
static char *tls_read(const char *where, const char *key, const char *path, size_t *len,
		      struct fb_diag *diag)
{
	char *text = fb_read_file(path, len);

	if (!text)
		fb_json_error(diag, where, key, "%s.%s: cannot read \"%s\": %s", where, key, path,
			      fb_read_file_strerror(errno));
	return text;
}

/* "2026-03-01" for an ASN.1 time. */
static void tls_date(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(buf, len, "%Y-%m-%d", &tm);
	else
		snprintf(buf, len, "an unreadable date");
}

static void tls_check_dates(const X509 *x, const char *where, const char *key,
			    const char *path, size_t nth, struct fb_diag *diag)
{
	char when[32], which[48] = "";

	if (nth)
		snprintf(which, sizeof(which), " (certificate %zu in the file)", nth);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		tls_date(X509_get0_notAfter(x), when, sizeof(when));
		fb_json_warn(diag, where, key, "%s.%s: \"%s\"%s expired on %s: the broker or "
			     "the exporter will refuse it", where, key, path, which, when);
	} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		tls_date(X509_get0_notBefore(x), when, sizeof(when));
		fb_json_warn(diag, where, key, "%s.%s: \"%s\"%s is not valid before %s (is "
			     "the clock right?)", where, key, path, which, when);
	}
}

/* Every certificate in a PEM file (a CA file may hold a chain); the first
 * is returned (caller frees with X509_free) when want_first, else freed. */
static X509 *tls_certs(const char *where, const char *key, const char *path,
		       bool want_first, struct fb_diag *diag)
{
	size_t len, n = 0;
	char *text = tls_read(where, key, path, &len, diag);
	BIO *bio;
	X509 *x, *first = NULL;

	if (!text)
		return NULL;
	bio = BIO_new_mem_buf(text, (int)len);
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		n++;
		tls_check_dates(x, where, key, path, n > 1 ? n : 0, diag);
		if (!first && want_first)
			first = x;
		else
			X509_free(x);
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	if (!n)
		fb_json_error(diag, where, key, "%s.%s: expected a PEM certificate file "
			      "(\"-----BEGIN CERTIFICATE-----\"), \"%s\" holds none", where, key,
			      path);
	BIO_free(bio);
	free(text);
	return first;
}

static int tls_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t n;

	(void)rwflag;
	if (!pw)
		return -1; /* encrypted, no password: fail, never prompt */
	n = strlen(pw);
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, pw, n);
	return (int)n;
}

/* The client key, opened as the exporter will (caller frees), or NULL
 * after an error.  The password never reaches a message. */
static EVP_PKEY *tls_key(const struct fb_conn_conf *cc, const char *where,
			 struct fb_diag *diag)
{
	size_t len;
	char *text = tls_read(where, "ssl_client_key", cc->ssl_client_key, &len, diag);
	bool encrypted;
	BIO *bio;
	EVP_PKEY *k = NULL;

	if (!text)
		return NULL;
	/* PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY" or a legacy "Proc-Type:
	 * 4,ENCRYPTED" header. */
	encrypted = strstr(text, "ENCRYPTED") != NULL;
	if (!strstr(text, "-----BEGIN")) {
		fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: expected a PEM "
			      "private key (\"-----BEGIN ... PRIVATE KEY-----\"), \"%s\" holds "
			      "none", where, cc->ssl_client_key);
	} else if (encrypted && !cc->ssl_client_key_password) {
		fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: \"%s\" is "
			      "encrypted: expected ssl_client_key_password or "
			      "ssl_client_key_password_file", where, cc->ssl_client_key);
	} else if ((bio = BIO_new_mem_buf(text, (int)len))) {
		k = PEM_read_bio_PrivateKey(bio, NULL, tls_password_cb,
					    (void *)cc->ssl_client_key_password);
		BIO_free(bio);
		if (!k && encrypted)
			fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: \"%s\": "
				      "cannot decrypt the key: wrong ssl_client_key_password",
				      where, cc->ssl_client_key);
		else if (!k)
			fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: expected "
				      "a PEM private key, \"%s\" does not parse as one", where,
				      cc->ssl_client_key);
		ERR_clear_error();
	}
	explicit_bzero(text, len);
	free(text);
	return k;
}

void fb_config_tls_check(const struct fb_conn_conf *cc, struct fb_diag *diag)
{
	char where[CFG_WHERE_MAX];
	X509 *crt = NULL;
	EVP_PKEY *key = NULL;

	if (cc->ssl == FB_SSL_OFF)
		return;
	snprintf(where, sizeof(where), "%s: %s (%s)", cc->source ? cc->source : "?",
		 cc->path && cc->path[0] ? cc->path : "connection", cc->name ? cc->name : "?");
	if (cc->ssl_server_crt)
		tls_certs(where, "ssl_server_crt", cc->ssl_server_crt, false, diag);
	if (cc->ssl_client_crt)
		crt = tls_certs(where, "ssl_client_crt", cc->ssl_client_crt, true, diag);
	if (cc->ssl_client_key)
		key = tls_key(cc, where, diag);
	if (crt && key && X509_check_private_key(crt, key) != 1)
		fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: \"%s\" is not "
			      "the key of ssl_client_crt \"%s\": expected the private key the "
			      "certificate was issued for", where, cc->ssl_client_key,
			      cc->ssl_client_crt);
	ERR_clear_error();
	X509_free(crt);
	EVP_PKEY_free(key);
}
