/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots of the files tools write (buses.d/, connections.d/, the users
 * file, secrets/, certs/, devices/), taken at each apply, and rollback to one.
 * A snapshot is "<state_dir>/snapshots/<id>/": meta.json plus files/<rel>
 * with the original modes; it is built in a hidden directory and renamed
 * into place, so a listed snapshot is always complete. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNAPSHOTS_KEPT 50
#define SNAP_DIR_MODE 0755  /* the list: readable by the web's account */
#define SNAP_ONE_MODE 0711  /* one snapshot: meta.json reachable, not listed */
#define SNAP_META_MODE 0644 /* id, time, user, file names: nothing secret */

/* devices/: definition drop-ins (fieldbridgectl definition add, the web's
 * POST definitions): a few KB each, and a rollback must take them back. */
static const char *const tool_dirs[] = { "buses.d", "connections.d", "modbus_servers.d",
					 "secrets", "certs", "devices", NULL };

struct names {
	char **v;
	size_t n;
};

static int names_add(struct names *s, char *name)
{
	char **v = name ? realloc(s->v, (s->n + 1) * sizeof(*v)) : NULL;

	if (!v) {
		free(name);
		return -1;
	}
	s->v = v;
	s->v[s->n++] = name;
	return 0;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files under root/rel, recursively; hidden names (temp files,
 * staging mirrors) are not configuration. */
static int walk(const char *root, const char *rel, struct names *out)
{
	char *path = ce_file_join(root, rel);
	DIR *d = path ? opendir(path) : NULL;
	struct dirent *de;
	int rc = 0;

	free(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while ((de = readdir(d)) && rc == 0) {
		char *r, *p;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		r = ce_file_join(rel, de->d_name);
		p = r ? ce_file_join(root, r) : NULL;
		if (!p || lstat(p, &st) < 0)
			rc = -1;
		else if (S_ISDIR(st.st_mode))
			rc = walk(root, r, out);
		else if (S_ISREG(st.st_mode)) {
			rc = names_add(out, r);
			r = NULL;
		}
		free(r);
		free(p);
	}
	closedir(d);
	return rc;
}

int ce_snapshot_files(const struct fb_edit *e, char ***rel, size_t *n)
{
	struct names s = { 0 };
	size_t dl = strlen(e->dir);

	for (size_t i = 0; tool_dirs[i]; i++) {
		if (walk(e->dir, tool_dirs[i], &s) < 0) {
			names_free(&s);
			return -1;
		}
	}
	if (e->users_path && !strncmp(e->users_path, e->dir, dl) && e->users_path[dl] == '/' &&
	    access(e->users_path, F_OK) == 0 && names_add(&s, strdup(e->users_path + dl + 1))) {
		names_free(&s);
		return -1;
	}
	if (s.n) /* qsort of a NULL array is undefined even for 0 elements */
		qsort(s.v, s.n, sizeof(*s.v), cmp_str);
	*rel = s.v;
	*n = s.n;
	return 0;
}

static char *snap_root(const struct fb_edit *e)
{
	char *sd = fb_edit_state_dir(e), *r = sd ? ce_file_join(sd, "snapshots") : NULL;

	free(sd);
	return r;
}

/* The state dir belongs to the daemons' account; a snapshot restored by
 * root must not be something that account could have written.  So the
 * snapshots directory must be ours and writable by no one else.  Others
 * may read the list (0755, each snapshot 0711 with meta.json 0644): the
 * web, as user fieldbridge, lists the snapshots root took at an apply.
 * The files themselves stay in files/ (0700) with their own modes. */
static int root_trusted(const char *root, struct fb_diag *diag)
{
	struct stat st;

	if (lstat(root, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fb_diag_error(diag, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		fb_diag_error(diag, "%s: not a directory only uid %u writes: snapshots there are "
			      "not trusted", root, (unsigned)geteuid());
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Creates path and its missing parents; only path itself gets `mode` (the
 * state dir above it stays readable for the daemons' other files). */
static int mkdirs(const char *path, mode_t mode)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return -1;
	for (char *s = strchr(p + 1, '/'); s && !rc; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (!rc && mkdir(p, mode) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* Snapshot ids present, ascending. */
static int list_ids(const char *root, unsigned **ids, size_t *n)
{
	DIR *d = opendir(root);
	struct dirent *de;
	unsigned *v = NULL;

	*ids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		char *end;
		unsigned long id = strtoul(de->d_name, &end, 10);
		unsigned *nv;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end || id > 0xffffffffUL)
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[(*n)++] = (unsigned)id;
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++) /* insertion sort: a few dozen ids */
		for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
			unsigned t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	*ids = v;
	return 0;
}

static void who(const char *user, char *out, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw;

	if (user)
		snprintf(out, len, "%s", user);
	else if (getuid() == 0 && sudo && *sudo)
		snprintf(out, len, "%s", sudo);
	else if ((pw = getpwuid(getuid())))
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "%u", (unsigned)getuid());
}

static int restore_plan(struct fb_edit *e, const char *root, unsigned id, struct ce_plan *p,
			bool *same);

enum fb_edit_rc fb_snapshot_take(struct fb_edit *e, const char *user, unsigned *id,
				 struct fb_diag *diag)
{
	char *root = NULL, *tmp = NULL, *final = NULL, **rel = NULL, *text = NULL;
	char name[64], *meta_path = NULL, *files_dir = NULL;
	unsigned *ids = NULL;
	size_t nids = 0, nrel = 0;
	cJSON *meta = NULL, *files;
	enum fb_edit_rc rc = ce_edit_begin(e, false, diag);

	if (rc)
		return rc;
	rc = FB_EDIT_FAILED;
	root = snap_root(e);
	if (root && root_trusted(root, diag) < 0) {
		rc = FB_EDIT_DENIED;
		goto out;
	}
	/* chmod: the umask may be stricter, or the directory older (0700). */
	if (!root || mkdirs(root, SNAP_DIR_MODE) < 0 || chmod(root, SNAP_DIR_MODE) < 0 ||
	    list_ids(root, &ids, &nids) < 0) {
		fb_diag_error(diag, "%s: cannot create snapshots: %s", root ? root : "state_dir",
			      strerror(errno));
		rc = errno == EACCES || errno == EPERM ? FB_EDIT_DENIED : FB_EDIT_FAILED;
		goto out;
	}
	if (nids) {
		/* The files as the newest snapshot has them: no second copy. */
		struct ce_plan same_plan = { 0 };
		bool same = false;

		if (restore_plan(e, root, ids[nids - 1], &same_plan, &same) == 0 && same) {
			*id = ids[nids - 1];
			rc = FB_EDIT_OK;
		}
		ce_file_plan_free(&same_plan);
		if (rc == FB_EDIT_OK)
			goto out;
	}
	*id = nids ? ids[nids - 1] + 1 : 1;
	if (asprintf(&tmp, "%s/.new-%u", root, *id) < 0 || asprintf(&final, "%s/%u", root, *id) < 0)
		goto out;
	ce_file_rm_tree(tmp);
	if (mkdir(tmp, 0700) < 0 || ce_snapshot_files(e, &rel, &nrel) < 0 ||
	    asprintf(&files_dir, "%s/files", tmp) < 0 || mkdir(files_dir, 0700) < 0) {
		fb_diag_error(diag, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	meta = cJSON_CreateObject();
	cJSON_AddNumberToObject(meta, "fieldbridge_snapshot", 1);
	cJSON_AddNumberToObject(meta, "id", *id);
	cJSON_AddNumberToObject(meta, "time", (double)time(NULL));
	who(user, name, sizeof(name));
	cJSON_AddStringToObject(meta, "user", name);
	files = cJSON_AddArrayToObject(meta, "files");
	for (size_t i = 0; i < nrel; i++) {
		char *src = ce_file_join(e->dir, rel[i]), *dst = NULL, *data = NULL, *sl;
		struct stat st;
		size_t len = 0;
		int ok = -1;
		cJSON *f;

		if (src && stat(src, &st) == 0 && (data = fb_read_file(src, &len)) &&
		    asprintf(&dst, "%s/files/%s", tmp, rel[i]) >= 0) {
			sl = strrchr(dst, '/');
			*sl = '\0';
			if (mkdirs(dst, 0700) == 0) {
				*sl = '/';
				ok = ce_file_write_atomic(dst, data, len, st.st_mode & 07777);
			}
		}
		if (ok < 0)
			fb_diag_error(diag, "%s: cannot copy into the snapshot: %s", src ? src : "",
				      strerror(errno));
		if (data) {
			explicit_bzero(data, len);
			free(data);
		}
		free(src);
		free(dst);
		if (ok < 0)
			goto out;
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "path", rel[i]);
		cJSON_AddNumberToObject(f, "mode", st.st_mode & 07777);
		cJSON_AddItemToArray(files, f);
	}
	text = cJSON_Print(meta);
	meta_path = ce_file_join(tmp, "meta.json");
	if (!text || !meta_path ||
	    ce_file_write_atomic(meta_path, text, strlen(text), SNAP_META_MODE) < 0 ||
	    chmod(tmp, SNAP_ONE_MODE) < 0 || rename(tmp, final) < 0) {
		fb_diag_error(diag, "%s: %s", final, strerror(errno));
		goto out;
	}
	rc = FB_EDIT_OK;
	for (size_t i = 0; i + SNAPSHOTS_KEPT < nids + 1; i++) {
		char *old;

		if (asprintf(&old, "%s/%u", root, ids[i]) >= 0) {
			ce_file_rm_tree(old);
			free(old);
		}
	}
out:
	if (rc && tmp)
		ce_file_rm_tree(tmp);
	for (size_t i = 0; i < nrel; i++)
		free(rel[i]);
	free(rel);
	free(ids);
	free(root);
	free(tmp);
	free(final);
	free(meta_path);
	free(files_dir);
	free(text);
	cJSON_Delete(meta);
	return rc;
}

static cJSON *meta_load(const char *root, unsigned id)
{
	struct fb_diag d;
	char *path;
	cJSON *m = NULL;

	if (asprintf(&path, "%s/%u/meta.json", root, id) < 0)
		return NULL;
	fb_diag_init(&d);
	m = fb_json_load_file(path, &d);
	fb_diag_free(&d);
	free(path);
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "files"))) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

enum fb_edit_rc fb_snapshot_list(const struct fb_edit *e, struct fb_snapshot **list,
				 size_t *n, struct fb_diag *diag)
{
	char *root = snap_root(e);
	unsigned *ids = NULL;
	size_t nids = 0;
	struct fb_snapshot *v;

	*list = NULL;
	*n = 0;
	if (!root || list_ids(root, &ids, &nids) < 0) {
		fb_diag_error(diag, "%s: %s", root ? root : "snapshots", strerror(errno));
		free(root);
		return errno == EACCES ? FB_EDIT_DENIED : FB_EDIT_FAILED;
	}
	v = calloc(nids + 1, sizeof(*v));
	for (size_t i = 0; v && i < nids; i++) {
		cJSON *m = meta_load(root, ids[i]);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "time");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "user");

		if (!m)
			continue;
		v[*n].id = ids[i];
		v[*n].time = cJSON_IsNumber(t) ? (long long)t->valuedouble : 0;
		snprintf(v[*n].user, sizeof(v[*n].user), "%s",
			 cJSON_IsString(u) ? u->valuestring : "?");
		v[*n].nfiles = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m,
											   "files"));
		(*n)++;
		cJSON_Delete(m);
	}
	free(ids);
	free(root);
	*list = v;
	return v ? FB_EDIT_OK : FB_EDIT_FAILED;
}

/* The plan that turns the current files into snapshot `id`; *same is set
 * if nothing would change. */
static int restore_plan(struct fb_edit *e, const char *root, unsigned id, struct ce_plan *p,
			bool *same)
{
	cJSON *m = meta_load(root, id), *f;
	char **cur = NULL;
	size_t ncur = 0;
	int rc = -1;

	*same = true;
	if (!m || ce_snapshot_files(e, &cur, &ncur) < 0)
		goto out;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(m, "files")) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *mode = cJSON_GetObjectItemCaseSensitive(f, "mode");
		char *src = NULL, *data, *now_path, *now;
		size_t len = 0, nlen = 0;
		struct stat st;

		if (!cJSON_IsString(path) || !cJSON_IsNumber(mode) || strstr(path->valuestring, "..") ||
		    path->valuestring[0] == '/' ||
		    asprintf(&src, "%s/%u/files/%s", root, id, path->valuestring) < 0)
			goto out;
		data = fb_read_file(src, &len);
		free(src);
		if (!data)
			goto out;
		now_path = ce_file_join(e->dir, path->valuestring);
		now = now_path ? fb_read_file(now_path, &nlen) : NULL;
		if (!now || nlen != len || memcmp(now, data, len) || stat(now_path, &st) < 0 ||
		    (st.st_mode & 07777) != (mode_t)mode->valueint)
			*same = false;
		if (now) {
			explicit_bzero(now, nlen);
			free(now);
		}
		free(now_path);
		if (ce_file_plan_add(p, path->valuestring, data, len, (mode_t)mode->valueint) < 0)
			goto out;
	}
	for (size_t i = 0; i < ncur; i++) {
		bool kept = false;

		for (size_t k = 0; k < p->n && !kept; k++)
			kept = !strcmp(p->w[k].rel, cur[i]);
		if (!kept) {
			*same = false;
			if (ce_file_plan_add(p, cur[i], NULL, 0, 0) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < ncur; i++)
		free(cur[i]);
	free(cur);
	cJSON_Delete(m);
	return rc;
}

enum fb_edit_rc fb_snapshot_restore(struct fb_edit *e, unsigned id, unsigned *restored,
				    struct fb_diag *diag)
{
	struct ce_plan plan = { 0 };
	char *root = NULL;
	unsigned *ids = NULL;
	size_t nids = 0;
	bool same = true, found = false;
	enum fb_edit_rc rc;

	*restored = 0;
	if (access(e->dir, W_OK) != 0) {
		fb_diag_error(diag, "%s: %s: changes need write access (root)", e->dir,
			      strerror(errno));
		return FB_EDIT_DENIED;
	}
	rc = ce_edit_begin(e, false, diag);
	if (rc)
		return rc;
	rc = FB_EDIT_FAILED;
	root = snap_root(e);
	if (!root || root_trusted(root, diag) < 0 || list_ids(root, &ids, &nids) < 0) {
		rc = errno == EACCES || errno == EPERM ? FB_EDIT_DENIED : FB_EDIT_FAILED;
		goto out;
	}
	for (size_t i = nids; i-- > 0 && !found;) {
		if (id && ids[i] != id)
			continue;
		ce_file_plan_free(&plan);
		if (restore_plan(e, root, ids[i], &plan, &same) < 0) {
			fb_diag_error(diag, "snapshot %u: cannot read it from %s/%u", ids[i], root,
				      ids[i]);
			goto out;
		}
		if (id || !same) {
			found = true;
			*restored = ids[i];
		}
	}
	if (!found) {
		if (id)
			fb_diag_error(diag, "snapshot %u: not found in %s", id, root);
		else
			fb_diag_error(diag, "no snapshot differs from the current files (%s)", root);
		rc = FB_EDIT_NOT_FOUND;
		goto out;
	}
	rc = ce_stage_commit(e, &plan, diag);
	if (rc == FB_EDIT_INVALID)
		fb_diag_error(diag, "snapshot %u: refused: it does not validate with the "
			      "current main file", *restored);
out:
	ce_file_plan_free(&plan);
	free(ids);
	free(root);
	return rc;
}
