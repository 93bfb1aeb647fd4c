/* SPDX-License-Identifier: Apache-2.0 */
/* `bus scan BUS [--ids RANGE] [--first] [--fc04] [--fc11] [--turnaround-ms N]
 * [--timeout S]` | `bus scan BUS --cancel`: queues a
 * scan to the bus's running driver (docs/bus-scan.md), which pauses
 * polling, scans with its own link and reports through the results ring:
 * progress lines, one "found ..." line per device, then the summary.
 * Polling resumes by itself when the scan ends, also if we are killed.
 * --cancel queues "cancel", which the scanning driver takes between probes.
 * --json --progress-lines first prints every result as a {"progress"} line. */
#include "live.h"
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_WAIT_MS (330 * 1000) /* the driver's scan deadline is 300 s */
#define ALIVE_WAIT_MS 3000

struct scan_wait {
	const struct ctl *c;
	uint64_t ticket;
	int status;                  /* 0 while running; -1 driver gone */
	char reason[FB_TABLE_REASON_MAX];
	cJSON *found;                /* "found" lines as objects */
	bool tty;
	bool lines;                  /* --progress-lines: each result as a JSON line */
};

/* "unit=3 19200/E/1 fc=3 v=1234 p50=8 p99=10 to=70 late dup" (the
 * driver's mb_scan_report_line) -> the fields of fieldbridge-modbus --scan
 * --json. */
static cJSON *found_json(const char *line)
{
	cJSON *o = cJSON_CreateObject();
	char buf[FB_TABLE_REASON_MAX], *save = NULL, par[2] = "";
	int baud, stop;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');

		if (sscanf(t, "%d/%1[ENO-]/%d", &baud, par, &stop) == 3) {
			cJSON_AddNumberToObject(o, "baud", baud);
			cJSON_AddStringToObject(o, "parity", par);
			cJSON_AddNumberToObject(o, "stop_bits", stop);
		} else if (!strcmp(t, "late")) {
			cJSON_AddBoolToObject(o, "late_reply", true);
		} else if (!strcmp(t, "dup")) {
			cJSON_AddBoolToObject(o, "duplicate_suspect", true);
		} else if (!strcmp(t, "garbled")) {
			cJSON_AddStringToObject(o, "how", "garbled replies only (CRC)");
		} else if (eq) {
			*eq = '\0';
			if (!strcmp(t, "x"))
				cJSON_AddNumberToObject(o, "exception", strtol(eq + 1, NULL, 16));
			else
				cJSON_AddNumberToObject(o, !strcmp(t, "unit") ? "unit_id" :
							!strcmp(t, "v") ? "value" :
							!strcmp(t, "to") ? "suggested_response_timeout_ms" :
							!strcmp(t, "p50") ? "latency_ms_p50" :
							!strcmp(t, "p99") ? "latency_ms_p99" : t,
							atof(eq + 1));
		}
	}
	cJSON_AddArrayToObject(o, "definition_candidates");
	return o;
}

/* "candidate unit=17 def=peacefair-pzem-004t": to that unit's object. */
static void candidate(cJSON *found, const char *line)
{
	int unit;
	char def[FB_TABLE_REASON_MAX];
	cJSON *o;

	if (sscanf(line, "unit=%d def=%95s", &unit, def) != 2)
		return;
	cJSON_ArrayForEach(o, found) {
		cJSON *u = cJSON_GetObjectItem(o, "unit_id");

		if (u && u->valueint == unit)
			cJSON_AddItemToArray(cJSON_GetObjectItem(o, "definition_candidates"),
					     cJSON_CreateString(def));
	}
}

static void on_result(void *ctx, struct ctl_bus *b, const struct fb_command_result *res)
{
	struct scan_wait *w = ctx;

	(void)b;
	if (w->status || res->ticket != w->ticket)
		return;
	if (res->status != FB_COMMAND_PROGRESS) {
		w->status = res->status;
		snprintf(w->reason, sizeof(w->reason), "%s", res->reason);
		return;
	}
	if (w->lines) {
		/* Before the document, one {"progress": ...} line per result, so a
		 * caller reading our stdout (the web) can show the scan live. */
		cJSON *o = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(o, "progress", res->reason);
		s = cJSON_PrintUnformatted(o);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	}
	if (!strncmp(res->reason, "candidate ", 10)) {
		candidate(w->found, res->reason + 10);
		if (!w->c->json)
			printf("  %s\n", res->reason);
	} else if (!strncmp(res->reason, "found ", 6)) {
		cJSON_AddItemToArray(w->found, found_json(res->reason + 6));
		if (!w->c->json)
			printf("%s%s\n", w->tty ? "\r\033[K" : "", res->reason);
	} else if (!w->c->json && w->tty) {
		fprintf(stderr, "\r\033[K%s", res->reason);
	}
	fflush(stdout);
}

static void on_detaching(void *ctx, struct ctl_bus *b)
{
	struct scan_wait *w = ctx;

	(void)b;
	if (!w->status) {
		w->status = -1;
		snprintf(w->reason, sizeof(w->reason), "the driver restarted during the scan");
	}
}

int ctl_bus_scan(const struct ctl *c)
{
	struct ctl_live l = { 0 };
	struct scan_wait w = { .c = c };
	struct fb_command cmd;
	struct fb_diag d;
	struct ctl_bus *b;
	const char *bus = NULL;
	char opts[FB_TABLE_STRING_MAX] = "";
	long timeout_ms = SCAN_WAIT_MS;
	bool cancel = false;
	int64_t deadline;
	cJSON *extra;
	int rc;

	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		size_t len = strlen(opts);

		if (!strcmp(a, "--ids") && i + 1 < c->argc)
			snprintf(opts + len, sizeof(opts) - len, "%sids=%s", len ? " " : "",
				 c->argv[++i]);
		else if (!strcmp(a, "--first") || !strcmp(a, "--fc04") || !strcmp(a, "--fc11"))
			snprintf(opts + len, sizeof(opts) - len, "%s%s", len ? " " : "", a + 2);
		else if (!strcmp(a, "--turnaround-ms") && i + 1 < c->argc)
			snprintf(opts + len, sizeof(opts) - len, "%sturnaround=%s", len ? " " : "",
				 c->argv[++i]);
		else if (!strcmp(a, "--cancel"))
			cancel = true;
		else if (!strcmp(a, "--progress-lines") && c->json)
			w.lines = true;
		else if (!strcmp(a, "--timeout") && i + 1 < c->argc)
			timeout_ms = (long)(atof(c->argv[++i]) * 1000);
		else if (!bus && a[0] != '-')
			bus = a;
		else
			return ctl_usage_error(c, "usage: bus scan BUS [--ids RANGE] [--first] "
					       "[--fc04] [--fc11] [--turnaround-ms N] [--timeout S] | "
					       "bus scan BUS --cancel");
	}
	if (cancel && opts[0])
		return ctl_usage_error(c, "bus scan: --cancel takes no scan options");
	if (cancel)
		snprintf(opts, sizeof(opts), "cancel");
	/* The options travel as the command's string value (47 bytes). */
	if (strlen(opts) >= sizeof(opts) - 1)
		return ctl_usage_error(c, "bus scan: the options do not fit in a command "
				       "(use fewer --ids ranges)");
	if (!bus || timeout_ms <= 0)
		return ctl_usage_error(c, "usage: bus scan BUS [--ids RANGE] [--first] [--fc04] "
				       "[--fc11] [--turnaround-ms N] [--timeout S] | "
				       "bus scan BUS --cancel");
	fb_diag_init(&d);
	rc = ctl_live_open(&l, c->config_path, bus, &d);
	b = rc == CTL_OK ? ctl_live_bus(&l, bus) : NULL;
	if (rc == CTL_OK && !b) {
		fb_diag_error(&d, "no bus %s", bus);
		rc = CTL_NOT_FOUND;
	}
	/* Liveness is known from the first heartbeat seen after attaching. */
	for (int64_t until = fb_mono_ms() + ALIVE_WAIT_MS;
	     rc == CTL_OK && !ctl_live_running(b) && fb_mono_ms() < until;)
		if (ctl_live_poll(&l, -1, 200) < 0)
			break;
	if (rc == CTL_OK && (!b->reader || !ctl_live_running(b))) {
		fb_diag_error(&d, "the driver of bus %s is not running; scan its line with "
			      "fieldbridge-modbus --scan --device PATH", bus);
		rc = CTL_NOT_RUNNING;
	}
	if (rc != CTL_OK)
		goto out;
	memset(&cmd, 0, sizeof(cmd));
	cmd.point_index = FB_COMMAND_BUS_SCAN;
	cmd.value.kind = FB_VALUE_STRING;
	snprintf(cmd.value.s, sizeof(cmd.value.s), "%s", opts);
	snprintf(cmd.origin, sizeof(cmd.origin), "%s", l.origin);
	cmd.ts_ms = fb_now_ms();
	snprintf(cmd.event_id, sizeof(cmd.event_id), "ctl-scan-%ld-%lld", (long)getpid(),
		 (long long)cmd.ts_ms);
	if (fb_table_command_push(b->reader, &cmd) < 0) {
		fb_diag_error(&d, "bus %s: cannot queue the scan: %s", bus,
			      errno == EAGAIN ? "the queue is full, try again" : strerror(errno));
		rc = errno == EACCES || errno == EPERM ? CTL_DENIED : CTL_FAILED;
		goto out;
	}
	w.ticket = cmd.ticket;
	w.found = cJSON_CreateArray();
	w.tty = isatty(1);
	l.result = on_result;
	l.detaching = on_detaching;
	l.ctx = &w;
	deadline = fb_mono_ms() + timeout_ms;
	while (!w.status) {
		int64_t now = fb_mono_ms();

		if (now >= deadline || ctl_live_poll(&l, -1, (int)(deadline - now)) < 0)
			break;
	}
	if (w.tty && !c->json)
		fputs("\r\033[K", stderr);
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "bus", bus);
	cJSON_AddItemToObject(extra, "devices", w.found);
	rc = w.status == FB_COMMAND_DONE ? CTL_OK : w.status == 0 ? CTL_TIMEOUT : CTL_FAILED;
	if (!w.status)
		snprintf(w.reason, sizeof(w.reason), "no result from the driver within %.0f s",
			 (double)timeout_ms / 1000.0);
	cJSON_AddStringToObject(extra, "status", rc == CTL_OK ? "done" : rc == CTL_TIMEOUT ?
				"timeout" : "failed");
	cJSON_AddStringToObject(extra, "summary", w.reason);
	if (rc != CTL_OK)
		fb_diag_error(&d, "bus %s: scan: %s", bus, w.reason);
	else if (!c->json)
		printf("bus %s: %s%s\n", bus, cancel ? "" : "scan ", w.reason);
	rc = ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	ctl_live_close(&l);
	return rc;
out:
	rc = ctl_finish(c, &d, rc, NULL);
	fb_diag_free(&d);
	ctl_live_close(&l);
	return rc;
}
