/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration as written, object by object, with the file and JSON
 * path that define each one.  Read without validating: the loader does
 * that (stage.c); here a file that does not parse only loses its objects. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

bool ce_tree_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 31)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static struct ce_doc *doc_add(struct fb_edit *e, const char *path, struct fb_diag *diag)
{
	struct ce_doc *d = realloc(e->docs, (e->ndocs + 1) * sizeof(*d));

	if (!d)
		return NULL;
	e->docs = d;
	d = &e->docs[e->ndocs++];
	d->path = strdup(path);
	d->json = fb_json_load_private(path, diag); /* config or users: may hold secrets */
	return d;
}

static int obj_add(struct fb_edit *e, enum fb_edit_kind kind, const char *name,
		   const char *bus, const char *file, const char *json_path, bool in_main,
		   cJSON *json)
{
	struct fb_edit_obj *o = realloc(e->objs, (e->nobjs + 1) * sizeof(*o));

	if (!o)
		return -1;
	e->objs = o;
	o = &e->objs[e->nobjs++];
	o->kind = kind;
	o->name = strdup(name);
	o->bus = bus ? strdup(bus) : NULL;
	o->file = strdup(file);
	o->json_path = strdup(json_path);
	o->in_main = in_main;
	o->json = json;
	return 0;
}

static void add_devices(struct fb_edit *e, const char *bus, const char *file,
			const char *path, bool in_main, cJSON *busobj)
{
	cJSON *devs = cJSON_GetObjectItemCaseSensitive(busobj, "devices");
	cJSON *d;
	int k = 0;
	char jp[128];

	cJSON_ArrayForEach(d, devs) {
		cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");

		if (cJSON_IsString(id)) {
			snprintf(jp, sizeof(jp), "%s%sdevices[%d]", path, *path ? "." : "", k);
			obj_add(e, FB_EDIT_DEVICE, id->valuestring, bus, file, jp, in_main, d);
		}
		k++;
	}
}

static void add_object(struct fb_edit *e, enum fb_edit_kind kind, cJSON *obj,
		       const char *file, const char *path, const char *default_name,
		       bool in_main)
{
	cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	const char *n = cJSON_IsString(name) ? name->valuestring : default_name;

	if (!n || !cJSON_IsObject(obj))
		return;
	obj_add(e, kind, n, NULL, file, path, in_main, obj);
	if (kind == FB_EDIT_BUS)
		add_devices(e, n, file, path, in_main, obj);
}

static int json_file_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

static void read_dropins(struct fb_edit *e, const char *sub, enum fb_edit_kind kind,
			 struct fb_diag *diag)
{
	char *dir = ce_file_join(e->dir, sub);
	struct dirent **list;
	int n;

	if (!dir)
		return;
	n = scandir(dir, &list, json_file_filter, alphasort);
	for (int i = 0; i < n; i++) {
		char *path = ce_file_join(dir, list[i]->d_name);
		struct ce_doc *d = path ? doc_add(e, path, diag) : NULL;

		if (d && d->json) {
			list[i]->d_name[strlen(list[i]->d_name) - 5] = '\0';
			add_object(e, kind, d->json, path, "", list[i]->d_name, false);
		}
		free(path);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	free(dir);
}

static void read_main_array(struct fb_edit *e, cJSON *main, const char *key,
			    enum fb_edit_kind kind)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(main, key);
	cJSON *o;
	int i = 0;
	char jp[64];

	cJSON_ArrayForEach(o, arr) {
		snprintf(jp, sizeof(jp), "%s[%d]", key, i++);
		add_object(e, kind, o, e->main_path, jp, NULL, true);
	}
}

static void read_users(struct fb_edit *e, struct fb_diag *diag)
{
	struct ce_doc *d;
	cJSON *u;
	int i = 0;
	char jp[64];

	if (!e->users_path || access(e->users_path, F_OK) != 0)
		return;
	d = doc_add(e, e->users_path, diag);
	if (!d || !d->json)
		return;
	e->users_doc = d->json;
	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(d->json, "users")) {
		cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "name");

		snprintf(jp, sizeof(jp), "users[%d]", i++);
		if (cJSON_IsString(name))
			obj_add(e, FB_EDIT_USER, name->valuestring, NULL, e->users_path, jp,
				false, u);
	}
}

void ce_tree_free(struct fb_edit *e)
{
	for (size_t i = 0; i < e->nobjs; i++) {
		free(e->objs[i].name);
		free(e->objs[i].bus);
		free(e->objs[i].file);
		free(e->objs[i].json_path);
	}
	free(e->objs);
	e->objs = NULL;
	e->nobjs = 0;
	for (size_t i = 0; i < e->ndocs; i++) {
		free(e->docs[i].path);
		cJSON_Delete(e->docs[i].json);
	}
	free(e->docs);
	e->docs = NULL;
	e->ndocs = 0;
	e->users_doc = NULL;
	free(e->users_path);
	e->users_path = NULL;
	cJSON_Delete(e->gateway_none);
	e->gateway_none = NULL;
}

int ce_tree_read(struct fb_edit *e, struct fb_diag *diag)
{
	struct ce_doc *m = doc_add(e, e->main_path, diag);
	cJSON *gw, *uf;

	if (!m)
		return -1;
	if (m->json) {
		read_main_array(e, m->json, "buses", FB_EDIT_BUS);
		read_main_array(e, m->json, "connections", FB_EDIT_CONN);
		read_main_array(e, m->json, "modbus_servers", FB_EDIT_SERVER);
		gw = cJSON_GetObjectItemCaseSensitive(m->json, "gateway");
		if (!cJSON_IsObject(gw) && !e->gateway_none)
			e->gateway_none = cJSON_CreateObject();
		obj_add(e, FB_EDIT_GATEWAY, "gateway", NULL, e->main_path, "gateway", true,
			cJSON_IsObject(gw) ? gw : e->gateway_none);
		uf = cJSON_GetObjectItemCaseSensitive(gw, "users_file");
		if (cJSON_IsString(uf) && uf->valuestring[0])
			e->users_path = uf->valuestring[0] == '/' ? strdup(uf->valuestring)
							       : ce_file_join(e->dir, uf->valuestring);
	}
	read_dropins(e, "buses.d", FB_EDIT_BUS, diag);
	read_dropins(e, "connections.d", FB_EDIT_CONN, diag);
	read_dropins(e, "modbus_servers.d", FB_EDIT_SERVER, diag);
	read_users(e, diag);
	return 0;
}

struct fb_edit *fb_edit_open(const char *main_path, struct fb_diag *diag)
{
	struct fb_edit *e = calloc(1, sizeof(*e));
	char *tmp;

	if (!e)
		return NULL;
	e->lock_fd = -1;
	/* "./x.json", not "x.json": the loader's messages then name the file
	 * the way the staging mirror's rewritten ones do. */
	if (strchr(main_path, '/'))
		e->main_path = strdup(main_path);
	else
		e->main_path = ce_file_join(".", main_path);
	tmp = e->main_path ? strdup(e->main_path) : NULL;
	if (!e->main_path || !tmp) {
		free(tmp);
		fb_edit_close(e);
		return NULL;
	}
	e->dir = strdup(dirname(tmp));
	free(tmp);
	if (!e->dir || access(e->dir, R_OK | X_OK) != 0) {
		fb_edit_close(e);
		return NULL;
	}
	ce_tree_read(e, diag);
	return e;
}

void fb_edit_close(struct fb_edit *e)
{
	if (!e)
		return;
	ce_tree_free(e);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	free(e->main_path);
	free(e->dir);
	free(e);
}

int fb_edit_lock(struct fb_edit *e)
{
	char *path;

	if (e->lock_fd >= 0)
		return 0;
	path = ce_file_join(e->dir, ".lock");
	if (!path)
		return -1;
	e->lock_fd = ce_file_open_lock(path);
	free(path);
	if (e->lock_fd < 0)
		return -1;
	while (flock(e->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(e->lock_fd);
			e->lock_fd = -1;
			return -1;
		}
	}
	return 0;
}

int fb_edit_reload(struct fb_edit *e, struct fb_diag *diag)
{
	ce_tree_free(e);
	return ce_tree_read(e, diag);
}

const char *fb_edit_dir(const struct fb_edit *e) { return e->dir; }
const char *fb_edit_main_path(const struct fb_edit *e) { return e->main_path; }
const char *fb_edit_users_path(const struct fb_edit *e) { return e->users_path; }

size_t fb_edit_count(const struct fb_edit *e, enum fb_edit_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nobjs; i++)
		n += e->objs[i].kind == kind;
	return n;
}

const struct fb_edit_obj *fb_edit_get(const struct fb_edit *e, enum fb_edit_kind kind,
				      size_t i)
{
	for (size_t k = 0; k < e->nobjs; k++)
		if (e->objs[k].kind == kind && i-- == 0)
			return &e->objs[k];
	return NULL;
}

const struct fb_edit_obj *fb_edit_find(const struct fb_edit *e, enum fb_edit_kind kind,
				       const char *bus, const char *name)
{
	for (size_t k = 0; k < e->nobjs; k++) {
		const struct fb_edit_obj *o = &e->objs[k];

		if (o->kind == kind && !strcmp(o->name, name) &&
		    (!bus || !o->bus || !strcmp(o->bus, bus)))
			return o;
	}
	return NULL;
}

bool fb_edit_secret_is_set(const struct fb_edit_obj *obj, const char *field)
{
	char fk[80];
	const cJSON *v;

	if (!strcmp(field, "password"))
		field = "password_hash";
	v = cJSON_GetObjectItemCaseSensitive(obj->json, field);
	if (v && !cJSON_IsNull(v))
		return true;
	snprintf(fk, sizeof(fk), "%s_file", field);
	v = cJSON_GetObjectItemCaseSensitive(obj->json, fk);
	return v && !cJSON_IsNull(v);
}

char *fb_edit_obj_path(const struct fb_edit_obj *obj, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj->json, field);
	char *tmp, *dir, *out;

	if (!cJSON_IsString(v) || !v->valuestring[0])
		return NULL;
	if (v->valuestring[0] == '/')
		return strdup(v->valuestring);
	tmp = strdup(obj->file);
	if (!tmp)
		return NULL;
	dir = dirname(tmp);
	out = ce_file_join(dir, v->valuestring);
	free(tmp);
	/* "connections.d/../certs/x" reads better as "certs/x". */
	if (out) {
		char *real = realpath(out, NULL);

		if (real) {
			free(out);
			out = real;
		}
	}
	return out;
}
