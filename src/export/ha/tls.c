/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the broker connection: settings handed to libmosquitto, a check
 * of the files before every connect (so a wrong key password or an
 * unreadable CA is named as such, not as a handshake failure), and
 * capture of why a handshake failed.
 *
 * libmosquitto 2.0.11 facts this relies on:
 * - mosquitto_tls_set needs a cafile or capath even for "trust all";
 * - verification is switched off with tls_opts_set(cert_reqs = 0) plus
 *   tls_insecure_set;
 * - the key password callback gets the mosquitto handle as userdata;
 * - a handshake failure frees the SSL object inside mosquitto_loop_read, so
 *   while connecting we hold a reference (ex_tls_hold/ex_tls_explain) to
 *   read its verify result afterwards: expired, unknown CA, hostname.
 *   (A user SSL_CTX with MOSQ_OPT_SSL_CTX_WITH_DEFAULTS would be simpler,
 *   but 2.0.11's verify callback then fails every certificate.) */
#include "mqtt_link.h"
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

/* The key password, for OpenSSL while reading the key (precheck). */
static int key_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	const struct fb_conn_conf *c = userdata;
	const char *pw = c->ssl_client_key_password;
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

/* The same for libmosquitto, whose userdata is its own handle. */
static int mosq_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	const struct ex_link *l = mosquitto_userdata(userdata);

	return key_password_cb(buf, size, rwflag, (void *)l->conn);
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
void ex_tls_describe_verify(struct ex_link *l, long vr)
{
	const struct fb_conn_conf *c = l->conn;
	char ca[300];

	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		snprintf(l->tls_problem, sizeof(l->tls_problem),
			 "the broker's certificate has expired (ssl)");
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(l->tls_problem, sizeof(l->tls_problem),
			 "the broker's certificate is not valid yet (check the clock)");
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(l->tls_problem, sizeof(l->tls_problem),
			 "hostname mismatch: the broker's certificate is not issued for \"%s\" "
			 "(broker; hostname_verification is on)", c->broker);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		snprintf(l->tls_problem, sizeof(l->tls_problem),
			 "wrong CA: the broker's certificate is not signed by %s (%s)",
			 ca_name(c, ca, sizeof(ca)), X509_verify_cert_error_string(vr));
		break;
	default:
		snprintf(l->tls_problem, sizeof(l->tls_problem),
			 "the broker's certificate was refused: %s",
			 X509_verify_cert_error_string(vr));
	}
}

void *ex_tls_hold(struct ex_link *l)
{
	SSL *ssl;

	if (l->conn->ssl == FB_SSL_OFF || l->transport->tls_in_transport)
		return NULL;
	ssl = mosquitto_ssl_get(l->mosq);
	if (ssl && !SSL_up_ref(ssl))
		ssl = NULL;
	return ssl;
}

void ex_tls_explain(struct ex_link *l, void *held, bool failed)
{
	SSL *ssl = held;
	long vr;

	if (!ssl)
		return;
	vr = SSL_get_verify_result(ssl);
	if (failed && !l->tls_problem[0]) {
		if (vr != X509_V_OK && vr != X509_V_ERR_UNSPECIFIED)
			ex_tls_describe_verify(l, vr);
		else if (vr == X509_V_ERR_UNSPECIFIED && l->conn->ssl == FB_SSL_ON &&
			 l->conn->hostname_verification)
			/* libmosquitto's verify callback refuses the name without
			 * saying why. */
			ex_tls_describe_verify(l, X509_V_ERR_HOSTNAME_MISMATCH);
		else if (strstr(l->lib_error, "alert certificate required") ||
			 (!l->conn->ssl_client_crt && strstr(l->lib_error, "alert")))
			snprintf(l->tls_problem, sizeof(l->tls_problem),
				 "the broker requires a client certificate: set ssl_client_crt and "
				 "ssl_client_key (%.200s)", l->lib_error);
		else if (strstr(l->lib_error, "alert"))
			snprintf(l->tls_problem, sizeof(l->tls_problem),
				 "the broker refused our client certificate ssl_client_crt %.200s (%.200s)",
				 l->conn->ssl_client_crt, l->lib_error);
	}
	SSL_free(ssl);
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

static int check_cert_file(const struct fb_conn_conf *c, const char *key, const char *path,
			   X509 **out, char *msg, size_t len)
{
	char err[256];
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		snprintf(msg, len, "connection %s: %s %s: cannot read: %s", c->name, key, path,
			 strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		snprintf(msg, len, "connection %s: %s %s: expected a PEM certificate: %s",
			 c->name, key, path, ssl_err_text(err, sizeof(err)));
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		snprintf(msg, len, "connection %s: %s %s: the certificate has expired", c->name,
			 key, path);
	if (out)
		*out = x;
	else
		X509_free(x);
	return 0;
}

/* PKCS#8 "ENCRYPTED PRIVATE KEY" or a legacy "Proc-Type: 4,ENCRYPTED"
 * header.  Rewinds f. */
static bool key_is_encrypted(FILE *f)
{
	char line[256];
	bool enc = false;

	while (!enc && fgets(line, sizeof(line), f))
		enc = strstr(line, "ENCRYPTED") != NULL;
	rewind(f);
	return enc;
}

int ex_tls_precheck(const struct fb_conn_conf *c, char *msg, size_t len)
{
	X509 *crt = NULL;
	EVP_PKEY *pkey;
	bool encrypted;
	char err[256];
	FILE *f;
	int rc = -1;

	msg[0] = '\0';
	if (c->ssl_server_crt &&
	    check_cert_file(c, "ssl_server_crt", c->ssl_server_crt, NULL, msg, len) < 0)
		return -1;
	if (!c->ssl_client_crt)
		return 0;
	if (check_cert_file(c, "ssl_client_crt", c->ssl_client_crt, &crt, msg, len) < 0)
		return -1;
	f = fopen(c->ssl_client_key, "r");
	if (!f) {
		snprintf(msg, len, "connection %s: ssl_client_key %s: cannot read: %s", c->name,
			       c->ssl_client_key, strerror(errno));
		goto out;
	}
	ERR_clear_error();
	encrypted = key_is_encrypted(f);
	pkey = PEM_read_PrivateKey(f, NULL, key_password_cb, (void *)c);
	fclose(f);
	if (!pkey) {
		unsigned long e = ERR_peek_last_error();
		bool bad_pw = encrypted || ERR_GET_REASON(e) == PEM_R_BAD_DECRYPT ||
			      ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ ||
			      ERR_GET_REASON(e) == PEM_R_PROBLEMS_GETTING_PASSWORD;

		if (c->ssl_client_key_password && bad_pw)
			snprintf(msg, len, "connection %s: ssl_client_key %s: cannot decrypt the key: "
				       "wrong ssl_client_key_password", c->name, c->ssl_client_key);
		else if (!c->ssl_client_key_password && bad_pw)
			snprintf(msg, len, "connection %s: ssl_client_key %s: the key is encrypted: "
				       "expected ssl_client_key_password", c->name, c->ssl_client_key);
		else
			snprintf(msg, len, "connection %s: ssl_client_key %s: unreadable key: "
				       "expected a PEM private key (%s)", c->name, c->ssl_client_key,
				       ssl_err_text(err, sizeof(err)));
		ERR_clear_error();
		goto out;
	}
	if (X509_check_private_key(crt, pkey) != 1) {
		snprintf(msg, len, "connection %s: ssl_client_key %s does not belong to "
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

int ex_tls_setup(struct ex_link *l)
{
	const struct fb_conn_conf *c = l->conn;
	const char *cafile = c->ssl_server_crt;
	const char *capath = NULL;
	int rc;

	if (c->ssl == FB_SSL_OFF || l->transport->tls_in_transport)
		return 0;
	/* "trust all" and the system store still need a CA location for
	 * libmosquitto 2.0 to enable TLS at all. */
	if (!cafile)
		capath = SYSTEM_CA_PATH;
	rc = mosquitto_tls_set(l->mosq, cafile, capath, c->ssl_client_crt, c->ssl_client_key,
			       c->ssl_client_key_password ? mosq_password_cb : NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		fb_err("connection %s: ssl settings refused by libmosquitto (ssl_server_crt, "
		       "ssl_client_crt, ssl_client_key): %s", c->name, mosquitto_strerror(rc));
		return -1;
	}
	if (c->ssl == FB_SSL_TRUST_ALL) {
		if (!l->tls_warned)
			fb_warn("connection %s: ssl \"trust_all\": the broker's certificate is NOT "
				"verified; anyone on the path can read and change the traffic",
				c->name);
		rc = mosquitto_tls_opts_set(l->mosq, 0 /* SSL_VERIFY_NONE */, NULL, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_insecure_set(l->mosq, true);
	} else if (!c->hostname_verification) {
		if (!l->tls_warned)
			fb_warn("connection %s: hostname_verification is off: any certificate "
				"signed by the CA is accepted for %s", c->name, c->broker);
		rc = mosquitto_tls_insecure_set(l->mosq, true);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		fb_err("connection %s: ssl settings refused by libmosquitto (ssl, "
		       "hostname_verification): %s", c->name, mosquitto_strerror(rc));
		return -1;
	}
	l->tls_warned = true;
	return 0;
}

