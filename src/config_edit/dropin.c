/* SPDX-License-Identifier: Apache-2.0 */
/* move-to-dropin: a bus or connection written by hand in the main file
 * moves to its own drop-in, so tools may edit it.  The main file loses
 * exactly the object's text (and its separating comma); every other byte,
 * comments included, stays.  The object is found by a scan of the
 * original text, since the parsed tree has no byte offsets. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes [start, end) of the original text to drop; at most two (the
 * comma before a last element, and the element). */
struct span {
	size_t start, end;
};

static bool element_named(const char *orig, size_t s, size_t e, const char *name)
{
	char *text = strndup(orig + s, e - s);
	struct fb_diag scratch;
	cJSON *j, *n;
	bool match;

	if (!text)
		return false;
	fb_diag_init(&scratch);
	j = fb_json_parse_private("element", text, &scratch);
	fb_diag_free(&scratch);
	free(text);
	n = j ? cJSON_GetObjectItemCaseSensitive(j, "name") : NULL;
	match = cJSON_IsString(n) && !strcmp(n->valuestring, name);
	cJSON_Delete(j);
	return match;
}

/* Finds the element of the top-level array `key` named `name` in orig.
 * Returns the number of spans (1 or 2) and fills sp, *obj_s and *obj_e
 * (the object's own text), 0 if not found, -1 if the text cannot be
 * scanned. */
static int find_spans(const char *orig, const char *key, const char *name,
		      struct span sp[2], size_t *obj_s, size_t *obj_e)
{
	size_t len = strlen(orig), i, klen = strlen(key);
	char *t = strdup(orig);
	int rc = -1;

	if (!t)
		return -1;
	if (fb_json_strip_comments(t, NULL) < 0)
		goto out;
	i = ce_text_ws(t, 0);
	if (t[i] != '{')
		goto out;
	i = ce_text_ws(t, i + 1);
	while (t[i] == '"') {
		size_t ks = i + 1, ke = ce_text_string(t, i) - 1;
		bool ours = ke - ks == klen && !strncmp(t + ks, key, klen);

		i = ce_text_ws(t, ke + 1);
		if (t[i] != ':')
			goto out;
		i = ce_text_ws(t, i + 1);
		if (ours && t[i] == '[') {
			size_t prev_comma = 0;
			bool have_prev = false;

			i = ce_text_ws(t, i + 1);
			while (t[i] && t[i] != ']') {
				size_t s = i, e = ce_text_value(t, i), c;

				if (!e)
					goto out;
				c = ce_text_ws(t, e);
				if (t[s] == '{' && element_named(orig, s, e, name)) {
					*obj_s = s;
					*obj_e = e;
					if (t[c] == ',') {
						/* Not last: the element and its comma. */
						sp[0] = (struct span){ s, c + 1 };
						ce_text_widen(orig, len, &sp[0].start, &sp[0].end);
						rc = 1;
					} else if (have_prev) {
						/* Last: the comma before it, then it. */
						sp[0] = (struct span){ prev_comma, prev_comma + 1 };
						sp[1] = (struct span){ s, e };
						ce_text_widen(orig, len, &sp[1].start, &sp[1].end);
						rc = 2;
					} else {
						sp[0] = (struct span){ s, e };
						ce_text_widen(orig, len, &sp[0].start, &sp[0].end);
						rc = 1;
					}
					goto out;
				}
				if (t[c] != ',')
					break;
				have_prev = true;
				prev_comma = c;
				i = ce_text_ws(t, c + 1);
			}
			rc = 0;
			goto out;
		}
		i = ce_text_value(t, i);
		if (!i)
			goto out;
		i = ce_text_ws(t, i);
		if (t[i] != ',')
			break;
		i = ce_text_ws(t, i + 1);
	}
	rc = 0;
out:
	free(t);
	return rc;
}

/* Paths in a connection resolve against the defining file's directory:
 * one level deeper now. */
static int rebase_paths(cJSON *obj)
{
	static const char *const keys[] = { "ssl_server_crt", "ssl_client_crt", "ssl_client_key" };
	cJSON *m;

	cJSON_ArrayForEach(m, obj) {
		size_t n = m->string ? strlen(m->string) : 0;
		bool path = n > 5 && !strcmp(m->string + n - 5, "_file");
		char *v;

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			path = path || (m->string && !strcmp(m->string, keys[k]));
		if (!path || !cJSON_IsString(m) || !m->valuestring[0] || m->valuestring[0] == '/')
			continue;
		if (asprintf(&v, "../%s", m->valuestring) < 0)
			return -1;
		if (!cJSON_SetValuestring(m, v)) {
			free(v);
			return -1;
		}
		free(v);
	}
	return 0;
}

static enum fb_edit_rc plan_move(struct fb_edit *e, enum fb_edit_kind kind, const char *name,
				 const char *rel, struct ce_plan *plan, struct fb_diag *diag)
{
	const char *key = kind == FB_EDIT_CONN ? "connections" : "buses";
	char *orig, *main_copy = strdup(e->main_path), *obj_text, *printed, *out, *dropin;
	struct span sp[2];
	size_t len, s = 0, o = 0, obj_s, obj_e;
	struct stat st;
	cJSON *obj;
	mode_t mode = 0644;
	int n;

	orig = fb_read_file(e->main_path, &len);
	if (!orig || !main_copy || stat(e->main_path, &st) < 0) {
		fb_diag_error(diag, "%s: cannot read: %s", e->main_path, strerror(errno));
		free(orig);
		free(main_copy);
		return FB_EDIT_FAILED;
	}
	n = find_spans(orig, key, name, sp, &obj_s, &obj_e);
	if (n <= 0) {
		fb_diag_error(diag, "%s: cannot find %s %s in the \"%s\" array of the text",
			      e->main_path, fb_edit_kind_name(kind), name, key);
		free(orig);
		free(main_copy);
		return FB_EDIT_FAILED;
	}
	obj_text = strndup(orig + obj_s, obj_e - obj_s);
	obj = obj_text ? fb_json_parse_private(e->main_path, obj_text, diag) : NULL;
	free(obj_text);
	if (!obj || (kind == FB_EDIT_CONN && rebase_paths(obj) < 0)) {
		cJSON_Delete(obj);
		free(orig);
		free(main_copy);
		return FB_EDIT_FAILED;
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, "auth_password") ||
	    cJSON_GetObjectItemCaseSensitive(obj, "ssl_client_key_password"))
		mode = 0600; /* inline secrets stay private */
	printed = cJSON_Print(obj);
	cJSON_Delete(obj);
	out = malloc(len + 1);
	if (!printed || !out || asprintf(&dropin, "%s\n", printed) < 0) {
		free(printed);
		free(out);
		free(orig);
		free(main_copy);
		return FB_EDIT_FAILED;
	}
	free(printed);
	for (int k = 0; k < n; k++) {
		memcpy(out + o, orig + s, sp[k].start - s);
		o += sp[k].start - s;
		s = sp[k].end;
	}
	memcpy(out + o, orig + s, len - s);
	o += len - s;
	out[o] = '\0';
	free(orig);
	if (ce_file_plan_add(plan, rel, dropin, strlen(dropin), mode) ||
	    ce_file_plan_add(plan, basename(main_copy), out, o, st.st_mode & 07777)) {
		free(main_copy);
		return FB_EDIT_FAILED;
	}
	free(main_copy);
	return FB_EDIT_OK;
}

enum fb_edit_rc fb_edit_move_to_dropin(struct fb_edit *e, enum fb_edit_kind kind,
				       const char *name_in, struct fb_diag *diag)
{
	const char *dir = kind == FB_EDIT_CONN ? "connections.d" : "buses.d";
	char *name = strdup(name_in), rel[160], *abs = NULL;
	const struct fb_edit_obj *cur = NULL;
	struct ce_plan plan = { 0 };
	struct fb_diag cand;
	enum fb_edit_rc rc;
	size_t now_n = 0, cand_n = 0;
	long added;

	if (!name)
		return FB_EDIT_FAILED;
	if (kind != FB_EDIT_CONN && kind != FB_EDIT_BUS) {
		rc = FB_EDIT_USAGE;
		goto out;
	}
	rc = ce_edit_begin(e, true, diag);
	if (rc)
		goto out;
	for (size_t i = 0; i < e->nobjs; i++)
		if (e->objs[i].kind == kind && !strcmp(e->objs[i].name, name) &&
		    (!cur || e->objs[i].in_main))
			cur = &e->objs[i];
	if (!cur) {
		fb_diag_error(diag, "%s %s: not found", fb_edit_kind_name(kind), name);
		rc = FB_EDIT_NOT_FOUND;
		goto out;
	}
	snprintf(rel, sizeof(rel), "%s/%s.json", dir, name);
	abs = ce_file_join(e->dir, rel);
	if (!abs) {
		rc = FB_EDIT_FAILED;
		goto out;
	}
	if (!cur->in_main || access(abs, F_OK) == 0 || errno != ENOENT) {
		fb_diag_error(diag, "%s %s: %s exists already: nothing moved",
			      fb_edit_kind_name(kind), name, abs);
		rc = FB_EDIT_CONFLICT;
		goto out;
	}
	if (!ce_tree_name_valid(name)) {
		fb_diag_error(diag, "%s %s: a drop-in needs a name of 1..31 characters from "
			      "a-z, 0-9, '_' and '-': rename it in %s first",
			      fb_edit_kind_name(kind), name, e->main_path);
		rc = FB_EDIT_INVALID;
		goto out;
	}
	rc = plan_move(e, kind, name, rel, &plan, diag);
	if (rc)
		goto out;
	/* The loader must see the same configuration: no new error and as
	 * many messages as before (their file and array index may change). */
	fb_diag_init(&cand);
	added = ce_stage_validate_count(e, &plan, &cand, &now_n, &cand_n);
	if (added < 0) {
		rc = FB_EDIT_FAILED;
	} else if (added > 0 || now_n != cand_n) {
		fb_diag_error(diag, "%s %s: the loader does not read the moved object the "
			      "same (fix what it says below in %s first): nothing moved",
			      fb_edit_kind_name(kind), name, e->main_path);
		for (size_t i = 0; i < cand.count; i++)
			fb_diag_add_at(diag, cand.entries[i].severity, cand.entries[i].file,
				       cand.entries[i].path, cand.entries[i].field, "%s",
				       cand.entries[i].message);
		rc = FB_EDIT_INVALID;
	}
	fb_diag_free(&cand);
	if (rc)
		goto out;
	if (ce_file_commit(e, &plan, diag)) {
		rc = errno == EACCES || errno == EPERM ? FB_EDIT_DENIED : FB_EDIT_FAILED;
		goto out;
	}
	fb_edit_reload(e, diag);
out:
	ce_file_plan_free(&plan);
	free(abs);
	free(name);
	return rc;
}
