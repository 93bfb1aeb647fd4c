/* SPDX-License-Identifier: Apache-2.0 */
/* The request fieldbridge-web (user fieldbridge) leaves for the root apply
 * service: {"action": "apply"|"restore"|"rollback", "snapshot": N, "user",
 * "from", "time"}.  Root reads it as untrusted input: a file it opens
 * without following links, regular, one link, at most 4 KiB; every field
 * checked, unknown ones refused.  All it can name is one of three actions
 * and a snapshot id: never a path, so nothing the web could use to make
 * root read or write a file of its choosing. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_MAX 4096
#define WHERE "apply request"

static const char *const actions[] = { "apply", "restore", "rollback", NULL };

const char *fb_apply_request_action_name(enum fb_apply_request_action a)
{
	return a <= FB_REQUEST_ROLLBACK ? actions[a] : "?";
}

/* Who asked, for the snapshot list: a user name as the users file allows,
 * nothing that could pass for something else in a listing. */
static bool user_ok(const char *u)
{
	size_t n = strlen(u);

	return n > 0 && n < sizeof(((struct fb_apply_request *)0)->user) &&
	       strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == n;
}

char *fb_apply_request_text(const struct fb_apply_request *r, const char *from, long long time)
{
	cJSON *doc = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(doc, "action", fb_apply_request_action_name(r->action));
	if (r->action != FB_REQUEST_APPLY)
		cJSON_AddNumberToObject(doc, "snapshot", r->snapshot);
	cJSON_AddStringToObject(doc, "user", r->user);
	cJSON_AddStringToObject(doc, "from", from ? from : "");
	cJSON_AddNumberToObject(doc, "time", (double)time);
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	return text;
}

enum fb_edit_rc fb_apply_request_parse(const char *text, struct fb_apply_request *r,
				       struct fb_diag *diag)
{
	static const char *const known[] = { "action", "snapshot", "user", "from", "time", NULL };
	size_t errors = diag->errors;
	const char *user = NULL, *from = NULL;
	long long snap = 0;
	double t;
	int action = -1;
	cJSON *doc;

	memset(r, 0, sizeof(*r));
	doc = fb_json_parse_private(WHERE, text, diag);
	if (!doc)
		return FB_EDIT_USAGE;
	if (!cJSON_IsObject(doc)) {
		fb_diag_error(diag, WHERE ": expected a JSON object");
		cJSON_Delete(doc);
		return FB_EDIT_USAGE;
	}
	fb_json_unknown_keys(doc, known, WHERE, diag);
	fb_json_enum(doc, "action", true, actions, WHERE, diag, &action);
	fb_json_int(doc, "snapshot", false, 1, 0xffffffffLL, WHERE, diag, &snap);
	if (fb_json_string(doc, "user", false, WHERE, diag, &user) == 1 && !user_ok(user))
		fb_diag_error(diag, WHERE ".user: expected a user name (letters, digits, "
			      "'.', '_', '-', '@'; at most %zu)", sizeof(r->user) - 1);
	fb_json_string(doc, "from", false, WHERE, diag, &from);
	fb_json_number(doc, "time", false, WHERE, diag, &t);
	if (action == FB_REQUEST_APPLY && snap)
		fb_diag_error(diag, WHERE ".snapshot: not for action apply");
	if ((action == FB_REQUEST_RESTORE || action == FB_REQUEST_ROLLBACK) && !snap)
		fb_diag_error(diag, WHERE ".snapshot: required for action %s", actions[action]);
	if (diag->errors == errors) {
		r->action = (enum fb_apply_request_action)action;
		r->snapshot = (unsigned)snap;
		snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
	}
	cJSON_Delete(doc);
	return diag->errors == errors ? FB_EDIT_OK : FB_EDIT_USAGE;
}

enum fb_edit_rc fb_apply_request_take(const char *path, struct fb_apply_request *r,
				      struct fb_diag *diag)
{
	char taken[4200], text[REQUEST_MAX + 1];
	struct stat st;
	ssize_t n = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	/* Renamed first: a request written while this one runs is a new
	 * file (the path unit starts the service again for it). */
	if (snprintf(taken, sizeof(taken), "%s.taken", path) >= (int)sizeof(taken)) {
		fb_diag_error(diag, "%s: path too long", path);
		return FB_EDIT_USAGE;
	}
	if (rename(path, taken) < 0) {
		fb_diag_error(diag, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? FB_EDIT_NOT_FOUND : FB_EDIT_FAILED;
	}
	fd = open(taken, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_size > REQUEST_MAX) {
		fb_diag_error(diag, "%s: not a request (a regular file with one link, at most "
			      "%d bytes, not a symbolic link)", path, REQUEST_MAX);
		if (fd >= 0)
			close(fd);
		unlink(taken);
		return FB_EDIT_USAGE;
	}
	for (;;) {
		ssize_t got = read(fd, text + n, (size_t)(REQUEST_MAX - n));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += got;
		if (n == REQUEST_MAX)
			break;
	}
	close(fd);
	unlink(taken);
	text[n] = '\0';
	if ((size_t)n != strlen(text)) {
		fb_diag_error(diag, WHERE ": not text");
		return FB_EDIT_USAGE;
	}
	return fb_apply_request_parse(text, r, diag);
}
