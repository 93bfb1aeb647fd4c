/* SPDX-License-Identifier: Apache-2.0 */
/* Covers on two output lines (docs/device-definitions.md, "Covers"): the
 * run logic is model's fb_cover_run; this file drives the two outputs as
 * it says, every relay off before the other one on, and keeps the
 * estimated position in the cover's table point.  Run ends are deadlines
 * of the driver's one timerfd (points.c's deadline pass asks for them). */
#include "gpio-internal.h"
#include "clock.h"
#include "fpmath.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* While a cover moves its position is published this often. */
#define PROGRESS_MS 500

static void write_position(struct gl_driver *d, struct gl_point *c, int64_t now)
{
	double pos = fb_cover_run_position(&c->run, now);
	struct fb_value v = { .kind = FB_VALUE_NONE };

	if (!isnan(pos)) {
		v.kind = FB_VALUE_FLOAT;
		v.f = fb_fpmath_round(pos);
	}
	fb_table_point_write(d->table, c->index, &v, FB_QUALITY_OK, fb_now_ms());
}

/* Drives one relay and publishes its read-back; false on failure. */
static bool set_relay(struct gl_driver *d, struct gl_point *r, bool on)
{
	struct fb_value v = { .kind = FB_VALUE_BOOL };
	int got;

	if (!r->line || gl_line_set(r->line, on) < 0 || (got = gl_line_get(r->line)) < 0) {
		fb_log_errno(FB_LOG_ERR, "device %s: %s: switching %s", r->dev->id, r->def->key,
			     on ? "on" : "off");
		return false;
	}
	r->value = got;
	v.b = got;
	fb_table_point_write(d->table, r->index, &v, FB_QUALITY_OK, fb_now_ms());
	return got == on;
}

/* The lines as the run says: offs first, then ons.  A relay that does
 * not go off stops the run and forgets the position. */
static bool apply(struct gl_driver *d, struct gl_point *c, int64_t now)
{
	struct gl_point *o = &d->points[c->open_idx], *cl = &d->points[c->close_idx];
	bool want_open, want_close, ok = true;

	fb_cover_run_relays(&c->run, &want_open, &want_close);
	if (o->value && !want_open)
		ok &= set_relay(d, o, false);
	if (cl->value && !want_close)
		ok &= set_relay(d, cl, false);
	if (ok && want_open && !o->value && !cl->value)
		ok = set_relay(d, o, true);
	if (ok && want_close && !cl->value && !o->value)
		ok = set_relay(d, cl, true);
	if (!ok) {
		set_relay(d, o, false);
		set_relay(d, cl, false);
		fb_cover_run_init(&c->run, c->run.open_ms, c->run.close_ms, c->run.pause_ms);
	}
	write_position(d, c, now);
	c->until_ms = now + PROGRESS_MS;
	return ok;
}

void gl_cover_setup(struct gl_point *c, const struct gl_point *first, size_t n)
{
	const struct fb_point_ext *x = &c->def->ext;

	c->open_idx = c->close_idx = -1;
	for (size_t i = 0; i < n; i++) {
		if (x->relay_open && !strcmp(first[i].def->key, x->relay_open))
			c->open_idx = (int)(&first[i] - first) + (int)first[0].index;
		if (x->relay_close && !strcmp(first[i].def->key, x->relay_close))
			c->close_idx = (int)(&first[i] - first) + (int)first[0].index;
	}
	fb_cover_run_init(&c->run, x->open_ms, x->close_ms, x->reverse_pause_ms);
	c->until_ms = 0;
}

bool gl_cover_ready(const struct gl_driver *d, const struct gl_point *c)
{
	return c->open_idx >= 0 && c->close_idx >= 0 && d->points[c->open_idx].line &&
	       d->points[c->close_idx].line;
}

int64_t gl_cover_deadline(struct gl_driver *d, struct gl_point *c, int64_t now)
{
	int64_t dl = fb_cover_run_deadline(&c->run);

	if (!dl || !gl_cover_ready(d, c))
		return INT64_MAX;
	if (now >= dl) {
		fb_cover_run_tick(&c->run, now);
		apply(d, c, now);
		dl = fb_cover_run_deadline(&c->run);
		if (!dl)
			return INT64_MAX;
	} else if (now >= c->until_ms) {
		write_position(d, c, now);
		c->until_ms = now + PROGRESS_MS;
	}
	return dl < c->until_ms ? dl : c->until_ms;
}

void gl_cover_publish_initial(struct gl_driver *d, struct gl_point *c)
{
	write_position(d, c, fb_mono_ms()); /* unknown until an end stop */
}

void gl_cover_command(struct gl_driver *d, struct gl_point *c, const struct fb_value *v,
		      struct fb_command_result *r)
{
	enum fb_cover_cmd what = FB_COVER_SET;
	double target = 0;
	int64_t now = fb_mono_ms();

	if (!gl_cover_ready(d, c)) {
		snprintf(r->reason, sizeof(r->reason), "device %s is disabled", c->dev->id);
		return;
	}
	if (v->kind == FB_VALUE_STRING && !strcmp(v->s, "STOP")) {
		what = FB_COVER_STOP;
	} else if (v->kind == FB_VALUE_FLOAT) {
		target = v->f;
		what = target == 100 ? FB_COVER_OPEN : target == 0 ? FB_COVER_CLOSE
								    : FB_COVER_SET;
	} else {
		snprintf(r->reason, sizeof(r->reason), "expected OPEN, CLOSE, STOP or a "
			 "position 0..100");
		return;
	}
	fb_cover_run_tick(&c->run, now);
	if (fb_cover_run_command(&c->run, what, target, now) < 0) {
		snprintf(r->reason, sizeof(r->reason), "position unknown (learnt at an end "
			 "stop): open or close fully first");
		return;
	}
	if (!apply(d, c, now)) {
		snprintf(r->reason, sizeof(r->reason), "switching the relays failed; both "
			 "are off");
		return;
	}
	fb_table_point_touch(d->table, c->index);
	r->status = FB_COMMAND_DONE;
	fb_info("device %s: %s: %s", c->dev->id, c->def->key,
		c->run.phase == FB_COVER_OPENING ? "opening" :
		c->run.phase == FB_COVER_CLOSING ? "closing" :
		c->run.phase == FB_COVER_PAUSE ? "resting before reversing" : "stopped");
}
