/* SPDX-License-Identifier: Apache-2.0 */
/* Prints what the TLS checks say about a certificate and key: built once
 * per backend (tls_describe_openssl, tls_describe_gnutls), so
 * test_tls_backends.py can require both to print the same bytes.
 * Usage: tls_describe CRT KEY [PASSWORD|-] [CA] */
#include "config_edit.h"
#include "config_tls.h"
#include "diag.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *crt, *key, *pw, *ca;
	struct fb_cert_info info;
	struct fb_conn_conf cc;
	struct fb_diag d;
	char err[512];
	int rc;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: %s CRT KEY [PASSWORD|-] [CA]\n", argv[0]);
		return 2;
	}
	crt = argv[1];
	key = argv[2];
	pw = argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL;
	ca = argc > 4 ? argv[4] : NULL;
	if (fb_cert_check(crt, &info, err, sizeof(err)) == 0)
		printf("cert: subject %s | issuer %s | not_after %s | expired %d\n",
		       info.subject, info.issuer, info.not_after, info.expired);
	else
		printf("cert: error %s\n", err);
	rc = fb_key_check(key, pw, err, sizeof(err));
	printf("key: %d%s%s\n", rc, rc ? " " : "", rc ? err : "");
	printf("match: %d\n", fb_cert_key_match(crt, key, pw));
	memset(&cc, 0, sizeof(cc));
	cc.name = "ha";
	cc.source = "fieldbridge.json";
	cc.path = "connections[0]";
	cc.ssl = FB_SSL_ON;
	cc.ssl_server_crt = (char *)ca;
	cc.ssl_client_crt = (char *)crt;
	cc.ssl_client_key = (char *)key;
	cc.ssl_client_key_password = (char *)pw;
	fb_diag_init(&d);
	fb_config_tls_check(&cc, &d);
	printf("check: %zu errors, %zu warnings\n", d.errors, d.warnings);
	for (size_t i = 0; i < d.count; i++)
		printf("check: %s [%s]\n", d.entries[i].message,
		       d.entries[i].field ? d.entries[i].field : "");
	fb_diag_free(&d);
	return 0;
}
