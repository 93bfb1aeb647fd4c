/* SPDX-License-Identifier: Apache-2.0 */
/* What is written but not yet running, and making it run: GET changes (the
 * diff `fieldbridgectl config diff` prints, per daemon, with the action
 * applying takes), POST apply {dry_run} (the plan, or running it in a
 * child, apply_run.c: a snapshot first, then restarts and reloads; the
 * request waits, the loop does not), GET apply (its stages meanwhile),
 * GET snapshots and POST snapshots/{id}/restore.  All through
 * fb_config_edit.  Not being root, the daemon applies and restores through
 * a request file when --apply-request is given (fieldbridge-apply.path
 * runs `fieldbridgectl config apply --request` as root) and GET
 * apply/result shows its output.  A web listener change is applied by this
 * daemon itself (listener.c) and confirmed by the apply's id. */
#include "web-internal.h"
#include "config_edit.h"
#include "jsonfile.h"
#include "log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int plan_or_error(struct web_req *q, struct fb_apply_plan **p, struct fb_diag *d)
{
	enum fb_edit_rc rc = fb_apply_plan_make(q->w->config_path, p, d);

	if (rc == FB_EDIT_OK)
		return -1;
	return web_http_diag(q, web_http_edit_status(rc), rc == FB_EDIT_INVALID
			     ? "the configuration has errors: no daemon could start on it"
			     : "cannot compare with the running daemons", d);
}

/* The web daemon's own listener is not in the daemons' plan: it applies a
 * change itself (listener.c).  Adds it to doc if the files differ from the
 * running listener; returns the files' config (caller frees) then, else
 * NULL. */
static struct fb_config *listener_change(struct web *w, cJSON *doc, bool results)
{
	struct fb_diag d;
	struct fb_config *files;
	cJSON *fields, *o, *units;

	if (w->listen_state != WEB_LISTEN_IDLE) {
		o = cJSON_AddObjectToObject(doc, "listener");
		cJSON_AddBoolToObject(o, "pending", true);
		cJSON_AddStringToObject(o, "id", w->listen_id);
		cJSON_AddNumberToObject(o, "seconds_left", w->listen_state == WEB_LISTEN_PENDING
					? (double)((w->listen_at_ms - fb_mono_ms() + 999) / 1000)
					: (double)w->confirm_timeout_s);
		cJSON_AddNumberToObject(o, "port", w->listen_next->web.port);
		return NULL;
	}
	fb_diag_init(&d);
	files = fb_config_load(w->config_path, &d);
	fb_diag_free(&d);
	fields = files ? web_listen_conf_diff(w->listen, &files->web) : NULL;
	if (!fields || !cJSON_GetArraySize(fields)) {
		cJSON_Delete(fields);
		fb_config_free(files);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "op", "restart");
	cJSON_AddStringToObject(o, "kind", "web");
	cJSON_AddStringToObject(o, "name", "web");
	cJSON_AddStringToObject(o, "unit", "fieldbridge-web.service");
	cJSON_AddBoolToObject(o, "running", true);
	cJSON_AddStringToObject(o, "reason", "the web listener changed: it switches itself and "
				"rolls back unless confirmed from the new address");
	cJSON_AddNumberToObject(o, "confirm_timeout_s", w->confirm_timeout_s);
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "count"),
			     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "count")) +
			     cJSON_GetArraySize(fields));
	cJSON_AddItemToObject(o, "fields", fields);
	if (results)
		cJSON_AddBoolToObject(o, "done", false);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(doc, "changes"), o);
	units = cJSON_GetObjectItemCaseSensitive(doc, "restart");
	cJSON_AddItemToArray(units, cJSON_CreateString("fieldbridge-web.service"));
	return files;
}

/* A listener change in the plan just applied: switched by the loop once
 * this answer is out (listener.c); a rollback restores the main file and
 * the snapshot from before the apply, and applies again.  Without one,
 * the files are what runs now: the next rollback's main file. */
static void arm_listener(struct web *w, const struct web_apply_job *j, cJSON *doc)
{
	struct fb_config *listener = listener_change(w, doc, true);
	cJSON *c;

	if (!listener) {
		if (w->listen_state == WEB_LISTEN_IDLE)
			web_apply_main_reload(w);
		return;
	}
	w->listen_next = listener;
	w->listen_state = WEB_LISTEN_SWITCH;
	w->listen_at_ms = fb_mono_ms() + 300;
	w->listen_before = j->before;
	snprintf(w->listen_by, sizeof(w->listen_by), "%s", j->by);
	snprintf(w->listen_user, sizeof(w->listen_user), "%s", j->user);
	snprintf(w->listen_id, sizeof(w->listen_id), "%s", j->id);
	c = cJSON_AddObjectToObject(doc, "confirm");
	cJSON_AddStringToObject(c, "id", j->id);
	cJSON_AddStringToObject(c, "path", "api/v1/apply/{id}/confirm");
	cJSON_AddNumberToObject(c, "timeout_s", w->confirm_timeout_s);
	cJSON_AddNumberToObject(c, "port", listener->web.port);
	cJSON_AddBoolToObject(c, "tls", listener->web.tls != FB_WEB_TLS_OFF);
}

static int changes(struct web_req *q)
{
	struct fb_apply_plan *p = NULL;
	struct fb_diag d;
	int rc;

	fb_diag_init(&d);
	rc = plan_or_error(q, &p, &d);
	if (rc < 0) {
		cJSON *doc = web_apply_plan_json(p, false);

		fb_config_free(listener_change(q->w, doc, false));
		rc = web_http_json(q, MHD_HTTP_OK, doc);
	}
	fb_apply_plan_free(p);
	fb_diag_free(&d);
	return rc;
}

static char *result_path(const char *request)
{
	const char *slash = strrchr(request, '/');
	char *out = NULL;

	if (asprintf(&out, "%.*sapply.result", slash ? (int)(slash - request + 1) : 0,
		     request) < 0)
		return NULL;
	return out;
}

/* The root service's output once it is newer than our last request and
 * complete (systemd truncates the file when the service starts); NULL
 * before.  Caller frees. */
static cJSON *request_result(const struct web *w)
{
	char *path = w->apply_request ? result_path(w->apply_request) : NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	cJSON *res = NULL;

	if (path && stat(path, &st) == 0 && st.st_size > 0 &&
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec >= w->apply_requested_ns &&
	    (text = fb_read_file(path, &len))) {
		res = cJSON_ParseWithLength(text, len);
		if (!res) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "error", "the apply service's output is not "
						"JSON (see journalctl -u fieldbridge-apply)");
		}
	}
	free(text);
	free(path);
	return res;
}

/* A request the root service has not answered yet, and not so old that
 * it never will (the service is not there). */
#define REQUEST_STALE_MS (15 * 60 * 1000)
static bool request_waits(const struct web *w)
{
	cJSON *res;

	if (!w->apply_requested_ns || fb_mono_ms() - w->apply_requested_mono > REQUEST_STALE_MS)
		return false;
	res = request_result(w);
	cJSON_Delete(res);
	return res == NULL;
}

/* Why no apply or restore may start now, as a 409; or 0. */
static int busy(struct web_req *q)
{
	struct web *w = q->w;

	if (w->listen_state != WEB_LISTEN_IDLE)
		return web_http_error(q, MHD_HTTP_CONFLICT, "a listener change (apply %s) waits "
				      "for confirmation from the new address", w->listen_id);
	if (w->apply.running)
		return web_http_error(q, MHD_HTTP_CONFLICT, "an apply is running (id %s, by %s): "
				      "GET apply shows its stages", w->apply.id, w->apply.by);
	if (w->apply_request && request_waits(w))
		return web_http_error(q, MHD_HTTP_CONFLICT, "an earlier request waits for "
				      "fieldbridge-apply.service: GET apply/result shows when it "
				      "is done");
	return 0;
}

/* Asks the root service (fieldbridge-apply.path) for r; 202. */
static int request(struct web_req *q, struct fb_apply_request *r, cJSON *doc)
{
	snprintf(r->user, sizeof(r->user), "%.63s", q->session->user);
	if (web_apply_request(q->w, r, q->peer) < 0) {
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot ask for the "
				      "apply (%s): see the journal", q->w->apply_request);
	}
	q->w->apply_requested_mono = fb_mono_ms();
	cJSON_AddBoolToObject(doc, "requested", true);
	cJSON_AddStringToObject(doc, "result", "api/v1/apply/result");
	return web_http_json(q, MHD_HTTP_ACCEPTED, doc);
}

/* GET apply/result: fieldbridgectl's JSON once it ran after our request. */
static int apply_result(struct web_req *q)
{
	cJSON *doc, *res;

	if (!q->w->apply_requested_ns)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no apply was requested");
	doc = cJSON_CreateObject();
	res = request_result(q->w);
	cJSON_AddBoolToObject(doc, "done", res != NULL);
	if (res && cJSON_GetObjectItemCaseSensitive(res, "error") &&
	    !cJSON_GetObjectItemCaseSensitive(res, "fieldbridgectl")) {
		cJSON_AddItemToObject(doc, "error", cJSON_DetachItemFromObjectCaseSensitive(res,
										    "error"));
		cJSON_Delete(res);
	} else if (res) {
		cJSON_AddItemToObject(doc, "result", res);
	}
	return web_http_json(q, MHD_HTTP_OK, doc);
}

/* The newest snapshot now (0: none): what a rollback of this apply goes
 * back to. */
static unsigned newest_snapshot(const struct web *w)
{
	struct fb_diag d;
	struct fb_edit *e;
	struct fb_snapshot *list = NULL;
	size_t n = 0;
	unsigned id = 0;

	fb_diag_init(&d);
	e = fb_edit_open(w->config_path, &d);
	if (e && fb_snapshot_list(e, &list, &n, &d) == FB_EDIT_OK && n)
		id = list[n - 1].id;
	free(list);
	fb_edit_close(e);
	fb_diag_free(&d);
	return id;
}

static void apply_done(struct web_child *c)
{
	struct web *w = c->ctx;
	struct web_req *q = c->req;
	struct web_apply_job *j = &w->apply;
	unsigned status;
	cJSON *doc = web_apply_result(c, &status);
	const cJSON *applied = cJSON_GetObjectItemCaseSensitive(doc, "applied");

	fb_log(FB_LOG_NOTICE, "web: %s applied the configuration (apply %s, snapshot %.0f): %s",
	       j->by, j->id, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc,
	       "snapshot")) > 0 ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc,
	       "snapshot")) : 0.0, cJSON_IsTrue(applied) ? "done" : cJSON_IsBool(applied)
	       ? "partly (hand-started daemons)" : "failed");
	if (status == MHD_HTTP_OK) {
		cJSON_AddStringToObject(doc, "id", j->id);
		arm_listener(w, j, doc);
	}
	web_apply_job_end(w);
	if (q)
		web_http_answer_later(q, status, doc);
	else
		cJSON_Delete(doc);
}

/* Fills in w->apply for the request's user and starts it; the request
 * waits for apply_done. */
static int start_job(struct web_req *q, struct fb_apply_plan *p, unsigned restore)
{
	struct web *w = q->w;
	struct web_apply_job *j = &w->apply;
	int rc;

	memset(j, 0, sizeof(*j));
	if (web_session_random_hex(j->id, WEB_JOB_ID_BYTES) < 0) {
		fb_apply_plan_free(p);
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "no random bytes for the "
				      "apply's id");
	}
	snprintf(j->user, sizeof(j->user), "%s", q->session->user);
	snprintf(j->by, sizeof(j->by), "%s from %s", q->session->user, q->peer);
	j->plan = p;
	j->restore = restore;
	j->before = newest_snapshot(w);
	rc = web_apply_start(w, apply_done);
	if (rc) {
		web_apply_job_end(w);
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot start the apply: %s",
				      strerror(rc));
	}
	fb_log(FB_LOG_NOTICE, "web: %s started apply %s%s", j->by, j->id,
	       restore ? " after restoring a snapshot" : "");
	q->child = web_child_find(w->children, WEB_APPLY_KEY);
	q->child->req = q;
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

/* GET apply: the apply running now, stage by stage. */
static int apply_status(struct web_req *q)
{
	struct web *w = q->w;
	struct web_child *c = w->apply.running ? web_child_find(w->children, WEB_APPLY_KEY) : NULL;
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddBoolToObject(doc, "running", c != NULL);
	if (c) {
		cJSON_AddStringToObject(doc, "id", w->apply.id);
		cJSON_AddStringToObject(doc, "by", w->apply.by);
		cJSON_AddItemToObject(doc, "stages", web_apply_progress(c));
	}
	if (w->apply_request)
		cJSON_AddBoolToObject(doc, "requested", request_waits(w));
	return web_http_json(q, MHD_HTTP_OK, doc);
}

static int apply(struct web_req *q)
{
	struct fb_apply_plan *p = NULL;
	struct fb_diag d;
	cJSON *body, *doc;
	bool dry;
	int rc;

	if (!(body = web_http_body(q, &rc)))
		return rc;
	dry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "dry_run"));
	cJSON_Delete(body);
	if (!dry && (rc = busy(q)) != 0)
		return rc;
	fb_diag_init(&d);
	rc = plan_or_error(q, &p, &d);
	fb_diag_free(&d);
	if (rc >= 0)
		return rc;
	if (dry) {
		doc = web_apply_plan_json(p, false);
		fb_config_free(listener_change(q->w, doc, false));
		fb_apply_plan_free(p);
		return web_http_json(q, MHD_HTTP_OK, doc);
	}
	if (q->w->apply_request) {
		struct web_apply_job j = { 0 };

		doc = web_apply_plan_json(p, false);
		fb_apply_plan_free(p);
		snprintf(j.by, sizeof(j.by), "%s from %s", q->session->user, q->peer);
		snprintf(j.user, sizeof(j.user), "%s", q->session->user);
		j.before = newest_snapshot(q->w);
		if (web_session_random_hex(j.id, WEB_JOB_ID_BYTES) < 0)
			snprintf(j.id, sizeof(j.id), "0");
		cJSON_AddStringToObject(doc, "id", j.id);
		arm_listener(q->w, &j, doc);
		return request(q, &(struct fb_apply_request){ .action = FB_REQUEST_APPLY }, doc);
	}
	return start_job(q, p, 0);
}

static int snapshots(struct web_req *q)
{
	struct fb_edit *e;
	struct fb_snapshot *list = NULL;
	struct fb_diag d;
	enum fb_edit_rc erc;
	size_t n = 0;
	cJSON *doc, *arr;
	int rc;

	fb_diag_init(&d);
	e = fb_edit_open(q->w->config_path, &d);
	erc = e ? fb_snapshot_list(e, &list, &n, &d) : FB_EDIT_FAILED;
	if (erc != FB_EDIT_OK) {
		rc = web_http_diag(q, web_http_edit_status(erc), "cannot list the snapshots", &d);
	} else {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "snapshots");
		for (size_t i = n; i-- > 0;) { /* newest first */
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "id", list[i].id);
			cJSON_AddNumberToObject(o, "time", (double)list[i].time);
			cJSON_AddStringToObject(o, "user", list[i].user);
			cJSON_AddNumberToObject(o, "files", (double)list[i].nfiles);
			cJSON_AddItemToArray(arr, o);
		}
		rc = web_http_json(q, MHD_HTTP_OK, doc);
	}
	free(list);
	fb_edit_close(e);
	fb_diag_free(&d);
	return rc;
}


/* POST snapshots/{id}/restore {apply}: the files go back to snapshot id;
 * with apply, applied at once (in a child, as POST apply).  Through the
 * root service with --apply-request: root's snapshots are private to it. */
static int restore(struct web_req *q, const char *id_text)
{
	struct fb_edit *e;
	struct fb_diag d;
	enum fb_edit_rc erc;
	unsigned restored = 0;
	char *end;
	unsigned long id = strtoul(id_text, &end, 10);
	cJSON *doc, *body;
	bool and_apply;
	int rc;

	if (*end || end == id_text || id == 0 || id > 0xffffffffUL)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no snapshot \"%s\"", id_text);
	if (!(body = web_http_body(q, &rc)))
		return rc;
	and_apply = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "apply"));
	cJSON_Delete(body);
	if ((rc = busy(q)) != 0)
		return rc;
	if (q->w->apply_request) {
		doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "snapshot", (double)id);
		return request(q, &(struct fb_apply_request){ .action = and_apply ?
			       FB_REQUEST_ROLLBACK : FB_REQUEST_RESTORE, .snapshot = (unsigned)id },
			       doc);
	}
	if (and_apply)
		return start_job(q, NULL, (unsigned)id);
	fb_diag_init(&d);
	e = fb_edit_open(q->w->config_path, &d);
	erc = e ? fb_snapshot_restore(e, (unsigned)id, &restored, &d) : FB_EDIT_FAILED;
	if (erc != FB_EDIT_OK) {
		rc = web_http_diag(q, web_http_edit_status(erc), "not restored", &d);
	} else {
		fb_log(FB_LOG_NOTICE, "web: %s from %s restored snapshot %u (not applied yet)",
		       q->session->user, q->peer, restored);
		doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "restored", restored);
		rc = web_http_json(q, MHD_HTTP_OK, doc);
	}
	fb_edit_close(e);
	fb_diag_free(&d);
	return rc;
}

/* POST apply/{id}/confirm: only the new listener is open, so this request
 * came through it; the id says which apply it confirms. */
static int confirm(struct web_req *q, const char *id)
{
	struct web *w = q->w;

	if (w->listen_state != WEB_LISTEN_PENDING)
		return web_http_error(q, MHD_HTTP_CONFLICT, "no listener change waits for "
				      "confirmation");
	if (!web_session_token_equal(id, w->listen_id)) {
		fb_warn("web: %s from %s: confirm of apply \"%s\" refused: the change waiting is "
			"another one", q->session->user, q->peer, id);
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "apply %s does not wait for "
				      "confirmation (GET changes names the one that does)", id);
	}
	w->listen_confirmed = true;
	fb_log(FB_LOG_NOTICE, "web: %s from %s confirmed the listener change (apply %s)",
	       q->session->user, q->peer, id);
	return web_http_json(q, MHD_HTTP_OK, cJSON_CreateObject());
}

int web_api_apply(struct web_req *q, const struct web_match *m)
{
	bool get = !strcmp(q->method, "GET");

	if (m->route == WEB_R_CHANGES)
		return get ? changes(q) : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (q->session->role != WEB_ROLE_ADMIN)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "only an admin may apply or "
				      "restore the configuration");
	switch (m->route) {
	case WEB_R_APPLY:
		return get ? apply_status(q) : apply(q);
	case WEB_R_APPLY_CONFIRM:
		return get ? web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST")
			   : confirm(q, m->arg[0]);
	case WEB_R_APPLY_RESULT:
		return get ? apply_result(q) : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED,
							      "use GET");
	case WEB_R_SNAPSHOTS:
		return get ? snapshots(q) : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED,
							   "use GET");
	default:
		return get ? web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST")
			   : restore(q, m->arg[0]);
	}
}
