/* SPDX-License-Identifier: Apache-2.0 */
/* Edits: build the candidate object, plan the files (drop-in, secrets,
 * certificates), validate the whole candidate configuration, commit.
 * Any refusal leaves every file as it was. */
#include "config_edit-internal.h"
#include "jsonfile.h"
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct edit_ctx {
	struct fb_edit *e;
	enum fb_edit_kind kind;
	const char *name;
	struct ce_plan plan;
	struct fb_diag *diag;
	const char *key_password; /* ssl_client_key_password of this edit */
};

static const char *rel_of(const struct fb_edit *e, const char *path)
{
	size_t n = strlen(e->dir);

	if (!strncmp(path, e->dir, n) && path[n] == '/')
		return path + n + 1;
	return NULL;
}

static enum fb_edit_rc plan_json(struct edit_ctx *c, const char *rel, const cJSON *doc,
				 mode_t mode)
{
	char *text = cJSON_Print(doc), *out;

	if (!text || asprintf(&out, "%s\n", text) < 0) {
		free(text);
		return FB_EDIT_FAILED;
	}
	free(text);
	return ce_file_plan_add(&c->plan, rel, out, strlen(out), mode) ? FB_EDIT_FAILED : FB_EDIT_OK;
}

static enum fb_edit_rc set_secret(struct edit_ctx *c, cJSON *obj, const struct fb_field *f,
				  const char *value)
{
	char rel[256], ref[300], fk[80], hash[CRYPT_OUTPUT_SIZE];
	char *content;

	snprintf(fk, sizeof(fk), "%s_file", f->name);
	if (c->kind == FB_EDIT_USER) {
		char salt[CRYPT_GENSALT_OUTPUT_SIZE];
		struct crypt_data *cd;

		cJSON_DeleteItemFromObjectCaseSensitive(obj, "password_hash");
		if (!*value)
			return FB_EDIT_OK;
		cd = calloc(1, sizeof(*cd));
		if (!cd || !crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) ||
		    !crypt_r(value, salt, cd) || cd->output[0] == '*') {
			free(cd);
			fb_diag_error(c->diag, "password: cannot hash with yescrypt: %s",
				      strerror(errno));
			return FB_EDIT_FAILED;
		}
		snprintf(hash, sizeof(hash), "%s", cd->output);
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
		cJSON_AddStringToObject(obj, "password_hash", hash);
		return FB_EDIT_OK;
	}
	snprintf(rel, sizeof(rel), "secrets/%s.%s", c->name, f->name);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, f->name);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, fk);
	if (!*value)
		return ce_file_plan_add(&c->plan, rel, NULL, 0, 0) ? FB_EDIT_FAILED : FB_EDIT_OK;
	if (asprintf(&content, "%s\n", value) < 0)
		return FB_EDIT_FAILED;
	if (ce_file_plan_add(&c->plan, rel, content, strlen(content), 0600))
		return FB_EDIT_FAILED;
	snprintf(ref, sizeof(ref), "../%s", rel);
	cJSON_AddStringToObject(obj, fk, ref);
	return FB_EDIT_OK;
}

/* The key password to check a key with: this edit's, else the stored one. */
static char *key_password(struct edit_ctx *c, const struct fb_edit_obj *cur)
{
	char *path;
	size_t len;
	char *s;

	if (c->key_password)
		return *c->key_password ? strdup(c->key_password) : NULL;
	if (!cur)
		return NULL;
	path = fb_edit_obj_path(cur, "ssl_client_key_password_file");
	s = path ? fb_read_file(path, &len) : NULL;
	free(path);
	if (s) {
		if (len && s[len - 1] == '\n')
			s[--len] = '\0';
		if (len && s[len - 1] == '\r')
			s[--len] = '\0';
	}
	return s;
}

static enum fb_edit_rc set_file(struct edit_ctx *c, cJSON *obj, const struct fb_field *f,
				const char *src, const struct fb_edit_obj *cur)
{
	char rel[256], ref[300], err[512];
	char *data, *pw;
	size_t len;
	int rc;

	cJSON_DeleteItemFromObjectCaseSensitive(obj, f->name);
	snprintf(rel, sizeof(rel), "certs/%s/%s.pem", c->name, f->name);
	if (!*src)
		return ce_file_plan_add(&c->plan, rel, NULL, 0, 0) ? FB_EDIT_FAILED : FB_EDIT_OK;
	if (f->type == FB_FIELD_CERT) {
		rc = fb_cert_check(src, NULL, err, sizeof(err));
	} else {
		pw = key_password(c, cur);
		rc = fb_key_check(src, pw, err, sizeof(err));
		if (pw) {
			explicit_bzero(pw, strlen(pw));
			free(pw);
		}
	}
	if (rc) {
		fb_diag_error(c->diag, "%s: %s", f->name, err);
		return FB_EDIT_INVALID;
	}
	data = fb_read_file(src, &len);
	if (!data) {
		fb_diag_error(c->diag, "%s: %s: cannot read: %s", f->name, src, strerror(errno));
		return FB_EDIT_FAILED;
	}
	if (ce_file_plan_add(&c->plan, rel, data, len, f->type == FB_FIELD_KEY ? 0600 : 0644))
		return FB_EDIT_FAILED;
	snprintf(ref, sizeof(ref), "../%s", rel);
	cJSON_AddStringToObject(obj, f->name, ref);
	return FB_EDIT_OK;
}

/* "PATTERN:ACCESS,PATTERN:ACCESS" -> { PATTERN: ACCESS } */
static cJSON *parse_rights(const char *text, char *err, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char *copy = strdup(text), *save = NULL;

	if (!o || !copy) {
		free(copy);
		cJSON_Delete(o);
		return NULL;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');

		if (!colon || colon == tok || (strcmp(colon + 1, "none") &&
					       strcmp(colon + 1, "read") &&
					       strcmp(colon + 1, "write"))) {
			snprintf(err, len, "rights: expected PATTERN:none|read|write, got \"%s\"",
				 tok);
			free(copy);
			cJSON_Delete(o);
			return NULL;
		}
		*colon = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(o, tok);
		cJSON_AddStringToObject(o, tok, colon + 1);
	}
	free(copy);
	return o;
}

static enum fb_edit_rc apply_change(struct edit_ctx *c, cJSON *obj,
				    const struct fb_edit_change *ch,
				    const struct fb_edit_obj *cur)
{
	const struct fb_field *f = fb_edit_field(c->kind, ch->field);
	char err[512];
	cJSON *v;

	if (!f) {
		fb_diag_error(c->diag, "%s: no field \"%s\" (fieldbridgectl %s fields lists them)",
			      fb_edit_kind_name(c->kind), ch->field, fb_edit_kind_name(c->kind));
		return FB_EDIT_USAGE;
	}
	switch (f->type) {
	case FB_FIELD_SECRET:
		return set_secret(c, obj, f, ch->value);
	case FB_FIELD_CERT:
	case FB_FIELD_KEY:
		return set_file(c, obj, f, ch->value, cur);
	default:
		break;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(obj, f->name);
	if (!*ch->value)
		return FB_EDIT_OK;
	v = f->type == FB_FIELD_RIGHTS ? parse_rights(ch->value, err, sizeof(err))
				       : fb_field_parse(f, ch->value, err, sizeof(err));
	if (!v) {
		if (c->kind == FB_EDIT_GATEWAY)
			fb_diag_error(c->diag, "gateway: %s", err);
		else
			fb_diag_error(c->diag, "%s %s: %s", fb_edit_kind_name(c->kind), c->name,
				      err);
		return FB_EDIT_INVALID;
	}
	cJSON_AddItemToObject(obj, f->name, v);
	return FB_EDIT_OK;
}

static enum fb_edit_rc apply_changes(struct edit_ctx *c, cJSON *obj,
				     const struct fb_edit_change *changes, size_t n,
				     const struct fb_edit_obj *cur)
{
	enum fb_edit_rc rc;

	/* A key given with its password is checked with that password. */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(changes[i].field, "ssl_client_key_password"))
			c->key_password = changes[i].value;
	/* Plain values first: an out-of-range value is reported before any
	 * file is read. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct fb_field *f = fb_edit_field(c->kind, changes[i].field);
			bool filelike = f && (f->type == FB_FIELD_CERT || f->type == FB_FIELD_KEY);

			if (filelike != (pass == 1))
				continue;
			rc = apply_change(c, obj, &changes[i], cur);
			if (rc)
				return rc;
		}
	}
	return FB_EDIT_OK;
}

static enum fb_edit_rc validate_commit(struct edit_ctx *c)
{
	return ce_stage_commit(c->e, &c->plan, c->diag);
}

const char *ce_edit_dropin_dir(enum fb_edit_kind kind)
{
	return kind == FB_EDIT_CONN ? "connections.d"
	       : kind == FB_EDIT_SERVER ? "modbus_servers.d" : "buses.d";
}

static enum fb_edit_rc refuse_in_main(struct edit_ctx *c, const struct fb_edit_obj *o)
{
	const char *dropdir = ce_edit_dropin_dir(o->kind);
	const char *what = o->kind == FB_EDIT_DEVICE ? "bus" : fb_edit_kind_name(o->kind);
	const char *name = o->kind == FB_EDIT_DEVICE ? o->bus : o->name;

	if (o->kind == FB_EDIT_SERVER) {
		fb_diag_error(c->diag, "%s: %s (%s) is defined by hand in the main file: edit "
			      "it there, or move it to %s/%s.json by hand", o->file,
			      o->json_path, o->name, dropdir, name);
		return FB_EDIT_IN_MAIN;
	}

	fb_diag_error(c->diag, "%s: %s (%s) is defined by hand in the main file: edit it "
		      "there, or move it to %s/%s.json with `fieldbridgectl %s "
		      "move-to-dropin %s`", o->file, o->json_path, o->name, dropdir, name,
		      what, name);
	return FB_EDIT_IN_MAIN;
}

static enum fb_edit_rc set_users(struct edit_ctx *c, const char *name, bool create,
				 const struct fb_edit_change *changes, size_t n, bool del)
{
	const struct fb_edit_obj *cur = fb_edit_find(c->e, FB_EDIT_USER, NULL, name);
	const char *rel;
	cJSON *doc, *users, *u = NULL;
	enum fb_edit_rc rc;
	int idx = 0, found = -1;

	if (!c->e->users_path) {
		fb_diag_error(c->diag, "%s: gateway.users_file is not set: add "
			      "\"users_file\": \"users.json\" to the gateway section by hand",
			      c->e->main_path);
		return FB_EDIT_FAILED;
	}
	rel = rel_of(c->e, c->e->users_path);
	if (!rel) {
		fb_diag_error(c->diag, "%s: the users file is outside %s: tools edit only "
			      "files in the config directory", c->e->users_path, c->e->dir);
		return FB_EDIT_FAILED;
	}
	if (create && cur) {
		fb_diag_error(c->diag, "user %s exists already (%s)", name, cur->file);
		return FB_EDIT_CONFLICT;
	}
	if (!create && !cur) {
		fb_diag_error(c->diag, "user %s: not found in %s", name, c->e->users_path);
		return FB_EDIT_NOT_FOUND;
	}
	if (create && !fb_users_name_valid(name)) {
		fb_diag_error(c->diag, "user %s: expected 1..64 letters, digits, '_', '.', "
			      "'-' or '@'", name);
		return FB_EDIT_INVALID;
	}
	doc = c->e->users_doc ? cJSON_Duplicate(c->e->users_doc, 1) : cJSON_CreateObject();
	users = cJSON_GetObjectItemCaseSensitive(doc, "users");
	if (!users)
		users = cJSON_AddArrayToObject(doc, "users");
	cJSON_ArrayForEach(u, users) {
		cJSON *nm = cJSON_GetObjectItemCaseSensitive(u, "name");

		if (cJSON_IsString(nm) && !strcmp(nm->valuestring, name)) {
			found = idx;
			break;
		}
		idx++;
	}
	if (del) {
		cJSON_DeleteItemFromArray(users, found);
		u = NULL;
	} else if (!u) {
		u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "name", name);
		cJSON_AddItemToArray(users, u);
	}
	rc = u ? apply_changes(c, u, changes, n, cur) : FB_EDIT_OK;
	if (!rc)
		rc = plan_json(c, rel, doc, 0600);
	cJSON_Delete(doc);
	return rc ? rc : validate_commit(c);
}

static enum fb_edit_rc set_device(struct edit_ctx *c, const char *bus, const char *name,
				  bool create, const struct fb_edit_change *changes, size_t n,
				  bool del)
{
	const struct fb_edit_obj *b = fb_edit_find(c->e, FB_EDIT_BUS, NULL, bus);
	const struct fb_edit_obj *cur = fb_edit_find(c->e, FB_EDIT_DEVICE, NULL, name);
	cJSON *busj, *devs, *d = NULL;
	enum fb_edit_rc rc;
	int idx = 0;

	if (!create && (!cur || strcmp(cur->bus, bus))) {
		fb_diag_error(c->diag, "device %s: not found%s%s", name, *bus ? " on bus " : "",
			      bus);
		return FB_EDIT_NOT_FOUND;
	}
	if (!b) {
		fb_diag_error(c->diag, "bus %s: not found", bus);
		return FB_EDIT_NOT_FOUND;
	}
	if (create && cur) {
		fb_diag_error(c->diag, "device %s exists already (bus %s, %s): device ids are "
			      "unique across the gateway", name, cur->bus, cur->file);
		return FB_EDIT_CONFLICT;
	}
	if (b->in_main)
		return refuse_in_main(c, cur ? cur : b);
	if (create && !ce_tree_name_valid(name)) {
		fb_diag_error(c->diag, "device %s: expected 1..31 characters from a-z, 0-9, "
			      "'_' and '-'", name);
		return FB_EDIT_INVALID;
	}
	busj = cJSON_Duplicate(b->json, 1);
	devs = cJSON_GetObjectItemCaseSensitive(busj, "devices");
	if (!devs)
		devs = cJSON_AddArrayToObject(busj, "devices");
	cJSON_ArrayForEach(d, devs) {
		cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");

		if (cJSON_IsString(id) && !strcmp(id->valuestring, name))
			break;
		idx++;
	}
	if (del) {
		cJSON_DeleteItemFromArray(devs, idx);
		d = NULL;
	} else if (!d) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "id", name);
		cJSON_AddItemToArray(devs, d);
	}
	rc = d ? apply_changes(c, d, changes, n, cur) : FB_EDIT_OK;
	if (!rc)
		rc = plan_json(c, rel_of(c->e, b->file), busj, 0644);
	cJSON_Delete(busj);
	return rc ? rc : validate_commit(c);
}

static enum fb_edit_rc set_object(struct edit_ctx *c, const char *name, bool create,
				  const struct fb_edit_change *changes, size_t n, bool del)
{
	const struct fb_edit_obj *cur = fb_edit_find(c->e, c->kind, NULL, name);
	const char *dir = ce_edit_dropin_dir(c->kind);
	char rel[128];
	cJSON *obj;
	enum fb_edit_rc rc;
	mode_t mode = 0644;

	if (create && cur) {
		fb_diag_error(c->diag, "%s %s exists already (%s)", fb_edit_kind_name(c->kind),
			      name, cur->file);
		return FB_EDIT_CONFLICT;
	}
	if (!create && !cur) {
		fb_diag_error(c->diag, "%s %s: not found", fb_edit_kind_name(c->kind), name);
		return FB_EDIT_NOT_FOUND;
	}
	if (cur && cur->in_main)
		return refuse_in_main(c, cur);
	if (create && !ce_tree_name_valid(name)) {
		fb_diag_error(c->diag, "%s %s: expected a name of 1..31 characters from a-z, "
			      "0-9, '_' and '-'", fb_edit_kind_name(c->kind), name);
		return FB_EDIT_INVALID;
	}
	if (cur)
		snprintf(rel, sizeof(rel), "%s", rel_of(c->e, cur->file));
	else
		snprintf(rel, sizeof(rel), "%s/%s.json", dir, name);
	if (del) {
		if (ce_file_plan_add(&c->plan, rel, NULL, 0, 0))
			return FB_EDIT_FAILED;
		if (c->kind == FB_EDIT_CONN) {
			char s[160];
			char **rm = malloc(sizeof(*rm));

			snprintf(s, sizeof(s), "secrets/%s.auth_password", name);
			ce_file_plan_add(&c->plan, s, NULL, 0, 0);
			snprintf(s, sizeof(s), "secrets/%s.ssl_client_key_password", name);
			ce_file_plan_add(&c->plan, s, NULL, 0, 0);
			snprintf(s, sizeof(s), "certs/%s", name);
			if (rm && (rm[0] = strdup(s))) {
				c->plan.rm_dirs = rm;
				c->plan.nrm_dirs = 1;
			} else {
				free(rm);
			}
		}
		return validate_commit(c);
	}
	obj = cur ? cJSON_Duplicate(cur->json, 1) : cJSON_CreateObject();
	if (!obj)
		return FB_EDIT_FAILED;
	rc = apply_changes(c, obj, changes, n, cur);
	/* A drop-in holding an inline secret must be private too. */
	if (cJSON_GetObjectItemCaseSensitive(obj, "auth_password") ||
	    cJSON_GetObjectItemCaseSensitive(obj, "ssl_client_key_password"))
		mode = 0600;
	if (!rc)
		rc = plan_json(c, rel, obj, mode);
	cJSON_Delete(obj);
	return rc ? rc : validate_commit(c);
}

/* The gateway section: checked and typed by the field table like any
 * object, then written member by member into the main file's own text. */
static enum fb_edit_rc set_gateway(struct edit_ctx *c, bool create,
				   const struct fb_edit_change *changes, size_t n, bool del)
{
	const struct fb_edit_obj *cur = fb_edit_find(c->e, FB_EDIT_GATEWAY, NULL, "gateway");
	const char *rel = rel_of(c->e, c->e->main_path);
	char *text = NULL;
	struct stat st;
	size_t len;
	cJSON *obj;
	enum fb_edit_rc rc;

	if (create || del || strcmp(c->name, "gateway")) {
		fb_diag_error(c->diag, "gateway: there is one gateway section: modify its "
			      "fields (fieldbridgectl gateway modify FIELD=VALUE...)");
		return FB_EDIT_USAGE;
	}
	if (!cur || !rel) {
		fb_diag_error(c->diag, "%s: cannot read the main file", c->e->main_path);
		return FB_EDIT_FAILED;
	}
	obj = cJSON_Duplicate(cur->json, 1);
	if (!obj)
		return FB_EDIT_FAILED;
	rc = apply_changes(c, obj, changes, n, cur);
	if (!rc && !(text = fb_read_file(c->e->main_path, &len))) {
		fb_diag_error(c->diag, "%s: cannot read: %s", c->e->main_path, strerror(errno));
		rc = FB_EDIT_FAILED;
	}
	for (size_t i = 0; !rc && i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, changes[i].field);
		char *vt = v ? cJSON_PrintUnformatted(v) : NULL;
		char *next = v && !vt ? NULL : ce_gateway_text_set(text, changes[i].field, vt);

		if (!next) {
			fb_diag_error(c->diag, "%s: cannot find the gateway section's text to "
				      "edit (is \"gateway\" an object?)", c->e->main_path);
			rc = FB_EDIT_FAILED;
		}
		free(vt);
		free(text);
		text = next;
	}
	cJSON_Delete(obj);
	if (!rc) {
		/* The plan owns text from here, even when adding fails. */
		if (ce_file_plan_add(&c->plan, rel, text, strlen(text),
				     stat(c->e->main_path, &st) == 0 ? st.st_mode & 0777 : 0644))
			rc = FB_EDIT_FAILED;
		text = NULL;
	}
	free(text);
	return rc ? rc : validate_commit(c);
}

static enum fb_edit_rc run(struct fb_edit *e, enum fb_edit_kind kind, const char *bus,
			   const char *name, bool create, const struct fb_edit_change *changes,
			   size_t n, bool del, struct fb_diag *diag)
{
	/* name and bus may be borrowed from e's tree, which begin() re-reads. */
	char *name_copy = strdup(name), *bus_copy = bus ? strdup(bus) : NULL;
	struct edit_ctx c = { .e = e, .kind = kind, .name = name_copy, .diag = diag };
	enum fb_edit_rc rc;

	if (!name_copy || (bus && !bus_copy)) {
		free(name_copy);
		free(bus_copy);
		return FB_EDIT_FAILED;
	}
	name = name_copy;
	bus = bus_copy;
	rc = ce_edit_begin(c.e, true, c.diag);
	if (rc) {
		free(name_copy);
		free(bus_copy);
		return rc;
	}
	if (kind == FB_EDIT_USER)
		rc = set_users(&c, name, create, changes, n, del);
	else if (kind == FB_EDIT_DEVICE)
		rc = set_device(&c, bus, name, create, changes, n, del);
	else if (kind == FB_EDIT_GATEWAY)
		rc = set_gateway(&c, create, changes, n, del);
	else
		rc = set_object(&c, name, create, changes, n, del);
	ce_file_plan_free(&c.plan);
	free(name_copy);
	free(bus_copy);
	return rc;
}

enum fb_edit_rc fb_edit_set(struct fb_edit *e, enum fb_edit_kind kind, const char *bus,
			    const char *name, bool create,
			    const struct fb_edit_change *changes, size_t nchanges,
			    struct fb_diag *diag)
{
	return run(e, kind, bus, name, create, changes, nchanges, false, diag);
}

enum fb_edit_rc fb_edit_delete(struct fb_edit *e, enum fb_edit_kind kind, const char *bus,
			       const char *name, struct fb_diag *diag)
{
	return run(e, kind, bus, name, false, NULL, 0, true, diag);
}

enum fb_edit_rc fb_edit_replace_text(struct fb_edit *e, enum fb_edit_kind kind,
				     const char *name, const char *text,
				     struct fb_diag *diag)
{
	struct edit_ctx c = { .e = e, .kind = kind, .name = name, .diag = diag };
	const struct fb_edit_obj *cur;
	enum fb_edit_rc rc = ce_edit_begin(c.e, true, c.diag);
	cJSON *doc;
	char *copy;

	if (rc)
		return rc;
	cur = fb_edit_find(e, kind, NULL, name);
	if (!cur || kind == FB_EDIT_DEVICE || kind == FB_EDIT_USER) {
		fb_diag_error(diag, "%s %s: not found", fb_edit_kind_name(kind), name);
		return FB_EDIT_NOT_FOUND;
	}
	if (cur->in_main)
		return refuse_in_main(&c, cur);
	doc = fb_json_parse_private(cur->file, text, diag); /* may hold secrets */
	if (!doc)
		return FB_EDIT_INVALID;
	cJSON_Delete(doc);
	copy = strdup(text);
	if (!copy || ce_file_plan_add(&c.plan, rel_of(e, cur->file), copy, strlen(copy), 0644))
		rc = FB_EDIT_FAILED;
	else
		rc = validate_commit(&c);
	ce_file_plan_free(&c.plan);
	return rc;
}
