/* SPDX-License-Identifier: Apache-2.0 */
/* A cover on two relays with a run time (model.h struct fb_cover_run):
 * which relay is on, until when, and where the cover is estimated to be.
 * Pure arithmetic on a monotonic clock the driver passes in: the driver
 * switches the relays as told (offs before ons) and sleeps on its timerfd
 * until fb_cover_run_deadline.  Positions are 0 (closed) .. 100 (open). */
#include "fpmath.h"
#include "model.h"

#include <math.h>
#include <string.h>

/* A run to an end stop lasts this share of the full travel time longer
 * than the estimate says, so that drift is taken up at every end. */
#define END_OVERRUN 0.1

void fb_cover_run_init(struct fb_cover_run *c, uint32_t open_ms, uint32_t close_ms,
		       uint32_t pause_ms)
{
	memset(c, 0, sizeof(*c));
	c->open_ms = open_ms;
	c->close_ms = close_ms;
	c->pause_ms = pause_ms;
	c->pos = NAN; /* after a start nothing is known until an end stop */
	c->phase = FB_COVER_IDLE;
}

static uint32_t full_ms(const struct fb_cover_run *c, int dir)
{
	return dir > 0 ? c->open_ms : c->close_ms;
}

double fb_cover_run_position(const struct fb_cover_run *c, int64_t now)
{
	double p;

	if (c->phase != FB_COVER_OPENING && c->phase != FB_COVER_CLOSING)
		return c->pos;
	if (isnan(c->pos))
		return NAN;
	int dir = c->phase == FB_COVER_OPENING ? 1 : -1;
	p = c->pos + dir * 100.0 * (double)(now - c->since) / full_ms(c, dir);
	return p < 0 ? 0 : p > 100 ? 100 : p;
}

/* Starts moving towards c->target (direction dir) at now. */
static void start_run(struct fb_cover_run *c, int dir, int64_t now)
{
	double ms;

	c->phase = dir > 0 ? FB_COVER_OPENING : FB_COVER_CLOSING;
	c->since = now;
	if (isnan(c->pos))
		ms = full_ms(c, dir); /* from anywhere to the end stop */
	else
		ms = fabs(c->target - c->pos) / 100.0 * full_ms(c, dir);
	if (c->target == 0 || c->target == 100) {
		ms += END_OVERRUN * full_ms(c, dir);
		if (ms > full_ms(c, dir))
			ms = full_ms(c, dir);
	}
	c->deadline = now + (int64_t)fb_fpmath_ceil(ms);
}

/* Both relays off; remembers which way it ran for the reversal pause. */
static void halt_at(struct fb_cover_run *c, int64_t now)
{
	if (c->phase == FB_COVER_OPENING || c->phase == FB_COVER_CLOSING) {
		c->last_dir = c->phase == FB_COVER_OPENING ? 1 : -1;
		c->off_at = now;
	}
	c->phase = FB_COVER_IDLE;
	c->deadline = 0;
}

/* Stopped where the estimate is now. */
static void halt(struct fb_cover_run *c, int64_t now)
{
	c->pos = fb_cover_run_position(c, now);
	halt_at(c, now);
}

int fb_cover_run_command(struct fb_cover_run *c, enum fb_cover_cmd cmd, double target,
			 int64_t now)
{
	int dir, moving = c->phase == FB_COVER_OPENING ? 1 :
			  c->phase == FB_COVER_CLOSING ? -1 : 0;
	double pos = fb_cover_run_position(c, now);

	if (cmd == FB_COVER_STOP) {
		halt(c, now);
		return 0;
	}
	if (cmd == FB_COVER_OPEN)
		target = 100;
	else if (cmd == FB_COVER_CLOSE)
		target = 0;
	if (!(target >= 0 && target <= 100))
		return -1;
	/* An unknown position is learnt at an end stop only. */
	if (isnan(pos) && target != 0 && target != 100)
		return -1;
	if (!isnan(pos) && target != 0 && target != 100 && fabs(target - pos) < 0.5) {
		halt(c, now);
		return 0;
	}
	if (isnan(pos) || target == pos)
		dir = target == 100 ? 1 : -1;
	else
		dir = target > pos ? 1 : -1;
	c->target = target;
	if (moving == dir) {
		/* Same direction: a new end, no relay changes. */
		c->pos = pos;
		start_run(c, dir, now);
		return 0;
	}
	if (c->phase == FB_COVER_PAUSE) {
		c->pending = dir; /* still resting: the new way once it ends */
		return 0;
	}
	if (moving)
		halt(c, now);
	/* Reversing (now, or shortly after a stop): the motor rests first. */
	if (c->last_dir && c->last_dir != dir && now < c->off_at + (int64_t)c->pause_ms) {
		c->phase = FB_COVER_PAUSE;
		c->pending = dir;
		c->deadline = c->off_at + c->pause_ms;
		return 0;
	}
	start_run(c, dir, now);
	return 0;
}

void fb_cover_run_tick(struct fb_cover_run *c, int64_t now)
{
	if (c->phase == FB_COVER_IDLE || now < c->deadline)
		return;
	if (c->phase == FB_COVER_PAUSE) {
		start_run(c, c->pending, now);
		return;
	}
	/* The run time was computed for the target. */
	c->pos = c->target;
	halt_at(c, now);
}

void fb_cover_run_off_confirmed(struct fb_cover_run *c, int64_t t)
{
	/* The rest counts from when the relay really is off, not from the
	 * command that asked for it (a slow bus). */
	if (c->last_dir && c->off_at < t)
		c->off_at = t;
	if (c->phase == FB_COVER_PAUSE && c->deadline < t + (int64_t)c->pause_ms)
		c->deadline = t + c->pause_ms;
}

int64_t fb_cover_run_deadline(const struct fb_cover_run *c)
{
	return c->phase == FB_COVER_IDLE ? 0 : c->deadline;
}

void fb_cover_run_relays(const struct fb_cover_run *c, bool *open_on, bool *close_on)
{
	*open_on = c->phase == FB_COVER_OPENING;
	*close_on = c->phase == FB_COVER_CLOSING;
}

const char *fb_cover_run_state(const struct fb_cover_run *c, int64_t now)
{
	double p = fb_cover_run_position(c, now);

	switch (c->phase) {
	case FB_COVER_OPENING:
		return "opening";
	case FB_COVER_CLOSING:
		return "closing";
	case FB_COVER_PAUSE:
		return c->pending > 0 ? "opening" : "closing";
	default:
		break;
	}
	if (isnan(p))
		return "stopped";
	return p >= 100 ? "open" : p <= 0 ? "closed" : "stopped";
}
