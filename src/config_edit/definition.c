/* SPDX-License-Identifier: Apache-2.0 */
/* Adding a device definition: a drop-in "<config dir>/devices/<id>.json",
 * the first of the default definition_dirs, so it wins over a shipped one
 * of the same id.  The file is loaded by the model's loader and its test
 * vectors run before anything is written (messages name the file it will
 * be), then the whole configuration is validated with it in place through
 * the staging mirror (a device using the id must still load), and only
 * then is it written atomically, under the edit lock. */
#include "config_edit-internal.h"
#include "config.h"
#include "model.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFINITION_DIR "devices"

/* The file name is the id devices name in "definition". */
static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || s[0] == '-' || s[0] == '_' || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return false;
	return !strstr(s - n, "..");
}

/* Copies src's entries into diag with `from` in texts replaced by `to`. */
static void diag_rename(struct fb_diag *diag, const struct fb_diag *src, const char *from,
			const char *to)
{
	size_t nf = strlen(from);

	for (size_t i = 0; i < src->count; i++) {
		const struct fb_diag_entry *c = &src->entries[i];
		const char *m = c->message, *hit = strstr(m, from);
		const char *file = c->file && !strcmp(c->file, from) ? to : c->file;

		if (hit)
			fb_diag_add_at(diag, c->severity, file, c->path, c->field, "%.*s%s%s",
				       (int)(hit - m), m, to, hit + nf);
		else
			fb_diag_add_at(diag, c->severity, file, c->path, c->field, "%s", m);
	}
}

/* Loads text as the definition file `real` would be, vectors included. */
static int check_text(struct fb_edit *e, const char *id, const char *text, size_t len,
		      const char *real, struct fb_vector_report *rep, struct fb_diag *diag)
{
	char *dir = NULL, *path = NULL;
	struct fb_diag d;
	struct fb_definition *def;
	int rc = -1;

	fb_diag_init(&d);
	/* A name ce_stage_sweep removes if this process dies before it does. */
	if (asprintf(&dir, "%s/.fieldbridge-edit.XXXXXX", e->dir) < 0) {
		dir = NULL;
		goto out;
	}
	if (!mkdtemp(dir) || asprintf(&path, "%s/%s.json", dir, id) < 0 ||
	    ce_file_write_atomic(path, text, len, 0600) < 0) {
		if (!path || access(path, F_OK) != 0) {
			free(path);
			path = NULL;
		}
		fb_diag_error(diag, "%s: cannot stage the definition: %s", e->dir,
			      strerror(errno));
		goto out;
	}
	def = fb_model_load(path, &d);
	if (def)
		fb_model_run_vectors(def, &d, rep);
	diag_rename(diag, &d, path, real);
	rc = def && !d.errors ? 0 : -1;
	fb_model_free(def);
out:
	if (dir && access(dir, F_OK) == 0)
		ce_file_rm_tree(dir);
	free(dir);
	free(path);
	fb_diag_free(&d);
	return rc;
}

/* gateway.definition_dirs may leave the config dir's devices/ out. */
static void warn_if_unsearched(struct fb_edit *e, const char *real, struct fb_diag *diag)
{
	struct fb_diag d;
	struct fb_config *cfg;
	char *want = realpath(real, NULL), *slash = want ? strrchr(want, '/') : NULL;
	bool found = false;

	fb_diag_init(&d);
	cfg = fb_config_load(e->main_path, &d);
	if (slash)
		*slash = '\0';
	for (size_t i = 0; cfg && slash && i < cfg->ndefinition_dirs && !found; i++) {
		char *dir = realpath(cfg->definition_dirs[i], NULL);

		found = dir && !strcmp(dir, want);
		free(dir);
	}
	if (cfg && slash && !found)
		fb_diag_add(diag, FB_SEV_WARNING, "%s: written, but gateway.definition_dirs does "
			    "not list %s: no device finds it", real, want);
	fb_config_free(cfg);
	fb_diag_free(&d);
	free(want);
}

enum fb_edit_rc fb_edit_definition_add(struct fb_edit *e, const char *id, const char *text,
				       size_t len, bool replace, char **path_out,
				       struct fb_vector_report *rep, struct fb_diag *diag)
{
	struct ce_plan plan = { 0 };
	enum fb_edit_rc rc;
	char rel[96], *real = NULL, *copy = NULL;

	memset(rep, 0, sizeof(*rep));
	if (path_out)
		*path_out = NULL;
	if (!id_valid(id)) {
		fb_diag_add_at(diag, FB_SEV_ERROR, NULL, NULL, "id", "definition id \"%s\": expected 1 to 64 "
			       "of a-z, 0-9, '-', '_' and '.' (it is the file name)", id);
		return FB_EDIT_USAGE;
	}
	if ((rc = ce_edit_begin(e, true, diag)) != FB_EDIT_OK)
		return rc;
	snprintf(rel, sizeof(rel), DEFINITION_DIR "/%s.json", id);
	if (!(real = ce_file_join(e->dir, rel))) {
		rc = FB_EDIT_FAILED;
		goto out;
	}
	if (!replace && access(real, F_OK) == 0) {
		fb_diag_error(diag, "%s: exists already (replace it explicitly)", real);
		rc = FB_EDIT_CONFLICT;
		goto out;
	}
	if (check_text(e, id, text, len, real, rep, diag) < 0) {
		rc = FB_EDIT_INVALID;
		goto out;
	}
	if (!(copy = malloc(len + 1))) {
		rc = FB_EDIT_FAILED;
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (ce_file_plan_add(&plan, rel, copy, len, 0644) < 0) {
		free(copy);
		rc = FB_EDIT_FAILED;
		goto out;
	}
	/* Devices of this id now load it: they must still start. */
	rc = ce_stage_commit(e, &plan, diag);
	if (rc == FB_EDIT_OK)
		warn_if_unsearched(e, real, diag);
	if (rc == FB_EDIT_OK && path_out) {
		*path_out = real;
		real = NULL;
	}
out:
	ce_file_plan_free(&plan);
	free(real);
	return rc;
}
