/* The web listener's certificate when none is configured (tls auto): a
 * self-signed ECDSA P-256 certificate made once in "<state_dir>/web/",
 * so browsers can pin it by fingerprint (logged at every start). */
#include "web-internal.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_ext(X509 *crt, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, crt, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	rc = X509_add_ext(crt, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
	char tmp[4096];
	int fd, ok;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, crt);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	if (fclose(f) != 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int generate(const char *cert, const char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = X509_new();
	char host[256] = "localhost", san[1024];
	X509_NAME *name;
	int rc = -1;

	if (!key || !crt)
		goto out;
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	snprintf(san, sizeof(san), "DNS:%s,DNS:%s.local,DNS:localhost,IP:127.0.0.1,IP:::1",
		 host, host);
	X509_set_version(crt, 2);
	{
		unsigned char serial[16];
		BIGNUM *bn;
		char hex[33];

		if (web_random_hex(hex, sizeof(serial)) < 0)
			goto out;
		hex[0] = '1'; /* positive, no leading zero */
		bn = NULL;
		BN_hex2bn(&bn, hex);
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
		BN_free(bn);
	}
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 10L * 365 * 24 * 3600);
	X509_set_pubkey(crt, key);
	name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"fieldbridge",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host,
				   -1, -1, 0);
	X509_set_issuer_name(crt, name);
	if (add_ext(crt, NID_subject_alt_name, san) < 0 ||
	    add_ext(crt, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(crt, NID_ext_key_usage, "serverAuth") < 0 ||
	    !X509_sign(crt, key, EVP_sha256()))
		goto out;
	if (write_pem(key_path, 0600, key, NULL) < 0 || write_pem(cert, 0644, NULL, crt) < 0)
		goto out;
	rc = 0;
out:
	X509_free(crt);
	EVP_PKEY_free(key);
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
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *crt = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int rc = -1;

	if (crt && X509_digest(crt, EVP_sha256(), md, &n) && len >= n * 3) {
		for (unsigned int i = 0; i < n; i++)
			snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
		rc = 0;
	}
	X509_free(crt);
	BIO_free(bio);
	return rc;
}
