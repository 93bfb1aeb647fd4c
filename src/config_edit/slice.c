/* SPDX-License-Identifier: Apache-2.0 */
/* A daemon's slice of the configuration as one JSON object of objects
 * ("bus meters", "device m1", "definition eastron-sdm120", "connection ha",
 * "user ha", "gateway"), built from the files as written plus the
 * definition files the loader found.  Secrets become salted digests, so a
 * record can say "changed" without holding the secret. */
#include "fb_defaults.h"
#include "config_edit-internal.h"
#include "config.h"
#include "jsonfile.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ce_slice_digest(const char *salt, const void *data, size_t len)
{
	struct fb_sha256 h;
	unsigned char md[32];
	char *hex = malloc(2 * sizeof(md) + 1);

	if (!hex)
		return NULL;
	fb_sha256_init(&h);
	fb_sha256_update(&h, salt, strlen(salt));
	fb_sha256_update(&h, data, len);
	fb_sha256_final(&h, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

/* {"file": PATH, "sha256": digest of the content or null} */
static cJSON *file_ref(const char *shown, const char *path, const char *salt)
{
	cJSON *j = cJSON_CreateObject();
	size_t len = 0;
	char *data = path ? fb_read_file(path, &len) : NULL;
	char *dg = data ? ce_slice_digest(salt, data, len) : NULL;

	cJSON_AddStringToObject(j, "file", shown);
	if (dg)
		cJSON_AddStringToObject(j, "sha256", dg);
	else
		cJSON_AddNullToObject(j, "sha256");
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	free(dg);
	return j;
}

static cJSON *secret_of(const void *data, size_t len, const char *salt)
{
	cJSON *j = cJSON_CreateObject();
	char *dg = ce_slice_digest(salt, data, len);

	cJSON_AddStringToObject(j, "secret", dg ? dg : "");
	free(dg);
	return j;
}

static bool is_secret_field(enum fb_edit_kind kind, const char *name)
{
	const struct fb_field *f = fb_edit_field(kind, name);

	if (kind == FB_EDIT_USER && !strcmp(name, "password_hash"))
		return true;
	return (f && f->type == FB_FIELD_SECRET) || (f && f->type == FB_FIELD_KEY);
}

/* "auth_password_file" -> the secret field it stands for, or NULL. */
static const struct fb_field *secret_file_field(enum fb_edit_kind kind, const char *name)
{
	const struct fb_field *f;
	size_t n = strlen(name);
	char base[64];

	if (n < 6 || n >= sizeof(base) || strcmp(name + n - 5, "_file"))
		return NULL;
	memcpy(base, name, n - 5);
	base[n - 5] = '\0';
	f = fb_edit_field(kind, base);
	return f && f->type == FB_FIELD_SECRET ? f : NULL;
}

/* A copy of obj's fields with secrets digested and files referenced by
 * content; `skip` (may be NULL) is left out. */
static cJSON *object_view(const struct fb_edit_obj *o, const char *skip, const char *salt)
{
	cJSON *out = cJSON_CreateObject(), *m;

	cJSON_ArrayForEach(m, o->json) {
		const struct fb_field *f = fb_edit_field(o->kind, m->string);
		cJSON *v;

		if (skip && !strcmp(m->string, skip))
			continue;
		if (secret_file_field(o->kind, m->string)) {
			char *path = fb_edit_obj_path(o, m->string);
			size_t len = 0;
			char *data = path ? fb_read_file(path, &len) : NULL;

			v = data ? secret_of(data, len, salt) : cJSON_CreateNull();
			if (data) {
				explicit_bzero(data, len);
				free(data);
			}
			free(path);
		} else if (f && (f->type == FB_FIELD_CERT || f->type == FB_FIELD_KEY) &&
			   cJSON_IsString(m)) {
			char *path = fb_edit_obj_path(o, m->string);

			v = file_ref(m->valuestring, path, salt);
			if (f->type == FB_FIELD_KEY)
				cJSON_AddTrueToObject(v, "private");
			free(path);
		} else if (is_secret_field(o->kind, m->string)) {
			char *text = cJSON_PrintUnformatted(m);

			v = secret_of(text ? text : "", text ? strlen(text) : 0, salt);
			free(text);
		} else {
			v = cJSON_Duplicate(m, 1);
		}
		cJSON_AddItemToObject(out, m->string, v);
	}
	return out;
}

static void add_obj(cJSON *slice, const char *kind, const char *name, cJSON *v)
{
	char key[160];

	snprintf(key, sizeof(key), "%s%s%s", kind, name ? " " : "", name ? name : "");
	cJSON_DeleteItemFromObjectCaseSensitive(slice, key);
	cJSON_AddItemToObject(slice, key, v);
}

/* The devices of `bus` and the definitions they use (from cfg). */
static void add_devices(cJSON *slice, const struct fb_edit *e, const struct fb_config *cfg,
			const char *bus, const char *salt)
{
	size_t n = fb_edit_count(e, FB_EDIT_DEVICE);
	const struct fb_bus_conf *b = cfg ? fb_config_bus(cfg, bus) : NULL;

	for (size_t i = 0; i < n; i++) {
		const struct fb_edit_obj *d = fb_edit_get(e, FB_EDIT_DEVICE, i);
		cJSON *v;

		if (strcmp(d->bus, bus))
			continue;
		v = object_view(d, NULL, salt);
		cJSON_AddStringToObject(v, "bus", bus);
		add_obj(slice, "device", d->name, v);
	}
	for (size_t i = 0; b && i < b->ndevices; i++) {
		const struct fb_device_conf *d = &b->devices[i];
		cJSON *v;

		char key[160];

		if (!d->definition)
			continue;
		/* Many devices share a definition: read and digest it once. */
		snprintf(key, sizeof(key), "definition %s", d->definition);
		if (cJSON_GetObjectItemCaseSensitive(slice, key))
			continue;
		/* {"file": {"file": PATH, "sha256": ...}}: one field, shown as
		 * "PATH (content changed)" when only the bytes differ. */
		v = cJSON_CreateObject();
		cJSON_AddItemToObject(v, "file", d->def && d->def->path
				      ? file_ref(d->def->path, d->def->path, salt)
				      : file_ref("(not loaded)", NULL, salt));
		add_obj(slice, "definition", d->definition, v);
	}
}

/* A Modbus server: its object, its user, and the buses it serves with
 * their devices and definitions (addresses and unit ids come from them). */
static void add_server(cJSON *slice, const struct fb_edit *e, const struct fb_config *cfg,
		       const struct fb_edit_obj *o, const char *salt)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(o->json, "user");
	const cJSON *bus = cJSON_GetObjectItemCaseSensitive(o->json, "bus"), *b;
	const struct fb_edit_obj *uo = cJSON_IsString(u) && e->users_doc
		? fb_edit_find(e, FB_EDIT_USER, NULL, u->valuestring) : NULL;

	add_obj(slice, "server", o->name, object_view(o, NULL, salt));
	if (uo)
		add_obj(slice, "user", uo->name, object_view(uo, NULL, salt));
	if (cJSON_IsString(bus)) {
		const struct fb_edit_obj *bo = fb_edit_find(e, FB_EDIT_BUS, NULL, bus->valuestring);

		if (bo) {
			add_obj(slice, "bus", bo->name, object_view(bo, "devices", salt));
			add_devices(slice, e, cfg, bo->name, salt);
		}
	}
	const cJSON *list = cJSON_IsArray(bus) ? bus : NULL;

	cJSON_ArrayForEach(b, list) {
		const struct fb_edit_obj *bo = cJSON_IsString(b)
			? fb_edit_find(e, FB_EDIT_BUS, NULL, b->valuestring) : NULL;

		if (bo) {
			add_obj(slice, "bus", bo->name, object_view(bo, "devices", salt));
			add_devices(slice, e, cfg, bo->name, salt);
		}
	}
}

cJSON *ce_slice_build(const struct fb_edit *e, const struct fb_config *cfg,
		      enum fb_edit_kind kind, const char *name, const char *salt)
{
	const struct fb_edit_obj *o = fb_edit_find(e, kind, NULL, name);
	cJSON *slice, *gw;

	if (!o)
		return NULL;
	slice = cJSON_CreateObject();
	gw = e->ndocs ? cJSON_GetObjectItemCaseSensitive(e->docs[0].json, "gateway") : NULL;
	add_obj(slice, "gateway", NULL, cJSON_IsObject(gw) ? cJSON_Duplicate(gw, 1)
							   : cJSON_CreateObject());
	if (kind == FB_EDIT_BUS) {
		add_obj(slice, "bus", name, object_view(o, "devices", salt));
		add_devices(slice, e, cfg, name, salt);
		return slice;
	}
	if (kind == FB_EDIT_SERVER) {
		add_server(slice, e, cfg, o, salt);
		return slice;
	}
	add_obj(slice, "connection", name, object_view(o, NULL, salt));
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(o->json, "user");
		const struct fb_edit_obj *uo = cJSON_IsString(u) && e->users_doc
			? fb_edit_find(e, FB_EDIT_USER, NULL, u->valuestring) : NULL;

		if (uo)
			add_obj(slice, "user", uo->name, object_view(uo, NULL, salt));
	}
	for (size_t i = 0, n = fb_edit_count(e, FB_EDIT_BUS); i < n; i++) {
		const struct fb_edit_obj *b = fb_edit_get(e, FB_EDIT_BUS, i);
		const cJSON *pi = cJSON_GetObjectItemCaseSensitive(b->json, "poll_interval_ms");
		cJSON *v = cJSON_CreateObject();

		if (pi)
			cJSON_AddItemToObject(v, "poll_interval_ms", cJSON_Duplicate(pi, 1));
		add_obj(slice, "bus", b->name, v);
		add_devices(slice, e, cfg, b->name, salt);
	}
	/* It follows every Modbus server's own table (its statistics). */
	for (size_t i = 0, n = fb_edit_count(e, FB_EDIT_SERVER); i < n; i++)
		add_obj(slice, "server", fb_edit_get(e, FB_EDIT_SERVER, i)->name,
			cJSON_CreateObject());
	return slice;
}

char *fb_edit_state_dir(const struct fb_edit *e)
{
	const cJSON *gw = e->ndocs ? cJSON_GetObjectItemCaseSensitive(e->docs[0].json,
								       "gateway") : NULL;
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(gw, "state_dir");

	if (!cJSON_IsString(sd) || !sd->valuestring[0])
		return strdup(FB_DEFAULT_STATE_DIR);
	if (sd->valuestring[0] == '/')
		return strdup(sd->valuestring);
	return ce_file_join(e->dir, sd->valuestring);
}
