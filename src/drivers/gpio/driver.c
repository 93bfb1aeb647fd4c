/* Setup and the one poll() loop of fieldbridge-gpio: a signalfd, a timerfd
 * for the earliest deadline (debounce windows, press gestures, pulse ends,
 * rate decay, heartbeat, counter writes), the table's command fd and one
 * edge-event fd per input line.  Nothing polls a line's level. */
#include "gpio-internal.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEARTBEAT_PERIOD_MS 1000
#define RATE_REFRESH_MS 1000
/* How long an event entity's value stays set before it is cleared, so a
 * later state message of the device does not repeat the press. */
#define EVENT_HOLD_MS 300
#define EDGES_PER_READ 16

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool is_input(const struct gl_point *p)
{
	return p->cfg.role == FB_GPIO_INPUT || p->cfg.role == FB_GPIO_COUNTER;
}

static void write_bool(struct gl_driver *d, struct gl_point *p, bool b)
{
	struct fb_value v = { .kind = FB_VALUE_BOOL, .b = b };

	fb_table_point_write(d->table, p->index, &v, FB_QUALITY_OK, fb_now_ms());
}

static void write_float(struct gl_driver *d, struct gl_point *p, double f)
{
	struct fb_value v = { .kind = FB_VALUE_FLOAT, .f = f };

	fb_table_point_write(d->table, p->index, &v, FB_QUALITY_OK, fb_now_ms());
}

static void publish_rates(struct gl_driver *d, const struct gl_point *counter, int64_t now_ns)
{
	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *r = &d->points[i];

		if (r->cfg.role != FB_GPIO_RATE || &d->points[r->source] != counter)
			continue;
		r->rate = gpio_counter_rate(&counter->ctr, now_ns, counter->cfg.impulses_per_unit,
					    r->cfg.rate_period_s, r->cfg.rate_scale,
					    r->cfg.rate_timeout_s);
		write_float(d, r, r->rate);
	}
}

static void event_fire(struct gl_driver *d, struct gl_point *e, enum gpio_press press)
{
	struct fb_value v = { .kind = FB_VALUE_STRING };

	if (press == GPIO_PRESS_NONE)
		return;
	snprintf(v.s, sizeof(v.s), "%s", gpio_press_name(press));
	fb_table_point_write(d->table, e->index, &v, FB_QUALITY_OK, fb_now_ms());
	e->until_ms = fb_mono_ms() + EVENT_HOLD_MS;
	fb_debug("device %s: %s: %s press", e->dev->id, e->def->key, v.s);
}

/* The debounced level of an input or counter changed at ts_ns. */
static void level_changed(struct gl_driver *d, struct gl_point *p, bool active, int64_t ts_ns)
{
	if (p->cfg.role == FB_GPIO_COUNTER) {
		if (!active)
			return;
		gpio_counter_pulse(&p->ctr, ts_ns);
		write_float(d, p, gpio_counter_total(&p->ctr, p->cfg.impulses_per_unit));
		publish_rates(d, p, ts_ns);
		d->persist_dirty = true;
		return;
	}
	write_bool(d, p, active);
	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *e = &d->points[i];

		if (e->cfg.role == FB_GPIO_EVENT && &d->points[e->source] == p)
			event_fire(d, e, gpio_gesture_input(&e->gest, active, ts_ns));
	}
}

static void read_edges(struct gl_driver *d, struct gl_point *p)
{
	struct gpio_edge ev[EDGES_PER_READ];
	int n = gpio_line_read_edges(p->line, ev, EDGES_PER_READ);

	if (n < 0) {
		fb_log_errno(FB_LOG_WARNING, "device %s: %s: reading edge events", p->dev->id,
			     p->def->key);
		return;
	}
	for (int i = 0; i < n; i++)
		if (gpio_debounce_edge(&p->db, ev[i].ts_ns, ev[i].active))
			level_changed(d, p, ev[i].active, ev[i].ts_ns);
}

/* Runs everything due by now; returns the next deadline (fb_mono_ms). */
static int64_t run_deadlines(struct gl_driver *d, int64_t now_ms, int64_t now_ns)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];
		int64_t dl = INT64_MAX;

		if (!p->line && p->cfg.role != FB_GPIO_RATE && p->cfg.role != FB_GPIO_EVENT)
			continue;
		if (is_input(p) && p->db.deadline_ns != GPIO_NEVER) {
			int64_t edge_ns = p->db.deadline_ns - p->db.window_ns;

			/* Edges the kernel queued since poll() returned move the
			 * window: take them before deciding it has ended. */
			if (now_ns >= p->db.deadline_ns) {
				struct pollfd q = { .fd = gpio_line_fd(p->line), .events = POLLIN };

				if (poll(&q, 1, 0) > 0)
					read_edges(d, p);
			}
			if (now_ns >= p->db.deadline_ns) {
				int level = gpio_line_get(p->line);

				if (level >= 0 && gpio_debounce_settle(&p->db, now_ns, level))
					level_changed(d, p, level, edge_ns);
			}
			if (p->db.deadline_ns != GPIO_NEVER)
				dl = p->db.deadline_ns / 1000000 + 1;
		}
		if (p->cfg.role == FB_GPIO_EVENT) {
			if (now_ns >= p->gest.deadline_ns)
				event_fire(d, p, gpio_gesture_timeout(&p->gest, now_ns));
			if (p->gest.deadline_ns != GPIO_NEVER)
				dl = p->gest.deadline_ns / 1000000 + 1;
		}
		if (p->until_ms && now_ms >= p->until_ms) {
			p->until_ms = 0;
			if (p->cfg.role == FB_GPIO_PULSE_OUTPUT) {
				if (gpio_line_set(p->line, false) < 0)
					fb_log_errno(FB_LOG_ERR, "device %s: %s: ending the pulse",
						     p->dev->id, p->def->key);
			} else if (p->cfg.role == FB_GPIO_EVENT) {
				struct fb_value none = { .kind = FB_VALUE_NONE };

				fb_table_point_write(d->table, p->index, &none, FB_QUALITY_OK,
						     fb_now_ms());
			}
		}
		if (p->until_ms && p->until_ms < dl)
			dl = p->until_ms;
		/* A rate with no new pulse decays: refresh it while it is not 0. */
		if (p->cfg.role == FB_GPIO_RATE && p->rate > 0) {
			publish_rates(d, &d->points[p->source], now_ns);
			if (p->rate > 0 && now_ms + RATE_REFRESH_MS < dl)
				dl = now_ms + RATE_REFRESH_MS;
		}
		if (dl < next)
			next = dl;
	}
	return next;
}

static void command_run(struct gl_driver *d, const struct fb_command *cmd)
{
	struct fb_command_result r = { .ticket = cmd->ticket, .point_index = cmd->point_index,
				       .status = FB_COMMAND_FAILED };
	struct gl_point *p = cmd->point_index < d->npoints ? &d->points[cmd->point_index] : NULL;
	const struct fb_value *v = &cmd->value;
	bool on = v->kind == FB_VALUE_BOOL ? v->b : v->kind == FB_VALUE_INT ? v->i != 0
		: v->kind == FB_VALUE_UINT ? v->u != 0 : v->kind == FB_VALUE_FLOAT && v->f != 0;
	int got;

	snprintf(r.event_id, sizeof(r.event_id), "%s", cmd->event_id);
	snprintf(r.origin, sizeof(r.origin), "%s", cmd->origin);
	if (!p) {
		snprintf(r.reason, sizeof(r.reason), "no point %u in this table", cmd->point_index);
	} else if (!p->line) {
		snprintf(r.reason, sizeof(r.reason), "device %s is disabled", p->dev->id);
	} else if (p->cfg.role == FB_GPIO_OUTPUT) {
		if (gpio_line_set(p->line, on) < 0 || (got = gpio_line_get(p->line)) < 0) {
			snprintf(r.reason, sizeof(r.reason), "line %d: %s", p->offset,
				 strerror(errno));
		} else {
			/* The read-back is what gets published. */
			p->value = got;
			write_bool(d, p, p->value);
			fb_table_point_touch(d->table, p->index);
			d->persist_now = d->persist_dirty = true;
			r.status = got == on ? FB_COMMAND_DONE : FB_COMMAND_FAILED;
			if (got != on)
				snprintf(r.reason, sizeof(r.reason), "line %d reads back %d",
					 p->offset, got);
			fb_info("device %s: %s %s", p->dev->id, p->def->key, got ? "on" : "off");
		}
	} else if (p->cfg.role == FB_GPIO_PULSE_OUTPUT) {
		if (gpio_line_set(p->line, true) < 0) {
			snprintf(r.reason, sizeof(r.reason), "line %d: %s", p->offset,
				 strerror(errno));
		} else {
			/* A press during a pulse extends it. */
			p->until_ms = fb_mono_ms() + p->cfg.pulse_ms;
			r.status = FB_COMMAND_DONE;
			fb_info("device %s: %s pulse %u ms", p->dev->id, p->def->key,
				p->cfg.pulse_ms);
		}
	} else {
		snprintf(r.reason, sizeof(r.reason), "%s.%s is read-only (role %s)", p->dev->id,
			 p->def->key, fb_gpio_role_name(p->cfg.role));
	}
	fb_table_command_result(d->table, &r);
}

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
	int rc = 0;

	if (!pfd || !owner) {
		free(pfd);
		free(owner);
		return -1;
	}
	while (!d->stop) {
		int64_t now = fb_mono_ms(), deadline;
		struct fb_command cmd;
		size_t n = 3;

		deadline = run_deadlines(d, now, mono_ns());
		if (now >= next_heartbeat) {
			fb_table_heartbeat(d->table, now);
			next_heartbeat = now + HEARTBEAT_PERIOD_MS;
		}
		if (d->persist_now || (d->persist_dirty && now >= d->persist_next_ms)) {
			gl_persist_save(d);
			d->persist_next_ms = now + (int64_t)d->bus->gpio_persist_interval_s * 1000;
		}
		fb_table_notify(d->table);
		if (next_heartbeat < deadline)
			deadline = next_heartbeat;
		if (d->persist_dirty && d->persist_next_ms < deadline)
			deadline = d->persist_next_ms;
		fb_timerfd_arm(d->timer_fd, deadline > now ? deadline : now);

		pfd[0] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = d->timer_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = fb_table_command_fd(d->table), .events = POLLIN };
		for (size_t i = 0; i < d->npoints; i++) {
			if (!d->points[i].line || !is_input(&d->points[i]))
				continue;
			pfd[n] = (struct pollfd){ .fd = gpio_line_fd(d->points[i].line),
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
		/* Edges first: a debounce window that ends now must see them. */
		for (size_t i = 3; i < n; i++)
			if (pfd[i].revents & POLLIN)
				read_edges(d, &d->points[owner[i]]);
		if (pfd[0].revents & POLLIN)
			handle_signal(d);
		if (pfd[1].revents & POLLIN)
			fb_timerfd_drain(d->timer_fd);
		if (pfd[2].revents & POLLIN) {
			fb_table_command_fd_drain(d->table);
			while (fb_table_command_pop(d->table, &cmd) == 1)
				command_run(d, &cmd);
		}
		if (fb_table_superseded(d->table)) {
			fb_warn("bus %s: another driver took over the state table; exiting",
				d->bus->name);
			d->stop = true;
		}
	}
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
				gpio_gesture_init(&p->gest, p->cfg.double_ms, p->cfg.long_ms);
			snprintf(pdesc[d->npoints].device, sizeof(pdesc[0].device), "%s", dc->id);
			snprintf(pdesc[d->npoints].point, sizeof(pdesc[0].point), "%s", p->def->key);
			pdesc[d->npoints].kind = (uint8_t)fb_point_value_kind(p->def);
			d->npoints++;
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
		if (is_input(p)) {
			level = gpio_line_get(p->line);
			gpio_debounce_init(&p->db, level > 0, p->cfg.debounce_ms);
		}
	}
	return true;
fail:
	for (size_t i = 0; i < d->npoints; i++) {
		if (d->points[i].device == dev) {
			gpio_line_release(d->points[i].line);
			d->points[i].line = NULL;
		}
	}
	return false;
}

static void publish_initial(struct gl_driver *d)
{
	int64_t now_ns = mono_ns();

	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];

		if (!d->device_ok[p->device])
			continue;
		switch (p->cfg.role) {
		case FB_GPIO_INPUT: write_bool(d, p, p->db.stable); break;
		case FB_GPIO_OUTPUT: {
			int got = gpio_line_get(p->line);

			write_bool(d, p, got >= 0 ? got : p->value);
			break;
		}
		case FB_GPIO_COUNTER:
			write_float(d, p, gpio_counter_total(&p->ctr, p->cfg.impulses_per_unit));
			publish_rates(d, p, now_ns);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < d->ndevices; i++)
		fb_table_device_set_online(d->table, (uint32_t)i, d->device_ok[i]);
	fb_table_notify(d->table);
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
			gpio_line_set(p->line, false);
		if (p->cfg.role == FB_GPIO_OUTPUT && p->cfg.on_exit != FB_GPIO_EXIT_KEEP)
			gpio_line_set(p->line, p->cfg.on_exit == FB_GPIO_EXIT_ON);
	}
	if (d->table && d->points)
		gl_persist_save(d);
	for (size_t i = 0; d->points && i < d->npoints; i++)
		gpio_line_release(d->points[i].line);
	gpio_chip_close(d->chip);
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

int gl_driver_run(const struct fb_daemon_args *args)
{
	struct gl_driver d;
	struct fb_diag diag;
	char err[1024];
	size_t ok = 0;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.signal_fd = d.timer_fd = -1;
	fb_diag_init(&diag);
	d.cfg = fb_config_load(args->config_path, &diag);
	if (d.cfg) {
		d.bus = fb_config_bus(d.cfg, args->instance);
		if (!d.bus)
			fb_diag_error(&diag, "%s: no bus named \"%s\"", d.cfg->path, args->instance);
		else if (d.bus->transport != FB_BUS_GPIO) {
			fb_diag_error(&diag, "%s: bus %s: expected \"transport\": \"gpio\" for "
				      "fieldbridge-gpio (it is a Modbus bus: use fieldbridge-modbus)",
				      d.cfg->path, d.bus->name);
			d.bus = NULL;
		}
	}
	if (!d.bus) {
		fb_diag_log(&diag);
		fb_err("configuration has errors; nothing started");
		goto out;
	}
	fb_config_load_definitions(d.cfg, d.bus, &diag);
	fb_diag_log(&diag);

	d.signal_fd = fb_signalfd_open();
	d.timer_fd = fb_timerfd_open();
	if (d.signal_fd < 0 || d.timer_fd < 0) {
		fb_log_errno(FB_LOG_ERR, "cannot create signal/timer fds");
		goto out;
	}
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
	publish_initial(&d);
	fb_info("bus %s: chip \"%s\" (%s, %s): %zu of %zu device%s running, %zu points",
		d.bus->name, d.bus->gpio_chip, d.chip_path, gpio_backend_name(), ok, d.ndevices,
		d.ndevices == 1 ? "" : "s", d.npoints);
	if (!ok && d.ndevices) {
		fb_err("bus %s: no device could start", d.bus->name);
		goto out;
	}
	rc = driver_loop(&d) < 0 ? 1 : 0;
out:
	fb_diag_free(&diag);
	driver_free(&d);
	return rc;
}
