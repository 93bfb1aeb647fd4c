/* SPDX-License-Identifier: Apache-2.0 */
#include "self_path.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool fb_self_sibling(const char *rel, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return snprintf(out, len, "%s/%s", self, rel) < (int)len && access(out, X_OK) == 0;
}

void fb_program_path(const char *env_var, const char *name, const char *build_rel,
		     char *out, size_t len)
{
	const char *env = env_var ? getenv(env_var) : NULL;

	if (env && *env)
		snprintf(out, len, "%s", env);
	else if (!fb_self_sibling(name, out, len) &&
		 !(build_rel && fb_self_sibling(build_rel, out, len)))
		snprintf(out, len, "%s", name);
}
