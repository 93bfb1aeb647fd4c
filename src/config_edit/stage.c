/* SPDX-License-Identifier: Apache-2.0 */
/* Validation by the daemons' own loader: the candidate files are laid over
 * a mirror of the config dir (a hidden directory inside it, of symlinks to
 * the real files, so relative paths such as "../secrets/ha.auth_password"
 * or the default "devices" resolve as they will after the commit), and
 * the mirror is loaded exactly as --check loads it.  Messages name the
 * mirror's paths; they are rewritten to the real ones. */
#include "config_edit-internal.h"
#include "config.h"
#include "config_tls.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t fb_edit_validate_path(const char *main_path, struct fb_diag *diag)
{
	static const struct fb_config_checks every_check = {
		.airtime = true, .users = true, .tls = fb_config_tls_check,
	};
	size_t before = diag->errors;

	fb_config_check(main_path, NULL, NULL, &every_check, diag);
	return diag->errors - before;
}

/* Symlinks every entry of src into dst (an empty directory). */
static int mirror_dir(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		char *s, *t;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".lock") || !strncmp(de->d_name, ".fieldbridge-edit.", 18))
			continue;
		s = ce_file_join(src, de->d_name);
		t = ce_file_join(dst, de->d_name);
		/* A relative target would resolve against the mirror. */
		if (s && s[0] != '/') {
			char *cwd = getcwd(NULL, 0), *abs = cwd ? ce_file_join(cwd, s) : NULL;

			free(cwd);
			free(s);
			s = abs;
		}
		if (!s || !t || symlink(s, t) < 0)
			rc = -1;
		free(s);
		free(t);
	}
	closedir(d);
	return rc;
}

/* Makes every directory on the way to rel (inside the mirror) a real
 * directory, so a write there never goes through a symlink into the real
 * config dir. */
static int materialize(const char *real, const char *mirror, const char *rel)
{
	char *r = strdup(rel);
	int rc = 0;

	if (!r)
		return -1;
	for (char *s = strchr(r, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		char *m, *src;
		struct stat st;

		*s = '\0';
		m = ce_file_join(mirror, r);
		src = ce_file_join(real, r);
		if (!m || !src) {
			rc = -1;
		} else if (lstat(m, &st) == 0 && S_ISLNK(st.st_mode)) {
			if (unlink(m) < 0 || mkdir(m, 0700) < 0 || mirror_dir(src, m) < 0)
				rc = -1;
		} else if (lstat(m, &st) < 0 && mkdir(m, 0700) < 0) {
			rc = -1;
		}
		free(m);
		free(src);
		*s = '/';
	}
	free(r);
	return rc;
}

static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)); p += nf)
		n++;
	out = malloc(strlen(s) + n * (nt > nf ? nt - nf : 0) + 1);
	if (!out)
		return NULL;
	for (o = out; *s;) {
		if (!strncmp(s, from, nf)) {
			memcpy(o, to, nt);
			o += nt;
			s += nf;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static bool diag_has(const struct fb_diag *d, enum fb_severity sev, const char *msg)
{
	for (size_t i = 0; i < d->count; i++)
		if (d->entries[i].severity == sev && !strcmp(d->entries[i].message, msg))
			return true;
	return false;
}

static int apply_plan(const char *real, const char *mirror, const struct ce_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct ce_write *w = &p->w[i];
		char *path;
		int rc;

		if (materialize(real, mirror, w->rel) < 0)
			return -1;
		path = ce_file_join(mirror, w->rel);
		if (!path)
			return -1;
		unlink(path);
		rc = w->content ? ce_file_write_atomic(path, w->content, w->len, w->mode) : 0;
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

void ce_stage_sweep(struct fb_edit *e)
{
	DIR *d = opendir(e->dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *path;

		if (strncmp(de->d_name, ".fieldbridge-edit.", 18))
			continue;
		path = ce_file_join(e->dir, de->d_name);
		if (path)
			ce_file_rm_tree(path);
		free(path);
	}
	closedir(d);
}

long ce_stage_validate(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag)
{
	return ce_stage_validate_count(e, p, diag, NULL, NULL);
}

long ce_stage_validate_count(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag,
			     size_t *now_count, size_t *cand_count)
{
	char *mirror = NULL, *main_copy = strdup(e->main_path), *mirror_main = NULL;
	char *from = NULL, *to = NULL;
	struct fb_diag now, cand;
	long added = -1;

	fb_diag_init(&now);
	fb_diag_init(&cand);
	if (!main_copy || asprintf(&mirror, "%s/.fieldbridge-edit.XXXXXX", e->dir) < 0) {
		mirror = NULL;
		goto out;
	}
	if (!mkdtemp(mirror)) {
		fb_diag_error(diag, "%s: cannot create a staging directory: %s", e->dir,
			      strerror(errno));
		free(mirror);
		mirror = NULL;
		goto out;
	}
	if (mirror_dir(e->dir, mirror) < 0 || apply_plan(e->dir, mirror, p) < 0) {
		fb_diag_error(diag, "%s: cannot stage the change: %s", mirror, strerror(errno));
		goto out;
	}
	mirror_main = ce_file_join(mirror, basename(main_copy));
	if (asprintf(&from, "%s/", mirror) < 0 || asprintf(&to, "%s/", e->dir) < 0)
		goto out;

	fb_edit_validate_path(e->main_path, &now);
	fb_edit_validate_path(mirror_main, &cand);
	if (now_count)
		*now_count = now.count;
	if (cand_count)
		*cand_count = cand.count;
	added = 0;
	for (size_t i = 0; i < cand.count; i++) {
		const struct fb_diag_entry *c = &cand.entries[i];
		/* Mirror paths become the real ones; where the problem is (file,
		 * JSON path, field) goes along, so a form shows it at its field. */
		char *msg = replace_all(c->message, from, to);
		char *file = c->file ? replace_all(c->file, from, to) : NULL;

		if (!msg || (c->file && !file)) {
			free(msg);
			free(file);
			continue;
		}
		if (!diag_has(&now, c->severity, msg)) {
			fb_diag_add_at(diag, c->severity, file, c->path, c->field, "%s", msg);
			if (c->severity == FB_SEV_ERROR)
				added++;
		}
		free(msg);
		free(file);
	}
out:
	if (mirror)
		ce_file_rm_tree(mirror);
	free(mirror);
	free(mirror_main);
	free(main_copy);
	free(from);
	free(to);
	fb_diag_free(&now);
	fb_diag_free(&cand);
	return added;
}

enum fb_edit_rc ce_edit_begin(struct fb_edit *e, bool need_write, struct fb_diag *diag)
{
	struct fb_diag scratch;

	if (need_write && access(e->dir, W_OK) != 0) {
		fb_diag_error(diag, "%s: %s: changes need write access (root)", e->dir,
			      strerror(errno));
		return FB_EDIT_DENIED;
	}
	if (fb_edit_lock(e) < 0) {
		fb_diag_error(diag, "%s/.lock: cannot take the edit lock: %s", e->dir,
			      strerror(errno));
		return errno == EACCES ? FB_EDIT_DENIED : FB_EDIT_FAILED;
	}
	ce_stage_sweep(e);
	/* Start from what the previous lock holder committed. */
	fb_diag_init(&scratch);
	fb_edit_reload(e, &scratch);
	fb_diag_free(&scratch);
	return FB_EDIT_OK;
}

enum fb_edit_rc ce_stage_commit(struct fb_edit *e, const struct ce_plan *p,
				struct fb_diag *diag)
{
	long added = ce_stage_validate(e, p, diag);

	if (added < 0)
		return FB_EDIT_FAILED;
	if (added > 0)
		return FB_EDIT_INVALID;
	if (ce_file_commit(e, p, diag) < 0)
		return errno == EACCES || errno == EPERM ? FB_EDIT_DENIED : FB_EDIT_FAILED;
	fb_edit_reload(e, diag);
	return FB_EDIT_OK;
}
