/* SPDX-License-Identifier: Apache-2.0 */
/* Responses: JSON bodies, errors with the loader's diagnostics, and the
 * security headers every response carries. */
#include "web-internal.h"
#include "config_edit.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_MAX 32

void web_http_headers(struct MHD_Response *r, bool api)
{
	/* No inline script or style anywhere: the pages are modules and
	 * stylesheets from this origin only. */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self'; "
				"img-src 'self' data:; connect-src 'self'; object-src 'none'; "
				"base-uri 'self'; form-action 'self'; frame-ancestors 'self'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "SAMEORIGIN");
	MHD_add_response_header(r, "Cache-Control", api ? "no-store" : "no-cache");
}

int web_http_json(struct web_req *q, unsigned status, cJSON *doc)
{
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	struct MHD_Response *r;
	int rc;

	cJSON_Delete(doc);
	if (status == MHD_HTTP_NO_CONTENT) {
		free(text);
		text = NULL;
	}
	r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
					    text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	web_http_headers(r, true);
	if (text)
		MHD_add_response_header(r, "Content-Type", "application/json");
	if (q->set_cookie[0])
		MHD_add_response_header(r, "Set-Cookie", q->set_cookie);
	if (q->etag[0])
		MHD_add_response_header(r, "ETag", q->etag);
	if (q->disposition[0])
		MHD_add_response_header(r, "Content-Disposition", q->disposition);
	rc = MHD_queue_response(q->conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

int web_http_error(struct web_req *q, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *doc = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(doc, "error", msg);
	return web_http_json(q, status, doc);
}

cJSON *web_http_diag_json(const struct fb_diag *d)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; d && i < d->count; i++) {
		const struct fb_diag_entry *e = &d->entries[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "severity", e->severity == FB_SEV_ERROR ? "error"
										: "warning");
		cJSON_AddStringToObject(o, "message", e->message);
		/* Where the loader says it is, so a form shows it at the field. */
		if (e->file)
			cJSON_AddStringToObject(o, "file", e->file);
		if (e->path)
			cJSON_AddStringToObject(o, "path", e->path);
		if (e->field)
			cJSON_AddStringToObject(o, "field", e->field);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int web_http_diag(struct web_req *q, unsigned status, const char *error,
		  const struct fb_diag *d)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "error", error);
	cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(d));
	return web_http_json(q, status, doc);
}

const char *web_http_header(struct web_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

static int depth(const cJSON *j)
{
	int max = 0;

	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		int d = depth(c);

		if (d > max)
			max = d;
		if (max >= JSON_DEPTH_MAX)
			break;
	}
	return max + 1;
}

cJSON *web_http_body(struct web_req *q, int *rc)
{
	cJSON *doc = NULL;

	if (q->body_len)
		doc = cJSON_ParseWithLength(q->body, q->body_len);
	else
		doc = cJSON_CreateObject();
	if (!cJSON_IsObject(doc) || depth(doc) > JSON_DEPTH_MAX) {
		cJSON_Delete(doc);
		*rc = web_http_error(q, MHD_HTTP_BAD_REQUEST, "expected a JSON object");
		return NULL;
	}
	return doc;
}

unsigned web_http_edit_status(int edit_rc)
{
	switch ((enum fb_edit_rc)edit_rc) {
	case FB_EDIT_OK: return MHD_HTTP_OK;
	case FB_EDIT_USAGE: return MHD_HTTP_BAD_REQUEST;
	case FB_EDIT_INVALID: return MHD_HTTP_UNPROCESSABLE_CONTENT;
	case FB_EDIT_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case FB_EDIT_CONFLICT: return MHD_HTTP_CONFLICT;
	case FB_EDIT_DENIED:
	case FB_EDIT_FAILED:
	default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

void web_http_resume(struct web *w, struct MHD_Connection *conn)
{
	w->resumed = true;
	MHD_resume_connection(conn);
}

void web_http_answer_later(struct web_req *q, unsigned status, cJSON *doc)
{
	q->pending_doc = doc;
	q->pending_status = status;
	q->child = NULL;
	if (q->suspended) {
		q->suspended = false;
		web_http_resume(q->w, q->conn);
	}
}
