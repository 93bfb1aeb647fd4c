/* SPDX-License-Identifier: Apache-2.0 */
/* One user's record, shared by the loader (users.c) and the password
 * check (users_crypt.c), which lives apart so that programs which only
 * read rights (the drivers, the exporter) do not map libcrypt. */
#ifndef FB_USERS_INTERNAL_H
#define FB_USERS_INTERNAL_H

#include "users.h"

#include <stdbool.h>
#include <stddef.h>

struct fb_rule {
	char *pattern;     /* "dev" or "dev/point", fnmatch(3) */
	bool has_point;
	enum fb_access access;
};

struct fb_user {
	char *name;
	char *password_hash;  /* crypt(3) string; NULL = cannot log in */
	struct fb_rule *rules;
	size_t nrules;
};

#endif
