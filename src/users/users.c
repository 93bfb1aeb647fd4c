/* SPDX-License-Identifier: Apache-2.0 */
/* Users file loader and the rights lookup (see users.h for the format). */
#include "users.h"
#include "users-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USER_NAME_MAX 64

struct fb_users {
	struct fb_user *users;
	size_t count;
};

static const char *const access_names[] = { "none", "read", "write", NULL };
static const char *const top_keys[] = { "users", NULL };
/* "role" is for the web page (admin, operator, viewer); the exporters ignore it. */
static const char *const user_keys[] = { "name", "password_hash", "rights", "role", NULL };

const char *fb_access_name(enum fb_access a)
{
	return a <= FB_ACCESS_WRITE ? access_names[a] : "?";
}

bool fb_users_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > USER_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-@", *s)))
			return false;
	return true;
}

/* A hash crypt(3) on this system can check: "$6$" (SHA-512), "$5$",
 * "$y$" (yescrypt), "$2b$" (bcrypt).  Plain text is refused on purpose. */
static bool hash_valid(const char *h)
{
	static const char *const prefixes[] = { "$6$", "$5$", "$y$", "$2b$", "$gy$", NULL };

	for (size_t i = 0; prefixes[i]; i++)
		if (!strncmp(h, prefixes[i], strlen(prefixes[i])) &&
		    strlen(h) > strlen(prefixes[i]) + 8)
			return true;
	return false;
}

static bool pattern_valid(const char *p)
{
	const char *slash = strchr(p, '/');

	if (!p[0] || p[0] == '/')
		return false;
	if (slash && (!slash[1] || strchr(slash + 1, '/')))
		return false;
	return true;
}

static void user_free_fields(struct fb_user *u)
{
	free(u->name);
	if (u->password_hash) {
		explicit_bzero(u->password_hash, strlen(u->password_hash));
		free(u->password_hash);
	}
	for (size_t i = 0; i < u->nrules; i++)
		free(u->rules[i].pattern);
	free(u->rules);
}

void fb_users_free(struct fb_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->count; i++)
		user_free_fields(&u->users[i]);
	free(u->users);
	free(u);
}

static int parse_rights(struct fb_user *u, const cJSON *rights, const char *where,
			struct fb_diag *diag)
{
	const cJSON *r;
	size_t n = 0;
	int errs = 0;

	if (!rights)
		return 0;
	if (!cJSON_IsObject(rights)) {
		fb_json_error(diag, where, "rights",
			      "%s.rights: expected an object of \"device\" or "
			      "\"device/point\" patterns to \"none\", \"read\" or \"write\"", where);
		return -1;
	}
	cJSON_ArrayForEach(r, rights)
		n++;
	u->rules = calloc(n ? n : 1, sizeof(*u->rules));
	if (!u->rules)
		return -1;
	cJSON_ArrayForEach(r, rights) {
		int a = -1;

		if (!pattern_valid(r->string)) {
			fb_json_error(diag, where, "rights",
				      "%s.rights: expected a key \"device\" or "
				      "\"device/point\" (wildcards * ? [] allowed), got \"%s\"",
				      where, r->string);
			errs++;
			continue;
		}
		if (cJSON_IsString(r))
			for (int i = 0; access_names[i]; i++)
				if (!strcmp(r->valuestring, access_names[i]))
					a = i;
		if (a < 0) {
			fb_json_error(diag, where, "rights",
				      "%s.rights.%s: expected \"none\", \"read\" or "
				      "\"write\"", where, r->string);
			errs++;
			continue;
		}
		u->rules[u->nrules].pattern = strdup(r->string);
		if (!u->rules[u->nrules].pattern)
			return -1;
		u->rules[u->nrules].has_point = strchr(r->string, '/') != NULL;
		u->rules[u->nrules].access = (enum fb_access)a;
		u->nrules++;
	}
	return errs ? -1 : 0;
}

static void check_mode(const char *path, struct fb_diag *diag)
{
	struct stat st;

	/* Password hashes can be attacked offline: keep them private. */
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		fb_diag_add_at(diag, FB_SEV_WARNING, path, NULL, NULL,
			       "%s: holds password hashes but is accessible by group or "
			       "others (mode %04o): run \"chmod 600 %s\"", path,
			       (unsigned)(st.st_mode & 07777), path);
}

struct fb_users *fb_users_load(const char *path, struct fb_diag *diag)
{
	size_t errors_before = diag->errors, n = 0;
	struct fb_users *u = NULL;
	const cJSON *list, *item;
	cJSON *doc = fb_json_load_private(path, diag);
	bool any_hash = false;

	if (!doc)
		return NULL;
	if (!cJSON_IsObject(doc)) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, "", NULL,
			       "%s: expected a JSON object {\"users\": [...]}", path);
		goto out;
	}
	fb_json_unknown_keys(doc, top_keys, path, diag);
	list = cJSON_GetObjectItemCaseSensitive(doc, "users");
	if (!cJSON_IsArray(list)) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, "", "users",
			       "%s: users: expected an array of user objects", path);
		goto out;
	}
	u = calloc(1, sizeof(*u));
	n = (size_t)cJSON_GetArraySize(list);
	if (!u || !(u->users = calloc(n ? n : 1, sizeof(*u->users)))) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL, "%s: out of memory", path);
		goto out;
	}
	cJSON_ArrayForEach(item, list) {
		char where[512];
		struct fb_user *usr = &u->users[u->count];
		const char *s = NULL;

		snprintf(where, sizeof(where), "%s: users[%zu]", path, u->count);
		if (!cJSON_IsObject(item)) {
			fb_json_error(diag, where, NULL, "%s: expected a user object", where);
			continue;
		}
		u->count++;
		if (fb_json_string(item, "name", true, where, diag, &s) == 1) {
			if (!fb_users_name_valid(s))
				fb_json_error(diag, where, "name",
					      "%s.name: expected 1..%d characters from "
					      "letters, digits, '_', '.', '-' and '@', got \"%s\"",
					      where, USER_NAME_MAX, s);
			else if (fb_users_find(u, s))
				fb_json_error(diag, where, "name",
					      "%s.name: duplicate user \"%s\": expected "
					      "unique names", where, s);
			usr->name = strdup(s);
		}
		s = NULL;
		if (fb_json_string(item, "password_hash", false, where, diag, &s) == 1) {
			/* Never echo the value: it may be a password typed in clear. */
			if (!hash_valid(s))
				fb_json_error(diag, where, "password_hash",
					      "%s.password_hash: expected a crypt(3) hash "
					      "such as \"$6$...\" (make one with "
					      "\"openssl passwd -6\"), not a plain password", where);
			usr->password_hash = strdup(s);
			any_hash = true;
		}
		parse_rights(usr, cJSON_GetObjectItemCaseSensitive(item, "rights"), where, diag);
		fb_json_unknown_keys(item, user_keys, where, diag);
	}
	if (any_hash)
		check_mode(path, diag);
out:
	cJSON_Delete(doc);
	if (diag->errors != errors_before) {
		fb_users_free(u);
		return NULL;
	}
	return u;
}

const struct fb_user *fb_users_find(const struct fb_users *u, const char *name)
{
	if (!u || !name)
		return NULL;
	for (size_t i = 0; i < u->count; i++)
		if (u->users[i].name && !strcmp(u->users[i].name, name))
			return &u->users[i];
	return NULL;
}

size_t fb_users_count(const struct fb_users *u)
{
	return u ? u->count : 0;
}

static bool rule_matches(const struct fb_rule *r, const char *device, const char *point)
{
	char dev_pat[256];
	const char *slash = strchr(r->pattern, '/');

	if (!slash)
		return fnmatch(r->pattern, device, 0) == 0;
	if ((size_t)(slash - r->pattern) >= sizeof(dev_pat))
		return false;
	snprintf(dev_pat, sizeof(dev_pat), "%.*s", (int)(slash - r->pattern), r->pattern);
	return fnmatch(dev_pat, device, 0) == 0 && fnmatch(slash + 1, point, 0) == 0;
}

enum fb_access fb_user_access(const struct fb_user *u, const char *device,
			      const char *point)
{
	const struct fb_rule *best = NULL;

	if (!u)
		return FB_ACCESS_NONE;
	for (size_t i = 0; i < u->nrules; i++) {
		const struct fb_rule *r = &u->rules[i];

		if (!rule_matches(r, device, point))
			continue;
		/* Most specific wins; ">=" lets a later equal key override. */
		if (!best || r->has_point > best->has_point ||
		    (r->has_point == best->has_point &&
		     strlen(r->pattern) >= strlen(best->pattern)))
			best = r;
	}
	return best ? best->access : FB_ACCESS_NONE;
}
