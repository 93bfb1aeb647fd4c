/* TLS for the broker connection: settings handed to libmosquitto, a check
 * of the files before every connect (so a wrong key password or an
 * unreadable CA is named as such, not as a handshake failure), and
 * capture of why a handshake failed.
 *
 * libmosquitto 2.0.11 facts this relies on:
 * - mosquitto_tls_set needs a cafile or capath even for "trust all";
 * - verification is switched off with tls_opts_set(cert_reqs = 0) plus
 *   tls_insecure_set;
 * - with MOSQ_OPT_SSL_CTX + MOSQ_OPT_SSL_CTX_WITH_DEFAULTS it still applies
 *   every tls_set option to our SSL_CTX, which lets us add an info
 *   callback: on a fatal alert the SSL's verify result says what was wrong
 *   (expired, unknown CA, hostname) while the SSL object still exists. */
#include "export-internal.h"
#include "log.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define SYSTEM_CA_PATH "/etc/ssl/certs"

/* Our SSL_CTX's password callback: userdata is the exporter. */
static int key_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	const struct exporter *ex = userdata;
	const char *pw = ex->conn->ssl_client_key_password;
	size_t n;

	(void)rwflag;
	if (!pw || size <= 0)
		return 0;
	n = strlen(pw);
	if (n >= (size_t)size)
		return 0;
	memcpy(buf, pw, n);
	return (int)n;
}

static const char *ca_name(const struct fb_conn_conf *c, char *buf, size_t len)
{
	if (c->ssl_server_crt)
		snprintf(buf, len, "ssl_server_crt %s", c->ssl_server_crt);
	else
		snprintf(buf, len, "the system CA store (ssl_server_crt not set)");
	return buf;
}

/* Turns a failed verification into words naming the cause. */
static void describe_verify(struct exporter *ex, long vr)
{
	const struct fb_conn_conf *c = ex->conn;
	char ca[300];

	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "the broker's certificate has expired (ssl)");
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "the broker's certificate is not valid yet (check the clock)");
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "hostname mismatch: the broker's certificate is not issued for \"%s\" "
			 "(broker; hostname_verification is on)", c->broker);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "wrong CA: the broker's certificate is not signed by %s (%s)",
			 ca_name(c, ca, sizeof(ca)), X509_verify_cert_error_string(vr));
		break;
	default:
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "the broker's certificate was refused: %s",
			 X509_verify_cert_error_string(vr));
	}
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct exporter *ex = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char *desc;

	if (!ex || !(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
		return;
	desc = SSL_alert_desc_string_long(ret);
	if (where & SSL_CB_WRITE) {
		long vr = SSL_get_verify_result(ssl);

		if (vr != X509_V_OK)
			describe_verify(ex, vr);
		else if (ex->conn->hostname_verification && ex->conn->ssl == FB_SSL_ON &&
			 !strcmp(desc, "certificate unknown"))
			/* libmosquitto's own hostname check fails the handshake
			 * without a verify code. */
			describe_verify(ex, X509_V_ERR_HOSTNAME_MISMATCH);
		else
			snprintf(ex->tls_problem, sizeof(ex->tls_problem),
				 "TLS handshake aborted by us: %s", desc);
	} else if (ex->conn->ssl_client_crt) {
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "the broker refused our client certificate ssl_client_crt %s (TLS alert: %s)",
			 ex->conn->ssl_client_crt, desc);
	} else {
		snprintf(ex->tls_problem, sizeof(ex->tls_problem),
			 "the broker aborted the TLS handshake (TLS alert: %s)%s", desc,
			 strstr(desc, "certificate") ?
				 "; it probably requires a client certificate (ssl_client_crt, ssl_client_key)" : "");
	}
}

static const char *ssl_err_text(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, len, "%s", errno ? strerror(errno) : "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int check_cert_file(struct exporter *ex, const char *key, const char *path,
			   X509 **out)
{
	char err[256];
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		ex_conn_error(ex, "connection %s: %s %s: cannot read: %s", ex->conn->name, key,
			      path, strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		ex_conn_error(ex, "connection %s: %s %s: expected a PEM certificate: %s",
			      ex->conn->name, key, path, ssl_err_text(err, sizeof(err)));
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		ex_conn_error(ex, "connection %s: %s %s: the certificate has expired",
			      ex->conn->name, key, path);
	if (out)
		*out = x;
	else
		X509_free(x);
	return 0;
}

int ex_tls_precheck(struct exporter *ex)
{
	const struct fb_conn_conf *c = ex->conn;
	X509 *crt = NULL;
	EVP_PKEY *pkey;
	char err[256];
	FILE *f;
	int rc = -1;

	if (c->ssl == FB_SSL_OFF || ex->transport.tls_in_transport)
		return 0;
	if (c->ssl_server_crt && check_cert_file(ex, "ssl_server_crt", c->ssl_server_crt, NULL) < 0)
		return -1;
	if (!c->ssl_client_crt)
		return 0;
	if (check_cert_file(ex, "ssl_client_crt", c->ssl_client_crt, &crt) < 0)
		return -1;
	f = fopen(c->ssl_client_key, "r");
	if (!f) {
		ex_conn_error(ex, "connection %s: ssl_client_key %s: cannot read: %s", c->name,
			      c->ssl_client_key, strerror(errno));
		goto out;
	}
	ERR_clear_error();
	pkey = PEM_read_PrivateKey(f, NULL, key_password_cb, ex);
	fclose(f);
	if (!pkey) {
		unsigned long e = ERR_peek_last_error();
		bool bad_pw = ERR_GET_REASON(e) == PEM_R_BAD_DECRYPT ||
			      ERR_GET_REASON(e) == EVP_R_BAD_DECRYPT ||
			      ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ ||
			      ERR_GET_REASON(e) == PEM_R_PROBLEMS_GETTING_PASSWORD;

		if (c->ssl_client_key_password && (bad_pw || ERR_GET_LIB(e) == ERR_LIB_EVP ||
						   ERR_GET_LIB(e) == ERR_LIB_PROV))
			ex_conn_error(ex, "connection %s: ssl_client_key %s: cannot decrypt the key: "
				      "wrong ssl_client_key_password", c->name, c->ssl_client_key);
		else if (!c->ssl_client_key_password && bad_pw)
			ex_conn_error(ex, "connection %s: ssl_client_key %s: the key is encrypted: "
				      "expected ssl_client_key_password", c->name, c->ssl_client_key);
		else
			ex_conn_error(ex, "connection %s: ssl_client_key %s: unreadable key: "
				      "expected a PEM private key (%s)", c->name, c->ssl_client_key,
				      ssl_err_text(err, sizeof(err)));
		ERR_clear_error();
		goto out;
	}
	if (X509_check_private_key(crt, pkey) != 1) {
		ex_conn_error(ex, "connection %s: ssl_client_key %s does not belong to "
			      "ssl_client_crt %s", c->name, c->ssl_client_key, c->ssl_client_crt);
		ERR_clear_error();
	} else {
		rc = 0;
	}
	EVP_PKEY_free(pkey);
out:
	X509_free(crt);
	return rc;
}

int ex_tls_setup(struct exporter *ex)
{
	const struct fb_conn_conf *c = ex->conn;
	const char *cafile = c->ssl_server_crt;
	const char *capath = NULL;
	SSL_CTX *ctx;
	int rc;

	if (c->ssl == FB_SSL_OFF || ex->transport.tls_in_transport)
		return 0;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		fb_err("connection %s: ssl: cannot create a TLS context", c->name);
		return -1;
	}
	ex->ssl_ctx = ctx;
	SSL_CTX_set_app_data(ctx, ex);
	SSL_CTX_set_info_callback(ctx, info_cb);
	/* libmosquitto only installs a password callback if given one, so
	 * ours (with the exporter as userdata) stays in place. */
	SSL_CTX_set_default_passwd_cb(ctx, key_password_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, ex);
	if (mosquitto_void_option(ex->mosq, MOSQ_OPT_SSL_CTX, ctx) != MOSQ_ERR_SUCCESS ||
	    mosquitto_int_option(ex->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 1) != MOSQ_ERR_SUCCESS) {
		fb_err("connection %s: ssl: libmosquitto refused the TLS context", c->name);
		return -1;
	}
	/* "trust all" and the system store still need a CA location for
	 * libmosquitto 2.0 to enable TLS at all. */
	if (!cafile)
		capath = SYSTEM_CA_PATH;
	rc = mosquitto_tls_set(ex->mosq, cafile, capath, c->ssl_client_crt, c->ssl_client_key,
			       NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		fb_err("connection %s: ssl settings refused by libmosquitto (ssl_server_crt, "
		       "ssl_client_crt, ssl_client_key): %s", c->name, mosquitto_strerror(rc));
		return -1;
	}
	if (c->ssl == FB_SSL_TRUST_ALL) {
		fb_warn("connection %s: ssl \"trust_all\": the broker's certificate is NOT "
			"verified; anyone on the path can read and change the traffic", c->name);
		mosquitto_tls_opts_set(ex->mosq, 0 /* SSL_VERIFY_NONE */, NULL, NULL);
		mosquitto_tls_insecure_set(ex->mosq, true);
	} else if (!c->hostname_verification) {
		fb_warn("connection %s: hostname_verification is off: any certificate signed "
			"by the CA is accepted for %s", c->name, c->broker);
		mosquitto_tls_insecure_set(ex->mosq, true);
	}
	return 0;
}

void ex_tls_free(struct exporter *ex)
{
	/* libmosquitto holds its own reference (MOSQ_OPT_SSL_CTX up-refs). */
	SSL_CTX_free(ex->ssl_ctx);
	ex->ssl_ctx = NULL;
}
