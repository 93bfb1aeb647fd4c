/* SPDX-License-Identifier: Apache-2.0 */
/* `config diff`, `config apply [--dry-run | --request PATH]`,
 * `config snapshots`, `config rollback [N]`, and the apply that follows
 * every edit unless --no-apply: printing what config_edit computes and
 * does.  --request is fieldbridge-apply.service's: what the web asked for
 * (apply, restore N, rollback N), read as untrusted input (request.c). */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void time_text(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

static cJSON *field_json(const struct fb_apply_field *f)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "object", f->object);
	if (f->field)
		cJSON_AddStringToObject(j, "field", f->field);
	else
		cJSON_AddNullToObject(j, "field");
	if (f->secret) {
		cJSON_AddBoolToObject(j, "secret", true);
	} else {
		if (f->before)
			cJSON_AddStringToObject(j, "before", f->before);
		else
			cJSON_AddNullToObject(j, "before");
		if (f->after)
			cJSON_AddStringToObject(j, "after", f->after);
		else
			cJSON_AddNullToObject(j, "after");
	}
	return j;
}

static cJSON *plan_json(const struct fb_apply_plan *p, bool with_results)
{
	cJSON *j = cJSON_CreateObject(), *arr;

	cJSON_AddNumberToObject(j, "pending", (double)fb_apply_pending(p));
	cJSON_AddBoolToObject(j, "systemd", p->systemd);
	arr = cJSON_AddArrayToObject(j, "daemons");
	for (size_t i = 0; i < p->n; i++) {
		const struct fb_apply_daemon *d = &p->d[i];
		cJSON *o = cJSON_CreateObject(), *ch;

		cJSON_AddStringToObject(o, "unit", d->unit ? d->unit : "");
		cJSON_AddStringToObject(o, "kind", fb_edit_kind_name(d->kind));
		cJSON_AddStringToObject(o, "name", d->name);
		cJSON_AddBoolToObject(o, "running", d->running);
		if (d->running) {
			cJSON_AddBoolToObject(o, "systemd", d->systemd);
			cJSON_AddNumberToObject(o, "pid", d->pid);
			cJSON_AddNumberToObject(o, "since", (double)d->since);
		}
		cJSON_AddStringToObject(o, "action", fb_apply_action_name(d->action));
		cJSON_AddStringToObject(o, "reason", d->reason ? d->reason : "");
		ch = cJSON_AddArrayToObject(o, "changes");
		for (size_t k = 0; k < d->nfields; k++)
			cJSON_AddItemToArray(ch, field_json(&d->fields[k]));
		if (with_results && d->action != FB_APPLY_NONE) {
			cJSON_AddBoolToObject(o, "done", d->done);
			cJSON_AddStringToObject(o, "result", d->result ? d->result : "");
		}
		cJSON_AddItemToArray(arr, o);
	}
	return j;
}

static void print_field(const struct fb_apply_field *f)
{
	if (!f->field)
		printf("    %s: %s\n", f->object, f->after ? "added" : "removed");
	else if (f->secret)
		printf("    %s: %s: changed\n", f->object, f->field);
	else
		printf("    %s: %s: %s -> %s\n", f->object, f->field,
		       f->before ? f->before : "(unset)", f->after ? f->after : "(unset)");
}

static void print_diff(const struct fb_apply_plan *p)
{
	char since[32];
	size_t pending = fb_apply_pending(p);

	for (size_t i = 0; i < p->n; i++) {
		const struct fb_apply_daemon *d = &p->d[i];

		if (d->running) {
			time_text(d->since, since, sizeof(since));
			printf("%s (pid %d%s, since %s): %s\n", d->unit, d->pid,
			       d->systemd ? ", systemd" : "", since, d->reason);
		} else {
			printf("%s: %s\n", d->unit, d->reason);
		}
		for (size_t k = 0; k < d->nfields; k++)
			print_field(&d->fields[k]);
	}
	if (pending)
		printf("%zu change%s not applied\n", pending, pending == 1 ? "" : "s");
	else
		printf("no changes: the running daemons loaded the files as they are\n");
}

static bool plan_empty(const struct fb_apply_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->d[i].action != FB_APPLY_NONE)
			return false;
	return true;
}

static void print_plan(const struct fb_apply_plan *p)
{
	if (plan_empty(p)) {
		printf("plan: nothing to restart or reload\n");
		return;
	}
	printf("plan:\n");
	for (size_t i = 0; i < p->n; i++)
		if (p->d[i].action != FB_APPLY_NONE)
			printf("  %-8s %s (%s)\n", fb_apply_action_name(p->d[i].action),
			       p->d[i].unit, p->d[i].reason);
}

/* Plans, prints the plan, and (unless dry_run) snapshots and runs it.
 * `extra` (JSON mode) gets "plan" and "snapshot".  Returns an exit code. */
static int apply(const struct ctl *c, struct fb_edit *e, bool dry_run, const char *user,
		 cJSON *extra, struct fb_diag *d)
{
	struct fb_apply_plan *p = NULL;
	unsigned snap = 0;
	int rc;

	/* Plan and snapshot the same files: no edit may come between. */
	if (!dry_run && fb_edit_lock(e) < 0) {
		fb_diag_error(d, "%s/.lock: cannot take the edit lock: %s", fb_edit_dir(e),
			      strerror(errno));
		return errno == EACCES ? CTL_DENIED : CTL_FAILED;
	}
	rc = (int)fb_apply_plan_make(c->config_path, &p, d);
	if (rc)
		return rc;
	if (!c->json)
		print_plan(p);
	if (!dry_run) {
		rc = (int)fb_apply_run(e, p, user, &snap, d);
		if (!c->json) {
			for (size_t i = 0; i < p->n; i++)
				if (p->d[i].action != FB_APPLY_NONE)
					printf("%s %s: %s\n", fb_apply_action_name(p->d[i].action),
					       p->d[i].unit, p->d[i].result ? p->d[i].result : "");
			if (snap)
				printf("snapshot %u taken\n", snap);
		}
		if (rc == CTL_NOT_RUNNING)
			fb_diag_error(d, "not everything was applied: a daemon not running under "
				      "systemd cannot be restarted by fieldbridgectl");
	}
	if (extra) {
		cJSON_AddItemToObject(extra, "plan", plan_json(p, !dry_run));
		if (snap)
			cJSON_AddNumberToObject(extra, "snapshot", snap);
	}
	fb_apply_plan_free(p);
	return rc;
}

int ctl_apply_after_edit(const struct ctl *c, struct fb_edit *e, cJSON *extra,
			 struct fb_diag *d)
{
	if (c->no_apply) {
		if (!c->json)
			printf("not applied (--no-apply): `fieldbridgectl config diff` shows it, "
			       "`config apply` applies it\n");
		return CTL_OK;
	}
	return apply(c, e, false, NULL, extra, d);
}

static int snapshots(const struct ctl *c, struct fb_edit *e)
{
	struct fb_snapshot *s = NULL;
	size_t n = 0;
	struct fb_diag d;
	char when[32];
	int rc;
	cJSON *doc, *arr;

	fb_diag_init(&d);
	rc = (int)fb_snapshot_list(e, &s, &n, &d);
	if (rc) {
		ctl_fail(c, &d, rc);
		fb_diag_free(&d);
		return rc;
	}
	doc = ctl_doc_new(c);
	arr = cJSON_AddArrayToObject(doc, "snapshots");
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddNumberToObject(j, "id", s[i].id);
		cJSON_AddNumberToObject(j, "time", (double)s[i].time);
		cJSON_AddStringToObject(j, "user", s[i].user);
		cJSON_AddNumberToObject(j, "files", (double)s[i].nfiles);
		cJSON_AddItemToArray(arr, j);
		if (!c->json) {
			time_text(s[i].time, when, sizeof(when));
			printf("%u\t%s\t%s\t%zu file%s\n", s[i].id, when, s[i].user, s[i].nfiles,
			       s[i].nfiles == 1 ? "" : "s");
		}
	}
	if (c->json)
		ctl_doc_print(doc);
	else
		cJSON_Delete(doc);
	free(s);
	fb_diag_free(&d);
	return CTL_OK;
}

/* The web's request: taken (so it runs once), checked, then done as the
 * same apply or rollback an admin runs. */
static int by_request(const struct ctl *c, struct fb_edit *e, const char *path, cJSON *extra,
		      struct fb_diag *d)
{
	struct fb_apply_request r;
	char user[80];
	unsigned got = 0;
	int rc = (int)fb_apply_request_take(path, &r, d);

	if (rc)
		return rc;
	snprintf(user, sizeof(user), "%s%s", r.user[0] ? r.user : "web",
		 r.user[0] ? " (web)" : "");
	if (extra) {
		cJSON *o = cJSON_AddObjectToObject(extra, "request");

		cJSON_AddStringToObject(o, "action", fb_apply_request_action_name(r.action));
		if (r.snapshot)
			cJSON_AddNumberToObject(o, "snapshot", r.snapshot);
	}
	if (r.action == FB_REQUEST_APPLY)
		return apply(c, e, false, user, extra, d);
	rc = (int)fb_snapshot_restore(e, r.snapshot, &got, d);
	if (rc)
		return rc;
	if (!c->json)
		printf("snapshot %u restored\n", got);
	if (extra)
		cJSON_AddNumberToObject(extra, "restored", got);
	return r.action == FB_REQUEST_ROLLBACK ? apply(c, e, false, user, extra, d) : CTL_OK;
}

int ctl_config_apply(const struct ctl *c)
{
	struct fb_diag d;
	struct fb_edit *e;
	cJSON *extra = c->json ? cJSON_CreateObject() : NULL;
	int rc = CTL_OK;
	bool dry = false;
	const char *request = NULL;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->verb, "apply") && !strcmp(c->argv[i], "--dry-run"))
			dry = true;
		else if (!strcmp(c->verb, "apply") && !strcmp(c->argv[i], "--request") &&
			 i + 1 < c->argc && !request)
			request = c->argv[++i];
		else if (strcmp(c->verb, "rollback") || i > 0 || !strspn(c->argv[i], "0123456789") ||
			 c->argv[i][strspn(c->argv[i], "0123456789")])
			rc = ctl_usage_error(c, "config %s: unexpected argument %s", c->verb,
					     c->argv[i]);
	}
	if (!rc && dry && request)
		rc = ctl_usage_error(c, "config apply: --dry-run or --request, not both");
	if (rc) {
		cJSON_Delete(extra);
		return rc;
	}
	fb_diag_init(&d);
	e = fb_edit_open(c->config_path, &d);
	fb_diag_free(&d);
	fb_diag_init(&d);
	if (!e) {
		fb_diag_error(&d, "%s: cannot read the configuration directory", c->config_path);
		rc = CTL_FAILED;
	} else if (!strcmp(c->verb, "snapshots")) {
		cJSON_Delete(extra);
		rc = snapshots(c, e);
		fb_edit_close(e);
		fb_diag_free(&d);
		return rc;
	} else if (!strcmp(c->verb, "diff")) {
		struct fb_apply_plan *p = NULL;

		rc = (int)fb_apply_plan_make(c->config_path, &p, &d);
		if (!rc && !c->json)
			print_diff(p);
		if (!rc && extra)
			cJSON_AddItemToObject(extra, "diff", plan_json(p, false));
		fb_apply_plan_free(p);
	} else if (!strcmp(c->verb, "apply")) {
		if (!dry && access(fb_edit_dir(e), W_OK) != 0) {
			fb_diag_error(&d, "%s: changes need write access (root)", fb_edit_dir(e));
			rc = CTL_DENIED;
		} else {
			rc = request ? by_request(c, e, request, extra, &d)
				     : apply(c, e, dry, NULL, extra, &d);
		}
	} else { /* rollback */
		unsigned id = c->argc ? (unsigned)strtoul(c->argv[0], NULL, 10) : 0, got = 0;

		rc = (int)fb_snapshot_restore(e, id, &got, &d);
		if (!rc) {
			if (!c->json)
				printf("snapshot %u restored\n", got);
			if (extra)
				cJSON_AddNumberToObject(extra, "restored", got);
			rc = ctl_apply_after_edit(c, e, extra, &d);
		}
	}
	rc = ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	fb_edit_close(e);
	return rc;
}
