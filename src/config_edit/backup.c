/* SPDX-License-Identifier: Apache-2.0 */
/* Backup and restore of the configuration as one JSON bundle:
 *   {"fieldbridge_backup": 1, "secrets": bool,
 *    "files": [{"path", "mode", "content"}], "omitted": [path...]}
 * The files are the main file, what tools write (the snapshot set:
 * buses.d/, connections.d/, the users file, secrets/, certs/) and the
 * definition drop-ins in devices/.  A private file (mode 0600: secrets,
 * keys, the users file with its password hashes) or one with a secret
 * written inline is a secret: without `secrets` only its name is listed,
 * and a restore leaves it as it is.
 * A restore is validated by the loader like any edit, then written under
 * the edit lock; like a snapshot restore it does not apply. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLE_VERSION 1

static const char *const allowed_dirs[] = { "buses.d/", "connections.d/", "secrets/",
					    "certs/", "devices/", NULL };

static char *main_rel(const struct fb_edit *e)
{
	char *copy = strdup(e->main_path), *base;

	if (!copy)
		return NULL;
	base = strdup(basename(copy));
	free(copy);
	return base;
}

/* A file holding a secret written inline ("auth_password": "...") is as
 * secret as the secrets/ files, whatever its mode. */
static bool inline_secret(const struct fb_edit *e, const char *path)
{
	static const enum fb_edit_kind kinds[] = { FB_EDIT_CONN, FB_EDIT_BUS, FB_EDIT_DEVICE };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t nf;
		const struct fb_field *fl = fb_edit_fields(kinds[k], &nf);

		for (size_t i = 0; i < fb_edit_count(e, kinds[k]); i++) {
			const struct fb_edit_obj *o = fb_edit_get(e, kinds[k], i);

			if (!o->file || strcmp(o->file, path))
				continue;
			for (size_t f = 0; f < nf; f++)
				if (fl[f].type == FB_FIELD_SECRET &&
				    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o->json,
										     fl[f].name)))
					return true;
		}
	}
	return false;
}

/* Adds one file; false only when out of memory. */
static bool add_file(const struct fb_edit *e, cJSON *files, cJSON *omitted, const char *rel,
		     bool secrets, struct fb_diag *diag)
{
	char *path = ce_file_join(e->dir, rel), *data;
	struct stat st;
	size_t len = 0;
	cJSON *f;

	if (!path)
		return false;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return true;
	}
	if (!secrets && (!(st.st_mode & 077) || inline_secret(e, path))) {
		free(path);
		cJSON_AddItemToArray(omitted, cJSON_CreateString(rel));
		return true;
	}
	data = fb_read_file(path, &len);
	if (!data || strlen(data) != len) {
		fb_diag_add(diag, FB_SEV_WARNING, "%s: left out of the backup: %s", path,
			    data ? "not a text file" : fb_read_file_strerror(errno));
		free(data);
		free(path);
		return true;
	}
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", rel);
	cJSON_AddNumberToObject(f, "mode", st.st_mode & 0777);
	cJSON_AddStringToObject(f, "content", data);
	cJSON_AddItemToArray(files, f);
	explicit_bzero(data, len);
	free(data);
	free(path);
	return true;
}

cJSON *fb_edit_backup(struct fb_edit *e, bool secrets, struct fb_diag *diag)
{
	cJSON *doc = cJSON_CreateObject(), *files, *omitted;
	/* devices/ (the definition drop-ins) is among the snapshot's files. */
	char **rel = NULL, *m = main_rel(e);
	size_t n = 0;
	bool ok = doc && m;

	cJSON_AddNumberToObject(doc, "fieldbridge_backup", BUNDLE_VERSION);
	cJSON_AddBoolToObject(doc, "secrets", secrets);
	files = cJSON_AddArrayToObject(doc, "files");
	omitted = cJSON_AddArrayToObject(doc, "omitted");
	if (ce_snapshot_files(e, &rel, &n) < 0) {
		fb_diag_error(diag, "%s: cannot list the configuration files: %s", e->dir,
			      strerror(errno));
		ok = false;
	}
	if (ok)
		ok = add_file(e, files, omitted, m, secrets, diag);
	for (size_t i = 0; i < n; i++) {
		if (ok)
			ok = add_file(e, files, omitted, rel[i], secrets, diag);
		free(rel[i]);
	}
	free(rel);
	free(m);
	if (!ok) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* A path a bundle may name: one of ours, relative, nothing hidden. */
static bool rel_allowed(const struct fb_edit *e, const char *rel, const char *main)
{
	size_t dl = strlen(e->dir);

	if (!*rel || rel[0] == '/' || strstr(rel, "..") || strstr(rel, "/.") || rel[0] == '.' ||
	    strstr(rel, "//"))
		return false;
	if (!strcmp(rel, main))
		return true;
	if (e->users_path && !strncmp(e->users_path, e->dir, dl) && e->users_path[dl] == '/' &&
	    !strcmp(e->users_path + dl + 1, rel))
		return true;
	for (size_t i = 0; allowed_dirs[i]; i++)
		if (!strncmp(rel, allowed_dirs[i], strlen(allowed_dirs[i])) &&
		    rel[strlen(allowed_dirs[i])])
			return true;
	return false;
}

static bool listed(const cJSON *arr, const char *key, const char *rel)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr) {
		const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(x, key) : x;

		if (cJSON_IsString(v) && !strcmp(v->valuestring, rel))
			return true;
	}
	return false;
}

enum fb_edit_rc fb_edit_restore(struct fb_edit *e, const cJSON *bundle, size_t *written,
				size_t *removed, struct fb_diag *diag)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(bundle, "fieldbridge_backup");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(bundle, "files");
	const cJSON *omitted = cJSON_GetObjectItemCaseSensitive(bundle, "omitted");
	const cJSON *f;
	struct ce_plan plan = { 0 };
	char **cur = NULL, *m = NULL;
	size_t ncur = 0, i = 0;
	enum fb_edit_rc rc;

	*written = *removed = 0;
	if (!cJSON_IsNumber(ver) || ver->valueint != BUNDLE_VERSION || !cJSON_IsArray(files) ||
	    (omitted && !cJSON_IsArray(omitted))) {
		fb_diag_add_at(diag, FB_SEV_ERROR, NULL, NULL, "fieldbridge_backup",
			       "not a fieldbridge backup: expected {\"fieldbridge_backup\": %d, "
			       "\"files\": [...]}", BUNDLE_VERSION);
		return FB_EDIT_USAGE;
	}
	if ((rc = ce_edit_begin(e, true, diag)) != FB_EDIT_OK)
		return rc;
	rc = FB_EDIT_FAILED;
	if (!(m = main_rel(e)))
		goto out;
	cJSON_ArrayForEach(f, files) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *mode = cJSON_GetObjectItemCaseSensitive(f, "mode");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(f, "content");
		char *copy;

		if (!cJSON_IsString(path) || !cJSON_IsString(content) || !cJSON_IsNumber(mode) ||
		    mode->valueint < 0 || (mode->valueint & ~0644)) {
			fb_diag_add_at(diag, FB_SEV_ERROR, NULL, NULL, "files",
				       "files[%zu]: expected {\"path\": string, \"mode\": at most "
				       "0644 (420), \"content\": string}", i);
			rc = FB_EDIT_USAGE;
			goto out;
		}
		if (!rel_allowed(e, path->valuestring, m)) {
			fb_diag_add_at(diag, FB_SEV_ERROR, NULL, NULL, "files",
				       "files[%zu]: \"%s\" is not a configuration file fieldbridge "
				       "writes (the main file, buses.d/, connections.d/, the users "
				       "file, secrets/, certs/, devices/)", i, path->valuestring);
			rc = FB_EDIT_USAGE;
			goto out;
		}
		if (!(copy = strdup(content->valuestring)) ||
		    ce_file_plan_add(&plan, path->valuestring, copy, strlen(copy),
				     (mode_t)mode->valueint) < 0)
			goto out;
		i++;
	}
	*written = plan.n;
	/* What tools wrote since, and the bundle neither holds nor omitted,
	 * goes: the result is the backed-up configuration. */
	if (ce_snapshot_files(e, &cur, &ncur) < 0)
		goto out;
	for (size_t k = 0; k < ncur; k++) {
		if (listed(files, "path", cur[k]) || listed(omitted, NULL, cur[k]))
			continue;
		if (ce_file_plan_add(&plan, cur[k], NULL, 0, 0) < 0)
			goto out;
		(*removed)++;
	}
	rc = ce_stage_commit(e, &plan, diag);
	if (rc == FB_EDIT_INVALID)
		fb_diag_error(diag, "the backup was not restored: it does not validate");
out:
	for (size_t k = 0; k < ncur; k++)
		free(cur[k]);
	free(cur);
	free(m);
	ce_file_plan_free(&plan);
	return rc;
}

enum fb_edit_rc fb_edit_restore_main(struct fb_edit *e, const char *text, size_t len,
				     struct fb_diag *diag)
{
	struct ce_plan plan = { 0 };
	char *m = NULL, *copy = NULL;
	struct stat st;
	enum fb_edit_rc rc;

	if ((rc = ce_edit_begin(e, true, diag)) != FB_EDIT_OK)
		return rc;
	rc = FB_EDIT_FAILED;
	if (!(m = main_rel(e)) || !(copy = malloc(len + 1)))
		goto out;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (ce_file_plan_add(&plan, m, copy, len, stat(e->main_path, &st) == 0
			     ? st.st_mode & 0777 : 0644) < 0)
		goto out;
	rc = ce_stage_commit(e, &plan, diag);
out:
	ce_file_plan_free(&plan);
	free(m);
	return rc;
}
