/* SPDX-License-Identifier: Apache-2.0 */
/* `connection test NAME`: runs `fieldbridge-export --test` (the exporter's
 * own connect code), so its output and exit code are the exporter's.
 * fieldbridge-export is looked up next to fieldbridgectl first, then in
 * PATH. */
#include "ctl.h"
#include "self_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_BIN "fieldbridge-export"

int ctl_connection_test(const struct ctl *c)
{
	char sibling[PATH_MAX];
	char *argv[] = { EXPORT_BIN, "--test", "--connection", NULL, "-c", NULL, NULL, NULL };

	if (c->argc != 1)
		return ctl_usage_error(c, "connection test: expected NAME");
	argv[3] = c->argv[0];
	argv[5] = (char *)c->config_path;
	if (c->json)
		argv[6] = "--json";
	fflush(stdout);
	if (fb_self_sibling(EXPORT_BIN, sibling, sizeof(sibling)))
		execv(sibling, argv);
	execvp(EXPORT_BIN, argv);
	fprintf(stderr, "fieldbridgectl: connection test: cannot run %s: %s\n", EXPORT_BIN,
		strerror(errno));
	return errno == ENOENT ? CTL_NOT_FOUND : CTL_FAILED;
}
