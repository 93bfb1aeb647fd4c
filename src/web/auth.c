/* SPDX-License-Identifier: Apache-2.0 */
/* The users file as the web sees it: who may log in (password_hash), with
 * which role, and what each user's rights allow.  Re-read when the file
 * changes (fieldbridgectl or the web edited it), so a removed user or a
 * changed password ends that user's sessions at once.  Also the first-run
 * setup code, while no admin exists. */
#include "web-internal.h"
#include "jsonfile.h"
#include "log.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void accounts_free(struct web_account *acc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (acc[i].hash)
			explicit_bzero(acc[i].hash, strlen(acc[i].hash));
		free(acc[i].hash);
	}
	free(acc);
}

/* The file's accounts; a file that does not parse gives none (and the
 * loader's messages are logged once per change). */
static struct web_account *accounts_load(const char *path, size_t *n)
{
	struct fb_diag d;
	cJSON *doc, *users, *u;
	struct web_account *acc = NULL;
	size_t cap = 0;

	*n = 0;
	fb_diag_init(&d);
	doc = fb_json_load_file(path, &d);
	fb_diag_free(&d);
	users = doc ? cJSON_GetObjectItemCaseSensitive(doc, "users") : NULL;
	if (!cJSON_IsArray(users))
		users = NULL;
	cJSON_ArrayForEach(u, users) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "name");
		const cJSON *hash = cJSON_GetObjectItemCaseSensitive(u, "password_hash");
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(u, "role");
		struct web_account *a;

		if (!cJSON_IsString(name) || strlen(name->valuestring) >= WEB_USER_MAX)
			continue;
		if (*n == cap) {
			struct web_account *p = realloc(acc, (cap ? cap * 2 : 8) * sizeof(*p));

			if (!p)
				break;
			acc = p;
			cap = cap ? cap * 2 : 8;
		}
		a = &acc[(*n)++];
		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "%s", name->valuestring);
		a->role = WEB_ROLE_VIEWER;
		if (cJSON_IsString(role))
			web_session_role_parse(role->valuestring, &a->role);
		if (cJSON_IsString(hash) && hash->valuestring[0])
			a->hash = strdup(hash->valuestring);
	}
	cJSON_Delete(doc);
	return acc;
}

int web_auth_init(struct web_auth *a, const char *users_path, const char *state_dir)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];

	memset(a, 0, sizeof(*a));
	a->mtime_ns = -1;
	a->users_path = users_path ? strdup(users_path) : NULL;
	a->state_dir = strdup(state_dir);
	if (!a->state_dir || (users_path && !a->users_path) ||
	    !crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		return -1;
	/* An unknown user costs one yescrypt like a known one (the usual
	 * hash of fieldbridgectl): timing does not tell which names exist. */
	if (web_hash_crypt("not a password", salt, a->dummy_hash, sizeof(a->dummy_hash)) < 0 ||
	    a->dummy_hash[0] == '*')
		return -1;
	return 0;
}

void web_auth_free(struct web_auth *a)
{
	accounts_free(a->acc, a->nacc);
	fb_users_free(a->rights);
	free(a->users_path);
	free(a->state_dir);
	memset(a, 0, sizeof(*a));
}

bool web_auth_refresh(struct web_auth *a, void (*gone)(void *ctx, const char *user),
		      void *ctx)
{
	struct stat st;
	int64_t mtime = -2, size = -1, ino = -1;
	struct web_account *acc;
	struct fb_diag d;
	size_t n;

	if (!a->users_path)
		return false;
	if (stat(a->users_path, &st) == 0) {
		mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		size = st.st_size;
		ino = (int64_t)st.st_ino;
	}
	if (mtime == a->mtime_ns && size == a->size && ino == a->ino)
		return false;
	a->mtime_ns = mtime;
	a->size = size;
	a->ino = ino;
	acc = mtime >= 0 ? accounts_load(a->users_path, &n) : (n = 0, NULL);
	for (size_t i = 0; i < a->nacc; i++) {
		const struct web_account *old = &a->acc[i], *now = NULL;

		for (size_t k = 0; k < n; k++)
			if (!strcmp(acc[k].name, old->name))
				now = &acc[k];
		if (!now || now->role != old->role || !now->hash || !old->hash ||
		    strcmp(now->hash, old->hash)) {
			if (gone)
				gone(ctx, old->name);
		}
	}
	accounts_free(a->acc, a->nacc);
	a->acc = acc;
	a->nacc = n;
	fb_users_free(a->rights);
	fb_diag_init(&d);
	a->rights = mtime >= 0 ? fb_users_load(a->users_path, &d) : NULL;
	if (mtime >= 0 && !a->rights)
		fb_diag_log(&d);
	fb_diag_free(&d);
	web_auth_setup_code(a);
	return true;
}

const struct web_account *web_auth_find(const struct web_auth *a, const char *name)
{
	for (size_t i = 0; i < a->nacc; i++)
		if (!strcmp(a->acc[i].name, name))
			return &a->acc[i];
	return NULL;
}

bool web_auth_verify(const struct web_auth *a, const char *user, const char *password)
{
	const struct web_account *acc = web_auth_find(a, user);
	const char *hash = acc && acc->hash ? acc->hash : NULL;
	bool real = hash != NULL;

	/* An unknown name (or one without a password) costs a real user's
	 * hash, so the time taken does not tell which names exist; the
	 * result is thrown away. */
	for (size_t i = 0; !hash && i < a->nacc; i++)
		hash = a->acc[i].hash;
	if (!hash)
		hash = a->dummy_hash;
	char out[CRYPT_OUTPUT_SIZE];
	bool ok;

	if (crypt_checksalt(hash) == CRYPT_SALT_INVALID) {
		hash = a->dummy_hash;
		real = false;
	}
	ok = web_hash_crypt(password, hash, out, sizeof(out)) == 0 && out[0] != '*' &&
	     web_session_token_equal(out, hash);
	explicit_bzero(out, sizeof(out));
	return ok && real;
}

bool web_auth_has_admin(const struct web_auth *a)
{
	for (size_t i = 0; i < a->nacc; i++)
		if (a->acc[i].role == WEB_ROLE_ADMIN && a->acc[i].hash)
			return true;
	return false;
}

enum fb_access web_auth_access(const struct web_auth *a, const char *user,
			       const char *device, const char *point)
{
	const struct fb_user *u = a->rights ? fb_users_find(a->rights, user) : NULL;

	return u ? fb_user_access(u, device, point) : FB_ACCESS_NONE;
}

void web_auth_setup_code(struct web_auth *a)
{
	char *path = NULL, *dir = NULL, hex[9];
	int fd;

	if (asprintf(&dir, "%s/web", a->state_dir) < 0 ||
	    asprintf(&path, "%s/setup-code", dir) < 0)
		goto out;
	if (web_auth_has_admin(a)) {
		if (a->setup_code[0] && unlink(path) < 0 && errno != ENOENT)
			fb_log_errno(FB_LOG_WARNING, "web: cannot remove %s", path);
		explicit_bzero(a->setup_code, sizeof(a->setup_code));
		goto out;
	}
	if (a->setup_code[0])
		goto out;
	/* Kept across restarts, so the code in the journal stays valid. */
	{
		char *text = fb_read_file(path, NULL);

		if (text && strlen(text) >= 9 && strlen(text) < sizeof(a->setup_code)) {
			snprintf(a->setup_code, sizeof(a->setup_code), "%.*s",
				 (int)strcspn(text, "\n"), text);
			free(text);
			fb_log(FB_LOG_NOTICE, "web: no administrator yet: create one on the "
			       "web page with the setup code %s", a->setup_code);
			goto out;
		}
		free(text);
	}
	if (web_session_random_hex(hex, 4) < 0)
		goto out;
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(a->setup_code, sizeof(a->setup_code), "%.4s-%.4s", hex, hex + 4);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		fb_log_errno(FB_LOG_WARNING, "web: cannot create %s", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%s\n", a->setup_code) < 0)
		fb_log_errno(FB_LOG_WARNING, "web: cannot store the setup code in %s", path);
	if (fd >= 0)
		close(fd);
	fb_log(FB_LOG_NOTICE, "web: no administrator yet: create one on the web page with "
	       "the setup code %s (also: fieldbridgectl web setup-code)", a->setup_code);
out:
	free(path);
	free(dir);
}
