/* SPDX-License-Identifier: Apache-2.0 */
/* What the TLS files' checks need from a TLS library: PEM certificates
 * (dates, names) and private keys (opened with a password, matched to a
 * certificate).  Two backends give it: config_tls_openssl.c (fb_config_tls,
 * for fieldbridgectl and the exporter, which link OpenSSL anyway) and
 * config_tls_gnutls.c (fb_config_tls_gnutls, for the web daemon, whose
 * libmicrohttpd brings GnuTLS: a second TLS library there cost 1.4 MB of
 * RSS).  The messages are written above this line, once, in config_tls.c
 * and config_edit's cert.c, so every program words them alike. */
#ifndef FB_CONFIG_TLS_PEM_H
#define FB_CONFIG_TLS_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct fb_tls_pem_crt; /* one certificate, opaque */
struct fb_tls_pem_key; /* one private key, opaque */

/* A certificate's validity; FB_TLS_PEM_NO_TIME where it does not read. */
#define FB_TLS_PEM_NO_TIME ((time_t)-1)
typedef void fb_tls_pem_each_fn(void *ctx, size_t nth, time_t not_before,
				time_t not_after);

/* Counts the PEM certificates in text[0..len) (a CA file may hold a chain),
 * stopping at the first that does not parse.  each (may be NULL) gets the
 * dates of each one, nth counting from 1.  When first is not NULL, *first
 * is the first certificate (caller frees with fb_tls_pem_crt_free) or NULL
 * when there is none. */
size_t fb_tls_pem_certs(const char *text, size_t len, fb_tls_pem_each_fn *each, void *ctx,
			struct fb_tls_pem_crt **first);
/* Subject and issuer in the "/C=DE/O=…/CN=…" form, each truncated to its
 * buffer. */
void fb_tls_pem_crt_names(const struct fb_tls_pem_crt *crt, char *subject, size_t slen,
			  char *issuer, size_t ilen);
time_t fb_tls_pem_crt_not_after(const struct fb_tls_pem_crt *crt);
void fb_tls_pem_crt_free(struct fb_tls_pem_crt *crt); /* NULL is fine */

/* The private key of text[0..len) (PKCS#1, PKCS#8, SEC1; PKCS#8-encrypted
 * or the legacy "Proc-Type: 4,ENCRYPTED"), decrypted with password
 * (borrowed; NULL: none given, an encrypted key then fails without a
 * prompt).  Caller frees with fb_tls_pem_key_free; NULL when it does not
 * parse or decrypt. */
struct fb_tls_pem_key *fb_tls_pem_key_read(const char *text, size_t len, const char *password);
void fb_tls_pem_key_free(struct fb_tls_pem_key *key); /* NULL is fine */

/* Whether key is the private key of crt's public key. */
bool fb_tls_pem_match(const struct fb_tls_pem_crt *crt, const struct fb_tls_pem_key *key);

#endif
