/* SPDX-License-Identifier: Apache-2.0 */
/* What the points do between two poll() wake-ups: edges are debounced into
 * levels, a level drives an input, a counter (and its rates) or a gesture
 * (and its event), and every time-driven step (debounce windows, gestures,
 * pulse ends, event clears, rate decay) runs from one deadline pass.  The
 * table gets each change as it happens. */
#include "gpio-internal.h"
#include "clock.h"
#include "log.h"

#include <poll.h>
#include <stdio.h>
#include <time.h>

#define RATE_REFRESH_MS 1000
/* How long an event entity's value stays set before it is cleared, so a
 * later state message of the device does not repeat the press. */
#define EVENT_HOLD_MS 300
#define EDGES_PER_READ 16

/* Edge timestamps are CLOCK_MONOTONIC ns (gpio-backend.h): the logic
 * compares them with this clock. */
static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool gl_points_is_input(const struct gl_point *p)
{
	return p->cfg.role == FB_GPIO_INPUT || p->cfg.role == FB_GPIO_COUNTER;
}

void gl_points_write_bool(struct gl_driver *d, struct gl_point *p, bool b)
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
		r->rate = gl_counter_rate(&counter->ctr, now_ns, counter->cfg.impulses_per_unit,
					  r->cfg.rate_period_s, r->cfg.rate_scale,
					  r->cfg.rate_timeout_s);
		write_float(d, r, r->rate);
	}
}

static void event_fire(struct gl_driver *d, struct gl_point *e, enum gl_press press)
{
	struct fb_value v = { .kind = FB_VALUE_STRING };

	if (press == GL_PRESS_NONE)
		return;
	snprintf(v.s, sizeof(v.s), "%s", gl_press_name(press));
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
		gl_counter_pulse(&p->ctr, ts_ns);
		write_float(d, p, gl_counter_total(&p->ctr, p->cfg.impulses_per_unit));
		publish_rates(d, p, ts_ns);
		d->persist_dirty = true;
		return;
	}
	gl_points_write_bool(d, p, active);
	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *e = &d->points[i];

		if (e->cfg.role == FB_GPIO_EVENT && &d->points[e->source] == p)
			event_fire(d, e, gl_gesture_input(&e->gest, active, ts_ns));
	}
}

void gl_points_read_edges(struct gl_driver *d, struct gl_point *p)
{
	struct gl_edge ev[EDGES_PER_READ];
	int n = gl_line_read_edges(p->line, ev, EDGES_PER_READ);

	if (n < 0) {
		fb_log_errno(FB_LOG_WARNING, "device %s: %s: reading edge events", p->dev->id,
			     p->def->key);
		return;
	}
	for (int i = 0; i < n; i++)
		if (gl_debounce_edge(&p->db, ev[i].ts_ns, ev[i].active))
			level_changed(d, p, ev[i].active, ev[i].ts_ns);
}

int64_t gl_points_run_deadlines(struct gl_driver *d, int64_t now_ms)
{
	int64_t now_ns = mono_ns();
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];
		int64_t dl = INT64_MAX;

		if (p->cfg.role == FB_GPIO_COVER) {
			dl = gl_cover_deadline(d, p, now_ms);
			if (dl < next)
				next = dl;
			continue;
		}
		if (!p->line && p->cfg.role != FB_GPIO_RATE && p->cfg.role != FB_GPIO_EVENT)
			continue;
		if (gl_points_is_input(p) && p->db.deadline_ns != GL_NEVER) {
			int64_t edge_ns = p->db.deadline_ns - p->db.window_ns;

			/* Edges the kernel queued since poll() returned move the
			 * window: take them before deciding it has ended. */
			if (now_ns >= p->db.deadline_ns) {
				struct pollfd q = { .fd = gl_line_fd(p->line), .events = POLLIN };

				if (poll(&q, 1, 0) > 0)
					gl_points_read_edges(d, p);
			}
			if (now_ns >= p->db.deadline_ns) {
				int level = gl_line_get(p->line);

				if (level >= 0 && gl_debounce_settle(&p->db, now_ns, level))
					level_changed(d, p, level, edge_ns);
			}
			if (p->db.deadline_ns != GL_NEVER)
				dl = p->db.deadline_ns / 1000000 + 1;
		}
		if (p->cfg.role == FB_GPIO_EVENT) {
			if (now_ns >= p->gest.deadline_ns)
				event_fire(d, p, gl_gesture_timeout(&p->gest, now_ns));
			if (p->gest.deadline_ns != GL_NEVER)
				dl = p->gest.deadline_ns / 1000000 + 1;
		}
		if (p->until_ms && now_ms >= p->until_ms) {
			p->until_ms = 0;
			if (p->cfg.role == FB_GPIO_PULSE_OUTPUT) {
				if (gl_line_set(p->line, false) < 0)
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

void gl_points_publish_initial(struct gl_driver *d)
{
	int64_t now_ns = mono_ns();

	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];

		if (!d->device_ok[p->device])
			continue;
		switch (p->cfg.role) {
		case FB_GPIO_INPUT: gl_points_write_bool(d, p, p->db.stable); break;
		case FB_GPIO_OUTPUT: {
			int got = gl_line_get(p->line);

			gl_points_write_bool(d, p, got >= 0 ? got : p->value);
			break;
		}
		case FB_GPIO_COUNTER:
			write_float(d, p, gl_counter_total(&p->ctr, p->cfg.impulses_per_unit));
			publish_rates(d, p, now_ns);
			break;
		case FB_GPIO_COVER:
			gl_cover_publish_initial(d, p);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < d->ndevices; i++)
		fb_table_device_set_online(d->table, (uint32_t)i, d->device_ok[i]);
	fb_table_notify(d->table);
}
