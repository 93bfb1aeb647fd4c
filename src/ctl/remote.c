/* SPDX-License-Identifier: Apache-2.0 */
/* -H [user@]host: the same command on another gateway, like systemctl -H:
 * `ssh -- HOST fieldbridgectl ARGS`.  ssh joins its arguments into one
 * remote shell command line, so each argument is single-quoted here.
 * Standard input stays connected: secrets (FIELD=-) flow through it, never
 * through the command line. */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 'arg' with every ' written as '\'' */
static char *quote(const char *s)
{
	size_t n = 3;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = malloc(n);
	if (!out)
		return NULL;
	o = out;
	*o++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

int ctl_remote(const struct ctl *c, int argc, char **argv)
{
	/* ssh, -t?, --, host, fieldbridgectl, args..., NULL */
	char **v = calloc((size_t)argc + 6, sizeof(*v));
	int n = 0;

	if (!v)
		return CTL_FAILED;
	if (!c->host[0] || c->host[0] == '-' || strpbrk(c->host, " \t\n'\"\\;")) {
		free(v);
		return ctl_usage_error(c, "-H: expected [user@]host, got \"%s\"", c->host);
	}
	v[n++] = "ssh";
	/* A terminal at both ends: the remote prompts for secrets without echo. */
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		v[n++] = "-t";
	v[n++] = "--";
	v[n++] = (char *)c->host;
	v[n++] = "fieldbridgectl";
	for (int i = 0; i < argc; i++)
		if (!(v[n++] = quote(argv[i]))) {
			free(v);
			return CTL_FAILED;
		}
	v[n] = NULL;
	fflush(stdout);
	execvp("ssh", v);
	fprintf(stderr, "error: -H: ssh: %s\n", strerror(errno));
	return CTL_FAILED;
}
