/* SPDX-License-Identifier: Apache-2.0 */
/* Running an apply beside the loop.  `systemctl restart` waits for the
 * unit's READY=1 (up to 10 s an exporter), so done in the loop it froze
 * the page, the event streams and the watchdog pings; here it runs in a
 * forked child (child.c) that prints one progress line per stage,
 * {"progress": {stage, unit, done, result}}, then {"status", "result"}:
 * the answer.  A rollback restores a snapshot first and plans after it.
 * Also the request file of --apply-request, which api_apply.c and
 * listener.c both write. */
#include "web-internal.h"
#include "config_edit.h"
#include "jsonfile.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_KEY "{\"progress\":"
#define APPLY_TIMEOUT_S 600 /* 10 s a unit, far beyond any real gateway */

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

cJSON *web_apply_plan_json(const struct fb_apply_plan *p, bool results)
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

/* ---- in the child ---- */

static void put_line(int fd, cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);
	size_t len = text ? strlen(text) : 0, done = 0;

	cJSON_Delete(doc);
	if (!text)
		return;
	text[len++] = '\n'; /* over the NUL: the line is not a C string any more */
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(text);
}

static void progress(void *ctx, const struct fb_apply_daemon *d, unsigned snapshot)
{
	cJSON *doc = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(doc, "progress");

	if (!d) {
		cJSON_AddStringToObject(o, "stage", "snapshot");
		cJSON_AddNumberToObject(o, "snapshot", snapshot);
		cJSON_AddBoolToObject(o, "done", true);
	} else {
		cJSON_AddStringToObject(o, "stage", fb_apply_action_name(d->action));
		cJSON_AddStringToObject(o, "unit", d->unit);
		cJSON_AddBoolToObject(o, "done", d->result != NULL);
		if (d->result) {
			cJSON_AddBoolToObject(o, "ok", d->done);
			cJSON_AddStringToObject(o, "result", d->result);
		}
	}
	put_line(*(int *)ctx, doc);
}

static void answer(int fd, unsigned status, cJSON *doc)
{
	cJSON *line = cJSON_CreateObject();

	cJSON_AddNumberToObject(line, "status", status);
	cJSON_AddItemToObject(line, "result", doc);
	put_line(fd, line);
}

static void apply_child(int fd, void *arg)
{
	struct web_apply_job *j = arg;
	struct fb_apply_plan *p = j->plan;
	struct fb_edit *e;
	struct fb_diag d;
	enum fb_edit_rc rc = FB_EDIT_FAILED;
	unsigned snap = 0, restored = 0;
	cJSON *doc;

	fb_diag_init(&d);
	e = fb_edit_open(j->config_path, &d);
	if (e && j->restore) {
		rc = fb_snapshot_restore(e, j->restore, &restored, &d);
		if (rc == FB_EDIT_OK)
			put_line(fd, cJSON_Parse("{\"progress\":{\"stage\":\"restore\","
						 "\"done\":true}}"));
	}
	if (e && (!j->restore || rc == FB_EDIT_OK) && !p)
		rc = fb_apply_plan_make(j->config_path, &p, &d);
	if (e && p)
		rc = fb_apply_run_progress(e, p, j->user, &snap, &d, progress, &fd);
	if (rc != FB_EDIT_OK && rc != FB_EDIT_NOT_RUNNING) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "error", "not applied");
		cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
		answer(fd, web_http_edit_status(rc), doc);
	} else {
		doc = web_apply_plan_json(p, true);
		cJSON_AddBoolToObject(doc, "applied", rc == FB_EDIT_OK);
		cJSON_AddNumberToObject(doc, "snapshot", snap);
		if (restored)
			cJSON_AddNumberToObject(doc, "restored", restored);
		cJSON_AddItemToObject(doc, "diagnostics", web_http_diag_json(&d));
		answer(fd, MHD_HTTP_OK, doc);
	}
	fb_edit_close(e);
	if (p != j->plan)
		fb_apply_plan_free(p);
	fb_diag_free(&d);
}

/* ---- in the loop ---- */

int web_apply_start(struct web *w, void (*done)(struct web_child *c))
{
	struct web_apply_job *j = &w->apply;
	struct web_child *c;
	int rc;

	j->config_path = w->config_path;
	rc = web_child_fork(w->children, WEB_APPLY_KEY, apply_child, j,
			    (int64_t)APPLY_TIMEOUT_S * 1000, &c);
	/* The child has its copy: the loop's is not needed any more. */
	fb_apply_plan_free(j->plan);
	j->plan = NULL;
	if (rc) {
		fb_warn("web: cannot start the apply: %s", strerror(rc));
		return rc;
	}
	j->running = true;
	snprintf(c->what, sizeof(c->what), "%s", j->id);
	c->timeout_s = APPLY_TIMEOUT_S;
	c->done = done;
	c->ctx = w;
	return 0;
}

cJSON *web_apply_progress(const struct web_child *c)
{
	cJSON *stages = cJSON_CreateArray();
	const char *s = c && c->out ? c->out : "";

	while (!strncmp(s, PROGRESS_KEY, strlen(PROGRESS_KEY))) {
		const char *nl = strchr(s, '\n');
		cJSON *line, *p;

		if (!nl)
			break; /* still being written */
		line = cJSON_ParseWithLength(s, (size_t)(nl - s));
		p = cJSON_DetachItemFromObjectCaseSensitive(line, "progress");
		/* A stage's second line (done) replaces its first. */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "done")) &&
		    cJSON_GetArraySize(stages) > 0) {
			cJSON *last = cJSON_GetArrayItem(stages, cJSON_GetArraySize(stages) - 1);

			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "done")))
				cJSON_DeleteItemFromArray(stages, cJSON_GetArraySize(stages) - 1);
		}
		if (p)
			cJSON_AddItemToArray(stages, p);
		cJSON_Delete(line);
		s = nl + 1;
	}
	return stages;
}

cJSON *web_apply_result(const struct web_child *c, unsigned *status)
{
	const char *s = c->out ? c->out : "";
	cJSON *line, *doc = NULL, *st;

	while (!strncmp(s, PROGRESS_KEY, strlen(PROGRESS_KEY)) && strchr(s, '\n'))
		s = strchr(s, '\n') + 1;
	line = !c->timed_out && !c->overflow ? cJSON_Parse(s) : NULL;
	st = cJSON_GetObjectItemCaseSensitive(line, "status");
	if (cJSON_IsNumber(st) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(line, "result"))) {
		*status = (unsigned)st->valuedouble;
		doc = cJSON_DetachItemFromObjectCaseSensitive(line, "result");
	}
	cJSON_Delete(line);
	if (doc)
		return doc;
	*status = c->timed_out ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_INTERNAL_SERVER_ERROR;
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "error", c->timed_out ? "the apply did not finish in time: "
				"stopped (see the journal)" : "the apply ended without a result "
				"(see the journal)");
	return doc;
}

void web_apply_job_end(struct web *w)
{
	struct web_apply_job *j = &w->apply;

	fb_apply_plan_free(j->plan);
	memset(j, 0, sizeof(*j));
}

int web_apply_request(struct web *w, const struct fb_apply_request *r, const char *from)
{
	struct timespec ts;
	char *text, tmp[4200];
	int fd, rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	text = fb_apply_request_text(r, from, (long long)ts.tv_sec);
	snprintf(tmp, sizeof(tmp), "%s.tmp", w->apply_request);
	fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
	if (fd >= 0) {
		size_t len = strlen(text);

		rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
		if (close(fd) < 0)
			rc = -1;
		if (rc == 0)
			rc = rename(tmp, w->apply_request);
		if (rc < 0)
			unlink(tmp);
	}
	free(text);
	if (rc < 0) {
		fb_log_errno(FB_LOG_ERR, "web: cannot write the apply request %s",
			     w->apply_request);
		return -1;
	}
	w->apply_requested_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (r->action == FB_REQUEST_APPLY)
		fb_log(FB_LOG_NOTICE, "web: %s from %s asked to apply the configuration (%s)",
		       r->user, from, w->apply_request);
	else
		fb_log(FB_LOG_NOTICE, "web: %s from %s asked to %s snapshot %u (%s)", r->user, from,
		       r->action == FB_REQUEST_RESTORE ? "restore" : "roll back to", r->snapshot,
		       w->apply_request);
	return 0;
}

void web_apply_main_reload(struct web *w)
{
	size_t len = 0;
	char *t = fb_read_file(w->config_path, &len);

	if (!t)
		return;
	free(w->main_text);
	w->main_text = t;
	w->main_len = len;
}
