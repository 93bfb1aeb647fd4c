/* SPDX-License-Identifier: Apache-2.0 */
/* POST connections/{name}/test: runs `fieldbridge-export --test --json`
 * for that connection as a child (child.c) and answers its stages document
 * {connection, ok, stages:[{stage, ok, detail}]}.  The request is
 * suspended meanwhile; the loop keeps serving.  Secrets never go on the
 * command line: the exporter reads them from the configuration. */
#include "web-internal.h"
#include "log.h"
#include "self_path.h"

#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_BIN "fieldbridge-export"
#define TIMEOUT_BASE_S 30
#define TIMEOUT_DEFAULT_S 90

/* FB_EXPORT_BIN, else beside our own executable (installed), else where
 * the build tree puts it (src/web/ -> src/export/ha/), else PATH. */
static void exporter_path(char *out, size_t len)
{
	fb_program_path("FB_EXPORT_BIN", EXPORT_BIN, "../export/ha/" EXPORT_BIN, out, len);
}

static cJSON *error_doc(const char *fmt, const char *name, int n)
{
	char msg[256];
	cJSON *doc = cJSON_CreateObject();

	snprintf(msg, sizeof(msg), fmt, name, n);
	cJSON_AddStringToObject(doc, "error", msg);
	return doc;
}

static void done(struct web_child *c)
{
	struct web_req *q = c->req;
	cJSON *doc = NULL, *ok;

	if (!c->timed_out && !c->overflow && c->out)
		doc = cJSON_Parse(c->out);
	ok = doc ? cJSON_GetObjectItemCaseSensitive(doc, "ok") : NULL;
	if (c->timed_out)
		fb_warn("web: connection test of %s: no result within %d s: stopped", c->what,
			c->timeout_s);
	else
		fb_log(FB_LOG_NOTICE, "web: connection test of %s: %s", c->what,
		       cJSON_IsTrue(ok) ? "passed" : cJSON_IsBool(ok) ? "failed"
		       : "no result from " EXPORT_BIN);
	if (!q) {
		cJSON_Delete(doc);
		return;
	}
	if (c->timed_out) {
		web_http_answer_later(q, MHD_HTTP_GATEWAY_TIMEOUT,
		       error_doc("the test of connection %s did not finish within %d s",
				 c->what, c->timeout_s));
	} else if (!cJSON_IsObject(doc) || !cJSON_IsBool(ok) ||
		   !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "stages"))) {
		cJSON_Delete(doc);
		web_http_answer_later(q, MHD_HTTP_BAD_GATEWAY,
		       error_doc(EXPORT_BIN " --test --connection %s gave no result (exit "
				 "status %d)", c->what, c->exit_code));
	} else {
		web_http_answer_later(q, MHD_HTTP_OK, doc);
	}
}

int web_api_conntest(struct web_req *q, const struct web_match *m)
{
	struct web *w = q->w;
	const char *name = m->arg[0];
	const struct fb_conn_conf *cc = fb_config_conn(w->cfg, name);
	char key[sizeof(((struct web_child *)0)->key)], prog[PATH_MAX];
	char *argv[] = { (char *)EXPORT_BIN, (char *)"--test", (char *)"--json",
			 (char *)"--connection", (char *)name, (char *)"-c",
			 (char *)w->config_path, NULL };
	struct web_child *c;
	int timeout_s, rc;

	if (strcmp(q->method, "POST"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
	/* Testing changes nothing, but it does make the gateway connect out. */
	if (q->session->role < WEB_ROLE_OPERATOR)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "testing a connection needs the "
				      "operator or admin role");
	if (name[0] == '-')
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no connection %s", name);
	snprintf(key, sizeof(key), "test:%s", name);
	if (web_child_find(w->children, key))
		return web_http_error(q, MHD_HTTP_CONFLICT, "a test of connection %s is "
				      "already running", name);
	/* The connection may be newer than this daemon's copy of the config. */
	timeout_s = TIMEOUT_BASE_S + (cc && cc->timeout_s > 0 ? cc->timeout_s
						: TIMEOUT_DEFAULT_S);
	exporter_path(prog, sizeof(prog));
	rc = web_child_spawn(w->children, key, prog, argv, (int64_t)timeout_s * 1000, &c);
	if (rc) {
		fb_warn("web: %s from %s: connection test of %s: cannot run %s: %s",
			q->session->user, q->peer, name, prog, strerror(rc));
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot run %s: %s",
				      EXPORT_BIN, strerror(rc));
	}
	fb_log(FB_LOG_NOTICE, "web: %s from %s: connection test of %s", q->session->user,
	       q->peer, name);
	snprintf(c->what, sizeof(c->what), "%s", name);
	c->timeout_s = timeout_s;
	c->done = done;
	c->req = q;
	q->child = c;
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}
