/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-gpio's setup, its one poll() loop and its exit policy.  The
 * loop sleeps on a signalfd, a timerfd for the earliest deadline (debounce
 * windows, press gestures, pulse ends, rate decay, heartbeat, counter
 * writes), the table's command fd and one edge-event fd per input line;
 * nothing polls a line's level.  What a wake-up does to the points is in
 * points.c, commands are in command.c. */
#include "gpio-internal.h"
#include "clock.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEARTBEAT_PERIOD_MS 1000

static void handle_signal(struct gl_driver *d)
{
	if (fb_daemon_signal_stop(d->signal_fd, "bus", d->bus->name, NULL))
		d->stop = true;
}

static int driver_loop(struct gl_driver *d)
{
	struct pollfd *pfd = calloc(d->npoints + 3, sizeof(*pfd));
	size_t *owner = calloc(d->npoints + 3, sizeof(*owner));
	int64_t next_heartbeat = 0;
	struct fb_notify_loop nl;
	size_t running = 0;
	int rc = 0;

	if (!pfd || !owner) {
		free(pfd);
		free(owner);
		return -1;
	}
	for (size_t i = 0; i < d->ndevices; i++)
		running += d->device_ok[i];
	fb_notify_loop_init(&nl, fb_mono_ms());
	/* Which devices run is settled at start (a restart retries the rest). */
	fb_notify_loop_status(&nl, "%zu of %zu devices running, %zu points on chip %s (%s)",
			      running, d->ndevices, d->npoints, d->bus->gpio_chip, d->chip_path);
	/* The deadline the timerfd holds (-1: none, or it fired): re-arming
	 * the same one is a syscall saved on every edge. */
	int64_t armed = -1;

	while (!d->stop) {
		int64_t now = fb_mono_ms(), deadline;
		unsigned lock_timeouts;
		struct fb_command cmd;
		size_t n = 3;

		deadline = gl_points_run_deadlines(d, now);
		if (now >= next_heartbeat) {
			fb_table_heartbeat(d->table, now);
			next_heartbeat = now + HEARTBEAT_PERIOD_MS;
		}
		if (d->persist_now || (d->persist_dirty && now >= d->persist_next_ms)) {
			gl_persist_save(d);
			d->persist_next_ms = now + (int64_t)d->bus->gpio_persist_interval_s * 1000;
		}
		fb_table_notify(d->table);
		/* The lines are requested, the initial values published and the
		 * first deadlines run. */
		fb_notify_loop_ready(&nl);
		if (next_heartbeat < deadline)
			deadline = next_heartbeat;
		if (d->persist_dirty && d->persist_next_ms < deadline)
			deadline = d->persist_next_ms;
		deadline = fb_deadline_min(deadline, fb_notify_loop_watchdog(&nl, now));
		fb_timerfd_rearm(d->timer_fd, deadline > now ? deadline : now, &armed);

		pfd[0] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = d->timer_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = fb_table_command_fd(d->table), .events = POLLIN };
		for (size_t i = 0; i < d->npoints; i++) {
			if (!d->points[i].line || !gl_points_is_input(&d->points[i]))
				continue;
			pfd[n] = (struct pollfd){ .fd = gl_line_fd(d->points[i].line),
						  .events = POLLIN };
			owner[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "poll");
			rc = -1;
			break;
		}
		if (pfd[1].revents & POLLIN)
			armed = -1;
		/* Edges first: a debounce window that ends now must see them. */
		for (size_t i = 3; i < n; i++)
			if (pfd[i].revents & POLLIN)
				gl_points_read_edges(d, &d->points[owner[i]]);
		if (pfd[0].revents & POLLIN)
			handle_signal(d);
		if (pfd[2].revents & POLLIN) {
			fb_table_command_fd_drain(d->table);
			while (fb_table_command_pop(d->table, &cmd) == 1)
				gl_command_run(d, &cmd);
		}
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
	/* Before the exit policy drives the outputs to their safe values. */
	fb_notify_loop_stopping(&nl);
	free(pfd);
	free(owner);
	return rc;
}

/* Table layout: every device with a definition, its points in definition
 * order, so the exporter finds them by key. */
static int driver_build(struct gl_driver *d)
{
	struct fb_device_desc *ddesc = NULL;
	struct fb_point_desc *pdesc = NULL;
	size_t np = 0;

	for (size_t i = 0; i < d->bus->ndevices; i++)
		if (d->bus->devices[i].def)
			np += d->bus->devices[i].def->npoints;
	d->points = calloc(np ? np : 1, sizeof(*d->points));
	d->devices = calloc(d->bus->ndevices ? d->bus->ndevices : 1, sizeof(*d->devices));
	d->device_ok = calloc(d->bus->ndevices ? d->bus->ndevices : 1, sizeof(*d->device_ok));
	ddesc = calloc(d->bus->ndevices ? d->bus->ndevices : 1, sizeof(*ddesc));
	pdesc = calloc(np ? np : 1, sizeof(*pdesc));
	if (!d->points || !d->devices || !d->device_ok || !ddesc || !pdesc)
		goto fail;
	for (size_t i = 0; i < d->bus->ndevices; i++) {
		const struct fb_device_conf *dc = &d->bus->devices[i];
		size_t first = d->npoints;

		if (!dc->def)
			continue; /* disabled: its definition had errors */
		snprintf(ddesc[d->ndevices].device, sizeof(ddesc[0].device), "%s", dc->id);
		for (size_t j = 0; j < dc->def->npoints; j++) {
			struct gl_point *p = &d->points[d->npoints];
			const struct fb_point_def *src;

			p->dev = dc;
			p->def = &dc->def->points[j];
			fb_config_gpio_effective(dc, p->def, &p->cfg);
			p->index = (uint32_t)d->npoints;
			p->device = (uint32_t)d->ndevices;
			p->offset = -1;
			p->value = p->cfg.initial;
			src = p->cfg.source ? fb_model_point(dc->def, p->cfg.source) : NULL;
			p->source = src ? (int)(first + (size_t)(src - dc->def->points)) : -1;
			if (p->cfg.role == FB_GPIO_EVENT)
				gl_gesture_init(&p->gest, p->cfg.double_ms, p->cfg.long_ms);
			snprintf(pdesc[d->npoints].device, sizeof(pdesc[0].device), "%s", dc->id);
			snprintf(pdesc[d->npoints].point, sizeof(pdesc[0].point), "%s", p->def->key);
			pdesc[d->npoints].kind = (uint8_t)fb_point_value_kind(p->def);
			d->npoints++;
		}
		/* A cover's relays start off, whatever was on or saved before. */
		for (size_t j = first; j < d->npoints; j++) {
			struct gl_point *c = &d->points[j];

			if (c->cfg.role != FB_GPIO_COVER)
				continue;
			gl_cover_setup(c, &d->points[first], d->npoints - first);
			if (c->open_idx >= 0)
				d->points[c->open_idx].relay = true;
			if (c->close_idx >= 0)
				d->points[c->close_idx].relay = true;
		}
		for (size_t j = first; j < d->npoints; j++)
			if (d->points[j].relay) {
				d->points[j].value = false;
				d->points[j].cfg.restore = false;
				d->points[j].cfg.on_exit = FB_GPIO_EXIT_OFF;
			}
		d->devices[d->ndevices++] = dc;
	}
	d->table = fb_daemon_table_create(d->cfg, d->bus, ddesc, d->ndevices, pdesc, d->npoints);
	if (!d->table)
		goto fail;
	free(ddesc);
	free(pdesc);
	return 0;
fail:
	free(ddesc);
	free(pdesc);
	return -1;
}

/* Requests every line of device `dev`; on any failure releases them all
 * and disables the device (the others keep working). */
static bool device_open(struct gl_driver *d, uint32_t dev)
{
	char err[1280];

	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];
		bool initial;
		int level;

		if (p->device != dev || !fb_gpio_role_has_line(p->cfg.role))
			continue;
		p->offset = gl_line_resolve(d->chip, &p->cfg, err, sizeof(err));
		/* Outputs come up at their final value: requested with it, never
		 * requested and then set, so a relay does not chatter. */
		initial = p->cfg.role == FB_GPIO_OUTPUT && p->value;
		if (p->offset < 0 || gl_line_open(d, p, initial, err, sizeof(err)) < 0) {
			fb_err("bus %s: device %s: point %s: %s; device disabled", d->bus->name,
			       p->dev->id, p->def->key, err);
			goto fail;
		}
		if (gl_points_is_input(p)) {
			level = gl_line_get(p->line);
			gl_debounce_init(&p->db, level > 0, p->cfg.debounce_ms);
		}
	}
	return true;
fail:
	for (size_t i = 0; i < d->npoints; i++) {
		if (d->points[i].device == dev) {
			gl_line_release(d->points[i].line);
			d->points[i].line = NULL;
		}
	}
	return false;
}

/* Exit policy: drive the safe value of outputs that have one, end pulses,
 * write the counters, then release. */
static void driver_free(struct gl_driver *d)
{
	for (size_t i = 0; d->points && i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];

		if (!p->line)
			continue;
		if (p->cfg.role == FB_GPIO_PULSE_OUTPUT && p->until_ms)
			gl_line_set(p->line, false);
		if (p->cfg.role == FB_GPIO_OUTPUT && p->cfg.on_exit != FB_GPIO_EXIT_KEEP)
			gl_line_set(p->line, p->cfg.on_exit == FB_GPIO_EXIT_ON);
	}
	if (d->table && d->points)
		gl_persist_save(d);
	for (size_t i = 0; d->points && i < d->npoints; i++)
		gl_line_release(d->points[i].line);
	gl_chip_close(d->chip);
	fb_table_destroy(d->table);
	free(d->points);
	free(d->devices);
	free(d->device_ok);
	free(d->state_path);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	fb_config_free(d->cfg);
}

/* fieldbridge-gpio serves only "transport": "gpio" buses. */
static bool driver_serves(const struct fb_config *cfg, const struct fb_bus_conf *bus,
			  struct fb_diag *diag)
{
	if (bus->transport == FB_BUS_GPIO)
		return true;
	fb_diag_error(diag, "%s: bus %s: expected \"transport\": \"gpio\" for "
		      "fieldbridge-gpio (it is a Modbus bus: use fieldbridge-modbus)",
		      cfg->path, bus->name);
	return false;
}

int gl_driver_run(const struct fb_daemon_args *args)
{
	struct gl_driver d;
	struct fb_daemon_setup setup;
	char err[1024];
	size_t ok = 0;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.signal_fd = d.timer_fd = -1;
	if (fb_daemon_start(args, "bus", driver_serves, &setup) < 0) {
		rc = setup.exit_code;
		goto out;
	}
	d.cfg = setup.cfg;
	d.bus = setup.bus;
	d.signal_fd = setup.signal_fd;
	d.timer_fd = setup.timer_fd;
	d.chip = gl_chip_find(d.bus->gpio_chip, d.chip_path, sizeof(d.chip_path), err,
			      sizeof(err));
	if (!d.chip) {
		fb_err("bus %s: %s", d.bus->name, err);
		goto out;
	}
	gl_persist_init(&d);
	if (driver_build(&d) < 0)
		goto out;
	gl_persist_load(&d);
	for (uint32_t i = 0; i < d.ndevices; i++)
		ok += d.device_ok[i] = device_open(&d, i);
	gl_points_publish_initial(&d);
	fb_info("bus %s: chip \"%s\" (%s, %s): %zu of %zu device%s running, %zu points",
		d.bus->name, d.bus->gpio_chip, d.chip_path, gl_backend_name(), ok, d.ndevices,
		d.ndevices == 1 ? "" : "s", d.npoints);
	if (!ok && d.ndevices) {
		fb_err("bus %s: no device could start", d.bus->name);
		goto out;
	}
	rc = driver_loop(&d) < 0 ? 1 : 0;
out:
	driver_free(&d);
	return rc;
}
