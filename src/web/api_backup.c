/* SPDX-License-Identifier: Apache-2.0 */
/* GET backup?secrets=0|1 (the configuration as one JSON bundle, a
 * download; secrets only when asked for) and POST restore (the bundle
 * back, validated, written but not applied: GET changes shows what apply
 * will do).  Admin only; both logged with user and address.  The bundle
 * is fb_edit_backup's (config_edit.h). */
#include "web-internal.h"
#include "config_edit.h"
#include "log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int backup(struct web_req *q)
{
	const char *s = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "secrets");
	bool secrets = s && !strcmp(s, "1");
	struct fb_diag d;
	struct fb_edit *e;
	cJSON *doc;
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (s && strcmp(s, "0") && strcmp(s, "1"))
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "secrets: expected 0 or 1");
	fb_diag_init(&d);
	e = fb_edit_open(q->w->config_path, &d);
	doc = e ? fb_edit_backup(e, secrets, &d) : NULL;
	fb_edit_close(e);
	if (!doc) {
		rc = web_http_diag(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "no backup", &d);
		fb_diag_free(&d);
		return rc;
	}
	fb_log(FB_LOG_NOTICE, "web: %s from %s downloaded a backup (%s)", q->session->user,
	       q->peer, secrets ? "with secrets" : "secrets left out");
	cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
	fb_diag_free(&d);
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	snprintf(q->disposition, sizeof(q->disposition),
		 "attachment; filename=\"fieldbridge-%.40s-%s.json\"", q->w->cfg->gateway_id, day);
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static int restore(struct web_req *q)
{
	struct fb_diag d;
	struct fb_edit *e;
	enum fb_edit_rc erc;
	size_t written = 0, removed = 0;
	cJSON *body, *doc;
	int rc;

	if (!(body = web_http_body(q, &rc)))
		return rc;
	fb_diag_init(&d);
	e = fb_edit_open(q->w->config_path, &d);
	erc = e ? fb_edit_restore(e, body, &written, &removed, &d) : FB_EDIT_FAILED;
	fb_edit_close(e);
	cJSON_Delete(body);
	fb_log(erc == FB_EDIT_OK ? FB_LOG_NOTICE : FB_LOG_WARNING,
	       "web: %s from %s restored a backup: %s", q->session->user, q->peer,
	       erc == FB_EDIT_OK ? "written, not applied yet" : "refused");
	if (erc != FB_EDIT_OK) {
		rc = web_http_diag(q, web_http_edit_status(erc), "not restored", &d);
	} else {
		doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "written", (double)written);
		cJSON_AddNumberToObject(doc, "removed", (double)removed);
		cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
		rc = web_http_json(q, MHD_HTTP_OK, doc);
	}
	fb_diag_free(&d);
	return rc;
}

int web_api_backup(struct web_req *q, const struct web_match *m)
{
	bool get = !strcmp(q->method, "GET");

	if (q->session->role != WEB_ROLE_ADMIN)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "only an admin may back up or "
				      "restore the configuration");
	if (m->route == WEB_R_BACKUP)
		return get ? backup(q) : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	return strcmp(q->method, "POST") ? web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED,
							  "use POST")
					 : restore(q);
}
