/* SPDX-License-Identifier: Apache-2.0 */
/* Field helpers shared by the config loader: names, hosts, paths relative
 * to the file that holds them, and secrets. */
#include "config-internal.h"
#include "jsonfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A password or key passphrase longer than this is a wrong file, not a
 * secret (a certificate picked by mistake, say). */
#define CFG_SECRET_MAX 4096

char *cfg_strdup(struct cfg_ctx *ctx, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		ctx->oom = true;
	return d;
}

char *cfg_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;
	char cwd[4096];

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir || dir[0] == '/')
		return dir;
	/* Anchored to the cwd now, so the daemon's later paths do not depend on
	 * where it runs; symlinks are kept as written. */
	if (!getcwd(cwd, sizeof(cwd)))
		return dir;
	if (!strcmp(dir, "."))
		abs = strdup(cwd);
	else if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir) < 0)
		abs = NULL;
	free(dir);
	return abs;
}

char *cfg_path_join(struct cfg_ctx *ctx, const char *base_dir, const char *path)
{
	char *out;

	if (path[0] == '/')
		return cfg_strdup(ctx, path);
	if (asprintf(&out, "%s/%s", strcmp(base_dir, "/") ? base_dir : "", path) < 0) {
		ctx->oom = true;
		return NULL;
	}
	return out;
}

bool cfg_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int cfg_json_name(const cJSON *obj, const char *key, bool required,
		  const char *what, const char *where, struct fb_diag *diag,
		  const char **out)
{
	const char *s = NULL;
	int rc = fb_json_string(obj, key, required, where, diag, &s);

	if (rc <= 0)
		return rc;
	if (!cfg_name_valid(s)) {
		fb_json_error(diag, where, key, "%s.%s: expected a %s name of 1..%d characters "
			      "from a-z, 0-9, '_' and '-', got \"%s\"",
			      where, key, what, CFG_NAME_MAX, s);
		return -1;
	}
	*out = s;
	return 1;
}

const char *cfg_host_problem(const char *s)
{
	struct in6_addr a6;
	size_t len = strlen(s), label = 0;

	if (len == 0)
		return "a host name or IP address, not an empty string";
	if (strstr(s, "://"))
		return "a host name or IP address without a scheme "
		       "(\"broker.lan\", not \"mqtt://broker.lan\")";
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)s[i]))
			return "a host name or IP address without spaces";
	if (s[0] == '[')
		return "an IPv6 address without brackets and without a port "
		       "(\"::1\", not \"[::1]\" or \"[::1]:1883\")";
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, &a6) == 1)
			return NULL;
		return "a host name or IP address without a port "
		       "(\"broker.lan\" and the port in \"port\", not \"broker.lan:1883\")";
	}
	if (len > 253)
		return "a host name of at most 253 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return "a host name or IP address (no empty labels such as \"a..b\" or \".a\")";
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return "a host name or IP address (letters, digits, '.', '-' and '_' only)";
		if (++label > 63)
			return "a host name whose labels have at most 63 characters";
	}
	return NULL;
}

int cfg_json_path(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
		  const char *base_dir, const char *where, char **out)
{
	const char *s = NULL;
	int rc = fb_json_string(obj, key, false, where, ctx->diag, &s);

	if (rc <= 0)
		return rc;
	if (!s[0]) {
		fb_json_error(ctx->diag, where, key,
			      "%s.%s: expected a file path, got an empty string",
			      where, key);
		return -1;
	}
	*out = cfg_path_join(ctx, base_dir, s);
	return *out ? 1 : -1;
}

static bool perm_already_warned(struct cfg_ctx *ctx, const char *path)
{
	char **nw;

	for (size_t i = 0; i < ctx->nperm_warned; i++)
		if (!strcmp(ctx->perm_warned[i], path))
			return true;
	nw = realloc(ctx->perm_warned, (ctx->nperm_warned + 1) * sizeof(*nw));
	if (!nw)
		return false;
	ctx->perm_warned = nw;
	nw[ctx->nperm_warned] = strdup(path);
	if (nw[ctx->nperm_warned])
		ctx->nperm_warned++;
	return false;
}

/* A secret is only as private as the file holding it. */
static void perm_check(struct cfg_ctx *ctx, const char *path, mode_t mode,
		       const char *key, bool inline_secret)
{
	if (!(mode & 077) || perm_already_warned(ctx, path))
		return;
	if (inline_secret)
		fb_diag_add_at(ctx->diag, FB_SEV_WARNING, path, NULL, NULL,
			       "%s: holds an inline secret (%s) but is accessible "
			       "by group or others (mode %04o): run \"chmod 600 %s\", "
			       "or move the secret to %s_file",
			       path, key, (unsigned)(mode & 07777), path, key);
	else
		fb_diag_add_at(ctx->diag, FB_SEV_WARNING, path, NULL, NULL,
			       "%s: holds a secret (%s_file) but is accessible "
			       "by group or others (mode %04o): run \"chmod 600 %s\"",
			       path, key, (unsigned)(mode & 07777), path);
}

/* Reads the whole secret file into *out; returns NULL or a problem. */
static const char *secret_read(const char *path, char **out, int *err, mode_t *mode)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
	 * as not a regular file). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*err = 0;
	if (fd < 0) {
		*err = errno;
		return "cannot open";
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return "expected a regular file";
	}
	*mode = st.st_mode;
	if (st.st_size > CFG_SECRET_MAX) {
		close(fd);
		return "expected a file of at most 4096 bytes";
	}
	buf = malloc(CFG_SECRET_MAX + 2);
	if (!buf) {
		close(fd);
		*err = ENOMEM;
		return "cannot read";
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, CFG_SECRET_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			close(fd);
			free(buf);
			return "cannot read";
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CFG_SECRET_MAX) {
			close(fd);
			free(buf);
			return "expected a file of at most 4096 bytes";
		}
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n') {
		buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
	}
	if (strlen(buf) != n) {
		explicit_bzero(buf, n);
		free(buf);
		return "expected text without NUL bytes";
	}
	if (n == 0) {
		free(buf);
		return "expected a non-empty file (the secret, optionally followed by a newline)";
	}
	*out = buf;
	return NULL;
}

int cfg_json_secret(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
		    const char *source, const char *base_dir, const char *where,
		    char **out)
{
	char fkey[64];
	const cJSON *inl, *file;
	const char *s = NULL, *problem;
	char *path;
	struct stat st;
	mode_t mode = 0;
	int err, rc;

	snprintf(fkey, sizeof(fkey), "%s_file", key);
	inl = cJSON_GetObjectItemCaseSensitive(obj, key);
	file = cJSON_GetObjectItemCaseSensitive(obj, fkey);
	if (inl && cJSON_IsNull(inl))
		inl = NULL;
	if (file && cJSON_IsNull(file))
		file = NULL;
	if (inl && file) {
		fb_json_error(ctx->diag, where, key,
			      "%s: %s and %s are both given: expected only one",
			      where, key, fkey);
		return -1;
	}
	if (inl) {
		/* fb_json_string names only the JSON type on error, never the
		 * value. */
		rc = fb_json_string(obj, key, false, where, ctx->diag, &s);
		if (rc <= 0)
			return rc;
		*out = cfg_strdup(ctx, s);
		if (!*out)
			return -1;
		if (stat(source, &st) == 0)
			perm_check(ctx, source, st.st_mode, key, true);
		return 1;
	}
	path = NULL;
	rc = cfg_json_path(ctx, obj, fkey, base_dir, where, &path);
	if (rc <= 0)
		return rc;
	problem = secret_read(path, out, &err, &mode);
	if (problem) {
		if (err)
			fb_json_error(ctx->diag, where, fkey, "%s.%s: %s \"%s\": %s", where, fkey,
				      problem, path, strerror(err));
		else
			fb_json_error(ctx->diag, where, fkey, "%s.%s: \"%s\": %s", where, fkey,
				      path, problem);
		free(path);
		return -1;
	}
	perm_check(ctx, path, mode, key, false);
	free(path);
	return 1;
}

bool cfg_check_readable(struct cfg_ctx *ctx, const char *where, const char *key,
			const char *path)
{
	struct stat st;
	/* O_NONBLOCK: as in secret_read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		fb_json_error(ctx->diag, where, key,
			      "%s.%s: expected a readable file, cannot open \"%s\": %s",
			      where, key, path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fb_json_error(ctx->diag, where, key, "%s.%s: expected a regular file, got \"%s\"",
			      where, key, path);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* Every earlier bus or connection (`kind`) named `name` is an error: the
 * one being parsed is the last of its list. */
static void instance_duplicates(struct cfg_ctx *ctx, const char *kind, const char *name,
				const char *where)
{
	const struct fb_config *c = ctx->c;
	bool bus = !strcmp(kind, "bus");
	size_t n = bus ? c->nbuses : c->nconns;

	for (size_t i = 0; i + 1 < n; i++) {
		const char *other = bus ? c->buses[i].name : c->conns[i].name;

		if (other && !strcmp(other, name))
			fb_json_error(ctx->diag, where, "name",
				      "%s.name: duplicate %s name \"%s\": expected names unique "
				      "among %s (also in %s)", where, kind, name,
				      bus ? "buses" : "connections",
				      bus ? c->buses[i].source : c->conns[i].source);
	}
}

const char *cfg_instance_name(struct cfg_ctx *ctx, const cJSON *obj,
			      const char *default_name, const char *kind, const char *where)
{
	const char *s = NULL;

	if (cfg_json_name(obj, "name", default_name == NULL, kind, where, ctx->diag, &s) == 0) {
		if (!cfg_name_valid(default_name)) {
			fb_json_error(ctx->diag, where, "name",
				      "%s.name: expected a %s name of 1..%d characters from a-z, "
				      "0-9, '_' and '-' (taken from the file name unless \"name\" "
				      "is set), got \"%s\"", where, kind, CFG_NAME_MAX,
				      default_name);
			return NULL;
		}
		s = default_name;
	}
	if (s)
		instance_duplicates(ctx, kind, s, where);
	return s;
}

void cfg_instance_where(char *where, size_t len, const char *where_in, const cJSON *obj,
			const char *default_name)
{
	const cJSON *namev = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "name")
						 : NULL;

	if (cJSON_IsString(namev))
		snprintf(where, len, "%s (%s)", where_in, namev->valuestring);
	else if (default_name)
		snprintf(where, len, "%s (%s)", where_in, default_name);
	else
		snprintf(where, len, "%s", where_in);
}

void cfg_device_path(const struct fb_bus_conf *b, const struct fb_device_conf *d,
		     char *buf, size_t len)
{
	const char *bp = b->path ? b->path : "";

	snprintf(buf, len, "%s%sdevices[%zu]", bp, bp[0] ? "." : "", (size_t)(d - b->devices));
}

/* Here, not in config.c: the section parsers look buses up too. */
struct fb_bus_conf *fb_config_bus(const struct fb_config *c, const char *name)
{
	for (size_t i = 0; i < c->nbuses; i++)
		if (c->buses[i].name && !strcmp(c->buses[i].name, name))
			return &c->buses[i];
	return NULL;
}
