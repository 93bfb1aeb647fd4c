/* SPDX-License-Identifier: Apache-2.0 */
/* The web listener's certificate when none is configured (tls auto): a
 * self-signed ECDSA P-256 certificate made once in "<state_dir>/web/",
 * so browsers can pin it by fingerprint (logged at every start).  GnuTLS,
 * which libmicrohttpd loads anyway: a second TLS library would cost the
 * daemon megabytes of memory for two functions. */
#include "web-internal.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, mode_t mode, const gnutls_datum_t *d)
{
	char tmp[4096];
	int fd;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ok = write(fd, d->data, d->size) == (ssize_t)d->size && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int add_ip(gnutls_x509_crt_t crt, int af, const char *text)
{
	unsigned char buf[16];

	if (inet_pton(af, text, buf) != 1)
		return -1;
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, buf,
						    af == AF_INET ? 4 : 16, GNUTLS_FSAN_APPEND);
}

static int generate(const char *cert_path, const char *key_path)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = { NULL, 0 }, cpem = { NULL, 0 };
	char host[256] = "", local[300];
	unsigned char serial[16];
	time_t now = time(NULL);
	int rc = -1;

	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	snprintf(local, sizeof(local), "%s.local", host);
	if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial))
		return -1;
	serial[0] &= 0x7f; /* a positive integer */
	serial[0] |= 0x01;
	if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 10L * 365 * 24 * 3600) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					  "fieldbridge", 11) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
					  (unsigned)strlen(host)) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
						 (unsigned)strlen(host), GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, local,
						 (unsigned)strlen(local), GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    add_ip(crt, AF_INET, "127.0.0.1") < 0 || add_ip(crt, AF_INET6, "::1") < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0)
		goto out;
	if (write_file(key_path, 0600, &kpem) < 0 || write_file(cert_path, 0644, &cpem) < 0)
		goto out;
	rc = 0;
out:
	if (kpem.data) {
		explicit_bzero(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

int web_tls_self_signed(const char *state_dir, char **cert_path, char **key_path)
{
	char *dir = NULL;
	struct stat st;

	*cert_path = *key_path = NULL;
	if (asprintf(&dir, "%s/web", state_dir) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fb_log_errno(FB_LOG_ERR, "web: cannot create %s", dir);
		free(dir);
		return -1;
	}
	if (asprintf(cert_path, "%s/cert.pem", dir) < 0 ||
	    asprintf(key_path, "%s/key.pem", dir) < 0) {
		free(dir);
		return -1;
	}
	free(dir);
	if (stat(*cert_path, &st) == 0 && stat(*key_path, &st) == 0)
		return 0;
	if (generate(*cert_path, *key_path) < 0) {
		fb_err("web: cannot generate a self-signed certificate in %s/web", state_dir);
		return -1;
	}
	fb_info("web: generated a self-signed certificate %s", *cert_path);
	return 0;
}

int web_tls_fingerprint(const char *cert_pem, char *out, size_t len)
{
	gnutls_datum_t in = { (unsigned char *)cert_pem, (unsigned)strlen(cert_pem) };
	gnutls_x509_crt_t crt;
	unsigned char md[64];
	size_t n = sizeof(md);
	int rc = -1;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &n) >= 0 &&
	    len >= n * 3) {
		for (size_t i = 0; i < n; i++)
			snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
		rc = 0;
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}
