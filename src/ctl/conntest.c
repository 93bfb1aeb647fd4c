/* SPDX-License-Identifier: Apache-2.0 */
/* `connection test NAME`: runs `fieldbridge-export --test` (the exporter's
 * own connect code), so its output and exit code are the exporter's.
 * fieldbridge-export is looked up next to fieldbridgectl first, then in
 * PATH. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_BIN "fieldbridge-export"

int ctl_connection_test(const struct ctl *c)
{
	char self[PATH_MAX], sibling[PATH_MAX + sizeof(EXPORT_BIN)];
	ssize_t n;
	char *argv[] = { EXPORT_BIN, "--test", "--connection", NULL, "-c", NULL, NULL, NULL };

	if (c->argc != 1)
		return ctl_usage_error(c, "connection test: expected NAME");
	argv[3] = c->argv[0];
	argv[5] = (char *)c->config_path;
	if (c->json)
		argv[6] = "--json";
	fflush(stdout);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(sibling, sizeof(sibling), "%s/%s", self, EXPORT_BIN);
			if (access(sibling, X_OK) == 0)
				execv(sibling, argv);
		}
	}
	execvp(EXPORT_BIN, argv);
	fprintf(stderr, "fieldbridgectl: connection test: cannot run %s: %s\n", EXPORT_BIN,
		strerror(errno));
	return errno == ENOENT ? CTL_NOT_FOUND : CTL_FAILED;
}
