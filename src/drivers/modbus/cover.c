/* SPDX-License-Identifier: Apache-2.0 */
/* Covers on two relays (docs/device-definitions.md, "Covers on two
 * relays"): the run logic is model's fb_cover_run; this file switches the
 * relay points (coils or holding register bits) as it says, always every
 * relay off before the other one on, and keeps the estimated position in
 * the cover's table point.  Run ends are deadlines of the driver's one
 * timerfd (mb_covers_deadline); nothing sleeps. */
#include "modbus-internal.h"
#include "clock.h"
#include "fpmath.h"
#include "log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* While a cover moves its position is published this often. */
#define PROGRESS_MS 500

struct mb_cover {
	struct mb_device *dev;
	uint32_t pi, open_pi, close_pi; /* definition point indexes */
	struct fb_cover_run run;
	bool open_on, close_on;         /* as last written */
	bool need_off;                  /* both must be written off first */
	int64_t next_progress;
	double published;               /* position last stored; NaN: none */
	bool has_published;
};

struct relay_write {
	const struct fb_point_def *p;
	bool on;
};

static int write_relay(modbus_t *ctx, void *arg)
{
	const struct relay_write *w = arg;
	uint16_t reg;

	if (w->p->table == FB_REG_COIL)
		return modbus_write_bit(ctx, w->p->address, w->on);
	/* A bit of a holding register: the others keep their values. */
	if (modbus_read_registers(ctx, w->p->address, 1, &reg) != 1)
		return -1;
	reg = (uint16_t)(w->on ? reg | (1u << w->p->bit) : reg & ~(1u << w->p->bit));
	return modbus_write_register(ctx, w->p->address, reg);
}

/* Writes one relay and stores what it reads back; false on failure. */
static bool set_relay(struct mb_driver *d, struct mb_cover *c, uint32_t pi, bool on)
{
	struct mb_device *dev = c->dev;
	const struct fb_point_def *p = &dev->def->points[pi];
	struct relay_write w = { p, on };
	uint16_t regs[MB_MAX_READ_REGISTERS];
	struct fb_value back;
	int err;

	/* Never repeated: a lost answer is a failure, the next pass writes
	 * the relay off again. */
	if (mb_xact_run(d, dev, write_relay, &w, 0, false, &err) != MB_XACT_OK) {
		fb_warn("device %s: cover %s: switching %s %s failed: %s", dev->conf->id,
			dev->def->points[c->pi].key, p->key, on ? "on" : "off",
			modbus_strerror(err));
		return false;
	}
	dev->pstate[pi].written_epoch = ++d->write_epoch;
	if (mb_read_point(d, dev, p, &back, regs, &err) == MB_XACT_OK) {
		mb_store_point(d, dev, pi, &back, FB_QUALITY_OK, true, regs);
		fb_table_point_touch(d->table, dev->first_point + pi);
	}
	return true;
}

static void store_position(struct mb_driver *d, struct mb_cover *c, int64_t now, bool force)
{
	double pos = fb_cover_run_position(&c->run, now);
	struct fb_value v = { 0 };

	pos = isnan(pos) ? NAN : fb_fpmath_round(pos);
	if (!force && c->has_published &&
	    (pos == c->published || (isnan(pos) && isnan(c->published))))
		return;
	if (!isnan(pos)) {
		v.kind = FB_VALUE_FLOAT;
		v.f = pos;
	}
	mb_store_point(d, c->dev, c->pi, &v, FB_QUALITY_OK, true, NULL);
	c->published = pos;
	c->has_published = true;
}

/* Brings the relays to what the run says: offs first, then ons.  A
 * failed off stops the run (both must be off before anything goes on). */
static bool apply(struct mb_driver *d, struct mb_cover *c, int64_t now)
{
	bool want_open, want_close, ok = true, offs;

	fb_cover_run_relays(&c->run, &want_open, &want_close);
	offs = ((c->open_on || c->need_off) && !want_open) ||
	       ((c->close_on || c->need_off) && !want_close);
	if ((c->open_on || c->need_off) && !want_open) {
		if (set_relay(d, c, c->open_pi, false))
			c->open_on = false;
		else
			ok = false;
	}
	if ((c->close_on || c->need_off) && !want_close) {
		if (set_relay(d, c, c->close_pi, false))
			c->close_on = false;
		else
			ok = false;
	}
	if (ok)
		c->need_off = false;
	if (ok && offs) {
		/* A rest that is due may have passed while the writes took. */
		now = fb_mono_ms();
		fb_cover_run_off_confirmed(&c->run, now);
		fb_cover_run_relays(&c->run, &want_open, &want_close);
	}
	if (ok && want_open && !c->open_on && !c->close_on) {
		c->open_on = set_relay(d, c, c->open_pi, true);
		ok = c->open_on;
	}
	if (ok && want_close && !c->close_on && !c->open_on) {
		c->close_on = set_relay(d, c, c->close_pi, true);
		ok = c->close_on;
	}
	if (!ok) {
		/* Where it stands is unknown; everything off at the next pass. */
		fb_cover_run_init(&c->run, c->run.open_ms, c->run.close_ms, c->run.pause_ms);
		c->need_off = true;
	}
	store_position(d, c, now, false);
	c->next_progress = now + PROGRESS_MS;
	return ok;
}

int mb_covers_setup(struct mb_driver *d)
{
	for (size_t i = 0; i < d->ndevices; i++) {
		struct mb_device *dev = &d->devices[i];

		for (uint32_t k = 0; k < dev->def->npoints; k++) {
			const struct fb_point_def *p = &dev->def->points[k];
			const struct fb_point_def *o, *cl;
			struct mb_cover *n;

			if (!p->ext.relay_open)
				continue;
			o = fb_model_point(dev->def, p->ext.relay_open);
			cl = fb_model_point(dev->def, p->ext.relay_close);
			if (!o || !cl)
				continue; /* the loader refused such a definition */
			n = realloc(d->covers, (d->ncovers + 1) * sizeof(*n));
			if (!n)
				return -1;
			d->covers = n;
			n = &d->covers[d->ncovers++];
			memset(n, 0, sizeof(*n));
			n->dev = dev;
			n->pi = k;
			n->open_pi = (uint32_t)(o - dev->def->points);
			n->close_pi = (uint32_t)(cl - dev->def->points);
			fb_cover_run_init(&n->run, p->ext.open_ms, p->ext.close_ms,
					  p->ext.reverse_pause_ms);
			/* Whatever a previous run left on goes off first. */
			n->need_off = true;
			n->published = NAN;
		}
	}
	return 0;
}

void mb_covers_free(struct mb_driver *d)
{
	free(d->covers);
	d->covers = NULL;
	d->ncovers = 0;
}

void mb_covers_link_down(struct mb_driver *d)
{
	for (size_t i = 0; i < d->ncovers; i++) {
		struct mb_cover *c = &d->covers[i];

		/* A run we can no longer end: its end is unknown. */
		if (fb_cover_run_deadline(&c->run))
			fb_cover_run_init(&c->run, c->run.open_ms, c->run.close_ms,
					  c->run.pause_ms);
		c->need_off = true;
		c->has_published = false;
	}
}

void mb_covers_tick(struct mb_driver *d, int64_t now)
{
	for (size_t i = 0; i < d->ncovers && d->ctx; i++) {
		struct mb_cover *c = &d->covers[i];
		int64_t dl = fb_cover_run_deadline(&c->run);

		if (!c->dev->online && c->dev->failures >= d->bus->offline_after) {
			/* A run it cannot end has no known end (and no deadline
			 * that would wake the loop for nothing). */
			if (dl)
				fb_cover_run_init(&c->run, c->run.open_ms, c->run.close_ms,
						  c->run.pause_ms);
			c->need_off = true;
			continue;
		}
		if (c->need_off || (dl && now >= dl)) {
			fb_cover_run_tick(&c->run, now);
			apply(d, c, now);
			continue;
		}
		if (!c->has_published || c->dev->pstate[c->pi].quality != FB_QUALITY_OK ||
		    (dl && now >= c->next_progress)) {
			store_position(d, c, now, !c->has_published ||
				       c->dev->pstate[c->pi].quality != FB_QUALITY_OK);
			c->next_progress = now + PROGRESS_MS;
		}
	}
}

int64_t mb_covers_deadline(const struct mb_driver *d, int64_t deadline)
{
	for (size_t i = 0; i < d->ncovers; i++) {
		int64_t dl = fb_cover_run_deadline(&d->covers[i].run);

		if (!dl)
			continue;
		if (dl < deadline)
			deadline = dl;
		if (d->covers[i].next_progress < deadline)
			deadline = d->covers[i].next_progress;
	}
	return deadline;
}

static const char *describe(const struct mb_cover *c)
{
	switch (c->run.phase) {
	case FB_COVER_OPENING:
		return "opening";
	case FB_COVER_CLOSING:
		return "closing";
	case FB_COVER_PAUSE:
		return "pausing before reversing";
	default:
		return "stopped";
	}
}

void mb_cover_command(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
		      const struct fb_command *cmd)
{
	struct mb_cover *c = NULL;
	enum fb_cover_cmd what = FB_COVER_SET;
	double target = 0;
	int64_t now = fb_mono_ms();

	for (size_t i = 0; i < d->ncovers && !c; i++)
		if (d->covers[i].dev == dev && d->covers[i].pi == pi)
			c = &d->covers[i];
	if (!c) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "cover %s/%s has no relays",
				  dev->conf->id, dev->def->points[pi].key);
		return;
	}
	if (cmd->value.kind == FB_VALUE_STRING && !strcmp(cmd->value.s, "STOP"))
		what = FB_COVER_STOP;
	else if (cmd->value.kind != FB_VALUE_FLOAT) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "cover %s/%s: expected OPEN, "
				  "CLOSE, STOP or a position 0..100", dev->conf->id,
				  dev->def->points[pi].key);
		return;
	} else if ((target = cmd->value.f) == 100)
		what = FB_COVER_OPEN;
	else if (target == 0)
		what = FB_COVER_CLOSE;
	fb_cover_run_tick(&c->run, now);
	if (fb_cover_run_command(&c->run, what, target, now) < 0) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "cover %s/%s: position unknown "
				  "(a cover on relays learns it at an end stop): open or close "
				  "it fully first", dev->conf->id, dev->def->points[pi].key);
		return;
	}
	if (!apply(d, c, now)) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "cover %s/%s: switching its "
				  "relays failed; both are switched off", dev->conf->id,
				  dev->def->points[pi].key);
		return;
	}
	fb_table_point_touch(d->table, dev->first_point + pi);
	mb_command_result(d, cmd, FB_COMMAND_DONE, "%s", describe(c));
}
