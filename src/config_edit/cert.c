/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate and key files given to a connection: checked to parse before
 * they are copied into certs/<connection>/, and described for `show`.
 * Through config_tls_pem.h, so fieldbridgectl (OpenSSL) and the web daemon
 * (GnuTLS) describe a file in the same words. */
#include "config_edit.h"
#include "config_tls_pem.h"
#include "jsonfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
	char *text = fb_read_file(path, len);

	if (!text)
		snprintf(err, errlen, "%s: cannot open: %s", path, fb_read_file_strerror(errno));
	return text;
}

static struct fb_tls_pem_crt *read_cert(const char *path, char *err, size_t len)
{
	size_t n;
	char *text = read_text(path, &n, err, len);
	struct fb_tls_pem_crt *x = NULL;

	if (!text)
		return NULL;
	fb_tls_pem_certs(text, n, NULL, NULL, &x);
	if (!x)
		snprintf(err, len, "%s: expected a PEM certificate (\"-----BEGIN "
			 "CERTIFICATE-----\"), the file holds none that parses", path);
	free(text);
	return x;
}

/* *encrypted set when the key needs a password that was not given. */
static struct fb_tls_pem_key *read_key(const char *path, const char *password, bool *encrypted,
				       char *err, size_t len)
{
	size_t n;
	char *text = read_text(path, &n, err, len);
	struct fb_tls_pem_key *k;
	bool enc;

	*encrypted = false;
	if (!text)
		return NULL;
	enc = strstr(text, "ENCRYPTED") != NULL;
	k = fb_tls_pem_key_read(text, n, password);
	explicit_bzero(text, n);
	free(text);
	if (!k && enc && !password) {
		*encrypted = true;
		snprintf(err, len, "%s: the key is encrypted: give "
			 "ssl_client_key_password=- as well", path);
	} else if (!k && enc) {
		snprintf(err, len, "%s: cannot decrypt the key: wrong "
			 "ssl_client_key_password", path);
	} else if (!k) {
		snprintf(err, len, "%s: expected a PEM private key (\"-----BEGIN ... PRIVATE "
			 "KEY-----\"), the file holds none that parses", path);
	}
	return k;
}

int fb_cert_check(const char *path, struct fb_cert_info *info, char *err, size_t errlen)
{
	struct fb_tls_pem_crt *x = read_cert(path, err, errlen);

	if (!x)
		return -1;
	if (info) {
		time_t t = fb_tls_pem_crt_not_after(x);
		struct tm tm;

		memset(info, 0, sizeof(*info));
		fb_tls_pem_crt_names(x, info->subject, sizeof(info->subject), info->issuer,
				     sizeof(info->issuer));
		if (t != FB_TLS_PEM_NO_TIME && gmtime_r(&t, &tm)) {
			strftime(info->not_after, sizeof(info->not_after), "%Y-%m-%d %H:%M:%S UTC",
				 &tm);
			info->expired = t < time(NULL);
		} else {
			snprintf(info->not_after, sizeof(info->not_after), "?");
		}
	}
	fb_tls_pem_crt_free(x);
	return 0;
}

int fb_key_check(const char *path, const char *password, char *err, size_t errlen)
{
	bool enc;
	struct fb_tls_pem_key *k = read_key(path, password, &enc, err, errlen);

	if (!k)
		return enc ? 1 : -1;
	fb_tls_pem_key_free(k);
	return 0;
}

int fb_cert_key_match(const char *crt_path, const char *key_path, const char *password)
{
	char err[512];
	bool enc;
	struct fb_tls_pem_crt *x = read_cert(crt_path, err, sizeof(err));
	struct fb_tls_pem_key *k = x ? read_key(key_path, password, &enc, err, sizeof(err)) : NULL;
	int rc = -1;

	if (x && k)
		rc = fb_tls_pem_match(x, k);
	fb_tls_pem_key_free(k);
	fb_tls_pem_crt_free(x);
	return rc;
}
