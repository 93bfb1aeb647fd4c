/* SPDX-License-Identifier: Apache-2.0 */
/* `get BUS/DEVICE/POINT` and `set BUS/DEVICE/POINT VALUE [--as USER]
 * [--timeout S]`: one value from the bus's state table; one command through
 * its queue, waiting for the driver's result.  VALUE is read as Home
 * Assistant's payloads are by the exporter (ON/OFF, PRESS, an option
 * label, a number within the point's range). */
#include "live.h"
#include "clock.h"
#include "users.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESULT_WAIT_MS 10000

struct target {
	char bus[FB_TABLE_KEY_MAX * 2], device[FB_TABLE_KEY_MAX], point[FB_TABLE_KEY_MAX];
	struct ctl_bus *b;
	long index;
};

/* Opens the bus of spec and finds the device; an exit code, problems in d. */
static int target_open(const struct ctl *c, struct ctl_live *l, const char *spec,
		       struct target *t, struct fb_diag *d)
{
	int rc;

	if (ctl_live_split(spec, t->bus, t->device, t->point, sizeof(t->device)) < 0 ||
	    !t->point[0]) {
		fb_diag_error(d, "expected BUS/DEVICE/POINT, not \"%s\"", spec);
		return CTL_USAGE;
	}
	if ((rc = ctl_live_open(l, c->config_path, t->bus, d)) != CTL_OK)
		return rc;
	t->b = &l->bus[0];
	if (!ctl_live_device(t->b, t->device)) {
		fb_diag_error(d, "no device \"%s\" on bus %s", t->device, t->bus);
		return CTL_NOT_FOUND;
	}
	return CTL_OK;
}

/* The driver's table and the point's index in it. */
static int target_attach(struct target *t, struct fb_diag *d)
{
	if (!t->b->reader && t->b->attach_errno == EACCES) {
		fb_diag_error(d, "bus %s: cannot open its table %s: %s", t->bus, t->b->instance,
			      strerror(EACCES));
		return CTL_DENIED;
	}
	if (!t->b->reader && t->b->attach_errno) {
		fb_diag_error(d, "the driver of bus %s is not running (its table %s: %s)", t->bus,
			      t->b->instance, strerror(t->b->attach_errno));
		return CTL_NOT_RUNNING;
	}
	if (!ctl_live_running(t->b)) {
		fb_diag_error(d, "the driver of bus %s is not running", t->bus);
		return CTL_NOT_RUNNING;
	}
	t->index = fb_table_reader_find(t->b->reader, t->device, t->point);
	if (t->index < 0) {
		fb_diag_error(d, "no point %s/%s/%s", t->bus, t->device, t->point);
		return CTL_NOT_FOUND;
	}
	return CTL_OK;
}

static int finish(const struct ctl *c, struct ctl_live *l, struct fb_diag *d, int rc,
		  cJSON *extra)
{
	rc = ctl_finish(c, d, rc, extra);
	fb_diag_free(d);
	ctl_live_close(l);
	return rc;
}

int ctl_get(const struct ctl *c)
{
	struct ctl_live l = { 0 };
	struct target t = { 0 };
	struct fb_diag d;
	int rc;

	if (c->argc != 1)
		return ctl_usage_error(c, "usage: get BUS/DEVICE/POINT");
	fb_diag_init(&d);
	rc = target_open(c, &l, c->argv[0], &t, &d);
	if (rc == CTL_OK)
		rc = target_attach(&t, &d);
	if (rc != CTL_OK)
		return finish(c, &l, &d, rc, NULL);
	if (c->json) {
		cJSON *extra = cJSON_CreateObject();

		cJSON_AddItemToObject(extra, "point", ctl_live_point_json(t.b, (uint32_t)t.index));
		return finish(c, &l, &d, CTL_OK, extra);
	} else {
		struct fb_point_snapshot s;
		char v[FB_TABLE_STRING_MAX * 2 + 32];

		fb_table_reader_read(t.b->reader, (uint32_t)t.index, &s);
		ctl_live_value_text(t.b, (uint32_t)t.index, v, sizeof(v));
		printf("%s\n", v);
		if (s.quality != FB_QUALITY_OK)
			fprintf(stderr, "quality: %s\n", ctl_live_quality_name(s.quality));
	}
	return finish(c, &l, &d, CTL_OK, NULL);
}

struct waiting {
	uint64_t ticket;
	int status;       /* 0 while waiting; enum fb_command_status, -1 driver gone */
	char reason[FB_TABLE_REASON_MAX];
};

static void on_result(void *ctx, struct ctl_bus *b, const struct fb_command_result *res)
{
	struct waiting *w = ctx;

	(void)b;
	if (!w->status && res->ticket == w->ticket) {
		w->status = res->status;
		snprintf(w->reason, sizeof(w->reason), "%s", res->reason);
	}
}

static void on_detaching(void *ctx, struct ctl_bus *b)
{
	struct waiting *w = ctx;

	(void)b;
	if (!w->status) {
		w->status = -1;
		snprintf(w->reason, sizeof(w->reason), "the driver restarted before confirming it");
	}
}

/* --as USER: that user's right on the point, from the users file. */
static int rights_check(const struct ctl_live *l, const struct target *t, const char *user,
			struct fb_diag *d)
{
	struct fb_users *users;
	const struct fb_user *u;
	enum fb_access a;

	if (!l->cfg->users_file)
		return CTL_OK; /* no users file: every user has every right */
	users = fb_users_load(l->cfg->users_file, d);
	if (!users)
		return CTL_INVALID;
	u = fb_users_find(users, user);
	a = u ? fb_user_access(u, t->device, t->point) : FB_ACCESS_NONE;
	fb_users_free(users);
	if (!u) {
		fb_diag_error(d, "no user \"%s\" in %s", user, l->cfg->users_file);
		return CTL_DENIED;
	}
	if (a != FB_ACCESS_WRITE) {
		fb_diag_error(d, "user %s may not write %s/%s (right: %s)", user, t->device,
			      t->point, fb_access_name(a));
		return CTL_DENIED;
	}
	return CTL_OK;
}

int ctl_set(const struct ctl *c)
{
	struct ctl_live l = { 0 };
	struct target t = { 0 };
	struct waiting w = { 0 };
	const struct fb_device_conf *dev;
	const struct fb_point_def *p;
	const char *spec = NULL, *text = NULL, *as = NULL;
	struct fb_command cmd;
	struct fb_diag d;
	long timeout_ms = RESULT_WAIT_MS;
	int64_t deadline;
	cJSON *extra;
	int rc;

	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--as") && i + 1 < c->argc) {
			as = c->argv[++i];
		} else if (!strcmp(c->argv[i], "--timeout") && i + 1 < c->argc) {
			char *end;
			double s = strtod(c->argv[++i], &end);

			if (*end || end == c->argv[i] || s <= 0)
				return ctl_usage_error(c, "set: --timeout expects seconds");
			timeout_ms = (long)(s * 1000);
		} else if (!spec) {
			spec = c->argv[i];
		} else if (!text) {
			text = c->argv[i];
		} else {
			spec = NULL;
			break;
		}
	}
	if (!spec || !text)
		return ctl_usage_error(c, "usage: set BUS/DEVICE/POINT VALUE [--as USER] "
				       "[--timeout S]");
	fb_diag_init(&d);
	rc = target_open(c, &l, spec, &t, &d);
	/* A refused user learns nothing about the driver's state. */
	if (rc == CTL_OK && as)
		rc = rights_check(&l, &t, as, &d);
	if (rc == CTL_OK)
		rc = target_attach(&t, &d);
	if (rc != CTL_OK)
		return finish(c, &l, &d, rc, NULL);
	dev = ctl_live_device(t.b, t.device);
	p = dev->def ? fb_model_point(dev->def, t.point) : NULL;
	if (!p || !p->writable) {
		fb_diag_error(&d, "%s/%s is read-only", t.device, t.point);
		return finish(c, &l, &d, CTL_FAILED, NULL);
	}
	memset(&cmd, 0, sizeof(cmd));
	if (fb_point_parse_command(p, text, &cmd.value) < 0) {
		fb_diag_error(&d, "%s/%s: \"%s\" is not a value for this %s", t.device, t.point,
			      text, fb_component_name(p->component));
		return finish(c, &l, &d, CTL_USAGE, NULL);
	}
	cmd.point_index = (uint32_t)t.index;
	snprintf(cmd.origin, sizeof(cmd.origin), "%s", l.origin);
	cmd.ts_ms = fb_now_ms();
	snprintf(cmd.event_id, sizeof(cmd.event_id), "ctl-%ld-%lld", (long)getpid(),
		 (long long)cmd.ts_ms);
	if (fb_table_command_push(t.b->reader, &cmd) < 0) {
		fb_diag_error(&d, "bus %s: cannot queue the command: %s", t.bus,
			      errno == EAGAIN ? "the queue is full, try again" : strerror(errno));
		return finish(c, &l, &d, errno == EACCES || errno == EPERM ? CTL_DENIED
									  : CTL_FAILED, NULL);
	}
	w.ticket = cmd.ticket;
	l.result = on_result;
	l.detaching = on_detaching;
	l.ctx = &w;
	deadline = fb_mono_ms() + timeout_ms;
	while (!w.status) {
		int64_t now = fb_mono_ms();

		if (now >= deadline)
			break;
		if (ctl_live_poll(&l, -1, (int)(deadline - now)) < 0)
			break;
	}
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "bus", t.bus);
	cJSON_AddStringToObject(extra, "device", t.device);
	cJSON_AddStringToObject(extra, "point", t.point);
	cJSON_AddStringToObject(extra, "value", text);
	switch (w.status) {
	case FB_COMMAND_DONE:
		cJSON_AddStringToObject(extra, "status", "done");
		rc = CTL_OK;
		break;
	case FB_COMMAND_SUPERSEDED:
		cJSON_AddStringToObject(extra, "status", "superseded");
		rc = CTL_CONFLICT;
		break;
	case 0:
		cJSON_AddStringToObject(extra, "status", "timeout");
		snprintf(w.reason, sizeof(w.reason), "no result from the driver within %.1f s",
			 (double)timeout_ms / 1000.0);
		rc = CTL_TIMEOUT;
		break;
	default:
		cJSON_AddStringToObject(extra, "status", "failed");
		rc = CTL_FAILED;
		break;
	}
	if (rc != CTL_OK) {
		cJSON_AddStringToObject(extra, "reason", w.reason);
		fb_diag_error(&d, "%s/%s/%s: %s", t.bus, t.device, t.point, w.reason);
	}
	if (!c->json && rc == CTL_OK)
		printf("%s/%s/%s = %s: done\n", t.bus, t.device, t.point, text);
	return finish(c, &l, &d, rc, extra);
}
