/* SPDX-License-Identifier: Apache-2.0 */
/* What is written but not yet running, and making it run: GET changes (the
 * diff `fieldbridgectl config diff` prints, per daemon, with the action
 * applying takes), POST apply {dry_run} (the plan, or running it: a
 * snapshot first, then restarts and reloads), GET snapshots and POST
 * snapshots/{id}/restore.  All through fb_config_edit.  Not being root,
 * the daemon applies through a request file when --apply-request is given
 * (fieldbridge-apply.path runs `fieldbridgectl config apply` as root) and
 * GET apply/result shows its output.  A web listener change is applied by
 * this daemon itself (listener.c). */
#include "web-internal.h"
#include "config_edit.h"
#include "jsonfile.h"
#include "log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *field_json(const struct fb_apply_field *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "object", f->object);
	if (f->field)
		cJSON_AddStringToObject(o, "field", f->field);
	/* A secret has no before/after texts: only that it changed. */
	if (f->before)
		cJSON_AddStringToObject(o, "before", f->before);
	if (f->after)
		cJSON_AddStringToObject(o, "after", f->after);
	cJSON_AddBoolToObject(o, "secret", f->secret);
	return o;
}

static cJSON *plan_json(const struct fb_apply_plan *p, bool results)
{
	cJSON *doc = cJSON_CreateObject(), *changes = cJSON_AddArrayToObject(doc, "changes");
	cJSON *by_action[5] = { NULL };
	static const char *const keys[] = { NULL, "restart", "reload", "start", "stop" };

	cJSON_AddNumberToObject(doc, "count", (double)fb_apply_pending(p));
	cJSON_AddBoolToObject(doc, "systemd", p->systemd);
	for (int a = FB_APPLY_RESTART; a <= FB_APPLY_STOP; a++)
		by_action[a] = cJSON_AddArrayToObject(doc, keys[a]);
	for (size_t i = 0; i < p->n; i++) {
		const struct fb_apply_daemon *d = &p->d[i];
		cJSON *o, *fields;

		if (!d->nfields && d->action == FB_APPLY_NONE)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "op", d->action == FB_APPLY_NONE ? "change"
						 : fb_apply_action_name(d->action));
		cJSON_AddStringToObject(o, "kind", fb_edit_kind_name(d->kind));
		cJSON_AddStringToObject(o, "name", d->name);
		cJSON_AddStringToObject(o, "unit", d->unit);
		cJSON_AddBoolToObject(o, "running", d->running);
		if (d->reason)
			cJSON_AddStringToObject(o, "reason", d->reason);
		fields = cJSON_AddArrayToObject(o, "fields");
		for (size_t k = 0; k < d->nfields; k++)
			cJSON_AddItemToArray(fields, field_json(&d->fields[k]));
		if (results) {
			cJSON_AddBoolToObject(o, "done", d->done);
			if (d->result)
				cJSON_AddStringToObject(o, "result", d->result);
		}
		cJSON_AddItemToArray(changes, o);
		if (d->action != FB_APPLY_NONE)
			cJSON_AddItemToArray(by_action[d->action], cJSON_CreateString(d->unit));
	}
	return doc;
}

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
static struct fb_config *listener_change(struct web_req *q, cJSON *doc, bool results)
{
	struct web *w = q->w;
	struct fb_diag d;
	struct fb_config *files;
	cJSON *fields, *o, *units;

	if (w->listen_state != WEB_LISTEN_IDLE) {
		o = cJSON_AddObjectToObject(doc, "listener");
		cJSON_AddBoolToObject(o, "pending", true);
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

/* A listener change in the plan: switched by the loop once this answer
 * is out (listener.c). */
static void arm_listener(struct web_req *q, cJSON *doc)
{
	struct web *w = q->w;
	struct fb_config *listener = listener_change(q, doc, true);
	cJSON *c;

	if (!listener)
		return;
	w->listen_next = listener;
	w->listen_state = WEB_LISTEN_SWITCH;
	w->listen_at_ms = fb_mono_ms() + 300;
	snprintf(w->listen_by, sizeof(w->listen_by), "%s from %s", q->session->user, q->peer);
	c = cJSON_AddObjectToObject(doc, "confirm");
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
		cJSON *doc = plan_json(p, false);

		fb_config_free(listener_change(q, doc, false));
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

/* Asks the root service to apply (fieldbridge-apply.path).  Only the
 * request's existence matters to it; the content is for people. */
static int request_apply(struct web_req *q, cJSON *doc)
{
	struct web *w = q->w;
	struct timespec ts;
	cJSON *r = cJSON_CreateObject();
	char *text, tmp[4200];
	int fd, rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddStringToObject(r, "user", q->session->user);
	cJSON_AddStringToObject(r, "from", q->peer);
	cJSON_AddNumberToObject(r, "time", (double)ts.tv_sec);
	text = cJSON_Print(r);
	cJSON_Delete(r);
	snprintf(tmp, sizeof(tmp), "%s.tmp", w->apply_request);
	fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
	if (fd >= 0) {
		size_t len = strlen(text);

		rc = write(fd, text, len) == (ssize_t)len && close(fd) == 0 ? 0 : -1;
		if (rc < 0 && fd >= 0)
			close(fd);
		if (rc == 0)
			rc = rename(tmp, w->apply_request);
		if (rc < 0)
			unlink(tmp);
	}
	free(text);
	if (rc < 0) {
		fb_log_errno(FB_LOG_ERR, "web: cannot write the apply request %s",
			     w->apply_request);
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot ask for the "
				      "apply (%s): see the journal", w->apply_request);
	}
	w->apply_requested_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	fb_log(FB_LOG_NOTICE, "web: %s from %s asked to apply the configuration (%s)",
	       q->session->user, q->peer, w->apply_request);
	cJSON_AddBoolToObject(doc, "requested", true);
	cJSON_AddStringToObject(doc, "result", "api/v1/apply/result");
	return web_http_json(q, MHD_HTTP_ACCEPTED, doc);
}

/* GET apply/result: fieldbridgectl's JSON once it ran after our request. */
static int apply_result(struct web_req *q)
{
	struct web *w = q->w;
	char *path = w->apply_request ? result_path(w->apply_request) : NULL;
	struct stat st;
	cJSON *doc, *res;
	char *text;
	size_t len = 0;
	int rc;

	if (!w->apply_requested_ns) {
		free(path);
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no apply was requested");
	}
	doc = cJSON_CreateObject();
	if (!path || stat(path, &st) < 0 ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec < w->apply_requested_ns ||
	    !(text = fb_read_file(path, &len))) {
		cJSON_AddBoolToObject(doc, "done", false);
		free(path);
		return web_http_json(q, MHD_HTTP_OK, doc);
	}
	cJSON_AddBoolToObject(doc, "done", true);
	res = cJSON_ParseWithLength(text, len);
	if (res)
		cJSON_AddItemToObject(doc, "result", res);
	else
		cJSON_AddStringToObject(doc, "error", "the apply service's output is not JSON "
					"(see journalctl -u fieldbridge-apply)");
	free(text);
	free(path);
	rc = web_http_json(q, MHD_HTTP_OK, doc);
	return rc;
}

static int apply(struct web_req *q)
{
	struct fb_apply_plan *p = NULL;
	struct fb_edit *e = NULL;
	struct web *w = q->w;
	struct fb_diag d;
	enum fb_edit_rc erc;
	unsigned snap = 0;
	cJSON *body, *doc;
	bool dry;
	int rc;

	if (w->listen_state != WEB_LISTEN_IDLE)
		return web_http_error(q, MHD_HTTP_CONFLICT, "a listener change waits for "
				      "confirmation from the new address");
	if (!(body = web_http_body(q, &rc)))
		return rc;
	dry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "dry_run"));
	cJSON_Delete(body);
	fb_diag_init(&d);
	rc = plan_or_error(q, &p, &d);
	if (rc >= 0)
		goto out;
	if (dry) {
		doc = plan_json(p, false);
		fb_config_free(listener_change(q, doc, false));
		rc = web_http_json(q, MHD_HTTP_OK, doc);
		goto out;
	}
	if (w->apply_request) {
		doc = plan_json(p, false);
		arm_listener(q, doc);
		rc = request_apply(q, doc);
		goto out;
	}
	e = fb_edit_open(q->w->config_path, &d);
	erc = e ? fb_apply_run(e, p, q->session->user, &snap, &d) : FB_EDIT_FAILED;
	fb_log(FB_LOG_NOTICE, "web: %s from %s applied the configuration (snapshot %u): %s",
	       q->session->user, q->peer, snap, erc == FB_EDIT_OK ? "done"
	       : erc == FB_EDIT_NOT_RUNNING ? "partly (hand-started daemons)" : "failed");
	if (erc != FB_EDIT_OK && erc != FB_EDIT_NOT_RUNNING) {
		rc = web_http_diag(q, web_http_edit_status(erc), "not applied", &d);
		goto out;
	}
	doc = plan_json(p, true);
	arm_listener(q, doc);
	cJSON_AddBoolToObject(doc, "applied", erc == FB_EDIT_OK);
	cJSON_AddNumberToObject(doc, "snapshot", snap);
	cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
	rc = web_http_json(q, MHD_HTTP_OK, doc);
out:
	fb_edit_close(e);
	fb_apply_plan_free(p);
	fb_diag_free(&d);
	return rc;
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

static int restore(struct web_req *q, const char *id_text)
{
	struct fb_edit *e;
	struct fb_diag d;
	enum fb_edit_rc erc;
	unsigned restored = 0;
	char *end;
	unsigned long id = strtoul(id_text, &end, 10);
	cJSON *doc;
	int rc;

	if (*end || end == id_text || id > 0xffffffffUL)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no snapshot \"%s\"", id_text);
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

static int confirm(struct web_req *q)
{
	struct web *w = q->w;

	if (w->listen_state != WEB_LISTEN_PENDING)
		return web_http_error(q, MHD_HTTP_CONFLICT, "no listener change waits for "
				      "confirmation");
	/* Only the new listener is open: this request came through it. */
	w->listen_confirmed = true;
	fb_log(FB_LOG_NOTICE, "web: %s from %s confirmed the listener change",
	       q->session->user, q->peer);
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
		return get ? web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST") : apply(q);
	case WEB_R_APPLY_CONFIRM:
		return get ? web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST")
			   : confirm(q);
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
