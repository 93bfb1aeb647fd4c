/* SPDX-License-Identifier: Apache-2.0 */
/* POST buses/{bus}/scan {"ids": "1-30", "first": false, "fc04": false}:
 * runs `fieldbridgectl --json bus scan BUS` as a child (child.c), which
 * queues the scan to the bus's running driver and collects its results
 * (docs/bus-scan.md), and answers its document {ok, status, devices[],
 * summary}.  The request is suspended meanwhile; the loop keeps serving.
 * A scan pauses the bus's polling, so it needs the operator role.
 * GET buses/{bus}/scan: while it runs, what it reported so far (the child's
 * --progress-lines): {running, progress: last line, found: ["unit=..."]}. */
#include "web-internal.h"
#include "log.h"
#include "self_path.h"

#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_BIN "fieldbridgectl"
#define SCAN_TIMEOUT_S 340 /* the driver's deadline (300 s) plus margin */

/* FB_CTL_BIN, else beside our own executable (installed), else where the
 * build tree puts it (src/web/ -> src/ctl/), else PATH. */
static void ctl_path(char *out, size_t len)
{
	fb_program_path("FB_CTL_BIN", CTL_BIN, "../ctl/" CTL_BIN, out, len);
}

#define PROGRESS_KEY "{\"progress\":"

/* The child's stdout is progress lines, then the document. */
static const char *doc_start(const char *out)
{
	while (!strncmp(out, PROGRESS_KEY, strlen(PROGRESS_KEY))) {
		const char *nl = strchr(out, '\n');

		if (!nl)
			return out + strlen(out);
		out = nl + 1;
	}
	return out;
}

static int progress(struct web_req *q, const char *key)
{
	struct web_child *c = web_child_find(q->w->children, key);
	cJSON *doc = cJSON_CreateObject(), *found = cJSON_CreateArray();
	const char *s = c && c->out ? c->out : "", *end = doc_start(s);
	char last[FB_TABLE_REASON_MAX] = "";

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char line[FB_TABLE_REASON_MAX * 2 + 32];
		cJSON *o, *p;

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 s);
		o = cJSON_Parse(line);
		p = cJSON_GetObjectItemCaseSensitive(o, "progress");
		if (cJSON_IsString(p) && !strncmp(p->valuestring, "found ", 6))
			cJSON_AddItemToArray(found, cJSON_CreateString(p->valuestring + 6));
		else if (cJSON_IsString(p) && strncmp(p->valuestring, "candidate ", 10))
			snprintf(last, sizeof(last), "%s", p->valuestring);
		cJSON_Delete(o);
		s += n + 1;
	}
	cJSON_AddBoolToObject(doc, "running", c != NULL && !c->exited);
	cJSON_AddStringToObject(doc, "progress", last);
	cJSON_AddItemToObject(doc, "found", found);
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static void done(struct web_child *c)
{
	struct web_req *q = c->req;
	cJSON *doc = NULL, *ok, *err;
	char msg[256];

	if (!c->timed_out && !c->overflow && c->out)
		doc = cJSON_Parse(doc_start(c->out));
	ok = doc ? cJSON_GetObjectItemCaseSensitive(doc, "ok") : NULL;
	fb_log(FB_LOG_NOTICE, "web: scan of bus %s: %s", c->what,
	       c->timed_out ? "no result in time, stopped" : cJSON_IsTrue(ok) ? "done" :
	       "failed");
	if (!q) {
		cJSON_Delete(doc);
		return;
	}
	if (cJSON_IsObject(doc) && cJSON_IsBool(ok)) {
		web_http_answer_later(q, cJSON_IsTrue(ok) ? MHD_HTTP_OK : MHD_HTTP_BAD_GATEWAY, doc);
		return;
	}
	cJSON_Delete(doc);
	snprintf(msg, sizeof(msg), c->timed_out ? "the scan of bus %s did not finish in time"
		 : CTL_BIN " bus scan %s gave no result (exit status %d)", c->what,
		 c->exit_code);
	err = cJSON_CreateObject();
	cJSON_AddStringToObject(err, "error", msg);
	web_http_answer_later(q, c->timed_out ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_BAD_GATEWAY, err);
}

int web_api_scan(struct web_req *q, const struct web_match *m)
{
	struct web *w = q->w;
	const char *bus = m->arg[0];
	char key[sizeof(((struct web_child *)0)->key)], prog[PATH_MAX], ids[32] = "";
	char *argv[14];
	const cJSON *j;
	struct web_child *c;
	cJSON *body = NULL;
	int n = 0, rc;

	snprintf(key, sizeof(key), "scan:%s", bus);
	if (!strcmp(q->method, "GET"))
		return fb_config_bus(w->cfg, bus) ? progress(q, key) :
		       web_http_error(q, MHD_HTTP_NOT_FOUND, "no bus %s", bus);
	if (strcmp(q->method, "POST"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");
	if (q->session->role < WEB_ROLE_OPERATOR)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "a scan pauses the bus's polling: "
				      "it needs the operator or admin role");
	if (bus[0] == '-' || !fb_config_bus(w->cfg, bus))
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no bus %s", bus);
	if (web_child_find(w->children, key))
		return web_http_error(q, MHD_HTTP_CONFLICT, "a scan of bus %s is already running",
				      bus);
	argv[n++] = (char *)CTL_BIN;
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)w->config_path;
	argv[n++] = (char *)"--json";
	argv[n++] = (char *)"bus";
	argv[n++] = (char *)"scan";
	argv[n++] = (char *)bus;
	argv[n++] = (char *)"--progress-lines";
	if (q->body_len && !(body = web_http_body(q, &rc)))
		return rc;
	j = body ? cJSON_GetObjectItemCaseSensitive(body, "ids") : NULL;
	if (cJSON_IsString(j)) {
		/* Checked here as the driver would: digits, ',' and '-' only. */
		if (strlen(j->valuestring) >= sizeof(ids) ||
		    strspn(j->valuestring, "0123456789,-") != strlen(j->valuestring) ||
		    !j->valuestring[0]) {
			cJSON_Delete(body);
			return web_http_error(q, MHD_HTTP_BAD_REQUEST, "ids: expected a list such "
					      "as 1-247 or 3,17,100-110");
		}
		snprintf(ids, sizeof(ids), "%s", j->valuestring);
		argv[n++] = (char *)"--ids";
		argv[n++] = ids;
	}
	if (body && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "first")))
		argv[n++] = (char *)"--first";
	if (body && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "fc04")))
		argv[n++] = (char *)"--fc04";
	argv[n] = NULL;
	cJSON_Delete(body);
	ctl_path(prog, sizeof(prog));
	rc = web_child_spawn(w->children, key, prog, argv, (int64_t)SCAN_TIMEOUT_S * 1000, &c);
	if (rc) {
		fb_warn("web: %s from %s: scan of bus %s: cannot run %s: %s", q->session->user,
			q->peer, bus, prog, strerror(rc));
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot run %s: %s",
				      CTL_BIN, strerror(rc));
	}
	fb_log(FB_LOG_NOTICE, "web: %s from %s: scan of bus %s", q->session->user, q->peer, bus);
	snprintf(c->what, sizeof(c->what), "%s", bus);
	c->timeout_s = SCAN_TIMEOUT_S;
	c->done = done;
	c->req = q;
	q->child = c;
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}
