/* SPDX-License-Identifier: Apache-2.0 */
/* GET buses/{b}/devices/{d}/discovery: the MQTT topics and the discovery
 * payload of one device, per export connection, built by the exporter's
 * own code (exporter.h, ex_preview_device) from the files as they are now,
 * so the page shows the bytes the broker gets.  A payload names every
 * point its connection's user may see: only an admin, or a user who may
 * read every point of the device, sees it. */
#include "web-internal.h"
#include "exporter.h"

#include <microhttpd.h>
#include <string.h>

static bool may_see_all(const struct web_req *q, const struct fb_device_conf *dc)
{
	if (q->session->role == WEB_ROLE_ADMIN)
		return true;
	for (size_t p = 0; dc->def && p < dc->def->npoints; p++)
		if (web_auth_access(&q->w->auth, q->session->user, dc->id,
				    dc->def->points[p].key) < FB_ACCESS_READ)
			return false;
	return dc->def != NULL;
}

int web_api_discovery(struct web_req *q, const struct web_match *m)
{
	struct fb_diag d;
	struct fb_config *cfg;
	struct fb_bus_conf *bus;
	const struct fb_device_conf *dc = NULL;
	cJSON *doc, *arr;
	int rc;

	if (strcmp(q->method, "GET"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	fb_diag_init(&d);
	cfg = fb_config_load(q->w->config_path, &d);
	if (!cfg) {
		rc = web_http_diag(q, MHD_HTTP_CONFLICT, "the configuration has errors: "
				   "no exporter could start on it", &d);
		fb_diag_free(&d);
		return rc;
	}
	fb_config_load_definitions(cfg, NULL, &d);
	bus = fb_config_bus(cfg, m->arg[0]);
	for (size_t i = 0; bus && i < bus->ndevices; i++)
		if (!strcmp(bus->devices[i].id, m->arg[1]))
			dc = &bus->devices[i];
	if (!dc) {
		rc = web_http_error(q, MHD_HTTP_NOT_FOUND, "no device \"%s\" on bus \"%s\"",
				    m->arg[1], m->arg[0]);
	} else if (!may_see_all(q, dc)) {
		rc = web_http_error(q, MHD_HTTP_FORBIDDEN, "the discovery payload names points "
				    "outside your rights");
	} else {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "bus", bus->name);
		cJSON_AddStringToObject(doc, "device", dc->id);
		arr = cJSON_AddArrayToObject(doc, "connections");
		for (size_t c = 0; c < cfg->nconns; c++) {
			struct fb_diag ud;
			struct fb_users *users;
			cJSON *one;

			fb_diag_init(&ud);
			users = fb_config_load_users(cfg, &cfg->conns[c], &ud);
			if (cfg->users_file && !users) {
				/* The exporter starts nothing on such a file. */
				one = cJSON_CreateObject();
				cJSON_AddStringToObject(one, "connection", cfg->conns[c].name);
				cJSON_AddItemToObject(one, "diagnostics", web_http_diag_json(&ud));
			} else {
				one = ex_preview_device(cfg, &cfg->conns[c], users, dc->id);
				if (!one) { /* not exported: its user sees none of it */
					one = cJSON_CreateObject();
					cJSON_AddStringToObject(one, "connection",
								cfg->conns[c].name);
					cJSON_AddBoolToObject(one, "exported", false);
				}
			}
			cJSON_AddItemToArray(arr, one);
			fb_users_free(users);
			fb_diag_free(&ud);
		}
		rc = web_http_json(q, MHD_HTTP_OK, doc);
	}
	fb_config_free(cfg);
	fb_diag_free(&d);
	return rc;
}
