/* SPDX-License-Identifier: Apache-2.0 */
/* `definition list|show|check|decode|add`: the device definitions the gateway
 * would load, raw register words decoded by the model's own codec, and a new
 * definition stored as a drop-in (fb_edit_definition_add, as the web's POST
 * definitions). */
#include "ctl.h"
#include "fb_defaults.h"
#include "config.h"
#include "jsonfile.h"
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dirs {
	char **v;
	size_t n;
	struct fb_config *cfg;
	char *fallback[2];
};

/* The configuration's definition_dirs, or the defaults if it does not load. */
static void dirs_get(const struct ctl *c, struct dirs *d)
{
	struct fb_diag diag;
	char *dir, *slash;

	fb_diag_init(&diag);
	d->cfg = fb_config_load(c->config_path, &diag);
	fb_diag_free(&diag);
	if (d->cfg) {
		d->v = d->cfg->definition_dirs;
		d->n = d->cfg->ndefinition_dirs;
		return;
	}
	dir = strdup(c->config_path);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	if (asprintf(&d->fallback[0], "%s/devices", slash ? dir : ".") < 0)
		d->fallback[0] = NULL;
	d->fallback[1] = strdup(FB_DEFAULT_DEVICES_DIR);
	free(dir);
	d->v = d->fallback;
	d->n = 2;
}

static void dirs_free(struct dirs *d)
{
	fb_config_free(d->cfg);
	free(d->fallback[0]);
	free(d->fallback[1]);
}

static int json_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 && !strcmp(de->d_name + n - 5, ".json");
}

static int list(const struct ctl *c, struct dirs *d)
{
	cJSON *doc = ctl_doc_new(c), *arr = cJSON_AddArrayToObject(doc, "definitions");
	cJSON *seen = cJSON_CreateObject();

	for (size_t i = 0; i < d->n; i++) {
		struct dirent **list;
		int n = d->v[i] ? scandir(d->v[i], &list, json_filter, alphasort) : -1;

		for (int k = 0; k < n; k++) {
			char *id = list[k]->d_name, path[4096];

			id[strlen(id) - 5] = '\0';
			snprintf(path, sizeof(path), "%s/%s.json", d->v[i], id);
			/* The first directory wins, as in the loader's lookup. */
			if (!cJSON_GetObjectItemCaseSensitive(seen, id)) {
				cJSON *j = cJSON_CreateObject();

				cJSON_AddTrueToObject(seen, id);
				cJSON_AddStringToObject(j, "id", id);
				cJSON_AddStringToObject(j, "path", path);
				cJSON_AddItemToArray(arr, j);
				if (!c->json)
					printf("%s\t%s\n", id, path);
			}
			free(list[k]);
		}
		if (n >= 0)
			free(list);
	}
	cJSON_Delete(seen);
	if (c->json)
		ctl_doc_print(doc);
	else
		cJSON_Delete(doc);
	return CTL_OK;
}

static struct fb_definition *load(const struct ctl *c, struct dirs *d, const char *which,
				  struct fb_diag *diag)
{
	size_t n = strlen(which);

	if (strchr(which, '/') || (n > 5 && !strcmp(which + n - 5, ".json")))
		return fb_model_load(which, diag);
	(void)c;
	return fb_model_find(which, (const char *const *)d->v, d->n, diag);
}

static int show(const struct ctl *c, const struct fb_definition *def)
{
	cJSON *doc = ctl_doc_new(c), *j = cJSON_AddObjectToObject(doc, "definition");
	cJSON *pts = cJSON_CreateArray();

	cJSON_AddStringToObject(j, "id", def->id);
	cJSON_AddStringToObject(j, "path", def->path);
	cJSON_AddStringToObject(j, "manufacturer", def->manufacturer ? def->manufacturer : "");
	cJSON_AddStringToObject(j, "model", def->model ? def->model : "");
	cJSON_AddStringToObject(j, "protocol", def->protocol ? def->protocol : "");
	cJSON_AddItemToObject(j, "points", pts);
	if (!c->json)
		printf("%s: %s %s (%s)\n  file: %s\n", def->id, def->manufacturer ?
		       def->manufacturer : "", def->model ? def->model : "",
		       def->protocol ? def->protocol : "", def->path);
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		cJSON *pj = cJSON_CreateObject();
		/* A relay cover has no register of its own: show its relays. */
		bool relays = p->ext.relay_open && p->ext.relay_close;
		bool modbus = p->gpio.role == FB_GPIO_NONE && !relays;

		cJSON_AddStringToObject(pj, "key", p->key);
		cJSON_AddStringToObject(pj, "name", p->name ? p->name : "");
		if (modbus) {
			cJSON_AddStringToObject(pj, "table", fb_reg_table_name(p->table));
			cJSON_AddNumberToObject(pj, "address", p->address);
			cJSON_AddStringToObject(pj, "type", fb_data_type_name(p->type));
		}
		if (relays) {
			cJSON_AddStringToObject(pj, "open", p->ext.relay_open);
			cJSON_AddStringToObject(pj, "close", p->ext.relay_close);
		}
		if (p->unit)
			cJSON_AddStringToObject(pj, "unit", p->unit);
		cJSON_AddStringToObject(pj, "component", fb_component_name(p->component));
		cJSON_AddItemToArray(pts, pj);
		if (!c->json && modbus)
			printf("  %-28s %s:%u %s%s%s\n", p->key, fb_reg_table_name(p->table),
			       p->address, fb_data_type_name(p->type), p->unit ? " " : "",
			       p->unit ? p->unit : "");
		else if (!c->json && relays)
			printf("  %-28s cover on %s/%s\n", p->key, p->ext.relay_open,
			       p->ext.relay_close);
		else if (!c->json)
			printf("  %-28s %s\n", p->key, fb_gpio_role_name(p->gpio.role));
	}
	if (c->json)
		ctl_doc_print(doc);
	else
		cJSON_Delete(doc);
	return CTL_OK;
}

/* "input", "holding", "coil", "discrete" or the JSON spelling. */
static int table_of(const char *s, size_t n)
{
	static const char *const shorts[] = { "coil", "discrete", "input", "holding" };

	for (int t = FB_REG_COIL; t <= FB_REG_HOLDING; t++) {
		const char *full = fb_reg_table_name((enum fb_reg_table)t);

		if ((strlen(shorts[t]) == n && !strncmp(s, shorts[t], n)) ||
		    (strlen(full) == n && !strncmp(s, full, n)))
			return t;
	}
	return -1;
}

static cJSON *value_json(const struct fb_point_def *p, const struct fb_value *v,
			 char *text, size_t len)
{
	switch (v->kind) {
	case FB_VALUE_BOOL:
		snprintf(text, len, "%s", v->b ? "true" : "false");
		return cJSON_CreateBool(v->b);
	case FB_VALUE_INT:
		snprintf(text, len, "%lld", (long long)v->i);
		return cJSON_CreateNumber((double)v->i);
	case FB_VALUE_UINT:
		snprintf(text, len, "%llu", (unsigned long long)v->u);
		return cJSON_CreateNumber((double)v->u);
	case FB_VALUE_FLOAT:
		if (p->precision >= 0)
			snprintf(text, len, "%.*f", p->precision, v->f);
		else
			snprintf(text, len, "%.10g", v->f);
		return cJSON_CreateNumber(v->f);
	case FB_VALUE_STRING:
		snprintf(text, len, "%s", v->s);
		return cJSON_CreateString(v->s);
	default:
		snprintf(text, len, "unavailable");
		return cJSON_CreateNull();
	}
}

static int decode(const struct ctl *c, const struct fb_definition *def, const char *which,
		  char **words, int nwords)
{
	uint16_t regs[256];
	const char *colon = strchr(which, ':');
	int table = -1;
	long addr = -1;
	size_t found = 0;
	cJSON *doc = ctl_doc_new(c), *arr = cJSON_AddArrayToObject(doc, "points");

	if (nwords > 256) {
		cJSON_Delete(doc);
		return ctl_usage_error(c, "decode: at most 256 words");
	}
	for (int i = 0; i < nwords; i++) {
		char *end;
		unsigned long w;

		errno = 0;
		w = strtoul(words[i], &end, 0);
		if (errno || *end || !*words[i] || w > 0xFFFF) {
			cJSON_Delete(doc);
			return ctl_usage_error(c, "decode: %s: expected a 16-bit word (decimal "
					       "or 0x hex)", words[i]);
		}
		regs[i] = (uint16_t)w;
	}
	if (colon) {
		char *end;

		table = table_of(which, (size_t)(colon - which));
		addr = strtol(colon + 1, &end, 0);
		if (table < 0 || *end || addr < 0 || addr > 65535) {
			cJSON_Delete(doc);
			return ctl_usage_error(c, "decode: %s: expected a point key or TABLE:ADDRESS "
					       "(input:26, holding:40083, coil:0)", which);
		}
	}
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		struct fb_value v;
		char text[512];
		cJSON *j;

		if (p->gpio.role != FB_GPIO_NONE)
			continue;
		if (colon ? (int)p->table != table || p->address != addr : strcmp(p->key, which))
			continue;
		found++;
		/* The words start at the first register a read of the point
		 * covers: its own, or its scale_register's if that comes first. */
		uint16_t first, last;

		fb_point_extent(p, &first, &last);
		if (last - first + 1 > nwords) {
			cJSON_Delete(doc);
			return ctl_usage_error(c, "decode: point %s (%s%s) needs %u word%s from "
					       "address %u, got %d", p->key,
					       fb_data_type_name(p->type),
					       p->has_scale_register ? " and its scale_register" : "",
					       last - first + 1, last == first ? "" : "s", first,
					       nwords);
		}
		memset(&v, 0, sizeof(v));
		if (fb_codec_decode_run(p, regs, first, (size_t)nwords, &v) < 0) {
			struct fb_diag d;

			fb_diag_init(&d);
			fb_diag_error(&d, "decode: point %s: the words are not a valid %s",
				      p->key, fb_data_type_name(p->type));
			ctl_fail(c, &d, CTL_FAILED);
			fb_diag_free(&d);
			cJSON_Delete(doc);
			return CTL_FAILED;
		}
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "key", p->key);
		cJSON_AddItemToObject(j, "value", value_json(p, &v, text, sizeof(text)));
		if (p->unit)
			cJSON_AddStringToObject(j, "unit", p->unit);
		else
			cJSON_AddNullToObject(j, "unit");
		for (size_t k = 0; k < p->noptions && v.kind != FB_VALUE_NONE; k++) {
			int64_t raw = v.kind == FB_VALUE_UINT ? (int64_t)v.u : v.kind ==
				      FB_VALUE_FLOAT ? (int64_t)v.f : v.i;

			if (p->options[k].raw == raw)
				cJSON_AddStringToObject(j, "option", p->options[k].label);
		}
		cJSON_AddItemToArray(arr, j);
		if (!c->json)
			printf("%s = %s%s%s\n", p->key, text, p->unit ? " " : "",
			       p->unit ? p->unit : "");
	}
	if (!found) {
		struct fb_diag d;

		cJSON_Delete(doc);
		fb_diag_init(&d);
		fb_diag_error(&d, "%s: no point %s %s", def->id, colon ? "at" : "", which);
		ctl_fail(c, &d, CTL_NOT_FOUND);
		fb_diag_free(&d);
		return CTL_NOT_FOUND;
	}
	if (c->json)
		ctl_doc_print(doc);
	else
		cJSON_Delete(doc);
	return CTL_OK;
}

/* `check FILE|ID...`: the loader (lint included) and the test vectors of
 * each, with one verdict per definition. */
static int check(const struct ctl *c, struct dirs *d)
{
	cJSON *doc = ctl_doc_new(c), *arr = cJSON_AddArrayToObject(doc, "definitions");
	int rc = CTL_OK;

	for (int i = 0; i < c->argc; i++) {
		struct fb_vector_report rep = { 0 };
		struct fb_diag diag;
		struct fb_definition *def;
		cJSON *o = cJSON_CreateObject(), *msgs;
		bool ok;

		fb_diag_init(&diag);
		def = load(c, d, c->argv[i], &diag);
		if (def)
			fb_model_run_vectors(def, &diag, &rep);
		ok = def && !diag.errors;
		if (!ok)
			rc = CTL_INVALID;
		cJSON_AddStringToObject(o, "definition", c->argv[i]);
		if (def)
			cJSON_AddStringToObject(o, "path", def->path);
		cJSON_AddBoolToObject(o, "ok", ok);
		cJSON_AddNumberToObject(o, "vectors", (double)rep.vectors);
		cJSON_AddNumberToObject(o, "captured", (double)rep.captured);
		cJSON_AddNumberToObject(o, "checks", (double)rep.checks);
		cJSON_AddNumberToObject(o, "failed", (double)rep.failed);
		msgs = cJSON_AddArrayToObject(o, "diagnostics");
		for (size_t k = 0; k < diag.count; k++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "severity", diag.entries[k].severity ==
						FB_SEV_ERROR ? "error" : "warning");
			cJSON_AddStringToObject(e, "message", diag.entries[k].message);
			cJSON_AddItemToArray(msgs, e);
		}
		cJSON_AddItemToArray(arr, o);
		if (!c->json) {
			fb_diag_print(&diag, stderr);
			if (!def)
				printf("%s: FAILED (does not load)\n", c->argv[i]);
			else
				printf("%s: %s (%zu vector%s, %zu captured, %zu check%s, "
				       "%zu failed)\n", c->argv[i], ok ? "ok" : "FAILED",
				       rep.vectors, rep.vectors == 1 ? "" : "s", rep.captured,
				       rep.checks, rep.checks == 1 ? "" : "s", rep.failed);
		}
		fb_model_free(def);
		fb_diag_free(&diag);
	}
	if (c->json) {
		cJSON_AddBoolToObject(doc, "ok", rc == CTL_OK);
		cJSON_AddNumberToObject(doc, "exit", rc);
		ctl_doc_print(doc);
	} else {
		cJSON_Delete(doc);
	}
	return rc;
}

/* `definition add FILE [--id ID] [--replace]`: the id is the file's name
 * without ".json" unless given. */
static int add(const struct ctl *c)
{
	const char *file = NULL, *id_arg = NULL;
	bool replace = false;
	struct fb_vector_report rep = { 0 };
	struct fb_diag d;
	struct fb_edit *e = NULL;
	char *text = NULL, *id = NULL, *path = NULL, *dot;
	size_t len = 0;
	cJSON *extra = NULL;
	int rc;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--replace"))
			replace = true;
		else if (!strcmp(c->argv[i], "--id") && i + 1 < c->argc)
			id_arg = c->argv[++i];
		else if (c->argv[i][0] != '-' && !file)
			file = c->argv[i];
		else
			file = NULL, i = c->argc;
	}
	if (!file)
		return ctl_usage_error(c, "usage: definition add FILE [--id ID] [--replace]");
	fb_diag_init(&d);
	if (!(text = fb_read_file(file, &len))) {
		int err = errno;

		fb_diag_error(&d, "%s: %s", file, fb_read_file_strerror(err));
		rc = ctl_fail(c, &d, err == ENOENT ? CTL_NOT_FOUND
				     : err == EACCES ? CTL_DENIED : CTL_FAILED);
		fb_diag_free(&d);
		return rc;
	}
	id = strdup(id_arg ? id_arg : (strrchr(file, '/') ? strrchr(file, '/') + 1 : file));
	if (id && !id_arg && (dot = strrchr(id, '.')) && !strcmp(dot, ".json"))
		*dot = '\0';
	e = id ? fb_edit_open(c->config_path, &d) : NULL;
	rc = e ? (int)fb_edit_definition_add(e, id, text, len, replace, &path, &rep, &d)
	       : CTL_FAILED;
	if (rc == CTL_OK && c->json) {
		extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "id", id);
		cJSON_AddStringToObject(extra, "path", path);
		cJSON_AddNumberToObject(extra, "vectors", (double)rep.vectors);
		cJSON_AddNumberToObject(extra, "checks", (double)rep.checks);
	} else if (rc == CTL_OK) {
		printf("definition %s: %s %s (%zu vectors, %zu checks passed)\n", id,
		       replace ? "stored as" : "added as", path, rep.vectors, rep.checks);
	}
	ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	fb_edit_close(e);
	free(path);
	free(id);
	free(text);
	return rc;
}

int ctl_definition(const struct ctl *c)
{
	struct dirs d = { 0 };
	struct fb_diag diag;
	struct fb_definition *def = NULL;
	int rc;

	if (!c->verb)
		return ctl_usage_error(c, "definition: expected list, show, check, decode or add");
	if (!strcmp(c->verb, "add"))
		return add(c);
	if (!strcmp(c->verb, "check") && c->argc >= 1) {
		dirs_get(c, &d);
		rc = check(c, &d);
		dirs_free(&d);
		return rc;
	}
	if (!strcmp(c->verb, "list") && c->argc == 0) {
		dirs_get(c, &d);
		rc = list(c, &d);
		dirs_free(&d);
		return rc;
	}
	if (!(!strcmp(c->verb, "show") && c->argc == 1) &&
	    !(!strcmp(c->verb, "decode") && c->argc >= 3))
		return ctl_usage_error(c, "definition: expected list, show DEFINITION, "
				       "check DEFINITION..., decode DEFINITION POINT WORD... or add FILE");
	dirs_get(c, &d);
	fb_diag_init(&diag);
	def = load(c, &d, c->argv[0], &diag);
	if (!def) {
		rc = ctl_fail(c, &diag, access(c->argv[0], F_OK) == 0 ? CTL_INVALID
									: CTL_NOT_FOUND);
	} else if (!strcmp(c->verb, "show")) {
		rc = show(c, def);
	} else {
		rc = decode(c, def, c->argv[1], c->argv + 2, c->argc - 2);
	}
	fb_model_free(def);
	fb_diag_free(&diag);
	dirs_free(&d);
	return rc;
}
