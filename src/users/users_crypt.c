/* SPDX-License-Identifier: Apache-2.0 */
/* Password hashes: check and create (crypt(3)).  A library of its own
 * (fb_users_crypt): only the web and ctl hash, and libcrypt would add its
 * mapping to every program that reads the users file. */
#include "users.h"
#include "users-internal.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool fb_user_password_ok(const struct fb_user *u, const char *password)
{
	struct crypt_data *cd;
	const char *h;
	bool ok;

	if (!u || !u->password_hash || !password)
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	h = crypt_r(password, u->password_hash, cd);
	ok = h && h[0] != '*' && strlen(h) == strlen(u->password_hash) &&
	     !strcmp(h, u->password_hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int fb_users_hash_password(const char *password, char *out, size_t len)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;
	int rc = -1;

	if (!cd)
		return -1;
	/* NULL random bytes: libcrypt reads the kernel's random source. */
	if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) &&
	    (h = crypt_r(password, salt, cd)) && h[0] != '*') {
		if (strlen(h) < len) {
			memcpy(out, h, strlen(h) + 1);
			rc = 0;
		} else {
			errno = ENOSPC;
		}
	} else if (!errno) {
		errno = EINVAL;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}
