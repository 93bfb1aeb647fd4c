/* SPDX-License-Identifier: Apache-2.0 */
/* config_tls_pem.h on GnuTLS (fb_config_tls_gnutls), giving the same
 * answers as config_tls_openssl.c: certificates are read one PEM block at a
 * time and the count stops at the first that does not parse, as OpenSSL's
 * PEM_read loop does; names are printed the way X509_NAME_oneline prints
 * them. */
#include "config_tls_pem.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>

static const char *tls_find(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; p && (size_t)(end - p) >= n; p++) {
		p = memchr(p, what[0], (size_t)(end - p));
		if (!p || (size_t)(end - p) < n)
			return NULL;
		if (!memcmp(p, what, n))
			return p;
	}
	return NULL;
}

/* The next "-----BEGIN CERTIFICATE-----" (or OpenSSL's older "X509
 * CERTIFICATE") block at or after p; *next past its end line. */
static const char *tls_next_block(const char *p, const char *end, const char **next)
{
	const char *a = tls_find(p, end, "-----BEGIN CERTIFICATE-----");
	const char *b = tls_find(p, end, "-----BEGIN X509 CERTIFICATE-----");
	const char *start = a && (!b || a < b) ? a : b, *stop;

	if (!start)
		return NULL;
	stop = tls_find(start, end, "-----END ");
	stop = stop ? tls_find(stop + 9, end, "-----") : NULL;
	*next = stop ? stop + 5 : end;
	return start;
}

size_t fb_tls_pem_certs(const char *text, size_t len, fb_tls_pem_each_fn *each, void *ctx,
			struct fb_tls_pem_crt **first)
{
	const char *p = text, *end = text + len, *next, *start;
	size_t n = 0;

	if (first)
		*first = NULL;
	while (p < end && (start = tls_next_block(p, end, &next))) {
		gnutls_datum_t d = { (unsigned char *)start, (unsigned)(next - start) };
		gnutls_x509_crt_t x;

		if (gnutls_x509_crt_init(&x) < 0)
			break;
		if (gnutls_x509_crt_import(x, &d, GNUTLS_X509_FMT_PEM) < 0) {
			gnutls_x509_crt_deinit(x);
			break;
		}
		n++;
		if (each)
			each(ctx, n, gnutls_x509_crt_get_activation_time(x),
			     gnutls_x509_crt_get_expiration_time(x));
		if (first && !*first)
			*first = (struct fb_tls_pem_crt *)x;
		else
			gnutls_x509_crt_deinit(x);
		p = next;
	}
	return n;
}

struct tls_out {
	char *buf;
	size_t len, used;
};

static void tls_put(struct tls_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->used + 1 < o->len; i++)
		o->buf[o->used++] = s[i];
	o->buf[o->used] = '\0';
}

/* OpenSSL's short names where GnuTLS's differ; an unknown type prints as
 * its dotted OID in both. */
static const char *tls_short_name(const char *oid)
{
	const char *name;

	if (!strcmp(oid, "1.2.840.113549.1.9.1"))
		return "emailAddress";
	name = gnutls_x509_dn_oid_name(oid, GNUTLS_X509_DN_OID_RETURN_OID);
	return name ? name : oid;
}

static void tls_dn_text(gnutls_x509_dn_t dn, char *buf, size_t len)
{
	struct tls_out o = { buf, len, 0 };
	gnutls_x509_ava_st ava;
	static const char hex[] = "0123456789ABCDEF";

	if (!len)
		return;
	buf[0] = '\0';
	for (int r = 0; dn; r++) {
		int a = 0;

		for (; gnutls_x509_dn_get_rdn_ava(dn, r, a, &ava) == 0; a++) {
			char oid[128];
			const char *name;

			snprintf(oid, sizeof(oid), "%.*s", (int)ava.oid.size, (const char *)ava.oid.data);
			name = tls_short_name(oid);
			tls_put(&o, "/", 1);
			tls_put(&o, name, strlen(name));
			tls_put(&o, "=", 1);
			for (unsigned i = 0; i < ava.value.size; i++) {
				unsigned char c = ava.value.data[i];
				char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

				if (c < ' ' || c > '~')
					tls_put(&o, esc, 4);
				else
					tls_put(&o, (const char *)&c, 1);
			}
		}
		if (!a)
			break;
	}
}

void fb_tls_pem_crt_names(const struct fb_tls_pem_crt *crt, char *subject, size_t slen,
			  char *issuer, size_t ilen)
{
	gnutls_x509_crt_t x = (gnutls_x509_crt_t)crt;
	gnutls_x509_dn_t dn;

	tls_dn_text(gnutls_x509_crt_get_subject(x, &dn) == 0 ? dn : NULL, subject, slen);
	tls_dn_text(gnutls_x509_crt_get_issuer(x, &dn) == 0 ? dn : NULL, issuer, ilen);
}

time_t fb_tls_pem_crt_not_after(const struct fb_tls_pem_crt *crt)
{
	return gnutls_x509_crt_get_expiration_time((gnutls_x509_crt_t)crt);
}

void fb_tls_pem_crt_free(struct fb_tls_pem_crt *crt)
{
	if (crt)
		gnutls_x509_crt_deinit((gnutls_x509_crt_t)crt);
}

struct fb_tls_pem_key *fb_tls_pem_key_read(const char *text, size_t len, const char *password)
{
	gnutls_datum_t d = { (unsigned char *)text, (unsigned)len };
	gnutls_x509_privkey_t k;

	if (gnutls_x509_privkey_init(&k) < 0)
		return NULL;
	if (gnutls_x509_privkey_import2(k, &d, GNUTLS_X509_FMT_PEM, password,
					password ? 0 : GNUTLS_PKCS_PLAIN) < 0) {
		gnutls_x509_privkey_deinit(k);
		return NULL;
	}
	return (struct fb_tls_pem_key *)k;
}

void fb_tls_pem_key_free(struct fb_tls_pem_key *key)
{
	if (key)
		gnutls_x509_privkey_deinit((gnutls_x509_privkey_t)key);
}

bool fb_tls_pem_match(const struct fb_tls_pem_crt *crt, const struct fb_tls_pem_key *key)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (gnutls_x509_crt_get_key_id((gnutls_x509_crt_t)crt, GNUTLS_KEYID_USE_SHA256, a,
				       &alen) < 0 ||
	    gnutls_x509_privkey_get_key_id((gnutls_x509_privkey_t)key, GNUTLS_KEYID_USE_SHA256, b,
					   &blen) < 0)
		return false;
	return alen == blen && !memcmp(a, b, alen);
}
