/* SPDX-License-Identifier: Apache-2.0 */
/* Setup and the one poll() loop of fieldbridge-modbus. */
#include "modbus-internal.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"

#define HEARTBEAT_PERIOD_MS 1000
/* Transactions per loop pass before signals are looked at again. */
#define STEPS_PER_PASS 16

static int driver_build(struct mb_driver *d, int64_t now)
{
	size_t ndiag;
	const struct fb_diag_point_desc *diag = fb_model_diag_points(&ndiag);
	size_t n = 0;

	d->devices = calloc(d->bus->ndevices ? d->bus->ndevices : 1, sizeof(*d->devices));
	if (!d->devices)
		return -1;
	for (size_t i = 0; i < d->bus->ndevices; i++) {
		struct fb_device_conf *dc = &d->bus->devices[i];
		struct mb_device *dev;

		if (!dc->def)
			continue; /* disabled: its definition had errors */
		dev = &d->devices[d->ndevices];
		dev->conf = dc;
		dev->def = dc->def;
		/* A device that must not be polled faster (definition's
		 * min_interval_ms) is not, whatever the configuration says;
		 * --check warns about the difference. */
		dev->interval_ms = dc->poll_interval_ms;
		if ((uint32_t)dev->interval_ms < dc->def->min_interval_ms)
			dev->interval_ms = (int)dc->def->min_interval_ms;
		if (mb_sunspec_setup(dev) < 0)
			return -1;
		dev->table_device = (uint32_t)d->ndevices;
		dev->first_point = d->npoints;
		dev->first_diag = d->npoints + (uint32_t)dc->def->npoints;
		dev->pstate = calloc(dc->def->npoints ? dc->def->npoints : 1,
				     sizeof(*dev->pstate));
		if (!dev->pstate)
			return -1;
		d->npoints += (uint32_t)(dc->def->npoints + FB_DIAG_COUNT);
		d->ndevices++;
	}
	mb_splits_load(d);
	for (size_t i = 0; i < d->ndevices; i++)
		if (mb_plan_device(&d->devices[i], now) < 0)
			return -1;
	/* table index -> owner, in fb_daemon_bus_table_create's layout */
	d->point_map = calloc(d->npoints ? d->npoints : 1, sizeof(*d->point_map));
	if (!d->point_map)
		return -1;
	for (size_t i = 0; i < d->ndevices; i++) {
		for (size_t j = 0; j < d->devices[i].def->npoints + FB_DIAG_COUNT; j++, n++) {
			d->point_map[n].device = (uint32_t)i;
			d->point_map[n].point = (uint32_t)j;
		}
	}
	d->table = fb_daemon_bus_table_create(d->cfg, d->bus, diag, ndiag);
	return d->table ? mb_covers_setup(d) : -1;
}

/* Serial line timing, and the airtime budget logged once at start. */
static void driver_timing(struct mb_driver *d)
{
	const struct fb_bus_conf *bus = d->bus;
	double util = 0;

	d->rtu_framing = bus->transport != FB_BUS_TCP;
	if (!d->rtu_framing)
		return;
	d->char_us = fb_plan_char_us(bus->baud, bus->parity, bus->data_bits, bus->stop_bits);
	d->t35_us = fb_plan_t35_us(bus->baud, d->char_us);
	for (size_t i = 0; i < d->ndevices; i++)
		util += fb_plan_airtime_share(bus, d->devices[i].conf->guard_time_ms,
					      d->devices[i].blocks, d->devices[i].nblocks);
	fb_log(util > 1.0 ? FB_LOG_WARNING : FB_LOG_INFO,
	       "bus %s: t3.5 = %.2f ms at %d baud; planned reads need %.0f%% of the "
	       "line's airtime", bus->name, d->t35_us / 1000.0, bus->baud, util * 100.0);
}

static void handle_signal(struct mb_driver *d)
{
	if (fb_daemon_signal_stop(d->signal_fd, "bus", d->bus->name, NULL))
		d->stop = true;
}

/* The link went down: every device is unreachable until it is back. */
static void bus_down(struct mb_driver *d)
{
	for (size_t i = 0; i < d->ndevices; i++) {
		d->devices[i].failures = d->bus->offline_after;
		mb_device_set_online(d, &d->devices[i], false, "bus down");
	}
	mb_covers_link_down(d);
	mb_stats_publish(d, fb_mono_ms(), true);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* What `systemctl status` shows.  Errors and utilisation are taken when
 * the statistics are published (every 10 s), so a failing device does not
 * turn every transaction into a notification. */
static void driver_notify(struct mb_driver *d, struct fb_notify_loop *nl, int64_t *stats_ms,
			  uint64_t *errors)
{
	size_t online = 0;

	if (*stats_ms != d->next_stats_ms) {
		*stats_ms = d->next_stats_ms;
		*errors = 0;
		for (size_t i = 0; i < d->ndevices; i++)
			*errors += d->devices[i].stats.errors;
	}
	for (size_t i = 0; i < d->ndevices; i++)
		online += d->devices[i].online;
	if (d->ctx)
		fb_notify_loop_status(nl, "%zu of %zu devices online, %llu errors, bus "
				      "utilisation %.0f %%", online, d->ndevices,
				      (unsigned long long)*errors, d->utilisation_pct);
	else
		fb_notify_loop_status(nl, "bus down, reconnecting; %zu of %zu devices online, "
				      "%llu errors", online, d->ndevices,
				      (unsigned long long)*errors);
	/* The table exists and the first cycle has started (a connect
	 * attempt, the first read). */
	fb_notify_loop_ready(nl);
}

static int driver_loop(struct mb_driver *d)
{
	int64_t next_heartbeat = 0, stats_ms = -1, armed = -1;
	uint64_t errors = 0;
	struct fb_notify_loop nl;

	fb_notify_loop_init(&nl, fb_mono_ms());
	while (!d->stop) {
		int64_t now = fb_mono_ms(), deadline;
		struct pollfd pfd[3];
		bool more_commands;
		unsigned lock_timeouts;

		if (!d->ctx && now >= d->next_connect_ms && mb_link_connect(d, now) == 0) {
			for (size_t i = 0; i < d->ndevices && d->ctx; i++)
				mb_sunspec_locate(d, &d->devices[i], now);
			mb_sched_reset(d, now);
			d->link_was_up = true;
			mb_stats_publish(d, now, true);
		}
		for (size_t i = 0; i < d->ndevices && d->ctx && !d->scanning; i++)
			if (d->devices[i].own_def && d->devices[i].online &&
			    now >= d->devices[i].sunspec_next_ms)
				mb_sunspec_locate(d, &d->devices[i], now);
		mb_covers_tick(d, fb_mono_ms());
		more_commands = mb_commands_run(d);
		for (int i = 0; i < STEPS_PER_PASS && d->ctx; i++) {
			struct mb_device *served = mb_sched_step(d, fb_mono_ms());

			if (!served)
				break;
			/* A device's reads are published as soon as they are
			 * done, not after the whole cycle; reads of one device
			 * back to back stay one notification (one state). */
			if (!mb_sched_next_is(d, served, fb_mono_ms()))
				fb_table_notify(d->table);
			/* Writes go out at the next frame boundary; so do run
			 * ends, which must not wait for a pass of reads. */
			mb_covers_tick(d, fb_mono_ms());
			more_commands = mb_commands_run(d);
			/* A pass of slow transactions must not starve it. */
			fb_notify_loop_watchdog(&nl, fb_mono_ms());
			/* Ready after the first transaction, not the first pass
			 * (16 of them): `systemctl restart` waits for it. */
			if (!nl.ready)
				driver_notify(d, &nl, &stats_ms, &errors);
		}
		if (!d->ctx && d->link_was_up) {
			d->link_was_up = false;
			bus_down(d);
		}
		/* Every pass refreshes the heartbeat (one store): while the
		 * bus is polled at least once a second, the heartbeat's own
		 * deadline never comes first and costs no wake-up of its own. */
		now = fb_mono_ms();
		fb_table_heartbeat(d->table, now);
		next_heartbeat = now + HEARTBEAT_PERIOD_MS;
		mb_stats_publish(d, now, false);
		fb_table_notify(d->table);
		driver_notify(d, &nl, &stats_ms, &errors);

		deadline = min64(next_heartbeat, d->next_stats_ms);
		deadline = min64(deadline, d->ctx ? mb_sched_next_deadline(d) : d->next_connect_ms);
		if (more_commands)
			deadline = min64(deadline, d->commands_resume_ms);
		if (d->ctx)
			deadline = mb_covers_deadline(d, deadline);
		deadline = fb_deadline_min(deadline, fb_notify_loop_watchdog(&nl, now));
		/* 0 would disarm the timer: a deadline already passed fires now. */
		fb_timerfd_rearm(d->timer_fd, deadline > now ? deadline : now, &armed);
		pfd[0] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = d->timer_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = fb_table_command_fd(d->table), .events = POLLIN };
		if (poll(pfd, 3, deadline > now ? -1 : 0) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "poll");
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			armed = -1;
		if (pfd[0].revents & POLLIN)
			handle_signal(d);
		if (pfd[2].revents & POLLIN)
			d->command_fd_ready = true;
		lock_timeouts = fb_table_command_lock_timeouts(d->table, fb_mono_ms());
		if (lock_timeouts)
			fb_warn("bus %s: the command queue stayed locked by another process "
				"(%u waits of %d ms); commands wait", d->bus->name,
				lock_timeouts, FB_TABLE_LOCK_TIMEOUT_MS);
		if (fb_table_superseded(d->table)) {
			fb_warn("bus %s: another driver took over the state table; exiting",
				d->bus->name);
			d->stop = true;
		}
	}
	fb_notify_loop_stopping(&nl);
	return 0;
}

static void driver_free(struct mb_driver *d)
{
	mb_link_close(d, NULL);
	fb_table_destroy(d->table);
	for (size_t i = 0; d->devices && i < d->ndevices; i++) {
		mb_plan_free(&d->devices[i]);
		free(d->devices[i].cuts);
		free(d->devices[i].pstate);
		mb_sunspec_free(&d->devices[i]);
	}
	mb_covers_free(d);
	free(d->devices);
	free(d->point_map);
	free(d->splits_path);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	fb_config_free(d->cfg);
}

/* "<state_dir>/modbus-<bus>.splits.json"; the directory is created if
 * missing (one level: the state dir itself). */
static void splits_path_init(struct mb_driver *d)
{
	const char *dir = d->cfg->state_dir;
	size_t len;

	if (!dir)
		return;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fb_log_errno(FB_LOG_WARNING, "bus %s: state_dir %s: cannot create it; learned "
			     "splits are kept in memory only", d->bus->name, dir);
		return;
	}
	len = strlen(dir) + strlen(d->bus->name) + 32;
	d->splits_path = malloc(len);
	if (d->splits_path)
		snprintf(d->splits_path, len, "%s/modbus-%s.splits.json", dir, d->bus->name);
}

/* fieldbridge-modbus serves tcp, rtu and rtu_over_tcp buses. */
static bool driver_serves(const struct fb_config *cfg, const struct fb_bus_conf *bus,
			  struct fb_diag *diag)
{
	(void)cfg;
	(void)diag;
	if (bus->transport == FB_BUS_TCP || bus->transport == FB_BUS_RTU ||
	    bus->transport == FB_BUS_RTU_OVER_TCP)
		return true;
	fb_err("bus %s: not a Modbus bus (transport tcp, rtu or rtu_over_tcp "
	       "expected): another driver serves it", bus->name);
	return false;
}

int mb_driver_run(const struct fb_daemon_args *args)
{
	struct mb_driver d;
	struct fb_daemon_setup setup;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.signal_fd = d.timer_fd = -1;
	/* Bad definitions disable their device only; the bus still runs. */
	if (fb_daemon_start(args, "bus", driver_serves, &setup) < 0) {
		rc = setup.exit_code;
		goto out;
	}
	d.cfg = setup.cfg;
	d.bus = setup.bus;
	d.signal_fd = setup.signal_fd;
	d.timer_fd = setup.timer_fd;
	splits_path_init(&d);
	d.window_start_ms = fb_mono_ms();
	if (driver_build(&d, fb_mono_ms()) < 0)
		goto out;
	driver_timing(&d);
	/* Diagnostics exist from the start: "bus connected: off" until it is. */
	mb_stats_publish(&d, fb_mono_ms(), true);
	fb_info("bus %s: serving %zu device%s, %u points", d.bus->name, d.ndevices,
		d.ndevices == 1 ? "" : "s", d.npoints);
	rc = driver_loop(&d) < 0 ? 1 : 0;
out:
	driver_free(&d);
	return rc;
}
