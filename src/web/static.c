/* SPDX-License-Identifier: Apache-2.0 */
/* The pages: every regular file below --www DIR with a known type is
 * listed once at start, and only a URL equal to one of those names is
 * served.  No path from a request is ever joined to a directory, so "..",
 * symlinks planted later or odd encodings cannot reach other files. */
#include "web-internal.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_MAX 512

static const struct { const char *ext, *type; } types[] = {
	{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".ico", "image/x-icon" },
	{ ".json", "application/json" }, { ".woff2", "font/woff2" }, { ".txt", "text/plain" },
};

static const char *type_of(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (n > e && !strcmp(path + n - e, types[i].ext))
			return types[i].type;
	}
	return NULL;
}

int web_static_init(struct web *w, const char *dir)
{
	/* A walk with an explicit stack (bounded like the list). */
	char **stack = NULL;
	size_t nstack = 0, rootlen = strlen(dir);
	int rc = 0;

	w->statics = calloc(STATIC_MAX, sizeof(*w->statics));
	stack = calloc(STATIC_MAX, sizeof(char *));
	if (!w->statics || !stack) {
		free(stack);
		return -1;
	}
	stack[nstack++] = strdup(dir);
	while (nstack) {
		char *d = stack[--nstack];
		struct dirent **list;
		int n = d ? scandir(d, &list, NULL, alphasort) : -1;

		if (n < 0) {
			fb_log_errno(FB_LOG_WARNING, "web: cannot read %s", d ? d : dir);
			free(d);
			continue;
		}
		for (int i = 0; i < n; i++) {
			char *p = NULL;
			struct stat st;

			if (list[i]->d_name[0] == '.' ||
			    asprintf(&p, "%s/%s", d, list[i]->d_name) < 0) {
				free(list[i]);
				continue;
			}
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && nstack < STATIC_MAX) {
				stack[nstack++] = p;
				p = NULL;
			} else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && type_of(p) &&
				   w->nstatics < STATIC_MAX) {
				struct web_static *s = &w->statics[w->nstatics++];

				s->path = p;
				s->url = strdup(p + rootlen);
				s->type = type_of(p);
				p = NULL;
			}
			free(p);
			free(list[i]);
		}
		free(list);
		free(d);
	}
	free(stack);
	fb_info("web: serving %zu files from %s", w->nstatics, dir);
	return rc;
}

void web_static_free(struct web *w)
{
	for (size_t i = 0; i < w->nstatics; i++) {
		free(w->statics[i].url);
		free(w->statics[i].path);
	}
	free(w->statics);
	w->statics = NULL;
	w->nstatics = 0;
}

int web_static_serve(struct web_req *q, const char *url)
{
	const struct web_static *s = NULL;
	struct MHD_Response *r;
	struct stat st;
	int fd, rc;

	if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (!strcmp(url, "/"))
		url = "/index.html";
	for (size_t i = 0; i < q->w->nstatics; i++)
		if (!strcmp(q->w->statics[i].url, url))
			s = &q->w->statics[i];
	if (!s)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "not found");
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "not found");
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	web_http_headers(r, false);
	MHD_add_response_header(r, "Content-Type", s->type);
	rc = MHD_queue_response(q->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}
