/* SPDX-License-Identifier: Apache-2.0 */
/* The verbs shared by connections, buses, devices and users: list, show,
 * fields, add, modify, delete (and passwd for users), driven by the field
 * tables of config_edit. */
#include "ctl.h"
#include "jsonfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *plural(enum fb_edit_kind k)
{
	static const char *const p[] = { "connections", "buses", "devices", "users", "servers",
					 "gateway" };

	return p[k];
}

static void value_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "on" : "off");
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.15g", v->valuedouble);
	else {
		char *s = cJSON_PrintUnformatted(v);

		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
}

/* The default of f as JSON, typed like the value would be. */
static cJSON *default_json(const struct fb_field *f)
{
	char *end;
	long long v;

	if (f->type == FB_FIELD_BOOL)
		return cJSON_CreateBool(!strcmp(f->default_text, "on"));
	if (f->type == FB_FIELD_INT || f->type == FB_FIELD_INT_SET) {
		v = strtoll(f->default_text, &end, 10);
		if (!*end)
			return cJSON_CreateNumber((double)v);
	}
	return cJSON_CreateString(f->default_text);
}

static int list(const struct ctl *c, struct fb_edit *e, enum fb_edit_kind kind)
{
	size_t n = fb_edit_count(e, kind);
	const char *bus = kind == FB_EDIT_DEVICE && c->argc > 0 ? c->argv[0] : NULL;
	cJSON *doc = c->json ? ctl_doc_new(c) : NULL;
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, plural(kind)) : NULL;

	for (size_t i = 0; i < n; i++) {
		const struct fb_edit_obj *o = fb_edit_get(e, kind, i);

		if (bus && strcmp(o->bus, bus))
			continue;
		if (arr) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "name", o->name);
			if (o->bus)
				cJSON_AddStringToObject(j, "bus", o->bus);
			cJSON_AddStringToObject(j, "file", o->file);
			cJSON_AddStringToObject(j, "json_path", o->json_path);
			cJSON_AddBoolToObject(j, "in_main", o->in_main);
			cJSON_AddItemToArray(arr, j);
		} else if (o->bus) {
			printf("%s/%s\t%s%s%s\n", o->bus, o->name, o->file,
			       *o->json_path ? ": " : "", o->json_path);
		} else {
			printf("%s\t%s%s%s\n", o->name, o->file, *o->json_path ? ": " : "",
			       o->json_path);
		}
	}
	if (doc)
		ctl_doc_print(doc);
	return CTL_OK;
}

static cJSON *cert_json(const struct fb_edit_obj *o, const struct fb_field *f,
			const char *path)
{
	cJSON *j = cJSON_CreateObject();
	struct fb_cert_info info;
	char err[512];

	cJSON_AddStringToObject(j, "path", path);
	if (f->type == FB_FIELD_CERT) {
		if (fb_cert_check(path, &info, err, sizeof(err)) == 0) {
			cJSON_AddStringToObject(j, "subject", info.subject);
			cJSON_AddStringToObject(j, "issuer", info.issuer);
			cJSON_AddStringToObject(j, "not_after", info.not_after);
			cJSON_AddBoolToObject(j, "expired", info.expired);
		} else {
			cJSON_AddStringToObject(j, "error", err);
		}
	} else {
		char *crt = fb_edit_obj_path(o, "ssl_client_crt");
		char *pwp = fb_edit_obj_path(o, "ssl_client_key_password_file");
		char *pw = NULL;
		size_t len = 0;
		int m;

		if (pwp) {
			pw = fb_read_file(pwp, &len);
			if (pw && len && pw[len - 1] == '\n')
				pw[--len] = '\0';
		}
		m = crt ? fb_cert_key_match(crt, path, pw) : -1;
		if (m < 0)
			cJSON_AddNullToObject(j, "matches_certificate");
		else
			cJSON_AddBoolToObject(j, "matches_certificate", m == 1);
		if (pw) {
			explicit_bzero(pw, len);
			free(pw);
		}
		free(pwp);
		free(crt);
	}
	return j;
}

static void print_cert(const cJSON *j)
{
	const cJSON *v;

	if ((v = cJSON_GetObjectItem(j, "error")))
		printf("    error: %s\n", v->valuestring);
	if ((v = cJSON_GetObjectItem(j, "subject")))
		printf("    subject: %s\n", v->valuestring);
	if ((v = cJSON_GetObjectItem(j, "issuer")))
		printf("    issuer: %s\n", v->valuestring);
	if ((v = cJSON_GetObjectItem(j, "not_after")))
		printf("    expires: %s%s\n", v->valuestring,
		       cJSON_IsTrue(cJSON_GetObjectItem(j, "expired")) ? " (expired)" : "");
	if ((v = cJSON_GetObjectItem(j, "matches_certificate")))
		printf("    key matches certificate: %s\n", cJSON_IsNull(v) ? "unknown" :
		       cJSON_IsTrue(v) ? "yes" : "no");
}

static int show(const struct ctl *c, const struct fb_edit_obj *o)
{
	size_t n;
	const struct fb_field *f = fb_edit_fields(o->kind, &n);
	cJSON *doc = ctl_doc_new(c), *obj = cJSON_AddObjectToObject(doc,
					   fb_edit_kind_name(o->kind));
	cJSON *fields, *defaults;
	char buf[1024];

	cJSON_AddStringToObject(obj, "name", o->name);
	if (o->bus)
		cJSON_AddStringToObject(obj, "bus", o->bus);
	cJSON_AddStringToObject(obj, "file", o->file);
	cJSON_AddStringToObject(obj, "json_path", o->json_path);
	cJSON_AddBoolToObject(obj, "in_main", o->in_main);
	fields = cJSON_AddObjectToObject(obj, "fields");
	defaults = cJSON_AddArrayToObject(obj, "defaults");
	if (!c->json) {
		if (o->kind == FB_EDIT_GATEWAY)
			printf("gateway\n");
		else
			printf("%s %s\n", fb_edit_kind_name(o->kind), o->name);
		if (o->bus)
			printf("  bus: %s\n", o->bus);
		printf("  file: %s%s%s%s\n", o->file, *o->json_path ? " (" : "", o->json_path,
		       *o->json_path ? ")" : "");
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o->json, f[i].name);

		if (f[i].type == FB_FIELD_SECRET) {
			bool set = fb_edit_secret_is_set(o, f[i].name);
			cJSON *s = cJSON_AddObjectToObject(fields, f[i].name);

			cJSON_AddBoolToObject(s, "set", set);
			if (!c->json)
				printf("  %s: %s\n", f[i].name, set ? "set" : "not set");
		} else if ((f[i].type == FB_FIELD_CERT || f[i].type == FB_FIELD_KEY) && v) {
			char *path = fb_edit_obj_path(o, f[i].name);
			cJSON *j = cert_json(o, &f[i], path ? path : "");

			if (!c->json) {
				printf("  %s: %s\n", f[i].name, path ? path : "");
				print_cert(j);
			}
			cJSON_AddItemToObject(fields, f[i].name, j);
			free(path);
		} else if (v) {
			cJSON_AddItemToObject(fields, f[i].name, cJSON_Duplicate(v, 1));
			if (!c->json) {
				value_text(v, buf, sizeof(buf));
				printf("  %s: %s\n", f[i].name, buf);
			}
		} else if (f[i].default_text) {
			cJSON_AddItemToObject(fields, f[i].name, default_json(&f[i]));
			cJSON_AddItemToArray(defaults, cJSON_CreateString(f[i].name));
			if (!c->json)
				printf("  %s: %s (default)\n", f[i].name, f[i].default_text);
		} else {
			cJSON_AddNullToObject(fields, f[i].name);
			if (!c->json)
				printf("  %s: -\n", f[i].name);
		}
	}
	if (o->kind == FB_EDIT_BUS) {
		cJSON *devs = cJSON_AddArrayToObject(obj, "devices"), *d;

		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(o->json, "devices")) {
			cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");

			if (cJSON_IsString(id)) {
				cJSON_AddItemToArray(devs, cJSON_CreateString(id->valuestring));
				if (!c->json)
					printf("  device: %s\n", id->valuestring);
			}
		}
	}
	if (c->json)
		ctl_doc_print(doc);
	else
		cJSON_Delete(doc);
	return CTL_OK;
}

static int fields(const struct ctl *c, enum fb_edit_kind kind)
{
	size_t n;
	const struct fb_field *f = fb_edit_fields(kind, &n);
	char allowed[256];

	if (c->json) {
		cJSON *doc = ctl_doc_new(c);

		cJSON_AddItemToObject(doc, "schema", fb_edit_schema(kind));
		ctl_doc_print(doc);
		return CTL_OK;
	}
	for (size_t i = 0; i < n; i++) {
		fb_field_allowed(&f[i], allowed, sizeof(allowed));
		printf("%-24s %-11s %s%s%s%s%s\n", f[i].name, fb_field_type_name(f[i].type),
		       f[i].help, *allowed ? "; allowed: " : "", allowed,
		       f[i].default_text ? "; default: " : "",
		       f[i].default_text ? f[i].default_text : "");
	}
	return CTL_OK;
}

struct changes {
	struct fb_edit_change *v;
	char **secrets; /* read from stdin, wiped at the end */
	size_t n;
};

static void changes_free(struct changes *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		if (ch->secrets[i]) {
			explicit_bzero(ch->secrets[i], strlen(ch->secrets[i]));
			free(ch->secrets[i]);
		}
		free((char *)ch->v[i].field);
	}
	free(ch->v);
	free(ch->secrets);
}

/* FIELD=VALUE arguments.  Returns 0 or an exit code. */
static int parse_changes(const struct ctl *c, enum fb_edit_kind kind, char **args, int n,
			 struct changes *ch)
{
	ch->v = calloc((size_t)n + 1, sizeof(*ch->v));
	ch->secrets = calloc((size_t)n + 1, sizeof(*ch->secrets));
	ch->n = 0;
	if (!ch->v || !ch->secrets)
		return CTL_FAILED;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		const struct fb_field *f;
		struct fb_edit_change *v = &ch->v[ch->n];

		if (!eq || eq == args[i])
			return ctl_usage_error(c, "%s: expected FIELD=VALUE", args[i]);
		v->field = strndup(args[i], (size_t)(eq - args[i]));
		v->value = eq + 1;
		ch->n++;
		f = fb_edit_field(kind, v->field);
		if (!f)
			continue; /* the library names the unknown field */
		if (f->type == FB_FIELD_SECRET) {
			char prompt[96];

			if (!strcmp(v->value, "")) {
				continue;
			} else if (strcmp(v->value, "-")) {
				/* Never echo the value: it is the secret. */
				return ctl_usage_error(c, "%s: a secret is never given on the "
						       "command line (ps shows it): write "
						       "%s=- and give it on standard input",
						       f->name, f->name);
			}
			snprintf(prompt, sizeof(prompt), "%s", f->name);
			ch->secrets[ch->n - 1] = ctl_read_secret(prompt);
			if (!ch->secrets[ch->n - 1] || !ch->secrets[ch->n - 1][0])
				return ctl_usage_error(c, "%s: no secret on standard input",
						       f->name);
			v->value = ch->secrets[ch->n - 1];
		}
	}
	return 0;
}

static int rc_of(enum fb_edit_rc rc)
{
	return (int)rc;
}

static int edit_verb(const struct ctl *c, struct fb_edit *e, enum fb_edit_kind kind)
{
	bool create = !strcmp(c->verb, "add");
	bool del = !strcmp(c->verb, "delete");
	bool passwd = !strcmp(c->verb, "passwd");
	const char *bus = NULL, *name;
	char **rest;
	int nrest, rc;
	struct changes ch = { 0 };
	struct fb_diag d;
	char *pw_arg[] = { "password=-" };
	cJSON *extra = NULL;

	if (kind == FB_EDIT_GATEWAY) {
		/* One section, no name: every argument is a FIELD=VALUE. */
		if (c->argc < 1)
			return ctl_usage_error(c, "gateway modify: expected FIELD=VALUE...");
		name = "gateway";
		rest = c->argv;
		nrest = c->argc;
	} else if (c->argc < 1) {
		return ctl_usage_error(c, "%s %s: expected a name", c->object, c->verb);
	} else {
		name = c->argv[0];
		rest = c->argv + 1;
		nrest = c->argc - 1;
	}
	if (kind == FB_EDIT_DEVICE) {
		/* device add BUS ID ...; the others take [BUS] ID. */
		if (create || (c->argc >= 2 && !strchr(c->argv[1], '='))) {
			if (c->argc < 2)
				return ctl_usage_error(c, "device %s: expected BUS ID", c->verb);
			bus = c->argv[0];
			name = c->argv[1];
			rest = c->argv + 2;
			nrest = c->argc - 2;
		} else {
			const struct fb_edit_obj *o = fb_edit_find(e, FB_EDIT_DEVICE, NULL, name);

			bus = o ? o->bus : "";
		}
	}
	if ((del || passwd) && nrest)
		return ctl_usage_error(c, "%s %s: unexpected argument %s", c->object, c->verb,
				       rest[0]);
	if (passwd) {
		rest = pw_arg;
		nrest = 1;
	}
	rc = parse_changes(c, kind, rest, nrest, &ch);
	if (rc) {
		changes_free(&ch);
		return rc;
	}
	fb_diag_init(&d);
	if (del)
		rc = rc_of(fb_edit_delete(e, kind, bus, name, &d));
	else
		rc = rc_of(fb_edit_set(e, kind, bus, name, create, ch.v, ch.n, &d));
	changes_free(&ch);
	if (rc == CTL_OK) {
		if (!c->json)
			printf("%s%s%s: %s written\n", fb_edit_kind_name(kind),
			       kind == FB_EDIT_GATEWAY ? "" : " ",
			       kind == FB_EDIT_GATEWAY ? "" : name, del ? "removal" : "change");
		extra = c->json ? cJSON_CreateObject() : NULL;
		rc = ctl_apply_after_edit(c, e, extra, &d);
	}
	ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	return rc;
}

static int move_to_dropin(const struct ctl *c, struct fb_edit *e, enum fb_edit_kind kind)
{
	const char *name = c->argv[0];
	struct fb_diag d;
	cJSON *extra = NULL;
	int rc;

	fb_diag_init(&d);
	rc = rc_of(fb_edit_move_to_dropin(e, kind, name, &d));
	if (rc == CTL_OK) {
		char to[160];

		snprintf(to, sizeof(to), "%s/%s.json",
			 kind == FB_EDIT_CONN ? "connections.d" : "buses.d", name);
		if (c->json) {
			extra = cJSON_CreateObject();
			cJSON_AddStringToObject(extra, "moved_to", to);
		} else {
			printf("%s %s: moved from %s to %s (comments inside the object were "
			       "not carried over)\n", fb_edit_kind_name(kind), name,
			       fb_edit_main_path(e), to);
		}
		rc = ctl_apply_after_edit(c, e, extra, &d);
	}
	ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	return rc;
}

int ctl_objects(const struct ctl *c, enum fb_edit_kind kind)
{
	struct fb_diag d;
	struct fb_edit *e;
	int rc;

	if (!c->verb)
		return ctl_usage_error(c, "%s: expected a verb", c->object);
	if (!strcmp(c->verb, "fields"))
		return fields(c, kind);
	fb_diag_init(&d);
	if (access(c->config_path, R_OK) != 0) {
		rc = errno == ENOENT ? CTL_NOT_FOUND : errno == EACCES ? CTL_DENIED : CTL_FAILED;
		fb_diag_error(&d, "%s: %s", c->config_path, strerror(errno));
		ctl_fail(c, &d, rc);
		fb_diag_free(&d);
		return rc;
	}
	e = fb_edit_open(c->config_path, &d);
	if (!e) {
		fb_diag_error(&d, "%s: cannot read the configuration directory", c->config_path);
		rc = ctl_fail(c, &d, CTL_FAILED);
		fb_diag_free(&d);
		return rc;
	}
	fb_diag_free(&d);
	if (kind == FB_EDIT_GATEWAY && !strcmp(c->verb, "show") && c->argc == 0) {
		const struct fb_edit_obj *o = fb_edit_find(e, kind, NULL, "gateway");

		if (o) {
			rc = show(c, o);
		} else {
			fb_diag_init(&d);
			fb_diag_error(&d, "%s: does not parse: `fieldbridgectl config check` "
				      "says why", c->config_path);
			rc = ctl_fail(c, &d, CTL_INVALID);
			fb_diag_free(&d);
		}
	} else if (kind == FB_EDIT_GATEWAY && strcmp(c->verb, "modify")) {
		rc = ctl_usage_error(c, "gateway: expected show, fields or modify "
				     "FIELD=VALUE...");
	} else if (!strcmp(c->verb, "list")) {
		rc = list(c, e, kind);
	} else if (!strcmp(c->verb, "show")) {
		const char *name = c->argc >= 1 ? c->argv[c->argc - 1] : NULL;
		const struct fb_edit_obj *o = name ? fb_edit_find(e, kind, NULL, name) : NULL;

		if (!name || c->argc > 2 || (c->argc == 2 && kind != FB_EDIT_DEVICE)) {
			rc = ctl_usage_error(c, "%s show: expected a name", c->object);
		} else if (!o) {
			fb_diag_init(&d);
			fb_diag_error(&d, "%s %s: not found", c->object, name);
			rc = ctl_fail(c, &d, CTL_NOT_FOUND);
			fb_diag_free(&d);
		} else {
			rc = show(c, o);
		}
	} else if (!strcmp(c->verb, "add") || !strcmp(c->verb, "modify") ||
		   !strcmp(c->verb, "delete") ||
		   (kind == FB_EDIT_USER && !strcmp(c->verb, "passwd"))) {
		rc = edit_verb(c, e, kind);
	} else if (!strcmp(c->verb, "move-to-dropin") &&
		   (kind == FB_EDIT_CONN || kind == FB_EDIT_BUS)) {
		rc = c->argc == 1 ? move_to_dropin(c, e, kind)
				  : ctl_usage_error(c, "%s move-to-dropin: expected a name",
						    c->object);
	} else if (!strcmp(c->verb, "edit") &&
		   (kind == FB_EDIT_CONN || kind == FB_EDIT_BUS || kind == FB_EDIT_SERVER)) {
		rc = c->argc == 1 ? ctl_edit(c, kind, c->argv[0])
				  : ctl_usage_error(c, "%s edit: expected a name", c->object);
	} else {
		rc = ctl_usage_error(c, "%s: unknown verb \"%s\"", c->object, c->verb);
	}
	fb_edit_close(e);
	return rc;
}
