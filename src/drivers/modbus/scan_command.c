/* SPDX-License-Identifier: Apache-2.0 */
/* A scan queued to the running driver (fieldbridgectl bus scan, the web's
 * Scan button).  Polling pauses while it runs: the scan uses the driver's
 * own link at the bus's framing, so it never competes with polls for the
 * line.  Progress (about once a second) and every device found go to the
 * results ring as FB_COMMAND_PROGRESS results of the command's ticket, the
 * summary as the final DONE.  The heartbeat goes on meanwhile, devices are
 * not marked offline, and polling resumes with every block due at once.
 * A stop signal or a "cancel" command cancels the scan; any other command
 * arriving meanwhile fails at once rather than run minutes late.  The
 * _diag_bus_scanning point is on for the whole scan. */
#include "scan.h"
#include "clock.h"
#include "log.h"

#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_PERIOD_MS 1000

struct run {
	struct mb_driver *d;
	const struct fb_command *cmd;
	int64_t next_report_ms;
	int64_t next_heartbeat_ms;
	char cancelled_by[FB_TABLE_ORIGIN_MAX];
};

static bool is_cancel(const struct fb_command *cmd)
{
	return cmd->point_index == FB_COMMAND_BUS_SCAN && cmd->value.kind == FB_VALUE_STRING &&
	       !strcmp(cmd->value.s, "cancel");
}

static void report(struct mb_driver *d, const struct fb_command *cmd,
		   enum fb_command_status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A scan's progress and result lines go out as they happen, not with the
 * next poll cycle's notification. */
static void report(struct mb_driver *d, const struct fb_command *cmd,
		   enum fb_command_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mb_command_vresult(d, cmd, status, fmt, ap);
	va_end(ap);
	fb_table_notify(d->table);
}

/* Commands queued while the scan runs (polling the queue's fd, no wait). */
static bool commands_mid_scan(struct run *r)
{
	struct pollfd pfd = { .fd = fb_table_command_fd(r->d->table), .events = POLLIN };
	struct fb_command c;
	bool go = true;

	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1)
		return true;
	fb_table_command_fd_drain(r->d->table);
	while (fb_table_command_pop(r->d->table, &c) == 1) {
		if (is_cancel(&c)) {
			report(r->d, &c, FB_COMMAND_DONE, "cancelled the scan (ticket %llu)",
			       (unsigned long long)r->cmd->ticket);
			snprintf(r->cancelled_by, sizeof(r->cancelled_by), "%s", c.origin);
			go = false;
		} else {
			report(r->d, &c, FB_COMMAND_FAILED, "not run: bus %s is scanning "
			       "(polling paused); try again when the scan is done",
			       r->d->bus->name);
		}
	}
	return go;
}

static bool on_progress(void *ctx, const struct mb_scan_progress *p)
{
	struct run *r = ctx;
	int64_t now = fb_mono_ms();
	struct pollfd pfd = { .fd = r->d->signal_fd, .events = POLLIN };

	if (now >= r->next_heartbeat_ms) {
		fb_table_heartbeat(r->d->table, now);
		r->next_heartbeat_ms = now + PROGRESS_PERIOD_MS / 2;
	}
	if (p->found) {
		char line[FB_TABLE_REASON_MAX];

		char cand[sizeof(p->found->candidates)], *save = NULL;

		mb_scan_report_line(line, sizeof(line) - 6, p->found);
		report(r->d, r->cmd, FB_COMMAND_PROGRESS, "found %s", line);
		memcpy(cand, p->found->candidates, sizeof(cand));
		for (char *t = strtok_r(cand, ",", &save); t; t = strtok_r(NULL, ",", &save))
			report(r->d, r->cmd, FB_COMMAND_PROGRESS, "candidate unit=%d def=%.60s",
			       p->found->unit, t);
	} else if (now >= r->next_report_ms) {
		report(r->d, r->cmd, FB_COMMAND_PROGRESS, "progress %zu/%zu eta %.0f s", p->done,
		       p->total, p->eta_s);
		r->next_report_ms = now + PROGRESS_PERIOD_MS;
	}
	if (!commands_mid_scan(r))
		return false;
	/* SIGTERM while scanning: stop now, the loop then handles it. */
	return r->d->signal_fd < 0 || poll(&pfd, 1, 0) != 1;
}

void mb_scan_command(struct mb_driver *d, const struct fb_command *cmd)
{
	struct run r = { d, cmd, 0, 0, "" };
	struct mb_scan_params p;
	struct mb_scan_result res;
	struct fb_definition **defs = NULL;
	const char *why = NULL;
	bool tcp = d->bus->transport == FB_BUS_TCP;

	if (is_cancel(cmd)) {
		report(d, cmd, FB_COMMAND_FAILED, "no scan is running on bus %s", d->bus->name);
		return;
	}
	mb_scan_params_default(&p, false);
	if (mb_scan_parse_options(cmd->value.kind == FB_VALUE_STRING ? cmd->value.s : "", tcp, &p,
			  &why) < 0) {
		report(d, cmd, FB_COMMAND_FAILED, "%s", why);
		return;
	}
	if (!d->ctx) {
		report(d, cmd, FB_COMMAND_FAILED, "not started: bus %s is down (reconnecting)",
		       d->bus->name);
		return;
	}
	p.ndefs = mb_scan_defs_load((const char *const *)d->cfg->definition_dirs,
				    d->cfg->ndefinition_dirs, &defs);
	p.defs = (const struct fb_definition *const *)defs;
	fb_info("bus %s: scan requested by %s: polling paused", d->bus->name, cmd->origin);
	report(d, cmd, FB_COMMAND_PROGRESS, "started: polling paused");
	d->scanning = true;
	mb_stats_publish(d, fb_mono_ms(), true);
	if (mb_scan_run(d, &p, on_progress, &r, &res) < 0) {
		report(d, cmd, FB_COMMAND_FAILED, "out of memory");
	} else {
		if (res.error[0] || res.cancelled)
			report(d, cmd, FB_COMMAND_FAILED, "scan stopped after %u probes: %s%s%s",
			       res.probes, res.error[0] ? res.error : "cancelled",
			       !res.error[0] && r.cancelled_by[0] ? " by " : "",
			       !res.error[0] ? r.cancelled_by : "");
		else
			report(d, cmd, FB_COMMAND_DONE, "done: %zu found, %u probes in %.1f s, "
			       "%u late replies, %u CRC errors%s", res.ndevices, res.probes,
			       res.elapsed_s, res.late_replies, res.crc_errors,
			       res.deadline_hit ? ", deadline hit" : "");
		fb_info("bus %s: scan done (%zu found, %u probes, %.1f s): polling resumes",
			d->bus->name, res.ndevices, res.probes, res.elapsed_s);
		mb_scan_result_free(&res);
	}
	mb_scan_defs_free(defs, p.ndefs);
	d->scanning = false;
	mb_stats_publish(d, fb_mono_ms(), true);
	mb_link_flush(d);
	mb_sched_reset(d, fb_mono_ms());
}
