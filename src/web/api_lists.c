/* SPDX-License-Identifier: Apache-2.0 */
/* What the pickers of the page choose from: GET definitions (every device
 * definition in the configured definition_dirs, the first directory
 * winning as in the loader's lookup), GET serial-ports (the stable names
 * in /dev/serial/by-id, with the bus that uses each) and GET gpio-chips
 * (every /dev/gpiochip*, its label and lines with names and consumers,
 * through the GPIO part's gpio.h, on the driver's own libgpiod backend).  Nothing is opened but
 * directory entries, definition files and chips (never a line).
 * POST definitions {id, content, replace} (admin) adds a definition file
 * through fb_edit_definition_add: the loader and the test vectors first. */
#include "web-internal.h"
#include "config_edit.h"
#include "gpio.h"
#include "jsonfile.h"
#include "log.h"
#include "model.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERIAL_BY_ID "/dev/serial/by-id"

static int json_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

static void add_string(cJSON *o, const cJSON *from, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);

	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, key, v->valuestring);
}

static int definitions(struct web_req *q)
{
	const struct fb_config *c = q->w->cfg;
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "definitions");
	cJSON *seen = cJSON_CreateObject();

	for (size_t i = 0; i < c->ndefinition_dirs; i++) {
		struct dirent **list;
		int n = scandir(c->definition_dirs[i], &list, json_filter, alphasort);

		for (int k = 0; k < n; k++) {
			char *id = list[k]->d_name, path[PATH_MAX];
			struct fb_diag d;
			cJSON *j, *def;

			id[strlen(id) - 5] = '\0';
			if (cJSON_GetObjectItemCaseSensitive(seen, id)) {
				free(list[k]);
				continue;
			}
			cJSON_AddTrueToObject(seen, id);
			snprintf(path, sizeof(path), "%s/%s.json", c->definition_dirs[i], id);
			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "id", id);
			cJSON_AddStringToObject(j, "path", path);
			/* The file as written (names for the picker); the loader
			 * checks it when a device uses it. */
			fb_diag_init(&d);
			def = fb_json_load_file(path, &d);
			fb_diag_free(&d);
			add_string(j, def, "manufacturer");
			add_string(j, def, "model");
			add_string(j, def, "protocol");
			if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(def, "points")))
				cJSON_AddNumberToObject(j, "points", cJSON_GetArraySize(
					cJSON_GetObjectItemCaseSensitive(def, "points")));
			cJSON_Delete(def);
			cJSON_AddItemToArray(arr, j);
			free(list[k]);
		}
		if (n >= 0)
			free(list);
	}
	cJSON_Delete(seen);
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static int serial_ports(struct web_req *q)
{
	const struct fb_config *c = q->w->cfg;
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "ports");
	struct dirent **list;
	int n = scandir(SERIAL_BY_ID, &list, NULL, alphasort);

	for (int k = 0; k < n; k++) {
		char path[PATH_MAX], real[PATH_MAX];
		cJSON *j;

		if (list[k]->d_name[0] == '.') {
			free(list[k]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", SERIAL_BY_ID, list[k]->d_name);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "path", path);
		cJSON_AddStringToObject(j, "name", list[k]->d_name);
		if (realpath(path, real))
			cJSON_AddStringToObject(j, "device", real);
		for (size_t b = 0; b < c->nbuses; b++) {
			const char *dev = c->buses[b].device;
			char breal[PATH_MAX];

			if (dev && (!strcmp(dev, path) ||
				    (realpath(dev, breal) && realpath(path, real) &&
				     !strcmp(breal, real))))
				cJSON_AddStringToObject(j, "used_by", c->buses[b].name);
		}
		cJSON_AddItemToArray(arr, j);
		free(list[k]);
	}
	if (n >= 0)
		free(list);
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static cJSON *chip_json(const struct fb_config *c, const struct fb_gpio_chip_info *ci)
{
	cJSON *j = cJSON_CreateObject(), *lines;

	cJSON_AddStringToObject(j, "name", ci->name);
	cJSON_AddStringToObject(j, "path", ci->path);
	if (ci->error[0]) {
		cJSON_AddStringToObject(j, "error", ci->error);
		return j;
	}
	cJSON_AddStringToObject(j, "label", ci->label);
	for (size_t b = 0; b < c->nbuses; b++)
		if (c->buses[b].transport == FB_BUS_GPIO && c->buses[b].gpio_chip &&
		    !strcmp(c->buses[b].gpio_chip, ci->label))
			cJSON_AddStringToObject(j, "used_by", c->buses[b].name);
	lines = cJSON_AddArrayToObject(j, "lines");
	for (unsigned i = 0; i < ci->nlines; i++) {
		const struct fb_gpio_line_info *li = &ci->lines[i];
		cJSON *l = cJSON_CreateObject();

		cJSON_AddNumberToObject(l, "offset", li->offset);
		if (li->known) {
			cJSON_AddStringToObject(l, "line", li->name);
			cJSON_AddBoolToObject(l, "used", li->used);
			cJSON_AddStringToObject(l, "consumer", li->consumer);
		}
		cJSON_AddItemToArray(lines, l);
	}
	return j;
}

static int gpio_chips(struct web_req *q)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "chips");
	struct fb_gpio_chip_info *chips = NULL;
	size_t n = 0;

	/* FB_GPIO_DEV_DIR: tests list fake chip files; unset in the unit. */
	if (fb_gpio_chips_list(getenv("FB_GPIO_DEV_DIR"), &chips, &n) < 0) {
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot list /dev: %s",
				      strerror(errno));
	}
	for (size_t k = 0; k < n; k++)
		cJSON_AddItemToArray(arr, chip_json(q->w->cfg, &chips[k]));
	fb_gpio_chips_free(chips, n);
	cJSON_AddStringToObject(doc, "backend", fb_gpio_backend());
	if (!n) /* the driver's words for the same case (chip.c) */
		cJSON_AddStringToObject(doc, "message", "no GPIO chips on this machine: "
					"none (no /dev/gpiochip*)");
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static cJSON *report_json(const struct fb_vector_report *rep)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "vectors", (double)rep->vectors);
	cJSON_AddNumberToObject(o, "captured", (double)rep->captured);
	cJSON_AddNumberToObject(o, "checks", (double)rep->checks);
	cJSON_AddNumberToObject(o, "failed", (double)rep->failed);
	return o;
}

static int definition_add(struct web_req *q)
{
	struct fb_vector_report rep;
	struct fb_diag d;
	struct fb_edit *e = NULL;
	enum fb_edit_rc erc;
	const cJSON *id, *content, *replace;
	char *path = NULL;
	cJSON *body, *doc;
	int rc;

	if (q->session->role != WEB_ROLE_ADMIN)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "only an admin may add definitions");
	if (!(body = web_http_body(q, &rc)))
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(body, "id");
	content = cJSON_GetObjectItemCaseSensitive(body, "content");
	replace = cJSON_GetObjectItemCaseSensitive(body, "replace");
	if (!cJSON_IsString(id) || !cJSON_IsString(content) ||
	    (replace && !cJSON_IsBool(replace))) {
		cJSON_Delete(body);
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "expected {\"id\": string, "
				      "\"content\": the file's text, \"replace\": true|false}");
	}
	fb_diag_init(&d);
	memset(&rep, 0, sizeof(rep));
	e = fb_edit_open(q->w->config_path, &d);
	erc = e ? fb_edit_definition_add(e, id->valuestring, content->valuestring,
					 strlen(content->valuestring), cJSON_IsTrue(replace),
					 &path, &rep, &d)
		: FB_EDIT_FAILED;
	fb_log(erc == FB_EDIT_OK ? FB_LOG_NOTICE : FB_LOG_WARNING,
	       "web: %s from %s %s definition %s: %s", q->session->user, q->peer,
	       cJSON_IsTrue(replace) ? "replaced" : "added", id->valuestring,
	       erc == FB_EDIT_OK ? "done" : "refused");
	if (erc != FB_EDIT_OK) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "error", erc == FB_EDIT_CONFLICT
					? "a definition of this id exists already"
					: "the definition was not added");
		cJSON_AddItemToObject(doc, "vectors", report_json(&rep));
		cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
		rc = web_http_json(q, web_http_edit_status(erc), doc);
	} else {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "id", id->valuestring);
		cJSON_AddStringToObject(doc, "path", path);
		cJSON_AddItemToObject(doc, "vectors", report_json(&rep));
		cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
		rc = web_http_json(q, MHD_HTTP_CREATED, doc);
	}
	free(path);
	cJSON_Delete(body);
	fb_edit_close(e);
	fb_diag_free(&d);
	return rc;
}

int web_api_lists(struct web_req *q, const struct web_match *m)
{
	if (m->route == WEB_R_DEFINITIONS && !strcmp(q->method, "POST"))
		return definition_add(q);
	if (strcmp(q->method, "GET"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	switch (m->route) {
	case WEB_R_DEFINITIONS:
		return definitions(q);
	case WEB_R_GPIO_CHIPS:
		return gpio_chips(q);
	default:
		return serial_ports(q);
	}
}
