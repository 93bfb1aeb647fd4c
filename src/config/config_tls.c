/* SPDX-License-Identifier: Apache-2.0 */
/* --check of a connection's TLS files, offline: each parses as PEM, the
 * client key opens with the key password given and matches the client
 * certificate, and no certificate is expired: a garbage CA, a wrong key
 * password or another certificate's key would otherwise show only once the
 * exporter connects. */
#include "config_tls.h"
#include "config-internal.h"
#include "config_tls_pem.h"
#include "jsonfile.h"

#include <errno.h>
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

/* "2026-03-01" for a certificate's date. */
static void tls_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t != FB_TLS_PEM_NO_TIME && gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d", &tm);
	else
		snprintf(buf, len, "an unreadable date");
}

struct tls_dates {
	const char *where, *key, *path;
	time_t now;
	struct fb_diag *diag;
};

static void tls_check_dates(void *ctx, size_t nth, time_t not_before, time_t not_after)
{
	const struct tls_dates *c = ctx;
	char when[32], which[48] = "";

	if (nth > 1)
		snprintf(which, sizeof(which), " (certificate %zu in the file)", nth);
	if (not_after != FB_TLS_PEM_NO_TIME && not_after < c->now) {
		tls_date(not_after, when, sizeof(when));
		fb_json_warn(c->diag, c->where, c->key, "%s.%s: \"%s\"%s expired on %s: the "
			     "broker or the exporter will refuse it", c->where, c->key, c->path,
			     which, when);
	} else if (not_before != FB_TLS_PEM_NO_TIME && not_before > c->now) {
		tls_date(not_before, when, sizeof(when));
		fb_json_warn(c->diag, c->where, c->key, "%s.%s: \"%s\"%s is not valid before %s "
			     "(is the clock right?)", c->where, c->key, c->path, which, when);
	}
}

/* Every certificate in a PEM file (a CA file may hold a chain); the first
 * is returned (caller frees with fb_tls_pem_crt_free) when want_first. */
static struct fb_tls_pem_crt *tls_certs(const char *where, const char *key, const char *path,
					bool want_first, struct fb_diag *diag)
{
	size_t len, n;
	char *text = tls_read(where, key, path, &len, diag);
	struct tls_dates dates = { where, key, path, time(NULL), diag };
	struct fb_tls_pem_crt *first = NULL;

	if (!text)
		return NULL;
	n = fb_tls_pem_certs(text, len, tls_check_dates, &dates, want_first ? &first : NULL);
	if (!n)
		fb_json_error(diag, where, key, "%s.%s: expected a PEM certificate file "
			      "(\"-----BEGIN CERTIFICATE-----\"), \"%s\" holds none", where, key,
			      path);
	free(text);
	return first;
}

/* The client key, opened as the exporter will (caller frees), or NULL
 * after an error.  The password never reaches a message. */
static struct fb_tls_pem_key *tls_key(const struct fb_conn_conf *cc, const char *where,
				      struct fb_diag *diag)
{
	size_t len;
	char *text = tls_read(where, "ssl_client_key", cc->ssl_client_key, &len, diag);
	bool encrypted;
	struct fb_tls_pem_key *k = NULL;

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
	} else {
		k = fb_tls_pem_key_read(text, len, cc->ssl_client_key_password);
		if (!k && encrypted)
			fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: \"%s\": "
				      "cannot decrypt the key: wrong ssl_client_key_password",
				      where, cc->ssl_client_key);
		else if (!k)
			fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: expected "
				      "a PEM private key, \"%s\" does not parse as one", where,
				      cc->ssl_client_key);
	}
	explicit_bzero(text, len);
	free(text);
	return k;
}

void fb_config_tls_check(const struct fb_conn_conf *cc, struct fb_diag *diag)
{
	char where[CFG_WHERE_MAX];
	struct fb_tls_pem_crt *crt = NULL;
	struct fb_tls_pem_key *key = NULL;

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
	if (crt && key && !fb_tls_pem_match(crt, key))
		fb_json_error(diag, where, "ssl_client_key", "%s.ssl_client_key: \"%s\" is not "
			      "the key of ssl_client_crt \"%s\": expected the private key the "
			      "certificate was issued for", where, cc->ssl_client_key,
			      cc->ssl_client_crt);
	fb_tls_pem_crt_free(crt);
	fb_tls_pem_key_free(key);
}
