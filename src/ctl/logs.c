/* SPDX-License-Identifier: Apache-2.0 */
/* `logs [UNIT] [-f] [-p LEVEL]`: the journal of fieldbridge units, through
 * journalctl (the daemons log to stderr, which systemd puts there). */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const levels[] = { "emerg", "alert", "crit", "err", "warning", "notice",
				      "info", "debug", NULL };

static bool level_valid(const char *s)
{
	if (s[0] >= '0' && s[0] <= '7' && !s[1])
		return true;
	for (size_t i = 0; levels[i]; i++)
		if (!strcmp(s, levels[i]))
			return true;
	return false;
}

/* Whether `prog` is an executable file in $PATH. */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (!path || !(copy = strdup(path)))
		return false;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p;

		if (asprintf(&p, "%s/%s", *dir ? dir : ".", prog) < 0)
			break;
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

int ctl_logs(const struct ctl *c)
{
	/* "logs" takes no verb: the word after it is UNIT or an option. */
	int argc = c->argc + (c->verb ? 1 : 0);
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	char *argv[16], unit[160];
	int n = 0;
	const char *u = NULL, *level = NULL;
	bool follow = false;

	if (!args)
		return CTL_FAILED;
	if (c->verb)
		args[0] = (char *)c->verb;
	memcpy(args + (c->verb ? 1 : 0), c->argv, (size_t)c->argc * sizeof(*args));
	for (int i = 0; i < argc; i++) {
		if (!strcmp(args[i], "-f") || !strcmp(args[i], "--follow")) {
			follow = true;
		} else if (!strcmp(args[i], "-p") || !strcmp(args[i], "--priority")) {
			if (i + 1 >= argc || !level_valid(args[i + 1])) {
				free(args);
				return ctl_usage_error(c, "logs -p: expected a level (emerg, alert, "
						       "crit, err, warning, notice, info, debug "
						       "or 0..7)");
			}
			level = args[++i];
		} else if (args[i][0] != '-' && !u) {
			u = args[i];
		} else {
			int rc = ctl_usage_error(c, "logs: unexpected argument %s", args[i]);

			free(args);
			return rc;
		}
	}
	free(args);
	/* "meters" or "modbus@meters" are short for the unit names. */
	if (!u)
		snprintf(unit, sizeof(unit), "fieldbridge-*");
	else if (!strncmp(u, "fieldbridge-", 12))
		snprintf(unit, sizeof(unit), "%s", u);
	else if (strchr(u, '@'))
		snprintf(unit, sizeof(unit), "fieldbridge-%s", u);
	else
		snprintf(unit, sizeof(unit), "fieldbridge-*@%s.service", u);
	if (!in_path("journalctl")) {
		struct fb_diag d;

		fb_diag_init(&d);
		fb_diag_error(&d, "logs: journalctl not found: this system has no systemd "
			      "journal; a daemon started by hand logs to its standard error");
		ctl_fail(c, &d, CTL_FAILED);
		fb_diag_free(&d);
		return CTL_FAILED;
	}
	argv[n++] = "journalctl";
	argv[n++] = "--no-pager";
	argv[n++] = "-u";
	argv[n++] = unit;
	if (follow)
		argv[n++] = "-f";
	if (level) {
		argv[n++] = "-p";
		argv[n++] = (char *)level;
	}
	if (c->json) {
		argv[n++] = "-o";
		argv[n++] = "json"; /* one object per line: NDJSON */
	}
	argv[n] = NULL;
	fflush(stdout);
	execvp(argv[0], argv);
	fprintf(stderr, "error: logs: journalctl: %s\n", strerror(errno));
	return CTL_FAILED;
}
