/* SPDX-License-Identifier: Apache-2.0 */
/* `status`: every bus as its table shows it (driver running, heartbeat,
 * devices online, the driver's bus figures from its _diag_* points), every
 * daemon as the records of what it loaded show it (config_edit), and the
 * configuration's current warnings (fb_config_check). */
#include "live.h"
#include "clock.h"
#include "config_tls.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct fb_config_checks every_check = {
	.airtime = true, .users = true, .tls = fb_config_tls_check,
};

static bool diag_value(const struct ctl_bus *b, const char *device, enum fb_diag_point which,
		       double *out)
{
	size_t n;
	const struct fb_diag_point_desc *dp = fb_model_diag_points(&n);
	long i = fb_table_reader_find(b->reader, device, dp[which].key);
	struct fb_point_snapshot s;

	if (i < 0)
		return false;
	fb_table_reader_read(b->reader, (uint32_t)i, &s);
	switch (s.value.kind) {
	case FB_VALUE_BOOL: *out = s.value.b; return true;
	case FB_VALUE_INT: *out = (double)s.value.i; return true;
	case FB_VALUE_UINT: *out = (double)s.value.u; return true;
	case FB_VALUE_FLOAT: *out = s.value.f; return isfinite(s.value.f);
	default: return false;
	}
}

static const struct fb_apply_daemon *daemon_of(const struct fb_apply_plan *p,
					       enum fb_edit_kind kind, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (p->d[i].kind == kind && !strcmp(p->d[i].name, name))
			return &p->d[i];
	return NULL;
}

static void since_text(long long since, char *buf, size_t len)
{
	time_t t = (time_t)since;
	struct tm tm;

	if (since <= 0 || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

static void add_daemon(cJSON *o, const struct fb_apply_daemon *dm)
{
	cJSON_AddBoolToObject(o, "recorded", dm && dm->running);
	if (dm && dm->unit)
		cJSON_AddStringToObject(o, "unit", dm->unit);
	if (dm && dm->running) {
		cJSON_AddNumberToObject(o, "pid", dm->pid);
		cJSON_AddNumberToObject(o, "since", (double)dm->since);
	}
}

/* The newest line at priority err or worse that the journal holds for the
 * daemon serving bus or connection `name` ([a-z0-9_-] only, so it is safe
 * in the command).  Empty when there is none, or no journal (daemons
 * started by hand log to their standard error). */
static void last_error(bool bus, const char *name, char *buf, size_t len)
{
	char cmd[256];
	FILE *p;

	buf[0] = '\0';
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return;
	if (bus)
		snprintf(cmd, sizeof(cmd), "journalctl -q --no-pager -o cat -p err -n 1 "
			 "-u fieldbridge-modbus@%s.service -u fieldbridge-gpio@%s.service "
			 "2>/dev/null", name, name);
	else
		snprintf(cmd, sizeof(cmd), "journalctl -q --no-pager -o cat -p err -n 1 "
			 "-u fieldbridge-export@%s.service 2>/dev/null", name);
	if (!(p = popen(cmd, "r")))
		return;
	if (!fgets(buf, (int)len, p))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}

static void add_last_error(cJSON *o, bool bus, const char *name, FILE *out)
{
	char err[512];

	last_error(bus, name, err, sizeof(err));
	if (err[0]) {
		cJSON_AddStringToObject(o, "last_error", err);
		fprintf(out, "  last error: %s\n", err);
	} else {
		cJSON_AddNullToObject(o, "last_error");
	}
}

static cJSON *bus_status(const struct ctl_bus *b, const struct fb_apply_daemon *dm,
			FILE *out)
{
	cJSON *o = cJSON_CreateObject();
	bool running = ctl_live_running(b);
	long pid = ctl_live_driver_pid(b);
	double util = NAN, errors = 0, v;
	bool have_errors = false, connected = false, have_connected = false;
	size_t online = 0, ndev = b->conf->ndevices;
	char since[32];

	cJSON_AddStringToObject(o, "name", b->conf->name);
	cJSON_AddBoolToObject(o, "running", running);
	if (pid > 0)
		cJSON_AddNumberToObject(o, "pid", (double)pid);
	add_daemon(o, dm);
	if (b->reader) {
		cJSON_AddNumberToObject(o, "heartbeat_age_ms",
			(double)fb_table_reader_heartbeat_age_ms(b->reader, fb_mono_ms()));
		ndev = fb_table_reader_device_count(b->reader);
		for (uint32_t d = 0; d < ndev; d++) {
			const char *id = fb_table_reader_device(b->reader, d)->device;

			online += fb_table_reader_device_online(b->reader, d);
			if (diag_value(b, id, FB_DIAG_ERRORS, &v))
				errors += v, have_errors = true;
			if (isnan(util) && diag_value(b, id, FB_DIAG_BUS_UTILISATION, &v))
				util = v;
			if (!have_connected && diag_value(b, id, FB_DIAG_BUS_CONNECTED, &v))
				connected = v != 0, have_connected = true;
		}
		cJSON_AddNumberToObject(o, "devices_online", (double)online);
	}
	cJSON_AddNumberToObject(o, "devices", (double)ndev);
	if (!isnan(util))
		cJSON_AddNumberToObject(o, "utilisation_pct", util);
	if (have_errors)
		cJSON_AddNumberToObject(o, "errors", errors);
	if (have_connected)
		cJSON_AddBoolToObject(o, "connected", connected);
	if (running) {
		fprintf(out, "bus %s: running", b->conf->name);
		if (pid > 0)
			fprintf(out, " (pid %ld", pid);
		if (pid > 0 && dm && dm->running) {
			since_text(dm->since, since, sizeof(since));
			fprintf(out, ", since %s", since);
		}
		fprintf(out, "%s, %zu/%zu device%s online", pid > 0 ? ")" : "", online, ndev,
		       ndev == 1 ? "" : "s");
		if (have_connected)
			fprintf(out, ", %s", connected ? "connected" : "not connected");
		if (!isnan(util))
			fprintf(out, ", utilisation %.1f%%", util);
		if (have_errors)
			fprintf(out, ", %.0f error%s", errors, errors == 1 ? "" : "s");
		fprintf(out, "\n");
	} else {
		fprintf(out, "bus %s: not running%s\n", b->conf->name,
		       b->reader ? " (its table's heartbeat is stale)" : "");
	}
	add_last_error(o, true, b->conf->name, out);
	return o;
}

int ctl_status(const struct ctl *c)
{
	struct ctl_live l = { 0 };
	struct fb_apply_plan *plan = NULL;
	struct fb_diag d, pd, warn;
	cJSON *extra = cJSON_CreateObject(), *buses, *conns, *warns;
	FILE *out = stdout;
	int rc;

	if (c->argc)
		return ctl_usage_error(c, "usage: status");
	fb_diag_init(&d);
	fb_diag_init(&pd);
	fb_diag_init(&warn);
	rc = ctl_live_open(&l, c->config_path, NULL, &d);
	if (rc != CTL_OK) {
		cJSON_Delete(extra);
		rc = ctl_fail(c, &d, rc);
		goto out;
	}
	/* The JSON document alone on stdout with --json. */
	if (c->json && !(out = fopen("/dev/null", "w"))) {
		cJSON_Delete(extra);
		rc = CTL_FAILED;
		goto out;
	}
	fb_apply_plan_make(c->config_path, &plan, &pd);
	buses = cJSON_AddArrayToObject(extra, "buses");
	for (size_t i = 0; i < l.nbus; i++)
		cJSON_AddItemToArray(buses, bus_status(&l.bus[i], daemon_of(plan, FB_EDIT_BUS,
								    l.bus[i].conf->name), out));
	conns = cJSON_AddArrayToObject(extra, "connections");
	for (size_t i = 0; i < l.cfg->nconns; i++) {
		const char *name = l.cfg->conns[i].name;
		const struct fb_apply_daemon *dm = daemon_of(plan, FB_EDIT_CONN, name);
		cJSON *o = cJSON_CreateObject();
		char since[32];

		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddBoolToObject(o, "running", dm && dm->running);
		add_daemon(o, dm);
		cJSON_AddItemToArray(conns, o);
		if (dm && dm->running) {
			since_text(dm->since, since, sizeof(since));
			fprintf(out, "connection %s: running (pid %d, since %s)\n", name, dm->pid, since);
		} else {
			fprintf(out, "connection %s: not running\n", name);
		}
		add_last_error(o, false, name, out);
	}
	fb_config_check(c->config_path, NULL, NULL, &every_check, &warn);
	warns = cJSON_AddArrayToObject(extra, "warnings");
	for (size_t i = 0; i < warn.count; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "severity", warn.entries[i].severity == FB_SEV_ERROR
					? "error" : "warning");
		cJSON_AddStringToObject(e, "message", warn.entries[i].message);
		cJSON_AddItemToArray(warns, e);
	}
	if (warn.count)
		fprintf(out, "configuration (%zu warning%s, %zu error%s):\n", warn.warnings,
		       warn.warnings == 1 ? "" : "s", warn.errors, warn.errors == 1 ? "" : "s");
	if (c->json)
		fclose(out);
	else
		fb_diag_print(&warn, stdout);
	rc = ctl_finish(c, &pd, CTL_OK, extra);
out:
	fb_apply_plan_free(plan);
	fb_diag_free(&d);
	fb_diag_free(&pd);
	fb_diag_free(&warn);
	ctl_live_close(&l);
	return rc;
}
