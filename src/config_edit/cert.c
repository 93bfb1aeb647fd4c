/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate and key files given to a connection: checked to parse before
 * they are copied into certs/<connection>/, and described for `show`. */
#include "config_edit.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void ssl_err(char *err, size_t len, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, len, "%s: %s (%s)", path, what, e ? buf : "no PEM data");
	ERR_clear_error();
}

static X509 *read_cert(const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		snprintf(err, len, "%s: cannot open: %m", path);
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		ssl_err(err, len, "expected a PEM certificate", path);
	return x;
}

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t n;

	(void)rwflag;
	if (!pw)
		return -1;
	n = strlen(pw);
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, pw, n);
	return (int)n;
}

/* *encrypted set when the key needs a password that was not given. */
static EVP_PKEY *read_key(const char *path, const char *password, bool *encrypted,
			  char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	char head[4096];
	size_t n;

	*encrypted = false;
	if (!f) {
		snprintf(err, len, "%s: cannot open: %m", path);
		return NULL;
	}
	n = fread(head, 1, sizeof(head) - 1, f);
	head[n] = '\0';
	rewind(f);
	k = PEM_read_PrivateKey(f, NULL, pw_cb, (void *)password);
	fclose(f);
	if (!k) {
		bool enc = strstr(head, "ENCRYPTED") != NULL;

		if (enc && !password) {
			*encrypted = true;
			snprintf(err, len, "%s: the key is encrypted: give "
				 "ssl_client_key_password=- as well", path);
			ERR_clear_error();
		} else if (enc) {
			snprintf(err, len, "%s: cannot decrypt the key: wrong "
				 "ssl_client_key_password", path);
			ERR_clear_error();
		} else {
			ssl_err(err, len, "expected a PEM private key", path);
		}
	}
	return k;
}

static void time_text(const ASN1_TIME *t, char *buf, size_t len, bool *expired)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	*expired = X509_cmp_current_time(t) < 0;
}

int fb_cert_check(const char *path, struct fb_cert_info *info, char *err, size_t errlen)
{
	X509 *x = read_cert(path, err, errlen);

	if (!x)
		return -1;
	if (info) {
		memset(info, 0, sizeof(*info));
		X509_NAME_oneline(X509_get_subject_name(x), info->subject,
				  sizeof(info->subject));
		X509_NAME_oneline(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));
		time_text(X509_get0_notAfter(x), info->not_after, sizeof(info->not_after),
			  &info->expired);
	}
	X509_free(x);
	return 0;
}

int fb_key_check(const char *path, const char *password, char *err, size_t errlen)
{
	bool enc;
	EVP_PKEY *k = read_key(path, password, &enc, err, errlen);

	if (!k)
		return enc ? 1 : -1;
	EVP_PKEY_free(k);
	return 0;
}

int fb_cert_key_match(const char *crt_path, const char *key_path, const char *password)
{
	char err[512];
	bool enc;
	X509 *x = read_cert(crt_path, err, sizeof(err));
	EVP_PKEY *k = x ? read_key(key_path, password, &enc, err, sizeof(err)) : NULL;
	int rc = -1;

	if (x && k)
		rc = X509_check_private_key(x, k) == 1;
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}
