/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration API: GET config (everything, with provenance), POST
 * config/validate (the daemons' --check messages), CRUD on connections,
 * buses, buses/{b}/devices, users and mbservers (modbus_servers), and GET,
 * PUT and PATCH on the gateway section, through fb_config_edit,
 * so the web and fieldbridgectl accept and refuse the same edits with the
 * same messages.  Objects use the configuration's own field names; secrets
 * only ever appear as {"set": true}.  Each object has an ETag (a hash of
 * the object as written): a PUT, PATCH or DELETE whose If-Match names an
 * older one gets 409 and changes nothing. */
#include "web-internal.h"
#include "config_edit.h"
#include "log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHANGES_MAX 48

/* FNV-1a over the defining file, the path in it and the object as
 * written: an ETag only has to change when the object does. */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void etag_of(const struct fb_edit_obj *o, char *out, size_t len)
{
	char *text = cJSON_PrintUnformatted(o->json);
	uint64_t h = 0xcbf29ce484222325ULL, h2;

	h = fnv(h, o->file, strlen(o->file) + 1);
	h = fnv(h, o->json_path, strlen(o->json_path) + 1);
	h = fnv(h, text ? text : "", text ? strlen(text) : 0);
	h2 = fnv(h ^ 0x9e3779b97f4a7c15ULL, text ? text : "", text ? strlen(text) : 0);
	snprintf(out, len, "\"%016llx%016llx\"", (unsigned long long)h,
		 (unsigned long long)h2);
	free(text);
}

static cJSON *cert_info(const struct fb_edit_obj *o, const char *field, bool key)
{
	char *path = fb_edit_obj_path(o, field), err[256];
	struct fb_cert_info info;
	cJSON *c;

	if (!path)
		return NULL;
	c = cJSON_CreateObject();
	cJSON_AddBoolToObject(c, "set", true);
	if (!key && fb_cert_check(path, &info, err, sizeof(err)) == 0) {
		cJSON_AddStringToObject(c, "subject", info.subject);
		cJSON_AddStringToObject(c, "issuer", info.issuer);
		cJSON_AddStringToObject(c, "not_after", info.not_after);
		cJSON_AddBoolToObject(c, "expired", info.expired);
	} else if (!key) {
		cJSON_AddStringToObject(c, "problem", err);
	}
	free(path);
	return c;
}

/* The object as the API shows it: its fields, secrets as {"set": bool},
 * certificates with what they say, plus "_meta" (provenance, ETag). */
static cJSON *obj_json(const struct fb_edit_obj *o)
{
	cJSON *j = cJSON_Duplicate(o->json, true), *meta;
	const struct fb_field *fields;
	size_t n;
	char etag[40], fk[80];

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	fields = fb_edit_fields(o->kind, &n);
	for (size_t i = 0; i < n; i++) {
		const struct fb_field *f = &fields[i];

		if (f->type == FB_FIELD_SECRET) {
			bool set = fb_edit_secret_is_set(o, f->name);
			cJSON *s = cJSON_CreateObject();

			cJSON_DeleteItemFromObjectCaseSensitive(j, f->name);
			snprintf(fk, sizeof(fk), "%s_file", f->name);
			cJSON_DeleteItemFromObjectCaseSensitive(j, fk);
			cJSON_AddBoolToObject(s, "set", set);
			cJSON_AddItemToObject(j, f->name, s);
		} else if (f->type == FB_FIELD_CERT || f->type == FB_FIELD_KEY) {
			cJSON *c = cert_info(o, f->name, f->type == FB_FIELD_KEY);

			if (c) {
				cJSON *info = cJSON_GetObjectItemCaseSensitive(j, "_certs");

				if (!info)
					info = cJSON_AddObjectToObject(j, "_certs");
				cJSON_AddItemToObject(info, f->name, c);
			}
		}
	}
	/* Users: the hash is a secret too. */
	cJSON_DeleteItemFromObjectCaseSensitive(j, "password_hash");
	if (o->kind == FB_EDIT_BUS)
		cJSON_DeleteItemFromObjectCaseSensitive(j, "devices"); /* own objects */
	if (o->kind == FB_EDIT_CONN) {
		char *crt = fb_edit_obj_path(o, "ssl_client_crt");
		char *key = fb_edit_obj_path(o, "ssl_client_key");
		cJSON *info = cJSON_GetObjectItemCaseSensitive(j, "_certs");

		if (crt && key && info) {
			int m = fb_cert_key_match(crt, key, NULL);

			if (m >= 0)
				cJSON_AddBoolToObject(info, "key_matches_certificate", m == 1);
		}
		free(crt);
		free(key);
	}
	if (o->kind == FB_EDIT_GATEWAY) {
		/* "name" is a field here; what no tool sets is shown apart, so a
		 * GET's answer PUT back is accepted as it is. */
		cJSON *hand = cJSON_CreateObject(), *m = j->child, *next;

		for (; m; m = next) {
			next = m->next;
			if (!fb_edit_field(o->kind, m->string))
				cJSON_AddItemToObject(hand, m->string,
						      cJSON_DetachItemViaPointer(j, m));
		}
		cJSON_AddItemToObject(j, "_hand_written", hand);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(j, o->kind == FB_EDIT_DEVICE ? "id"
											: "name");
	}
	if (o->kind == FB_EDIT_GATEWAY) {
		/* no identity to add */
	} else if (o->kind == FB_EDIT_DEVICE) {
		cJSON_AddStringToObject(j, "id", o->name);
		cJSON_AddStringToObject(j, "bus", o->bus);
	} else {
		cJSON_AddStringToObject(j, "name", o->name);
	}
	meta = cJSON_AddObjectToObject(j, "_meta");
	cJSON_AddStringToObject(meta, "file", o->file);
	cJSON_AddStringToObject(meta, "json_path", o->json_path);
	cJSON_AddBoolToObject(meta, "in_main", o->in_main);
	etag_of(o, etag, sizeof(etag));
	cJSON_AddStringToObject(meta, "etag", etag);
	return j;
}

/* obj_json, plus what is running: a Modbus server's own table. */
static cJSON *obj_json_live(const struct web_req *q, const struct fb_edit_obj *o)
{
	cJSON *j = obj_json(o);

	if (o->kind == FB_EDIT_SERVER)
		cJSON_AddItemToObject(j, "_status", web_mbs_status(q->w->cfg, o->name));
	return j;
}

static cJSON *list_json(const struct web_req *q, const struct fb_edit *e,
			enum fb_edit_kind kind, const char *bus)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < fb_edit_count(e, kind); i++) {
		const struct fb_edit_obj *o = fb_edit_get(e, kind, i);

		if (!bus || (o->bus && !strcmp(o->bus, bus)))
			cJSON_AddItemToArray(arr, obj_json_live(q, o));
	}
	return arr;
}

static int get_config(struct web_req *q, const struct fb_edit *e)
{
	cJSON *doc = cJSON_CreateObject(), *gw = cJSON_AddObjectToObject(doc, "gateway");
	const struct fb_config *c = q->w->cfg;
	const struct fb_edit_obj *g = fb_edit_find(e, FB_EDIT_GATEWAY, NULL, "gateway");
	size_t n;
	const struct fb_field *f = fb_edit_fields(FB_EDIT_GATEWAY, &n);

	/* What this daemon loaded, then the settings as the files say (what
	 * PUT gateway changes), defaults named in "_defaults". */
	cJSON_AddStringToObject(gw, "id", c->gateway_id);
	cJSON_AddStringToObject(gw, "state_dir", c->state_dir);
	if (c->users_file)
		cJSON_AddStringToObject(gw, "users_file", c->users_file);
	if (g) {
		cJSON *defaults = cJSON_AddArrayToObject(gw, "_defaults"), *full;

		for (size_t i = 0; i < n; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->json, f[i].name);

			if (!v)
				cJSON_AddItemToArray(defaults, cJSON_CreateString(f[i].name));
			cJSON_AddItemToObject(gw, f[i].name, v ? cJSON_Duplicate(v, 1)
							 : cJSON_CreateString(f[i].default_text));
		}
		full = obj_json(g);
		cJSON_AddItemToObject(gw, "_meta",
				      cJSON_DetachItemFromObjectCaseSensitive(full, "_meta"));
		cJSON_Delete(full);
	} else {
		cJSON_AddStringToObject(gw, "name", c->gateway_name);
	}
	cJSON_AddStringToObject(doc, "main_file", fb_edit_main_path(e));
	cJSON_AddItemToObject(doc, "connections", list_json(q, e, FB_EDIT_CONN, NULL));
	cJSON_AddItemToObject(doc, "buses", list_json(q, e, FB_EDIT_BUS, NULL));
	cJSON_AddItemToObject(doc, "devices", list_json(q, e, FB_EDIT_DEVICE, NULL));
	cJSON_AddItemToObject(doc, "modbus_servers", list_json(q, e, FB_EDIT_SERVER, NULL));
	if (q->session->role == WEB_ROLE_ADMIN)
		cJSON_AddItemToObject(doc, "users", list_json(q, e, FB_EDIT_USER, NULL));
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static int validate(struct web_req *q)
{
	struct fb_diag d;
	cJSON *doc = cJSON_CreateObject();
	int rc;

	fb_diag_init(&d);
	fb_edit_validate_path(q->w->config_path, &d);
	cJSON_AddBoolToObject(doc, "ok", d.errors == 0);
	cJSON_AddNumberToObject(doc, "errors", (double)d.errors);
	cJSON_AddNumberToObject(doc, "warnings", (double)d.warnings);
	cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
	rc = web_http_json(q, MHD_HTTP_OK, doc);
	fb_diag_free(&d);
	return rc;
}

/* ---- body -> changes ---- */
struct changes {
	struct fb_edit_change ch[CHANGES_MAX];
	char *owned[CHANGES_MAX];   /* texts we made (freed after the edit) */
	char *tmpfiles[CHANGES_MAX];
	size_t n, nowned, ntmp;
	char err[256];
};

static void changes_free(struct changes *c)
{
	for (size_t i = 0; i < c->nowned; i++) {
		explicit_bzero(c->owned[i], strlen(c->owned[i]));
		free(c->owned[i]);
	}
	for (size_t i = 0; i < c->ntmp; i++) {
		unlink(c->tmpfiles[i]);
		free(c->tmpfiles[i]);
	}
}

static const char *own(struct changes *c, char *s)
{
	if (!s)
		return NULL;
	c->owned[c->nowned++] = s;
	return s;
}

/* PEM text from the page -> a 0600 file for fb_edit to check and copy. */
static const char *pem_file(struct changes *c, const char *state_dir, const char *pem)
{
	char *path = NULL;
	int fd;
	size_t len = strlen(pem);

	if (asprintf(&path, "%s/web", state_dir) < 0)
		return NULL;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(c->err, sizeof(c->err), "cannot store the upload in %s: %s", path,
			 strerror(errno));
		free(path);
		return NULL;
	}
	free(path);
	if (asprintf(&path, "%s/web/upload-XXXXXX", state_dir) < 0)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0 || write(fd, pem, len) != (ssize_t)len) {
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	close(fd);
	c->tmpfiles[c->ntmp++] = path;
	return path;
}

static const char *value_text(struct changes *c, const struct fb_field *f, const cJSON *v,
			      const char *state_dir, bool *skip)
{
	char *s = NULL;

	*skip = false;
	if (cJSON_IsNull(v))
		return "";
	if (f->type == FB_FIELD_SECRET || f->type == FB_FIELD_CERT || f->type == FB_FIELD_KEY) {
		/* {"set": true} as GET showed it: unchanged. */
		if (cJSON_IsObject(v)) {
			*skip = true;
			return "";
		}
		if (!cJSON_IsString(v))
			return NULL;
		if (f->type == FB_FIELD_SECRET)
			return v->valuestring;
		if (!v->valuestring[0])
			return "";
		if (strncmp(v->valuestring, "-----BEGIN ", 11)) {
			snprintf(c->err, sizeof(c->err), "%s: expected the PEM text of the file "
				 "(-----BEGIN ...)", f->name);
			return NULL;
		}
		return pem_file(c, state_dir, v->valuestring);
	}
	/* The file's own shapes, as GET shows them, back to the tools' text:
	 * {"PATTERN": "read"} and {"DEVICE": 5} as KEY:VALUE,...; ["a", "b"]
	 * as a,b. */
	if (((f->type == FB_FIELD_RIGHTS || f->type == FB_FIELD_UNIT_MAP) && cJSON_IsObject(v)) ||
	    (f->type == FB_FIELD_NAMES && cJSON_IsArray(v))) {
		const cJSON *r;
		char num[32];
		size_t len = 1;

		cJSON_ArrayForEach(r, v) {
			if (f->type == FB_FIELD_NAMES ? !cJSON_IsString(r)
			    : f->type == FB_FIELD_RIGHTS ? !cJSON_IsString(r) : !cJSON_IsNumber(r))
				return NULL;
			len += (r->string ? strlen(r->string) + 1 : 0) +
			       (cJSON_IsString(r) ? strlen(r->valuestring) : sizeof(num)) + 1;
		}
		s = calloc(1, len);
		if (!s)
			return NULL;
		cJSON_ArrayForEach(r, v) {
			if (s[0])
				strcat(s, ",");
			if (r->string) {
				strcat(s, r->string);
				strcat(s, ":");
			}
			if (cJSON_IsString(r)) {
				strcat(s, r->valuestring);
			} else {
				snprintf(num, sizeof(num), "%.17g", r->valuedouble);
				strcat(s, num);
			}
		}
		return own(c, s);
	}
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "on" : "off";
	if (cJSON_IsNumber(v)) {
		if (asprintf(&s, "%.17g", v->valuedouble) < 0)
			return NULL;
		return own(c, s);
	}
	return NULL;
}

/* Keys that are not fields: the object's identity and what GET adds. */
static bool is_meta(const char *k, enum fb_edit_kind kind)
{
	if (!strcmp(k, "_meta") || !strcmp(k, "_certs") || !strcmp(k, "_status") ||
	    !strcmp(k, "_hand_written"))
		return true;
	if (kind == FB_EDIT_GATEWAY)
		return false; /* its "name" is a field */
	return kind == FB_EDIT_DEVICE ? !strcmp(k, "id") || !strcmp(k, "bus") : !strcmp(k, "name");
}

static int body_changes(struct changes *c, enum fb_edit_kind kind, const cJSON *body,
			const struct fb_edit_obj *cur, bool replace, const char *state_dir)
{
	const cJSON *v;

	memset(c, 0, sizeof(*c));
	cJSON_ArrayForEach(v, body) {
		const struct fb_field *f;
		const char *text;
		bool skip;

		if (is_meta(v->string, kind))
			continue;
		f = fb_edit_field(kind, v->string);
		if (!f) {
			snprintf(c->err, sizeof(c->err), "%s: not a field of a %s (GET schema "
				 "lists them)", v->string, fb_edit_kind_name(kind));
			return -1;
		}
		if (c->n == CHANGES_MAX)
			return -1;
		text = value_text(c, f, v, state_dir, &skip);
		if (!text) {
			if (!c->err[0])
				snprintf(c->err, sizeof(c->err), "%s: expected a %s", f->name,
					 fb_field_type_name(f->type));
			return -1;
		}
		if (!skip)
			c->ch[c->n++] = (struct fb_edit_change){ f->name, text };
	}
	/* PUT: a field the page left out goes back to its default.  Secrets,
	 * certificates and keys stay unless named with null. */
	if (replace && cur) {
		size_t n;
		const struct fb_field *fields = fb_edit_fields(kind, &n);

		for (size_t i = 0; i < n; i++) {
			const struct fb_field *f = &fields[i];

			if (f->type == FB_FIELD_SECRET || f->type == FB_FIELD_CERT ||
			    f->type == FB_FIELD_KEY || cJSON_GetObjectItemCaseSensitive(body, f->name) ||
			    !cJSON_GetObjectItemCaseSensitive(cur->json, f->name))
				continue;
			if (c->n == CHANGES_MAX)
				return -1;
			c->ch[c->n++] = (struct fb_edit_change){ f->name, "" };
		}
	}
	return 0;
}

/* The loader names the temporary copy of an uploaded PEM; the page knows
 * it as what it uploaded. */
static void name_uploads(struct fb_diag *d, const struct changes *c)
{
	for (size_t i = 0; i < d->count; i++) {
		for (size_t k = 0; k < c->ntmp; k++) {
			char *m = d->entries[i].message, *at = strstr(m, c->tmpfiles[k]), *n;

			if (!at || asprintf(&n, "%.*sthe uploaded file%s", (int)(at - m), m,
					    at + strlen(c->tmpfiles[k])) < 0)
				continue;
			free(m);
			d->entries[i].message = n;
		}
	}
}

static void log_change(struct web_req *q, const char *what, enum fb_edit_kind kind,
		       const char *bus, const char *name, const struct changes *c)
{
	char fields[512] = "";

	for (size_t i = 0; c && i < c->n; i++) {
		size_t l = strlen(fields);

		snprintf(fields + l, sizeof(fields) - l, "%s%s", l ? ", " : "", c->ch[i].field);
	}
	if (kind == FB_EDIT_GATEWAY) /* one section: no name to say */
		name = bus = NULL;
	fb_log(FB_LOG_NOTICE, "web: %s from %s %s %s%s%s%s%s%s%s%s", q->session->user, q->peer,
	       what, fb_edit_kind_name(kind), name ? " " : "", bus ? bus : "", bus ? "/" : "",
	       name ? name : "", fields[0] ? " (" : "", fields, fields[0] ? ")" : "");
}

static int object_answer(struct web_req *q, struct fb_edit *e, enum fb_edit_kind kind,
			 const char *bus, const char *name, unsigned status)
{
	struct fb_diag d;
	const struct fb_edit_obj *o;

	fb_diag_init(&d);
	fb_edit_reload(e, &d);
	fb_diag_free(&d);
	o = fb_edit_find(e, kind, bus, name);
	if (!o)
		return web_http_json(q, status, NULL);
	etag_of(o, q->etag, sizeof(q->etag));
	return web_http_json(q, status, obj_json_live(q, o));
}

static int edit(struct web_req *q, struct fb_edit *e, enum fb_edit_kind kind,
		const char *bus, const char *name, bool collection)
{
	const struct fb_edit_obj *cur = name ? fb_edit_find(e, kind, bus, name) : NULL;
	const char *if_match = web_http_header(q, "If-Match");
	bool create = collection && !strcmp(q->method, "POST");
	struct changes ch;
	struct fb_diag d;
	enum fb_edit_rc erc;
	cJSON *body = NULL;
	char etag[40], nbuf[WEB_ARG_MAX];
	int rc;

	if (!create && !cur)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no %s \"%s\"",
				      fb_edit_kind_name(kind), name);
	if (cur && if_match && strcmp(if_match, "*")) {
		etag_of(cur, etag, sizeof(etag));
		if (strcmp(if_match, etag)) {
			cJSON *doc = cJSON_CreateObject();

			cJSON_AddStringToObject(doc, "error", "changed since it was loaded: "
						"reload it and edit again");
			cJSON_AddStringToObject(doc, "etag", etag);
			return web_http_json(q, MHD_HTTP_CONFLICT, doc);
		}
	}
	fb_diag_init(&d);
	if (!strcmp(q->method, "DELETE")) {
		erc = fb_edit_delete(e, kind, bus, name, &d);
		if (erc == FB_EDIT_OK) {
			log_change(q, "deleted", kind, bus, name, NULL);
			rc = web_http_json(q, MHD_HTTP_NO_CONTENT, NULL);
		} else {
			rc = web_http_diag(q, web_http_edit_status(erc), "not deleted", &d);
		}
		fb_diag_free(&d);
		return rc;
	}
	if (!(body = web_http_body(q, &rc))) {
		fb_diag_free(&d);
		return rc;
	}
	if (create) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(body,
					kind == FB_EDIT_DEVICE ? "id" : "name");

		if (!cJSON_IsString(n) || !n->valuestring[0] ||
		    strlen(n->valuestring) >= sizeof(nbuf)) {
			cJSON_Delete(body);
			fb_diag_free(&d);
			return web_http_error(q, MHD_HTTP_BAD_REQUEST, "expected \"%s\"",
					      kind == FB_EDIT_DEVICE ? "id" : "name");
		}
		snprintf(nbuf, sizeof(nbuf), "%s", n->valuestring);
		name = nbuf;
	}
	if (body_changes(&ch, kind, body, cur, !strcmp(q->method, "PUT"),
			 q->w->cfg->state_dir) < 0) {
		rc = web_http_error(q, MHD_HTTP_BAD_REQUEST, "%s", ch.err[0] ? ch.err
							       : "too many fields");
	} else {
		erc = fb_edit_set(e, kind, bus, name, create, ch.ch, ch.n, &d);
		if (erc == FB_EDIT_OK) {
			log_change(q, create ? "created" : "modified", kind, bus, name, &ch);
			rc = object_answer(q, e, kind, bus, name,
					   create ? MHD_HTTP_CREATED : MHD_HTTP_OK);
		} else {
			name_uploads(&d, &ch);
			rc = web_http_diag(q, web_http_edit_status(erc), create ? "not created"
							       : "not changed", &d);
		}
	}
	changes_free(&ch);
	cJSON_Delete(body);
	fb_diag_free(&d);
	return rc;
}

int web_api_config(struct web_req *q, const struct web_match *m)
{
	static const struct { enum web_route r; enum fb_edit_kind kind; bool coll; } map[] = {
		{ WEB_R_CONNECTIONS, FB_EDIT_CONN, true }, { WEB_R_CONNECTION, FB_EDIT_CONN, false },
		{ WEB_R_BUSES, FB_EDIT_BUS, true }, { WEB_R_BUS, FB_EDIT_BUS, false },
		{ WEB_R_DEVICES, FB_EDIT_DEVICE, true }, { WEB_R_DEVICE, FB_EDIT_DEVICE, false },
		{ WEB_R_USERS, FB_EDIT_USER, true }, { WEB_R_USER, FB_EDIT_USER, false },
		{ WEB_R_MBSERVERS, FB_EDIT_SERVER, true }, { WEB_R_MBSERVER, FB_EDIT_SERVER, false },
		{ WEB_R_GATEWAY, FB_EDIT_GATEWAY, false },
	};
	bool get = !strcmp(q->method, "GET");
	enum fb_edit_kind kind = FB_EDIT_CONN;
	const char *bus = NULL, *name = NULL;
	bool coll = false, found = false;
	struct fb_edit *e;
	struct fb_diag d;
	int rc;

	if (m->route == WEB_R_CONFIG_VALIDATE) {
		if (strcmp(q->method, "POST"))
			return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
		return validate(q);
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].r == m->route) {
			kind = map[i].kind;
			coll = map[i].coll;
			found = true;
		}
	}
	if (m->route != WEB_R_CONFIG && !found)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no such resource");
	if (m->route == WEB_R_CONFIG && !get)
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	/* Viewers and operators read the configuration (without secrets);
	 * only admins change it or see the users. */
	if ((!get || kind == FB_EDIT_USER) && m->route != WEB_R_CONFIG &&
	    q->session->role != WEB_ROLE_ADMIN)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "only an admin may %s",
				      kind == FB_EDIT_USER ? "manage users"
							   : "change the configuration");
	if (coll && !get && strcmp(q->method, "POST"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");
	if (kind == FB_EDIT_GATEWAY && !get && strcmp(q->method, "PUT") &&
	    strcmp(q->method, "PATCH"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET, PUT or PATCH "
				      "(there is one gateway section)");
	if (!coll && !get && strcmp(q->method, "PUT") && strcmp(q->method, "PATCH") &&
	    strcmp(q->method, "DELETE"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET, PUT, PATCH "
				      "or DELETE");
	if (kind == FB_EDIT_DEVICE)
		bus = m->arg[0];
	if (kind == FB_EDIT_GATEWAY)
		name = "gateway";
	else if (!coll)
		name = kind == FB_EDIT_DEVICE ? m->arg[1] : m->arg[0];

	fb_diag_init(&d);
	e = fb_edit_open(q->w->config_path, &d);
	fb_diag_free(&d);
	if (!e)
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the "
				      "configuration directory");
	if (kind == FB_EDIT_DEVICE && !fb_edit_find(e, FB_EDIT_BUS, NULL, bus)) {
		rc = web_http_error(q, MHD_HTTP_NOT_FOUND, "no bus \"%s\"", bus);
	} else if (m->route == WEB_R_CONFIG) {
		rc = get_config(q, e);
	} else if (get && coll) {
		rc = web_http_json(q, MHD_HTTP_OK, list_json(q, e, kind, bus));
	} else if (get) {
		const struct fb_edit_obj *o = fb_edit_find(e, kind, bus, name);

		if (!o) {
			rc = web_http_error(q, MHD_HTTP_NOT_FOUND, "no %s \"%s\"",
					    fb_edit_kind_name(kind), name);
		} else {
			etag_of(o, q->etag, sizeof(q->etag));
			rc = web_http_json(q, MHD_HTTP_OK, obj_json_live(q, o));
		}
	} else {
		rc = edit(q, e, kind, bus, name, coll);
	}
	fb_edit_close(e);
	return rc;
}
