/* SPDX-License-Identifier: Apache-2.0 */
/* config_tls_pem.h on OpenSSL's libcrypto (fb_config_tls). */
#include "config_tls_pem.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static time_t tls_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return FB_TLS_PEM_NO_TIME;
	return timegm(&tm);
}

size_t fb_tls_pem_certs(const char *text, size_t len, fb_tls_pem_each_fn *each, void *ctx,
			struct fb_tls_pem_crt **first)
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(text, (int)len) : NULL;
	size_t n = 0;
	X509 *x;

	if (first)
		*first = NULL;
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		n++;
		if (each)
			each(ctx, n, tls_time(X509_get0_notBefore(x)),
			     tls_time(X509_get0_notAfter(x)));
		if (first && !*first)
			*first = (struct fb_tls_pem_crt *)x;
		else
			X509_free(x);
	}
	ERR_clear_error(); /* the end of the text reads as an error */
	BIO_free(bio);
	return n;
}

void fb_tls_pem_crt_names(const struct fb_tls_pem_crt *crt, char *subject, size_t slen,
			  char *issuer, size_t ilen)
{
	const X509 *x = (const X509 *)crt;

	X509_NAME_oneline(X509_get_subject_name(x), subject, (int)(slen > INT_MAX ? INT_MAX : slen));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, (int)(ilen > INT_MAX ? INT_MAX : ilen));
}

time_t fb_tls_pem_crt_not_after(const struct fb_tls_pem_crt *crt)
{
	return tls_time(X509_get0_notAfter((const X509 *)crt));
}

void fb_tls_pem_crt_free(struct fb_tls_pem_crt *crt)
{
	X509_free((X509 *)crt);
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

struct fb_tls_pem_key *fb_tls_pem_key_read(const char *text, size_t len, const char *password)
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(text, (int)len) : NULL;
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, tls_password_cb,
						     (void *)password) : NULL;

	ERR_clear_error();
	BIO_free(bio);
	return (struct fb_tls_pem_key *)k;
}

void fb_tls_pem_key_free(struct fb_tls_pem_key *key)
{
	EVP_PKEY_free((EVP_PKEY *)key);
}

bool fb_tls_pem_match(const struct fb_tls_pem_crt *crt, const struct fb_tls_pem_key *key)
{
	bool ok = X509_check_private_key((const X509 *)crt, (const EVP_PKEY *)key) == 1;

	ERR_clear_error();
	return ok;
}
